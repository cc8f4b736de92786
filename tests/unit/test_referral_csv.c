/* referral_csv: a spreadsheet line as French Excel writes it, to the JSON
 * form of a referral — forgiving where a spreadsheet is (separator, case,
 * Oui, 28/11/2026, an empty trailing cell), strict where a silent default
 * would change a person's level or consent: each error names its column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "intake/referral_csv.h"

static void the_separator_is_found_from_the_header(void **state)
{
    (void)state;
    const char *semi = "branch;external_ref;given_name\r\n";
    const char *comma = "branch,external_ref,given_name\n";
    const char *quoted = "\"a;b\",c,d\n"; /* a ';' inside quotes does not count */
    assert_int_equal(referral_csv_separator(semi, strlen(semi)), ';');
    assert_int_equal(referral_csv_separator(comma, strlen(comma)), ',');
    assert_int_equal(referral_csv_separator(quoted, strlen(quoted)), ',');
}

static void the_header_refuses_unknown_and_twice_given_columns(void **state)
{
    (void)state;
    referral_csv_header_t h;
    char err[256];
    const char *ok[] = { "Branch", " external_ref ", "GIVEN_NAME", "motif" };
    assert_int_equal(referral_csv_header(ok, 4, &h, err, sizeof err), 0);
    assert_int_equal(h.col[3], RC_IGNORED); /* a .rejected file's reason column */
    const char *unknown[] = { "branch", "note" };
    assert_int_equal(referral_csv_header(unknown, 2, &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "colonne 2 « note » : colonne inconnue"));
    const char *twice[] = { "branch", "phone", "Phone" };
    assert_int_equal(referral_csv_header(twice, 3, &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "colonne 3 « Phone » : colonne en double (déjà colonne 2)"));
}

/* One row under a header of the columns given; its JSON (put by the caller)
 * or NULL with err. */
static json_object *row(const char *const *cols, const char *const *vals, int n, char *err, size_t cap)
{
    referral_csv_header_t h;
    assert_int_equal(referral_csv_header(cols, n, &h, err, cap), 0);
    json_object *out = NULL;
    return referral_csv_row(&h, vals, n, &out, err, cap) == 0 ? out : NULL;
}

static const char *path(json_object *o, const char *a, const char *b)
{
    json_object *x = NULL, *y = NULL;
    if (!json_object_object_get_ex(o, a, &x))
        return NULL;
    if (!b)
        return json_object_get_string(x);
    return json_object_object_get_ex(x, b, &y) ? json_object_get_string(y) : NULL;
}

static void a_french_excel_row_is_read(void **state)
{
    (void)state;
    static const char *const cols[] = { "branch", "external_ref", "given_name", "birth_year", "consent_given",
                                        "consent_at", "consent_purposes", "answers" };
    static const char *const vals[] = { "wilson", " XL-1 ", "Josiane", "1948", "Oui", "28/11/2026", "training sms",
                                        "email=1 mouse_touch=2" };
    char err[256];
    json_object *o = row(cols, vals, 8, err, sizeof err);
    assert_non_null(o);
    assert_string_equal(path(o, "external_ref", NULL), "XL-1"); /* spaces around: trimmed */
    assert_string_equal(path(o, "person", "birth_year"), "1948");
    assert_string_equal(path(o, "consent", "given"), "true");
    assert_string_equal(path(o, "consent", "given_at"), "2026-11-28");
    assert_string_equal(path(o, "answers", "mouse_touch"), "2");
    json_object_put(o);
    /* OUI, oui, non; the ISO date too */
    static const char *const yes[] = { "OUI", "oui", "non" };
    for (int i = 0; i < 3; i++) {
        const char *v[] = { "wilson", "XL-2", "Marcel", "1950", yes[i], "2026-11-28", "training", "email=0" };
        o = row(cols, v, 8, err, sizeof err);
        assert_non_null(o);
        assert_string_equal(path(o, "consent", "given"), i < 2 ? "true" : "false");
        assert_string_equal(path(o, "consent", "given_at"), "2026-11-28");
        json_object_put(o);
    }
}

/* Each strictness error: refused, naming its column — never a 0 or a drop. */
static void strict_where_a_default_would_change_a_level_or_a_consent(void **state)
{
    (void)state;
    static const char *const cols[] = { "branch", "birth_year", "consent_given", "consent_at", "answers" };
    static const struct {
        const char *birth, *given, *at, *answers, *says;
    } cases[] = {
        { "1948", "oui", "28/11/2026", "email=deux", "colonne answers : score non numérique « deux »" },
        { "1948", "oui", "28/11/2026", "email=", "colonne answers : score non numérique" },
        { "1948", "oui", "28/11/2026", "email=1 email=2", "colonne answers : la question email est en double" },
        { "1948", "oui", "28/11/2026", "email", "colonne answers : « email » : attendu question=score" },
        { "48", "oui", "28/11/2026", "email=1", "colonne birth_year : année de naissance invalide « 48 »" },
        { "19a8", "oui", "28/11/2026", "email=1", "colonne birth_year" },
        { "1948", "peut-être", "28/11/2026", "email=1", "colonne consent_given : « peut-être » : oui ou non attendu" },
        { "1948", "oui", "31/02/2026", "email=1", "colonne consent_at : « 31/02/2026 » n'est pas une date" },
        { "1948", "oui", "demain", "email=1", "colonne consent_at" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *v[] = { "wilson", cases[i].birth, cases[i].given, cases[i].at, cases[i].answers };
        char err[256] = "";
        json_object *o = row(cols, v, 5, err, sizeof err);
        if (o || !strstr(err, cases[i].says))
            fprintf(stderr, "case %zu: %s\n", i, o ? "accepted" : err);
        assert_null(o);
        assert_non_null(strstr(err, cases[i].says));
    }
}

static void cells_beyond_the_header(void **state)
{
    (void)state;
    static const char *const cols[] = { "branch", "external_ref" };
    referral_csv_header_t h;
    char err[256];
    assert_int_equal(referral_csv_header(cols, 2, &h, err, sizeof err), 0);
    json_object *o = NULL;
    const char *empty[] = { "wilson", "XL-1", " " }; /* Excel's trailing empty cell */
    assert_int_equal(referral_csv_row(&h, empty, 3, &o, err, sizeof err), 0);
    json_object_put(o);
    const char *full[] = { "wilson", "XL-1", "oops" };
    assert_int_equal(referral_csv_row(&h, full, 3, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "colonne 3 : valeur hors des colonnes de l'en-tête"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_separator_is_found_from_the_header),
        cmocka_unit_test(the_header_refuses_unknown_and_twice_given_columns),
        cmocka_unit_test(a_french_excel_row_is_read),
        cmocka_unit_test(strict_where_a_default_would_change_a_level_or_a_consent),
        cmocka_unit_test(cells_beyond_the_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
