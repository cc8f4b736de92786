#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/asan_interface.h>

#include "clock.h"
#include "ids.h"

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
    [WIRE_EFIELD] = { "INVALID_FIELD", "Champ invalide : un texte contient un caractère nul." },
    [WIRE_EVERSION] = { "UNSUPPORTED_VERSION",
                        "Message d'une version plus récente que ce service : mettre à jour le service destinataire." },
};

const char *wire_error_code(wire_err_t e) { return wire_errors[e].code; }
const char *wire_error_message_fr(wire_err_t e) { return wire_errors[e].message_fr; }

/* ------------------------------------------------------------- raw walk */

/* Just enough of the protobuf encoding to walk a frame's fields without
 * decoding it: the request's ids of a frame too large or too broken to
 * decode, and the wire length of every string. */

static int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* One field of a frame: its number, its wire type and, when it is
 * length-delimited, its bytes. */
typedef struct {
    uint32_t num;
    int type;
    const uint8_t *val;
    size_t len;
} wire_field_t;

/* Reads the field at *p. -1 when the bytes end or do not parse. */
static int wire_field(const uint8_t **p, const uint8_t *end, wire_field_t *f)
{
    uint64_t key, n;
    if (wire_varint(p, end, &key) != 0)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->type = (int)(key & 7);
    f->val = NULL;
    f->len = 0;
    switch (f->type) {
    case 0:
        return wire_varint(p, end, &n);
    case 1:
    case 5: {
        size_t w = f->type == 1 ? 8 : 4;
        if ((size_t)(end - *p) < w)
            return -1;
        *p += w;
        return 0;
    }
    case 2:
        if (wire_varint(p, end, &n) != 0 || n > (uint64_t)(end - *p))
            return -1;
        f->val = *p;
        f->len = (size_t)n;
        *p += n;
        return 0;
    default:
        return -1;
    }
}

/* Copies a header id read from the raw bytes, when it is one. */
static void wire_take_id(char *out, size_t cap, const uint8_t *val, size_t len)
{
    if (len == 0 || len >= cap || memchr(val, 0, len))
        return;
    char tmp[65];
    memcpy(tmp, val, len);
    tmp[len] = '\0';
    if (ids_valid(tmp, cap - 1))
        memcpy(out, tmp, len + 1);
}

/* msg_id, territory and the payload's bytes as far as the frame can be
 * read (the last of each, as a decoder would keep). */
static void wire_peek(const uint8_t *buf, size_t len, wire_info_t *info)
{
    const uint8_t *p = buf, *end = buf + len, *payload = NULL;
    size_t payload_len = 0;
    wire_field_t f;
    for (const uint8_t *at = p; p < end && wire_field(&p, end, &f) == 0; at = p) {
        const ProtobufCFieldDescriptor *d =
            f.type == 2 ? protobuf_c_message_descriptor_get_field(&tremplin__envelope__descriptor, f.num) : NULL;
        if (f.type == 2 && f.num == 1)
            wire_take_id(info->msg_id, sizeof info->msg_id, f.val, f.len);
        else if (f.type == 2 && f.num == 7)
            wire_take_id(info->territory, sizeof info->territory, f.val, f.len);
        else if (d && d->type == PROTOBUF_C_TYPE_MESSAGE) { /* a payload member */
            payload = at;
            payload_len = (size_t)(p - at);
        }
    }
    if (payload)
        util_digest(payload, payload_len, info->digest);
}

/* Finds the first string field (in d and the messages it holds) whose bytes
 * hold a NUL, and writes its path into path[plen..] (path NULL: not named,
 * the pass every message takes; the path is only built for a field found).
 * Returns its depth (1 = a field of d itself), 0 when there is none. The
 * payload member of the Envelope is not named: a payload's fields are named
 * as its handler names them ("person.given_name"). */
static int wire_find_nul(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, char *path,
                         size_t cap, size_t plen, int depth)
{
    unsigned rank[64] = { 0 }; /* occurrences of each repeated field so far */
    wire_field_t w;
    while (p < end && wire_field(&p, end, &w) == 0) { /* the decoder has already accepted these bytes */
        const ProtobufCFieldDescriptor *f = w.type == 2 ? protobuf_c_message_descriptor_get_field(d, w.num) : NULL;
        if (!f || (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE))
            continue;
        size_t i = (size_t)(f - d->fields), at = plen;
        unsigned k = i < 64 ? rank[i]++ : 0;
        if (path && !(depth == 0 && f->type == PROTOBUF_C_TYPE_MESSAGE)) { /* the payload member is not named */
            at += (size_t)snprintf(path + at, cap - at, "%s%s", plen ? "." : "", f->name);
            if (at < cap && f->label == PROTOBUF_C_LABEL_REPEATED)
                at += (size_t)snprintf(path + at, cap - at, "[%u]", k);
            if (at >= cap)
                at = cap - 1;
        }
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            if (memchr(w.val, 0, w.len))
                return depth + 1;
        } else {
            int found = wire_find_nul(f->descriptor, w.val, w.val + w.len, path, cap, at, depth + 1);
            if (found)
                return found;
        }
        if (path)
            path[plen] = '\0';
    }
    return 0;
}

/* ------------------------------------------------------------- decoding */

wire_err_t wire_decode(const uint8_t *buf, size_t len, size_t max, ProtobufCAllocator *alloc,
                       Tremplin__Envelope **out, wire_info_t *info)
{
    *out = NULL;
    wire_info_t scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (len == 0)
        return WIRE_EEMPTY;
    if (info != &scratch)
        wire_peek(buf, len, info);
    if (len > max)
        return WIRE_ETOOBIG;
    Tremplin__Envelope *env = tremplin__envelope__unpack(alloc, len, buf);
    if (!env)
        return WIRE_EDECODE;
    *out = env;
    int nul = wire_find_nul(&tremplin__envelope__descriptor, buf, buf + len, NULL, 0, 0, 0);
    if (nul)
        wire_find_nul(&tremplin__envelope__descriptor, buf, buf + len, info->field, sizeof info->field, 0, 0);
    if (nul == 1)
        return WIRE_EHEADER;
    if (!ids_valid(env->msg_id, 64) || !ids_valid(env->territory, WIRE_TERRITORY_MAX)
        || (env->cause_id[0] && !ids_valid(env->cause_id, 64)))
        return WIRE_EHEADER;
    if (env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD__NOT_SET)
        return WIRE_EUNSUPPORTED;
    return nul ? WIRE_EFIELD : WIRE_OK;
}

wire_err_t wire_unpack(const uint8_t *buf, size_t len, size_t max, ProtobufCAllocator *alloc,
                       Tremplin__Envelope **out)
{
    return wire_decode(buf, len, max, alloc, out, NULL);
}

wire_err_t wire_check_version(const Tremplin__Envelope *env)
{
    return env->schema_version > WIRE_SCHEMA_VERSION ? WIRE_EVERSION : WIRE_OK;
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

/* Under AddressSanitizer the block is poisoned but for what was handed out:
 * a read of a message after the reset, or past the last piece, is caught
 * (pieces next to each other are not fenced from one another). */
static void *wire_arena_alloc(void *data, size_t size)
{
    wire_arena_t *a = data;
    size_t at = (a->used + 15) & ~(size_t)15; /* malloc's alignment */
    if (size && size <= a->cap && at <= a->cap - size) {
        a->used = at + size;
        ASAN_UNPOISON_MEMORY_REGION(a->block + at, size);
        return a->block + at;
    }
    return xmalloc(size ? size : 1);
}

static void wire_arena_release(void *data, void *p)
{
    wire_arena_t *a = data;
    if ((uint8_t *)p < a->block || (uint8_t *)p >= a->block + a->cap)
        free(p); /* came from malloc */
}

void wire_arena_init(wire_arena_t *a, size_t cap)
{
    a->block = xmalloc(cap);
    a->cap = cap;
    a->used = 0;
    a->base = (ProtobufCAllocator){ wire_arena_alloc, wire_arena_release, a };
    ASAN_POISON_MEMORY_REGION(a->block, cap);
}

void wire_arena_reset(wire_arena_t *a)
{
    ASAN_POISON_MEMORY_REGION(a->block, a->cap);
    a->used = 0;
}

void wire_arena_free(wire_arena_t *a)
{
    ASAN_UNPOISON_MEMORY_REGION(a->block, a->cap);
    free(a->block);
    a->block = NULL;
    a->cap = a->used = 0;
}

size_t wire_pack(const Tremplin__Envelope *env, wire_buf_t *b)
{
    size_t n = tremplin__envelope__get_packed_size(env);
    wire_buf_reserve(b, n);
    tremplin__envelope__pack(env, b->data + b->len);
    b->len += n;
    return n;
}
