/* Unit tests for common/keys: the one builder of Redis key names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "keys.h"

/* A service's own key, and one of another namespace (service NULL). */
static void test_shapes(void **state)
{
    (void)state;
    char k[64];
    assert_int_equal(tp_key(k, sizeof k, "42", "svc", "outbox"), strlen("tp:{42}:svc:outbox"));
    assert_string_equal(k, "tp:{42}:svc:outbox");
    tp_key(k, sizeof k, "2A", "svc", "seen:%.4s:%s", "abcdefgh", "m1");
    assert_string_equal(k, "tp:{2A}:svc:seen:abcd:m1");
    tp_key(k, sizeof k, "42", NULL, "fig:%d", 7);
    assert_string_equal(k, "tp:{42}:fig:7");
}

/* Too small a buffer: cut, terminated, never written past, and the full
 * length returned so that the caller can tell (as snprintf). */
static void test_cut(void **state)
{
    (void)state;
    const char *full = "tp:{42}:svc:lease:expiry";
    for (size_t cap = 0; cap <= strlen(full) + 1; cap++) {
        char k[40];
        memset(k, '#', sizeof k);
        assert_int_equal(tp_key(cap ? k : NULL, cap, "42", "svc", "lease:%s", "expiry"), strlen(full));
        if (cap > 0) {
            assert_int_equal(strlen(k), cap - 1);
            assert_memory_equal(k, full, cap - 1);
        }
        assert_int_equal(k[cap], '#'); /* nothing past the buffer */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
