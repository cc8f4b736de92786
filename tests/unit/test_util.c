/* Unit tests for common/util (lists, bounded copies, random and derived ids) and the
 * library-name substitution of common/rds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rds.h"
#include "util.h"

/* ----------------------------------------------------------- split_list */

static void test_split_trims_spaces(void **state)
{
    (void)state;
    char s[] = "  mon-am ,tue-pm,\twed-am\t , thu-am";
    char *items[8];
    assert_int_equal(util_split_list(s, items, 8), 4);
    assert_string_equal(items[0], "mon-am");
    assert_string_equal(items[1], "tue-pm");
    assert_string_equal(items[2], "wed-am");
    assert_string_equal(items[3], "thu-am");
}

static void test_split_skips_empty_items(void **state)
{
    (void)state;
    char s[] = ",a,, ,\t,b c,";
    char *items[8];
    assert_int_equal(util_split_list(s, items, 8), 2);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b c"); /* inner spaces are kept */

    char empty[] = "";
    assert_int_equal(util_split_list(empty, items, 8), 0);
    char blanks[] = " , ,, ";
    assert_int_equal(util_split_list(blanks, items, 8), 0);
}

/* Stops at max and never writes items[max]. */
static void test_split_respects_max(void **state)
{
    (void)state;
    char s[] = "a,b,c,d,e";
    char *items[3] = { NULL, NULL, (char *)"untouched" };
    assert_int_equal(util_split_list(s, items, 2), 2);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "untouched");

    char t[] = "a,b";
    assert_int_equal(util_split_list(t, items, 0), 0);
}

/* -------------------------------------------------------------- strlcpy */

static void test_strlcpy_fits(void **state)
{
    (void)state;
    char dst[8];
    assert_int_equal(util_strlcpy(dst, "abc", sizeof dst), 0);
    assert_string_equal(dst, "abc");
    assert_int_equal(util_strlcpy(dst, "1234567", sizeof dst), 0); /* exactly cap - 1 */
    assert_string_equal(dst, "1234567");
    assert_int_equal(util_strlcpy(dst, "", sizeof dst), 0);
    assert_string_equal(dst, "");
}

static void test_strlcpy_truncates(void **state)
{
    (void)state;
    char dst[8];
    memset(dst, 'x', sizeof dst);
    assert_int_equal(util_strlcpy(dst, "12345678", sizeof dst), -1); /* one too many */
    assert_string_equal(dst, "1234567");
    assert_int_equal(util_strlcpy(dst, "a much longer string", sizeof dst), -1);
    assert_string_equal(dst, "a much ");
    assert_int_equal(util_strlcpy(dst, "ab", 1), -1);
    assert_string_equal(dst, "");

    /* cap 0: nothing written at all */
    dst[0] = 'z';
    assert_int_equal(util_strlcpy(dst, "ab", 0), -1);
    assert_int_equal(dst[0], 'z');
}

/* ----------------------------------------------------------------- join */

static void test_join(void **state)
{
    (void)state;
    char *items[] = { "mon-am", "thu-pm", "sat-am" };
    char buf[32];
    assert_ptr_equal(util_join(items, 3, " ", buf, sizeof buf), buf);
    assert_string_equal(buf, "mon-am thu-pm sat-am");
    assert_string_equal(util_join(items, 1, " ", buf, sizeof buf), "mon-am");
    assert_string_equal(util_join(items, 0, " ", buf, sizeof buf), "");
    /* an item that does not fit whole is left out, never cut */
    assert_string_equal(util_join(items, 3, " ", buf, 20), "mon-am thu-pm");
    assert_string_equal(util_join(items, 3, " ", buf, 21), "mon-am thu-pm sat-am"); /* exactly */
    assert_string_equal(util_join(items, 3, " ", buf, 6), "");
    assert_string_equal(util_join(items, 2, ", ", buf, sizeof buf), "mon-am, thu-pm");
    buf[0] = 'z';
    util_join(items, 3, " ", buf, 0);
    assert_int_equal(buf[0], 'z');
}

/* ----------------------------------------------------------------- fail */

static void test_fail_formats_and_returns_minus_one(void **state)
{
    (void)state;
    char err[16];
    assert_int_equal(util_fail(err, sizeof err, "%s: %d", "capacity", 101), -1);
    assert_string_equal(err, "capacity: 101");
    assert_int_equal(util_fail(err, sizeof err, "a reason far longer than %zu", sizeof err), -1);
    assert_string_equal(err, "a reason far lo"); /* cut, terminated */
    err[0] = 'z';
    assert_int_equal(util_fail(err, 0, "nothing written"), -1);
    assert_int_equal(err[0], 'z');
}

/* ------------------------------------------------------------ random id */

static void test_random_id_format(void **state)
{
    (void)state;
    char id[TP_ID_LEN + 1];
    memset(id, 'X', sizeof id);
    util_random_id(id);
    assert_int_equal(strlen(id), TP_ID_LEN);
    for (int i = 0; i < TP_ID_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));
}

static void test_random_ids_differ(void **state)
{
    (void)state;
    char a[TP_ID_LEN + 1], b[TP_ID_LEN + 1];
    util_random_id(a);
    util_random_id(b);
    assert_string_not_equal(a, b);
    assert_true(util_random_u64() != util_random_u64());
}

/* A forked child does not hand out the ids its parent will (the random
 * bytes come from a pool the parent had already filled). */
static void test_a_forked_child_draws_its_own_ids(void **state)
{
    (void)state;
    char parent[TP_ID_LEN + 1], child[TP_ID_LEN + 1] = "";
    util_random_id(parent); /* the pool is filled */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        util_random_id(child);
        _exit(write(fds[1], child, sizeof child) == (ssize_t)sizeof child ? 0 : 1);
    }
    close(fds[1]);
    util_random_id(parent);
    assert_int_equal(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(strlen(child), TP_ID_LEN);
    assert_string_not_equal(parent, child);
}

/* ---------------------------------------------------------- derived ids */

static const unsigned char key_a[TP_ID_KEY_LEN] = { 0xa1, 0x02, 0x03 }, key_b[TP_ID_KEY_LEN] = { 0xb1, 0x02, 0x03 };

/* The same inputs and key, the same id (a step run again on any instance);
 * each input and the key change it. */
static void test_derive_id_is_keyed(void **state)
{
    (void)state;
    char a[TP_ID_LEN + 1], b[TP_ID_LEN + 1];
    util_id_key_set(key_a);
    util_derive_id("msg-1|peer|wilson|REF-1", "referral", 0, a);
    util_derive_id("msg-1|peer|wilson|REF-1", "referral", 0, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), TP_ID_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), TP_ID_LEN);
    util_derive_id("msg-1|peer|wilson|REF-1", "person", 0, b);
    assert_string_not_equal(a, b);
    util_derive_id("msg-1|peer|wilson|REF-1", "referral", 1, b);
    assert_string_not_equal(a, b);
    util_derive_id("msg-1|peer|wilson|REF-", "1referral", 0, b); /* where seed ends counts */
    assert_string_not_equal(a, b);
    util_id_key_set(key_b);
    util_derive_id("msg-1|peer|wilson|REF-1", "referral", 0, b);
    assert_string_not_equal(a, b);
}

/* Known answer: BLAKE2b-128 keyed with the deployment's key over seed\0,
 * label\0 and the index (4 bytes, big-endian) — not an unkeyed mix one
 * could run backwards from a published id to the person id. */
static void test_derive_id_known_answer(void **state)
{
    (void)state;
    unsigned char raw[TP_ID_LEN / 2];
    const unsigned char msg[] = "m1\0person\0\0\0\0\x02";
    crypto_generichash(raw, sizeof raw, msg, sizeof msg - 1, key_a, sizeof key_a);
    char want[TP_ID_LEN + 1];
    sodium_bin2hex(want, sizeof want, raw, sizeof raw);
    char got[TP_ID_LEN + 1];
    util_id_key_set(key_a);
    util_derive_id("m1", "person", 2, got);
    assert_string_equal(got, want);
}

static void test_id_key_load(void **state)
{
    (void)state;
    char path[] = "/tmp/tp-id-key-XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char hex[2 * TP_ID_KEY_LEN + 2];
    sodium_bin2hex(hex, sizeof hex, key_a, sizeof key_a); /* as setup.sh writes it, with a newline */
    strcat(hex, "\n");
    assert_int_equal(write(fd, hex, strlen(hex)), (ssize_t)strlen(hex));
    close(fd);
    util_id_key_set(key_b);
    assert_int_equal(util_id_key_load(path, err, sizeof err), 0);
    char a[TP_ID_LEN + 1], b[TP_ID_LEN + 1];
    util_derive_id("s", "l", 0, a);
    util_id_key_set(key_a);
    util_derive_id("s", "l", 0, b);
    assert_string_equal(a, b); /* the file's key is the one read */
    FILE *f = fopen(path, "w");
    fputs("not hex at all", f);
    fclose(f);
    assert_int_equal(util_id_key_load(path, err, sizeof err), -1);
    assert_non_null(strstr(err, "64 hex"));
    unlink(path);
    assert_int_equal(util_id_key_load(path, err, sizeof err), -1);
    assert_int_equal(util_id_key_load("", err, sizeof err), -1);
}

/* ------------------------------------------------------ library source */

static void test_library_source_replaces_every_mark(void **state)
{
    (void)state;
    char *s = rds_library_source("#!lua name=__LIB__\nlocal LIB = '__LIB__'\n-- __LIB_ is not a mark\n",
                                 "intake_v1");
    assert_string_equal(s, "#!lua name=intake_v1\nlocal LIB = 'intake_v1'\n-- __LIB_ is not a mark\n");
    free(s);
}

static void test_library_source_without_mark(void **state)
{
    (void)state;
    char *s = rds_library_source("return 1\n", "intake_v1");
    assert_string_equal(s, "return 1\n");
    free(s);
    s = rds_library_source("", "x");
    assert_string_equal(s, "");
    free(s);
}

static void test_library_source_adjacent_marks(void **state)
{
    (void)state;
    char *s = rds_library_source("__LIB____LIB__", "ab");
    assert_string_equal(s, "abab");
    free(s);
    /* a name longer than the mark, at both ends */
    s = rds_library_source("__LIB__.__LIB__", "a_rather_long_library_name");
    assert_string_equal(s, "a_rather_long_library_name.a_rather_long_library_name");
    free(s);
    /* an empty name removes the marks */
    s = rds_library_source("x__LIB__y", "");
    assert_string_equal(s, "xy");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_trims_spaces),
        cmocka_unit_test(test_split_skips_empty_items),
        cmocka_unit_test(test_split_respects_max),
        cmocka_unit_test(test_strlcpy_fits),
        cmocka_unit_test(test_strlcpy_truncates),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_fail_formats_and_returns_minus_one),
        cmocka_unit_test(test_random_id_format),
        cmocka_unit_test(test_random_ids_differ),
        cmocka_unit_test(test_a_forked_child_draws_its_own_ids),
        cmocka_unit_test(test_derive_id_is_keyed),
        cmocka_unit_test(test_derive_id_known_answer),
        cmocka_unit_test(test_id_key_load),
        cmocka_unit_test(test_library_source_replaces_every_mark),
        cmocka_unit_test(test_library_source_without_mark),
        cmocka_unit_test(test_library_source_adjacent_marks),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
