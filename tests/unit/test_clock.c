/* Unit tests for common/clock: the business-time formula and the configured
 * clock that uses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "clock.h"

#define EPOCH 1700000000000LL /* 2023-11-14T22:13:20Z */

/* ------------------------------------------------------------ pure form */

static void test_epoch_zero_is_real_time(void **state)
{
    (void)state;
    assert_int_equal(clock_business_ms(123456, 0, 0, 1.0), 123456);
    /* start and speed are ignored */
    assert_int_equal(clock_business_ms(123456, 0, 999, 60.0), 123456);
}

static void test_speed_one(void **state)
{
    (void)state;
    assert_int_equal(clock_business_ms(5000, EPOCH, 5000, 1.0), EPOCH);
    assert_int_equal(clock_business_ms(6500, EPOCH, 5000, 1.0), EPOCH + 1500);
}

static void test_speed_sixty(void **state)
{
    (void)state;
    /* one real second is one business minute */
    assert_int_equal(clock_business_ms(11000, EPOCH, 10000, 60.0), EPOCH + 60000);
    /* one real hour is 2.5 business days */
    assert_int_equal(clock_business_ms(3600000, EPOCH, 0, 60.0), EPOCH + 216000000LL);
}

static void test_fractional_speed(void **state)
{
    (void)state;
    assert_int_equal(clock_business_ms(1000, EPOCH, 0, 0.5), EPOCH + 500);
    assert_int_equal(clock_business_ms(1000, EPOCH, 0, 2.5), EPOCH + 2500);
    assert_int_equal(clock_business_ms(1001, EPOCH, 0, 0.5), EPOCH + 500); /* truncated */
}

static void test_before_start(void **state)
{
    (void)state;
    assert_int_equal(clock_business_ms(0, EPOCH, 1000, 1.0), EPOCH - 1000);
    assert_int_equal(clock_business_ms(0, EPOCH, 1000, 60.0), EPOCH - 60000);
}

/* ------------------------------------------------------- configured clock */

static void test_now_real_time_by_default(void **state)
{
    (void)state;
    clock_configure(0, 0, 1.0);
    int64_t before = clock_real_ms();
    int64_t now = clock_now_ms();
    int64_t after = clock_real_ms();
    assert_in_range(now, before, after);
    assert_true(now > EPOCH); /* really the wall clock */
}

static void test_now_follows_configuration(void **state)
{
    (void)state;
    int64_t start = clock_real_ms();
    clock_configure(EPOCH, start, 60.0);
    int64_t before = clock_real_ms();
    int64_t now = clock_now_ms();
    int64_t after = clock_real_ms();
    assert_in_range(now, clock_business_ms(before, EPOCH, start, 60.0),
                    clock_business_ms(after, EPOCH, start, 60.0));
    assert_true(now >= EPOCH && now < EPOCH + 86400000LL);
    clock_configure(0, 0, 1.0);
}

/* A speed that is not positive falls back to 1 rather than freezing or
 * running time backwards. */
static void test_bad_speed_means_one(void **state)
{
    (void)state;
    static const double bad[] = { 0.0, -2.0 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t start = clock_real_ms() - 10000;
        clock_configure(EPOCH, start, bad[i]);
        int64_t before = clock_real_ms();
        int64_t now = clock_now_ms();
        int64_t after = clock_real_ms();
        assert_in_range(now, EPOCH + (before - start), EPOCH + (after - start));
    }
    clock_configure(0, 0, 1.0);
}

static void test_mono_advances(void **state)
{
    (void)state;
    int64_t a = clock_mono_ms();
    int64_t b = clock_mono_ms();
    assert_true(a > 0);
    assert_true(b >= a);
}

/* The day before is a calendar day, also in the hour after the midnight
 * that follows the 23-hour day of the spring change (Paris, 28 March 2027). */
static void test_local_day_before(void **state)
{
    (void)state;
    assert_int_equal(clock_set_timezone("Europe/Paris"), 0);
    assert_null(getenv("TZ")); /* the process's TZ is left alone: CZMQ's threads may read it */
    assert_int_equal(clock_set_timezone("Europe/Pariss"), -1);
    assert_string_equal(cal_zone_name(clock_zone()), "Europe/Paris");
    char day[11];
    clock_local_day_before(1800000000000LL, day); /* 2027-01-15T08:00:00Z */
    assert_string_equal(day, "2027-01-14");
    clock_local_day(1806273000000LL - 86400000, day); /* the naive now - 24 h is two days back: */
    assert_string_equal(day, "2027-03-27");
    clock_local_day_before(1806273000000LL, day); /* 2027-03-28T22:30:00Z = 00:30 CEST on the 29th */
    assert_string_equal(day, "2027-03-28");
    clock_local_day(1806273000000LL, day);
    assert_string_equal(day, "2027-03-29");
    clock_local_day_before(1798761600000LL, day); /* 2027-01-01T00:00:00Z = 01:00 CET */
    assert_string_equal(day, "2026-12-31");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_day_before),
        cmocka_unit_test(test_epoch_zero_is_real_time),
        cmocka_unit_test(test_speed_one),
        cmocka_unit_test(test_speed_sixty),
        cmocka_unit_test(test_fractional_speed),
        cmocka_unit_test(test_before_start),
        cmocka_unit_test(test_now_real_time_by_default),
        cmocka_unit_test(test_now_follows_configuration),
        cmocka_unit_test(test_bad_speed_means_one),
        cmocka_unit_test(test_mono_advances),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
