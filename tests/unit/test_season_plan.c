/* Unit tests for tools/tremplin/season_plan: the demo season is the same for
 * the same seed, another for another seed, and its rates are exact quotas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../tools/tremplin/season_plan.h"

static season_plan_t make(uint64_t seed, const season_rates_t *r)
{
    season_plan_t p;
    char err[200];
    assert_int_equal(season_plan_make(seed, r, &p, err, sizeof err), 0);
    return p;
}

static void same_seed_same_season(void **state)
{
    (void)state;
    season_rates_t r;
    season_rates_default(&r);
    season_plan_t a = make(42, &r), b = make(42, &r), c = make(43, &r);
    assert_int_equal(a.npeople, 350);
    assert_memory_equal(a.people, b.people, sizeof *a.people * (size_t)a.npeople);
    assert_true(memcmp(a.people, c.people, sizeof *a.people * (size_t)a.npeople) != 0);
    season_plan_free(&a);
    season_plan_free(&b);
    season_plan_free(&c);
}

static int count(const season_plan_t *p, int (*f)(const season_person_t *))
{
    int n = 0;
    for (int i = 0; i < p->npeople; i++)
        n += f(&p->people[i]);
    return n;
}

static int f_improvement(const season_person_t *p) { return p->profile == SEASON_IMPROVEMENT; }
static int f_budget(const season_person_t *p) { return p->profile == SEASON_BUDGET; }
static int f_autonomous(const season_person_t *p) { return p->profile == SEASON_AUTONOMOUS; }
static int f_no_mobile(const season_person_t *p) { return !p->mobile; }
static int f_no_consent(const season_person_t *p) { return !p->consent; }
static int f_workshop(const season_person_t *p) { return p->consent && p->profile != SEASON_AUTONOMOUS; }
static int f_noshow(const season_person_t *p) { return p->noshow_first; }
static int f_answers(const season_person_t *p) { return p->answers_survey; }
static int f_very(const season_person_t *p) { return p->answers_survey && p->satisfaction == 1; }
static int f_more(const season_person_t *p) { return p->wants_more; }

static void rates_are_exact_quotas(void **state)
{
    (void)state;
    season_rates_t r;
    season_rates_default(&r);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        season_plan_t p = make(seed, &r);
        assert_int_equal(count(&p, f_improvement), 63); /* 18 % of 350 */
        assert_int_equal(count(&p, f_budget), 35);
        assert_int_equal(count(&p, f_autonomous), 28);
        assert_int_equal(count(&p, f_no_mobile), 42);
        assert_int_equal(count(&p, f_no_consent), 350 - (97 * 350 + 50) / 100); /* those who keep it: 97 %, half up */
        int w = count(&p, f_workshop);
        assert_int_equal(count(&p, f_noshow), (int)((12 * w + 50) / 100));
        int a = count(&p, f_answers);
        assert_true(a > 0);
        assert_int_equal(count(&p, f_very), (95 * a + 50) / 100);
        assert_int_equal(count(&p, f_more), (80 * a + 50) / 100);
        season_plan_free(&p);
    }
}

static void people_are_well_formed(void **state)
{
    (void)state;
    season_rates_t r;
    season_rates_default(&r);
    season_plan_t p = make(7, &r);
    for (int i = 0; i < p.npeople; i++) {
        const season_person_t *x = &p.people[i];
        assert_true(x->day >= 0 && x->day < 7 * r.weeks && x->day % 7 < 5); /* Monday to Friday */
        assert_true(i == 0 || p.people[i - 1].day <= x->day);                /* in order */
        assert_int_equal(strlen(x->phone), 10);
        assert_int_equal(season_find_phone(&p, x->phone), x->mobile ? i : -1);
        assert_true(x->avail != 0);
        int s = season_score(x);
        if (x->profile == SEASON_INITIATION)
            assert_true(s <= 10);
        else if (x->profile == SEASON_AUTONOMOUS)
            assert_true(s >= 19);
        else
            assert_true(s >= 11 && s <= 18);
        for (int q = 0; q < SEASON_QUESTIONS; q++)
            assert_true(x->scores[q] >= 0 && x->scores[q] <= 3);
        assert_true(x->satisfaction >= 1 && x->satisfaction <= 4);
        assert_false(x->noshow_first && x->excused_first);
    }
    char phone[16];
    snprintf(phone, sizeof phone, "+33%s", p.people[0].phone + 1); /* as the gateway writes it */
    assert_int_equal(season_find_phone(&p, phone), p.people[0].mobile ? 0 : -1);
    season_plan_free(&p);
}

static void bad_rates_refused(void **state)
{
    (void)state;
    season_rates_t r;
    season_rates_default(&r);
    r.improvement_pct = 60;
    r.budget_pct = 50;
    season_plan_t p;
    char err[200];
    assert_int_equal(season_plan_make(1, &r, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 100"));
    season_rates_default(&r);
    r.holiday_week = 13;
    assert_int_equal(season_plan_make(1, &r, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "holiday_week"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_season),
        cmocka_unit_test(rates_are_exact_quotas),
        cmocka_unit_test(people_are_well_formed),
        cmocka_unit_test(bad_rates_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
