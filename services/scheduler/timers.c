/* scheduler's timers, run by the one instance holding the lease: offer
 * expiry, and the timetable's rolling horizon (sessions opened, capacities
 * applied, sessions the timetable no longer holds cancelled). */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "scheduler.h"
#include "services.h"

const char *scheduler_territory(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    if (sc->conf.territory[0])
        return sc->conf.territory;
    char buf[256];
    const char *t[SVC_MAX_TERRITORIES];
    if (svc_territories(svc_conf(s), buf, sizeof buf, t, SVC_MAX_TERRITORIES) > 0)
        util_strlcpy(sc->first_territory, t[0], sizeof sc->first_territory);
    return sc->first_territory;
}

/* Marks a session known to be cancelled as closing (nobody is booked or
 * offered into it any more) and remembers it for the cancellation step. */
static void scheduler_close(svc_t *s, const char *T, const char *sid, const char *why)
{
    scheduler_t *sc = svc_state(s);
    call_t call = { 0 };
    call_reset(&call, "scheduler", T, "");
    call_step(&call, "close_session");
    call_key(&call, "session", "session:%s", sid);
    redisReply *r = call_run(&call, svc_rds(s), SCHEDULER_LIBRARY);
    call_free(&call);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && !strcmp(r->element[0]->str, "closing")
        && sc->nclosing < SCHEDULER_MAX_CLOSING) {
        sched_closing_t *c = &sc->closing[sc->nclosing++];
        util_strlcpy(c->id, sid, sizeof c->id);
        util_strlcpy(c->why, why, sizeof c->why);
        util_strlcpy(c->round, r->element[1]->str, sizeof c->round);
    }
    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("close_session_failed", "session=%s reason=\"%.200s\"", sid, r->str);
    if (r)
        freeReplyObject(r);
}

/* The timer cancels through the same step as CancelSession, under a message
 * id of its own making (the session's round: a session reopened and closed
 * again is cancelled again), so that each cancellation happens once only. */
static void scheduler_cancel(svc_t *s, const char *T, const sched_closing_t *c, int64_t now, const char *day)
{
    char msg_id[128];
    snprintf(msg_id, sizeof msg_id, "%s-%s-%s", c->why, c->id, c->round);
    call_t call = { 0 };
    call_reset(&call, "scheduler", T, msg_id);
    scheduler_cancel_call(svc_state(s), c->id, c->why, "timetable", now, day, &call);
    call_append(&call, svc_rds(s), SCHEDULER_LIBRARY, (long)svc_conf(s)->mark_ttl_s);
    call_free(&call);
    redisReply *r;
    if (rds_read(svc_rds(s), &r, 1) != 0)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && !strcmp(r->element[0]->str, "ok"))
        log_info("session_cancelled", "session=%s reason=%s", c->id, c->why);
    freeReplyObject(r);
}

/* Opens the sessions of the horizon (each once; capacity changes applied),
 * offers their free seats to the waitlists, and cancels those of an absent
 * trainer and those the timetable no longer has (holiday, closure). The
 * sessions to cancel are closed first, so that nobody is offered one, or
 * moved into one from another cancelled session. */
static void scheduler_generate(svc_t *s, const char *T, int64_t now, const char *day)
{
    scheduler_t *sc = svc_state(s);
    rds_t *r = svc_rds(s);
    static tt_session_t sessions[1024];
    int64_t to = now + (int64_t)sc->timetable.horizon_days * 86400000;
    int n = timetable_sessions(&sc->timetable, now, to, sessions, 1024);
    sc->nclosing = 0;
    for (int i = 0; i < n; i++)
        if (sessions[i].trainer_absent)
            scheduler_close(s, T, sessions[i].id, "trainer_absent");
    /* sessions opened before that the timetable dropped since: of every
     * kind ever opened, also one the file no longer has */
    redisReply *kinds = rds_cmd(r, "SMEMBERS tp:{%s}:scheduler:kinds", T);
    for (size_t k = 0; kinds && kinds->type == REDIS_REPLY_ARRAY && k < kinds->elements; k++) {
        redisReply *ids = rds_cmd(r, "ZRANGEBYSCORE tp:{%s}:scheduler:sessions:%s %lld %lld", T,
                                  kinds->element[k]->str, (long long)now, (long long)to);
        for (size_t j = 0; ids && ids->type == REDIS_REPLY_ARRAY && j < ids->elements; j++) {
            tt_session_t found;
            if (timetable_find(&sc->timetable, ids->element[j]->str, &found) != 0)
                scheduler_close(s, T, ids->element[j]->str, "timetable_change");
        }
        if (ids)
            freeReplyObject(ids);
    }
    if (kinds)
        freeReplyObject(kinds);
    char nonce[SCHEDULER_NONCE_LEN + 1];
    scheduler_nonce(nonce);
    /* two passes: capacities first, then the cuts (see ensure_session) */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const tt_session_t *x = &sessions[i];
            call_t call = { 0 };
            call_reset(&call, "scheduler", T, "");
            call_step(&call, "ensure_session");
            call_key(&call, "session", "session:%s", x->id);
            call_arg(&call, "session_id", "%s", x->id);
            call_arg(&call, "kind", "%s", x->kind);
            call_arg(&call, "venue", "%s", x->venue);
            call_arg(&call, "trainer", "%s", x->trainer);
            call_arg(&call, "start_ms", "%lld", (long long)x->start_ms);
            call_arg(&call, "end_ms", "%lld", (long long)x->end_ms);
            call_arg(&call, "capacity", "%d", x->capacity);
            call_arg(&call, "half_day", "%s", x->half_day);
            call_arg(&call, "now_ms", "%lld", (long long)now);
            call_arg(&call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
            call_arg(&call, "notice_ms", "%lld", (long long)scheduler_notice_ms(sc));
            call_arg(&call, "day", "%s", day);
            call_arg(&call, "cut", "%d", pass);
            call_arg(&call, "absent", "%d", x->trainer_absent);
            call_arg(&call, "nonce", "%s", nonce);
            redisReply *rep = call_run(&call, r, SCHEDULER_LIBRARY);
            call_free(&call);
            if (!rep)
                return;
            if (rep->type == REDIS_REPLY_ERROR)
                log_error("ensure_session_failed", "session=%s reason=\"%.200s\"", x->id, rep->str);
            freeReplyObject(rep);
        }
    for (int i = 0; i < sc->nclosing; i++)
        scheduler_cancel(s, T, &sc->closing[i], now, day);
    log_debug("horizon_generated", "territory=%s sessions=%d cancelled=%d", T, n, sc->nclosing);
}

void scheduler_tick(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    rds_t *r = svc_rds(s);
    const char *T = scheduler_territory(s);
    if (!svc_hold_lease(s, T, "timers", sc->conf.lease_ms))
        return;
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    char nonce[SCHEDULER_NONCE_LEN + 1];
    scheduler_nonce(nonce);
    call_t call = { 0 };
    call_reset(&call, "scheduler", T, "");
    call_step(&call, "expire_offers");
    call_key(&call, "offers", "offers");
    call_arg(&call, "now_ms", "%lld", (long long)now);
    call_arg(&call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
    call_arg(&call, "day", "%s", day);
    call_arg(&call, "limit", "%d", 100);
    call_arg(&call, "nonce", "%s", nonce);
    redisReply *x = call_run(&call, r, SCHEDULER_LIBRARY);
    call_free(&call);
    if (x && x->type == REDIS_REPLY_INTEGER && x->integer > 0)
        log_info("offers_expired", "count=%lld", x->integer);
    if (x)
        freeReplyObject(x);
    int64_t mono = clock_mono_ms();
    if (mono >= sc->next_generate_ms) {
        sc->next_generate_ms = mono + sc->conf.generate_ms;
        scheduler_generate(s, T, now, day);
    }
}
