/* svc — the service runtime: start and stop (in reverse order), the loop
 * hooks (a batch of the inbox per wake-up, the relay's pump), signals (a
 * two-phase stop on SIGTERM, a reload on SIGHUP) and the accessors a
 * service's code uses. The other concerns are in svc_*.c (svc_int.h). */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <zmq.h>

#include "access.h"
#include "clock.h"
#include "ids.h"
#include "keys.h"
#include "log.h"
#include "sock.h"
#include "svc_int.h"
#include "util.h"

/* --------------------------------------------------------------- accessors */

const svc_conf_t *svc_conf(const svc_t *s) { return &s->conf; }
void *svc_zctx(const svc_t *s) { return s->ctx; }
const char *svc_name(const svc_t *s) { return s->def->name; }
const char *svc_instance(const svc_t *s) { return s->conf.instance; }
void *svc_state(const svc_t *s) { return s->def->state; }
rds_t *svc_rds(const svc_t *s) { return s->rds; }
const keyring_cred_t *svc_cred(const svc_t *s) { return s->auth ? &s->cred : NULL; }

/* ------------------------------------------------------------ loop hooks */

static void svc_pump(loop_t *loop, void *arg)
{
    svc_t *s = arg;
    outbox_pump(s->outbox);
    if (loop_terminating(loop)
        && (outbox_inflight(s->outbox) == 0 || clock_mono_ms() >= s->drain_deadline_ms))
        loop_stop(loop);
}

static inbox_t *svc_inbox_of(svc_t *s, void *router)
{
    for (int i = 0; i < s->nextra; i++)
        if (s->extra[i].router == router)
            return s->extra[i].inbox;
    return s->inbox;
}

static void svc_on_request(loop_t *loop, void *sock, void *arg)
{
    svc_t *s = arg;
    /* one batch per wake-up: the loop comes straight back while messages
     * are waiting, and the relay gets its turn in between, so a busy inbox
     * does not starve the outbox */
    s->wrote_outbox = 0;
    s->rode = 0;
    inbox_drain(svc_inbox_of(s, sock));
    if (s->wrote_outbox && !s->rode) /* what the steps wrote was not taken with them */
        loop_wake_timer(loop, svc_pump);
}

/* The relay's take rides with each batch of steps (outbox_ride_append). */
static int svc_ride_append(void *arg, const char *const *territories, int n)
{
    svc_t *s = arg;
    return s->outbox ? outbox_ride_append(s->outbox, territories, n) : 0;
}

static void svc_ride_apply(void *arg, redisReply **replies)
{
    svc_t *s = arg;
    outbox_ride_apply(s->outbox, replies);
    s->rode = 1;
}

/* Backpressure: the outbox of each territory is measured a few times a
 * second, and what each committed step adds to it is counted in between (so
 * a burst is seen at once, not at the next reading); over bus.outbox_max, the commands that come from outside the bus
 * are refused with a retryable BUSY (inbox_handler_t.edge) until the relay
 * has brought it back under. A Redis that does not answer leaves the last
 * reading: the commands then fail on Redis anyway. */
#define SVC_BACKLOG_MS 200

static void svc_set_backlog(svc_t *s, int t, long long len)
{
    s->backlog[t] = len;
    int busy = s->conf.outbox_max > 0 && len >= s->conf.outbox_max;
    if (busy != s->busy[t])
        log_warn(busy ? "busy" : "busy_over", "territory=%s outbox=%lld outbox_max=%lld", s->territories[t], len,
                 (long long)s->conf.outbox_max);
    s->busy[t] = busy;
}

static int svc_territory_index(const svc_t *s, const char *territory)
{
    for (int t = 0; t < s->nterritories; t++)
        if (!strcmp(s->territories[t], territory))
            return t;
    return -1;
}

static void svc_watch_backlog(loop_t *loop, void *arg)
{
    (void)loop;
    svc_t *s = arg;
    for (int t = 0; t < s->nterritories; t++) {
        char key[128];
        tp_key(key, sizeof key, s->territories[t], s->def->name, "outbox");
        redisReply *r = rds_cmd(s->rds, "XLEN %s", key);
        if (r && r->type == REDIS_REPLY_INTEGER)
            svc_set_backlog(s, t, r->integer);
        if (r)
            freeReplyObject(r);
    }
}

static int svc_busy(void *arg, const char *territory)
{
    svc_t *s = arg;
    int t = svc_territory_index(s, territory);
    return t >= 0 && s->busy[t];
}

/* After a handler's step is committed: wake the relay if it wrote to the
 * outbox, and tell subscribers something changed. */
static void svc_committed(void *arg, const call_t *call, const Tremplin__Ack *ack)
{
    svc_t *s = arg;
    if (call->nout > 0) {
        s->wrote_outbox = 1;
        int t = svc_territory_index(s, call->territory);
        if (t >= 0)
            svc_set_backlog(s, t, s->backlog[t] + call->nout);
    }
    svc_event_publish(s, call, ack);
}

/* ------------------------------------------------------ who may send */

static void svc_on_zap(svc_t *s, void *sock)
{
    (void)sock;
    keyring_door_zap(&s->bus_door);
}

/* The inbox's check of the command ROUTER: the sender's entry in the bus
 * registry (reloaded when its directory changed, so a key added a moment
 * ago is known), and its role (common/access.h). */
static const char *svc_forbid(void *arg, const char *peer, const Tremplin__Envelope *env, char *operator,
                              char *access, char *why, size_t cap)
{
    svc_t *s = arg;
    const keyring_entry_t *who;
    keyring_verdict_t v = keyring_check(&s->bus_door.keys, peer, clock_real_ms(), &who);
    if (v == KEYRING_UNKNOWN && keyring_door_refresh(&s->bus_door))
        v = keyring_check(&s->bus_door.keys, peer, clock_real_ms(), &who);
    /* a connection opened before its key was revoked, or replaced and past
     * its window (the handshake applies the same rule): refused command by
     * command */
    if (v == KEYRING_REVOKED || v == KEYRING_EXPIRED) {
        snprintf(why, cap, "La clé %s est %s : commande refusée.", who ? who->id : "?",
                 v == KEYRING_REVOKED ? "révoquée" : "remplacée (sa période de transition est finie)");
        return why;
    }
    const char *no = access_check(who, env, why, cap);
    if (!no && strcmp(who->access, "service")) {
        util_strlcpy(operator, who->id, KEYRING_ID_MAX);
        util_strlcpy(access, who->access, 16);
    }
    return no;
}

/* A key revoked while its connection is open is refused from the next
 * reload on (its next handshake is refused by ZAP anyway). */
static void svc_refresh_keys(svc_t *s) { keyring_door_refresh(&s->bus_door); }

/* The command ROUTER: with [bus] keys_dir, a CURVE server whose ZAP lets in
 * the keys of the bus registry, and the service's own key for its relays;
 * without, a plain ROUTER any local process may use (said at start). */
static int svc_open_router(svc_t *s, char *err, size_t errlen)
{
    if (!s->conf.keys_dir[0]) {
        log_warn("bus_unauthenticated", "reason=\"[bus] keys_dir is not set: any local process may send commands\"");
        s->router = sock_new(s->ctx, ZMQ_ROUTER);
        return sock_bind_list(s->router, s->conf.bind, err, errlen);
    }
    if (access_service_key(s->conf.keys_dir, s->def->name, s->territories[0], &s->cred, err, errlen) != 0)
        return -1;
    s->bus_door.kind = &access_keys;
    s->bus_door.dir = s->conf.keys_dir;
    if (keyring_door_open(&s->bus_door, s, s->conf.bind, svc_on_zap, err, errlen) != 0)
        return -1;
    s->router = s->bus_door.router;
    s->auth = 1;
    svc_add_timer(s, 1000, svc_refresh_keys);
    return 0;
}

/* ---------------------------------------------------------------- signals */

/* SIGTERM, nginx's quit: the relay finishes what is in flight, and svc_pump
 * stops the loop once it is acked or bus.drain_ms has passed. A second
 * SIGTERM exits at once (loop.c). */
static void svc_on_term(loop_t *loop, void *arg)
{
    svc_t *s = arg;
    /* stop taking new work: peers' DEALERs see us gone and route elsewhere */
    loop_remove_socket(loop, s->router);
    zmq_unbind(s->router, s->conf.bind);
    for (int i = 0; i < s->nextra; i++)
        loop_remove_socket(loop, s->extra[i].router);
    outbox_quiesce(s->outbox);
    /* systemd (Type=notify) shows the unit "deactivating" while we drain */
    sd_notify(0, "STOPPING=1");
    s->drain_deadline_ms = clock_mono_ms() + s->conf.drain_ms;
    log_info("draining", "inflight=%d", outbox_inflight(s->outbox));
    loop_wake_timer(loop, svc_pump);
}

static void svc_on_hup(loop_t *loop, void *arg)
{
    (void)loop;
    svc_t *s = arg;
    svc_conf_t fresh;
    char err[512];
    if (svc_conf_load(s->conf_path, s->def->name, &fresh, s->def, err, sizeof err) != 0) {
        log_error("reload_failed", "reason=\"%s\" action=keep_previous", err);
        return;
    }
    /* sockets stay where they are bound; everything else takes effect */
    util_strlcpy(fresh.bind, s->conf.bind, sizeof fresh.bind);
    util_strlcpy(fresh.events, s->conf.events, sizeof fresh.events);
    util_strlcpy(fresh.instance, s->conf.instance, sizeof fresh.instance);
    s->conf = fresh;
    svc_apply_conf(s);
    rds_set_conf(s->rds, &s->conf.redis);
    inbox_set_territories(s->inbox, s->territories, s->nterritories);
    for (int i = 0; i < s->nextra; i++)
        inbox_set_territories(s->extra[i].inbox, s->territories, s->nterritories);
    outbox_set_territories(s->outbox, s->territories, s->nterritories);
    /* the service's own files (a timetable, a catalogue): one that does not
     * load keeps the one in use, and the reload is reported as failed */
    if (s->def->reload && s->def->reload(s) != 0) {
        log_error("reload_failed", "conf=%s reason=\"a file of the service did not load (the line above)\" "
                  "action=keep_previous", s->conf_path ? s->conf_path : "-");
        return;
    }
    log_info("reloaded", "conf=%s", s->conf_path ? s->conf_path : "-");
}

/* ------------------------------------------------- what a service adds */

void svc_add_router(svc_t *s, void *router, const inbox_handler_t *handlers, size_t nhandlers)
{
    if (s->nextra == SVC_MAX_ROUTERS)
        abort(); /* fixed by the code, not by input */
    inbox_conf_t ic = s->inbox_conf;
    ic.forbid = NULL; /* another registry's door: its service checks its senders */
    ic.handlers = handlers;
    ic.nhandlers = nhandlers;
    s->extra[s->nextra].router = router;
    s->extra[s->nextra].inbox = inbox_new(router, s->rds, &ic);
    s->nextra++;
    loop_add_socket(s->loop, router, svc_on_request, s);
}

static void svc_timer_trampoline(loop_t *loop, void *arg)
{
    (void)loop;
    svc_timer_t *t = arg;
    t->fn(t->s);
}

void svc_add_timer(svc_t *s, int64_t interval_ms, void (*fn)(svc_t *s))
{
    if (s->ntimers == SVC_MAX_TIMERS)
        abort();
    s->timers[s->ntimers].s = s;
    s->timers[s->ntimers].fn = fn;
    loop_add_timer(s->loop, interval_ms, svc_timer_trampoline, &s->timers[s->ntimers]);
    s->ntimers++;
}

static void svc_socket_trampoline(loop_t *loop, void *sock, void *arg)
{
    (void)loop;
    svc_socket_t *k = arg;
    k->fn(k->s, sock);
}

void svc_add_socket(svc_t *s, void *sock, void (*fn)(svc_t *s, void *sock))
{
    if (s->nsockets == SVC_MAX_SOCKETS)
        abort(); /* fixed by the code, not by input */
    s->sockets[s->nsockets] = (svc_socket_t){ s, fn };
    loop_add_socket(s->loop, sock, svc_socket_trampoline, &s->sockets[s->nsockets]);
    s->nsockets++;
}

/* ------------------------------------------------------ start and stop */

/* The outbox's refusal hook: the entry as the service sent it. */
static int svc_refused(void *arg, const char *territory, const char *to, const uint8_t *bytes, size_t len,
                       const char *code)
{
    svc_t *s = arg;
    (void)to;
    Tremplin__Envelope *sent = NULL;
    if (wire_unpack(bytes, len, len + 1, NULL, &sent) != WIRE_OK || !sent) {
        wire_free(sent, NULL);
        return 1;
    }
    int rc = s->def->refused(s, territory, sent, code);
    wire_free(sent, NULL);
    return rc;
}

static int svc_start(svc_t *s, char *err, size_t errlen)
{
    /* read once: a key changed under a running service would derive other
     * ids for a step run again */
    if (util_id_key_load(s->conf.id_key_file, err, errlen) != 0)
        return -1;
    /* CZMQ's context, shared with the services' own sockets (intake's ZAP handler) */
    s->ctx = zsys_init();
    if (!s->conf.bind[0]) {
        snprintf(err, errlen, "no endpoint to bind: set [endpoints] %s or [%s] bind", s->def->name, s->def->name);
        return -1;
    }
    if (svc_open_router(s, err, errlen) != 0 || svc_events_open(s, err, errlen) != 0)
        return -1;

    s->rds = rds_new(&s->conf.redis, s->conf.instance);
    /* in production the library is loaded by an admin at deploy: a service
     * user may not load code that runs with another service's rights */
    rds_set_library(s->rds, s->def->library, s->def->lua, s->conf.load_functions);
    int rc = rds_connect(s->rds, err, errlen);
    if (rc == -2) /* refused by configuration (AOF off, no password file): not a passing fault */
        return -1;
    if (rc != 0)
        log_warn("redis_unavailable", "reason=\"%s\" action=retry_in_background", err);

    for (size_t i = 0; i < s->def->nhandlers && s->nhandlers < TP_ARRAY_LEN(s->handlers) - 2; i++)
        s->handlers[s->nhandlers++] = s->def->handlers[i];
    s->handlers[s->nhandlers++] = (inbox_handler_t){ TREMPLIN__ENVELOPE__PAYLOAD_PROBE, svc_prepare_probe };
    s->handlers[s->nhandlers++] = (inbox_handler_t){ TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ, svc_prepare_record_read };

    s->inbox_conf = (inbox_conf_t){
        .service = s->def->name, .library = s->def->library, .instance = s->conf.instance,
        .max_msg = (size_t)s->conf.max_msg, .batch = (int)s->conf.batch, .mark_ttl_s = (long)s->conf.mark_ttl_s,
        .wait_replicas = s->conf.redis.wait_replicas, .wait_timeout_ms = s->conf.redis.wait_timeout_ms,
        .territories = s->territories, .nterritories = s->nterritories,
        .handlers = s->handlers, .nhandlers = s->nhandlers, .handler_arg = s,
        .pong_fill = svc_pong_fill, .committed = svc_committed,
        .ride_append = svc_ride_append, .ride_apply = svc_ride_apply,
        .busy = s->conf.outbox_max > 0 ? svc_busy : NULL,
        .forbid = s->auth ? svc_forbid : NULL,
        .audit_keep_ms = s->conf.retention.audit_days * 86400000LL,
    };
    s->inbox = inbox_new(s->router, s->rds, &s->inbox_conf);
    outbox_conf_t oc = {
        .service = s->def->name, .library = s->def->library, .instance = s->conf.instance,
        .territories = s->territories, .nterritories = s->nterritories,
        .window = (int)s->conf.window, .retry_window = (int)s->conf.retry_window,
        .ack_timeout_ms = s->conf.ack_timeout_ms,
        .retry_max_ms = s->conf.retry_max_ms, .lease_ms = s->conf.lease_ms, .max_tries = (int)s->conf.max_tries,
    };
    s->outbox = outbox_new(s->rds, &oc, svc_route, s);
    if (s->def->refused)
        outbox_on_refused(s->outbox, svc_refused, s);

    loop_add_socket(s->loop, s->router, svc_on_request, s);
    loop_add_timer(s->loop, s->conf.pump_ms, svc_pump, s);
    if (s->conf.outbox_max > 0)
        loop_add_timer(s->loop, SVC_BACKLOG_MS, svc_watch_backlog, s);
    loop_on_signals(s->loop, svc_on_term, svc_on_hup, s);
    if (s->def->start && s->def->start(s) != 0) {
        snprintf(err, errlen, "service start failed");
        return -1;
    }
    return 0;
}

static void svc_stop(svc_t *s)
{
    if (s->def->stop)
        s->def->stop(s);
    outbox_destroy(&s->outbox);
    inbox_destroy(&s->inbox);
    for (int i = 0; i < s->nextra; i++)
        inbox_destroy(&s->extra[i].inbox); /* the service closes its own sockets */
    svc_routes_close(s);
    svc_events_close(s);
    svc_lease_free(s);
    if (s->auth)
        keyring_door_close(&s->bus_door); /* the router is the door's */
    else if (s->router)
        zmq_close(s->router);
    if (s->ctx)
        zsys_shutdown();
    rds_destroy(&s->rds);
}

int svc_main(const svc_def_t *def, int argc, char **argv)
{
    zsys_handler_set(NULL); /* CZMQ must not install its own signal handler */
    loop_block_signals();   /* before any thread exists */
    log_init(def->name, TPLOG_INFO);
    svc_t *s = xcalloc(1, sizeof *s);
    s->def = def;
    s->conf_path = svc_conf_path(argc, argv);
    s->started_ms = clock_mono_ms();
    char err[512];
    if (!s->conf_path) { /* running on defaults alone would reach some other Redis */
        fprintf(stderr, "%s: no configuration file: give -c FILE, or set TREMPLIN_CONF, or put tremplin.conf in the "
                        "working directory\n", def->name);
        free(s);
        return 1;
    }
    if (svc_conf_load(s->conf_path, def->name, &s->conf, def, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", def->name, err);
        free(s);
        return 1;
    }
    svc_apply_conf(s);
    s->loop = loop_new();
    int rc = 0;
    if (svc_start(s, err, sizeof err) != 0) {
        log_error("start_failed", "reason=\"%s\"", err);
        rc = 1;
    } else {
        log_info("started", "instance=%s bind=%s events=%s territories=\"%s\" version=%s", s->conf.instance,
                 s->conf.bind, s->conf.events[0] ? s->conf.events : "-", s->conf.territories, SVC_VERSION);
        /* Readiness for systemd's Type=notify: the configuration is read
         * and the sockets are bound, so a unit ordered After= this one finds
         * it answering (a Redis that is away is retried in the background,
         * and said in every Pong meanwhile). Without NOTIFY_SOCKET (make
         * demo, the tests, a container) sd_notify does nothing. */
        sd_notifyf(0, "READY=1\nSTATUS=serving on %s", s->conf.bind);
        rc = loop_run(s->loop) == 0 ? 0 : 1;
        outbox_stats_t os = outbox_stats(s->outbox);
        inbox_stats_t is = inbox_stats(s->inbox);
        log_info("stopped",
                 "received=%lu acked=%lu duplicates=%lu errors=%lu sent=%lu resent=%lu dead=%lu inflight=%d retrying=%d",
                 is.received, is.acked, is.duplicates, is.errors, os.sent, os.resent, os.dead,
                 outbox_inflight(s->outbox), outbox_retrying(s->outbox));
    }
    svc_stop(s);
    loop_destroy(&s->loop);
    free(s);
    return rc;
}

