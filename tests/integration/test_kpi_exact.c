/* Every figure the reporter serves, recomputed from the services' raw
 * records by a reader of its own — referrals, people, assignments,
 * bookings, sessions, waitlists as intake, the matcher and the scheduler
 * store them, read as the Redis admin, with none of the reporter's code —
 * after two days of a programme run through the real services: imports of
 * referrals from three branches (some without consent, two people referred
 * again and re-assessed), seats, waitlists, offers declined, a cancellation,
 * a session cancelled by staff, attendance marked seen, noshow and excused,
 * a correction; with kill -9 of the matcher, the scheduler (twice) and
 * intake, each restarted, along the way. The reporter's /api/kpi must equal
 * the recomputation to the unit: for each day, for the two days, for each
 * branch, partner and kind, and the capacity outlook. The survey and the
 * gateway, built apart, are given figures written by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "web.h"

#define T "tp:{42}:"
#define DAY_MS 86400000LL

static h_env_t env;
static pid_t pid_of[5]; /* intake matcher scheduler reporter */
enum { INTAKE, MATCHER, SCHEDULER, REPORTER };
static const char *const names[] = { "intake", "matcher", "scheduler", "reporter" };

/* ------------------------------------------------------------ raw records */

/* Every record of a kind, as {id: {field: "value"}} (SCAN + HGETALL). */
typedef struct {
    const char *prefix;
    json_object *out;
} collect_t;

static int collect_one(h_env_t *h, const char *key, void *arg)
{
    collect_t *c = arg;
    redisReply *r = h_redis(h, "HGETALL %s", key);
    json_object *o = json_object_new_object();
    for (size_t i = 0; r && i + 1 < r->elements; i += 2)
        json_object_object_add(o, r->element[i]->str, json_object_new_string(r->element[i + 1]->str));
    if (r)
        freeReplyObject(r);
    json_object_object_add(c->out, key + strlen(c->prefix), o);
    return 0;
}

static json_object *records(const char *prefix)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "%s*", prefix);
    collect_t c = { prefix, json_object_new_object() };
    assert_int_equal(h_scan(&env, pattern, collect_one, &c), 0);
    return c.out;
}

static const char *S(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static long long N(json_object *o, const char *k)
{
    const char *s = S(o, k);
    return s ? atoll(s) : 0;
}

static json_object *R(json_object *o, const char *k)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return v;
}

typedef struct {
    json_object *referrals, *ipersons, *assignments, *bookings, *sessions, *spersons;
    long long now;
} raw_t;

static raw_t raw_read(void)
{
    raw_t r;
    r.referrals = records(T "intake:referral:");
    r.ipersons = records(T "intake:person:");
    r.assignments = records(T "matcher:assignment:");
    r.bookings = records(T "scheduler:booking:");
    r.sessions = records(T "scheduler:session:");
    r.spersons = records(T "scheduler:person:");
    r.now = clock_now_ms();
    return r;
}

static void raw_free(raw_t *r)
{
    json_object_put(r->referrals);
    json_object_put(r->ipersons);
    json_object_put(r->assignments);
    json_object_put(r->bookings);
    json_object_put(r->sessions);
    json_object_put(r->spersons);
}

/* ------------------------------------------------------------ the recomputation */

typedef struct {
    const char *from, *to, *branch, *partner, *kind;
} q_t;

static int in_days(const q_t *q, long long ms)
{
    char day[11];
    clock_local_day(ms, day);
    return strcmp(day, q->from) >= 0 && strcmp(day, q->to) <= 0;
}

static int day_in(const q_t *q, const char *day) { return day && strcmp(day, q->from) >= 0 && strcmp(day, q->to) <= 0; }

/* The branch and partner a person was first referred from: intake's record
 * of the person and of its first referral. */
static void person_origin(const raw_t *r, const char *pid, const char **branch, const char **partner)
{
    json_object *p = R(r->ipersons, pid);
    *branch = S(p, "first_branch");
    *partner = S(R(r->referrals, S(p, "first_referral") ? S(p, "first_referral") : ""), "partner");
}

static int origin_ok(const q_t *q, const char *branch, const char *partner)
{
    return (!q->branch || (branch && !strcmp(branch, q->branch))) && (!q->partner || (partner && !strcmp(partner, q->partner)));
}

static int person_ok(const raw_t *r, const q_t *q, const char *pid)
{
    const char *b, *p;
    person_origin(r, pid, &b, &p);
    return origin_ok(q, b, p);
}

static long long tenths_pct(long long num, long long den) { return den > 0 ? (num * 1000 + den / 2) / den : -1; }

static void put(json_object *o, const char *k, long long v) { json_object_object_add(o, k, v < 0 ? NULL : json_object_new_int64(v)); }

static void put_t(json_object *o, const char *k, long long t)
{
    char b[32];
    snprintf(b, sizeof b, "%lld.%lld", t / 10, t % 10);
    json_object_object_add(o, k, t < 0 ? NULL : json_object_new_double_s((double)t / 10, b));
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* When a booking was a confirmed seat: made booked, or an offer accepted. */
static long long confirmed_at(json_object *b)
{
    const char *via = S(b, "via");
    if (via && !strcmp(via, "waitlist"))
        return S(b, "answered") ? N(b, "answered") : -1;
    return N(b, "created");
}

/* The person's first workshop attended: their seen booking marked first. */
static json_object *first_seen(const raw_t *r, const char *pid, const char **bid_out)
{
    json_object *best = NULL;
    json_object_object_foreach(r->bookings, bid, b)
    {
        if (strcmp(S(b, "pid"), pid) || strcmp(S(b, "status"), "seen"))
            continue;
        if (!best || N(b, "marked") < N(best, "marked")) {
            best = b;
            *bid_out = bid;
        }
    }
    return best;
}

static json_object *truth(const raw_t *r, const q_t *q)
{
    json_object *o = json_object_new_object();
    int by_origin_only = q->kind == NULL;
    /* referrals */
    long long accepted = 0, refused = 0, people_new = 0;
    json_object_object_foreach(r->referrals, rid, ref)
    {
        (void)rid;
        if (in_days(q, N(ref, "created_ms")) && origin_ok(q, S(ref, "branch"), S(ref, "partner")))
            accepted++;
    }
    char day[11];
    int32_t d0, d1;
    cal_parse_date(q->from, 2000, 2199, &d0);
    cal_parse_date(q->to, 2000, 2199, &d1);
    const char *branches[] = { "wilson", "bellevue", "montreynaud" };
    for (int32_t d = d0; d <= d1; d++)
        for (int b = 0; b < 3; b++) {
            cal_format_date(d, day);
            if (!q->branch || !strcmp(q->branch, branches[b]))
                refused += h_redis_int(&env, "SCARD " T "intake:noconsent:%s:%s", day, branches[b]);
        }
    json_object_object_foreach(r->ipersons, pid0, ip)
    {
        (void)pid0;
        people_new += in_days(q, N(ip, "created_ms"));
    }
    put(o, "referrals_accepted", by_origin_only ? accepted : -1);
    put(o, "no_consent", by_origin_only && !q->partner ? refused : -1);
    put(o, "referrals_received", by_origin_only && !q->partner ? accepted + refused : -1);
    put(o, "people_new", !q->branch && !q->partner && !q->kind ? people_new : -1);

    /* assessments, in time order per person */
    long long assessed = 0, assigned = 0, accompanied = 0, people_assigned = 0;
    json_object *entry = json_object_new_object(), *again = json_object_new_object(), *change = json_object_new_object();
    json_object *seen_people = json_object_new_object();
    json_object_object_foreach(r->assignments, rid1, a)
    {
        const char *partner = S(R(r->referrals, rid1), "partner");
        int ok = origin_ok(q, S(a, "branch"), partner);
        const char *kind = S(a, "kind");
        if (in_days(q, N(a, "decided_ms")) && ok) {
            assessed++;
            if (kind && *kind && (!q->kind || !strcmp(kind, q->kind)))
                assigned++;
        }
        /* first of the person? */
        const char *pid = S(a, "person_id");
        long long t = N(a, "decided_ms");
        int first = 1, first_kind = kind && *kind;
        const char *prev_level = NULL;
        long long prev_t = -1;
        json_object_object_foreach(r->assignments, rid2, b)
        {
            if (!strcmp(rid1, rid2) || strcmp(S(b, "person_id"), pid))
                continue;
            long long tb = N(b, "decided_ms");
            if (tb < t) {
                first = 0;
                if (S(b, "kind") && *S(b, "kind"))
                    first_kind = 0;
                if (tb > prev_t) {
                    prev_t = tb;
                    prev_level = S(b, "level");
                }
            }
        }
        if (!in_days(q, t))
            continue;
        if (first && ok)
            accompanied++;
        if (kind && *kind && first_kind && ok)
            people_assigned++;
        json_object *into = first ? entry : again;
        const char *lv = S(a, "level");
        json_object_object_add(into, lv, json_object_new_int64(json_object_get_int64(R(into, lv)) + 1));
        if (!first) {
            char k[16];
            snprintf(k, sizeof k, "%s:%s", prev_level, lv);
            json_object_object_add(change, k, json_object_new_int64(json_object_get_int64(R(change, k)) + 1));
        }
    }
    json_object_put(seen_people);
    put(o, "assessed", by_origin_only ? assessed : -1);
    put(o, "assigned", assigned);
    put(o, "people_accompanied", by_origin_only ? accompanied : -1);
    put(o, "people_assigned", by_origin_only ? people_assigned : -1);
    int plain = !q->branch && !q->partner && !q->kind;
    json_object_object_add(o, "levels_entry", plain ? entry : (json_object_put(entry), NULL));
    json_object_object_add(o, "levels_reassessed", plain ? again : (json_object_put(again), NULL));
    json_object_object_add(o, "level_changes", plain ? change : (json_object_put(change), NULL));

    /* seats and attendance */
    long long bookings = 0, offers = 0, accepted_offers = 0, declined = 0, expired = 0, cancelled = 0, seen = 0,
              noshow = 0, excused = 0, flagged = 0, booked_people = 0, trained = 0;
    long long waits[256];
    size_t nwaits = 0;
    json_object *firsts = json_object_new_object(); /* pid -> first confirmation ms */
    json_object_object_foreach(r->bookings, bid, b)
    {
        (void)bid;
        const char *pid = S(b, "pid"), *kind = S(b, "kind"), *st = S(b, "status");
        if (!person_ok(r, q, pid))
            continue;
        long long c = confirmed_at(b);
        if (c >= 0) {
            char *k = (char *)pid;
            if (!R(firsts, k) || json_object_get_int64(R(firsts, k)) > c)
                json_object_object_add(firsts, k, json_object_new_int64(c));
        }
        if (q->kind && strcmp(kind, q->kind))
            continue;
        if (c >= 0 && in_days(q, c))
            bookings++;
        int via = S(b, "via") && !strcmp(S(b, "via"), "waitlist");
        if (via && in_days(q, N(b, "created")))
            offers++;
        if (via && S(b, "answered") && in_days(q, N(b, "answered")))
            accepted_offers++;
        if (!strcmp(st, "declined") && in_days(q, N(b, "closed")))
            declined++;
        if (!strcmp(st, "expired") && in_days(q, N(b, "closed")))
            expired++;
        if (!strcmp(st, "cancelled") && in_days(q, N(b, "closed")))
            cancelled++;
        if (day_in(q, S(b, "marked_day"))) {
            seen += !strcmp(st, "seen");
            noshow += !strcmp(st, "noshow");
            excused += !strcmp(st, "excused");
            flagged += S(b, "flagged") != NULL;
        }
    }
    json_object_object_foreach(firsts, fp, fms)
    {
        (void)fp;
        booked_people += in_days(q, json_object_get_int64(fms));
    }
    json_object_put(firsts);
    json_object_object_foreach(r->spersons, pid2, sp)
    {
        (void)sp;
        const char *first_bid = NULL;
        json_object *fs = first_seen(r, pid2, &first_bid);
        if (!fs || !person_ok(r, q, pid2) || !day_in(q, S(fs, "marked_day")) || (q->kind && strcmp(S(fs, "kind"), q->kind)))
            continue;
        trained++;
        json_object *sess = R(r->sessions, S(fs, "sid"));
        waits[nwaits++] = N(sess, "start") - N(fs, "referred_at");
    }
    put(o, "people_booked", q->kind ? -1 : booked_people);
    put(o, "people_trained", trained);
    put(o, "bookings", bookings);
    put(o, "offers", offers);
    put(o, "offers_accepted", accepted_offers);
    put(o, "offers_declined", declined);
    put(o, "offers_expired", expired);
    put(o, "cancellations", cancelled);
    put(o, "attended", seen);
    put(o, "noshow", noshow);
    put(o, "excused", excused);
    put_t(o, "noshow_rate", tenths_pct(noshow, seen + noshow + excused));
    put(o, "flagged_noshow", q->kind ? -1 : flagged);
    qsort(waits, nwaits, sizeof *waits, cmp_ll);
    put(o, "wait_samples", (long long)nwaits);
    put(o, "wait_ms_median", nwaits ? waits[(50 * nwaits + 99) / 100 - 1] : -1);
    put(o, "wait_ms_p90", nwaits ? waits[(90 * nwaits + 99) / 100 - 1] : -1);

    /* sessions: not by branch */
    long long held = 0, scancelled = 0, seats = 0, filled = 0, waiting = 0;
    json_object_object_foreach(r->sessions, sid, s)
    {
        if (!in_days(q, N(s, "start")) || (q->kind && strcmp(S(s, "kind"), q->kind)))
            continue;
        if (!strcmp(S(s, "status"), "cancelled")) {
            scancelled++;
        } else if (!strcmp(S(s, "status"), "open") && N(s, "start") <= r->now) {
            held++;
            seats += N(s, "capacity");
            json_object_object_foreach(r->bookings, bid3, b3)
            {
                (void)bid3;
                filled += !strcmp(S(b3, "sid"), sid) && !strcmp(S(b3, "status"), "seen");
            }
        }
    }
    json_object_object_foreach(r->spersons, pid3, sp3)
    {
        (void)pid3;
        json_object_object_foreach(sp3, f, v)
        {
            if (!strncmp(f, "active:", 7) && !strcmp(json_object_get_string(v), "waiting")
                && (!q->kind || !strcmp(f + 7, q->kind)))
                waiting++;
        }
    }
    int no_origin = !q->branch && !q->partner;
    put(o, "workshops_held", no_origin ? held : -1);
    put(o, "workshops_cancelled", no_origin ? scancelled : -1);
    put(o, "seats_offered", no_origin ? seats : -1);
    put(o, "seats_filled", no_origin ? filled : -1);
    put_t(o, "fill_rate", no_origin ? tenths_pct(filled, seats) : -1);
    put(o, "waiting", no_origin ? waiting : -1);
    return o;
}

/* The capacity outlook of kind, recomputed: open sessions of the next 28
 * days, people waiting, assignments of the last 28 days. */
static json_object *truth_outlook(const raw_t *r, const char *kind)
{
    long long seats = 0, taken = 0, sessions = 0, waiting = 0, arrivals = 0;
    json_object_object_foreach(r->sessions, sid, s)
    {
        (void)sid;
        long long st = N(s, "start");
        if (!strcmp(S(s, "kind"), kind) && !strcmp(S(s, "status"), "open") && st > r->now && st <= r->now + 28 * DAY_MS) {
            sessions++;
            seats += N(s, "capacity");
            taken += N(s, "taken");
        }
    }
    json_object_object_foreach(r->spersons, pid, sp)
    {
        (void)pid;
        char f[64];
        snprintf(f, sizeof f, "active:%s", kind);
        waiting += S(sp, f) && !strcmp(S(sp, f), "waiting");
    }
    char today[11], first[11];
    clock_local_day(r->now, today);
    clock_local_day(r->now - 27 * DAY_MS, first);
    q_t q = { first, today, NULL, NULL, NULL };
    json_object_object_foreach(r->assignments, rid, a)
    {
        (void)rid;
        arrivals += S(a, "kind") && !strcmp(S(a, "kind"), kind) && in_days(&q, N(a, "decided_ms"));
    }
    json_object *o = json_object_new_object();
    put(o, "waiting", waiting);
    put(o, "sessions_ahead", sessions);
    put(o, "seats_ahead", seats);
    put(o, "taken_ahead", taken);
    put(o, "arrivals_recent", arrivals);
    put_t(o, "projected_wait_days", seats > 0 ? (280 * (waiting + taken + 1) + seats / 2) / seats : -1);
    return o;
}

/* ------------------------------------------------------------ the run */

static int port;

static json_object *api(const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    web_reply_t w;
    assert_int_equal(web_get(port, path, 20000, &w), 0);
    if (w.status != 200)
        fprintf(stderr, "GET %s: %d %s\n", path, w.status, w.body);
    assert_int_equal(w.status, 200);
    json_object *o = json_tokener_parse(w.body);
    web_free(&w);
    assert_non_null(o);
    return o;
}

/* A value as text, objects with their keys sorted (the order of a
 * distribution's keys means nothing). */
static int cmp_key(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void canon(json_object *v, char *out, size_t cap)
{
    if (!v || !json_object_is_type(v, json_type_object)) {
        snprintf(out, cap, "%s", v ? json_object_to_json_string(v) : "null");
        return;
    }
    const char *keys[64];
    size_t n = 0;
    json_object_object_foreach(v, k, x)
    {
        (void)x;
        if (n < 64)
            keys[n++] = k;
    }
    qsort(keys, n, sizeof *keys, cmp_key);
    size_t l = (size_t)snprintf(out, cap, "{");
    for (size_t i = 0; i < n && l < cap; i++)
        l += (size_t)snprintf(out + l, cap - l, "%s%s:%lld", i ? "," : "", keys[i], (long long)json_object_get_int64(R(v, keys[i])));
    if (l < cap)
        snprintf(out + l, cap - l, "}");
}

/* Every figure of the recomputation equals the reporter's; returns how many
 * were compared. */
static int compare(json_object *want, json_object *rep, const char *what)
{
    json_object *figs = R(rep, "figures");
    int n = 0, bad = 0;
    json_object_object_foreach(want, k, v)
    {
        char a[512], b[512];
        canon(v, a, sizeof a);
        canon(R(figs, k), b, sizeof b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "%s: %s = %s, recomputed %s\n", what, k, b, a);
            bad++;
        }
        n++;
    }
    assert_int_equal(bad, 0);
    return n;
}

static void restart(int svc)
{
    h_signal(pid_of[svc], SIGKILL);
    pid_of[svc] = h_start_ready(&env, names[svc], NULL, NULL, 30000);
    assert_true(pid_of[svc] > 0);
}

static void reload_all(void)
{
    for (int i = 0; i < 4; i++)
        assert_int_equal(h_reload(&env, pid_of[i], names[i], 20000), 0);
}

/* Quiet: intake's and the matcher's outboxes empty, every assignment with
 * a kind known to the scheduler. */
static int quiet(h_env_t *h, void *arg)
{
    (void)arg;
    if (h_redis_int(h, "XLEN " T "intake:outbox") || h_redis_int(h, "XLEN " T "matcher:outbox"))
        return 0;
    json_object *as = records(T "matcher:assignment:");
    int ok = 1;
    json_object_object_foreach(as, rid, a)
    {
        if (S(a, "kind") && *S(a, "kind") && !h_redis_int(h, "EXISTS " T "scheduler:assigned:%s", rid))
            ok = 0;
    }
    json_object_put(as);
    return ok;
}

/* n referrals as JSON lines (deploy/examples/referral.json varied): branch,
 * partner, level (all answers = level), a budget need every fifth, three
 * availabilities in turn; without consent where i % 8 == 7. known: people
 * referred again (their person ids, NULL-terminated). */
static void write_referrals(const char *path, const char *tag, int n, const char *const *known)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    const char *br[] = { "wilson", "bellevue", "montreynaud" }, *pa[] = { "pimms", "emmaus" };
    const char *av[] = { "[\"mon-am\", \"tue-am\", \"wed-am\"]", "[\"mon-pm\", \"thu-pm\"]", "[\"mon-am\", \"wed-am\"]",
                         "[\"tue-pm\"]" };
    for (int i = 0; i < n || (known && known[i - n]); i++) {
        int k = i >= n;
        int level = i % 4, score = level == 0 ? 0 : level;
        char answers[256];
        snprintf(answers, sizeof answers,
                 "{\"mouse_touch\": %d, \"email\": %d, \"online_form\": %d, \"attach_document\": %d, \"online_banking\": %d, "
                 "\"spot_fraud\": %d, \"passwords\": %d, \"video_call\": %d}",
                 score, score, score, score, score, score, score, k ? 2 : score);
        char person[256];
        if (k)
            snprintf(person, sizeof person, "{\"person_id\": \"%s\", \"availability\": %s}", known[i - n], av[0]);
        else
            snprintf(person, sizeof person, "{\"given_name\": \"P%d\", \"phone\": \"06 12 34 56 78\", \"availability\": %s}",
                     i, av[(i + i / 4) % 4]);
        fprintf(f,
                "{\"branch\": \"%s\", \"external_ref\": \"%s-%03d\", \"mediator\": {\"id\": \"med-%d\", \"partner\": \"%s\"}, "
                "\"person\": %s, \"consent\": {\"given\": %s, \"given_at\": \"2026-11-26T09:30:00+01:00\", "
                "\"purposes\": [\"training\", \"sms\", \"survey\"], \"text_version\": \"2026-09\"}, "
                "\"needs\": %s, \"answers\": %s}\n",
                br[i % 3], tag, i, i % 5, pa[i % 2], person, !k && i % 8 == 7 ? "false" : "true",
                i % 5 == 4 ? "[\"budget\"]" : "[\"email\"]", answers);
    }
    fclose(f);
}

static void import(const char *tag, int n, const char *const *known)
{
    char path[400], cmd[512];
    static char out[65536];
    snprintf(path, sizeof path, "%s/%s.jsonl", env.dir, tag);
    write_referrals(path, tag, n, known);
    snprintf(cmd, sizeof cmd, "referral import %s", path);
    h_cli(&env, out, sizeof out, cmd); /* lines without consent are refused: exit 2 */
}

/* The people booked in a session, in the order of their bookings. */
static int roster(const char *sid, char pids[][40], int max)
{
    redisReply *r = h_redis(&env, "HGETALL " T "scheduler:roster:%s", sid);
    int n = 0;
    for (size_t i = 0; r && i + 1 < r->elements && n < max; i += 2) {
        redisReply *st = h_redis(&env, "HGET " T "scheduler:booking:%s status", r->element[i + 1]->str);
        if (st && st->str && !strcmp(st->str, "booked"))
            snprintf(pids[n++], 40, "%s", r->element[i]->str);
        if (st)
            freeReplyObject(st);
    }
    if (r)
        freeReplyObject(r);
    return n;
}

static void mark(const char *sid, const char *pid, const char *status)
{
    char cmd[256], out[4096];
    snprintf(cmd, sizeof cmd, "attendance %s %s %s --trainer t1", sid, pid, status);
    int rc = h_cli(&env, out, sizeof out, cmd);
    if (rc != 0)
        fprintf(stderr, "%s: %s", cmd, out);
    assert_int_equal(rc, 0);
}

static const char *TIMETABLE =
    "{ \"version\": \"exact\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 7,\n"
    "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" }, { \"id\": \"bellevue\", \"name_fr\": \"Bellevue\" } ],\n"
    "  \"slots\": [\n"
    "    { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 3 },\n"
    "    { \"day\": \"mon\", \"start\": \"14:00\", \"kind\": \"budget\", \"venue\": \"wilson\", \"trainer\": \"t3\", \"capacity\": 2 },\n"
    "    { \"day\": \"tue\", \"start\": \"09:30\", \"kind\": \"perfectionnement\", \"venue\": \"wilson\", \"trainer\": \"t2\", \"capacity\": 2 },\n"
    "    { \"day\": \"tue\", \"start\": \"14:00\", \"kind\": \"initiation\", \"venue\": \"bellevue\", \"trainer\": \"t4\", \"capacity\": 3 },\n"
    "    { \"day\": \"wed\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 1 },\n"
    "    { \"day\": \"thu\", \"start\": \"14:00\", \"kind\": \"budget\", \"venue\": \"wilson\", \"trainer\": \"t3\", \"capacity\": 2 } ] }\n";

static int sessions_made(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "ZCARD " T "scheduler:fig:sessions") >= 6;
}

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    clock_set_timezone("Europe/Paris");
    if (h_setup(&env) != 0 || h_write(&env, "timetable.json", TIMETABLE) != 0
        || h_set_clock(&env, "2026-11-30T05:00:00Z") != 0)
        return -1;
    port = env.base_port + 7;
    char out[1024];
    const char *br[] = { "wilson", "bellevue", "montreynaud" };
    for (int i = 0; i < 3; i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "branch add %s --name %s --territory 42", br[i], br[i]);
        if (h_cli(&env, out, sizeof out, cmd) != 0)
            return -1;
    }
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    for (int i = 0; i < 4; i++)
        if ((pid_of[i] = h_start_ready(&env, names[i], NULL, i == SCHEDULER ? fast : NULL, 30000)) < 0)
            return -1;
    return h_wait_for(&env, sessions_made, NULL, 20000);
}

static void set_clock(const char *iso)
{
    assert_int_equal(h_set_clock(&env, iso), 0);
    reload_all();
    clock_configure(0, 0, 1); /* the test's own "now" comes from the reporter's answer */
}

static void two_days_with_kills_then_every_figure_recomputed(void **state)
{
    (void)state;
    /* Monday 30 November, 06:00: the first referrals; the matcher and the
     * scheduler are killed while they work, and started again */
    import("A", 30, NULL);
    restart(MATCHER);
    nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
    restart(SCHEDULER);
    assert_int_equal(h_wait_for(&env, quiet, NULL, 60000), 0);

    /* 13:00: the morning's initiation is over; attendance, with the
     * scheduler killed in the middle of it */
    set_clock("2026-11-30T12:00:00Z");
    char pids[8][40];
    int n = roster("20261130-0930-wilson-initiation", pids, 8);
    assert_true(n >= 3);
    mark("20261130-0930-wilson-initiation", pids[0], "seen");
    mark("20261130-0930-wilson-initiation", pids[1], "noshow");
    restart(SCHEDULER);
    mark("20261130-0930-wilson-initiation", pids[2], "excused");
    /* a person cancels Wednesday: the seat goes to the waitlist; the first
     * offer is declined */
    n = roster("20261202-0930-wilson-initiation", pids, 8);
    assert_true(n >= 1);
    redisReply *b = h_redis(&env, "HGET " T "scheduler:roster:20261202-0930-wilson-initiation %s", pids[0]);
    char cmd[256], out[8192];
    snprintf(cmd, sizeof cmd, "booking cancel %s", b->str);
    freeReplyObject(b);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    redisReply *offers = h_redis(&env, "ZRANGE " T "scheduler:offers 0 0");
    if (offers && offers->elements == 1) {
        snprintf(cmd, sizeof cmd, "offer decline %s", offers->element[0]->str);
        assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    }
    if (offers)
        freeReplyObject(offers);
    offers = h_redis(&env, "ZRANGE " T "scheduler:offers 0 0"); /* the next one waiting: accepted */
    if (offers && offers->elements == 1) {
        snprintf(cmd, sizeof cmd, "offer accept %s", offers->element[0]->str);
        assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    }
    if (offers)
        freeReplyObject(offers);

    /* Tuesday 1 December, 06:00: more referrals, two people referred again
     * (re-assessed); intake killed right after the import */
    set_clock("2026-12-01T05:00:00Z");
    json_object *refs = records(T "matcher:assignment:");
    static char known_buf[2][40];
    const char *known[3] = { NULL, NULL, NULL };
    int nk = 0;
    json_object_object_foreach(refs, rid, a)
    {
        (void)rid;
        if (nk < 2 && S(a, "kind") && *S(a, "kind")) {
            snprintf(known_buf[nk], 40, "%s", S(a, "person_id"));
            known[nk] = known_buf[nk];
            nk++;
        }
    }
    json_object_put(refs);
    import("B", 12, known);
    restart(INTAKE);
    assert_int_equal(h_wait_for(&env, quiet, NULL, 60000), 0);

    /* 10:30: Monday afternoon's and Tuesday morning's sessions are over;
     * one mark corrected (seen, then noshow); staff cancel the afternoon's */
    set_clock("2026-12-01T09:30:00Z");
    const char *done[] = { "20261130-1400-wilson-budget", "20261201-0930-wilson-perfectionnement" };
    for (int s = 0; s < 2; s++) {
        n = roster(done[s], pids, 8);
        assert_true(n > 0);
        for (int i = 0; i < n; i++)
            mark(done[s], pids[i], "seen");
        if (s == 1)
            mark(done[s], pids[0], "noshow");
    }
    restart(SCHEDULER);
    assert_int_equal(h_cli(&env, out, sizeof out, "session cancel 20261201-1400-bellevue-initiation 'formateur absent'"), 0);

    /* the survey and the gateway, built apart: their figures as the test
     * writes them */
    redisReply *r;
    r = h_redis(&env, "HSET " T "survey:fig:2026-11-30 invited 1 answered 1 satisfaction:1 1 wants_more 1");
    freeReplyObject(r);
    r = h_redis(&env, "HSET " T "gateway:fig:2026-12-01 sent:sms 7 sent:letter 2 failed 1 given_up 1");
    freeReplyObject(r);

    /* the recomputation, against the reporter, to the unit */
    raw_t raw = raw_read();
    json_object *rep0 = api("/api/kpi?from=2026-11-30&to=2026-12-01");
    raw.now = json_object_get_int64(R(rep0, "now_ms"));
    json_object_put(rep0);
    int compared = 0;
    struct {
        const char *from, *to;
    } periods[] = { { "2026-11-30", "2026-12-01" }, { "2026-11-30", "2026-11-30" }, { "2026-12-01", "2026-12-01" } };
    for (size_t p = 0; p < 3; p++) {
        q_t q = { periods[p].from, periods[p].to, NULL, NULL, NULL };
        json_object *want = truth(&raw, &q), *rep = api("/api/kpi?from=%s&to=%s", q.from, q.to);
        compared += compare(want, rep, q.from);
        if (p == 0) { /* the survey's and the gateway's, as written */
            assert_string_equal(json_object_to_json_string(R(R(rep, "figures"), "pct_very_satisfied")), "100.0");
            assert_int_equal(json_object_get_int64(R(R(rep, "figures"), "notifications_sent")), 9);
            /* and it is a real run: each part of it happened */
            json_object *f = R(rep, "figures");
            const char *must[] = { "referrals_accepted", "no_consent", "people_trained", "attended", "noshow", "excused",
                                   "offers_declined", "offers_accepted", "cancellations", "workshops_held", "workshops_cancelled",
                                   "wait_samples", "waiting" };
            for (size_t m = 0; m < sizeof must / sizeof must[0]; m++) {
                if (json_object_get_int64(R(f, must[m])) <= 0)
                    fprintf(stderr, "the run did not exercise %s\n", must[m]);
                assert_true(json_object_get_int64(R(f, must[m])) > 0);
            }
            assert_true(json_object_object_length(R(f, "levels_reassessed")) > 0);
        }
        json_object_put(want);
        json_object_put(rep);
    }
    const char *filters[][2] = { { "branch", "wilson" },  { "branch", "bellevue" },  { "branch", "montreynaud" },
                                 { "partner", "pimms" },  { "partner", "emmaus" },   { "kind", "initiation" },
                                 { "kind", "budget" },    { "kind", "perfectionnement" } };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        q_t q = { "2026-11-30", "2026-12-01", NULL, NULL, NULL };
        if (!strcmp(filters[i][0], "branch"))
            q.branch = filters[i][1];
        else if (!strcmp(filters[i][0], "partner"))
            q.partner = filters[i][1];
        else
            q.kind = filters[i][1];
        json_object *want = truth(&raw, &q), *rep = api("/api/kpi?from=%s&to=%s&%s=%s", q.from, q.to, filters[i][0], filters[i][1]);
        compared += compare(want, rep, filters[i][1]);
        json_object_put(want);
        json_object_put(rep);
    }
    /* the outlook, per kind */
    json_object *rep = api("/api/kpi?from=2026-11-30&to=2026-12-01");
    json_object *ol = R(rep, "outlook");
    assert_int_equal(json_object_array_length(ol), 3);
    for (size_t i = 0; i < json_object_array_length(ol); i++) {
        json_object *k = json_object_array_get_idx(ol, i), *want = truth_outlook(&raw, S(k, "kind"));
        json_object_object_foreach(want, f, v)
        {
            const char *w = v ? json_object_to_json_string(v) : "null", *g = R(k, f) ? json_object_to_json_string(R(k, f)) : "null";
            if (strcmp(w, g))
                fprintf(stderr, "outlook %s: %s = %s, recomputed %s\n", S(k, "kind"), f, g, w);
            assert_string_equal(w, g);
            compared++;
        }
        json_object_put(want);
    }
    json_object_put(rep);
    fprintf(stderr, "tp exact: %d figures compared, all equal\n", compared);
    raw_free(&raw);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_days_with_kills_then_every_figure_recomputed),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("kpi_exact", tests, setup, h_group_teardown);
}
