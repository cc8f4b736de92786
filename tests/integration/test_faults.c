/* Faults through the whole flow (issue 15, docs/reliability.md): a steady
 * mixed load — referrals from three branch systems over CURVE (assessed by
 * the matcher, booked or waitlisted by the scheduler, convoked by the
 * gateway through its spool), cancellations, offers accepted and declined,
 * attendance marks, survey answers (invitations by SMS, follow-ups back to
 * the matcher), one referral in 16 sent again under a new msg_id — for 40 s
 * with the windows kept full (more than 100 messages in flight), while
 * faults strike at seeded random points (the seed is
 * printed; TP_SEED=N replays a run):
 *   - kill -9 of every service, gateway included, three times each, each
 *     restarted after a seeded downtime (the first gateway kill waits, 10 s
 *     at most, for an SMS in the spool whose job is not recorded yet);
 *   - kill -9 of redis-server, restarted from its AOF (appendfsync always:
 *     everysec loses acked writes when the disk is busy, docs/reliability.md);
 *   - the scheduler paused with SIGSTOP until the matcher's oldest unacked
 *     message has waited past twice the retry timeout, then SIGCONT;
 *   - a second matcher instance started and killed mid-run (never back:
 *     its leased messages are taken over).
 * A second Redis connection samples every session's seats during the run.
 * Once everything has settled (a condition with a deadline: outboxes empty,
 * notify streams read, jobs sent, every acked referral placed), the services
 * are stopped and an audit reads the raw Redis state as the admin, with none
 * of the services' code: every acknowledged referral has exactly one final
 * state; no effect happened twice (business keys, bookings, SMS); no session
 * above capacity, now or at any sample; no person booked twice for one kind;
 * each SMS in the spool once and recorded once; the figures equal the state;
 * no dead letter. It prints one COUNTS line and the recovery time after each
 * fault (printed only: timings never decide the outcome). */
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

#include "clock.h"
#include "audit.h"
#include "harness.h"
#include "intake/referral_json.h"

#define T "tp:{42}:"
#define MAX_REF 60000
#define LOAD_MS 40000 /* the load and its faults; then the system settles */
#define N_BRANCH 3
#define BRANCH_WINDOW 48
#define STAFF_WINDOW 32
#define KILLS_EACH 3
#define MAX_DONE 8192
#define MAX_SESSIONS 256
#define RETRY_MAX_MS 2000
#define RUN_DEADLINE_MS 240000

enum { INTAKE, MATCHER, SCHEDULER, SURVEY, REPORTER, GATEWAY, NSVC };
static const char *const names[NSVC] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
static const char *const fast_sched[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
static const char *const fast_survey[] = { "TREMPLIN_SURVEY_TIMER_MS=100", NULL };
static const char *const fast_gw[] = { "TREMPLIN_GATEWAY_TICK_MS=20", "TREMPLIN_GATEWAY_LEASE_MS=2000", NULL };
static const char *const *const svc_env[NSVC] = { NULL, NULL, fast_sched, fast_survey, NULL, fast_gw };
static const char *const branches[N_BRANCH] = { "wilson", "bellevue", "montreynaud" };
static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };
static const char *const venues[] = { "wilson", "bellevue", "centre" };

static h_env_t env;
static pid_t pid_of[NSVC];
static char m2_env[3][96];
static const char *m2_envp[4];

/* ------------------------------------------------------------ seeded rng */

static unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return n ? (unsigned)((rng_state >> 33) % n) : 0;
}

/* -------------------------------------------------------- small id sets */

typedef struct {
    char (*ids)[48];
    int n;
} idset_t;

static int idset_has(const idset_t *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->ids[i], id))
            return 1;
    return 0;
}

/* Adds id; 0 when it was new, 1 when it was there (or the set is full). */
static int idset_add(idset_t *s, const char *id)
{
    if (idset_has(s, id) || s->n == MAX_DONE)
        return 1;
    util_strlcpy(s->ids[s->n++], id, sizeof s->ids[0]);
    return 0;
}

static void idset_del(idset_t *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->ids[i], id)) {
            memcpy(s->ids[i], s->ids[--s->n], sizeof s->ids[0]);
            return;
        }
}

/* ------------------------------------------------------------- the load */

enum { OP_REF, OP_CANCEL, OP_ANSWER, OP_MARK, OP_SURVEY, OP_RESEND, NOPS };
static const char *const op_names[NOPS] = { "referral", "cancel", "offer_answer", "mark", "survey_answer",
                                            "referral_resent" };

typedef struct {
    char msg_id[TP_ID_LEN + 1], rid[40], pid[40];
    int acked, queued; /* queued: to send (again) */
    /* one in 16, once acked, is sent again under a new msg_id, as a branch
     * system that lost track of it would: 1 to send, 2 sent, 3 answered */
    char resend_id[TP_ID_LEN + 1];
    int resend;
} referral_t;

typedef struct {
    char id[48];
    int extra; /* accept / mark status / wants more */
} op_t;

typedef struct {
    referral_t ref[MAX_REF];
    int sent, acked, next; /* distinct referrals sent, acked; the next never sent */
    int stop_sending, resends_open;
    long resend_doubled; /* a resend answered with another referral, or not as a duplicate */
    long acks[NOPS], refused[NOPS], lost[NOPS], tries[NOPS];
    long accepted, declined, cancelled, marked[3], answered, wants_more;
    op_t ops[4][MAX_DONE]; /* the staff commands in flight, by op - 1 */
    idset_t done[4];       /* what was sent (offers answered, bookings cancelled or marked, participations) */
    long max_inflight;
    int phase_b;
} load_t;

static load_t L;
static char done_buf[4][MAX_DONE][48];
static client_t *branch_c[N_BRANCH], *sched_c, *survey_c;

static int inflight(void)
{
    int n = client_inflight(sched_c) + client_inflight(survey_c);
    for (int b = 0; b < N_BRANCH; b++)
        n += client_inflight(branch_c[b]);
    return n;
}

static void on_reply(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    (void)arg;
    int op = (int)(tag & 7);
    unsigned idx = (unsigned)(tag >> 3);
    const char *code = h_code(r);
    if (op == OP_REF) {
        referral_t *f = &L.ref[idx];
        if (!r) { /* given up after every try: sent again, same msg_id */
            L.lost[op]++;
            f->queued = 1;
        } else if (r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
            if (!f->acked) {
                f->acked = 1;
                L.acked++;
                util_strlcpy(f->rid, r->ack->referral_id, sizeof f->rid);
                util_strlcpy(f->pid, r->ack->person_id, sizeof f->pid);
                if (idx % 16 == 5) {
                    f->resend = 1;
                    L.resends_open++;
                }
            }
            L.acks[op]++;
        } else { /* UNAVAILABLE while Redis restarts: the same msg_id again */
            L.refused[op]++;
            f->queued = 1;
        }
        return;
    }
    if (op == OP_RESEND) {
        referral_t *f = &L.ref[idx];
        if (r && r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
            if (f->resend == 2) {
                f->resend = 3;
                L.resends_open--;
                if (strcmp(r->ack->referral_id, f->rid) || !r->ack->duplicate) {
                    fprintf(stderr, "audit: referral %u sent again: %s, duplicate=%d\n", idx,
                            strcmp(r->ack->referral_id, f->rid) ? "another referral id" : "the same id",
                            r->ack->duplicate);
                    L.resend_doubled++;
                }
            }
            L.acks[op]++;
        } else {
            if (r)
                L.refused[op]++;
            else
                L.lost[op]++;
            if (f->resend == 2)
                f->resend = 1;
        }
        return;
    }
    op_t *o = &L.ops[op - 1][idx];
    if (!r || strcmp(code, "ACK") != 0) {
        /* refused (TOO_LATE, NOT_AN_OFFER … under contention; UNAVAILABLE
         * during Redis's restart): it may be picked again */
        if (r)
            L.refused[op]++;
        else
            L.lost[op]++;
        if (r && !strcmp(code, "UNAVAILABLE"))
            idset_del(&L.done[op - 1], o->id);
        return;
    }
    L.acks[op]++;
    const char *st = r->ack->status ? r->ack->status : "";
    if (r->ack->duplicate)
        return;
    if (op == OP_ANSWER)
        o->extra ? L.accepted++ : L.declined++;
    else if (op == OP_CANCEL)
        L.cancelled += !strcmp(st, "cancelled");
    else if (op == OP_MARK)
        L.marked[o->extra]++;
    else if (op == OP_SURVEY) {
        L.answered++;
        L.wants_more += o->extra;
    }
}

static void poll_all(int timeout_ms)
{
    for (int b = 0; b < N_BRANCH; b++)
        client_poll(branch_c[b], 0, on_reply, NULL);
    client_poll(survey_c, 0, on_reply, NULL);
    client_poll(sched_c, timeout_ms, on_reply, NULL);
}

/* Referral k: a branch in turn, levels and needs that spread people over
 * the three kinds, availabilities that always include Monday afternoon and
 * one or two other half-days. */
static json_object *referral_json(int k)
{
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    char ext[32];
    snprintf(ext, sizeof ext, "FLT-%05d", k);
    json_object_object_add(o, "branch", json_object_new_string(branches[k % N_BRANCH]));
    json_object_object_add(o, "external_ref", json_object_new_string(ext));
    json_object *person = json_object_object_get(o, "person");
    static const char *const days[] = { "tue-am", "wed-pm", "thu-am", "fri-pm" };
    json_object *avail = json_object_new_array();
    json_object_array_add(avail, json_object_new_string("mon-pm"));
    json_object_array_add(avail, json_object_new_string(days[k % 4]));
    if (k % 3 == 0)
        json_object_array_add(avail, json_object_new_string(days[(k + 1) % 4]));
    json_object_object_add(person, "availability", avail);
    json_object_object_add(json_object_object_get(o, "consent"), "given_at",
                           json_object_new_string("2026-11-27T09:00:00Z"));
    json_object *answers = json_object_object_get(o, "answers");
    json_object_object_foreach(answers, q, v)
    {
        (void)v;
        json_object_object_add(answers, q, json_object_new_int(k % 5 == 0 ? 2 : k % 5 == 1 ? 1 : 0));
    }
    if (k % 5 == 1) { /* level 1 with online banking: budget */
        json_object *needs = json_object_new_array();
        json_object_array_add(needs, json_object_new_string("online_banking"));
        json_object_object_add(o, "needs", needs);
    }
    return o;
}

/* Sends referral k from its branch's client; 0, or -1 when the window is
 * full. */
static int send_referral(int k, int again)
{
    referral_t *f = &L.ref[k];
    if (!f->msg_id[0])
        util_random_id(f->msg_id);
    if (again && !f->resend_id[0])
        util_random_id(f->resend_id);
    json_object *o = referral_json(k);
    referral_json_t h;
    Tremplin__Envelope e;
    assert_int_equal(h_referral_envelope(o, &h, again ? f->resend_id : f->msg_id, &e), 0);
    int rc = client_send(branch_c[k % N_BRANCH], &e, ((uint64_t)k << 3) | (again ? OP_RESEND : OP_REF));
    json_object_put(o);
    if (rc == 0 && again)
        f->resend = 2;
    else if (rc == 0)
        f->queued = 0;
    return rc;
}

static void send_referrals(void)
{
    for (int k = 0; k < L.next; k++) { /* again: refused or given up; resent */
        if (L.ref[k].queued && send_referral(k, 0) != 0)
            break;
        if (L.ref[k].resend == 1 && send_referral(k, 1) != 0)
            break;
    }
    while (!L.stop_sending && L.next < MAX_REF && send_referral(L.next, 0) == 0) {
        L.next++;
        L.sent++;
    }
}

/* A staff command: its envelope to client c, remembered under op. */
static void send_op(int op, const char *id, int extra, Tremplin__Envelope *e)
{
    client_t *c = op == OP_SURVEY ? survey_c : sched_c;
    if (client_inflight(c) >= STAFF_WINDOW || idset_add(&L.done[op - 1], id))
        return;
    int slot = L.done[op - 1].n - 1;
    op_t *o = &L.ops[op - 1][slot];
    util_strlcpy(o->id, id, sizeof o->id);
    o->extra = extra;
    e->territory = "42";
    if (client_send(c, e, ((uint64_t)slot << 3) | (uint64_t)op) != 0) {
        idset_del(&L.done[op - 1], id);
        return;
    }
    L.tries[op]++;
}

static void answer_offer(const char *bid)
{
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    Tremplin__AnswerOffer a = TREMPLIN__ANSWER_OFFER__INIT;
    a.booking_id = (char *)bid;
    a.accept = rnd(3) != 0;
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
    e.answer_offer = &a;
    send_op(OP_ANSWER, bid, a.accept, &e);
}

static void cancel_booking(const char *bid)
{
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelBooking c = TREMPLIN__CANCEL_BOOKING__INIT;
    c.booking_id = (char *)bid;
    c.reason = "empêchement";
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    e.cancel_booking = &c;
    send_op(OP_CANCEL, bid, 0, &e);
}

static void mark(const char *bid, const char *pid, const char *sid, const char *trainer)
{
    static const char *const marks[] = { "seen", "noshow", "excused" };
    unsigned r = rnd(8);
    int m = r < 5 ? 0 : r < 7 ? 1 : 2;
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    Tremplin__MarkAttendance a = TREMPLIN__MARK_ATTENDANCE__INIT;
    a.person_id = (char *)pid;
    a.session_id = (char *)sid;
    a.status = (char *)marks[m];
    a.trainer_id = (char *)trainer;
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
    e.mark_attendance = &a;
    send_op(OP_MARK, bid, m, &e);
}

static void answer_survey(const char *participation)
{
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    Tremplin__SubmitSurvey s = TREMPLIN__SUBMIT_SURVEY__INIT;
    s.participation_id = (char *)participation;
    s.satisfaction = 1 + (int)rnd(4);
    s.wants_more_given = 1;
    s.wants_more = rnd(2) == 0;
    s.channel = "sms";
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY;
    e.submit_survey = &s;
    send_op(OP_SURVEY, participation, s.wants_more, &e);
}

/* The Monday 14:00 sessions (over by 17:00, when the clock has moved). */
static void monday_sid(int i, char *out, size_t cap)
{
    snprintf(out, cap, "20261130-1400-%s-%s", venues[i], kinds[i]);
}

/* What a person or a trainer would do now, found in the state as they
 * would find it (an offer received, a seat held, a roster, an invitation):
 * a few commands of each kind a round. Redis down: nothing this round. */
static void staff_ops(void)
{
    redisReply *r = h_redis(&env, "ZRANGE " T "scheduler:offers 0 7");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (!idset_has(&L.done[OP_ANSWER - 1], r->element[i]->str) && rnd(4) == 0)
            answer_offer(r->element[i]->str);
    if (r)
        freeReplyObject(r);
    /* a seat given up in a session later in the week, now and then */
    if (L.done[OP_CANCEL - 1].n < MAX_DONE / 2 && rnd(3) == 0) {
        static const char *const later[] = { "20261202-1400", "20261203-0930", "20261204-1400" };
        char sid[80];
        int v = (int)rnd(3);
        snprintf(sid, sizeof sid, "%s-%s-%s", later[rnd(3)], venues[v], kinds[v]);
        r = h_redis(&env, "HVALS " T "scheduler:roster:%s", sid);
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            if (idset_has(&L.done[OP_CANCEL - 1], r->element[i]->str))
                continue;
            redisReply *st = h_redis(&env, "HGET " T "scheduler:booking:%s status", r->element[i]->str);
            int booked = st && st->type == REDIS_REPLY_STRING && !strcmp(st->str, "booked");
            if (st)
                freeReplyObject(st);
            if (booked) {
                cancel_booking(r->element[i]->str);
                break;
            }
        }
        if (r)
            freeReplyObject(r);
    }
    if (!L.phase_b)
        return;
    /* the trainers mark Monday afternoon's rosters */
    int v = (int)rnd(3);
    char sid[80];
    monday_sid(v, sid, sizeof sid);
    r = h_redis(&env, "HGETALL " T "scheduler:roster:%s", sid);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const char *pid = r->element[i]->str, *bid = r->element[i + 1]->str;
        if (idset_has(&L.done[OP_MARK - 1], bid))
            continue;
        redisReply *st = h_redis(&env, "HGET " T "scheduler:booking:%s status", bid);
        int booked = st && st->type == REDIS_REPLY_STRING && !strcmp(st->str, "booked");
        if (st)
            freeReplyObject(st);
        if (booked) {
            char trainer[8];
            snprintf(trainer, sizeof trainer, "t%d", v + 1);
            mark(bid, pid, sid, trainer);
        }
    }
    if (r)
        freeReplyObject(r);
    /* the people answer their invitations */
    r = h_redis(&env, "ZRANGE " T "survey:due 0 15");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *id = r->element[i]->str;
        if (idset_has(&L.done[OP_SURVEY - 1], id))
            continue;
        redisReply *p = h_redis(&env, "HMGET " T "survey:participation:%s status invited_ms", id);
        int open = p && p->type == REDIS_REPLY_ARRAY && p->element[0]->str && !strcmp(p->element[0]->str, "open")
                   && p->element[1]->str;
        if (p)
            freeReplyObject(p);
        if (open)
            answer_survey(id);
    }
    if (r)
        freeReplyObject(r);
}

/* --------------------------------------------------------- the sampler */

typedef struct {
    redisContext *c;
    char sids[MAX_SESSIONS][80];
    int nsids;
    long samples, oversold, negative;
} sampler_t;

static sampler_t S;

static void sample(void)
{
    if (!S.c || S.c->err) {
        if (S.c)
            redisFree(S.c);
        S.c = h_redis_connect_to(&env, env.redis_port, 1);
        if (!S.c)
            return; /* Redis restarting */
    }
    S.nsids = 0;
    for (int k = 0; k < 3; k++) {
        redisReply *r = redisCommand(S.c, "ZRANGE " T "scheduler:sessions:%s 0 -1", kinds[k]);
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && S.nsids < MAX_SESSIONS; i++)
            util_strlcpy(S.sids[S.nsids++], r->element[i]->str, sizeof S.sids[0]);
        if (r)
            freeReplyObject(r);
    }
    if (S.c->err)
        return;
    for (int i = 0; i < S.nsids; i++)
        redisAppendCommand(S.c, "HMGET " T "scheduler:session:%s taken capacity", S.sids[i]);
    int whole = 1;
    for (int i = 0; i < S.nsids; i++) {
        redisReply *r = NULL;
        if (redisGetReply(S.c, (void **)&r) != REDIS_OK) {
            whole = 0;
            break;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->element[0]->str && r->element[1]->str) {
            long taken = atol(r->element[0]->str), cap = atol(r->element[1]->str);
            S.oversold += taken > cap;
            S.negative += taken < 0;
        }
        freeReplyObject(r);
    }
    S.samples += whole;
}

/* ------------------------------------------------------------ the faults */

enum { F_KILL, F_REDIS, F_STOP, F_SECOND_START, F_SECOND_KILL };

typedef struct {
    int type, svc;
    int at;          /* when: ms after the load started */
    int down_ms;     /* a kill: how long the service stays down */
    int state;       /* 0 to come, 1 under way, 2 done */
    int64_t t0, t1;  /* the fault; the restart (or SIGCONT) */
    int64_t recovered_ms; /* from t1 until it answers again */
    long in_flight;  /* commands in flight when it struck */
    int aimed;       /* a gateway kill that waits (10 s at most) for an SMS
                      * handed to the spool and not yet recorded */
} fault_t;

#define MAX_FAULTS (NSVC * KILLS_EACH + 4)
static fault_t faults[MAX_FAULTS];
static int nfaults;
static pid_t m2_pid;
static int stop_stuck;

static int cmp_fault(const void *a, const void *b)
{
    return ((const fault_t *)a)->at - ((const fault_t *)b)->at;
}

static void plan_faults(void)
{
    nfaults = 0;
    for (int s = 0; s < NSVC; s++)
        for (int i = 0; i < KILLS_EACH; i++)
            faults[nfaults++] = (fault_t){ F_KILL, s, 0, (int)rnd(1500), 0, 0, 0, -1, 0, s == GATEWAY && i == 0 };
    faults[nfaults++] = (fault_t){ F_REDIS, -1, 0, 0, 0, 0, 0, -1, 0 };
    faults[nfaults++] = (fault_t){ F_STOP, SCHEDULER, 0, 0, 0, 0, 0, -1, 0 };
    for (int i = 0; i < nfaults; i++)
        faults[i].at = LOAD_MS / 20 + (int)rnd(LOAD_MS * 3 / 4);
    /* the pause while referrals still come (its end waits for the
     * matcher's messages to the scheduler to age past the retry timeout) */
    faults[nfaults - 1].at = LOAD_MS / 10 + (int)rnd(LOAD_MS / 2);
    int a = LOAD_MS / 10 + (int)rnd(LOAD_MS / 3);
    faults[nfaults++] = (fault_t){ F_SECOND_START, MATCHER, a, 0, 0, 0, 0, -1, 0 };
    faults[nfaults++] = (fault_t){ F_SECOND_KILL, MATCHER, a + LOAD_MS / 10 + (int)rnd(LOAD_MS / 4), 0, 0, 0, 0, -1, 0 };
    qsort(faults, (size_t)nfaults, sizeof faults[0], cmp_fault);
}

/* The matcher's oldest message not yet acknowledged by the (paused)
 * scheduler has waited more than twice the retry timeout. */
static int paused_past_retries(void)
{
    redisReply *r = h_redis(&env, "XRANGE " T "matcher:outbox - + COUNT 1");
    int64_t born = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
        born = atoll(r->element[0]->element[0]->str); /* the stream id's ms */
    if (r)
        freeReplyObject(r);
    return born > 0 && clock_real_ms() - born > 2 * RETRY_MAX_MS;
}

/* A job the gateway has taken (its lease runs) whose SMS is in the spool
 * already: killed now, the gateway leaves it handed over but unrecorded. */
static int sms_in_hand(void)
{
    redisReply *r = h_redis(&env, "ZRANGE " T "gateway:sending 0 63");
    int found = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && !found; i++) {
        char path[512];
        int n = snprintf(path, sizeof path, "%s/spool/42_%s.sms", env.dir, r->element[i]->str);
        for (int j = n - (int)r->element[i]->len - 4; j < n - 4; j++)
            path[j] = path[j] == ':' ? '_' : path[j];
        found = access(path, F_OK) == 0;
    }
    if (r)
        freeReplyObject(r);
    return found;
}

static int svc_down(int s)
{
    for (int i = 0; i < nfaults; i++)
        if (faults[i].state == 1 && faults[i].svc == s && (faults[i].type == F_KILL || faults[i].type == F_STOP))
            return 1;
    return 0;
}

static int64_t ready_after(int s, int64_t from)
{
    assert_int_equal(h_service_ready(&env, names[s], 60000), 0);
    return clock_real_ms() - from;
}

/* Strikes the faults whose time has come and ends those whose time is
 * over; the load goes on in between. */
static void faults_step(int64_t t_start)
{
    int64_t now = clock_real_ms();
    for (int i = 0; i < nfaults; i++) {
        fault_t *f = &faults[i];
        if (f->state == 0 && f->at <= now - t_start) {
            /* one fault at a time per service: a kill waits for its restart
             * (the second instance dies while the first one runs) */
            if ((f->type == F_KILL || f->type == F_STOP || f->type == F_SECOND_KILL) && svc_down(f->svc))
                continue;
            if (f->aimed && now - t_start - f->at < 10000 && !sms_in_hand())
                continue;
            f->t0 = now;
            f->in_flight = inflight();
            if (f->type == F_KILL) {
                h_signal(pid_of[f->svc], SIGKILL);
                f->state = 1;
            } else if (f->type == F_REDIS) {
                assert_int_equal(h_redis_restart(&env, SIGKILL), 0);
                f->t1 = clock_real_ms();
                int64_t worst = 0;
                for (int s = 0; s < NSVC; s++)
                    if (!svc_down(s)) {
                        int64_t t = ready_after(s, f->t1);
                        worst = t > worst ? t : worst;
                    }
                f->recovered_ms = worst;
                f->state = 2;
            } else if (f->type == F_STOP) {
                h_signal(pid_of[f->svc], SIGSTOP);
                f->state = 1;
            } else if (f->type == F_SECOND_START) {
                m2_pid = h_start_ready(&env, "matcher", "matcher-2", m2_envp, 60000);
                assert_true(m2_pid > 0);
                f->t1 = f->t0;
                f->recovered_ms = clock_real_ms() - f->t0;
                f->state = 2;
            } else if (f->type == F_SECOND_KILL && m2_pid > 0) {
                h_signal(m2_pid, SIGKILL);
                m2_pid = 0;
                f->t1 = now;
                /* the first instance answers; the second's leased messages
                 * are taken over after the lease */
                f->recovered_ms = ready_after(MATCHER, now);
                f->state = 2;
            }
            printf("tp fault %s %s at %lld ms, referral %d, %ld in flight\n",
                   f->type == F_KILL ? "kill-9" : f->type == F_REDIS ? "kill-9" : f->type == F_STOP ? "SIGSTOP"
                   : f->type == F_SECOND_START ? "start-second" : "kill-9-second",
                   f->svc >= 0 ? names[f->svc] : "redis-server", (long long)(now - t_start), L.sent, f->in_flight);
            if (f->aimed)
                printf("tp   (aimed: %s)\n", sms_in_hand() ? "an SMS in the spool, its job not recorded" : "no SMS in hand within 10 s");
        } else if (f->state == 1 && f->type == F_KILL && now - f->t0 >= f->down_ms) {
            f->t1 = clock_real_ms();
            pid_of[f->svc] = h_start_ready(&env, names[f->svc], NULL, svc_env[f->svc], 60000);
            assert_true(pid_of[f->svc] > 0);
            f->recovered_ms = clock_real_ms() - f->t1;
            f->state = 2;
        } else if (f->state == 1 && f->type == F_STOP) {
            int over = paused_past_retries();
            if (!over && now - f->t0 < 60000)
                continue;
            stop_stuck = !over;
            f->t1 = clock_real_ms();
            h_signal(pid_of[f->svc], SIGCONT);
            f->recovered_ms = ready_after(f->svc, f->t1);
            f->state = 2;
        }
    }
}

static int faults_done(void)
{
    for (int i = 0; i < nfaults; i++)
        if (faults[i].state != 2)
            return 0;
    return 1;
}

/* ------------------------------------------------------------ the clock */

static int reloaded_n[NSVC];

/* Monday 17:00 in Saint-Étienne: the afternoon's sessions are over (their
 * rosters get marked, the seen invited to the survey), the morning's offers
 * have expired. Every running service takes the new time (SIGHUP); one
 * down takes it when it starts. */
static void move_clock(void)
{
    assert_int_equal(h_set_clock(&env, "2026-11-30T16:00:00Z"), 0);
    clock_configure(referral_parse_time("2026-11-30T16:00:00Z"), clock_real_ms(), 1);
    for (int s = 0; s < NSVC; s++) {
        if (svc_down(s))
            continue;
        reloaded_n[s] = h_log_count(&env, names[s], "event=reloaded");
        h_signal(pid_of[s], SIGHUP);
    }
    if (m2_pid > 0)
        h_signal(m2_pid, SIGHUP);
    for (int s = 0; s < NSVC; s++) {
        if (svc_down(s))
            continue;
        h_log_wait_t w = { names[s], "event=reloaded", reloaded_n[s] + 1 };
        assert_int_equal(h_wait_for(&env, h_log_reaches, &w, 30000), 0);
    }
    L.phase_b = 1;
    printf("tp clock moved to Monday 17:00 at referral %d\n", L.sent);
}

/* ------------------------------------------------------------ the audit */

/* the acked referrals, for audit.c; its context, once the load is over */
static audit_ref_t acked_refs[MAX_REF];
static audit_ctx_t A = { .h = &env, .t = "42" };

static long long xlen(const char *svc, const char *what) { return audit_xlen(&A, svc, what); }

static void audit_prepare(void)
{
    A.h = &env;
    A.refs = acked_refs;
    A.nrefs = 0;
    snprintf(A.spool, sizeof A.spool, "%s/spool", env.dir);
    for (int k = 0; k < L.next; k++) {
        if (!L.ref[k].acked)
            continue;
        audit_ref_t *r = &acked_refs[A.nrefs++];
        snprintf(r->ext, sizeof r->ext, "FLT-%05d", k);
        util_strlcpy(r->rid, L.ref[k].rid, sizeof r->rid);
        util_strlcpy(r->pid, L.ref[k].pid, sizeof r->pid);
    }
}

/* ------------------------------------------------------------------ setup */

static void write_timetable(void)
{
    static const char *const days[] = { "mon", "tue", "wed", "thu", "fri" };
    char tt[8192];
    size_t n = (size_t)snprintf(tt, sizeof tt,
                                "{ \"version\": \"faults\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 7,\n"
                                "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" }, { \"id\": \"bellevue\", "
                                "\"name_fr\": \"Bellevue\" }, { \"id\": \"centre\", \"name_fr\": \"Centre\" } ],\n"
                                "  \"slots\": [\n");
    int first = 1;
    for (int d = 0; d < 5; d++)
        for (int h = 0; h < 2; h++)
            for (int v = 0; v < 3; v++) {
                n += (size_t)snprintf(tt + n, sizeof tt - n,
                                      "%s    { \"day\": \"%s\", \"start\": \"%s\", \"kind\": \"%s\", \"venue\": \"%s\", "
                                      "\"trainer\": \"t%d\", \"capacity\": %d }",
                                      first ? "" : ",\n", days[d], h ? "14:00" : "09:30", kinds[v], venues[v], v + 1,
                                      d == 0 && h ? 12 : 4);
                first = 0;
            }
    snprintf(tt + n, sizeof tt - n, "\n  ] }\n");
    assert_int_equal(h_write(&env, "timetable.json", tt), 0);
}

static int horizon_open(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "EXISTS " T "scheduler:session:20261204-1400-centre-budget") == 1;
}

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    clock_set_timezone("Europe/Paris");
    const char *seed = getenv("TP_SEED");
    rng_state = seed && *seed ? strtoull(seed, NULL, 10) : (unsigned long long)clock_real_ms();
    printf("tp seed %llu (TP_SEED=%llu replays this run)\n", rng_state, rng_state);
    if (h_setup(&env) != 0)
        return -1;
    write_timetable();
    char retry[16], m2_ep[64], matchers[160];
    snprintf(retry, sizeof retry, "%d", RETRY_MAX_MS);
    h_endpoint(&env, 22, m2_ep, sizeof m2_ep);
    h_service_endpoint(&env, "matcher", matchers, sizeof matchers);
    size_t l = strlen(matchers);
    snprintf(matchers + l, sizeof matchers - l, ", %s", m2_ep);
    /* Monday 30 November 2026, 08:45 in Saint-Étienne (after the SMS quiet
     * hours): the afternoon's sessions still open for booking */
    if (h_set_clock(&env, "2026-11-30T07:45:00Z") || h_conf_set(&env, "scheduler", "cutoff_hours", "1")
        || h_conf_set(&env, "scheduler", "offer_hours", "1") || h_conf_set(&env, "scheduler", "notice_min", "30")
        || h_conf_set(&env, "bus", "retry_max_ms", retry) || h_conf_set(&env, "bus", "lease_ms", "5000")
        || h_conf_set(&env, "endpoints", "matcher", matchers))
        return -1;
    clock_configure(referral_parse_time("2026-11-30T07:45:00Z"), clock_real_ms(), 1);
    snprintf(m2_env[0], sizeof m2_env[0], "TREMPLIN_MATCHER_BIND=%s", m2_ep);
    snprintf(m2_env[1], sizeof m2_env[1], "TREMPLIN_MATCHER_EVENTS=tcp://127.0.0.1:%d", env.base_port + 23);
    snprintf(m2_env[2], sizeof m2_env[2], "TREMPLIN_MATCHER_INSTANCE=matcher-2");
    for (int i = 0; i < 3; i++)
        m2_envp[i] = m2_env[i];
    m2_envp[3] = NULL;
    if (h_branches_add(&env, branches, N_BRANCH, "42") != 0)
        return -1;
    for (int s = 0; s < NSVC; s++)
        if ((pid_of[s] = h_start_ready(&env, names[s], NULL, svc_env[s], 60000)) < 0)
            return -1;
    return h_wait_for(&env, horizon_open, NULL, 60000);
}

static int teardown(void **state)
{
    if (S.c)
        redisFree(S.c);
    for (int b = 0; b < N_BRANCH; b++)
        client_destroy(&branch_c[b]);
    client_destroy(&sched_c);
    client_destroy(&survey_c);
    return h_group_teardown(state);
}

/* ------------------------------------------------------------------ test */

static void whole_flow_under_faults_loses_nothing_does_nothing_twice(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++)
        L.done[i].ids = done_buf[i];
    for (int b = 0; b < N_BRANCH; b++) {
        branch_c[b] = h_branch_client(&env, branches[b], NULL, 1000, 100000);
        client_set_window(branch_c[b], BRANCH_WINDOW);
    }
    char ep[64];
    h_service_endpoint(&env, "scheduler", ep, sizeof ep);
    sched_c = h_client(&env, ep, 1000, 100000);
    client_set_window(sched_c, STAFF_WINDOW);
    h_service_endpoint(&env, "survey", ep, sizeof ep);
    survey_c = h_client(&env, ep, 1000, 100000);
    client_set_window(survey_c, STAFF_WINDOW);
    plan_faults();

    int64_t t_start = clock_real_ms(), last_ops = 0, last_sample = 0;
    while (!(L.stop_sending && L.acked == L.sent && !L.resends_open && faults_done() && L.phase_b)) {
        assert_true(clock_real_ms() - t_start < RUN_DEADLINE_MS);
        L.stop_sending = clock_real_ms() - t_start >= LOAD_MS;
        send_referrals();
        poll_all(5);
        int64_t now = clock_real_ms();
        if (now - last_ops >= 20) {
            staff_ops();
            last_ops = now;
        }
        if (now - last_sample >= 20) {
            sample();
            last_sample = now;
        }
        long n = inflight() + xlen("intake", "outbox") + xlen("matcher", "outbox") + xlen("scheduler", "outbox");
        L.max_inflight = n > L.max_inflight ? n : L.max_inflight;
        faults_step(t_start);
        int stopped = 0;
        for (int i = 0; i < nfaults; i++)
            stopped |= faults[i].type == F_STOP && faults[i].state == 1;
        if (!L.phase_b && now - t_start >= LOAD_MS / 2 && !stopped)
            move_clock();
    }
    int64_t t_load = clock_real_ms() - t_start;
    while (inflight() > 0)
        poll_all(20);
    /* settle, then what is left of the afternoon's marks and answers (and
     * their follow-ups), then settle again */
    int64_t t0 = clock_real_ms();
    audit_prepare();
    int unsettled = h_wait_for(&env, audit_settled, &A, 180000) != 0;
    for (int round = 0; round < 3 && !unsettled; round++) {
        int before = L.done[OP_MARK - 1].n + L.done[OP_SURVEY - 1].n;
        for (int v = 0; v < 3; v++)
            for (int i = 0; i < 3; i++) {
                staff_ops();
                while (inflight() > 0)
                    poll_all(20);
            }
        unsettled = h_wait_for(&env, audit_settled, &A, 180000) != 0;
        if (L.done[OP_MARK - 1].n + L.done[OP_SURVEY - 1].n == before)
            break;
    }
    int64_t t_settle = clock_real_ms() - t0;
    sample();
    /* the audit reads a state nobody changes any more */
    h_kill_services(&env);

    audit_t a;
    audit_run(&A, &a);
    printf("tp load: %ld sent, max %ld in flight, %lld ms; settled in %lld ms\n", (long)L.sent, L.max_inflight,
           (long long)t_load, (long long)t_settle);
    for (int o = 0; o < NOPS; o++)
        printf("tp %s: %ld sent, %ld acked, %ld refused, %ld given up\n", op_names[o],
               o == OP_REF ? (long)L.sent : o == OP_RESEND ? L.acks[o] : L.tries[o],
               L.acks[o], L.refused[o], L.lost[o]);
    printf("tp mix: accepted=%ld declined=%ld cancelled=%ld seen=%ld noshow=%ld excused=%ld survey_answers=%ld "
           "wants_more=%ld follow_ups=%ld sms=%ld jobs=%ld participations=%ld bookings=%ld sessions=%ld\n",
           L.accepted, L.declined, L.cancelled, L.marked[0], L.marked[1], L.marked[2], L.answered, L.wants_more,
           a.follow_ups, a.sms_files, a.jobs, a.participations, a.bookings, a.sessions);
    char rec[2048];
    size_t n = 0;
    rec[0] = '\0';
    for (int i = 0; i < nfaults; i++) {
        fault_t *f = &faults[i];
        n += (size_t)snprintf(rec + n, sizeof rec - n, "%s%s%s:%lld", n ? "," : "",
                              f->type == F_STOP ? "stop-" : f->type == F_SECOND_START ? "start2-"
                              : f->type == F_SECOND_KILL ? "kill2-" : "",
                              f->svc >= 0 ? names[f->svc] : "redis", (long long)f->recovered_ms);
        if (n >= sizeof rec)
            break;
    }
    printf("COUNTS sent=%d acked=%d lost=%ld doubled=%ld oversold=%ld dead=%ld state_off=%ld counter_off=%ld "
           "double_booked=%ld sms=%ld sms_doubled=%ld sms_unrecorded=%ld sms_missing=%ld figures_off=%ld "
           "samples=%ld sampled_oversold=%ld max_in_flight=%ld recovery_ms=%s\n",
           L.sent, L.acked, a.lost, a.doubled + a.sms_doubled + L.resend_doubled, a.oversold + S.oversold, a.dead, a.state_off,
           a.counter_off, a.double_booked, a.sms_files, a.sms_doubled, a.sms_unrecorded, a.sms_missing, a.figures_off,
           S.samples, S.oversold, L.max_inflight, rec);
    fflush(stdout);
    if (unsettled)
        fprintf(stderr, "not settled after 3 minutes: %s\n", A.why);
    assert_int_equal(unsettled, 0);
    /* the run was what it claims */
    assert_int_equal(stop_stuck, 0);
    assert_true(L.max_inflight >= 100);
    assert_true(S.samples > 0);
    assert_true(L.accepted > 0 && L.declined > 0 && L.cancelled > 0 && L.marked[0] > 0 && L.answered > 0);
    assert_true(a.sms_files > 0);
    /* the promises */
    assert_int_equal(L.acked, L.sent);
    audit_assert_clean(&a);
    assert_int_equal(L.resend_doubled, 0);
    assert_int_equal(S.oversold, 0);
    assert_int_equal(S.negative, 0);
    /* Redis's own account of its restart from the AOF */
    assert_int_equal(h_redis_log_problems(&env), 0);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_flow_under_faults_loses_nothing_does_nothing_twice),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
