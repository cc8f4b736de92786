/* calendar: civil dates, Easter, and local time in Europe/Paris across the
 * daylight-saving changes, without the process's TZ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

static int32_t date(const char *s)
{
    int32_t d;
    assert_int_equal(cal_parse_date(s, 1900, 2199, &d), 0);
    return d;
}

static void civil_dates_round_trip(void **state)
{
    (void)state;
    assert_int_equal(cal_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(cal_weekday(0), 4); /* a Thursday */
    assert_int_equal(cal_weekday(date("2026-11-30")), 1);
    for (int32_t d = date("1999-12-25"); d < date("2101-03-05"); d += 17) {
        int y, m, dd;
        cal_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(cal_days_from_civil(y, m, dd), d);
        char s[11];
        cal_format_date(d, s);
        assert_int_equal(date(s), d);
    }
    int32_t x;
    assert_int_equal(cal_parse_date("2027-02-29", 1900, 2199, &x), -1);
    assert_int_equal(cal_parse_date("2028-02-29", 1900, 2199, &x), 0);
    assert_int_equal(cal_parse_date("2026-13-01", 1900, 2199, &x), -1);
    assert_int_equal(cal_parse_date("2026-1-01", 1900, 2199, &x), -1);
    assert_int_equal(cal_parse_date("1999-12-31", 2000, 2199, &x), -1);
}

static void easter_of_known_years(void **state)
{
    (void)state;
    static const char *const known[] = { "2000-04-23", "2019-04-21", "2024-03-31", "2025-04-20", "2026-04-05",
                                         "2027-03-28", "2028-04-16", "2038-04-25", "2049-04-18", "2100-03-28" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        int y = atoi(known[i]);
        assert_int_equal(cal_easter(y), date(known[i]));
    }
}

static void paris_across_the_changes(void **state)
{
    (void)state;
    const cal_zone_t *z = cal_zone("Europe/Paris");
    assert_non_null(z);
    assert_string_equal(cal_zone_name(z), "Europe/Paris");
    cal_local_t l;
    /* winter: UTC+1 */
    cal_to_local(z, 1796022000000LL, &l); /* 2026-11-30T07:00:00Z */
    assert_int_equal(l.days, date("2026-11-30"));
    assert_int_equal(l.minute, 8 * 60);
    assert_int_equal(l.offset_min, 60);
    assert_int_equal(l.weekday, 1);
    /* 2027-03-28: 02:00 local becomes 03:00 (01:00Z) */
    int32_t spring = date("2027-03-28");
    assert_int_equal(cal_from_local(z, spring, 90), (int64_t)spring * 86400000 + 30 * 60000); /* 01:30 = 00:30Z */
    assert_int_equal(cal_from_local(z, spring, 9 * 60 + 30), (int64_t)spring * 86400000 + (7 * 60 + 30) * 60000);
    int64_t gap = cal_from_local(z, spring, 2 * 60 + 30); /* does not exist: after the gap */
    assert_true(gap >= (int64_t)spring * 86400000 + 60 * 60000);
    cal_to_local(z, gap, &l);
    assert_true(l.minute >= 3 * 60);
    cal_to_local(z, (int64_t)spring * 86400000 + 60 * 60000, &l); /* 01:00Z = 03:00 CEST */
    assert_int_equal(l.minute, 3 * 60);
    assert_int_equal(l.offset_min, 120);
    /* 2027-10-31: 03:00 local goes back to 02:00 (01:00Z) */
    int32_t autumn = date("2027-10-31");
    assert_int_equal(cal_from_local(z, autumn, 9 * 60 + 30), (int64_t)autumn * 86400000 + (8 * 60 + 30) * 60000);
    assert_int_equal(cal_from_local(z, autumn, 2 * 60 + 30), (int64_t)autumn * 86400000 + 30 * 60000); /* the first */
    cal_to_local(z, (int64_t)autumn * 86400000 + 90 * 60000, &l); /* 01:30Z = 02:30 CET, the second */
    assert_int_equal(l.minute, 2 * 60 + 30);
    assert_int_equal(l.offset_min, 60);
    /* before 1970 and just before midnight */
    cal_to_local(z, -1000, &l);
    assert_int_equal(l.days, 0);
    assert_int_equal(l.minute, 59);
    assert_ptr_equal(cal_zone("Europe/Paris"), z); /* opened once */
}

static void two_zones_at_once_and_unknown_ones(void **state)
{
    (void)state;
    const cal_zone_t *paris = cal_zone("Europe/Paris"), *reunion = cal_zone("Indian/Reunion");
    assert_non_null(paris);
    assert_non_null(reunion);
    cal_local_t a, b;
    cal_to_local(paris, 1796022000000LL, &a);
    cal_to_local(reunion, 1796022000000LL, &b);
    assert_int_equal(a.offset_min, 60);
    assert_int_equal(b.offset_min, 240);
    assert_null(cal_zone("Europe/Pariss"));
    assert_null(cal_zone("../../etc/passwd"));
    assert_null(cal_zone(""));
    assert_null(cal_zone(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(civil_dates_round_trip),
        cmocka_unit_test(easter_of_known_years),
        cmocka_unit_test(paris_across_the_changes),
        cmocka_unit_test(two_zones_at_once_and_unknown_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
