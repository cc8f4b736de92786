#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    char *data;
    size_t len, cap;
} snap_text_t;

static void text_add(snap_text_t *t, const char *s, size_t len)
{
    if (t->len + len + 2 > t->cap) {
        t->cap = (t->len + len + 2) * 2;
        t->data = xrealloc(t->data, t->cap);
    }
    memcpy(t->data + t->len, s, len);
    t->len += len;
    t->data[t->len++] = '\x1f'; /* a separator no value of ours contains */
    t->data[t->len] = '\0';
}

static void text_reply(snap_text_t *t, const redisReply *r)
{
    if (!r)
        return;
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        text_add(t, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER: {
        char n[32];
        snprintf(n, sizeof n, "%lld", r->integer);
        text_add(t, n, strlen(n));
        break;
    }
    case REDIS_REPLY_NIL:
        text_add(t, "(nil)", 5);
        break;
    case REDIS_REPLY_ARRAY:
        text_add(t, "[", 1);
        for (size_t i = 0; i < r->elements; i++)
            text_reply(t, r->element[i]);
        text_add(t, "]", 1);
        break;
    default:
        text_add(t, "?", 1);
    }
}

/* Pairs (hash field, value) or single members, sorted: their order in Redis
 * depends on the encoding, which a reload may change. */
typedef struct {
    const redisReply *a, *b;
} snap_pair_t;

static int pair_cmp(const void *x, const void *y)
{
    const snap_pair_t *p = x, *q = y;
    size_t n = p->a->len < q->a->len ? p->a->len : q->a->len;
    int c = memcmp(p->a->str, q->a->str, n);
    return c ? c : (p->a->len > q->a->len) - (p->a->len < q->a->len);
}

static void text_sorted(snap_text_t *t, const redisReply *r, int step)
{
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        text_reply(t, r);
        return;
    }
    size_t n = r->elements / (size_t)step;
    snap_pair_t *p = xcalloc(n ? n : 1, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].a = r->element[i * (size_t)step];
        p[i].b = step == 2 ? r->element[i * 2 + 1] : NULL;
    }
    qsort(p, n, sizeof *p, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        text_reply(t, p[i].a);
        if (p[i].b)
            text_reply(t, p[i].b);
    }
    free(p);
}

static void snap_add(snap_t *s, const char *key, const char *type, snap_text_t *content)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->items = xrealloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->n++] = (snap_item_t){ xstrdup(key), xstrdup(type), content->data ? content->data : xstrdup("") };
    content->data = NULL;
}

/* The canonical content of one key. */
static int snap_key(h_env_t *h, snap_t *s, const char *key)
{
    redisReply *ty = h_redis(h, "TYPE %s", key);
    if (!ty)
        return -1;
    char type[16];
    util_strlcpy(type, ty->str ? ty->str : "?", sizeof type);
    freeReplyObject(ty);
    if (!strcmp(type, "none"))
        return 0; /* expired or deleted between SCAN and now */
    snap_text_t t = { 0 };
    redisReply *r = NULL;
    if (!strcmp(type, "string")) {
        r = h_redis(h, "GET %s", key);
        text_reply(&t, r);
    } else if (!strcmp(type, "hash")) {
        r = h_redis(h, "HGETALL %s", key);
        text_sorted(&t, r, 2);
    } else if (!strcmp(type, "set")) {
        r = h_redis(h, "SMEMBERS %s", key);
        text_sorted(&t, r, 1);
    } else if (!strcmp(type, "zset")) {
        r = h_redis(h, "ZRANGE %s 0 -1 WITHSCORES", key);
        text_reply(&t, r);
    } else if (!strcmp(type, "list")) {
        r = h_redis(h, "LRANGE %s 0 -1", key);
        text_reply(&t, r);
    } else if (!strcmp(type, "stream")) {
        r = h_redis(h, "XRANGE %s - +", key);
        text_reply(&t, r);
        freeReplyObject(r);
        r = h_redis(h, "XINFO GROUPS %s", key);
        /* per group: name, pending, last-delivered-id (not the consumers'
         * idle times, which run) */
        for (size_t g = 0; r && r->type == REDIS_REPLY_ARRAY && g < r->elements; g++) {
            const redisReply *grp = r->element[g];
            for (size_t i = 0; i + 1 < grp->elements; i += 2) {
                const char *f = grp->element[i]->str;
                if (!strcmp(f, "name") || !strcmp(f, "pending") || !strcmp(f, "last-delivered-id"))
                    text_reply(&t, grp->element[i + 1]);
            }
        }
    }
    if (r)
        freeReplyObject(r);
    long long ttl = h_redis_int(h, "PTTL %s", key);
    text_add(&t, ttl >= 0 ? "ttl" : "no-ttl", ttl >= 0 ? 3 : 6);
    snap_add(s, key, type, &t);
    return 0;
}

static int item_cmp(const void *x, const void *y)
{
    return strcmp(((const snap_item_t *)x)->key, ((const snap_item_t *)y)->key);
}

static int snap_scanned(h_env_t *h, const char *key, void *arg) { return snap_key(h, arg, key); }

int snap_take(h_env_t *h, snap_t *s)
{
    memset(s, 0, sizeof *s);
    if (h_scan(h, "*", snap_scanned, s) != 0)
        return -1;
    /* SCAN may return a key twice: keep one (an empty database has no
     * items at all: qsort may not be given NULL) */
    if (s->n > 1)
        qsort(s->items, s->n, sizeof *s->items, item_cmp);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (w > 0 && !strcmp(s->items[w - 1].key, s->items[i].key)) {
            free(s->items[i].key);
            free(s->items[i].type);
            free(s->items[i].content);
            continue;
        }
        s->items[w++] = s->items[i];
    }
    s->n = w;
    /* the function libraries travel with the data (ARCHITECTURE.md): each
     * one's name and code ('~' sorts them after every tp: key) */
    redisReply *f = h_redis(h, "FUNCTION LIST WITHCODE");
    for (size_t l = 0; f && f->type == REDIS_REPLY_ARRAY && l < f->elements; l++) {
        const redisReply *lib = f->element[l];
        char key[160] = "~function-library:?";
        snap_text_t t = { 0 };
        for (size_t i = 0; i + 1 < lib->elements; i += 2) {
            if (!strcmp(lib->element[i]->str, "library_name"))
                snprintf(key, sizeof key, "~function-library:%s", lib->element[i + 1]->str);
            else if (!strcmp(lib->element[i]->str, "library_code"))
                text_reply(&t, lib->element[i + 1]);
        }
        snap_add(s, key, "function", &t);
    }
    if (f)
        freeReplyObject(f);
    if (s->n > 1)
        qsort(s->items, s->n, sizeof *s->items, item_cmp);
    return 0;
}

void snap_free(snap_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].key);
        free(s->items[i].type);
        free(s->items[i].content);
    }
    free(s->items);
    memset(s, 0, sizeof *s);
}

size_t snap_count(const snap_t *s, const char *part)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += strstr(s->items[i].key, part) != NULL;
    return n;
}

size_t snap_diff(const snap_t *a, const snap_t *b, int show)
{
    size_t i = 0, j = 0, diff = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->items[i].key, b->items[j].key);
        const char *what = NULL, *key = NULL;
        if (c < 0) {
            what = "lost";
            key = a->items[i++].key;
        } else if (c > 0) {
            what = "appeared";
            key = b->items[j++].key;
        } else {
            if (strcmp(a->items[i].type, b->items[j].type) || strcmp(a->items[i].content, b->items[j].content)) {
                what = "changed";
                key = a->items[i].key;
            }
            i++;
            j++;
        }
        if (what) {
            if ((int)diff < show)
                fprintf(stderr, "snapshot: %s %s\n", what, key);
            diff++;
        }
    }
    return diff;
}
