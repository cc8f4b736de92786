#include "season_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const season_half_days[SEASON_NHALF_DAYS] = { "mon-am", "tue-pm", "wed-am", "thu-pm", "fri-am", "sat-am" };
/* the kind of each half-day's workshop in the shipped timetable */
static const season_profile_t season_half_day_kind[SEASON_NHALF_DAYS] = {
    SEASON_INITIATION, SEASON_IMPROVEMENT, SEASON_INITIATION, SEASON_BUDGET, SEASON_IMPROVEMENT, SEASON_INITIATION,
};
const char *const season_names[SEASON_NNAMES] = {
    "Josiane", "Marcel",   "Fatima", "Jean-Pierre", "Odette", "Ahmed",  "Colette", "Bernard",
    "Mireille", "Yves",    "Nadia",  "Gérard",      "Lucienne", "Mohamed", "Simone", "René",
    "Aïcha",   "Paulette", "Claude", "Huguette",    "Malika", "Roger",  "Zohra",   "Gisèle",
};
const char *const season_branch_ids[SEASON_NBRANCHES] = { "lp-st-etienne-wilson", "lp-st-etienne-bellevue",
                                                          "lp-firminy", "lp-roanne" };
const char *const season_branch_names[SEASON_NBRANCHES] = { "La Poste Saint-Étienne Wilson",
                                                            "La Poste Saint-Étienne Bellevue", "La Poste Firminy",
                                                            "La Poste Roanne" };
const char *const season_mediator_ids[SEASON_NMEDIATORS] = { "med-pimms-01", "med-pimms-02", "med-emmaus-01",
                                                             "med-emmaus-02" };
const char *const season_partner_ids[2] = { "pimms", "emmaus-connect" };

/* [season] of the configuration: each rate, its key and its default (the
 * one place they are written; README.md's table documents them). */
const conf_field_t season_conf_fields[] = {
    CONF_INT_FIELD("season", "people", season_rates_t, people, "350"),
    CONF_INT_FIELD("season", "weeks", season_rates_t, weeks, "12"),
    CONF_INT_FIELD("season", "improvement_pct", season_rates_t, improvement_pct, "18"),
    CONF_INT_FIELD("season", "budget_pct", season_rates_t, budget_pct, "10"),
    CONF_INT_FIELD("season", "autonomous_pct", season_rates_t, autonomous_pct, "8"),
    CONF_INT_FIELD("season", "no_mobile_pct", season_rates_t, no_mobile_pct, "12"),
    CONF_INT_FIELD("season", "no_consent_pct", season_rates_t, no_consent_pct, "3"),
    CONF_INT_FIELD("season", "noshow_pct", season_rates_t, noshow_pct, "12"),
    CONF_INT_FIELD("season", "excused_pct", season_rates_t, excused_pct, "5"),
    CONF_INT_FIELD("season", "cancel_pct", season_rates_t, cancel_pct, "10"),
    CONF_INT_FIELD("season", "decline_pct", season_rates_t, decline_pct, "25"),
    CONF_INT_FIELD("season", "survey_answer_pct", season_rates_t, survey_answer_pct, "80"),
    CONF_INT_FIELD("season", "very_satisfied_pct", season_rates_t, very_satisfied_pct, "95"),
    CONF_INT_FIELD("season", "wants_more_pct", season_rates_t, wants_more_pct, "80"),
    CONF_INT_FIELD("season", "holiday_week", season_rates_t, holiday_week, "8"),
    CONF_INT_FIELD("season", "absence_week", season_rates_t, absence_week, "5"),
};

/* every rate has its line (a missing one would be a zero row), and CONF_INT
 * writes an int64_t into each long */
_Static_assert(sizeof season_conf_fields / sizeof season_conf_fields[0] == SEASON_NCONF_FIELDS, "[season] keys");
_Static_assert(sizeof(long) == sizeof(int64_t), "season_rates_t's fields are read as CONF_INT (int64_t)");

void season_rates_default(season_rates_t *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < SEASON_NCONF_FIELDS; i++)
        conf_set(&season_conf_fields[i], r, season_conf_fields[i].def);
}

int season_rates_check(const season_rates_t *r, char *err, size_t cap)
{
    const struct {
        const char *name;
        long v, max;
    } c[] = {
        { "people", r->people, SEASON_MAX_PEOPLE },
        { "weeks", r->weeks, SEASON_MAX_WEEKS },
        { "improvement_pct", r->improvement_pct, 100 },
        { "budget_pct", r->budget_pct, 100 },
        { "autonomous_pct", r->autonomous_pct, 100 },
        { "no_mobile_pct", r->no_mobile_pct, 100 },
        { "no_consent_pct", r->no_consent_pct, 100 },
        { "noshow_pct", r->noshow_pct, 100 },
        { "excused_pct", r->excused_pct, 100 },
        { "cancel_pct", r->cancel_pct, 100 },
        { "decline_pct", r->decline_pct, 100 },
        { "survey_answer_pct", r->survey_answer_pct, 100 },
        { "very_satisfied_pct", r->very_satisfied_pct, 100 },
        { "wants_more_pct", r->wants_more_pct, 100 },
        { "holiday_week", r->holiday_week, r->weeks },
        { "absence_week", r->absence_week, r->weeks },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (c[i].v < 0 || c[i].v > c[i].max) {
            snprintf(err, cap, "%s = %ld: expected 0..%ld", c[i].name, c[i].v, c[i].max);
            return -1;
        }
    if (r->people < 1 || r->weeks < 1) {
        snprintf(err, cap, "people and weeks must be at least 1");
        return -1;
    }
    if (r->improvement_pct + r->budget_pct + r->autonomous_pct > 100 || r->noshow_pct + r->excused_pct > 100) {
        snprintf(err, cap, "improvement + budget + autonomous and noshow + excused must be at most 100 %%");
        return -1;
    }
    return 0;
}

/* splitmix64: small, seedable, well mixed from any seed (0 too) */
static uint64_t plan_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int plan_pick(uint64_t *s, int n) { return n > 0 ? (int)(plan_next(s) % (uint64_t)n) : 0; }

/* round(pct % of n), half up */
static int plan_quota(long pct, int n) { return (int)((pct * n + 50) / 100); }

typedef int (*plan_pred_t)(const season_person_t *p);

/* Sets *field to 1 on exactly quota(pct, eligible) people for whom pred
 * holds, chosen by the seed (a partial Fisher-Yates shuffle); returns how
 * many. */
static int plan_mark(season_plan_t *p, uint64_t *rng, plan_pred_t pred, size_t field, long pct)
{
    int *idx = malloc(sizeof *idx * (size_t)p->npeople), n = 0;
    for (int i = 0; i < p->npeople; i++)
        if (!pred || pred(&p->people[i]))
            idx[n++] = i;
    int k = plan_quota(pct, n);
    for (int i = 0; i < k; i++) {
        int j = i + plan_pick(rng, n - i), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        *(int *)((char *)&p->people[idx[i]] + field) = 1;
    }
    free(idx);
    return k;
}

static int has_workshop(const season_person_t *p) { return p->consent && p->profile != SEASON_AUTONOMOUS; }
static int comes(const season_person_t *p) { return has_workshop(p) && !p->noshow_first; }
static int reachable(const season_person_t *p) { return has_workshop(p) && p->mobile; }
static int cancel_candidate(const season_person_t *p) { return reachable(p) && !p->noshow_first && !p->excused_first; }
/* those who come to their first workshop and may answer the survey (by SMS,
 * or without a mobile on the paper form the trainer types in) */
static int attends(const season_person_t *p) { return has_workshop(p) && !p->noshow_first && !p->excused_first && !p->cancels; }
static int answers(const season_person_t *p) { return p->answers_survey; }

int season_score(const season_person_t *p)
{
    int s = 0;
    for (int i = 0; i < SEASON_QUESTIONS; i++)
        s += p->scores[i];
    return s;
}

/* Answers 0..3 summing to total (0..24), spread by the seed. */
static void plan_scores(uint64_t *rng, int total, int scores[SEASON_QUESTIONS])
{
    memset(scores, 0, sizeof(int) * SEASON_QUESTIONS);
    while (total > 0) {
        int q = plan_pick(rng, SEASON_QUESTIONS);
        if (scores[q] < 3) {
            scores[q]++;
            total--;
        }
    }
}

static int plan_by_day(const void *a, const void *b)
{
    const season_person_t *x = a, *y = b;
    return x->day != y->day ? x->day - y->day : strcmp(x->phone, y->phone);
}

int season_plan_make(uint64_t seed, const season_rates_t *r, season_plan_t *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (season_rates_check(r, err, cap) != 0)
        return -1;
    out->seed = seed;
    out->rates = *r;
    out->npeople = (int)r->people;
    out->people = calloc((size_t)out->npeople, sizeof *out->people);
    uint64_t rng = seed ^ 0x5EA5011ULL;
    season_person_t *P = out->people;
    int n = out->npeople;
    /* who, where, when: referred Monday to Friday, every week, more and
     * more as the word spreads (week w weighs 6 + w): by the last weeks
     * demand passes the seats and a waitlist forms */
    int weight_sum = 0;
    for (int w = 0; w < r->weeks; w++)
        weight_sum += 6 + w;
    for (int i = 0; i < n; i++) {
        season_person_t *p = &P[i];
        int x = plan_pick(&rng, weight_sum), w = 0;
        while (x >= 6 + w) {
            x -= 6 + w;
            w++;
        }
        p->day = w * 7 + plan_pick(&rng, 5);
        p->branch = plan_pick(&rng, SEASON_NBRANCHES);
        p->mediator = plan_pick(&rng, SEASON_NMEDIATORS);
        p->name = plan_pick(&rng, SEASON_NNAMES);
        p->birth_year = 1938 + plan_pick(&rng, 50);
        /* distinct numbers: i × 7919 mod 10^6 is one-to-one (7919 is prime to 10) */
        snprintf(p->phone, sizeof p->phone, "0%d%02d%06d", 6 + plan_pick(&rng, 2), (int)(seed % 100),
                 (int)(((long long)i * 7919 + 1) % 1000000));
        p->consent = 1;
        p->mobile = 1;
        p->profile = SEASON_INITIATION;
        p->satisfaction = 2;
    }
    /* profiles by quota */
    int *idx = malloc(sizeof *idx * (size_t)n);
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = plan_pick(&rng, i + 1), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    int ni = plan_quota(r->improvement_pct, n), nb = plan_quota(r->budget_pct, n), na = plan_quota(r->autonomous_pct, n);
    for (int k = 0; k < n; k++)
        P[idx[k]].profile = k < ni ? SEASON_IMPROVEMENT
                            : k < ni + nb ? SEASON_BUDGET
                            : k < ni + nb + na ? SEASON_AUTONOMOUS
                                               : SEASON_INITIATION;
    free(idx);
    /* answers that lead there (levels of the shipped questionnaire: 0..3
     * never, ..10 beginner, ..18 intermediate, ..24 autonomous) */
    for (int i = 0; i < n; i++) {
        season_person_t *p = &P[i];
        int total = p->profile == SEASON_INITIATION   ? plan_pick(&rng, 11)
                    : p->profile == SEASON_AUTONOMOUS ? 20 + plan_pick(&rng, 5)
                                                      : 12 + plan_pick(&rng, 6);
        plan_scores(&rng, total, p->scores);
        p->budget_need = p->profile == SEASON_BUDGET;
        /* initiation: one morning, Saturday for two in three (those who
         * work), and one half-day of improvement (their next workshop);
         * the others: one or two half-days of their workshop's */
        if (p->profile == SEASON_INITIATION || p->profile == SEASON_AUTONOMOUS) {
            int m = plan_pick(&rng, 6);
            p->avail = 1u << (m < 4 ? 5 : m == 4 ? 0 : 2);
            p->avail |= 1u << (plan_pick(&rng, 2) ? 1 : 4);
        } else {
            for (int k = 1 + plan_pick(&rng, 2), tries = 0; k > 0 && tries < 50; tries++) {
                int h = plan_pick(&rng, SEASON_NHALF_DAYS);
                if (season_half_day_kind[h] == p->profile && !(p->avail & (1u << h))) {
                    p->avail |= 1u << h;
                    k--;
                }
            }
        }
    }
    /* plan_mark sets a field to 1: clear it, then mark those who keep it */
    for (int i = 0; i < n; i++)
        P[i].mobile = 0;
    plan_mark(out, &rng, NULL, offsetof(season_person_t, mobile), 100 - r->no_mobile_pct);
    for (int i = 0; i < n; i++)
        P[i].consent = 0;
    plan_mark(out, &rng, NULL, offsetof(season_person_t, consent), 100 - r->no_consent_pct);
    plan_mark(out, &rng, has_workshop, offsetof(season_person_t, noshow_first), r->noshow_pct);
    plan_mark(out, &rng, comes, offsetof(season_person_t, excused_first),
              r->noshow_pct >= 100 ? 0 : r->excused_pct * 100 / (100 - r->noshow_pct));
    plan_mark(out, &rng, cancel_candidate, offsetof(season_person_t, cancels), r->cancel_pct);
    plan_mark(out, &rng, reachable, offsetof(season_person_t, declines), r->decline_pct);
    plan_mark(out, &rng, attends, offsetof(season_person_t, answers_survey), r->survey_answer_pct);
    plan_mark(out, &rng, answers, offsetof(season_person_t, wants_more), r->wants_more_pct);
    /* satisfaction: the quota very satisfied (1), the others mostly 2, a few 3 or 4 */
    {
        int *who = malloc(sizeof *who * (size_t)n), m = 0;
        for (int i = 0; i < n; i++)
            if (P[i].answers_survey)
                who[m++] = i;
        int k = plan_quota(r->very_satisfied_pct, m);
        for (int i = 0; i < m; i++) {
            int j = i + plan_pick(&rng, m - i), t = who[i];
            who[i] = who[j];
            who[j] = t;
            season_person_t *p = &P[who[i]];
            if (i < k) {
                p->satisfaction = 1;
            } else {
                int d = plan_pick(&rng, 10);
                p->satisfaction = d < 7 ? 2 : d < 9 ? 3 : 4;
            }
        }
        free(who);
    }
    qsort(P, (size_t)n, sizeof *P, plan_by_day);
    for (int i = 0; i < n; i++)
        snprintf(P[i].ref, sizeof P[i].ref, "SAISON-%llu-%04d", (unsigned long long)(seed % 1000000), i + 1);
    return 0;
}

void season_plan_free(season_plan_t *p)
{
    free(p->people);
    p->people = NULL;
    p->npeople = 0;
}

int season_find_phone(const season_plan_t *p, const char *phone)
{
    char national[16];
    if (!strncmp(phone, "+33", 3)) { /* as the gateway writes it */
        snprintf(national, sizeof national, "0%s", phone + 3);
        phone = national;
    }
    for (int i = 0; i < p->npeople; i++)
        if (p->people[i].mobile && !strcmp(p->people[i].phone, phone))
            return i;
    return -1;
}
