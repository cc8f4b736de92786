/* figures — reads the services' figures from Redis into an aggregate (see
 * figures.h). Every read is a pipeline: the days of a year cost one round
 * trip per 512 commands, not one per key. */
#include "figures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "clock.h"
#include "keys.h"
#include "util.h"

const char *const fig_services[FIG_NSERVICES] = { "intake", "matcher", "scheduler", "survey", "gateway" };

#define FIG_PIPE_CHUNK 512
#define DAY_MS 86400000LL

/* ------------------------------------------------------------ helpers */

int64_t fig_int(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

const char *fig_str(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

int fig_is_day(const char *s)
{
    int32_t d;
    return s && strlen(s) == 10 && cal_parse_date(s, 2000, 2199, &d) == 0;
}

int fig_next_day(const char *day, char out[11])
{
    int32_t d;
    if (!day || cal_parse_date(day, 2000, 2199, &d) != 0)
        return -1;
    cal_format_date(d + 1, out);
    return 0;
}

/* A pipeline of commands of a few words each, run in chunks; the replies in
 * order (NULL where Redis did not answer). */
#define PIPE_WORDS 5

typedef struct {
    char *(*argv)[PIPE_WORDS];
    int *argc;
    int n, cap;
    redisReply **replies;
} pipe_t;

static void pipe_add(pipe_t *p, int argc, const char *a0, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->argv = xrealloc(p->argv, (size_t)p->cap * sizeof *p->argv);
        p->argc = xrealloc(p->argc, (size_t)p->cap * sizeof *p->argc);
    }
    const char *w[PIPE_WORDS] = { a0, a1, a2, a3, a4 };
    for (int i = 0; i < PIPE_WORDS; i++)
        p->argv[p->n][i] = i < argc ? xstrdup(w[i]) : NULL;
    p->argc[p->n++] = argc;
}

static int pipe_run(rds_t *rds, pipe_t *p)
{
    p->replies = xcalloc((size_t)p->n + 1, sizeof *p->replies);
    if (rds_ensure(rds) != 0)
        return -1;
    for (int from = 0; from < p->n; from += FIG_PIPE_CHUNK) {
        int k = p->n - from < FIG_PIPE_CHUNK ? p->n - from : FIG_PIPE_CHUNK;
        for (int i = 0; i < k; i++)
            rds_append_argv(rds, p->argc[from + i], (const char **)p->argv[from + i], NULL);
        if (rds_read(rds, p->replies + from, k) != 0)
            return -1;
    }
    return 0;
}

static void pipe_free(pipe_t *p)
{
    for (int i = 0; i < p->n; i++) {
        for (int j = 0; j < PIPE_WORDS; j++)
            free(p->argv[i][j]);
        if (p->replies && p->replies[i])
            freeReplyObject(p->replies[i]);
    }
    free(p->argv);
    free(p->argc);
    free(p->replies);
    memset(p, 0, sizeof *p);
}

/* A hash reply (HGETALL) as an object of integers; NULL when empty or not a
 * hash. Fields that are not integers are kept as strings (a session's kind). */
static json_object *hash_object(const redisReply *r, int numbers_only)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2)
        return NULL;
    json_object *o = json_object_new_object();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        if (!f || !v)
            continue;
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*v && !*end)
            json_object_object_add(o, f, json_object_new_int64(n));
        else if (!numbers_only)
            json_object_object_add(o, f, json_object_new_string(v));
    }
    return o;
}

static int64_t day_start_ms(const char *day)
{
    int32_t d;
    cal_parse_date(day, 2000, 2199, &d);
    return cal_from_local(clock_zone(), d, 0);
}

/* ------------------------------------------------------------ sessions */

/* The sessions whose figures are in fig:sessions with a start in [lo, hi]
 * (ms): their records, each with its id and local day. */
static json_object *read_sessions(rds_t *rds, const char *territory, int64_t lo, int64_t hi, int inclusive_lo,
                                  int *failed)
{
    char key[200], a[32], b[32];
    tp_key(key, sizeof key, territory, "scheduler", "fig:sessions");
    snprintf(a, sizeof a, "%s%lld", inclusive_lo ? "" : "(", (long long)lo);
    snprintf(b, sizeof b, "%lld", (long long)hi);
    json_object *out = json_object_new_array();
    redisReply *ids = rds_cmd(rds, "ZRANGEBYSCORE %s %s %s", key, a, b);
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        *failed = 1;
        if (ids)
            freeReplyObject(ids);
        return out;
    }
    pipe_t p = { 0 };
    for (size_t i = 0; i < ids->elements; i++) {
        tp_key(key, sizeof key, territory, "scheduler", "fig:session:%s", ids->element[i]->str);
        pipe_add(&p, 2, "HGETALL", key, NULL, NULL, NULL);
    }
    if (pipe_run(rds, &p) != 0)
        *failed = 1;
    for (int i = 0; !*failed && i < p.n; i++) {
        json_object *s = hash_object(p.replies[i], 0);
        if (!s)
            continue;
        char day[11];
        clock_local_day(fig_int(s, "start"), day);
        json_object_object_add(s, "id", json_object_new_string(ids->element[i]->str));
        json_object_object_add(s, "day", json_object_new_string(day));
        json_object_array_add(out, s);
    }
    pipe_free(&p);
    freeReplyObject(ids);
    return out;
}

/* The wait samples of a day's zset: members kind|branch|partner|booking. */
static void add_waits(json_object *waits, const char *day, const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        char m[256];
        util_strlcpy(m, r->element[i]->str ? r->element[i]->str : "", sizeof m);
        char *part[4] = { m, "", "", "" };
        for (int k = 1; k < 4; k++) {
            char *bar = strchr(part[k - 1], '|');
            if (!bar)
                break;
            *bar = '\0';
            part[k] = bar + 1;
        }
        json_object *w = json_object_new_object();
        json_object_object_add(w, "day", json_object_new_string(day));
        json_object_object_add(w, "kind", json_object_new_string(part[0]));
        json_object_object_add(w, "branch", json_object_new_string(part[1]));
        json_object_object_add(w, "partner", json_object_new_string(part[2]));
        json_object_object_add(w, "ms", json_object_new_int64(strtoll(r->element[i + 1]->str, NULL, 10)));
        json_object_array_add(waits, w);
    }
}

/* The capacity outlook's inputs, per kind: open sessions of the next
 * FIG_OUTLOOK_DAYS (count, seats, seats taken), the people waiting now, and
 * the assignments of the last FIG_OUTLOOK_DAYS (first and follow-ups). */
static json_object *read_outlook(rds_t *rds, const char *territory, int64_t now_ms, json_object *current, int *failed)
{
    json_object *out = json_object_new_object();
    json_object *ahead = read_sessions(rds, territory, now_ms, now_ms + FIG_OUTLOOK_DAYS * DAY_MS, 0, failed);
    size_t n = json_object_array_length(ahead);
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(ahead, i);
        if (strcmp(fig_str(s, "status"), "open") != 0)
            continue;
        const char *kind = fig_str(s, "kind");
        json_object *k;
        if (!json_object_object_get_ex(out, kind, &k)) {
            k = json_object_new_object();
            json_object_object_add(out, kind, k);
        }
        json_object_object_add(k, "sessions", json_object_new_int64(fig_int(k, "sessions") + 1));
        json_object_object_add(k, "seats", json_object_new_int64(fig_int(k, "seats") + fig_int(s, "capacity")));
        json_object_object_add(k, "taken", json_object_new_int64(fig_int(k, "taken") + fig_int(s, "taken")));
    }
    json_object_put(ahead);
    /* arrivals: the matcher's assignments of the last days, today included */
    pipe_t p = { 0 };
    char day[11], key[200];
    for (int i = 0; i < FIG_OUTLOOK_DAYS; i++) {
        clock_local_day(now_ms - (int64_t)i * DAY_MS, day);
        tp_key(key, sizeof key, territory, "matcher", "fig:%s", day);
        pipe_add(&p, 2, "HGETALL", key, NULL, NULL, NULL);
    }
    if (pipe_run(rds, &p) != 0)
        *failed = 1;
    for (int i = 0; !*failed && i < p.n; i++) {
        const redisReply *r = p.replies[i];
        for (size_t j = 0; r && r->type == REDIS_REPLY_ARRAY && j + 1 < r->elements; j += 2) {
            const char *f = r->element[j]->str, *kind = NULL;
            if (!strncmp(f, "assigned:", 9))
                kind = f + 9;
            else if (!strncmp(f, "followup:", 9))
                kind = f + 9;
            if (!kind || strchr(kind, '@'))
                continue;
            json_object *k;
            if (!json_object_object_get_ex(out, kind, &k)) {
                k = json_object_new_object();
                json_object_object_add(out, kind, k);
            }
            json_object_object_add(k, "arrivals",
                                   json_object_new_int64(fig_int(k, "arrivals") + atoll(r->element[j + 1]->str)));
        }
    }
    pipe_free(&p);
    /* the people waiting now, per kind */
    json_object_object_foreach(current, field, value)
    {
        if (strncmp(field, "waiting:", 8) != 0)
            continue;
        json_object *k;
        if (!json_object_object_get_ex(out, field + 8, &k)) {
            k = json_object_new_object();
            json_object_object_add(out, field + 8, k);
        }
        json_object_object_add(k, "waiting", json_object_new_int64(json_object_get_int64(value)));
    }
    return out;
}

/* ------------------------------------------------------------ the aggregate */

json_object *fig_read(rds_t *rds, const char *territory, const char *from, const char *to, int64_t now_ms, char *err,
                      size_t errlen)
{
    if (!fig_is_day(from) || !fig_is_day(to) || strcmp(from, to) > 0) {
        snprintf(err, errlen, "période invalide : du %s au %s", from ? from : "?", to ? to : "?");
        return NULL;
    }
    /* the days of the range */
    int32_t d0, d1;
    cal_parse_date(from, 2000, 2199, &d0);
    cal_parse_date(to, 2000, 2199, &d1);
    if (d1 - d0 + 1 > FIG_MAX_DAYS) {
        snprintf(err, errlen, "période trop longue (%d jours au plus)", FIG_MAX_DAYS);
        return NULL;
    }
    int ndays = d1 - d0 + 1;
    pipe_t p = { 0 };
    char key[200], day[11];
    for (int i = 0; i < ndays; i++) {
        cal_format_date(d0 + i, day);
        for (int s = 0; s < FIG_NSERVICES; s++) {
            tp_key(key, sizeof key, territory, fig_services[s], "fig:%s", day);
            pipe_add(&p, 2, "HGETALL", key, NULL, NULL, NULL);
        }
        tp_key(key, sizeof key, territory, "scheduler", "fig:wait:%s", day);
        pipe_add(&p, 5, "ZRANGE", key, "0", "-1", "WITHSCORES");
    }
    int failed = 0;
    if (pipe_run(rds, &p) != 0)
        failed = 1;

    json_object *agg = json_object_new_object();
    json_object_object_add(agg, "territory", json_object_new_string(territory));
    json_object_object_add(agg, "from", json_object_new_string(from));
    json_object_object_add(agg, "to", json_object_new_string(to));
    json_object_object_add(agg, "now_ms", json_object_new_int64(now_ms));
    json_object *days = json_object_new_object(), *waits = json_object_new_array();
    json_object_object_add(agg, "days", days);
    json_object_object_add(agg, "waits", waits);
    for (int i = 0; !failed && i < ndays; i++) {
        cal_format_date(d0 + i, day);
        json_object *dobj = NULL;
        for (int s = 0; s < FIG_NSERVICES; s++) {
            json_object *h = hash_object(p.replies[i * (FIG_NSERVICES + 1) + s], 1);
            if (!h)
                continue;
            if (!dobj) {
                dobj = json_object_new_object();
                json_object_object_add(days, day, dobj);
            }
            json_object_object_add(dobj, fig_services[s], h);
        }
        add_waits(waits, day, p.replies[i * (FIG_NSERVICES + 1) + FIG_NSERVICES]);
    }
    pipe_free(&p);

    /* sessions of the range: read a day around it, kept by their local day */
    if (!failed) {
        json_object *all = read_sessions(rds, territory, day_start_ms(from) - DAY_MS,
                                         day_start_ms(to) + 2 * DAY_MS, 1, &failed);
        json_object *sessions = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(all); i++) {
            json_object *s = json_object_array_get_idx(all, i);
            const char *sd = fig_str(s, "day");
            if (strcmp(sd, from) >= 0 && strcmp(sd, to) <= 0)
                json_object_array_add(sessions, json_object_get(s));
        }
        json_object_put(all);
        json_object_object_add(agg, "sessions", sessions);
    }
    json_object *current = NULL;
    if (!failed) {
        tp_key(key, sizeof key, territory, "scheduler", "fig:current");
        redisReply *r = rds_cmd(rds, "HGETALL %s", key);
        if (!r || r->type != REDIS_REPLY_ARRAY)
            failed = 1;
        current = hash_object(r, 1);
        if (!current)
            current = json_object_new_object();
        if (r)
            freeReplyObject(r);
        json_object_object_add(agg, "current", current);
    }
    if (!failed)
        json_object_object_add(agg, "outlook", read_outlook(rds, territory, now_ms, current, &failed));
    if (failed) {
        snprintf(err, errlen, "Redis injoignable");
        json_object_put(agg);
        return NULL;
    }
    return agg;
}

json_object *fig_read_closed(rds_t *rds, const char *territory, const char *from, const char *to, int *failed)
{
    char key[200];
    tp_key(key, sizeof key, territory, "reporter", "closed:%s:%s", from, to);
    redisReply *r = rds_cmd(rds, "GET %s", key);
    *failed = !r || r->type == REDIS_REPLY_ERROR;
    json_object *o = r && r->type == REDIS_REPLY_STRING ? json_tokener_parse(r->str) : NULL;
    if (r)
        freeReplyObject(r);
    return o;
}

json_object *fig_closed_list(rds_t *rds, const char *territory)
{
    char key[200];
    tp_key(key, sizeof key, territory, "reporter", "periods");
    redisReply *r = rds_cmd(rds, "HGETALL %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return NULL;
    }
    json_object *o = hash_object(r, 1);
    freeReplyObject(r);
    return o ? o : json_object_new_object();
}
