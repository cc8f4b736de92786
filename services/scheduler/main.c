/* scheduler — service entry point: wiring only (the timers are in
 * timers.c, the timetable's loading in load.c). */
#include <sodium.h>
#include <string.h>

#include "log.h"
#include "scheduler.h"
#include "services.h"

extern const char scheduler_lua[];

static scheduler_t scheduler;

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

static int scheduler_reload(svc_t *s) { return scheduler_load(s); }

static void scheduler_stop(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    call_free(&sc->step);
    timetable_free(&sc->timetable);
    free(sc->horizon);
    free(sc->replies);
}

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "scheduler",
        .sections = tp_conf_sections,
        .library = SCHEDULER_LIBRARY,
        .lua = scheduler_lua,
        .handlers = scheduler_handlers,
        .nhandlers = scheduler_nhandlers,
        .conf_fields = scheduler_conf_fields,
        .nconf_fields = scheduler_nconf_fields,
        .conf_base = &scheduler.conf,
        .start = scheduler_start,
        .reload = scheduler_reload,
        .stop = scheduler_stop,
        .state = &scheduler,
    };
    return svc_main(&def, argc, argv);
}
