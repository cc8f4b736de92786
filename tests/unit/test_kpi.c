/* kpi.c and export.c without Redis: figures from a hand-made aggregate
 * (the field syntax of docs/figures.md), ISO weeks at the year's edges,
 * rounding, percentiles, CSV quoting and suppression. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "reporter/export.h"
#include "reporter/kpi.h"

static json_object *agg(void)
{
    return json_tokener_parse(
        "{\"territory\": \"42\", \"now_ms\": 1796900000000,"
        " \"days\": {\"2026-12-01\": {\"intake\": {\"referrals\": 5, \"referrals:wilson\": 3, \"referrals:bellevue\": 2,"
        "   \"referrals@p:pimms\": 5, \"no_consent\": 1, \"no_consent:wilson\": 1},"
        "  \"scheduler\": {\"seen:initiation\": 3, \"seen:initiation@b:wilson\": 2, \"seen:budget\": 1,"
        "   \"noshow:budget\": 1, \"offers_accepted:budget\": 4, \"trained\": 3, \"trained:initiation\": 3}},"
        "  \"2026-12-08\": {\"scheduler\": {\"seen:initiation\": 10}}},"
        " \"sessions\": [], \"current\": {\"waiting:budget\": 2},"
        " \"waits\": [{\"day\": \"2026-12-01\", \"kind\": \"initiation\", \"branch\": \"wilson\", \"partner\": \"pimms\", \"ms\": 100},"
        "  {\"day\": \"2026-12-01\", \"kind\": \"initiation\", \"branch\": \"bellevue\", \"partner\": \"pimms\", \"ms\": 300},"
        "  {\"day\": \"2026-12-01\", \"kind\": \"budget\", \"branch\": \"wilson\", \"partner\": \"pimms\", \"ms\": 200}],"
        " \"outlook\": {}}");
}

static const char *fig(json_object *f, const char *name)
{
    json_object *v = NULL;
    json_object_object_get_ex(f, name, &v);
    return v ? json_object_to_json_string(v) : "null";
}

static void figures_follow_the_field_syntax(void **state)
{
    (void)state;
    json_object *a = agg();
    kpi_filter_t none = { 0 }, wilson = { .branch = "wilson" }, budget = { .kind = "budget" }, pimms = { .partner = "pimms" };
    json_object *f = kpi_figures(&a, 1, "2026-12-01", "2026-12-07", &none);
    assert_string_equal(fig(f, "referrals_received"), "6");
    assert_string_equal(fig(f, "attended"), "4");          /* seen:<kind>, not seen:<kind>@b:… */
    assert_string_equal(fig(f, "offers"), "0");            /* offers:<kind> only, not offers_accepted */
    assert_string_equal(fig(f, "offers_accepted"), "4");
    assert_string_equal(fig(f, "noshow_rate"), "20.0");    /* 1 / (4 + 1 + 0) */
    assert_string_equal(fig(f, "wait_ms_median"), "200");  /* nearest rank of 3: the 2nd */
    assert_string_equal(fig(f, "wait_ms_p90"), "300");
    json_object_put(f);
    f = kpi_figures(&a, 1, "2026-12-01", "2026-12-07", &wilson);
    assert_string_equal(fig(f, "referrals_accepted"), "3"); /* intake's referrals:<branch> */
    assert_string_equal(fig(f, "referrals_received"), "4");
    assert_string_equal(fig(f, "attended"), "2");
    assert_string_equal(fig(f, "wait_samples"), "2");
    assert_string_equal(fig(f, "satisfaction"), "null");
    assert_string_equal(fig(f, "waiting"), "null");
    json_object_put(f);
    f = kpi_figures(&a, 1, "2026-12-01", "2026-12-07", &budget);
    assert_string_equal(fig(f, "attended"), "1");
    assert_string_equal(fig(f, "waiting"), "2");
    assert_string_equal(fig(f, "people_trained"), "0");
    assert_string_equal(fig(f, "referrals_accepted"), "null");
    json_object_put(f);
    f = kpi_figures(&a, 1, "2026-12-01", "2026-12-07", &pimms);
    assert_string_equal(fig(f, "referrals_accepted"), "5");
    assert_string_equal(fig(f, "no_consent"), "null");     /* not counted by partner */
    json_object_put(f);
    /* another territory than the aggregate's: nothing */
    kpi_filter_t t69 = { .territory = "69" };
    f = kpi_figures(&a, 1, "2026-12-01", "2026-12-31", &t69);
    assert_string_equal(fig(f, "attended"), "0");
    json_object_put(f);
    f = kpi_figures(&a, 1, "2026-12-01", "2026-12-31", &none);
    assert_string_equal(fig(f, "attended"), "14");
    json_object_put(f);
    json_object_put(a);
}

static void weeks_months_and_rounding(void **state)
{
    (void)state;
    char w[9], m[8];
    const char *cases[][2] = { { "2026-12-31", "2026-W53" }, { "2027-01-03", "2026-W53" }, { "2027-01-04", "2027-W01" },
                               { "2025-12-29", "2026-W01" }, { "2026-11-30", "2026-W49" } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kpi_week_of(cases[i][0], w);
        assert_string_equal(w, cases[i][1]);
    }
    kpi_month_of("2026-12-31", m);
    assert_string_equal(m, "2026-12");
    assert_int_equal(kpi_pct_tenths(1, 3), 333);
    assert_int_equal(kpi_pct_tenths(2, 3), 667);
    assert_int_equal(kpi_pct_tenths(1, 8), 125);
    assert_int_equal(kpi_pct_tenths(1, 0), -1);
    assert_int_equal(kpi_days_tenths(86400000LL * 7), 70);
    assert_int_equal(kpi_days_tenths(4320000), 1); /* 0.05 day rounds up */
    json_object *a = agg();
    json_object *rows = kpi_groups(&a, 1, "week", "2026-12-01", "2026-12-08", NULL);
    assert_int_equal(json_object_array_length(rows), 2);
    json_object_put(rows);
    rows = kpi_groups(&a, 1, "branch", "2026-12-01", "2026-12-08", NULL);
    assert_int_equal(json_object_array_length(rows), 2); /* bellevue, wilson */
    json_object_put(rows);
    assert_null(kpi_groups(&a, 1, "year", "2026-12-01", "2026-12-08", NULL));
    json_object_put(a);
}

static void csv_fields_as_excel_reads_them(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    export_field(f, "Agence Wilson");
    fputc('|', f);
    export_field(f, "a;b");
    fputc('|', f);
    export_field(f, "dit \"oui\"");
    fclose(f);
    assert_string_equal(buf, "Agence Wilson|\"a;b\"|\"dit \"\"oui\"\"\"");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(figures_follow_the_field_syntax),
        cmocka_unit_test(weeks_months_and_rounding),
        cmocka_unit_test(csv_fields_as_excel_reads_them),
    };
    return cmocka_run_group_tests_name("kpi", tests, NULL, NULL);
}
