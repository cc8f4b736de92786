/* The gateway through the real services: referrals submitted to intake,
 * assessed by the matcher, booked by the scheduler, and what reaches the
 * people — SMS files in the spool, letters, answers read from the spool's
 * inbox — on a business clock the test moves. One group per deployment:
 *
 *   spool   one gateway: the convocation's text, the 22:00 hold until 08:30,
 *           a withdrawn sms consent obeyed at send time, the J-2 reminder
 *           and none once the session started, ANNULER / NON / OUI by SMS
 *           (matched by the sender's number), a reply not understood, a
 *           survey answer in two SMS, the callback endpoint; the roster
 *           (CSV, sign-in sheet), letters (pdftotext), attendance by line;
 *   survey  the survey service too: survey answers by SMS recorded end to
 *           end (a partial answer sent once its wait is over);
 *   http    a provider that fails: retried with backoff, then flagged
 *           (`tremplin notify list --failed`);
 *   twice   two gateways, one killed with kill -9 while jobs flow, and a job
 *           held by a dead instance taken over: each SMS once.
 *
 * The timetable: one Saint-Étienne venue, Monday 09:30 (4 seats), Tuesday
 * 09:30 (1 seat) and Thursday 14:00 (1 seat) workshops; the clock starts on
 * Monday 23 November 2026, 09:00 in Paris. */
#define _GNU_SOURCE /* strcasestr, for the test's provider */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <czmq.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"

#define MON30 "20261130-0930-wilson-initiation"
#define THU26 "20261126-1400-wilson-initiation"
#define THU03 "20261203-1400-wilson-initiation"
#define TUE01 "20261201-0930-wilson-initiation"

static h_env_t env;
static pid_t gw_pid, pids[5];
static int reloads;
static const char *labels[] = { "scheduler", "matcher", "intake", "gateway", "survey" };

static const char timetable[] =
    "{ \"version\": \"gw\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 8,\n"
    "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"La Poste Wilson\",\n"
    "                  \"address_fr\": \"2 place Wilson, 42000 Saint-Étienne\" } ],\n"
    "  \"slots\": [\n"
    "    { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t1\", "
    "\"capacity\": 4 },\n"
    "    { \"day\": \"tue\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t2\", "
    "\"capacity\": 1 },\n"
    "    { \"day\": \"thu\", \"start\": \"14:00\", \"kind\": \"initiation\", \"venue\": \"wilson\", \"trainer\": \"t3\", "
    "\"capacity\": 1 }\n"
    "  ] }\n";

/* ------------------------------------------------------------- helpers */

/* The business clock moved; every process reloads. */
static void set_now(const char *iso_utc)
{
    assert_int_equal(h_set_clock(&env, iso_utc), 0);
    reloads++;
    for (int i = 0; i < 5; i++) {
        if (pids[i] <= 0)
            continue;
        h_signal(pids[i], SIGHUP);
        h_log_wait_t w = { labels[i], "event=reloaded", reloads };
        assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    }
}

typedef struct {
    const char *ref, *given, *family, *phone, *avail;
    int address, sms, survey;
    const char *avail2; /* a second half-day, or NULL */
} who_t;

typedef struct {
    char referral[40], person[40];
} referred_t;

static int placed(h_env_t *h, void *arg)
{
    return h_redis_int(h, "EXISTS tp:{42}:scheduler:assigned:%s", (const char *)arg) == 1;
}

/* A referral through intake (the shipped example, with w's person); returns
 * once the scheduler has placed them. */
static referred_t refer(const who_t *w)
{
    char path[400], out[2048], cmd[512];
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    assert_non_null(o);
    json_object_object_add(o, "external_ref", json_object_new_string(w->ref));
    json_object *p = json_object_object_get(o, "person");
    json_object_object_add(p, "given_name", json_object_new_string(w->given));
    if (w->family)
        json_object_object_add(p, "family_name", json_object_new_string(w->family));
    if (w->phone)
        json_object_object_add(p, "phone", json_object_new_string(w->phone));
    else
        json_object_object_del(p, "phone");
    if (w->address) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "line1", json_object_new_string("12 rue de la République"));
        json_object_object_add(a, "postcode", json_object_new_string("42000"));
        json_object_object_add(a, "city", json_object_new_string("Saint-Étienne"));
        json_object_object_add(p, "address", a);
    }
    json_object *av = json_object_new_array();
    json_object_array_add(av, json_object_new_string(w->avail));
    if (w->avail2)
        json_object_array_add(av, json_object_new_string(w->avail2));
    json_object_object_add(p, "availability", av);
    json_object *c = json_object_object_get(o, "consent");
    json_object_object_add(c, "given_at", json_object_new_string("2026-11-20T09:30:00+01:00"));
    json_object *pu = json_object_new_array();
    json_object_array_add(pu, json_object_new_string("training"));
    if (w->sms)
        json_object_array_add(pu, json_object_new_string("sms"));
    if (w->survey)
        json_object_array_add(pu, json_object_new_string("survey"));
    json_object_object_add(c, "purposes", pu);
    snprintf(path, sizeof path, "%s/%s.json", env.dir, w->ref);
    assert_int_equal(json_object_to_file(path, o), 0);
    json_object_put(o);
    snprintf(cmd, sizeof cmd, "referral submit %s --json", path);
    int rc = h_cli(&env, out, sizeof out, cmd);
    if (rc != 0)
        fprintf(stderr, "referral %s: %s\n", w->ref, out);
    assert_int_equal(rc, 0);
    json_object *r = json_tokener_parse(out);
    assert_non_null(r);
    referred_t x;
    util_strlcpy(x.referral, json_object_get_string(json_object_object_get(r, "referral_id")), sizeof x.referral);
    util_strlcpy(x.person, json_object_get_string(json_object_object_get(r, "person_id")), sizeof x.person);
    json_object_put(r);
    assert_int_equal(h_wait_for(&env, placed, x.referral, 20000), 0);
    return x;
}

/* A string answer of Redis into out ("" for none). */
static void rcopy(redisReply *r, char *out, size_t cap)
{
    util_strlcpy(out, r && r->type == REDIS_REPLY_STRING ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}
#define rget(out, cap, ...) rcopy(h_redis(&env, __VA_ARGS__), out, cap)

/* The booking of pid in session sid, and its status. */
static void booking(const char *sid, const char *pid, char *bid, char *status)
{
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:roster:%s %s", sid, pid);
    util_strlcpy(bid, r && r->str ? r->str : "", 16);
    if (r)
        freeReplyObject(r);
    rget(status, 32, "HGET tp:{42}:scheduler:booking:%s status", bid);
}

/* The id of pid's job of that type ("" when none yet). */
static void job_of(const char *pid, const char *type, char *jid, size_t cap)
{
    jid[0] = '\0';
    redisReply *r = h_redis(&env, "ZRANGE tp:{42}:gateway:person:%s 0 -1", pid);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        char t[40];
        rget(t, sizeof t, "HGET tp:{42}:gateway:job:%s type", r->element[i]->str);
        if (!strcmp(t, type))
            util_strlcpy(jid, r->element[i]->str, cap);
    }
    if (r)
        freeReplyObject(r);
}

typedef struct {
    const char *pid, *type, *status;
} job_wait_t;

static int job_reaches(h_env_t *h, void *arg)
{
    (void)h;
    job_wait_t *w = arg;
    char jid[128], st[32];
    job_of(w->pid, w->type, jid, sizeof jid);
    if (!jid[0])
        return 0;
    rget(st, sizeof st, "HGET tp:{42}:gateway:job:%s status", jid);
    return !strcmp(st, w->status);
}

static void wait_job(const char *pid, const char *type, const char *status)
{
    job_wait_t w = { pid, type, status };
    if (h_wait_for(&env, job_reaches, &w, 20000) != 0) {
        char jid[128], st[32] = "";
        job_of(pid, type, jid, sizeof jid);
        if (jid[0])
            rget(st, sizeof st, "HGET tp:{42}:gateway:job:%s status", jid);
        fprintf(stderr, "job %s of %s: '%s', not '%s'\n", type, pid, st, status);
        h_log_tail(&env, "gateway", 20);
        if (getenv("TP_PAUSE"))
            sleep(60);
        fail();
    }
}

/* The path of the spool file of pid's job of that type ("" when no job). */
static void spool_path(const char *pid, const char *type, char *path, size_t cap)
{
    char jid[128];
    path[0] = '\0';
    job_of(pid, type, jid, sizeof jid);
    if (!jid[0])
        return;
    for (char *p = jid; *p; p++)
        if (*p == ':')
            *p = '_';
    snprintf(path, cap, "%s/spool/42_%s.sms", env.dir, jid);
}

/* The spool file of pid's job of that type: its text ("" when none). */
static void sms_of(const char *pid, const char *type, char *out, size_t cap)
{
    char path[600];
    out[0] = '\0';
    spool_path(pid, type, path, sizeof path);
    if (!path[0])
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void ms_sleep(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int count_spool(void)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/spool", env.dir);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".sms") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* An SMS dropped into the inbox, from that number. */
static void sms_in(const char *name, const char *from, const char *text)
{
    char path[400], tmp[420], body[512];
    snprintf(path, sizeof path, "%s/spool/inbox/%s", env.dir, name);
    snprintf(tmp, sizeof tmp, "%s/spool/inbox/.%s", env.dir, name);
    snprintf(body, sizeof body, "From: %s\n\n%s\n", from, text);
    assert_int_equal(h_write_file(tmp, body), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static int file_done(h_env_t *h, void *arg)
{
    char path[400];
    snprintf(path, sizeof path, "%s/spool/inbox/done/%s", h->dir, (const char *)arg);
    return access(path, F_OK) == 0;
}

static long long fig(const char *field)
{
    return h_redis_int(&env, "HGET tp:{42}:gateway:fig:total %s", field);
}

/* ---------------------------------------------------------- group: spool */

/* A group's deployment: the instance with timetable tt and the business
 * clock at now, the branch, then the scheduler, the matcher and intake, the
 * survey service when asked, and a gateway with the environment gw (none
 * when gw is NULL: the group starts its own). 0 once the session the group
 * needs is open. */
static int group_start(const char *tt, const char *now, int survey, const char *const *gw, const char *sid)
{
    zsys_handler_set(NULL);
    memset(pids, 0, sizeof pids);
    reloads = 0;
    char out[1024];
    if (h_setup(&env) != 0 || h_write(&env, "timetable.json", tt) != 0 || h_set_clock(&env, now) != 0
        || h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0)
        return -1;
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    const char *fast_survey[] = { "TREMPLIN_SURVEY_TIMER_MS=100", "TREMPLIN_SURVEY_PURGE_MS=200", NULL };
    if ((pids[0] = h_start_ready(&env, "scheduler", NULL, fast, 30000)) < 0
        || (pids[1] = h_start_ready(&env, "matcher", NULL, NULL, 30000)) < 0
        || (pids[2] = h_start_ready(&env, "intake", NULL, NULL, 30000)) < 0
        || (survey && (pids[4] = h_start_ready(&env, "survey", NULL, fast_survey, 30000)) < 0)
        || (gw && (pids[3] = gw_pid = h_start_ready(&env, "gateway", NULL, gw, 30000)) < 0))
        return -1;
    return h_wait_for(&env, h_session_open, (void *)sid, 20000);
}

static int spool_setup(void **state)
{
    (void)state;
    const char *gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", "TREMPLIN_GATEWAY_SURVEY_WAIT_MIN=30",
                         "TREMPLIN_GATEWAY_QUIET_FROM=20:00", NULL };
    return group_start(timetable, "2026-11-23T08:00:00Z", 0, gw, MON30);
}

static referred_t A, D, E, F, G, H, L, U;

/* A booking makes a convocation file in the spool, in French, with the date
 * in words, the place and the workshop's title, in one SMS. */
static void convocation_in_the_spool(void **state)
{
    (void)state;
    who_t a = { "GW-A", "Josiane", NULL, "06 10 00 00 01", "mon-am", 0, 1, 1 };
    A = refer(&a);
    char bid[16], st[32], text[1024];
    booking(MON30, A.person, bid, st);
    assert_string_equal(st, "booked");
    wait_job(A.person, "convocation", "sent");
    sms_of(A.person, "convocation", text, sizeof text);
    assert_non_null(strstr(text, "To: +33610000001\n"));
    assert_non_null(strstr(text, "Segments: 1\n"));
    assert_non_null(strstr(text, "Bonjour Josiane, votre atelier Initiation au numérique : lundi 30 novembre à 9 h 30, "
                                 "La Poste Wilson."));
    assert_int_equal(fig("sent:sms"), 1);
    assert_int_equal(fig("sent:convocation"), 1);
    /* the person's booking is recorded as convoked by SMS */
    char how[16];
    rget(how, sizeof how, "HGET tp:{42}:gateway:convoked:" MON30 " %s", bid);
    assert_string_equal(how, "sms");
}

/* Booked at 22:00 (Paris): held until 08:30, not sent at night; and a
 * withdrawn sms consent stops a message already queued. */
static void held_at_night_and_consent_checked_at_send_time(void **state)
{
    (void)state;
    set_now("2026-11-23T21:00:00Z"); /* Monday 22:00 in Paris */
    who_t d = { "GW-D", "Denise", NULL, "06 10 00 00 04", "thu-pm", 0, 1, 1 };
    who_t e = { "GW-E", "Émile", NULL, "06 10 00 00 05", "mon-am", 0, 1, 1 };
    D = refer(&d);
    E = refer(&e);
    wait_job(D.person, "convocation", "held");
    wait_job(E.person, "convocation", "held");
    char jid[128], until[32], text[1024];
    job_of(D.person, "convocation", jid, sizeof jid);
    rget(until, sizeof until, "HGET tp:{42}:gateway:job:%s held_until", jid);
    assert_int_equal(atoll(until), referral_parse_time("2026-11-24T07:30:00Z")); /* Tuesday 08:30 */
    assert_int_equal(fig("held_quiet"), 2);
    sms_of(D.person, "convocation", text, sizeof text);
    assert_string_equal(text, "");

    /* E withdraws the sms consent while the message waits */
    char out[512], cmd[128];
    snprintf(cmd, sizeof cmd, "consent withdraw %s sms", E.person);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);

    set_now("2026-11-24T07:29:00Z"); /* 08:29: still quiet */
    ms_sleep(300);
    sms_of(D.person, "convocation", text, sizeof text);
    assert_string_equal(text, "");
    set_now("2026-11-24T07:30:30Z"); /* 08:30 */
    wait_job(D.person, "convocation", "sent");
    sms_of(D.person, "convocation", text, sizeof text);
    assert_non_null(strstr(text, "jeudi 26 novembre à 14 h"));
    wait_job(E.person, "convocation", "dropped");
    sms_of(E.person, "convocation", text, sizeof text);
    assert_string_equal(text, "");
    job_of(E.person, "convocation", jid, sizeof jid);
    char why[32];
    rget(why, sizeof why, "HGET tp:{42}:gateway:job:%s drop_reason", jid);
    assert_string_equal(why, "no_consent");
    assert_int_equal(fig("dropped:no_consent"), 1);
}

/* The reminder comes two days before (business time), at the same hour;
 * none once the session has started. */
static void reminder_at_j_minus_2_and_none_after_the_start(void **state)
{
    (void)state;
    char text[1024];
    /* D's Thursday 14:00 session: the reminder is due Tuesday 14:00 */
    wait_job(D.person, "reminder", "queued");
    set_now("2026-11-24T12:59:00Z");
    ms_sleep(300);
    sms_of(D.person, "reminder", text, sizeof text);
    assert_string_equal(text, "");
    set_now("2026-11-24T13:00:30Z");
    wait_job(D.person, "reminder", "sent");
    sms_of(D.person, "reminder", text, sizeof text);
    assert_non_null(strstr(text, "Rappel : Denise, votre atelier"));
    assert_non_null(strstr(text, "jeudi 26 novembre à 14 h"));
}

/* ANNULER gives up the seat (matched by the number: F never typed a booking
 * id), the seat is offered to G, who answers NON: offered to H, who answers
 * OUI and is booked and convoked. */
static void replies_cancel_no_yes(void **state)
{
    (void)state;
    who_t f = { "GW-F", "Fanny", NULL, "06 10 00 00 06", "tue-am", 0, 1, 1 };
    who_t g = { "GW-G", "Gaston", NULL, "06 10 00 00 07", "tue-am", 0, 1, 1 };
    who_t h = { "GW-H", "Hélène", NULL, "07 10 00 00 08", "tue-am", 0, 1, 1 };
    F = refer(&f);
    G = refer(&g);
    H = refer(&h);
    char bid[16], st[32], text[1024];
    booking(TUE01, F.person, bid, st);
    assert_string_equal(st, "booked");
    wait_job(F.person, "convocation", "sent");

    sms_in("r1", "+33 6 10 00 00 06", "Annuler merci");
    assert_int_equal(h_wait_for(&env, file_done, "r1", 20000), 0);
    wait_job(G.person, "offer", "sent");
    booking(TUE01, F.person, bid, st);
    assert_string_equal(st, "cancelled");
    wait_job(F.person, "cancelled", "sent"); /* told it is done */
    sms_of(F.person, "cancelled", text, sizeof text);
    assert_non_null(strstr(text, "votre inscription à l'atelier"));
    sms_of(G.person, "offer", text, sizeof text);
    assert_non_null(strstr(text, "une place se libère"));
    assert_non_null(strstr(text, "Répondez OUI ou NON avant le"));

    sms_in("r2", "0610000007", "NON");
    wait_job(H.person, "offer", "sent");
    booking(TUE01, G.person, bid, st);
    assert_string_equal(st, "declined");

    sms_in("r3", "+33710000008", "oui !");
    wait_job(H.person, "convocation", "sent");
    booking(TUE01, H.person, bid, st);
    assert_string_equal(st, "booked");
    assert_int_equal(fig("replies:cancel"), 1);
    assert_int_equal(fig("replies:no"), 1);
    assert_int_equal(fig("replies:yes"), 1);

    /* the same file again (a second drop of r3): answered from the mark */
    sms_in("r3", "+33710000008", "oui !");
    assert_int_equal(h_wait_for(&env, file_done, "r3", 20000), 0);
    ms_sleep(300);
    assert_int_equal(fig("replies:yes"), 1);
}

/* Anything else: one polite SMS listing the accepted answers, and a line for
 * a mediator without the text. */
static void reply_not_understood(void **state)
{
    (void)state;
    sms_in("r4", "+33610000001", "je viendrai avec ma fille");
    wait_job(A.person, "not_understood", "sent");
    char text[1024];
    sms_of(A.person, "not_understood", text, sizeof text);
    assert_non_null(strstr(text, "OUI"));
    assert_true(h_log_has(&env, "gateway", "event=reply_for_mediator"));
    assert_false(h_log_has(&env, "gateway", "ma fille"));
    assert_false(h_log_has(&env, "gateway", "+3361"));
    assert_int_equal(fig("replies:not_understood"), 1);
}

/* A survey invitation (as the survey service writes it), answered "2" then
 * "non" in a second SMS: one SubmitSurvey with both, for the survey service
 * (its outbox entry read back). */
static void survey_answer_in_two_sms(void **state)
{
    (void)state;
    redisReply *x = h_redis(&env, "HSET tp:{42}:survey:participation:P-A-1 status open deadline_ms %lld",
                            (long long)referral_parse_time("2026-12-30T09:00:00Z"));
    freeReplyObject(x);
    x = h_redis(&env, "XADD tp:{42}:survey:notify * type survey_invitation participation P-A-1 person %s "
                      "session " MON30,
                A.person);
    assert_non_null(x);
    freeReplyObject(x);
    wait_job(A.person, "survey_invitation", "sent");
    char text[1024];
    sms_of(A.person, "survey_invitation", text, sizeof text);
    assert_non_null(strstr(text, "merci pour l'atelier"));
    sms_in("s1", "+33610000001", "2");
    assert_int_equal(h_wait_for(&env, file_done, "s1", 20000), 0);
    char score[8];
    rget(score, sizeof score, "HGET tp:{42}:gateway:survey:%s score", A.person);
    assert_string_equal(score, "2");
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:gateway:outbox"), 0);
    sms_in("s2", "+33610000001", "non");
    assert_int_equal(h_wait_for(&env, file_done, "s2", 20000), 0);
    /* no survey service runs: the message waits in the outbox */
    redisReply *o = h_redis(&env, "XRANGE tp:{42}:gateway:outbox - +");
    assert_true(o && o->type == REDIS_REPLY_ARRAY && o->elements == 1);
    const redisReply *f = o->element[0]->element[1];
    Tremplin__Envelope *m = NULL;
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (!strcmp(f->element[i]->str, "msg"))
            m = tremplin__envelope__unpack(NULL, f->element[i + 1]->len, (const uint8_t *)f->element[i + 1]->str);
    assert_non_null(m);
    assert_int_equal(m->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY);
    assert_string_equal(m->submit_survey->participation_id, "P-A-1");
    assert_int_equal(m->submit_survey->satisfaction, 2);
    assert_true(m->submit_survey->wants_more_given);
    assert_false(m->submit_survey->wants_more);
    assert_string_equal(m->submit_survey->channel, "sms");
    tremplin__envelope__free_unpacked(m, NULL);
    freeReplyObject(o);
    assert_int_equal(fig("replies:survey"), 1);
    assert_int_equal(fig("replies:no"), 2);
}

/* A survey job as the survey service writes it, for a participation in
 * that state; returns what became of it (its status) once final. */
static int job_final(h_env_t *h, void *arg)
{
    char st[32];
    rget(st, sizeof st, "HGET tp:{42}:gateway:job:%s status", (const char *)arg);
    (void)h;
    return !strcmp(st, "sent") || !strcmp(st, "dropped");
}

static void survey_job_for(const char *type, const char *part, const char *status, const char *deadline_iso,
                           char *st, char *why)
{
    redisReply *x = h_redis(&env, "HSET tp:{42}:survey:participation:%s status %s deadline_ms %lld", part, status,
                            (long long)referral_parse_time(deadline_iso));
    freeReplyObject(x);
    x = h_redis(&env, "XADD tp:{42}:survey:notify * type %s participation %s person %s session " MON30, type, part,
                A.person);
    assert_true(x && x->type == REDIS_REPLY_STRING);
    char jid[64];
    snprintf(jid, sizeof jid, "survey:%s", x->str);
    freeReplyObject(x);
    assert_int_equal(h_wait_for(&env, job_final, jid, 20000), 0);
    rget(st, 32, "HGET tp:{42}:gateway:job:%s status", jid);
    rget(why, 32, "HGET tp:{42}:gateway:job:%s drop_reason", jid);
}

/* An invitation or a reminder goes only while the participation is open:
 * not when it is answered (at the survey, or here by SMS), closed, or its
 * window over. */
static void survey_messages_only_while_open(void **state)
{
    (void)state;
    char st[32], why[32];
    long long stale = fig("dropped:stale");
    survey_job_for("survey_reminder", "P-A-2", "answered", "2026-12-30T09:00:00Z", st, why);
    assert_string_equal(st, "dropped");
    assert_string_equal(why, "stale");
    survey_job_for("survey_invitation", "P-A-3", "closed", "2026-12-30T09:00:00Z", st, why);
    assert_string_equal(st, "dropped");
    survey_job_for("survey_invitation", "P-A-4", "open", "2026-11-20T09:00:00Z", st, why); /* window over */
    assert_string_equal(st, "dropped");
    survey_job_for("survey_reminder", "P-A-1", "open", "2026-12-30T09:00:00Z", st, why); /* answered by SMS here */
    assert_string_equal(st, "dropped");
    assert_int_equal(fig("dropped:stale"), stale + 4);
    assert_int_equal(fig("sent:survey_reminder"), 0);
}

/* The provider's callback on loopback: with the secret, an SMS becomes an
 * inbox file (and is answered); without, 401. */
static void callback_endpoint(void **state)
{
    (void)state;
    char secret[128], url[128], cmd[1024], out[512];
    char path[400];
    snprintf(path, sizeof path, "%s/secrets/callback.secret", env.dir);
    FILE *sf = fopen(path, "r");
    assert_non_null(sf);
    assert_non_null(fgets(secret, sizeof secret, sf));
    fclose(sf);
    secret[strcspn(secret, "\n")] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%d/sms/inbound", env.base_port + 9);
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' -H 'X-Tremplin-Secret: wrong' -d '{\"id\":\"x\",\"from\":\"+33610000001\","
             "\"text\":\"?\"}' %s",
             url);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(out, sizeof out, p));
    pclose(p);
    assert_string_equal(out, "401");
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' -H 'X-Tremplin-Secret: %s' -d '{\"id\":\"prov-1\",\"from\":\"+33610000001\","
             "\"text\":\"bonjour ?\"}' %s",
             secret, url);
    p = popen(cmd, "r");
    assert_non_null(fgets(out, sizeof out, p));
    pclose(p);
    assert_string_equal(out, "200");
    h_log_wait_t w = { "gateway", "event=reply_for_mediator", 2 };
    assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    assert_int_equal(fig("replies:not_understood"), 2);
}

/* pdftotext of a PDF into out. */
static void pdf_text(const char *pdf, char *out, size_t cap)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "pdftotext -layout %s -", pdf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
}

/* The whole of a small file, terminated. */
static void file_text(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* Names with accents on the roster (CSV, sign-in sheet) and in letters:
 * Nguyễn has only a postal address (a letter), Ğül no consent to SMS
 * (questionnaire papier). */
static void roster_sheet_and_letters(void **state)
{
    (void)state;
    who_t l = { "GW-L", "Nguyễn", "Œuvray", NULL, "mon-am", 1, 0, 1 };
    who_t u = { "GW-U", "Ğül", NULL, "06 10 00 00 09", "mon-am", 0, 0, 0 };
    set_now("2026-11-24T14:00:00Z"); /* Tuesday 15:00 */
    L = refer(&l);
    U = refer(&u);
    char bid[16], st[32];
    booking(MON30, L.person, bid, st);
    assert_string_equal(st, "booked");
    wait_job(L.person, "convocation", "sent");
    wait_job(U.person, "convocation", "dropped");
    char out[8192], cmd[1000], csv[400], pdf[400], text[16384];
    snprintf(csv, sizeof csv, "%s/roster.csv", env.dir);
    snprintf(pdf, sizeof pdf, "%s/sheet.pdf", env.dir);
    snprintf(cmd, sizeof cmd, "roster " MON30 " --csv %s --pdf %s", csv, pdf);
    int rc = h_cli(&env, out, sizeof out, cmd);
    if (rc != 0)
        fail_msg("tremplin %s: exit %d:\n%s", cmd, rc, out);
    assert_non_null(strstr(out, "Josiane"));
    assert_non_null(strstr(out, "Nguyễn"));
    file_text(csv, text, sizeof text);
    assert_non_null(strstr(text, "1;Josiane;"));
    assert_non_null(strstr(text, "2;Émile;"));
    assert_non_null(strstr(text, "3;Nguyễn;"));
    assert_non_null(strstr(text, ";courrier;"));
    assert_non_null(strstr(text, "4;Ğül;"));
    assert_non_null(strstr(text, "questionnaire papier"));
    pdf_text(pdf, text, sizeof text);
    assert_non_null(strstr(text, "Nguyễn"));
    assert_non_null(strstr(text, "Ğül"));
    assert_non_null(strstr(text, "lundi 30 novembre 2026"));
    assert_non_null(strstr(text, "questionnaire papier"));

    snprintf(pdf, sizeof pdf, "%s/letters.pdf", env.dir);
    snprintf(cmd, sizeof cmd, "letters --date 2026-11-24 --pdf %s", pdf);
    int lrc = h_cli(&env, out, sizeof out, cmd);
    if (lrc != 0) /* what the tool said (it once ended with SIGABRT under a loaded machine) */
        fprintf(stderr, "tremplin letters: exit %d: %.2000s\n", lrc, out);
    assert_int_equal(lrc, 0);
    assert_non_null(strstr(out, "1 lettre écrite"));
    pdf_text(pdf, text, sizeof text);
    assert_non_null(strstr(text, "Nguyễn Œuvray"));
    assert_non_null(strstr(text, "lundi 30 novembre 2026"));
    assert_non_null(strstr(text, "SAINT ETIENNE"));
    assert_int_equal(fig("sent:letter"), 1);
}

/* J-2 for Monday 30 falls on Saturday 28 at 09:30; the clock jumps past the
 * start without passing it: A's reminder is dropped, never sent late. Then
 * attendance by the roster's line numbers. */
static void no_reminder_once_started_and_attendance_by_line(void **state)
{
    (void)state;
    wait_job(A.person, "reminder", "queued");
    set_now("2026-11-30T08:45:00Z"); /* Monday 09:45: the session started at 09:30 */
    wait_job(A.person, "reminder", "dropped");
    char text[1024], jid[128], why[32];
    sms_of(A.person, "reminder", text, sizeof text);
    assert_string_equal(text, "");
    job_of(A.person, "reminder", jid, sizeof jid);
    rget(why, sizeof why, "HGET tp:{42}:gateway:job:%s drop_reason", jid);
    assert_string_equal(why, "too_late");

    char out[4096];
    assert_int_equal(h_cli(&env, out, sizeof out, "attendance " MON30 " 1=present 3=absent 4=excusé"), 0);
    assert_non_null(strstr(out, "1 Josiane : présent(e)"));
    assert_non_null(strstr(out, "3 Nguyễn : absent(e)"));
    char bid[16], st[32];
    booking(MON30, A.person, bid, st);
    assert_string_equal(st, "seen");
    booking(MON30, L.person, bid, st);
    assert_string_equal(st, "noshow");
    booking(MON30, U.person, bid, st);
    assert_string_equal(st, "excused");
    assert_int_equal(h_cli(&env, out, sizeof out, "attendance " MON30 " 5=present"), 2);

    assert_int_equal(h_cli(&env, out, sizeof out, "notify list --person x"), 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "notify list --person %s", A.person);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "convocation"));
    assert_non_null(strstr(out, "envoyé"));
    assert_non_null(strstr(out, "too_late"));
}

static int booking_is(h_env_t *h, void *arg)
{
    (void)h;
    const char *const *w = arg; /* session, person, status */
    char bid[16], st[32];
    booking(w[0], w[1], bid, st);
    return !strcmp(st, w[2]);
}

/* The line numbers stay those of the printed sheet: someone above leaves
 * after it was printed (E withdraws the consent to training: line 2), and
 * "2=present" is refused instead of marking the next person (Nguyễn, line
 * 3); the roster, the CSV and the sheet keep line 2, struck out; a booking
 * id is accepted as typed (lower case). */
static void roster_lines_keep_their_numbers(void **state)
{
    (void)state;
    char out[8192], cmd[600], csv[400], text[16384];
    snprintf(cmd, sizeof cmd, "consent withdraw %s training", E.person);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    const char *gone[] = { MON30, E.person, "consent_withdrawn" };
    assert_int_equal(h_wait_for(&env, booking_is, gone, 20000), 0);

    int rc = h_cli(&env, out, sizeof out, "attendance " MON30 " 2=present");
    assert_int_equal(rc, 2);
    char bid[16], st[32];
    booking(MON30, L.person, bid, st);
    assert_string_equal(st, "noshow"); /* line 3 untouched */

    snprintf(csv, sizeof csv, "%s/roster2.csv", env.dir);
    snprintf(cmd, sizeof cmd, "roster " MON30 " --csv %s", csv);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "place retirée"));
    file_text(csv, text, sizeof text);
    assert_non_null(strstr(text, "2;Émile;"));
    assert_non_null(strstr(text, ";place retirée\r\n"));
    assert_non_null(strstr(text, "3;Nguyễn;"));
    assert_non_null(strstr(text, "4;Ğül;"));

    /* U (line 4, excused) came after all: marked by the booking id */
    booking(MON30, U.person, bid, st);
    for (char *p = bid; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    snprintf(cmd, sizeof cmd, "attendance " MON30 " %s=present", bid);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "4 Ğül : présent(e)"));
    booking(MON30, U.person, bid, st);
    assert_string_equal(st, "seen");
}

static int phone_of(h_env_t *h, const char *key, void *arg)
{
    char **w = arg; /* person, out key */
    if (h_redis_int(h, "SISMEMBER %s %s", key, w[0]) == 1) {
        util_strlcpy(w[1], key, 200);
        return 1;
    }
    return 0;
}

static int not_understood_for_either(h_env_t *h, void *arg)
{
    (void)h;
    const char *const *who = arg;
    char jid[128];
    for (int i = 0; i < 2; i++) {
        job_of(who[i], "not_understood", jid, sizeof jid);
        if (jid[0])
            return 1;
    }
    return 0;
}

/* K1 and K2 share a phone (a family); K2 waits for a seat on Thursday. K1
 * gives theirs up at 20:30: the offer to K2 is held until 08:30, so a bare
 * OUI sent at night answers nothing (not understood: nothing open) — it
 * does not take a seat nobody was offered by SMS. Once the offer went, the
 * same OUI books K2. */
static void reply_matches_only_offers_sent(void **state)
{
    (void)state;
    who_t k1 = { "GW-K1", "Karim", NULL, "06 10 00 00 11", "thu-pm", 0, 1, 1 };
    who_t k2 = { "GW-K2", "Kelly", NULL, "06 10 00 00 11", "thu-pm", 0, 1, 1 };
    referred_t K1 = refer(&k1), K2 = refer(&k2);
    char bid[16], st[32], key[200];
    booking(THU03, K1.person, bid, st);
    assert_string_equal(st, "booked");
    wait_job(K1.person, "convocation", "sent");
    /* K2 was sent an SMS at that number before (the family's phone) */
    char *w[2] = { K1.person, key };
    key[0] = '\0';
    assert_int_equal(h_scan(&env, "tp:{42}:gateway:phone:*", phone_of, w), 0);
    assert_true(key[0]);
    assert_int_equal(h_redis_int(&env, "SADD %s %s", key, K2.person), 1);

    set_now("2026-11-30T19:30:00Z"); /* Monday 20:30 in Paris */
    sms_in("k1", "+33610000011", "ANNULER");
    wait_job(K2.person, "offer", "held");
    booking(THU03, K1.person, bid, st);
    assert_string_equal(st, "cancelled");
    sms_in("k2", "+33610000011", "OUI");
    const char *both[2] = { K1.person, K2.person };
    assert_int_equal(h_wait_for(&env, not_understood_for_either, both, 20000), 0);
    booking(THU03, K2.person, bid, st);
    assert_string_equal(st, "offered");

    set_now("2026-12-01T07:31:00Z"); /* Tuesday 08:31: the offer goes */
    wait_job(K2.person, "offer", "sent");
    sms_in("k3", "+33610000011", "OUI");
    wait_job(K2.person, "convocation", "sent");
    booking(THU03, K2.person, bid, st);
    assert_string_equal(st, "booked");
}

/* H's workshop is at 09:30 today: ANNULER at 08:35 is inside the
 * cancellation cutoff (24 h). The scheduler would refuse it: the gateway
 * knows, sends nothing, and tells H politely to warn the trainer; the seat
 * stays booked. */
static void cancel_inside_the_cutoff_is_told(void **state)
{
    (void)state;
    char bid[16], st[32], text[1024];
    booking(TUE01, H.person, bid, st);
    assert_string_equal(st, "booked");
    sms_in("h1", "+33710000008", "annuler");
    wait_job(H.person, "reply_refused", "sent");
    sms_of(H.person, "reply_refused", text, sizeof text);
    assert_non_null(strstr(text, "Bonjour Hélène, il est trop tard pour annuler par SMS"));
    booking(TUE01, H.person, bid, st);
    assert_string_equal(st, "booked");
    assert_int_equal(fig("replies_refused:cancel:TOO_LATE"), 1);
    assert_true(h_log_has(&env, "gateway", "reason=cancel:TOO_LATE action=told"));
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:gateway:dead"), 0);
}

/* K2 gives up the Thursday seat: offered to K3 by SMS, who does not answer
 * in time (24 h); the scheduler lets the offer expire. K3's late OUI is
 * known here to be too late: K3 is told the deadline passed, nothing is
 * sent to the scheduler. */
static void late_answer_to_an_offer_is_told(void **state)
{
    (void)state;
    who_t k3 = { "GW-K3", "Kamel", NULL, "06 10 00 00 13", "thu-pm", 0, 1, 1 };
    referred_t K3 = refer(&k3);
    char bid[16], st[32], text[1024];
    booking(THU03, K3.person, bid, st); /* waiting: no booking in the roster yet */
    sms_in("k4", "+33610000011", "ANNULER"); /* K2 (K1 has nothing open) */
    wait_job(K3.person, "offer", "sent");
    set_now("2026-12-02T12:00:00Z"); /* the offer's 24 h are over */
    const char *exp[] = { THU03, K3.person, "expired" };
    assert_int_equal(h_wait_for(&env, booking_is, exp, 20000), 0);
    long long before = h_redis_int(&env, "HGET tp:{42}:gateway:fig:total replies_refused:offer:OFFER_EXPIRED");
    sms_in("k5", "+33610000013", "OUI");
    wait_job(K3.person, "reply_refused", "sent");
    sms_of(K3.person, "reply_refused", text, sizeof text);
    assert_non_null(strstr(text, "Bonjour Kamel, le délai pour répondre à la place proposée est passé"));
    assert_true(h_log_has(&env, "gateway", "reason=offer:OFFER_EXPIRED action=told"));
    assert_int_equal(fig("replies_refused:offer:OFFER_EXPIRED"), before + 1);
}

/* A reply file claimed by an instance that died with it (its claim two
 * minutes old, the lease 60 s) is taken over and processed; one claimed a
 * moment ago by a live instance is left to it. */
static void reply_claimed_by_a_dead_instance_is_taken_over(void **state)
{
    (void)state;
    char dead[400], live[400];
    snprintf(dead, sizeof dead, "%s/spool/inbox/.work-0123456789abcdef-z1", env.dir);
    snprintf(live, sizeof live, "%s/spool/inbox/.work-fedcba9876543210-z2", env.dir);
    assert_int_equal(h_write_file(dead, "From: +33610000001\n\nça veut dire quoi\n"), 0);
    assert_int_equal(h_write_file(live, "From: +33610000001\n\nça veut dire quoi\n"), 0);
    struct timespec old[2] = { { time(NULL) - 120, 0 }, { time(NULL) - 120, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, dead, old, 0), 0);
    assert_int_equal(h_wait_for(&env, file_done, "z1", 20000), 0);
    assert_true(h_log_has(&env, "gateway", "event=reply_taken_over file=z1"));
    assert_int_equal(access(live, F_OK), 0); /* its holder's */
    assert_false(file_done(&env, "z2"));
}

/* --------------------------------------------------------- group: survey */

#define THU03P "20261203-1400-wilson-perfectionnement"

static int survey_setup(void **state)
{
    (void)state;
    static const char tt[] =
        "{ \"version\": \"gws\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 8,\n"
        "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"La Poste Wilson\" } ],\n"
        "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\", "
        "\"trainer\": \"t1\", \"capacity\": 8 },\n"
        "             { \"day\": \"thu\", \"start\": \"14:00\", \"kind\": \"perfectionnement\", \"venue\": \"wilson\", "
        "\"trainer\": \"t2\", \"capacity\": 8 } ] }\n";
    const char *gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", "TREMPLIN_GATEWAY_SURVEY_WAIT_MIN=30", NULL };
    return group_start(tt, "2026-11-30T06:00:00Z", 1, gw, MON30) || h_wait_for(&env, h_session_open, THU03P, 20000);
}

/* The survey's record of pid's participation at the Monday session: field
 * name ("" when none). */
static void part_field(const char *pid, const char *name, char *out, size_t cap)
{
    char id[64];
    rget(id, sizeof id, "GET tp:{42}:survey:by:%s:" MON30, pid);
    out[0] = '\0';
    if (id[0])
        rget(out, cap, "HGET tp:{42}:survey:participation:%s %s", id, name);
}

typedef struct {
    const char *pid, *field, *value;
} part_wait_t;

static int part_reaches(h_env_t *h, void *arg)
{
    (void)h;
    const part_wait_t *w = arg;
    char v[64];
    part_field(w->pid, w->field, v, sizeof v);
    return !strcmp(v, w->value);
}

static void wait_part(const char *pid, const char *field, const char *value)
{
    part_wait_t w = { pid, field, value };
    if (h_wait_for(&env, part_reaches, &w, 20000) != 0) {
        char v[64];
        part_field(pid, field, v, sizeof v);
        fprintf(stderr, "participation of %s: %s is '%s', not '%s'\n", pid, field, v, value);
        h_log_tail(&env, "gateway", 20);
        h_log_tail(&env, "survey", 20);
        fail();
    }
}

static long long survey_fig(const char *field)
{
    return h_redis_int(&env, "HGET tp:{42}:survey:fig:total %s", field);
}

static void mark(const char *pid, const char *status)
{
    char out[1024], cmd[256];
    snprintf(cmd, sizeof cmd, "attendance " MON30 " %s %s --trainer t1", pid, status);
    int rc = h_cli(&env, out, sizeof out, cmd);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
}

static int in_roster(h_env_t *h, void *arg)
{
    return h_redis_int(h, "HEXISTS tp:{42}:scheduler:roster:" THU03P " %s", (const char *)arg) == 1;
}

static referred_t S1, S2, S3;

/* A survey answer in one SMS: "2" alone is sent as it is once
 * survey_wait_min has passed, and the survey records it; "OUI" alone too,
 * and the follow-up it asks for ends in a booking for the next kind of the
 * pathway. Nothing becomes a dead letter. */
static void survey_answer_in_one_sms_recorded(void **state)
{
    (void)state;
    who_t a = { "GWS-1", "Paulette", NULL, "06 30 00 00 01", "mon-am", 0, 1, 1, NULL };
    who_t b = { "GWS-2", "Marcel", NULL, "06 30 00 00 02", "mon-am", 0, 1, 1, "thu-pm" };
    who_t c = { "GWS-3", "Lucienne", NULL, "06 30 00 00 03", "mon-am", 0, 1, 1, NULL }; /* for the next test */
    S1 = refer(&a);
    S2 = refer(&b);
    S3 = refer(&c);
    set_now("2026-11-30T10:00:00Z"); /* Monday 11:00: the 09:30 workshop took place */
    mark(S1.person, "seen");
    mark(S2.person, "seen");
    mark(S3.person, "seen");
    wait_job(S1.person, "survey_invitation", "sent");
    wait_job(S2.person, "survey_invitation", "sent");
    sms_in("v1", "+33630000001", "2");
    sms_in("v2", "+33630000002", "oui");
    assert_int_equal(h_wait_for(&env, file_done, "v1", 20000), 0);
    assert_int_equal(h_wait_for(&env, file_done, "v2", 20000), 0);
    char v[64];
    part_field(S1.person, "status", v, sizeof v);
    assert_string_equal(v, "open"); /* kept by the gateway for the rest */
    set_now("2026-11-30T10:40:00Z"); /* past survey_wait_min (30 business minutes) */
    wait_part(S1.person, "status", "answered");
    wait_part(S2.person, "status", "answered");
    part_field(S1.person, "satisfaction", v, sizeof v);
    assert_string_equal(v, "2");
    part_field(S1.person, "channel", v, sizeof v);
    assert_string_equal(v, "sms");
    part_field(S2.person, "more", v, sizeof v);
    assert_string_equal(v, "1:");
    assert_int_equal(survey_fig("answered:sms"), 2);
    assert_int_equal(survey_fig("went_on"), 1);
    assert_int_equal(h_wait_for(&env, in_roster, S2.person, 20000), 0); /* the follow-up booked */
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:gateway:dead"), 0);
}

/* S3 answered on paper (1, non); an SMS "3 oui" comes after: the survey
 * refuses it (ALREADY_ANSWERED) — an answer, not a failure: S3 is told
 * politely that the first answer is kept, nothing goes to the dead letters,
 * the reply's record and the figures say it. */
static void survey_refusal_told_not_dead_lettered(void **state)
{
    (void)state;
    wait_job(S3.person, "survey_invitation", "sent");
    char path[400], form[512], out[2048], cmd[512];
    snprintf(path, sizeof path, "%s/form-s3.json", env.dir);
    snprintf(form, sizeof form,
             "{ \"person_id\": \"%s\", \"session_id\": \"" MON30 "\", \"satisfaction\": 1, "
             "\"wants_more\": false }\n",
             S3.person);
    assert_int_equal(h_write_file(path, form), 0);
    snprintf(cmd, sizeof cmd, "survey submit %s", path);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    sms_in("v3", "+33630000003", "3 oui");
    wait_job(S3.person, "reply_refused", "sent");
    char text[1024];
    sms_of(S3.person, "reply_refused", text, sizeof text);
    assert_non_null(strstr(text, "Bonjour Lucienne, merci, vous avez déjà répondu à ce questionnaire"));
    assert_int_equal(fig("replies_refused:survey:ALREADY_ANSWERED"), 1);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:gateway:dead"), 0);
    assert_int_equal(h_redis_int(&env, "XLEN tp:{42}:gateway:outbox"), 0);
    char v[64];
    part_field(S3.person, "satisfaction", v, sizeof v);
    assert_string_equal(v, "1"); /* the first answer kept */
}

/* ----------------------------------------------------------- group: http */

/* A provider that answers 503 to everything, counting the requests and
 * keeping the last Idempotency-Key (a thread, on loopback). */
typedef struct {
    int fd, requests, stop;
    char key[128];
    pthread_t thread;
} provider_t;

static provider_t prov;

static void *provider_run(void *arg)
{
    provider_t *p = arg;
    while (!p->stop) {
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[8192];
        size_t n = 0;
        ssize_t k;
        char *body = NULL;
        while (n < sizeof buf - 1 && (k = read(c, buf + n, sizeof buf - 1 - n)) > 0) {
            n += (size_t)k;
            buf[n] = '\0';
            if ((body = strstr(buf, "\r\n\r\n"))) {
                char *cl = strcasestr(buf, "Content-Length:");
                size_t want = cl ? (size_t)atol(cl + 15) : 0;
                if (n - (size_t)(body + 4 - buf) >= want)
                    break;
            }
        }
        char *key = strcasestr(buf, "Idempotency-Key:");
        if (key) {
            key += 16 + strspn(key + 16, " ");
            size_t l = strcspn(key, "\r\n");
            snprintf(p->key, sizeof p->key, "%.*s", (int)l, key);
        }
        __atomic_add_fetch(&p->requests, 1, __ATOMIC_SEQ_CST);
        const char *ans = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ssize_t w = write(c, ans, strlen(ans));
        (void)w;
        close(c);
    }
    return NULL;
}

static int http_setup(void **state)
{
    (void)state;
    if (group_start(timetable, "2026-11-23T08:00:00Z", 0, NULL, MON30) != 0)
        return -1;
    prov.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(env.base_port + 25)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(prov.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(prov.fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(prov.fd, 16) != 0)
        return -1;
    pthread_create(&prov.thread, NULL, provider_run, &prov);
    char url[128], auth[400];
    snprintf(url, sizeof url, "TREMPLIN_GATEWAY_HTTP_URL=http://127.0.0.1:%d/sms", env.base_port + 25);
    snprintf(auth, sizeof auth, "%s/secrets/provider.header", env.dir);
    if (h_write_file(auth, "Authorization: Bearer test-token\n") != 0 || chmod(auth, 0600) != 0)
        return -1;
    char authv[450];
    snprintf(authv, sizeof authv, "TREMPLIN_GATEWAY_HTTP_AUTH_HEADER_FILE=%s", auth);
    const char *gw[] = { "TREMPLIN_GATEWAY_CHANNEL=http", url, authv, "TREMPLIN_GATEWAY_MAX_TRIES=2",
                         "TREMPLIN_GATEWAY_RETRY_BASE_MS=300", "TREMPLIN_GATEWAY_HTTP_TIMEOUT_MS=1000",
                         "TREMPLIN_GATEWAY_HTTP_CONNECT_TIMEOUT_MS=500", "TREMPLIN_GATEWAY_BATCH=4",
                         "TREMPLIN_GATEWAY_TICK_MS=50", NULL };
    return (pids[3] = h_start_ready(&env, "gateway", NULL, gw, 30000)) < 0 ? -1 : 0;
}

static int http_teardown(void **state)
{
    prov.stop = 1;
    shutdown(prov.fd, SHUT_RDWR);
    close(prov.fd);
    pthread_join(prov.thread, NULL);
    return h_group_teardown(state);
}

/* The provider fails twice: the job is tried, retried after a backoff, then
 * given up and flagged; the operator sees it in `notify list --failed`. */
static void http_failures_retried_then_flagged(void **state)
{
    (void)state;
    who_t a = { "GW-HTTP", "Josiane", NULL, "06 10 00 00 01", "mon-am", 0, 1, 1 };
    referred_t x = refer(&a);
    wait_job(x.person, "convocation", "given_up");
    char jid[128], tries[8];
    job_of(x.person, "convocation", jid, sizeof jid);
    ms_sleep(1000); /* no third try comes */
    assert_int_equal(__atomic_load_n(&prov.requests, __ATOMIC_SEQ_CST), 2);
    char key[160];
    snprintf(key, sizeof key, "42:%s", jid); /* territory:job id, as the spool file */
    assert_string_equal(prov.key, key);
    rget(tries, sizeof tries, "HGET tp:{42}:gateway:job:%s tries", jid);
    assert_string_equal(tries, "2");
    assert_int_equal(fig("failed"), 2);
    assert_int_equal(fig("given_up"), 1);
    assert_int_equal(fig("sent:sms"), 0);
    assert_true(h_log_has(&env, "gateway", "event=sms_failed"));
    assert_false(h_log_has(&env, "gateway", "test-token"));
    char out[4096];
    assert_int_equal(h_cli(&env, out, sizeof out, "notify list --failed"), 0);
    assert_non_null(strstr(out, jid));
    assert_non_null(strstr(out, "abandonné"));
    assert_non_null(strstr(out, "HTTP 503"));
}

/* ---------------------------------------------------------- group: twice */

static int twice_setup(void **state)
{
    (void)state;
    static const char tt[] = "{ \"version\": \"gw2\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 8,\n"
                             "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"La Poste Wilson\" } ],\n"
                             "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", "
                             "\"venue\": \"wilson\", \"trainer\": \"t1\", \"capacity\": 60 } ] }\n";
    return group_start(tt, "2026-11-23T08:00:00Z", 0, NULL, MON30);
}

static int spool_files_reach(h_env_t *h, void *arg)
{
    (void)h;
    return count_spool() >= *(int *)arg;
}

/* Job scheduler:0-<n> decided (sent or dropped, with its figures: the same
 * step), and no job held by an instance. */
static int job_decided(h_env_t *h, void *arg)
{
    char st[16];
    rget(st, sizeof st, "HGET tp:{42}:gateway:job:scheduler:0-%d status", *(int *)arg);
    return (!strcmp(st, "sent") || !strcmp(st, "dropped")) && h_redis_int(h, "ZCARD tp:{42}:gateway:sending") == 0;
}

/* Job scheduler:0-<n>, a copy of job src (its booking replaced when
 * booking is set), held by an instance that died after putting its SMS in
 * the spool (text) and before recording it, its lease over; waits until the
 * n-th takeover has decided it. Its status into st, the file into path. */
static void dead_holders_job(const char *src, int n, const char *booking, const char *text, char st[16], char path[400])
{
    redisReply *r = h_redis(&env, "COPY tp:{42}:gateway:job:%s tp:{42}:gateway:job:scheduler:0-%d", src, n);
    assert_true(r && r->integer == 1);
    freeReplyObject(r);
    r = h_redis(&env, "HSET tp:{42}:gateway:job:scheduler:0-%d status sending owner gateway-dead/1 type convocation", n);
    freeReplyObject(r);
    if (booking) {
        r = h_redis(&env, "HSET tp:{42}:gateway:job:scheduler:0-%d booking %s", n, booking);
        freeReplyObject(r);
    }
    snprintf(path, 400, "%s/spool/42_scheduler_0-%d.sms", env.dir, n);
    assert_int_equal(h_write_file(path, text), 0);
    r = h_redis(&env, "ZADD tp:{42}:gateway:sending %lld scheduler:0-%d", (long long)clock_real_ms() - 1000, n);
    freeReplyObject(r);
    h_log_wait_t tk = { "gateway-b", "event=job_taken_over", n };
    assert_int_equal(h_wait_for(&env, h_log_reaches, &tk, 20000), 0);
    /* decided and recorded, none held: nothing more can be written */
    assert_int_equal(h_wait_for(&env, job_decided, &n, 30000), 0);
    rget(st, 16, "HGET tp:{42}:gateway:job:scheduler:0-%d status", n);
}

/* Two gateways share the jobs; one is killed (kill -9) while they flow,
 * and a job held by an instance that died between handing its SMS to the
 * spool and recording it is taken over: every SMS is in the spool once,
 * every job is recorded sent once. */
static void two_gateways_one_killed_each_sms_once(void **state)
{
    (void)state;
    char bind_b[96], ev_b[96];
    snprintf(bind_b, sizeof bind_b, "TREMPLIN_GATEWAY_BIND=tcp://127.0.0.1:%d", env.base_port + 26);
    snprintf(ev_b, sizeof ev_b, "TREMPLIN_GATEWAY_EVENTS=tcp://127.0.0.1:%d", env.base_port + 27);
    const char *ga[] = { "TREMPLIN_GATEWAY_INSTANCE=gateway-a", "TREMPLIN_GATEWAY_TICK_MS=20",
                         "TREMPLIN_GATEWAY_BATCH=2", "TREMPLIN_GATEWAY_LEASE_MS=2000", NULL };
    const char *gb[] = { "TREMPLIN_GATEWAY_INSTANCE=gateway-b", "TREMPLIN_GATEWAY_TICK_MS=20", "TREMPLIN_GATEWAY_BATCH=2",
                         "TREMPLIN_GATEWAY_LEASE_MS=2000", "TREMPLIN_GATEWAY_CALLBACK_BIND=", bind_b, ev_b, NULL };
    pid_t a = h_start_ready(&env, "gateway", "gateway-a", ga, 30000);
    pid_t b = h_start_ready(&env, "gateway", "gateway-b", gb, 30000);
    assert_true(a > 0 && b > 0);
    enum { N = 30 };
    char ref[16], given[16], phone[24];
    int killed = 0;
    who_t w = { ref, given, NULL, phone, "mon-am", 0, 1, 1 };
    for (int i = 0; i < N; i++) {
        snprintf(ref, sizeof ref, "GW2-%02d", i);
        snprintf(given, sizeof given, "Personne%c", 'A' + i);
        snprintf(phone, sizeof phone, "06 20 00 00 %02d", i);
        refer(&w);
        /* killed while the jobs flow, once it has sent some */
        if (!killed && i >= N / 3 && count_spool() >= 3 && h_log_count(&env, "gateway-a", "event=sms_sent") > 0) {
            h_signal(a, SIGKILL);
            killed = 1;
        }
    }
    if (!killed) {
        h_log_wait_t sa = { "gateway-a", "event=sms_sent", 1 };
        assert_int_equal(h_wait_for(&env, h_log_reaches, &sa, 20000), 0);
        h_signal(a, SIGKILL);
    }
    /* a job an instance (now dead) took and handed to the spool, but did
     * not record: its lease has ended */
    redisReply *one = h_redis(&env, "ZRANGE tp:{42}:gateway:jobs 0 0");
    assert_true(one && one->type == REDIS_REPLY_ARRAY && one->elements == 1);
    char src[128];
    util_strlcpy(src, one->element[0]->str, sizeof src);
    freeReplyObject(one);
    int n = N;
    assert_int_equal(h_wait_for(&env, spool_files_reach, &n, 30000), 0);
    char st[16], path[400];
    dead_holders_job(src, 1, NULL, "written by the instance that died\n", st, path);
    assert_string_equal(st, "sent");
    assert_int_equal(count_spool(), N + 1);
    char text[128] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "written by the instance that died\n"); /* not written again */
    assert_int_equal(fig("sent:sms"), N + 1);
    assert_int_equal(fig("sent:convocation"), N + 1);
    assert_int_equal(h_redis_int(&env, "ZCARD tp:{42}:gateway:sending"), 0);
    assert_int_equal(h_redis_int(&env, "ZCARD tp:{42}:gateway:flagged"), 0);
    /* both instances sent some */
    assert_true(h_log_count(&env, "gateway-a", "event=sms_sent") > 0);
    assert_true(h_log_count(&env, "gateway-b", "event=sms_sent") > 0);
    /* files created: the SMS handed over, less those found already there */
    int created = h_log_count(&env, "gateway-a", "event=sms_sent") + h_log_count(&env, "gateway-b", "event=sms_sent")
                  - h_log_count(&env, "gateway-a", "event=spool_exists")
                  - h_log_count(&env, "gateway-b", "event=spool_exists");
    assert_int_equal(created, N);

    /* the same, for a job whose booking was cancelled after the dead
     * instance handed its SMS over: the person has it, so it is recorded
     * sent (and counted), not dropped as stale */
    dead_holders_job(src, 2, "NOSUCHBOOK", "To: +33600000000\nJob: 42:scheduler:0-2\nSegments: 1\n\nsent before the kill\n", st,
                     path);
    assert_string_equal(st, "sent");
    assert_int_equal(count_spool(), N + 2);
    assert_int_equal(fig("sent:sms"), N + 2);
}

/* ------------------------------------------------------ group: retention */

static int retention_setup(void **state)
{
    (void)state;
    const char *gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", "TREMPLIN_RETENTION_SMS_DAYS=7",
                         "TREMPLIN_GATEWAY_PURGE_MS=200", "TREMPLIN_GATEWAY_REMINDER_DAYS=0", NULL };
    return group_start(timetable, "2026-11-23T08:00:00Z", 0, gw, MON30);
}

typedef struct {
    char path[400];
} path_t;

static int gone(h_env_t *h, void *arg)
{
    (void)h;
    return access(((path_t *)arg)->path, F_OK) != 0;
}

/* The phone:<h> set holding pid ("" when none). */
static void phone_key(const char *pid, char key[200])
{
    char *w[2] = { (char *)pid, key };
    key[0] = '\0';
    assert_int_equal(h_scan(&env, "tp:{42}:gateway:phone:*", phone_of, w), 0);
}

/* The texts of incoming SMS (done/), the spool's SMS and the phone sets
 * are kept [retention] sms_days (7, business time) after they were last written
 * (no reminders in this group: R1's number is not written to again):
 * R1's (23 November) are deleted on 2 December by the purge, R2's (28
 * November) stay. */
static void personal_data_purged_after_retention(void **state)
{
    (void)state;
    who_t r1 = { "GW-R1", "Rose", NULL, "06 40 00 00 01", "mon-am", 0, 1, 1 };
    who_t r2 = { "GW-R2", "Rémi", NULL, "06 40 00 00 02", "tue-am", 0, 1, 1 };
    referred_t R1 = refer(&r1);
    wait_job(R1.person, "convocation", "sent");
    sms_in("old1", "+33640000001", "c'est où ?");
    wait_job(R1.person, "not_understood", "sent");
    set_now("2026-11-28T09:00:00Z");
    /* the horizon has reached Tuesday 1 December (the reload generates it:
     * referred before, Rémi would wait, not be convoked) */
    assert_int_equal(h_wait_for(&env, h_session_open, TUE01, 20000), 0);
    referred_t R2 = refer(&r2);
    wait_job(R2.person, "convocation", "sent");
    sms_in("new1", "+33640000002", "c'est où ?");
    wait_job(R2.person, "not_understood", "sent");

    path_t old_sms, old_text, new_sms, new_text;
    spool_path(R1.person, "convocation", old_sms.path, sizeof old_sms.path);
    spool_path(R2.person, "convocation", new_sms.path, sizeof new_sms.path);
    snprintf(old_text.path, sizeof old_text.path, "%s/spool/inbox/done/old1", env.dir);
    snprintf(new_text.path, sizeof new_text.path, "%s/spool/inbox/done/new1", env.dir);
    char k1[200], k2[200];
    phone_key(R1.person, k1);
    phone_key(R2.person, k2);
    assert_true(k1[0] && k2[0]);
    assert_int_equal(access(old_sms.path, F_OK), 0);
    assert_int_equal(access(old_text.path, F_OK), 0);

    set_now("2026-12-02T12:00:00Z"); /* R1's: 9 days old; R2's: 4 days */
    assert_int_equal(h_wait_for(&env, gone, &old_sms, 20000), 0);
    assert_int_equal(h_wait_for(&env, gone, &old_text, 20000), 0);
    h_log_wait_t w = { "gateway", "event=phones_purged", 1 };
    assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 20000), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS %s", k1), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS %s", k2), 1);
    assert_int_equal(access(new_sms.path, F_OK), 0);
    assert_int_equal(access(new_text.path, F_OK), 0);
    /* a reply from the forgotten number is from an unknown sender */
    sms_in("old2", "+33640000001", "OUI");
    assert_int_equal(h_wait_for(&env, file_done, "old2", 20000), 0);
    assert_true(h_log_has(&env, "gateway", "event=reply_unknown_sender"));
}

int main(void)
{
    h_test_filter();
    h_group_env(&env);
    const struct CMUnitTest spool[] = {
        cmocka_unit_test(convocation_in_the_spool),
        cmocka_unit_test(held_at_night_and_consent_checked_at_send_time),
        cmocka_unit_test(reminder_at_j_minus_2_and_none_after_the_start),
        cmocka_unit_test(replies_cancel_no_yes),
        cmocka_unit_test(reply_not_understood),
        cmocka_unit_test(survey_answer_in_two_sms),
        cmocka_unit_test(survey_messages_only_while_open),
        cmocka_unit_test(callback_endpoint),
        cmocka_unit_test(roster_sheet_and_letters),
        cmocka_unit_test(no_reminder_once_started_and_attendance_by_line),
        cmocka_unit_test(roster_lines_keep_their_numbers),
        cmocka_unit_test(reply_matches_only_offers_sent),
        cmocka_unit_test(cancel_inside_the_cutoff_is_told),
        cmocka_unit_test(late_answer_to_an_offer_is_told),
        cmocka_unit_test(reply_claimed_by_a_dead_instance_is_taken_over),
    };
    const struct CMUnitTest survey[] = {
        cmocka_unit_test(survey_answer_in_one_sms_recorded),
        cmocka_unit_test(survey_refusal_told_not_dead_lettered),
    };
    const struct CMUnitTest http[] = { cmocka_unit_test(http_failures_retried_then_flagged) };
    const struct CMUnitTest twice[] = { cmocka_unit_test(two_gateways_one_killed_each_sms_once) };
    const struct CMUnitTest retention[] = { cmocka_unit_test(personal_data_purged_after_retention) };
    int failed = cmocka_run_group_tests_name("gateway_spool", spool, spool_setup, h_group_teardown);
    failed += cmocka_run_group_tests_name("gateway_survey", survey, survey_setup, h_group_teardown);
    failed += cmocka_run_group_tests_name("gateway_http", http, http_setup, http_teardown);
    failed += cmocka_run_group_tests_name("gateway_twice", twice, twice_setup, h_group_teardown);
    failed += cmocka_run_group_tests_name("gateway_retention", retention, retention_setup, h_group_teardown);
    return failed;
}
