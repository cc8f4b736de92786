/* wire — the Envelope on the wire: pack, unpack with a size cap, typed
 * decode errors, and the header checks every receiver relies on (ids and
 * territories end up inside Redis key names). */
#ifndef TP_WIRE_H
#define TP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "tremplin.pb-c.h"
#include "util.h"

#define WIRE_SCHEMA_VERSION 1
#define WIRE_MAX_DEFAULT (64 * 1024)
#define WIRE_TERRITORY_MAX 16

typedef enum {
    WIRE_OK = 0,
    WIRE_EEMPTY,       /* zero-length frame */
    WIRE_ETOOBIG,      /* over the receiver's cap */
    WIRE_EDECODE,      /* not a valid Envelope */
    WIRE_EHEADER,      /* msg_id or territory missing or malformed */
    WIRE_EUNSUPPORTED, /* payload not set: a member this build does not know */
    WIRE_EFIELD,       /* a payload string holds a NUL (C would read it cut short) */
    WIRE_EVERSION,     /* schema_version newer than this build's (wire_check_version) */
    WIRE_NERR
} wire_err_t;

/* Stable error codes answered to peers, one per wire_err_t. */
const char *wire_error_code(wire_err_t e);
const char *wire_error_message_fr(wire_err_t e);

/* What a receiver learns of a frame besides the envelope: the field at
 * fault, and the request's ids read from the raw bytes (valid ids only, ""
 * otherwise), so that even a frame too large or too broken to decode is
 * answered with cause_id = its msg_id. */
typedef struct {
    char field[64]; /* "msg_id", "person.given_name", "answers[2].question_id" */
    char msg_id[65];
    char territory[WIRE_TERRITORY_MAX + 1];
    /* what the command asks: a digest of its payload member (tag and bytes),
     * so that a receiver tells a resend of the same command from another
     * command under the same msg_id; "" when there is none */
    char digest[TP_ID_LEN + 1];
} wire_info_t;

/* Decodes buf into *out (freed with wire_free using the same allocator, which
 * may be NULL for the default). On error *out is NULL, except for
 * WIRE_EHEADER, WIRE_EUNSUPPORTED and WIRE_EFIELD where the decoded envelope
 * is returned so the caller can answer it (cause_id = its msg_id).
 *
 * A string whose bytes hold a NUL is refused (WIRE_EHEADER for a header
 * field, WIRE_EFIELD inside the payload): every receiver reads strings as C
 * strings and would see "X\0other" as "X". */
wire_err_t wire_unpack(const uint8_t *buf, size_t len, size_t max, ProtobufCAllocator *alloc,
                       Tremplin__Envelope **out);
/* The same, and fills *info (may be NULL). */
wire_err_t wire_decode(const uint8_t *buf, size_t len, size_t max, ProtobufCAllocator *alloc,
                       Tremplin__Envelope **out, wire_info_t *info);
void wire_free(Tremplin__Envelope *env, ProtobufCAllocator *alloc);

/* A command's schema_version: WIRE_EVERSION when it is newer than this
 * build's (the receiver would misread what it cannot know), else WIRE_OK.
 * 0 is a producer that does not state it and reads as version 1, the first
 * (proto/README.md). Answers are not checked: a caller reads what it knows
 * of a newer service's answer. */
wire_err_t wire_check_version(const Tremplin__Envelope *env);

/* Payload name for a case, e.g. "SubmitReferral"; "" when unknown. */
const char *wire_type_name(Tremplin__Envelope__PayloadCase c);

/* Fills the header of an envelope whose payload is already set: a new msg_id
 * (written into id_buf, which must outlive env), type, cause, producer,
 * business timestamp, schema version and territory. */
void wire_stamp(Tremplin__Envelope *env, char id_buf[TP_ID_LEN + 1], const char *cause_id,
                const char *producer, const char *territory);

/* A growable byte buffer, reused across messages. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} wire_buf_t;

void wire_buf_reserve(wire_buf_t *b, size_t extra);
void wire_buf_free(wire_buf_t *b);

/* A decoder's arena: what wire_decode allocates for one message comes from
 * a fixed block (a bump allocator: no malloc and free per field and
 * string), past its end from malloc. wire_free with it frees what came from
 * malloc; wire_arena_reset then makes the block whole again. base is the
 * allocator to pass. */
typedef struct {
    ProtobufCAllocator base;
    uint8_t *block;
    size_t cap, used;
} wire_arena_t;

void wire_arena_init(wire_arena_t *a, size_t cap);
void wire_arena_reset(wire_arena_t *a);
void wire_arena_free(wire_arena_t *a);

/* Packs env at the end of b; returns the packed size. */
size_t wire_pack(const Tremplin__Envelope *env, wire_buf_t *b);

#endif
