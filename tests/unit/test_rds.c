/* Unit tests for common/rds: reading Redis's persistence state from the
 * text of INFO persistence (what a service checks at connect and reports in
 * its Pong). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rds.h"

/* As Redis 7.0 writes it (trimmed, CRLF line ends), and what it means. */
static void test_states(void **state)
{
    (void)state;
    static const struct {
        const char *info;
        int aof, loading;
        const char *write, *rewrite;
    } cases[] = {
        { "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\n"
          "aof_rewrite_in_progress:0\r\naof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n"
          "aof_last_cow_size:0\r\n",
          1, 0, "ok", "ok" },
        { "# Persistence\r\nloading:1\r\naof_enabled:0\r\naof_last_bgrewrite_status:err\r\n"
          "aof_last_write_status:err\r\n",
          0, 1, "err", "err" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rds_persistence_t p;
        assert_int_equal(rds_parse_persistence(cases[i].info, &p), 0);
        assert_true(p.known);
        assert_int_equal(p.aof_enabled, cases[i].aof);
        assert_int_equal(p.loading, cases[i].loading);
        assert_string_equal(p.aof_last_write_status, cases[i].write);
        assert_string_equal(p.aof_last_bgrewrite_status, cases[i].rewrite);
    }
}

/* A field missing (another server, a cut reply): unknown, never "AOF on". */
static void test_missing_field_is_unknown(void **state)
{
    (void)state;
    static const char *const cuts[] = {
        "", "aof_enabled:1\r\n", "loading:0\r\naof_enabled:1\r\naof_last_write_status:ok\r\n",
        "xaof_enabled:1\r\nloading:0\r\naof_last_write_status:ok\r\naof_last_bgrewrite_status:ok\r\n",
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rds_persistence_t p;
        assert_int_equal(rds_parse_persistence(cuts[i], &p), -1);
        assert_false(p.known);
    }
}

/* A value longer than its field is cut, not overflowed; LF-only ends too. */
static void test_long_value_and_lf(void **state)
{
    (void)state;
    rds_persistence_t p;
    const char *info = "loading:0\naof_enabled:1\naof_last_write_status:something-long-and-odd\n"
                       "aof_last_bgrewrite_status:ok";
    assert_int_equal(rds_parse_persistence(info, &p), 0);
    assert_int_equal(strlen(p.aof_last_write_status), sizeof p.aof_last_write_status - 1);
    assert_string_equal(p.aof_last_bgrewrite_status, "ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_missing_field_is_unknown),
        cmocka_unit_test(test_long_value_and_lf),
    };
    return cmocka_run_group_tests_name("rds", tests, NULL, NULL);
}
