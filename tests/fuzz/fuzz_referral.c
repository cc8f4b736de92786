/* libFuzzer target: what intake does with bytes from a branch system —
 * decode the envelope, then check the referral (referral_validate). Every
 * input ends in an error code or an accepted referral, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake/referral.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Tremplin__Envelope *env = NULL;
    if (wire_unpack(data, size, WIRE_MAX_DEFAULT, NULL, &env) == WIRE_OK
        && env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL) {
        referral_error_t err;
        const int64_t now = 1795680000000LL; /* fixed: the same input, the same verdict */
        if (referral_validate(env->submit_referral, now, &err) != 0 && (!err.code || !err.message_fr[0]))
            abort(); /* a refusal always says what and why */
    }
    wire_free(env, NULL);
    return 0;
}
