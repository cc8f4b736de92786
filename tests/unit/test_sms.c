/* Unit tests for services/gateway/sms: GSM-7 and UCS-2 lengths, segments
 * (no character split across two), and the folds that keep French wording
 * in GSM-7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gateway/sms.h"

/* n copies of s, then mid, then n2 copies of s */
static char *rep(char *buf, size_t cap, const char *s, int n, const char *mid, int n2)
{
    buf[0] = '\0';
    for (int i = 0; i < n + n2; i++) {
        if (i == n)
            strncat(buf, mid, cap - strlen(buf) - 1);
        strncat(buf, s, cap - strlen(buf) - 1);
    }
    if (n2 == 0)
        strncat(buf, mid, cap - strlen(buf) - 1);
    return buf;
}

static void test_lengths_and_segments(void **state)
{
    (void)state;
    static char b[2048];
    static const struct {
        const char *unit;
        int n;
        const char *mid;
        int n2;
        sms_coding_t coding;
        int chars, units, segments;
    } cases[] = {
        { "a", 0, "", 0, SMS_GSM7, 0, 0, 1 },
        { "a", 160, "", 0, SMS_GSM7, 160, 160, 1 },
        { "a", 161, "", 0, SMS_GSM7, 161, 161, 2 },
        { "a", 306, "", 0, SMS_GSM7, 306, 306, 2 },
        { "a", 307, "", 0, SMS_GSM7, 307, 307, 3 },
        /* the basic set holds French's grave and acute accents, and É */
        { "é", 1, "è à ù ì ò É ä ö ü ñ Ç @ $ _ £", 0, SMS_GSM7, 30, 30, 1 },
        /* the extension table: two septets each */
        { "€", 80, "", 0, SMS_GSM7, 80, 160, 1 },
        { "€", 81, "", 0, SMS_GSM7, 81, 162, 2 },
        { "a", 0, "^{}\\[~]|", 0, SMS_GSM7, 8, 16, 1 },
        /* 152 + 2 + 152 = 306 septets: two segments of 153 would cut the
         * escape from its character, so it takes three */
        { "a", 152, "{", 152, SMS_GSM7, 305, 306, 3 },
        /* outside GSM-7: ê, ç, œ, the backtick, Vietnamese, Turkish, emoji */
        { "a", 69, "ê", 0, SMS_UCS2, 70, 70, 1 },
        { "a", 70, "ç", 0, SMS_UCS2, 71, 71, 2 },
        { "Œuvray", 1, "", 0, SMS_UCS2, 6, 6, 1 },
        { "Nguyễn", 1, "", 0, SMS_UCS2, 6, 6, 1 },
        { "Ğül", 1, "", 0, SMS_UCS2, 3, 3, 1 },
        { "`", 1, "", 0, SMS_UCS2, 1, 1, 1 },
        { "a", 134, "Ğ", 0, SMS_UCS2, 135, 135, 3 },
        /* a character beyond the BMP is two UTF-16 units, never split */
        { "😀", 1, "", 0, SMS_UCS2, 1, 2, 1 },
        { "a", 66, "😀", 66, SMS_UCS2, 133, 134, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sms_size_t sz;
        rep(b, sizeof b, cases[i].unit, cases[i].n, cases[i].mid, cases[i].n2);
        assert_int_equal(sms_measure(b, &sz), 0);
        if (sz.coding != cases[i].coding || sz.chars != cases[i].chars || sz.units != cases[i].units
            || sz.segments != cases[i].segments)
            fail_msg("case %zu: coding %d chars %d units %d segments %d", i, sz.coding, sz.chars, sz.units,
                     sz.segments);
        assert_int_equal(sms_is_gsm7(b), cases[i].coding == SMS_GSM7);
    }
}

static void test_not_utf8(void **state)
{
    (void)state;
    sms_size_t sz;
    assert_int_equal(sms_measure("caf\xe9", &sz), -1);
    assert_int_equal(sz.segments, 0);
    assert_int_equal(sms_is_gsm7("caf\xe9"), 0);
    char out[16];
    assert_int_equal(sms_fold("caf\xe9", out, sizeof out), -1);
}

static void test_fold(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "La Poste Wilson — espace numérique", "La Poste Wilson - espace numérique" },
        { "L’être « août » ; œuvre…", "L'etre \" aout \" ; oeuvre..." },
        { "ÀÂÈÊËÎÏÔÙÛÇç", "AAEEEIIOUUÇc" },
        { "9\u00a0h\u202f30\tdemain", "9 h 30 demain" },
        { "é è à ù ì ò É ü", "é è à ù ì ò É ü" }, /* already GSM-7 */
        { "Nguyễn", "Nguyễn" },                     /* no GSM-7 form: kept */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        assert_int_equal(sms_fold(cases[i].in, out, sizeof out), 0);
        assert_string_equal(out, cases[i].out);
    }
    char small[6];
    assert_int_equal(sms_fold("abcœdef", small, sizeof small), -1);
    assert_string_equal(small, "abcoe");
    assert_int_equal(sms_fold("abcd…", small, sizeof small), -1);
    assert_string_equal(small, "abcd"); /* never half a fold */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_segments),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_fold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
