#include "rds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "util.h"

struct rds {
    rds_conf_t conf;
    redisContext *ctx;
    char name[64];
    char *lib_name;
    char *lib_code;
    int lib_load;
    int64_t next_try_ms;
    int64_t backoff_ms;
    int pending; /* appended commands whose replies are not read yet */
    rds_persistence_t persistence; /* as last read */
};

rds_t *rds_new(const rds_conf_t *conf, const char *client_name)
{
    rds_t *self = xcalloc(1, sizeof *self);
    self->conf = *conf;
    util_strlcpy(self->name, client_name, sizeof self->name);
    return self;
}

static void rds_drop(rds_t *self)
{
    if (self->ctx)
        redisFree(self->ctx);
    self->ctx = NULL;
    self->pending = 0;
}

void rds_destroy(rds_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rds_t *self = *self_p;
    rds_drop(self);
    free(self->lib_name);
    free(self->lib_code);
    free(self);
    *self_p = NULL;
}

void rds_set_conf(rds_t *self, const rds_conf_t *conf) { self->conf = *conf; }

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

/* INFO persistence into self->persistence (a service's ACL user may run
 * exactly that: +info|persistence). -1 when the connection failed. */
static int rds_read_persistence(rds_t *self, redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO persistence");
    if (!r)
        return -1;
    rds_persistence_t p;
    if (r->type == REDIS_REPLY_STRING && rds_parse_persistence(r->str, &p) == 0)
        self->persistence = p;
    else
        log_warn("redis_persistence_unknown", "reason=\"%.200s\"",
                 r->type == REDIS_REPLY_ERROR ? r->str : "fields missing in INFO persistence");
    freeReplyObject(r);
    return 0;
}

static void rds_failed(rds_t *self);

void rds_persistence(rds_t *self, rds_persistence_t *out)
{
    if (self->ctx && rds_read_persistence(self, self->ctx) != 0)
        rds_failed(self);
    *out = self->persistence;
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

int rds_connect(rds_t *self, char *err, size_t errlen)
{
    rds_drop(self);
    const rds_conf_t *conf = &self->conf;
    char host[128];
    int port = (int)conf->port;
    util_strlcpy(host, conf->host, sizeof host);
    if (conf->sentinels[0] && rds_sentinel_lookup(conf, host, sizeof host, &port, err, errlen) != 0)
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
    if (conf->sentinels[0]) {
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
    self->persistence.known = 0;
    if (rds_read_persistence(self, c) != 0) {
        snprintf(err, errlen, "INFO persistence: %s", c->errstr);
        goto fail;
    }
    if (self->persistence.known && self->persistence.loading) {
        /* meanwhile Redis reports AOF off and refuses the library check:
         * say what is really happening, not that AOF is off or the library
         * missing */
        snprintf(err, errlen, "Redis %s:%d is still loading its data into memory (LOADING): waiting", host, port);
        goto fail;
    }
    if (conf->require_aof && (!self->persistence.known || !self->persistence.aof_enabled)) {
        if (self->persistence.known)
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
    self->ctx = c;
    self->backoff_ms = 0;
    log_info("redis_connected", "addr=%s:%d user=%s", host, port, conf->user[0] ? conf->user : "default");
    return 0;
fail:
    redisFree(c);
    return -1;
}

int rds_connected(const rds_t *self) { return self->ctx != NULL; }

int rds_ensure(rds_t *self)
{
    if (self->ctx)
        return 0;
    int64_t now = clock_mono_ms();
    if (now < self->next_try_ms)
        return -1;
    char err[256];
    if (rds_connect(self, err, sizeof err) == 0)
        return 0;
    int64_t max = self->conf.backoff_max_ms > 0 ? self->conf.backoff_max_ms : 5000;
    self->backoff_ms = self->backoff_ms ? self->backoff_ms * 2 : 100;
    if (self->backoff_ms > max)
        self->backoff_ms = max;
    self->next_try_ms = now + self->backoff_ms / 2 + (int64_t)(util_random_u64() % (uint64_t)(self->backoff_ms / 2 + 1));
    log_warn("redis_unavailable", "reason=\"%s\" retry_in_ms=%lld", err, (long long)(self->next_try_ms - now));
    return -1;
}

static void rds_failed(rds_t *self)
{
    log_warn("redis_lost", "reason=\"%s\"", self->ctx ? self->ctx->errstr : "?");
    rds_drop(self);
    self->next_try_ms = 0; /* first reconnect at once; backoff after that */
}

redisReply *rds_cmd(rds_t *self, const char *fmt, ...)
{
    if (rds_ensure(self) != 0)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(self->ctx, fmt, ap);
    va_end(ap);
    if (!r)
        rds_failed(self);
    return r;
}

redisReply *rds_cmd_argv(rds_t *self, int argc, const char **argv, const size_t *lens)
{
    if (rds_ensure(self) != 0)
        return NULL;
    redisReply *r = redisCommandArgv(self->ctx, argc, argv, lens);
    if (!r)
        rds_failed(self);
    return r;
}

/* The connection is settled by the first append of a batch: a reconnect in
 * the middle would misalign replies, so without a context the whole batch is
 * read back as failures. */
void rds_append_argv(rds_t *self, int argc, const char **argv, const size_t *lens)
{
    if ((self->pending == 0 && rds_ensure(self) != 0) || !self->ctx) {
        self->pending++;
        return;
    }
    redisAppendCommandArgv(self->ctx, argc, argv, lens);
    self->pending++;
}

int rds_read(rds_t *self, redisReply **out, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (rc == 0 && self->ctx) {
            void *reply = NULL;
            if (redisGetReply(self->ctx, &reply) != REDIS_OK || !reply) {
                rds_failed(self);
                rc = -1;
            } else {
                out[i] = reply;
            }
        } else {
            rc = -1;
        }
    }
    if (rc != 0)
        for (int i = 0; i < n; i++)
            if (out[i]) {
                freeReplyObject(out[i]);
                out[i] = NULL;
            }
    self->pending = 0;
    return rc;
}

int rds_aof_rewrite(rds_t *self, char *err, size_t errlen)
{
    redisReply *r = rds_cmd(self, "BGREWRITEAOF");
    if (!r) {
        snprintf(err, errlen, "Redis unreachable");
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
