/* Seats under fire: 20 000 operations (assignments, cancellations, offer
 * answers) from 8 concurrent clients against two scheduler instances on one
 * Redis; one instance is killed with kill -9 mid-run and restarted. Then
 * every session and every person is checked: no session above capacity, no
 * seat counter off, no person booked twice in a kind, no free seat left
 * while a compatible person waits, no seat offered from a waitlist to
 * someone referred after a compatible person already waiting. The test
 * prints the counts. */
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

#define N_OPS 20000
#define N_CLIENTS 8
#define WINDOW 16
#define MAX_BOOKED 4096

static h_env_t env;

static int setup(void **state)
{
    (void)state;
    return h_setup(&env);
}

static int teardown(void **state)
{
    (void)state;
    h_teardown(&env);
    return 0;
}

typedef struct {
    long acks, errors, lost;
    long assigned, cancels, answers;
    char booked[MAX_BOOKED][24]; /* bookings seen in acks, to cancel */
    int nbooked;
} load_t;

static void on_reply(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    (void)tag;
    load_t *l = arg;
    if (!r) {
        l->lost++;
    } else if (r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        l->acks++;
        if (r->ack->booking_id[0] && !strcmp(r->ack->status, "booked") && l->nbooked < MAX_BOOKED)
            util_strlcpy(l->booked[l->nbooked++], r->ack->booking_id, 24);
    } else {
        l->errors++; /* TOO_LATE, NOT_CANCELLABLE, NOT_AN_OFFER ...: expected under contention */
    }
}

static unsigned rng = 20261126u;
static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) & 0xffffff;
}

static void make_op(load_t *l, Tremplin__Envelope *req, char *buf_a, char *buf_b, char **avail, char *offers[],
                    int noffers)
{
    static const char *const halves[] = { "mon-am", "wed-am", "sat-am", "tue-pm", "fri-am", "thu-pm" };
    static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };
    static Tremplin__TrackAssigned t;
    static Tremplin__CancelBooking c;
    static Tremplin__AnswerOffer a;
    tremplin__envelope__init(req);
    req->territory = "42";
    unsigned r = next_rand() % 100;
    if (r < 25 && l->nbooked > 0) {
        tremplin__cancel_booking__init(&c);
        int i = (int)(next_rand() % (unsigned)l->nbooked);
        util_strlcpy(buf_a, l->booked[i], 24);
        l->booked[i][0] = '\0';
        memmove(l->booked[i], l->booked[l->nbooked - 1], 24);
        l->nbooked--;
        c.booking_id = buf_a;
        req->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
        req->cancel_booking = &c;
        l->cancels++;
        return;
    }
    if (r < 40 && noffers > 0) {
        tremplin__answer_offer__init(&a);
        util_strlcpy(buf_a, offers[next_rand() % (unsigned)noffers], 24);
        a.booking_id = buf_a;
        a.accept = next_rand() % 3 != 0;
        req->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
        req->answer_offer = &a;
        l->answers++;
        return;
    }
    tremplin__track_assigned__init(&t);
    util_random_id(buf_a);
    util_random_id(buf_b);
    t.assignment_id = buf_a;
    t.person_id = buf_b;
    t.kind = (char *)kinds[next_rand() % 3];
    int n = 1 + (int)(next_rand() % 2);
    for (int i = 0; i < n; i++)
        avail[i] = (char *)halves[(next_rand() % 6 + (unsigned)i) % 6];
    if (n == 2 && !strcmp(avail[0], avail[1]))
        n = 1;
    t.availability = avail;
    t.n_availability = (size_t)n;
    req->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED;
    req->track_assigned = &t;
    l->assigned++;
}

/* Every session and every booking, read back from Redis. */
typedef struct {
    long sessions, oversold, counter_off, free_while_waiting, bookings, active, double_booked, persons;
    long from_waitlist, out_of_order;
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
                if (b->element[0]->str && (!strcmp(b->element[0]->str, "booked") || !strcmp(b->element[0]->str, "offered"))) {
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
                if (!via)
                    continue;
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

static void twenty_thousand_operations_two_instances_one_killed(void **state)
{
    (void)state;
    char ep_a[64], ep_b[64], both[160], bind_b[96], ev_b[96];
    h_endpoint(&env, 3, ep_a, sizeof ep_a);
    h_endpoint(&env, 23, ep_b, sizeof ep_b);
    snprintf(both, sizeof both, "%s,%s", ep_a, ep_b);
    snprintf(bind_b, sizeof bind_b, "TREMPLIN_SCHEDULER_BIND=%s", ep_b);
    snprintf(ev_b, sizeof ev_b, "TREMPLIN_SCHEDULER_EVENTS=tcp://127.0.0.1:%d", env.base_port + 24);
    const char *ea[] = { "TREMPLIN_SCHEDULER_INSTANCE=scheduler-a", "TREMPLIN_SCHEDULER_GENERATE_MS=500", NULL };
    const char *eb[] = { bind_b, ev_b, "TREMPLIN_SCHEDULER_INSTANCE=scheduler-b", "TREMPLIN_SCHEDULER_GENERATE_MS=500",
                         NULL };
    pid_t a = h_start(&env, "scheduler", "scheduler-a", ea);
    pid_t b = h_start(&env, "scheduler", "scheduler-b", eb);
    assert_int_equal(h_wait_ready(&env, ep_a, 30000), 0);
    assert_int_equal(h_wait_ready(&env, ep_b, 30000), 0);

    client_t *clients[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        clients[i] = h_client(&env, both, 1000, 30);
        client_set_window(clients[i], WINDOW);
    }
    static load_t l;
    char *offers[64];
    static char offer_buf[64][24];
    int noffers = 0;
    long sent = 0;
    int killed = 0;
    while (sent < N_OPS) {
        for (int i = 0; i < N_CLIENTS && sent < N_OPS; i++) {
            while (client_inflight(clients[i]) < WINDOW && sent < N_OPS) {
                Tremplin__Envelope req;
                char buf_a[TP_ID_LEN + 1], buf_b[TP_ID_LEN + 1], *avail[2];
                make_op(&l, &req, buf_a, buf_b, avail, offers, noffers);
                if (client_send(clients[i], &req, (uint64_t)sent) != 0)
                    break;
                sent++;
            }
            client_poll(clients[i], 0, on_reply, &l);
        }
        client_poll(clients[sent % N_CLIENTS], 5, on_reply, &l);
        if (sent % 256 == 0) { /* the offers on the table now */
            redisReply *o = h_redis(&env, "ZRANGE tp:{42}:scheduler:offers 0 63");
            noffers = 0;
            for (size_t j = 0; o && j < o->elements && j < 64; j++) {
                util_strlcpy(offer_buf[noffers], o->element[j]->str, 24);
                offers[noffers] = offer_buf[noffers];
                noffers++;
            }
            if (o)
                freeReplyObject(o);
        }
        if (!killed && sent >= N_OPS / 2) {
            printf("tp kill -9 scheduler-a at op %ld\n", sent);
            h_signal(a, SIGKILL);
            a = h_start(&env, "scheduler", "scheduler-a", ea);
            killed = 1;
        }
    }
    for (int busy = 1; busy;) {
        busy = 0;
        for (int i = 0; i < N_CLIENTS; i++)
            busy |= client_poll(clients[i], 10, on_reply, &l) > 0;
    }
    for (int i = 0; i < N_CLIENTS; i++)
        client_destroy(&clients[i]);

    audit_t au;
    audit(&au);
    printf("COUNTS ops=%ld acked=%ld refused=%ld lost=%ld assignments=%ld cancellations=%ld offer_answers=%ld "
           "sessions=%ld bookings=%ld active=%ld oversold=%ld counter_off=%ld double_booked=%ld "
           "free_seat_while_waiting=%ld seats_from_waitlist=%ld skipped_out_of_order=%ld\n",
           sent, l.acks, l.errors, l.lost, l.assigned, l.cancels, l.answers, au.sessions, au.bookings, au.active,
           au.oversold, au.counter_off, au.double_booked, au.free_while_waiting, au.from_waitlist, au.out_of_order);
    assert_int_equal(l.lost, 0);
    assert_int_equal(l.acks + l.errors, N_OPS);
    assert_true(au.sessions > 0);
    assert_true(au.active > 0);
    assert_int_equal(au.oversold, 0);
    assert_int_equal(au.counter_off, 0);
    assert_int_equal(au.double_booked, 0);
    assert_int_equal(au.free_while_waiting, 0);
    assert_true(au.from_waitlist > 0);
    assert_int_equal(au.out_of_order, 0);
    h_signal(a, SIGKILL);
    h_signal(b, SIGKILL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twenty_thousand_operations_two_instances_one_killed),
    };
    return cmocka_run_group_tests_name("scheduler_load", tests, setup, teardown);
}
