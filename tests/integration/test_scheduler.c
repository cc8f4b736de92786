/* The scheduler, for real, on a small timetable and a business clock the
 * test sets (ARCHITECTURE.md, "Time"): booking by availability, a full
 * session and the waitlist, cancellation -> offer -> accept, offer expiry ->
 * the next person, no offer into a started session, attendance, capacity
 * cut, trainer absence, holiday, and a DST week. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"

static h_env_t env;
static pid_t sched_pid;
static char sched_ep[64];

#define MON "20261130-0930-wilson-initiation"
#define WED "20261202-0930-wilson-initiation"
#define MON2 "20261207-0930-wilson-initiation"
#define WED2 "20261209-0930-wilson-initiation"

static const char *timetable_json =
    "{ \"version\": \"test-1\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 14,\n"
    "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\", \"address_fr\": \"Saint-Étienne\" } ],\n"
    "  \"slots\": [\n"
    "    { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"%s\", \"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": %d },\n"
    "    { \"day\": \"wed\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t2\", \"capacity\": 2 },\n"
    "    { \"day\": \"mon\", \"start\": \"14:00\", \"kind\": \"budget\", \"venue\": \"wilson\", \"trainer\": \"t3\", \"capacity\": 2 },\n"
    "    { \"day\": \"tue\", \"start\": \"14:00\", \"kind\": \"perfectionnement\", \"venue\": \"wilson\", \"trainer\": \"t4\", \"capacity\": 2 }\n"
    "  ],\n"
    "  \"one_off\": [], \"holidays\": [%s], \"closures\": [], \"absences\": [%s] }\n";

static void write_timetable_kind(const char *holidays, const char *absences, int monday_capacity,
                                 const char *monday_kind)
{
    char text[4096];
    snprintf(text, sizeof text, timetable_json, monday_kind, monday_capacity, holidays, absences);
    assert_int_equal(h_write(&env, "timetable.json", text), 0);
}

static void write_timetable_cap(const char *holidays, const char *absences, int monday_capacity)
{
    write_timetable_kind(holidays, absences, monday_capacity, "initiation");
}

static void write_timetable(const char *holidays, const char *absences)
{
    write_timetable_cap(holidays, absences, 2);
}

/* SIGHUP: the scheduler reloads its config and timetable. */
static void reload(void) { assert_int_equal(h_reload(&env, sched_pid, "scheduler", 20000), 0); }

/* Business time = iso, from now on; the scheduler picks it up on SIGHUP. */
static void set_now(const char *iso_utc)
{
    assert_int_equal(h_set_clock(&env, iso_utc), 0);
    reload();
}

static int session_exists(h_env_t *h, void *arg)
{
    (void)h;
    return h_redis_int(&env, "EXISTS tp:{42}:scheduler:session:%s", (const char *)arg) == 1;
}

static int setup(void **state)
{
    (void)state;
    if (h_setup(&env) != 0)
        return -1;
    write_timetable("", "");
    /* Monday 30 November 2026, 07:00 in Saint-Étienne */
    if (h_set_clock(&env, "2026-11-30T06:00:00Z") != 0
        || h_conf_set(&env, "scheduler", "cutoff_hours", "1") || h_conf_set(&env, "scheduler", "offer_hours", "1")
        || h_conf_set(&env, "scheduler", "notice_min", "30") || h_conf_set(&env, "scheduler", "correct_hours", "1"))
        return -1;
    /* debug: the test counts the horizon's generations (event=horizon_generated) */
    const char *e[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", "TREMPLIN_LOG_LEVEL=debug",
                        NULL };
    h_service_endpoint(&env, "scheduler", sched_ep, sizeof sched_ep);
    if ((sched_pid = h_start_ready(&env, "scheduler", NULL, e, 30000)) < 0)
        return -1;
    return h_wait_for(&env, session_exists, WED2, 20000);
}

typedef h_answer_t ans_t;

static ans_t call(Tremplin__Envelope *req) { return h_ask(&env, sched_ep, req); }

static ans_t assign_kind(const char *pid, const char *kind, const char *avail, long long referred_at)
{
    return h_assign(&env, sched_ep, pid, kind, avail, referred_at);
}

static ans_t assign(const char *pid, const char *avail, long long referred_at)
{
    return assign_kind(pid, "initiation", avail, referred_at);
}

static ans_t cancel(const char *bid)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelBooking c = TREMPLIN__CANCEL_BOOKING__INIT;
    c.booking_id = (char *)bid;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    req.cancel_booking = &c;
    return call(&req);
}

static ans_t answer(const char *bid, int accept)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__AnswerOffer a = TREMPLIN__ANSWER_OFFER__INIT;
    a.booking_id = (char *)bid;
    a.accept = accept;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
    req.answer_offer = &a;
    return call(&req);
}

static ans_t mark_by(const char *sid, const char *pid, const char *status, const char *trainer)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
    m.session_id = (char *)sid;
    m.person_id = (char *)pid;
    m.status = (char *)status;
    m.trainer_id = (char *)trainer;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
    req.mark_attendance = &m;
    return call(&req);
}

static ans_t mark(const char *sid, const char *pid, const char *status) { return mark_by(sid, pid, status, ""); }

static void booking_status(const char *bid, char *out, size_t cap)
{
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s status", bid);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

static long long taken(const char *sid) { return h_redis_int(&env, "HGET tp:{42}:scheduler:session:%s taken", sid); }

/* the booking of pid in sid, from the roster */
static void booking_of(const char *sid, const char *pid, char *out, size_t cap)
{
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:roster:%s %s", sid, pid);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

static char P[10][TP_ID_LEN + 1];
static char first_booking[24]; /* the first of a fresh database */

/* A booking id as a person may type it from an SMS: lower case, O for 0,
 * l for 1. */
static void typed(const char *bid, char *out, size_t cap)
{
    size_t i = 0;
    for (; bid[i] && i + 1 < cap; i++)
        out[i] = bid[i] == '0' ? 'O' : bid[i] == '1' ? 'l' : (bid[i] >= 'A' && bid[i] <= 'Z') ? (char)(bid[i] + 32) : bid[i];
    out[i] = '\0';
}

static int offer_expired(h_env_t *h, void *arg)
{
    (void)h;
    char st[32];
    booking_status((const char *)arg, st, sizeof st);
    return !strcmp(st, "expired");
}

static void seats_waitlist_offers_and_attendance(void **state)
{
    (void)state;
    for (int i = 0; i < 10; i++)
        util_random_id(P[i]);
    long long t = 1790000000000LL;
    /* booking by availability */
    ans_t a0 = assign(P[0], "mon-am", t + 0);
    assert_string_equal(a0.status, "booked");
    util_strlcpy(first_booking, a0.booking, sizeof first_booking);
    assert_string_equal(a0.session, MON);
    ans_t a1 = assign(P[1], "mon-am", t + 1);
    assert_string_equal(a1.session, MON);
    ans_t w = assign(P[4], "wed-am", t + 4);
    assert_string_equal(w.session, WED);
    ans_t a2 = assign(P[2], "mon-am", t + 2); /* Monday full: next Monday */
    assert_string_equal(a2.session, MON2);
    ans_t a3 = assign(P[3], "mon-am", t + 3);
    assert_string_equal(a3.session, MON2);
    /* both Mondays full: the waitlist, in referral order */
    assert_string_equal(assign(P[6], "mon-am", t + 6).status, "waitlisted");
    assert_string_equal(assign(P[5], "mon-am", t + 5).status, "waitlisted");
    assert_string_equal(assign(P[7], "mon-am", t + 7).status, "waitlisted");
    assert_int_equal(taken(MON), 2);
    /* one active booking per person and kind */
    assert_string_equal(assign(P[0], "mon-am", t).status, "already");
    assert_int_equal(taken(MON), 2);

    /* cancellation -> offer to the first referred (P5, not P6) -> accept */
    assert_string_equal(cancel(a1.booking).status, "cancelled");
    char bid5[24], st[32];
    booking_of(MON, P[5], bid5, sizeof bid5);
    booking_status(bid5, st, sizeof st);
    assert_string_equal(st, "offered");
    assert_int_equal(taken(MON), 2); /* the offer holds the seat */
    char bid5_typed[24];
    typed(bid5, bid5_typed, sizeof bid5_typed);
    assert_string_equal(answer(bid5_typed, 1).status, "booked"); /* as typed from the SMS */
    assert_string_equal(answer(bid5, 1).code, "NOT_AN_OFFER"); /* answered already */
    assert_string_equal(answer("B12", 1).code, "INVALID_FIELD");

    /* decline -> the next one (P6) */
    assert_string_equal(cancel(a0.booking).status, "cancelled");
    char bid6[24];
    booking_of(MON, P[6], bid6, sizeof bid6);
    assert_string_equal(answer(bid6, 0).status, "declined");
    char bid7[24];
    booking_of(MON, P[7], bid7, sizeof bid7);
    booking_status(bid7, st, sizeof st);
    assert_string_equal(st, "offered");

    /* expiry -> the next person: P6 declined this session, so nobody is
     * left for it; the seat stays free and P7 goes back to the waitlist */
    set_now("2026-11-30T07:05:00Z"); /* 08:05 local: P7's offer (1 h) is over */
    assert_int_equal(h_wait_for(&env, offer_expired, bid7, 20000), 0);
    assert_string_equal(answer(bid7, 1).code, "NOT_AN_OFFER");
    assert_int_equal(taken(MON), 1);
    assert_int_equal(h_redis_int(&env, "ZSCORE tp:{42}:scheduler:wait:initiation:mon-am %s", P[7]) > 0, 1);

    /* a new person gets the free seat directly (30 min notice) */
    ans_t a9 = assign(P[9], "mon-am", t + 9);
    assert_string_equal(a9.session, MON);

    /* P2 cancels Monday 7 Dec: P6, who declined this Monday but kept her
     * place (referred before P7), is offered that one */
    assert_string_equal(cancel(a2.booking).status, "cancelled");
    char bid7b[24];
    booking_of(MON2, P[6], bid7b, sizeof bid7b);
    booking_status(bid7b, st, sizeof st);
    assert_string_equal(st, "offered");

    set_now("2026-11-30T08:35:00Z"); /* 09:35 local: Monday's session has started */
    assert_int_equal(h_wait_for(&env, offer_expired, bid7b, 20000), 0); /* P6's offer for 7 Dec ran out too */
    /* expiry -> the next person: P7 is offered that seat */
    char bid7c[24];
    booking_of(MON2, P[7], bid7c, sizeof bid7c);
    booking_status(bid7c, st, sizeof st);
    assert_string_equal(st, "offered");
    /* P6's expired offer went on to P7 (waiting, referred next), so 7
     * December is full; Monday has started: nobody is booked into it any
     * more. P8 gets the next Monday the rolling horizon has opened. */
    assert_int_equal(h_wait_for(&env, session_exists, "20261214-0930-wilson-initiation", 20000), 0);
    ans_t a8 = assign(P[8], "mon-am", t + 8);
    assert_string_equal(a8.session, "20261214-0930-wilson-initiation");

    /* attendance: after the start only, for those booked */
    assert_string_equal(mark(MON, P[5], "seen").status, "seen");
    assert_string_equal(mark(WED, P[4], "seen").code, "SESSION_NOT_STARTED");
    assert_string_equal(mark(MON, P[1], "seen").code, "NOT_BOOKED"); /* cancelled */
    /* a no-show gets one more chance: placed again (Mondays are full now:
     * back on the waitlist) */
    assert_int_equal(h_wait_for(&env, session_exists, "20261214-0930-wilson-initiation", 20000), 0);
    assert_string_equal(mark(MON, P[9], "noshow").status, "noshow");
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:person:%s noshows:initiation", P[9]), 1);
    redisReply *a9r = h_redis(&env, "HGET tp:{42}:scheduler:person:%s active:initiation", P[9]);
    assert_non_null(a9r->str);
    assert_string_equal(a9r->str, "waiting");
    freeReplyObject(a9r);
    assert_string_equal(mark(MON, P[5], "maybe").code, "UNKNOWN_VALUE");
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total trained"), 1);
    /* AttendanceRecorded (seen, noshow) waits in the outbox for the survey service */
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:scheduler:outbox"), 2);
}

static long long person_int(const char *pid, const char *field)
{
    return h_redis_int(&env, "HGET tp:{42}:scheduler:person:%s %s", pid, field);
}

static void person_str(const char *pid, const char *field, char *out, size_t cap)
{
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:person:%s %s", pid, field);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

/* An assignment the scheduler cannot place (no availability, none known)
 * is refused, but where the person was referred from is kept: a later
 * assignment (a follow-up names no branch) counts them by branch. */
static void an_assignment_without_availability_keeps_the_branch(void **state)
{
    (void)state;
    char pid[TP_ID_LEN + 1], aid[TP_ID_LEN + 1];
    util_random_id(pid);
    util_random_id(aid);
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__TrackAssigned t = TREMPLIN__TRACK_ASSIGNED__INIT;
    t.assignment_id = aid;
    t.person_id = pid;
    t.kind = (char *)"initiation";
    t.referred_at_ms = (uint64_t)clock_real_ms();
    t.branch = (char *)"wilson";
    t.partner = (char *)"pimms";
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED;
    req.track_assigned = &t;
    h_answer_t a = call(&req);
    assert_string_equal(a.code, "INVALID_FIELD");
    char got[32];
    person_str(pid, "branch", got, sizeof got);
    assert_string_equal(got, "wilson");
    person_str(pid, "partner", got, sizeof got);
    assert_string_equal(got, "pimms");
}

static long long fig_total(const char *field)
{
    return h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total %s", field);
}

/* The same mark again is a duplicate; another one is a correction with its
 * consequences moved: P9's no-show (placed again: waiting) corrected to
 * seen leaves the waitlist and counts as trained; P5's seen corrected to
 * excused gives a seat again, which a second correction to noshow keeps
 * (one placement, not two); once the session is closed, no correction. */
static void attendance_marked_again_and_corrected(void **state)
{
    (void)state;
    char b5[24], b9[24], active[32], st[32];
    booking_of(MON, P[5], b5, sizeof b5);
    booking_of(MON, P[9], b9, sizeof b9);
    long long outbox = h_redis_int(&env, "XLEN tp:{42}:scheduler:outbox");
    /* the same mark: answered again, nothing moves, nothing sent */
    assert_string_equal(mark(MON, P[5], "seen").status, "seen");
    assert_int_equal(fig_total("trained"), 1);
    assert_int_equal(fig_total("seen:initiation"), 1);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:scheduler:outbox"), outbox);

    /* noshow -> seen: off the waitlist, trained, figures moved */
    assert_true(h_redis_int(&env, "ZSCORE tp:{42}:scheduler:wait:initiation:mon-am %s", P[9]) > 0);
    assert_string_equal(mark_by(MON, P[9], "seen", "t1").status, "seen");
    assert_int_equal(h_redis_int(&env, "ZSCORE tp:{42}:scheduler:wait:initiation:mon-am %s", P[9]), 0);
    person_str(P[9], "active:initiation", active, sizeof active);
    assert_string_equal(active, "");
    assert_int_equal(person_int(P[9], "noshows:initiation"), 0);
    assert_true(person_int(P[9], "completed:initiation") > 0);
    assert_int_equal(fig_total("trained"), 2);
    assert_int_equal(fig_total("seen:initiation"), 2);
    assert_int_equal(fig_total("noshow:initiation"), 0);
    redisReply *c = h_redis(&env, "HMGET tp:{42}:scheduler:booking:%s status corrected_from corrected_by corrections", b9);
    assert_string_equal(c->element[0]->str, "seen");
    assert_string_equal(c->element[1]->str, "noshow");
    assert_string_equal(c->element[2]->str, "t1");
    assert_string_equal(c->element[3]->str, "1");
    freeReplyObject(c);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:scheduler:outbox"), outbox + 1); /* the survey is told */

    /* seen -> excused: a seat again; -> noshow (a chance left): the same
     * seat, not a second one; -> excused again */
    assert_string_equal(mark_by(MON, P[5], "excused", "t1").status, "excused");
    assert_int_equal(fig_total("trained"), 1);
    char seat[32], again[32];
    person_str(P[5], "active:initiation", seat, sizeof seat);
    assert_true(seat[0] != '\0');
    long long waiting = h_redis_int(&env, "HGET tp:{42}:scheduler:fig:current waiting:initiation");
    assert_string_equal(mark_by(MON, P[5], "noshow", "t1").status, "noshow");
    person_str(P[5], "active:initiation", again, sizeof again);
    assert_string_equal(again, seat);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:current waiting:initiation"), waiting);
    assert_int_equal(person_int(P[5], "noshows:initiation"), 1);
    assert_string_equal(mark_by(MON, P[5], "excused", "t1").status, "excused");
    person_str(P[5], "active:initiation", again, sizeof again);
    assert_string_equal(again, seat);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:current waiting:initiation"), waiting);
    assert_int_equal(person_int(P[5], "noshows:initiation"), 0);
    assert_int_equal(fig_total("noshow:initiation"), 0);
    assert_int_equal(fig_total("excused:initiation"), 1);
    booking_status(b5, st, sizeof st);
    assert_string_equal(st, "excused");
    assert_string_equal(mark_by(MON, P[5], "seen", "bad trainer!").code, "INVALID_FIELD");
}

/* Monday 30 November is closed an hour after its end (correct_hours = 1
 * here; the clock is at 1 December now): the same mark still answers, a
 * correction no more. */
static void attendance_closed_after_the_window(void **state)
{
    (void)state;
    assert_string_equal(mark(MON, P[5], "excused").status, "excused");
    assert_string_equal(mark_by(MON, P[5], "seen", "t1").code, "SESSION_CLOSED");
}

typedef struct {
    char code[3][48];
} batch_t;

static void on_batch_reply(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    batch_t *b = arg;
    util_strlcpy(b->code[tag], !r ? "NO_ANSWER"
                               : r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK ? "ACK"
                                                                                   : r->error->code,
                 sizeof b->code[0]);
}

/* A handler that reads Redis while preparing (attendance reads the session)
 * must not take the reply of another command of the same batch: three
 * commands in flight at once each get their own answer. */
static void each_command_of_a_batch_gets_its_own_answer(void **state)
{
    (void)state;
    client_t *c = h_client(&env, sched_ep, 2000, 3);
    client_set_window(c, 3);
    Tremplin__Envelope req[3];
    Tremplin__CancelBooking c0 = TREMPLIN__CANCEL_BOOKING__INIT, c2 = TREMPLIN__CANCEL_BOOKING__INIT;
    Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
    c0.booking_id = "ZZZZZZZZZ0";
    c2.booking_id = "ZZZZZZZZZ2";
    m.session_id = MON;
    m.person_id = P[0];
    m.status = "seen";
    for (int i = 0; i < 3; i++) {
        tremplin__envelope__init(&req[i]);
        req[i].territory = "42";
    }
    req[0].payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    req[0].cancel_booking = &c0;
    req[1].payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
    req[1].mark_attendance = &m;
    req[2].payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    req[2].cancel_booking = &c2;
    batch_t b = { { "", "", "" } };
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 3; i++)
            assert_int_equal(client_send(c, &req[i], (uint64_t)i), 0);
        while (client_inflight(c) > 0)
            client_poll(c, 100, on_batch_reply, &b);
        assert_string_equal(b.code[0], "UNKNOWN_BOOKING");
        assert_string_equal(b.code[1], "NOT_BOOKED"); /* P0 cancelled that Monday */
        assert_string_equal(b.code[2], "UNKNOWN_BOOKING");
    }
    client_destroy(&c);
}

static int booking_cancelled(h_env_t *h, void *arg)
{
    (void)h;
    char st[32];
    booking_status((const char *)arg, st, sizeof st);
    return !strcmp(st, "session_cancelled");
}

static int booking_cut(h_env_t *h, void *arg)
{
    (void)h;
    char st[32];
    booking_status((const char *)arg, st, sizeof st);
    return !strcmp(st, "capacity_cut");
}

static void timetable_changes_go_through_cancellation(void **state)
{
    (void)state;
    /* Wednesday 2 December: P4 booked. A trainer absence cancels it and
     * moves P4 to the next Wednesday. */
    char bid4[24];
    booking_of(WED, P[4], bid4, sizeof bid4);
    assert_true(bid4[0] != '\0');
    write_timetable("", "{ \"trainer\": \"t2\", \"from\": \"2026-12-02\", \"to\": \"2026-12-02\" }");
    reload();
    /* the timer applies it at its next turn */
    assert_int_equal(h_wait_for(&env, booking_cancelled, bid4, 20000), 0);
    char moved[24];
    booking_of(WED2, P[4], moved, sizeof moved);
    assert_true(moved[0] != '\0');

    /* a holiday on Wednesday 9 December: that session goes too, P4 waits */
    write_timetable("\"2026-12-09\"", "");
    reload();
    assert_int_equal(h_wait_for(&env, booking_cancelled, moved, 20000), 0);
    assert_true(h_redis_int(&env, "ZSCORE tp:{42}:scheduler:wait:initiation:wed-am %s", P[4]) > 0);

    /* Mondays cut to one seat: on 7 December (P3 booked, then P7 offered)
     * the last one in, P7, is moved out; P3 keeps the seat */
    char b3[24], b8[24], st[32];
    booking_of(MON2, P[3], b3, sizeof b3);
    booking_of(MON2, P[7], b8, sizeof b8);
    assert_int_equal(taken(MON2), 2);
    write_timetable_cap("\"2026-12-09\"", "", 1);
    reload();
    assert_int_equal(h_wait_for(&env, booking_cut, b8, 20000), 0);
    assert_int_equal(taken(MON2), 1);
    booking_status(b3, st, sizeof st);
    assert_string_equal(st, "booked");
}

/* Tuesday afternoons: perfectionnement, nobody else's in these tests */
#define TUE1 "20261201-1400-wilson-perfectionnement"
#define TUE2 "20261208-1400-wilson-perfectionnement"
#define TUE3 "20261215-1400-wilson-perfectionnement"

static void hget_str(const char *key, const char *field, char *out, size_t cap)
{
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:%s %s", key, field);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

static int session_status_is(const char *sid, const char *status)
{
    char key[96], st[32];
    snprintf(key, sizeof key, "session:%s", sid);
    hget_str(key, "status", st, sizeof st);
    return !strcmp(st, status);
}

static int tue12_cancelled(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return session_status_is(TUE1, "cancelled") && session_status_is(TUE2, "cancelled");
}

static int tue3_open(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return session_status_is(TUE3, "open");
}

/* A misspelt kind ("initation") is refused on SIGHUP with the file and the
 * line: the timetable in use stays, so the real Monday sessions are neither
 * cancelled nor doubled by sessions of a kind nobody is assigned to. */
static void a_misspelt_kind_is_refused(void **state)
{
    (void)state;
    h_log_wait_t refused = { "scheduler", "event=timetable_invalid", 0 };
    h_log_wait_t generated = { "scheduler", "event=horizon_generated", 0 };
    refused.n = h_log_count(&env, "scheduler", refused.needle) + 1;
    h_log_wait_t failed = { "scheduler", "event=reload_failed", h_log_count(&env, "scheduler", "event=reload_failed") + 1 };
    int reloaded = h_log_count(&env, "scheduler", "event=reloaded");
    write_timetable_kind("\"2026-12-09\"", "", 1, "initation");
    h_signal(sched_pid, SIGHUP);
    assert_int_equal(h_wait_for(&env, h_log_reaches, &refused, 20000), 0);
    /* reported as a failed reload, never followed by "reloaded" */
    assert_int_equal(h_wait_for(&env, h_log_reaches, &failed, 20000), 0);
    assert_int_equal(h_log_count(&env, "scheduler", "event=reloaded"), reloaded);
    assert_true(h_log_count(&env, "scheduler", "timetable.json:4: slots[0].kind \"initation\" is not a kind of the catalogue")
                >= 1);
    /* two more turns of the horizon: nothing of the misspelt file applied */
    generated.n = h_log_count(&env, "scheduler", "event=horizon_generated") + 2;
    assert_int_equal(h_wait_for(&env, h_log_reaches, &generated, 20000), 0);
    assert_int_equal(h_redis_int(&env, "ZCARD tp:{42}:scheduler:sessions:initation"), 0);
    assert_true(session_status_is(MON2, "open"));
    assert_true(session_status_is("20261214-0930-wilson-initiation", "open"));
    write_timetable_cap("\"2026-12-09\"", "", 1);
    reload();
}

/* Jobs on the notify stream that put someone into sid (offer, convocation). */
static int seats_given_in(const char *sid)
{
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:scheduler:notify - +");
    int n = 0;
    for (size_t i = 0; r && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *type = "", *session = "";
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            if (!strcmp(f->element[j]->str, "type"))
                type = f->element[j + 1]->str;
            if (!strcmp(f->element[j]->str, "session"))
                session = f->element[j + 1]->str;
        }
        n += !strcmp(session, sid) && (!strcmp(type, "offer") || !strcmp(type, "convocation"));
    }
    if (r)
        freeReplyObject(r);
    return n;
}

static void reload_timetable(const char *absences)
{
    write_timetable_cap("\"2026-12-09\"", absences, 1); /* the state the test before left */
    reload();
}

/* A session known to be cancelled (its trainer is absent) is never offered
 * or booked: the people of one cancelled Tuesday are not moved into the next
 * one, cancelled too, and a Tuesday that enters the horizon during the
 * absence is not offered to those waiting. When the absence is withdrawn,
 * the sessions it cancelled come back and offer their seats; one that
 * staff cancelled stays cancelled. */
static void known_cancelled_sessions_are_never_offered(void **state)
{
    (void)state;
    char R[3][TP_ID_LEN + 1], st[32];
    for (int i = 0; i < 3; i++)
        util_random_id(R[i]);
    long long t = 1795000000000LL;
    assert_string_equal(assign_kind(R[0], "perfectionnement", "tue-pm", t + 0).session, TUE1);
    assert_string_equal(assign_kind(R[1], "perfectionnement", "tue-pm", t + 1).session, TUE1);
    assert_string_equal(assign_kind(R[2], "perfectionnement", "tue-pm", t + 2).session, TUE2); /* one seat left there */

    reload_timetable("{ \"trainer\": \"t4\", \"from\": \"2026-12-01\", \"to\": \"2026-12-15\" }");
    assert_int_equal(h_wait_for(&env, tue12_cancelled, NULL, 20000), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h_redis_int(&env, "HEXISTS tp:{42}:scheduler:roster:%s %s", TUE2, R[i]), i == 2);
        redisReply *a = h_redis(&env, "HGET tp:{42}:scheduler:person:%s active:perfectionnement", R[i]);
        assert_string_equal(a && a->str ? a->str : "", "waiting");
        freeReplyObject(a);
    }
    assert_int_equal(seats_given_in(TUE2), 1); /* R2's convocation, before the absence */

    set_now("2026-12-01T14:00:00Z"); /* Tuesday 15 enters the horizon, cancelled from the start */
    assert_int_equal(h_wait_for(&env, session_exists, TUE3, 20000), 0);
    assert_true(session_status_is(TUE3, "cancelled"));
    assert_int_equal(h_redis_int(&env, "HLEN tp:{42}:scheduler:roster:%s", TUE3), 0);
    assert_int_equal(seats_given_in(TUE3), 0);

    /* staff cancel Tuesday 8 themselves; then the absence is withdrawn */
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelSession cs = TREMPLIN__CANCEL_SESSION__INIT;
    cs.session_id = TUE2;
    cs.reason = "salle indisponible";
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_SESSION;
    req.cancel_session = &cs;
    assert_string_equal(call(&req).code, "ACK");
    long long reopened = h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total sessions_reopened");
    reload_timetable("");
    assert_int_equal(h_wait_for(&env, tue3_open, NULL, 20000), 0);
    assert_true(session_status_is(TUE2, "cancelled")); /* staff's, ensured before Tuesday 15 */
    /* Tuesday 15's two seats offered in referral order: R0, R1; R2 waits */
    for (int i = 0; i < 3; i++) {
        char bid[24];
        booking_of(TUE3, R[i], bid, sizeof bid);
        booking_status(bid, st, sizeof st);
        assert_string_equal(st, i < 2 ? "offered" : "");
    }
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total sessions_reopened"), reopened + 1);
}

static int session_exists_any(h_env_t *h, void *arg) { return session_exists(h, arg); }

/* The week Europe/Paris moves to summer time (Sunday 26 March 2028): 09:30
 * local is 08:30Z before and 07:30Z after. And no offer once started. */
static void a_dst_week_and_no_offer_after_start(void **state)
{
    (void)state;
    write_timetable("", "");
    set_now("2028-03-20T05:00:00Z"); /* Monday 06:00 CET */
    assert_int_equal(h_wait_for(&env, session_exists_any, "20280329-0930-wilson-initiation", 20000), 0);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:20280320-0930-wilson-initiation start"),
                     referral_parse_time("2028-03-20T08:30:00Z"));
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:20280322-0930-wilson-initiation start"),
                     referral_parse_time("2028-03-22T08:30:00Z"));
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:20280327-0930-wilson-initiation start"),
                     referral_parse_time("2028-03-27T07:30:00Z"));
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:20280329-0930-wilson-initiation start"),
                     referral_parse_time("2028-03-29T07:30:00Z"));
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:session:20280327-0930-wilson-initiation half_day");
    assert_string_equal(r->str, "mon-am");
    freeReplyObject(r);

    /* nobody is offered a session that has started: Q5's offer for the
     * 20th runs out at its start; Q6, waiting, is not offered the seat.
     * (Budget tools: nobody from the tests before waits for them.) */
    const char *S = "20280320-1400-wilson-budget", *S2 = "20280327-1400-wilson-budget";
    char Q[7][TP_ID_LEN + 1];
    for (int i = 0; i < 7; i++)
        util_random_id(Q[i]);
    long long t = 1800000000000LL;
    ans_t q1 = assign_kind(Q[1], "budget", "mon-pm", t + 1);
    assert_string_equal(q1.session, S);
    assert_string_equal(assign_kind(Q[2], "budget", "mon-pm", t + 2).session, S);
    assert_string_equal(assign_kind(Q[3], "budget", "mon-pm", t + 3).session, S2);
    assert_string_equal(assign_kind(Q[4], "budget", "mon-pm", t + 4).session, S2);
    set_now("2028-03-20T11:10:00Z"); /* 12:10 CET */
    assert_string_equal(assign_kind(Q[5], "budget", "mon-pm", t + 5).status, "waitlisted");
    assert_string_equal(assign_kind(Q[6], "budget", "mon-pm", t + 6).status, "waitlisted");
    assert_string_equal(cancel(q1.booking).status, "cancelled");
    char b5[24], st[32];
    booking_of(S, Q[5], b5, sizeof b5);
    booking_status(b5, st, sizeof st);
    assert_string_equal(st, "offered"); /* until min(now + 1 h, the start) = 13:00Z */
    set_now("2028-03-20T13:10:00Z");    /* 14:10 CET: started */
    assert_int_equal(h_wait_for(&env, offer_expired, b5, 20000), 0);
    char b6[24];
    booking_of(S, Q[6], b6, sizeof b6);
    assert_string_equal(b6, "");
    assert_int_equal(taken(S), 1); /* the free seat stays free: Q6 waits for another session */
}

static int first_session_back(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "EXISTS tp:{42}:scheduler:session:20280327-0930-wilson-initiation") == 1;
}

/* Booking ids: 10 characters of Crockford's base 32, in no relation to the
 * order they were made, and no function of what anyone can see: the first
 * booking of a fresh database is another id every time. */
static void booking_ids_are_unguessable(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    static struct {
        long long seq;
        char id[24];
    } b[512];
    int n = 0;
    redisReply *keys = h_redis(&env, "KEYS tp:{42}:scheduler:booking:*");
    for (size_t i = 0; keys && i < keys->elements && n < 512; i++) {
        const char *id = strrchr(keys->element[i]->str, ':') + 1;
        assert_int_equal(strlen(id), 10);
        assert_int_equal(strspn(id, alphabet), 10);
        util_strlcpy(b[n].id, id, sizeof b[n].id);
        b[n].seq = h_redis_int(&env, "HGET %s seq", keys->element[i]->str);
        n++;
    }
    freeReplyObject(keys);
    assert_true(n >= 20);
    int inversions = 0; /* pairs whose ids are not in the order they were made */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            inversions += b[i].seq < b[j].seq && strcmp(b[i].id, b[j].id) > 0;
    assert_true(inversions > n / 4);

    h_redis_int(&env, "FLUSHALL");
    assert_int_equal(h_wait_for(&env, first_session_back, NULL, 20000), 0);
    char pid[TP_ID_LEN + 1];
    util_random_id(pid);
    ans_t a = assign(pid, "mon-am", 1810000000000LL);
    assert_string_equal(a.status, "booked");
    assert_int_equal(strlen(a.booking), 10);
    assert_string_not_equal(a.booking, first_booking);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seats_waitlist_offers_and_attendance),
        cmocka_unit_test(attendance_marked_again_and_corrected),
        cmocka_unit_test(each_command_of_a_batch_gets_its_own_answer),
        cmocka_unit_test(timetable_changes_go_through_cancellation),
        cmocka_unit_test(a_misspelt_kind_is_refused),
        cmocka_unit_test(known_cancelled_sessions_are_never_offered),
        cmocka_unit_test(attendance_closed_after_the_window),
        cmocka_unit_test(a_dst_week_and_no_offer_after_start),
        cmocka_unit_test(booking_ids_are_unguessable),
        cmocka_unit_test(an_assignment_without_availability_keeps_the_branch),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("scheduler", tests, setup, h_group_teardown);
}
