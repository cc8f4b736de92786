#include "svc.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "ids.h"
#include "log.h"
#include "loop.h"
#include "sock.h"
#include "util.h"

#define SVC_MAX_ROUTES 16
#define SVC_MAX_ROUTERS 4
#define SVC_MAX_TIMERS 8
#define SVC_MAX_SOCKETS 4
#define SVC_VERSION "0.1.0"

typedef struct {
    char to[32];
    void *dealer;
} svc_route_t;

typedef struct {
    struct svc *s;
    void (*fn)(struct svc *s);
} svc_timer_t;

typedef struct {
    struct svc *s;
    void (*fn)(struct svc *s, void *sock);
} svc_socket_t;

struct svc {
    const svc_def_t *def;
    const char *conf_path;
    svc_conf_t conf;
    char terr_buf[256];
    const char *territories[SVC_MAX_TERRITORIES];
    int nterritories;
    void *ctx;
    void *router;
    void *pub;
    rds_t *rds;
    inbox_t *inbox;
    inbox_conf_t inbox_conf;
    struct {
        void *router;
        inbox_t *inbox;
    } extra[SVC_MAX_ROUTERS];
    int nextra;
    svc_timer_t timers[SVC_MAX_TIMERS];
    int ntimers;
    svc_socket_t sockets[SVC_MAX_SOCKETS];
    int nsockets;
    outbox_t *outbox;
    loop_t *loop;
    svc_route_t routes[SVC_MAX_ROUTES];
    int nroutes;
    int64_t started_ms;
    int64_t drain_deadline_ms;
    int wrote_outbox;
    char aof_write[8], aof_rewrite[8]; /* strings of the last Pong */
    inbox_handler_t handlers[64];
    size_t nhandlers;
    wire_buf_t evbuf;
    char warning[512];
    char *warning_v[1]; /* the Pong's list of warnings */
};

/* ------------------------------------------------------------------ config */

static conf_field_t svc_common_fields[] = {
    CONF_STR_FIELD("redis", "host", svc_conf_t, redis.host, "127.0.0.1"),
    CONF_INT_FIELD("redis", "port", svc_conf_t, redis.port, "6379"),
    CONF_STR_FIELD("redis", "user", svc_conf_t, redis.user, ""),
    CONF_STR_FIELD("redis", "password", svc_conf_t, redis.password, ""),
    CONF_STR_FIELD("redis", "password_file", svc_conf_t, redis.password_file, ""),
    CONF_STR_FIELD("redis", "sentinels", svc_conf_t, redis.sentinels, ""),
    CONF_BOOL_FIELD("redis", "load_functions", svc_conf_t, load_functions, "no"),
    CONF_STR_FIELD("redis", "master", svc_conf_t, redis.master, "tremplin"),
    CONF_INT_FIELD("redis", "connect_timeout_ms", svc_conf_t, redis.connect_timeout_ms, "1000"),
    CONF_INT_FIELD("redis", "command_timeout_ms", svc_conf_t, redis.command_timeout_ms, "5000"),
    CONF_INT_FIELD("redis", "backoff_max_ms", svc_conf_t, redis.backoff_max_ms, "5000"),
    CONF_INT_FIELD("redis", "wait_replicas", svc_conf_t, redis.wait_replicas, "0"),
    CONF_INT_FIELD("redis", "wait_timeout_ms", svc_conf_t, redis.wait_timeout_ms, "1000"),
    CONF_BOOL_FIELD("redis", "require_aof", svc_conf_t, redis.require_aof, "yes"),
    CONF_INT_FIELD("clock", "epoch_ms", svc_conf_t, clock_epoch_ms, "0"),
    CONF_INT_FIELD("clock", "start_ms", svc_conf_t, clock_start_ms, "0"),
    CONF_DOUBLE_FIELD("clock", "speed", svc_conf_t, clock_speed, "1"),
    CONF_STR_FIELD("clock", "timezone", svc_conf_t, timezone, "Europe/Paris"),
    CONF_STR_FIELD("log", "level", svc_conf_t, log_level, "info"),
    CONF_STR_FIELD("bus", "territories", svc_conf_t, territories, "42"),
    CONF_INT_FIELD("bus", "window", svc_conf_t, window, "256"),
    CONF_INT_FIELD("bus", "retry_window", svc_conf_t, retry_window, "1024"),
    CONF_INT_FIELD("bus", "batch", svc_conf_t, batch, "256"),
    CONF_INT_FIELD("bus", "ack_timeout_ms", svc_conf_t, ack_timeout_ms, "1000"),
    CONF_INT_FIELD("bus", "retry_max_ms", svc_conf_t, retry_max_ms, "8000"),
    CONF_INT_FIELD("bus", "lease_ms", svc_conf_t, lease_ms, "30000"),
    CONF_INT_FIELD("bus", "max_tries", svc_conf_t, max_tries, "12"),
    CONF_INT_FIELD("bus", "mark_ttl_s", svc_conf_t, mark_ttl_s, "1209600"),
    CONF_INT_FIELD("bus", "max_msg", svc_conf_t, max_msg, "65536"),
    CONF_INT_FIELD("bus", "pump_ms", svc_conf_t, pump_ms, "20"),
    CONF_INT_FIELD("bus", "drain_ms", svc_conf_t, drain_ms, "5000"),
    CONF_INT_FIELD("bus", "stall_ms", svc_conf_t, stall_ms, "0"),
    CONF_STR_FIELD("bus", "id_key_file", svc_conf_t, id_key_file, ""),
    CONF_MAP_FIELD("endpoints", svc_conf_t, endpoints),
};

const char *svc_conf_path(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-c") == 0)
            return argv[i + 1];
    const char *env = getenv("TREMPLIN_CONF");
    if (env && *env)
        return env;
    return access("tremplin.conf", R_OK) == 0 ? "tremplin.conf" : NULL;
}

int svc_territories(const svc_conf_t *conf, char *buf, size_t cap, const char **out, int max)
{
    util_strlcpy(buf, conf->territories, cap);
    return util_split_list(buf, (char **)out, max);
}

/* Checks what the types alone cannot: the settings must make sense together. */
static int svc_conf_check(const svc_conf_t *c, char *err, size_t errlen)
{
    log_level_t lvl;
    if (log_level_parse(c->log_level, &lvl) != 0) {
        snprintf(err, errlen, "log.level must be debug, info, warn, error or off");
        return -1;
    }
    if (c->window < 1 || c->retry_window < 1 || c->batch < 1 || c->max_tries < 1 || c->ack_timeout_ms < 1
        || c->max_msg < 256 || c->max_msg > SOCK_HARD_MAX || c->pump_ms < 1) {
        snprintf(err, errlen,
                 "bus: window, retry_window, batch, max_tries, ack_timeout_ms, pump_ms >= 1 and 256 <= max_msg <= %d",
                 SOCK_HARD_MAX);
        return -1;
    }
    /* an owner resends at least every retry_max_ms, which renews its lease:
     * a lease shorter than that would let another instance take live work */
    if (c->lease_ms <= 2 * c->retry_max_ms) {
        snprintf(err, errlen, "bus.lease_ms must be more than twice bus.retry_max_ms");
        return -1;
    }
    if (!cal_zone(c->timezone)) {
        snprintf(err, errlen, "clock.timezone: '%s' is not a zone of the tz database", c->timezone);
        return -1;
    }
    char buf[256];
    const char *t[SVC_MAX_TERRITORIES];
    int n = svc_territories(c, buf, sizeof buf, t, SVC_MAX_TERRITORIES);
    if (n == 0) {
        snprintf(err, errlen, "bus.territories is empty");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!ids_valid(t[i], WIRE_TERRITORY_MAX)) {
            snprintf(err, errlen, "bus.territories: '%s' is not a territory code", t[i]);
            return -1;
        }
    return 0;
}

void svc_password_file(const svc_conf_t *conf, const char *user, char *out, size_t cap)
{
    const char *tpl = conf->password_file_tpl, *mark = strstr(tpl, "%s");
    if (!mark) {
        util_strlcpy(out, tpl, cap);
        return;
    }
    snprintf(out, cap, "%.*s%s%s", (int)(mark - tpl), tpl, user, mark + 2);
}

int svc_conf_load(const char *path, const char *service, svc_conf_t *conf, const svc_def_t *def, char *err,
                  size_t errlen)
{
    conf_field_t own[3] = {
        CONF_STR_FIELD("", "bind", svc_conf_t, bind, ""),
        CONF_STR_FIELD("", "events", svc_conf_t, events, ""),
        CONF_STR_FIELD("", "instance", svc_conf_t, instance, ""),
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(own); i++)
        own[i].section = service;
    conf_table_t tables[3] = {
        { svc_common_fields, TP_ARRAY_LEN(svc_common_fields), conf },
        { own, TP_ARRAY_LEN(own), conf },
        { def ? def->conf_fields : NULL, def ? def->nconf_fields : 0, def ? def->conf_base : NULL },
    };
    memset(conf, 0, sizeof *conf);
    if (conf_load(path, tables, def && def->nconf_fields ? 3 : 2, err, errlen) != 0)
        return -1;
    if (svc_conf_check(conf, err, errlen) != 0)
        return -1;

    /* defaults that depend on other settings */
    if (conf->stall_ms <= 0) /* a few retries without progress */
        conf->stall_ms = 4 * conf->retry_max_ms;
    if (!conf->redis.user[0])
        util_strlcpy(conf->redis.user, service, sizeof conf->redis.user);
    util_strlcpy(conf->password_file_tpl, conf->redis.password_file, sizeof conf->password_file_tpl);
    svc_password_file(conf, conf->redis.user, conf->redis.password_file, sizeof conf->redis.password_file);
    if (!conf->bind[0]) {
        const char *ep = conf_map_get(&conf->endpoints, service);
        if (ep)
            sock_first_endpoint(ep, conf->bind, sizeof conf->bind);
    }
    if (!conf->events[0]) {
        char key[64];
        snprintf(key, sizeof key, "%s_events", service);
        const char *ep = conf_map_get(&conf->endpoints, key);
        if (ep)
            sock_first_endpoint(ep, conf->events, sizeof conf->events);
    }
    if (!conf->instance[0]) {
        char host[48] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(conf->instance, sizeof conf->instance, "%s@%s:%d", service, host, (int)getpid());
    }
    return 0;
}

int svc_conf_peer(const svc_t *s, const char *program, const conf_field_t *fields, size_t nfields, void *base,
                  char *err, size_t errlen)
{
    svc_conf_t scratch;
    svc_def_t part = { .conf_fields = fields, .nconf_fields = nfields, .conf_base = base };
    return svc_conf_load(s->conf_path, program, &scratch, &part, err, errlen);
}

void svc_set_warning(svc_t *s, const char *text) { util_strlcpy(s->warning, text, sizeof s->warning); }

static void svc_apply_conf(svc_t *s)
{
    log_level_t lvl = TPLOG_INFO;
    log_level_parse(s->conf.log_level, &lvl);
    log_set_level(lvl);
    clock_configure(s->conf.clock_epoch_ms, s->conf.clock_start_ms, s->conf.clock_speed);
    clock_set_timezone(s->conf.timezone);
    s->nterritories = svc_territories(&s->conf, s->terr_buf, sizeof s->terr_buf, s->territories, SVC_MAX_TERRITORIES);
}

/* --------------------------------------------------------------- accessors */

const svc_conf_t *svc_conf(const svc_t *s) { return &s->conf; }
void *svc_zctx(const svc_t *s) { return s->ctx; }
const char *svc_name(const svc_t *s) { return s->def->name; }
const char *svc_instance(const svc_t *s) { return s->conf.instance; }
void *svc_state(const svc_t *s) { return s->def->state; }
rds_t *svc_rds(const svc_t *s) { return s->rds; }

/* ------------------------------------------------------------ built-ins */

/* Probe: forward to route[0] through the outbox, or count at the last hop. */
static void svc_prepare_probe(void *arg, const Tremplin__Envelope *in, call_t *call)
{
    svc_t *s = arg;
    const Tremplin__Probe *p = in->probe;
    if (!ids_valid(p->key, 64)) {
        call_error(call, "INVALID_FIELD", "probe.key", "Clé de sonde invalide.", 0);
        return;
    }
    for (size_t i = 0; i < p->n_route; i++) /* only the services this deployment has */
        if (!ids_valid(p->route[i], 31) || strspn(p->route[i], "abcdefghijklmnopqrstuvwxyz") != strlen(p->route[i])
            || !conf_map_get(&s->conf.endpoints, p->route[i])) { /* "x_events", "intake_branch" are not services */
            call_error(call, "INVALID_FIELD", "probe.route", "Étape de sonde inconnue.", 0);
            return;
        }
    call_function(call, "probe");
    call_own_key(call, "probe:seen");
    if (p->n_route > 0) {
        Tremplin__Envelope out = TREMPLIN__ENVELOPE__INIT;
        Tremplin__Probe fwd = TREMPLIN__PROBE__INIT;
        fwd.key = p->key;
        fwd.route = p->route + 1;
        fwd.n_route = p->n_route - 1;
        fwd.poison = p->poison;
        fwd.poison_retryable = p->poison_retryable;
        out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
        out.probe = &fwd;
        call_send(call, p->route[0], &out);
        call_argf(call, "forward");
    } else {
        call_argf(call, "last");
    }
    call_argf(call, "%s", p->key);
    call_argf(call, "%d", p->n_route > 0 ? 0 : p->poison ? 1 : p->poison_retryable ? 2 : 0);
}

static void svc_pong_fill(void *arg, Tremplin__Pong *pong)
{
    svc_t *s = arg;
    pong->version = (char *)SVC_VERSION;
    pong->uptime_ms = (uint64_t)(clock_mono_ms() - s->started_ms);
    pong->redis_ok = rds_ensure(s->rds) == 0;
    pong->duplicates = inbox_stats(s->inbox).duplicates;
    for (int i = 0; i < s->nextra; i++)
        pong->duplicates += inbox_stats(s->extra[i].inbox).duplicates;
    rds_persistence_t p;
    rds_persistence(s->rds, &p);
    pong->persistence_known = p.known;
    pong->aof_enabled = p.aof_enabled;
    pong->redis_loading = p.loading;
    pong->aof_required = s->conf.redis.require_aof;
    util_strlcpy(s->aof_write, p.aof_last_write_status, sizeof s->aof_write);
    util_strlcpy(s->aof_rewrite, p.aof_last_bgrewrite_status, sizeof s->aof_rewrite);
    pong->aof_last_write_status = s->aof_write;
    pong->aof_last_rewrite_status = s->aof_rewrite;
    if (s->warning[0]) {
        s->warning_v[0] = s->warning;
        pong->warnings = s->warning_v;
        pong->n_warnings = 1;
    }
    for (int t = 0; t < s->nterritories && pong->redis_ok; t++) {
        outbox_backlog_t b;
        if (outbox_backlog(s->rds, s->def->name, s->territories[t], &b) == 0) {
            pong->outbox_pending += (uint64_t)b.pending;
            pong->dead_letters += (uint64_t)b.dead;
            if ((uint64_t)b.oldest_age_ms > pong->outbox_oldest_ms)
                pong->outbox_oldest_ms = (uint64_t)b.oldest_age_ms;
            pong->outbox_stalled |= outbox_stalled(&b, s->conf.stall_ms);
        }
    }
    if (s->def->pong_fill)
        s->def->pong_fill(s, pong);
}

/* After a handler's step is committed: wake the relay if it wrote to the
 * outbox, and tell subscribers something changed (ids only). */
static void svc_committed(void *arg, const call_t *call, const Tremplin__Ack *ack)
{
    svc_t *s = arg;
    if (call->nout > 0)
        s->wrote_outbox = 1;
    if (!s->pub)
        return;
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Event ev = TREMPLIN__EVENT__INIT;
    char id[TP_ID_LEN + 1], kind[96];
    snprintf(kind, sizeof kind, "%s.%s", s->def->name, call->event_kind ? call->event_kind : call->function);
    ev.kind = kind;
    ev.subject_id = ack->referral_id[0] ? ack->referral_id
                    : ack->booking_id[0] ? ack->booking_id
                    : ack->session_id[0] ? ack->session_id
                                         : (char *)call->msg_id;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_EVENT;
    env.event = &ev;
    wire_stamp(&env, id, call->msg_id, s->conf.instance, call->territory);
    s->evbuf.len = 0;
    wire_pack(&env, &s->evbuf);
    zmq_send(s->pub, kind, strlen(kind), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s->pub, s->evbuf.data, s->evbuf.len, ZMQ_DONTWAIT);
}

/* -------------------------------------------------------------- routing */

static void svc_on_reply(loop_t *loop, void *sock, void *arg)
{
    (void)loop;
    svc_t *s = arg;
    outbox_on_reply(s->outbox, sock);
}

static void *svc_route(void *arg, const char *to, int *unknown)
{
    svc_t *s = arg;
    *unknown = 0;
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].to, to) == 0)
            return s->routes[i].dealer;
    const char *ep = conf_map_get(&s->conf.endpoints, to);
    *unknown = !ep;
    if (!ep || s->nroutes == SVC_MAX_ROUTES)
        return NULL;
    void *dealer = sock_new(s->ctx, ZMQ_DEALER);
    char err[256];
    if (!dealer || sock_connect_list(dealer, ep, err, sizeof err) != 0) {
        log_error("route_failed", "to=%s reason=\"%s\"", to, dealer ? err : "socket");
        if (dealer)
            zmq_close(dealer);
        return NULL;
    }
    svc_route_t *r = &s->routes[s->nroutes++];
    util_strlcpy(r->to, to, sizeof r->to);
    r->dealer = dealer;
    loop_add_socket(s->loop, dealer, svc_on_reply, s);
    log_info("route_opened", "to=%s endpoints=\"%s\"", to, ep);
    return dealer;
}

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
    inbox_drain(svc_inbox_of(s, sock));
    if (s->wrote_outbox)
        loop_wake_timer(loop, svc_pump);
}

static void svc_on_term(loop_t *loop, void *arg)
{
    svc_t *s = arg;
    /* stop taking new work: peers' DEALERs see us gone and route elsewhere */
    loop_remove_socket(loop, s->router);
    zmq_unbind(s->router, s->conf.bind);
    for (int i = 0; i < s->nextra; i++)
        loop_remove_socket(loop, s->extra[i].router);
    outbox_quiesce(s->outbox);
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
    if (s->def->reload)
        s->def->reload(s);
    log_info("reloaded", "conf=%s", s->conf_path ? s->conf_path : "-");
}

/* ---------------------------------------------------------------- main */

void svc_add_router(svc_t *s, void *router, const inbox_handler_t *handlers, size_t nhandlers)
{
    if (s->nextra == SVC_MAX_ROUTERS)
        abort(); /* fixed by the code, not by input */
    inbox_conf_t ic = s->inbox_conf;
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

int svc_hold_lease(svc_t *s, const char *territory, const char *name, int64_t ttl_ms)
{
    /* the holder is this process, not only its instance name: two processes
     * given the same name by mistake never both hold it */
    redisReply *r = rds_cmd(s->rds, "FCALL %s_lease 1 tp:{%s}:%s:lease:%s %s/%d %lld", s->def->library, territory,
                            s->def->name, name, s->conf.instance, (int)getpid(), (long long)ttl_ms);
    int held = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("lease_failed", "lease=%s reason=\"%.200s\"", name, r->str);
    if (r)
        freeReplyObject(r);
    return held;
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

static int svc_start(svc_t *s, char *err, size_t errlen)
{
    /* read once: a key changed under a running service would derive other
     * ids for a step run again */
    if (util_id_key_load(s->conf.id_key_file, err, errlen) != 0)
        return -1;
    /* CZMQ's context, shared with the services' own sockets (intake's ZAP handler) */
    s->ctx = zsys_init();
    s->router = sock_new(s->ctx, ZMQ_ROUTER);
    if (!s->conf.bind[0]) {
        snprintf(err, errlen, "no endpoint to bind: set [endpoints] %s or [%s] bind", s->def->name, s->def->name);
        return -1;
    }
    if (sock_bind_list(s->router, s->conf.bind, err, errlen) != 0)
        return -1;
    if (s->conf.events[0]) {
        s->pub = sock_new(s->ctx, ZMQ_PUB);
        if (sock_bind_list(s->pub, s->conf.events, err, errlen) != 0)
            return -1;
    }

    s->rds = rds_new(&s->conf.redis, s->conf.instance);
    /* in production the library is loaded by an admin at deploy: a service
     * user may not load code that runs with another service's rights */
    rds_set_library(s->rds, s->def->library, s->def->lua, s->conf.load_functions);
    int rc = rds_connect(s->rds, err, errlen);
    if (rc == -2) /* refused by configuration (AOF off): not a passing fault */
        return -1;
    if (rc != 0)
        log_warn("redis_unavailable", "reason=\"%s\" action=retry_in_background", err);

    for (size_t i = 0; i < s->def->nhandlers && s->nhandlers < TP_ARRAY_LEN(s->handlers) - 1; i++)
        s->handlers[s->nhandlers++] = s->def->handlers[i];
    s->handlers[s->nhandlers++] = (inbox_handler_t){ TREMPLIN__ENVELOPE__PAYLOAD_PROBE, svc_prepare_probe };

    s->inbox_conf = (inbox_conf_t){
        .service = s->def->name, .library = s->def->library, .instance = s->conf.instance,
        .max_msg = (size_t)s->conf.max_msg, .batch = (int)s->conf.batch, .mark_ttl_s = (long)s->conf.mark_ttl_s,
        .wait_replicas = s->conf.redis.wait_replicas, .wait_timeout_ms = s->conf.redis.wait_timeout_ms,
        .territories = s->territories, .nterritories = s->nterritories,
        .handlers = s->handlers, .nhandlers = s->nhandlers, .handler_arg = s,
        .pong_fill = svc_pong_fill, .committed = svc_committed,
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

    loop_add_socket(s->loop, s->router, svc_on_request, s);
    loop_add_timer(s->loop, s->conf.pump_ms, svc_pump, s);
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
    for (int i = 0; i < s->nroutes; i++)
        zmq_close(s->routes[i].dealer);
    if (s->pub)
        zmq_close(s->pub);
    if (s->router)
        zmq_close(s->router);
    if (s->ctx)
        zsys_shutdown();
    rds_destroy(&s->rds);
    wire_buf_free(&s->evbuf);
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
