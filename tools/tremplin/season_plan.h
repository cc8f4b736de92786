/* season_plan — the scenario of a demo season, drawn from a seed: who is
 * referred, from which post office and mediator, on which day, at what
 * level, and how each person behaves (misses a workshop, cancels by SMS,
 * declines an offered seat, answers the survey). Pure: no clock, no I/O;
 * the same seed and rates give the same plan (tests/unit/test_season_plan.c).
 * `tremplin season` (cmd_season.c) plays it through the real services.
 *
 * Rates are exact quotas, not coin flips: with noshow_pct = 12 and 350
 * people, exactly round(0.12 × 350) = 42 of those who have a workshop miss
 * their first one; the seed chooses who. */
#ifndef TP_SEASON_PLAN_H
#define TP_SEASON_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "conf.h"

#define SEASON_MAX_PEOPLE 5000
#define SEASON_MAX_WEEKS 52
#define SEASON_QUESTIONS 8
#define SEASON_NBRANCHES 4  /* post offices of the department */
#define SEASON_NMEDIATORS 4 /* two per partner association */

/* What the assessment should make of the person (the matcher decides). */
typedef enum { SEASON_INITIATION, SEASON_IMPROVEMENT, SEASON_BUDGET, SEASON_AUTONOMOUS } season_profile_t;

/* The rates, in percent of the people concerned ([season] of the
 * configuration; defaults in season_rates_default). */
typedef struct {
    long people, weeks;
    long improvement_pct, budget_pct, autonomous_pct; /* the rest: initiation */
    long no_mobile_pct;                               /* a postal address, no mobile */
    long no_consent_pct;                              /* the referral says consent was refused */
    long noshow_pct, excused_pct;                     /* at their first workshop */
    long cancel_pct;                                  /* answer ANNULER to their first reminder (J-2) */
    long decline_pct;                                 /* answer NON to an offered seat */
    long survey_answer_pct;                           /* of those who come, answer (SMS, else paper) */
    long very_satisfied_pct, wants_more_pct;          /* of those who answer */
    long holiday_week;                                /* 1-based; 0: none */
    long absence_week;                                /* a trainer absent two days; 0: none */
} season_rates_t;

typedef struct {
    char ref[32];      /* the branch's external reference: SAISON-<seed>-<nnnn> */
    int branch;        /* 0..SEASON_NBRANCHES-1 */
    int mediator;      /* 0..SEASON_NMEDIATORS-1 (0, 1: first association) */
    int day;           /* day of the season, 0 = the first Monday; never a Sunday */
    season_profile_t profile;
    int scores[SEASON_QUESTIONS];
    int budget_need;   /* needs say budget and online banking */
    int name;          /* index of a given name */
    int birth_year;
    int mobile;        /* has a mobile (else a postal address) */
    char phone[11];    /* 06/07 + 8 digits, distinct per person */
    int consent;       /* consent given */
    unsigned avail;    /* bit i: season_half_days[i] */
    int noshow_first, excused_first, cancels, declines;
    int answers_survey, satisfaction, wants_more; /* satisfaction 1 (très) .. 4 */
} season_person_t;

typedef struct {
    uint64_t seed;
    season_rates_t rates;
    int npeople;
    season_person_t *people; /* by day, then by reference */
} season_plan_t;

/* The half-days of the shipped timetable's workshops, in bit order. */
extern const char *const season_half_days[];
#define SEASON_NHALF_DAYS 6
extern const char *const season_names[];
#define SEASON_NNAMES 24
extern const char *const season_branch_ids[SEASON_NBRANCHES];
extern const char *const season_branch_names[SEASON_NBRANCHES];
extern const char *const season_mediator_ids[SEASON_NMEDIATORS];
extern const char *const season_partner_ids[2];

/* [season]'s keys and defaults, and the defaults alone. */
#define SEASON_NCONF_FIELDS 16
extern const conf_field_t season_conf_fields[SEASON_NCONF_FIELDS];
void season_rates_default(season_rates_t *r);
/* 0, or -1 with the reason (English, for the caller to wrap) when a rate is
 * out of range. */
int season_rates_check(const season_rates_t *r, char *err, size_t cap);
/* Draws the plan; 0, or -1 when the rates are invalid. Free with
 * season_plan_free. */
int season_plan_make(uint64_t seed, const season_rates_t *r, season_plan_t *out, char *err, size_t cap);
void season_plan_free(season_plan_t *p);
/* The sum of a person's answers (the matcher's score). */
int season_score(const season_person_t *p);
/* The index of the person whose phone is phone ("0612345678"), or -1. */
int season_find_phone(const season_plan_t *p, const char *phone);

#endif
