/* loadgen — the end-to-end referral benchmark (make bench, tests/bench.sh).
 *
 * N referrals go through intake's branch endpoint over CURVE, from B
 * registered branches, as branch systems send them; each is followed to
 * its final state through the services' event sockets:
 *   - the matcher's `matcher.track.assigned` (subject: the referral id)
 *     ends a referral the catalogue sends to no workshop (the generator runs
 *     the matcher's own assess() on what it sends, so it knows which);
 *   - otherwise the scheduler's `scheduler.booking.changed` (booked or
 *     waitlisted) whose cause is the matcher's TrackAssigned: that message's
 *     id is derived from the matcher's command id with the deployment's id
 *     key, as call_send derives it (the event names its cause).
 *
 * Closed loop (--window W): W referrals in flight at most (over all
 * branches), the highest sustained rate. Open loop (--rate R): referral i is
 * due at t0 + i/R whatever the answers, and its latency counts from that
 * due time, so a stall of the pipeline (or of this process) is not hidden.
 *
 * Prints one line of key=value figures; exit 1 when the stack was not
 * reachable or a referral was refused, 2 on a misuse. */
#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "intake/referral.h"
#include "matcher/catalogue.h"
#include "svc.h"
#include "services.h"
#include "util.h"
#include "wire.h"

#define LG_MAX_BRANCHES 64

typedef struct {
    int64_t due_us, ack_us, final_us;
    char state; /* 0 unsent, 's' sent, 'a' acked (followed), 'f' final, 'r' refused, 'l' lost */
    char workshop; /* 1: a scheduler event ends it, 0: the matcher's */
} lg_ref_t;

typedef struct {
    lg_ref_t *refs;
    long next;             /* the next referral never sent */
    long *retry;           /* referrals answered BUSY, to send again (a ring) */
    long retry_head, retry_len;
    long n, acked, refused, lost, busy, finals, unmatched;
    zhashx_t *by_referral; /* referral id -> index + 1 */
    zhashx_t *by_cause;    /* expected TrackAssigned id -> index + 1 */
    zhashx_t *early;       /* scheduler causes seen before their matcher event -> time */
    zhashx_t *early_m;     /* matcher events seen before intake's ack: referral id -> lg_seen_t */
    int64_t last_final_us;
} lg_t;

static int64_t lg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t lg_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void lg_final(lg_t *g, long i, int64_t at)
{
    if (g->refs[i].state == 'f')
        return;
    g->refs[i].state = 'f';
    g->refs[i].final_us = at;
    g->finals++;
    if (at > g->last_final_us)
        g->last_final_us = at;
}

typedef struct {
    char cause[TP_ID_LEN + 1];
    int64_t at;
} lg_seen_t;

/* The matcher's event for referral i (its command's id: cause), at `at`. */
static void lg_matched(lg_t *g, long i, const char *cause, int64_t at)
{
    if (!g->refs[i].workshop) {
        lg_final(g, i, at);
        return;
    }
    char next[TP_ID_LEN + 1]; /* the scheduler's step it caused: call_send's id */
    util_derive_id(cause, "out", 0, next);
    int64_t *seen = zhashx_lookup(g->early, next);
    if (seen) {
        lg_final(g, i, *seen);
        zhashx_delete(g->early, next);
    } else {
        zhashx_insert(g->by_cause, next, (void *)(intptr_t)(i + 1));
    }
}

static void lg_answer(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    lg_t *g = arg;
    lg_ref_t *r = &g->refs[tag];
    r->ack_us = lg_now_us();
    if (!reply) {
        r->state = 'l';
        g->lost++;
    } else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR && reply->error->retryable) {
        g->busy++; /* BUSY: intake's outbox is at its bound; the branch sends it again */
        g->retry[(g->retry_head + g->retry_len++) % g->n] = (long)tag;
    } else if (reply->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        r->state = 'r';
        g->refused++;
        if (g->refused <= 3)
            fprintf(stderr, "loadgen: refused: %s %s\n",
                    reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? reply->error->code : "?",
                    reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? reply->error->message_fr : "");
    } else {
        r->state = 'a';
        g->acked++;
        zhashx_insert(g->by_referral, reply->ack->referral_id, (void *)(intptr_t)(tag + 1));
        lg_seen_t *m = zhashx_lookup(g->early_m, reply->ack->referral_id);
        if (m) { /* the matcher was quicker than the ack's way back */
            lg_matched(g, (long)tag, m->cause, m->at);
            zhashx_delete(g->early_m, reply->ack->referral_id);
        }
    }
}

/* One event: [topic, envelope]. */
static void lg_event(lg_t *g, void *sub)
{
    uint8_t buf[65536];
    char topic[128];
    int t;
    while ((t = zmq_recv(sub, topic, sizeof topic - 1, ZMQ_DONTWAIT)) >= 0) {
        int n = zmq_recv(sub, buf, sizeof buf, 0);
        int64_t at = lg_now_us();
        Tremplin__Envelope *env = NULL;
        if (n < 0 || (size_t)n > sizeof buf || wire_unpack(buf, (size_t)n, sizeof buf, NULL, &env) != WIRE_OK || !env
            || env->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_EVENT) {
            wire_free(env, NULL);
            continue;
        }
        topic[t < (int)sizeof topic ? t : (int)sizeof topic - 1] = '\0';
        if (!strcmp(topic, "matcher.track.assigned")) {
            intptr_t i = (intptr_t)zhashx_lookup(g->by_referral, env->event->subject_id);
            if (i) {
                lg_matched(g, (long)i - 1, env->cause_id, at);
            } else {
                lg_seen_t *m = xmalloc(sizeof *m);
                util_strlcpy(m->cause, env->cause_id, sizeof m->cause);
                m->at = at;
                zhashx_update(g->early_m, env->event->subject_id, m);
            }
        } else if (!strcmp(topic, "scheduler.booking.changed")) {
            intptr_t i = (intptr_t)zhashx_lookup(g->by_cause, env->cause_id);
            if (i) {
                lg_final(g, i - 1, at);
                zhashx_delete(g->by_cause, env->cause_id);
            } else {
                int64_t *seen = xmalloc(sizeof *seen);
                *seen = at;
                zhashx_update(g->early, env->cause_id, seen);
                g->unmatched++;
            }
        }
        wire_free(env, NULL);
    }
}

/* Referral seq of branch `branch`, its fields drawn from (seed, seq), so
 * that one sent again is the same; the matcher's assess() on its answers
 * says whether a workshop ends it. */
static int lg_referral(uint64_t seed, const char *branch, const char *territory, const char *run, long seq,
                       const catalogue_t *cat, Tremplin__Envelope *env)
{
    uint64_t state = (seed * 2654435761ULL) ^ ((uint64_t)seq * 0x9E3779B97F4A7C15ULL) ^ 1, *rng = &state;
    static char ext[96], phone[16], *avail[4], *needs[2], *purposes[] = { "training", "sms", "survey" };
    static Tremplin__SubmitReferral r;
    static Tremplin__Mediator m = TREMPLIN__MEDIATOR__INIT;
    static Tremplin__Person p;
    static Tremplin__Consent c;
    static Tremplin__Answer ans[8], *answers[8];
    static const char *const questions[] = { "mouse_touch",    "email",      "online_form", "attach_document",
                                             "online_banking", "spot_fraud", "passwords",   "video_call" };
    tremplin__submit_referral__init(&r);
    tremplin__person__init(&p);
    tremplin__consent__init(&c);
    snprintf(ext, sizeof ext, "LG-%s-%06ld", run, seq);
    r.branch = (char *)branch;
    r.external_ref = ext;
    m.id = "med-bench";
    m.partner = "pimms";
    r.mediator = &m;
    p.given_name = "Banc";
    snprintf(phone, sizeof phone, "06%08d", (int)(lg_rand(rng) % 100000000));
    p.phone = phone;
    p.birth_year = 1950 + (uint32_t)(lg_rand(rng) % 40);
    int navail = 2 + (int)(lg_rand(rng) % 3), first = (int)(lg_rand(rng) % 11);
    for (int i = 0; i < navail; i++)
        avail[i] = (char *)referral_half_days[(first + i * 3) % 11];
    p.availability = avail;
    p.n_availability = (size_t)navail;
    r.person = &p;
    c.given = 1;
    c.given_at_ms = (uint64_t)(clock_now_ms() - 3600000);
    c.purposes = purposes;
    c.n_purposes = 3;
    c.text_version = "2026-09";
    r.consent = &c;
    needs[0] = (char *)referral_needs[lg_rand(rng) % 9];
    r.needs = needs;
    r.n_needs = 1;
    int level = (int)(lg_rand(rng) % 3); /* mostly people who need a workshop */
    for (int i = 0; i < 8; i++) {
        tremplin__answer__init(&ans[i]);
        ans[i].question_id = (char *)questions[i];
        int score = level - 1 + (int)(lg_rand(rng) % 3);
        ans[i].score = score < 0 ? 0 : score > 3 ? 3 : score;
        answers[i] = &ans[i];
    }
    r.answers = answers;
    r.n_answers = 8;
    tremplin__envelope__init(env);
    env->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    env->submit_referral = &r;
    env->territory = (char *)territory;
    assessment_t a;
    assess(cat, answers, 8, needs, 1, &a);
    return a.outcome == ASSESS_WORKSHOP && a.kind;
}

static int lg_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: loadgen -c CONF --catalogue FILE --keys DIR --branch-prefix P --branches B --count N\n"
               "               (--window W | --rate PER_S) [--seed S] [--settle-ms MS]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "conf", required_argument, NULL, 'c' },
                                          { "catalogue", required_argument, NULL, 'k' },
                                          { "keys", required_argument, NULL, 'K' },
                                          { "branch-prefix", required_argument, NULL, 'p' },
                                          { "branches", required_argument, NULL, 'b' },
                                          { "count", required_argument, NULL, 'n' },
                                          { "window", required_argument, NULL, 'w' },
                                          { "rate", required_argument, NULL, 'r' },
                                          { "seed", required_argument, NULL, 's' },
                                          { "settle-ms", required_argument, NULL, 'S' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *conf_path = NULL, *cat_path = NULL, *keys = NULL, *prefix = "bench";
    long nbranches = 20, count = 10000, window = 0, rate = 0, seed = 7, settle_ms = 30000;
    int o;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'c': conf_path = optarg; break;
        case 'k': cat_path = optarg; break;
        case 'K': keys = optarg; break;
        case 'p': prefix = optarg; break;
        case 'b': nbranches = atol(optarg); break;
        case 'n': count = atol(optarg); break;
        case 'w': window = atol(optarg); break;
        case 'r': rate = atol(optarg); break;
        case 's': seed = atol(optarg); break;
        case 'S': settle_ms = atol(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!conf_path || !cat_path || !keys || nbranches < 1 || nbranches > LG_MAX_BRANCHES || count < 1
        || (window > 0) == (rate > 0)) {
        usage(stderr);
        return 2;
    }
    svc_conf_t conf;
    svc_def_t part = { .sections = tp_conf_sections };
    char err[512];
    catalogue_t cat;
    if (svc_conf_load(conf_path, "operator", &conf, &part, err, sizeof err) != 0
        || util_id_key_load(conf.id_key_file, err, sizeof err) != 0
        || catalogue_load(cat_path, &cat, err, sizeof err) != 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return 1;
    }
    clock_configure(conf.clock_epoch_ms, conf.clock_start_ms, conf.clock_speed);
    clock_set_timezone(conf.timezone);
    char terr_buf[256];
    const char *territories[SVC_MAX_TERRITORIES];
    svc_territories(&conf, terr_buf, sizeof terr_buf, territories, SVC_MAX_TERRITORIES);

    void *ctx = zmq_ctx_new();
    zmq_pollitem_t items[3 + LG_MAX_BRANCHES];
    const char *const ev[] = { "matcher_events", "scheduler_events" };
    const char *const topic[] = { "matcher.track.assigned", "scheduler.booking.changed" };
    for (int i = 0; i < 2; i++) {
        const char *ep = conf_map_get(&conf.endpoints, ev[i]);
        void *sub = zmq_socket(ctx, ZMQ_SUB);
        int zero = 0;
        zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic[i], strlen(topic[i]));
        if (!ep || zmq_connect(sub, ep) != 0) {
            fprintf(stderr, "loadgen: [endpoints] %s missing or wrong\n", ev[i]);
            return 1;
        }
        items[i] = (zmq_pollitem_t){ sub, 0, ZMQ_POLLIN, 0 };
    }
    client_t *cl[LG_MAX_BRANCHES];
    char ids[LG_MAX_BRANCHES][40];
    const char *ep = conf_map_get(&conf.endpoints, "intake_branch");
    for (long b = 0; b < nbranches; b++) {
        snprintf(ids[b], sizeof ids[b], "%s-%02ld", prefix, b + 1);
        char path[3200];
        snprintf(path, sizeof path, "%s/%s.key_secret", keys, ids[b]);
        zcert_t *cert = zcert_load(path);
        if (!cert || !ep) {
            fprintf(stderr, "loadgen: %s: no branch key, or no [endpoints] intake_branch\n", path);
            return 1;
        }
        cl[b] = client_new(ctx, ep, ids[b]);
        client_set_curve(cl[b], zcert_meta(cert, "server-key"), zcert_public_txt(cert), zcert_secret_txt(cert));
        zcert_destroy(&cert);
        client_set_retry(cl[b], 10000, 6);
        client_set_window(cl[b], window > 0 ? (int)((window + nbranches - 1) / nbranches) : 256);
        if (client_connect(cl[b], err, sizeof err) != 0) {
            fprintf(stderr, "loadgen: %s\n", err);
            return 1;
        }
        items[2 + b] = (zmq_pollitem_t){ client_socket(cl[b]), 0, ZMQ_POLLIN, 0 };
    }
    /* open loop: a timer wakes the loop at the next due time to the
     * microsecond (zmq_poll counts in ms: waits of 0 would spin and take a
     * core from the system measured, rounded-up ones would send late) */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) {
        perror("loadgen: timerfd_create");
        return 1;
    }
    items[2 + nbranches] = (zmq_pollitem_t){ NULL, tfd, ZMQ_POLLIN, 0 };
    /* the subscriptions must be in place before the first referral */
    zclock_sleep(500);

    lg_t g = { 0 };
    g.refs = xcalloc((size_t)count, sizeof *g.refs);
    g.by_referral = zhashx_new();
    g.by_cause = zhashx_new();
    g.early = zhashx_new();
    zhashx_set_destructor(g.early, (zhashx_destructor_fn *)zstr_free);
    g.early_m = zhashx_new();
    zhashx_set_destructor(g.early_m, (zhashx_destructor_fn *)zstr_free);
    char run[32];
    snprintf(run, sizeof run, "%lx%lx", (long)clock_real_ms(), seed);
    g.n = count;
    g.retry = xcalloc((size_t)count, sizeof *g.retry);
    int64_t t0 = lg_now_us(), last_progress = t0, last_sweep = t0;
    long done_before = -1;
    for (;;) {
        int64_t now = lg_now_us();
        /* send what is due (open loop) or what the window allows (closed:
         * at most `window` referrals not yet final); a referral answered
         * BUSY first */
        for (;;) {
            long done = g.finals + g.refused + g.lost;
            if (window > 0 && g.next - done >= window)
                break;
            long i;
            int again = g.retry_len > 0;
            if (again) {
                i = g.retry[g.retry_head];
            } else if (g.next < count) {
                i = g.next;
                int64_t due = rate > 0 ? t0 + (int64_t)((double)i * 1e6 / (double)rate) : now;
                if (due > now)
                    break;
                g.refs[i].due_us = due;
            } else {
                break;
            }
            long b = i % nbranches;
            Tremplin__Envelope env;
            g.refs[i].workshop = (char)lg_referral((uint64_t)seed, ids[b], territories[0], run, i, &cat, &env);
            if (client_send(cl[b], &env, (uint64_t)i) != 0)
                break; /* that branch's window is full: after its answers */
            g.refs[i].state = 's';
            if (again) {
                g.retry_head = (g.retry_head + 1) % count;
                g.retry_len--;
            } else {
                g.next++;
            }
        }
        long done = g.finals + g.refused + g.lost;
        if (done == count)
            break;
        if (done != done_before) {
            done_before = done;
            last_progress = now;
        } else if (g.next == count && !g.retry_len && now - last_progress > settle_ms * 1000) {
            break; /* nothing more comes: what is left is reported unfollowed */
        }
        long wait_ms = 100;
        if (g.retry_len)
            wait_ms = 5; /* BUSY: a short pause before sending it again */
        else if (rate > 0 && g.next < count) {
            int64_t next = t0 + (int64_t)((double)g.next * 1e6 / (double)rate);
            /* due already: a branch's window is full, its answers wake us */
            struct itimerspec due = { 0 };
            if (next > now)
                due.it_value = (struct timespec){ .tv_sec = next / 1000000, .tv_nsec = next % 1000000 * 1000 };
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &due, NULL);
        }
        zmq_poll(items, 3 + (int)nbranches, wait_ms);
        if (items[2 + nbranches].revents & ZMQ_POLLIN) {
            uint64_t expired; /* the timer is set again at each turn */
            ssize_t n = read(tfd, &expired, sizeof expired);
            (void)n;
        }
        for (int i = 0; i < 2; i++)
            if (items[i].revents & ZMQ_POLLIN)
                lg_event(&g, items[i].socket);
        /* a branch's answers when it has some, and every branch's timeouts
         * now and then */
        int64_t polled = lg_now_us();
        int sweep = polled - last_sweep >= 50000;
        if (sweep)
            last_sweep = polled;
        for (long b = 0; b < nbranches; b++)
            if (sweep || (items[2 + b].revents & ZMQ_POLLIN))
                client_poll(cl[b], 0, lg_answer, &g);
    }
    int64_t t_end = g.last_final_us ? g.last_final_us : lg_now_us();
    /* latencies: due (or sent) time to the final event, and to the ack */
    int64_t *lat = xcalloc((size_t)count, sizeof *lat), *ack = xcalloc((size_t)count, sizeof *ack);
    long nl = 0, na = 0;
    for (long i = 0; i < count; i++) {
        if (g.refs[i].state == 'f')
            lat[nl++] = g.refs[i].final_us - g.refs[i].due_us;
        if (g.refs[i].ack_us)
            ack[na++] = g.refs[i].ack_us - g.refs[i].due_us;
    }
    qsort(lat, (size_t)nl, sizeof *lat, lg_cmp);
    qsort(ack, (size_t)na, sizeof *ack, lg_cmp);
#define PCT(a, n, p) ((n) ? (double)(a)[(long)((double)((n) - 1) * (p))] / 1000.0 : 0.0)
    double secs = (double)(t_end - t0) / 1e6;
    printf("mode=%s %s=%ld branches=%ld count=%ld acked=%ld busy=%ld refused=%ld lost=%ld followed=%ld unfollowed=%ld "
           "secs=%.2f final_per_s=%.0f "
           "final_ms_p50=%.2f p95=%.2f p99=%.2f max=%.2f ack_ms_p50=%.2f ack_ms_p99=%.2f waiting_scheduler=%zu "
           "events_unmatched=%zu\n",
           rate > 0 ? "open" : "closed", rate > 0 ? "rate" : "window", rate > 0 ? rate : window, nbranches, count,
           g.acked, g.busy, g.refused, g.lost, g.finals,
           count - g.finals - g.refused - g.lost, secs, secs > 0 ? (double)g.finals / secs : 0.0,
           PCT(lat, nl, 0.50), PCT(lat, nl, 0.95), PCT(lat, nl, 0.99), nl ? (double)lat[nl - 1] / 1000.0 : 0.0,
           PCT(ack, na, 0.50), PCT(ack, na, 0.99), zhashx_size(g.by_cause), zhashx_size(g.early));
    int rc = g.refused || g.lost || g.finals < count ? 1 : 0;
    free(lat);
    free(ack);
    for (long b = 0; b < nbranches; b++)
        client_destroy(&cl[b]);
    zmq_close(items[0].socket);
    zmq_close(items[1].socket);
    close(tfd);
    zhashx_destroy(&g.by_referral);
    zhashx_destroy(&g.by_cause);
    zhashx_destroy(&g.early);
    zhashx_destroy(&g.early_m);
    free(g.refs);
    free(g.retry);
    zmq_ctx_term(ctx);
    return rc;
}
