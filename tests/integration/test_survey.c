/* The satisfaction survey through the real services: people referred by
 * intake (with or without the survey consent), booked by the scheduler on a
 * Monday initiation, marked by the trainer with the tool; the survey opens a
 * participation for `seen` only and queues its invitation for the gateway;
 * answers come by SMS (SubmitSurvey as the gateway sends it), from a kiosk
 * over CURVE, and typed in from paper forms (`tremplin survey submit`,
 * `survey import`); each refusal has its code; a retry changes nothing; an
 * unanswered invitation is reminded once, then closed; and "wants more"
 * ends in a booking for the next kind of the pathway (perfectionnement, on
 * the Thursday), or the kind asked for (budget: waitlisted, no session at
 * the person's half-days). The business clock is set by the test. */
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

#include "harness.h"
#include "survey/survey.h"

#define MON "20261130-0930-wilson-initiation"
#define THU "20261203-1400-wilson-perfectionnement"

static h_env_t env;
static pid_t pids[5];
static const char *const svcs[5] = { "scheduler", "matcher", "intake", "survey", NULL };
static int reloads;
static char survey_ep[64];

/* the people: A..J, each referred once */
enum { A, B, C, D, E, F, G, H, I, NPEOPLE };
static char P[NPEOPLE][TP_ID_LEN + 1];

/* The business clock moved for every service (each takes it on SIGHUP). */
static void set_now(const char *iso_utc)
{
    assert_int_equal(h_set_clock(&env, iso_utc), 0);
    reloads++;
    for (int i = 0; svcs[i]; i++) {
        h_signal(pids[i], SIGHUP);
        h_log_wait_t w = { svcs[i], "event=reloaded", reloads };
        assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    }
}

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    if (h_setup(&env) != 0)
        return -1;
    char out[1024];
    /* Monday 30 November 2026, 07:00 in Saint-Étienne: the initiation at
     * 09:30 (mon-am, the example's half-day), the next kind of its pathway
     * on Thursday afternoon (thu-pm, its other half-day), budget on Tuesday
     * morning (no half-day of the example's) */
    if (h_write(&env, "timetable.json",
                "{ \"version\": \"survey\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 7,\n"
                "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" } ],\n"
                "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\",\n"
                "               \"trainer\": \"t1\", \"capacity\": 12 },\n"
                "             { \"day\": \"thu\", \"start\": \"14:00\", \"kind\": \"perfectionnement\", \"venue\": \"wilson\",\n"
                "               \"trainer\": \"t2\", \"capacity\": 8 },\n"
                "             { \"day\": \"tue\", \"start\": \"09:30\", \"kind\": \"budget\", \"venue\": \"wilson\",\n"
                "               \"trainer\": \"t3\", \"capacity\": 8 } ] }\n")
        || h_set_clock(&env, "2026-11-30T06:00:00Z")
        || h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0)
        return -1;
    const char *fast_sched[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    const char *fast_survey[] = { "TREMPLIN_SURVEY_TIMER_MS=100", "TREMPLIN_SURVEY_WATCH_MS=200",
                                  "TREMPLIN_SURVEY_PURGE_MS=200", NULL };
    const char *const *envs[4] = { fast_sched, NULL, NULL, fast_survey };
    for (int i = 0; svcs[i]; i++)
        if ((pids[i] = h_start_ready(&env, svcs[i], NULL, envs[i], 30000)) < 0)
            return -1;
    h_service_endpoint(&env, "survey", survey_ep, sizeof survey_ep);
    return h_wait_for(&env, h_session_open, MON, 20000) || h_wait_for(&env, h_session_open, THU, 20000);
}

/* The example referral under ref, with or without the survey consent. */
static void refer(const char *ref, int survey_consent, char pid[TP_ID_LEN + 1])
{
    static const char *const no_survey[] = { "training", "sms", NULL };
    char rid[TP_ID_LEN + 1];
    assert_int_equal(h_refer(&env, ref, survey_consent ? NULL : no_survey, rid, pid), 0);
}

static void attendance(const char *pid, const char *status)
{
    char out[1024], cmd[512];
    snprintf(cmd, sizeof cmd, "attendance " MON " %s %s --trainer t1", pid, status);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
}

static int outboxes_empty(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "XLEN tp:{42}:scheduler:outbox") == 0 && h_redis_int(h, "XLEN tp:{42}:survey:outbox") == 0
           && h_redis_int(h, "XLEN tp:{42}:matcher:outbox") == 0;
}

static void settle(void) { assert_int_equal(h_wait_for(&env, outboxes_empty, NULL, 20000), 0); }

/* The participation of a person at the Monday session ("" when none). */
static void participation(int who, char id[TP_ID_LEN + 1])
{
    redisReply *r = h_redis(&env, "GET tp:{42}:survey:by:%s:" MON, P[who]);
    util_strlcpy(id, r && r->str ? r->str : "", TP_ID_LEN + 1);
    if (r)
        freeReplyObject(r);
}

static void field(int who, const char *name, char *out, size_t cap)
{
    char id[TP_ID_LEN + 1];
    participation(who, id);
    redisReply *r = h_redis(&env, "HGET tp:{42}:survey:participation:%s %s", id, name);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

static long long fig(const char *name) { return h_redis_int(&env, "HGET tp:{42}:survey:fig:total %s", name); }

/* The notify jobs of this type for person pid. */
static int jobs(const char *type, const char *pid)
{
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:survey:notify - +");
    int n = 0;
    for (size_t i = 0; r && i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        int t = 0, p = 0;
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            t |= !strcmp(f->element[j]->str, "type") && !strcmp(f->element[j + 1]->str, type);
            p |= !strcmp(f->element[j]->str, "person") && !strcmp(f->element[j + 1]->str, pid);
        }
        n += t && p;
    }
    if (r)
        freeReplyObject(r);
    return n;
}

/* A SubmitSurvey of participation id (NULL: by person and session), as a
 * channel sends it; msg_id NULL: a new one. */
typedef struct {
    char code[48], status[32];
    int duplicate;
} answer_t;

static answer_t send_to(client_t *c, const char *endpoint, Tremplin__SubmitSurvey *s, const char *msg_id)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY;
    req.submit_survey = s;
    req.territory = "42";
    req.msg_id = (char *)msg_id;
    Tremplin__Envelope *r = NULL;
    if (c)
        client_call(c, &req, &r);
    else
        r = h_call(&env, endpoint, &req);
    answer_t a = { "", "", 0 };
    util_strlcpy(a.code, h_code(r), sizeof a.code);
    if (r && r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        util_strlcpy(a.status, r->ack->status, sizeof a.status);
        a.duplicate = r->ack->duplicate;
    }
    wire_free(r, NULL);
    return a;
}

static answer_t sms(int who, unsigned satisfaction, int wants_more, const char *msg_id)
{
    char id[TP_ID_LEN + 1];
    participation(who, id);
    Tremplin__SubmitSurvey s = TREMPLIN__SUBMIT_SURVEY__INIT;
    s.participation_id = id;
    s.satisfaction = satisfaction;
    s.wants_more_given = wants_more >= 0;
    s.wants_more = wants_more == 1;
    s.channel = "sms";
    return send_to(NULL, survey_ep, &s, msg_id);
}

/* The Monday: A, D (no survey consent), E, F, G, H, I seen; B a no-show, C
 * excused. Only the seen with consent are invited, once each; nothing goes
 * to the scheduler's dead letters. */
static void an_invitation_after_seen_only(void **state)
{
    (void)state;
    static const char *const refs[NPEOPLE] = { "SV-A", "SV-B", "SV-C", "SV-D", "SV-E", "SV-F", "SV-G", "SV-H", "SV-I" };
    for (int i = 0; i < NPEOPLE; i++)
        refer(refs[i], i != D, P[i]);
    set_now("2026-11-30T08:45:00Z"); /* 09:45 in Paris: started */
    for (int i = 0; i < NPEOPLE; i++)
        attendance(P[i], i == B ? "noshow" : i == C ? "excused" : "seen");
    settle();

    char st[32], why[32];
    for (int i = 0; i < NPEOPLE; i++) {
        int invited = i != B && i != C && i != D;
        assert_int_equal(jobs("survey_invitation", P[i]), invited);
        field(i, "status", st, sizeof st);
        assert_string_equal(st, invited ? "open" : "closed");
    }
    field(B, "closed_reason", why, sizeof why);
    assert_string_equal(why, "not_attended");
    field(D, "closed_reason", why, sizeof why);
    assert_string_equal(why, "no_consent");
    assert_int_equal(fig("invited"), 6);
    assert_int_equal(fig("not_invited:no_consent"), 1);
    /* the job as the gateway reads it: ids only */
    char id[TP_ID_LEN + 1], want[512];
    participation(A, id);
    snprintf(want, sizeof want, "type survey_invitation participation %s person %s session " MON, id, P[A]);
    redisReply *r = h_redis(&env, "XRANGE tp:{42}:survey:notify - +");
    int found = 0;
    for (size_t i = 0; r && i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        char job[512];
        size_t w = 0;
        for (size_t j = 0; j < f->elements && w < sizeof job; j++)
            w += (size_t)snprintf(job + w, sizeof job - w, "%s%s", j ? " " : "", f->element[j]->str);
        found += !strcmp(job, want);
    }
    freeReplyObject(r);
    assert_int_equal(found, 1);

    /* a seen mark dead-letters nothing any more: every AttendanceRecorded acked */
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:scheduler:dead"), 0);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:scheduler:outbox"), 0);
}

/* E's seen corrected to noshow closes the participation; back to seen
 * reopens it, without a second invitation. */
static void an_attendance_correction_closes_then_reopens(void **state)
{
    (void)state;
    char st[32];
    attendance(P[E], "noshow");
    settle();
    field(E, "status", st, sizeof st);
    assert_string_equal(st, "closed");
    assert_int_equal(fig("closed_corrected"), 1);
    attendance(P[E], "seen");
    settle();
    field(E, "status", st, sizeof st);
    assert_string_equal(st, "open");
    assert_int_equal(jobs("survey_invitation", P[E]), 1);
    assert_int_equal(fig("invited"), 6);
    assert_int_equal(fig("reopened"), 1);
}

/* A answers by SMS as the gateway turns the replies into SubmitSurvey: "1",
 * then "non" in a second SMS; the same SMS again (a retry: its msg_id) is
 * answered as before and changes nothing, and so is the same reply again
 * under a new msg_id. */
static void an_answer_by_sms_and_its_retries(void **state)
{
    (void)state;
    char st[32], sat[8], more[8];
    answer_t a = sms(A, 1, -1, "sms-a-1");
    assert_string_equal(a.code, "ACK");
    assert_string_equal(a.status, "answered");
    assert_false(a.duplicate);
    answer_t b = sms(A, 0, 0, "sms-a-2");
    assert_string_equal(b.code, "ACK");
    assert_false(b.duplicate);
    field(A, "status", st, sizeof st);
    field(A, "satisfaction", sat, sizeof sat);
    field(A, "more", more, sizeof more);
    assert_string_equal(st, "answered");
    assert_string_equal(sat, "1");
    assert_string_equal(more, "0");
    assert_int_equal(fig("answered"), 1);
    assert_int_equal(fig("answered:sms"), 1);
    assert_int_equal(fig("satisfaction:1"), 1);

    /* the retry of the first SMS (same msg_id): its first answer, duplicate */
    answer_t again = sms(A, 1, -1, "sms-a-1");
    assert_string_equal(again.code, "ACK");
    assert_true(again.duplicate);
    /* the same reply under a new msg_id: a duplicate too */
    answer_t same = sms(A, 1, 0, NULL);
    assert_string_equal(same.code, "ACK");
    assert_true(same.duplicate);
    assert_int_equal(fig("answered"), 1);
    assert_int_equal(fig("satisfaction:1"), 1);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:survey:outbox"), 0); /* nothing sent: no follow-up */
}

/* The state's counts (answered participations, by satisfaction) against the
 * figures: they must be equal. */
typedef struct {
    char keys[64][TP_ID_LEN + 48];
    int n;
    long long answered, sat[5];
} state_count_t;

static int count_participation(h_env_t *h, const char *key, void *arg)
{
    state_count_t *c = arg;
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->keys[i], key))
            return 0; /* SCAN may give a key twice */
    if (c->n < 64)
        util_strlcpy(c->keys[c->n++], key, sizeof c->keys[0]);
    redisReply *r = h_redis(h, "HMGET %s status satisfaction", key);
    if (r && r->elements == 2 && r->element[0]->str && !strcmp(r->element[0]->str, "answered")) {
        c->answered++;
        if (r->element[1]->str && atoi(r->element[1]->str) >= 1 && atoi(r->element[1]->str) <= 4)
            c->sat[atoi(r->element[1]->str)]++;
    }
    if (r)
        freeReplyObject(r);
    return 0;
}

static void figures_equal_the_state(void)
{
    state_count_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    assert_int_equal(h_scan(&env, "tp:{42}:survey:participation:*", count_participation, c), 0);
    assert_int_equal(fig("answered"), c->answered);
    for (int s = 1; s <= 4; s++) {
        char f[32];
        snprintf(f, sizeof f, "satisfaction:%d", s);
        assert_int_equal(fig(f), c->sat[s]);
    }
    free(c);
}

/* A answered, then the trainer corrects A's attendance to absent: the
 * answer leaves the figures (answered, by channel, by satisfaction) and
 * the participation is closed; corrected back to present, the answer counts
 * again. The figures equal the state at every step. */
static void an_answered_participation_corrected_leaves_the_figures(void **state)
{
    (void)state;
    char st[32], why[32];
    figures_equal_the_state();
    attendance(P[A], "noshow");
    settle();
    field(A, "status", st, sizeof st);
    field(A, "closed_reason", why, sizeof why);
    assert_string_equal(st, "closed");
    assert_string_equal(why, "attendance_corrected");
    assert_int_equal(fig("answered"), 0);
    assert_int_equal(fig("answered:sms"), 0);
    assert_int_equal(fig("satisfaction:1"), 0);
    figures_equal_the_state();
    assert_string_equal(sms(A, 1, 0, NULL).code, "NOT_ATTENDED");
    attendance(P[A], "seen");
    settle();
    field(A, "status", st, sizeof st);
    assert_string_equal(st, "answered");
    assert_int_equal(fig("answered"), 1);
    assert_int_equal(fig("answered:sms"), 1);
    assert_int_equal(fig("satisfaction:1"), 1);
    figures_equal_the_state();
    assert_int_equal(jobs("survey_invitation", P[A]), 1); /* not invited again */
}

/* Each refusal: its stable code, French message, nothing recorded, counted. */
static void each_rejection_has_its_code(void **state)
{
    (void)state;
    char other[TP_ID_LEN + 1], id[TP_ID_LEN + 1];
    util_random_id(other);
    Tremplin__SubmitSurvey s = TREMPLIN__SUBMIT_SURVEY__INIT;
    s.channel = "paper";
    s.satisfaction = 2;
    s.participation_id = other;
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "UNKNOWN_PARTICIPATION");
    participation(B, id);
    s.participation_id = id;
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "NOT_ATTENDED");
    participation(D, id);
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "CONSENT_REQUIRED");
    participation(A, id);
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "ALREADY_ANSWERED"); /* 1 before */
    /* by person and session: the same participation */
    s.participation_id = "";
    s.person_id = P[A];
    s.session_id = MON;
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "ALREADY_ANSWERED");
    s.person_id = P[F];
    s.participation_id = id; /* A's, with F: not theirs */
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "UNKNOWN_PARTICIPATION");
    /* the checks before Redis */
    participation(F, id);
    s.person_id = s.session_id = "";
    s.participation_id = id;
    s.satisfaction = 5;
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "INVALID_FIELD");
    s.satisfaction = 0;
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "MISSING_FIELD"); /* nothing said */
    s.wants_more_given = 1;
    s.wants_more = 1;
    s.requested_topic = "tricot";
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "UNKNOWN_VALUE");
    s.requested_topic = "";
    s.channel = "fax";
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "UNKNOWN_VALUE");
    s.channel = "paper";
    char long_comment[SURVEY_COMMENT_MAX * 2 + 8];
    for (int i = 0; i < SURVEY_COMMENT_MAX + 1; i++)
        memcpy(long_comment + 2 * i, "é", 2); /* 501 characters, 1002 bytes */
    long_comment[2 * (SURVEY_COMMENT_MAX + 1)] = '\0';
    s.comment = long_comment;
    assert_string_equal(send_to(NULL, survey_ep, &s, NULL).code, "TOO_LONG");
    char st[32];
    field(F, "status", st, sizeof st);
    assert_string_equal(st, "open"); /* none of them recorded anything */
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:survey:outbox"), 0);
    assert_int_equal(fig("rejected:UNKNOWN_PARTICIPATION"), 2);
    assert_int_equal(fig("rejected:NOT_ATTENDED"), 2); /* one in an_answered_participation_corrected_… */
    assert_int_equal(fig("rejected:CONSENT_REQUIRED"), 1);
    assert_int_equal(fig("rejected:ALREADY_ANSWERED"), 2);
    assert_int_equal(fig("rejected:TOO_LONG"), 1);
}

/* A client of the kiosk endpoint with the server's key and a key pair. */
static client_t *kiosk_client(zcert_t *server_of, zcert_t *keys, int tries)
{
    char ep[64], err[256];
    h_endpoint(&env, 10, ep, sizeof ep);
    client_t *c = client_new(env.zctx, ep, "kiosk");
    client_set_retry(c, tries > 1 ? 3000 : 1000, tries);
    client_set_curve(c, zcert_meta(server_of, "server-key"), zcert_public_txt(keys), zcert_secret_txt(keys));
    client_connect(c, err, sizeof err);
    return c;
}

/* F answers from a kiosk over CURVE (the key `tremplin kiosk add` made); a
 * key the registry does not know gets no answer; a revoked kiosk's open
 * connection is answered KIOSK_REVOKED, and its new ones are refused. */
static void an_answer_by_kiosk(void **state)
{
    (void)state;
    char out[1024], path[400];
    assert_int_equal(h_cli(&env, out, sizeof out, "kiosk add hall --name 'Wilson, hall' --territory 42"), 0);
    assert_non_null(strstr(out, "borne hall créée"));
    snprintf(path, sizeof path, "%s/kiosk/kiosk-secrets/hall.key_secret", env.dir);
    zcert_t *cert = zcert_load(path);
    assert_non_null(cert);
    client_t *k = kiosk_client(cert, cert, 3);

    char id[TP_ID_LEN + 1];
    participation(F, id);
    Tremplin__SubmitSurvey s = TREMPLIN__SUBMIT_SURVEY__INIT;
    s.participation_id = id;
    s.satisfaction = 2;
    s.wants_more_given = 1;
    s.wants_more = 0;
    s.comment = "Très bien, merci à la formatrice.";
    answer_t a = send_to(k, NULL, &s, NULL);
    assert_string_equal(a.code, "ACK");
    char ch[16];
    field(F, "channel", ch, sizeof ch);
    assert_string_equal(ch, "kiosk");
    assert_int_equal(fig("answered:kiosk"), 1);
    assert_int_equal(fig("satisfaction:2"), 1);
    /* the comment: apart, with its retention date, never in the figures */
    redisReply *c = h_redis(&env, "HGET tp:{42}:survey:comment:%s text", id);
    assert_string_equal(c->str, "Très bien, merci à la formatrice.");
    freeReplyObject(c);
    assert_true(h_redis_int(&env, "ZSCORE tp:{42}:survey:retention %s", id) > 0);
    assert_false(h_log_has(&env, "survey", "formatrice"));

    /* a kiosk says it is a kiosk */
    s.channel = "sms";
    assert_string_equal(send_to(k, NULL, &s, NULL).code, "INVALID_FIELD");
    s.channel = "";

    /* a key nobody registered: no answer */
    zcert_t *stranger = zcert_new();
    client_t *x = kiosk_client(cert, stranger, 2);
    assert_string_equal(send_to(x, NULL, &s, NULL).code, "NO_ANSWER");
    client_destroy(&x);
    zcert_destroy(&stranger);

    /* revoked: its open connection refused, then its new ones */
    assert_int_equal(h_cli(&env, out, sizeof out, "kiosk revoke hall"), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "kiosk list"), 0);
    assert_non_null(strstr(out, "révoquée le "));
    int revoked = 0;
    for (int i = 0; i < 100 && !revoked; i++) {
        revoked = !strcmp(send_to(k, NULL, &s, NULL).code, "KIOSK_REVOKED");
        if (!revoked)
            zclock_sleep(100);
    }
    assert_true(revoked);
    client_destroy(&k);
    client_t *again = kiosk_client(cert, cert, 1);
    assert_string_equal(send_to(again, NULL, &s, NULL).code, "NO_ANSWER");
    client_destroy(&again);
    zcert_destroy(&cert);
}

static int active_kind(h_env_t *h, void *arg)
{
    const char **pk = arg; /* person, kind */
    redisReply *r = h_redis(h, "HGET tp:{42}:scheduler:person:%s active:%s", pk[0], pk[1]);
    int ok = r && r->str;
    if (r)
        freeReplyObject(r);
    return ok;
}

/* G's paper form, typed in with `tremplin survey submit`: wants more, on
 * nothing in particular — the matcher assigns the next kind of the
 * pathway (perfectionnement) and the scheduler books G into the Thursday
 * session, at one of G's half-days. */
static void wanting_more_ends_in_a_booking_for_the_next_kind(void **state)
{
    (void)state;
    char path[400], out[2048], cmd[512], st[32];
    snprintf(path, sizeof path, "%s/form-g.json", env.dir);
    char form[512];
    snprintf(form, sizeof form,
             "{ \"person_id\": \"%s\", \"session_id\": \"" MON "\", \"satisfaction\": 1, \"wants_more\": true,\n"
             "  \"comment\": \"Je veux apprendre les formulaires.\" }\n",
             P[G]);
    assert_int_equal(h_write_file(path, form), 0);
    snprintf(cmd, sizeof cmd, "survey submit %s --json", path);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "\"status\":\"answered\""));
    const char *pk[2] = { P[G], "perfectionnement" };
    assert_int_equal(h_wait_for(&env, active_kind, pk, 20000), 0);
    settle();
    redisReply *b = h_redis(&env, "HGET tp:{42}:scheduler:roster:" THU " %s", P[G]);
    assert_non_null(b->str); /* booked, not waiting */
    char bid[24];
    util_strlcpy(bid, b->str, sizeof bid);
    freeReplyObject(b);
    redisReply *bs = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s status", bid);
    assert_string_equal(bs->str, "booked");
    freeReplyObject(bs);
    field(G, "status", st, sizeof st);
    assert_string_equal(st, "answered");
    assert_int_equal(fig("answered:paper"), 1);
    assert_int_equal(fig("wants_more"), 1);
    assert_int_equal(fig("went_on"), 1);
    /* typed in again: a duplicate, no second follow-up */
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "\"duplicate\":true"));
    settle();
    assert_int_equal(fig("went_on"), 1);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:matcher:fig:total assigned:perfectionnement"), 1);
    /* shown to staff, without the comment */
    snprintf(cmd, sizeof cmd, "survey show %s " MON, P[G]);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    const char *more = strstr(out, "autre atelier");
    assert_non_null(more);
    assert_non_null(strstr(more, "oui"));
    assert_null(strstr(out, "formulaires"));
}

/* H's and E's forms in a CSV: H asks for budget (the kind asked for: no
 * session at H's half-days, so waitlisted), E's line is refused (satisfaction
 * 7) into the .rejected file; run twice, nothing is counted twice. */
static void paper_forms_imported_from_csv(void **state)
{
    (void)state;
    char path[400], csv[1024], out[2048], cmd[512];
    snprintf(path, sizeof path, "%s/forms.csv", env.dir);
    snprintf(csv, sizeof csv,
             "person_id,session_id,satisfaction,wants_more,requested_topic,comment\n"
             "%s," MON ",2,oui,budget,\"Pour mes comptes, merci\"\n"
             "%s," MON ",7,non,,\n"
             "%s," MON ",3,peut-être,,\n",
             P[H], P[E], P[I]);
    assert_int_equal(h_write_file(path, csv), 0);
    snprintf(cmd, sizeof cmd, "survey import %s", path);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "acceptées=1 déjà_reçues=0 rejetées=2 injoignables=0"));
    /* "peut-être" is no "non": the line is refused, its line and column named */
    assert_non_null(strstr(out, "ligne 4, colonne 4 (wants_more)"));
    char rej[1024], rpath[420];
    snprintf(rpath, sizeof rpath, "%s.rejected", path);
    FILE *rf = fopen(rpath, "r");
    assert_non_null(rf);
    rej[fread(rej, 1, sizeof rej - 1, rf)] = '\0';
    fclose(rf);
    assert_non_null(strstr(rej, "ligne 4: INVALID_FIELD wants_more"));
    const char *pk[2] = { P[H], "budget" };
    assert_int_equal(h_wait_for(&env, active_kind, pk, 20000), 0);
    redisReply *w = h_redis(&env, "HGET tp:{42}:scheduler:person:%s active:budget", P[H]);
    assert_string_equal(w->str, "waiting");
    freeReplyObject(w);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "acceptées=0 déjà_reçues=1 rejetées=2"));
    assert_int_equal(fig("went_on"), 2);
    assert_int_equal(fig("answered:paper"), 2);
}

/* E and I have not answered: reminded once, three days after the
 * invitation (business time), then closed at the end of the 30-day window;
 * an answer after that is TOO_LATE. */
static void unanswered_invitations_are_reminded_then_closed(void **state)
{
    (void)state;
    assert_int_equal(jobs("survey_reminder", P[I]), 0);
    set_now("2026-12-03T10:00:00Z"); /* 3 days and 1 h later */
    h_log_wait_t w = { "survey", "event=invitations_due", 1 };
    assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    assert_int_equal(jobs("survey_reminder", P[I]), 1);
    assert_int_equal(jobs("survey_reminder", P[E]), 1);
    assert_int_equal(jobs("survey_reminder", P[A]), 0); /* answered */
    assert_int_equal(fig("reminded"), 2);
    set_now("2026-12-10T10:00:00Z"); /* a week later: no second reminder */
    assert_int_equal(jobs("survey_reminder", P[I]), 1);

    set_now("2026-12-30T09:00:00Z"); /* 30 days after the session: closed */
    w.n = 2;
    assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    char st[32], why[32];
    field(I, "status", st, sizeof st);
    field(I, "closed_reason", why, sizeof why);
    assert_string_equal(st, "closed");
    assert_string_equal(why, "unanswered");
    assert_int_equal(fig("closed_unanswered"), 2);
    assert_string_equal(sms(I, 2, 1, NULL).code, "TOO_LATE");
    assert_int_equal(fig("rejected:TOO_LATE"), 1);
    assert_int_equal(jobs("survey_reminder", P[I]), 1);
}

/* Comments are kept until their retention date, then deleted by the
 * purge timer; the participation says when. */
static void comments_are_purged_after_their_retention(void **state)
{
    (void)state;
    char id[TP_ID_LEN + 1];
    participation(F, id);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:survey:comment:%s", id), 1);
    long long kept = h_redis_int(&env, "ZCARD tp:{42}:survey:retention");
    assert_true(kept >= 1);
    set_now("2027-12-31T09:00:00Z"); /* past 365 days */
    h_log_wait_t w = { "survey", "event=comments_purged", 1 };
    assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:survey:comment:%s", id), 0);
    assert_int_equal(h_redis_int(&env, "ZCARD tp:{42}:survey:retention"), 0);
    assert_int_equal(fig("comments_purged"), kept); /* in fig:total too, not only the day's */
    char when[32];
    field(F, "comment_purged_ms", when, sizeof when);
    assert_true(when[0] != '\0');
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:survey:dead"), 0);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:scheduler:dead"), 0);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_invitation_after_seen_only),
        cmocka_unit_test(an_attendance_correction_closes_then_reopens),
        cmocka_unit_test(an_answer_by_sms_and_its_retries),
        cmocka_unit_test(an_answered_participation_corrected_leaves_the_figures),
        cmocka_unit_test(each_rejection_has_its_code),
        cmocka_unit_test(an_answer_by_kiosk),
        cmocka_unit_test(wanting_more_ends_in_a_booking_for_the_next_kind),
        cmocka_unit_test(paper_forms_imported_from_csv),
        cmocka_unit_test(unanswered_invitations_are_reminded_then_closed),
        cmocka_unit_test(comments_are_purged_after_their_retention),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("survey", tests, setup, h_group_teardown);
}
