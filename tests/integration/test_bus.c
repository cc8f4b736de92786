/* The reliable bus, proven by killing processes under load.
 *
 * Commands enter intake (the sender) as Probes routed to the matcher (the
 * receiver): intake's handler writes each to its outbox in the same step as
 * its idempotency mark, the relay carries it to the matcher, and the matcher
 * counts each probe key once (HINCRBY, so a duplicate effect would show as
 * a count of 2). A test client plays the branch system: a window of commands
 * in flight, each retried with the same msg_id until acked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "harness.h"

#define N_COMMANDS 10000
#define CLIENT_WINDOW 200

static h_env_t env;

/* Short transport timeouts so that kills are recovered from quickly. */
static const char *const fast_bus[] = {
    "TREMPLIN_BUS_ACK_TIMEOUT_MS=300", "TREMPLIN_BUS_RETRY_MAX_MS=1000", "TREMPLIN_BUS_LEASE_MS=3000",
    "TREMPLIN_BUS_MAX_TRIES=100",     "TREMPLIN_BUS_WINDOW=256",         NULL,
};

static int fresh(void **state)
{
    (void)state;
    h_kill_services(&env);
    redisReply *r = h_redis(&env, "ACL SETUSER intake +xack"); /* a failed test may have left it denied */
    if (r)
        freeReplyObject(r);
    return 0;
}

/* How a probe's last hop treats it. */
enum { GENUINE, POISON_LUA_ERROR, POISON_RETRYABLE };

static void send_probe(client_t *c, const char *run, long n, int poison)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Probe p = TREMPLIN__PROBE__INIT;
    char key[64];
    char *route[] = { "matcher" };
    snprintf(key, sizeof key, "%s-%ld", run, n);
    p.key = key;
    p.route = route;
    p.n_route = 1;
    p.poison = poison == POISON_LUA_ERROR;
    p.poison_retryable = poison == POISON_RETRYABLE;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    req.probe = &p;
    req.territory = "42";
    while (client_send(c, &req, (uint64_t)n) != 0)
        ;
}

/* The end state the contract promises, read from Redis. */
typedef struct {
    long long effects, executions, outbox, dead;
} final_t;

static void read_final(const char *run, final_t *f)
{
    (void)run;
    f->effects = h_redis_int(&env, "HLEN tp:{42}:matcher:probe:seen");
    redisReply *r = h_redis(&env, "HVALS tp:{42}:matcher:probe:seen");
    f->executions = 0;
    for (size_t i = 0; r && i < r->elements; i++)
        f->executions += atoll(r->element[i]->str);
    if (r)
        freeReplyObject(r);
    f->outbox = h_redis_int(&env, "XLEN tp:{42}:intake:outbox");
    f->dead = h_redis_int(&env, "XLEN tp:{42}:intake:dead");
}

static int all_delivered(h_env_t *h, void *arg)
{
    (void)h;
    long long want = *(long long *)arg;
    return h_redis_int(&env, "HLEN tp:{42}:matcher:probe:seen") >= want
           && h_redis_int(&env, "XLEN tp:{42}:intake:outbox") == 0;
}

static void reset_counts(void)
{
    redisReply *r = h_redis(&env, "DEL tp:{42}:matcher:probe:seen tp:{42}:intake:outbox tp:{42}:intake:dead");
    if (r)
        freeReplyObject(r);
}

/* Plays the branch system: n probes (key run-<i>, each poisoned as asked)
 * into intake with a window in flight, each retried until acked; after
 * every poll, hook(acked so far) may kill things. */
typedef void (*drive_hook_fn)(long acked, void *arg);

typedef struct {
    long acked, failed;
    int max_inflight;
} drive_t;

static void drive(const char *endpoint, const char *run, long n, int poison, drive_hook_fn hook, void *arg,
                  drive_t *out)
{
    client_t *c = h_client(&env, endpoint, 500, 1000);
    client_set_window(c, CLIENT_WINDOW);
    h_counts_t counts = { 0 };
    out->max_inflight = 0;
    long sent = 0;
    while (sent < n || client_inflight(c) > 0) {
        while (sent < n && client_inflight(c) < CLIENT_WINDOW) {
            send_probe(c, run, sent, poison);
            sent++;
        }
        if (client_inflight(c) > out->max_inflight)
            out->max_inflight = client_inflight(c);
        client_poll(c, 50, h_count_reply, &counts);
        if (hook)
            hook(counts.acked, arg);
    }
    client_destroy(&c);
    out->acked = counts.acked;
    out->failed = counts.refused + counts.lost;
}

/* Waits for the outbox to drain, prints the counts, and checks each command
 * took effect exactly once. */
static void expect_exactly_once(const char *label, long n, const drive_t *d)
{
    long long want = n;
    assert_int_equal(h_wait_for(&env, all_delivered, &want, 120000), 0);
    final_t f;
    read_final(label, &f);
    printf("COUNTS %s commands=%ld acked=%ld failed=%ld max_in_flight=%d effects=%lld duplicates=%lld outbox=%lld "
           "dead=%lld\n",
           label, n, d->acked, d->failed, d->max_inflight, f.effects, f.executions - f.effects, f.outbox, f.dead);
    assert_int_equal(d->acked, n);
    assert_int_equal(d->failed, 0);
    assert_int_equal(f.effects, n);
    assert_int_equal(f.executions - f.effects, 0);
    assert_int_equal(f.outbox, 0);
    assert_int_equal(f.dead, 0);
}

static unsigned seed_from_env(void)
{
    const char *s = getenv("TP_SEED");
    return s ? (unsigned)strtoul(s, NULL, 10) : 20261126u;
}

/* A service with the short bus timeouts and extra settings, ready. */
static pid_t start_ready(const char *svc, const char *label, const char *const *extra)
{
    const char *e[16];
    int n = 0;
    for (int i = 0; fast_bus[i]; i++)
        e[n++] = fast_bus[i];
    for (int i = 0; extra && extra[i]; i++)
        e[n++] = extra[i];
    e[n] = NULL;
    pid_t pid = h_start_ready(&env, svc, label, e, 30000);
    if (pid < 0)
        fail();
    return pid;
}

typedef struct {
    const long *kills_at;
    int sender_kill; /* which of the four kills is the sender's */
    int next;
    pid_t intake, matcher;
} kill_plan_t;

static void kill_on_plan(long acked, void *arg)
{
    kill_plan_t *p = arg;
    if (p->next >= 4 || acked < p->kills_at[p->next])
        return;
    int sender = p->next == p->sender_kill;
    printf("tp kill -9 %s at acked=%ld\n", sender ? "intake" : "matcher", acked);
    pid_t *pid = sender ? &p->intake : &p->matcher;
    h_signal(*pid, SIGKILL);
    *pid = h_start(&env, sender ? "intake" : "matcher", sender ? "intake" : "matcher", fast_bus);
    p->next++;
}

/* 10 000 commands, at least 100 in flight; the receiver killed with kill -9
 * three times and the sender once at seeded random points, each restarted. */
static void kill9_sender_and_receiver_under_load(void **state)
{
    (void)state;
    reset_counts();
    unsigned seed = seed_from_env();
    srand(seed);
    long kills_at[4];
    for (int i = 0; i < 4; i++)
        kills_at[i] = 1000 + rand() % (N_COMMANDS - 2000);
    /* kill points in increasing order: three of the receiver, one of the sender */
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (kills_at[j] < kills_at[i]) {
                long t = kills_at[i];
                kills_at[i] = kills_at[j];
                kills_at[j] = t;
            }
    int sender_kill = rand() % 4;
    printf("tp seed=%u kills_at=%ld,%ld,%ld,%ld sender_kill_index=%d\n", seed, kills_at[0], kills_at[1], kills_at[2],
           kills_at[3], sender_kill);

    kill_plan_t plan = { kills_at, sender_kill, 0, 0, 0 };
    plan.matcher = start_ready("matcher", "matcher", NULL);
    plan.intake = start_ready("intake", "intake", NULL);
    char ep[64];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    drive_t d;
    drive(ep, "k9", N_COMMANDS, GENUINE, kill_on_plan, &plan, &d);
    assert_int_equal(plan.next, 4);
    assert_true(d.max_inflight >= 100);
    expect_exactly_once("kill9", N_COMMANDS, &d);
    h_signal(plan.intake, SIGKILL);
    h_signal(plan.matcher, SIGKILL);
}

/* A field of a stream entry as XRANGE gives it ({id, {k, v, ...}}); "" when absent. */
static const char *entry_field(const redisReply *entry, const char *name)
{
    const redisReply *f = entry->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (!strcmp(f->element[i]->str, name))
            return f->element[i + 1]->str;
    return "";
}

/* While lost, intake's acks are not applied (its ACL user may not XACK, so
 * its outbox_done fails): every message a receiver acks meanwhile stays in
 * intake's outbox, is claimed again once its lease runs out and sent again —
 * a redelivery of a message the receiver has committed, as when a sender
 * dies between the receiver's commit and its own XACK, but on cue. */
static void acks_lost(int lost)
{
    redisReply *r = h_redis(&env, "ACL SETUSER intake %s", lost ? "-xack" : "+xack");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

static long long matcher_effects(void) { return h_redis_int(&env, "HLEN tp:{42}:matcher:probe:seen"); }

/* Entries of intake's outbox the matcher has already committed (its mark is
 * there): each one will be delivered to it again. */
static long long committed_in_outbox(void)
{
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:intake:outbox - +");
    long long n = 0;
    for (size_t i = 0; r && i < r->elements; i++)
        n += h_redis_int(&env, "EXISTS tp:{42}:matcher:seen:%s", entry_field(r->element[i], "id")) == 1;
    if (r)
        freeReplyObject(r);
    return n;
}

/* Commands a service instance has acked as already done (Pong.duplicates). */
static long long duplicates_answered(const char *endpoint)
{
    Tremplin__Envelope *r = h_ping(&env, endpoint);
    long long n = r && r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_PONG ? (long long)r->pong->duplicates : -1;
    wire_free(r, NULL);
    return n;
}

typedef struct {
    int step;
    pid_t b;
    long long base;        /* matcher effects when the acks began to be lost */
    long long redelivered; /* committed entries still in the outbox when b died */
} two_plan_t;

/* At half: intake's acks are lost while 1 000 more messages take effect,
 * through both receivers; then matcher-b dies for good and the acks come
 * back. Everything committed meanwhile is sent again, now to matcher-a. */
static void lose_acks_then_kill_b(long acked, void *arg)
{
    two_plan_t *p = arg;
    if (p->step == 0 && acked >= N_COMMANDS / 2) {
        acks_lost(1);
        p->base = matcher_effects();
        p->step = 1;
    } else if (p->step == 1 && matcher_effects() >= p->base + 1000) {
        h_signal(p->b, SIGKILL);
        p->b = 0;
        p->redelivered = committed_in_outbox();
        acks_lost(0);
        printf("tp acks lost from effects=%lld, kill -9 matcher-b at acked=%ld, committed and still in the outbox: "
               "%lld\n", p->base, acked, p->redelivered);
        p->step = 2;
    }
}

/* Two receiver instances behind one sender; one dies mid-run for good. The
 * messages either had committed but whose acks were lost are delivered again
 * to the other: the shared idempotency mark answers them as duplicates. */
static void two_receivers_one_killed(void **state)
{
    (void)state;
    reset_counts();
    char ep_a[64], ep_b[64], both[160], bind_a[96], bind_b[96], ev_b[96], route[200];
    h_endpoint(&env, 2, ep_a, sizeof ep_a);
    h_endpoint(&env, 22, ep_b, sizeof ep_b);
    snprintf(both, sizeof both, "%s,%s", ep_a, ep_b);
    snprintf(bind_a, sizeof bind_a, "TREMPLIN_MATCHER_BIND=%s", ep_a);
    snprintf(bind_b, sizeof bind_b, "TREMPLIN_MATCHER_BIND=%s", ep_b);
    snprintf(ev_b, sizeof ev_b, "TREMPLIN_MATCHER_EVENTS=tcp://127.0.0.1:%d", env.base_port + 23);
    snprintf(route, sizeof route, "TREMPLIN_ENDPOINTS_MATCHER=%s", both);
    const char *ea[] = { bind_a, "TREMPLIN_MATCHER_INSTANCE=matcher-a", NULL };
    const char *eb[] = { bind_b, ev_b, "TREMPLIN_MATCHER_INSTANCE=matcher-b", NULL };
    const char *ei[] = { route, NULL };
    pid_t ma = start_ready("matcher", "matcher-a", ea);
    pid_t mb = start_ready("matcher", "matcher-b", eb);
    pid_t intake = start_ready("intake", "intake-2r", ei);

    char ep[64];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    drive_t d;
    two_plan_t plan = { 0, mb, 0, 0 };
    drive(ep, "2r", N_COMMANDS, GENUINE, lose_acks_then_kill_b, &plan, &d);
    assert_int_equal(plan.step, 2);
    assert_true(plan.redelivered >= 1000);
    expect_exactly_once("two_receivers", N_COMMANDS, &d);
    long long replays = duplicates_answered(ep_a);
    printf("COUNTS two_receivers redelivered_committed=%lld duplicates_answered_by_a=%lld\n", plan.redelivered, replays);
    assert_true(replays >= plan.redelivered);
    h_signal(intake, SIGKILL);
    h_signal(ma, SIGKILL);
}

static int matcher_has(h_env_t *h, void *arg)
{
    (void)h;
    return h_redis_int(&env, "HLEN tp:{42}:matcher:probe:seen") >= *(long long *)arg;
}

/* Entries of intake's outbox held by one consumer (relay instance). */
static long long pending_of(const char *consumer)
{
    redisReply *r = h_redis(&env, "XPENDING tp:{42}:intake:outbox relay");
    long long n = 0;
    for (size_t i = 0; r && r->elements == 4 && r->element[3]->type == REDIS_REPLY_ARRAY && i < r->element[3]->elements;
         i++)
        if (!strcmp(r->element[3]->element[i]->element[0]->str, consumer))
            n = atoll(r->element[3]->element[i]->element[1]->str);
    if (r)
        freeReplyObject(r);
    return n;
}

/* Two sender instances: one dies holding unacked entries — 500 its receiver
 * committed but whose acks were lost, 500 never delivered (the receiver
 * frozen) —; the other claims them once the lease runs out, and every entry
 * takes effect once: the first 500 are answered from their marks. */
static void sender_instance_death_is_taken_over(void **state)
{
    (void)state;
    reset_counts();
    char ep_a[64], ep_b[64], bind_a[96], bind_b[96], ev_b[96];
    h_endpoint(&env, 1, ep_a, sizeof ep_a);
    h_endpoint(&env, 21, ep_b, sizeof ep_b);
    snprintf(bind_a, sizeof bind_a, "TREMPLIN_INTAKE_BIND=%s", ep_a);
    snprintf(bind_b, sizeof bind_b, "TREMPLIN_INTAKE_BIND=%s", ep_b);
    snprintf(ev_b, sizeof ev_b, "TREMPLIN_INTAKE_EVENTS=tcp://127.0.0.1:%d", env.base_port + 24);
    const char *ea[] = { bind_a, "TREMPLIN_INTAKE_INSTANCE=intake-a", NULL };
    const char *eb[] = { bind_b, ev_b, "TREMPLIN_INTAKE_INSTANCE=intake-b", "TREMPLIN_INTAKE_BRANCH_BIND=", NULL };
    pid_t matcher = start_ready("matcher", "matcher-t", NULL);
    pid_t ia = start_ready("intake", "intake-a", ea);
    pid_t ib = start_ready("intake", "intake-b", eb);

    /* delivered and committed, but the acks are lost */
    acks_lost(1);
    drive_t d, d2;
    drive(ep_a, "to", 500, GENUINE, NULL, NULL, &d);
    long long want = 500;
    assert_int_equal(h_wait_for(&env, matcher_has, &want, 30000), 0);
    long long committed = committed_in_outbox();
    assert_int_equal(committed, 500);
    /* never delivered: the receiver is frozen */
    h_signal(matcher, SIGSTOP);
    drive(ep_a, "tu", 500, GENUINE, NULL, NULL, &d2);
    d.acked += d2.acked;
    d.failed += d2.failed;
    long long held_a = pending_of("intake-a");
    printf("tp intake-a holds %lld entries, outbox=%lld; kill -9 intake-a\n", held_a,
           h_redis_int(&env, "XLEN tp:{42}:intake:outbox"));
    assert_true(held_a > 0);
    h_signal(ia, SIGKILL);
    h_signal(matcher, SIGCONT);
    acks_lost(0);
    expect_exactly_once("takeover", 1000, &d);
    char ep_m[64];
    h_service_endpoint(&env, "matcher", ep_m, sizeof ep_m);
    long long replays = duplicates_answered(ep_m);
    printf("COUNTS takeover committed_before=%lld duplicates_answered=%lld\n", committed, replays);
    assert_true(replays >= committed);
    h_signal(ib, SIGKILL);
    h_signal(matcher, SIGKILL);
}

/* Dead letters of intake with this error (and these tries, unless NULL). */
static long dead_with(const char *error, const char *tries)
{
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:intake:dead - +");
    long n = 0;
    for (size_t i = 0; r && i < r->elements; i++)
        n += !strcmp(entry_field(r->element[i], "error"), error)
             && (!tries || !strcmp(entry_field(r->element[i], "tries"), tries));
    if (r)
        freeReplyObject(r);
    return n;
}

static int dead_count_is(h_env_t *h, void *arg)
{
    (void)h;
    return h_redis_int(&env, "XLEN tp:{42}:intake:dead") == *(long long *)arg;
}

/* Messages refused with a retryable error wait for their retries apart from
 * the window: the genuine messages written behind them all arrive while not
 * one of them has used up its tries (by data: no dead letter yet). Those
 * refused again and again end as dead letters after max_tries, with their
 * error; a Lua error is a dead letter at its first try. */
static void retried_messages_do_not_hold_back_the_others(void **state)
{
    (void)state;
    reset_counts();
    /* a small window that the retried ones would fill three times over */
    const char *e[] = { "TREMPLIN_BUS_WINDOW=32", "TREMPLIN_BUS_RETRY_MAX_MS=300", "TREMPLIN_BUS_MAX_TRIES=40", NULL };
    pid_t matcher = start_ready("matcher", "matcher-w", NULL);
    pid_t intake = start_ready("intake", "intake-w", e);
    char ep[64];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    drive_t d;
    int64_t t0 = clock_mono_ms();
    drive(ep, "wr", 100, POISON_RETRYABLE, NULL, NULL, &d); /* first in the outbox */
    assert_int_equal(d.acked, 100);
    drive(ep, "wl", 10, POISON_LUA_ERROR, NULL, NULL, &d);
    assert_int_equal(d.acked, 10);
    drive(ep, "wg", 1000, GENUINE, NULL, NULL, &d);
    assert_int_equal(d.acked, 1000);

    long long want = 1000;
    assert_int_equal(h_wait_for(&env, matcher_has, &want, 120000), 0);
    long refused_dead = dead_with("POISONED_PROBE", NULL);
    printf("COUNTS retry_window genuine=1000 delivered=%lld in_ms=%lld retryable_poisoned=100 dead_so_far=%ld\n",
           h_redis_int(&env, "HLEN tp:{42}:matcher:probe:seen"), (long long)(clock_mono_ms() - t0), refused_dead);
    assert_int_equal(refused_dead, 0);

    want = 110;
    assert_int_equal(h_wait_for(&env, dead_count_is, &want, 120000), 0);
    assert_int_equal(dead_with("POISONED_PROBE", "40"), 100);
    assert_int_equal(dead_with("INTERNAL", "1"), 10);
    final_t f;
    read_final("w", &f);
    assert_int_equal(f.effects, 1000);
    assert_int_equal(f.executions, 1000);
    assert_int_equal(f.outbox, 0);
    h_signal(intake, SIGKILL);
    h_signal(matcher, SIGKILL);
}

/* Entries of intake's outbox that a consumer holds (its pending list). */
static long long outbox_pending(void)
{
    redisReply *r = h_redis(&env, "XPENDING tp:{42}:intake:outbox relay");
    long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0]->integer : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

static int pending_is(h_env_t *h, void *arg)
{
    (void)h;
    return outbox_pending() == *(long long *)arg;
}

/* Writes a probe for the matcher into intake's outbox as intake's handler
 * does (to, id, msg). */
static void outbox_add_probe(const char *key)
{
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Probe p = TREMPLIN__PROBE__INIT;
    p.key = (char *)key;
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    e.probe = &p;
    char id[TP_ID_LEN + 1];
    wire_stamp(&e, id, "orphan-test", "test", "42");
    wire_buf_t b = { 0 };
    wire_pack(&e, &b);
    redisReply *r = h_redis(&env, "XADD tp:{42}:intake:outbox * to matcher id %s msg %b", id, b.data, b.len);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    wire_buf_free(&b);
}

/* What a lossy Redis restart leaves: outbox entries behind the consumer
 * group's cursor that are in no pending list — 300 whose pending entries
 * were lost (acknowledged in the group, never deleted), 200 the cursor was
 * moved past (XGROUP SETID $) before anyone read them. No relay reads them
 * as its own, as claimable or as new; the relay's orphan pass must find
 * them at start, and each must take effect exactly once. */
static void orphaned_entries_are_delivered_once(void **state)
{
    (void)state;
    reset_counts();
    const char *wide[] = { "TREMPLIN_BUS_WINDOW=512", NULL };
    pid_t intake = start_ready("intake", "intake-o", wide);
    char ep[64];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    drive_t d;
    drive(ep, "oa", 300, GENUINE, NULL, NULL, &d); /* no matcher: all stay pending */
    assert_int_equal(d.acked, 300);
    long long want = 300;
    assert_int_equal(h_wait_for(&env, pending_is, &want, 30000), 0);
    h_signal(intake, SIGKILL);

    redisReply *r = h_redis(&env, "XPENDING tp:{42}:intake:outbox relay - + 1000");
    assert_non_null(r);
    assert_int_equal(r->elements, 300);
    for (size_t i = 0; i < r->elements; i++)
        assert_int_equal(h_redis_int(&env, "XACK tp:{42}:intake:outbox relay %s", r->element[i]->element[0]->str), 1);
    freeReplyObject(r);
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "ob-%d", i);
        outbox_add_probe(key);
    }
    r = h_redis(&env, "XGROUP SETID tp:{42}:intake:outbox relay $");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(outbox_pending(), 0);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:intake:outbox"), 500);

    pid_t matcher = start_ready("matcher", "matcher-o", NULL);
    intake = start_ready("intake", "intake-o", NULL);
    want = 500;
    int rc = h_wait_for(&env, all_delivered, &want, 60000);
    final_t f;
    read_final("orphans", &f);
    printf("COUNTS orphans=500 effects=%lld duplicates=%lld outbox=%lld dead=%lld\n", f.effects,
           f.executions - f.effects, f.outbox, f.dead);
    assert_int_equal(rc, 0);
    assert_int_equal(f.effects, 500);
    assert_int_equal(f.executions, 500);
    assert_int_equal(f.dead, 0);
    h_signal(intake, SIGKILL);
    h_signal(matcher, SIGKILL);
}

/* An outbox whose oldest entry stops moving (here: its receiver is down) is
 * reported stalled by ping (not ok, exit 1) and by outbox list, until it
 * moves again. */
static void stalled_outbox_is_reported(void **state)
{
    (void)state;
    reset_counts();
    setenv("TREMPLIN_BUS_STALL_MS", "1000", 1); /* for intake and the tool, both started from here */
    pid_t intake = start_ready("intake", "intake-s", NULL);
    char ep[64], out[8192];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    drive_t d;
    drive(ep, "st", 20, GENUINE, NULL, NULL, &d); /* no matcher */
    assert_int_equal(d.acked, 20);

    assert_int_equal(h_wait_cli(&env, "ping intake", 1, "file d'envoi bloquée", 30000), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "ping intake"), 1);
    printf("%s", out);
    assert_non_null(strstr(out, "intake     KO "));
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox list"), 0);
    const char *line = strstr(out, "\nintake ");
    assert_non_null(line);
    assert_true(strstr(line, "bloquée") && strstr(line, "bloquée") < strchr(line + 1, '\n'));

    pid_t matcher = start_ready("matcher", "matcher-s", NULL);
    long long want = 20;
    assert_int_equal(h_wait_for(&env, all_delivered, &want, 30000), 0);
    assert_int_equal(h_wait_cli(&env, "ping intake", 0, "intake     ok ", 30000), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox list"), 0);
    assert_null(strstr(out, "bloquée"));
    unsetenv("TREMPLIN_BUS_STALL_MS");
    h_signal(intake, SIGKILL);
    h_signal(matcher, SIGKILL);
}

static int one_dead_letter(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return h_redis_int(&env, "XLEN tp:{42}:intake:dead") == 1;
}

/* A message whose handler fails with a Lua error (a bug, not a passing
 * fault) ends in the dead letters at its first try, without holding back the
 * others; the operator sees it, and can retry or drop it. */
static void poisoned_message_goes_to_dead_letters(void **state)
{
    (void)state;
    reset_counts();
    const char *few[] = { "TREMPLIN_BUS_MAX_TRIES=3", NULL };
    pid_t matcher = start_ready("matcher", "matcher-p", NULL);
    pid_t intake = start_ready("intake", "intake-p", few);
    char ep[64];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    drive_t d;
    drive(ep, "po", 1, POISON_LUA_ERROR, NULL, NULL, &d);
    assert_int_equal(d.acked, 1);
    drive(ep, "pg", 199, GENUINE, NULL, NULL, &d);
    assert_int_equal(d.acked, 199); /* intake accepted them all */

    long long want = 199;
    assert_int_equal(h_wait_for(&env, matcher_has, &want, 30000), 0);
    assert_int_equal(h_wait_for(&env, one_dead_letter, NULL, 60000), 0);
    /* acked entries leave the outbox with the relay's next batch of acks */
    assert_int_equal(h_wait_for(&env, all_delivered, &want, 30000), 0);
    final_t f;
    read_final("po", &f);
    printf("COUNTS poison commands=200 poisoned=1 effects=%lld outbox=%lld dead=%lld\n", f.effects, f.outbox, f.dead);
    assert_int_equal(f.effects, 199);
    assert_int_equal(f.outbox, 0);

    /* the dead letter carries its error and tries */
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:intake:dead - +");
    assert_non_null(r);
    assert_int_equal(r->elements, 1);
    char id[64];
    util_strlcpy(id, r->element[0]->element[0]->str, sizeof id);
    assert_string_equal(entry_field(r->element[0], "error"), "INTERNAL");
    assert_string_equal(entry_field(r->element[0], "tries"), "1"); /* not retryable: dead at once, not after max_tries (3) */
    freeReplyObject(r);

    char out[8192];
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox list"), 0);
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "INTERNAL"));

    /* retry: back in the outbox, fails again, dead again */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "outbox retry intake %s", id);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_int_equal(h_wait_for(&env, one_dead_letter, NULL, 60000), 0);
    r = h_redis(&env, "XRANGE tp:{42}:intake:dead - +");
    util_strlcpy(id, r->element[0]->element[0]->str, sizeof id);
    freeReplyObject(r);
    snprintf(cmd, sizeof cmd, "outbox drop intake %s", id);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:intake:dead"), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2); /* gone */
    h_signal(intake, SIGKILL);
    h_signal(matcher, SIGKILL);
}

/* The ids of intake's dead letters: in Redis (the stream's order), and as
 * the tool printed them (the third column of its "intake" lines with an
 * error). */
#define N_DEAD 130
typedef char dead_id_t[32];

static int dead_ids_in_redis(dead_id_t *ids, int max)
{
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:intake:dead - +");
    int n = 0;
    for (size_t i = 0; r && i < r->elements && n < max; i++)
        util_strlcpy(ids[n++], r->element[i]->element[0]->str, sizeof ids[0]);
    if (r)
        freeReplyObject(r);
    return n;
}

static int dead_ids_printed(const char *out, dead_id_t *ids, int max)
{
    int n = 0;
    for (const char *line = out; line && *line && n < max; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (!strncmp(line, "intake ", 7) && strstr(line, "INTERNAL") && strstr(line, "INTERNAL") < strchr(line, '\n'))
            if (sscanf(line, "%*s %*s %31s", ids[n]) == 1)
                n++;
    return n;
}

/* out has a line that is exactly line. */
static int has_line(const char *out, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = out; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Runs the tool and checks it printed exactly the dead letters first..first+n-1. */
static void expect_dead_page(const char *args, const dead_id_t *all, int first, int n, const char *says)
{
    char out[32768];
    static dead_id_t got[N_DEAD + 1];
    assert_int_equal(h_cli(&env, out, sizeof out, args), 0);
    if (!strstr(out, says))
        fail_msg("tremplin %s: no '%s' in:\n%s", args, says, out);
    assert_int_equal(dead_ids_printed(out, got, N_DEAD + 1), n);
    for (int i = 0; i < n; i++)
        assert_string_equal(got[i], all[first + i]);
}

/* Every dead letter can be listed, a page at a time or all at once, and
 * several (or all) are retried or dropped in one command. */
static void dead_letters_are_paged_and_retried_or_dropped_together(void **state)
{
    (void)state;
    reset_counts();
    pid_t matcher = start_ready("matcher", "matcher-d", NULL);
    pid_t intake = start_ready("intake", "intake-d", NULL);
    char ep[64], out[32768], cmd[256];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    drive_t d;
    drive(ep, "dl", N_DEAD, POISON_LUA_ERROR, NULL, NULL, &d);
    long long want = N_DEAD;
    assert_int_equal(h_wait_for(&env, dead_count_is, &want, 60000), 0);
    static dead_id_t all[N_DEAD];
    assert_int_equal(dead_ids_in_redis(all, N_DEAD), N_DEAD);

    expect_dead_page("outbox list", all, 0, 50, "lettres mortes 1-50 sur 130 (page 1 sur 3");
    expect_dead_page("outbox list --page 2", all, 50, 50, "lettres mortes 51-100 sur 130 (page 2 sur 3");
    expect_dead_page("outbox list intake --page 3", all, 100, 30, "lettres mortes 101-130 sur 130 (page 3 sur 3)");
    expect_dead_page("outbox list --page 2 --limit 100", all, 100, 30, "101-130 sur 130 (page 2 sur 2)");
    expect_dead_page("outbox list --all", all, 0, N_DEAD, "lettres mortes : 130 sur 130");
    expect_dead_page("outbox list --page 4", all, 0, 0, "aucune sur cette page (130 au total, 3 pages)");
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox list --page 0"), 2);

    /* several at once: back in the outbox, they fail again, dead again (new ids) */
    snprintf(cmd, sizeof cmd, "outbox retry intake %s %s %s", all[0], all[1], all[2]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(has_line(out, "3 remises dans la file d'envoi"));
    assert_int_equal(h_wait_for(&env, dead_count_is, &want, 60000), 0);
    static dead_id_t now[N_DEAD];
    assert_int_equal(dead_ids_in_redis(now, N_DEAD), N_DEAD);
    assert_string_equal(now[0], all[3]);
    snprintf(cmd, sizeof cmd, "outbox retry intake %s 1-0", all[3]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "introuvable : 1-0"));
    assert_non_null(has_line(out, "1 remise dans la file d'envoi"));
    assert_int_equal(h_wait_for(&env, dead_count_is, &want, 60000), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox retry intake bogus"), 2);
    assert_non_null(strstr(out, "identifiant de lettre morte invalide"));
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox retry intake"), 2);

    /* all of them: each once, even though they die again meanwhile */
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox retry intake --all"), 0);
    assert_non_null(has_line(out, "130 remises dans la file d'envoi"));
    assert_int_equal(h_wait_for(&env, dead_count_is, &want, 60000), 0);
    assert_int_equal(dead_ids_in_redis(now, N_DEAD), N_DEAD);
    snprintf(cmd, sizeof cmd, "outbox drop intake %s %s", now[0], now[1]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(has_line(out, "2 supprimées"));
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:intake:dead"), N_DEAD - 2);
    assert_int_equal(h_cli(&env, out, sizeof out, "outbox drop intake --all --territory 42"), 0);
    assert_non_null(has_line(out, "128 supprimées"));
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:intake:dead"), 0);
    assert_int_equal(h_redis_int(&env, "HLEN tp:{42}:matcher:probe:seen"), 0);
    h_signal(intake, SIGKILL);
    h_signal(matcher, SIGKILL);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(kill9_sender_and_receiver_under_load, fresh),
        cmocka_unit_test_setup(two_receivers_one_killed, fresh),
        cmocka_unit_test_setup(sender_instance_death_is_taken_over, fresh),
        cmocka_unit_test_setup(poisoned_message_goes_to_dead_letters, fresh),
        cmocka_unit_test_setup(retried_messages_do_not_hold_back_the_others, fresh),
        cmocka_unit_test_setup(orphaned_entries_are_delivered_once, fresh),
        cmocka_unit_test_setup(stalled_outbox_is_reported, fresh),
        cmocka_unit_test_setup(dead_letters_are_paged_and_retried_or_dropped_together, fresh),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("bus", tests, h_group_setup, h_group_teardown);
}
