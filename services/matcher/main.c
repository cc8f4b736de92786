/* matcher — service entry point: wiring only. */
#include "log.h"
#include "matcher.h"
#include "services.h"

extern const char matcher_lua[];

static matcher_t matcher;

/* The catalogue is loaded whole or not at all: a bad file keeps the one in
 * use (and says why). */
static int matcher_load(matcher_t *m)
{
    static catalogue_t fresh;
    char err[512];
    if (catalogue_load(m->conf.catalogue_path, &fresh, err, sizeof err) != 0) {
        log_error("catalogue_invalid", "reason=\"%s\"", err);
        return -1;
    }
    m->catalogue = fresh;
    log_info("catalogue_loaded", "version=%s questionnaire=%s kinds=%d", m->catalogue.version,
             m->catalogue.q_version, m->catalogue.nkinds);
    return 0;
}

static int matcher_start(svc_t *s) { return matcher_load(svc_state(s)); }
static void matcher_reload(svc_t *s) { matcher_load(svc_state(s)); }

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
