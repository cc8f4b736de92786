/* call — one Redis function call, built before the pipeline runs: every
 * FCALL of the services, the relay, the leases and the tool is built here.
 *
 * A handler's prepare step fills a call: the function, its keys and arguments
 * by name, and the messages to put in the outbox in the same atomic step; or
 * an immediate answer (a validation error, a Pong) that needs no Redis at all.
 * Calls are reused from one poll cycle to the next: their buffers keep their
 * capacity, so the hot path does not allocate once warmed up.
 *
 * The wire layout (common/bus.lua reads it, and checks it once for every
 * function, as Redis checks a command's arity):
 *
 *   a command (call_function): the bus prefix, then the named part
 *     KEYS  mark  outbox  k1 .. kn
 *     ARGV  ttl  digest  nout  (to msg_id bytes) x nout  "kname1 .. knamen"  "aname1 .. anamem"  v1 .. vm
 *   a step (call_step: timers, the relay, leases; no mark, no outbox)
 *     KEYS  k1 .. kn
 *     ARGV  "kname1 .. knamen"  "aname1 .. anamem"  v1 .. vm
 *
 * The names go once each, in two arguments: those of the keys k1 .. kn and
 * those of the values v1 .. vm, in their order (a caller sends the same
 * names call after call: Lua checks a layout once and remembers it). Lua
 * gets them as tables (k.ref, a.given_name); a name missing, unknown or
 * given twice is an error there. */
#ifndef TP_CALL_H
#define TP_CALL_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "wire.h"

#define CALL_MAX_OUT 8

typedef struct {
    size_t off, len;
} call_span_t;

typedef struct {
    /* vector of byte strings, stored in one arena */
    wire_buf_t arena;
    call_span_t *items;
    int n, cap;
} call_vec_t;

typedef enum {
    CALL_EMPTY = 0, /* nothing decided yet */
    CALL_REDIS,     /* run function with keys/args, answer from its reply */
    CALL_ANSWER,    /* answer now with the envelope in `answer` */
} call_kind_t;

typedef struct {
    call_kind_t kind;
    const char *territory; /* points into the request */
    const char *service;
    const char *msg_id;
    const char *peer;     /* CURVE public key (Z85) of the sender; "" on plain sockets and from services */
    const char *operator; /* the operator who sent it (common/access.h), "" otherwise */
    const char *access;   /* its role ("trainer" ...), "" otherwise */
    const char *digest;   /* what the command asks (wire_info_t); "" for a service's own step */
    const char *producer; /* this service instance, stamped on what it sends */
    char function[64];
    int step;             /* call_step: no bus prefix */
    wire_buf_t key_names; /* "name1 name2 ..." of keys, in their order */
    wire_buf_t arg_names; /* the same of args */
    call_vec_t keys;      /* the handler's keys (the mark and outbox are added at append) */
    call_vec_t args;      /* the arguments' values */
    call_vec_t out;       /* outgoing: triples (to, msg_id, bytes) */
    int nout;
    /* the event published once the step is committed (call_event) */
    const char *event_kind;
    const char *event_subject;
    /* CALL_ANSWER: an Error or any reply payload */
    char err_code[48];
    char err_field[64];
    char err_message[256];
    int err_retryable;
} call_t;

/* msg_id: the command's ("" for a step). */
void call_reset(call_t *c, const char *service, const char *territory, const char *msg_id);
void call_free(call_t *c);

/* A command's function (the name without the library prefix, e.g.
 * "submit_referral", registered with command() in Lua): idempotent on the
 * msg_id, with the messages it sends. */
void call_function(call_t *c, const char *name);
/* A step of the service's own (registered with step() in Lua): a timer, the
 * relay, a lease; no mark, no outbox. */
void call_step(call_t *c, const char *name);
/* Adds the key `name`: "tp:{<territory>}:<service>:<suffix...>" (printf
 * form; tp_key). Names are words of [a-z0-9_]. */
void call_key(call_t *c, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds the argument `name` (printf form; never cut). */
void call_arg(call_t *c, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void call_arg_bytes(call_t *c, const char *name, const void *data, size_t len);
/* A list argument: its items joined by spaces (Lua's words() splits it);
 * items are words (ids, codes), never holding a space. call_arg_word adds one
 * more to the argument added last (a list started with items NULL, n 0). */
void call_arg_list(call_t *c, const char *name, char *const *items, size_t n);
void call_arg_word(call_t *c, const char *word);
/* Queues env for service `to` in the same step: stamps its header (a msg_id
 * derived from the command's and its rank, so a step run again sends the
 * same message; cause, producer, time, territory) and packs it now. */
void call_send(call_t *c, const char *to, const Tremplin__Envelope *env);
/* Names the event published once the step is committed: its kind (the
 * service's name is put in front) and the reply key whose value is its
 * subject (an Ack field, e.g. "booking_id"); NULL or an empty value: the
 * command's msg_id. Without it, the kind is the function's name. */
void call_event(call_t *c, const char *kind, const char *subject_key);
/* A command's person_id: 1 when it is one (32 hex), else 0 with the call
 * answered INVALID_FIELD at once. */
int call_person_ok(call_t *c, const char *person_id);
/* Answers at once with an Error; no Redis call is made. */
void call_error(call_t *c, const char *code, const char *field, const char *message_fr, int retryable);

/* Appends the FCALL of c (the layout above) to the pipeline; a command's
 * mark lives mark_ttl_s. */
struct rds;
void call_append(call_t *c, struct rds *r, const char *library, long mark_ttl_s);
/* Runs a step now, alone: its reply (the caller frees it), or NULL when
 * Redis could not be reached. */
redisReply *call_run(call_t *c, struct rds *r, const char *library);

/* Turns a function reply into an answer payload. Fills *ack or *error (the
 * caller passes both initialised); returns 1 for ok, 0 for error. The pairs
 * of an ok reply set the Ack fields of the same name (string or bool, found
 * by the Ack's descriptor, so a new field needs no change here); a key the
 * Ack does not have is ignored. No reply
 * (the connection is lost) and a transient Redis error are UNAVAILABLE,
 * retryable; any other Redis error (a function's runtime error) is INTERNAL,
 * not retryable. */
int call_parse_reply(const redisReply *reply, Tremplin__Ack *ack, Tremplin__Error *error, char *strbuf, size_t strcap);
/* The string field of ack named name, or NULL when it has none such. */
const char *call_ack_string(const Tremplin__Ack *ack, const char *name);
/* 1 when a Redis error reply says the server cannot do it now (LOADING, BUSY,
 * READONLY, ...) rather than that the command or function is wrong. */
int call_redis_error_transient(const char *err);

void call_vec_push(call_vec_t *v, const void *data, size_t len);
const char *call_vec_at(const call_vec_t *v, int i, size_t *len);
void call_vec_clear(call_vec_t *v);

#endif
