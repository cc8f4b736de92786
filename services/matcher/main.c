/* matcher — service entry point: wiring only (the catalogue's loading is in
 * load.c). */
#include "matcher.h"
#include "services.h"

extern const char matcher_lua[];

static matcher_t matcher;

static int matcher_start(svc_t *s) { return matcher_load(s); }
static int matcher_reload(svc_t *s) { return matcher_load(s); }
static void matcher_stop(svc_t *s) { timetable_free(&((matcher_t *)svc_state(s))->timetable); }

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "matcher",
        .sections = tp_conf_sections,
        .library = MATCHER_LIBRARY,
        .lua = matcher_lua,
        .handlers = matcher_handlers,
        .nhandlers = matcher_nhandlers,
        .conf_fields = matcher_conf_fields,
        .nconf_fields = matcher_nconf_fields,
        .conf_base = &matcher.conf,
        .start = matcher_start,
        .reload = matcher_reload,
        .stop = matcher_stop,
        .state = &matcher,
    };
    return svc_main(&def, argc, argv);
}
