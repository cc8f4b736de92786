/* Sharding by territory (issue 17): territory 42 on one redis-server,
 * territory 43 on another, both named in the deployment's [shards] map;
 * every service and the tool pick the Redis of a command by the territory of
 * its keys (tp:{T}:...). intake and the matcher serve both territories at
 * once, and so does one gateway (one spool); a scheduler per territory (its
 * timers run for one).
 * Referrals come from a branch of each territory at the same time; then
 * each Redis holds its territory's keys and no other's, and the audit of each
 * (audit.c) finds every acknowledged referral in its one final state, the
 * figures equal to the records, no SMS twice, no dead letter. Then the tool's
 * reads, audit trail and erasures reach the territory's Redis, and one
 * territory goes on while the other's Redis is down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "audit.h"
#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"

#define PER_TERRITORY 20
#define SHARD_OFF 20 /* the second redis-server: base + 20 */
#define DEADLINE_MS 60000

static const char *const terr[2] = { "42", "43" };
static const char *const branch_of[2] = { "wilson", "bellevue" };

static h_env_t env;    /* its Redis: territory 42's */
static h_env_t env_b;  /* the same instance, h_redis on territory 43's Redis */
static int port_b;
static pid_t redis_b_pid; /* territory 43's redis-server */

typedef struct {
    char msg_id[TP_ID_LEN + 1];
    int acked;
} sent_t;

static sent_t sent[2][PER_TERRITORY];
static audit_ref_t refs[2][PER_TERRITORY];
static int nacked[2];
static pid_t svc_pids[8];
static int nsvc;

static int started(pid_t pid)
{
    if (pid > 0)
        svc_pids[nsvc++] = pid;
    return pid > 0 ? 0 : -1;
}

static int shard_up(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "DBSIZE") >= 0;
}

static int sessions_open(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "EXISTS tp:{%s}:scheduler:session:20261202-1400-centre-budget", h == &env ? "42" : "43")
           == 1;
}

static void write_timetable(void)
{
    assert_int_equal(h_write(&env, "timetable.json",
                             "{ \"version\": \"shards\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 7,\n"
                             "  \"venues\": [ { \"id\": \"centre\", \"name_fr\": \"Centre\" } ],\n"
                             "  \"slots\": [\n"
                             "    { \"day\": \"mon\", \"start\": \"14:00\", \"kind\": \"initiation\", \"venue\": \"centre\", "
                             "\"trainer\": \"t1\", \"capacity\": 50 },\n"
                             "    { \"day\": \"tue\", \"start\": \"14:00\", \"kind\": \"perfectionnement\", \"venue\": "
                             "\"centre\", \"trainer\": \"t1\", \"capacity\": 50 },\n"
                             "    { \"day\": \"wed\", \"start\": \"14:00\", \"kind\": \"budget\", \"venue\": \"centre\", "
                             "\"trainer\": \"t1\", \"capacity\": 50 } ] }\n"),
                     0);
}

/* The scheduler of territory i (its timers: one territory each), on ports
 * of its own for the second. */
static int start_scheduler(int i)
{
    static char e[2][4][160];
    static const char *envp[2][5];
    snprintf(e[i][0], sizeof e[i][0], "TREMPLIN_SCHEDULER_TERRITORY=%s", terr[i]);
    snprintf(e[i][1], sizeof e[i][1], "TREMPLIN_SCHEDULER_INSTANCE=scheduler-%s", terr[i]);
    snprintf(e[i][2], sizeof e[i][2], "TREMPLIN_SCHEDULER_BIND=tcp://127.0.0.1:%d", env.base_port + (i ? 22 : 3));
    snprintf(e[i][3], sizeof e[i][3], "TREMPLIN_SCHEDULER_EVENTS=tcp://127.0.0.1:%d", env.base_port + (i ? 23 : 13));
    for (int k = 0; k < 4; k++)
        envp[i][k] = e[i][k];
    envp[i][4] = NULL;
    char label[32];
    snprintf(label, sizeof label, "scheduler-%s", terr[i]);
    return started(h_start_ready(&env, "scheduler", label, envp[i], DEADLINE_MS));
}

static int setup(void **state)
{
    zsys_handler_set(NULL);
    if (h_group_setup(state) != 0)
        return -1;
    port_b = env.base_port + SHARD_OFF;
    env_b = env;
    env_b.admin = NULL;
    env_b.redis_port = port_b;
    write_timetable();
    char sched_eps[128];
    if ((redis_b_pid = h_redis_spawn(&env, "redis-43", "127.0.0.1", port_b, "")) < 0
        || h_wait_for(&env_b, shard_up, NULL, DEADLINE_MS) != 0)
        return -1;
    /* the map, as an operator writes it: each territory its Redis */
    FILE *f = fopen(env.conf, "a");
    if (!f)
        return -1;
    fprintf(f, "\n[shards]\n; territory = host:port of its own Redis\n42 = 127.0.0.1:%d\n43 = 127.0.0.1:%d\n",
            env.redis_port, port_b);
    fclose(f);
    snprintf(sched_eps, sizeof sched_eps, "tcp://127.0.0.1:%d, tcp://127.0.0.1:%d", env.base_port + 3,
             env.base_port + 22);
    char out[1024];
    /* the function libraries into both (the tool loads every shard) */
    if (h_conf_set(&env, "bus", "territories", "42, 43") || h_conf_set(&env, "endpoints", "scheduler", sched_eps)
        || h_set_clock(&env, "2026-11-30T07:45:00Z") || h_conf_set(&env, "scheduler", "notice_min", "30")
        || h_cli(&env, out, sizeof out, "functions load") != 0) {
        fprintf(stderr, "setup: %s\n", out);
        return -1;
    }
    clock_configure(referral_parse_time("2026-11-30T07:45:00Z"), clock_real_ms(), 1);
    clock_set_timezone("Europe/Paris");
    static const char *const gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", NULL };
    if (h_branches_add(&env, &branch_of[0], 1, "42") || h_branches_add(&env, &branch_of[1], 1, "43")
        || started(h_start_ready(&env, "intake", NULL, NULL, DEADLINE_MS))
        || started(h_start_ready(&env, "matcher", NULL, NULL, DEADLINE_MS)) || start_scheduler(0) || start_scheduler(1)
        || started(h_start_ready(&env, "gateway", NULL, gw, DEADLINE_MS)))
        return -1;
    for (int t = 0; t < 2; t++)
        if (h_wait_for(t ? &env_b : &env, sessions_open, NULL, DEADLINE_MS)) {
            fprintf(stderr, "territory %s's sessions are not in its Redis\n", terr[t]);
            return -1;
        }
    return 0;
}

static int teardown(void **state)
{
    if (env_b.admin)
        redisFree(env_b.admin);
    return h_group_teardown(state);
}

static void on_reply(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    (void)arg;
    int t = (int)(tag >> 16), k = (int)(tag & 0xffff);
    assert_non_null(r);
    assert_string_equal(h_code(r), "ACK");
    if (sent[t][k].acked)
        return;
    sent[t][k].acked = 1;
    audit_ref_t *a = &refs[t][nacked[t]++];
    snprintf(a->ext, sizeof a->ext, "SH%s-%03d", terr[t], k);
    util_strlcpy(a->rid, r->ack->referral_id, sizeof a->rid);
    util_strlcpy(a->pid, r->ack->person_id, sizeof a->pid);
}

/* A referral of territory t's branch (the shipped example, its own
 * reference ext, available Monday to Wednesday afternoons) sent as msg_id. */
static void send_shard_referral(client_t *c, int t, const char *ext, const char *msg_id, uint64_t tag)
{
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    json_object_object_add(o, "branch", json_object_new_string(branch_of[t]));
    json_object_object_add(o, "external_ref", json_object_new_string(ext));
    json_object *avail = json_object_new_array();
    json_object_array_add(avail, json_object_new_string("mon-pm"));
    json_object_array_add(avail, json_object_new_string("tue-pm"));
    json_object_array_add(avail, json_object_new_string("wed-pm"));
    json_object_object_add(json_object_object_get(o, "person"), "availability", avail);
    json_object_object_add(json_object_object_get(o, "consent"), "given_at",
                           json_object_new_string("2026-11-27T09:00:00Z"));
    referral_json_t h;
    Tremplin__Envelope e;
    assert_int_equal(h_referral_envelope(o, &h, msg_id, &e), 0);
    e.territory = (char *)terr[t];
    assert_int_equal(client_send(c, &e, tag), 0);
    json_object_put(o);
}

static void send_referral(client_t *c, int t, int k)
{
    char ext[32];
    snprintf(ext, sizeof ext, "SH%s-%03d", terr[t], k);
    util_random_id(sent[t][k].msg_id);
    send_shard_referral(c, t, ext, sent[t][k].msg_id, ((uint64_t)t << 16) | (uint64_t)k);
}

/* Every key of the Redis of h is territory t's. */
typedef struct {
    const char *t;
    long mine, others;
} placed_t;

static int count_key(h_env_t *h, const char *key, void *arg)
{
    (void)h;
    placed_t *p = arg;
    char want[48];
    snprintf(want, sizeof want, "tp:{%s}:", p->t);
    if (!strncmp(key, want, strlen(want)))
        p->mine++;
    else {
        if (p->others < 5)
            fprintf(stderr, "territory %s's Redis holds %s\n", p->t, key);
        p->others++;
    }
    return 0;
}

/* The scheduler's notify entries whose id both territories' streams have
 * (the same job id in each: before the gateway named what it hands over
 * territory:job, one SMS of such a pair was recorded sent unwritten). */
static int shared_job_ids(void)
{
    redisReply *a = h_redis(&env, "XRANGE tp:{42}:scheduler:notify - +");
    redisReply *b = h_redis(&env_b, "XRANGE tp:{43}:scheduler:notify - +");
    int n = 0;
    for (size_t i = 0; a && b && a->type == REDIS_REPLY_ARRAY && i < a->elements; i++)
        for (size_t j = 0; b->type == REDIS_REPLY_ARRAY && j < b->elements; j++)
            n += !strcmp(a->element[i]->element[0]->str, b->element[j]->element[0]->str);
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    return n;
}

static void each_territory_in_its_own_redis(void **state)
{
    (void)state;
    client_t *c[2];
    for (int t = 0; t < 2; t++) {
        c[t] = h_branch_client(&env, branch_of[t], NULL, 2000, 30);
        client_set_window(c[t], PER_TERRITORY);
    }
    /* both territories at once */
    for (int k = 0; k < PER_TERRITORY; k++)
        for (int t = 0; t < 2; t++)
            send_referral(c[t], t, k);
    int64_t t0 = clock_real_ms();
    while (client_inflight(c[0]) + client_inflight(c[1]) > 0) {
        assert_true(clock_real_ms() - t0 < DEADLINE_MS);
        client_poll(c[0], 0, on_reply, NULL);
        client_poll(c[1], 20, on_reply, NULL);
    }
    for (int t = 0; t < 2; t++)
        client_destroy(&c[t]);
    assert_int_equal(nacked[0], PER_TERRITORY);
    assert_int_equal(nacked[1], PER_TERRITORY);

    h_env_t *hs[2] = { &env, &env_b };
    audit_ctx_t A[2];
    for (int t = 0; t < 2; t++) {
        A[t] = (audit_ctx_t){ .h = hs[t], .t = terr[t], .refs = refs[t], .nrefs = nacked[t] };
        snprintf(A[t].spool, sizeof A[t].spool, "%s/spool", env.dir); /* one spool: its files say their territory */
        if (h_wait_for(hs[t], audit_settled, &A[t], DEADLINE_MS) != 0)
            fprintf(stderr, "territory %s not settled: %s\n", terr[t], A[t].why);
    }
    for (int i = 0; i < nsvc; i++) /* the services; both Redis stay for the audit */
        h_signal(svc_pids[i], SIGKILL);
    printf("tp job ids both territories have: %d\n", shared_job_ids());
    for (int t = 0; t < 2; t++) {
        placed_t p = { terr[t], 0, 0 };
        h_redis_forget(hs[t]);
        assert_int_equal(h_scan(hs[t], "*", count_key, &p), 0);
        audit_t a;
        audit_run(&A[t], &a);
        long long referrals = h_redis_int(hs[t], "HGET tp:{%s}:intake:fig:total referrals", terr[t]);
        printf("tp territory %s: %ld keys of its own, %ld of another; %ld referrals, %ld bookings, %ld SMS; "
               "figure referrals = %lld\n",
               terr[t], p.mine, p.others, a.referrals, a.bookings, a.sms_files, referrals);
        assert_true(p.mine > 0);
        assert_int_equal(p.others, 0);
        assert_int_equal(a.referrals, PER_TERRITORY);
        assert_int_equal(referrals, PER_TERRITORY);
        assert_int_equal(a.sms_files, a.bookings);
        assert_true(a.bookings > 0);
        audit_assert_clean(&a);
    }
}

/* The person of a referral (branch:external_ref) of territory t. */
static void person_of(h_env_t *h, const char *t, const char *ref, char *pid)
{
    redisReply *r = h_redis(h, "HGET tp:{%s}:intake:ref:%s person_id", t, ref);
    assert_true(r && r->type == REDIS_REPLY_STRING);
    util_strlcpy(pid, r->str, TP_ID_LEN + 1);
    freeReplyObject(r);
}

/* aof_rewrites of the Redis of h (INFO persistence). */
static long long aof_rewrites(h_env_t *h)
{
    redisReply *r = h_redis(h, "INFO persistence");
    const char *at = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "aof_rewrites:") : NULL;
    long long n = at ? atoll(at + strlen("aof_rewrites:")) : -1;
    if (r)
        freeReplyObject(r);
    return n;
}

/* The tool's reads, the audit trail and an erasure go to the territory's
 * own Redis: a person of territory 43 looked up (the read written in
 * audit:{43}, on 43's Redis, by intake's function), `tremplin audit`
 * showing it (it read the default Redis before), and `tremplin person
 * erase` rewriting the AOF of 43's Redis (it rewrote the default's, where
 * the person's data never was). Services started again: the test before
 * stopped them for its audit. */
static void the_tools_reads_audit_and_erasure_reach_the_territorys_redis(void **state)
{
    (void)state;
    static const char *const gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", NULL };
    static char out[16384];
    /* territory 43's coordinator (the admin works for 42) */
    if (h_cli(&env, out, sizeof out, "operator add coord-43 --role coordinator --name Coordinatrice --territory 43") != 0)
        fail_msg("operator add: %s", out);
    nsvc = 0;
    assert_int_equal(started(h_start_ready(&env, "intake", "intake-again", NULL, DEADLINE_MS)), 0);
    assert_int_equal(start_scheduler(1), 0);
    assert_int_equal(started(h_start_ready(&env, "survey", NULL, NULL, DEADLINE_MS)), 0);
    assert_int_equal(started(h_start_ready(&env, "gateway", "gateway-again", gw, DEADLINE_MS)), 0);
    char pid[TP_ID_LEN + 1];
    person_of(&env_b, "43", "bellevue:SH43-000", pid);
    if (h_cli_as(&env, "coord-43", out, sizeof out, "person show --ref bellevue:SH43-000") != 0)
        fail_msg("person show: %s", out);
    assert_int_equal(h_redis_int(&env_b, "XLEN audit:{43}"), 1);
    assert_int_equal(h_redis_int(&env, "EXISTS audit:{43}"), 0);
    assert_int_equal(h_cli_as(&env, "coord-43", out, sizeof out, "audit"), 0);
    if (!strstr(out, pid))
        fail_msg("audit: %s", out);

    person_of(&env_b, "43", "bellevue:SH43-001", pid);
    assert_int_equal(h_redis_int(&env_b, "EXISTS tp:{43}:intake:contact:%s", pid), 1);
    long long before_b = aof_rewrites(&env_b), before_a = aof_rewrites(&env);
    if (h_cli_as(&env, "coord-43", out, sizeof out, "person erase --ref bellevue:SH43-001") != 0)
        fail_msg("person erase: %s", out);
    assert_non_null(strstr(out, "Fichier AOF de Redis réécrit"));
    assert_int_equal(h_redis_int(&env_b, "EXISTS tp:{43}:intake:contact:%s", pid), 0);
    printf("tp aof rewrites: territory 43's Redis %lld -> %lld, territory 42's %lld -> %lld\n", before_b,
           aof_rewrites(&env_b), before_a, aof_rewrites(&env));
    assert_true(aof_rewrites(&env_b) > before_b);
    for (int i = 0; i < nsvc; i++)
        h_signal(svc_pids[i], SIGKILL);
}

/* One territory goes on while another's Redis is down: territory 43's
 * redis-server killed (-9), territory 42's referrals are acknowledged,
 * assessed, placed and convoked all the same (each service's relay and the
 * gateway skip the territory whose Redis is away instead of stopping); 43's
 * Redis back, a referral of 43 goes through. */
#define ISO_N 10
static char iso_rid[ISO_N][TP_ID_LEN + 1], iso_msg[ISO_N][TP_ID_LEN + 1];
static int iso_acked, iso_pending[ISO_N];
static int64_t iso_retry_at[ISO_N];

/* An ACK records the referral; a refusal (UNAVAILABLE while intake
 * reconnects to a Redis back) is sent again later, as a branch system does. */
static void iso_reply(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    (void)arg;
    iso_pending[tag] = 0;
    if (r && !strcmp(h_code(r), "ACK")) {
        if (!iso_rid[tag][0]) {
            util_strlcpy(iso_rid[tag], r->ack->referral_id, sizeof iso_rid[tag]);
            iso_acked++;
        }
    } else {
        iso_retry_at[tag] = clock_real_ms() + 200;
    }
}

/* Every referral of territory t acknowledged here is placed (booked or
 * waitlisted). */
static int iso_placed(h_env_t *h, void *arg)
{
    const char *t = arg;
    for (int k = 0; k < ISO_N; k++) {
        if (!iso_rid[k][0])
            return 0;
        redisReply *r = h_redis(h, "HGET tp:{%s}:scheduler:assigned:%s status", t, iso_rid[k]);
        int placed = r && r->type == REDIS_REPLY_STRING;
        if (r)
            freeReplyObject(r);
        if (!placed)
            return 0;
    }
    return 1;
}

static void iso_send_one(client_t *c, int t, const char *prefix, int k)
{
    char ext[32];
    snprintf(ext, sizeof ext, "%s-%03d", prefix, k);
    send_shard_referral(c, t, ext, iso_msg[k], (uint64_t)k);
    iso_pending[k] = 1;
}

/* ISO_N referrals of territory t, each sent until acknowledged. */
static void iso_send(int t, const char *prefix)
{
    memset(iso_rid, 0, sizeof iso_rid);
    memset(iso_retry_at, 0, sizeof iso_retry_at);
    iso_acked = 0;
    client_t *c = h_branch_client(&env, branch_of[t], NULL, 2000, 30);
    client_set_window(c, ISO_N);
    for (int k = 0; k < ISO_N; k++) {
        util_random_id(iso_msg[k]);
        iso_send_one(c, t, prefix, k);
    }
    int64_t t0 = clock_real_ms();
    while (iso_acked < ISO_N && clock_real_ms() - t0 < DEADLINE_MS) {
        client_poll(c, 20, iso_reply, NULL);
        for (int k = 0; k < ISO_N; k++)
            if (!iso_rid[k][0] && !iso_pending[k] && iso_retry_at[k] && clock_real_ms() >= iso_retry_at[k])
                iso_send_one(c, t, prefix, k);
    }
    client_destroy(&c);
    assert_int_equal(iso_acked, ISO_N);
}

/* Territory t's SMS sent (the gateway's figure) reached n. */
static int iso_sms_sent(h_env_t *h, void *arg)
{
    const int *want = arg;
    return h_redis_int(h, "HGET tp:{%s}:gateway:fig:total sent:sms", h == &env ? "42" : "43") >= *want;
}

static void a_territory_goes_on_while_anothers_redis_is_down(void **state)
{
    (void)state;
    static const char *const gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", NULL };
    nsvc = 0;
    assert_int_equal(started(h_start_ready(&env, "intake", "intake-iso", NULL, DEADLINE_MS)), 0);
    assert_int_equal(started(h_start_ready(&env, "matcher", "matcher-iso", NULL, DEADLINE_MS)), 0);
    assert_int_equal(start_scheduler(0), 0);
    assert_int_equal(start_scheduler(1), 0);
    assert_int_equal(started(h_start_ready(&env, "gateway", "gateway-iso", gw, DEADLINE_MS)), 0);
    h_signal(redis_b_pid, SIGKILL);
    h_redis_forget(&env_b);
    iso_send(0, "ISO42");
    int placed = h_wait_for(&env, iso_placed, (void *)"42", DEADLINE_MS) == 0;
    int want = PER_TERRITORY + ISO_N; /* each booked: the sessions have room */
    int convoked = placed && h_wait_for(&env, iso_sms_sent, &want, DEADLINE_MS) == 0;
    printf("tp territory 42 with 43's Redis down: %d acked, %s, %s; SMS sent in 42: %lld\n", iso_acked,
           placed ? "all placed" : "NOT all placed", convoked ? "all convoked" : "NOT all convoked",
           h_redis_int(&env, "HGET tp:{42}:gateway:fig:total sent:sms"));
    assert_true(placed);
    assert_true(convoked);
    /* 43's Redis back (its AOF): 43 goes on too */
    char conf[400];
    snprintf(conf, sizeof conf, "%s/redis-43/redis.conf", env.dir);
    char *argv[] = { "redis-server", conf, NULL };
    assert_true((redis_b_pid = h_spawn_cmd(&env, "redis-43-again", argv)) > 0);
    assert_int_equal(h_wait_for(&env_b, shard_up, NULL, DEADLINE_MS), 0);
    iso_send(1, "ISO43");
    assert_int_equal(h_wait_for(&env_b, iso_placed, (void *)"43", DEADLINE_MS), 0);
    assert_int_equal(h_wait_for(&env_b, iso_sms_sent, &want, DEADLINE_MS), 0);
    printf("tp territory 43 after its Redis came back: %d acked, all placed and convoked\n", iso_acked);
    for (int i = 0; i < nsvc; i++)
        h_signal(svc_pids[i], SIGKILL);
}

/* A map entry that is not host:port stops a service at start, saying which. */
static void a_bad_shard_entry_is_refused(void **state)
{
    (void)state;
    const char *e[] = { "TREMPLIN_SHARDS_44=redis-44", "TREMPLIN_MATCHER_BIND=tcp://127.0.0.1:0", NULL };
    pid_t p = h_start(&env, "matcher", "matcher-bad-shard", e);
    int status = 0;
    assert_int_equal(h_wait_exit(p, DEADLINE_MS, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    assert_true(h_log_has(&env, "matcher-bad-shard", "shards.44: 'redis-44' must be a territory code = host:port"));
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_territory_in_its_own_redis),
        cmocka_unit_test(the_tools_reads_audit_and_erasure_reach_the_territorys_redis),
        cmocka_unit_test(a_territory_goes_on_while_anothers_redis_is_down),
        cmocka_unit_test(a_bad_shard_entry_is_refused),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("shards", tests, setup, teardown);
}
