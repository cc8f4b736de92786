/* reporter — service entry point: wiring only (figures in figures.c and
 * kpi.c, HTTP in http.c, ClosePeriod in handlers.c). */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "matcher/matcher.h"
#include "reporter.h"
#include "services.h"
#include "sock.h"
#include "util.h"

extern const char reporter_lua[];

static reporter_t reporter;
static reporter_conf_t conf_loaded; /* where the configuration is read, then copied under the lock */

/* An event of another service: something changed, the dashboard reloads.
 * The figures themselves are read from Redis, never from events. */
static void reporter_on_event(svc_t *s, void *sub)
{
    reporter_t *r = svc_state(s);
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, sub, ZMQ_DONTWAIT);
        int more = rc >= 0 && zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (rc < 0)
            break;
        if (!more) {
            atomic_fetch_add(&r->events, 1);
            atomic_fetch_add(&r->version, 1);
        }
    }
}

static void reporter_subscribe(svc_t *s, reporter_t *r)
{
    r->sub = sock_new(r->zctx, ZMQ_SUB);
    zmq_setsockopt(r->sub, ZMQ_SUBSCRIBE, "", 0);
    const char *from[] = { "intake_events", "matcher_events", "scheduler_events", "survey_events", "gateway_events" };
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        const char *ep = conf_map_get(&svc_conf(s)->endpoints, from[i]);
        char err[256];
        if (ep && sock_connect_list(r->sub, ep, err, sizeof err) != 0)
            log_warn("events_unreachable", "endpoint=%s reason=\"%s\"", ep, err);
    }
    svc_add_socket(s, r->sub, reporter_on_event);
}

/* At start and on SIGHUP: the [reporter] settings and the matcher's
 * catalogue (titles, levels, themes), handed to the HTTP thread under the
 * lock. A catalogue that cannot be read leaves the previous one (or codes). */
static int reporter_load(svc_t *s)
{
    reporter_t *r = svc_state(s);
    char err[512];
    matcher_conf_t mc;
    catalogue_t *fresh = xmalloc(sizeof *fresh);
    int ok = svc_conf_peer(s, "matcher", matcher_conf_fields, matcher_nconf_fields, &mc, err, sizeof err) == 0
             && catalogue_load(mc.catalogue_path, fresh, err, sizeof err) == 0;
    if (!ok)
        log_error("catalogue_unread", "reason=\"%s\" action=keep_previous", err);
    pthread_mutex_lock(&r->lock);
    r->conf = conf_loaded;
    r->svc_conf = *svc_conf(s);
    if (ok) {
        r->catalogue = *fresh;
        r->have_catalogue = 1;
    }
    pthread_mutex_unlock(&r->lock);
    free(fresh);
    return ok ? 0 : -1;
}

static int reporter_start(svc_t *s)
{
    reporter_t *r = svc_state(s);
    r->zctx = svc_zctx(s);
    if (svc_cred(s))
        r->cred = *svc_cred(s);
    reporter_load(s);
    reporter_subscribe(s, r);
    return reporter_http_start(s, r);
}

static void reporter_stop(svc_t *s)
{
    reporter_t *r = svc_state(s);
    reporter_http_stop(r);
    if (r->sub)
        zmq_close(r->sub);
    r->sub = NULL;
}

int main(int argc, char **argv)
{
    pthread_mutex_init(&reporter.lock, NULL);
    svc_def_t def = {
        .name = "reporter",
        .sections = tp_conf_sections,
        .library = REPORTER_LIBRARY,
        .lua = reporter_lua,
        .handlers = reporter_handlers,
        .nhandlers = reporter_nhandlers,
        .conf_fields = reporter_conf_fields,
        .nconf_fields = reporter_nconf_fields,
        .conf_base = &conf_loaded,
        .start = reporter_start,
        .reload = reporter_load,
        .stop = reporter_stop,
        .state = &reporter,
    };
    return svc_main(&def, argc, argv);
}
