#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    c->digest = "";
    c->producer = "";
    c->function[0] = '\0';
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
    call_vec_free(&c->keys);
    call_vec_free(&c->args);
    call_vec_free(&c->out);
}

void call_function(call_t *c, const char *name)
{
    c->kind = CALL_REDIS;
    util_strlcpy(c->function, name, sizeof c->function);
}

/* Keys and arguments are short (ids, numbers, codes): one longer than the
 * buffer is cut. */
#define CALL_ITEM_MAX 4096

static void call_push_key(call_t *c, const char *service, const char *fmt, va_list ap)
{
    char buf[CALL_ITEM_MAX];
    size_t n = tp_vkey(buf, sizeof buf, c->territory, service, fmt, ap);
    call_vec_push(&c->keys, buf, n < sizeof buf ? n : sizeof buf - 1);
}

void call_own_key(call_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    call_push_key(c, c->service, fmt, ap);
    va_end(ap);
}

void call_key(call_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    call_push_key(c, NULL, fmt, ap);
    va_end(ap);
}

void call_arg(call_t *c, const void *data, size_t len) { call_vec_push(&c->args, data, len); }

void call_argf(call_t *c, const char *fmt, ...)
{
    char buf[CALL_ITEM_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t len = n > 0 ? (size_t)n : 0;
    call_vec_push(&c->args, buf, len < sizeof buf ? len : sizeof buf - 1);
}

void call_send(call_t *c, const char *to, const Tremplin__Envelope *env)
{
    Tremplin__Envelope stamped = *env; /* the caller's stays as it was */
    char id[TP_ID_LEN + 1];
    wire_stamp(&stamped, id, c->msg_id, c->producer, c->territory);
    util_derive_id(c->msg_id, "out", (unsigned)c->nout, id);
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

void call_error(call_t *c, const char *code, const char *field, const char *message_fr, int retryable)
{
    c->kind = CALL_ANSWER;
    util_strlcpy(c->err_code, code, sizeof c->err_code);
    util_strlcpy(c->err_field, field ? field : "", sizeof c->err_field);
    util_strlcpy(c->err_message, message_fr ? message_fr : "", sizeof c->err_message);
    c->err_retryable = retryable;
}

void call_append(call_t *c, rds_t *r, const char *library, long mark_ttl_s)
{
    int nkeys = 2 + c->keys.n;
    int argc = 3 + nkeys + 3 + c->out.n + c->args.n;
    const char *argv_stack[64];
    size_t lens_stack[64];
    const char **argv = argc <= 64 ? argv_stack : xmalloc((size_t)argc * sizeof *argv);
    size_t *lens = argc <= 64 ? lens_stack : xmalloc((size_t)argc * sizeof *lens);
    char fname[128], numkeys[16], mark[160], outbox[96], ttl[24], nout[16];
    snprintf(fname, sizeof fname, "%s_%s", library, c->function);
    snprintf(numkeys, sizeof numkeys, "%d", nkeys);
    if (c->peer[0]) { /* a CURVE peer's ids are its own: one cannot replay another's to read its answer */
        char who[TP_ID_LEN + 1];
        util_derive_id(c->peer, "peer", 0, who);
        tp_key(mark, sizeof mark, c->territory, c->service, "seen:%.16s:%s", who, c->msg_id);
    } else {
        tp_key(mark, sizeof mark, c->territory, c->service, "seen:%s", c->msg_id);
    }
    tp_key(outbox, sizeof outbox, c->territory, c->service, "outbox");
    snprintf(ttl, sizeof ttl, "%ld", mark_ttl_s);
    snprintf(nout, sizeof nout, "%d", c->nout);
    int i = 0;
#define PUSH(s, l) do { argv[i] = (s); lens[i] = (l); i++; } while (0)
    PUSH("FCALL", 5);
    PUSH(fname, strlen(fname));
    PUSH(numkeys, strlen(numkeys));
    PUSH(mark, strlen(mark));
    PUSH(outbox, strlen(outbox));
    for (int k = 0; k < c->keys.n; k++) {
        size_t l;
        const char *s = call_vec_at(&c->keys, k, &l);
        PUSH(s, l);
    }
    PUSH(ttl, strlen(ttl));
    PUSH(c->digest, strlen(c->digest));
    PUSH(nout, strlen(nout));
    for (int k = 0; k < c->out.n; k++) {
        size_t l;
        const char *s = call_vec_at(&c->out, k, &l);
        PUSH(s, l);
    }
    for (int k = 0; k < c->args.n; k++) {
        size_t l;
        const char *s = call_vec_at(&c->args, k, &l);
        PUSH(s, l);
    }
#undef PUSH
    rds_append_argv(r, argc, argv, lens);
    if (argv != argv_stack) {
        free(argv);
        free(lens);
    }
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
