/* Where the personal data that goes in ends up, after a whole run through
 * the six services: three people referred with names, phones, an address
 * and (later) a survey comment, each a string found nowhere else; booked,
 * told of their booking (SMS in the spool, a letter for the one with an address only),
 * marked present, invited to the survey, one answering with a comment.
 *
 * Then every place a person's data must not reach is read, and none of it
 * may hold any of those strings: every line of every log, every event the
 * services published, every Redis key but the contact store
 * (tp:{T}:intake:contact:*) and the comments kept under their retention date
 * (tp:{T}:survey:comment:*) — the notification streams and the gateway's
 * job records included —, and every route the reporter serves over HTTP.
 * The SMS files in the spool (the outgoing messages) are the one place they
 * are expected: the test checks they are there, so the search is not blind.
 * Then `tremplin person export` (an access request) gives one person
 * everything held about them, and nothing of the others. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <dirent.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"
#include "web.h"

#define MON "20261130-0930-wilson-initiation"

static h_env_t env;
static const char *const svcs[] = { "scheduler", "matcher", "intake", "survey", "reporter", "gateway" };
#define NSVC (sizeof svcs / sizeof svcs[0])
static pid_t pids[NSVC];
static int reloads;

/* What goes in: each a string that cannot appear by chance. The phone is
 * searched as its last nine digits, the form every normalisation keeps. */
static const char *const secrets[] = { "Zéphyrine", "Quenouillard", "Anatolie",   "Brindejonc", "Capucines-Dorées",
                                       "612345671", "623456782",    "Barnabéthe", "Malvoisine" };
#define NSECRETS (sizeof secrets / sizeof secrets[0])

/* every event socket: the five services (BASE+11..15) and the gateway (+17) */
static void *subs[NSVC];
static char *events;
static size_t events_len, events_cap;

static const char TIMETABLE[] =
    "{ \"version\": \"privacy\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 7,\n"
    "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"La Poste Wilson\",\n"
    "                  \"address_fr\": \"2 place Wilson, 42000 Saint-Étienne\" } ],\n"
    "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\",\n"
    "               \"trainer\": \"t1\", \"capacity\": 8 } ] }\n";

static void set_now(const char *iso_utc)
{
    assert_int_equal(h_set_clock(&env, iso_utc), 0);
    reloads++;
    for (size_t i = 0; i < NSVC; i++) {
        h_signal(pids[i], SIGHUP);
        h_log_wait_t w = { svcs[i], "event=reloaded", reloads };
        assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    }
}

/* Everything published so far, appended to events. */
static void drain_events(void)
{
    for (size_t i = 0; i < NSVC; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, subs[i], ZMQ_DONTWAIT) >= 0) {
            size_t n = zmq_msg_size(&m);
            if (events_len + n + 1 > events_cap) {
                events_cap = (events_len + n + 1) * 2;
                events = realloc(events, events_cap);
                assert_non_null(events);
            }
            memcpy(events + events_len, zmq_msg_data(&m), n);
            events_len += n;
            events[events_len++] = '\n';
        }
        zmq_msg_close(&m);
    }
}

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    char out[1024];
    /* Friday 27 November 2026, 10:00 in Paris: the initiation on Monday
     * 30 at 09:30 */
    if (h_setup(&env) != 0 || h_write(&env, "timetable.json", TIMETABLE) != 0
        || h_set_clock(&env, "2026-11-27T09:00:00Z") != 0
        || h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0)
        return -1;
    static const int event_offsets[NSVC] = { 13, 12, 11, 14, 15, 17 };
    for (size_t i = 0; i < NSVC; i++) {
        char ep[64];
        int unlimited = 0;
        h_endpoint(&env, event_offsets[i], ep, sizeof ep);
        subs[i] = zmq_socket(env.zctx, ZMQ_SUB);
        zmq_setsockopt(subs[i], ZMQ_RCVHWM, &unlimited, sizeof unlimited);
        zmq_setsockopt(subs[i], ZMQ_SUBSCRIBE, "", 0);
        if (zmq_connect(subs[i], ep) != 0)
            return -1;
    }
    /* every service logs at debug level: the most it can say */
#define DEBUG "TREMPLIN_LOG_LEVEL=debug"
    const char *fast_sched[] = { DEBUG, "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200",
                                 "TREMPLIN_SCHEDULER_PURGE_MS=200", NULL };
    const char *fast_survey[] = { DEBUG, "TREMPLIN_SURVEY_TIMER_MS=100", "TREMPLIN_SURVEY_WATCH_MS=200",
                                  "TREMPLIN_SURVEY_PURGE_MS=200", NULL };
    const char *fast_gw[] = { DEBUG, "TREMPLIN_GATEWAY_TICK_MS=50", "TREMPLIN_GATEWAY_PURGE_MS=200", NULL };
    const char *fast_intake[] = { DEBUG, "TREMPLIN_INTAKE_PURGE_MS=200", NULL };
    const char *debug[] = { DEBUG, NULL };
    const char *const *envs[NSVC] = { fast_sched, debug, fast_intake, fast_survey, debug, fast_gw };
    for (size_t i = 0; i < NSVC; i++)
        if ((pids[i] = h_start_ready(&env, svcs[i], NULL, envs[i], 30000)) < 0)
            return -1;
    return h_wait_for(&env, h_session_open, MON, 20000);
}

static int teardown(void **state)
{
    for (size_t i = 0; i < NSVC; i++)
        if (subs[i])
            zmq_close(subs[i]);
    free(events);
    return h_group_teardown(state);
}

/* A referral through intake, `tremplin referral submit`: its person id. */
static void refer(const char *ref, const char *person_json, const char *purposes, char pid[TP_ID_LEN + 1])
{
    char path[400], doc[2048], out[2048], cmd[512];
    snprintf(doc, sizeof doc,
             "{ \"branch\": \"wilson\", \"external_ref\": \"%s\",\n"
             "  \"mediator\": { \"id\": \"med-07\", \"partner\": \"pimms\" },\n"
             "  \"person\": { %s, \"birth_year\": 1948, \"availability\": [\"mon-am\"] },\n"
             "  \"consent\": { \"given\": true, \"given_at\": \"2026-11-26T09:30:00+01:00\",\n"
             "               \"purposes\": [%s], \"text_version\": \"2026-09\" },\n"
             "  \"needs\": [\"email\"],\n"
             "  \"answers\": { \"mouse_touch\": 2, \"email\": 0, \"online_form\": 1, \"attach_document\": 0,\n"
             "               \"online_banking\": 0, \"spot_fraud\": 1, \"passwords\": 0, \"video_call\": 1 } }\n",
             ref, person_json, purposes);
    snprintf(path, sizeof path, "%s/%s.json", env.dir, ref);
    assert_int_equal(h_write_file(path, doc), 0);
    snprintf(cmd, sizeof cmd, "referral submit %s --json", path);
    if (h_cli(&env, out, sizeof out, cmd) != 0)
        fail_msg("referral %s: %s", ref, out);
    const char *at = strstr(out, "\"person_id\":\"");
    assert_non_null(at);
    at += strlen("\"person_id\":\"");
    size_t n = strcspn(at, "\"");
    assert_true(n > 0 && n <= TP_ID_LEN);
    memcpy(pid, at, n);
    pid[n] = '\0';
}

static char pid_a[TP_ID_LEN + 1]; /* Zéphyrine: erased by the second test */
static char pid_b[TP_ID_LEN + 1], pid_c[TP_ID_LEN + 1]; /* Anatolie, Malvoisine: purged by the third */

/* A paper survey form typed in (`tremplin survey submit`), with a comment. */
static void paper_answer(const char *pid, int satisfaction, const char *comment)
{
    char path[400], form[512], out[4096], cmd[512];
    snprintf(path, sizeof path, "%s/form-%s.json", env.dir, pid);
    snprintf(form, sizeof form,
             "{ \"person_id\": \"%s\", \"session_id\": \"" MON "\", \"satisfaction\": %d, \"wants_more\": false,\n"
             "  \"comment\": \"%s\" }\n",
             pid, satisfaction, comment);
    assert_int_equal(h_write_file(path, form), 0);
    snprintf(cmd, sizeof cmd, "survey submit %s", path);
    if (h_cli(&env, out, sizeof out, cmd) != 0)
        fail_msg("%s: %s", cmd, out);
}

static int booked(h_env_t *h, void *arg)
{
    return h_redis_int(h, "HEXISTS tp:{42}:scheduler:roster:" MON " %s", (const char *)arg) == 1;
}

static int convocations_done(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "HGET tp:{42}:gateway:fig:total sent:sms") >= 2
           && h_redis_int(h, "XLEN tp:{42}:scheduler:outbox") == 0;
}

static int invitations_sent(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "HGET tp:{42}:gateway:fig:total sent:survey_invitation") >= 2;
}

static int quiet(h_env_t *h, void *arg)
{
    (void)arg;
    static const char *const outboxes[] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
    for (size_t i = 0; i < sizeof outboxes / sizeof outboxes[0]; i++)
        if (h_redis_int(h, "XLEN tp:{42}:%s:outbox", outboxes[i]) != 0)
            return 0;
    return 1;
}

/* The first secret found in text[0..len), or NULL. */
static const char *leaked(const char *text, size_t len)
{
    for (size_t i = 0; i < NSECRETS; i++)
        if (memmem(text, len, secrets[i], strlen(secrets[i])))
            return secrets[i];
    return NULL;
}

/* -------------------------------------------------------------- Redis */

static int allowed_key(const char *key)
{
    return strstr(key, ":intake:contact:") || strstr(key, ":survey:comment:");
}

/* Appends a reply's strings, whatever its shape, to buf. */
static void flatten(const redisReply *r, char **buf, size_t *len, size_t *cap)
{
    if (!r)
        return;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++)
            flatten(r->element[i], buf, len, cap);
        return;
    }
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
        return;
    if (*len + r->len + 2 > *cap) {
        *cap = (*len + r->len + 2) * 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, r->str, r->len);
    *len += r->len;
    (*buf)[(*len)++] = '\n';
}

typedef struct {
    int keys, allowed_with_data, leaks;
} key_scan_t;

/* A key's content as text (every string of it, one a line; a zset with its
 * scores): *buf, *len (NULL, 0 when empty). */
static void key_text(h_env_t *h, const char *key, char **buf, size_t *len)
{
    redisReply *t = h_redis(h, "TYPE %s", key);
    assert_non_null(t);
    static const struct {
        const char *type, *cmd;
    } readers[] = { { "string", "GET" },     { "hash", "HGETALL" },          { "set", "SMEMBERS" },
                    { "list", "LRANGE" },    { "zset", "ZRANGE" },           { "stream", "XRANGE" } };
    redisReply *v = NULL;
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
        if (!strcmp(t->str, readers[i].type)) {
            if (!strcmp(readers[i].cmd, "LRANGE"))
                v = h_redis(h, "LRANGE %s 0 -1", key);
            else if (!strcmp(readers[i].cmd, "ZRANGE")) /* the scores too: a wait's length is a figure */
                v = h_redis(h, "ZRANGE %s 0 -1 WITHSCORES", key);
            else if (!strcmp(readers[i].cmd, "XRANGE"))
                v = h_redis(h, "XRANGE %s - +", key);
            else
                v = h_redis(h, "%s %s", readers[i].cmd, key);
        }
    freeReplyObject(t);
    size_t cap = 0;
    *buf = NULL;
    *len = 0;
    flatten(v, buf, len, &cap);
    if (v)
        freeReplyObject(v);
}

static int search_key(h_env_t *h, const char *key, void *arg)
{
    key_scan_t *ks = arg;
    char *buf;
    size_t len;
    key_text(h, key, &buf, &len);
    /* the key's name too: a name holding a phone or a name is a leak */
    const char *found = leaked(key, strlen(key));
    if (!found && buf)
        found = leaked(buf, len);
    ks->keys++;
    if (found && allowed_key(key))
        ks->allowed_with_data++;
    else if (found) {
        fprintf(stderr, "ERROR: Redis key %s holds '%s'\n", key, found);
        ks->leaks++;
    }
    free(buf);
    return 0;
}

/* ------------------------------------------------------------ files */

/* Every *.log of the instance (each process's log) searched line by line. */
static int search_logs(int *lines)
{
    DIR *d = opendir(env.dir);
    assert_non_null(d);
    struct dirent *e;
    int leaks = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char path[600], line[8192];
        snprintf(path, sizeof path, "%s/%s", env.dir, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
            (*lines)++;
            const char *found = leaked(line, strlen(line));
            if (found) {
                fprintf(stderr, "ERROR: %s holds '%s': %s", e->d_name, found, line);
                leaks++;
            }
        }
        fclose(f);
    }
    closedir(d);
    return leaks;
}

/* The spool's SMS files, read whole into one buffer (the expected place). */
static char *spool_text(size_t *len)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/spool", env.dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (*len + n + 1 > cap) {
                cap = (*len + n + 1) * 2;
                buf = realloc(buf, cap);
                assert_non_null(buf);
            }
            memcpy(buf + *len, chunk, n);
            *len += n;
        }
        fclose(f);
    }
    closedir(d);
    return buf;
}

/* ------------------------------------------------------------- the run */

static void personal_data_stays_in_the_contact_store(void **state)
{
    (void)state;
    char a[TP_ID_LEN + 1], b[TP_ID_LEN + 1], c[TP_ID_LEN + 1];
#define ALL "\"training\", \"sms\", \"survey\""
    refer("PRIV-A",
          "\"given_name\": \"Zéphyrine\", \"family_name\": \"Quenouillard\", \"phone\": \"06 12 34 56 71\","
          " \"address\": { \"line1\": \"3 allée des Capucines-Dorées\", \"postcode\": \"42000\","
          " \"city\": \"Saint-Étienne\" }",
          ALL, a);
    refer("PRIV-B", "\"given_name\": \"Anatolie\", \"phone\": \"06 23 45 67 82\"", ALL, b);
    /* no phone: convoked by letter */
    refer("PRIV-C",
          "\"given_name\": \"Malvoisine\", \"family_name\": \"Brindejonc\","
          " \"address\": { \"line1\": \"9 rue Michelet\", \"postcode\": \"42000\", \"city\": \"Saint-Étienne\" }",
          "\"training\", \"survey\"", c);
    assert_int_equal(h_wait_for(&env, booked, a, 20000), 0);
    assert_int_equal(h_wait_for(&env, booked, b, 20000), 0);
    assert_int_equal(h_wait_for(&env, booked, c, 20000), 0);
    assert_int_equal(h_wait_for(&env, convocations_done, NULL, 30000), 0);

    /* the workshop is over: everyone present, the survey invites by SMS */
    set_now("2026-11-30T11:00:00Z");
    char out[4096], cmd[512];
    const char *people[] = { a, b, c };
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "attendance " MON " %s seen --trainer t1", people[i]);
        if (h_cli(&env, out, sizeof out, cmd) != 0)
            fail_msg("%s: %s", cmd, out);
    }
    assert_int_equal(h_wait_for(&env, invitations_sent, NULL, 30000), 0);

    /* Zéphyrine's paper form, with a comment naming someone */
    paper_answer(a, 1, "Barnabéthe, la formatrice, a été très patiente.");
    /* the letters of the day: read by the gateway's code, written to a file
     * the operator asked for (the second expected place) */
    snprintf(cmd, sizeof cmd, "letters --date 2026-11-30 --pdf %s/letters.pdf", env.dir);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_int_equal(h_wait_for(&env, quiet, NULL, 30000), 0);
    drain_events();

    /* the expected place holds them: the search below is not blind */
    size_t spool_len = 0;
    char *spool = spool_text(&spool_len);
    assert_non_null(spool);
    assert_non_null(memmem(spool, spool_len, "Zéphyrine", strlen("Zéphyrine")));
    assert_non_null(memmem(spool, spool_len, "Anatolie", strlen("Anatolie")));
    free(spool);

    /* logs */
    int lines = 0, leaks = search_logs(&lines);
    /* events */
    const char *found = events ? leaked(events, events_len) : NULL;
    if (found) {
        fprintf(stderr, "ERROR: a published event holds '%s'\n", found);
        leaks++;
    }
    /* Redis, every key */
    key_scan_t ks = { 0, 0, 0 };
    assert_int_equal(h_scan(&env, "*", search_key, &ks), 0);
    leaks += ks.leaks;
    /* the reporter's HTTP routes */
    static const char *const routes[] = { "/", "/index.html", "/metrics", "/api/kpi", "/api/kpi?by=branch",
                                          "/api/export.csv", "/api/export.csv?table=activities", "/api/version" };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        web_reply_t r;
        assert_int_equal(web_get(env.base_port + 7, routes[i], 10000, &r), 0);
        found = leaked(r.body, r.len);
        if (found) {
            fprintf(stderr, "ERROR: the reporter's %s holds '%s'\n", routes[i], found);
            leaks++;
        }
        web_free(&r);
    }
    print_message("tp privacy: %d log lines, %zu bytes of events, %d Redis keys (%d allowed ones hold data), "
                  "%zu routes: %d leaks\n",
                  lines, events_len, ks.keys, ks.allowed_with_data, sizeof routes / sizeof routes[0], leaks);
    /* the contact store and the comment hold what they must */
    assert_true(ks.allowed_with_data >= 4);
    assert_int_equal(leaks, 0);

    /* an access request: everything held about Zéphyrine, hers only */
    static char exported[65536];
    snprintf(cmd, sizeof cmd, "person export %s", a);
    assert_int_equal(h_cli(&env, exported, sizeof exported, cmd), 0);
    static const char *const hers[] = { "Zéphyrine", "Quenouillard", "Capucines-Dorées", "612345671", "Barnabéthe",
                                        "\"consents\"", "\"bookings\"", "\"notifications\"" };
    for (size_t i = 0; i < sizeof hers / sizeof hers[0]; i++)
        if (!strstr(exported, hers[i]))
            fail_msg("person export lacks %s:\n%.3000s", hers[i], exported);
    assert_null(strstr(exported, "Anatolie"));
    assert_null(strstr(exported, "Brindejonc"));
    snprintf(cmd, sizeof cmd, "person export %s", b);
    assert_int_equal(h_cli(&env, exported, sizeof exported, cmd), 0);
    assert_non_null(strstr(exported, "Anatolie"));
    assert_null(strstr(exported, "Zéphyrine"));
    assert_null(strstr(exported, "Barnabéthe"));
    memcpy(pid_a, a, sizeof pid_a);
    memcpy(pid_b, b, sizeof pid_b);
    memcpy(pid_c, c, sizeof pid_c);
}

/* ---------------------------------------------------------- erasure */

/* How many files of dir (not recursive) hold needle; their names, space
 * separated, into names (when not NULL: cap bytes). */
static int files_named_holding(const char *dir, const char *needle, char *names, size_t cap_names)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f || e->d_name[0] == '.') {
            if (f)
                fclose(f);
            continue;
        }
        char *buf = NULL;
        size_t len = 0, cap = 0, got;
        char chunk[65536];
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + got > cap) {
                cap = (len + got) * 2;
                buf = realloc(buf, cap);
                assert_non_null(buf);
            }
            memcpy(buf + len, chunk, got);
            len += got;
        }
        fclose(f);
        if (buf && memmem(buf, len, needle, strlen(needle))) {
            n++;
            if (names)
                snprintf(names + strlen(names), cap_names - strlen(names), "%s ", e->d_name);
        }
        free(buf);
    }
    closedir(d);
    return n;
}

static int files_holding(const char *dir, const char *needle) { return files_named_holding(dir, needle, NULL, 0); }

/* 1 when none of the files named (space separated) is in dir any more. */
static int all_gone(const char *dir, const char *names)
{
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", names);
    for (char *save = NULL, *n = strtok_r(copy, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
        char path[2700];
        snprintf(path, sizeof path, "%s/%s", dir, n);
        if (access(path, F_OK) == 0)
            return 0;
    }
    return 1;
}

static char aof_dir[600];
/* The AOF files that held a person's number before (the rewritten base may
 * store a value compressed: that no file holds it in clear is not enough,
 * those that did must be gone) */
static char aof_held[2048];

static int aof_clean_of_a(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return all_gone(aof_dir, aof_held) && files_holding(aof_dir, "612345671") == 0
           && files_holding(aof_dir, "Zéphyrine") == 0;
}

/* The reporter's figures (GET /api/kpi), without the count of consent
 * withdrawals (the one figure an erasure moves: it withdraws them), the
 * time of the answer and the version (how many times the figures' keys
 * changed, the withdrawals' counts included). */
static char *kpi_without_withdrawals(long long *withdrawals)
{
    web_reply_t r;
    assert_int_equal(web_get(env.base_port + 7, "/api/kpi", 10000, &r), 0);
    json_object *o = json_tokener_parse(r.body);
    web_free(&r);
    assert_non_null(o);
    json_object *totals = NULL, *v;
    assert_true(json_object_object_get_ex(o, "figures", &totals));
    json_object_object_get_ex(totals, "consent_withdrawals", &v);
    *withdrawals = json_object_get_int64(v);
    json_object_object_del(totals, "consent_withdrawals");
    json_object_object_del(o, "now_ms");
    json_object_object_del(o, "version"); /* moved by any change of the figures' keys */
    char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

/* How many of the gateway's phone:<h> sets (a reply's number to people)
 * hold pid. */
static int phone_sets_of(const char *pid)
{
    redisReply *z = h_redis(&env, "ZRANGE tp:{42}:gateway:phones 0 -1");
    assert_non_null(z);
    int n = 0;
    for (size_t i = 0; i < z->elements; i++)
        n += h_redis_int(&env, "SISMEMBER tp:{42}:gateway:phone:%s %s", z->element[i]->str, pid) == 1;
    freeReplyObject(z);
    return n;
}

static int no_key_holds_a(h_env_t *h, const char *key, void *arg)
{
    static const char *const hers[] = { "Zéphyrine", "Quenouillard", "Capucines-Dorées", "612345671", "Barnabéthe" };
    char *buf;
    size_t len;
    key_text(h, key, &buf, &len);
    for (size_t i = 0; i < sizeof hers / sizeof hers[0]; i++)
        if ((buf && memmem(buf, len, hers[i], strlen(hers[i]))) || strstr(key, hers[i])) {
            fprintf(stderr, "ERROR: after the erasure, %s holds '%s'\n", key, hers[i]);
            (*(int *)arg)++;
        }
    free(buf);
    return 0;
}

/* The right to erasure, through the services: Zéphyrine's contact, comment,
 * phone set and SMS files go everywhere (the spool checked by its text),
 * her consents are withdrawn, the figures stay (but for that withdrawal),
 * the AOF no longer holds her phone number once rewritten, her export holds
 * nothing personal, and erasing her again is told as done. */
static void erasure_removes_her_data_everywhere_and_keeps_the_figures(void **state)
{
    (void)state;
    const char *a = pid_a;
    assert_true(a[0] != '\0');
    snprintf(aof_dir, sizeof aof_dir, "%s/redis/appendonlydir", env.dir);
    /* before: her number is in the AOF (the contact's write), her SMS in the spool */
    aof_held[0] = '\0';
    assert_true(files_named_holding(aof_dir, "612345671", aof_held, sizeof aof_held) > 0);
    char spool_dir[600];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", env.dir);
    assert_true(files_holding(spool_dir, "Zéphyrine") > 0);
    assert_int_equal(phone_sets_of(a), 1);
    long long withdrawals_before, withdrawals_after;
    char *kpi_before = kpi_without_withdrawals(&withdrawals_before);

    char out[8192], cmd[512];
    snprintf(cmd, sizeof cmd, "person erase %s", a);
    if (h_cli(&env, out, sizeof out, cmd) != 0)
        fail_msg("%s: %s", cmd, out);
    if (!strstr(out, "données personnelles effacées : ") || !strstr(out, "1 commentaire")
        || !strstr(out, "AOF de Redis réécrit"))
        fail_msg("person erase said:\n%s", out);
    assert_int_equal(h_wait_for(&env, quiet, NULL, 30000), 0);

    /* no key holds anything of hers; the other people's data stays */
    int leaks = 0;
    assert_int_equal(h_scan(&env, "*", no_key_holds_a, &leaks), 0);
    assert_int_equal(leaks, 0);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:contact:%s", a), 0);
    assert_int_equal(h_redis_int(&env, "HLEN tp:{42}:gateway:survey:%s", a), 0);
    assert_int_equal(phone_sets_of(a), 0);
    assert_int_equal(files_holding(spool_dir, "Zéphyrine"), 0);
    assert_true(files_holding(spool_dir, "Anatolie") > 0);
    /* consents withdrawn; the pseudonymous facts stay */
    assert_true(h_redis_int(&env, "HEXISTS tp:{42}:intake:person:%s erased_ms", a) == 1);
    redisReply *c = h_redis(&env, "HMGET tp:{42}:intake:person:%s consent:training consent:sms consent:survey", a);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(c->element[i]->str, "withdrawn");
    freeReplyObject(c);
    assert_true(h_redis_int(&env, "HGET tp:{42}:scheduler:person:%s seen_total", a) == 1);
    /* the reporter's figures: the same, but for the three withdrawals */
    char *kpi_after = kpi_without_withdrawals(&withdrawals_after);
    if (strcmp(kpi_before, kpi_after)) {
        fprintf(stderr, "before: %s\nafter:  %s\n", kpi_before, kpi_after);
        fail_msg("the figures changed");
    }
    assert_int_equal(withdrawals_after, withdrawals_before + 3);
    free(kpi_before);
    free(kpi_after);

    /* the AOF, once rewritten, holds her number no more (the old files go
     * once the new base is written) — and still holds Anatolie's */
    assert_int_equal(h_wait_for(&env, aof_clean_of_a, NULL, 20000), 0);
    assert_true(files_holding(aof_dir, "623456782") > 0);

    /* her export: nothing personal */
    static char exported[65536];
    snprintf(cmd, sizeof cmd, "person export %s", a);
    assert_int_equal(h_cli(&env, exported, sizeof exported, cmd), 0);
    static const char *const hers[] = { "Zéphyrine", "Quenouillard", "Capucines-Dorées", "612345671", "Barnabéthe" };
    for (size_t i = 0; i < sizeof hers / sizeof hers[0]; i++)
        if (strstr(exported, hers[i]))
            fail_msg("after the erasure, person export holds %s:\n%.3000s", hers[i], exported);
    /* again: told, nothing to do */
    snprintf(cmd, sizeof cmd, "person erase %s", a);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    if (!strstr(out, "déjà été effacée"))
        fail_msg("erasing again said:\n%s", out);
}

/* ------------------------------------------------------ retention */

/* Every figure key of every service (tp:{42}:<svc>:fig:*), its content as
 * text, one line each, sorted: what the reporter derives its figures from. */
typedef struct {
    char *text;
    size_t len, cap;
} figs_t;

static int figs_add(h_env_t *h, const char *key, void *arg)
{
    figs_t *f = arg;
    char *buf;
    size_t len;
    key_text(h, key, &buf, &len);
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n')
            buf[i] = ' ';
    size_t need = strlen(key) + len + 4;
    if (f->len + need > f->cap) {
        f->cap = (f->len + need) * 2;
        f->text = realloc(f->text, f->cap);
        assert_non_null(f->text);
    }
    f->len += (size_t)snprintf(f->text + f->len, f->cap - f->len, "%s = %.*s\n", key, (int)len, buf ? buf : "");
    free(buf);
    return 0;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The figure keys of the period the run happened in (November and December
 * 2026: the days, the sessions, the waits), as text. Left out: fig:total
 * and the purge's own day, which count what was purged (contacts_purged …),
 * and the sessions the timetable opens in the years after. */
static char *figures_of_the_run(void)
{
    figs_t f = { NULL, 0, 0 };
    static const char *const patterns[] = { "tp:{42}:*:fig:2026-*", "tp:{42}:*:fig:session:2026*",
                                            "tp:{42}:*:fig:wait:2026-*" };
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        assert_int_equal(h_scan(&env, patterns[i], figs_add, &f), 0);
    assert_non_null(f.text);
    /* in key order, whatever order SCAN gave them in */
    char *lines[4096];
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(f.text, "\n", &save); l && n < 4096; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof lines[0], cmp_str);
    char *sorted = malloc(f.len + 1);
    assert_non_null(sorted);
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(sorted + at, "%s\n", lines[i]);
    sorted[at] = '\0';
    free(f.text);
    return sorted;
}

static int purged(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "EXISTS tp:{42}:intake:contact:%s", pid_b) == 0
           && h_redis_int(h, "EXISTS tp:{42}:intake:contact:%s", pid_c) == 0
           && h_redis_int(h, "ZCARD tp:{42}:survey:retention") == 0
           && h_redis_int(h, "EXISTS tp:{42}:scheduler:roster:" MON) == 0
           && h_redis_int(h, "ZCARD tp:{42}:survey:started") == 0 && h_redis_int(h, "ZCARD tp:{42}:gateway:phones") == 0
           && h_redis_int(h, "ZCARD tp:{42}:gateway:person:%s", pid_b) == 0;
}

static int aof_clean_of_b(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return all_gone(aof_dir, aof_held) && files_holding(aof_dir, "623456782") == 0
           && files_holding(aof_dir, "Merci à Barn") == 0;
}

static int participations_closed(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "HGET tp:{42}:survey:fig:total closed_unanswered") >= 1;
}

/* Retention, on business time: years later, every category is past its
 * date — Anatolie's and Malvoisine's contacts ([retention] contact_days),
 * Anatolie's comment (comments_days), who was in Monday's workshop
 * (attendance_days: the roster, the bookings' person, the survey's link,
 * the gateway's job records),
 * the gateway's phone sets and files (sms_days) — and the purges remove it
 * all, from Redis's disk too (the AOF rewritten), while the figures of the
 * run, and the reporter's answer for it, stay exactly the same. */
static void purges_remove_personal_data_and_keep_the_figures(void **state)
{
    (void)state;
    assert_true(pid_b[0] && pid_c[0]);
    /* Anatolie answers on paper, with a comment */
    paper_answer(pid_b, 2, "Merci à Barnabéthe.");
    assert_int_equal(h_redis_int(&env, "ZCARD tp:{42}:survey:retention"), 1);
    /* six weeks later: the survey's window is over, everything settled */
    set_now("2027-01-11T10:00:00Z");
    assert_int_equal(h_wait_for(&env, participations_closed, NULL, 20000), 0);
    assert_int_equal(h_wait_for(&env, quiet, NULL, 30000), 0);
    char *before = figures_of_the_run();
    web_reply_t r;
    assert_int_equal(web_get(env.base_port + 7, "/api/kpi?from=2026-11-01&to=2026-12-31", 10000, &r), 0);
    json_object *kb = json_tokener_parse(r.body);
    web_free(&r);
    assert_non_null(kb);
    assert_true(h_redis_int(&env, "EXISTS tp:{42}:intake:contact:%s", pid_b) == 1);
    assert_true(h_redis_int(&env, "EXISTS tp:{42}:scheduler:roster:" MON) == 1);
    assert_true(h_redis_int(&env, "ZCARD tp:{42}:gateway:person:%s", pid_b) > 0);
    snprintf(aof_dir, sizeof aof_dir, "%s/redis/appendonlydir", env.dir);
    aof_held[0] = '\0';
    assert_true(files_named_holding(aof_dir, "623456782", aof_held, sizeof aof_held) > 0);
    assert_true(files_holding(aof_dir, "Merci à Barn") > 0);

    /* three years on */
    set_now("2029-12-10T10:00:00Z");
    assert_int_equal(h_wait_for(&env, purged, NULL, 30000), 0);
    assert_int_equal(h_wait_for(&env, quiet, NULL, 30000), 0);
    /* who was there is forgotten; their own counts stay */
    assert_int_equal(h_redis_int(&env, "ZCARD tp:{42}:scheduler:bookings:%s", pid_b), 0);
    assert_true(h_redis_int(&env, "HGET tp:{42}:scheduler:person:%s seen_total", pid_b) == 1);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:survey:by:%s:" MON, pid_b), 0);
    /* the purges had the AOF rewritten: her number and her comment have
     * left Redis's disk too */
    assert_int_equal(h_wait_for(&env, aof_clean_of_b, NULL, 20000), 0);

    char *after = figures_of_the_run();
    if (strcmp(before, after)) {
        fprintf(stderr, "before:\n%s\nafter:\n%s\n", before, after);
        fail_msg("the figures of the run changed with the purge");
    }
    assert_int_equal(web_get(env.base_port + 7, "/api/kpi?from=2026-11-01&to=2026-12-31", 10000, &r), 0);
    json_object *ka = json_tokener_parse(r.body);
    web_free(&r);
    assert_non_null(ka);
    json_object *fb, *fa;
    assert_true(json_object_object_get_ex(kb, "figures", &fb));
    assert_true(json_object_object_get_ex(ka, "figures", &fa));
    const char *sb = json_object_to_json_string_ext(fb, JSON_C_TO_STRING_PLAIN);
    const char *sa = json_object_to_json_string_ext(fa, JSON_C_TO_STRING_PLAIN);
    if (strcmp(sb, sa)) {
        fprintf(stderr, "before: %s\nafter:  %s\n", sb, sa);
        fail_msg("the reporter's figures changed with the purge");
    }
    json_object *people;
    assert_true(json_object_object_get_ex(fa, "people_trained", &people));
    assert_int_equal(json_object_get_int(people), 3);
    print_message("tp retention: %zu bytes of figures the same after the purges\n", strlen(after));
    json_object_put(kb);
    json_object_put(ka);
    free(before);
    free(after);
}

int main(void)
{
    h_test_filter();
    h_group_env(&env);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(personal_data_stays_in_the_contact_store),
        cmocka_unit_test(erasure_removes_her_data_everywhere_and_keeps_the_figures),
        cmocka_unit_test(purges_remove_personal_data_and_keep_the_figures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
