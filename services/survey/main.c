/* survey — service entry point: wiring only (the handlers are in
 * handlers.c, the timers in timers.c, the kiosk endpoint in kiosk.c). */
#include "log.h"
#include "services.h"
#include "survey.h"

extern const char survey_lua[];

static survey_t survey;

static int survey_start(svc_t *s)
{
    survey_t *sv = svc_state(s);
    sv->svc = s;
    if (survey_load(s) != 0)
        return -1;
    char err[512];
    if (sv->conf.kiosk_bind[0] && survey_kiosk_start(sv, err, sizeof err) != 0) {
        log_error("start_failed", "reason=\"%s\"", err);
        return -1;
    }
    svc_add_timer(s, sv->conf.timer_ms, survey_tick);
    svc_add_timer(s, sv->conf.purge_ms, survey_purge);
    return 0;
}

static int survey_reload(svc_t *s)
{
    survey_t *sv = svc_state(s);
    int rc = survey_load(s);
    if (sv->kiosk.router)
        keyring_door_refresh(&sv->kiosk);
    return rc;
}

static void survey_stop(svc_t *s)
{
    survey_t *sv = svc_state(s);
    survey_kiosk_stop(sv);
    call_free(&sv->step);
}

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "survey",
        .sections = tp_conf_sections,
        .library = SURVEY_LIBRARY,
        .lua = survey_lua,
        .handlers = survey_handlers,
        .nhandlers = survey_nhandlers,
        .conf_fields = survey_conf_fields,
        .nconf_fields = survey_nconf_fields,
        .conf_base = &survey.conf,
        .start = survey_start,
        .reload = survey_reload,
        .stop = survey_stop,
        .state = &survey,
    };
    return svc_main(&def, argc, argv);
}
