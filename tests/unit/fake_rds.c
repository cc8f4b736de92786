/* fake_rds — see fake_rds.h. Implements common/rds.h. */
#include "fake_rds.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rds.h"
#include "util.h"

#define FAKE_MAX_SCRIPTS 256

struct rds {
    rds_conf_t conf;
};

static struct {
    fake_cmd_t *cmds;
    int ncmds, cap;
    int batch;          /* the pipeline being appended to */
    redisReply **queue; /* answers of the appended commands, not read yet */
    int nqueue, qcap;
    struct {
        char name[128];
        redisReply *reply;
    } scripts[FAKE_MAX_SCRIPTS];
    int nscripts;
    fake_rds_answer_fn answer;
    void *answer_arg;
    int down;
    char territory_down[16]; /* "" : none */
} fake;

/* ----------------------------------------------------------------- replies */

static redisReply *fake_reply(int type)
{
    redisReply *r = xcalloc(1, sizeof *r);
    r->type = type;
    return r;
}

static redisReply *fake_reply_text(int type, const void *data, size_t len)
{
    redisReply *r = fake_reply(type);
    r->str = xmalloc(len + 1);
    memcpy(r->str, data, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

redisReply *fake_reply_status(const char *s) { return fake_reply_text(REDIS_REPLY_STATUS, s, strlen(s)); }
redisReply *fake_reply_error(const char *s) { return fake_reply_text(REDIS_REPLY_ERROR, s, strlen(s)); }
redisReply *fake_reply_bin(const void *data, size_t len) { return fake_reply_text(REDIS_REPLY_STRING, data, len); }
redisReply *fake_reply_str(const char *s) { return fake_reply_bin(s, strlen(s)); }
redisReply *fake_reply_nil(void) { return fake_reply(REDIS_REPLY_NIL); }

redisReply *fake_reply_int(long long v)
{
    redisReply *r = fake_reply(REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

redisReply *fake_reply_array(size_t n, redisReply **elements)
{
    redisReply *r = fake_reply(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = n ? xcalloc(n, sizeof *r->element) : NULL;
    for (size_t i = 0; i < n; i++)
        r->element[i] = elements[i];
    return r;
}

redisReply *fake_reply_strs(size_t n, const char *const *strs)
{
    redisReply *r = fake_reply_array(0, NULL);
    r->elements = n;
    r->element = n ? xcalloc(n, sizeof *r->element) : NULL;
    for (size_t i = 0; i < n; i++)
        r->element[i] = fake_reply_str(strs[i]);
    return r;
}

/* ---------------------------------------------------------------- commands */

static void fake_cmd_free(fake_cmd_t *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->lens);
}

void fake_rds_reset(void)
{
    for (int i = 0; i < fake.ncmds; i++)
        fake_cmd_free(&fake.cmds[i]);
    free(fake.cmds);
    for (int i = 0; i < fake.nqueue; i++)
        if (fake.queue[i])
            freeReplyObject(fake.queue[i]);
    free(fake.queue);
    for (int i = 0; i < fake.nscripts; i++)
        freeReplyObject(fake.scripts[i].reply);
    memset(&fake, 0, sizeof fake);
}

void fake_rds_answer(fake_rds_answer_fn fn, void *arg)
{
    fake.answer = fn;
    fake.answer_arg = arg;
}

void fake_rds_script(const char *name, redisReply *reply)
{
    if (fake.nscripts == FAKE_MAX_SCRIPTS)
        abort();
    util_strlcpy(fake.scripts[fake.nscripts].name, name, sizeof fake.scripts[0].name);
    fake.scripts[fake.nscripts++].reply = reply;
}

void fake_rds_down(int down) { fake.down = down; }
void fake_rds_territory_down(const char *T) { util_strlcpy(fake.territory_down, T ? T : "", sizeof fake.territory_down); }
int fake_rds_ncmds(void) { return fake.ncmds; }
const fake_cmd_t *fake_rds_cmd(int i) { return i >= 0 && i < fake.ncmds ? &fake.cmds[i] : NULL; }
int fake_rds_batches(void) { return fake.batch; }

int fake_rds_count(const char *name)
{
    int n = 0;
    for (int i = 0; i < fake.ncmds; i++)
        n += fake.cmds[i].sent && (!name || strcmp(fake.cmds[i].name, name) == 0);
    return n;
}

const fake_cmd_t *fake_rds_last(const char *name)
{
    for (int i = fake.ncmds - 1; i >= 0; i--)
        if (fake.cmds[i].sent && (!name || strcmp(fake.cmds[i].name, name) == 0))
            return &fake.cmds[i];
    return NULL;
}

int fake_cmd_arg_is(const fake_cmd_t *cmd, int i, const char *s)
{
    return i < cmd->argc && cmd->lens[i] == strlen(s) && memcmp(cmd->argv[i], s, cmd->lens[i]) == 0;
}

static int fake_words(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        n += *p != ' ' && (p == s || p[-1] == ' ');
    return n;
}

/* Where the key names of an FCALL built by common/call.c stand (argv
 * index), or -1; *first_key: where its own keys start. A step's names follow
 * its keys; a command's follow the bus prefix (two keys, then ttl, digest,
 * nout and nout triples): its ttl, one word, never names its keys. */
static int fake_names_at(const fake_cmd_t *c, int *first_key)
{
    if (c->argc < 4 || strcasecmp(c->argv[0], "FCALL") != 0)
        return -1;
    int nk = atoi(c->argv[2]), at = 3 + nk;
    if (at >= c->argc)
        return -1;
    *first_key = 3;
    if (fake_words(c->argv[at]) == nk)
        return at;
    *first_key = 5;
    if (at + 2 >= c->argc)
        return -1;
    at += 3 + 3 * atoi(c->argv[at + 2]);
    return at < c->argc ? at : -1;
}

/* The value named name: the i-th word of names, the i-th value after. */
static const char *fake_named(const fake_cmd_t *c, int names, int first, const char *name)
{
    size_t n = strlen(name);
    int i = 0;
    for (const char *p = c->argv[names]; *p; i++) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (w == n && !strncmp(p, name, n))
            return first + i < c->argc ? c->argv[first + i] : NULL;
        p += w;
    }
    return NULL;
}

const char *fake_cmd_key(const fake_cmd_t *c, const char *name)
{
    int first, at = fake_names_at(c, &first);
    return at < 0 ? NULL : fake_named(c, at, first, name);
}

const char *fake_cmd_arg(const fake_cmd_t *c, const char *name)
{
    int first, at = fake_names_at(c, &first);
    return at < 0 || at + 1 >= c->argc ? NULL : fake_named(c, at + 1, at + 2, name);
}

/* Records a command and queues its answer (computed now: Redis runs the
 * commands of a pipeline in order, so an answer may depend on the ones
 * before it). */
static void fake_record(int argc, const char **argv, const size_t *lens)
{
    if (fake.ncmds == fake.cap) {
        fake.cap = fake.cap ? fake.cap * 2 : 64;
        fake.cmds = xrealloc(fake.cmds, (size_t)fake.cap * sizeof *fake.cmds);
    }
    fake_cmd_t *c = &fake.cmds[fake.ncmds++];
    c->argc = argc;
    c->argv = xcalloc((size_t)argc + 1, sizeof *c->argv);
    c->lens = xcalloc((size_t)argc + 1, sizeof *c->lens);
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        c->argv[i] = xmalloc(len + 1);
        memcpy(c->argv[i], argv[i], len);
        c->argv[i][len] = '\0';
        c->lens[i] = len;
    }
    c->name = argc > 1 && !strcasecmp(c->argv[0], "FCALL") ? c->argv[1] : argc > 0 ? c->argv[0] : "";
    c->batch = fake.batch;
    c->sent = !fake.down;
    if (!c->sent)
        return;
    redisReply *reply = NULL;
    int scripted = 0;
    for (int i = 0; i < fake.nscripts && !scripted; i++)
        if (strcmp(fake.scripts[i].name, c->name) == 0) {
            reply = fake.scripts[i].reply;
            memmove(&fake.scripts[i], &fake.scripts[i + 1], (size_t)(fake.nscripts - i - 1) * sizeof fake.scripts[0]);
            fake.nscripts--;
            scripted = 1;
        }
    if (!scripted)
        reply = fake.answer ? fake.answer(fake.answer_arg, c) : fake_reply_nil();
    if (fake.nqueue == fake.qcap) {
        fake.qcap = fake.qcap ? fake.qcap * 2 : 64;
        fake.queue = xrealloc(fake.queue, (size_t)fake.qcap * sizeof *fake.queue);
    }
    fake.queue[fake.nqueue++] = reply;
}

/* ------------------------------------------------------------ rds.h, faked */

rds_t *rds_new(const rds_conf_t *conf, const char *client_name)
{
    (void)client_name;
    rds_t *self = xcalloc(1, sizeof *self);
    self->conf = *conf;
    return self;
}

void rds_destroy(rds_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void rds_set_conf(rds_t *self, const rds_conf_t *conf) { self->conf = *conf; }

void rds_set_library(rds_t *self, const char *name, const char *code, int load)
{
    (void)self;
    (void)name;
    (void)code;
    (void)load;
}

int rds_connect(rds_t *self, char *err, size_t errlen)
{
    (void)self;
    if (fake.down)
        snprintf(err, errlen, "fake Redis is down");
    return fake.down ? -1 : 0;
}

void rds_persistence(rds_t *self, rds_persistence_t *out)
{
    (void)self;
    *out = (rds_persistence_t){ .known = 1, .aof_enabled = 1, .aof_last_write_status = "ok",
                                .aof_last_bgrewrite_status = "ok" };
}

int rds_ensure(rds_t *self)
{
    (void)self;
    return fake.down ? -1 : 0;
}

int rds_connected(const rds_t *self)
{
    (void)self;
    return !fake.down;
}

void rds_append_argv(rds_t *self, int argc, const char **argv, const size_t *lens)
{
    (void)self;
    fake_record(argc, argv, lens);
}

int rds_read(rds_t *self, redisReply **out, int n)
{
    (void)self;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        out[i] = i < fake.nqueue ? fake.queue[i] : NULL;
        rc |= out[i] == NULL; /* down, or a connection lost mid-pipeline */
    }
    int taken = n < fake.nqueue ? n : fake.nqueue;
    if (taken > 0)
        memmove(fake.queue, fake.queue + taken, (size_t)(fake.nqueue - taken) * sizeof *fake.queue);
    fake.nqueue -= taken;
    if (rc != 0) { /* as rds.c: every reply of a failed read is NULL, and what is left is lost */
        for (int i = 0; i < n; i++)
            if (out[i]) {
                freeReplyObject(out[i]);
                out[i] = NULL;
            }
        for (int i = 0; i < fake.nqueue; i++)
            if (fake.queue[i])
                freeReplyObject(fake.queue[i]);
        fake.nqueue = 0;
    }
    if (n > 0)
        fake.batch++;
    return rc ? -1 : 0;
}

/* One Redis here: every reply of a failed read is NULL either way. */
int rds_read_each(rds_t *self, redisReply **out, int n) { return rds_read(self, out, n); }

int rds_territory_up(const rds_t *self, const char *T)
{
    (void)self;
    return !fake.down && !(T && !strcmp(T, fake.territory_down));
}

redisReply *rds_cmd_argv(rds_t *self, int argc, const char **argv, const size_t *lens)
{
    if (rds_ensure(self) != 0)
        return NULL;
    rds_append_argv(self, argc, argv, lens);
    redisReply *r;
    return rds_read(self, &r, 1) == 0 ? r : NULL;
}

/* The printf form: hiredis formats it (as Redis would receive it), and the
 * protocol text is split back into arguments. */
redisReply *rds_cmd(rds_t *self, const char *fmt, ...)
{
    if (rds_ensure(self) != 0)
        return NULL;
    char *proto = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&proto, fmt, ap);
    va_end(ap);
    if (len < 0)
        abort();
    char *p = proto;
    int argc = (int)strtol(p + 1, &p, 10);
    const char **argv = xcalloc((size_t)argc + 1, sizeof *argv);
    size_t *lens = xcalloc((size_t)argc + 1, sizeof *lens);
    for (int i = 0; i < argc; i++) {
        p = strchr(p, '$') + 1;
        lens[i] = (size_t)strtol(p, &p, 10);
        argv[i] = p + 2; /* after \r\n */
        p += 2 + lens[i];
    }
    redisReply *r = rds_cmd_argv(self, argc, argv, lens);
    free(argv);
    free(lens);
    redisFreeCommand(proto);
    return r;
}
