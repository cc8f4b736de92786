/* scheduler — service entry point: wiring, and the timers (offer expiry,
 * the timetable's rolling horizon) run by the one instance holding the
 * lease. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "scheduler.h"
#include "services.h"

extern const char scheduler_lua[];

static scheduler_t scheduler;

static int scheduler_load(scheduler_t *sc)
{
    static timetable_t fresh;
    char err[512];
    if (timetable_load(sc->conf.timetable_path, &fresh, err, sizeof err) != 0) {
        log_error("timetable_invalid", "reason=\"%s\"", err);
        return -1;
    }
    sc->timetable = fresh;
    sc->next_generate_ms = 0; /* apply it now */
    log_info("timetable_loaded", "version=%s slots=%d one_off=%d horizon_days=%d", fresh.version, fresh.nslots,
             fresh.none_off, fresh.horizon_days);
    return 0;
}

static const char *scheduler_territory(svc_t *s)
{
    static char first[17];
    scheduler_t *sc = svc_state(s);
    if (sc->conf.territory[0])
        return sc->conf.territory;
    char buf[256];
    const char *t[SVC_MAX_TERRITORIES];
    if (svc_territories(svc_conf(s), buf, sizeof buf, t, SVC_MAX_TERRITORIES) > 0)
        util_strlcpy(first, t[0], sizeof first);
    return first;
}

/* The timer cancels through the same step as CancelSession (an absent
 * trainer, a session the timetable no longer has), under a message id of
 * its own making, so that it happens once only. */
static void scheduler_cancel(svc_t *s, const char *T, const char *sid, const char *why, int64_t now, const char *day)
{
    char msg_id[96];
    snprintf(msg_id, sizeof msg_id, "%s-%s", why, sid);
    call_t call = { 0 };
    call_reset(&call, "scheduler", T, msg_id);
    scheduler_cancel_call(svc_state(s), sid, why, now, day, &call);
    call_append(&call, svc_rds(s), SCHEDULER_LIBRARY, (long)svc_conf(s)->mark_ttl_s);
    call_free(&call);
    redisReply *r;
    if (rds_read(svc_rds(s), &r, 1) != 0)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && !strcmp(r->element[0]->str, "ok"))
        log_info("session_cancelled", "session=%s reason=%s", sid, why);
    freeReplyObject(r);
}

/* Opens the sessions of the horizon (each once; capacity changes applied),
 * offers their free seats to the waitlists, and cancels those of an absent
 * trainer and those the timetable no longer has (holiday, closure). */
static void scheduler_generate(svc_t *s, const char *T, int64_t now, const char *day)
{
    scheduler_t *sc = svc_state(s);
    rds_t *r = svc_rds(s);
    static tt_session_t sessions[1024];
    int64_t to = now + (int64_t)sc->timetable.horizon_days * 86400000;
    int n = timetable_sessions(&sc->timetable, now, to, sessions, 1024);
    /* two passes: capacities first, then the cuts (see ensure_session) */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const tt_session_t *x = &sessions[i];
            redisReply *rep = rds_cmd(r,
                                      "FCALL %s_ensure_session 1 tp:{%s}:scheduler:session:%s %s %s %s %s %lld %lld %d "
                                      "%s %lld %lld %lld %s %d",
                                      SCHEDULER_LIBRARY, T, x->id, x->id, x->kind, x->venue, x->trainer,
                                      (long long)x->start_ms, (long long)x->end_ms, x->capacity, x->half_day,
                                      (long long)now, (long long)scheduler_offer_ms(sc),
                                      (long long)scheduler_notice_ms(sc), day, pass);
            if (!rep)
                return;
            if (rep->type == REDIS_REPLY_ERROR)
                log_error("ensure_session_failed", "session=%s reason=\"%.200s\"", x->id, rep->str);
            freeReplyObject(rep);
            if (pass == 1 && x->trainer_absent)
                scheduler_cancel(s, T, x->id, "trainer_absent", now, day);
        }
    /* sessions opened before that the timetable dropped since: of every
     * kind ever opened, also one the file no longer has */
    redisReply *kinds = rds_cmd(r, "SMEMBERS tp:{%s}:scheduler:kinds", T);
    for (size_t k = 0; kinds && kinds->type == REDIS_REPLY_ARRAY && k < kinds->elements; k++) {
        redisReply *ids = rds_cmd(r, "ZRANGEBYSCORE tp:{%s}:scheduler:sessions:%s %lld %lld", T,
                                  kinds->element[k]->str, (long long)now, (long long)to);
        for (size_t j = 0; ids && ids->type == REDIS_REPLY_ARRAY && j < ids->elements; j++) {
            tt_session_t found;
            if (timetable_find(&sc->timetable, ids->element[j]->str, &found) != 0)
                scheduler_cancel(s, T, ids->element[j]->str, "timetable_change", now, day);
        }
        if (ids)
            freeReplyObject(ids);
    }
    if (kinds)
        freeReplyObject(kinds);
    log_debug("horizon_generated", "territory=%s sessions=%d", T, n);
}

static void scheduler_tick(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    rds_t *r = svc_rds(s);
    const char *T = scheduler_territory(s);
    if (!svc_hold_lease(s, T, "timers", sc->conf.lease_ms))
        return;
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    redisReply *x = rds_cmd(r, "FCALL %s_expire_offers 1 tp:{%s}:scheduler:offers %lld %lld %s 100", SCHEDULER_LIBRARY,
                            T, (long long)now, (long long)scheduler_offer_ms(sc), day);
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

static int scheduler_start(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    if (scheduler_load(sc) != 0)
        return -1;
    /* one process, one TZ: the timetable's zone must be the clock's */
    if (strcmp(sc->timetable.timezone, svc_conf(s)->timezone) != 0) {
        log_error("timezone_mismatch", "timetable=%s clock=%s", sc->timetable.timezone, svc_conf(s)->timezone);
        return -1;
    }
    svc_add_timer(s, sc->conf.timer_ms, scheduler_tick);
    return 0;
}

static void scheduler_reload(svc_t *s) { scheduler_load(svc_state(s)); }

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "scheduler",
        .library = SCHEDULER_LIBRARY,
        .lua = scheduler_lua,
        .handlers = scheduler_handlers,
        .nhandlers = scheduler_nhandlers,
        .conf_fields = scheduler_conf_fields,
        .nconf_fields = scheduler_nconf_fields,
        .conf_base = &scheduler.conf,
        .start = scheduler_start,
        .reload = scheduler_reload,
        .state = &scheduler,
    };
    return svc_main(&def, argc, argv);
}
