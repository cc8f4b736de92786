/* Unit tests for services/survey/answer.c: the checks of a SubmitSurvey that
 * need no Redis, as a table of (mutation of a good answer, expected code and
 * field), on both endpoints (loopback, kiosk), against the shipped
 * catalogue. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "survey/survey.h"

static catalogue_t cat;
static char long_comment[4 * SURVEY_COMMENT_MAX];

static int setup(void **state)
{
    (void)state;
    char err[512];
    if (catalogue_load("deploy/catalogue.json", &cat, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    for (int i = 0; i <= SURVEY_COMMENT_MAX; i++) /* one character too many, two bytes each */
        memcpy(long_comment + 2 * i, "é", 2);
    return 0;
}

/* A good paper form, by person and session. */
static void good(Tremplin__SubmitSurvey *s)
{
    tremplin__submit_survey__init(s);
    s->person_id = "0123456789abcdef0123456789abcdef";
    s->session_id = "20261130-0930-wilson-initiation";
    s->satisfaction = 1;
    s->wants_more_given = 1;
    s->wants_more = 1;
    s->requested_topic = "budget";
    s->comment = "Très bien.";
    s->channel = "paper";
}

typedef struct {
    const char *what;
    void (*mutate)(Tremplin__SubmitSurvey *s);
    int kiosk;
    const char *code, *field; /* NULL: accepted */
} answer_case_t;

static void as_is(Tremplin__SubmitSurvey *s) { (void)s; }
static void by_id(Tremplin__SubmitSurvey *s) { s->person_id = s->session_id = ""; s->participation_id = "fedcba9876543210fedcba9876543210"; }
static void nobody(Tremplin__SubmitSurvey *s) { s->person_id = s->session_id = ""; }
static void bad_id(Tremplin__SubmitSurvey *s) { by_id(s); s->participation_id = "ABC"; }
static void bad_person(Tremplin__SubmitSurvey *s) { s->person_id = "x"; }
static void bad_session(Tremplin__SubmitSurvey *s) { s->session_id = "a b"; }
static void no_channel(Tremplin__SubmitSurvey *s) { s->channel = ""; }
static void fax(Tremplin__SubmitSurvey *s) { s->channel = "fax"; }
static void sms(Tremplin__SubmitSurvey *s) { s->channel = "sms"; }
static void five(Tremplin__SubmitSurvey *s) { s->satisfaction = 5; }
static void topic_no_more(Tremplin__SubmitSurvey *s) { s->wants_more = 0; }
static void topic_unsaid(Tremplin__SubmitSurvey *s) { s->wants_more_given = 0; }
static void need_topic(Tremplin__SubmitSurvey *s) { s->requested_topic = "email"; }
static void unknown_topic(Tremplin__SubmitSurvey *s) { s->requested_topic = "tricot"; }
static void upper_topic(Tremplin__SubmitSurvey *s) { s->requested_topic = "Budget"; }
static void too_long(Tremplin__SubmitSurvey *s) { s->comment = long_comment; }
static void not_utf8(Tremplin__SubmitSurvey *s) { s->comment = "caf\xe9"; }
static void empty(Tremplin__SubmitSurvey *s)
{
    s->satisfaction = 0;
    s->wants_more_given = s->wants_more = 0;
    s->requested_topic = s->comment = "";
}
static void score_only(Tremplin__SubmitSurvey *s) { empty(s); s->satisfaction = 2; }

static const answer_case_t cases[] = {
    { "a good form", as_is, 0, NULL, NULL },
    { "named by its participation", by_id, 0, NULL, NULL },
    { "an SMS with the score only", score_only, 0, NULL, NULL },
    { "a need as topic", need_topic, 0, NULL, NULL },
    { "a kiosk saying nothing of its channel", no_channel, 1, NULL, NULL },
    { "no participation named", nobody, 0, "MISSING_FIELD", "participation_id" },
    { "a participation id not ours", bad_id, 0, "INVALID_FIELD", "participation_id" },
    { "a person id not ours", bad_person, 0, "INVALID_FIELD", "person_id" },
    { "a session id with a space", bad_session, 0, "INVALID_FIELD", "session_id" },
    { "no channel", no_channel, 0, "MISSING_FIELD", "channel" },
    { "an unknown channel", fax, 0, "UNKNOWN_VALUE", "channel" },
    { "a kiosk saying sms", sms, 1, "INVALID_FIELD", "channel" },
    { "satisfaction 5", five, 0, "INVALID_FIELD", "satisfaction" },
    { "a topic without wanting more", topic_no_more, 0, "INVALID_FIELD", "requested_topic" },
    { "a topic, wanting more unsaid", topic_unsaid, 0, "INVALID_FIELD", "requested_topic" },
    { "a topic nobody teaches", unknown_topic, 0, "UNKNOWN_VALUE", "requested_topic" },
    { "a topic in upper case", upper_topic, 0, "UNKNOWN_VALUE", "requested_topic" },
    { "a comment of 501 characters", too_long, 0, "TOO_LONG", "comment" },
    { "a comment in Latin-1", not_utf8, 0, "INVALID_FIELD", "comment" },
    { "nothing said", empty, 0, "MISSING_FIELD", "satisfaction" },
};

static void every_case_has_its_answer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Tremplin__SubmitSurvey s;
        good(&s);
        cases[i].mutate(&s);
        survey_error_t err = { 0 };
        int rc = survey_answer_check(&s, &cat, cases[i].kiosk, &err);
        if (!cases[i].code) {
            if (rc != 0)
                fail_msg("%s: refused %s %s (%s)", cases[i].what, err.code, err.field, err.message_fr);
            continue;
        }
        if (rc == 0 || strcmp(err.code, cases[i].code) || strcmp(err.field, cases[i].field))
            fail_msg("%s: %s %s, wanted %s %s", cases[i].what, rc ? err.code : "accepted", rc ? err.field : "",
                     cases[i].code, cases[i].field);
        assert_true(err.message_fr[0] != '\0');
    }
}

/* A paper form's yes/no cell: strict, any case, accents off; anything else
 * is an error, never a "no". */
static void yes_no_cells(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int want;
    } rows[] = {
        { "oui", 1 },  { "OUI", 1 },   { "Oui", 1 }, { " o ", 1 },     { "O", 1 },     { "yes", 1 },   { "1", 1 },
        { "ouí", 1 },  { "non", 0 },   { "NON", 0 }, { "n", 0 },       { "No", 0 },    { "0", 0 },     { "nön\t", 0 },
        { "", -1 },    { "  ", -1 },   { "2", -1 },  { "peut-être", -1 }, { "o ui", -1 }, { "nonn", -1 }, { "ouiouioui", -1 },
        { "oui?", -1 }, { "\xe9", -1 }, { "œ", -1 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (survey_yes_no(rows[i].text) != rows[i].want)
            fail_msg("'%s': %d, want %d", rows[i].text, survey_yes_no(rows[i].text), rows[i].want);
    assert_int_equal(survey_yes_no(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_case_has_its_answer),
        cmocka_unit_test(yes_no_cells),
    };
    return cmocka_run_group_tests_name("survey_answer", tests, setup, NULL);
}
