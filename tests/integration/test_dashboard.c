/* The dashboard in a real browser, from the running stack: intake, the
 * matcher, the scheduler and the reporter; simulated branches refer people,
 * a morning session is held and attendance marked, then Debian's chromium
 * (driven by tests/browser/dashboard.mjs through playwright-core) loads the
 * page, checks every figure drawn against /api/kpi, submits a referral and
 * must see it on the page before a deadline, and saves a screenshot in the
 * build directory (TP_SCREENSHOT=docs/dashboard.png refreshes the README's
 * picture: a test run leaves the tree as it was).
 *
 * When chromium, node or playwright-core is not installed (deploy/deps.sh,
 * `make browser-deps`), the test is skipped — loudly, with what is missing,
 * never passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static h_env_t env;
static pid_t pids[4]; /* scheduler matcher intake reporter */
static const char *const names[] = { "scheduler", "matcher", "intake", "reporter" };

/* The business clock moves: every service takes it (SIGHUP). */
static int move_clock(const char *iso)
{
    if (h_set_clock(&env, iso) != 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (h_reload(&env, pids[i], names[i], 20000) != 0)
            return -1;
    return 0;
}

/* Attendance in every session started by now: seen, one person in five
 * absent. */
static void mark_held_sessions(long long now_ms)
{
    redisReply *s = h_redis(&env, "ZRANGEBYSCORE tp:{42}:scheduler:fig:sessions -inf %lld", now_ms);
    char out[4096], cmd[512];
    int k = 0;
    for (size_t i = 0; s && i < s->elements; i++) {
        redisReply *r = h_redis(&env, "HKEYS tp:{42}:scheduler:roster:%s", s->element[i]->str);
        for (size_t j = 0; r && j < r->elements; j++) {
            snprintf(cmd, sizeof cmd, "attendance %s %s %s --trainer t1", s->element[i]->str, r->element[j]->str,
                     ++k % 5 == 0 ? "noshow" : "seen");
            if (h_cli(&env, out, sizeof out, cmd) != 0 && k < 4) /* a booking declined or moved is refused */
                fprintf(stderr, "%s: %s", cmd, out);
        }
        if (r)
            freeReplyObject(r);
    }
    fprintf(stderr, "tp held sessions: %zu, marks: %d\n", s ? s->elements : 0, k);
    if (s)
        freeReplyObject(s);
}

static int sessions_open(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "EXISTS tp:{42}:scheduler:session:20261130-0930-wilson-initiation") == 1;
}

/* The referrals sent so far have reached the scheduler: intake's and the
 * matcher's outboxes empty. */
static int relayed(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "XLEN tp:{42}:intake:outbox") == 0 && h_redis_int(h, "XLEN tp:{42}:matcher:outbox") == 0;
}

static int placed(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "XLEN tp:{42}:intake:outbox") == 0 && h_redis_int(h, "XLEN tp:{42}:matcher:outbox") == 0
           && h_redis_int(h, "HLEN tp:{42}:scheduler:roster:20261130-0930-wilson-initiation") > 0;
}

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    char out[4096];
    if (h_setup(&env) != 0 || h_set_clock(&env, "2026-11-23T06:00:00Z") != 0)
        return -1;
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    for (int i = 0; i < 4; i++)
        if ((pids[i] = h_start_ready(&env, names[i], NULL, i == 0 ? fast : NULL, 30000)) < 0)
            return -1;
    /* two weeks: referrals from three simulated branches each Monday, the
     * sessions of the first week held and attendance marked */
    if (h_cli(&env, out, sizeof out, "simulate --branches 3 --count 40 --seed 7") != 0)
        fprintf(stderr, "simulate: %s\n", out);
    if (h_wait_for(&env, relayed, NULL, 30000) != 0 || move_clock("2026-11-30T05:00:00Z") != 0)
        return -1;
    mark_held_sessions(1796014800000LL); /* 2026-11-30T05:00:00Z */
    if (h_cli(&env, out, sizeof out, "simulate --branches 3 --count 30 --seed 8") != 0)
        fprintf(stderr, "simulate: %s\n", out);
    return h_wait_for(&env, sessions_open, NULL, 20000) || h_wait_for(&env, placed, NULL, 30000);
}

static int missing(char *what, size_t cap)
{
    what[0] = '\0';
    if (access("/usr/bin/chromium", X_OK) != 0)
        snprintf(what, cap, "/usr/bin/chromium (Debian package chromium: deploy/deps.sh)");
    else if (system("node --version >/dev/null 2>&1") != 0)
        snprintf(what, cap, "node (Debian packages nodejs npm: deploy/deps.sh)");
    else if (access("tests/browser/node_modules/playwright-core/package.json", R_OK) != 0)
        snprintf(what, cap, "playwright-core (make browser-deps: npm ci in tests/browser)");
    return what[0] != '\0';
}

static void dashboard_shows_the_figures_and_follows_a_referral(void **state)
{
    (void)state;
    char what[256];
    if (missing(what, sizeof what)) {
        fprintf(stderr, "\n*** SKIPPED: browser test — not installed: %s ***\n\n", what);
        printf("tp SKIPPED browser test: %s\n", what);
        skip();
    }
    /* Monday's morning session is over: attendance marked */
    assert_int_equal(move_clock("2026-11-30T11:00:00Z"), 0);
    redisReply *r = h_redis(&env, "HKEYS tp:{42}:scheduler:roster:20261130-0930-wilson-initiation");
    assert_non_null(r);
    char out[4096], cmd[512];
    for (size_t i = 0; i < r->elements; i++) {
        snprintf(cmd, sizeof cmd, "attendance 20261130-0930-wilson-initiation %s %s --trainer t1", r->element[i]->str,
                 i == 1 ? "noshow" : "seen");
        h_cli(&env, out, sizeof out, cmd);
    }
    freeReplyObject(r);
    /* the survey, built apart: the answers of that session */
    r = h_redis(&env, "HSET tp:{42}:survey:fig:2026-11-30 invited 7 answered 5 satisfaction:1 3 satisfaction:2 1 "
                      "satisfaction:3 1 wants_more 3 went_on 1");
    freeReplyObject(r);

    /* a referral for the browser to submit */
    char ref[400], submit[1200], url[64], shot[300], profile[400];
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    assert_non_null(o);
    json_object_object_add(o, "external_ref", json_object_new_string("WIL-BROWSER-1"));
    json_object *consent = NULL;
    json_object_object_get_ex(o, "consent", &consent);
    json_object_object_add(consent, "given_at", json_object_new_string("2026-11-20T09:30:00+01:00"));
    snprintf(ref, sizeof ref, "%s/browser-referral.json", env.dir);
    assert_int_equal(json_object_to_file(ref, o), 0);
    json_object_put(o);
    assert_int_equal(h_cli(&env, out, sizeof out, "branch add wilson --name Wilson --territory 42"), 0);
    snprintf(submit, sizeof submit, "%s/bin/tremplin -c %s referral submit %s", env.build, env.conf, ref);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", env.base_port + 7);
    if (getenv("TP_SCREENSHOT"))
        snprintf(shot, sizeof shot, "%s", getenv("TP_SCREENSHOT"));
    else
        snprintf(shot, sizeof shot, "%s/dashboard.png", env.build);
    snprintf(profile, sizeof profile, "%s/chromium-profile", env.dir); /* a fresh user-data-dir */
    setenv("TP_URL", url, 1);
    setenv("TP_SUBMIT", submit, 1);
    setenv("TP_SCREENSHOT", shot, 1);
    setenv("TP_PROFILE", profile, 1);
    char *const argv[] = { "node", "tests/browser/dashboard.mjs", NULL };
    pid_t pid = h_spawn_cmd(&env, "browser", argv);
    assert_true(pid > 0);
    int st = 0;
    assert_int_equal(h_wait_exit(pid, 120000, &st), 0);
    char line[512];
    snprintf(line, sizeof line, "%s/browser.log", env.dir);
    FILE *f = fopen(line, "r");
    while (f && fgets(line, sizeof line, f))
        fputs(line, stderr);
    if (f)
        fclose(f);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dashboard_shows_the_figures_and_follows_a_referral),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("dashboard", tests, setup, h_group_teardown);
}
