/* Unit tests for services/scheduler/booking_id: what a person may type for
 * a booking id (case, O/I/L for 0/1), what is refused, and the step nonce
 * the ids are derived from (fresh random hex each time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "scheduler/scheduler.h"

static void test_typed_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } cases[] = {
        { "K7M2Q9XH4T", "K7M2Q9XH4T" }, { "k7m2q9xh4t", "K7M2Q9XH4T" }, { "0123456789", "0123456789" },
        { "O1234567l9", "0123456719" }, { "oIiLl00000", "0111100000" }, { "ABCDEFGHJK", "ABCDEFGHJK" },
        { "MNPQRSTVWX", "MNPQRSTVWX" }, { "YZyz000000", "YZYZ000000" },
        { "", NULL },                   { "K7M2Q9XH4", NULL },           { "K7M2Q9XH4T1", NULL },
        { "K7M2Q9XH4U", NULL },         { "K7M2Q9XH4-", NULL },          { "B123", NULL },
        { "K7M2 Q9XH4", NULL },         { "K7M2Q9XH4\xc3", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[SCHEDULER_BOOKING_LEN + 1] = "";
        int rc = scheduler_booking_id(cases[i].in, out);
        assert_int_equal(rc, cases[i].out ? 0 : -1);
        if (cases[i].out)
            assert_string_equal(out, cases[i].out);
    }
}

static void test_nonce(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    char a[SCHEDULER_NONCE_LEN + 1], b[SCHEDULER_NONCE_LEN + 1];
    scheduler_nonce(a);
    scheduler_nonce(b);
    assert_int_equal(strlen(a), SCHEDULER_NONCE_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), SCHEDULER_NONCE_LEN);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_forms),
        cmocka_unit_test(test_nonce),
    };
    return cmocka_run_group_tests_name("booking_id", tests, NULL, NULL);
}
