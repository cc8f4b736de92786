/* matcher — service entry point: wiring only. */
#include "log.h"
#include "matcher.h"
#include "scheduler/scheduler.h"
#include "services.h"

extern const char matcher_lua[];

static matcher_t matcher;

/* The catalogue is loaded whole or not at all, and only if it has every
 * kind of the scheduler's timetable: a bad file keeps the one in use (and
 * says why). */
static int matcher_load(svc_t *s)
{
    matcher_t *m = svc_state(s);
    static catalogue_t fresh;
    static timetable_t tt;
    scheduler_conf_t sc;
    char err[512], warning[400];
    if (catalogue_load(m->conf.catalogue_path, &fresh, err, sizeof err) != 0
        || svc_conf_peer(s, "scheduler", scheduler_conf_fields, scheduler_nconf_fields, &sc, err, sizeof err) != 0
        || timetable_load(sc.timetable_path, &tt, err, sizeof err) != 0
        || scheduler_check_kinds(&tt, &fresh, m->conf.catalogue_path, err, sizeof err, warning, sizeof warning) != 0) {
        log_error("catalogue_invalid", "reason=\"%s\"", err);
        return -1;
    }
    m->catalogue = fresh;
    log_info("catalogue_loaded", "version=%s questionnaire=%s kinds=%d", m->catalogue.version,
             m->catalogue.q_version, m->catalogue.nkinds);
    if (warning[0])
        log_warn("kinds_unserved", "timetable=%s reason=\"%s\"", sc.timetable_path, warning);
    svc_set_warning(s, warning);
    return 0;
}

static int matcher_start(svc_t *s) { return matcher_load(s); }
static void matcher_reload(svc_t *s) { matcher_load(s); }

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "matcher",
        .library = MATCHER_LIBRARY,
        .lua = matcher_lua,
        .handlers = matcher_handlers,
        .nhandlers = matcher_nhandlers,
        .conf_fields = matcher_conf_fields,
        .nconf_fields = matcher_nconf_fields,
        .conf_base = &matcher.conf,
        .start = matcher_start,
        .reload = matcher_reload,
        .state = &matcher,
    };
    return svc_main(&def, argc, argv);
}
