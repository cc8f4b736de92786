/* Unit tests for services/gateway/message: the French texts, exactly, with
 * their segments; what is left out when a text is too long (the address
 * before the title, never the date); names that make a text UCS-2 (Œuvray,
 * Nguyễn, Ğül); dates in words in Europe/Paris, summer and winter; letters;
 * what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gateway/message.h"
#include "util.h"

/* UTC instants (Paris is UTC+1 in winter, UTC+2 in summer) */
#define TUE_8_DEC_0930 1796718600000LL  /* 2026-12-08T08:30Z */
#define TUE_8_DEC_1130 1796725800000LL
#define MON_7_DEC_1800 1796662800000LL
#define THU_10_DEC_1400 1796907600000LL
#define THU_10_DEC_1600 1796914800000LL
#define MON_30_NOV_1400 1796043600000LL
#define TUE_1_DEC_0930 1796113800000LL
#define TUE_3_AUG_0930 1817278200000LL  /* 2027-08-03T07:30Z, summer time */
#define WED_29_SEP_1045 1822207500000LL /* 2027-09-29T08:45Z */

static const char TITLE[] = "Initiation au numérique";
static const char WILSON[] = "La Poste Wilson — espace numérique";
static const char WILSON_ADDR[] = "Bureau de poste Wilson, 42000 Saint-Étienne";

static msg_input_t input(msg_kind_t kind, const char *name)
{
    msg_input_t in = { .kind = kind, .zone = cal_zone("Europe/Paris"), .given_name = name };
    in.session = (msg_session_t){ TITLE, TUE_8_DEC_0930, TUE_8_DEC_1130, WILSON, WILSON_ADDR };
    in.deadline_ms = MON_7_DEC_1800;
    return in;
}

typedef struct {
    msg_input_t in;
    int max_segments;
    const char *text;
    sms_coding_t coding;
    int segments;
    unsigned dropped;
} sms_case_t;

static void check(const sms_case_t *c, size_t i)
{
    msg_sms_t s;
    char err[256] = "";
    if (msg_sms(&c->in, c->max_segments, &s, err, sizeof err) != 0)
        fail_msg("case %zu: %s", i, err);
    if (strcmp(s.text, c->text) != 0)
        fail_msg("case %zu:\n got  %s\n want %s", i, s.text, c->text);
    if (s.size.coding != c->coding || s.size.segments != c->segments || s.dropped != c->dropped)
        fail_msg("case %zu: coding %d segments %d dropped %#x", i, s.size.coding, s.size.segments, s.dropped);
}

/* ------------------------------------------------------------ the texts */

static void test_texts(void **state)
{
    (void)state;
    sms_case_t cases[] = {
        /* the demo's venue: its address does not fit with the rest */
        { input(MSG_CONVOCATION, "Josiane"), 1,
          "Bonjour Josiane, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, La Poste Wilson - "
          "espace numérique. Indisponible ? Répondez ANNULER.",
          SMS_GSM7, 1, MSG_PART_ADDRESS },
        { input(MSG_REMINDER, "Josiane"), 1,
          "Rappel : Josiane, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, La Poste Wilson - "
          "espace numérique. Indisponible ? Répondez ANNULER.",
          SMS_GSM7, 1, MSG_PART_ADDRESS },
        { input(MSG_OFFER, "Josiane"), 1,
          "Bonjour Josiane, une place se libère : mardi 8 décembre à 9 h 30, La Poste Wilson - espace numérique. "
          "Répondez OUI ou NON avant le lundi 7 décembre à 18 h.",
          SMS_GSM7, 1, MSG_PART_ADDRESS | MSG_PART_TITLE },
        { input(MSG_CANCELLED, "Josiane"), 1,
          "Bonjour Josiane, votre inscription à l'atelier Initiation au numérique du mardi 8 décembre à 9 h 30 est "
          "annulée.",
          SMS_GSM7, 1, 0 },
        { input(MSG_SURVEY, "Josiane"), 1,
          "Bonjour Josiane, merci pour l'atelier. De 1 (très satisfait) à 4 (pas satisfait) ? Souhaitez-vous un "
          "autre atelier : OUI/NON ? Exemple : 1 OUI",
          SMS_GSM7, 1, MSG_PART_TITLE },
        { input(MSG_NOT_UNDERSTOOD, "Josiane"), 1,
          "Réponse non comprise. Répondez OUI ou NON à une place proposée, ANNULER pour annuler une inscription, "
          "ou après un atelier une note de 1 à 4 puis OUI ou NON.",
          SMS_GSM7, 1, 0 },
        /* no name */
        { input(MSG_CONVOCATION, ""), 1,
          "Bonjour, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, La Poste Wilson - espace "
          "numérique. Indisponible ? Répondez ANNULER.",
          SMS_GSM7, 1, MSG_PART_ADDRESS },
        { input(MSG_REMINDER, NULL), 1,
          "Rappel : votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, La Poste Wilson - espace "
          "numérique. Indisponible ? Répondez ANNULER.",
          SMS_GSM7, 1, MSG_PART_ADDRESS },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i], i);
}

/* a session cancelled or cut: the reason, and the new session or the
 * waitlist */
static void test_moves(void **state)
{
    (void)state;
    sms_case_t cases[4];
    cases[0] = (sms_case_t){ input(MSG_SESSION_CANCELLED, "Josiane"), 1,
                             "Bonjour Josiane, votre atelier du mardi 8 décembre à 9 h 30 est annulé (formateur "
                             "absent). Nouvelle date : jeudi 10 décembre à 14 h, lieu inchangé.",
                             SMS_GSM7, 1, MSG_PART_HINT | MSG_PART_TITLE };
    cases[0].in.reason = msg_reason_fr("trainer_absent");
    cases[0].in.next = (msg_session_t){ TITLE, THU_10_DEC_1400, THU_10_DEC_1600, WILSON, WILSON_ADDR };
    /* elsewhere: the new place is named */
    cases[1] = (sms_case_t){ input(MSG_SESSION_CANCELLED, "Josiane"), 1,
                             "Josiane, votre atelier du mardi 8 décembre à 9 h 30 est annulé (fermeture "
                             "exceptionnelle). Nouvelle date : jeudi 10 décembre à 14 h, Centre social Beaubrun.",
                             SMS_GSM7, 1, MSG_PART_ADDRESS | MSG_PART_HINT | MSG_PART_TITLE | MSG_PART_GREETING };
    cases[1].in.reason = msg_reason_fr("fermeture exceptionnelle");
    cases[1].in.next = (msg_session_t){ TITLE, THU_10_DEC_1400, 0, "Centre social Beaubrun", "8 rue Beaubrun" };
    /* the session lost seats, no other one yet: the waitlist */
    cases[2] = (sms_case_t){ input(MSG_CAPACITY_CUT, "Josiane"), 1,
                             "Bonjour Josiane, votre place à l'atelier du mardi 8 décembre à 9 h 30 est annulée "
                             "(moins de places). Nous vous proposerons une autre date.",
                             SMS_GSM7, 1, MSG_PART_TITLE };
    /* a correction of attendance took back a seat */
    cases[3] = (sms_case_t){ input(MSG_CANCELLED, "Josiane"), 1,
                             "Bonjour Josiane, votre inscription à l'atelier Initiation au numérique du mardi 8 "
                             "décembre à 9 h 30 est annulée (présence corrigée).",
                             SMS_GSM7, 1, 0 };
    cases[3].in.reason = msg_reason_fr("attendance_corrected");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i], i);
}

/* A long venue name: the address goes first, then the hint, the title, the
 * greeting; the date and the place's name stay. Two segments allowed: the
 * whole text. */
static void test_shortened(void **state)
{
    (void)state;
    static const char long_venue[] = "Médiathèque municipale Louise-Michel, salle d'animation numérique";
    sms_case_t cases[5];
    cases[0] = (sms_case_t){ input(MSG_CONVOCATION, "Josiane"), 1,
                             "Bonjour Josiane, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, "
                             "2 rue Wilson, Saint-Étienne. Indisponible ? Répondez ANNULER.",
                             SMS_GSM7, 1, 0 };
    cases[0].in.session.venue_name = "2 rue Wilson";
    cases[0].in.session.venue_address = "Saint-Étienne";
    cases[1] = (sms_case_t){ input(MSG_CONVOCATION, "Josiane"), 1,
                             "Bonjour Josiane, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, "
                             "Médiathèque municipale Louise-Michel, salle d'animation numérique.",
                             SMS_GSM7, 1, MSG_PART_ADDRESS | MSG_PART_HINT };
    cases[1].in.session.venue_name = long_venue;
    cases[2] = (sms_case_t){ input(MSG_CONVOCATION, "Marie-Christine"), 1,
                             "Marie-Christine, votre atelier : mardi 8 décembre à 9 h 30, Médiathèque municipale "
                             "Louise-Michel, salle d'animation numérique de l'espace Beaubrun-Tarentaize.",
                             SMS_GSM7, 1, MSG_PART_ADDRESS | MSG_PART_HINT | MSG_PART_TITLE | MSG_PART_GREETING };
    cases[2].in.session.venue_name = "Médiathèque municipale Louise-Michel, salle d'animation numérique de l'espace "
                                     "Beaubrun-Tarentaize";
    /* longer still: no text fits one segment, and the whole text takes no
     * more than the shortest: it goes whole, in two segments */
    cases[3] = (sms_case_t){ input(MSG_CONVOCATION, "Josiane"), 1,
                             "Bonjour Josiane, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, "
                             "Médiathèque municipale Louise-Michel, salle d'animation numérique du rez-de-chaussée "
                             "de l'espace Beaubrun-Tarentaize, Bureau de poste Wilson, 42000 Saint-Étienne. "
                             "Indisponible ? Répondez ANNULER.",
                             SMS_GSM7, 2, 0 };
    cases[3].in.session.venue_name = "Médiathèque municipale Louise-Michel, salle d'animation numérique du "
                                     "rez-de-chaussée de l'espace Beaubrun-Tarentaize";
    cases[4] = (sms_case_t){ input(MSG_CONVOCATION, "Josiane"), 2,
                             "Bonjour Josiane, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, "
                             "La Poste Wilson - espace numérique, Bureau de poste Wilson, 42000 Saint-Étienne. "
                             "Indisponible ? Répondez ANNULER.",
                             SMS_GSM7, 2, 0 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i], i);
}

/* Œ, ễ, Ğ are not in GSM-7: the whole text is UCS-2, 70 characters a
 * segment, and no variant fits one; the name is kept as written. What is
 * left out is only what saves a segment. */
static void test_names_forcing_ucs2(void **state)
{
    (void)state;
    sms_case_t cases[] = {
        { input(MSG_CONVOCATION, "Œuvray"), 1,
          "Bonjour Œuvray, votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, La Poste Wilson - "
          "espace numérique.",
          SMS_UCS2, 2, MSG_PART_ADDRESS | MSG_PART_HINT },
        { input(MSG_OFFER, "Nguyễn"), 1,
          "Bonjour Nguyễn, une place se libère : Initiation au numérique, mardi 8 décembre à 9 h 30, La Poste "
          "Wilson - espace numérique. Répondez OUI ou NON avant le lundi 7 décembre à 18 h.",
          SMS_UCS2, 3, MSG_PART_ADDRESS },
        { input(MSG_SURVEY, "Ğül"), 1,
          "Ğül, merci pour l'atelier. De 1 (très satisfait) à 4 (pas satisfait) ? Souhaitez-vous un autre "
          "atelier : OUI/NON ? Exemple : 1 OUI",
          SMS_UCS2, 2, MSG_PART_TITLE | MSG_PART_GREETING },
        /* ü and é are GSM-7: Müller stays in one segment */
        { input(MSG_CANCELLED, "Müller-Éléonore"), 1,
          "Bonjour Müller-Éléonore, votre inscription à l'atelier Initiation au numérique du mardi 8 décembre à "
          "9 h 30 est annulée.",
          SMS_GSM7, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i], i);
}

/* ---------------------------------------------------------------- dates */

static void test_dates_in_words(void **state)
{
    (void)state;
    const cal_zone_t *z = cal_zone("Europe/Paris");
    static const struct {
        int64_t ms;
        int year;
        const char *when;
    } cases[] = {
        { TUE_8_DEC_0930, 0, "mardi 8 décembre à 9 h 30" },
        { MON_30_NOV_1400, 0, "lundi 30 novembre à 14 h" },
        { TUE_1_DEC_0930, 0, "mardi 1er décembre à 9 h 30" },
        { TUE_3_AUG_0930, 1, "mardi 3 août 2027 à 9 h 30" }, /* summer time: UTC+2 */
        { WED_29_SEP_1045, 1, "mercredi 29 septembre 2027 à 10 h 45" },
        { 1798758000000LL, 1, "vendredi 1er janvier 2027 à 0 h" },   /* 2026-12-31T23:00Z */
        { 1798757940000LL, 0, "jeudi 31 décembre à 23 h 59" },
        { 1805007900000LL, 0, "dimanche 14 mars à 8 h 05" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char when[MSG_DATE_MAX];
        msg_when_fr(z, cases[i].ms, cases[i].year, when);
        assert_string_equal(when, cases[i].when);
    }
    char day[MSG_DATE_MAX], time[MSG_DATE_MAX];
    msg_day_fr(z, TUE_8_DEC_0930, 1, day);
    msg_time_fr(z, TUE_8_DEC_1130, time);
    assert_string_equal(day, "mardi 8 décembre 2026");
    assert_string_equal(time, "11 h 30");

    /* in an SMS, août is written aout (û is not GSM-7; the 1990 spelling) */
    msg_input_t in = input(MSG_REMINDER, "Josiane");
    in.session.start_ms = TUE_3_AUG_0930;
    in.session.venue_name = "Espace Wilson";
    msg_sms_t s;
    char err[128];
    assert_int_equal(msg_sms(&in, 1, &s, err, sizeof err), 0);
    assert_string_equal(s.text, "Rappel : Josiane, votre atelier Initiation au numérique : mardi 3 aout à 9 h 30, "
                                "Espace Wilson. Indisponible ? Répondez ANNULER.");
    assert_int_equal(s.size.coding, SMS_GSM7);
}

/* --------------------------------------------------------------- letters */

static void test_letters(void **state)
{
    (void)state;
    char out[MSG_TEXT_MAX * 2], err[128];
    msg_input_t in = input(MSG_CONVOCATION, "Éléonore");
    assert_int_equal(msg_letter(&in, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "Bonjour Éléonore,\n\n"
                             "Une place vous est réservée à l'atelier « Initiation au numérique ». Rendez-vous le "
                             "mardi 8 décembre 2026 de 9 h 30 à 11 h 30 :\n"
                             "La Poste Wilson — espace numérique\n"
                             "Bureau de poste Wilson, 42000 Saint-Étienne\n\n"
                             "Si vous ne pouvez pas venir, prévenez-nous : votre place pourra servir à une autre "
                             "personne.\n\n"
                             "À bientôt !");

    in = input(MSG_SESSION_CANCELLED, "Nguyễn");
    in.reason = msg_reason_fr("trainer_absent");
    in.next = (msg_session_t){ TITLE, THU_10_DEC_1400, THU_10_DEC_1600, WILSON, WILSON_ADDR };
    assert_int_equal(msg_letter(&in, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "Bonjour Nguyễn,\n\n"
                             "L'atelier « Initiation au numérique » du mardi 8 décembre 2026 à 9 h 30 est annulé "
                             "(formateur absent). Nous vous prions de nous en excuser.\n\n"
                             "Une place vous est réservée à une nouvelle date, le jeudi 10 décembre 2026 de 14 h à "
                             "16 h :\n"
                             "La Poste Wilson — espace numérique\n"
                             "Bureau de poste Wilson, 42000 Saint-Étienne\n\n"
                             "Si vous ne pouvez pas venir, prévenez-nous : votre place pourra servir à une autre "
                             "personne.\n\n"
                             "À bientôt !");

    in = input(MSG_CAPACITY_CUT, "");
    assert_int_equal(msg_letter(&in, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "Bonjour,\n\n"
                             "Votre place à l'atelier « Initiation au numérique » du mardi 8 décembre 2026 à 9 h 30 "
                             "est annulée (moins de places). Nous vous prions de nous en excuser.\n\n"
                             "Nous vous proposerons une autre date dès qu'une place se libérera.\n\n"
                             "À bientôt !");

    /* an offer or a reminder by post would come too late */
    in = input(MSG_OFFER, "Josiane");
    assert_int_equal(msg_letter(&in, out, sizeof out, err, sizeof err), -1);
    assert_string_equal(err, "kind: offer goes by SMS only");
    in = input(MSG_CONVOCATION, "Josiane");
    assert_int_equal(msg_letter(&in, out, 100, err, sizeof err), -1);
    assert_string_equal(err, "the letter does not fit 100 bytes");
}

/* ------------------------------------------------------ refusals, mapping */

static void test_refused(void **state)
{
    (void)state;
    char long_name[MSG_FIELD_MAX + 1];
    memset(long_name, 'a', MSG_FIELD_MAX);
    long_name[MSG_FIELD_MAX] = '\0';
    static const char *const errors[] = {
        "given_name: not UTF-8",          "given_name: holds a control character",
        "session.venue_name: holds a control character",
        "given_name: longer than 255 bytes", "deadline_ms: required",
        "session.start_ms: required",     "session.venue_name: required",
        "next.venue_name: required",      "kind: unknown (42)",
    };
    msg_input_t in[TP_ARRAY_LEN(errors)];
    for (size_t i = 0; i < TP_ARRAY_LEN(errors); i++)
        in[i] = input(MSG_OFFER, "Josiane");
    in[0].given_name = "Jos\xe9";
    in[1].given_name = "Jo\nsiane";
    in[2].session.venue_name = "Wilson\xc2\x85"; /* NEL, a C1 control */
    in[3].given_name = long_name;
    in[4].deadline_ms = 0;
    in[5].session.start_ms = 0;
    in[6].kind = MSG_CONVOCATION;
    in[6].session.venue_name = "";
    in[7].kind = MSG_SESSION_CANCELLED;
    in[7].next = (msg_session_t){ TITLE, THU_10_DEC_1400, 0, NULL, NULL };
    in[8].kind = (msg_kind_t)42;
    for (size_t i = 0; i < TP_ARRAY_LEN(errors); i++) {
        msg_sms_t s;
        char err[128] = "";
        assert_int_equal(msg_sms(&in[i], 1, &s, err, sizeof err), -1);
        assert_string_equal(err, errors[i]);
    }
}

/* Our own wording stays in GSM-7: with an ASCII name, every kind is GSM-7. */
static void test_wording_is_gsm7(void **state)
{
    (void)state;
    for (int k = 0; k < MSG_NKINDS; k++) {
        msg_input_t in = input((msg_kind_t)k, "Josiane");
        in.reason = "fermeture de l’espace « numérique »";
        in.next = in.session;
        msg_sms_t s;
        char err[128];
        assert_int_equal(msg_sms(&in, 3, &s, err, sizeof err), 0);
        if (s.size.coding != SMS_GSM7)
            fail_msg("%s: %s", msg_kind_name((msg_kind_t)k), s.text);
    }
}

static void test_jobs_and_reasons(void **state)
{
    (void)state;
    static const struct {
        const char *job;
        int kind; /* -1: nothing to send */
    } jobs[] = {
        { "convocation", MSG_CONVOCATION },
        { "offer", MSG_OFFER },
        { "session_cancelled", MSG_SESSION_CANCELLED },
        { "capacity_cut", MSG_CAPACITY_CUT },
        { "withdrawn", MSG_CANCELLED },
        { "reminder", MSG_REMINDER },
        { "survey", MSG_SURVEY },
        { "waitlisted", -1 },
        { "offer_expired", -1 },
        { "mediator_flag", -1 },
        { "", -1 },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(jobs); i++) {
        msg_kind_t k = MSG_NKINDS;
        assert_int_equal(msg_kind_of_job(jobs[i].job, &k), jobs[i].kind < 0 ? -1 : 0);
        if (jobs[i].kind >= 0)
            assert_int_equal(k, jobs[i].kind);
    }
    assert_string_equal(msg_kind_name(MSG_OFFER), "offer");
    assert_string_equal(msg_reason_fr("trainer_absent"), "formateur absent");
    assert_string_equal(msg_reason_fr("Travaux dans la salle"), "Travaux dans la salle");
    assert_string_equal(msg_reason_fr(NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_moves),
        cmocka_unit_test(test_shortened),
        cmocka_unit_test(test_names_forcing_ucs2),
        cmocka_unit_test(test_dates_in_words),
        cmocka_unit_test(test_letters),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_wording_is_gsm7),
        cmocka_unit_test(test_jobs_and_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
