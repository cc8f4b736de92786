/* scheduler's timers, run by the one instance holding the lease: offer
 * expiry, and the timetable's rolling horizon (sessions opened, capacities
 * applied, sessions the timetable no longer holds cancelled). Each is a
 * named step of scheduler.lua; the horizon refresh sends its steps as
 * pipelines, one per pass, as the inbox does: a few round trips whatever the
 * number of sessions, never two per session. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "keys.h"
#include "log.h"
#include "scheduler.h"
#include "services.h"

#define SCHEDULER_EXPIRE_LIMIT 100 /* offers expired per tick */

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

/* Starts the step fn of territory T in the state's reused call. */
static call_t *timer_step(scheduler_t *sc, const char *T, const char *fn)
{
    call_reset(&sc->step, "scheduler", T, "");
    call_step(&sc->step, fn);
    return &sc->step;
}

static void timer_append(svc_t *s, scheduler_t *sc) { call_append(&sc->step, svc_rds(s), SCHEDULER_LIBRARY, 0); }

/* Reads n replies of the pipeline into sc->replies (grown to n); 0, or -1
 * when Redis was lost (none to free then). */
static int timer_read(svc_t *s, scheduler_t *sc, int n)
{
    if (n > sc->replies_cap) {
        sc->replies_cap = n;
        sc->replies = xrealloc(sc->replies, (size_t)n * sizeof *sc->replies);
    }
    return rds_read(svc_rds(s), sc->replies, n);
}

static void timer_free_replies(scheduler_t *sc, int n)
{
    for (int i = 0; i < n; i++)
        freeReplyObject(sc->replies[i]);
}

/* --------------------------------------------------------- offer expiry */

static void scheduler_expire_offers(svc_t *s, const char *T, int64_t now, const char *day)
{
    scheduler_t *sc = svc_state(s);
    call_t *c = timer_step(sc, T, "expire_offers");
    call_key(c, "offers", "offers");
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
    call_arg(c, "day", "%s", day);
    call_arg(c, "limit", "%d", SCHEDULER_EXPIRE_LIMIT);
    scheduler_nonce_arg(c);
    redisReply *x = call_run(c, svc_rds(s), SCHEDULER_LIBRARY);
    if (x && x->type == REDIS_REPLY_INTEGER && x->integer > 0)
        log_info("offers_expired", "count=%lld", x->integer);
    if (x && x->type == REDIS_REPLY_ERROR)
        log_error("expire_offers_failed", "reason=\"%.200s\"", x->str);
    if (x)
        freeReplyObject(x);
}

/* ------------------------------------------------- attendance detail */

#define SCHEDULER_PURGE_LIMIT 200 /* sessions per run */

/* The sessions older than [retention] attendance_days forget who was in
 * them (purge_attendance); the AOF is rewritten once when some did. */
static void scheduler_purge_attendance(svc_t *s, const char *T, int64_t now)
{
    scheduler_t *sc = svc_state(s);
    call_t *c = timer_step(sc, T, "purge_attendance");
    call_key(c, "sessions", "fig:sessions");
    call_key(c, "cursor", "attendance_purged");
    call_arg(c, "before_ms", "%lld", (long long)(now - svc_conf(s)->retention.attendance_days * 86400000LL));
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "limit", "%d", SCHEDULER_PURGE_LIMIT);
    redisReply *x = call_run(c, svc_rds(s), SCHEDULER_LIBRARY);
    long n = x && x->type == REDIS_REPLY_INTEGER ? (long)x->integer : 0;
    if (n > 0)
        log_info("attendance_purged", "territory=%s bookings=%ld", T, n);
    if (x && x->type == REDIS_REPLY_ERROR)
        log_error("purge_failed", "step=purge_attendance reason=\"%.200s\"", x->str);
    if (x)
        freeReplyObject(x);
    svc_aof_rewrite_after_purge(s, n);
}

/* ------------------------------------------------------ the horizon */

/* A session to close, then cancel: remembered in sc->closing (its round
 * comes with close_session's answer). */
static void horizon_to_close(scheduler_t *sc, const char *sid, const char *why)
{
    for (int i = 0; i < sc->nclosing; i++)
        if (!strcmp(sc->closing[i].id, sid))
            return;
    if (sc->nclosing == SCHEDULER_MAX_CLOSING)
        return; /* the next refresh takes the rest */
    sched_closing_t *c = &sc->closing[sc->nclosing++];
    util_strlcpy(c->id, sid, sizeof c->id);
    util_strlcpy(c->why, why, sizeof c->why);
    c->round[0] = '\0';
}

/* Pass 1: the sessions opened before that the timetable dropped since — of
 * every kind ever opened, also one the file no longer has: the kinds, then
 * each kind's sessions in the horizon, in one pipeline. */
static int horizon_find_dropped(svc_t *s, const char *T, int64_t now, int64_t to)
{
    scheduler_t *sc = svc_state(s);
    rds_t *r = svc_rds(s);
    char key[160];
    tp_key(key, sizeof key, T, "scheduler", "kinds");
    redisReply *kinds = rds_cmd(r, "SMEMBERS %s", key);
    if (!kinds)
        return -1;
    int nk = 0;
    for (size_t k = 0; kinds->type == REDIS_REPLY_ARRAY && k < kinds->elements; k++) {
        char from[24], until[24];
        snprintf(from, sizeof from, "%lld", (long long)now);
        snprintf(until, sizeof until, "%lld", (long long)to);
        tp_key(key, sizeof key, T, "scheduler", "sessions:%s", kinds->element[k]->str);
        const char *argv[4] = { "ZRANGEBYSCORE", key, from, until };
        size_t lens[4] = { 13, strlen(key), strlen(from), strlen(until) };
        rds_append_argv(r, 4, argv, lens);
        nk++;
    }
    freeReplyObject(kinds);
    if (nk == 0 || timer_read(s, sc, nk) != 0)
        return nk == 0 ? 0 : -1;
    for (int k = 0; k < nk; k++) {
        const redisReply *ids = sc->replies[k];
        for (size_t j = 0; ids->type == REDIS_REPLY_ARRAY && j < ids->elements; j++) {
            tt_session_t found;
            if (timetable_find(&sc->timetable, ids->element[j]->str, &found) != 0)
                horizon_to_close(sc, ids->element[j]->str, "timetable_change");
        }
    }
    timer_free_replies(sc, nk);
    return 0;
}

static void horizon_close(svc_t *s, scheduler_t *sc, const char *T, const char *sid)
{
    call_t *c = timer_step(sc, T, "close_session");
    call_key(c, "session", "session:%s", sid);
    timer_append(s, sc);
}

/* cut: 1 on the second pass, which applies capacity cuts (see
 * ensure_session). */
static void horizon_ensure(svc_t *s, scheduler_t *sc, const char *T, const tt_session_t *x, int64_t now,
                           const char *day, int cut, const char *nonce)
{
    call_t *c = timer_step(sc, T, "ensure_session");
    call_key(c, "session", "session:%s", x->id);
    call_arg(c, "session_id", "%s", x->id);
    call_arg(c, "kind", "%s", x->kind);
    call_arg(c, "venue", "%s", x->venue);
    call_arg(c, "trainer", "%s", x->trainer);
    call_arg(c, "start_ms", "%lld", (long long)x->start_ms);
    call_arg(c, "end_ms", "%lld", (long long)x->end_ms);
    call_arg(c, "capacity", "%d", x->capacity);
    call_arg(c, "half_day", "%s", x->half_day);
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
    call_arg(c, "notice_ms", "%lld", (long long)scheduler_notice_ms(sc));
    call_arg(c, "day", "%s", day);
    call_arg(c, "cut", "%d", cut);
    call_arg(c, "absent", "%d", x->trainer_absent);
    call_arg(c, "nonce", "%s", nonce);
    timer_append(s, sc);
}

/* Pass 2, one pipeline: the sessions to cancel are closed first, so that
 * nobody is offered one, or moved into one from another cancelled session;
 * then every session of the horizon is ensured twice, capacities first, then
 * the cuts. Keeps in sc->closing the sessions closed now (their round). */
static int horizon_close_and_ensure(svc_t *s, const char *T, int64_t now, const char *day)
{
    scheduler_t *sc = svc_state(s);
    char nonce[SCHEDULER_NONCE_LEN + 1];
    scheduler_nonce(nonce);
    for (int i = 0; i < sc->nclosing; i++)
        horizon_close(s, sc, T, sc->closing[i].id);
    for (int cut = 0; cut < 2; cut++)
        for (int i = 0; i < sc->nhorizon; i++)
            horizon_ensure(s, sc, T, &sc->horizon[i], now, day, cut, nonce);
    int n = sc->nclosing + 2 * sc->nhorizon;
    if (timer_read(s, sc, n) != 0) {
        sc->nclosing = 0;
        return -1;
    }
    int kept = 0;
    for (int i = 0; i < sc->nclosing; i++) {
        const redisReply *r = sc->replies[i];
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && !strcmp(r->element[0]->str, "closing")) {
            sc->closing[kept] = sc->closing[i];
            util_strlcpy(sc->closing[kept++].round, r->element[1]->str, sizeof sc->closing[0].round);
        } else if (r->type == REDIS_REPLY_ERROR) {
            log_error("close_session_failed", "session=%s reason=\"%.200s\"", sc->closing[i].id, r->str);
        }
    }
    for (int i = sc->nclosing; i < n; i++)
        if (sc->replies[i]->type == REDIS_REPLY_ERROR)
            log_error("ensure_session_failed", "session=%s reason=\"%.200s\"",
                      sc->horizon[(i - sc->nclosing) % sc->nhorizon].id, sc->replies[i]->str);
    timer_free_replies(sc, n);
    sc->nclosing = kept;
    return 0;
}

/* Pass 3, one pipeline: the closed sessions cancelled through the same step
 * as CancelSession, each under a message id of its own making (the session's
 * round: a session reopened and closed again is cancelled again), so that
 * each cancellation happens once only. */
static void horizon_cancel(svc_t *s, const char *T, int64_t now, const char *day)
{
    scheduler_t *sc = svc_state(s);
    for (int i = 0; i < sc->nclosing; i++) {
        const sched_closing_t *x = &sc->closing[i];
        char msg_id[128];
        snprintf(msg_id, sizeof msg_id, "%s-%s-%s", x->why, x->id, x->round);
        call_reset(&sc->step, "scheduler", T, msg_id);
        scheduler_cancel_call(sc, x->id, x->why, "timetable", now, day, &sc->step);
        call_append(&sc->step, svc_rds(s), SCHEDULER_LIBRARY, (long)svc_conf(s)->mark_ttl_s);
    }
    if (sc->nclosing == 0 || timer_read(s, sc, sc->nclosing) != 0)
        return;
    for (int i = 0; i < sc->nclosing; i++) {
        const redisReply *r = sc->replies[i];
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && !strcmp(r->element[0]->str, "ok"))
            log_info("session_cancelled", "session=%s reason=%s", sc->closing[i].id, sc->closing[i].why);
        else if (r->type == REDIS_REPLY_ERROR)
            log_error("cancel_session_failed", "session=%s reason=\"%.200s\"", sc->closing[i].id, r->str);
    }
    timer_free_replies(sc, sc->nclosing);
}

/* Opens the sessions of the horizon (each once; capacity changes applied),
 * offers their free seats to the waitlists, and cancels those of an absent
 * trainer and those the timetable no longer has (holiday, closure). */
static void scheduler_refresh_horizon(svc_t *s, const char *T, int64_t now, const char *day)
{
    scheduler_t *sc = svc_state(s);
    int64_t to = now + (int64_t)sc->timetable.horizon_days * 86400000;
    sc->nhorizon = timetable_sessions_all(&sc->timetable, now, to, &sc->horizon, &sc->horizon_cap);
    sc->nclosing = 0;
    for (int i = 0; i < sc->nhorizon; i++)
        if (sc->horizon[i].trainer_absent)
            horizon_to_close(sc, sc->horizon[i].id, "trainer_absent");
    if (horizon_find_dropped(s, T, now, to) != 0 || horizon_close_and_ensure(s, T, now, day) != 0)
        return;
    horizon_cancel(s, T, now, day);
    log_debug("horizon_generated", "territory=%s sessions=%d cancelled=%d", T, sc->nhorizon, sc->nclosing);
}

void scheduler_tick(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    const char *T = scheduler_territory(s);
    if (!svc_hold_lease(s, T, "timers", sc->conf.lease_ms))
        return;
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    scheduler_expire_offers(s, T, now, day);
    int64_t mono = clock_mono_ms();
    if (mono >= sc->next_generate_ms) {
        sc->next_generate_ms = mono + sc->conf.generate_ms;
        scheduler_refresh_horizon(s, T, now, day);
    }
    if (mono >= sc->next_purge_ms) {
        sc->next_purge_ms = mono + sc->conf.purge_ms;
        scheduler_purge_attendance(s, T, now);
    }
}
