#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "call.h"
#include "clock.h"
#include "ids.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define OUTBOX_MAX_TERRITORIES 64

/* One message in flight. The table is open-addressed on msg_id so that an
 * ack finds its entry in O(1); the window and the retry window bound its
 * size. */
typedef struct {
    int used;
    char msg_id[65];
    char stream_id[32];
    char territory[WIRE_TERRITORY_MAX + 1];
    char to[32];
    uint8_t *bytes;
    size_t len;
    int tries;    /* transmissions so far (the first one included) */
    int unsent;   /* the last attempt found no peer: not counted as a try */
    int failed;   /* timed out or refused once: in the retry set, not the window */
    int64_t deadline_ms;
    int64_t touched_ms; /* last lease renewal */
} outbox_entry_t;

#define OUTBOX_DONE_CALLS 64 /* outbox_done calls in one pipeline: one per territory */

/* A take: appended to a pipeline (with the acks gathered meanwhile, which go
 * first: with appendfsync always each round trip that writes waits for an
 * fsync), then applied with its replies. */
typedef struct {
    const char *mode;
    int which[OUTBOX_MAX_TERRITORIES], n;
    int first_of[OUTBOX_DONE_CALLS], ndone;
} outbox_take_t;

struct outbox {
    rds_t *rds;
    outbox_conf_t conf;
    outbox_route_fn route;
    void *route_arg;
    outbox_refused_fn refused;
    void *refused_arg;
    outbox_entry_t *table;
    int cap;   /* power of two, > 2 * (entries the table can hold) */
    int count;
    int nretry; /* entries with `failed` set */
    int quiesced;
    uint64_t own_loaded; /* bit t: territory t's group made and own pending entries re-read after start */
    int64_t next_claim_ms;
    int64_t next_due_ms; /* no entry is due before (a lower bound): the pump skips the scan until then */
    int orphans_due;                /* look for orphaned entries at the next pump */
    int orphans_taken;              /* by the scan under way */
    char orphan_from[OUTBOX_MAX_TERRITORIES][48]; /* where each territory's unfinished scan goes on */
    outbox_stats_t stats;
    /* acks waiting to be applied */
    char (*done_ids)[32];
    char (*done_terr)[WIRE_TERRITORY_MAX + 1];
    int ndone;
    outbox_take_t ride; /* the take riding with the inbox's batch (outbox_ride_append) */
    int ride_calls;
    call_t call; /* the step being built, reused */
};

static uint64_t outbox_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static outbox_entry_t *outbox_find(outbox_t *self, const char *msg_id, int insert)
{
    int mask = self->cap - 1;
    int i = (int)(outbox_hash(msg_id) & (uint64_t)mask);
    outbox_entry_t *tomb = NULL;
    for (int probes = 0; probes < self->cap; probes++, i = (i + 1) & mask) {
        outbox_entry_t *e = &self->table[i];
        if (e->used == 1 && strcmp(e->msg_id, msg_id) == 0)
            return e;
        if (e->used == 2 && !tomb)
            tomb = e;
        if (e->used == 0)
            return insert ? (tomb ? tomb : e) : NULL;
    }
    return insert ? tomb : NULL;
}

static void outbox_remove(outbox_t *self, outbox_entry_t *e)
{
    if (e->failed)
        self->nretry--;
    free(e->bytes);
    e->bytes = NULL;
    e->used = 2; /* tombstone keeps probe chains intact */
    self->count--;
}

outbox_t *outbox_new(rds_t *rds, const outbox_conf_t *conf, outbox_route_fn route, void *route_arg)
{
    outbox_t *self = xcalloc(1, sizeof *self);
    self->rds = rds;
    self->conf = *conf;
    if (self->conf.window <= 0)
        self->conf.window = 256;
    if (self->conf.retry_window <= 0)
        self->conf.retry_window = 4 * self->conf.window;
    self->route = route;
    self->route_arg = route_arg;
    /* at most window fresh entries, plus retry_window failed ones, plus the
     * window's entries failing while the retry set is full (see outbox_room) */
    self->cap = 16;
    while (self->cap < (2 * self->conf.window + self->conf.retry_window) * 2)
        self->cap *= 2;
    self->table = xcalloc((size_t)self->cap, sizeof *self->table);
    self->done_ids = xcalloc((size_t)self->conf.window * 2, sizeof *self->done_ids);
    self->done_terr = xcalloc((size_t)self->conf.window * 2, sizeof *self->done_terr);
    return self;
}

void outbox_set_territories(outbox_t *self, const char *const *territories, int n)
{
    self->conf.territories = territories;
    self->conf.nterritories = n;
    self->own_loaded = 0; /* new outboxes: create their groups, re-read */
    memset(self->orphan_from, 0, sizeof self->orphan_from);
    self->next_due_ms = 0; /* a territory back: its entries, left out of the last scans, are looked at */
}



void outbox_destroy(outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    outbox_t *self = *self_p;
    for (int i = 0; i < self->cap; i++)
        free(self->table[i].bytes);
    free(self->table);
    free(self->done_ids);
    free(self->done_terr);
    call_free(&self->call);
    free(self);
    *self_p = NULL;
}

outbox_stats_t outbox_stats(const outbox_t *self) { return self->stats; }
int outbox_retrying(const outbox_t *self) { return self->nretry; }
int outbox_inflight(const outbox_t *self) { return self->count; }
void outbox_quiesce(outbox_t *self) { self->quiesced = 1; }

static int64_t outbox_backoff(const outbox_t *self, int tries)
{
    int64_t d = self->conf.ack_timeout_ms;
    for (int i = 1; i < tries && d < self->conf.retry_max_ms; i++)
        d *= 2;
    if (d > self->conf.retry_max_ms)
        d = self->conf.retry_max_ms;
    return d - d / 8 + (int64_t)(util_random_u64() % (uint64_t)(d / 4 + 1)); /* +-12.5 % jitter */
}

/* Sends one entry. When no peer is connected (or its queue is full) nothing
 * left: the entry is tried again shortly without counting a try, so a
 * receiver that is down for a while delays messages but never kills them —
 * the outbox age shows it — and waits in the retry set, so that messages to
 * the other destinations keep the window. A sent entry comes back after its
 * timeout. */
#define OUTBOX_UNSENT_RETRY_MS 50

static void outbox_dead(outbox_t *self, outbox_entry_t *e, const char *error);

/* An entry that failed leaves the window for the retry set: the window is
 * for messages that have not failed yet, so a message that keeps failing
 * never holds back those behind it. */
static void outbox_failed(outbox_t *self, outbox_entry_t *e)
{
    if (!e->failed) {
        e->failed = 1;
        self->nretry++;
    }
}

/* How many new entries may be taken now. A full retry set stops the taking
 * of new ones: that many messages failing at once means their destination
 * fails, and sending more would only add to the pile (backpressure); it also
 * bounds the table. */
static int outbox_room(const outbox_t *self)
{
    if (self->nretry >= self->conf.retry_window)
        return 0;
    return self->conf.window - (self->count - self->nretry);
}

/* An entry's next deadline, which the table's earliest remembers. */
static void outbox_due(outbox_t *self, outbox_entry_t *e, int64_t when)
{
    e->deadline_ms = when;
    if (when < self->next_due_ms)
        self->next_due_ms = when;
}

static void outbox_send(outbox_t *self, outbox_entry_t *e)
{
    int unknown = 0;
    void *sock = self->route(self->route_arg, e->to, &unknown);
    int64_t now = clock_mono_ms();
    if (!sock && unknown) { /* a destination this deployment does not have: no retry helps */
        log_warn("outbox_no_route", "msg_id=%s to=%s", e->msg_id, e->to);
        outbox_dead(self, e, "NO_ROUTE");
        return;
    }
    if (!sock || zmq_send(sock, e->bytes, e->len, ZMQ_DONTWAIT) < 0) {
        e->unsent = 1;
        outbox_due(self, e, now + OUTBOX_UNSENT_RETRY_MS);
        outbox_failed(self, e); /* a destination that is down holds back no other */
        return;
    }
    e->unsent = 0;
    outbox_due(self, e, now + outbox_backoff(self, e->tries));
}

/* Starts the relay's step fn (bus.lua) on territory's outbox; its
 * arguments follow, then outbox_append. */
static call_t *outbox_step(outbox_t *self, const char *territory, const char *fn)
{
    call_t *c = &self->call;
    call_reset(c, self->conf.service, territory, "");
    call_step(c, fn);
    call_key(c, "outbox", "outbox");
    return c;
}

static void outbox_append(outbox_t *self) { call_append(&self->call, self->rds, self->conf.library, 0); }

static uint64_t outbox_territory_bit(const outbox_t *self, const char *territory)
{
    for (int t = 0; t < self->conf.nterritories && t < OUTBOX_MAX_TERRITORIES; t++)
        if (strcmp(self->conf.territories[t], territory) == 0)
            return 1ull << t;
    return 0;
}

/* The acks gathered since the last call, applied in one function call per
 * territory: appended to the pipeline (first_of[i]: the first queued entry of
 * the i-th call, which names its territory; at most OUTBOX_DONE_CALLS), then
 * read with whatever the pipeline holds after them. only: the territories
 * whose acks go (bit t: territory t), ~0 for all. */
static int outbox_done_append(outbox_t *self, uint64_t only, int *first_of)
{
    int calls = 0;
    /* one call per territory present in the batch, in order of appearance */
    for (int first = 0; first < self->ndone && calls < OUTBOX_DONE_CALLS; first++) {
        const char *terr = self->done_terr[first];
        if (only != ~0ull && !(outbox_territory_bit(self, terr) & only))
            continue;
        int seen = 0;
        for (int j = 0; j < first && !seen; j++)
            seen = strcmp(self->done_terr[j], terr) == 0;
        if (seen)
            continue;
        call_t *c = outbox_step(self, terr, "outbox_done");
        call_arg_list(c, "ids", NULL, 0);
        for (int i = first; i < self->ndone; i++)
            if (strcmp(self->done_terr[i], terr) == 0)
                call_arg_word(c, self->done_ids[i]);
        outbox_append(self);
        first_of[calls++] = first;
    }
    return calls;
}

/* Takes the replies of outbox_done_append's calls (and frees them): the
 * queue keeps the ids of territories whose call failed, applied after the
 * reconnect (meanwhile a resend of them is harmless: the receiver replays). */
static void outbox_done_apply(outbox_t *self, redisReply **replies, const int *first_of, int calls)
{
    char flushed[OUTBOX_DONE_CALLS][WIRE_TERRITORY_MAX + 1]; /* copies: the queue is compacted below */
    int nflushed = 0;
    for (int i = 0; i < calls; i++) {
        if (!replies[i])
            continue; /* that territory's Redis is away: its ids stay queued */
        if (replies[i]->type == REDIS_REPLY_ERROR) /* dropped: sent again after the lease, answered from the mark */
            log_warn("outbox_done_failed", "reason=\"%.200s\" action=resend_after_lease", replies[i]->str);
        freeReplyObject(replies[i]);
        util_strlcpy(flushed[nflushed++], self->done_terr[first_of[i]], sizeof flushed[0]);
    }
    int kept = 0;
    for (int i = 0; i < self->ndone; i++) {
        int gone = 0;
        for (int f = 0; f < nflushed && !gone; f++)
            gone = strcmp(self->done_terr[i], flushed[f]) == 0;
        if (gone)
            continue;
        if (kept != i) {
            memcpy(self->done_ids[kept], self->done_ids[i], sizeof self->done_ids[0]);
            memcpy(self->done_terr[kept], self->done_terr[i], sizeof self->done_terr[0]);
        }
        kept++;
    }
    self->ndone = kept;
}

static void outbox_flush_done(outbox_t *self)
{
    if (self->ndone == 0)
        return;
    int first_of[OUTBOX_DONE_CALLS];
    int calls = outbox_done_append(self, ~0ull, first_of);
    redisReply *replies[OUTBOX_DONE_CALLS];
    rds_read_each(self->rds, replies, calls);
    outbox_done_apply(self, replies, first_of, calls);
}

static void outbox_acked(outbox_t *self, outbox_entry_t *e)
{
    if (self->ndone == self->conf.window * 2)
        outbox_flush_done(self);
    if (self->ndone < self->conf.window * 2) {
        util_strlcpy(self->done_ids[self->ndone], e->stream_id, sizeof self->done_ids[0]);
        util_strlcpy(self->done_terr[self->ndone], e->territory, sizeof self->done_terr[0]);
        self->ndone++;
    }
    self->stats.acked++;
    outbox_remove(self, e);
}

static void outbox_dead(outbox_t *self, outbox_entry_t *e, const char *error)
{
    call_t *c = outbox_step(self, e->territory, "outbox_dead");
    call_key(c, "dead", "dead");
    call_arg(c, "id", "%s", e->stream_id);
    call_arg(c, "error", "%s", error);
    call_arg(c, "tries", "%d", e->tries);
    redisReply *r = call_run(c, self->rds, self->conf.library);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            freeReplyObject(r);
        outbox_due(self, e, clock_mono_ms() + self->conf.ack_timeout_ms); /* try again later */
        return;
    }
    freeReplyObject(r);
    log_warn("dead_letter", "msg_id=%s to=%s tries=%d error=%s", e->msg_id, e->to, e->tries, error);
    self->stats.dead++;
    outbox_remove(self, e);
}

void outbox_on_refused(outbox_t *self, outbox_refused_fn fn, void *arg)
{
    self->refused = fn;
    self->refused_arg = arg;
}

void outbox_on_reply(outbox_t *self, void *dealer)
{
    uint8_t buf[4096];
    for (;;) {
        int n = zmq_recv(dealer, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0)
            break;
        if ((size_t)n > sizeof buf)
            continue; /* a reply is small; a big one is not ours */
        Tremplin__Envelope *env = NULL;
        wire_err_t werr = wire_unpack(buf, (size_t)n, sizeof buf, NULL, &env);
        outbox_entry_t *e = env && env->cause_id[0] ? outbox_find(self, env->cause_id, 0) : NULL;
        if (werr == WIRE_OK && e) {
            if (env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
                outbox_acked(self, e);
            } else if (env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR) {
                const Tremplin__Error *err = env->error;
                log_warn("outbox_rejected", "msg_id=%s to=%s code=%s retryable=%d tries=%d", e->msg_id, e->to,
                         err->code, err->retryable, e->tries);
                /* the receiver's store is down: not the message's fault, so
                 * not a try (the backoff still grows with the others) */
                if (!strcmp(err->code, "UNAVAILABLE") && e->tries > 1)
                    e->tries--;
                /* CONFLICT on the msg_id: the receiver holds this id with
                 * other content. A bus message's id is derived from the step
                 * that made it, so that is an earlier run of the same step —
                 * run again after a failover lost it, with other times in it
                 * — whose first version the receiver already applied: done,
                 * not a dead letter (docs/reliability.md, failover). */
                int superseded = !err->retryable && !strcmp(err->code, "CONFLICT") && !strcmp(err->field, "msg_id");
                if (superseded)
                    log_warn("outbox_superseded", "msg_id=%s to=%s reason=\"the receiver applied an earlier run of "
                             "this step\"", e->msg_id, e->to);
                int hook = superseded ? 0
                           : !err->retryable && self->refused
                               ? self->refused(self->refused_arg, e->territory, e->to, e->bytes, e->len, err->code)
                               : 1;
                if (hook == 0) {
                    outbox_acked(self, e); /* answered: done */
                } else if (hook < 0) {
                    outbox_failed(self, e); /* the hook could not record it now */
                } else if (!err->retryable || e->tries >= self->conf.max_tries) {
                    outbox_dead(self, e, err->code);
                } else {
                    outbox_failed(self, e); /* the deadline resends it with backoff */
                }
            }
        }
        wire_free(env, NULL);
    }
    outbox_pump(self); /* apply the acks and refill the window */
}

/* Adds entries returned by the take function: {id, to, msg_id, bytes, tries}...
 * from element `first` on. */
static int outbox_adopt(outbox_t *self, const char *territory, const redisReply *r, size_t first)
{
    int added = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = first; i + 4 < r->elements; i += 5) {
        const redisReply *sid = r->element[i], *to = r->element[i + 1], *mid = r->element[i + 2],
                         *bytes = r->element[i + 3], *tries = r->element[i + 4];
        if (sid->type != REDIS_REPLY_STRING || mid->type != REDIS_REPLY_STRING || !ids_valid(mid->str, 64))
            continue;
        outbox_entry_t *e = outbox_find(self, mid->str, 0);
        if (e) { /* already ours (claimed back): keep the newer stream id */
            util_strlcpy(e->stream_id, sid->str, sizeof e->stream_id);
            continue;
        }
        e = outbox_find(self, mid->str, 1);
        if (!e)
            break;
        added++;
        memset(e, 0, sizeof *e);
        e->used = 1;
        util_strlcpy(e->msg_id, mid->str, sizeof e->msg_id);
        util_strlcpy(e->stream_id, sid->str, sizeof e->stream_id);
        util_strlcpy(e->to, to->type == REDIS_REPLY_STRING ? to->str : "", sizeof e->to);
        util_strlcpy(e->territory, territory, sizeof e->territory);
        e->len = bytes->type == REDIS_REPLY_STRING ? bytes->len : 0;
        e->bytes = xmalloc(e->len ? e->len : 1);
        if (e->len)
            memcpy(e->bytes, bytes->str, e->len);
        e->tries = tries->type == REDIS_REPLY_INTEGER ? (int)tries->integer : 1;
        if (e->tries < 1)
            e->tries = 1;
        self->count++;
        if (e->tries > 1)
            self->stats.resent++;
        else
            self->stats.sent++;
        e->touched_ms = clock_mono_ms();
        outbox_send(self, e);
    }
    return added;
}

/* The indexes of the territories of mask (bit t: territory t) into which;
 * how many. */
static int outbox_territories_in(const outbox_t *self, uint64_t mask, int *which)
{
    int n = 0;
    for (int t = 0; t < self->conf.nterritories && t < OUTBOX_MAX_TERRITORIES; t++)
        if (mask & (1ull << t))
            which[n++] = t;
    return n;
}

/* Appends the take of the territories of mask (bit t: territory t), each its
 * share of the room, after the acks of the territories of acks; returns the
 * number of calls appended (0: none, no room). mode 'own' re-reads this
 * instance's pending entries (after a start). */
static int outbox_take_append(outbox_t *self, const char *mode, uint64_t mask, uint64_t acks, outbox_take_t *tk)
{
    int room = outbox_room(self);
    if (room <= 0 || !mask)
        return 0;
    tk->mode = mode;
    tk->n = outbox_territories_in(self, mask, tk->which);
    int per = room / tk->n > 0 ? room / tk->n : 1;
    tk->ndone = outbox_done_append(self, acks, tk->first_of);
    for (int i = 0; i < tk->n; i++) {
        call_t *c = outbox_step(self, self->conf.territories[tk->which[i]], "outbox_take");
        call_arg(c, "consumer", "%s", self->conf.instance);
        call_arg(c, "count", "%d", per);
        call_arg(c, "lease_ms", "%lld", (long long)self->conf.lease_ms);
        call_arg(c, "mode", "%s", mode);
        outbox_append(self);
    }
    return tk->ndone + tk->n;
}

/* Takes the replies of a take (and frees them): sends the entries taken; a
 * territory whose Redis did not answer is left for the next pump; 'own'
 * marks the territory loaded. */
static void outbox_take_apply(outbox_t *self, const outbox_take_t *tk, redisReply **all)
{
    outbox_done_apply(self, all, tk->first_of, tk->ndone);
    redisReply **replies = all + tk->ndone;
    for (int i = 0; i < tk->n; i++) {
        int t = tk->which[i];
        if (!replies[i])
            continue;
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            log_warn("outbox_take_failed", "territory=%s reason=\"%.200s\"", self->conf.territories[t], replies[i]->str);
            /* the group is gone (a failover before it replicated, data
             * loss): create it again at the next pump */
            if (strstr(replies[i]->str, "NOGROUP"))
                self->own_loaded &= ~(1ull << t);
        } else {
            outbox_adopt(self, self->conf.territories[t], replies[i], 0);
            if (strcmp(tk->mode, "own") == 0)
                self->own_loaded |= 1ull << t;
        }
        freeReplyObject(replies[i]);
    }
}

/* A take in its own round trip; returns 1 when it went to Redis. */
static int outbox_take(outbox_t *self, const char *mode, uint64_t mask)
{
    outbox_take_t tk;
    int n = outbox_take_append(self, mode, mask, ~0ull, &tk);
    if (n == 0)
        return 0;
    redisReply *all[OUTBOX_DONE_CALLS + OUTBOX_MAX_TERRITORIES];
    rds_read_each(self->rds, all, n);
    outbox_take_apply(self, &tk, all);
    return 1;
}

int outbox_ride_append(outbox_t *self, const char *const *territories, int n)
{
    /* only where the batch wrote, which its steps' connections reach: a
     * territory's Redis away (shards) must not fail another's batch */
    uint64_t ready = 0;
    for (int i = 0; i < n; i++) {
        uint64_t bit = outbox_territory_bit(self, territories[i]);
        if (bit && rds_territory_up(self->rds, territories[i]))
            ready |= bit;
    }
    ready &= self->own_loaded;
    self->ride_calls = self->quiesced ? 0 : outbox_take_append(self, "new", ready, ready, &self->ride);
    return self->ride_calls;
}

void outbox_ride_apply(outbox_t *self, redisReply **replies)
{
    if (self->ride_calls > 0)
        outbox_take_apply(self, &self->ride, replies);
    self->ride_calls = 0;
}

/* Takes the orphaned entries of each territory's outbox (bus.lua, orphans):
 * the group's cursor is past them but no consumer holds them, so neither
 * 'own', 'claim' nor 'new' would ever read them. Runs after the start and with
 * each claim pass, then at every pump while a scan is unfinished; at most
 * OUTBOX_ORPHAN_BUDGET entries examined per territory and call. */
#define OUTBOX_ORPHAN_BUDGET 1000

static void outbox_take_orphans(outbox_t *self, uint64_t mask)
{
    int room = outbox_room(self);
    if (room <= 0 || !mask)
        return; /* still due */
    int which[OUTBOX_MAX_TERRITORIES], n = outbox_territories_in(self, mask, which);
    int per = room / n > 0 ? room / n : 1;
    for (int i = 0; i < n; i++) {
        int t = which[i];
        call_t *c = outbox_step(self, self->conf.territories[t], "outbox_orphans");
        call_arg(c, "consumer", "%s", self->conf.instance);
        call_arg(c, "count", "%d", per);
        call_arg(c, "from", "%s", self->orphan_from[t]);
        call_arg(c, "budget", "%d", OUTBOX_ORPHAN_BUDGET);
        outbox_append(self);
    }
    redisReply *replies[OUTBOX_MAX_TERRITORIES];
    int more = rds_read_each(self->rds, replies, n) != 0; /* a territory not read: still due */
    for (int i = 0; i < n; i++) {
        int t = which[i];
        const redisReply *r = replies[i];
        if (!r)
            continue;
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || r->element[0]->type != REDIS_REPLY_STRING) {
            log_warn("outbox_orphans_failed", "territory=%s reason=\"%.200s\"", self->conf.territories[t],
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        } else {
            util_strlcpy(self->orphan_from[t], r->element[0]->str, sizeof self->orphan_from[t]);
            more |= self->orphan_from[t][0] != '\0';
            self->orphans_taken += outbox_adopt(self, self->conf.territories[t], r, 1);
        }
        freeReplyObject(replies[i]);
    }
    self->orphans_due = more;
    if (!more && self->orphans_taken > 0) { /* Redis lost part of what it wrote: worth an operator's look */
        log_warn("outbox_orphans", "taken=%d", self->orphans_taken);
        self->orphans_taken = 0;
    }
}

/* Creates the consumer group once per outbox (it survives restarts in the
 * AOF); BUSYGROUP means it is there already. */
static uint64_t outbox_ensure_groups(outbox_t *self, uint64_t mask)
{
    uint64_t made = 0;
    for (int t = 0; t < self->conf.nterritories && t < OUTBOX_MAX_TERRITORIES; t++) {
        if (!(mask & (1ull << t)))
            continue;
        char key[96];
        tp_key(key, sizeof key, self->conf.territories[t], self->conf.service, "outbox");
        redisReply *r = rds_cmd(self->rds, "XGROUP CREATE %s relay 0 MKSTREAM", key);
        if (!r)
            continue;
        freeReplyObject(r);
        made |= 1ull << t;
    }
    return made;
}

/* Resends the overdue entries of territory t, or gives up on those out of
 * tries; the resent ones are touched in one call, which renews their lease. */
static void outbox_resend_overdue(outbox_t *self, const char *territory, int64_t now)
{
    const char *ids[2048]; /* outbox_dead uses the call: the touch is built after the loop */
    int n = 0;
    for (int i = 0; i < self->cap && n < (int)TP_ARRAY_LEN(ids); i++) {
        outbox_entry_t *e = &self->table[i];
        if (e->used != 1 || strcmp(e->territory, territory) != 0)
            continue;
        if (e->deadline_ms > now) {
            outbox_due(self, e, e->deadline_ms);
            continue;
        }
        if (!e->unsent && e->tries >= self->conf.max_tries) {
            outbox_dead(self, e, "TIMEOUT");
            continue;
        }
        if (!e->unsent) {
            outbox_failed(self, e); /* no answer in time */
            e->tries++;
            self->stats.resent++;
        }
        outbox_send(self, e);
        /* renew the lease now and then (a third of it), not at each retry */
        if (e->used == 1 && now - e->touched_ms >= self->conf.lease_ms / 3) {
            e->touched_ms = now;
            ids[n++] = e->stream_id;
        }
    }
    if (n == (int)TP_ARRAY_LEN(ids))
        self->next_due_ms = now; /* the rest of the table was not looked at */
    if (n == 0)
        return;
    call_t *c = outbox_step(self, territory, "outbox_touch");
    call_arg(c, "consumer", "%s", self->conf.instance);
    call_arg_list(c, "ids", NULL, 0);
    for (int i = 0; i < n; i++)
        call_arg_word(c, ids[i]);
    redisReply *r = call_run(c, self->rds, self->conf.library);
    if (r)
        freeReplyObject(r);
}

/* The territories whose Redis is up (bit t: territory t). With shards, one
 * territory's Redis away stops only its own relaying. */
static uint64_t outbox_up(outbox_t *self)
{
    rds_ensure(self->rds); /* reconnects what its backoff allows */
    uint64_t up = 0;
    for (int t = 0; t < self->conf.nterritories && t < OUTBOX_MAX_TERRITORIES; t++)
        if (rds_territory_up(self->rds, self->conf.territories[t]))
            up |= 1ull << t;
    return up;
}

void outbox_pump(outbox_t *self)
{
    uint64_t up = outbox_up(self);
    if (!up)
        return;
    uint64_t unloaded = up & ~self->own_loaded;
    int acks_applied = 0; /* one try per pump: a failed one waits for the next */
    if (unloaded) {
        acks_applied = outbox_take(self, "own", outbox_ensure_groups(self, unloaded));
        self->orphans_due = 1;
    }
    int64_t now = clock_mono_ms();
    if (now >= self->next_due_ms) { /* a scan of the table finds the earliest deadline again */
        self->next_due_ms = INT64_MAX;
        for (int t = 0; t < self->conf.nterritories && t < OUTBOX_MAX_TERRITORIES; t++)
            if (up & (1ull << t))
                outbox_resend_overdue(self, self->conf.territories[t], now);
            else
                self->next_due_ms = now; /* its entries were not looked at: scanned at the next pump */
    }
    uint64_t ready = up & self->own_loaded;
    if (!self->quiesced && ready && outbox_room(self) > 0) {
        int claim = now >= self->next_claim_ms;
        if (claim || self->orphans_due)
            outbox_take_orphans(self, ready);
        acks_applied |= outbox_take(self, claim ? "claim" : "new", ready);
        if (claim)
            self->next_claim_ms = now + self->conf.lease_ms / 2;
    }
    if (!acks_applied)
        outbox_flush_done(self);
}

int outbox_backlog(rds_t *rds, const char *service, const char *territory, outbox_backlog_t *out)
{
    char okey[96], dkey[96];
    tp_key(okey, sizeof okey, territory, service, "outbox");
    tp_key(dkey, sizeof dkey, territory, service, "dead");
    const char *a1[] = { "XLEN", okey }, *a2[] = { "XRANGE", okey, "-", "+", "COUNT", "1" }, *a3[] = { "XLEN", dkey };
    size_t l1[] = { 4, strlen(okey) }, l2[] = { 6, strlen(okey), 1, 1, 5, 1 }, l3[] = { 4, strlen(dkey) };
    rds_append_argv(rds, 2, a1, l1);
    rds_append_argv(rds, 6, a2, l2);
    rds_append_argv(rds, 2, a3, l3);
    redisReply *r[3];
    if (rds_read(rds, r, 3) != 0)
        return -1;
    out->pending = r[0]->type == REDIS_REPLY_INTEGER ? r[0]->integer : 0;
    out->dead = r[2]->type == REDIS_REPLY_INTEGER ? r[2]->integer : 0;
    out->oldest_age_ms = 0;
    if (r[1]->type == REDIS_REPLY_ARRAY && r[1]->elements > 0 && r[1]->element[0]->type == REDIS_REPLY_ARRAY
        && r[1]->element[0]->elements > 0) {
        /* stream ids start with Redis's ms time; compared with ours (hosts
         * keep their clocks in step, and a stall is counted in seconds) */
        long long first_ms = atoll(r[1]->element[0]->element[0]->str), now_ms = clock_real_ms();
        out->oldest_age_ms = now_ms > first_ms ? now_ms - first_ms : 0;
    }
    for (int i = 0; i < 3; i++)
        freeReplyObject(r[i]);
    return 0;
}

int outbox_stalled(const outbox_backlog_t *b, int64_t stall_ms) { return b->pending > 0 && b->oldest_age_ms > stall_ms; }
