/* Unit tests for common/log: level names and the level filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

static void test_parse_every_name(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        log_level_t level;
    } cases[] = {
        { "debug", TPLOG_DEBUG }, { "info", TPLOG_INFO }, { "warn", TPLOG_WARN },
        { "error", TPLOG_ERROR }, { "off", TPLOG_OFF },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        log_level_t out = (log_level_t)-1;
        assert_int_equal(log_level_parse(cases[i].name, &out), 0);
        assert_int_equal(out, cases[i].level);
    }
}

/* An unknown name fails and leaves *out alone. */
static void test_parse_unknown(void **state)
{
    (void)state;
    static const char *const bad[] = { "", "verbose", "warning", "inf", "info ", "debugx" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        log_level_t out = TPLOG_ERROR;
        assert_int_equal(log_level_parse(bad[i], &out), -1);
        assert_int_equal(out, TPLOG_ERROR);
    }
}

static void test_enabled_follows_level(void **state)
{
    (void)state;
    log_set_level(TPLOG_WARN);
    assert_false(log_enabled(TPLOG_DEBUG));
    assert_false(log_enabled(TPLOG_INFO));
    assert_true(log_enabled(TPLOG_WARN));
    assert_true(log_enabled(TPLOG_ERROR));

    log_set_level(TPLOG_DEBUG);
    assert_true(log_enabled(TPLOG_DEBUG));
    assert_true(log_enabled(TPLOG_INFO));
    assert_true(log_enabled(TPLOG_ERROR));

    log_init("test", TPLOG_ERROR);
    assert_false(log_enabled(TPLOG_WARN));
    assert_true(log_enabled(TPLOG_ERROR));
    log_set_level(TPLOG_INFO);
}

/* "off" is a threshold, never a level a line can have. */
static void test_off_silences_everything(void **state)
{
    (void)state;
    log_set_level(TPLOG_OFF);
    for (int l = TPLOG_DEBUG; l <= TPLOG_OFF; l++)
        assert_false(log_enabled((log_level_t)l));
    log_set_level(TPLOG_DEBUG);
    assert_false(log_enabled(TPLOG_OFF));
    log_set_level(TPLOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_every_name),
        cmocka_unit_test(test_parse_unknown),
        cmocka_unit_test(test_enabled_follows_level),
        cmocka_unit_test(test_off_silences_everything),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
