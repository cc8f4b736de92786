/* Backup and restore (docs/operations.md), proven on the data: real
 * referrals go through intake, matcher, scheduler and the gateway (people,
 * contacts, bookings, a waitlist, notify streams and their consumer group,
 * outboxes, idempotency marks, figures); while the four services run,
 * deploy/backup.sh takes a backup; deploy/restore.sh restores it into a
 * fresh instance (its own folder, secrets and port) whose redis-server then
 * starts as usual, from the AOF the restore wrote. Every key (snapshot.c:
 * type and content of each, the function libraries included) must equal
 * the snapshot taken at backup time — read just before and just after the
 * backup, the two being equal so that nothing moved while it was taken —,
 * again after a restart of the restored Redis, and a service must serve from
 * the restored data: the referral sent again is answered with its first ids. */
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

#include "harness.h"
#include "snapshot.h"
#include "util.h"

#define MON "20261130-0930-wilson-initiation"
#define PEOPLE 6      /* two more than the session's seats: a waitlist */
/* The restored instance's ports, inside the range h_pick_ports found free
 * (base..base+30) and clear of the first instance's (base..base+17): its
 * services' base is base+18, so the one started there, intake, binds
 * base+19, +24 (branches) and +29 (events); its Redis is base+20. */
#define RESTORED_BASE_OFF 18
#define RESTORED_REDIS_OFF 20

static h_env_t env;
static h_env_t restored; /* the fresh instance: its own folder and port */
static char backup_dir[400];
static char rid[PEOPLE][TP_ID_LEN + 1], pid[PEOPLE][TP_ID_LEN + 1];

static const char timetable[] =
    "{ \"version\": \"backup\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 1,\n"
    "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\", \"address_fr\": \"Saint-Étienne\" } ],\n"
    "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\",\n"
    "               \"trainer\": \"t1\", \"capacity\": 4 } ] }\n";

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    char out[1024];
    /* Monday 30 November 2026, 07:00 in Saint-Étienne */
    if (h_setup(&env) != 0 || h_write(&env, "timetable.json", timetable) != 0
        || h_set_clock(&env, "2026-11-30T06:00:00Z") != 0
        || h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0)
        return -1;
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    const char *gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", NULL };
    if (h_start_ready(&env, "scheduler", NULL, fast, 30000) < 0 || h_start_ready(&env, "matcher", NULL, NULL, 30000) < 0
        || h_start_ready(&env, "intake", NULL, NULL, 30000) < 0 || h_start_ready(&env, "gateway", NULL, gw, 30000) < 0)
        return -1;
    return h_wait_for(&env, h_session_open, MON, 20000);
}

static int teardown(void **state)
{
    (void)state;
    if (restored.admin)
        redisFree(restored.admin);
    restored.admin = NULL;
    h_teardown(&env); /* kills the restored Redis too: the harness tracks it */
    return 0;
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "failed (%d): %s\n", rc, cmd);
    return rc;
}

/* The gateway has read every job the scheduler queued: its consumer
 * group's pending entries and lag are settled, not moving under the
 * backup. */
static int notify_read(h_env_t *h, void *arg)
{
    (void)arg;
    redisReply *r = h_redis(h, "XINFO GROUPS tp:{42}:scheduler:notify");
    int ok = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *g = r->element[0];
        for (size_t i = 0; i + 1 < g->elements; i += 2)
            if (!strcmp(g->element[i]->str, "lag"))
                ok = g->element[i + 1]->type == REDIS_REPLY_INTEGER && g->element[i + 1]->integer == 0;
    }
    if (r)
        freeReplyObject(r);
    return ok;
}

static void restored_has_no_critical_log(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "! grep -h 'CRITICAL\\|Bad file format\\|AOF.*error' %s/redis.log %s/redis/restore.log",
             restored.dir, restored.dir);
    assert_int_equal(sh(cmd), 0);
}

static void a_backup_taken_while_services_run_restores_every_record(void **state)
{
    (void)state;
    char ref[32];
    for (int i = 0; i < PEOPLE; i++) {
        snprintf(ref, sizeof ref, "BAK-%03d", i);
        assert_int_equal(h_refer(&env, ref, NULL, rid[i], pid[i]), 0);
    }
    assert_int_equal(h_wait_for(&env, notify_read, NULL, 20000), 0);

    /* the backup, the services running; the snapshot just before and just
     * after it: equal, so the backup holds exactly that (a try on which
     * something moved meanwhile is taken again) */
    snap_t before = { 0 }, after = { 0 };
    size_t moved = 1;
    char cmd[2000];
    for (int attempt = 0; attempt < 5 && moved; attempt++) {
        snap_free(&before);
        snap_free(&after);
        snprintf(backup_dir, sizeof backup_dir, "%s/backup-%d", env.dir, attempt);
        assert_int_equal(snap_take(&env, &before), 0);
        snprintf(cmd, sizeof cmd, "deploy/backup.sh %s %s > %s/backup.log 2>&1", env.dir, backup_dir, env.dir);
        assert_int_equal(sh(cmd), 0);
        assert_int_equal(snap_take(&env, &after), 0);
        moved = snap_diff(&before, &after, 5);
    }
    assert_int_equal(moved, 0);
    printf("tp backup: %zu keys, %zu function libraries, %zu people, %zu bookings, %zu contacts\n", before.n,
           snap_count(&before, "~function-library:"), snap_count(&before, ":scheduler:person:"),
           snap_count(&before, ":scheduler:booking:"), snap_count(&before, ":intake:contact:"));
    assert_true(snap_count(&before, ":intake:contact:") >= PEOPLE);
    assert_true(snap_count(&before, ":gateway:") > 0);
    struct stat st;
    assert_int_equal(stat(backup_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* a fresh instance: new folder, new secrets (setup.sh), new port */
    memset(&restored, 0, sizeof restored);
    util_strlcpy(restored.build, env.build, sizeof restored.build);
    char rdir[400];
    snprintf(rdir, sizeof rdir, "%s/restored", env.dir);
    assert_true(strlen(rdir) < sizeof restored.dir);
    util_strlcpy(restored.dir, rdir, sizeof restored.dir);
    restored.base_port = env.base_port + RESTORED_BASE_OFF;
    restored.redis_port = env.base_port + RESTORED_REDIS_OFF;
    restored.zctx = env.zctx;
    snprintf(restored.conf, sizeof restored.conf, "%s/tremplin.conf", restored.dir);
    snprintf(cmd, sizeof cmd, "deploy/setup.sh %s %d %d && deploy/restore.sh %s %s > %s/restore.out 2>&1",
             restored.dir, restored.redis_port, restored.base_port, backup_dir, restored.dir, env.dir);
    if (sh(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "cat %s/restore.out %s/redis/restore.log >&2", env.dir, restored.dir);
        sh(cmd);
        fail();
    }
    /* the backup's keys: the harness's own among them */
    assert_int_equal(h_keys(&restored), 0);
    /* Redis starts as usual, on the AOF the restore wrote */
    assert_int_equal(h_redis_restart(&restored, 0), 0);
    snap_t back = { 0 };
    assert_int_equal(snap_take(&restored, &back), 0);
    assert_int_equal(snap_diff(&before, &back, 10), 0);
    assert_int_equal(snap_count(&back, "~function-library:"), 6);
    snap_free(&back);

    /* and again after a restart of the restored Redis: the AOF holds it */
    assert_int_equal(h_redis_restart(&restored, SIGTERM), 0);
    assert_int_equal(snap_take(&restored, &back), 0);
    assert_int_equal(snap_diff(&before, &back, 10), 0);
    snap_free(&back);
    restored_has_no_critical_log();

    /* a service serves from the restored data, as its own ACL user with the
     * restored passwords and id key: a referral sent again is the same
     * referral and the same person */
    pid_t in = h_start_ready(&restored, "intake", "intake-restored", NULL, 30000);
    assert_true(in > 0);
    char out[2048];
    snprintf(cmd, sizeof cmd, "referral submit %s/BAK-000.json --json", env.dir); /* written by h_refer */
    assert_int_equal(h_cli(&restored, out, sizeof out, cmd), 0);
    json_object *r = json_tokener_parse(out), *v;
    assert_non_null(r);
    assert_true(json_object_object_get_ex(r, "referral_id", &v));
    assert_string_equal(json_object_get_string(v), rid[0]);
    assert_true(json_object_object_get_ex(r, "person_id", &v));
    assert_string_equal(json_object_get_string(v), pid[0]);
    json_object_put(r);
    assert_int_equal(h_stop(in, 20000), 0);
    snap_free(&before);
    snap_free(&after);
}

/* docs/operations.md shows both scripts word for word: each of their lines
 * is a line of the page. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static const size_t cap = 512 * 1024;
    char *buf = calloc(1, cap);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void the_operations_page_shows_the_tested_scripts(void **state)
{
    (void)state;
    char *doc = slurp("docs/operations.md");
    static const char *const scripts[] = { "deploy/backup.sh", "deploy/restore.sh" };
    for (size_t i = 0; i < 2; i++) {
        char *text = slurp(scripts[i]);
        int n = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++) {
            char want[1024];
            snprintf(want, sizeof want, "\n%s\n", line);
            if (!strstr(doc, want))
                fail_msg("docs/operations.md lacks this line of %s:\n%s", scripts[i], line);
        }
        printf("tp %s: %d lines, all in docs/operations.md\n", scripts[i], n);
        free(text);
    }
    free(doc);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_backup_taken_while_services_run_restores_every_record),
        cmocka_unit_test(the_operations_page_shows_the_tested_scripts),
    };
    return cmocka_run_group_tests_name("backup", tests, setup, teardown);
}
