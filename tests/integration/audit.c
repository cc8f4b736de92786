#include "audit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "util.h"

enum { NSVC = 6 };
static const char *const names[NSVC] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };

/* the audit under way (one at a time) */
static audit_ctx_t *X;

/* Every hash of the territory whose key starts with tp:{t}:<what>. */
static json_object *records(const char *what)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "tp:{%s}:%s", X->t, what);
    return h_records(X->h, prefix);
}

long long audit_xlen(audit_ctx_t *ctx, const char *svc, const char *what)
{
    X = ctx;
    return h_redis_int(X->h, "XLEN tp:{%s}:%s:%s", X->t, svc, what);
}

static long long xlen(const char *svc, const char *what) { return audit_xlen(X, svc, what); }

int audit_settled(h_env_t *h, void *arg)
{
    X = arg;
    for (int s = 0; s < NSVC; s++)
        if (xlen(names[s], "outbox") != 0) {
            snprintf(X->why, sizeof X->why, "%s's outbox not empty", names[s]);
            return 0;
        }
    /* the gateway's consumer group has read every entry of the notify streams */
    const char *streams[] = { "scheduler", "survey" };
    for (int i = 0; i < 2; i++) {
        char last[64] = "", read[64] = "";
        redisReply *r = h_redis(h, "XINFO STREAM tp:{%s}:%s:notify", X->t, streams[i]);
        for (size_t j = 0; r && r->type == REDIS_REPLY_ARRAY && j + 1 < r->elements; j += 2)
            if (!strcmp(r->element[j]->str, "last-generated-id"))
                util_strlcpy(last, r->element[j + 1]->str, sizeof last);
        if (r)
            freeReplyObject(r);
        r = h_redis(h, "XINFO GROUPS tp:{%s}:%s:notify", X->t, streams[i]);
        for (size_t g = 0; r && r->type == REDIS_REPLY_ARRAY && g < r->elements; g++) {
            redisReply *e = r->element[g];
            for (size_t j = 0; j + 1 < e->elements; j += 2)
                if (!strcmp(e->element[j]->str, "last-delivered-id"))
                    util_strlcpy(read, e->element[j + 1]->str, sizeof read);
        }
        if (r)
            freeReplyObject(r);
        if (last[0] && strcmp(last, "0-0") && strcmp(last, read)) {
            snprintf(X->why, sizeof X->why, "%s's notify stream read up to %s of %s", streams[i], read, last);
            return 0;
        }
    }
    if (h_redis_int(h, "ZCOUNT tp:{%s}:gateway:due -inf %lld", X->t, (long long)clock_now_ms()) != 0
        || h_redis_int(h, "ZCARD tp:{%s}:gateway:sending", X->t) != 0 || h_redis_int(h, "ZCARD tp:{%s}:gateway:retry", X->t) != 0) {
        snprintf(X->why, sizeof X->why, "gateway jobs due, being sent or to retry");
        return 0;
    }
    /* once assessed and placed, a referral stays so: each is read until it is */
    for (int k = X->checked; k < X->nrefs; k++, X->checked = k) {
        redisReply *r = h_redis(h, "HGET tp:{%s}:matcher:assignment:%s kind", X->t, X->refs[k].rid);
        int assessed = r && r->type == REDIS_REPLY_STRING, kind = assessed && r->len > 0;
        if (r)
            freeReplyObject(r);
        if (!assessed || (kind && h_redis_int(h, "EXISTS tp:{%s}:scheduler:assigned:%s", X->t, X->refs[k].rid) != 1)) {
            snprintf(X->why, sizeof X->why, "referral %s not %s", X->refs[k].ext, assessed ? "placed" : "assessed");
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------- the audit */

static const char *S_(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* The same, "" when absent (for formats). */
static const char *Z_(json_object *o, const char *k)
{
    const char *s = S_(o, k);
    return s ? s : "";
}

static long long N_(json_object *o, const char *k)
{
    const char *s = S_(o, k);
    return s ? atoll(s) : 0;
}

static json_object *R_(json_object *o, const char *k)
{
    json_object *v = NULL;
    return o && k && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static long long fig(const char *svc, const char *field)
{
    redisReply *r = h_redis(X->h, "HGET tp:{%s}:%s:fig:total %s", X->t, svc, field);
    long long v = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
    if (r)
        freeReplyObject(r);
    return v;
}

static void count_in(json_object *counts, const char *key)
{
    json_object_object_add(counts, key, json_object_new_int64(json_object_get_int64(R_(counts, key)) + 1));
}

static int count_over(json_object *counts, long long max, const char *what)
{
    int n = 0;
    json_object_object_foreach(counts, k, v)
    {
        if (json_object_get_int64(v) > max) {
            fprintf(stderr, "audit: %s %s %lld times\n", what, k, (long long)json_object_get_int64(v));
            n++;
        }
    }
    return n;
}

static int is_holding(const char *st)
{
    return st && (!strcmp(st, "booked") || !strcmp(st, "offered") || !strcmp(st, "seen") || !strcmp(st, "noshow")
                  || !strcmp(st, "excused"));
}

static int is_active(const char *st) { return st && (!strcmp(st, "booked") || !strcmp(st, "offered")); }

static void figure(audit_t *a, const char *what, long long served, long long state)
{
    if (served != state) {
        fprintf(stderr, "audit: figure %s = %lld, the state says %lld\n", what, served, state);
        a->figures_off++;
    }
}

/* One final state per acknowledged referral, from the raw records:
 * referred once (its business key), assessed, and — when assigned a kind —
 * placed, then exactly one of: an active booking (booked or offered, in its
 * session's roster, in no waitlist), waiting (in the waitlists it joined, no
 * active booking), or done (a booking closed: cancelled, declined, expired,
 * marked; or consent withdrawn). */
static void audit_referrals(audit_t *a, json_object *referrals, json_object *bookings)
{
    json_object *by_key = json_object_new_object();
    json_object_object_foreach(referrals, rid0, ref0)
    {
        (void)rid0;
        char key[96];
        snprintf(key, sizeof key, "%s:%s", Z_(ref0, "branch"), Z_(ref0, "external_ref"));
        count_in(by_key, key);
    }
    a->doubled += count_over(by_key, 1, "referral business key stored");
    json_object_put(by_key);
    /* each person's bookings of a kind, active and closed */
    json_object *active_of = json_object_new_object(), *closed_of = json_object_new_object();
    json_object_object_foreach(bookings, bid, b)
    {
        (void)bid;
        char pk[96];
        snprintf(pk, sizeof pk, "%s:%s", Z_(b, "pid"), Z_(b, "kind"));
        count_in(is_active(S_(b, "status")) ? active_of : closed_of, pk);
    }
    for (int k = 0; k < X->nrefs; k++) {
        const audit_ref_t *f = &X->refs[k];
        json_object *ref = R_(referrals, f->rid);
        const char *ext = f->ext;
        if (!ref || strcmp(Z_(ref, "external_ref"), ext) || strcmp(S_(ref, "person_id"), f->pid)) {
            fprintf(stderr, "audit: acked referral %s lost by intake\n", ext);
            a->lost++;
            continue;
        }
        redisReply *as = h_redis(X->h, "HMGET tp:{%s}:matcher:assignment:%s kind", X->t, f->rid);
        char kind[40] = "";
        int assessed = as && as->type == REDIS_REPLY_ARRAY && as->element[0]->str;
        if (assessed)
            util_strlcpy(kind, as->element[0]->str, sizeof kind);
        if (as)
            freeReplyObject(as);
        if (!assessed) {
            fprintf(stderr, "audit: acked referral %s never assessed\n", ext);
            a->lost++;
            continue;
        }
        if (!kind[0])
            continue; /* no workshop: assessed is its final state */
        redisReply *pl = h_redis(X->h, "HGET tp:{%s}:scheduler:assigned:%s status", X->t, f->rid);
        char placed[32] = "";
        if (pl && pl->type == REDIS_REPLY_STRING)
            util_strlcpy(placed, pl->str, sizeof placed);
        if (pl)
            freeReplyObject(pl);
        if (!placed[0]) {
            fprintf(stderr, "audit: acked referral %s never placed\n", ext);
            a->lost++;
            continue;
        }
        redisReply *p = h_redis(X->h, "HMGET tp:{%s}:scheduler:person:%s active:%s waitdays:%s availability", X->t, f->pid, kind,
                                kind);
        assert_true(p && p->type == REDIS_REPLY_ARRAY);
        const char *active = p->element[0]->str;
        const char *days = p->element[1]->str ? p->element[1]->str : p->element[2]->str;
        int waiting_in = 0, lists = 0;
        char buf[128];
        util_strlcpy(buf, days ? days : "", sizeof buf);
        for (char *save = NULL, *h = strtok_r(buf, " ,", &save); h; h = strtok_r(NULL, " ,", &save)) {
            lists++;
            redisReply *z = h_redis(X->h, "ZSCORE tp:{%s}:scheduler:wait:%s:%s %s", X->t, kind, h, f->pid);
            waiting_in += z && z->type == REDIS_REPLY_STRING;
            if (z)
                freeReplyObject(z);
        }
        char pk[96];
        snprintf(pk, sizeof pk, "%s:%s", f->pid, kind);
        int actives = (int)json_object_get_int64(R_(active_of, pk)), closed = (int)json_object_get_int64(R_(closed_of, pk));
        int ok;
        if (active && strcmp(active, "waiting") != 0) {
            json_object *mine = R_(bookings, active);
            ok = mine && is_active(S_(mine, "status")) && actives == 1 && waiting_in == 0;
        } else if (active) {
            ok = actives == 0 && lists > 0 && waiting_in == lists;
        } else {
            ok = actives == 0 && waiting_in == 0 && (closed > 0 || !strcmp(placed, "consent_withdrawn"));
        }
        if (!ok) {
            fprintf(stderr, "audit: referral %s: person %.8s… %s: active=%s, %d active bookings, %d closed, in %d of %d "
                            "waitlists (placed %s)\n",
                    ext, f->pid, kind, active ? active : "-", actives, closed, waiting_in, lists, placed);
            a->state_off++;
        }
        freeReplyObject(p);
    }
    json_object_put(active_of);
    json_object_put(closed_of);
}

/* Seats: per session, the bookings that hold one (booked, offered, marked)
 * never above capacity, and equal to its counter; per person and kind one
 * active booking at most; per assignment one direct booking at most. */
static void audit_seats(audit_t *a, json_object *sessions, json_object *bookings)
{
    json_object *holding = json_object_new_object(), *active = json_object_new_object(), *direct = json_object_new_object();
    json_object_object_foreach(bookings, bid, b)
    {
        (void)bid;
        char key[128];
        if (is_holding(S_(b, "status")))
            count_in(holding, S_(b, "sid"));
        if (is_active(S_(b, "status"))) {
            snprintf(key, sizeof key, "%s:%s", Z_(b, "pid"), Z_(b, "kind"));
            count_in(active, key);
        }
        /* a booking moved out (its session cancelled, its capacity cut)
         * is replaced by a new one: not an effect twice */
        const char *st = Z_(b, "status");
        if (!S_(b, "via") && *Z_(b, "assignment") && strcmp(st, "session_cancelled") && strcmp(st, "capacity_cut"))
            count_in(direct, S_(b, "assignment"));
    }
    json_object_object_foreach(sessions, sid, s)
    {
        long long held = json_object_get_int64(R_(holding, sid));
        if (held > N_(s, "capacity")) {
            fprintf(stderr, "audit: session %s holds %lld seats of %lld\n", sid, held, N_(s, "capacity"));
            a->oversold++;
        }
        if (held != N_(s, "taken")) {
            fprintf(stderr, "audit: session %s: taken = %lld, %lld bookings hold a seat\n", sid, N_(s, "taken"), held);
            a->counter_off++;
        }
        a->sessions++;
    }
    a->double_booked += count_over(active, 1, "person and kind with active bookings:");
    a->doubled += count_over(direct, 1, "assignment booked directly");
    json_object_put(holding);
    json_object_put(active);
    json_object_put(direct);
}

/* SMS: each file in the spool is one job's (its name and its Job: line),
 * recorded sent by the gateway; each job recorded sent has its file; one
 * SMS per message (type, person, booking, session, participation). */
static void audit_sms(audit_t *a, json_object *jobs)
{
    char dir[400];
    util_strlcpy(dir, X->spool, sizeof dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    json_object *files = json_object_new_object();
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".sms") != 0)
            continue;
        char path[700], line[256], job[200] = "";
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "Job: ", 5)) {
                line[strcspn(line, "\n")] = '\0';
                util_strlcpy(job, line + 5, sizeof job);
                break;
            }
        fclose(f);
        /* Job: T:jid — another territory's file is not this audit's */
        size_t tl = strlen(X->t);
        if (strncmp(job, X->t, tl) != 0 || job[tl] != ':')
            continue;
        memmove(job, job + tl + 1, strlen(job + tl + 1) + 1);
        a->sms_files++;
        count_in(files, job);
        json_object *j = R_(jobs, job);
        if (!j || strcmp(S_(j, "status"), "sent") != 0) {
            fprintf(stderr, "audit: spool file %s: job %s not recorded sent\n", e->d_name, j ? S_(j, "status") : "unknown");
            a->sms_unrecorded++;
        }
    }
    closedir(d);
    a->sms_doubled += count_over(files, 1, "spool files of job");
    json_object *messages = json_object_new_object();
    json_object_object_foreach(jobs, jid, j)
    {
        a->jobs++;
        if (strcmp(S_(j, "status"), "sent") || strcmp(S_(j, "channel") ? S_(j, "channel") : "", "sms"))
            continue;
        if (!R_(files, jid)) {
            fprintf(stderr, "audit: job %s recorded sent, no spool file\n", jid);
            a->sms_missing++;
        }
        char key[256];
        snprintf(key, sizeof key, "%s|%s|%s|%s|%s%s", Z_(j, "type"), Z_(j, "person"), Z_(j, "booking"), Z_(j, "session"),
                 Z_(j, "participation"), strstr(jid, ":reminder") ? "|reminder" : "");
        count_in(messages, key);
    }
    a->sms_doubled += count_over(messages, 1, "SMS for one message");
    json_object_put(messages);
    json_object_put(files);
}

/* The figures the services moved in their steps, against the records. */
static void audit_figures(audit_t *a, json_object *referrals, json_object *bookings, json_object *participations)
{
    figure(a, "intake referrals", fig("intake", "referrals"), (long long)json_object_object_length(referrals));
    json_object *people = json_object_new_object();
    json_object *assignments = records("matcher:assignment:");
    assert_non_null(assignments);
    json_object_object_foreach(assignments, rid, as)
    {
        (void)rid;
        count_in(people, S_(as, "person_id"));
    }
    figure(a, "matcher accompanied", fig("matcher", "accompanied"), (long long)json_object_object_length(people));
    json_object_put(people);
    json_object_put(assignments);
    json_object *persons = records("scheduler:person:");
    assert_non_null(persons);
    for (int k = 0; k < 3; k++) {
        long long cancelled = 0, declined = 0, expired = 0, offers = 0, accepted = 0, booked = 0, waiting = 0;
        json_object_object_foreach(bookings, bid, b)
        {
            (void)bid;
            if (strcmp(S_(b, "kind"), kinds[k]))
                continue;
            const char *st = S_(b, "status");
            int via = S_(b, "via") != NULL;
            cancelled += !strcmp(st, "cancelled");
            declined += !strcmp(st, "declined");
            expired += !strcmp(st, "expired");
            offers += via;
            accepted += via && S_(b, "answered");
            booked += !via || S_(b, "answered");
        }
        redisReply *w = h_redis(X->h, "HGET tp:{%s}:scheduler:fig:current waiting:%s", X->t, kinds[k]);
        long long served_waiting = w && w->str ? atoll(w->str) : 0;
        if (w)
            freeReplyObject(w);
        char pattern[96];
        snprintf(pattern, sizeof pattern, "active:%s", kinds[k]);
        json_object_object_foreach(persons, pid, p)
        {
            (void)pid;
            waiting += S_(p, pattern) && !strcmp(S_(p, pattern), "waiting");
        }
        char f[64];
#define FIG(name, v)                                                                                                   \
    snprintf(f, sizeof f, name ":%s", kinds[k]);                                                                       \
    figure(a, f, fig("scheduler", f), v)
        FIG("cancelled", cancelled);
        FIG("offers_declined", declined);
        FIG("offers_expired", expired);
        FIG("offers", offers);
        FIG("offers_accepted", accepted);
        FIG("booked", booked);
#undef FIG
        figure(a, pattern, served_waiting, waiting);
    }
    json_object_put(persons);
    long long answered = 0, invited = 0;
    json_object_object_foreach(participations, id, p)
    {
        (void)id;
        answered += S_(p, "status") && !strcmp(S_(p, "status"), "answered");
        invited += S_(p, "invited_ms") != NULL;
    }
    figure(a, "survey answered", fig("survey", "answered"), answered);
    figure(a, "survey invited", fig("survey", "invited"), invited);
    figure(a, "gateway sent:sms", fig("gateway", "sent:sms"), a->sms_files);
}

void audit_run(audit_ctx_t *ctx, audit_t *a)
{
    X = ctx;
    memset(a, 0, sizeof *a);
    json_object *referrals = records("intake:referral:");
    json_object *bookings = records("scheduler:booking:");
    json_object *sessions = records("scheduler:session:");
    json_object *participations = records("survey:participation:");
    json_object *jobs = records("gateway:job:");
    assert_true(referrals && bookings && sessions && participations && jobs);
    a->referrals = (long)json_object_object_length(referrals);
    a->bookings = (long)json_object_object_length(bookings);
    a->participations = (long)json_object_object_length(participations);
    json_object *followups = records("matcher:followup:");
    a->follow_ups = followups ? (long)json_object_object_length(followups) : 0;
    json_object_put(followups);
    audit_referrals(a, referrals, bookings);
    audit_seats(a, sessions, bookings);
    audit_sms(a, jobs);
    audit_figures(a, referrals, bookings, participations);
    for (int s = 0; s < NSVC; s++) {
        long long d = xlen(names[s], "dead");
        if (d > 0) {
            fprintf(stderr, "audit: %lld dead letters in %s\n", d, names[s]);
            a->dead += d;
            /* what each says of itself (ids, destination, last error: no personal data) */
            redisReply *r = h_redis(X->h, "XRANGE tp:{%s}:%s:dead - + COUNT 5", X->t, names[s]);
            for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
                redisReply *f = r->element[i]->element[1];
                fprintf(stderr, "audit:   %s", r->element[i]->element[0]->str);
                for (size_t j = 0; j + 1 < f->elements; j += 2)
                    if (f->element[j + 1]->len < 120)
                        fprintf(stderr, " %s=%s", f->element[j]->str, f->element[j + 1]->str);
                fprintf(stderr, "\n");
            }
            if (r)
                freeReplyObject(r);
        }
    }
    a->dead += h_redis_int(X->h, "ZCARD tp:{%s}:gateway:flagged", X->t);
    json_object_put(referrals);
    json_object_put(bookings);
    json_object_put(sessions);
    json_object_put(participations);
    json_object_put(jobs);
}

void audit_assert_clean(const audit_t *a)
{
    assert_int_equal(a->lost, 0);
    assert_int_equal(a->doubled, 0);
    assert_int_equal(a->state_off, 0);
    assert_int_equal(a->oversold, 0);
    assert_int_equal(a->counter_off, 0);
    assert_int_equal(a->double_booked, 0);
    assert_int_equal(a->sms_doubled, 0);
    assert_int_equal(a->sms_unrecorded, 0);
    assert_int_equal(a->sms_missing, 0);
    assert_int_equal(a->figures_off, 0);
    assert_int_equal(a->dead, 0);
}
