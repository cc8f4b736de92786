/* Redis Sentinel: a service configured with [redis] sentinels and master
 * finds the primary through Sentinel, and when the primary dies (kill -9)
 * and Sentinel promotes the replica, it asks Sentinel again, reconnects to
 * the new primary as its own ACL user and goes on acknowledging commands.
 *
 * The instance's redis-server is the primary; the test adds a replica
 * (its own data directory, same ACL file) and one Sentinel (quorum 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

#define REPLICA_OFF 20  /* base + 20: free, h_pick_ports checks base..base+30 */
#define SENTINEL_OFF 21
#define DEADLINE_MS 30000

static h_env_t env;
static char admin_pass[128];
static int replica_port, sentinel_port;
static redisContext *replica; /* admin connection to the replica */

/* A command on the replica as admin, reconnecting when needed. */
static redisReply *replica_cmd(const char *fmt, ...)
{
    if (!replica && !(replica = h_redis_connect_to(&env, replica_port, 1)))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(replica, fmt, ap);
    va_end(ap);
    if (!r) {
        redisFree(replica);
        replica = NULL;
    }
    return r;
}

/* Whether the replica's INFO section contains what. */
static int replica_info_has(const char *section, const char *what)
{
    redisReply *r = replica_cmd("INFO %s", section);
    int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, what);
    if (r)
        freeReplyObject(r);
    return ok;
}

static int replica_in_sync(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return replica_info_has("replication", "master_link_status:up");
}

static int replica_is_primary(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return replica_info_has("replication", "role:master");
}

/* Sentinel's answer to cmd, or NULL. */
static redisReply *sentinel_cmd(const char *cmd)
{
    redisContext *s = h_redis_connect_to(&env, sentinel_port, 0);
    if (!s)
        return NULL;
    redisReply *r = redisCommand(s, cmd);
    redisFree(s);
    return r;
}

/* Sentinel has found the replica (in the primary's INFO) and reaches it. */
static int sentinel_knows_replica(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    redisReply *r = sentinel_cmd("SENTINEL replicas tremplin");
    int ok = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *fields = r->element[i];
        for (size_t k = 0; fields->type == REDIS_REPLY_ARRAY && k + 1 < fields->elements; k += 2)
            if (strcmp(fields->element[k]->str, "flags") == 0 && strcmp(fields->element[k + 1]->str, "slave") == 0)
                ok = 1;
    }
    if (r)
        freeReplyObject(r);
    return ok;
}

/* Sentinel names the replica as the primary now. */
static int sentinel_names_replica(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    redisReply *r = sentinel_cmd("SENTINEL get-master-addr-by-name tremplin");
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING
             && atoi(r->element[1]->str) == replica_port;
    if (r)
        freeReplyObject(r);
    return ok;
}

/* The replica has acknowledged every write the primary has made so far. */
static int replica_caught_up(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "WAIT 1 1000") == 1;
}

static pid_t start_replica(void)
{
    char extra[512];
    snprintf(extra, sizeof extra, "replicaof 127.0.0.1 %d\nmasteruser admin\nmasterauth %s\n", env.redis_port,
             admin_pass);
    return h_redis_spawn(&env, "replica", "127.0.0.1", replica_port, extra);
}

static pid_t start_sentinel(void)
{
    char dir[400], conf[420], text[2048];
    snprintf(dir, sizeof dir, "%s/sentinel", env.dir);
    if (mkdir(dir, 0700) != 0)
        return -1;
    /* Sentinel rewrites its file: it must be its own and writable */
    snprintf(conf, sizeof conf, "%s/sentinel.conf", dir);
    snprintf(text, sizeof text,
             "bind 127.0.0.1\n"
             "port %d\n"
             "dir %s\n"
             "daemonize no\n"
             "logfile \"\"\n"
             "sentinel monitor tremplin 127.0.0.1 %d 1\n"
             "sentinel auth-user tremplin admin\n"
             "sentinel auth-pass tremplin %s\n"
             "sentinel down-after-milliseconds tremplin 1000\n"
             "sentinel failover-timeout tremplin 10000\n"
             "sentinel parallel-syncs tremplin 1\n",
             sentinel_port, dir, env.redis_port, admin_pass);
    if (h_write_file(conf, text) != 0)
        return -1;
    char *argv[] = { "redis-server", conf, "--sentinel", NULL };
    return h_spawn_cmd(&env, "sentinel", argv);
}

static int setup(void **state)
{
    if (h_group_setup(state) != 0 || h_read_secret(&env, "admin", admin_pass, sizeof admin_pass) != 0)
        return -1;
    replica_port = env.base_port + REPLICA_OFF;
    sentinel_port = env.base_port + SENTINEL_OFF;
    /* a diskless full sync waits 5 s for more replicas by default */
    redisReply *r = h_redis(&env, "CONFIG SET repl-diskless-sync-delay 0");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (!ok)
        return -1;
    if (start_replica() < 0 || h_wait_for(&env, replica_in_sync, NULL, DEADLINE_MS) != 0) {
        fprintf(stderr, "replica not in sync on port %d\n", replica_port);
        return -1;
    }
    /* Sentinel learns the replicas from the primary's INFO, read at once on
     * start and then every 10 s: start it once the replica is attached */
    if (start_sentinel() < 0 || h_wait_for(&env, sentinel_knows_replica, NULL, DEADLINE_MS) != 0) {
        fprintf(stderr, "sentinel on port %d does not know the replica\n", sentinel_port);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    if (replica)
        redisFree(replica);
    replica = NULL;
    return h_group_teardown(state);
}

static const char *probe_code_at(const char *svc, const char *key)
{
    const char *a = h_probe(&env, svc, "42", NULL, key);
    return strcmp(a, "ACK-DUP") ? a : "ACK";
}

static const char *probe_code(const char *key) { return probe_code_at("matcher", key); }

static int probe_acked(h_env_t *h, void *arg)
{
    (void)h;
    return strcmp(probe_code(arg), "ACK") == 0;
}

static void service_finds_the_primary_through_sentinel(void **state)
{
    (void)state;
    char sentinels[96];
    snprintf(sentinels, sizeof sentinels, "TREMPLIN_REDIS_SENTINELS=127.0.0.1:%d", sentinel_port);
    /* [redis] port still names the primary: point it at nothing, so only
     * Sentinel can have led the matcher there. The reconnect backoff is
     * capped lower than the default 5 s only to keep the test short. */
    const char *e[] = { sentinels, "TREMPLIN_REDIS_MASTER=tremplin", "TREMPLIN_REDIS_PORT=1",
                        "TREMPLIN_REDIS_BACKOFF_MAX_MS=1000", NULL };
    pid_t matcher = h_start_ready(&env, "matcher", NULL, e, DEADLINE_MS);
    assert_true(matcher > 0);
    assert_string_equal(probe_code("before"), "ACK");
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:matcher:probe:seen before"), 1);
}

/* With [redis] wait_replicas, a step is acked only once a replica has it
 * (WAIT): what the caller saw acked survives a failover. With more replicas
 * wanted than there are, the answer is UNAVAILABLE (retryable) instead. */
static void acked_only_once_replicated(void **state)
{
    (void)state;
    const char *one[] = { "TREMPLIN_REDIS_WAIT_REPLICAS=1", "TREMPLIN_INTAKE_BRANCH_BIND=", NULL };
    pid_t intake = h_start_ready(&env, "intake", "intake-wait1", one, DEADLINE_MS);
    assert_true(intake > 0);
    assert_string_equal(probe_code_at("intake", "replicated"), "ACK");
    /* no waiting here: the ack came after the replica had it */
    redisReply *r = replica_cmd("HGET tp:{42}:intake:probe:seen replicated");
    assert_non_null(r);
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    h_signal(intake, SIGKILL);

    const char *two[] = { "TREMPLIN_REDIS_WAIT_REPLICAS=2", "TREMPLIN_REDIS_WAIT_TIMEOUT_MS=200",
                          "TREMPLIN_INTAKE_BRANCH_BIND=", NULL };
    intake = h_start_ready(&env, "intake", "intake-wait2", two, DEADLINE_MS);
    assert_true(intake > 0);
    assert_string_equal(probe_code_at("intake", "unsafe"), "UNAVAILABLE");
    h_signal(intake, SIGKILL);
}

static void expect_on_replica(const char *cmd, const char *value)
{
    redisReply *r = replica_cmd(cmd);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, value);
    freeReplyObject(r);
}

static void failover_is_followed(void **state)
{
    (void)state;
    /* Replication is asynchronous: what the primary acknowledged in the last
     * moments before it died may never reach the replica (here the matcher's
     * first writes: its outbox group and the first probe). Failing over
     * loses those; this test is about following the failover, so wait until
     * the replica has everything first. */
    assert_int_equal(h_wait_for(&env, replica_caught_up, NULL, DEADLINE_MS), 0);
    h_signal(env.redis_pid, SIGKILL);
    env.redis_pid = 0;
    assert_int_equal(h_wait_for(&env, replica_is_primary, NULL, DEADLINE_MS), 0);
    assert_int_equal(h_wait_for(&env, sentinel_names_replica, NULL, DEADLINE_MS), 0);

    /* the matcher may not have seen its connection die yet: a probe answered
     * with an error before it reconnects writes nothing, so retry until acked */
    assert_int_equal(h_service_ready(&env, "matcher", DEADLINE_MS), 0);
    assert_int_equal(h_wait_for(&env, probe_acked, "after", DEADLINE_MS), 0);

    /* the step was written once, on the new primary, where the earlier one
     * was replicated; the matcher logged in there as its own ACL user */
    expect_on_replica("HGET tp:{42}:matcher:probe:seen after", "1");
    expect_on_replica("HGET tp:{42}:matcher:probe:seen before", "1");
    redisReply *r = replica_cmd("CLIENT LIST");
    assert_non_null(r);
    assert_non_null(strstr(r->str, "user=matcher "));
    freeReplyObject(r);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_finds_the_primary_through_sentinel),
        cmocka_unit_test(acked_only_once_replicated),
        cmocka_unit_test(failover_is_followed),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("sentinel", tests, setup, teardown);
}
