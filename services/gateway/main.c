/* gateway — service entry point: wiring only (gateway.h says where each
 * part is). */
#include <stdio.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "log.h"
#include "services.h"

extern const char gateway_lua[];

static gateway_t gateway;

static int gateway_start(svc_t *s)
{
    gateway_t *g = svc_state(s);
    snprintf(g->owner, sizeof g->owner, "%s/%d", svc_instance(s), (int)getpid());
    if (gateway_load(s) != 0)
        return -1;
    char err[256];
    if (gateway_callback_start(g, err, sizeof err) != 0) {
        log_error("start_failed", "reason=\"%s\"", err);
        return -1;
    }
    svc_add_timer(s, g->conf.tick_ms, gateway_tick);
    svc_add_timer(s, g->conf.purge_ms, gateway_purge);
    return 0;
}

/* the callback keeps its address and secret until a restart */
static int gateway_reload(svc_t *s) { return gateway_load(s); }

static void gateway_stop(svc_t *s)
{
    gateway_t *g = svc_state(s);
    gateway_callback_stop(g);
    gateway_unload(g);
}

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "gateway",
        .sections = tp_conf_sections,
        .library = GATEWAY_LIBRARY,
        .lua = gateway_lua,
        .handlers = gateway_handlers,
        .nhandlers = gateway_nhandlers,
        .conf_fields = gateway_conf_fields,
        .nconf_fields = gateway_nconf_fields,
        .conf_base = &gateway.conf,
        .start = gateway_start,
        .reload = gateway_reload,
        .stop = gateway_stop,
        .refused = gateway_refused,
        .state = &gateway,
    };
    return svc_main(&def, argc, argv);
}
