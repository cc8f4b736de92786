/* svc_conf — the settings every service reads from the shared file: one
 * table, the checks the types alone cannot make, defaults that depend on
 * other settings, the password file of a Redis user, the territory list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "clock.h"
#include "ids.h"
#include "log.h"
#include "sock.h"
#include "svc_int.h"
#include "util.h"

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
    CONF_INT_FIELD("redis", "wait_timeout_ms", svc_conf_t, redis.wait_timeout_ms, "500"),
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
    CONF_INT_FIELD("bus", "outbox_max", svc_conf_t, outbox_max, "20000"),
    CONF_STR_FIELD("bus", "id_key_file", svc_conf_t, id_key_file, ""),
    CONF_INT_FIELD("retention", "contact_days", svc_conf_t, retention.contact_days, "730"),
    CONF_INT_FIELD("retention", "comments_days", svc_conf_t, retention.comments_days, "365"),
    CONF_INT_FIELD("retention", "attendance_days", svc_conf_t, retention.attendance_days, "1095"),
    CONF_INT_FIELD("retention", "sms_days", svc_conf_t, retention.sms_days, "90"),
    CONF_INT_FIELD("retention", "audit_days", svc_conf_t, retention.audit_days, "365"),
    CONF_STR_FIELD("bus", "keys_dir", svc_conf_t, keys_dir, ""),
    CONF_STR_FIELD("tool", "key", svc_conf_t, tool_key, ""),
    CONF_MAP_FIELD("endpoints", svc_conf_t, endpoints),
    CONF_MAP_FIELD("shards", svc_conf_t, shards),
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
    if (c->retention.contact_days < 1 || c->retention.comments_days < 1 || c->retention.attendance_days < 1
        || c->retention.sms_days < 1 || c->retention.audit_days < 1) {
        snprintf(err, errlen, "retention: every *_days must be >= 1");
        return -1;
    }
    if (c->outbox_max < 0) {
        snprintf(err, errlen, "bus.outbox_max must be 0 (no bound) or more");
        return -1;
    }
    if (c->window < 1 || c->retry_window < 1 || c->batch < 1 || c->max_tries < 1 || c->ack_timeout_ms < 1
        || c->max_msg < 256 || c->max_msg > SOCK_HARD_MAX || c->pump_ms < 1) {
        snprintf(err, errlen,
                 "bus: window, retry_window, batch, max_tries, ack_timeout_ms, pump_ms >= 1 and 256 <= max_msg <= %d",
                 SOCK_HARD_MAX);
        return -1;
    }
    /* a step whose WAIT for the replicas times out is answered UNAVAILABLE
     * (retryable, not one of the sender's max_tries); one answered after the
     * sender's ack timeout counts as a try: enough of them while no replica
     * is there (a failover) make dead letters */
    if (c->redis.wait_replicas > 0 && (c->redis.wait_timeout_ms < 1 || c->redis.wait_timeout_ms >= c->ack_timeout_ms)) {
        snprintf(err, errlen, "redis.wait_timeout_ms (%lld) must be >= 1 and below bus.ack_timeout_ms (%lld) when "
                              "redis.wait_replicas > 0",
                 (long long)c->redis.wait_timeout_ms, (long long)c->ack_timeout_ms);
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

/* [shards] T = host:port into the Redis settings: each territory's own
 * Redis. 0, or -1 with the entry at fault. */
static int svc_conf_shards(svc_conf_t *c, char *err, size_t errlen)
{
    c->redis.nshards = 0;
    for (int i = 0; i < c->shards.n; i++) {
        const char *t = c->shards.items[i].key, *v = c->shards.items[i].value;
        const char *colon = strrchr(v, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!ids_valid(t, WIRE_TERRITORY_MAX) || !colon || colon == v || (size_t)(colon - v) >= sizeof c->redis.shards[0].host
            || !end || *end || port < 1 || port > 65535) {
            snprintf(err, errlen, "shards.%s: '%s' must be a territory code = host:port", t, v);
            return -1;
        }
        if (c->redis.nshards == RDS_MAX_SHARDS) {
            snprintf(err, errlen, "shards: %d territories at most", RDS_MAX_SHARDS);
            return -1;
        }
        rds_shard_t *sh = &c->redis.shards[c->redis.nshards++];
        util_strlcpy(sh->territory, t, sizeof sh->territory);
        snprintf(sh->host, sizeof sh->host, "%.*s", (int)(colon - v), v);
        sh->port = (int)port;
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
    static const char *const none[] = { NULL };
    if (conf_load(path, tables, def && def->nconf_fields ? 3 : 2, def && def->sections ? def->sections : none, err,
                  errlen) != 0)
        return -1;
    if (svc_conf_check(conf, err, errlen) != 0 || svc_conf_shards(conf, err, errlen) != 0)
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
    svc_def_t part = { .sections = s->def->sections, .conf_fields = fields, .nconf_fields = nfields, .conf_base = base };
    return svc_conf_load(s->conf_path, program, &scratch, &part, err, errlen);
}

void svc_apply_conf(svc_t *s)
{
    log_level_t lvl = TPLOG_INFO;
    log_level_parse(s->conf.log_level, &lvl);
    log_set_level(lvl);
    clock_configure(s->conf.clock_epoch_ms, s->conf.clock_start_ms, s->conf.clock_speed);
    clock_set_timezone(s->conf.timezone);
    s->nterritories = svc_territories(&s->conf, s->terr_buf, sizeof s->terr_buf, s->territories, SVC_MAX_TERRITORIES);
}
