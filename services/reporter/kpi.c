/* kpi — figures from aggregates (see kpi.h and docs/figures.md).
 *
 * The days of the period are first summed into one object per service
 * ({field: n}); each figure then sums the fields of its name, of the
 * filter's kind, branch or partner. A service writes a figure's breakdowns
 * as variants of its field: "seen:initiation" (by kind), "seen:initiation@b:wilson"
 * (and by branch), "trained@p:pimms" (by the mediator's partner); intake's
 * referrals by branch predate that and are "referrals:wilson". */
#include "kpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "figures.h"
#include "util.h"

/* ------------------------------------------------------------ labels */

static const struct {
    const char *name, *label;
} kpi_labels[] = {
    { "referrals_received", "Orientations reçues" },
    { "referrals_accepted", "Orientations acceptées" },
    { "no_consent", "Refus de consentement" },
    { "people_new", "Nouvelles personnes" },
    { "assessed", "Orientations évaluées" },
    { "assigned", "Orientations vers un atelier" },
    { "followups", "Suites de parcours" },
    { "people_accompanied", "Personnes accompagnées" },
    { "people_assigned", "Personnes orientées vers un atelier" },
    { "people_booked", "Personnes inscrites" },
    { "people_trained", "Personnes formées" },
    { "bookings", "Inscriptions" },
    { "waitlisted", "Mises en liste d'attente" },
    { "offers", "Places proposées" },
    { "offers_accepted", "Propositions acceptées" },
    { "offers_declined", "Propositions refusées" },
    { "offers_expired", "Propositions expirées" },
    { "cancellations", "Annulations" },
    { "attended", "Présences" },
    { "noshow", "Absences" },
    { "excused", "Absences excusées" },
    { "noshow_rate", "Taux d'absence (%)" },
    { "flagged_noshow", "Signalements au médiateur" },
    { "consent_withdrawals", "Retraits de consentement" },
    { "workshops_held", "Ateliers tenus" },
    { "workshops_cancelled", "Ateliers annulés" },
    { "seats_offered", "Places offertes" },
    { "seats_filled", "Places occupées" },
    { "fill_rate", "Taux de remplissage (%)" },
    { "waiting", "En liste d'attente" },
    { "wait_samples", "Premiers ateliers mesurés" },
    { "wait_days_median", "Délai médian orientation → atelier (jours)" },
    { "wait_days_p90", "Délai 90e centile (jours)" },
    { "wait_ms_median", "Délai médian (ms)" },
    { "wait_ms_p90", "Délai 90e centile (ms)" },
    { "surveys_invited", "Questionnaires envoyés" },
    { "surveys_answered", "Questionnaires reçus" },
    { "surveys_reminded", "Relances" },
    { "surveys_closed_unanswered", "Questionnaires sans réponse" },
    { "satisfaction", "Satisfaction (1 très satisfait … 4 pas satisfait)" },
    { "satisfaction_answers", "Réponses sur la satisfaction" },
    { "pct_very_satisfied", "Très satisfaits (%)" },
    { "wants_more", "Souhaitent aller plus loin" },
    { "pct_wants_more", "Souhaitent aller plus loin (%)" },
    { "went_on", "Ont poursuivi" },
    { "pct_went_on", "Ont poursuivi (%)" },
    { "levels_entry", "Niveau à l'entrée" },
    { "levels_reassessed", "Niveau à la réévaluation" },
    { "level_changes", "Évolution de niveau" },
    { "notifications_sent", "Messages envoyés" },
    { "notifications_failed", "Échecs d'envoi" },
    { "notifications_given_up", "Envois abandonnés" },
};

const char *const kpi_names[] = {
    "referrals_received", "referrals_accepted", "no_consent", "people_new", "assessed", "assigned", "followups",
    "people_accompanied", "people_assigned", "people_booked", "people_trained", "bookings", "waitlisted", "offers",
    "offers_accepted", "offers_declined", "offers_expired", "cancellations", "attended", "noshow", "excused",
    "noshow_rate", "flagged_noshow", "consent_withdrawals", "workshops_held", "workshops_cancelled", "seats_offered",
    "seats_filled", "fill_rate", "waiting", "wait_samples", "wait_days_median", "wait_days_p90", "wait_ms_median",
    "wait_ms_p90", "surveys_invited", "surveys_answered", "surveys_reminded", "surveys_closed_unanswered",
    "satisfaction", "satisfaction_answers", "pct_very_satisfied", "wants_more", "pct_wants_more", "went_on",
    "pct_went_on", "levels_entry", "levels_reassessed", "level_changes", "notifications_sent",
    "notifications_failed", "notifications_given_up", NULL,
};

/* The funnel, from a referral to a next workshop. */
static const char *const funnel_stages[] = {
    "referrals_received", "referrals_accepted", "assessed", "assigned", "people_booked",
    "people_trained", "surveys_answered", "went_on", NULL,
};

const char *kpi_label(const char *name)
{
    for (size_t i = 0; i < TP_ARRAY_LEN(kpi_labels); i++)
        if (!strcmp(kpi_labels[i].name, name))
            return kpi_labels[i].label;
    return name;
}

/* ------------------------------------------------------------ numbers */

int64_t kpi_pct_tenths(int64_t num, int64_t den)
{
    if (den <= 0 || num < 0)
        return -1;
    return (num * 1000 + den / 2) / den;
}

int64_t kpi_days_tenths(int64_t ms) { return ms < 0 ? -1 : (ms + 4320000) / 8640000; }

static void put_int(json_object *o, const char *k, int64_t v)
{
    json_object_object_add(o, k, v < 0 ? NULL : json_object_new_int64(v));
}

/* A number in tenths, written with exactly one decimal ("62.5", "50.0"). */
static void put_tenths(json_object *o, const char *k, int64_t t)
{
    if (t < 0) {
        json_object_object_add(o, k, NULL);
        return;
    }
    char b[32];
    snprintf(b, sizeof b, "%lld.%lld", (long long)(t / 10), (long long)(t % 10));
    json_object_object_add(o, k, json_object_new_double_s((double)t / 10.0, b));
}

static int nonempty(const char *s) { return s && *s; }

/* ------------------------------------------------------------ dates */

void kpi_week_of(const char *day, char out[9])
{
    int32_t d;
    if (cal_parse_date(day, 2000, 2199, &d) != 0) {
        util_strlcpy(out, "?", 9);
        return;
    }
    int iso_wd = (cal_weekday(d) + 6) % 7; /* 0 = Monday */
    int32_t thursday = d - iso_wd + 3;
    int y, m, dd;
    cal_civil_from_days(thursday, &y, &m, &dd);
    unsigned week = (unsigned)(thursday - cal_days_from_civil(y, 1, 1)) / 7 + 1;
    snprintf(out, 9, "%04u-W%02u", (unsigned)y % 10000, week % 100);
}

void kpi_month_of(const char *day, char out[8])
{
    snprintf(out, 8, "%.7s", day);
}

/* ------------------------------------------------------------ the period's sums */

typedef struct {
    json_object *sums; /* {svc: {field: n}} */
    json_object *const *aggs;
    int naggs;
    const char *from, *to;
    const kpi_filter_t *f;
} ctx_t;

static int agg_selected(json_object *agg, const kpi_filter_t *f)
{
    return !nonempty(f->territory) || !strcmp(fig_str(agg, "territory"), f->territory);
}

static json_object *sum_days(json_object *const *aggs, int n, const char *from, const char *to, const kpi_filter_t *f)
{
    json_object *sums = json_object_new_object();
    for (int s = 0; s < FIG_NSERVICES; s++)
        json_object_object_add(sums, fig_services[s], json_object_new_object());
    for (int a = 0; a < n; a++) {
        json_object *days;
        if (!agg_selected(aggs[a], f) || !json_object_object_get_ex(aggs[a], "days", &days))
            continue;
        json_object_object_foreach(days, day, dobj)
        {
            if (strcmp(day, from) < 0 || strcmp(day, to) > 0)
                continue;
            json_object_object_foreach(dobj, svc, fields)
            {
                json_object *into;
                if (!json_object_object_get_ex(sums, svc, &into))
                    continue;
                json_object_object_foreach(fields, field, v)
                {
                    json_object_object_add(into, field,
                                           json_object_new_int64(fig_int(into, field) + json_object_get_int64(v)));
                }
            }
        }
    }
    return sums;
}

enum { D_KIND = 1, D_BRANCH = 2, D_PARTNER = 4, D_COLON_BRANCH = 8 };

/* Does field f (base[:kind][@dim]) count for base, kind (NULL: any) and dim
 * ("" none, "b:<branch>", "p:<partner>")? */
static int field_match(const char *f, const char *base, int per_kind, const char *kind, const char *dim)
{
    size_t bl = strlen(base);
    if (strncmp(f, base, bl) != 0)
        return 0;
    const char *rest = f + bl;
    if (per_kind) {
        if (*rest != ':')
            return 0;
        rest++;
        const char *at = strchr(rest, '@');
        size_t kl = at ? (size_t)(at - rest) : strlen(rest);
        if (kl == 0 || (kind && (strlen(kind) != kl || strncmp(rest, kind, kl) != 0)))
            return 0;
        rest += kl;
    }
    if (*rest == '\0')
        return dim[0] == '\0';
    return *rest == '@' && !strcmp(rest + 1, dim);
}

/* The sum of a figure's fields under the filter; -1 when the figure has no
 * breakdown the filter asks for. dims: the breakdowns the service writes. */
static int64_t S(const ctx_t *c, const char *svc, const char *base, int dims)
{
    const kpi_filter_t *f = c->f;
    int wb = nonempty(f->branch), wp = nonempty(f->partner), wk = nonempty(f->kind);
    if ((wb && wp) || (wk && !(dims & D_KIND)) || (wb && !(dims & (D_BRANCH | D_COLON_BRANCH)))
        || (wp && !(dims & D_PARTNER)))
        return -1;
    json_object *fields;
    if (!json_object_object_get_ex(c->sums, svc, &fields))
        return 0;
    char dim[80] = "";
    if (wb && (dims & D_COLON_BRANCH)) { /* intake's "referrals:<branch>" */
        char name[128];
        snprintf(name, sizeof name, "%s:%s", base, f->branch);
        return fig_int(fields, name);
    }
    if (wb)
        snprintf(dim, sizeof dim, "b:%s", f->branch);
    else if (wp)
        snprintf(dim, sizeof dim, "p:%s", f->partner);
    int64_t n = 0;
    json_object_object_foreach(fields, field, v)
    {
        if (field_match(field, base, (dims & D_KIND) != 0, wk ? f->kind : NULL, dim))
            n += json_object_get_int64(v);
    }
    return n;
}

/* A figure of a service that has no breakdown at all: -1 under any filter
 * but the territory. */
static int64_t S0(const ctx_t *c, const char *svc, const char *field)
{
    const kpi_filter_t *f = c->f;
    if (nonempty(f->branch) || nonempty(f->partner) || nonempty(f->kind))
        return -1;
    json_object *fields;
    return json_object_object_get_ex(c->sums, svc, &fields) ? fig_int(fields, field) : 0;
}

/* Σ of base:<anything> (a breakdown that is not a kind: consent purposes,
 * channels), with no filter but the territory. */
static int64_t S_any(const ctx_t *c, const char *svc, const char *base)
{
    const kpi_filter_t *f = c->f;
    if (nonempty(f->branch) || nonempty(f->partner) || nonempty(f->kind))
        return -1;
    json_object *fields;
    if (!json_object_object_get_ex(c->sums, svc, &fields))
        return 0;
    int64_t n = 0;
    json_object_object_foreach(fields, field, v)
    {
        if (field_match(field, base, 1, NULL, ""))
            n += json_object_get_int64(v);
    }
    return n;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int64_t add(int64_t a, int64_t b) { return a < 0 || b < 0 ? -1 : a + b; }

/* {suffix: n} of the fields base:<suffix> (levels): null under a filter. */
static json_object *distribution(const ctx_t *c, const char *svc, const char *base)
{
    if (S_any(c, svc, base) < 0)
        return NULL;
    json_object *fields, *o = json_object_new_object();
    if (!json_object_object_get_ex(c->sums, svc, &fields))
        return o;
    /* in the order of their names (levels -1, 0 … 3) */
    size_t bl = strlen(base), n = 0, cap = 16;
    const char **keys = xmalloc(cap * sizeof *keys);
    json_object_object_foreach(fields, field, v)
    {
        (void)v;
        if (!strncmp(field, base, bl) && field[bl] == ':' && !strchr(field + bl + 1, '@')) {
            if (n == cap)
                keys = xrealloc(keys, (cap *= 2) * sizeof *keys);
            keys[n++] = field;
        }
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    for (size_t i = 0; i < n; i++)
        json_object_object_add(o, keys[i] + bl + 1, json_object_new_int64(fig_int(fields, keys[i])));
    free(keys);
    return o;
}

/* ------------------------------------------------------------ sessions and waits */

static void session_figures(const ctx_t *c, json_object *out)
{
    const kpi_filter_t *f = c->f;
    if (nonempty(f->branch) || nonempty(f->partner)) { /* a session has no branch */
        const char *names[] = { "workshops_held", "workshops_cancelled", "seats_offered", "seats_filled", "fill_rate" };
        for (size_t i = 0; i < TP_ARRAY_LEN(names); i++)
            json_object_object_add(out, names[i], NULL);
        return;
    }
    int64_t held = 0, cancelled = 0, seats = 0, filled = 0;
    for (int a = 0; a < c->naggs; a++) {
        json_object *sessions;
        if (!agg_selected(c->aggs[a], f) || !json_object_object_get_ex(c->aggs[a], "sessions", &sessions))
            continue;
        int64_t now = fig_int(c->aggs[a], "now_ms");
        for (size_t i = 0; i < json_object_array_length(sessions); i++) {
            json_object *s = json_object_array_get_idx(sessions, i);
            const char *day = fig_str(s, "day");
            if (strcmp(day, c->from) < 0 || strcmp(day, c->to) > 0)
                continue;
            if (nonempty(f->kind) && strcmp(fig_str(s, "kind"), f->kind) != 0)
                continue;
            const char *st = fig_str(s, "status");
            if (!strcmp(st, "cancelled"))
                cancelled++;
            else if (!strcmp(st, "open") && fig_int(s, "start") <= now) {
                held++;
                seats += fig_int(s, "capacity");
                filled += fig_int(s, "seen");
            }
        }
    }
    put_int(out, "workshops_held", held);
    put_int(out, "workshops_cancelled", cancelled);
    put_int(out, "seats_offered", seats);
    put_int(out, "seats_filled", filled);
    put_tenths(out, "fill_rate", kpi_pct_tenths(filled, seats));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p of n sorted values. */
static int64_t percentile(const int64_t *v, size_t n, int p)
{
    if (n == 0)
        return -1;
    size_t rank = ((size_t)p * n + 99) / 100;
    return v[rank ? rank - 1 : 0];
}

static void wait_figures(const ctx_t *c, json_object *out)
{
    const kpi_filter_t *f = c->f;
    size_t n = 0, cap = 64;
    int64_t *v = xmalloc(cap * sizeof *v);
    for (int a = 0; a < c->naggs; a++) {
        json_object *waits;
        if (!agg_selected(c->aggs[a], f) || !json_object_object_get_ex(c->aggs[a], "waits", &waits))
            continue;
        for (size_t i = 0; i < json_object_array_length(waits); i++) {
            json_object *w = json_object_array_get_idx(waits, i);
            const char *day = fig_str(w, "day");
            if (strcmp(day, c->from) < 0 || strcmp(day, c->to) > 0 || (nonempty(f->kind) && strcmp(fig_str(w, "kind"), f->kind))
                || (nonempty(f->branch) && strcmp(fig_str(w, "branch"), f->branch))
                || (nonempty(f->partner) && strcmp(fig_str(w, "partner"), f->partner)))
                continue;
            if (n == cap)
                v = xrealloc(v, (cap *= 2) * sizeof *v);
            v[n++] = fig_int(w, "ms");
        }
    }
    qsort(v, n, sizeof *v, cmp_i64);
    int64_t med = percentile(v, n, 50), p90 = percentile(v, n, 90);
    put_int(out, "wait_samples", (int64_t)n);
    put_tenths(out, "wait_days_median", kpi_days_tenths(med));
    put_tenths(out, "wait_days_p90", kpi_days_tenths(p90));
    put_int(out, "wait_ms_median", med);
    put_int(out, "wait_ms_p90", p90);
    free(v);
}

/* People waiting now (fig:current), per kind: no branch. */
static int64_t waiting_now(const ctx_t *c)
{
    const kpi_filter_t *f = c->f;
    if (nonempty(f->branch) || nonempty(f->partner))
        return -1;
    int64_t n = 0;
    for (int a = 0; a < c->naggs; a++) {
        json_object *cur;
        if (!agg_selected(c->aggs[a], f) || !json_object_object_get_ex(c->aggs[a], "current", &cur))
            continue;
        json_object_object_foreach(cur, field, v)
        {
            if (field_match(field, "waiting", 1, nonempty(f->kind) ? f->kind : NULL, ""))
                n += json_object_get_int64(v);
        }
    }
    return n;
}

/* ------------------------------------------------------------ the figures */

json_object *kpi_figures(json_object *const *aggs, int naggs, const char *from, const char *to,
                         const kpi_filter_t *filter)
{
    ctx_t c = { sum_days(aggs, naggs, from, to, filter), aggs, naggs, from, to, filter };
    const ctx_t *x = &c;
    int wk = nonempty(filter->kind);
    json_object *o = json_object_new_object();
    const int BP = D_BRANCH | D_PARTNER, KBP = D_KIND | D_BRANCH | D_PARTNER;

    /* referrals (intake) */
    int64_t accepted = S(x, "intake", "referrals", D_COLON_BRANCH | D_PARTNER);
    int64_t refused = S(x, "intake", "no_consent", D_COLON_BRANCH);
    put_int(o, "referrals_received", add(accepted, refused));
    put_int(o, "referrals_accepted", accepted);
    put_int(o, "no_consent", refused);
    put_int(o, "people_new", S0(x, "intake", "people_new"));
    /* the figures that are one sum of a service's fields */
    static const struct {
        const char *name, *svc, *base;
        int dims;
    } sums[] = {
        { "assessed", "matcher", "assessed", D_BRANCH | D_PARTNER },
        { "assigned", "matcher", "assigned", D_KIND | D_BRANCH | D_PARTNER },
        { "followups", "matcher", "followup", D_KIND },
        { "people_accompanied", "matcher", "accompanied", D_BRANCH | D_PARTNER },
        { "people_assigned", "matcher", "people_assigned", D_BRANCH | D_PARTNER },
        { "people_booked", "scheduler", "people_booked", D_BRANCH | D_PARTNER },
        { "bookings", "scheduler", "booked", D_KIND | D_BRANCH | D_PARTNER },
        { "waitlisted", "scheduler", "waitlisted", D_KIND | D_BRANCH | D_PARTNER },
        { "offers", "scheduler", "offers", D_KIND | D_BRANCH | D_PARTNER },
        { "offers_accepted", "scheduler", "offers_accepted", D_KIND | D_BRANCH | D_PARTNER },
        { "offers_declined", "scheduler", "offers_declined", D_KIND | D_BRANCH | D_PARTNER },
        { "offers_expired", "scheduler", "offers_expired", D_KIND | D_BRANCH | D_PARTNER },
        { "cancellations", "scheduler", "cancelled", D_KIND | D_BRANCH | D_PARTNER },
        { "flagged_noshow", "scheduler", "flagged_noshow", D_BRANCH | D_PARTNER },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(sums); i++)
        put_int(o, sums[i].name, S(x, sums[i].svc, sums[i].base, sums[i].dims));
    /* trained: by kind, the kind of the person's first workshop */
    put_int(o, "people_trained", wk ? S(x, "scheduler", "trained", KBP) : S(x, "scheduler", "trained", BP));
    int64_t seen = S(x, "scheduler", "seen", KBP), noshow = S(x, "scheduler", "noshow", KBP),
            excused = S(x, "scheduler", "excused", KBP);
    put_int(o, "attended", seen);
    put_int(o, "noshow", noshow);
    put_int(o, "excused", excused);
    put_tenths(o, "noshow_rate", seen < 0 ? -1 : kpi_pct_tenths(noshow, seen + noshow + excused));
    put_int(o, "consent_withdrawals", S_any(x, "intake", "consent_withdrawn"));
    session_figures(x, o);
    put_int(o, "waiting", waiting_now(x));
    wait_figures(x, o);
    /* the survey (no breakdown: a filter makes them null) */
    put_int(o, "surveys_invited", S0(x, "survey", "invited"));
    int64_t answered = S0(x, "survey", "answered");
    put_int(o, "surveys_answered", answered);
    put_int(o, "surveys_reminded", S0(x, "survey", "reminded"));
    put_int(o, "surveys_closed_unanswered", S0(x, "survey", "closed_unanswered"));
    if (answered < 0) {
        json_object_object_add(o, "satisfaction", NULL);
        json_object_object_add(o, "satisfaction_answers", NULL);
    } else {
        json_object *sat = json_object_new_object();
        int64_t total = 0;
        for (int score = 1; score <= 4; score++) {
            char field[32], k[4];
            snprintf(field, sizeof field, "satisfaction:%d", score);
            snprintf(k, sizeof k, "%d", score);
            int64_t v = S0(x, "survey", field);
            json_object_object_add(sat, k, json_object_new_int64(v));
            total += v;
        }
        put_int(o, "satisfaction_answers", total);
        put_tenths(o, "pct_very_satisfied", kpi_pct_tenths(fig_int(sat, "1"), total));
        json_object_object_add(o, "satisfaction", sat);
    }
    if (answered < 0)
        json_object_object_add(o, "pct_very_satisfied", NULL);
    int64_t more = S0(x, "survey", "wants_more"), went = S0(x, "survey", "went_on");
    put_int(o, "wants_more", more);
    put_tenths(o, "pct_wants_more", answered < 0 ? -1 : kpi_pct_tenths(more, answered));
    put_int(o, "went_on", went);
    put_tenths(o, "pct_went_on", answered < 0 ? -1 : kpi_pct_tenths(went, answered));
    /* levels (matcher): no breakdown */
    json_object_object_add(o, "levels_entry", distribution(x, "matcher", "level_entry"));
    json_object_object_add(o, "levels_reassessed", distribution(x, "matcher", "level_reassessed"));
    json_object_object_add(o, "level_changes", distribution(x, "matcher", "level_change"));
    /* notifications (gateway): the channels, SMS and letters */
    put_int(o, "notifications_sent", add(S0(x, "gateway", "sent:sms"), S0(x, "gateway", "sent:letter")));
    put_int(o, "notifications_failed", S0(x, "gateway", "failed"));
    put_int(o, "notifications_given_up", S0(x, "gateway", "given_up"));
    json_object_put(c.sums);
    return o;
}

/* ------------------------------------------------------------ the outlook */

static void kinds_of(json_object *const *aggs, int naggs, const kpi_conf_t *conf, json_object *set);

json_object *kpi_outlook(json_object *const *aggs, int naggs, const kpi_filter_t *filter, const kpi_conf_t *conf)
{
    json_object *kinds = json_object_new_object(), *out = json_object_new_array();
    kinds_of(aggs, naggs, conf, kinds);
    json_object_object_foreach(kinds, kind, unused)
    {
        (void)unused;
        if (nonempty(filter->kind) && strcmp(kind, filter->kind) != 0)
            continue;
        int64_t waiting = 0, sessions = 0, seats = 0, taken = 0, arrivals = 0;
        for (int a = 0; a < naggs; a++) {
            json_object *ol, *k;
            if (!agg_selected(aggs[a], filter) || !json_object_object_get_ex(aggs[a], "outlook", &ol)
                || !json_object_object_get_ex(ol, kind, &k))
                continue;
            waiting += fig_int(k, "waiting");
            sessions += fig_int(k, "sessions");
            seats += fig_int(k, "seats");
            taken += fig_int(k, "taken");
            arrivals += fig_int(k, "arrivals");
        }
        json_object *r = json_object_new_object();
        const cat_kind_t *ck = conf && conf->catalogue ? catalogue_kind(conf->catalogue, kind) : NULL;
        json_object_object_add(r, "kind", json_object_new_string(kind));
        json_object_object_add(r, "title", json_object_new_string(ck ? ck->title_fr : kind));
        put_int(r, "waiting", waiting);
        put_int(r, "sessions_ahead", sessions);
        put_int(r, "seats_ahead", seats);
        put_int(r, "taken_ahead", taken);
        put_int(r, "arrivals_recent", arrivals);
        /* per week: the 28 days ahead (and back, for arrivals) are 4 weeks */
        const int64_t days = FIG_OUTLOOK_DAYS;
        put_tenths(r, "weekly_seats", (seats * 70 + days / 2) / days);
        put_tenths(r, "arrivals_per_week", (arrivals * 70 + days / 2) / days);
        /* the wait of a person referred today: everyone ahead (waiting, and
         * seats already taken) served at the weekly seats */
        int64_t wait = seats > 0 ? (days * 10 * (waiting + taken + 1) + seats / 2) / seats : -1;
        put_tenths(r, "projected_wait_days", wait);
        char warn[400] = "";
        int64_t limit = conf ? conf->wait_warn_days : 28;
        if (seats == 0 && (waiting > 0 || arrivals > 0))
            snprintf(warn, sizeof warn, "Aucune séance ouverte dans les %lld prochains jours alors que %lld personne%s "
                     "attend%s : ouvrir des séances.", (long long)days, (long long)waiting, waiting > 1 ? "s" : "",
                     waiting > 1 ? "ent" : "");
        else if (wait > limit * 10)
            snprintf(warn, sizeof warn, "Attente prévue de %lld jours, au-delà du seuil de %lld jours : ouvrir des "
                     "séances.", (long long)((wait + 5) / 10), (long long)limit);
        if (seats > 0 && arrivals > seats) {
            size_t l = strlen(warn);
            snprintf(warn + l, sizeof warn - l, "%sLa demande (%lld orientations en %lld jours) dépasse l'offre "
                     "(%lld places).", l ? " " : "", (long long)arrivals, (long long)days, (long long)seats);
        }
        json_object_object_add(r, "warning", json_object_new_boolean(warn[0] != '\0'));
        json_object_object_add(r, "warning_fr", warn[0] ? json_object_new_string(warn) : NULL);
        json_object_array_add(out, r);
    }
    json_object_put(kinds);
    return out;
}

/* ------------------------------------------------------------ groupings */

static void set_add(json_object *set, const char *k)
{
    if (k && *k && !json_object_object_get_ex(set, k, NULL))
        json_object_object_add(set, k, json_object_new_boolean(1));
}

/* Every kind: the catalogue's, then those found in the figures (a kind
 * since removed from the catalogue still has its figures). */
static void kinds_of(json_object *const *aggs, int naggs, const kpi_conf_t *conf, json_object *set)
{
    for (int i = 0; conf && conf->catalogue && i < conf->catalogue->nkinds; i++)
        set_add(set, conf->catalogue->kinds[i].code);
    for (int a = 0; a < naggs; a++) {
        json_object *ol, *sessions;
        if (json_object_object_get_ex(aggs[a], "outlook", &ol)) {
            json_object_object_foreach(ol, kind, v)
            {
                (void)v;
                set_add(set, kind);
            }
        }
        if (json_object_object_get_ex(aggs[a], "sessions", &sessions))
            for (size_t i = 0; i < json_object_array_length(sessions); i++)
                set_add(set, fig_str(json_object_array_get_idx(sessions, i), "kind"));
        json_object *days;
        if (!json_object_object_get_ex(aggs[a], "days", &days))
            continue;
        json_object_object_foreach(days, day, dobj)
        {
            (void)day;
            json_object *m;
            if (!json_object_object_get_ex(dobj, "matcher", &m))
                continue;
            json_object_object_foreach(m, field, v2)
            {
                (void)v2;
                if (!strncmp(field, "assigned:", 9) && !strchr(field, '@'))
                    set_add(set, field + 9);
            }
        }
    }
}

/* Branches ("b") or partners ("p") found in the figures of [from, to]. */
static void dims_of(json_object *const *aggs, int naggs, const char *from, const char *to, char which, json_object *set)
{
    char tag[4] = { '@', which, ':', '\0' };
    for (int a = 0; a < naggs; a++) {
        json_object *days;
        if (!json_object_object_get_ex(aggs[a], "days", &days))
            continue;
        json_object_object_foreach(days, day, dobj)
        {
            if (strcmp(day, from) < 0 || strcmp(day, to) > 0)
                continue;
            json_object_object_foreach(dobj, svc, fields)
            {
                int intake = !strcmp(svc, "intake");
                json_object_object_foreach(fields, field, v)
                {
                    (void)v;
                    const char *t = strstr(field, tag);
                    if (t)
                        set_add(set, t + 3);
                    else if (which == 'b' && intake && (!strncmp(field, "referrals:", 10) || !strncmp(field, "no_consent:", 11)))
                        set_add(set, strchr(field, ':') + 1);
                }
            }
        }
    }
}

/* The keys of a set, sorted, as {"key": k} rows. */
static json_object *sorted_rows(json_object *set, const char *from, const char *to)
{
    size_t n = (size_t)json_object_object_length(set), i = 0;
    const char **keys = xcalloc(n + 1, sizeof *keys);
    json_object_object_foreach(set, k, v)
    {
        (void)v;
        keys[i++] = k;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    json_object *rows = json_object_new_array();
    for (i = 0; i < n; i++) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "key", json_object_new_string(keys[i]));
        json_object_object_add(r, "from", json_object_new_string(from));
        json_object_object_add(r, "to", json_object_new_string(to));
        json_object_array_add(rows, r);
    }
    free(keys);
    return rows;
}

json_object *kpi_groups(json_object *const *aggs, int naggs, const char *by, const char *from, const char *to,
                        const kpi_conf_t *conf)
{
    if (!by)
        return NULL;
    if (!strcmp(by, "week") || !strcmp(by, "month")) {
        int week = by[0] == 'w';
        json_object *rows = json_object_new_array();
        char day[11], key[9] = "", cur[9] = "", first[11] = "";
        util_strlcpy(day, from, sizeof day);
        for (int guard = 0; strcmp(day, to) <= 0 && guard < FIG_MAX_DAYS; guard++) {
            if (week)
                kpi_week_of(day, key);
            else
                kpi_month_of(day, key);
            if (strcmp(key, cur) != 0) {
                util_strlcpy(cur, key, sizeof cur);
                util_strlcpy(first, day, sizeof first);
                json_object *r = json_object_new_object();
                json_object_object_add(r, "key", json_object_new_string(key));
                json_object_object_add(r, "from", json_object_new_string(first));
                json_object_object_add(r, "to", json_object_new_string(day));
                json_object_array_add(rows, r);
            } else {
                json_object *r = json_object_array_get_idx(rows, json_object_array_length(rows) - 1);
                json_object_object_add(r, "to", json_object_new_string(day));
            }
            if (fig_next_day(day, day) != 0)
                break;
        }
        return rows;
    }
    json_object *set = json_object_new_object(), *rows = NULL;
    if (!strcmp(by, "kind"))
        kinds_of(aggs, naggs, conf, set);
    else if (!strcmp(by, "branch"))
        dims_of(aggs, naggs, from, to, 'b', set);
    else if (!strcmp(by, "partner"))
        dims_of(aggs, naggs, from, to, 'p', set);
    else if (!strcmp(by, "territory"))
        for (int a = 0; a < naggs; a++)
            set_add(set, fig_str(aggs[a], "territory"));
    else {
        json_object_put(set);
        return NULL;
    }
    rows = sorted_rows(set, from, to);
    json_object_put(set);
    return rows;
}

/* ------------------------------------------------------------ the report */

static json_object *str_or_null(const char *s) { return nonempty(s) ? json_object_new_string(s) : NULL; }

json_object *kpi_report(json_object *const *aggs, int naggs, const kpi_query_t *q, const kpi_conf_t *conf)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "definitions", json_object_new_string(KPI_DEFINITIONS));
    json_object *period = json_object_new_object();
    json_object_object_add(period, "from", json_object_new_string(q->from));
    json_object_object_add(period, "to", json_object_new_string(q->to));
    int64_t closed = naggs > 0 ? INT64_MAX : 0, now = naggs > 0 ? INT64_MAX : 0;
    for (int a = 0; a < naggs; a++) {
        int64_t c = fig_int(aggs[a], "closed_ms"), n = fig_int(aggs[a], "now_ms");
        closed = c > 0 && c < closed ? c : c > 0 ? closed : 0;
        now = n < now ? n : now;
    }
    json_object_object_add(period, "closed", json_object_new_boolean(closed > 0));
    put_int(period, "closed_ms", closed > 0 ? closed : -1);
    json_object_object_add(r, "period", period);
    put_int(r, "now_ms", now);
    json_object *filters = json_object_new_object();
    json_object_object_add(filters, "branch", str_or_null(q->filter.branch));
    json_object_object_add(filters, "partner", str_or_null(q->filter.partner));
    json_object_object_add(filters, "kind", str_or_null(q->filter.kind));
    json_object_object_add(filters, "territory", str_or_null(q->filter.territory));
    json_object_object_add(r, "filters", filters);

    json_object *figures = kpi_figures(aggs, naggs, q->from, q->to, &q->filter);
    json_object *funnel = json_object_new_array();
    for (int i = 0; funnel_stages[i]; i++) {
        json_object *st = json_object_new_object(), *v = NULL;
        json_object_object_get_ex(figures, funnel_stages[i], &v);
        json_object_object_add(st, "stage", json_object_new_string(funnel_stages[i]));
        json_object_object_add(st, "label", json_object_new_string(kpi_label(funnel_stages[i])));
        json_object_object_add(st, "value", json_object_get(v));
        json_object_array_add(funnel, st);
    }
    json_object_object_add(r, "figures", figures);
    json_object_object_add(r, "funnel", funnel);

    json_object_object_add(r, "by", str_or_null(q->by));
    json_object *rows = kpi_groups(aggs, naggs, q->by, q->from, q->to, conf);
    for (size_t i = 0; rows && i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        kpi_filter_t f = q->filter;
        const char *key = fig_str(row, "key");
        if (!strcmp(q->by, "branch"))
            f.branch = key;
        else if (!strcmp(q->by, "partner"))
            f.partner = key;
        else if (!strcmp(q->by, "kind"))
            f.kind = key;
        else if (!strcmp(q->by, "territory"))
            f.territory = key;
        json_object_object_add(row, "figures", kpi_figures(aggs, naggs, fig_str(row, "from"), fig_str(row, "to"), &f));
    }
    json_object_object_add(r, "rows", rows ? rows : json_object_new_array());
    json_object_object_add(r, "outlook", kpi_outlook(aggs, naggs, &q->filter, conf));

    json_object *kinds = json_object_new_array();
    for (int i = 0; conf && conf->catalogue && i < conf->catalogue->nkinds; i++) {
        const cat_kind_t *k = &conf->catalogue->kinds[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "code", json_object_new_string(k->code));
        json_object_object_add(o, "title", json_object_new_string(k->title_fr));
        json_object_object_add(o, "partner", json_object_new_string(k->partner));
        json_object_array_add(kinds, o);
    }
    json_object_object_add(r, "kinds", kinds);
    json_object *labels = json_object_new_object();
    for (int i = 0; kpi_names[i]; i++)
        json_object_object_add(labels, kpi_names[i], json_object_new_string(kpi_label(kpi_names[i])));
    json_object_object_add(r, "labels", labels);
    return r;
}
