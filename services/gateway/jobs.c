/* The send loop, every tick_ms: in each territory,
 *
 *   ingest   the new entries of every notify stream become jobs (one step
 *            per stream, all in one pipeline);
 *   take     up to `batch` jobs are taken: those of a holder whose lease
 *            ended, failed ones whose next try is due, due ones;
 *   decide   for each, at send time: is its booking still what the text
 *            says, may the person be written to for this purpose (consent),
 *            how (a mobile: SMS; an address only: a letter), when (quiet
 *            hours and closed days: held; the session started or the offer's
 *            deadline passed: dropped);
 *   send     the SMS through the channel, under the job's id;
 *   result   what became of each, in one pipeline: sent (with the reminder
 *            the convocation calls for, J-2), held, dropped, failed (retried
 *            with backoff) or given up (flagged).
 *
 * Any instance does all of it: a job is sent by the instance that took it
 * (gateway.lua, take), another takes it over once that one's lease ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gateway/gateway.h"
#include "gateway/message.h"
#include "log.h"
#include "services.h"

/* The job types of the producers that send something to the person (the
 * others — waitlisted, offer_expired, mediator_flag … — are acknowledged
 * and left). */
static char *const gw_types[] = { "convocation", "offer", "session_cancelled", "capacity_cut", "withdrawn",
                                  "cancelled", "survey_invitation", "survey_reminder" };

/* -------------------------------------------------------- a job's context */

typedef struct {
    const redisReply *pairs;
} gw_ctx_t;

static const char *ctx(const gw_ctx_t *c, const char *name)
{
    for (size_t i = 0; i + 1 < c->pairs->elements; i += 2) {
        const redisReply *k = c->pairs->element[i], *v = c->pairs->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, name))
            return v->type == REDIS_REPLY_STRING ? v->str : "";
    }
    return "";
}

static int64_t ctx_ms(const gw_ctx_t *c, const char *name) { return atoll(ctx(c, name)); }

/* What was decided for one job, for the result step. */
typedef struct {
    const char *outcome; /* sent | held | dropped | retry | given_up */
    const char *channel, *transport, *reason;
    char provider_id[HTTP_ID_MAX];
    char phone_hash[33];
    char error[160];
    int64_t at_ms, retry_at, reminder_due;
    int segments;
} gw_result_t;

/* ------------------------------------------------------------- deciding */

static int gw_consent(const gw_ctx_t *c, const char *purpose)
{
    char f[32];
    snprintf(f, sizeof f, "consent.%s", purpose);
    return !strcmp(ctx(c, f), "given");
}

static int gw_has_address(const gw_ctx_t *c)
{
    return *ctx(c, "contact.line1") && *ctx(c, "contact.postcode") && *ctx(c, "contact.city");
}

/* Sessions as the texts name them: the title of the kind, the venue's name
 * and address. */
static void gw_session(const gateway_t *g, const gw_ctx_t *c, const char *prefix, msg_session_t *out)
{
    char f[32];
    snprintf(f, sizeof f, "%s.kind", prefix);
    const cat_kind_t *k = catalogue_kind(&g->catalogue, ctx(c, f));
    snprintf(f, sizeof f, "%s.venue", prefix);
    const tt_venue_t *v = timetable_venue(&g->timetable, ctx(c, f));
    out->title = k ? k->title_fr : "";
    out->venue_name = v ? v->name_fr : ctx(c, f);
    out->venue_address = v ? v->address_fr : "";
    snprintf(f, sizeof f, "%s.start", prefix);
    out->start_ms = ctx_ms(c, f);
    snprintf(f, sizeof f, "%s.end", prefix);
    out->end_ms = ctx_ms(c, f);
}

static int64_t gw_backoff(const gateway_t *g, int tries)
{
    int64_t d = g->conf.retry_base_ms;
    for (int i = 0; i < tries && d < g->conf.retry_max_ms; i++)
        d *= 2;
    if (d > g->conf.retry_max_ms)
        d = g->conf.retry_max_ms;
    return d - (int64_t)(util_random_u64() % (uint64_t)(d / 5 + 1)); /* up to 20 % sooner: retries spread */
}

static void gw_drop(gw_result_t *r, const char *reason)
{
    r->outcome = "dropped";
    r->reason = reason;
}

/* Decides what to do with one job of territory T now, and sends it when it
 * is to go. */
static void gw_job(gateway_t *g, const char *T, const gw_ctx_t *c, int64_t now, gw_result_t *r)
{
    const char *jid = ctx(c, "jid"), *type = ctx(c, "job.type");
    char key[160]; /* what the outside sees (spool file, Idempotency-Key) */
    gateway_job_key(T, jid, key, sizeof key);
    msg_kind_t kind;
    memset(r, 0, sizeof *r);
    if (msg_kind_of_job(type, &kind) != 0) {
        gw_drop(r, "unknown_type");
        return;
    }
    /* handed over already, by an instance that died before recording it
     * (its spool file is the proof): sent, whatever changed since — a drop
     * now (the booking cancelled meanwhile) would record as unsent an SMS
     * the person has, and miss it in the figures */
    if (!g->http && gateway_spooled(g, key, &r->segments)) {
        const char *phone = ctx(c, "contact.phone");
        r->outcome = "sent";
        r->channel = "sms";
        r->transport = "spool";
        if (phone[0] == '+')
            gateway_phone_hash(phone, r->phone_hash);
        if (kind == MSG_CONVOCATION && g->conf.reminder_days > 0 && !strcmp(ctx(c, "booking.status"), "booked")) {
            int64_t due = quiet_reminder_due(clock_zone(), ctx_ms(c, "session.start"), (int)g->conf.reminder_days);
            r->reminder_due = due > now ? due : 0;
        }
        log_info("spool_exists", "job=%s action=recorded_as_sent", jid);
        log_info("sms_sent", "job=%s type=%s transport=spool segments=%d", jid, type, r->segments);
        return;
    }
    /* an erased person is written to no more (their contact is gone) */
    if (*ctx(c, "erased")) {
        gw_drop(r, "erased");
        return;
    }
    /* the booking must still be what the text says */
    const char *bst = ctx(c, "booking.status");
    if (((kind == MSG_CONVOCATION || kind == MSG_REMINDER) && strcmp(bst, "booked"))
        || (kind == MSG_OFFER && strcmp(bst, "offered"))) {
        gw_drop(r, "stale");
        return;
    }
    /* a survey invitation or reminder only while the participation is open:
     * not answered (there or here), not closed, its window not over */
    if (kind == MSG_SURVEY && *ctx(c, "job.participation")
        && (strcmp(ctx(c, "participation.status"), "open") || *ctx(c, "participation.answered")
            || ctx_ms(c, "participation.deadline") <= now)) {
        gw_drop(r, "stale");
        return;
    }
    /* how the person can be reached for this purpose, checked now */
    int survey = kind == MSG_SURVEY;
    const char *phone = ctx(c, "contact.phone");
    int sms = phone[0] == '+' && gw_consent(c, "sms") && (!survey || gw_consent(c, "survey"));
    int letter = !sms && gw_has_address(c)
                 && (kind == MSG_CONVOCATION || kind == MSG_SESSION_CANCELLED || kind == MSG_CAPACITY_CUT
                     || kind == MSG_CANCELLED);
    if (!sms && !letter) {
        int refused = (phone[0] && !gw_consent(c, "sms")) || (survey && !gw_consent(c, "survey"));
        gw_drop(r, refused ? "no_consent" : "no_contact");
        return;
    }
    /* when: never once the session started, nor after an offer's deadline;
     * an SMS not at night nor on a closed day; a letter is printed any day */
    int64_t start = survey || kind == MSG_NOT_UNDERSTOOD ? 0 : ctx_ms(c, "session.start");
    int64_t deadline = kind == MSG_OFFER ? ctx_ms(c, "job.deadline") : 0;
    quiet_rules_t open_all = { 0, 0, 0 };
    quiet_decision_t d;
    quiet_decide(letter ? &open_all : &g->quiet, clock_zone(), now, 0, start, deadline, &d);
    if (d.verdict == QUIET_DROP) {
        gw_drop(r, "too_late");
        return;
    }
    if (d.verdict == QUIET_HOLD) {
        r->outcome = "held";
        r->at_ms = d.at_ms;
        r->reason = d.reason;
        return;
    }
    msg_input_t in = { .kind = kind, .zone = clock_zone(), .given_name = ctx(c, "contact.given_name"),
                       .deadline_ms = deadline, .reason = msg_reason_fr(ctx(c, "job.reason")) };
    gw_session(g, c, "session", &in.session);
    if (*ctx(c, "next.start"))
        gw_session(g, c, "next", &in.next);
    if (letter) { /* printed with `tremplin letters` on its day */
        r->outcome = "sent";
        r->channel = "letter";
        r->transport = "print";
        return;
    }
    msg_sms_t m;
    char err[200];
    if (msg_sms(&in, (int)g->conf.sms_max_segments, &m, err, sizeof err) != 0) {
        log_error("job_invalid", "job=%s type=%s reason=\"%s\"", jid, type, err);
        gw_drop(r, "invalid");
        return;
    }
    int retryable;
    r->segments = m.size.segments;
    if (gateway_send_sms(g, key, phone, m.text, m.size.segments, r->provider_id, sizeof r->provider_id, &retryable,
                         r->error, sizeof r->error)
        == 0) {
        r->outcome = "sent";
        r->channel = "sms";
        r->transport = g->http ? "http" : "spool";
        gateway_phone_hash(phone, r->phone_hash);
        if (kind == MSG_CONVOCATION && g->conf.reminder_days > 0) {
            int64_t due = quiet_reminder_due(clock_zone(), in.session.start_ms, (int)g->conf.reminder_days);
            r->reminder_due = due > now ? due : 0;
        }
        log_info("sms_sent", "job=%s type=%s transport=%s segments=%d coding=%s", jid, type, r->transport,
                 m.size.segments, m.size.coding == SMS_GSM7 ? "gsm7" : "ucs2");
        return;
    }
    int tries = atoi(ctx(c, "job.tries")) + 1;
    if (retryable && tries < g->conf.max_tries) {
        r->outcome = "retry";
        r->retry_at = clock_real_ms() + gw_backoff(g, tries - 1);
        log_warn("sms_failed", "job=%s try=%d action=retry reason=\"%s\"", jid, tries, r->error);
    } else {
        r->outcome = "given_up";
        log_error("sms_given_up", "job=%s tries=%d retryable=%d reason=\"%s\"", jid, tries, retryable, r->error);
    }
}

/* --------------------------------------------------------------- steps */

static void gw_result_append(svc_t *s, gateway_t *g, const char *T, const char *jid, const gw_result_t *r,
                             int64_t now, const char *day)
{
    call_t *c = &g->step;
    call_reset(c, "gateway", T, "");
    call_step(c, "result");
    call_key(c, "job", "job:%s", jid);
    call_key(c, "sending", "sending");
    call_arg(c, "owner", "%s", g->owner);
    call_arg(c, "outcome", "%s", r->outcome);
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "day", "%s", day);
    if (!strcmp(r->outcome, "sent")) {
        call_arg(c, "channel", "%s", r->channel);
        call_arg(c, "transport", "%s", r->transport);
        call_arg(c, "provider_id", "%s", r->provider_id);
        call_arg(c, "phone_hash", "%s", r->phone_hash);
        call_arg(c, "reminder_due", "%lld", (long long)r->reminder_due);
        call_arg(c, "segments", "%d", r->segments);
    } else if (!strcmp(r->outcome, "held")) {
        call_arg(c, "at_ms", "%lld", (long long)r->at_ms);
        call_arg(c, "reason", "%s", r->reason);
    } else if (!strcmp(r->outcome, "dropped")) {
        call_arg(c, "reason", "%s", r->reason);
    } else if (!strcmp(r->outcome, "retry")) {
        call_arg(c, "retry_at", "%lld", (long long)r->retry_at);
        call_arg(c, "error", "%s", r->error);
    } else {
        call_arg(c, "error", "%s", r->error);
    }
    call_append(c, svc_rds(s), GATEWAY_LIBRARY, 0);
}

/* The new entries of every notify stream of T, as jobs: one pipeline. */
static void gw_ingest(svc_t *s, gateway_t *g, const char *T, int64_t now)
{
    rds_t *rd = svc_rds(s);
    for (int i = 0; i < g->nstreams; i++) {
        call_t *c = &g->step;
        call_reset(c, "gateway", T, "");
        call_step(c, "ingest");
        c->service = g->streams[i]; /* the stream is its producer's key: tp:{T}:<producer>:notify */
        call_key(c, "stream", "notify");
        c->service = "gateway";
        call_key(c, "due", "due");
        call_arg(c, "consumer", "%s", g->owner);
        call_arg(c, "count", "%d", 256);
        call_arg(c, "now_ms", "%lld", (long long)now);
        call_arg(c, "source", "%s", g->streams[i]);
        call_arg_list(c, "types", gw_types, TP_ARRAY_LEN(gw_types));
        call_append(c, rd, GATEWAY_LIBRARY, 0);
    }
    redisReply *rep[GW_MAX_STREAMS];
    if (g->nstreams == 0 || rds_read(rd, rep, g->nstreams) != 0)
        return;
    for (int i = 0; i < g->nstreams; i++) {
        if (rep[i]->type == REDIS_REPLY_ERROR)
            log_error("ingest_failed", "stream=%s reason=\"%.200s\"", g->streams[i], rep[i]->str);
        else if (rep[i]->type == REDIS_REPLY_INTEGER && rep[i]->integer > 0)
            log_info("jobs_queued", "stream=%s count=%lld", g->streams[i], rep[i]->integer);
        freeReplyObject(rep[i]);
    }
}

/* Takes, decides, sends and records one batch of T; returns how many jobs
 * it took (a full batch: there may be more). */
static int gw_send_batch(svc_t *s, gateway_t *g, const char *T)
{
    rds_t *rd = svc_rds(s);
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    call_t *c = &g->step;
    call_reset(c, "gateway", T, "");
    call_step(c, "take");
    call_key(c, "due", "due");
    call_key(c, "sending", "sending");
    call_key(c, "retry", "retry");
    call_arg(c, "owner", "%s", g->owner);
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "real_ms", "%lld", (long long)clock_real_ms());
    call_arg(c, "lease_ms", "%lld", (long long)g->conf.lease_ms);
    call_arg(c, "count", "%lld", (long long)g->conf.batch);
    redisReply *jobs = call_run(c, rd, GATEWAY_LIBRARY);
    if (!jobs)
        return 0;
    if (jobs->type != REDIS_REPLY_ARRAY) {
        if (jobs->type == REDIS_REPLY_ERROR)
            log_error("take_failed", "reason=\"%.200s\"", jobs->str);
        freeReplyObject(jobs);
        return 0;
    }
    int n = (int)jobs->elements;
    /* with [redis] wait_replicas, an SMS leaves only once the replicas have
     * its job and what made it (a booking, an invitation): after a failover
     * the new primary knows it was sent. Not yet: the jobs stay leased,
     * taken again once the lease ends. */
    if (n > 0 && !rds_replicated(rd)) {
        log_warn("not_replicated", "jobs=%d action=\"sent after the lease\"", n);
        freeReplyObject(jobs);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        gw_ctx_t x = { jobs->element[i] };
        if (x.pairs->type != REDIS_REPLY_ARRAY)
            continue;
        gw_result_t r;
        gw_job(g, T, &x, now, &r);
        if (*ctx(&x, "takeover"))
            log_info("job_taken_over", "job=%s", ctx(&x, "jid"));
        gw_result_append(s, g, T, ctx(&x, "jid"), &r, now, day);
    }
    int appended = n;
    redisReply *rep[GW_MAX_BATCH];
    if (appended > 0 && rds_read(rd, rep, appended) == 0) {
        for (int i = 0; i < appended; i++) {
            if (rep[i]->type == REDIS_REPLY_ERROR)
                log_error("result_failed", "reason=\"%.200s\"", rep[i]->str);
            else if (rep[i]->type == REDIS_REPLY_STATUS || rep[i]->type == REDIS_REPLY_STRING) {
                if (!strcmp(rep[i]->str, "stale"))
                    log_warn("job_stale", "job=%s action=none reason=\"taken over meanwhile\"",
                             ctx(&(gw_ctx_t){ jobs->element[i] }, "jid"));
            }
            freeReplyObject(rep[i]);
        }
    }
    freeReplyObject(jobs);
    return n;
}

void gateway_tick(svc_t *s)
{
    gateway_t *g = svc_state(s);
    rds_ensure(svc_rds(s)); /* reconnects what its backoff allows */
    char buf[256];
    const char *terr[SVC_MAX_TERRITORIES];
    int nt = svc_territories(svc_conf(s), buf, sizeof buf, terr, SVC_MAX_TERRITORIES);
    for (int t = 0; t < nt; t++) {
        if (!rds_territory_up(svc_rds(s), terr[t]))
            continue; /* that territory's Redis is away (shards): the others go on */
        gw_ingest(s, g, terr[t], clock_now_ms());
        /* a few batches per tick at most: the loop serves Ping in between */
        for (int round = 0; round < 4; round++)
            if (gw_send_batch(s, g, terr[t]) < g->conf.batch)
                break;
    }
    gateway_replies(s);
    gateway_erase_files(s);
}
