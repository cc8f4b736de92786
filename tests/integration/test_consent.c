/* Consent withdrawal, obeyed end to end through the real services: intake
 * records the withdrawal of "training" and, in the same step, tells the
 * scheduler (ConsentWithdrawn through its outbox); the scheduler releases
 * the person's booking (the seat goes to the next person waiting) and takes
 * them off the waitlists, once however often it is told; an assignment
 * from before the withdrawal no longer places them. One Monday session of
 * one seat; the business clock is set by the test. */
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

#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"

#define MON "20261130-0930-wilson-initiation"

static h_env_t env;
static pid_t sched_pid;

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    if (h_setup(&env) != 0)
        return -1;
    char out[1024];
    /* one Monday session of one seat; Monday 30 November 2026, 07:00 in
     * Saint-Étienne */
    if (h_write(&env, "timetable.json",
                "{ \"version\": \"consent\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 1,\n"
                "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" } ],\n"
                "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\",\n"
                "               \"trainer\": \"t1\", \"capacity\": 1 } ] }\n")
        || h_set_clock(&env, "2026-11-30T06:00:00Z")
        || h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0)
        return -1;
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    if ((sched_pid = h_start_ready(&env, "scheduler", NULL, fast, 30000)) < 0 || h_start_ready(&env, "matcher", NULL, NULL, 30000) < 0
        || h_start_ready(&env, "intake", NULL, NULL, 30000) < 0)
        return -1;
    return h_wait_for(&env, h_session_open, MON, 20000);
}

typedef struct {
    char referral[40], person[40];
} referred_t;

/* The shipped example referral under another reference, through intake;
 * returns once the scheduler has placed the person. */
static referred_t refer(const char *ref)
{
    referred_t x;
    assert_int_equal(h_refer(&env, ref, NULL, x.referral, x.person), 0);
    return x;
}

static void person_field(const char *pid, const char *field, char *out, size_t cap)
{
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:person:%s %s", pid, field);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

static void booking_in(const char *pid, char *status, size_t cap)
{
    redisReply *b = h_redis(&env, "HGET tp:{42}:scheduler:roster:" MON " %s", pid);
    char bid[24];
    util_strlcpy(bid, b && b->str ? b->str : "", sizeof bid);
    if (b)
        freeReplyObject(b);
    redisReply *s = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s status", bid);
    util_strlcpy(status, s && s->str ? s->str : "", cap);
    if (s)
        freeReplyObject(s);
}

static int withdrawn_in_scheduler(h_env_t *h, void *arg)
{
    (void)h;
    char v[32];
    person_field((const char *)arg, "training_withdrawn_ms", v, sizeof v);
    return v[0] != '\0';
}

static int six_seats_on_monday(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "HGET tp:{42}:scheduler:session:" MON " capacity") == 6;
}

static int intake_outbox_empty(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "XLEN tp:{42}:intake:outbox") == 0;
}

static void withdraw(const char *pid)
{
    char out[1024], cmd[128];
    snprintf(cmd, sizeof cmd, "consent withdraw %s training", pid);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
}

static void withdrawing_training_releases_seats_and_waitlist_places(void **state)
{
    (void)state;
    referred_t a = refer("CONS-A"), b = refer("CONS-B"), c = refer("CONS-C");
    char st[32], active[32];
    booking_in(a.person, st, sizeof st);
    assert_string_equal(st, "booked"); /* the one seat */
    person_field(b.person, "active:initiation", active, sizeof active);
    assert_string_equal(active, "waiting");
    assert_true(h_redis_int(&env, "ZSCORE tp:{42}:scheduler:wait:initiation:mon-am %s", b.person) > 0);

    /* B, waiting, withdraws: off both waitlists of their half-days */
    withdraw(b.person);
    assert_int_equal(h_wait_for(&env, withdrawn_in_scheduler, b.person, 20000), 0);
    assert_int_equal(h_redis_int(&env, "ZSCORE tp:{42}:scheduler:wait:initiation:mon-am %s", b.person), 0);
    assert_int_equal(h_redis_int(&env, "ZSCORE tp:{42}:scheduler:wait:initiation:thu-pm %s", b.person), 0);
    person_field(b.person, "active:initiation", active, sizeof active);
    assert_string_equal(active, "");

    /* A, booked, withdraws: the seat goes to the next one waiting, C (not B) */
    withdraw(a.person);
    assert_int_equal(h_wait_for(&env, withdrawn_in_scheduler, a.person, 20000), 0);
    booking_in(a.person, st, sizeof st);
    assert_string_equal(st, "consent_withdrawn");
    booking_in(c.person, st, sizeof st);
    assert_string_equal(st, "offered");
    booking_in(b.person, st, sizeof st);
    assert_string_equal(st, "");
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:" MON " taken"), 1);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total consent_withdrawn"), 2);

    /* told again (a second withdrawal): nothing moves */
    withdraw(a.person);
    assert_int_equal(h_wait_for(&env, intake_outbox_empty, NULL, 20000), 0);
    booking_in(c.person, st, sizeof st);
    assert_string_equal(st, "offered");
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total consent_withdrawn"), 2);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:intake:dead"), 0);

    /* an assignment of A referred before the withdrawal: not placed */
    char ep[64];
    h_service_endpoint(&env, "scheduler", ep, sizeof ep);
    h_answer_t old = h_assign(&env, ep, a.person, "initiation", "mon-am", referral_parse_time("2026-11-30T06:00:00Z"));
    assert_string_equal(old.code, "ACK");
    assert_string_equal(old.status, "consent_withdrawn");
    person_field(a.person, "active:initiation", active, sizeof active);
    assert_string_equal(active, "");
}

/* ConsentWithdrawn as intake sends it, straight to the scheduler. */
static h_answer_t withdrawn_at(const char *pid, const char *iso_utc)
{
    char ep[64];
    h_service_endpoint(&env, "scheduler", ep, sizeof ep);
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__ConsentWithdrawn w = TREMPLIN__CONSENT_WITHDRAWN__INIT;
    w.person_id = (char *)pid;
    w.purpose = "training";
    w.withdrawn_at_ms = (uint64_t)referral_parse_time(iso_utc);
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CONSENT_WITHDRAWN;
    req.consent_withdrawn = &w;
    return h_ask(&env, ep, &req);
}

static long long convocations_of(const char *pid)
{
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:scheduler:notify - +");
    long long n = 0;
    for (size_t i = 0; r && i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        int convocation = 0, theirs = 0;
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            convocation |= !strcmp(f->element[j]->str, "type") && !strcmp(f->element[j + 1]->str, "convocation");
            theirs |= !strcmp(f->element[j]->str, "person") && !strcmp(f->element[j + 1]->str, pid);
        }
        n += convocation && theirs;
    }
    if (r)
        freeReplyObject(r);
    return n;
}

/* A withdrawal that arrives after a later referral (the two travel by
 * different outboxes) leaves the place that referral gave; and once consent
 * is withdrawn, correcting an attendance mark places nobody again. */
static void withdrawal_is_obeyed_whatever_the_order(void **state)
{
    (void)state;
    char ep[64], active[32], p[TP_ID_LEN + 1], q[TP_ID_LEN + 1];
    h_service_endpoint(&env, "scheduler", ep, sizeof ep);
    assert_int_equal(h_write(&env, "timetable.json",
                             "{ \"version\": \"consent-2\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 3,\n"
                             "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" } ],\n"
                             "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", "
                             "\"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 6 },\n"
                             "             { \"day\": \"wed\", \"start\": \"09:30\", \"kind\": \"initiation\", "
                             "\"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 6 } ] }\n"),
                     0);
    assert_int_equal(h_reload(&env, sched_pid, "scheduler", 20000), 0);
    assert_int_equal(h_wait_for(&env, six_seats_on_monday, NULL, 20000), 0); /* the timer applies it */

    /* P withdrew at 07:10, was referred again with consent at 07:30; the
     * scheduler hears of the referral first */
    util_random_id(p);
    h_answer_t a = h_assign(&env, ep, p, "initiation", "mon-am", referral_parse_time("2026-11-30T06:30:00Z"));
    assert_string_equal(a.code, "ACK");
    assert_string_equal(withdrawn_at(p, "2026-11-30T06:10:00Z").code, "ACK");
    person_field(p, "active:initiation", active, sizeof active);
    assert_string_equal(active, a.booking[0] ? a.booking : "waiting");

    /* Q attends (seen), withdraws, then the trainer corrects the mark to
     * excused: no new seat, no convocation */
    util_random_id(q);
    assert_string_equal(h_assign(&env, ep, q, "initiation", "mon-am", referral_parse_time("2026-11-30T06:40:00Z")).code,
                        "ACK");
    assert_int_equal(convocations_of(q), 1);
    assert_int_equal(h_set_clock(&env, "2026-11-30T08:45:00Z"), 0); /* 09:45 in Paris: started */
    assert_int_equal(h_reload(&env, sched_pid, "scheduler", 20000), 0);
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
    m.session_id = MON;
    m.person_id = q;
    m.status = "seen";
    m.trainer_id = "t1";
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
    req.mark_attendance = &m;
    assert_string_equal(h_ask(&env, ep, &req).code, "ACK");
    assert_string_equal(withdrawn_at(q, "2026-11-30T08:50:00Z").code, "ACK");
    m.status = "excused";
    req.msg_id = NULL;
    assert_string_equal(h_ask(&env, ep, &req).code, "ACK");
    person_field(q, "active:initiation", active, sizeof active);
    assert_string_equal(active, "");
    assert_int_equal(convocations_of(q), 1);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(withdrawing_training_releases_seats_and_waitlist_places),
        cmocka_unit_test(withdrawal_is_obeyed_whatever_the_order),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("consent", tests, setup, h_group_teardown);
}
