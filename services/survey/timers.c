/* survey's timers, each run in every territory by the one instance holding
 * its lease: unanswered invitations reminded once, then closed at the end
 * of the answer window (business time: clock_now_ms); comments past their
 * retention date deleted. Each is one named step of survey.lua. */
#include "clock.h"
#include "log.h"
#include "services.h"
#include "survey.h"

#define SURVEY_TICK_LIMIT 200  /* participations looked at per territory and tick */
#define SURVEY_PURGE_LIMIT 500 /* comments per territory and run */

/* Starts the step fn of territory T in the state's reused call. */
static call_t *timer_step(svc_t *s, const char *T, const char *fn)
{
    survey_t *sv = svc_state(s);
    call_reset(&sv->step, svc_name(s), T, "");
    call_step(&sv->step, fn);
    return &sv->step;
}

/* Runs the step of the call; logs what it did (its counts) or its error.
 * Returns the count of a step that answers one, else 0. */
static long timer_run(svc_t *s, const char *T, const char *event)
{
    long count = 0;
    survey_t *sv = svc_state(s);
    redisReply *r = call_run(&sv->step, svc_rds(s), SURVEY_LIBRARY);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && (r->element[0]->integer || r->element[1]->integer))
        log_info(event, "territory=%s reminded=%lld closed=%lld", T, r->element[0]->integer, r->element[1]->integer);
    else if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        log_info(event, "territory=%s count=%ld", T, count = (long)r->integer);
    else if (r && r->type == REDIS_REPLY_ERROR)
        log_error("timer_failed", "step=%s territory=%s reason=\"%.200s\"", sv->step.function, T, r->str);
    if (r)
        freeReplyObject(r);
    return count;
}

static void each_territory(svc_t *s, const char *lease, int64_t ttl, void (*fn)(svc_t *s, const char *T, int64_t now))
{
    char buf[256];
    const char *t[SVC_MAX_TERRITORIES];
    int n = svc_territories(svc_conf(s), buf, sizeof buf, t, SVC_MAX_TERRITORIES);
    int64_t now = clock_now_ms();
    for (int i = 0; i < n; i++)
        if (svc_hold_lease(s, t[i], lease, ttl))
            fn(s, t[i], now);
}

static void tick_one(svc_t *s, const char *T, int64_t now)
{
    call_t *c = timer_step(s, T, "tick");
    char day[11];
    clock_local_day(now, day);
    call_key(c, "due", "due");
    call_key(c, "notify", "notify");
    call_key(c, "fig_day", "fig:%s", day);
    call_key(c, "fig_total", "fig:total");
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "limit", "%d", SURVEY_TICK_LIMIT);
    timer_run(s, T, "invitations_due");
}

void survey_tick(svc_t *s)
{
    survey_t *sv = svc_state(s);
    each_territory(s, "timers", sv->conf.lease_ms, tick_one);
}

static void purge_one(svc_t *s, const char *T, int64_t now)
{
    call_t *c = timer_step(s, T, "purge_comments");
    char day[11];
    clock_local_day(now, day);
    call_key(c, "retention", "retention");
    call_key(c, "fig_day", "fig:%s", day);
    call_key(c, "fig_total", "fig:total");
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "limit", "%d", SURVEY_PURGE_LIMIT);
    ((survey_t *)svc_state(s))->purged += timer_run(s, T, "comments_purged");
    c = timer_step(s, T, "purge_participations");
    call_key(c, "started", "started");
    call_arg(c, "before_ms", "%lld", (long long)(now - svc_conf(s)->retention.attendance_days * 86400000LL));
    call_arg(c, "now_ms", "%lld", (long long)now);
    call_arg(c, "limit", "%d", SURVEY_PURGE_LIMIT);
    ((survey_t *)svc_state(s))->purged += timer_run(s, T, "participations_purged");
}

void survey_purge(svc_t *s)
{
    survey_t *sv = svc_state(s);
    sv->purged = 0;
    each_territory(s, "purge", sv->conf.purge_ms * 3, purge_one);
    svc_aof_rewrite_after_purge(s, sv->purged);
}
