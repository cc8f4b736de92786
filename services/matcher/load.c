/* The matcher's catalogue, loaded at start and on SIGHUP: whole or not at
 * all, and only if it has every kind of the scheduler's timetable. A bad
 * file keeps the one in use (and says why); people already placed keep
 * their assignment. */
#include "log.h"
#include "matcher.h"
#include "scheduler/scheduler.h"

int matcher_load(svc_t *s)
{
    matcher_t *m = svc_state(s);
    if (scheduler_load_kinds(s, &m->timetable, &m->fresh, "catalogue_invalid") != 0)
        return -1;
    m->catalogue = m->fresh;
    log_info("catalogue_loaded", "version=%s questionnaire=%s kinds=%d", m->catalogue.version, m->catalogue.q_version,
             m->catalogue.nkinds);
    return 0;
}
