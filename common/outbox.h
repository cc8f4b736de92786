/* outbox — the sending side of the bus: relays a service's Redis outbox.
 *
 * Entries are written by the service's handlers, in the same function call as
 * their state change (see bus.lua). The relay takes them through the
 * consumer group "relay" (one live instance per entry), sends them DEALER ->
 * ROUTER with up to `window` in flight, deletes them when acked (acks are
 * applied in batches), resends after a timeout with exponential backoff
 * (an entry that failed once — no answer in time, or a retryable error — waits
 * for its retries apart, up to `retry_window` of them, so it never holds a
 * slot of the window: the messages behind it keep flowing),
 * resumes its own pending entries after a restart, claims the entries of an
 * instance that stopped resending for longer than the lease, takes the
 * entries nobody holds that the group's cursor has passed (left behind when
 * Redis loses part of what it wrote: looked for at start and with each claim
 * pass), and after max_tries moves an entry to the dead letters with its last
 * error. */
#ifndef TP_OUTBOX_H
#define TP_OUTBOX_H

#include <stdint.h>

#include "rds.h"

typedef struct {
    const char *service;  /* whose outbox: tp:{T}:<service>:outbox */
    const char *library;  /* e.g. intake_v1 */
    const char *instance; /* consumer name, stable across restarts */
    const char *const *territories;
    int nterritories;
    int window;       /* entries on their first try in this process */
    int retry_window; /* entries that failed at least once, waiting to be sent again */
    int64_t ack_timeout_ms;
    int64_t retry_max_ms;
    int64_t lease_ms;
    int max_tries;
} outbox_conf_t;

/* Where to send what is addressed to a service: returns a connected DEALER
 * socket, or NULL, with *unknown set when no such destination is configured
 * (the message goes to the dead letters) and clear when it is only not
 * reachable now (tried again). */
typedef void *(*outbox_route_fn)(void *arg, const char *to, int *unknown);

typedef struct outbox outbox_t;

/* A receiver refused an entry for good (an Error, not retryable): the
 * sender may take that answer as the entry's final outcome — a business
 * refusal is an answer, not a failure. bytes/len: the entry as it was sent.
 * Returns 0 when handled (the entry is done, as if acked), 1 when not (it
 * goes to the dead letters, as without a hook), -1 to see it again later
 * (it is sent again after the backoff: the receiver answers the same). */
typedef int (*outbox_refused_fn)(void *arg, const char *territory, const char *to, const uint8_t *bytes, size_t len,
                                 const char *code);

outbox_t *outbox_new(rds_t *rds, const outbox_conf_t *conf, outbox_route_fn route, void *route_arg);
void outbox_destroy(outbox_t **self_p);
/* Sets the hook for refusals (NULL: none, every refusal is a dead letter). */
void outbox_on_refused(outbox_t *self, outbox_refused_fn fn, void *arg);

/* After a reload: the territories whose outboxes to relay (in-flight
 * entries keep their own territory). */
void outbox_set_territories(outbox_t *self, const char *const *territories, int n);

/* Timer work: take new entries up to the window, resend overdue ones, move
 * exhausted ones to the dead letters, apply acks. Call it often (every few
 * ms when there is work; wake it when a handler wrote to the outbox). */
void outbox_pump(outbox_t *self);

/* The take that rides with a batch of steps: appended to the inbox's
 * pipeline after the steps (and before their WAIT), it brings back the new
 * entries with the steps' replies, a round trip and, with appendfsync
 * always, an fsync fewer per hop. Only for the territories the batch wrote
 * to (territories, n), with their acks. outbox_ride_append returns the
 * number of calls appended (0: none now); outbox_ride_apply takes their
 * replies, in order, and sends what was taken. */
int outbox_ride_append(outbox_t *self, const char *const *territories, int n);
void outbox_ride_apply(outbox_t *self, redisReply **replies);

/* A reply arrived on one of the route sockets. Reads it all. */
void outbox_on_reply(outbox_t *self, void *dealer);

/* Stops taking new entries (SIGTERM); what is in flight may still be acked. */
void outbox_quiesce(outbox_t *self);
int outbox_inflight(const outbox_t *self);
/* Of those, the entries that failed at least once (the retry set). */
int outbox_retrying(const outbox_t *self);

typedef struct {
    unsigned long sent, resent, acked, dead;
} outbox_stats_t;
outbox_stats_t outbox_stats(const outbox_t *self);

/* The outbox of one service in one territory, as an operator sees it. */
typedef struct {
    int64_t pending;       /* entries not acknowledged yet */
    int64_t oldest_age_ms; /* how long the oldest has waited; 0 when empty */
    int64_t dead;          /* dead letters */
} outbox_backlog_t;

/* Reads it; 0, or -1 when Redis is down. */
int outbox_backlog(rds_t *rds, const char *service, const char *territory, outbox_backlog_t *out);

/* Stalled: the oldest entry has waited longer than stall_ms. Whatever its
 * cause (a receiver down, a message retried again and again, an entry no
 * relay holds), the outbox is not moving and an operator should look. */
int outbox_stalled(const outbox_backlog_t *b, int64_t stall_ms);

#endif
