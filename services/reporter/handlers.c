/* reporter's configuration, its one command (ClosePeriod) and what the
 * service and the tool share to read figures. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "figures.h"
#include "ids.h"
#include "matcher/matcher.h"
#include "scheduler/scheduler.h"
#include "reporter.h"
#include "services.h"
#include "util.h"

const conf_field_t reporter_conf_fields[] = {
    CONF_STR_FIELD("reporter", "http_bind", reporter_conf_t, http_bind, "127.0.0.1"),
    CONF_INT_FIELD("reporter", "http_port", reporter_conf_t, http_port, "6397"),
    CONF_INT_FIELD("reporter", "suppress_below", reporter_conf_t, suppress_below, "5"),
    CONF_INT_FIELD("reporter", "wait_warn_days", reporter_conf_t, wait_warn_days, "28"),
    CONF_INT_FIELD("reporter", "default_days", reporter_conf_t, default_days, "365"),
    CONF_INT_FIELD("reporter", "refresh_s", reporter_conf_t, refresh_s, "30"),
    CONF_INT_FIELD("reporter", "health_timeout_ms", reporter_conf_t, health_timeout_ms, "500"),
};
const size_t reporter_nconf_fields = sizeof reporter_conf_fields / sizeof reporter_conf_fields[0];

int reporter_aggregates(rds_t *rds, const char *const *territories, int nterritories, const char *only_territory,
                        const char *from, const char *to, int64_t now_ms, int use_closed, json_object **out,
                        char *err, size_t errlen)
{
    int n = 0;
    for (int t = 0; t < nterritories; t++) {
        if (only_territory && *only_territory && strcmp(only_territory, territories[t]) != 0)
            continue;
        json_object *agg = NULL;
        if (use_closed) {
            int failed = 0;
            agg = fig_read_closed(rds, territories[t], from, to, &failed);
            if (failed) {
                snprintf(err, errlen, "Redis injoignable");
                goto fail;
            }
        }
        if (!agg && !(agg = fig_read(rds, territories[t], from, to, now_ms, err, errlen)))
            goto fail;
        out[n++] = agg;
    }
    if (n == 0) {
        snprintf(err, errlen, "territoire inconnu : %s", only_territory ? only_territory : "");
        return -1;
    }
    return n;
fail:
    while (n > 0)
        json_object_put(out[--n]);
    return -1;
}

int reporter_load_catalogue(const char *conf_path, catalogue_t *out, char *err, size_t errlen)
{
    svc_conf_t scratch;
    matcher_conf_t mc;
    svc_def_t part = { .sections = tp_conf_sections, .conf_fields = matcher_conf_fields,
                       .nconf_fields = matcher_nconf_fields, .conf_base = &mc };
    if (svc_conf_load(conf_path, "matcher", &scratch, &part, err, errlen) != 0)
        return -1;
    return catalogue_load(mc.catalogue_path, out, err, errlen);
}

/* ClosePeriod: the period must be over — and so must the scheduler's
 * attendance corrections for its last day (correct_hours after the end of a
 * session: a session of the last day may be corrected until that day's end
 * plus correct_hours) — and its figures readable now; the aggregate is read here, in the prepare step, and
 * frozen by close_period in one step (a period closed already is left as it
 * was: a duplicate). */
static void prepare_close_period(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    svc_t *s = arg;
    const Tremplin__ClosePeriod *c = env->close_period;
    int64_t now = clock_now_ms();
    char today[11];
    clock_local_day(now, today);
    if (!fig_is_day(c->from) || !fig_is_day(c->to) || strcmp(c->from, c->to) > 0) {
        call_error(call, "INVALID_FIELD", fig_is_day(c->from) ? "to" : "from",
                   "Période invalide : dates AAAA-MM-JJ, du premier au dernier jour.", 0);
        return;
    }
    if (strcmp(c->to, today) >= 0) {
        call_error(call, "PERIOD_NOT_OVER", "to", "La période n'est pas terminée : on ne clôt qu'une période passée.", 0);
        return;
    }
    scheduler_conf_t sc;
    char err[256], settled[11];
    if (svc_conf_peer(s, "scheduler", scheduler_conf_fields, scheduler_nconf_fields, &sc, err, sizeof err) != 0) {
        call_error(call, "UNAVAILABLE", "to", "Configuration illisible : réessayer plus tard.", 1);
        return;
    }
    /* the day whose end is correct_hours ago: every day before it is settled */
    clock_local_day(now - sc.correct_hours * 3600000, settled);
    if (strcmp(c->to, settled) >= 0) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "Les présences du %s peuvent encore être corrigées (%lld h après la séance) : clôture possible "
                 "plus tard.",
                 c->to, (long long)sc.correct_hours);
        call_error(call, "PERIOD_NOT_OVER", "to", msg, 0);
        return;
    }
    json_object *agg = fig_read(svc_rds(s), env->territory, c->from, c->to, now, err, sizeof err);
    if (!agg) {
        call_error(call, strstr(err, "Redis") ? "UNAVAILABLE" : "INVALID_FIELD", "from", err, strstr(err, "Redis") != NULL);
        return;
    }
    json_object_object_add(agg, "closed_ms", json_object_new_int64(now));
    json_object_object_add(agg, "definitions", json_object_new_string(KPI_DEFINITIONS));
    const char *text = json_object_to_json_string_ext(agg, JSON_C_TO_STRING_PLAIN);
    call_function(call, "close_period");
    call_event(call, "period.closed", NULL);
    call_key(call, "closed", "closed:%s:%s", c->from, c->to);
    call_key(call, "periods", "periods");
    call_arg(call, "from", "%s", c->from);
    call_arg(call, "to", "%s", c->to);
    call_arg_bytes(call, "aggregate", text, strlen(text));
    call_arg(call, "now_ms", "%lld", (long long)now);
    json_object_put(agg);
}

const inbox_handler_t reporter_handlers[] = {
    { TREMPLIN__ENVELOPE__PAYLOAD_CLOSE_PERIOD, prepare_close_period },
};
const size_t reporter_nhandlers = sizeof reporter_handlers / sizeof reporter_handlers[0];
