/* The reporter on known scenarios: figures written into Redis as the
 * services write them (their fields, docs/figures.md), then read through
 * the real service's HTTP side — /api/kpi (every figure, filters,
 * groupings), the CSV exports (BOM, ';', the commission's rows, the
 * activities), small-count suppression for publication, a closed period
 * that stays identical after more activity, /metrics as promtool checks it,
 * and the reporter's Redis user, which may read figures and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "web.h"

static h_env_t env;
static int http_port;

#define DAY_MS 86400000LL

/* HSET key with "field value field value ..." */
static void fill(const char *key, const char *fields)
{
    char buf[2048], *save = NULL;
    snprintf(buf, sizeof buf, "%s", fields);
    for (char *f = strtok_r(buf, " ", &save), *v = strtok_r(NULL, " ", &save); f && v;
         f = strtok_r(NULL, " ", &save), v = strtok_r(NULL, " ", &save)) {
        redisReply *r = h_redis(&env, "HSET %s %s %s", key, f, v);
        assert_non_null(r);
        freeReplyObject(r);
    }
}

/* The figures of a small programme, as the services write them. */
static void write_known_figures(void)
{
    char cmd[2048];
    const char *sets[][2] = {
        { "tp:{42}:intake:fig:2026-12-01", "referrals 3 referrals:wilson 2 referrals:bellevue 1 referrals@p:pimms 2 "
                                          "referrals@p:emmaus 1 no_consent 1 no_consent:wilson 1 people_new 3 "
                                          "consent_withdrawn:sms 1" },
        { "tp:{42}:matcher:fig:2026-12-01", "accompanied 3 accompanied@b:wilson 2 accompanied@b:bellevue 1 "
                                           "accompanied@p:pimms 2 accompanied@p:emmaus 1 assessed 3 assessed@b:wilson 2 "
                                           "assessed@b:bellevue 1 assigned:initiation 2 assigned:initiation@b:wilson 2 "
                                           "assigned:budget 1 assigned:budget@b:bellevue 1 people_assigned 3 "
                                           "level_entry:1 2 level_entry:2 1 outcome:workshop 3" },
        { "tp:{42}:scheduler:fig:2026-12-01", "booked:initiation 2 booked:initiation@b:wilson 2 booked:budget 1 "
                                             "booked:budget@b:bellevue 1 people_booked 3 people_booked@b:wilson 2 "
                                             "people_booked@b:bellevue 1" },
        { "tp:{42}:scheduler:fig:2026-12-08", "seen:initiation 2 seen:initiation@b:wilson 2 noshow:budget 1 "
                                             "noshow:budget@b:bellevue 1 trained 2 trained@b:wilson 2 "
                                             "trained:initiation 2 trained:initiation@b:wilson 2 trained@p:pimms 2" },
        { "tp:{42}:survey:fig:2026-12-09", "invited 2 answered 2 answered:sms 2 satisfaction:1 1 satisfaction:2 1 "
                                          "wants_more 1 went_on 1" },
        { "tp:{42}:gateway:fig:2026-12-08", "sent:sms 5 sent:letter 1 sent:convocation 6 failed 1" },
        { "tp:{42}:scheduler:fig:current", "waiting:budget 4 waiting:initiation 0" },
        { "tp:{42}:scheduler:fig:session:20261208-0930-wilson-initiation",
          "kind initiation venue wilson start 1796718600000 end 1796725800000 capacity 8 taken 2 status open "
          "seen 2 noshow 0 excused 0" },
        { "tp:{42}:scheduler:fig:session:20261208-1400-bellevue-budget",
          "kind budget venue bellevue start 1796734800000 end 1796742000000 capacity 8 taken 1 status open "
          "seen 0 noshow 1 excused 0" },
        { "tp:{42}:scheduler:fig:session:20261209-0930-wilson-initiation",
          "kind initiation venue wilson start 1796805000000 end 1796812200000 capacity 8 taken 0 status cancelled "
          "seen 0 noshow 0 excused 0" },
        /* ahead: one budget session of 8 seats, 3 taken, in the next 28 days */
        { "tp:{42}:scheduler:fig:session:20261215-1400-bellevue-budget",
          "kind budget venue bellevue start 1797339600000 end 1797346800000 capacity 8 taken 3 status open "
          "seen 0 noshow 0 excused 0" },
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s", sets[i][1]);
        fill(sets[i][0], cmd);
    }
    const char *sessions[] = { "1796718600000 20261208-0930-wilson-initiation", "1796734800000 20261208-1400-bellevue-budget",
                               "1796805000000 20261209-0930-wilson-initiation", "1797339600000 20261215-1400-bellevue-budget" };
    for (size_t i = 0; i < 4; i++) {
        char score[16], id[64];
        sscanf(sessions[i], "%15s %63s", score, id);
        redisReply *r = h_redis(&env, "ZADD tp:{42}:scheduler:fig:sessions %s %s", score, id);
        freeReplyObject(r);
    }
    /* two first workshops: 7 and 10 days after the referral */
    redisReply *r = h_redis(&env, "ZADD tp:{42}:scheduler:fig:wait:2026-12-08 %lld initiation|wilson|pimms|B1 %lld "
                                  "initiation|wilson|pimms|B2", 7 * DAY_MS, 10 * DAY_MS);
    freeReplyObject(r);
}

static pid_t reporter_pid;
static int reloads;

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    if (h_setup(&env) != 0 || h_set_clock(&env, "2026-12-10T10:00:00Z") != 0)
        return -1;
    http_port = env.base_port + 7;
    write_known_figures();
    return (reporter_pid = h_start_ready(&env, "reporter", NULL, NULL, 30000)) < 0 ? -1 : 0;
}

/* The business clock moved; the reporter reloads. */
static void set_now(const char *iso_utc)
{
    assert_int_equal(h_set_clock(&env, iso_utc), 0);
    reloads++;
    h_signal(reporter_pid, SIGHUP);
    h_log_wait_t w = { "reporter", "event=reloaded", reloads };
    assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
}

static json_object *get_json(const char *path)
{
    web_reply_t w;
    if (web_get(http_port, path, 10000, &w) != 0) {
        fprintf(stderr, "GET %s: no answer\n", path);
        return NULL;
    }
    if (w.status != 200)
        fprintf(stderr, "GET %s: %d %s\n", path, w.status, w.body);
    json_object *o = w.status == 200 ? json_tokener_parse(w.body) : NULL;
    web_free(&w);
    return o;
}

static json_object *fig(json_object *rep, const char *name)
{
    json_object *f = NULL, *v = NULL;
    json_object_object_get_ex(rep, "figures", &f);
    json_object_object_get_ex(f, name, &v);
    return v;
}

/* A figure as text: "null", "3", "62.5". */
static const char *figs(json_object *rep, const char *name)
{
    json_object *v = fig(rep, name);
    return v ? json_object_to_json_string(v) : "null";
}

static void kpi_of_the_whole_period(void **state)
{
    (void)state;
    json_object *r = get_json("/api/kpi?from=2026-12-01&to=2026-12-10");
    assert_non_null(r);
    static const char *const expect[][2] = {
        { "referrals_received", "4" }, { "referrals_accepted", "3" }, { "no_consent", "1" }, { "people_new", "3" },
        { "assessed", "3" }, { "assigned", "3" }, { "people_accompanied", "3" }, { "people_assigned", "3" },
        { "people_booked", "3" }, { "people_trained", "2" }, { "bookings", "3" }, { "attended", "2" },
        { "noshow", "1" }, { "excused", "0" }, { "noshow_rate", "33.3" }, { "consent_withdrawals", "1" },
        { "workshops_held", "2" }, { "workshops_cancelled", "1" }, { "seats_offered", "16" }, { "seats_filled", "2" },
        { "fill_rate", "12.5" }, { "waiting", "4" }, { "wait_samples", "2" }, { "wait_days_median", "7.0" },
        { "wait_days_p90", "10.0" }, { "surveys_answered", "2" }, { "satisfaction_answers", "2" },
        { "pct_very_satisfied", "50.0" }, { "pct_wants_more", "50.0" }, { "pct_went_on", "50.0" },
        { "notifications_sent", "6" }, { "notifications_failed", "1" },
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        if (strcmp(figs(r, expect[i][0]), expect[i][1]) != 0)
            fprintf(stderr, "%s: %s, expected %s\n", expect[i][0], figs(r, expect[i][0]), expect[i][1]);
        assert_string_equal(figs(r, expect[i][0]), expect[i][1]);
    }
    assert_string_equal(figs(r, "levels_entry"), "{ \"1\": 2, \"2\": 1 }");
    assert_string_equal(figs(r, "satisfaction"), "{ \"1\": 1, \"2\": 1, \"3\": 0, \"4\": 0 }");
    /* the funnel, in order */
    json_object *funnel = NULL;
    json_object_object_get_ex(r, "funnel", &funnel);
    assert_int_equal(json_object_array_length(funnel), 8);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(funnel, 0), "stage")),
                        "referrals_received");
    /* the outlook: budget has 4 waiting, 8 seats of which 3 taken in the
     * next 28 days: 28 × (4 + 3 + 1) / 8 = 28 days, past a 28-day
     * threshold? not past it: no warning; initiation has no seat ahead and
     * nobody waiting: no warning either */
    json_object *ol = NULL;
    json_object_object_get_ex(r, "outlook", &ol);
    int found = 0;
    for (size_t i = 0; i < json_object_array_length(ol); i++) {
        json_object *k = json_object_array_get_idx(ol, i);
        if (strcmp(json_object_get_string(json_object_object_get(k, "kind")), "budget") != 0)
            continue;
        found = 1;
        assert_string_equal(json_object_to_json_string(json_object_object_get(k, "projected_wait_days")), "28.0");
        assert_string_equal(json_object_to_json_string(json_object_object_get(k, "weekly_seats")), "2.0");
        assert_false(json_object_get_boolean(json_object_object_get(k, "warning")));
    }
    assert_true(found);
    json_object_put(r);
}

static void kpi_filters_and_groupings(void **state)
{
    (void)state;
    json_object *r = get_json("/api/kpi?from=2026-12-01&to=2026-12-10&branch=wilson");
    assert_non_null(r);
    assert_string_equal(figs(r, "referrals_received"), "3");
    assert_string_equal(figs(r, "referrals_accepted"), "2");
    assert_string_equal(figs(r, "people_trained"), "2");
    assert_string_equal(figs(r, "assigned"), "2");
    assert_string_equal(figs(r, "wait_samples"), "2");
    /* what has no branch is null, never a number meaning something else */
    assert_string_equal(figs(r, "workshops_held"), "null");
    assert_string_equal(figs(r, "satisfaction"), "null");
    assert_string_equal(figs(r, "waiting"), "null");
    json_object_put(r);

    r = get_json("/api/kpi?from=2026-12-01&to=2026-12-10&kind=budget");
    assert_string_equal(figs(r, "assigned"), "1");
    assert_string_equal(figs(r, "people_trained"), "0");
    assert_string_equal(figs(r, "noshow"), "1");
    assert_string_equal(figs(r, "waiting"), "4");
    assert_string_equal(figs(r, "seats_offered"), "8");
    assert_string_equal(figs(r, "referrals_accepted"), "null");
    json_object_put(r);

    r = get_json("/api/kpi?from=2026-12-01&to=2026-12-10&partner=emmaus");
    assert_string_equal(figs(r, "referrals_accepted"), "1");
    assert_string_equal(figs(r, "people_trained"), "0");
    assert_string_equal(figs(r, "no_consent"), "null");
    json_object_put(r);

    r = get_json("/api/kpi?from=2026-12-01&to=2026-12-10&by=week");
    json_object *rows = NULL;
    json_object_object_get_ex(r, "rows", &rows);
    assert_int_equal(json_object_array_length(rows), 2);
    json_object *w49 = json_object_array_get_idx(rows, 0), *w50 = json_object_array_get_idx(rows, 1);
    assert_string_equal(json_object_get_string(json_object_object_get(w49, "key")), "2026-W49");
    assert_string_equal(json_object_get_string(json_object_object_get(w50, "from")), "2026-12-07");
    assert_string_equal(figs(w49, "referrals_accepted"), "3");
    assert_string_equal(figs(w50, "referrals_accepted"), "0");
    assert_string_equal(figs(w50, "people_trained"), "2");
    json_object_put(r);

    r = get_json("/api/kpi?from=2026-12-01&to=2026-12-10&by=branch");
    json_object_object_get_ex(r, "rows", &rows);
    assert_int_equal(json_object_array_length(rows), 2);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(rows, 0), "key")),
                        "bellevue");
    assert_string_equal(figs(json_object_array_get_idx(rows, 1), "people_accompanied"), "2");
    json_object_put(r);

    /* refused queries */
    web_reply_t w;
    assert_int_equal(web_get(http_port, "/api/kpi?from=2026-13-01", 5000, &w), 0);
    assert_int_equal(w.status, 400);
    assert_non_null(strstr(w.body, "INVALID_FIELD"));
    web_free(&w);
    assert_int_equal(web_get(http_port, "/api/kpi?branch=a%20b", 5000, &w), 0);
    assert_int_equal(w.status, 400);
    web_free(&w);
    assert_int_equal(web_get(http_port, "/nowhere", 5000, &w), 0);
    assert_int_equal(w.status, 404);
    web_free(&w);
}

/* needle is in text; else text is shown, to see what was there */
static void expect_in(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fprintf(stderr, "missing: %s\nin:\n%s\n", needle, text);
    assert_non_null(strstr(text, needle));
}

static char *get_csv(const char *path)
{
    web_reply_t w;
    assert_int_equal(web_get(http_port, path, 10000, &w), 0);
    assert_int_equal(w.status, 200);
    char type[128];
    assert_int_equal(web_header(&w, "Content-Type", type, sizeof type), 0);
    assert_string_equal(type, "text/csv; charset=utf-8");
    assert_memory_equal(w.body, "\xEF\xBB\xBF", 3); /* Excel reads UTF-8 only with its BOM */
    char *csv = strdup(w.body + 3);
    web_free(&w);
    return csv;
}

static void commission_csv(void **state)
{
    (void)state;
    char *csv = get_csv("/api/export.csv?table=commission&from=2026-12-01&to=2026-12-10");
    assert_true(!strncmp(csv, "Période;Du;Au;Agence;Type d'atelier;Orientations reçues;", 58));
    /* one row per month × branch × kind, the totals first; CRLF */
    expect_in(csv, "\r\n2026-12;2026-12-01;2026-12-10;Toutes agences;Tous ateliers;4;3;3;3;3;2;1;0;2\r\n");
    expect_in(csv, "\r\n2026-12;2026-12-01;2026-12-10;wilson;Tous ateliers;3;2;2;2;2;2;0;0;2\r\n");
    expect_in(csv, "\r\n2026-12;2026-12-01;2026-12-10;wilson;Initiation au numérique;;;;2;2;2;0;0;2\r\n");
    expect_in(csv, "\r\n2026-12;2026-12-01;2026-12-10;bellevue;Outils budgétaires;;;;1;1;0;1;0;0\r\n");
    int rows = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        rows++;
    assert_int_equal(rows, 1 + 3 * 4); /* header + (all, bellevue, wilson) × (all + 3 kinds) */
    free(csv);

    csv = get_csv("/api/export.csv?table=activities&from=2026-12-01&to=2026-12-10");
    assert_true(!strncmp(csv, "Date;Heure;Durée (minutes);Type d'activité;Atelier;Thématiques;Niveau;Lieu;", 70));
    /* the two sessions held, in time order; the cancelled one is not */
    expect_in(csv, "\r\n2026-12-08;09:30;120;Atelier collectif;Initiation au numérique;Initiation au "
                                "numérique;Débutant;wilson;42;2;0;0;8\r\n");
    expect_in(csv, "\r\n2026-12-08;14:00;120;Atelier collectif;Outils budgétaires;online_banking, budget;"
                                "Débutant / Intermédiaire;bellevue;42;0;1;0;8\r\n");
    assert_null(strstr(csv, "2026-12-09;"));
    free(csv);
}

/* Publication: counts of 1 to 4 become "<5"; where a line of the grid would
 * then hide one cell only, a second is hidden so that no subtraction gives
 * it back. */
static void publication_suppresses_small_counts(void **state)
{
    (void)state;
    char *csv = get_csv("/api/export.csv?table=commission&from=2026-12-01&to=2026-12-10&publication=1");
    assert_null(strstr(csv, ";1;"));
    assert_null(strstr(csv, ";2;"));
    assert_null(strstr(csv, ";3;"));
    assert_null(strstr(csv, ";4;"));
    expect_in(csv, "Toutes agences;Tous ateliers;<5;<5;<5;<5;<5;<5;<5;0;<5\r\n");
    free(csv);

    /* more people: 12 trained in initiation at wilson, 3 at bellevue in
     * budget; the 3 is hidden, and in every line of the grid (a branch
     * across kinds, a kind across branches) where it hides one cell, a
     * second one is hidden too */
    fill("tp:{42}:scheduler:fig:2026-12-02", "trained 15 trained@b:wilson 12 trained@b:bellevue 3 trained:initiation 12 "
                                              "trained:initiation@b:wilson 12 trained:budget 3 trained:budget@b:bellevue 3");
    csv = get_csv("/api/export.csv?table=commission&from=2026-12-02&to=2026-12-02&publication=1");
    expect_in(csv, "Toutes agences;Tous ateliers;0;0;0;0;0;0;0;0;15\r\n");
    expect_in(csv, "bellevue;Outils budgétaires;;;;0;0;0;0;0;<5\r\n");
    /* the last column (people trained) as a grid: 3 branches × 4 kinds */
    const char *branches[] = { "Toutes agences", "bellevue", "wilson" };
    const char *kinds[] = { "Tous ateliers", "Outils budgétaires", "Initiation au numérique", "Perfectionnement au numérique" };
    int hidden[3][4] = { { 0 } };
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 4; k++) {
            char row[200];
            snprintf(row, sizeof row, ";%s;%s;", branches[b], kinds[k]);
            const char *at = strstr(csv, row);
            assert_non_null(at);
            const char *eol = strstr(at, "\r\n"), *last = eol;
            while (last[-1] != ';')
                last--;
            hidden[b][k] = last[0] == '<';
        }
    for (int b = 0; b < 3; b++) {
        int n = 0;
        for (int k = 0; k < 4; k++)
            n += hidden[b][k];
        assert_int_not_equal(n, 1);
    }
    for (int k = 0; k < 4; k++) {
        int n = 0;
        for (int b = 0; b < 3; b++)
            n += hidden[b][k];
        assert_int_not_equal(n, 1);
    }
    free(csv);
    /* unpublished: every count as it is */
    csv = get_csv("/api/export.csv?table=commission&from=2026-12-02&to=2026-12-02");
    expect_in(csv, "bellevue;Outils budgétaires;;;;0;0;0;0;0;3\r\n");
    free(csv);
    redisReply *r = h_redis(&env, "DEL tp:{42}:scheduler:fig:2026-12-02");
    freeReplyObject(r);
}

static h_answer_t close_period(const char *from, const char *to)
{
    char ep[64];
    h_service_endpoint(&env, "reporter", ep, sizeof ep);
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__ClosePeriod c = TREMPLIN__CLOSE_PERIOD__INIT;
    c.from = (char *)from;
    c.to = (char *)to;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CLOSE_PERIOD;
    req.close_period = &c;
    return h_ask(&env, ep, &req);
}

static char *get_text(const char *path)
{
    web_reply_t w;
    assert_int_equal(web_get(http_port, path, 10000, &w), 0);
    assert_int_equal(w.status, 200);
    char *s = strdup(w.body);
    web_free(&w);
    return s;
}

/* A closed period is answered from what was frozen: more activity, even on
 * its own days, changes nothing of it — figures and exports; an open
 * period sees the activity. */
static void closed_period_never_changes(void **state)
{
    (void)state;
    const char *q = "/api/kpi?from=2026-12-01&to=2026-12-09", *csvq = "/api/export.csv?from=2026-12-01&to=2026-12-09";
    assert_string_equal(close_period("2026-12-01", "2026-12-10").code, "PERIOD_NOT_OVER"); /* today */
    assert_string_equal(close_period("2026-12-09", "2026-12-01").code, "INVALID_FIELD");
    /* Dec 9's attendance may be corrected until Dec 12, 24:00 (72 h) */
    assert_string_equal(close_period("2026-12-01", "2026-12-09").code, "PERIOD_NOT_OVER");
    set_now("2026-12-12T22:30:00Z"); /* Dec 12, 23:30 in Paris: still open to corrections */
    assert_string_equal(close_period("2026-12-01", "2026-12-09").code, "PERIOD_NOT_OVER");
    set_now("2026-12-12T23:00:30Z"); /* Dec 13, 00:00:30 */
    h_answer_t a = close_period("2026-12-01", "2026-12-09");
    assert_string_equal(a.code, "ACK");
    assert_string_equal(a.status, "closed");
    json_object *before = get_json(q);
    char *csv_before = get_text(csvq);
    json_object *period = json_object_object_get(before, "period");
    assert_true(json_object_get_boolean(json_object_object_get(period, "closed")));

    /* more activity on the period's days, and a correction */
    redisReply *r = h_redis(&env, "HINCRBY tp:{42}:intake:fig:2026-12-01 referrals 5");
    freeReplyObject(r);
    r = h_redis(&env, "HINCRBY tp:{42}:scheduler:fig:2026-12-08 trained -1");
    freeReplyObject(r);
    r = h_redis(&env, "HINCRBY tp:{42}:scheduler:fig:session:20261208-0930-wilson-initiation seen 3");
    freeReplyObject(r);
    assert_string_equal(close_period("2026-12-01", "2026-12-09").status, "closed"); /* again: nothing moves */

    json_object *after = get_json(q);
    char *csv_after = get_text(csvq);
    json_object_object_del(before, "version");
    json_object_object_del(after, "version");
    assert_string_equal(json_object_to_json_string(before), json_object_to_json_string(after));
    assert_string_equal(csv_before, csv_after);
    /* the same days, not as the closed period: live */
    json_object *live = get_json("/api/kpi?from=2026-12-01&to=2026-12-08");
    assert_string_equal(figs(live, "referrals_accepted"), "8");
    assert_string_equal(figs(live, "people_trained"), "1");
    assert_string_equal(figs(before, "referrals_accepted"), "3");
    json_object_put(before);
    json_object_put(after);
    json_object_put(live);
    free(csv_before);
    free(csv_after);
    r = h_redis(&env, "HINCRBY tp:{42}:intake:fig:2026-12-01 referrals -5");
    freeReplyObject(r);
    r = h_redis(&env, "HINCRBY tp:{42}:scheduler:fig:2026-12-08 trained 1");
    freeReplyObject(r);
    r = h_redis(&env, "HINCRBY tp:{42}:scheduler:fig:session:20261208-0930-wilson-initiation seen -3");
    freeReplyObject(r);
    set_now("2026-12-10T10:00:00Z"); /* back to the group's day */
}

/* /metrics as Prometheus reads it: promtool finds nothing to say. */
static void metrics_pass_promtool(void **state)
{
    (void)state;
    web_reply_t w;
    assert_int_equal(web_get(http_port, "/metrics", 10000, &w), 0);
    assert_int_equal(w.status, 200);
    assert_non_null(strstr(w.body, "tremplin_people{territory=\"42\",stage=\"trained\"}"));
    assert_non_null(strstr(w.body, "tremplin_waiting{territory=\"42\",kind=\"budget\"} 4\n"));
    assert_non_null(strstr(w.body, "tremplin_service_up{service=\"reporter\"} 1\n"));
    assert_non_null(strstr(w.body, "tremplin_service_up{service=\"intake\"} 0\n")); /* not started */
    assert_non_null(strstr(w.body, "tremplin_outlook_projected_wait_seconds{territory=\"42\",kind=\"budget\"} 2419200\n"));
    char path[400];
    snprintf(path, sizeof path, "%s/metrics.txt", env.dir);
    FILE *f = fopen(path, "w");
    fwrite(w.body, 1, w.len, f);
    fclose(f);
    fprintf(stderr, "tp metrics: %zu bytes in %lld µs\n", w.len, w.micros);
    web_free(&w);
    char cmd[600], out[4096] = "";
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    if (rc != 0)
        fprintf(stderr, "promtool: %s\n", out);
    assert_int_equal(rc, 0);
    /* and it fails when the text is broken: a sample before its family */
    snprintf(cmd, sizeof cmd, "{ echo 'tremplin_x{a=\"1\"} 1'; cat %s; echo 'tremplin_x{a=\"2\"} 2'; } | promtool check metrics >/dev/null 2>&1", path);
    assert_int_not_equal(system(cmd), 0);
}

/* The character columns of the " | " on each line of a breakdown's table,
 * from its heading (the line that starts with heading) to the first empty
 * line: equal on every line, or the test fails naming the line. */
static void bars_line_up(const char *out, const char *heading)
{
    const char *line = strstr(out, heading);
    assert_non_null(line);
    int want[32], nwant = -1;
    while (*line && *line != '\n') {
        int cols[32], n = 0, col = 0;
        const char *p = line;
        for (; *p && *p != '\n'; p++) {
            if (*p == '|' && n < 32)
                cols[n++] = col;
            col += (*p & 0xC0) != 0x80;
        }
        if (nwant < 0) {
            memcpy(want, cols, sizeof cols);
            nwant = n;
        }
        if (n != nwant || memcmp(cols, want, (size_t)n * sizeof *cols) != 0)
            fail_msg("the columns do not line up: \"%.*s\"", (int)(p - line), line);
        line = *p ? p + 1 : p;
    }
    assert_true(nwant > 3);
}

/* `tremplin kpi` prints the figures of /api/kpi: as JSON, the same
 * figures; as a table, in French, its columns lined up. */
static void cli_prints_the_same_figures(void **state)
{
    (void)state;
    static char out[262144];
    assert_int_equal(h_cli(&env, out, sizeof out, "kpi --from 2026-12-01 --to 2026-12-10 --json"), 0);
    json_object *cli = json_tokener_parse(out), *api = get_json("/api/kpi?from=2026-12-01&to=2026-12-10");
    assert_non_null(cli);
    assert_string_equal(json_object_to_json_string(json_object_object_get(cli, "figures")),
                        json_object_to_json_string(json_object_object_get(api, "figures")));
    json_object_put(cli);
    json_object_put(api);
    assert_int_equal(h_cli(&env, out, sizeof out, "kpi --from 2026-12-01 --to 2026-12-10"), 0);
    assert_non_null(strstr(out, "Personnes formées"));
    assert_non_null(strstr(out, "Taux de remplissage (%)"));
    assert_non_null(strstr(out, "12,5"));
    assert_int_equal(h_cli(&env, out, sizeof out, "kpi --from 2026-12-01 --to 2026-12-10 --by branch"), 0);
    assert_non_null(strstr(out, "wilson"));
    bars_line_up(out, "Agence ");
    assert_int_equal(h_cli(&env, out, sizeof out, "kpi --from 2026-12-01 --to 2026-12-10 --by week"), 0);
    bars_line_up(out, "Semaine ");
    assert_int_equal(h_cli(&env, out, sizeof out, "kpi --by year"), 2);
    assert_int_equal(h_cli(&env, out, sizeof out, "kpi --from 2026-12-31 --to 2026-12-01"), 2);
    assert_int_equal(h_cli(&env, out, sizeof out, "kpi --export commission --from 2026-12-01 --to 2026-12-10"), 0);
    assert_non_null(strstr(out, "Toutes agences;Tous ateliers;4;3;3;3;3;2;1;0;2"));
}

/* The reporter's Redis user reads figures and nothing else. */
static void reporter_reads_figures_only(void **state)
{
    (void)state;
    char pass[128];
    assert_int_equal(h_read_secret(&env, "reporter", pass, sizeof pass), 0);
    redisContext *c = redisConnect("127.0.0.1", env.redis_port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "AUTH reporter %s", pass);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(c, "HGET tp:{42}:intake:fig:2026-12-01 referrals");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    const char *denied[] = { "HGETALL tp:{42}:intake:contact:0123456789abcdef0123456789abcdef",
                             "HGETALL tp:{42}:intake:person:0123456789abcdef0123456789abcdef",
                             "HGETALL tp:{42}:scheduler:booking:K7M2Q9XH4T",
                             "HINCRBY tp:{42}:intake:fig:2026-12-01 referrals 1" };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        r = redisCommand(c, denied[i]);
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        assert_non_null(strstr(r->str, "NOPERM"));
        freeReplyObject(r);
    }
    redisFree(c);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kpi_of_the_whole_period),
        cmocka_unit_test(kpi_filters_and_groupings),
        cmocka_unit_test(commission_csv),
        cmocka_unit_test(publication_suppresses_small_counts),
        cmocka_unit_test(closed_period_never_changes),
        cmocka_unit_test(metrics_pass_promtool),
        cmocka_unit_test(cli_prints_the_same_figures),
        cmocka_unit_test(reporter_reads_figures_only),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("reporter", tests, setup, h_group_teardown);
}
