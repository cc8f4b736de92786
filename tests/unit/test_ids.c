/* Unit tests for common/ids: each shape of identifier, at its bounds, with
 * the characters that must never reach a Redis key or a log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ids.h"
#include "util.h"

#define ID64 "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789_-_-_-"
#define HEX32 "0123456789abcdef0123456789abcdef"

/* Characters no shape accepts. */
static const char *const never[] = { " a", "a b", "a:b", "{42}", "a\n", "a\t", "\xc3\xa9", "a*", "a\"", "a\\" };

static void test_valid(void **state)
{
    (void)state;
    assert_false(ids_valid(NULL, 64));
    assert_false(ids_valid("", 64));
    assert_true(ids_valid("a", 64));
    assert_true(ids_valid("Az09-_", 64));
    assert_true(ids_valid("1234567890123456", 16));
    assert_false(ids_valid("12345678901234567", 16));
    assert_false(ids_valid("a", 0));
    assert_true(ids_valid(ID64, 64));
    assert_false(ids_valid(ID64 "x", 64));
    assert_false(ids_valid("a.b", 64));
    assert_false(ids_valid("a/b", 64));
    for (size_t i = 0; i < TP_ARRAY_LEN(never); i++)
        assert_false(ids_valid(never[i], 64));
}

static void test_token(void **state)
{
    (void)state;
    assert_false(ids_token(NULL, 8, ""));
    assert_false(ids_token("", 8, ""));
    assert_true(ids_token("Ab1", 8, ""));
    assert_false(ids_token("a-b", 8, ""));
    assert_true(ids_token("a-b", 8, "-"));
    assert_true(ids_token("WIL-2026/000.1_x", 16, "-_./"));
    assert_false(ids_token("WIL-2026/000.1_xy", 16, "-_./"));
    assert_false(ids_token("a/b", 8, "-_."));
    for (size_t i = 0; i < TP_ARRAY_LEN(never); i++)
        assert_false(ids_token(never[i], 64, "-_./"));
}

static void test_hex(void **state)
{
    (void)state;
    char id[TP_ID_LEN + 1];
    util_random_id(id);
    assert_true(ids_hex(id));
    assert_true(ids_hex(HEX32));
    assert_false(ids_hex(NULL));
    assert_false(ids_hex(""));
    assert_false(ids_hex("0123456789abcdef0123456789abcde"));   /* 31 */
    assert_false(ids_hex(HEX32 "0"));                            /* 33 */
    assert_false(ids_hex("0123456789ABCDEF0123456789abcdef"));  /* upper case */
    assert_false(ids_hex("0123456789abcdef0123456789abcdeg"));  /* not hex */
    assert_false(ids_hex("0123456789abcdef0123456789abcde-"));
}

static void test_code(void **state)
{
    (void)state;
    assert_true(ids_code("initiation", 32));
    assert_true(ids_code("face-loire_01", 32));
    assert_true(ids_code("abcdefghijklmnopqrstuvwxyz012345", 32));
    assert_false(ids_code("abcdefghijklmnopqrstuvwxyz0123456", 32)); /* 33 */
    assert_false(ids_code("Initiation", 32));                         /* one code, one spelling */
    assert_false(ids_code("", 32));
    assert_false(ids_code(NULL, 32));
    assert_false(ids_code("a.b", 32));
    for (size_t i = 0; i < TP_ARRAY_LEN(never); i++)
        assert_false(ids_code(never[i], 32));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_code),
    };
    return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
