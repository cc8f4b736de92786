#include "rds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "log.h"
#include "util.h"

/* One connection: the default Redis (conn[0]: [redis] host/port or
 * Sentinel) or a territory's shard ([shards]). */
typedef struct {
    const char *territory; /* NULL for the default; else into conf.shards */
    redisContext *ctx;
    int64_t next_try_ms;
    int64_t backoff_ms;
    int pending; /* appended commands whose replies are not read yet */
    rds_persistence_t persistence; /* as last read from it */
} rds_conn_t;

struct rds {
    rds_conf_t conf;
    rds_conn_t conn[1 + RDS_MAX_SHARDS];
    int nconn;
    char name[64];
    char *lib_name;
    char *lib_code;
    int lib_load;
    /* the pipeline: for each appended command the connections it went to
     * (one bit each; a WAIT goes to several) */
    uint32_t *order;
    int norder, order_cap;
    uint32_t touched; /* connections written to since the last WAIT */
};

static void rds_conn_drop(rds_conn_t *c)
{
    if (c->ctx)
        redisFree(c->ctx);
    c->ctx = NULL;
    c->pending = 0;
}

static void rds_drop(rds_t *self)
{
    for (int i = 0; i < self->nconn; i++)
        rds_conn_drop(&self->conn[i]);
    self->norder = 0;
    self->touched = 0;
}

/* The connections of conf: the default, then one per shard. */
static void rds_make_conns(rds_t *self)
{
    rds_drop(self);
    memset(self->conn, 0, sizeof self->conn);
    self->nconn = 1;
    for (int i = 0; i < self->conf.nshards && i < RDS_MAX_SHARDS; i++)
        self->conn[self->nconn++].territory = self->conf.shards[i].territory;
}

rds_t *rds_new(const rds_conf_t *conf, const char *client_name)
{
    rds_t *self = xcalloc(1, sizeof *self);
    self->conf = *conf;
    util_strlcpy(self->name, client_name, sizeof self->name);
    rds_make_conns(self);
    return self;
}

void rds_destroy(rds_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rds_t *self = *self_p;
    rds_drop(self);
    free(self->order);
    free(self->lib_name);
    free(self->lib_code);
    free(self);
    *self_p = NULL;
}

static int rds_same_shards(const rds_conf_t *a, const rds_conf_t *b)
{
    return a->nshards == b->nshards && memcmp(a->shards, b->shards, sizeof a->shards[0] * (size_t)a->nshards) == 0;
}

void rds_set_conf(rds_t *self, const rds_conf_t *conf)
{
    int same = rds_same_shards(&self->conf, conf);
    self->conf = *conf;
    if (!same) /* another map: every connection again */
        rds_make_conns(self);
    else
        for (int i = 1; i < self->nconn; i++) /* territory pointed into the old conf */
            self->conn[i].territory = self->conf.shards[i - 1].territory;
}

void rds_set_library(rds_t *self, const char *name, const char *code, int load)
{
    free(self->lib_name);
    free(self->lib_code);
    self->lib_name = xstrdup(name);
    self->lib_code = xstrdup(code);
    self->lib_load = load;
}

/* 1 when the library `name` loaded in Redis has exactly this source. */
static int rds_library_matches(redisContext *c, const char *name, const char *src)
{
    redisReply *r = redisCommand(c, "FUNCTION LIST LIBRARYNAME %s WITHCODE", name);
    int match = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *lib = r->element[i];
        const char *lname = NULL, *code = NULL;
        for (size_t j = 0; lib->type == REDIS_REPLY_ARRAY && j + 1 < lib->elements; j += 2) {
            if (lib->element[j]->type != REDIS_REPLY_STRING || lib->element[j + 1]->type != REDIS_REPLY_STRING)
                continue;
            if (!strcmp(lib->element[j]->str, "library_name"))
                lname = lib->element[j + 1]->str;
            else if (!strcmp(lib->element[j]->str, "library_code"))
                code = lib->element[j + 1]->str;
        }
        if (lname && code && !strcmp(lname, name) && !strcmp(code, src))
            match = 1;
    }
    if (r)
        freeReplyObject(r);
    return match;
}

char *rds_library_source(const char *code, const char *name)
{
    static const char mark[] = "__LIB__";
    size_t count = 0, nlen = strlen(name), mlen = sizeof mark - 1;
    for (const char *p = strstr(code, mark); p; p = strstr(p + mlen, mark))
        count++;
    char *out = xmalloc(strlen(code) + count * nlen + 1);
    char *w = out;
    const char *r = code;
    for (const char *p = strstr(r, mark); p; p = strstr(r, mark)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, name, nlen);
        w += nlen;
        r = p + mlen;
    }
    strcpy(w, r);
    return out;
}

static struct timeval rds_tv(int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    return tv;
}

static redisContext *rds_open(const char *host, int port, int64_t connect_ms, int64_t cmd_ms, char *err, size_t errlen)
{
    redisContext *c = redisConnectWithTimeout(host, port, rds_tv(connect_ms));
    if (!c || c->err) {
        snprintf(err, errlen, "connect %s:%d: %s", host, port, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, rds_tv(cmd_ms));
    return c;
}

/* Asks each Sentinel in turn for the current primary. */
static int rds_sentinel_lookup(const rds_conf_t *conf, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
    char list[sizeof conf->sentinels];
    char *items[16];
    util_strlcpy(list, conf->sentinels, sizeof list);
    int n = util_split_list(list, items, 16);
    snprintf(err, errlen, "no sentinel answered in '%s'", conf->sentinels);
    for (int i = 0; i < n; i++) {
        char *colon = strrchr(items[i], ':');
        if (!colon)
            continue;
        *colon = '\0';
        redisContext *s = rds_open(items[i], atoi(colon + 1), conf->connect_timeout_ms, conf->command_timeout_ms, err, errlen);
        if (!s)
            continue;
        redisReply *r = redisCommand(s, "SENTINEL get-master-addr-by-name %s", conf->master);
        int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2;
        if (ok) {
            util_strlcpy(host, r->element[0]->str, hostlen);
            *port = atoi(r->element[1]->str);
        } else {
            snprintf(err, errlen, "sentinel %s: no primary named %s", items[i], conf->master);
        }
        if (r)
            freeReplyObject(r);
        redisFree(s);
        if (ok)
            return 0;
    }
    if (n == 0)
        snprintf(err, errlen, "no sentinel in '%s'", conf->sentinels);
    return -1;
}

static int rds_read_password(const rds_conf_t *conf, char *out, size_t cap, char *err, size_t errlen)
{
    if (conf->password[0] || !conf->password_file[0])
        return util_strlcpy(out, conf->password, cap);
    FILE *f = fopen(conf->password_file, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read the password file of Redis user '%s': %s: %s ([redis] password_file)",
                 conf->user[0] ? conf->user : "default", conf->password_file, strerror(errno));
        return -1;
    }
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* The value of "name:value" in INFO text into out; -1 when absent. */
static int rds_info_field(const char *info, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = info; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, name, n) && p[n] == ':') {
            size_t len = strcspn(p + n + 1, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, p + n + 1);
            return 0;
        }
    return -1;
}

int rds_parse_persistence(const char *info, rds_persistence_t *out)
{
    char aof[8] = "", loading[8] = "";
    memset(out, 0, sizeof *out);
    int rc = rds_info_field(info, "aof_enabled", aof, sizeof aof) | rds_info_field(info, "loading", loading, sizeof loading)
             | rds_info_field(info, "aof_last_write_status", out->aof_last_write_status,
                              sizeof out->aof_last_write_status)
             | rds_info_field(info, "aof_last_bgrewrite_status", out->aof_last_bgrewrite_status,
                              sizeof out->aof_last_bgrewrite_status);
    char running[8] = "", scheduled[8] = "";
    rds_info_field(info, "aof_rewrite_in_progress", running, sizeof running);
    rds_info_field(info, "aof_rewrite_scheduled", scheduled, sizeof scheduled);
    out->aof_rewriting = !strcmp(running, "1") || !strcmp(scheduled, "1");
    out->aof_enabled = !strcmp(aof, "1");
    out->loading = !strcmp(loading, "1");
    out->known = rc == 0;
    return rc == 0 ? 0 : -1;
}

/* INFO persistence of connection cn into cn->persistence (a service's ACL
 * user may run exactly that: +info|persistence); known = 0 when its fields
 * are not there. -1 when the connection failed. */
static int rds_read_persistence(redisContext *c, rds_conn_t *cn)
{
    cn->persistence.known = 0;
    redisReply *r = redisCommand(c, "INFO persistence");
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_STRING || rds_parse_persistence(r->str, &cn->persistence) != 0)
        log_warn("redis_persistence_unknown", "reason=\"%.200s\"",
                 r->type == REDIS_REPLY_ERROR ? r->str : "fields missing in INFO persistence");
    freeReplyObject(r);
    return 0;
}

static void rds_failed(rds_t *self, rds_conn_t *cn);

void rds_persistence(rds_t *self, rds_persistence_t *out)
{
    rds_conn_t *cn = &self->conn[0];
    if (cn->ctx && rds_read_persistence(cn->ctx, cn) != 0)
        rds_failed(self, cn);
    *out = cn->persistence;
}

static int rds_conn_ensure(rds_t *self, rds_conn_t *cn);

void rds_persistence_at(rds_t *self, int i, rds_persistence_t *out)
{
    rds_conn_t *cn = &self->conn[i > 0 && i < self->nconn ? i : 0];
    if (rds_conn_ensure(self, cn) != 0) {
        memset(out, 0, sizeof *out);
        return;
    }
    if (rds_read_persistence(cn->ctx, cn) != 0)
        rds_failed(self, cn);
    *out = cn->persistence;
}

static int rds_expect_ok(redisContext *c, redisReply *r, const char *what, char *err, size_t errlen)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Connects cn: the default through Sentinel or at host/port, a shard at
 * its address. */
static int rds_connect_one(rds_t *self, rds_conn_t *cn, char *err, size_t errlen)
{
    rds_conn_drop(cn);
    const rds_conf_t *conf = &self->conf;
    char host[128];
    int port = (int)conf->port;
    util_strlcpy(host, conf->host, sizeof host);
    int sentinel = conf->sentinels[0] && !cn->territory;
    if (cn->territory) {
        const rds_shard_t *sh = &conf->shards[cn - self->conn - 1];
        util_strlcpy(host, sh->host, sizeof host);
        port = sh->port;
    }
    if (sentinel && rds_sentinel_lookup(conf, host, sizeof host, &port, err, errlen) != 0)
        return -1;

    /* the password first: a file that is not there is a setup error, which
     * no retry will mend (-2), whether Redis is up or not */
    char password[128];
    if (rds_read_password(conf, password, sizeof password, err, errlen) != 0)
        return -2;
    redisContext *c = rds_open(host, port, conf->connect_timeout_ms, conf->command_timeout_ms, err, errlen);
    if (!c)
        return -1;
    if (password[0]) {
        redisReply *r = conf->user[0] ? redisCommand(c, "AUTH %s %s", conf->user, password)
                                      : redisCommand(c, "AUTH %s", password);
        if (rds_expect_ok(c, r, "AUTH", err, errlen) != 0)
            goto fail;
    }
    if (rds_expect_ok(c, redisCommand(c, "CLIENT SETNAME %s", self->name), "CLIENT SETNAME", err, errlen) != 0)
        goto fail;
    if (sentinel) {
        /* Sentinel may lag a failover: only a primary will do. */
        redisReply *r = redisCommand(c, "ROLE");
        int primary = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->str
                      && strcmp(r->element[0]->str, "master") == 0;
        if (r)
            freeReplyObject(r);
        if (!primary) {
            snprintf(err, errlen, "%s:%d is not a primary", host, port);
            goto fail;
        }
    }
    if (rds_read_persistence(c, cn) != 0) {
        snprintf(err, errlen, "INFO persistence: %s", c->errstr);
        goto fail;
    }
    const rds_persistence_t *seen = &cn->persistence;
    if (seen->known && seen->loading) {
        /* meanwhile Redis reports AOF off and refuses the library check:
         * say what is really happening, not that AOF is off or the library
         * missing */
        snprintf(err, errlen, "Redis %s:%d is still loading its data into memory (LOADING): waiting", host, port);
        goto fail;
    }
    if (conf->require_aof && (!seen->known || !seen->aof_enabled)) {
        if (seen->known)
            snprintf(err, errlen,
                     "Redis %s:%d runs without AOF (appendonly no): what is acknowledged would not survive its "
                     "restart; turn AOF on, or set [redis] require_aof = no for a deliberately non-persistent setup",
                     host, port);
        else
            snprintf(err, errlen,
                     "cannot read INFO persistence of %s:%d to check that AOF is on: the ACL user needs "
                     "+info|persistence (deploy/setup.sh writes it), or set [redis] require_aof = no",
                     host, port);
        redisFree(c);
        return -2;
    }
    if (self->lib_code) {
        char *src = rds_library_source(self->lib_code, self->lib_name);
        int ok;
        if (self->lib_load) {
            ok = rds_expect_ok(c, redisCommand(c, "FUNCTION LOAD REPLACE %s", src), "FUNCTION LOAD", err, errlen) == 0;
        } else {
            ok = rds_library_matches(c, self->lib_name, src);
            if (!ok)
                snprintf(err, errlen,
                         "function library %s is missing or not this build's: run `tremplin functions load` "
                         "(or give a changed library a new version)", self->lib_name);
        }
        free(src);
        if (!ok)
            goto fail;
    }
    cn->ctx = c;
    cn->backoff_ms = 0;
    if (cn->territory)
        log_info("redis_connected", "addr=%s:%d user=%s shard=%s", host, port, conf->user[0] ? conf->user : "default",
                 cn->territory);
    else
        log_info("redis_connected", "addr=%s:%d user=%s", host, port, conf->user[0] ? conf->user : "default");
    return 0;
fail:
    redisFree(c);
    return -1;
}

int rds_connect(rds_t *self, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; i < self->nconn; i++) {
        char e[1024];
        int r = rds_connect_one(self, &self->conn[i], e, sizeof e);
        if (r != 0 && (rc == 0 || r < rc)) { /* the worst: a configuration fault (-2) first */
            rc = r;
            snprintf(err, errlen, "%s%s%s", self->conn[i].territory ? "shard " : "",
                     self->conn[i].territory ? self->conn[i].territory : "", self->conn[i].territory ? ": " : "");
            size_t l = strlen(err);
            util_strlcpy(err + l, e, errlen - l);
        }
    }
    return rc;
}

int rds_connected(const rds_t *self)
{
    for (int i = 0; i < self->nconn; i++)
        if (!self->conn[i].ctx)
            return 0;
    return 1;
}

static int rds_conn_ensure(rds_t *self, rds_conn_t *cn)
{
    if (cn->ctx)
        return 0;
    int64_t now = clock_mono_ms();
    if (now < cn->next_try_ms)
        return -1;
    char err[1024];
    if (rds_connect_one(self, cn, err, sizeof err) == 0)
        return 0;
    int64_t max = self->conf.backoff_max_ms > 0 ? self->conf.backoff_max_ms : 5000;
    cn->backoff_ms = cn->backoff_ms ? cn->backoff_ms * 2 : 100;
    if (cn->backoff_ms > max)
        cn->backoff_ms = max;
    cn->next_try_ms = now + cn->backoff_ms / 2 + (int64_t)(util_random_u64() % (uint64_t)(cn->backoff_ms / 2 + 1));
    if (cn->territory)
        log_warn("redis_unavailable", "shard=%s reason=\"%s\" retry_in_ms=%lld", cn->territory, err,
                 (long long)(cn->next_try_ms - now));
    else
        log_warn("redis_unavailable", "reason=\"%s\" retry_in_ms=%lld", err, (long long)(cn->next_try_ms - now));
    return -1;
}

int rds_ensure(rds_t *self)
{
    int rc = 0;
    for (int i = 0; i < self->nconn; i++)
        rc |= rds_conn_ensure(self, &self->conn[i]);
    return rc ? -1 : 0;
}

static void rds_failed(rds_t *self, rds_conn_t *cn)
{
    (void)self;
    log_warn("redis_lost", "reason=\"%s\"%s%s", cn->ctx ? cn->ctx->errstr : "?", cn->territory ? " shard=" : "",
             cn->territory ? cn->territory : "");
    rds_conn_drop(cn);
    cn->next_try_ms = 0; /* first reconnect at once; backoff after that */
}

/* ------------------------------------------------------------- routing */

/* The territory of the first "tp:{T}" or "audit:{T}" (the audit trail,
 * common/bus.lua, written by the territory's functions) in s[0..len) into
 * t; 0, or -1 when there is none (a command without a territory's key). */
static int rds_tag(const char *s, size_t len, const char **t, size_t *tlen)
{
    for (size_t i = 0; i + 4 < len; i++) {
        size_t at = 0;
        if (s[i] == 't' && !memcmp(s + i, "tp:{", 4))
            at = i + 4;
        else if (s[i] == 'a' && i + 7 < len && !memcmp(s + i, "audit:{", 7))
            at = i + 7;
        if (!at)
            continue;
        const char *end = memchr(s + at, '}', len - at);
        if (!end)
            return -1;
        *t = s + at;
        *tlen = (size_t)(end - *t);
        return 0;
    }
    return -1;
}

/* The connection of a territory: its shard's, else the default. */
static int rds_pick(const rds_t *self, const char *t, size_t tlen)
{
    for (int i = 1; t && i < self->nconn; i++)
        if (strlen(self->conn[i].territory) == tlen && !memcmp(self->conn[i].territory, t, tlen))
            return i;
    return 0;
}

/* The connection of a command: that of the territory of its first key. */
static int rds_pick_argv(const rds_t *self, int argc, const char **argv, const size_t *lens)
{
    if (self->nconn == 1)
        return 0;
    for (int i = 1; i < argc; i++) {
        const char *t;
        size_t tlen;
        size_t l = lens ? lens[i] : strlen(argv[i]);
        if (rds_tag(argv[i], l, &t, &tlen) == 0)
            return rds_pick(self, t, tlen);
    }
    return 0;
}

int rds_shard_count(const rds_t *self) { return self->nconn; }

const char *rds_shard_territory(const rds_t *self, int i)
{
    return i > 0 && i < self->nconn ? self->conn[i].territory : NULL;
}

/* One command on connection i, read at once. */
static redisReply *rds_run_formatted(rds_t *self, int i, const char *cmd, size_t len)
{
    rds_conn_t *cn = &self->conn[i];
    if (rds_conn_ensure(self, cn) != 0)
        return NULL;
    void *r = NULL;
    if (redisAppendFormattedCommand(cn->ctx, cmd, len) != REDIS_OK || redisGetReply(cn->ctx, &r) != REDIS_OK)
        r = NULL;
    if (!r)
        rds_failed(self, cn);
    self->touched |= 1u << i;
    return r;
}

/* A command on connection i, or (i < 0) on that of its first key's territory. */
static redisReply *rds_vcmd(rds_t *self, int i, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0)
        return NULL;
    const char *t = NULL;
    size_t tlen = 0;
    if (i < 0)
        i = self->nconn > 1 && rds_tag(cmd, (size_t)len, &t, &tlen) == 0 ? rds_pick(self, t, tlen) : 0;
    redisReply *r = rds_run_formatted(self, i, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

redisReply *rds_cmd(rds_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = rds_vcmd(self, -1, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *rds_cmd_at(rds_t *self, int i, const char *fmt, ...)
{
    if (i < 0 || i >= self->nconn)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = rds_vcmd(self, i, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *rds_cmd_argv(rds_t *self, int argc, const char **argv, const size_t *lens)
{
    rds_append_argv(self, argc, argv, lens);
    redisReply *r = NULL;
    return rds_read(self, &r, 1) == 0 ? r : NULL;
}

static void rds_order_push(rds_t *self, uint32_t mask)
{
    if (self->norder == self->order_cap) {
        self->order_cap = self->order_cap ? self->order_cap * 2 : 64;
        self->order = xrealloc(self->order, (size_t)self->order_cap * sizeof *self->order);
    }
    self->order[self->norder++] = mask;
}

/* Pipelining. Each connection is settled by the first append of a batch to
 * it: a reconnect in the middle would misalign replies, so without a
 * context the rest of its batch is read back as failures. A WAIT goes to
 * every connection written to since the last one (the default when none):
 * the steps of a batch may have gone to several shards. */
void rds_append_argv(rds_t *self, int argc, const char **argv, const size_t *lens)
{
    uint32_t mask;
    if (argc > 0 && (lens ? lens[0] == 4 : strlen(argv[0]) == 4) && !strncasecmp(argv[0], "WAIT", 4)) {
        mask = self->touched ? self->touched : 1u;
        self->touched = 0;
    } else {
        mask = 1u << rds_pick_argv(self, argc, argv, lens);
        self->touched |= mask;
    }
    for (int i = 0; i < self->nconn; i++) {
        if (!(mask & (1u << i)))
            continue;
        rds_conn_t *cn = &self->conn[i];
        if ((cn->pending == 0 && rds_conn_ensure(self, cn) != 0) || !cn->ctx) {
            cn->pending++;
            continue;
        }
        redisAppendCommandArgv(cn->ctx, argc, argv, lens);
        cn->pending++;
    }
    rds_order_push(self, mask);
}

/* Of the replies of one WAIT on several connections, the one with the
 * fewest replicas (or an error) stands for all; the others are freed. */
static redisReply *rds_worst(redisReply *a, redisReply *b)
{
    if (!a)
        return b;
    int a_first = a->type != REDIS_REPLY_INTEGER
                  || (b->type == REDIS_REPLY_INTEGER && a->integer <= b->integer);
    freeReplyObject(a_first ? b : a);
    return a_first ? a : b;
}

int rds_read_each(rds_t *self, redisReply **out, int n)
{
    int rc = 0;
    for (int k = 0; k < n; k++) {
        out[k] = NULL;
        uint32_t mask = k < self->norder ? self->order[k] : 1u;
        int failed = 0;
        for (int i = 0; i < self->nconn; i++) {
            if (!(mask & (1u << i)))
                continue;
            rds_conn_t *cn = &self->conn[i];
            void *reply = NULL;
            if (!cn->ctx) {
                failed = 1;
            } else if (redisGetReply(cn->ctx, &reply) != REDIS_OK || !reply) {
                rds_failed(self, cn);
                failed = 1;
            } else {
                out[k] = rds_worst(out[k], reply);
            }
        }
        if (failed && out[k]) { /* a WAIT some connection did not answer */
            freeReplyObject(out[k]);
            out[k] = NULL;
        }
        rc |= failed;
    }
    for (int i = 0; i < self->nconn; i++)
        self->conn[i].pending = 0;
    self->norder = 0;
    return rc ? -1 : 0;
}

int rds_read(rds_t *self, redisReply **out, int n)
{
    if (rds_read_each(self, out, n) == 0)
        return 0;
    for (int k = 0; k < n; k++)
        if (out[k]) {
            freeReplyObject(out[k]);
            out[k] = NULL;
        }
    return -1;
}

int rds_territory_conn(const rds_t *self, const char *T) { return rds_pick(self, T, strlen(T)); }

int rds_territory_up(const rds_t *self, const char *T) { return self->conn[rds_territory_conn(self, T)].ctx != NULL; }

int rds_aof_rewrite_at(rds_t *self, int i, char *err, size_t errlen)
{
    redisReply *r = rds_cmd_at(self, i, "BGREWRITEAOF");
    if (!r) {
        snprintf(err, errlen, "Redis%s%s unreachable", i > 0 ? " of territory " : "", i > 0 ? self->conn[i].territory : "");
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = strstr(r->str, "already in progress") ? 1 : -1;
        snprintf(err, errlen, "%.200s", r->str);
    }
    freeReplyObject(r);
    return rc;
}

int rds_replicated(rds_t *self)
{
    if (self->conf.wait_replicas <= 0)
        return 1;
    char n_rep[24], ms[24];
    snprintf(n_rep, sizeof n_rep, "%lld", (long long)self->conf.wait_replicas);
    snprintf(ms, sizeof ms, "%lld", (long long)self->conf.wait_timeout_ms);
    const char *argv[3] = { "WAIT", n_rep, ms };
    redisReply *r = rds_cmd_argv(self, 3, argv, NULL);
    int ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= self->conf.wait_replicas;
    if (r)
        freeReplyObject(r);
    return ok;
}
