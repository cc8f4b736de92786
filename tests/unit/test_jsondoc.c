/* Unit tests for common/jsondoc: the one strictness every JSON document is
 * read with — text after the document, files over the size cap or holding a
 * NUL byte, unknown keys (comments aside), values of another type (null
 * included), NUL characters, lengths and ranges — each refused with the
 * path of what is wrong, in English and in French. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsondoc.h"
#include "util.h"

static json_object *parse(const char *text)
{
    char err[256] = "";
    json_object *o = jsondoc_parse(text, err, sizeof err);
    if (!o)
        fprintf(stderr, "%s\n", err);
    assert_non_null(o);
    return o;
}

/* ----------------------------------------------------------- documents */

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *text, *err; /* err NULL: accepted */
    } cases[] = {
        { "{\"a\":1}", NULL },
        { " \n{\"a\":1}\r\n\t ", NULL },
        { "[1,2]", NULL },
        { "3", NULL },
        { "{\"a\":1} x", "not JSON: text after the document (line 1, offset 8)" },
        { "{\"a\":1}{}", "not JSON: text after the document" },
        { "{\"a\":1}\n\n// note", "not JSON: text after the document (line 3, offset 9)" },
        { "3 4", "not JSON: text after the document" },
        { "{\"a\":", "not JSON: unexpected end" },
        { "", "not JSON: unexpected end" },
        { "catalogue", "not JSON" },
        { "null", "not JSON: the document is null" },
        /* json-c's liberties, refused */
        { "{\"a\": /* one */ 1}", "not JSON: unexpected character (line 1, offset 6)" },
        { "{\"a\":1,}", "not JSON: unexpected character" },
        { "[1,2,]", "not JSON: unexpected character" },
        { "{\"a\":True}", "not JSON" },
        { "{\"a\":01}", "not JSON" },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(cases); i++) {
        char err[256] = "";
        json_object *o = jsondoc_parse(cases[i].text, err, sizeof err);
        if (!cases[i].err) {
            assert_non_null(o);
        } else {
            assert_null(o);
            if (!strstr(err, cases[i].err))
                fprintf(stderr, "case %zu: \"%s\", wanted \"%s\"\n", i, err, cases[i].err);
            assert_non_null(strstr(err, cases[i].err));
        }
        json_object_put(o);
    }
}

/* Writes n bytes of data, then pad bytes of c, to a new file; its path. */
static void write_file(char path[32], const char *data, size_t pad, char c)
{
    strcpy(path, "/tmp/tp-jsondoc-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(data, f);
    for (size_t i = 0; i < pad; i++)
        fputc(c, f);
    fclose(f);
}

static void test_read(void **state)
{
    (void)state;
    char path[32], err[128];
    static const char doc[] = "{\"a\":1}";

    write_file(path, doc, 0, ' ');
    char *text = jsondoc_read(path, err, sizeof err);
    assert_non_null(text);
    assert_string_equal(text, doc);
    free(text);
    remove(path);

    /* exactly the cap: read whole */
    write_file(path, doc, JSONDOC_MAX_FILE - strlen(doc), ' ');
    text = jsondoc_read(path, err, sizeof err);
    assert_non_null(text);
    assert_int_equal(strlen(text), JSONDOC_MAX_FILE);
    free(text);
    remove(path);

    /* one byte more: refused, never cut (cut, it would parse) */
    write_file(path, doc, JSONDOC_MAX_FILE - strlen(doc) + 1, ' ');
    assert_null(jsondoc_read(path, err, sizeof err));
    assert_string_equal(err, "larger than 1 MiB");
    remove(path);

    /* a NUL byte would end the text where the parser stops */
    write_file(path, doc, 1, '\0');
    assert_null(jsondoc_read(path, err, sizeof err));
    assert_string_equal(err, "holds a NUL byte");
    remove(path);

    assert_null(jsondoc_read("/nonexistent/tp.json", err, sizeof err));
    assert_string_equal(err, "cannot open");
}

/* ---------------------------------------------------------- the readers */

typedef int (*read_fn)(jsondoc_t *jd, json_object *root);

static const char *const ab[] = { "a", "b", NULL };

static int r_object(jsondoc_t *jd, json_object *root) { return jsondoc_object(jd, root, "doc", ab); }
static int r_map(jsondoc_t *jd, json_object *root) { return jsondoc_object(jd, root, "doc", NULL); }
static int r_child(jsondoc_t *jd, json_object *root)
{
    json_object *o;
    return jsondoc_child(jd, root, "doc", "o", 1, ab, &o);
}
static int r_child_optional(jsondoc_t *jd, json_object *root)
{
    json_object *o = root;
    int rc = jsondoc_child(jd, root, "doc", "o", 0, ab, &o);
    return rc == 0 && o ? -2 : rc; /* absent: NULL */
}
static int r_array(jsondoc_t *jd, json_object *root)
{
    json_object *a;
    return jsondoc_array(jd, root, "", "list", 1, 2, &a);
}
static int r_item(jsondoc_t *jd, json_object *root)
{
    json_object *a;
    char where[32];
    if (jsondoc_array(jd, root, "", "list", 1, 8, &a) != 0)
        return -1;
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (!jsondoc_item(jd, a, i, "list", ab, where, sizeof where))
            return -1;
    return 0;
}
static int r_string(jsondoc_t *jd, json_object *root)
{
    const char *s = NULL;
    int rc = jsondoc_string(jd, root, "doc", "s", 1, &s);
    return rc == 0 && strcmp(s, "x") ? -2 : rc;
}
static int r_string_optional(jsondoc_t *jd, json_object *root)
{
    const char *s = NULL;
    int rc = jsondoc_string(jd, root, "doc", "s", 0, &s);
    return rc == 0 && (!s || (strcmp(s, "x") && strcmp(s, ""))) ? -2 : rc;
}
static int r_str(jsondoc_t *jd, json_object *root)
{
    char out[4];
    return jsondoc_str(jd, root, "doc", "s", 1, out, sizeof out);
}
static int r_code(jsondoc_t *jd, json_object *root)
{
    char out[8];
    return jsondoc_code(jd, root, "doc", "c", 4, out, sizeof out);
}
static int r_strings(jsondoc_t *jd, json_object *root)
{
    const char *items[2];
    size_t n = 42;
    int rc = jsondoc_strings(jd, root, "doc", "l", 2, items, &n);
    return rc == 0 && n > 2 ? -2 : rc;
}
static int r_int(jsondoc_t *jd, json_object *root)
{
    int v = 0;
    return jsondoc_int(jd, root, "slots[3]", "capacity", 1, 1, 100, &v);
}
static int r_int_default(jsondoc_t *jd, json_object *root)
{
    int v = 28;
    int rc = jsondoc_int(jd, root, "doc", "n", 0, 1, 366, &v);
    return rc == 0 && v != 28 && v != 7 ? -2 : rc; /* absent: the default stays */
}
static int r_int_any(jsondoc_t *jd, json_object *root)
{
    int v = 0;
    return jsondoc_int(jd, root, "answers", "q1", 1, INT32_MIN, INT32_MAX, &v);
}
static int r_int64(jsondoc_t *jd, json_object *root)
{
    int64_t v = 0;
    int rc = jsondoc_int64(jd, root, "consent", "ms", 1, 0, INT64_MAX, &v);
    return rc == 0 && v != 4102444800000LL ? -2 : rc;
}
static int r_bool(jsondoc_t *jd, json_object *root)
{
    int v = 7;
    int rc = jsondoc_bool(jd, root, "consent", "given", 1, &v);
    return rc == 0 && v != 0 && v != 1 ? -2 : rc;
}

typedef struct {
    const char *name;
    read_fn fn;
    const char *text;
    int fr;
    const char *err; /* NULL: accepted; else the whole message */
} read_case_t;

static const read_case_t read_cases[] = {
    { "object", r_object, "{\"a\":1,\"b\":2}", 0, NULL },
    { "comment keys", r_object, "{\"a\":1,\"_note\":\"x\",\"_\":[1]}", 0, NULL },
    { "unknown key", r_object, "{\"a\":1,\"c\":2}", 0, "doc.c: unknown key" },
    { "unknown key, fr", r_object, "{\"a\":1,\"c\":2}", 1, "doc.c: champ inconnu" },
    { "not an object", r_object, "[]", 0, "doc: an object is required (a, b)" },
    { "not an object, fr", r_object, "3", 1, "doc: un objet JSON est attendu (a, b)" },
    { "a map takes any key", r_map, "{\"c\":1,\"d\":2}", 0, NULL },
    { "a map is an object", r_map, "[]", 0, "doc: an object is required" },
    { "child", r_child, "{\"o\":{\"a\":1}}", 0, NULL },
    { "child missing", r_child, "{}", 0, "doc.o: an object is required (a, b)" },
    { "child null", r_child, "{\"o\":null}", 0, "doc.o: an object is required (a, b)" },
    { "child with an unknown key", r_child, "{\"o\":{\"z\":1}}", 0, "doc.o.z: unknown key" },
    { "optional child absent", r_child_optional, "{}", 0, NULL },
    { "optional child null", r_child_optional, "{\"o\":null}", 0, "doc.o: an object is required (a, b)" },
    { "array", r_array, "{\"list\":[1,2]}", 0, NULL },
    { "array missing", r_array, "{}", 0, "list: a list is required" },
    { "array an object", r_array, "{\"list\":{}}", 1, "list: une liste est attendue" },
    { "array too long", r_array, "{\"list\":[1,2,3]}", 0, "list: at most 2 items" },
    { "array too long, fr", r_array, "{\"list\":[1,2,3]}", 1, "list: 2 éléments au plus" },
    { "items", r_item, "{\"list\":[{\"a\":1},{\"b\":2}]}", 0, NULL },
    { "item not an object", r_item, "{\"list\":[{\"a\":1},2]}", 0, "list[1]: an object is required (a, b)" },
    { "item unknown key", r_item, "{\"list\":[{\"a\":1},{\"c\":2}]}", 0, "list[1].c: unknown key" },
    { "string", r_string, "{\"s\":\"x\"}", 0, NULL },
    { "string missing", r_string, "{}", 0, "doc.s: a string is required" },
    { "string missing, fr", r_string, "{}", 1, "doc.s: une chaîne est attendue" },
    { "string a number", r_string, "{\"s\":1}", 0, "doc.s: a string is required" },
    { "string null", r_string, "{\"s\":null}", 0, "doc.s: a string is required" },
    { "string with a NUL", r_string, "{\"s\":\"x\\u0000y\"}", 0, "doc.s: contains a NUL character" },
    { "string with a NUL, fr", r_string, "{\"s\":\"x\\u0000y\"}", 1, "doc.s: contient un caractère nul" },
    { "optional string absent", r_string_optional, "{}", 0, NULL },
    { "optional string null", r_string_optional, "{\"s\":null}", 0, "doc.s: a string is required" },
    { "str fits", r_str, "{\"s\":\"abc\"}", 0, NULL },
    { "str too long", r_str, "{\"s\":\"abcd\"}", 0, "doc.s: too long (at most 3 bytes)" },
    { "str too long, fr", r_str, "{\"s\":\"abcd\"}", 1, "doc.s: trop long (3 octets au plus)" },
    { "code", r_code, "{\"c\":\"a-_1\"}", 0, NULL },
    { "code upper case", r_code, "{\"c\":\"Ab\"}", 0, "doc.c: \"Ab\" is not a code ([a-z0-9_-], 1 to 4 characters)" },
    { "code too long for max", r_code, "{\"c\":\"abcde\"}", 0, "doc.c: \"abcde\" is not a code" },
    { "code too long for the buffer", r_code, "{\"c\":\"abcdefgh\"}", 0, "doc.c: too long (at most 7 bytes)" },
    { "code empty", r_code, "{\"c\":\"\"}", 0, "doc.c: \"\" is not a code" },
    { "code, fr", r_code, "{\"c\":\"a b\"}", 1, "doc.c: « a b » n'est pas un code ([a-z0-9_-], 1 à 4 caractères)" },
    { "strings", r_strings, "{\"l\":[\"x\",\"y\"]}", 0, NULL },
    { "strings absent", r_strings, "{}", 0, NULL },
    { "strings, one a number", r_strings, "{\"l\":[\"x\",1]}", 0, "doc.l[1]: a string is required" },
    { "strings, one null", r_strings, "{\"l\":[null]}", 1, "doc.l[0]: une chaîne est attendue" },
    { "strings too many", r_strings, "{\"l\":[\"x\",\"y\",\"z\"]}", 0, "doc.l: at most 2 items" },
    { "strings not a list", r_strings, "{\"l\":\"x\"}", 0, "doc.l: a list is required" },
    { "int", r_int, "{\"capacity\":100}", 0, NULL },
    { "int below", r_int, "{\"capacity\":0}", 0, "slots[3].capacity: an integer from 1 to 100 is required" },
    { "int above, fr", r_int, "{\"capacity\":101}", 1, "slots[3].capacity: un nombre entier de 1 à 100 est attendu" },
    { "int a fraction", r_int, "{\"capacity\":8.5}", 0, "slots[3].capacity: an integer from 1 to 100 is required" },
    { "int written as a float", r_int, "{\"capacity\":8.0}", 0, "slots[3].capacity: an integer from 1" },
    { "int a string", r_int, "{\"capacity\":\"8\"}", 0, "slots[3].capacity: an integer from 1 to 100" },
    { "int null", r_int, "{\"capacity\":null}", 0, "slots[3].capacity: an integer from 1 to 100" },
    { "int missing", r_int, "{}", 0, "slots[3].capacity: an integer from 1 to 100 is required" },
    { "int beyond int64", r_int, "{\"capacity\":99999999999999999999}", 0, "slots[3].capacity: an integer" },
    { "int default", r_int_default, "{}", 0, NULL },
    { "int default replaced", r_int_default, "{\"n\":7}", 0, NULL },
    { "int any", r_int_any, "{\"q1\":-3}", 0, NULL },
    { "int any, a string", r_int_any, "{\"q1\":\"3\"}", 1, "answers.q1: un nombre entier est attendu" },
    { "int any, beyond int32", r_int_any, "{\"q1\":2147483648}", 0, "answers.q1: an integer is required" },
    { "int64", r_int64, "{\"ms\":4102444800000}", 0, NULL },
    { "int64 negative", r_int64, "{\"ms\":-1}", 0, "consent.ms: an integer of at least 0 is required" },
    { "int64 negative, fr", r_int64, "{\"ms\":-1}", 1, "consent.ms: un nombre entier d'au moins 0 est attendu" },
    { "bool true", r_bool, "{\"given\":true}", 0, NULL },
    { "bool false", r_bool, "{\"given\":false}", 0, NULL },
    { "bool a number", r_bool, "{\"given\":1}", 0, "consent.given: true or false is required" },
    { "bool a string, fr", r_bool, "{\"given\":\"true\"}", 1, "consent.given: true ou false est attendu" },
};

static void test_readers(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(read_cases); i++) {
        const read_case_t *t = &read_cases[i];
        json_object *root = parse(t->text);
        char err[256] = "";
        jsondoc_t jd = { .err = err, .errlen = sizeof err, .fr = t->fr };
        int rc = t->fn(&jd, root);
        json_object_put(root);
        int ok = t->err ? rc == -1 && !strncmp(err, t->err, strlen(t->err)) : rc == 0;
        if (!ok) {
            print_error("%s: expected %s, got %d \"%s\"\n", t->name, t->err ? t->err : "0", rc, err);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* A parent that is not there reads as an object without any key. */
static void test_absent_parent(void **state)
{
    (void)state;
    char err[128] = "", out[8] = "z";
    jsondoc_t jd = { .err = err, .errlen = sizeof err };
    const char *s = NULL;
    json_object *o = (json_object *)&jd;
    assert_int_equal(jsondoc_string(&jd, NULL, "p", "s", 0, &s), 0);
    assert_string_equal(s, "");
    assert_int_equal(jsondoc_str(&jd, NULL, "p", "s", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(jsondoc_child(&jd, NULL, "p", "o", 0, ab, &o), 0);
    assert_null(o);
    assert_int_equal(jsondoc_str(&jd, NULL, "p", "s", 1, out, sizeof out), -1);
    assert_string_equal(err, "p.s: a string is required");
}

/* A message is cut to the caller's buffer, never overflowed. */
static void test_message_cut(void **state)
{
    (void)state;
    json_object *root = parse("{\"a_rather_long_key_name\":1}");
    char err[8];
    jsondoc_t jd = { .err = err, .errlen = sizeof err };
    assert_int_equal(jsondoc_object(&jd, root, "document", ab), -1);
    assert_string_equal(err, "documen");
    json_object_put(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_readers),
        cmocka_unit_test(test_absent_parent),
        cmocka_unit_test(test_message_cut),
    };
    return cmocka_run_group_tests_name("jsondoc", tests, NULL, NULL);
}
