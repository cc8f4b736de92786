/* route.c: what an SMS reply is for, from what the people of its number
 * have open — a table of (reply, people, expected action). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "gateway/route.h"

/* p0: an open offer; p1: a booking; p2: a survey invitation; p3: a survey
 * with a score kept; p4: a second open offer (another person, same phone);
 * p5: nothing open. */
static const route_person_t P[] = {
    { .person = "p0", .offers = { "OFFER00000" }, .noffers = 1, .yes_no = -1 },
    { .person = "p1", .booking = "BOOK000001", .yes_no = -1 },
    { .person = "p2", .participation = "part-2", .yes_no = -1 },
    { .person = "p3", .participation = "part-3", .score = 2, .yes_no = -1 },
    { .person = "p4", .offers = { "OFFER00004" }, .noffers = 1, .yes_no = -1 },
    { .person = "p5", .yes_no = -1 },
    { .person = "p6", .booking = "BOOK000006", .booking_late = 1, .yes_no = -1 }, /* inside the cutoff */
    { .person = "p7", .expired = 1, .yes_no = -1 },                               /* an offer past its deadline */
    { .person = "p8", .participation = "part-8", .expired = 1, .yes_no = -1 },
};

typedef struct {
    const char *text;
    int first, n; /* the people of the number: P[first .. first + n) */
    route_action_t action;
    int who;
    const char *booking;
    int accept, score, yes_no;
} row_t;

static const row_t rows[] = {
    { "OUI", 0, 1, ROUTE_ANSWER_OFFER, 0, "OFFER00000", 1, 0, -1 },
    { "non merci", 0, 1, ROUTE_ANSWER_OFFER, 0, "OFFER00000", 0, 0, -1 },
    { "annuler", 0, 2, ROUTE_CANCEL_BOOKING, 1, "BOOK000001", 0, 0, -1 },
    { "ANNULER", 0, 1, ROUTE_ANSWER_OFFER, 0, "OFFER00000", 0, 0, -1 }, /* no booking: declines the offer */
    { "oui", 0, 5, ROUTE_NOT_UNDERSTOOD, 0, "", 0, 0, -1 },             /* two offers on one phone */
    { "oui", 5, 1, ROUTE_NOT_UNDERSTOOD, 0, "", 0, 0, -1 },             /* nothing open */
    { "1 oui", 2, 1, ROUTE_SURVEY, 0, "", 0, 1, 1 },
    { "3", 2, 1, ROUTE_SURVEY_PARTIAL, 0, "", 0, 3, -1 },
    { "non", 2, 1, ROUTE_SURVEY_PARTIAL, 0, "", 0, 0, 0 },
    { "non", 3, 1, ROUTE_SURVEY, 0, "", 0, 2, 0 }, /* the score came in an earlier SMS */
    { "2", 2, 2, ROUTE_NOT_UNDERSTOOD, 0, "", 0, 0, -1 }, /* two surveys on one phone */
    { "je viens", 0, 1, ROUTE_NOT_UNDERSTOOD, 0, "", 0, 0, -1 },
    { "OUI", 0, 0, ROUTE_UNKNOWN_SENDER, -1, "", 0, 0, -1 },
    { "annuler", 6, 1, ROUTE_REFUSED, 0, "", 0, 0, -1 },   /* too late: told, nothing sent */
    { "oui", 6, 2, ROUTE_REFUSED, 1, "", 0, 0, -1 },       /* the offer's deadline passed */
    { "non", 8, 1, ROUTE_SURVEY_PARTIAL, 0, "", 0, 0, 0 }, /* a survey open: its answer */
};

static void test_refusals(void **state)
{
    (void)state;
    reply_t r;
    route_t rt;
    reply_parse("ANNULER", &r);
    route_reply(&r, &P[6], 1, &rt);
    assert_string_equal(rt.refusal, "cancel:TOO_LATE");
    reply_parse("OUI", &r);
    route_reply(&r, &P[7], 1, &rt);
    assert_string_equal(rt.refusal, "offer:OFFER_EXPIRED");
    assert_string_equal(route_action_name(rt.action), "refused");
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row_t *w = &rows[i];
        reply_t r;
        route_t rt;
        reply_parse(w->text, &r);
        route_reply(&r, &P[w->first], w->n, &rt);
        if (rt.action != w->action || rt.who != w->who || strcmp(rt.booking, w->booking) || rt.accept != w->accept
            || rt.score != w->score || rt.yes_no != w->yes_no)
            fail_msg("row %zu (\"%s\"): got %s who %d booking '%s' accept %d score %d yes_no %d", i, w->text,
                     route_action_name(rt.action), rt.who, rt.booking, rt.accept, rt.score, rt.yes_no);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_table), cmocka_unit_test(test_refusals) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
