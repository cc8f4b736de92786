/* `make demo` as a newcomer runs it: deploy/stack.sh demo with ONESHOT=1
 * plays a short season (three weeks, 90 people, seed 7: a trainer absent,
 * a holiday week) through the real services, prints the commission's
 * figures and stops cleanly; then a second `deploy/stack.sh demo` on the
 * same data says the season was played, adds nothing, prints the same
 * figures and keeps the stack running until SIGTERM. While it runs, every
 * figure it printed must equal the reporter's /api/kpi for the same days,
 * and the state must agree: as many people in intake as the plan referred
 * with consent, as many trained as people with a workshop marked seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "web.h"

char *mkdtemp(char *template); /* POSIX 2008, hidden by the strict feature macros of some libcs */

#define PEOPLE 90
#define T "tp:{42}:"

static h_env_t env;
static pid_t stack_pid;

/* The figures the season prints (cmd_season.c: season_figures). */
static const char *const names[] = { "people_accompanied", "people_trained", "workshops_held", "workshops_cancelled",
                                     "fill_rate", "waiting", "wait_days_median", "satisfaction",
                                     "pct_very_satisfied", "pct_wants_more", "went_on", "pct_went_on", NULL };

static int setup(void **state)
{
    (void)state;
    memset(&env, 0, sizeof env);
    umask(077);
    const char *build = getenv("TP_BUILD");
    snprintf(env.build, sizeof env.build, "%s", build && *build ? build : "build/san");
    snprintf(env.dir, sizeof env.dir, "/tmp/tremplin-season-XXXXXX");
    if (!mkdtemp(env.dir) || h_pick_ports(&env) != 0)
        return -1;
    snprintf(env.conf, sizeof env.conf, "%s/tremplin.conf", env.dir);
    char base[16];
    snprintf(base, sizeof base, "%d", env.base_port);
    setenv("TREMPLIN_VAR", env.dir, 1);
    setenv("BASE", base, 1);
    setenv("SEED", "7", 1);
    setenv("TREMPLIN_SEASON_WEEKS", "3", 1);
    setenv("TREMPLIN_SEASON_PEOPLE", "90", 1);
    setenv("TREMPLIN_SEASON_ABSENCE_WEEK", "1", 1);
    setenv("TREMPLIN_SEASON_HOLIDAY_WEEK", "2", 1);
    return 0;
}

/* Stops what a failed test left running: the stack (SIGTERM: it stops its
 * services and Redis), else each process of its pid files. */
static int teardown(void **state)
{
    (void)state;
    if (stack_pid > 0) {
        kill(stack_pid, SIGTERM);
        int st;
        h_wait_exit(stack_pid, 30000, &st);
    }
    static const char *const svc[] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
    for (int i = 0; i < 6; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/run/%s.pid", env.dir, svc[i]);
        FILE *f = fopen(path, "r");
        long p = 0;
        if (f && fscanf(f, "%ld", &p) == 1 && p > 1)
            kill((pid_t)p, SIGKILL);
        if (f)
            fclose(f);
    }
    redisReply *r = h_redis(&env, "SHUTDOWN NOSAVE");
    if (r)
        freeReplyObject(r);
    h_teardown(&env);
    return 0;
}

/* Runs the command; its output (stdout and stderr) into a new string. */
static char *run(const char *cmd, int *rc)
{
    char full[1200];
    snprintf(full, sizeof full, "( %s ) 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap)
            out = realloc(out, cap *= 2);
    }
    out[n] = '\0';
    int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* The value printed after "  <label> : " in out, into val; 0 or -1. */
static int printed(const char *out, const char *label, char *val, size_t cap)
{
    char needle[200];
    snprintf(needle, sizeof needle, "\n  %s : ", label);
    const char *p = strstr(out, needle);
    if (!p)
        return -1;
    p += strlen(needle);
    size_t n = strcspn(p, "\n");
    snprintf(val, cap, "%.*s", (int)n, p);
    return 0;
}

/* A figure of /api/kpi as the season prints it (French decimal comma). */
static void api_value(json_object *v, char *out, size_t cap)
{
    if (!v) {
        snprintf(out, cap, "—");
    } else if (json_object_is_type(v, json_type_object)) {
        size_t n = 0;
        out[0] = '\0';
        json_object_object_foreach(v, k, c) n += (size_t)snprintf(out + n, cap - n, "%s%s : %s", n ? " · " : "", k,
                                                                 json_object_get_string(c));
    } else if (json_object_is_type(v, json_type_double)) {
        snprintf(out, cap, "%.1f", json_object_get_double(v));
        char *dot = strchr(out, '.');
        if (dot)
            *dot = ',';
    } else {
        snprintf(out, cap, "%s", json_object_get_string(v));
    }
}

/* The first day of the season as printed ("du 07/09/2026 au 30/11/2026"),
 * as ISO dates. */
static void period(const char *out, char from[11], char to[11])
{
    const char *p = strstr(out, "Les chiffres de la commission, du ");
    assert_non_null(p);
    int d1, m1, y1, d2, m2, y2;
    assert_int_equal(sscanf(p, "Les chiffres de la commission, du %d/%d/%d au %d/%d/%d", &d1, &m1, &y1, &d2, &m2, &y2),
                     6);
    snprintf(from, 11, "%04u-%02u-%02u", (unsigned)y1 % 10000u, (unsigned)m1 % 100u, (unsigned)d1 % 100u);
    snprintf(to, 11, "%04u-%02u-%02u", (unsigned)y2 % 10000u, (unsigned)m2 % 100u, (unsigned)d2 % 100u);
}

static int count_key(h_env_t *h, const char *key, void *arg)
{
    (void)h;
    (void)key;
    (*(long *)arg)++;
    return 0;
}

/* Distinct people with a booking marked seen (the raw bookings). */
typedef struct {
    json_object *people;
} seen_t;

static int seen_one(h_env_t *h, const char *key, void *arg)
{
    seen_t *s = arg;
    redisReply *r = h_redis(h, "HMGET %s status pid", key);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->str && r->element[1]->str
        && !strcmp(r->element[0]->str, "seen"))
        json_object_object_add(s->people, r->element[1]->str, json_object_new_boolean(1));
    if (r)
        freeReplyObject(r);
    return 0;
}

static int stack_waiting(h_env_t *h, void *arg)
{
    (void)arg;
    return h_log_has(h, "stack", "Ctrl-C pour tout arrêter");
}

static void season_played_once_figures_equal_api_and_state(void **state)
{
    (void)state;
    /* the first run plays the season and stops */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ONESHOT=1 timeout 900 deploy/stack.sh demo %s", env.build);
    int rc;
    char *first = run(cmd, &rc);
    if (rc != 0 || !strstr(first, "arrêté."))
        fprintf(stderr, "%s\n", first);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(first, "Une saison de 3 semaines"));
    assert_non_null(strstr(first, "tremplin trainer absent face-loire-01"));
    assert_non_null(strstr(first, "Le parcours d'une personne"));
    /* their SMS, as the gateway spooled them: the convocation, the survey */
    const char *journey = strstr(first, "Les SMS reçus, de l'orientation au deuxième atelier");
    assert_non_null(journey);
    assert_non_null(strstr(journey, ", votre atelier "));
    assert_non_null(strstr(journey, "merci pour l'atelier"));
    /* next week's rosters and sign-in sheets, written */
    char sheets[400];
    snprintf(sheets, sizeof sheets, "ls %s/semaine-prochaine/ | grep -c 'emargement-.*[.]pdf'", env.dir);
    char *count = run(sheets, &rc);
    int listed = 0; /* the sessions the report named (a closed week has none) */
    for (const char *p = strstr(first, "La semaine prochaine"); p && (p = strstr(p, ".pdf\n")); p++)
        listed++;
    assert_int_equal(atoi(count), listed);
    free(count);
    assert_non_null(strstr(first, "Tableau de bord : http://127.0.0.1:"));

    /* the second keeps running: the season is not played again */
    setenv("ONESHOT", "0", 1);
    char *argv[] = { "deploy/stack.sh", "demo", env.build, NULL };
    stack_pid = h_spawn_cmd(&env, "stack", argv);
    assert_true(stack_pid > 0);
    assert_int_equal(h_wait_for(&env, stack_waiting, NULL, 120000), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/stack.log", env.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char second[1 << 17];
    size_t n = fread(second, 1, sizeof second - 1, f);
    second[n] = '\0';
    fclose(f);
    assert_non_null(strstr(second, "La saison a déjà été jouée sur ces données (graine 7"));
    assert_null(strstr(second, "Une saison de 3 semaines"));

    /* what it printed is what the reporter serves for those days */
    char from[11], to[11], url[128];
    period(second, from, to);
    snprintf(url, sizeof url, "/api/kpi?from=%s&to=%s", from, to);
    web_reply_t w;
    assert_int_equal(web_get(env.base_port + 7, url, 10000, &w), 0);
    assert_int_equal(w.status, 200);
    json_object *api = json_tokener_parse(w.body), *figs, *labels;
    web_free(&w);
    assert_non_null(api);
    assert_true(json_object_object_get_ex(api, "figures", &figs));
    assert_true(json_object_object_get_ex(api, "labels", &labels));
    for (int i = 0; names[i]; i++) {
        json_object *l = NULL, *v = NULL;
        assert_true(json_object_object_get_ex(labels, names[i], &l));
        json_object_object_get_ex(figs, names[i], &v);
        char want[256], got[256], got_first[256];
        api_value(v, want, sizeof want);
        assert_int_equal(printed(second, json_object_get_string(l), got, sizeof got), 0);
        if (strcmp(want, got))
            fprintf(stderr, "%s: printed %s, /api/kpi %s\n", names[i], got, want);
        assert_string_equal(got, want);
        /* the people counted did not change from one run to the next */
        if (!strcmp(names[i], "people_accompanied") || !strcmp(names[i], "people_trained")) {
            assert_int_equal(printed(first, json_object_get_string(l), got_first, sizeof got_first), 0);
            assert_string_equal(got_first, got);
        }
    }

    /* and the state: everyone referred with consent is in intake once;
     * those trained are the people with a workshop marked seen */
    long persons = 0;
    assert_int_equal(h_scan(&env, T "intake:person:*", count_key, &persons), 0);
    json_object *v;
    assert_true(json_object_object_get_ex(figs, "people_accompanied", &v));
    assert_int_equal(persons, PEOPLE - (PEOPLE - (97 * PEOPLE + 50) / 100)); /* [season] no_consent_pct 3 */
    assert_int_equal(json_object_get_int64(v), persons);
    seen_t s = { json_object_new_object() };
    assert_int_equal(h_scan(&env, T "scheduler:booking:*", seen_one, &s), 0);
    assert_true(json_object_object_get_ex(figs, "people_trained", &v));
    assert_true(json_object_get_int64(v) > 0);
    assert_int_equal(json_object_get_int64(v), (int64_t)json_object_object_length(s.people));
    json_object_put(s.people);
    json_object_put(api);

    /* Ctrl-C (here SIGTERM) stops it cleanly */
    kill(stack_pid, SIGTERM);
    int st = 0;
    assert_int_equal(h_wait_exit(stack_pid, 60000, &st), 0);
    stack_pid = 0;
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(first);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(season_played_once_figures_equal_api_and_state),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
