/* inbox — the receiving side of the bus (a ROUTER socket).
 *
 * Each time the socket is readable, every ready message (up to a batch) is
 * decoded and handed to its handler's prepare step; the Redis calls of the
 * batch go out as one pipeline, and each message is then answered with Ack or
 * Error (cause_id = its msg_id). Handlers' functions check the idempotency
 * mark, so a replay gets the first answer. Bad frames are answered with a
 * stable error code and never stop the loop. */
#ifndef TP_INBOX_H
#define TP_INBOX_H

#include "call.h"
#include "rds.h"
#include "wire.h"

#define INBOX_RIDE_MAX 128 /* calls that may ride with a batch (inbox_conf_t.ride_append) */

/* Fills call: call_function + keys/args/sends, or call_error. `arg` is the
 * inbox_conf_t's handler_arg. */
typedef void (*inbox_prepare_fn)(void *arg, const Tremplin__Envelope *in, call_t *call);

typedef struct {
    Tremplin__Envelope__PayloadCase payload;
    inbox_prepare_fn prepare;
    /* a command from outside the bus (a branch system, a kiosk, a tool):
     * refused with a retryable BUSY while conf.busy says the territory's
     * outbox is over its bound, so a backlog cannot grow without limit */
    int edge;
} inbox_handler_t;

typedef struct {
    const char *service;
    const char *library;
    const char *instance;
    size_t max_msg;
    int batch;
    long mark_ttl_s;
    int64_t wait_replicas;   /* > 0: WAIT for them before acking (rds.h) */
    int64_t wait_timeout_ms;
    const char *const *territories;
    int nterritories;
    const inbox_handler_t *handlers;
    size_t nhandlers;
    void *handler_arg;
    /* Ping answers: fills the dynamic part of a Pong */
    void (*pong_fill)(void *arg, Tremplin__Pong *pong);
    /* 1 while the territory's outbox is over its bound (NULL: never) */
    int (*busy)(void *arg, const char *territory);
    /* NULL when the sender (peer: its CURVE key, "" on a plain socket) may
     * send env, else the French reason: answered FORBIDDEN before any
     * handler runs (NULL hook: every sender may). When it may, operator
     * (KEYRING_ID_MAX bytes) is the operator's id and access (16 bytes) its
     * role, both "" for a service: a
     * service's commands are then marked as on a plain socket (call.h's
     * peer is ""), an operator's under its key, and call.operator says who
     * sent it. */
    const char *(*forbid)(void *arg, const char *peer, const Tremplin__Envelope *env, char *operator, char *access,
                          char *why, size_t cap);
    /* how long the audit trail keeps an operator's entries (ms) */
    int64_t audit_keep_ms;
    /* After each committed call (ok answer, not a replay) */
    void (*committed)(void *arg, const call_t *call, const Tremplin__Ack *ack);
    /* Calls that ride with a batch (the outbox's take: outbox_ride_append):
     * appended after its steps and before its WAIT, at most INBOX_RIDE_MAX,
     * given the territories the batch's steps send from; ride_apply takes
     * their replies, in order, once the batch is answered. NULL: none. */
    int (*ride_append)(void *arg, const char *const *territories, int n);
    void (*ride_apply)(void *arg, redisReply **replies);
} inbox_conf_t;

typedef struct inbox inbox_t;

inbox_t *inbox_new(void *router, rds_t *rds, const inbox_conf_t *conf);
void inbox_destroy(inbox_t **self_p);

void inbox_set_territories(inbox_t *self, const char *const *territories, int n);

/* Drains and handles what is ready; returns the number of messages handled. */
int inbox_drain(inbox_t *self);

/* Counters since start, for /metrics and tests. duplicates: commands acked
 * as already done (a replay of a msg_id, or a business duplicate). */
typedef struct {
    unsigned long received, acked, errors, bad_frames, duplicates;
} inbox_stats_t;
inbox_stats_t inbox_stats(const inbox_t *self);

#endif
