/* Every service, as started for real: connects to Redis as its own ACL user
 * with its function library, answers Ping, answers bad frames with a stable
 * code and keeps serving, reloads on SIGHUP, drains and exits 0 on SIGTERM
 * (a second SIGTERM exits at once), and comes back after Redis restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <zmq.h>

#include "harness.h"
#include "sock.h"

static const char *const services[] = { "intake", "matcher", "scheduler", "survey", "reporter" };
static h_env_t env;
static pid_t pids[5];

static int setup(void **state)
{
    if (h_group_setup(state) != 0)
        return -1;
    for (int i = 0; i < 5; i++)
        pids[i] = h_start(&env, services[i], NULL, NULL);
    for (int i = 0; i < 5; i++)
        if (h_service_ready(&env, services[i], 20000) != 0) {
            fprintf(stderr, "%s not ready\n", services[i]);
            return -1;
        }
    return 0;
}

static Tremplin__Envelope *ping(const char *svc)
{
    char ep[64];
    h_service_endpoint(&env, svc, ep, sizeof ep);
    return h_ping(&env, ep);
}

static void each_service_answers_ping_as_its_acl_user(void **state)
{
    (void)state;
    redisReply *clients = h_redis(&env, "CLIENT LIST");
    assert_non_null(clients);
    redisReply *libs = h_redis(&env, "FUNCTION LIST");
    assert_non_null(libs);
    for (int i = 0; i < 5; i++) {
        Tremplin__Envelope *r = ping(services[i]);
        assert_non_null(r);
        assert_int_equal(r->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_PONG);
        assert_string_equal(r->pong->service, services[i]);
        assert_string_equal(r->pong->nonce, "h-ping");
        assert_true(r->pong->redis_ok);
        wire_free(r, NULL);
        char user[64], lib[64];
        snprintf(user, sizeof user, "user=%s ", services[i]);
        assert_non_null(strstr(clients->str, user));
        snprintf(lib, sizeof lib, "%s_v1", services[i]);
        int found = 0;
        for (size_t k = 0; k < libs->elements; k++)
            for (size_t j = 0; j + 1 < libs->element[k]->elements; j += 2)
                if (!strcmp(libs->element[k]->element[j]->str, "library_name")
                    && !strcmp(libs->element[k]->element[j + 1]->str, lib))
                    found = 1;
        assert_true(found);
    }
    freeReplyObject(clients);
    freeReplyObject(libs);
}

/* Logs in as USER (its password file) on a connection of its own. */
static redisContext *login_as(const char *user)
{
    char pass[128] = "";
    h_read_secret(&env, user, pass, sizeof pass);
    redisContext *c = h_redis_connect_to(&env, env.redis_port, 0);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "AUTH %s %s", user, pass);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    return c;
}

/* 1 when Redis ran the command, 0 when it refused it with NOPERM. */
static int allowed(redisContext *c, const char *user, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    assert_non_null(r);
    int ok = r->type != REDIS_REPLY_ERROR;
    if (!ok && !strstr(r->str, "NOPERM"))
        fail_msg("%s: %s: %s", user, cmd, r->str);
    freeReplyObject(r);
    return ok;
}

/* The instance's files are private to the user that runs it: the AOF holds
 * names and phone numbers, secrets/ the passwords and the id key. Checked on
 * files Redis writes now (a rewrite makes a new AOF base and increment). */
static int rewrite_done(h_env_t *h, void *arg)
{
    (void)arg;
    redisReply *r = h_redis(h, "INFO persistence");
    int done = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "aof_rewrite_in_progress:0") && strstr(r->str, "aof_rewrite_scheduled:0");
    if (r)
        freeReplyObject(r);
    return done;
}

/* What each ACL user of deploy/setup.sh may do, tried for real: its own keys,
 * another service's keys (also through a name crafted to end like its own:
 * the key patterns are anchored on the territory), the contact store (only
 * intake, its owner, and the gateway, read-only, which sends the messages),
 * listing key names (SCAN, RANDOMKEY: no key argument, so no pattern limits
 * them), dangerous commands, and loading code that would run with another
 * service's rights. */
static void acl_each_user_reaches_only_its_keys(void **state)
{
    (void)state;
    static const struct {
        const char *user;
        int reads_contacts, rewrites_aof;
    } users[] = { { "intake", 1, 1 }, { "matcher", 0, 0 }, { "scheduler", 0, 1 }, { "survey", 0, 1 },
                  { "reporter", 0, 0 }, { "gateway", 1, 1 } };
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        const char *u = users[i].user;
        const char *other = strcmp(u, "scheduler") ? "scheduler" : "matcher";
        redisContext *c = login_as(u);
        char cmd[200];
        snprintf(cmd, sizeof cmd, "SET tp:{42}:%s:acl-test 1", u);
        assert_true(allowed(c, u, cmd));
        snprintf(cmd, sizeof cmd, "DEL tp:{42}:%s:acl-test", u);
        assert_true(allowed(c, u, cmd));
        snprintf(cmd, sizeof cmd, "SET tp:{42}:%s:x 1", other);
        assert_false(allowed(c, u, cmd));
        snprintf(cmd, sizeof cmd, "GET tp:{42}:%s:x", other);
        assert_false(allowed(c, u, cmd));
        snprintf(cmd, sizeof cmd, "SET tp:{42}:%s:zz:%s:y 1", other, u);
        assert_false(allowed(c, u, cmd));
        assert_int_equal(allowed(c, u, "GET tp:{42}:intake:contact:x"), users[i].reads_contacts);
        if (strcmp(u, "intake") != 0)
            assert_false(allowed(c, u, "SET tp:{42}:intake:contact:x 1"));
        assert_false(allowed(c, u, "SCAN 0"));
        assert_false(allowed(c, u, "RANDOMKEY"));
        assert_false(allowed(c, u, "KEYS *"));
        assert_false(allowed(c, u, "FLUSHALL"));
        assert_false(allowed(c, u, "CONFIG SET appendonly no"));
        /* the AOF rewrite after a purge: only the services that delete
         * personal data (one at a time: a rewrite running says so) */
        assert_int_equal(h_wait_for(&env, rewrite_done, NULL, 20000), 0);
        assert_int_equal(allowed(c, u, "BGREWRITEAOF"), users[i].rewrites_aof);
        /* nor load code that would run with another service's rights */
        redisReply *r = redisCommand(c, "FUNCTION LOAD REPLACE %s",
                                     "#!lua name=matcher_v1\nredis.register_function('x', function() end)");
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        assert_non_null(strstr(r->str, "NOPERM"));
        freeReplyObject(r);
        redisFree(c);
    }
    /* the operator (the tool) reads what it shows, writes only dead letters
     * and outboxes (outbox retry | drop), and may rewrite the AOF after an
     * erasure: a seat counter, a booking, a figure are the services' alone */
    redisContext *c = login_as("operator");
    assert_true(allowed(c, "operator", "HGET tp:{42}:scheduler:session:x taken"));
    assert_true(allowed(c, "operator", "GET tp:{42}:intake:contact:x"));
    assert_true(allowed(c, "operator", "XDEL tp:{42}:matcher:dead 0-1"));
    assert_true(allowed(c, "operator", "XTRIM tp:{42}:matcher:outbox MAXLEN 100000000")); /* a write, a no-op */
    static const char *const op_denied[] = { "HSET tp:{42}:scheduler:session:x taken 0",
                                             "HINCRBY tp:{42}:intake:fig:total referrals 1",
                                             "DEL tp:{42}:scheduler:booking:x", "SET tp:{42}:intake:contact:x 1",
                                             "SET tp:{42}:matcher:dead:x:outbox 1" };
    for (size_t i = 0; i < sizeof op_denied / sizeof op_denied[0]; i++)
        if (allowed(c, "operator", op_denied[i]))
            fail_msg("the operator user may run: %s", op_denied[i]);
    assert_int_equal(h_wait_for(&env, rewrite_done, NULL, 20000), 0);
    assert_true(allowed(c, "operator", "BGREWRITEAOF"));
    redisFree(c);
    assert_int_equal(h_wait_for(&env, rewrite_done, NULL, 20000), 0);
    /* the audit trail (common/bus.lua): written by the services, read by
     * the tool's operator user, which may neither add to it (an XADD may
     * trim: MAXLEN 0), trim, delete nor rename it */
    c = login_as("intake");
    assert_true(allowed(c, "intake", "XADD audit:{42} * op acl-test kind write action probe subject x"));
    redisFree(c);
    c = login_as("operator");
    assert_true(allowed(c, "operator", "XRANGE audit:{42} - +"));
    static const char *const denied[] = { "XADD audit:{42} * op forged kind read action x subject y",
                                          "XADD audit:{42} MAXLEN 0 * op x kind y action z subject w",
                                          "XTRIM audit:{42} MAXLEN 0", "XDEL audit:{42} 0-1", "DEL audit:{42}",
                                          "UNLINK audit:{42}", "RENAME audit:{42} tp:{42}:gone",
                                          "EXPIRE audit:{42} 1", "XGROUP CREATE audit:{42} g $" };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
        if (allowed(c, "operator", denied[i]))
            fail_msg("the operator user may run: %s", denied[i]);
    redisFree(c);
    assert_int_equal(h_redis_int(&env, "XLEN audit:{42}"), 1);
}

static void check_private(const char *path, int *count)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    if (st.st_mode & 077)
        fail_msg("%s is mode %03o: readable by others", path, (unsigned)(st.st_mode & 0777));
    (*count)++;
    if (!S_ISDIR(st.st_mode))
        return;
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        check_private(sub, count);
    }
    closedir(d);
}

static void instance_files_are_private(void **state)
{
    (void)state;
    redisReply *r = h_redis(&env, "BGREWRITEAOF");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(h_wait_for(&env, rewrite_done, NULL, 20000), 0);
    static const char *const parts[] = { "", "/redis", "/secrets", "/spool", "/tremplin.conf" };
    int count = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", env.dir, parts[i]);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        if (st.st_mode & 077)
            fail_msg("%s is mode %03o: readable by others", p, (unsigned)(st.st_mode & 0777));
    }
    char redis_dir[600];
    snprintf(redis_dir, sizeof redis_dir, "%s/redis", env.dir);
    check_private(redis_dir, &count);
    snprintf(redis_dir, sizeof redis_dir, "%s/secrets", env.dir);
    check_private(redis_dir, &count);
    assert_true(count > 5);
}

/* Sends raw frames to intake's ROUTER and returns the Error code answered. */
static void raw_error(const void *data, size_t len, char *code, size_t cap)
{
    char ep[64];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    Tremplin__Envelope *r = h_raw_call(&env, ep, data, len);
    code[0] = '\0';
    if (r && r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR)
        util_strlcpy(code, r->error->code, cap);
    wire_free(r, NULL);
}

static void bad_frames_get_stable_codes_and_service_goes_on(void **state)
{
    (void)state;
    char code[64];
    raw_error("", 0, code, sizeof code);
    assert_string_equal(code, "EMPTY_MESSAGE");
    raw_error("\xff\xff\xff\xff garbage", 13, code, sizeof code);
    assert_string_equal(code, "MALFORMED_MESSAGE");

    static uint8_t big[70000];
    memset(big, 0x41, sizeof big);
    raw_error(big, sizeof big, code, sizeof code);
    assert_string_equal(code, "MESSAGE_TOO_LARGE");

    wire_buf_t b = { 0 };
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    e.msg_id = "abc";
    e.territory = "42"; /* no payload: a newer peer's message */
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, "UNSUPPORTED");

    b.len = 0;
    Tremplin__Ping p = TREMPLIN__PING__INIT;
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
    e.ping = &p;
    e.territory = "}{bad";
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, "INVALID_HEADER");

    b.len = 0;
    Tremplin__Probe pr = TREMPLIN__PROBE__INIT;
    pr.key = "k";
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    e.probe = &pr;
    e.territory = "99"; /* well formed, but not served here */
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, "UNKNOWN_TERRITORY");

    /* schema_version: 0 (not stated) reads as 1; a newer one is refused,
     * also with a payload this build does not know */
    b.len = 0;
    e.territory = "42";
    e.schema_version = 0;
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, ""); /* acked */
    b.len = 0;
    e.schema_version = WIRE_SCHEMA_VERSION + 1;
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, "UNSUPPORTED_VERSION");
    b.len = 0;
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD__NOT_SET;
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, "UNSUPPORTED_VERSION");
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    e.schema_version = 0;

    b.len = 0; /* a probe routed to a service this deployment does not have */
    char *nowhere[] = { "nowhere" };
    pr.route = nowhere;
    pr.n_route = 1;
    e.territory = "42";
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, "INVALID_FIELD");

    b.len = 0;
    Tremplin__SubmitSurvey sv = TREMPLIN__SUBMIT_SURVEY__INIT;
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY; /* not intake's */
    e.submit_survey = &sv;
    e.territory = "42";
    wire_pack(&e, &b);
    raw_error(b.data, b.len, code, sizeof code);
    assert_string_equal(code, "UNSUPPORTED");
    wire_buf_free(&b);

    Tremplin__Envelope *r = ping("intake");
    assert_non_null(r);
    assert_int_equal(r->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_PONG);
    wire_free(r, NULL);
}

static const char *probe_code(const char *territory) { return h_probe(&env, "matcher", territory, NULL, "reload"); }

/* Every service's idempotency mark remembers what it answered for: the same
 * msg_id again is a replay, the same msg_id with other content a CONFLICT
 * (never the first command's answer), and the other content is not run. */
static void a_msg_id_reused_for_other_content_is_a_conflict(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        char id[TP_ID_LEN + 1], key[64];
        util_random_id(id);
        snprintf(key, sizeof key, "reuse-%s", services[i]);
        assert_string_equal(h_probe(&env, services[i], "42", id, key), "ACK");
        assert_string_equal(h_probe(&env, services[i], "42", id, key), "ACK-DUP");
        assert_string_equal(h_probe(&env, services[i], "42", id, "reuse-other"), "CONFLICT");
        assert_int_equal(h_redis_int(&env, "HGET tp:{42}:%s:probe:seen %s", services[i], key), 1);
        assert_int_equal(h_redis_int(&env, "HGET tp:{42}:%s:probe:seen reuse-other", services[i]), 0);
    }
}

static int probe_acked_in_69(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return strcmp(probe_code("69"), "ACK") == 0;
}

static void sighup_reloads_configuration(void **state)
{
    (void)state;
    assert_string_equal(probe_code("69"), "UNKNOWN_TERRITORY");
    assert_int_equal(h_conf_set(&env, "bus", "territories", "42,69"), 0);
    h_signal(pids[1], SIGHUP);
    assert_int_equal(h_wait_for(&env, probe_acked_in_69, NULL, 10000), 0);
    assert_int_equal(h_redis_int(&env, "HGET tp:{69}:matcher:probe:seen reload"), 1);
}

static void redis_restart_is_survived(void **state)
{
    (void)state;
    assert_int_equal(h_redis_restart(&env, SIGKILL), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(h_service_ready(&env, services[i], 20000), 0);
    /* the function library is there again (functions persist in the AOF) */
    assert_string_equal(probe_code("42"), "ACK");
}

static void sigterm_drains_and_exits_zero(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        int status = 0;
        h_signal(pids[i], SIGTERM);
        assert_int_equal(h_wait_exit(pids[i], 20000, &status), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void second_sigterm_exits_at_once(void **state)
{
    (void)state;
    /* intake with an outbox entry for a matcher that is not running: the
     * first SIGTERM waits for it (drain), the second one does not wait */
    const char *e[] = { "TREMPLIN_BUS_DRAIN_MS=60000", NULL };
    pid_t intake = h_start_ready(&env, "intake", "intake-drain", e, 20000);
    assert_true(intake > 0);
    char ep[64];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Probe p = TREMPLIN__PROBE__INIT;
    char *route[] = { "matcher" };
    p.key = "drain";
    p.route = route;
    p.n_route = 1;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    req.probe = &p;
    req.territory = "42";
    Tremplin__Envelope *r = h_call(&env, ep, &req);
    assert_non_null(r);
    assert_int_equal(r->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_ACK);
    wire_free(r, NULL);

    int status = 0;
    h_signal(intake, SIGTERM);
    assert_int_equal(h_wait_exit(intake, 500, &status), -1); /* still draining */
    h_signal(intake, SIGTERM);
    assert_int_equal(h_wait_exit(intake, 5000, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    /* the unacked entry stays in the outbox for the next start */
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:intake:outbox"), 1);
}

static int survey_says_not_this_build(h_env_t *h, void *arg)
{
    (void)arg;
    return h_log_has(h, "survey-old-lib", "not this build");
}

/* A service refuses a function library that is not its own code (a change
 * without a version bump, a forgotten reload) and says what to do; after
 * `tremplin functions load` it comes up. */
static void a_stale_function_library_is_refused(void **state)
{
    (void)state;
    redisReply *r = h_redis(&env, "FUNCTION LOAD REPLACE %s",
                            "#!lua name=survey_v1\nredis.register_function('survey_v1_old', function() return 1 end)");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    pid_t survey = h_start(&env, "survey", "survey-old-lib", NULL);
    assert_int_equal(h_wait_for(&env, survey_says_not_this_build, NULL, 20000), 0);
    char out[2048];
    assert_int_equal(h_cli(&env, out, sizeof out, "functions load"), 0);
    assert_int_equal(h_service_ready(&env, "survey", 30000), 0);
    h_signal(survey, SIGKILL);
}

static void config_set(const char *param, const char *value)
{
    redisReply *r = h_redis(&env, "CONFIG SET %s %s", param, value);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

/* A Redis without AOF would lose what services acknowledged at its next
 * restart: a service refuses to start on one (exit 1, with the reason in its
 * log) unless [redis] require_aof = no; ping shows the persistence state each
 * service sees, and a service that requires AOF is KO while it is off. */
static void redis_without_aof_is_refused_and_shown(void **state)
{
    (void)state;
    h_kill_services(&env); /* this test's own, whatever ran before */
    pid_t intake = h_start_ready(&env, "intake", "intake-aof", NULL, 20000);
    assert_true(intake > 0);
    assert_int_equal(h_wait_cli(&env, "ping intake", 0, "aof=on aof_write=ok aof_rewrite=ok loading=non", 20000), 0);

    config_set("appendonly", "no"); /* now a Redis without AOF, as if started with appendonly no */
    assert_int_equal(h_wait_cli(&env, "ping intake", 1, "Redis tourne sans AOF", 20000), 0);
    assert_int_equal(h_wait_cli(&env, "ping intake", 1, "intake     KO ", 20000), 0);

    int status = 0;
    pid_t refused = h_start(&env, "matcher", "matcher-noaof", NULL);
    assert_int_equal(h_wait_exit(refused, 20000, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_true(h_log_has(&env, "matcher-noaof", "start_failed"));
    assert_true(h_log_has(&env, "matcher-noaof", "runs without AOF"));
    h_log_tail(&env, "matcher-noaof", 1);

    /* deliberately non-persistent: it starts, and says AOF is off */
    const char *dev[] = { "TREMPLIN_REDIS_REQUIRE_AOF=no", NULL };
    pid_t matcher = h_start_ready(&env, "matcher", "matcher-dev", dev, 20000);
    assert_true(matcher > 0);
    assert_int_equal(h_wait_cli(&env, "ping matcher", 0, "aof=off", 20000), 0);

    config_set("appendonly", "yes");
    assert_int_equal(h_wait_cli(&env, "ping intake", 0, "aof=on aof_write=ok", 20000), 0);
    h_signal(matcher, SIGKILL);
    h_signal(intake, SIGKILL);
}

/* What an operator gets wrong in the configuration stops a service at once
 * (exit 1) with the file, the line and the reason, instead of a service that
 * runs on defaults or retries forever: a misspelt section, an empty file, a
 * password file that is not there, no file at all. */
static int exited_with_reason(const char *label, const char *conf_text, const char *conf_env, const char *needle)
{
    char path[400], envv[450];
    snprintf(path, sizeof path, "%s/%s.conf", env.dir, label);
    if (conf_text && h_write_file(path, conf_text) != 0)
        return -1;
    snprintf(envv, sizeof envv, "TREMPLIN_CONF=%s", conf_env ? conf_env : path);
    const char *e[] = { envv, NULL };
    pid_t pid = h_start(&env, "matcher", label, e);
    int status = 0;
    if (h_wait_exit(pid, 10000, &status) != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 1
        || !h_log_has(&env, label, needle)) {
        fprintf(stderr, "%s: expected exit 1 and \"%s\"\n", label, needle);
        h_log_tail(&env, label, 5);
        return -1;
    }
    h_log_tail(&env, label, 1);
    return 0;
}

static void configuration_mistakes_stop_a_service_with_the_reason(void **state)
{
    (void)state;
    h_kill_services(&env); /* the matcher's address free for the attempts */
    static char text[32768], bad[33000];
    FILE *f = fopen(env.conf, "r");
    assert_non_null(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    /* [redis] misspelt: named with its own line */
    char *at = strstr(text, "[redis]");
    assert_non_null(at);
    int line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    snprintf(bad, sizeof bad, "%.*s[reddis]%s", (int)(at - text), text, at + 7);
    char needle[600];
    snprintf(needle, sizeof needle, "conf-reddis.conf:%d: unknown section [reddis]", line);
    assert_int_equal(exited_with_reason("conf-reddis", bad, NULL, needle), 0);
    /* an empty file, or one of comments only */
    assert_int_equal(exited_with_reason("conf-empty", "; nothing yet\n", NULL, "no setting in the file"), 0);
    /* a password file that is not there: said at once, not retried forever */
    at = strstr(text, "password_file = ");
    assert_non_null(at);
    snprintf(bad, sizeof bad, "%.*spassword_file = %s/nowhere/%%s.pass%s", (int)(at - text), text, env.dir,
             strchr(at, '\n'));
    assert_int_equal(exited_with_reason("conf-nopass", bad, NULL, "cannot read the password file of Redis user 'matcher'"),
                     0);
    /* no file at all: not defaults (Redis on 6379) */
    assert_int_equal(exited_with_reason("conf-none", NULL, "", "no configuration file"), 0);
}

/* While Redis loads its data after a restart, a service says so, not that its
 * function library is missing ("run tremplin functions load"): the data is
 * made large enough, and each key slow enough to load (key-load-delay), for
 * the services to try to connect meanwhile. */
static void redis_loading_is_said_as_such(void **state)
{
    (void)state;
    h_kill_services(&env);
    pid_t intake = h_start_ready(&env, "intake", "intake-loading", NULL, 20000);
    assert_true(intake > 0);
    redisReply *r = h_redis(&env, "EVAL %s 0",
                            "for i = 1, 30000 do redis.call('SET', 'tp:{42}:loadtest:' .. i, 'x') end return 1");
    assert_non_null(r);
    freeReplyObject(r);
    r = h_redis(&env, "BGREWRITEAOF"); /* the keys into the AOF's base, which loads key by key */
    assert_non_null(r);
    freeReplyObject(r);
    for (int i = 0; i < 200 && h_redis_int(&env, "EVAL %s 0", "return tonumber(string.match(redis.call('INFO', "
                                                              "'persistence'), 'aof_rewrite_in_progress:(%d)'))") != 0;
         i++)
        nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
    char rconf[400];
    snprintf(rconf, sizeof rconf, "%s/redis/redis.conf", env.dir);
    FILE *f = fopen(rconf, "a");
    assert_non_null(f);
    /* µs a key: 30 000 keys, some 4 s; and clients served every KiB meanwhile */
    fputs("key-load-delay 150\nloading-process-events-interval-bytes 1024\n", f);
    fclose(f);
    int missing = h_log_count(&env, "intake-loading", "is missing or not this build's"),
        aof = h_log_count(&env, "intake-loading", "runs without AOF");
    assert_int_equal(h_redis_restart(&env, SIGKILL), 0);
    assert_int_equal(h_service_ready(&env, "intake", 20000), 0);
    assert_true(h_log_count(&env, "intake-loading", "still loading its data") >= 1);
    assert_int_equal(h_log_count(&env, "intake-loading", "is missing or not this build's"), missing);
    assert_int_equal(h_log_count(&env, "intake-loading", "runs without AOF"), aof);
    h_log_tail(&env, "intake-loading", 3);
    h_signal(intake, SIGKILL);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_service_answers_ping_as_its_acl_user),
        cmocka_unit_test(acl_each_user_reaches_only_its_keys),
        cmocka_unit_test(instance_files_are_private),
        cmocka_unit_test(bad_frames_get_stable_codes_and_service_goes_on),
        cmocka_unit_test(a_msg_id_reused_for_other_content_is_a_conflict),
        cmocka_unit_test(sighup_reloads_configuration),
        cmocka_unit_test(redis_restart_is_survived),
        cmocka_unit_test(sigterm_drains_and_exits_zero),
        cmocka_unit_test(second_sigterm_exits_at_once),
        cmocka_unit_test(a_stale_function_library_is_refused),
        cmocka_unit_test(redis_without_aof_is_refused_and_shown),
        cmocka_unit_test(configuration_mistakes_stop_a_service_with_the_reason),
        cmocka_unit_test(redis_loading_is_said_as_such),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("services", tests, setup, h_group_teardown);
}
