/* The timetable's kinds against the catalogue's, checked wherever either
 * is loaded (the scheduler and the matcher read both files): a kind the
 * catalogue does not have is refused; a catalogue kind no session serves is
 * a warning (people assigned to it would wait for good). */
#include <stdio.h>

#include "log.h"
#include "matcher/matcher.h"
#include "scheduler.h"

int scheduler_check_kinds(const timetable_t *tt, const catalogue_t *cat, const char *catalogue_path, char *err,
                          size_t errlen, char *warning, size_t wcap)
{
    const char *codes[CAT_MAX_KINDS];
    int n = catalogue_codes(cat, codes, CAT_MAX_KINDS);
    if (timetable_check_kinds(tt, codes, n, catalogue_path, err, errlen) != 0)
        return -1;
    char unserved[256];
    warning[0] = '\0';
    if (timetable_unserved_kinds(tt, codes, n, unserved, sizeof unserved) > 0)
        snprintf(warning, wcap, "types d'atelier sans séance au calendrier (%s) : %s", tt->path, unserved);
    return 0;
}

int scheduler_load_kinds(svc_t *s, timetable_t *tt, catalogue_t *cat, const char *failed_event)
{
    scheduler_conf_t sc;
    matcher_conf_t mc;
    char err[512], warning[400];
    timetable_t fresh = { 0 };
    /* both read and checked together before either replaces the live one
     * (a reload refused keeps serving the old pair) */
    catalogue_t *fresh_cat = xcalloc(1, sizeof *fresh_cat);
    if (svc_conf_peer(s, "scheduler", scheduler_conf_fields, scheduler_nconf_fields, &sc, err, sizeof err) != 0
        || svc_conf_peer(s, "matcher", matcher_conf_fields, matcher_nconf_fields, &mc, err, sizeof err) != 0
        || timetable_load(sc.timetable_path, &fresh, err, sizeof err) != 0
        || catalogue_load(mc.catalogue_path, fresh_cat, err, sizeof err) != 0
        || scheduler_check_kinds(&fresh, fresh_cat, mc.catalogue_path, err, sizeof err, warning, sizeof warning) != 0) {
        log_error(failed_event, "reason=\"%s\"", err);
        timetable_free(&fresh);
        free(fresh_cat);
        return -1;
    }
    timetable_free(tt);
    *tt = fresh;
    *cat = *fresh_cat;
    free(fresh_cat);
    if (warning[0])
        log_warn("kinds_unserved", "timetable=%s catalogue=%s reason=\"%s\"", sc.timetable_path, mc.catalogue_path,
                 warning);
    svc_set_warning(s, warning);
    return 0;
}
