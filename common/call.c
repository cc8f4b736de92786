#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "keys.h"
#include "rds.h"

void call_vec_clear(call_vec_t *v)
{
    v->arena.len = 0;
    v->n = 0;
}

/* Adds an item of len bytes (plus a NUL) and returns where to write it. */
static uint8_t *call_vec_add(call_vec_t *v, size_t len)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->items = xrealloc(v->items, (size_t)v->cap * sizeof v->items[0]);
    }
    wire_buf_reserve(&v->arena, len + 1);
    uint8_t *p = v->arena.data + v->arena.len;
    p[len] = '\0';
    v->items[v->n++] = (call_span_t){ v->arena.len, len };
    v->arena.len += len + 1;
    return p;
}

void call_vec_push(call_vec_t *v, const void *data, size_t len)
{
    memcpy(call_vec_add(v, len), data, len);
}

const char *call_vec_at(const call_vec_t *v, int i, size_t *len)
{
    if (len)
        *len = v->items[i].len;
    return (const char *)v->arena.data + v->items[i].off;
}

static void call_vec_free(call_vec_t *v)
{
    wire_buf_free(&v->arena);
    free(v->items);
    v->items = NULL;
    v->n = v->cap = 0;
}

void call_reset(call_t *c, const char *service, const char *territory, const char *msg_id)
{
    c->kind = CALL_EMPTY;
    c->service = service;
    c->territory = territory;
    c->msg_id = msg_id;
    c->peer = "";
    c->operator = "";
    c->access = "";
    c->digest = "";
    c->producer = "";
    c->function[0] = '\0';
    c->step = 0;
    c->key_names.len = c->arg_names.len = 0;
    call_vec_clear(&c->keys);
    call_vec_clear(&c->args);
    call_vec_clear(&c->out);
    c->nout = 0;
    c->event_kind = c->event_subject = NULL;
    c->err_code[0] = c->err_field[0] = c->err_message[0] = '\0';
    c->err_retryable = 0;
}

void call_free(call_t *c)
{
    wire_buf_free(&c->key_names);
    wire_buf_free(&c->arg_names);
    call_vec_free(&c->keys);
    call_vec_free(&c->args);
    call_vec_free(&c->out);
}

void call_function(call_t *c, const char *name)
{
    c->kind = CALL_REDIS;
    c->step = 0;
    util_strlcpy(c->function, name, sizeof c->function);
}

void call_step(call_t *c, const char *name)
{
    call_function(c, name);
    c->step = 1;
}

/* Formats an item straight into the vector's arena: nothing is cut. The
 * first try fits most items; a longer one is formatted again with room. */
static void call_vec_vaddf(call_vec_t *v, const char *service, const char *territory, const char *fmt, va_list ap)
{
    if (!territory && !strcmp(fmt, "%s")) { /* most arguments: a copy, not a vsnprintf */
        const char *s = va_arg(ap, const char *);
        if (!s)
            s = ""; /* never expected; not a crash */
        call_vec_push(v, s, strlen(s));
        return;
    }
    size_t room = 128;
    for (;;) {
        wire_buf_reserve(&v->arena, room);
        char *p = (char *)v->arena.data + v->arena.len;
        va_list aq;
        va_copy(aq, ap);
        size_t n;
        if (territory) {
            n = tp_vkey(p, room, territory, service, fmt, aq);
        } else {
            int m = vsnprintf(p, room, fmt, aq);
            n = m > 0 ? (size_t)m : 0;
        }
        va_end(aq);
        if (n < room) {
            call_vec_add(v, n); /* already written: adds the span and the NUL */
            return;
        }
        room = n + 1;
    }
}

/* A name of a list of names (the keys', the arguments'): one word each, in
 * their order. */
static void call_name(wire_buf_t *names, const char *name)
{
    size_t n = strlen(name);
    wire_buf_reserve(names, n + 2);
    if (names->len)
        names->data[names->len++] = ' ';
    memcpy(names->data + names->len, name, n);
    names->len += n;
    names->data[names->len] = '\0';
}

void call_key(call_t *c, const char *name, const char *fmt, ...)
{
    call_name(&c->key_names, name);
    va_list ap;
    va_start(ap, fmt);
    call_vec_vaddf(&c->keys, c->service, c->territory, fmt, ap);
    va_end(ap);
}

void call_arg(call_t *c, const char *name, const char *fmt, ...)
{
    call_name(&c->arg_names, name);
    va_list ap;
    va_start(ap, fmt);
    call_vec_vaddf(&c->args, NULL, NULL, fmt, ap);
    va_end(ap);
}

void call_arg_bytes(call_t *c, const char *name, const void *data, size_t len)
{
    call_name(&c->arg_names, name);
    call_vec_push(&c->args, data, len);
}

void call_arg_word(call_t *c, const char *word)
{
    /* the last item is at the end of the arena: it grows in place */
    call_span_t *last = &c->args.items[c->args.n - 1];
    size_t n = strlen(word), sep = last->len > 0;
    wire_buf_reserve(&c->args.arena, sep + n);
    uint8_t *p = c->args.arena.data + last->off + last->len;
    if (sep)
        *p++ = ' ';
    memcpy(p, word, n);
    p[n] = '\0';
    last->len += sep + n;
    c->args.arena.len += sep + n;
}

void call_arg_list(call_t *c, const char *name, char *const *items, size_t n)
{
    call_arg_bytes(c, name, "", 0);
    for (size_t i = 0; i < n; i++)
        call_arg_word(c, items[i]);
}

/* What the ids a step sends are derived from: the command's msg_id — and,
 * from a CURVE peer (a branch, an operator), its key's, as its mark is
 * (call_mark_key): two branches may each use one msg_id for their own
 * commands, and their onward messages must not share an id. */
static void call_out_seed(const call_t *c, char *out, size_t cap)
{
    if (c->peer[0]) {
        char who[TP_ID_LEN + 1];
        util_derive_id(c->peer, "peer", 0, who);
        snprintf(out, cap, "%.16s:%s", who, c->msg_id);
    } else {
        snprintf(out, cap, "%s", c->msg_id);
    }
}

void call_send(call_t *c, const char *to, const Tremplin__Envelope *env)
{
    Tremplin__Envelope stamped = *env; /* the caller's stays as it was */
    char id[TP_ID_LEN + 1], seed[TP_ID_LEN + 80];
    wire_stamp(&stamped, id, c->msg_id, c->producer, c->territory);
    call_out_seed(c, seed, sizeof seed);
    util_derive_id(seed, "out", (unsigned)c->nout, id);
    call_vec_push(&c->out, to, strlen(to));
    call_vec_push(&c->out, id, strlen(id));
    tremplin__envelope__pack(&stamped, call_vec_add(&c->out, tremplin__envelope__get_packed_size(&stamped)));
    c->nout++;
}

void call_event(call_t *c, const char *kind, const char *subject_key)
{
    c->event_kind = kind;
    c->event_subject = subject_key;
}

int call_person_ok(call_t *c, const char *person_id)
{
    if (ids_hex(person_id))
        return 1;
    call_error(c, "INVALID_FIELD", "person_id", "Identifiant de personne invalide.", 0);
    return 0;
}

void call_error(call_t *c, const char *code, const char *field, const char *message_fr, int retryable)
{
    c->kind = CALL_ANSWER;
    util_strlcpy(c->err_code, code, sizeof c->err_code);
    util_strlcpy(c->err_field, field ? field : "", sizeof c->err_field);
    util_strlcpy(c->err_message, message_fr ? message_fr : "", sizeof c->err_message);
    c->err_retryable = retryable;
}

/* The command's mark: a CURVE peer's ids are its own, so that one cannot
 * replay another's to read its answer. */
static void call_mark_key(const call_t *c, char *out, size_t cap)
{
    if (c->peer[0]) {
        char who[TP_ID_LEN + 1];
        util_derive_id(c->peer, "peer", 0, who);
        tp_key(out, cap, c->territory, c->service, "seen:%.16s:%s", who, c->msg_id);
    } else {
        tp_key(out, cap, c->territory, c->service, "seen:%s", c->msg_id);
    }
}

typedef struct {
    const char **argv;
    size_t *lens;
    int n;
} call_argv_t;

static void call_push(call_argv_t *a, const char *s, size_t len)
{
    a->argv[a->n] = s;
    a->lens[a->n++] = len;
}

static void call_push_vec(call_argv_t *a, const call_vec_t *v)
{
    for (int k = 0; k < v->n; k++) {
        size_t l;
        const char *s = call_vec_at(v, k, &l);
        call_push(a, s, l);
    }
}

void call_append(call_t *c, rds_t *r, const char *library, long mark_ttl_s)
{
    int prefix = c->step ? 0 : 2;
    int argc = 3 + prefix + c->keys.n + (c->step ? 0 : 3 + c->out.n) + 2 + c->args.n;
    const char *argv_stack[64];
    size_t lens_stack[64];
    call_argv_t a = { argc <= 64 ? argv_stack : xmalloc((size_t)argc * sizeof *a.argv),
                      argc <= 64 ? lens_stack : xmalloc((size_t)argc * sizeof *a.lens), 0 };
    char fname[128], numkeys[16], mark[160], outbox[96], ttl[24], nout[16];
    snprintf(fname, sizeof fname, "%s_%s", library, c->function);
    snprintf(numkeys, sizeof numkeys, "%d", prefix + c->keys.n);
    call_push(&a, "FCALL", 5);
    call_push(&a, fname, strlen(fname));
    call_push(&a, numkeys, strlen(numkeys));
    if (!c->step) {
        call_mark_key(c, mark, sizeof mark);
        tp_key(outbox, sizeof outbox, c->territory, c->service, "outbox");
        call_push(&a, mark, strlen(mark));
        call_push(&a, outbox, strlen(outbox));
    }
    call_push_vec(&a, &c->keys);
    if (!c->step) {
        snprintf(ttl, sizeof ttl, "%ld", mark_ttl_s);
        snprintf(nout, sizeof nout, "%d", c->nout);
        call_push(&a, ttl, strlen(ttl));
        call_push(&a, c->digest, strlen(c->digest));
        call_push(&a, nout, strlen(nout));
        call_push_vec(&a, &c->out);
    }
    call_push(&a, c->key_names.len ? (const char *)c->key_names.data : "", c->key_names.len);
    call_push(&a, c->arg_names.len ? (const char *)c->arg_names.data : "", c->arg_names.len);
    call_push_vec(&a, &c->args);
    rds_append_argv(r, a.n, a.argv, a.lens);
    if (a.argv != argv_stack) {
        free(a.argv);
        free(a.lens);
    }
}

redisReply *call_run(call_t *c, rds_t *r, const char *library)
{
    redisReply *reply;
    call_append(c, r, library, 0);
    return rds_read(r, &reply, 1) == 0 ? reply : NULL;
}

/* Copies a reply string into strbuf and returns it (the Ack/Error fields
 * point into strbuf, which the caller keeps until the answer is packed). */
static char *call_copy(char **w, char *end, const char *s, size_t len)
{
    size_t room = (size_t)(end - *w);
    if (room == 0)
        return (char *)"";
    if (len >= room)
        len = room - 1;
    char *r = *w;
    memcpy(r, s, len);
    r[len] = '\0';
    *w += len + 1;
    return r;
}

/* Error replies Redis gives for a passing condition of the server (loading
 * its data, a script running, a replica or a failover, memory, a disk that
 * refuses the AOF's writes, replication, a cluster resharding) or of the
 * deployment (the library not loaded yet):
 * the same message succeeds later. Anything else — a function's runtime
 * error, a wrong type, a refused permission — is a bug that no retry fixes. */
static const char *const call_transient[] = {
    "LOADING ", "BUSY ", "READONLY ", "MASTERDOWN ", "OOM ", "MISCONF ", "NOREPLICAS ", "TRYAGAIN ", "CLUSTERDOWN ",
    "ERR Function not found",
};

int call_redis_error_transient(const char *err)
{
    for (size_t i = 0; i < TP_ARRAY_LEN(call_transient); i++)
        if (strncmp(err, call_transient[i], strlen(call_transient[i])) == 0)
            return 1;
    return 0;
}

static int call_unavailable(Tremplin__Error *error)
{
    error->code = "UNAVAILABLE";
    error->message_fr = "Service momentanément indisponible, réessayez.";
    error->retryable = 1;
    return 0;
}

/* A bug of the service, not of the message nor of the moment: not retryable,
 * so the sender moves the message to its dead letters at once, from where an
 * operator sends it again once the bug is fixed. */
static int call_internal(Tremplin__Error *error, const char *message_fr)
{
    error->code = "INTERNAL";
    error->message_fr = (char *)message_fr;
    error->retryable = 0;
    return 0;
}

/* The plain (not repeated, not in a oneof) string or bool field of Ack named
 * name: a reply key is an Ack field's name, so common/ names none of them. */
static const ProtobufCFieldDescriptor *call_ack_field(const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&tremplin__ack__descriptor, name);
    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        || (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BOOL))
        return NULL;
    return f;
}

static void call_ack_set(Tremplin__Ack *ack, const ProtobufCFieldDescriptor *f, char *val)
{
    char *at = (char *)ack + f->offset;
    if (f->type == PROTOBUF_C_TYPE_STRING)
        *(char **)at = val;
    else
        *(protobuf_c_boolean *)at = val[0] == '1';
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset) /* a has_ flag */
        *(protobuf_c_boolean *)((char *)ack + f->quantifier_offset) = 1;
}

int call_parse_reply(const redisReply *reply, Tremplin__Ack *ack, Tremplin__Error *error, char *strbuf, size_t strcap)
{
    char *w = strbuf, *end = strbuf + strcap;
    if (!reply)
        return call_unavailable(error);
    if (reply->type == REDIS_REPLY_ERROR)
        return call_redis_error_transient(reply->str) ? call_unavailable(error)
                                                      : call_internal(error, "Erreur interne du service.");
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 || reply->element[0]->type != REDIS_REPLY_STRING)
        return call_internal(error, "Réponse interne inattendue.");
    const char *tag = reply->element[0]->str;
    if (strcmp(tag, "err") == 0 || strcmp(tag, "retry") == 0) {
        error->retryable = tag[0] == 'r';
        const char **slots[3] = { (const char **)&error->code, (const char **)&error->field,
                                  (const char **)&error->message_fr };
        for (size_t i = 0; i < 3 && i + 1 < reply->elements; i++)
            if (reply->element[i + 1]->type == REDIS_REPLY_STRING)
                *slots[i] = call_copy(&w, end, reply->element[i + 1]->str, reply->element[i + 1]->len);
        return 0;
    }
    for (size_t i = 1; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        const ProtobufCFieldDescriptor *f = call_ack_field(k->str);
        if (f)
            call_ack_set(ack, f, call_copy(&w, end, v->str, v->len));
    }
    return 1;
}

const char *call_ack_string(const Tremplin__Ack *ack, const char *name)
{
    const ProtobufCFieldDescriptor *f = call_ack_field(name);
    return f && f->type == PROTOBUF_C_TYPE_STRING ? *(char *const *)((const char *)ack + f->offset) : NULL;
}
