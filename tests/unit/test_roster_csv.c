/* Unit tests for services/gateway/roster_csv (and roster's French words for
 * accessibility codes, and which bookings are lines): the exact bytes, BOM,
 * CRLF, RFC 4180 quoting with either separator, formulas defused, a line
 * kept for its number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/roster_csv.h"

static const roster_entry_t people[] = {
    { "Josiane", "débutant", "audition", "SMS", "K7M2Q9XH4T", "0f3a9c1e2b4d5f60718293a4b5c6d7e8" },
    { "Œuvray", "n'a jamais utilisé le numérique", "", "courrier", "B2C3D4E5F6", "1f3a9c1e2b4d5f60718293a4b5c6d7e8",
      "questionnaire papier" },
    { "Nguyễn", "intermédiaire", "vue, mobilité réduite", "SMS", "C3D4E5F6G7", "2f3a9c1e2b4d5f60718293a4b5c6d7e8" },
    { "Marie \"Mimi\"", "débutant", "lecture\nà voix haute", "", "D4E5F6G7H8", "3f3a9c1e2b4d5f60718293a4b5c6d7e8" },
    { "=HYPERLINK(\"http://x\")", "débutant", NULL, "SMS", "E5F6G7H8J9", "4f3a9c1e2b4d5f60718293a4b5c6d7e8" },
    { "Ğül; Éléonore", "autonome", "-", "SMS", "F6G7H8J9K0", "5f3a9c1e2b4d5f60718293a4b5c6d7e8" },
    { "Émile", "débutant", "", "SMS", "G7H8J9K0M1", "6f3a9c1e2b4d5f60718293a4b5c6d7e8", "SMS", "inscription annulée" },
};

static char *csv(char sep, int *rc)
{
    roster_t r = { .session_id = "20261208-0930-wilson-initiation", .entries = people,
                   .n = sizeof people / sizeof people[0] };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = roster_csv_write(f, &r, sep);
    fclose(f);
    return buf;
}

static void test_semicolon(void **state)
{
    (void)state;
    int rc;
    char *got = csv(';', &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "\xef\xbb\xbf"
                             "N°;Prénom;Niveau;Accessibilité;Convocation;Réservation;Personne;Questionnaire;"
                             "Inscription\r\n"
                             "1;Josiane;débutant;audition;SMS;K7M2Q9XH4T;0f3a9c1e2b4d5f60718293a4b5c6d7e8;;\r\n"
                             "2;Œuvray;n'a jamais utilisé le numérique;;courrier;B2C3D4E5F6;"
                             "1f3a9c1e2b4d5f60718293a4b5c6d7e8;questionnaire papier;\r\n"
                             "3;Nguyễn;intermédiaire;vue, mobilité réduite;SMS;C3D4E5F6G7;"
                             "2f3a9c1e2b4d5f60718293a4b5c6d7e8;;\r\n"
                             "4;\"Marie \"\"Mimi\"\"\";débutant;\"lecture\nà voix haute\";;D4E5F6G7H8;"
                             "3f3a9c1e2b4d5f60718293a4b5c6d7e8;;\r\n"
                             "5;\"'=HYPERLINK(\"\"http://x\"\")\";débutant;;SMS;E5F6G7H8J9;"
                             "4f3a9c1e2b4d5f60718293a4b5c6d7e8;;\r\n"
                             "6;\"Ğül; Éléonore\";autonome;\"'-\";SMS;F6G7H8J9K0;5f3a9c1e2b4d5f60718293a4b5c6d7e8;;\r\n"
                             "7;Émile;débutant;;SMS;G7H8J9K0M1;6f3a9c1e2b4d5f60718293a4b5c6d7e8;SMS;"
                             "inscription annulée\r\n");
    free(got);
}

/* with ',' the fields holding a comma are quoted instead of those with ';' */
static void test_comma(void **state)
{
    (void)state;
    int rc;
    char *got = csv(',', &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(got, "\r\n3,Nguyễn,intermédiaire,\"vue, mobilité réduite\",SMS,"));
    assert_non_null(strstr(got, "\r\n6,Ğül; Éléonore,autonome,\"'-\",SMS,"));
    free(got);
    got = csv('\t', &rc);
    assert_int_equal(rc, -1);
    free(got);
}

static void test_empty_roster_and_write_error(void **state)
{
    (void)state;
    roster_t r = { 0 };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(roster_csv_write(f, &r, ';'), 0);
    fclose(f);
    assert_string_equal(buf, "\xef\xbb\xbfN°;Prénom;Niveau;Accessibilité;Convocation;Réservation;Personne;Questionnaire;"
                             "Inscription\r\n");
    free(buf);
    f = fopen("/dev/full", "w");
    if (f) {
        r.entries = people;
        r.n = 1;
        assert_int_equal(roster_csv_write(f, &r, ';'), -1);
        fclose(f);
    }
}

static void test_access_fr(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(roster_access_fr("hearing mobility", out, sizeof out), "audition, mobilité réduite");
    assert_string_equal(roster_access_fr("sign_language", out, sizeof out), "sign_language");
    assert_string_equal(roster_access_fr("", out, sizeof out), "");
    assert_string_equal(roster_access_fr(NULL, out, sizeof out), "");
    assert_string_equal(roster_access_fr("wheelchair hearing", out, 20), "fauteuil roulant");
}

/* Which bookings are lines, when they became booked, and the words of a
 * released one. */
static void test_lines(void **state)
{
    (void)state;
    static const struct {
        const char *status, *via, *answered, *created;
        int line;
        long long at;
        const char *released;
    } rows[] = {
        { "booked", "", "", "100", 1, 100, NULL },
        { "booked", "waitlist", "250", "100", 1, 250, NULL }, /* an offer accepted: booked when answered */
        { "seen", "", "", "100", 1, 100, NULL },
        { "noshow", "", "", "100", 1, 100, NULL },
        { "excused", "", "", "100", 1, 100, NULL },
        { "offered", "waitlist", "", "100", 0, 100, NULL },
        { "declined", "waitlist", "", "100", 0, 100, NULL },
        { "expired", "waitlist", "", "100", 0, 100, NULL },
        { "cancelled", "waitlist", "", "100", 0, 100, NULL }, /* an offer cancelled: never booked */
        { "cancelled", "", "", "100", 1, 100, "inscription annulée" },
        { "cancelled", "waitlist", "250", "100", 1, 250, "inscription annulée" },
        { "consent_withdrawn", NULL, NULL, "100", 1, 100, "place retirée" },
        { "withdrawn", "", "", "100", 1, 100, "place retirée" },
        { "session_cancelled", "", "", "100", 1, 100, "séance annulée" },
        { "capacity_cut", "", "", "100", 1, 100, "place déplacée" },
        { "", "", "", "", 0, 0, NULL },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t at = -1;
        const char *rel = "x";
        int line = roster_line(rows[i].status, rows[i].via, rows[i].answered, rows[i].created, &at, &rel);
        if (line != rows[i].line || (line && at != rows[i].at)
            || (line && (rows[i].released ? !rel || strcmp(rel, rows[i].released) : rel != NULL)))
            fail_msg("row %zu (%s): line %d at %lld released '%s'", i, rows[i].status, line, (long long)at,
                     rel ? rel : "(null)");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semicolon),
        cmocka_unit_test(test_comma),
        cmocka_unit_test(test_empty_roster_and_write_error),
        cmocka_unit_test(test_access_fr),
        cmocka_unit_test(test_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
