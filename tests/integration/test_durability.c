/* Durability, proven on the data (ARCHITECTURE.md, reliability rule 5): the
 * instance of deploy/setup.sh (its own users.acl and redis.conf) takes a
 * realistic load through intake, matcher and scheduler — referrals,
 * bookings, waitlists, cancellations, offers accepted and declined,
 * attendance — then every key is read (snapshot.c) and compared after
 *   1. a clean SHUTDOWN and restart: identical;
 *   2. kill -9 of redis-server and restart: identical (Redis writes the AOF
 *      before it answers; only a power cut can lose the last second);
 *   3. kill -9 of redis-server while referrals are flowing: every referral
 *      acknowledged before the kill is there and goes its whole way, once.
 * Then every acknowledged referral is sent again, under its own msg_id and
 * under a new one: the same ids, duplicate = true, no figure moves. Redis's
 * own log must show no CRITICAL line and no AOF load error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"
#include "snapshot.h"

#define MAX_REFERRALS 400
#define CONSENT_AT "2026-11-30T05:00:00Z"

static h_env_t env;
static const char *const flow[] = { "intake", "matcher", "scheduler" };
static pid_t pids[3];
static char intake_ep[64], sched_ep[64];

/* What intake answered for each referral sent, to check and send again. */
typedef struct {
    char msg_id[TP_ID_LEN + 1], rid[40], pid[40], code[48];
} sent_t;
static sent_t sent[MAX_REFERRALS];
static int nsent;

static const char *timetable_json =
    "{ \"version\": \"durability-1\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 14,\n"
    "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\", \"address_fr\": \"Saint-Étienne\" } ],\n"
    "  \"slots\": [\n"
    "    { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 4 },\n"
    "    { \"day\": \"wed\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 4 },\n"
    "    { \"day\": \"tue\", \"start\": \"14:00\", \"kind\": \"perfectionnement\", \"venue\": \"wilson\", \"trainer\": \"t2\", \"capacity\": 4 },\n"
    "    { \"day\": \"thu\", \"start\": \"14:00\", \"kind\": \"budget\", \"venue\": \"wilson\", \"trainer\": \"t3\", \"capacity\": 4 }\n"
    "  ],\n"
    "  \"one_off\": [], \"holidays\": [], \"closures\": [], \"absences\": [] }\n";

/* ------------------------------------------------------------ the stack */

static void start_flow(void)
{
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    for (int i = 0; i < 3; i++)
        assert_true((pids[i] = h_start_ready(&env, flow[i], NULL, fast, 30000)) > 0);
}

/* SIGTERM: each service drains and exits 0, so nothing moves while the
 * state is read. */
static void stop_flow(void)
{
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_stop(pids[i], 20000), 0);
}

static int setup(void **state)
{
    (void)state;
    if (h_setup(&env) != 0)
        return -1;
    char path[400], out[1024];
    snprintf(path, sizeof path, "%s/timetable.json", env.dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(timetable_json, f);
    fclose(f);
    /* Monday 30 November 2026, 07:00 in Saint-Étienne */
    if (h_set_clock(&env, "2026-11-30T06:00:00Z") || h_conf_set(&env, "scheduler", "cutoff_hours", "1")
        || h_conf_set(&env, "scheduler", "offer_hours", "1") || h_conf_set(&env, "scheduler", "notice_min", "30"))
        return -1;
    if (h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0) {
        fprintf(stderr, "branch add: %s\n", out);
        return -1;
    }
    h_service_endpoint(&env, "intake", intake_ep, sizeof intake_ep);
    h_service_endpoint(&env, "scheduler", sched_ep, sizeof sched_ep);
    return 0;
}

/* -------------------------------------------------------------- referrals */

/* Referral k: availabilities and levels vary, so that people go to three
 * kinds of workshop, some are booked and many wait. */
static json_object *referral_json(int k)
{
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    char ext[32];
    snprintf(ext, sizeof ext, "DUR-%04d", k);
    json_object_object_add(o, "external_ref", json_object_new_string(ext));
    json_object *person = json_object_object_get(o, "person");
    json_object *avail = json_object_new_array();
    static const char *const days[] = { "mon-am", "wed-am", "tue-pm", "thu-pm" };
    json_object_array_add(avail, json_object_new_string(days[k % 4]));
    if (k % 3 == 0)
        json_object_array_add(avail, json_object_new_string(days[(k + 1) % 4]));
    json_object_object_add(person, "availability", avail);
    json_object *consent = json_object_object_get(o, "consent");
    json_object_object_add(consent, "given_at", json_object_new_string(CONSENT_AT));
    /* scores 0..2 for everyone: level 0 (initiation) to 2 (perfectionnement) */
    json_object *answers = json_object_object_get(o, "answers");
    json_object_object_foreach(answers, q, v)
    {
        (void)v;
        json_object_object_add(answers, q, json_object_new_int(k % 5 == 0 ? 2 : k % 5 == 1 ? 1 : 0));
    }
    if (k % 5 == 1) { /* level 1 with online banking: the budget workshop */
        json_object *needs = json_object_new_array();
        json_object_array_add(needs, json_object_new_string("online_banking"));
        json_object_object_add(o, "needs", needs);
    }
    return o;
}

typedef struct {
    int acks, dups, others;
} tally_t;

static void on_answer(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    tally_t *t = arg;
    sent_t *s = &sent[tag];
    if (r && r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        if (s->rid[0]) { /* sent again: the first answer, marked duplicate */
            assert_string_equal(r->ack->referral_id, s->rid);
            assert_string_equal(r->ack->person_id, s->pid);
            t->dups += r->ack->duplicate;
        } else {
            util_strlcpy(s->rid, r->ack->referral_id, sizeof s->rid);
            util_strlcpy(s->pid, r->ack->person_id, sizeof s->pid);
        }
        util_strlcpy(s->code, "ACK", sizeof s->code);
        t->acks++;
    } else {
        util_strlcpy(s->code, r && r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? r->error->code : "NO_ANSWER",
                     sizeof s->code);
        t->others++;
    }
}

/* Sends referrals [from, to) (their own msg_id, or a new one when fresh_id),
 * 32 in flight; when kill_after >= 0, kill -9 Redis once that many were
 * acknowledged and start it again at once. Unacknowledged ones (Redis was
 * down: UNAVAILABLE) are sent again with the same msg_id until acked. */
static tally_t send_referrals(int from, int to, int fresh_id, int kill_after)
{
    tally_t t = { 0 };
    client_t *c = h_client(&env, intake_ep, 2000, 5);
    client_set_window(c, 32);
    for (int round = 0; round < 20; round++) {
        int pending = 0;
        for (int k = from; k < to; k++) {
            sent_t *s = &sent[k];
            if (!strcmp(s->code, "ACK") && round > 0)
                continue;
            if (round == 0 && (fresh_id || !s->msg_id[0]))
                util_random_id(s->msg_id);
            json_object *o = referral_json(k);
            referral_json_t h;
            Tremplin__Envelope e;
            assert_int_equal(h_referral_envelope(o, &h, s->msg_id, &e), 0);
            s->code[0] = '\0';
            while (client_send(c, &e, (uint64_t)k) != 0)
                client_poll(c, 50, on_answer, &t);
            json_object_put(o); /* client_send packed it */
            pending++;
            if (kill_after >= 0 && t.acks >= kill_after) {
                fprintf(stderr, "tp kill -9 redis-server after %d acks\n", t.acks);
                assert_int_equal(h_redis_restart(&env, SIGKILL), 0);
                kill_after = -1;
            }
        }
        while (client_poll(c, 100, on_answer, &t) > 0)
            ;
        if (pending == 0)
            break;
        int missing = 0;
        for (int k = from; k < to; k++)
            missing += strcmp(sent[k].code, "ACK") != 0;
        if (missing == 0)
            break;
    }
    client_destroy(&c);
    if (to > nsent)
        nsent = to;
    return t;
}

/* Every acknowledged referral has gone its whole way: intake's records, the
 * matcher's assessment, the scheduler's placement; no outbox is left. */
static int flow_settled(h_env_t *h, void *arg)
{
    (void)arg;
    if (h_redis_int(h, "XLEN tp:{42}:intake:outbox") != 0 || h_redis_int(h, "XLEN tp:{42}:matcher:outbox") != 0)
        return 0;
    for (int k = 0; k < nsent; k++) {
        if (strcmp(sent[k].code, "ACK") != 0)
            continue;
        if (h_redis_int(h, "EXISTS tp:{42}:matcher:assignment:%s", sent[k].rid) != 1)
            return 0;
        redisReply *r = h_redis(h, "HGET tp:{42}:matcher:assignment:%s kind", sent[k].rid);
        int kind = r && r->type == REDIS_REPLY_STRING && r->len > 0;
        if (r)
            freeReplyObject(r);
        if (kind && h_redis_int(h, "EXISTS tp:{42}:scheduler:assigned:%s", sent[k].rid) != 1)
            return 0;
    }
    return 1;
}

static void check_every_acked_referral_is_stored(int from, int to)
{
    for (int k = from; k < to; k++) {
        assert_string_equal(sent[k].code, "ACK");
        assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:referral:%s", sent[k].rid), 1);
        assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:person:%s", sent[k].pid), 1);
        if (h_redis_int(&env, "EXISTS tp:{42}:intake:contact:%s", sent[k].pid) != 1) {
            /* what the person's record says of it (purged? erased?) */
            redisReply *r = h_redis(&env, "HGETALL tp:{42}:intake:person:%s", sent[k].pid);
            for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
                print_message("tp person %s: %s = %s\n", sent[k].pid, r->element[i]->str, r->element[i + 1]->str);
            if (r)
                freeReplyObject(r);
            fail_msg("referral %d (%s) acked, its contact gone", k, sent[k].rid);
        }
    }
}

/* ----------------------------------------------------- scheduler traffic */

typedef struct {
    const char *status, *session_part;
    char (*ids)[40];
    int n, max;
} booking_query_t;

static int booking_matches(h_env_t *h, const char *key, void *arg)
{
    booking_query_t *q = arg;
    redisReply *b = h_redis(h, "HMGET %s status sid", key);
    if (b && b->element[0]->str && !strcmp(b->element[0]->str, q->status) && b->element[1]->str
        && strstr(b->element[1]->str, q->session_part))
        util_strlcpy(q->ids[q->n++], strrchr(key, ':') + 1, sizeof q->ids[0]);
    if (b)
        freeReplyObject(b);
    return q->n == q->max;
}

/* Up to max bookings of status st whose session contains `session_part`. */
static int bookings(const char *st, const char *session_part, char ids[][40], int max)
{
    booking_query_t q = { st, session_part, ids, 0, max };
    assert_int_equal(h_scan(&env, "tp:{42}:scheduler:booking:*", booking_matches, &q), 0);
    return q.n;
}

static int is_ack(Tremplin__Envelope *req)
{
    h_answer_t a = h_ask(&env, sched_ep, req);
    if (strcmp(a.code, "ACK") != 0)
        fprintf(stderr, "answer: %s\n", a.code);
    return !strcmp(a.code, "ACK");
}

/* Cancels n booked seats of Wednesday's session (the waitlisted get
 * offers), then accepts one offer and declines the next (another offer). */
static void cancel_and_answer_offers(int n)
{
    char ids[8][40];
    int got = bookings("booked", "20261202-0930", ids, n);
    assert_true(got == n);
    for (int i = 0; i < got; i++) {
        Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
        Tremplin__CancelBooking c = TREMPLIN__CANCEL_BOOKING__INIT;
        c.booking_id = ids[i];
        c.reason = "empêchement";
        req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
        req.cancel_booking = &c;
        assert_true(is_ack(&req));
    }
    got = bookings("offered", "20261202-0930", ids, 8);
    assert_true(got >= 2);
    for (int i = 0; i < 2; i++) {
        Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
        Tremplin__AnswerOffer a = TREMPLIN__ANSWER_OFFER__INIT;
        a.booking_id = ids[i];
        a.accept = i == 0;
        req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
        req.answer_offer = &a;
        assert_true(is_ack(&req));
    }
}

/* After Monday's session has started: present, absent, excused. */
static void mark_monday(void)
{
    static const char *const marks[] = { "seen", "noshow", "excused" };
    char ids[8][40];
    int got = bookings("booked", "20261130-0930", ids, 3);
    assert_int_equal(got, 3);
    for (int i = 0; i < got; i++) {
        redisReply *b = h_redis(&env, "HMGET tp:{42}:scheduler:booking:%s pid sid", ids[i]);
        assert_non_null(b);
        Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
        Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
        m.person_id = b->element[0]->str;
        m.session_id = b->element[1]->str;
        m.status = (char *)marks[i];
        m.trainer_id = "t1";
        req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
        req.mark_attendance = &m;
        assert_true(is_ack(&req));
        freeReplyObject(b);
    }
}

/* --------------------------------------------------------------- checks */

static snap_t take(void)
{
    snap_t s;
    assert_int_equal(snap_take(&env, &s), 0);
    return s;
}

static void assert_same(const snap_t *before, const char *when)
{
    snap_t after = take();
    size_t d = snap_diff(before, &after, 20);
    fprintf(stderr, "tp %s: %zu keys before, %zu after, %zu differ\n", when, before->n, after.n, d);
    assert_int_equal(d, 0);
    snap_free(&after);
}

/* Redis's own account of its restarts: nothing dropped, nothing refused. */
static void assert_clean_redis_log(void)
{
    assert_int_equal(h_redis_log_problems(&env), 0);
    assert_true(h_log_count(&env, "redis", "DB loaded from append only file") >= 3);
}

/* ---------------------------------------------------------------- tests */

static void a_clean_shutdown_keeps_every_key(void **state)
{
    (void)state;
    start_flow();
    tally_t t = send_referrals(0, 120, 0, -1);
    assert_int_equal(t.acks, 120);
    assert_int_equal(h_wait_for(&env, flow_settled, NULL, 60000), 0);
    cancel_and_answer_offers(2);
    assert_int_equal(h_set_clock(&env, "2026-11-30T09:00:00Z"), 0); /* 10:00 in Paris */
    assert_int_equal(h_reload(&env, pids[2], "scheduler", 20000), 0);
    mark_monday();
    stop_flow();

    snap_t before = take();
    /* the load reached every kind of record: the comparison means something */
    assert_true(snap_count(&before, ":intake:referral:") == 120);
    assert_true(snap_count(&before, ":intake:contact:") == 120);
    assert_true(snap_count(&before, ":matcher:assignment:") == 120);
    assert_true(snap_count(&before, ":scheduler:booking:") > 20);
    assert_true(snap_count(&before, ":scheduler:wait:") > 0);
    assert_true(snap_count(&before, ":fig:") > 0);
    assert_true(h_redis_int(&env, "HGET tp:{42}:scheduler:fig:total trained") == 1);

    redisReply *r = h_redis(&env, "SHUTDOWN");
    if (r)
        freeReplyObject(r);
    assert_int_equal(h_wait_exit(env.redis_pid, 20000, NULL), 0);
    assert_int_equal(h_redis_restart(&env, 0), 0);
    assert_same(&before, "after SHUTDOWN");
    snap_free(&before);
}

static void kill9_of_redis_keeps_every_key(void **state)
{
    (void)state;
    start_flow(); /* more of everything, written after the last restart */
    tally_t t = send_referrals(120, 200, 0, -1);
    assert_int_equal(t.acks, 80);
    assert_int_equal(h_wait_for(&env, flow_settled, NULL, 60000), 0);
    stop_flow();
    snap_t before = take();
    assert_int_equal(snap_count(&before, ":intake:referral:"), 200);
    assert_int_equal(h_redis_restart(&env, SIGKILL), 0);
    assert_same(&before, "after kill -9");
    snap_free(&before);
}

static void kill9_under_load_loses_no_acked_referral(void **state)
{
    (void)state;
    start_flow();
    tally_t t = send_referrals(200, 350, 0, 60);
    assert_true(t.acks >= 150);
    check_every_acked_referral_is_stored(200, 350);
    assert_int_equal(h_wait_for(&env, flow_settled, NULL, 90000), 0);
    /* each referral counted once, assessed once: nothing lost, nothing twice */
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:intake:fig:total referrals"), 350);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:matcher:fig:total accompanied"), 350);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:intake:dead"), 0);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:matcher:dead"), 0);
    stop_flow();
}

static void acked_referrals_sent_again_are_duplicates(void **state)
{
    (void)state;
    start_flow();
    check_every_acked_referral_is_stored(0, 350);
    for (int fresh = 0; fresh < 2; fresh++) { /* the same msg_id (a lost Ack), then a new one */
        tally_t t = send_referrals(0, 350, fresh, -1);
        assert_int_equal(t.acks, 350);
        assert_int_equal(t.dups, 350);
    }
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:intake:fig:total referrals"), 350);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:intake:fig:total people"), 350);
    stop_flow();
    assert_clean_redis_log();
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_clean_shutdown_keeps_every_key),
        cmocka_unit_test(kill9_of_redis_keeps_every_key),
        cmocka_unit_test(kill9_under_load_loses_no_acked_referral),
        cmocka_unit_test(acked_referrals_sent_again_are_duplicates),
    };
    h_group_env(&env);
    return cmocka_run_group_tests(tests, setup, h_group_teardown);
}
