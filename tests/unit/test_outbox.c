/* Unit tests for common/outbox, the relay, through link seams: fake_rds in
 * place of Redis (its answer function below plays the outbox stream and the
 * bus.lua relay functions), fake_clock for the timeouts (time moves only
 * when a test moves it), and the receiver an inproc ROUTER the test drives.
 *
 * Each test names the property it checks; the commit that added them says
 * which mutation of outbox.c each one catches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "fake_clock.h"
#include "fake_rds.h"
#include "inproc.h"
#include "keys.h"
#include "log.h"
#include "outbox.h"
#include "wire.h"

#define LIB "lib_v1"
#define SVC "svc"
#define MAX_ENTRIES 1024
#define T0 1000000 /* the fake clock at the start of each test */

typedef enum { E_NEW, E_PENDING, E_ACKED, E_DEAD } entry_state_t;

/* One entry of an outbox stream, as Redis would hold it. */
typedef struct {
    char key[64]; /* the stream: tp:{T}:svc:outbox */
    char territory[8];
    char sid[32], mid[65];
    uint8_t bytes[256];
    size_t len;
    entry_state_t state;
    int done;          /* outbox_done calls that named it */
    char error[32];    /* outbox_dead: its last error and tries */
    char tries[8];
    int refuse;        /* the receiver answers it with this error (0: acks) */
    int retryable;
    const char *code;
    const char *field; /* of the error (NULL: "") */
    int silent;        /* the receiver never answers it */
} entry_t;

typedef struct {
    inproc_pair_t z; /* z.router: the receiver's; z.dealer: the relay's route */
    rds_t *rds;
    outbox_t *ob;
    outbox_conf_t conf;
    const char *territories[2];
    entry_t e[MAX_ENTRIES];
    int n;
    int route_unknown, route_none; /* what the route function says */
    int foreign_done;              /* outbox_done ids not in the key's stream */
    zmq_msg_t identity;            /* the relay's DEALER, as the ROUTER sees it */
    int have_identity;
} fx_t;

/* --------------------------------------------------------- Redis, played */

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static entry_t *entry_by_sid(fx_t *f, const char *key, const char *sid)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].key, key) && !strcmp(f->e[i].sid, sid))
            return &f->e[i];
    return NULL;
}

/* The relay functions of bus.lua, on the entries above: take gives new
 * entries (no restart or dead owner here, so 'own' and 'claim' find none),
 * done acknowledges, dead moves aside, orphans finds none. */
static redisReply *bus(void *arg, const fake_cmd_t *c)
{
    fx_t *f = arg;
    if (!strcmp(c->name, "XGROUP"))
        return fake_reply_status("OK");
    const char *key = fake_cmd_key(c, "outbox");
    if (ends_with(c->name, "_outbox_take")) {
        int count = atoi(fake_cmd_arg(c, "count"));
        redisReply *items[5 * MAX_ENTRIES];
        size_t n = 0;
        for (int i = 0; i < f->n && strcmp(fake_cmd_arg(c, "mode"), "own") && (int)n / 5 < count; i++) {
            entry_t *e = &f->e[i];
            if (strcmp(e->key, key) || e->state != E_NEW)
                continue;
            e->state = E_PENDING;
            items[n++] = fake_reply_str(e->sid);
            items[n++] = fake_reply_str("peer");
            items[n++] = fake_reply_str(e->mid);
            items[n++] = fake_reply_bin(e->bytes, e->len);
            items[n++] = fake_reply_int(1);
        }
        return fake_reply_array(n, items);
    }
    if (ends_with(c->name, "_outbox_orphans"))
        return fake_reply_strs(1, (const char *const[]){ "" });
    if (ends_with(c->name, "_outbox_done")) {
        char ids[16384];
        snprintf(ids, sizeof ids, "%s", fake_cmd_arg(c, "ids"));
        int n = 0;
        for (char *save = NULL, *id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save), n++) {
            entry_t *e = entry_by_sid(f, key, id);
            if (!e) {
                f->foreign_done++;
                continue;
            }
            e->done++;
            e->state = E_ACKED;
        }
        return fake_reply_int(n);
    }
    if (ends_with(c->name, "_outbox_dead")) {
        entry_t *e = entry_by_sid(f, key, fake_cmd_arg(c, "id"));
        assert_non_null(e);
        assert_non_null(fake_cmd_key(c, "dead"));
        e->state = E_DEAD;
        snprintf(e->error, sizeof e->error, "%s", fake_cmd_arg(c, "error"));
        snprintf(e->tries, sizeof e->tries, "%s", fake_cmd_arg(c, "tries"));
        return fake_reply_int(1);
    }
    if (ends_with(c->name, "_outbox_touch"))
        return fake_reply_int(1);
    return fake_reply_nil();
}

/* Adds an entry to territory t's outbox: a Probe envelope with its msg_id. */
static entry_t *add_entry(fx_t *f, int t, const char *mid)
{
    assert_true(f->n < MAX_ENTRIES);
    entry_t *e = &f->e[f->n];
    memset(e, 0, sizeof *e);
    snprintf(e->territory, sizeof e->territory, "%s", f->territories[t]);
    tp_key(e->key, sizeof e->key, e->territory, SVC, "outbox");
    snprintf(e->sid, sizeof e->sid, "%d-0", 1000 + f->n);
    snprintf(e->mid, sizeof e->mid, "%s", mid);
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Probe probe = TREMPLIN__PROBE__INIT;
    probe.key = (char *)"k";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    env.probe = &probe;
    env.msg_id = e->mid;
    env.territory = e->territory;
    e->len = tremplin__envelope__get_packed_size(&env);
    assert_true(e->len <= sizeof e->bytes);
    tremplin__envelope__pack(&env, e->bytes);
    f->n++;
    return e;
}

static entry_t *entry_by_mid(fx_t *f, const char *mid)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].mid, mid))
            return &f->e[i];
    return NULL;
}

/* ------------------------------------------------------ the receiver side */

static void *route(void *arg, const char *to, int *unknown)
{
    fx_t *f = arg;
    assert_string_equal(to, "peer");
    *unknown = f->route_unknown;
    return f->route_unknown || f->route_none ? NULL : f->z.dealer;
}

/* Takes every message the relay has sent so far (inproc: a message sent is
 * there at once) into mids; returns how many. */
static int peer_take(fx_t *f, char (*mids)[65], int max)
{
    int n = 0;
    for (;;) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, f->z.router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return n;
        }
        if (!f->have_identity) {
            zmq_msg_init(&f->identity);
            zmq_msg_copy(&f->identity, &id);
            f->have_identity = 1;
        }
        zmq_msg_close(&id);
        zmq_msg_init(&body);
        assert_true(zmq_msg_recv(&body, f->z.router, 0) >= 0);
        Tremplin__Envelope *env = NULL;
        assert_int_equal(wire_unpack(zmq_msg_data(&body), zmq_msg_size(&body), WIRE_MAX_DEFAULT, NULL, &env), WIRE_OK);
        assert_true(n < max);
        snprintf(mids[n++], sizeof mids[0], "%s", env->msg_id);
        wire_free(env, NULL);
        zmq_msg_close(&body);
    }
}

/* Answers the message mid as its entry says: Ack, an Error, or nothing. */
static void peer_answer(fx_t *f, const char *mid)
{
    entry_t *e = entry_by_mid(f, mid);
    assert_non_null(e);
    if (e->silent)
        return;
    Tremplin__Envelope reply = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error err = TREMPLIN__ERROR__INIT;
    err.code = (char *)e->code;
    err.field = (char *)(e->field ? e->field : "");
    err.retryable = e->retryable;
    reply.payload_case = e->refuse ? TREMPLIN__ENVELOPE__PAYLOAD_ERROR : TREMPLIN__ENVELOPE__PAYLOAD_ACK;
    if (e->refuse)
        reply.error = &err;
    else
        reply.ack = &ack;
    char id[TP_ID_LEN + 1];
    wire_stamp(&reply, id, mid, "peer-1", e->territory);
    inproc_send(f->z.router, &f->identity, &reply);
}

/* Hands what the receiver answered to the relay, as the loop does when the
 * DEALER is readable (waiting for it with a deadline, never a sleep). */
static void relay_reads(fx_t *f)
{
    inproc_wait(f->z.dealer);
    outbox_on_reply(f->ob, f->z.dealer);
}

/* One round: the relay pumps, the receiver answers all it got, the relay
 * reads the answers. Returns the number of messages the receiver got. */
static int round_trip(fx_t *f)
{
    outbox_pump(f->ob);
    char mids[MAX_ENTRIES][65];
    int n = peer_take(f, mids, MAX_ENTRIES);
    int answered = 0;
    for (int i = 0; i < n; i++) {
        peer_answer(f, mids[i]);
        answered += !entry_by_mid(f, mids[i])->silent;
    }
    if (answered)
        relay_reads(f);
    return n;
}

/* ------------------------------------------------------------------ fixture */

static int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    fake_rds_reset();
    fake_rds_answer(bus, f);
    fake_clock_set(T0);
    inproc_open(&f->z, "inproc://peer");
    rds_conf_t rc = { 0 };
    f->rds = rds_new(&rc, "test");
    f->territories[0] = "42";
    f->territories[1] = "2A";
    f->conf = (outbox_conf_t){
        .service = SVC, .library = LIB, .instance = "svc-1", .territories = f->territories, .nterritories = 1,
        .window = 4, .retry_window = 4, .ack_timeout_ms = 1000, .retry_max_ms = 8000, .lease_ms = 30000,
        .max_tries = 3,
    };
    *state = f;
    return 0;
}

static void fx_start(fx_t *f) { f->ob = outbox_new(f->rds, &f->conf, route, f); }

/* Adds entries to the first territory's outbox, starts the relay and lets
 * it send: the receiver must have got `sent` of them. */
static void start_sending(fx_t *f, const char *const *mids, int n, int sent)
{
    for (int i = 0; i < n; i++)
        add_entry(f, 0, mids[i]);
    fx_start(f);
    outbox_pump(f->ob);
    char got[8][65];
    assert_int_equal(peer_take(f, got, 8), sent);
}

static int fx_teardown(void **state)
{
    fx_t *f = *state;
    outbox_destroy(&f->ob);
    rds_destroy(&f->rds);
    if (f->have_identity)
        zmq_msg_close(&f->identity);
    inproc_close(&f->z);
    fake_rds_reset();
    fake_clock_set(0);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------- tests */

/* The in-flight table: every ack finds its entry (in any order, through
 * the tombstones left by earlier acks, entries of two territories sharing
 * the table), removes it once, and a second ack of the same message
 * changes nothing. Acks are applied in batches: one outbox_done per
 * territory and round, all in one pipeline, each naming only its own
 * territory's entries. */
static void test_acks_find_their_entries(void **state)
{
    fx_t *f = *state;
    f->conf.nterritories = 2;
    f->conf.window = 64; /* many in flight: their slots collide */
    f->conf.retry_window = 64;
    for (int i = 0; i < 1000; i++) {
        char mid[16];
        snprintf(mid, sizeof mid, "m%04d", i);
        add_entry(f, i % 2, mid);
    }
    fx_start(f);
    for (int round = 0; round < 500 && outbox_stats(f->ob).acked < 1000; round++) {
        outbox_pump(f->ob);
        char mids[MAX_ENTRIES][65];
        int n = peer_take(f, mids, MAX_ENTRIES);
        assert_true(n > 0);
        for (int i = 0; i < n; i += 2) /* out of order: the even ones first */
            peer_answer(f, mids[i]);
        for (int i = 1; i < n; i += 2)
            peer_answer(f, mids[i]);
        peer_answer(f, mids[0]); /* and one twice */
        int from = fake_rds_ncmds();
        relay_reads(f);
        /* this round's acks: one call per territory, in one pipeline */
        int calls = 0, batch = -1;
        for (int i = from; i < fake_rds_ncmds(); i++) {
            const fake_cmd_t *c = fake_rds_cmd(i);
            if (strcmp(c->name, LIB "_outbox_done") != 0)
                continue;
            assert_true(batch < 0 || c->batch == batch);
            batch = c->batch;
            calls++;
        }
        assert_in_range(calls, 1, 2);
    }
    outbox_pump(f->ob); /* applies the last acks */
    for (int i = 0; i < f->n; i++) {
        assert_int_equal(f->e[i].state, E_ACKED);
        assert_int_equal(f->e[i].done, 1);
    }
    assert_int_equal(f->foreign_done, 0);
    assert_int_equal(outbox_inflight(f->ob), 0);
    outbox_stats_t st = outbox_stats(f->ob);
    assert_int_equal(st.sent, 1000);
    assert_int_equal(st.acked, 1000);
    assert_int_equal(st.resent, 0); /* the clock did not move: nothing timed out */
}

/* Backoff: a message nobody answers is sent again after ack_timeout, then
 * after twice the last wait each time, up to retry_max; each wait within
 * its +-12.5 % jitter. */
static void test_backoff_doubles_to_the_cap(void **state)
{
    fx_t *f = *state;
    f->conf.window = 1;
    f->conf.max_tries = 8;
    f->conf.retry_max_ms = 6000; /* not a power of two of ack_timeout: the cap shows */
    add_entry(f, 0, "slow")->silent = 1;
    fx_start(f);
    outbox_pump(f->ob);
    char mids[4][65];
    assert_int_equal(peer_take(f, mids, 4), 1);
    int64_t sent_at = T0;
    static const int64_t waits[] = { 1000, 2000, 4000, 6000, 6000, 6000 };
    for (size_t k = 0; k < sizeof waits / sizeof waits[0]; k++) {
        int64_t d = waits[k];
        fake_clock_set(sent_at + d - d / 8 - 1);
        outbox_pump(f->ob);
        assert_int_equal(peer_take(f, mids, 4), 0); /* not yet */
        fake_clock_set(sent_at + d + d / 8);
        outbox_pump(f->ob);
        assert_int_equal(peer_take(f, mids, 4), 1); /* sent again */
        sent_at = fake_clock_now();
        assert_int_equal(outbox_stats(f->ob).resent, k + 1);
        assert_int_equal(outbox_retrying(f->ob), 1); /* failed once: in the retry set */
    }
    assert_int_equal(outbox_stats(f->ob).dead, 0);
}

/* When a message becomes a dead letter (max_tries = 3), and with which
 * error and count of tries; and when it never does. */
typedef struct {
    const char *name;
    int refuse, retryable;
    const char *code, *field;
    int silent, route_unknown, route_none;
    const char *dead_error; /* NULL: never dead */
    const char *dead_tries;
    int done; /* taken as answered (acked), not left pending */
} dead_case_t;

static const dead_case_t dead_cases[] = {
    { "refused, not retryable: dead at once", 1, 0, "INVALID_FIELD", NULL, 0, 0, 0, "INVALID_FIELD", "1" },
    { "refused at every try: dead after max_tries", 1, 1, "POISONED_PROBE", NULL, 0, 0, 0, "POISONED_PROBE", "3" },
    { "never answered: dead after max_tries", 0, 0, NULL, NULL, 1, 0, 0, "TIMEOUT", "3" },
    { "the receiver's store is down: not a try", 1, 1, "UNAVAILABLE", NULL, 0, 0, 0, NULL, NULL },
    { "a destination the deployment lacks: dead at once", 0, 0, NULL, NULL, 0, 1, 0, "NO_ROUTE", "1" },
    { "no receiver connected: not a try", 0, 0, NULL, NULL, 0, 0, 1, NULL, NULL },
    /* the receiver applied an earlier run of the step that made it (re-run
     * after a failover, other times in it): done, never a dead letter */
    { "its id already applied with other content: done", 1, 0, "CONFLICT", "msg_id", 0, 0, 0, NULL, NULL, 1 },
    { "a conflict on another field: dead at once", 1, 0, "CONFLICT", "external_ref", 0, 0, 0, "CONFLICT", "1" },
};

static void test_dead_letter_decisions(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof dead_cases / sizeof dead_cases[0]; c++) {
        const dead_case_t *dc = &dead_cases[c];
        print_message("case: %s\n", dc->name);
        void *fs;
        fx_setup(&fs);
        fx_t *f = fs;
        entry_t *e = add_entry(f, 0, "m1");
        e->refuse = dc->refuse;
        e->retryable = dc->retryable;
        e->code = dc->code;
        e->field = dc->field;
        e->silent = dc->silent;
        f->route_unknown = dc->route_unknown;
        f->route_none = dc->route_none;
        fx_start(f);
        for (int round = 0; round < 12 && e->state != E_DEAD && e->state != E_ACKED; round++) {
            round_trip(f);
            fake_clock_advance(f->conf.retry_max_ms + f->conf.retry_max_ms / 8 + 1); /* past any deadline */
        }
        outbox_stats_t st = outbox_stats(f->ob);
        if (dc->done) {
            assert_int_equal(e->state, E_ACKED);
            assert_int_equal(st.dead, 0);
            assert_int_equal(outbox_inflight(f->ob), 0);
        } else if (dc->dead_error) {
            assert_int_equal(e->state, E_DEAD);
            assert_string_equal(e->error, dc->dead_error);
            assert_string_equal(e->tries, dc->dead_tries);
            assert_int_equal(st.dead, 1);
            assert_int_equal(outbox_inflight(f->ob), 0);
        } else {
            assert_int_equal(e->state, E_PENDING);
            assert_int_equal(st.dead, 0);
            assert_int_equal(outbox_inflight(f->ob), 1);
        }
        if (dc->route_none) { /* the receiver comes: its first try */
            assert_int_equal(st.resent, 0);
            f->route_none = 0;
            assert_int_equal(round_trip(f), 1);
            assert_int_equal(e->state, E_ACKED);
            assert_int_equal(outbox_stats(f->ob).sent, 1);
            assert_int_equal(outbox_stats(f->ob).resent, 0);
        }
        fx_teardown(&fs);
    }
}

/* The refusal hook: what it says decides what becomes of an entry refused
 * for good — done (a business refusal is an answer), a dead letter, or seen
 * again later; it sees the entry as it was sent, and is not asked about a
 * retryable error. */
static struct {
    int rc[4], calls;
    char code[32], mid[65];
} hook;

static int refused_hook(void *arg, const char *territory, const char *to, const uint8_t *bytes, size_t len,
                        const char *code)
{
    (void)arg;
    (void)to;
    assert_non_null(territory);
    Tremplin__Envelope *env = NULL;
    assert_int_equal(wire_unpack(bytes, len, len + 1, NULL, &env), WIRE_OK);
    snprintf(hook.mid, sizeof hook.mid, "%s", env->msg_id);
    wire_free(env, NULL);
    snprintf(hook.code, sizeof hook.code, "%s", code);
    return hook.rc[hook.calls++ < 3 ? hook.calls - 1 : 3];
}

static void test_refusal_hook(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int retryable, rc0, rc1;
        entry_state_t end;
        int calls;
    } cases[] = {
        { "taken as the answer: done, not dead", 0, 0, 0, E_ACKED, 1 },
        { "not the hook's: a dead letter", 0, 1, 1, E_DEAD, 1 },
        { "the hook could not record it: seen again, then done", 0, -1, 0, E_ACKED, 2 },
        { "retryable: the hook is not asked", 1, 0, 0, E_DEAD, 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        print_message("case: %s\n", cases[c].name);
        memset(&hook, 0, sizeof hook);
        hook.rc[0] = cases[c].rc0;
        hook.rc[1] = hook.rc[2] = hook.rc[3] = cases[c].rc1;
        void *fs;
        fx_setup(&fs);
        fx_t *f = fs;
        entry_t *e = add_entry(f, 0, "m1");
        e->refuse = 1;
        e->retryable = cases[c].retryable;
        e->code = "TOO_LATE";
        fx_start(f);
        outbox_on_refused(f->ob, refused_hook, f);
        for (int round = 0; round < 12 && e->state != E_DEAD && e->state != E_ACKED; round++) {
            round_trip(f);
            fake_clock_advance(f->conf.retry_max_ms + f->conf.retry_max_ms / 8 + 1);
        }
        outbox_pump(f->ob); /* apply the acks */
        assert_int_equal(e->state, cases[c].end);
        assert_int_equal(hook.calls, cases[c].calls);
        if (cases[c].calls) {
            assert_string_equal(hook.code, "TOO_LATE");
            assert_string_equal(hook.mid, "m1");
        }
        assert_int_equal(outbox_stats(f->ob).dead, cases[c].end == E_DEAD);
        assert_int_equal(outbox_inflight(f->ob), 0);
        fx_teardown(&fs);
    }
}

/* A message that failed leaves the window for the retry set: the messages
 * behind it keep flowing while it waits for its next try. */
static void test_retry_set_lets_the_others_pass(void **state)
{
    fx_t *f = *state;
    f->conf.window = 2;
    f->conf.retry_window = 3;
    for (int i = 0; i < 2; i++) {
        entry_t *p = add_entry(f, 0, i ? "poison2" : "poison1");
        p->refuse = p->retryable = 1;
        p->code = "BUSY";
    }
    for (int i = 0; i < 8; i++) {
        char mid[8];
        snprintf(mid, sizeof mid, "g%d", i);
        add_entry(f, 0, mid);
    }
    fx_start(f);
    for (int round = 0; round < 50 && outbox_stats(f->ob).acked < 8; round++)
        round_trip(f);
    outbox_pump(f->ob);
    for (int i = 2; i < f->n; i++)
        assert_int_equal(f->e[i].state, E_ACKED);
    assert_int_equal(f->e[0].state, E_PENDING);
    assert_int_equal(f->e[1].state, E_PENDING);
    assert_int_equal(outbox_retrying(f->ob), 2);
    assert_int_equal(outbox_stats(f->ob).dead, 0);
}

/* Entries that find no receiver connected wait in the retry set too, not
 * in the window: with one destination down, the window stays open for the
 * others (up to retry_window waiting); they all go once it is back. */
static void test_unsent_entries_leave_the_window(void **state)
{
    fx_t *f = *state;
    f->conf.window = 2;
    f->conf.retry_window = 6;
    for (int i = 0; i < 8; i++) {
        char mid[8];
        snprintf(mid, sizeof mid, "u%d", i);
        add_entry(f, 0, mid);
    }
    f->route_none = 1;
    fx_start(f);
    for (int i = 0; i < 5; i++)
        outbox_pump(f->ob);
    assert_int_equal(outbox_retrying(f->ob), 6); /* more than the window taken, none sent */
    assert_int_equal(outbox_stats(f->ob).resent, 0); /* and no try counted */
    f->route_none = 0;
    for (int round = 0; round < 50 && outbox_stats(f->ob).acked < 8; round++) {
        fake_clock_advance(60);
        round_trip(f);
    }
    assert_int_equal(outbox_stats(f->ob).acked, 8);
    assert_int_equal(outbox_stats(f->ob).dead, 0);
}

/* A full retry set stops the taking of new entries (backpressure: that
 * many failures means the destination fails), until one of them is done. */
static void test_full_retry_set_stops_taking(void **state)
{
    fx_t *f = *state;
    f->conf.window = 2;
    f->conf.retry_window = 2;
    f->conf.max_tries = 10;
    for (int i = 0; i < 3; i++) {
        char mid[8];
        snprintf(mid, sizeof mid, "p%d", i);
        entry_t *p = add_entry(f, 0, mid);
        p->refuse = p->retryable = 1;
        p->code = "BUSY";
    }
    add_entry(f, 0, "g0");
    fx_start(f);
    assert_int_equal(round_trip(f), 2); /* p0 and p1 fail: the retry set is full */
    assert_int_equal(outbox_retrying(f->ob), 2);
    int takes = fake_rds_count(LIB "_outbox_take");
    for (int i = 0; i < 3; i++)
        assert_int_equal(round_trip(f), 0);
    assert_int_equal(fake_rds_count(LIB "_outbox_take"), takes);
    assert_int_equal(f->e[2].state, E_NEW);
    assert_int_equal(f->e[3].state, E_NEW);

    f->e[0].refuse = 0; /* p0 goes through at its next try */
    fake_clock_advance(f->conf.retry_max_ms + f->conf.retry_max_ms / 8 + 1);
    assert_int_equal(round_trip(f), 2);
    assert_int_equal(f->e[2].state, E_PENDING); /* room again: p2 taken */
    assert_true(fake_rds_count(LIB "_outbox_take") > takes);
}

/* Acks received while Redis cannot apply them stay queued, and are applied
 * once it can: a lost XACK/XDEL would resend a delivered message forever. */
static void test_acks_wait_for_redis(void **state)
{
    fx_t *f = *state;
    start_sending(f, (const char *const[]){ "a", "b" }, 2, 2);

    fake_rds_down(1); /* Redis down when the first ack arrives */
    peer_answer(f, "a");
    relay_reads(f);
    assert_int_equal(outbox_inflight(f->ob), 1);
    outbox_pump(f->ob);
    fake_rds_down(0);
    fake_rds_script(LIB "_outbox_done", NULL); /* then lost in the middle of the flush */
    peer_answer(f, "b");
    relay_reads(f);
    assert_int_equal(f->e[0].state, E_PENDING);
    assert_int_equal(f->e[1].state, E_PENDING);

    outbox_pump(f->ob); /* back: both applied */
    assert_int_equal(f->e[0].state, E_ACKED);
    assert_int_equal(f->e[1].state, E_ACKED);
    assert_int_equal(f->e[0].done, 1);
    assert_int_equal(f->e[1].done, 1);
}

/* Quiesced (SIGTERM): no new entry is taken; what is in flight is still
 * acknowledged, so that a drain can finish. */
static void test_quiesce_takes_nothing_new(void **state)
{
    fx_t *f = *state;
    f->conf.window = 2;
    start_sending(f, (const char *const[]){ "a", "b", "c" }, 3, 2);
    outbox_quiesce(f->ob);
    int takes = fake_rds_count(LIB "_outbox_take");
    peer_answer(f, "a");
    peer_answer(f, "b");
    relay_reads(f);
    for (int i = 0; i < 3; i++) {
        fake_clock_advance(f->conf.lease_ms); /* claim passes due too */
        outbox_pump(f->ob);
    }
    assert_int_equal(outbox_inflight(f->ob), 0);
    assert_int_equal(f->e[2].state, E_NEW);
    assert_int_equal(fake_rds_count(LIB "_outbox_take"), takes);
}

/* The take that rides with the inbox's batch: appended to the batch's
 * pipeline, its replies bring the entries the steps just wrote, which go
 * out at once, without a take of their own; none once quiesced. */
static void test_take_rides_with_a_batch(void **state)
{
    fx_t *f = *state;
    start_sending(f, (const char *const[]){ "a" }, 1, 1);
    add_entry(f, 0, "b"); /* written by a step of the batch */
    int takes = fake_rds_count(LIB "_outbox_take");
    assert_int_equal(outbox_ride_append(f->ob, (const char *const[]){ "2A" }, 1), 0); /* not its territory */
    int n = outbox_ride_append(f->ob, f->territories, 1);
    assert_int_equal(n, 1);
    redisReply *replies[4];
    assert_int_equal(rds_read(f->rds, replies, n), 0); /* as the inbox reads its pipeline */
    outbox_ride_apply(f->ob, replies);
    char got[8][65];
    assert_int_equal(peer_take(f, got, 8), 1);
    assert_string_equal(got[0], "b");
    assert_int_equal(fake_rds_count(LIB "_outbox_take"), takes + 1);
    assert_int_equal(outbox_inflight(f->ob), 2);

    outbox_quiesce(f->ob);
    assert_int_equal(outbox_ride_append(f->ob, f->territories, 1), 0);
    outbox_ride_apply(f->ob, NULL); /* nothing rode: nothing read */
}

/* A batch's ride touches only the territories the batch wrote to: their
 * take and their acks; another territory's acks wait for the pump (with
 * shards, its Redis may be away: the batch must not depend on it). */
static void test_a_ride_touches_only_the_batchs_territories(void **state)
{
    fx_t *f = *state;
    f->conf.nterritories = 2;
    add_entry(f, 0, "a");
    add_entry(f, 1, "b");
    fx_start(f);
    outbox_pump(f->ob);
    char got[8][65];
    assert_int_equal(peer_take(f, got, 8), 2);
    peer_answer(f, "a");
    peer_answer(f, "b");
    fake_rds_down(1); /* the acks stay queued */
    relay_reads(f);
    fake_rds_down(0);
    int before = fake_rds_ncmds();
    int n = outbox_ride_append(f->ob, f->territories, 1); /* a batch of territory 42 */
    assert_int_equal(n, 2); /* 42's acks, 42's take */
    for (int i = before; i < fake_rds_ncmds(); i++) {
        const char *key = fake_cmd_key(fake_rds_cmd(i), "outbox");
        assert_non_null(key);
        assert_string_equal(key, f->e[0].key);
    }
    redisReply *replies[4];
    assert_int_equal(rds_read(f->rds, replies, n), 0);
    outbox_ride_apply(f->ob, replies);
    assert_int_equal(f->e[0].done, 1);
    assert_int_equal(f->e[1].done, 0);
    outbox_pump(f->ob); /* the pump applies the others */
    assert_int_equal(f->e[1].done, 1);
}

/* One entry in each of two territories, sent, never answered: "a" (42)
 * and "b" (2A). */
static void send_one_unanswered_per_territory(fx_t *f, char (*got)[65])
{
    f->conf.nterritories = 2;
    add_entry(f, 0, "a")->silent = 1;
    add_entry(f, 1, "b")->silent = 1;
    fx_start(f);
    outbox_pump(f->ob);
    assert_int_equal(peer_take(f, got, 8), 2);
}

/* The pump looks through the table only when an entry may be due: an entry
 * of a territory whose Redis was away during a look is resent once it is
 * back, though nothing else is due then. */
static void test_an_overdue_entry_of_a_territory_back_is_resent(void **state)
{
    fx_t *f = *state;
    char got[8][65];
    send_one_unanswered_per_territory(f, got);
    fake_rds_territory_down("2A");
    fake_clock_set(T0 + 1200); /* both overdue (ack_timeout 1000 +- 12.5 %) */
    outbox_pump(f->ob);
    assert_int_equal(peer_take(f, got, 8), 1); /* 42's */
    assert_string_equal(got[0], "a");
    fake_rds_territory_down(NULL);
    fake_clock_set(T0 + 1201); /* 42's next try is seconds away */
    outbox_pump(f->ob);
    assert_int_equal(peer_take(f, got, 8), 1);
    assert_string_equal(got[0], "b");
    fake_clock_set(T0 + 1202);
    outbox_pump(f->ob);
    assert_int_equal(peer_take(f, got, 8), 0); /* nothing due: nothing sent */
}

/* A territory taken out of the service's list (a reload) and put back: its
 * entries, left out of the pump's looks meanwhile, are resent at once. */
static void test_a_territory_put_back_has_its_overdue_entries_resent(void **state)
{
    fx_t *f = *state;
    char got[8][65];
    send_one_unanswered_per_territory(f, got);
    outbox_set_territories(f->ob, f->territories, 1); /* 2A is no longer this service's */
    fake_clock_set(T0 + 1200);
    outbox_pump(f->ob);
    assert_int_equal(peer_take(f, got, 8), 1);
    assert_string_equal(got[0], "a");
    outbox_set_territories(f->ob, f->territories, 2); /* back */
    fake_clock_set(T0 + 1201);
    outbox_pump(f->ob);
    assert_int_equal(peer_take(f, got, 8), 1);
    assert_string_equal(got[0], "b");
}

int main(void)
{
    log_set_level(TPLOG_OFF); /* the relay's warnings are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acks_find_their_entries, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backoff_doubles_to_the_cap, fx_setup, fx_teardown),
        cmocka_unit_test(test_dead_letter_decisions),
        cmocka_unit_test(test_refusal_hook),
        cmocka_unit_test_setup_teardown(test_retry_set_lets_the_others_pass, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unsent_entries_leave_the_window, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_full_retry_set_stops_taking, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_acks_wait_for_redis, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_takes_nothing_new, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_take_rides_with_a_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_ride_touches_only_the_batchs_territories, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_an_overdue_entry_of_a_territory_back_is_resent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_territory_put_back_has_its_overdue_entries_resent, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
