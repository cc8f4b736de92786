/* libFuzzer target: the envelope decoder every receiver runs on what peers
 * send. Whatever the bytes, wire_unpack returns an error or an envelope
 * (ASan and UBSan watch for the rest). An accepted envelope is packed
 * again; when that decodes it must be the same message. (It need not
 * decode: protobuf-c accepts an over-long tag of field 0 as an unknown field
 * but writes it back in the short form it rejects.) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Tremplin__Envelope *env = NULL;
    wire_err_t e = wire_unpack(data, size, WIRE_MAX_DEFAULT, NULL, &env);
    if (e == WIRE_OK) {
        wire_buf_t b = { 0 };
        size_t n = wire_pack(env, &b);
        Tremplin__Envelope *again = NULL;
        if (wire_unpack(b.data, n, WIRE_MAX_DEFAULT, NULL, &again) == WIRE_OK
            && (again->payload_case != env->payload_case || strcmp(again->msg_id, env->msg_id) != 0
                || tremplin__envelope__get_packed_size(again) != n))
            abort();
        wire_free(again, NULL);
        wire_buf_free(&b);
    }
    wire_free(env, NULL);
    return 0;
}
