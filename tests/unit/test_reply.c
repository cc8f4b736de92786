/* Unit tests for services/gateway/reply: a table of what people type and
 * what it means. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gateway/reply.h"

static void test_replies(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        reply_kind_t kind;
        int score, yes_no;
    } cases[] = {
        /* offers */
        { "OUI", REPLY_YES, 0, 1 },
        { "oui ", REPLY_YES, 0, 1 },
        { "Oui.", REPLY_YES, 0, 1 },
        { "O", REPLY_YES, 0, 1 },
        { "  oUi !!!", REPLY_YES, 0, 1 },
        { "Oui merci", REPLY_YES, 0, 1 },
        { "Bonjour, oui, merci.", REPLY_YES, 0, 1 },
        { "oui oui", REPLY_YES, 0, 1 },
        { "\xef\xbc\xaf\xef\xbc\xb5\xef\xbc\xa9", REPLY_YES, 0, 1 }, /* fullwidth ＯＵＩ */
        { "NON", REPLY_NO, 0, 0 },
        { "N", REPLY_NO, 0, 0 },
        { "NÔN !", REPLY_NO, 0, 0 },
        { "non\n", REPLY_NO, 0, 0 },
        /* a seat given up */
        { "ANNULER", REPLY_CANCEL, 0, -1 },
        { "Annulé merci", REPLY_CANCEL, 0, -1 },
        { "annulez svp", REPLY_CANCEL, 0, -1 },
        { "ANNULATION.", REPLY_CANCEL, 0, -1 },
        /* the survey */
        { "1 OUI", REPLY_SURVEY, 1, 1 },
        { "2", REPLY_SURVEY, 2, -1 },
        { "1oui", REPLY_SURVEY, 1, 1 },
        { "4 - non", REPLY_SURVEY, 4, 0 },
        { "non 3", REPLY_SURVEY, 3, 0 },
        { "3/OUI", REPLY_SURVEY, 3, 1 },
        { "Merci ! 1, oui", REPLY_SURVEY, 1, 1 },
        { "non", REPLY_NO, 0, 0 }, /* a bare NON: an offer's, or the survey's second answer */
        /* not understood */
        { "", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "   ...  ", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "merci", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "oui non", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "5", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "0", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "12", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "1 2", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "2.5", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "ANNULER OUI", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "annuler 2", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "oui je viens", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "ouiiii", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "ok", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "да", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "œ", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "oui \xff", REPLY_NOT_UNDERSTOOD, 0, -1 }, /* not UTF-8 */
        { "o o o o o o o o o", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "annulationannulation", REPLY_NOT_UNDERSTOOD, 0, -1 },
        { "👍", REPLY_NOT_UNDERSTOOD, 0, -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply_t r;
        reply_parse(cases[i].text, &r);
        if (r.kind != cases[i].kind || r.score != cases[i].score || r.yes_no != cases[i].yes_no)
            fail_msg("\"%s\": %s score %d yes_no %d", cases[i].text, reply_kind_name(r.kind), r.score, r.yes_no);
    }
}

static void test_long_reply(void **state)
{
    (void)state;
    char text[2048];
    memset(text, ' ', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    memcpy(text, "oui", 3);
    reply_t r;
    reply_parse(text, &r);
    assert_int_equal(r.kind, REPLY_NOT_UNDERSTOOD);
    text[1000] = '\0';
    reply_parse(text, &r);
    assert_int_equal(r.kind, REPLY_YES);
    assert_string_equal(reply_kind_name(REPLY_SURVEY), "survey");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_long_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
