#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

static const struct {
    const char *code;
    const char *message_fr;
} wire_errors[] = {
    [WIRE_OK] = { "OK", "" },
    [WIRE_EEMPTY] = { "EMPTY_MESSAGE", "Message vide." },
    [WIRE_ETOOBIG] = { "MESSAGE_TOO_LARGE", "Message trop volumineux." },
    [WIRE_EDECODE] = { "MALFORMED_MESSAGE", "Message illisible (format invalide)." },
    [WIRE_EHEADER] = { "INVALID_HEADER", "En-tête du message invalide (identifiant ou territoire)." },
    [WIRE_EUNSUPPORTED] = { "UNSUPPORTED", "Type de message non pris en charge par ce service." },
};

const char *wire_error_code(wire_err_t e) { return wire_errors[e].code; }
const char *wire_error_message_fr(wire_err_t e) { return wire_errors[e].message_fr; }

int wire_valid_id(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max)
            return 0;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
            return 0;
    }
    return n > 0;
}

wire_err_t wire_unpack(const uint8_t *buf, size_t len, size_t max, ProtobufCAllocator *alloc,
                       Tremplin__Envelope **out)
{
    *out = NULL;
    if (len == 0)
        return WIRE_EEMPTY;
    if (len > max)
        return WIRE_ETOOBIG;
    Tremplin__Envelope *env = tremplin__envelope__unpack(alloc, len, buf);
    if (!env)
        return WIRE_EDECODE;
    *out = env;
    if (!wire_valid_id(env->msg_id, 64) || !wire_valid_id(env->territory, WIRE_TERRITORY_MAX)
        || (env->cause_id[0] && !wire_valid_id(env->cause_id, 64)))
        return WIRE_EHEADER;
    if (env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD__NOT_SET)
        return WIRE_EUNSUPPORTED;
    return WIRE_OK;
}

void wire_free(Tremplin__Envelope *env, ProtobufCAllocator *alloc)
{
    if (env)
        tremplin__envelope__free_unpacked(env, alloc);
}

const char *wire_type_name(Tremplin__Envelope__PayloadCase c)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&tremplin__envelope__descriptor, (unsigned)c);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || !f->descriptor)
        return "";
    return ((const ProtobufCMessageDescriptor *)f->descriptor)->short_name;
}

void wire_stamp(Tremplin__Envelope *env, char id_buf[TP_ID_LEN + 1], const char *cause_id,
                const char *producer, const char *territory)
{
    util_random_id(id_buf);
    env->msg_id = id_buf;
    env->type = (char *)wire_type_name(env->payload_case);
    env->cause_id = (char *)(cause_id ? cause_id : "");
    env->producer = (char *)(producer ? producer : "");
    env->ts_ms = (uint64_t)clock_now_ms();
    env->schema_version = WIRE_SCHEMA_VERSION;
    env->territory = (char *)(territory ? territory : "");
}

void wire_buf_reserve(wire_buf_t *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void wire_buf_free(wire_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t wire_pack(const Tremplin__Envelope *env, wire_buf_t *b)
{
    size_t n = tremplin__envelope__get_packed_size(env);
    wire_buf_reserve(b, n);
    tremplin__envelope__pack(env, b->data + b->len);
    b->len += n;
    return n;
}
