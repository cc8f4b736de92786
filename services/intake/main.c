/* intake — service entry point: wiring only. The branch endpoint (CURVE,
 * ZAP from the branch registry: common/keyring.h) is served by the same
 * handlers as the loopback one, and checked by intake itself (selfcheck.c);
 * the timers are in timers.c. */
#include "intake.h"
#include "log.h"
#include "services.h"

extern const char intake_lua[];

static intake_t intake;

static void intake_zap(svc_t *s, void *sock)
{
    (void)sock;
    keyring_door_zap(&((intake_t *)svc_state(s))->door);
}

static int intake_start(svc_t *s)
{
    intake_t *in = svc_state(s);
    in->svc = s;
    in->door.kind = &intake_branches;
    in->door.dir = in->conf.curve_dir;
    char err[512];
    if (keyring_ensure_server_key(&intake_branches, in->conf.curve_dir, err, sizeof err) != 0) {
        log_error("start_failed", "reason=\"%s\"", err);
        return -1;
    }
    keyring_door_refresh(&in->door); /* staff referrals name branches too */
    intake_load_half_days(in);
    if (in->conf.branch_bind[0]) {
        if (keyring_door_open(&in->door, s, in->conf.branch_bind, intake_zap, err, sizeof err) != 0
            || intake_selfcheck_start(in, err, sizeof err) != 0) {
            log_error("start_failed", "reason=\"%s\"", err);
            return -1;
        }
        /* branch systems send referrals; nothing else is theirs to send */
        svc_add_router(s, in->door.router, intake_handlers, 1);
        log_info("branch_endpoint", "bind=%s branches=%d", in->conf.branch_bind, in->door.keys.n);
    }
    svc_add_timer(s, in->conf.watch_ms, intake_watch);
    svc_add_timer(s, in->conf.purge_ms, intake_purge);
    return 0;
}

static int intake_reload(svc_t *s)
{
    intake_t *in = svc_state(s);
    keyring_door_refresh(&in->door);
    return intake_load_half_days(in);
}

static void intake_pong_fill(svc_t *s, Tremplin__Pong *pong) { intake_selfcheck_pong(svc_state(s), pong); }

static void intake_stop(svc_t *s)
{
    intake_t *in = svc_state(s);
    intake_selfcheck_stop(in);
    keyring_door_close(&in->door);
    call_free(&in->step);
    timetable_free(&in->timetable);
}

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "intake",
        .sections = tp_conf_sections,
        .library = INTAKE_LIBRARY,
        .lua = intake_lua,
        .handlers = intake_handlers,
        .nhandlers = intake_nhandlers,
        .conf_fields = intake_conf_fields,
        .nconf_fields = intake_nconf_fields,
        .conf_base = &intake.conf,
        .start = intake_start,
        .reload = intake_reload,
        .stop = intake_stop,
        .pong_fill = intake_pong_fill,
        .state = &intake,
    };
    return svc_main(&def, argc, argv);
}
