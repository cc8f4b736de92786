/* The scheduler as staff, trainers and the gateway see it, on two instances
 * and a business clock the test moves: every CLI command (sessions,
 * booking cancel, offer accept|decline, session cancel, attendance), the
 * content of the notification jobs, events on the PUB sockets as a real
 * SUB socket gets them, TOO_LATE, a staff cancellation, SESSION_STARTED,
 * excused, the mediator flag after repeated no-shows, and the timers' lease
 * taken over when its holder is killed (an offer then expires). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"

#define MON "20261130-0930-wilson-initiation"
#define MON2 "20261207-0930-wilson-initiation"
#define BUD1 "20261130-1400-wilson-budget"
#define BUD2 "20261207-1400-wilson-budget"
#define WED3 "20261209-0930-wilson-initiation"

static h_env_t env;
static pid_t sched[2];
static char ep[2][64];
static int reloads;
static void *sub;

static int session_exists(h_env_t *h, void *arg)
{
    return h_redis_int(h, "EXISTS tp:{42}:scheduler:session:%s", (const char *)arg) == 1;
}

static void set_now(const char *iso_utc, int only)
{
    assert_int_equal(h_set_clock(&env, iso_utc), 0);
    reloads++;
    static const char *const labels[] = { "scheduler-a", "scheduler-b" };
    for (int i = 0; i < 2; i++)
        if (only < 0 || only == i) {
            h_signal(sched[i], SIGHUP);
            h_log_wait_t w = { labels[i], "event=reloaded", reloads };
            assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
        }
}

static int setup(void **state)
{
    (void)state;
    if (h_setup(&env) != 0)
        return -1;
    if (h_write(&env, "timetable.json", "{ \"version\": \"ops\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 14,\n"
          "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" } ],\n"
          "  \"slots\": [\n"
          "    { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 2 },\n"
          "    { \"day\": \"wed\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t2\", \"capacity\": 2 },\n"
          "    { \"day\": \"mon\", \"start\": \"14:00\", \"kind\": \"budget\", \"venue\": \"wilson\", \"trainer\": \"t3\", \"capacity\": 1 },\n"
          "    { \"day\": \"tue\", \"start\": \"14:00\", \"kind\": \"perfectionnement\", \"venue\": \"wilson\", \"trainer\": \"t4\", \"capacity\": 8 }\n"
          "  ] }\n") != 0)
        return -1;
    /* the MON session is within the 3 h cut-off from the start: TOO_LATE */
    if (h_conf_set(&env, "scheduler", "cutoff_hours", "3") || h_conf_set(&env, "scheduler", "offer_hours", "1")
        || h_conf_set(&env, "scheduler", "notice_min", "30"))
        return -1;
    if (h_set_clock(&env, "2026-11-30T06:00:00Z") != 0)
        return -1;
    /* two instances; the tool talks to the first */
    char bind_b[96], ev_b[96];
    h_service_endpoint(&env, "scheduler", ep[0], sizeof ep[0]);
    h_endpoint(&env, 23, ep[1], sizeof ep[1]);
    snprintf(bind_b, sizeof bind_b, "TREMPLIN_SCHEDULER_BIND=%s", ep[1]);
    snprintf(ev_b, sizeof ev_b, "TREMPLIN_SCHEDULER_EVENTS=tcp://127.0.0.1:%d", env.base_port + 24);
    const char *ea[] = { "TREMPLIN_SCHEDULER_INSTANCE=scheduler-a", "TREMPLIN_SCHEDULER_TIMER_MS=100",
                         "TREMPLIN_SCHEDULER_GENERATE_MS=200", "TREMPLIN_SCHEDULER_LEASE_MS=1000", NULL };
    const char *eb[] = { bind_b, ev_b, "TREMPLIN_SCHEDULER_INSTANCE=scheduler-b", "TREMPLIN_SCHEDULER_TIMER_MS=100",
                         "TREMPLIN_SCHEDULER_GENERATE_MS=200", "TREMPLIN_SCHEDULER_LEASE_MS=1000", NULL };
    sched[0] = h_start(&env, "scheduler", "scheduler-a", ea);
    sched[1] = h_start(&env, "scheduler", "scheduler-b", eb);
    for (int i = 0; i < 2; i++)
        if (h_wait_ready(&env, ep[i], 30000) != 0) {
            fprintf(stderr, "ERROR: setup: scheduler-%c did not answer a Ping at %s in 30 s\n", 'a' + i, ep[i]);
            return -1;
        }
    /* a subscriber to both instances' events */
    sub = zmq_socket(env.zctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "scheduler.", 10);
    char ev[64];
    h_endpoint(&env, 13, ev, sizeof ev);
    zmq_connect(sub, ev);
    h_endpoint(&env, 24, ev, sizeof ev);
    zmq_connect(sub, ev);
    if (h_wait_for(&env, session_exists, WED3, 20000) != 0) {
        fprintf(stderr, "ERROR: setup: session %s not opened in 20 s\n", WED3);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    if (sub)
        zmq_close(sub);
    return h_group_teardown(state);
}

typedef h_answer_t ans_t;

static ans_t call_at(int instance, Tremplin__Envelope *req) { return h_ask(&env, ep[instance], req); }

static ans_t assign_at(int instance, const char *pid, const char *kind, const char *avail, long long referred_at)
{
    return h_assign(&env, ep[instance], pid, kind, avail, referred_at);
}

static ans_t assign(const char *pid, const char *kind, const char *avail, long long referred_at)
{
    return assign_at(0, pid, kind, avail, referred_at);
}

static void hget(const char *key, const char *field, char *out, size_t cap)
{
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:%s %s", key, field);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

static void booking_of(const char *sid, const char *pid, char *out, size_t cap)
{
    char key[96];
    snprintf(key, sizeof key, "roster:%s", sid);
    hget(key, pid, out, cap);
}

static void status_of(const char *bid, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "booking:%s", bid);
    hget(key, "status", out, cap);
}

/* The notify job of this type about booking bid (or person pid when bid is
 * ""), as "field=value;..." in the order written; "" if none. */
static void job(const char *type, const char *bid, const char *pid, char *out, size_t cap)
{
    out[0] = '\0';
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:scheduler:notify - +");
    for (size_t i = 0; r && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        char line[512] = "";
        size_t w = 0;
        int t = 0, b = 0, p = 0;
        for (size_t j = 0; j + 1 < f->elements && w < sizeof line; j += 2) {
            const char *k = f->element[j]->str, *v = f->element[j + 1]->str;
            t |= !strcmp(k, "type") && !strcmp(v, type);
            b |= !strcmp(k, "booking") && !strcmp(v, bid);
            p |= !strcmp(k, "person") && !strcmp(v, pid);
            w += (size_t)snprintf(line + w, sizeof line - w, "%s%s=%s", j ? ";" : "", k, v);
        }
        if (t && (bid[0] ? b : p))
            util_strlcpy(out, line, cap);
    }
    if (r)
        freeReplyObject(r);
}

/* Reads the SUB socket until an event of kind about subject comes, or the
 * deadline. */
static int event_seen(const char *kind, const char *subject, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (clock_mono_ms() < deadline) {
        zmq_pollitem_t it = { sub, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 50) <= 0)
            continue;
        char topic[128];
        int n = zmq_recv(sub, topic, sizeof topic - 1, 0);
        uint8_t buf[4096];
        int m = zmq_recv(sub, buf, sizeof buf, 0);
        if (n < 0 || m < 0)
            continue;
        topic[n] = '\0';
        Tremplin__Envelope *e = tremplin__envelope__unpack(NULL, (size_t)m, buf);
        int hit = e && e->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_EVENT && !strcmp(topic, kind)
                  && !strcmp(e->event->kind, kind) && !strcmp(e->event->subject_id, subject);
        if (e)
            tremplin__envelope__free_unpacked(e, NULL);
        if (hit)
            return 1;
    }
    return 0;
}

static char P[8][TP_ID_LEN + 1];

/* The line of text holding needle, copied into buf; NULL if none. */
static char *line_with(const char *text, const char *needle, char *buf, size_t cap)
{
    const char *at = strstr(text, needle);
    if (!at)
        return NULL;
    const char *start = at;
    while (start > text && start[-1] != '\n')
        start--;
    const char *end = strchr(at, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    snprintf(buf, cap, "%.*s", (int)n, start);
    return buf;
}

/* Staff and the gateway on the Monday: the sessions table, bookings and
 * their jobs (ids only), a cancellation too late, one in time whose seat is
 * offered (with its deadline) and declined, a staff cancellation, and the
 * events each step publishes. */
static void cli_jobs_and_events(void **state)
{
    (void)state;
    char out[4096], cmd[256], st[32], j[512];
    for (int i = 0; i < 8; i++)
        util_random_id(P[i]);
    long long t = 1790000000000LL;
    /* the subscriber is connected once it sees a step's event (PUB drops
     * what comes before) */
    ans_t a0 = assign(P[0], "initiation", "mon-am", t);
    assert_string_equal(a0.session, MON);
    for (int i = 0; i < 100 && !event_seen("scheduler.booking.changed", a0.booking, 100); i++)
        assign(P[0], "initiation", "mon-am", t); /* answered 'already', published again */

    ans_t a1 = assign(P[1], "initiation", "mon-am", t + 1);
    assert_string_equal(a1.session, MON);
    assert_true(event_seen("scheduler.booking.changed", a1.booking, 5000));
    ans_t a2 = assign(P[2], "initiation", "mon-am", t + 2);
    ans_t a3 = assign(P[3], "initiation", "mon-am", t + 3);
    assert_string_equal(a2.session, MON2);
    assert_string_equal(a3.session, MON2);
    assert_string_equal(assign(P[4], "initiation", "mon-am", t + 4).status, "waitlisted");

    /* the jobs say who, which booking, which session: ids only */
    job("convocation", a1.booking, "", j, sizeof j);
    snprintf(cmd, sizeof cmd, "type=convocation;booking=%s;person=%s;session=%s", a1.booking, P[1], MON);
    assert_string_equal(j, cmd);
    job("waitlisted", "", P[4], j, sizeof j);
    snprintf(cmd, sizeof cmd, "type=waitlisted;booking=;person=%s;session=;kind=initiation", P[4]);
    assert_string_equal(j, cmd);

    /* tremplin sessions: seats taken / capacity, state, the waitlist */
    assert_int_equal(h_cli(&env, out, sizeof out, "sessions --week 2026-W49 --kind initiation"), 0);
    char row[512];
    assert_non_null(line_with(out, MON, row, sizeof row));
    assert_non_null(strstr(row, "lun. 30/11/2026"));
    assert_non_null(strstr(row, "09:30"));
    assert_non_null(strstr(row, "complète")); /* 2 booked of 2 */

    /* too late for Monday (3 h before its start), in time for the next:
     * the seat is offered to P4 until an hour later */
    snprintf(cmd, sizeof cmd, "booking cancel %s", a0.booking);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "TOO_LATE"));
    snprintf(cmd, sizeof cmd, "booking cancel %s", a2.booking);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "annulée"));
    char b4[24];
    booking_of(MON2, P[4], b4, sizeof b4);
    status_of(b4, st, sizeof st);
    assert_string_equal(st, "offered");
    job("offer", b4, "", j, sizeof j);
    snprintf(cmd, sizeof cmd, "type=offer;booking=%s;person=%s;session=%s;deadline=", b4, P[4], MON2);
    assert_int_equal(strncmp(j, cmd, strlen(cmd)), 0);
    /* the deadline: an hour after the business now (06:00 and the seconds
     * the test has run) */
    long long deadline = atoll(j + strlen(cmd)), hour = referral_parse_time("2026-11-30T07:00:00Z");
    assert_true(deadline >= hour && deadline < hour + 600000);

    /* the offer declined by SMS, through the tool; then it is no offer */
    snprintf(cmd, sizeof cmd, "offer decline %s", b4);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "Proposition déclinée"));
    snprintf(cmd, sizeof cmd, "offer accept %s", b4);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "NOT_AN_OFFER"));

    /* staff cancel the next Monday: P3 moved (no other Monday: waiting),
     * told by a job; the event says which session */
    snprintf(cmd, sizeof cmd, "session cancel %s \"formateur absent\"", MON2);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    status_of(a3.booking, st, sizeof st);
    assert_string_equal(st, "session_cancelled");
    job("session_cancelled", a3.booking, "", j, sizeof j);
    snprintf(cmd, sizeof cmd, "type=session_cancelled;booking=%s;person=%s;session=%s", a3.booking, P[3], MON2);
    assert_string_equal(j, cmd);
    assert_true(event_seen("scheduler.session.cancelled", MON2, 5000));
    assert_int_equal(h_cli(&env, out, sizeof out, "session cancel 20261207-0930-wilson-nothing \"x\""), 2);
    assert_non_null(strstr(out, "UNKNOWN_SESSION"));
    assert_int_equal(h_cli(&env, out, sizeof out, "sessions --week 2026-W50 --kind initiation"), 0);
    assert_non_null(line_with(out, MON2, row, sizeof row));
    assert_non_null(strstr(row, "annulée"));
    assert_int_equal(h_cli(&env, out, sizeof out, "sessions --week 2026-49"), 2);
}

static int flagged(h_env_t *h, void *arg)
{
    (void)h;
    char v[32];
    char key[64];
    snprintf(key, sizeof key, "person:%s", (const char *)arg);
    hget(key, "flagged:budget", v, sizeof v);
    return v[0] != '\0';
}

/* The trainer after the start, with the tool: seen, excused (placed again);
 * staff can no longer cancel a started session; a no-show gets one more
 * seat, a second no-show flags the case for the mediator (job, figure). */
static void attendance_excused_and_the_mediator_flag(void **state)
{
    (void)state;
    char out[2048], cmd[256], st[32], j[512], active[32], key[64];
    long long t = 1790000000100LL;
    ans_t f = assign(P[5], "budget", "mon-pm", t);
    assert_string_equal(f.session, BUD1);

    set_now("2026-11-30T09:00:00Z", -1); /* Monday 10:00: the morning session has started */
    snprintf(cmd, sizeof cmd, "attendance %s %s seen --trainer t1", MON, P[0]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "Présence notée : présent(e)"));
    snprintf(cmd, sizeof cmd, "attendance %s %s excused --trainer t1", MON, P[1]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "Présence notée : excusé(e)"));
    snprintf(key, sizeof key, "person:%s", P[1]);
    hget(key, "active:initiation", active, sizeof active);
    assert_true(active[0] != '\0'); /* a seat (or a place in line) again */
    snprintf(cmd, sizeof cmd, "attendance %s %s maybe", MON, P[0]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "marque inconnue : maybe"));
    snprintf(cmd, sizeof cmd, "session cancel %s \"trop tard\"", MON);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "SESSION_STARTED"));

    /* budget: a no-show on Monday 30 (placed again, 7 December), then a
     * second one: the mediator is told */
    set_now("2026-11-30T13:10:00Z", -1);
    snprintf(cmd, sizeof cmd, "attendance %s %s noshow --trainer t3", BUD1, P[5]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    char b2[24];
    booking_of(BUD2, P[5], b2, sizeof b2);
    status_of(b2, st, sizeof st);
    assert_string_equal(st, "booked");
    job("mediator_flag", b2, "", j, sizeof j);
    assert_string_equal(j, "");
    set_now("2026-12-07T13:10:00Z", -1);
    snprintf(cmd, sizeof cmd, "attendance %s %s noshow --trainer t3", BUD2, P[5]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_int_equal(h_wait_for(&env, flagged, P[5], 1000), 0);
    snprintf(key, sizeof key, "person:%s", P[5]);
    hget(key, "active:budget", active, sizeof active);
    assert_string_equal(active, ""); /* not placed a third time */
    job("mediator_flag", b2, "", j, sizeof j);
    snprintf(cmd, sizeof cmd, "type=mediator_flag;booking=%s;person=%s;session=%s;reason=noshow", b2, P[5], BUD2);
    assert_string_equal(j, cmd);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total flagged_noshow"), 1);
}

static int expired(h_env_t *h, void *arg)
{
    (void)h;
    char st[32];
    status_of((const char *)arg, st, sizeof st);
    return !strcmp(st, "expired");
}

/* The timers run in the instance holding the lease; kill -9 that one and
 * the other takes the lease and fires them: an offer expires. */
static void the_timers_lease_is_taken_over(void **state)
{
    (void)state;
    long long t = 1790000000200LL;
    char q[4][TP_ID_LEN + 1], bid[24], holder[64];
    for (int i = 0; i < 4; i++)
        util_random_id(q[i]);
    /* both Wednesdays of the horizon full, then the waitlist */
    assert_int_equal(h_wait_for(&env, session_exists, "20261216-0930-wilson-initiation", 20000), 0);
    ans_t w0 = assign(q[0], "initiation", "wed-am", t);
    assert_string_equal(w0.session, WED3);
    assert_string_equal(assign(q[1], "initiation", "wed-am", t + 1).session, WED3);
    assert_string_equal(assign(q[2], "initiation", "wed-am", t + 2).session, "20261216-0930-wilson-initiation");
    assert_string_equal(assign(q[3], "initiation", "wed-am", t + 3).session, "20261216-0930-wilson-initiation");

    redisReply *r = h_redis(&env, "GET tp:{42}:scheduler:lease:timers");
    assert_non_null(r);
    assert_non_null(r->str);
    util_strlcpy(holder, r->str, sizeof holder);
    freeReplyObject(r);
    int dead = strncmp(holder, "scheduler-a/", 12) == 0 ? 0 : 1, alive = 1 - dead;
    /* a person waiting for Wednesdays is offered the seat Q0 gives up */
    char w[TP_ID_LEN + 1];
    util_random_id(w);
    assert_string_equal(assign_at(alive, w, "initiation", "wed-am", t + 4).status, "waitlisted");
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelBooking c = TREMPLIN__CANCEL_BOOKING__INIT;
    c.booking_id = w0.booking;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    req.cancel_booking = &c;
    assert_string_equal(call_at(alive, &req).status, "cancelled");
    booking_of(WED3, w, bid, sizeof bid);
    assert_true(bid[0] != '\0');

    printf("tp kill -9 %s, the lease holder\n", holder);
    h_signal(sched[dead], SIGKILL);
    set_now("2026-12-07T15:00:00Z", alive); /* the offer's hour is over */
    assert_int_equal(h_wait_for(&env, expired, bid, 20000), 0);
    r = h_redis(&env, "GET tp:{42}:scheduler:lease:timers");
    assert_non_null(r->str);
    assert_int_equal(strncmp(r->str, alive ? "scheduler-b/" : "scheduler-a/", 12), 0);
    freeReplyObject(r);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cli_jobs_and_events),
        cmocka_unit_test(attendance_excused_and_the_mediator_flag),
        cmocka_unit_test(the_timers_lease_is_taken_over),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("scheduler_ops", tests, setup, teardown);
}
