/* Unit tests for services/intake/referral_json: the shipped example
 * (deploy/examples/referral.json) converted field by field, and one change
 * per shape error, each refused in French with the path of the field (the
 * one strictness of common/jsondoc: unknown keys, types, null, NUL). Run
 * from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake/referral_json.h"
#include "jsondoc.h"
#include "util.h"

#define EXAMPLE "deploy/examples/referral.json"

static json_object *example(void)
{
    char err[256] = "";
    char *text = jsondoc_read(EXAMPLE, err, sizeof err);
    assert_non_null(text);
    json_object *o = jsondoc_parse(text, err, sizeof err);
    free(text);
    assert_non_null(o);
    return o;
}

/* Sets the value at a dotted path ("person.address.city"), a JSON null when
 * v is NULL; or deletes it. */
static void set_path(json_object *o, const char *path, json_object *v, int del)
{
    char buf[128];
    util_strlcpy(buf, path, sizeof buf);
    char *p = buf, *dot;
    while ((dot = strchr(p, '.')) != NULL) {
        *dot = '\0';
        json_object *next = NULL;
        assert_true(json_object_object_get_ex(o, p, &next));
        o = next;
        p = dot + 1;
    }
    if (del)
        json_object_object_del(o, p);
    else
        json_object_object_add(o, p, v);
}

static void test_example(void **state)
{
    (void)state;
    json_object *o = example();
    referral_json_t h;
    char err[256] = "";
    assert_int_equal(referral_from_json(o, &h, err, sizeof err), 0);
    const Tremplin__SubmitReferral *r = &h.referral;
    assert_string_equal(r->branch, "wilson");
    assert_string_equal(r->external_ref, "WIL-2026-000123");
    assert_string_equal(r->mediator->id, "med-07");
    assert_string_equal(r->mediator->partner, "pimms");
    assert_string_equal(r->person->given_name, "Josiane");
    assert_string_equal(r->person->person_id, "");
    assert_int_equal(r->person->birth_year, 1948);
    assert_null(r->person->address);
    assert_int_equal(r->person->n_availability, 2);
    assert_string_equal(r->person->availability[1], "thu-pm");
    assert_int_equal(r->person->n_accessibility, 1);
    assert_true(r->consent->given);
    assert_int_equal(r->consent->given_at_ms, 1795681800000ULL); /* 2026-11-26T08:30:00Z */
    assert_int_equal(r->consent->n_purposes, 3);
    assert_string_equal(r->consent->text_version, "2026-09");
    assert_int_equal(r->n_needs, 2);
    assert_string_equal(r->needs[0], "email");
    assert_int_equal(r->n_answers, 8);
    assert_string_equal(r->answers[0]->question_id, "mouse_touch");
    assert_int_equal(r->answers[0]->score, 2);
    json_object_put(o);
}

typedef struct {
    const char *path;
    const char *json; /* the new value as JSON, NULL to delete the field */
    const char *err;  /* NULL: accepted; else the start of the message */
} shape_case_t;

static const shape_case_t shape_cases[] = {
    /* comments, and optional fields left out, are accepted */
    { "_note", "\"saisie au guichet\"", NULL },
    { "person._source", "{\"x\":1}", NULL },
    { "consent.given_at", NULL, NULL },
    { "person.address", "{\"line1\":\"1 rue X\",\"postcode\":\"42000\",\"city\":\"Saint-Étienne\",\"_floor\":\"2\"}",
      NULL },
    { "answers", NULL, NULL },
    /* refused, with the path */
    { "brnach", "\"wilson\"", "brnach: champ inconnu" },
    { "person.nom", "\"Josiane\"", "person.nom: champ inconnu" },
    { "person.address", "{\"line1\":\"1 rue X\",\"zip\":\"42000\"}", "person.address.zip: champ inconnu" },
    { "person", "[]", "person: un objet JSON est attendu (person_id, given_name, family_name, phone, address, birth_year" },
    { "mediator", "null", "mediator: un objet JSON est attendu (id, partner)" },
    { "branch", "42", "branch: une chaîne est attendue" },
    { "mediator.id", "null", "mediator.id: une chaîne est attendue" },
    { "external_ref", "\"WIL\\u0000-1\"", "external_ref: contient un caractère nul" },
    { "person.given_name", "[\"Jo\"]", "person.given_name: une chaîne est attendue" },
    { "person.birth_year", "\"1950\"", "person.birth_year: un nombre entier de 0 à 9999 est attendu" },
    { "person.birth_year", "19480", "person.birth_year: un nombre entier de 0 à 9999 est attendu" },
    { "person.availability", "\"mon-am\"", "person.availability: une liste est attendue" },
    { "person.availability", "[\"mon-am\",null]", "person.availability[1]: une chaîne est attendue" },
    { "consent.given", "\"oui\"", "consent.given: true ou false est attendu" },
    { "consent.given_at", "\"26/11/2026\"", "consent.given_at: date ISO 8601 attendue" },
    { "consent.given_at_ms", "-1", "consent.given_at_ms: un nombre entier d'au moins 0 est attendu" },
    { "needs", "[\"email\",3]", "needs[1]: une chaîne est attendue" },
    { "answers", "[2,0]", "answers: un objet JSON est attendu" },
    { "answers", "{\"email\":\"2\"}", "answers.email: un nombre entier est attendu" },
    { "answers", "{\"email\":1.5}", "answers.email: un nombre entier est attendu" },
};

static void test_shapes(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(shape_cases); i++) {
        const shape_case_t *t = &shape_cases[i];
        json_object *o = example();
        json_object *v = NULL;
        if (t->json) {
            char perr[128];
            v = jsondoc_parse(t->json, perr, sizeof perr);
            if (!v && strcmp(t->json, "null") != 0)
                fail_msg("case %zu: %s", i, perr);
        }
        set_path(o, t->path, v, !t->json);
        referral_json_t h;
        char err[256] = "";
        int rc = referral_from_json(o, &h, err, sizeof err);
        int ok = t->err ? rc == -1 && !strncmp(err, t->err, strlen(t->err)) : rc == 0;
        if (!ok) {
            print_error("%s = %s: expected %s, got %d \"%s\"\n", t->path, t->json ? t->json : "(deleted)",
                        t->err ? t->err : "0", rc, err);
            failures++;
        }
        json_object_put(o);
    }
    assert_int_equal(failures, 0);
}

/* More list items or answers than a message holds: refused, not cut. */
static void test_too_many(void **state)
{
    (void)state;
    json_object *o = example();
    json_object *needs = json_object_new_array(), *answers = json_object_new_object();
    for (int i = 0; i <= RJ_MAX_LIST; i++) {
        char q[16];
        snprintf(q, sizeof q, "q%d", i);
        json_object_array_add(needs, json_object_new_string("email"));
        json_object_object_add(answers, q, json_object_new_int(1));
    }
    set_path(o, "needs", needs, 0);
    referral_json_t h;
    char err[256] = "";
    assert_int_equal(referral_from_json(o, &h, err, sizeof err), -1);
    assert_string_equal(err, "needs: 64 éléments au plus");
    set_path(o, "needs", NULL, 1);
    set_path(o, "answers", answers, 0);
    assert_int_equal(referral_from_json(o, &h, err, sizeof err), -1);
    assert_string_equal(err, "answers: 64 réponses au plus");
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_too_many),
    };
    return cmocka_run_group_tests_name("referral_json", tests, NULL, NULL);
}
