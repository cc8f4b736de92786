/* Incoming SMS. Each one is a file in the inbox folder — dropped there by
 * the spool's SMS software, or by the provider's callback (callback.c) —
 * of a few header lines, an empty line and the text:
 *
 *     From: +33612345678
 *     Id: provider-message-id            (optional)
 *
 *     OUI
 *
 * An instance claims a file by renaming it (.work-<instance>-<name>: the
 * rename is atomic, the loser finds nothing), reads who sent it and what it
 * says (reply.c), asks Redis what that number's people have open
 * (reply_lookup), decides what it is for (route.c) and commits the decision
 * in one step, sms_reply, under a msg_id derived from the file (read again,
 * it is answered from the mark): the AnswerOffer, CancelBooking or
 * SubmitSurvey it sends in its outbox, the figures, a partial survey
 * answer, the job of the polite answer to a reply not understood. Then the
 * file goes to done/ (the mediators' record of what people wrote: personal
 * data, like the spool; never in a log). A partial survey answer whose wait
 * is over is sent as it is (survey_pending, survey_flush). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "clock.h"
#include "gateway/gateway.h"
#include "gateway/route.h"
#include "ids.h"
#include "intake/referral.h"
#include "log.h"
#include "services.h"

#define GW_INBOX_PER_TICK 32
#define GW_REPLY_MAX 4096

void gateway_phone_hash(const char *e164, char out[33]) { util_derive_id(e164, "phone", 0, out); }

/* ------------------------------------------------------------ one reply */

typedef struct {
    char from[16]; /* international form */
    char text[GW_REPLY_MAX];
    char msg_id[TP_ID_LEN + 1];
    char digest[TP_ID_LEN + 1];
} gw_reply_t;

/* Reads the file: its headers and text. 0, or -1 when it is not a reply. */
static int gw_reply_read(const char *path, const char *name, gw_reply_t *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[GW_REPLY_MAX + 512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    memset(out, 0, sizeof *out);
    char *p = buf, from[64] = "";
    while (*p && *p != '\n') { /* header lines until the empty one */
        char *eol = strchr(p, '\n');
        if (!eol)
            return -1;
        *eol = '\0';
        if (eol > p && eol[-1] == '\r')
            eol[-1] = '\0';
        if (!strncasecmp(p, "From:", 5))
            util_strlcpy(from, p + 5 + strspn(p + 5, " \t"), sizeof from);
        p = eol + 1;
        if (*p == '\r')
            p++;
    }
    if (*p == '\n')
        p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        p[--len] = '\0';
    if (!from[0] || referral_phone_normalize(from, out->from) != 0 || len >= sizeof out->text)
        return -1;
    memcpy(out->text, p, len + 1);
    /* the same file read again is the same command; another content under
     * the same name is another */
    util_digest(buf, n, out->digest);
    char seed[400];
    snprintf(seed, sizeof seed, "%.300s:%s", name, out->digest);
    util_derive_id(seed, "sms-reply", 0, out->msg_id);
    return 0;
}

/* The people of reply_lookup's answer. */
static int gw_people(const redisReply *x, route_person_t *p, int max)
{
    int n = 0;
    for (size_t i = 0; x && x->type == REDIS_REPLY_ARRAY && i < x->elements && n < max; i++) {
        const redisReply *e = x->element[i];
        route_person_t *q = &p[n];
        memset(q, 0, sizeof *q);
        q->yes_no = -1;
        int answered = 0;
        for (size_t j = 0; e->type == REDIS_REPLY_ARRAY && j + 1 < e->elements; j += 2) {
            const char *k = e->element[j]->str, *v = e->element[j + 1]->str;
            if (!k || !v)
                continue;
            if (!strcmp(k, "person"))
                util_strlcpy(q->person, v, sizeof q->person);
            else if (!strcmp(k, "offer")) {
                char buf[256];
                util_strlcpy(buf, v, sizeof buf);
                for (char *t = strtok(buf, " "); t && q->noffers < ROUTE_MAX_OFFERS; t = strtok(NULL, " ")) {
                    t[strcspn(t, ":")] = '\0';
                    util_strlcpy(q->offers[q->noffers++], t, sizeof q->offers[0]);
                }
            } else if (!strcmp(k, "booking_late"))
                q->booking_late = !strcmp(v, "1");
            else if (!strcmp(k, "expired"))
                q->expired = atoi(v);
            else if (!strcmp(k, "booking")) {
                util_strlcpy(q->booking, v, sizeof q->booking);
                q->booking[strcspn(q->booking, ":")] = '\0';
            } else if (!strcmp(k, "survey.participation"))
                util_strlcpy(q->participation, v, sizeof q->participation);
            else if (!strcmp(k, "survey.score"))
                q->score = atoi(v);
            else if (!strcmp(k, "survey.yes_no"))
                q->yes_no = atoi(v);
            else if (!strcmp(k, "survey.answered_ms"))
                answered = 1;
        }
        if (answered)
            q->participation[0] = '\0';
        if (q->person[0])
            n++;
    }
    return n;
}

/* The session of a participation, for SubmitSurvey: kept with the survey
 * record (reply_lookup's survey.session). */
static void gw_survey_session(const redisReply *x, const char *pid, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; x && x->type == REDIS_REPLY_ARRAY && i < x->elements; i++) {
        const redisReply *e = x->element[i];
        int mine = 0;
        for (size_t j = 0; e->type == REDIS_REPLY_ARRAY && j + 1 < e->elements; j += 2) {
            const char *k = e->element[j]->str, *v = e->element[j + 1]->str;
            if (k && v && !strcmp(k, "person"))
                mine = !strcmp(v, pid);
            if (mine && k && v && !strcmp(k, "survey.session"))
                util_strlcpy(out, v, cap);
        }
    }
}

/* SubmitSurvey names the participation by its id; with the person and the
 * session too when the session is known (the survey then checks that the
 * three agree). Never the person without the session: the survey refuses
 * that pair (INVALID_FIELD session_id). */
static void gw_submit_survey(call_t *c, const char *pid, const char *participation, const char *session, int score,
                             int yes_no)
{
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__SubmitSurvey sv = TREMPLIN__SUBMIT_SURVEY__INIT;
    if (session[0]) {
        sv.person_id = (char *)pid;
        sv.session_id = (char *)session;
    }
    sv.participation_id = (char *)participation;
    sv.satisfaction = (uint32_t)(score > 0 ? score : 0);
    sv.wants_more = yes_no == 1;
    sv.wants_more_given = yes_no >= 0;
    sv.channel = "sms";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY;
    env.submit_survey = &sv;
    call_send(c, "survey", &env);
}

/* Decides and commits one reply in territory T: 0 done (the file may go),
 * -1 to try again later (Redis could not be reached). *found: the sender is
 * known in T. */
static int gw_reply_in(svc_t *s, gateway_t *g, const char *T, const gw_reply_t *rp, int *found)
{
    rds_t *rd = svc_rds(s);
    int64_t now = clock_now_ms();
    char day[11], hash[33];
    clock_local_day(now, day);
    gateway_phone_hash(rp->from, hash);
    call_t *c = &g->step;
    call_reset(c, "gateway", T, "");
    call_step(c, "reply_lookup");
    call_key(c, "phone", "phone:%s", hash);
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "cutoff_ms", "%lld", (long long)g->cutoff_ms);
    redisReply *look = call_run(c, rd, GATEWAY_LIBRARY);
    if (!look)
        return -1;
    if (look->type == REDIS_REPLY_ERROR) {
        log_error("reply_lookup_failed", "reason=\"%.200s\"", look->str);
        freeReplyObject(look);
        return -1;
    }
    route_person_t people[ROUTE_MAX_PEOPLE];
    int n = gw_people(look, people, ROUTE_MAX_PEOPLE);
    *found = n > 0;
    reply_t r;
    reply_parse(rp->text, &r);
    route_t rt;
    route_reply(&r, people, n, &rt);
    if (rt.action == ROUTE_UNKNOWN_SENDER) {
        freeReplyObject(look);
        return 0;
    }
    const route_person_t *who = &people[rt.who];
    char session[128];
    gw_survey_session(look, who->person, session, sizeof session);

    call_reset(c, "gateway", T, rp->msg_id);
    c->digest = rp->digest;
    c->producer = g->owner;
    call_function(c, "sms_reply");
    call_event(c, "reply", "person_id");
    call_key(c, "reply", "reply:%s", rp->msg_id);
    call_key(c, "fig_day", "fig:%s", day);
    call_key(c, "fig_total", "fig:total");
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__AnswerOffer ao = TREMPLIN__ANSWER_OFFER__INIT;
    Tremplin__CancelBooking cb = TREMPLIN__CANCEL_BOOKING__INIT;
    const char *score = "", *yes_no = "";
    char sbuf[12], ybuf[12];
    int survey_sent = 0;
    switch (rt.action) {
    case ROUTE_ANSWER_OFFER:
        ao.booking_id = rt.booking;
        ao.accept = rt.accept;
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
        env.answer_offer = &ao;
        call_send(c, "scheduler", &env);
        break;
    case ROUTE_CANCEL_BOOKING:
        cb.booking_id = rt.booking;
        cb.reason = "sms";
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
        env.cancel_booking = &cb;
        call_send(c, "scheduler", &env);
        break;
    case ROUTE_SURVEY:
        gw_submit_survey(c, who->person, who->participation, session, rt.score, rt.yes_no);
        survey_sent = 1;
        break;
    case ROUTE_SURVEY_PARTIAL:
        if (rt.score) {
            snprintf(sbuf, sizeof sbuf, "%d", rt.score);
            score = sbuf;
        }
        if (rt.yes_no >= 0) {
            snprintf(ybuf, sizeof ybuf, "%d", rt.yes_no);
            yes_no = ybuf;
        }
        break;
    default:
        break;
    }
    const char *kind = reply_kind_name(r.kind);
    call_arg(c, "kind", "%s", kind);
    call_arg(c, "action", "%s", route_action_name(rt.action));
    call_arg(c, "person", "%s", who->person);
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "answer_job", "%s",
             rt.action == ROUTE_NOT_UNDERSTOOD ? "not_understood" : rt.action == ROUTE_REFUSED ? "reply_refused" : "0");
    if (rt.action == ROUTE_REFUSED)
        call_arg(c, "answer_reason", "%s", rt.refusal);
    call_arg(c, "survey_sent", "%d", survey_sent);
    call_arg(c, "survey_score", "%s", score);
    call_arg(c, "survey_yes_no", "%s", yes_no);
    call_arg(c, "survey_due_ms", "%lld", (long long)(now + g->conf.survey_wait_min * 60000));
    freeReplyObject(look);
    call_append(c, rd, GATEWAY_LIBRARY, (long)svc_conf(s)->mark_ttl_s);
    redisReply *x = NULL;
    if (rds_read(rd, &x, 1) != 0)
        return -1;
    int ok = x->type == REDIS_REPLY_ARRAY;
    /* read before (the same file dropped again): answered from the mark,
     * nothing done twice */
    int dup = ok && x->elements >= 2 && x->element[x->elements - 2]->str
              && !strcmp(x->element[x->elements - 2]->str, "duplicate");
    if (!ok)
        log_error("sms_reply_failed", "reply=%s reason=\"%.200s\"", rp->msg_id,
                  x->type == REDIS_REPLY_ERROR ? x->str : "unexpected answer");
    freeReplyObject(x);
    if (!ok)
        return -1;
    if (dup)
        log_info("reply_duplicate", "reply=%s action=none", rp->msg_id);
    else if (rt.action == ROUTE_NOT_UNDERSTOOD)
        log_warn("reply_for_mediator", "reply=%s person=%s kind=%s why=%s", rp->msg_id, who->person, kind, rt.why);
    else if (rt.action == ROUTE_REFUSED)
        log_info("reply_refused", "reply=%s person=%s kind=%s reason=%s action=told", rp->msg_id, who->person, kind,
                 rt.refusal);
    else
        log_info("reply", "reply=%s person=%s kind=%s action=%s", rp->msg_id, who->person, kind,
                 route_action_name(rt.action));
    return 0;
}

/* One claimed file: 0 when it may go to done/. */
static int gw_reply_file(svc_t *s, gateway_t *g, const char *path, const char *name)
{
    gw_reply_t *rp = xmalloc(sizeof *rp);
    int rc = 0;
    if (gw_reply_read(path, name, rp) != 0) {
        log_warn("reply_unreadable", "file=%s action=moved_to_done", name);
        goto done;
    }
    char buf[256];
    const char *terr[SVC_MAX_TERRITORIES];
    int nt = svc_territories(svc_conf(s), buf, sizeof buf, terr, SVC_MAX_TERRITORIES), found = 0;
    for (int t = 0; t < nt && !found; t++)
        if (gw_reply_in(s, g, terr[t], rp, &found) != 0) {
            rc = -1;
            goto done;
        }
    if (!found)
        log_warn("reply_unknown_sender", "reply=%s action=none", rp->msg_id);
done:
    free(rp);
    return rc;
}

/* A claimed file is named .work-<16 hex>-<name>: the hex a hash of the
 * claiming instance (instance names hold '-', '@', ':'; the hash does not,
 * so the original name is always found again). */
static void gw_claim_prefix(const char *instance, char out[32])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)instance; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    snprintf(out, 32, ".work-%016llx-", (unsigned long long)h);
}

/* Another instance's claimed file: its original name, else NULL. */
static const char *gw_claimed_orig(const char *name)
{
    if (strncmp(name, ".work-", 6) != 0 || strlen(name) < 24 || name[22] != '-')
        return NULL;
    for (int i = 6; i < 22; i++)
        if (!strchr("0123456789abcdef", name[i]))
            return NULL;
    return name + 23;
}

/* The files of the inbox folder, a few per tick. A file this instance
 * claimed before it stopped is taken again (its name says whose); one
 * another instance claimed and has not touched for lease_ms (it died with
 * it: its claim is renewed every tick while it is kept) is taken over. The
 * claim's time is the file's mtime, set at the claim. */
static void gw_inbox(svc_t *s, gateway_t *g)
{
    DIR *d = opendir(g->conf.inbox_dir);
    if (!d)
        return;
    char mine[32], old_mine[128];
    gw_claim_prefix(svc_instance(s), mine);
    snprintf(old_mine, sizeof old_mine, ".work-%s-", svc_instance(s)); /* before the hash */
    int64_t real = clock_real_ms();
    int done = 0;
    struct dirent *e;
    while ((e = readdir(d)) && done < GW_INBOX_PER_TICK) {
        const char *name = e->d_name, *orig = name;
        char from[600], work[600], to[700];
        int ours = 0;
        if (!strncmp(name, mine, strlen(mine))) {
            orig = name + strlen(mine); /* ours, kept (Redis away) or from before a restart */
            ours = 1;
        } else if (!strncmp(name, old_mine, strlen(old_mine))) {
            orig = name + strlen(old_mine);
            ours = 1;
        } else if ((orig = gw_claimed_orig(name))) {
            /* another instance's: only once its claim is older than the lease */
        } else if (name[0] == '.') {
            continue;
        } else {
            orig = name;
        }
        snprintf(from, sizeof from, "%s/%s", g->conf.inbox_dir, name);
        struct stat st;
        if (stat(from, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        int takeover = !ours && orig != name;
        if (takeover && real - ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000) < g->conf.lease_ms)
            continue; /* its holder may be at work on it */
        snprintf(work, sizeof work, "%s/%s%.200s", g->conf.inbox_dir, mine, orig);
        if (!ours && rename(from, work) != 0)
            continue; /* another instance took it */
        if (ours && strcmp(from, work) != 0 && rename(from, work) != 0)
            continue;
        utimensat(AT_FDCWD, work, NULL, 0); /* the claim's time: now */
        if (takeover)
            log_warn("reply_taken_over", "file=%s action=processed", orig);
        done++;
        if (gw_reply_file(s, g, work, orig) != 0)
            break; /* Redis is away: the file stays claimed, for the next tick */
        snprintf(to, sizeof to, "%s/done/%.200s", g->conf.inbox_dir, orig);
        if (rename(work, to) != 0)
            log_error("inbox_move_failed", "file=%s reason=\"%s\"", orig, strerror(errno));
        else
            gateway_stamp_business(to, clock_now_ms()); /* kept [retention] sms_days from now */
    }
    closedir(d);
}

/* ------------------------------------------------------ refused answers */

/* The refusals that are answers (the person asked too late, twice …), not
 * failures: told to the person, never a dead letter. Anything else (a
 * malformed command, an unknown id) stays a dead letter for an operator. */
static int gw_business_refusal(const char *code)
{
    static const char *const codes[] = { "TOO_LATE",         "OFFER_EXPIRED",    "NOT_AN_OFFER",   "NOT_CANCELLABLE",
                                         "ALREADY_ANSWERED", "CONSENT_REQUIRED", "NOT_ATTENDED", "SESSION_STARTED" };
    for (size_t i = 0; i < TP_ARRAY_LEN(codes); i++)
        if (!strcmp(codes[i], code))
            return 1;
    return 0;
}

int gateway_refused(svc_t *s, const char *T, const Tremplin__Envelope *sent, const char *code)
{
    gateway_t *g = svc_state(s);
    const char *what = sent->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER      ? "offer"
                       : sent->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING  ? "cancel"
                       : sent->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY ? "survey"
                                                                                         : NULL;
    if (!what || !gw_business_refusal(code) || !ids_valid(sent->cause_id, TP_ID_LEN))
        return 1;
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    call_t *c = &g->step;
    call_reset(c, "gateway", T, "");
    call_step(c, "reply_refused");
    call_key(c, "reply", "reply:%s", sent->cause_id);
    call_key(c, "fig_day", "fig:%s", day);
    call_key(c, "fig_total", "fig:total");
    call_arg(c, "what", "%s", what);
    call_arg(c, "code", "%s", code);
    call_arg(c, "person", "%s",
             sent->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY ? sent->submit_survey->person_id : "");
    call_arg(c, "now_ms", "%lld", (long long)now);
    redisReply *x = call_run(c, svc_rds(s), GATEWAY_LIBRARY);
    int ok = x && x->type == REDIS_REPLY_STRING;
    if (ok)
        log_info("reply_refused", "reply=%s to=%s code=%s action=told", sent->cause_id, what, code);
    else
        log_error("reply_refused_failed", "reply=%s reason=\"%.200s\"", sent->cause_id,
                  x && x->type == REDIS_REPLY_ERROR ? x->str : "redis");
    if (x)
        freeReplyObject(x);
    return ok ? 0 : -1;
}

/* ------------------------------------------------ partial survey answers */

static void gw_survey_flush(svc_t *s, gateway_t *g, const char *T)
{
    rds_t *rd = svc_rds(s);
    int64_t now = clock_now_ms();
    call_t *c = &g->step;
    call_reset(c, "gateway", T, "");
    call_step(c, "survey_pending");
    call_key(c, "survey_due", "survey_due");
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "count", "%d", 32);
    redisReply *x = call_run(c, rd, GATEWAY_LIBRARY);
    for (size_t i = 0; x && x->type == REDIS_REPLY_ARRAY && i < x->elements; i++) {
        const redisReply *e = x->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 5)
            continue;
        const char *pid = e->element[0]->str, *part = e->element[1]->str, *session = e->element[4]->str;
        char msg_id[TP_ID_LEN + 1], seed[160];
        snprintf(seed, sizeof seed, "%.40s:%.100s", pid, part);
        util_derive_id(seed, "survey-flush", 0, msg_id);
        call_reset(c, "gateway", T, msg_id);
        c->digest = msg_id;
        c->producer = g->owner;
        call_function(c, "survey_flush");
        call_key(c, "survey", "survey:%s", pid);
        call_key(c, "survey_due", "survey_due");
        call_arg(c, "person", "%s", pid);
        call_arg(c, "now_ms", "%lld", (long long)now);
        int score = atoi(e->element[2]->str);
        int yes_no = e->element[3]->str[0] ? atoi(e->element[3]->str) : -1;
        gw_submit_survey(c, pid, part, session, score, yes_no);
        call_append(c, rd, GATEWAY_LIBRARY, (long)svc_conf(s)->mark_ttl_s);
        redisReply *y = NULL;
        if (rds_read(rd, &y, 1) != 0)
            y = NULL;
        if (y && y->type == REDIS_REPLY_ARRAY)
            log_info("survey_partial_sent", "person=%s score=%d wants_more_given=%d", pid, score, yes_no >= 0);
        else if (y && y->type == REDIS_REPLY_ERROR)
            log_error("survey_flush_failed", "person=%s reason=\"%.200s\"", pid, y->str);
        if (y)
            freeReplyObject(y);
    }
    if (x)
        freeReplyObject(x);
}

void gateway_replies(svc_t *s)
{
    gateway_t *g = svc_state(s);
    gw_inbox(s, g);
    int64_t real = clock_real_ms();
    if (real < g->next_survey_ms)
        return;
    g->next_survey_ms = real + 1000;
    char buf[256];
    const char *terr[SVC_MAX_TERRITORIES];
    int nt = svc_territories(svc_conf(s), buf, sizeof buf, terr, SVC_MAX_TERRITORIES);
    for (int t = 0; t < nt; t++)
        gw_survey_flush(s, g, terr[t]);
}
