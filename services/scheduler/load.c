/* The scheduler's timetable, loaded at start and on SIGHUP: whole or not at
 * all, and only with kinds of the matcher's catalogue. A bad file keeps the
 * one in use (and says why). */
#include "log.h"
#include "scheduler.h"

int scheduler_load(svc_t *s)
{
    scheduler_t *sc = svc_state(s);
    if (scheduler_load_kinds(s, &sc->timetable, &sc->catalogue, "timetable_invalid") != 0)
        return -1;
    sc->next_generate_ms = 0; /* apply it now */
    log_info("timetable_loaded", "version=%s slots=%d one_off=%d horizon_days=%d", sc->timetable.version,
             sc->timetable.nslots, sc->timetable.none_off, sc->timetable.horizon_days);
    return 0;
}
