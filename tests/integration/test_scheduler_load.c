/* Seats under fire: 20 000 operations from 8 concurrent clients against two
 * scheduler instances on one Redis, one of them killed with kill -9 mid-run
 * and restarted. The mix is proven, not hoped for: assignments booked
 * directly, assignments waitlisted, cancellations, offers accepted and
 * declined, offers expiring, and attendance marks (seen, noshow, excused)
 * once the business clock has moved past the first sessions — each counted
 * from the answers and required many times. While the run goes on, a
 * second connection samples every session's seats: a session above its
 * capacity at any sampled moment fails the test. At the end every session
 * and every person is checked: no session above capacity, no seat counter
 * off, no person booked twice in a kind, no free seat left while a
 * compatible person waits, no seat offered from a waitlist to someone
 * referred after a compatible person already waiting. The test prints the
 * counts. */
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

#define N_OPS 20000
#define N_CLIENTS 8
#define WINDOW 16
#define MAX_BOOKED 4096
#define MAX_SESSIONS 512

static h_env_t env;
static int reloads;

/* Three venues, each kind at every half-day from Monday to Saturday: any
 * person's availability has sessions of their kind. */
static void write_timetable(void)
{
    static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat" };
    static const char *const venues[] = { "wilson", "gare", "centre" };
    static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };
    char path[400];
    snprintf(path, sizeof path, "%s/timetable.json", env.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{ \"version\": \"load\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 14,\n"
               "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" }, { \"id\": \"gare\", \"name_fr\": "
               "\"Gare\" }, { \"id\": \"centre\", \"name_fr\": \"Centre\" } ],\n  \"slots\": [\n");
    int n = 0;
    for (int d = 0; d < 6; d++)
        for (int h = 0; h < 2; h++)
            for (int v = 0; v < 3; v++)
                fprintf(f, "%s    { \"day\": \"%s\", \"start\": \"%s\", \"kind\": \"%s\", \"venue\": \"%s\", "
                           "\"trainer\": \"t%d\", \"capacity\": 8 }",
                        n++ ? ",\n" : "", days[d], h ? "14:00" : "09:30", kinds[(v + d + h) % 3], venues[v], v);
    fprintf(f, "\n  ] }\n");
    fclose(f);
}

static void set_clock(const char *iso_utc)
{
    assert_int_equal(h_set_clock(&env, iso_utc), 0);
    clock_configure(referral_parse_time(iso_utc), clock_real_ms(), 1); /* the audit's now */
}

static int setup(void **state)
{
    (void)state;
    if (h_setup(&env) != 0)
        return -1;
    write_timetable();
    set_clock("2026-11-30T05:00:00Z"); /* Monday 06:00 in Saint-Étienne */
    if (h_conf_set(&env, "scheduler", "cutoff_hours", "1") || h_conf_set(&env, "scheduler", "offer_hours", "1")
        || h_conf_set(&env, "scheduler", "notice_min", "30"))
        return -1;
    return 0;
}

/* What each request was, in its tag's low bits. */
enum { OP_ASSIGN, OP_CANCEL, OP_ANSWER, OP_MARK };

typedef struct {
    char bid[24], sid[64], pid[TP_ID_LEN + 1]; /* pid "" when the offer's person is not known */
} held_t;

/* Sessions that start before this local time ("YYYYMMDD-HHMM", the head of
 * their ids) have started once the clock moves: their bookings are kept
 * for attendance, the others may be cancelled. */
#define MARKS_FROM "20261204-1300"

typedef struct {
    held_t items[MAX_BOOKED];
    int n;
} held_list_t;

typedef struct {
    long acks, errors, lost;
    long sent[4];
    long direct, waitlisted, cancelled, accepted, declined, marked[3];
    held_list_t early, late; /* bookings seen in acks: to mark, to cancel */
    char pids[N_OPS][TP_ID_LEN + 1]; /* the person of each assignment, by request */
} load_t;

static void hold(load_t *l, const Tremplin__Ack *a, const char *pid)
{
    held_list_t *list = strncmp(a->session_id, MARKS_FROM, 13) < 0 ? &l->early : &l->late;
    if (list->n == MAX_BOOKED)
        return;
    held_t *h = &list->items[list->n++];
    util_strlcpy(h->bid, a->booking_id, sizeof h->bid);
    util_strlcpy(h->sid, a->session_id, sizeof h->sid);
    util_strlcpy(h->pid, pid, sizeof h->pid);
}

static void on_reply(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    load_t *l = arg;
    int op = (int)(tag & 3);
    if (!r) {
        l->lost++;
        return;
    }
    if (r->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        l->errors++; /* TOO_LATE, NOT_CANCELLABLE, NOT_AN_OFFER ...: expected under contention */
        return;
    }
    l->acks++;
    const Tremplin__Ack *a = r->ack;
    if (op == OP_ASSIGN && !strcmp(a->status, "booked")) {
        l->direct++;
        hold(l, a, l->pids[tag >> 2]);
    } else if (op == OP_ASSIGN && !strcmp(a->status, "waitlisted")) {
        l->waitlisted++;
    } else if (op == OP_CANCEL && !strcmp(a->status, "cancelled")) {
        l->cancelled++;
    } else if (op == OP_ANSWER && !strcmp(a->status, "booked")) {
        l->accepted++;
        hold(l, a, "");
    } else if (op == OP_ANSWER && !strcmp(a->status, "declined")) {
        l->declined++;
    } else if (op == OP_MARK) {
        l->marked[!strcmp(a->status, "seen") ? 0 : !strcmp(a->status, "noshow") ? 1 : 2]++;
    }
}

static unsigned rng = 20261126u;
static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) & 0xffffff;
}

/* A random booking of the list, taken out of it. */
static void take(held_list_t *list, held_t *out)
{
    int i = (int)(next_rand() % (unsigned)list->n);
    *out = list->items[i];
    list->items[i] = list->items[--list->n];
}

typedef struct {
    Tremplin__Envelope env;
    Tremplin__TrackAssigned t;
    Tremplin__CancelBooking c;
    Tremplin__AnswerOffer a;
    Tremplin__MarkAttendance m;
    char aid[TP_ID_LEN + 1], bid[24], sid[64], pid[TP_ID_LEN + 1];
    char *avail[2];
} op_t;

/* The next operation; marks once the clock has moved past MARKS_FROM; no
 * offer answered when noffers is 0. Returns its kind. */
static int make_op(load_t *l, op_t *o, uint64_t seq, char *offers[], int noffers, int marks)
{
    static const char *const halves[] = { "mon-am", "mon-pm", "tue-am", "tue-pm", "wed-am", "wed-pm",
                                          "thu-am", "thu-pm", "fri-am", "fri-pm", "sat-am", "sat-pm" };
    static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };
    static const char *const statuses[] = { "seen", "seen", "seen", "noshow", "noshow", "excused" };
    tremplin__envelope__init(&o->env);
    o->env.territory = "42";
    unsigned r = next_rand() % 100;
    if (r < 15 && marks && l->early.n > 0) {
        held_t h;
        take(&l->early, &h);
        if (!h.pid[0]) { /* an accepted offer: its person, from the booking */
            redisReply *x = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s pid", h.bid);
            util_strlcpy(h.pid, x && x->str ? x->str : "", sizeof h.pid);
            if (x)
                freeReplyObject(x);
        }
        tremplin__mark_attendance__init(&o->m);
        util_strlcpy(o->sid, h.sid, sizeof o->sid);
        util_strlcpy(o->pid, h.pid, sizeof o->pid);
        o->m.session_id = o->sid;
        o->m.person_id = o->pid;
        o->m.status = (char *)statuses[next_rand() % 6];
        o->m.trainer_id = "t0";
        o->env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
        o->env.mark_attendance = &o->m;
        return OP_MARK;
    }
    if (r < 30 && l->late.n > 0) {
        held_t h;
        take(&l->late, &h);
        tremplin__cancel_booking__init(&o->c);
        util_strlcpy(o->bid, h.bid, sizeof o->bid);
        o->c.booking_id = o->bid;
        o->env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
        o->env.cancel_booking = &o->c;
        return OP_CANCEL;
    }
    if (r < 55 && noffers > 0) {
        tremplin__answer_offer__init(&o->a);
        util_strlcpy(o->bid, offers[next_rand() % (unsigned)noffers], sizeof o->bid);
        o->a.booking_id = o->bid;
        o->a.accept = next_rand() % 3 != 0;
        o->env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
        o->env.answer_offer = &o->a;
        return OP_ANSWER;
    }
    tremplin__track_assigned__init(&o->t);
    util_random_id(o->aid);
    util_random_id(l->pids[seq]);
    o->t.assignment_id = o->aid;
    o->t.person_id = l->pids[seq];
    o->t.kind = (char *)kinds[next_rand() % 3];
    int n = 1 + (int)(next_rand() % 2);
    for (int i = 0; i < n; i++)
        o->avail[i] = (char *)halves[(next_rand() % 12 + (unsigned)i) % 12];
    if (n == 2 && !strcmp(o->avail[0], o->avail[1]))
        n = 1;
    o->t.availability = o->avail;
    o->t.n_availability = (size_t)n;
    o->env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED;
    o->env.track_assigned = &o->t;
    return OP_ASSIGN;
}

/* The sampler: every session's seats, read from a connection of its own
 * while the run goes on. A session above capacity at any sample counts. */
typedef struct {
    redisContext *c;
    char sids[MAX_SESSIONS][64];
    int nsids;
    long samples, oversold, negative, index_off;
} sampler_t;

/* The free-seat index (free:<kind>:<half_day>) against the sessions, read
 * in one atomic script: a member must be open with a free seat; an open
 * session with a free seat that starts after ARGV[1] must be a member (one
 * that has started may have left it). Returns how many disagree. */
static const char INDEX_CHECK[] =
    "local P, after, off = 'tp:{42}:scheduler:', tonumber(ARGV[1]), 0\n"
    "for _, kind in ipairs(redis.call('SMEMBERS', P .. 'kinds')) do\n"
    "  for _, sid in ipairs(redis.call('ZRANGE', P .. 'sessions:' .. kind, 0, -1)) do\n"
    "    local s = redis.call('HMGET', P .. 'session:' .. sid, 'status', 'taken', 'capacity', 'half_day', 'start')\n"
    "    local free = s[1] == 'open' and tonumber(s[2]) < tonumber(s[3])\n"
    "    local member = redis.call('ZSCORE', P .. 'free:' .. kind .. ':' .. s[4], sid)\n"
    "    if (member and not free) or (free and not member and tonumber(s[5]) > after) then off = off + 1 end\n"
    "  end\n"
    "end\n"
    "return off\n";

static void sampler_sessions(sampler_t *sp)
{
    static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };
    sp->nsids = 0;
    for (int k = 0; k < 3; k++) {
        redisReply *r = redisCommand(sp->c, "ZRANGE tp:{42}:scheduler:sessions:%s 0 -1", kinds[k]);
        for (size_t i = 0; r && i < r->elements && sp->nsids < MAX_SESSIONS; i++)
            util_strlcpy(sp->sids[sp->nsids++], r->element[i]->str, 64);
        if (r)
            freeReplyObject(r);
    }
}

static void sample(sampler_t *sp)
{
    for (int i = 0; i < sp->nsids; i++)
        redisAppendCommand(sp->c, "HMGET tp:{42}:scheduler:session:%s taken capacity", sp->sids[i]);
    for (int i = 0; i < sp->nsids; i++) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(sp->c, (void **)&r), REDIS_OK);
        if (r->type == REDIS_REPLY_ARRAY && r->element[0]->str && r->element[1]->str) {
            long taken = atol(r->element[0]->str), cap = atol(r->element[1]->str);
            sp->oversold += taken > cap;
            sp->negative += taken < 0;
        }
        freeReplyObject(r);
    }
    redisReply *r = redisCommand(sp->c, "EVAL %s 0 %lld", INDEX_CHECK, (long long)clock_now_ms() + 60000);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("index check: %s", r->str ? r->str : "?");
    sp->index_off += r->integer;
    freeReplyObject(r);
    sp->samples++;
}

/* Every session and every booking, read back from Redis. */
typedef struct {
    long sessions, oversold, counter_off, free_while_waiting, bookings, active, double_booked, persons;
    long from_waitlist, direct, out_of_order;
} audit_t;

static long long hint(redisReply *h, const char *field)
{
    for (size_t i = 0; h && i + 1 < h->elements; i += 2)
        if (!strcmp(h->element[i]->str, field))
            return atoll(h->element[i + 1]->str);
    return -1;
}

static const char *hstr(redisReply *h, const char *field)
{
    for (size_t i = 0; h && i + 1 < h->elements; i += 2)
        if (!strcmp(h->element[i]->str, field))
            return h->element[i + 1]->str;
    return "";
}

static void audit(audit_t *a)
{
    memset(a, 0, sizeof *a);
    int64_t now = clock_now_ms();
    /* persons with an active booking per kind, to find doubles */
    static char seen[65536][48];
    int nseen = 0;
    char cursor[32] = "0";
    do {
        redisReply *s = h_redis(&env, "SCAN %s MATCH tp:{42}:scheduler:session:* COUNT 500", cursor);
        assert_non_null(s);
        util_strlcpy(cursor, s->element[0]->str, sizeof cursor);
        for (size_t i = 0; i < s->element[1]->elements; i++) {
            const char *key = s->element[1]->element[i]->str;
            const char *sid = strrchr(key, ':') + 1;
            redisReply *sess = h_redis(&env, "HGETALL %s", key);
            long long cap = hint(sess, "capacity"), taken = hint(sess, "taken"), start = hint(sess, "start");
            char kind[40], half[16], status[16];
            util_strlcpy(kind, hstr(sess, "kind"), sizeof kind);
            util_strlcpy(half, hstr(sess, "half_day"), sizeof half);
            util_strlcpy(status, hstr(sess, "status"), sizeof status);
            freeReplyObject(sess);
            a->sessions++;
            redisReply *roster = h_redis(&env, "HGETALL tp:{42}:scheduler:roster:%s", sid);
            long holding = 0;
            for (size_t j = 0; roster && j + 1 < roster->elements; j += 2) {
                redisReply *b = h_redis(&env, "HMGET tp:{42}:scheduler:booking:%s status kind", roster->element[j + 1]->str);
                a->bookings++;
                const char *st = b->element[0]->str ? b->element[0]->str : "";
                /* a seat is held by a booking or an offer, and used by
                 * someone marked seen, noshow or excused */
                holding += !strcmp(st, "seen") || !strcmp(st, "noshow") || !strcmp(st, "excused");
                if (!strcmp(st, "booked") || !strcmp(st, "offered")) {
                    holding++;
                    a->active++;
                    char pk[48];
                    snprintf(pk, sizeof pk, "%.32s%.15s", roster->element[j]->str, b->element[1]->str);
                    for (int k = 0; k < nseen; k++)
                        if (!strcmp(seen[k], pk))
                            a->double_booked++;
                    if (nseen < 65536)
                        util_strlcpy(seen[nseen++], pk, sizeof seen[0]);
                }
                freeReplyObject(b);
            }
            if (holding > cap)
                a->oversold++;
            if (holding != taken)
                a->counter_off++;
            /* a free seat in a future open session while someone compatible,
             * never in this session, is waiting */
            if (!strcmp(status, "open") && start > now && taken < cap) {
                redisReply *w = h_redis(&env, "ZRANGE tp:{42}:scheduler:wait:%s:%s 0 -1", kind, half);
                for (size_t j = 0; w && j < w->elements; j++) {
                    int in_roster = 0;
                    for (size_t k = 0; roster && k + 1 < roster->elements && !in_roster; k += 2)
                        in_roster = !strcmp(roster->element[k]->str, w->element[j]->str);
                    if (!in_roster) {
                        a->free_while_waiting++;
                        break;
                    }
                }
                if (w)
                    freeReplyObject(w);
            }
            /* first referred, first served: a seat offered from the waitlist
             * to X while W, referred before X and compatible, was already
             * waiting (and still is, never having been in this session) */
            redisReply *w = h_redis(&env, "ZRANGE tp:{42}:scheduler:wait:%s:%s 0 -1 WITHSCORES", kind, half);
            for (size_t j = 0; roster && j + 1 < roster->elements; j += 2) {
                const char *bid = roster->element[j + 1]->str;
                redisReply *b = h_redis(&env, "HMGET tp:{42}:scheduler:booking:%s via referred_at seq", bid);
                int via = b->element[0]->str && !strcmp(b->element[0]->str, "waitlist");
                long long made = b->element[2]->str ? atoll(b->element[2]->str) : 0;
                long long referred = b->element[1]->str ? atoll(b->element[1]->str) : 0;
                freeReplyObject(b);
                if (!via) {
                    a->direct++;
                    continue;
                }
                a->from_waitlist++;
                for (size_t k = 0; w && k + 1 < w->elements; k += 2) {
                    if (atoll(w->element[k + 1]->str) >= referred)
                        break; /* sorted: nobody before X any more */
                    int in_roster = 0;
                    for (size_t q = 0; q + 1 < roster->elements && !in_roster; q += 2)
                        in_roster = !strcmp(roster->element[q]->str, w->element[k]->str);
                    long long since = h_redis_int(&env, "HGET tp:{42}:scheduler:person:%s wait_seq:%s",
                                                  w->element[k]->str, kind);
                    if (!in_roster && since > 0 && since < made)
                        a->out_of_order++;
                }
            }
            if (w)
                freeReplyObject(w);
            if (roster)
                freeReplyObject(roster);
        }
        freeReplyObject(s);
    } while (strcmp(cursor, "0") != 0);
    a->persons = nseen;
}

static int reloaded_both(h_env_t *h, void *arg)
{
    (void)arg;
    return h_log_count(h, "scheduler-a", "event=reloaded") >= reloads
           && h_log_count(h, "scheduler-b", "event=reloaded") >= reloads;
}

static int horizon_open(h_env_t *h, void *arg)
{
    return h_redis_int(h, "EXISTS tp:{42}:scheduler:session:%s", (const char *)arg) == 1;
}

static int offers_due_gone(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "ZCOUNT tp:{42}:scheduler:offers -inf %lld", (long long)clock_now_ms()) == 0;
}

static long fig_sum(const char *prefix)
{
    redisReply *r = h_redis(&env, "HGETALL tp:{42}:scheduler:fig:total");
    long n = 0;
    for (size_t i = 0; r && i + 1 < r->elements; i += 2)
        if (!strncmp(r->element[i]->str, prefix, strlen(prefix)))
            n += atol(r->element[i + 1]->str);
    if (r)
        freeReplyObject(r);
    return n;
}

static void drain(client_t **clients, load_t *l)
{
    for (int busy = 1; busy;) {
        busy = 0;
        for (int i = 0; i < N_CLIENTS; i++)
            busy |= client_poll(clients[i], 10, on_reply, l) > 0 || client_inflight(clients[i]) > 0;
    }
}

static void twenty_thousand_operations_two_instances_one_killed(void **state)
{
    (void)state;
    char ep_a[64], ep_b[64], both[160], bind_b[96], ev_b[96];
    h_endpoint(&env, 3, ep_a, sizeof ep_a);
    h_endpoint(&env, 23, ep_b, sizeof ep_b);
    snprintf(both, sizeof both, "%s,%s", ep_a, ep_b);
    snprintf(bind_b, sizeof bind_b, "TREMPLIN_SCHEDULER_BIND=%s", ep_b);
    snprintf(ev_b, sizeof ev_b, "TREMPLIN_SCHEDULER_EVENTS=tcp://127.0.0.1:%d", env.base_port + 24);
    const char *ea[] = { "TREMPLIN_SCHEDULER_INSTANCE=scheduler-a", "TREMPLIN_SCHEDULER_GENERATE_MS=500",
                         "TREMPLIN_SCHEDULER_TIMER_MS=100", NULL };
    const char *eb[] = { bind_b, ev_b, "TREMPLIN_SCHEDULER_INSTANCE=scheduler-b", "TREMPLIN_SCHEDULER_GENERATE_MS=500",
                         "TREMPLIN_SCHEDULER_TIMER_MS=100", NULL };
    pid_t a = h_start(&env, "scheduler", "scheduler-a", ea);
    pid_t b = h_start(&env, "scheduler", "scheduler-b", eb);
    assert_int_equal(h_wait_ready(&env, ep_a, 30000), 0);
    assert_int_equal(h_wait_ready(&env, ep_b, 30000), 0);
    /* the whole horizon is open before the first assignment: some get a seat at once */
    assert_int_equal(h_wait_for(&env, horizon_open, "20261212-1400-wilson-initiation", 30000), 0);

    client_t *clients[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        clients[i] = h_client(&env, both, 1000, 30);
        client_set_window(clients[i], WINDOW);
    }
    static load_t l;
    static sampler_t sp;
    sp.c = h_redis_connect_to(&env, env.redis_port, 1);
    assert_non_null(sp.c);
    char *offers[64];
    static char offer_buf[64][24];
    int noffers = 0;
    long sent = 0;
    int killed = 0;
    int marks = 0, stuck = 0;
    long offers_at_move = 0;
    while (sent < N_OPS) {
        for (int i = 0; i < N_CLIENTS && sent < N_OPS; i++) {
            while (client_inflight(clients[i]) < WINDOW && sent < N_OPS) {
                static op_t o;
                /* before the clock moves, offers are left unanswered for a
                 * while: they expire when it does */
                int quiet = !marks && sent >= N_OPS * 55 / 100;
                int op = make_op(&l, &o, (uint64_t)sent, offers, quiet ? 0 : noffers, marks);
                if (client_send(clients[i], &o.env, ((uint64_t)sent << 2) | (uint64_t)op) != 0)
                    break;
                l.sent[op]++;
                sent++;
            }
            client_poll(clients[i], 0, on_reply, &l);
        }
        client_poll(clients[sent % N_CLIENTS], 5, on_reply, &l);
        { /* the offers on the table now; every session's seats */
            redisReply *o = h_redis(&env, "ZRANGE tp:{42}:scheduler:offers 0 63");
            noffers = 0;
            for (size_t j = 0; o && j < o->elements && j < 64; j++) {
                util_strlcpy(offer_buf[noffers], o->element[j]->str, 24);
                offers[noffers] = offer_buf[noffers];
                noffers++;
            }
            if (o)
                freeReplyObject(o);
            sampler_sessions(&sp);
            sample(&sp);
        }
        if (!killed && sent >= N_OPS / 2) {
            printf("tp kill -9 scheduler-a at op %ld\n", sent);
            h_signal(a, SIGKILL);
            a = h_start(&env, "scheduler", "scheduler-a", ea);
            killed = 1;
        }
        if (!marks && sent >= N_OPS * 6 / 10) {
            /* Friday 4 December 13:00: the sessions of Monday to Friday
             * morning have started (attendance), the offers made so far
             * have expired (the next person), the horizon moves on */
            drain(clients, &l);
            offers_at_move = h_redis_int(&env, "ZCARD tp:{42}:scheduler:offers");
            set_clock("2026-12-04T12:00:00Z");
            reloads++;
            h_signal(a, SIGHUP);
            h_signal(b, SIGHUP);
            /* whichever instance holds the timers' lease (another takes it
             * from one killed) expires them and opens the new sessions; a
             * failed wait is asserted once the clients are closed */
            stuck = h_wait_for(&env, reloaded_both, NULL, 30000) != 0 || h_wait_for(&env, offers_due_gone, NULL, 30000) != 0
                    || h_wait_for(&env, horizon_open, "20261217-1400-wilson-perfectionnement", 30000) != 0;
            if (stuck)
                break;
            marks = 1;
            printf("tp clock moved to Friday 13:00 at op %ld: %ld offers out, %d bookings to mark\n", sent,
                   offers_at_move, l.early.n);
        }
    }
    drain(clients, &l);
    for (int i = 0; i < N_CLIENTS; i++)
        client_destroy(&clients[i]);
    sample(&sp);
    redisFree(sp.c);
    /* the audit reads a state nobody changes any more (timers included) */
    h_signal(a, SIGKILL);
    h_signal(b, SIGKILL);
    assert_int_equal(stuck, 0);

    audit_t au;
    audit(&au);
    long expired = fig_sum("offers_expired:");
    printf("COUNTS ops=%ld acked=%ld refused=%ld lost=%ld assignments=%ld booked_directly=%ld waitlisted=%ld "
           "cancels=%ld cancelled=%ld answers=%ld accepted=%ld declined=%ld offers_expired=%ld marks=%ld seen=%ld "
           "noshow=%ld excused=%ld samples=%ld sampled_oversold=%ld sampled_index_off=%ld sessions=%ld bookings=%ld active=%ld "
           "oversold=%ld counter_off=%ld double_booked=%ld free_seat_while_waiting=%ld seats_direct=%ld "
           "seats_from_waitlist=%ld skipped_out_of_order=%ld\n",
           sent, l.acks, l.errors, l.lost, l.sent[OP_ASSIGN], l.direct, l.waitlisted, l.sent[OP_CANCEL], l.cancelled,
           l.sent[OP_ANSWER], l.accepted, l.declined, expired, l.sent[OP_MARK], l.marked[0], l.marked[1], l.marked[2],
           sp.samples, sp.oversold, sp.index_off, au.sessions, au.bookings, au.active, au.oversold, au.counter_off,
           au.double_booked, au.free_while_waiting, au.direct, au.from_waitlist, au.out_of_order);
    assert_int_equal(l.lost, 0);
    assert_int_equal(l.acks + l.errors, N_OPS);
    /* never above capacity, at any sampled moment */
    assert_true(sp.samples >= 100);
    assert_int_equal(sp.oversold, 0);
    assert_int_equal(sp.negative, 0);
    /* the free-seat index never disagreed with the sessions */
    assert_int_equal(sp.index_off, 0);
    /* the mix: each element many times */
    assert_true(l.direct >= 500);
    assert_true(l.waitlisted >= 1000);
    assert_true(l.cancelled >= 1000);
    assert_true(l.accepted >= 500);
    assert_true(l.declined >= 200);
    assert_true(offers_at_move >= 50);
    assert_true(expired >= offers_at_move);
    assert_true(l.marked[0] >= 50);
    assert_true(l.marked[1] >= 20);
    assert_true(l.marked[2] >= 10);
    /* the end state */
    assert_true(au.sessions > 0);
    assert_true(au.active > 0);
    assert_int_equal(au.oversold, 0);
    assert_int_equal(au.counter_off, 0);
    assert_int_equal(au.double_booked, 0);
    assert_int_equal(au.free_while_waiting, 0);
    assert_true(au.direct > 0);
    assert_true(au.from_waitlist > 0);
    assert_int_equal(au.out_of_order, 0);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twenty_thousand_operations_two_instances_one_killed),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("scheduler_load", tests, setup, h_group_teardown);
}
