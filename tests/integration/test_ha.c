/* High availability (issue 17, `make test-ha`): three "hosts" on this
 * machine, told apart by their loopback address (127.0.0.1, .2, .3 work on
 * Linux without any setup), each port number the same on every host:
 *
 *   host A 127.0.0.1  Redis primary, Sentinel 1, the first instance of each service
 *   host B 127.0.0.2  Redis replica, Sentinel 2, the second instance of each service
 *   host C 127.0.0.3  Sentinel 3 (the tie-breaker: quorum 2 of 3)
 *
 * Every service (the gateway included) runs twice, configured as a
 * deployment would be: [redis] sentinels and master (the primary is asked of
 * Sentinel), wait_replicas = 1 (an ack only once the replica has the step),
 * and each [endpoints] entry lists both hosts (relays and clients spread
 * their commands over the two instances). Two branch systems send referrals
 * over CURVE to intake's branch endpoints on both hosts; the matcher assesses
 * them, the scheduler books or waitlists them, the gateway sends the
 * convocations through its spool.
 *
 * Under that load, the replica's link is cut (its replication user turned
 * off on the primary, its connection closed: it stays up and answers
 * Sentinel) until the primary has taken 5 more referrals and the gateway has
 * read a job made meanwhile — the replica lags, as behind a slow link — and
 * then the primary is killed with kill -9, together with one instance of
 * each service (intake, matcher and scheduler on host A; survey, reporter
 * and gateway on host B). Nothing is restarted by the test but the killed
 * Redis (as systemd's Restart= would: Sentinel then makes it a replica of
 * the new primary, and wait_replicas = 1 can be met again). The survivors
 * find the new primary through Sentinel; the clients resend what was not
 * answered, under the same msg_id.
 *
 * Then the primary flaps: half a second after Sentinel named host B's
 * Redis, the test pauses it (SIGSTOP, as a stalled machine) until the
 * Sentinels fail over back to host A's restarted Redis, and resumes it: it
 * must become host A's replica (as every Redis of the deployment replicates:
 * as the admin) for any step to be acknowledged again. A loaded machine did
 * that by itself in a CI run (host B answered no PING within
 * down-after-milliseconds just after its promotion); the test follows the
 * primary Sentinel names (failovers= counts the moves). TP_HA_FLAP=0 skips
 * the pause.
 *
 * Once the load is over and everything has settled, the services are
 * stopped and the raw state of the last primary is audited (audit.c): every
 * acknowledged referral has one final state, nothing doubled, no oversold
 * session, each SMS once (no gateway found a job it sent taken over by a
 * living one), no dead letter. It prints COUNTS and the times
 * to recover (printed only: timings never decide the outcome).
 *
 * TP_HA_WAIT=0 runs the same without WAIT (wait_replicas = 0): the referrals
 * acknowledged while the replica was cut off are lost at the failover — the
 * audit counts them and the test fails, as it should (a demonstration for
 * docs/reliability.md, not part of make test). */
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
#include <time.h>

#include "audit.h"
#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"

#define MAX_REF 4096
#define N_BRANCH 2
#define WINDOW 6
#define SENTINEL_OFF 21 /* base + 21 on each host */
#define WARMUP_ACKS 40  /* before the faults */
#define AFTER_ACKS 60   /* acked after the recovery, then the load stops */
#define LAG_WRITES 5    /* referrals the primary takes while the replica is paused */
#define PACE_MS 20       /* 50 referrals a second at most */
#define DEADLINE_MS 60000
#define RUN_DEADLINE_MS 150000

enum { INTAKE, MATCHER, SCHEDULER, SURVEY, REPORTER, GATEWAY, NSVC };
static const char *const names[NSVC] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
/* each service's command and events ports (deploy/setup.sh's numbering) */
static const int cmd_off[NSVC] = { 1, 2, 3, 4, 5, 8 };
static const int ev_off[NSVC] = { 11, 12, 13, 14, 15, 17 };
static const char *const hosts[3] = { "127.0.0.1", "127.0.0.2", "127.0.0.3" };
static const char *const branches[N_BRANCH] = { "wilson", "bellevue" };
/* the instance killed: 0 on host A, 1 on host B */
static const int killed_inst[NSVC] = { 0, 0, 0, 1, 1, 1 };

static h_env_t env;
static char admin_pass[128];
static int wait_on = 1;
/* 1: once host B's Redis is the primary, it is paused until Sentinel fails
 * over back to host A's (TP_HA_FLAP=0: not) */
static int flap = 1;
static int64_t paused_ms;
static pid_t pid_of[NSVC][2];
static pid_t replica_pid, sentinel_pid[3];
static char inst_env[NSVC][2][8][128];
static const char *inst_envp[NSVC][2][9];

/* ------------------------------------------------------------ the hosts */

static int write_conf(const char *dir, const char *name, const char *text, char *path, size_t cap)
{
    if (mkdir(dir, 0700) != 0)
        return -1;
    snprintf(path, cap, "%s/%s", dir, name);
    return h_write_file(path, text);
}

/* host B's Redis: a replica of host A's, the same port and ACL file; it
 * replicates as the user "replicator" (the test turns it off to cut the
 * link: the replica stays up, answers Sentinel, and cannot reconnect) */
static pid_t start_replica(void)
{
    char extra[512];
    snprintf(extra, sizeof extra,
             "replicaof 127.0.0.1 %d\nmasteruser replicator\nmasterauth %s\nreplica-announce-ip %s\n"
             "repl-diskless-sync-delay 0\n",
             env.redis_port, admin_pass, hosts[1]);
    return h_redis_spawn(&env, "replica", hosts[1], env.redis_port, extra);
}

/* Sentinel i on host i (Debian's redis-sentinel; it rewrites its own file) */
static pid_t start_sentinel(int i)
{
    char dir[400], conf[440], text[2048], log[16];
    snprintf(dir, sizeof dir, "%s/sentinel%d", env.dir, i + 1);
    snprintf(text, sizeof text,
             "bind %s\nport %d\ndir %s\ndaemonize no\nlogfile \"\"\n"
             "sentinel announce-ip %s\n"
             "sentinel monitor tremplin 127.0.0.1 %d 2\n"
             "sentinel auth-user tremplin admin\nsentinel auth-pass tremplin %s\n"
             "sentinel down-after-milliseconds tremplin 1000\n"
             "sentinel failover-timeout tremplin 10000\n"
             "sentinel parallel-syncs tremplin 1\n",
             hosts[i], env.base_port + SENTINEL_OFF, dir, hosts[i], env.redis_port, admin_pass);
    if (write_conf(dir, "sentinel.conf", text, conf, sizeof conf) != 0)
        return -1;
    snprintf(log, sizeof log, "sentinel%d", i + 1);
    char *argv[] = { "redis-sentinel", conf, NULL };
    return h_spawn_cmd(&env, log, argv);
}

/* A field of `SENTINEL master tremplin` as Sentinel i sees it. */
static long long sentinel_field(int i, const char *field)
{
    redisContext *s = h_redis_connect_host(&env, hosts[i], env.base_port + SENTINEL_OFF, 0);
    if (!s)
        return -1;
    redisReply *r = redisCommand(s, "SENTINEL master tremplin");
    long long v = -1;
    for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k + 1 < r->elements; k += 2)
        if (!strcmp(r->element[k]->str, field))
            v = atoll(r->element[k + 1]->str);
    if (r)
        freeReplyObject(r);
    redisFree(s);
    return v;
}

/* Every Sentinel knows the replica and the two other Sentinels. */
static int sentinels_ready(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    for (int i = 0; i < 3; i++)
        if (sentinel_field(i, "num-slaves") != 1 || sentinel_field(i, "num-other-sentinels") != 2)
            return 0;
    return 1;
}

/* The host (0 or 1) Sentinel i names as the primary's; -1 when neither
 * (or no answer). */
static int sentinel_names(int i)
{
    redisContext *s = h_redis_connect_host(&env, hosts[i], env.base_port + SENTINEL_OFF, 0);
    if (!s)
        return -1;
    redisReply *r = redisCommand(s, "SENTINEL get-master-addr-by-name tremplin");
    int named = -1;
    for (int h = 0; h < 2 && r && r->type == REDIS_REPLY_ARRAY && r->elements == 2; h++)
        if (!strcmp(r->element[0]->str, hosts[h]))
            named = h;
    if (r)
        freeReplyObject(r);
    redisFree(s);
    return named;
}

/* The host (0 or 1) that at least two Sentinels name as the primary; -1
 * while they do not agree. */
static int sentinel_primary(void)
{
    int votes[2] = { 0, 0 };
    for (int i = 0; i < 3; i++) {
        int h = sentinel_names(i);
        if (h >= 0)
            votes[h]++;
    }
    return votes[0] >= 2 ? 0 : votes[1] >= 2 ? 1 : -1;
}

/* The test's own Redis connection goes to host p's Redis (the primary
 * Sentinel names), counting a move. */
static void follow_primary(int p, int *moves)
{
    if (p < 0 || !strcmp(env.redis_host, hosts[p]))
        return;
    (*moves)++;
    util_strlcpy(env.redis_host, hosts[p], sizeof env.redis_host);
    h_redis_forget(&env);
}

/* What each Redis says it is (ROLE) and whom each Sentinel names. */
static void print_redis_roles(void)
{
    for (int i = 0; i < 2; i++) {
        redisContext *c = h_redis_connect_host(&env, hosts[i], env.redis_port, 1);
        redisReply *r = c ? redisCommand(c, "ROLE") : NULL;
        printf("tp redis on %s: %s", hosts[i], r && r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0]->str : "no answer");
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 4 && !strcmp(r->element[0]->str, "slave"))
            printf(" of %s:%lld, link %s", r->element[1]->str, r->element[2]->integer, r->element[3]->str);
        printf("\n");
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
    }
    for (int i = 0; i < 3; i++) {
        int h = sentinel_names(i);
        printf("tp sentinel %d names %s\n", i + 1, h >= 0 ? hosts[h] : "neither");
    }
}

/* The replica is in sync with the primary (WAIT for it answers at once). */
static int replica_attached(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "WAIT 1 200") == 1;
}

/* ------------------------------------------------------------- the load */

typedef struct {
    char msg_id[TP_ID_LEN + 1], rid[TP_ID_LEN + 1], pid[TP_ID_LEN + 1];
    int acked, queued;
    int64_t sent_ms, retry_at; /* last sent; not again before */
} referral_t;

static struct {
    referral_t ref[MAX_REF];
    int next, sent, acked, stop;
    long refused, given_up;
    int64_t start_ms, pause_ms, kill_ms, first_ack_after_ms;
    int acked_in_pause; /* acks of referrals sent while the replica was cut off */
    int acked_after;                     /* acks of referrals sent after the recovery */
    int64_t recovered_ms;                /* the first ack after the kill */
} L;
static client_t *branch_c[N_BRANCH];

static void on_reply(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    (void)arg;
    referral_t *f = &L.ref[tag];
    if (!r || r->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        /* given up, or UNAVAILABLE (no primary, WAIT not met): the same
         * msg_id again */
        r ? L.refused++ : L.given_up++;
        f->queued = 1;
        f->retry_at = clock_real_ms() + 200; /* as a branch system backs off */
        return;
    }
    if (f->acked)
        return;
    f->acked = 1;
    L.acked++;
    L.acked_in_pause += L.pause_ms && !L.kill_ms && f->sent_ms > L.pause_ms;
    util_strlcpy(f->rid, r->ack->referral_id, sizeof f->rid);
    util_strlcpy(f->pid, r->ack->person_id, sizeof f->pid);
    if (L.kill_ms && f->sent_ms > L.kill_ms) {
        if (!L.first_ack_after_ms)
            L.first_ack_after_ms = clock_real_ms();
        L.acked_after++;
    }
}

/* Referral k from its branch: the shipped example, its own external
 * reference, available Monday and Wednesday afternoons. */
static int send_referral(int k)
{
    referral_t *f = &L.ref[k];
    if (!f->msg_id[0])
        util_random_id(f->msg_id);
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    char ext[32];
    snprintf(ext, sizeof ext, "HA-%05d", k);
    json_object_object_add(o, "branch", json_object_new_string(branches[k % N_BRANCH]));
    json_object_object_add(o, "external_ref", json_object_new_string(ext));
    json_object *avail = json_object_new_array();
    json_object_array_add(avail, json_object_new_string(k % 2 ? "mon-pm" : "wed-pm"));
    json_object_object_add(json_object_object_get(o, "person"), "availability", avail);
    json_object_object_add(json_object_object_get(o, "consent"), "given_at",
                           json_object_new_string("2026-11-27T09:00:00Z"));
    referral_json_t h;
    Tremplin__Envelope e;
    assert_int_equal(h_referral_envelope(o, &h, f->msg_id, &e), 0);
    int rc = client_send(branch_c[k % N_BRANCH], &e, (uint64_t)k);
    json_object_put(o);
    if (rc == 0) {
        f->queued = 0;
        f->sent_ms = clock_real_ms();
    }
    return rc;
}

static void load_step(int poll_ms)
{
    int64_t now = clock_real_ms();
    int backlog = 0; /* a new one only when nothing waits to be sent again */
    for (int k = 0; k < L.next; k++)
        if (L.ref[k].queued) {
            backlog = 1;
            if (L.ref[k].retry_at <= now && send_referral(k) != 0)
                break;
        }
    /* a steady load: one new referral every PACE_MS at most */
    while (!backlog && !L.stop && L.next < MAX_REF && now >= L.start_ms + (int64_t)L.next * PACE_MS
           && send_referral(L.next) == 0) {
        L.next++;
        L.sent++;
    }
    client_poll(branch_c[0], 0, on_reply, NULL);
    client_poll(branch_c[1], poll_ms, on_reply, NULL);
}

/* -------------------------------------------------------------- setup */

/* [endpoints] key: the same port on hosts A and B */
static int endpoints_both(const char *key, int off)
{
    char v[128];
    snprintf(v, sizeof v, "tcp://%s:%d, tcp://%s:%d", hosts[0], env.base_port + off, hosts[1], env.base_port + off);
    return h_conf_set(&env, "endpoints", key, v);
}

/* The environment of instance i (0: host A, as configured; 1: host B) of svc. */
static const char *const *instance_env(int s, int i)
{
    int n = 0;
#define E(...) snprintf(inst_env[s][i][n++], sizeof inst_env[s][i][0], __VA_ARGS__)
    if (s == SCHEDULER) {
        E("TREMPLIN_SCHEDULER_TIMER_MS=100");
        E("TREMPLIN_SCHEDULER_GENERATE_MS=200");
    } else if (s == SURVEY) {
        E("TREMPLIN_SURVEY_TIMER_MS=100");
    } else if (s == GATEWAY) {
        E("TREMPLIN_GATEWAY_TICK_MS=20");
        E("TREMPLIN_GATEWAY_LEASE_MS=2000");
    }
    if (i == 1) {
        char up[16];
        for (size_t k = 0; k <= strlen(names[s]); k++)
            up[k] = (char)(names[s][k] >= 'a' && names[s][k] <= 'z' ? names[s][k] - 32 : names[s][k]);
        E("TREMPLIN_%s_BIND=tcp://%s:%d", up, hosts[1], env.base_port + cmd_off[s]);
        E("TREMPLIN_%s_EVENTS=tcp://%s:%d", up, hosts[1], env.base_port + ev_off[s]);
        E("TREMPLIN_%s_INSTANCE=%s-2", up, names[s]);
        if (s == INTAKE)
            E("TREMPLIN_INTAKE_BRANCH_BIND=tcp://%s:%d", hosts[1], env.base_port + 6);
        else if (s == SURVEY)
            E("TREMPLIN_SURVEY_KIOSK_BIND=tcp://%s:%d", hosts[1], env.base_port + 10);
        else if (s == REPORTER)
            E("TREMPLIN_REPORTER_HTTP_BIND=%s", hosts[1]);
        else if (s == GATEWAY)
            E("TREMPLIN_GATEWAY_CALLBACK_BIND=%s:%d", hosts[1], env.base_port + 9);
    }
#undef E
    for (int k = 0; k < n; k++)
        inst_envp[s][i][k] = inst_env[s][i][k];
    inst_envp[s][i][n] = NULL;
    return inst_envp[s][i];
}

static void write_timetable(void)
{
    static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };
    static const char *const venues[] = { "wilson", "bellevue", "centre" };
    char tt[4096];
    size_t n = (size_t)snprintf(tt, sizeof tt,
                                "{ \"version\": \"ha\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 7,\n"
                                "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" }, { \"id\": \"bellevue\", "
                                "\"name_fr\": \"Bellevue\" }, { \"id\": \"centre\", \"name_fr\": \"Centre\" } ],\n"
                                "  \"slots\": [\n");
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 3; k++)
            n += (size_t)snprintf(tt + n, sizeof tt - n,
                                  "%s    { \"day\": \"%s\", \"start\": \"14:00\", \"kind\": \"%s\", \"venue\": \"%s\", "
                                  "\"trainer\": \"t%d\", \"capacity\": 100 }",
                                  d || k ? ",\n" : "", d ? "wed" : "mon", kinds[k], venues[k], k + 1);
    snprintf(tt + n, sizeof tt - n, "\n  ] }\n");
    assert_int_equal(h_write(&env, "timetable.json", tt), 0);
}

static int setup(void **state)
{
    zsys_handler_set(NULL);
    clock_set_timezone("Europe/Paris");
    const char *w = getenv("TP_HA_WAIT");
    wait_on = !(w && !strcmp(w, "0"));
    const char *fl = getenv("TP_HA_FLAP");
    flap = !(fl && !strcmp(fl, "0"));
    if (h_group_setup(state) != 0 || h_read_secret(&env, "admin", admin_pass, sizeof admin_pass) != 0)
        return -1;
    write_timetable();
    /* host A's Redis, restarted after the failover, replicates from the new
     * primary as the admin (Sentinel tells it where) */
    char rconf[400], line[300];
    snprintf(rconf, sizeof rconf, "%s/redis/redis.conf", env.dir);
    FILE *f = fopen(rconf, "a");
    if (!f)
        return -1;
    fprintf(f, "masteruser admin\nmasterauth %s\n", admin_pass);
    fclose(f);
    redisReply *r = h_redis(&env, "CONFIG SET repl-diskless-sync-delay 0");
    if (r)
        freeReplyObject(r);
    if (!(r = h_redis(&env, "ACL SETUSER replicator on >%s +psync +replconf +ping", admin_pass)))
        return -1;
    freeReplyObject(r);
    if ((replica_pid = start_replica()) < 0 || h_wait_for(&env, replica_attached, NULL, DEADLINE_MS) != 0) {
        fprintf(stderr, "replica not in sync\n");
        return -1;
    }
    for (int i = 0; i < 3; i++)
        if ((sentinel_pid[i] = start_sentinel(i)) < 0)
            return -1;
    if (h_wait_for(&env, sentinels_ready, NULL, DEADLINE_MS) != 0) {
        fprintf(stderr, "the sentinels do not know the replica and one another\n");
        return -1;
    }
    /* the deployment's file: Sentinel, WAIT, both hosts in every endpoint */
    snprintf(line, sizeof line, "%s:%d, %s:%d, %s:%d", hosts[0], env.base_port + SENTINEL_OFF, hosts[1],
             env.base_port + SENTINEL_OFF, hosts[2], env.base_port + SENTINEL_OFF);
    if (h_conf_add(&env, "redis", "sentinels", line) || h_conf_add(&env, "redis", "master", "tremplin")
        || h_conf_add(&env, "redis", "wait_replicas", wait_on ? "1" : "0")
        /* below bus.ack_timeout_ms (1000): a step whose WAIT times out is
         * answered UNAVAILABLE (not a try) before its sender gives up on
         * the answer (a try) — equal, the sender's tries ran out during the
         * 12 s without a replica, now and then (a dead letter) */
        || h_conf_add(&env, "redis", "wait_timeout_ms", "500") || h_conf_add(&env, "redis", "backoff_max_ms", "1000"))
        return -1;
    for (int s = 0; s < NSVC; s++) {
        char ev[32];
        snprintf(ev, sizeof ev, "%s_events", names[s]);
        if (endpoints_both(names[s], cmd_off[s]) || endpoints_both(ev, ev_off[s]))
            return -1;
    }
    /* Monday 30 November 2026, 08:45 in Saint-Étienne: the afternoon's
     * sessions open, the SMS quiet hours over */
    if (endpoints_both("intake_branch", 6) || endpoints_both("survey_kiosk", 10)
        || h_set_clock(&env, "2026-11-30T07:45:00Z") || h_conf_set(&env, "bus", "retry_max_ms", "4000")
        || h_conf_set(&env, "bus", "lease_ms", "10000") || h_conf_set(&env, "scheduler", "notice_min", "30"))
        return -1;
    clock_configure(referral_parse_time("2026-11-30T07:45:00Z"), clock_real_ms(), 1);
    if (h_branches_add(&env, branches, N_BRANCH, "42") != 0)
        return -1;
    for (int s = 0; s < NSVC; s++)
        for (int i = 0; i < 2; i++) {
            char label[32];
            snprintf(label, sizeof label, "%s-%d", names[s], i + 1);
            if ((pid_of[s][i] = h_start_ready(&env, names[s], label, instance_env(s, i), DEADLINE_MS)) < 0)
                return -1;
        }
    return h_wait_for(&env, h_session_open, "20261202-1400-centre-budget", DEADLINE_MS);
}

static int teardown(void **state)
{
    for (int b = 0; b < N_BRANCH; b++)
        client_destroy(&branch_c[b]);
    return h_group_teardown(state);
}

/* ------------------------------------------------------------------ test */

static long long primary_referrals(void)
{
    return h_redis_int(&env, "HGET tp:{42}:intake:fig:total referrals");
}

static audit_ref_t acked_refs[MAX_REF];

/* The gateway has read from the scheduler's notify stream an entry added
 * after real time ms (a stream id starts with the ms it was added at). */
static int gateway_read_since(int64_t ms)
{
    redisReply *r = h_redis(&env, "XINFO GROUPS tp:{42}:scheduler:notify");
    long long read = 0;
    for (size_t g = 0; r && r->type == REDIS_REPLY_ARRAY && g < r->elements; g++)
        for (size_t j = 0; j + 1 < r->element[g]->elements; j += 2)
            if (!strcmp(r->element[g]->element[j]->str, "last-delivered-id"))
                read = atoll(r->element[g]->element[j + 1]->str);
    if (r)
        freeReplyObject(r);
    return read >= ms;
}

/* SMS sent twice by gateways alive: a holder that finds, when it records
 * what it sent, that another instance has taken the job over meanwhile
 * (its lease ignored) logs job_stale — the other sent it too. (A killed
 * holder logs nothing: its jobs are taken over once its lease ends, which
 * is the at-least-once of a crash, docs/reliability.md.) */
static long sent_twice(void)
{
    return h_log_count(&env, "gateway-1", "event=job_stale") + h_log_count(&env, "gateway-2", "event=job_stale");
}

/* The time of one acknowledged step (a Probe through intake, one client,
 * one at a time) with WAIT for the replica and without: intake-1 as
 * configured, and a third intake on host C with wait_replicas = 0. Printed
 * for docs/reliability.md, never asserted. */
#define LAT_N 300

static int cmp_us(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void ack_latency(const char *endpoint, const char *what)
{
    static long long us[LAT_N];
    client_t *c = h_client(&env, endpoint, 2000, 3);
    long long sum = 0;
    for (int i = 0; i < LAT_N; i++) {
        char key[32];
        static int seq;
        snprintf(key, sizeof key, "lat-%d", seq++); /* each a new step, never a replay */
        Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT, *rep = NULL;
        Tremplin__Probe pr = TREMPLIN__PROBE__INIT;
        pr.key = key;
        req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
        req.probe = &pr;
        req.territory = "42";
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(client_call(c, &req, &rep), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_string_equal(h_code(rep), "ACK");
        wire_free(rep, NULL);
        us[i] = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
        sum += us[i];
    }
    client_destroy(&c);
    qsort(us, LAT_N, sizeof us[0], cmp_us);
    printf("tp ack latency %s: %d steps, mean %lld us, p50 %lld us, p90 %lld us, p99 %lld us\n", what, LAT_N,
           sum / LAT_N, us[LAT_N / 2], us[LAT_N * 9 / 10], us[LAT_N * 99 / 100]);
}

static void ack_latency_with_and_without_wait(void **state)
{
    (void)state;
    char ep[64], e[4][96];
    snprintf(ep, sizeof ep, "tcp://%s:%d", hosts[2], env.base_port + 1);
    snprintf(e[0], sizeof e[0], "TREMPLIN_INTAKE_BIND=%s", ep);
    snprintf(e[1], sizeof e[1], "TREMPLIN_INTAKE_EVENTS=tcp://%s:%d", hosts[2], env.base_port + 11);
    snprintf(e[2], sizeof e[2], "TREMPLIN_INTAKE_INSTANCE=intake-3");
    const char *envp[] = { e[0], e[1], e[2], "TREMPLIN_INTAKE_BRANCH_BIND=", "TREMPLIN_REDIS_WAIT_REPLICAS=0", NULL };
    pid_t nowait = h_start_ready(&env, "intake", "intake-3-nowait", envp, DEADLINE_MS);
    assert_true(nowait > 0);
    char ep1[64];
    snprintf(ep1, sizeof ep1, "tcp://%s:%d", hosts[0], env.base_port + 1);
    for (int round = 0; round < 2; round++) { /* alternated, twice: the machine's load moves */
        ack_latency(ep, "wait_replicas=0");
        ack_latency(ep1, wait_on ? "wait_replicas=1" : "wait_replicas=0 (TP_HA_WAIT=0)");
    }
    h_signal(nowait, SIGKILL);
}

/* Dead letters refused CONFLICT: there must be none. A surviving relay may
 * resend, after the failover, an entry it had read from the dead primary
 * although the new one never had it; the receiver takes it, and the step
 * that made it, run again on the new primary, sends the same msg_id with
 * other content: the relay takes that CONFLICT as done (common/outbox.c,
 * "superseded") — it made a dead letter in about one run of eight before.
 * Counted and printed (superseded_dead=), and part of dead. */
static long ghost_dead_letters(void)
{
    long n = 0;
    for (int s = 0; s < NSVC; s++) {
        redisReply *r = h_redis(&env, "XRANGE tp:{42}:%s:dead - +", names[s]);
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            redisReply *f = r->element[i]->element[1];
            for (size_t j = 0; j + 1 < f->elements; j += 2)
                n += !strcmp(f->element[j]->str, "error") && !strcmp(f->element[j + 1]->str, "CONFLICT");
        }
        if (r)
            freeReplyObject(r);
    }
    return n;
}

/* The run's deadline: past it, what the stack was waiting for is said
 * (the stage, the counts, each Redis's role, each Sentinel's primary, the
 * services' last problems) before the test fails. */
static void before_deadline(int64_t t_start, const char *stage)
{
    if (clock_real_ms() - t_start < RUN_DEADLINE_MS)
        return;
    printf("tp deadline (%d s) passed %s: sent=%d acked=%d acked_after_kill=%d refused=%ld given_up=%ld\n",
           RUN_DEADLINE_MS / 1000, stage, L.sent, L.acked, L.acked_after, L.refused, L.given_up);
    print_redis_roles();
    for (int s = 0; s < NSVC; s++)
        for (int i = 0; i < 2; i++) {
            char label[32];
            snprintf(label, sizeof label, "%s-%d", names[s], i + 1);
            printf("tp %s: %s, %d warnings, %d errors\n", label, pid_of[s][i] > 0 ? "running" : "killed",
                   h_log_count(&env, label, "level=warn"), h_log_count(&env, label, "level=error"));
        }
    fflush(stdout);
    fail_msg("the stack did not recover within %d s (%s)", RUN_DEADLINE_MS / 1000, stage);
}

static void failover_under_load_loses_nothing_acknowledged(void **state)
{
    (void)state;
    /* each branch system knows both hosts' intake */
    char eps[128];
    snprintf(eps, sizeof eps, "tcp://%s:%d, tcp://%s:%d", hosts[0], env.base_port + 6, hosts[1], env.base_port + 6);
    for (int b = 0; b < N_BRANCH; b++) {
        branch_c[b] = h_branch_client(&env, branches[b], eps, 1000, 100000);
        client_set_window(branch_c[b], WINDOW);
    }
    int64_t t_start = L.start_ms = clock_real_ms();
    while (L.acked < WARMUP_ACKS) {
        before_deadline(t_start, "during the warm-up");
        load_step(5);
    }

    /* the replica lags: its link cut (its user turned off, so that it
     * cannot reconnect, and its connection closed), until the primary has
     * taken LAG_WRITES more referrals and the gateway has read a job made
     * meanwhile (the steps go on on the primary; with WAIT, none of them is
     * acknowledged, and no SMS leaves) */
    long long before = primary_referrals();
    redisReply *off = h_redis(&env, "ACL SETUSER replicator off");
    assert_non_null(off);
    freeReplyObject(off);
    assert_true(h_redis_int(&env, "CLIENT KILL TYPE replica") == 1);
    int64_t t_pause = L.pause_ms = clock_real_ms();
    int gw_read = 0;
    while (primary_referrals() < before + LAG_WRITES || !(gw_read = gateway_read_since(t_pause))) {
        if (clock_real_ms() - t_pause > 5000) /* Sentinel promotes a replica cut off for 10 s at most */
            break;
        load_step(5);
    }
    assert_true(primary_referrals() >= before + LAG_WRITES);
    printf("tp replica cut off for %lld ms; %s\n", (long long)(clock_real_ms() - t_pause),
           gw_read ? "the gateway read a job made meanwhile" : "the gateway read no job made meanwhile");

    /* host A's Redis dies; one instance of each service dies */
    h_signal(env.redis_pid, SIGKILL);
    L.kill_ms = clock_real_ms();
    env.redis_pid = 0;
    for (int s = 0; s < NSVC; s++) {
        h_signal(pid_of[s][killed_inst[s]], SIGKILL);
        pid_of[s][killed_inst[s]] = 0;
    }
    printf("tp killed redis primary and %s at referral %d (%d acked while the replica was cut off)\n",
           "intake-1 matcher-1 scheduler-1 survey-2 reporter-2 gateway-2", L.sent, L.acked_in_pause);
    /* host B's Redis replicates, from now on, as every Redis of the
     * deployment does (as the admin): the user it replicated as was the
     * test's way to cut its link, and host A's restarted Redis does not
     * have it — were Sentinel to fail over back to host A (it does, now and
     * then, on a loaded machine: host B answered no PING within
     * down-after-milliseconds just after its promotion), host B could never
     * replicate from it, and no step would be acknowledged again */
    redisContext *b = h_redis_connect_host(&env, hosts[1], env.redis_port, 1);
    assert_non_null(b);
    redisReply *mu = redisCommand(b, "CONFIG SET masteruser admin");
    assert_true(mu && mu->type == REDIS_REPLY_STATUS);
    freeReplyObject(mu);
    redisFree(b);

    /* the load goes on; Sentinel promotes host B's Redis, the test then
     * points its own connection there and restarts host A's (systemd would).
     * The test follows the primary Sentinel names from then on: it may move
     * again (back to host A: failovers= counts the moves). */
    int64_t primary_ms = -1, rejoined_ms = -1, looked_ms = 0;
    int failovers = 0;
    while (L.acked_after < AFTER_ACKS || primary_ms < 0 || rejoined_ms < 0) {
        before_deadline(t_start, primary_ms < 0    ? "waiting for Sentinel to name host B's Redis"
                                 : rejoined_ms < 0 ? "waiting for the primary to have a replica again (WAIT 1)"
                                                   : "waiting for acks after the kill");
        load_step(5);
        if (clock_real_ms() - looked_ms < 50)
            continue;
        looked_ms = clock_real_ms();
        int p = sentinel_primary();
        if (flap == 2 && (p == 0 || clock_real_ms() - paused_ms > 30000)) {
            /* back on host A; or Sentinel found host A's Redis not fit to
             * promote (its last INFO too old), or the Sentinels do not
             * agree: the pause ends after 30 s anyway */
            h_signal(replica_pid, SIGCONT);
            flap = 3;
            printf("tp %s %lld ms after the kill; host B's Redis resumed\n",
                   p == 0 ? "primary back on host A" : "no failover back to host A", (long long)(clock_real_ms() - L.kill_ms));
        }
        if (p < 0 || (primary_ms < 0 && p == 0))
            continue;
        follow_primary(p, &failovers);
        if (primary_ms < 0) {
            primary_ms = clock_real_ms() - L.kill_ms;
            char conf[400];
            snprintf(conf, sizeof conf, "%s/redis/redis.conf", env.dir);
            char *argv[] = { "redis-server", conf, NULL };
            env.redis_pid = h_spawn_cmd(&env, "redis-rejoined", argv);
            assert_true(env.redis_pid > 0);
        }
        if (flap == 1 && p == 0) {
            /* the Sentinels moved back to host A by themselves (a loaded
             * machine): the flap the pause stands for happened */
            flap = 3;
            printf("tp primary back on host A by itself %lld ms after the kill\n", (long long)(clock_real_ms() - L.kill_ms));
        } else if (flap == 1 && p == 1 && clock_real_ms() - L.kill_ms - primary_ms > 500) {
            /* host B's Redis, just promoted, stops answering (a stall of
             * the machine): Sentinel fails over again, to host A's */
            h_signal(replica_pid, SIGSTOP);
            flap = 2;
            paused_ms = clock_real_ms();
            printf("tp host B's Redis paused %lld ms after the kill\n", (long long)(clock_real_ms() - L.kill_ms));
        }
        if (rejoined_ms < 0 && (flap == 0 || flap == 3) && h_redis_int(&env, "WAIT 1 10") == 1)
            rejoined_ms = clock_real_ms() - L.kill_ms;
    }
    L.stop = 1;
    while (L.acked < L.sent) {
        before_deadline(t_start, "waiting for the last acks");
        load_step(20);
    }
    int64_t t_load = clock_real_ms() - t_start;

    /* settled, then nobody changes the state any more */
    audit_ctx_t A = { .h = &env, .t = "42", .refs = acked_refs };
    snprintf(A.spool, sizeof A.spool, "%s/spool", env.dir);
    for (int k = 0; k < L.next; k++) {
        audit_ref_t *r = &acked_refs[A.nrefs++];
        snprintf(r->ext, sizeof r->ext, "HA-%05d", k);
        util_strlcpy(r->rid, L.ref[k].rid, sizeof r->rid);
        util_strlcpy(r->pid, L.ref[k].pid, sizeof r->pid);
    }
    follow_primary(sentinel_primary(), &failovers);
    int unsettled = h_wait_for(&env, audit_settled, &A, DEADLINE_MS) != 0;
    follow_primary(sentinel_primary(), &failovers);
    for (int s = 0; s < NSVC; s++) /* the services; Redis and Sentinel stay */
        for (int i = 0; i < 2; i++)
            if (pid_of[s][i] > 0)
                h_signal(pid_of[s][i], SIGKILL);
    audit_t a;
    audit_run(&A, &a);
    long stolen = sent_twice(), ghosts = ghost_dead_letters();
    printf("tp load: %d referrals in %lld ms, %ld refused (UNAVAILABLE), %ld given up and resent; %ld bookings, "
           "%ld sessions, %ld jobs\n",
           L.sent, (long long)t_load, L.refused, L.given_up, a.bookings, a.sessions, a.jobs);
    printf("COUNTS wait_replicas=%d sent=%d acked=%d lost=%ld doubled=%ld oversold=%ld dead=%ld state_off=%ld "
           "counter_off=%ld double_booked=%ld sms=%ld sms_doubled=%ld sent_twice=%ld figures_off=%ld "
           "acked_while_cut_off=%d superseded_dead=%ld "
           "new_primary_ms=%lld first_ack_after_kill_ms=%lld replica_back_ms=%lld failovers=%d\n",
           wait_on, L.sent, L.acked, a.lost, a.doubled + a.sms_doubled + stolen, a.oversold, a.dead, a.state_off, a.counter_off,
           a.double_booked, a.sms_files, a.sms_doubled, stolen, a.figures_off, L.acked_in_pause, ghosts, (long long)primary_ms,
           (long long)(L.first_ack_after_ms - L.kill_ms), (long long)rejoined_ms, failovers);
    fflush(stdout);
    if (unsettled)
        fprintf(stderr, "not settled: %s\n", A.why);
    assert_int_equal(unsettled, 0);
    /* the run was what it claims */
    assert_true(a.sms_files > 0);
    assert_true(L.acked_after >= AFTER_ACKS);
    /* the promises */
    assert_int_equal(L.acked, L.sent);
    audit_assert_clean(&a);
    assert_int_equal(stolen, 0);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ack_latency_with_and_without_wait),
        cmocka_unit_test(failover_under_load_loses_nothing_acknowledged),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("ha", tests, setup, teardown);
}
