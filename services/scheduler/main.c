/* scheduler — service entry point: wiring only (the timers are in
 * timers.c). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "matcher/matcher.h"
#include "scheduler.h"
#include "services.h"

extern const char scheduler_lua[];

static scheduler_t scheduler;

/* The timetable is loaded whole or not at all, and only with kinds of the
 * matcher's catalogue: a bad file keeps the one in use (and says why). */
static int scheduler_load(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    static timetable_t fresh;
    static catalogue_t cat;
    matcher_conf_t mc;
    char err[512], warning[400];
    if (timetable_load(sc->conf.timetable_path, &fresh, err, sizeof err) != 0
        || svc_conf_peer(s, "matcher", matcher_conf_fields, matcher_nconf_fields, &mc, err, sizeof err) != 0
        || catalogue_load(mc.catalogue_path, &cat, err, sizeof err) != 0
        || scheduler_check_kinds(&fresh, &cat, mc.catalogue_path, err, sizeof err, warning, sizeof warning) != 0) {
        log_error("timetable_invalid", "reason=\"%s\"", err);
        return -1;
    }
    sc->timetable = fresh;
    sc->next_generate_ms = 0; /* apply it now */
    log_info("timetable_loaded", "version=%s slots=%d one_off=%d horizon_days=%d", fresh.version, fresh.nslots,
             fresh.none_off, fresh.horizon_days);
    if (warning[0])
        log_warn("kinds_unserved", "catalogue=%s reason=\"%s\"", mc.catalogue_path, warning);
    svc_set_warning(s, warning);
    return 0;
}

static int scheduler_start(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    if (sodium_init() < 0) { /* booking ids come from its random numbers */
        log_error("start_failed", "reason=\"libsodium\"");
        return -1;
    }
    if (scheduler_load(s) != 0)
        return -1;
    /* one process, one TZ: the timetable's zone must be the clock's */
    if (strcmp(sc->timetable.timezone, svc_conf(s)->timezone) != 0) {
        log_error("timezone_mismatch", "timetable=%s clock=%s", sc->timetable.timezone, svc_conf(s)->timezone);
        return -1;
    }
    svc_add_timer(s, sc->conf.timer_ms, scheduler_tick);
    return 0;
}

static void scheduler_reload(svc_t *s) { scheduler_load(s); }

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
