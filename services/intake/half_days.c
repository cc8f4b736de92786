/* The half-days people may declare: the week's (referral.c) and those of the
 * timetable's sessions (a Saturday afternoon one-off), so that every session
 * can be reached. Intake reads the scheduler's timetable for them, at start
 * and on SIGHUP. */
#include <stdlib.h>

#include "intake.h"
#include "log.h"
#include "referral.h"
#include "scheduler/scheduler.h"

/* A timetable that does not load leaves the timetable and the half-days
 * known before (it is read apart, then replaces the one in use). 0 or -1. */
int intake_load_half_days(intake_t *in)
{
    scheduler_conf_t sc;
    char err[512], half_days[14][TT_HALF_DAY]; /* "mon-am" … "sun-pm" */
    const char *list[14];
    timetable_t *fresh = xcalloc(1, sizeof *fresh);
    if (svc_conf_peer(in->svc, "scheduler", scheduler_conf_fields, scheduler_nconf_fields, &sc, err, sizeof err) != 0
        || timetable_load(sc.timetable_path, fresh, err, sizeof err) != 0) {
        log_error("timetable_invalid", "reason=\"%s\" action=keep_half_days", err);
        free(fresh);
        return -1;
    }
    timetable_free(&in->timetable);
    in->timetable = *fresh;
    free(fresh);
    int n = timetable_half_days(&in->timetable, half_days, (int)TP_ARRAY_LEN(half_days));
    for (int i = 0; i < n; i++)
        list[i] = half_days[i];
    int more = referral_set_timetable_half_days(list, n);
    log_info("half_days_loaded", "timetable=%s more=%d", sc.timetable_path, more);
    return 0;
}
