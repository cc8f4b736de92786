#include "jsondoc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "util.h"

#define JD_PATH 160 /* a path in a message: cut beyond, never overflowed */

/* ------------------------------------------------------------ documents */

/* One value from text (its first len bytes, or up to its NUL when len is
 * -1); the offset where tok stopped goes to *end. */
static json_object *jd_tokenize(json_tokener *tok, const char *text, int len, enum json_tokener_error *jerr,
                                size_t *end)
{
    json_tokener_reset(tok);
    json_object *root = json_tokener_parse_ex(tok, text, len);
    *jerr = json_tokener_get_error(tok);
    *end = json_tokener_get_parse_end(tok);
    if (root && *jerr != json_tokener_success) {
        json_object_put(root);
        root = NULL;
    }
    return root;
}

static json_object *jd_parse(const char *text, int fr, char *err, size_t errlen)
{
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        util_fail(err, errlen, "out of memory");
        return NULL;
    }
    /* strict: no comments, no trailing commas, no leading zeros, true, false
     * and null in lower case, and nothing but white space after the value */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    enum json_tokener_error jerr, head_err;
    size_t end, head_end;
    json_object *root = jd_tokenize(tok, text, -1, &jerr, &end);
    if (!root) {
        int line = 1;
        for (size_t i = 0; i < end && text[i]; i++)
            line += text[i] == '\n';
        /* a whole value before the error: the error is what comes after it */
        json_object *head = end > 0 && end <= INT_MAX ? jd_tokenize(tok, text, (int)end, &head_err, &head_end) : NULL;
        const char *why = head ? (fr ? "du texte après le document" : "text after the document")
                        : jerr == json_tokener_success ? (fr ? "le document est null" : "the document is null")
                        : jerr == json_tokener_continue ? (fr ? "fin inattendue" : "unexpected end")
                        : fr ? "syntaxe invalide" : json_tokener_error_desc(jerr);
        json_object_put(head);
        if (fr)
            util_fail(err, errlen, "JSON illisible : %s (ligne %d, caractère %zu)", why, line, end);
        else
            util_fail(err, errlen, "not JSON: %s (line %d, offset %zu)", why, line, end);
    }
    json_tokener_free(tok);
    return root;
}

json_object *jsondoc_parse(const char *text, char *err, size_t errlen) { return jd_parse(text, 0, err, errlen); }

json_object *jsondoc_parse_fr(const char *text, char *err, size_t errlen) { return jd_parse(text, 1, err, errlen); }

char *jsondoc_fread_max(FILE *f, size_t max, char *err, size_t errlen)
{
    /* read in growing chunks up to one byte more than allowed: a file that
     * fills it is too large (and a small file never costs max bytes) */
    size_t cap = max < 65536 ? max + 1 : 65536, n = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap == max + 1)
            break;
        cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
        buf = xrealloc(buf, cap + 1);
    }
    char big[48];
    if (max % (1024 * 1024) == 0)
        snprintf(big, sizeof big, "larger than %zu MiB", max / (1024 * 1024));
    else
        snprintf(big, sizeof big, "larger than %zu bytes", max);
    const char *why = ferror(f) ? "read error"
                    : n > max ? big
                    : memchr(buf, '\0', n) ? "holds a NUL byte" /* the parser would stop there */
                                            : NULL;
    if (why) {
        free(buf);
        util_fail(err, errlen, "%s", why);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

char *jsondoc_fread(FILE *f, char *err, size_t errlen) { return jsondoc_fread_max(f, JSONDOC_MAX_FILE, err, errlen); }

char *jsondoc_read_max(const char *path, size_t max, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        util_fail(err, errlen, "cannot open");
        return NULL;
    }
    char *text = jsondoc_fread_max(f, max, err, errlen);
    fclose(f);
    return text;
}

char *jsondoc_read(const char *path, char *err, size_t errlen)
{
    return jsondoc_read_max(path, JSONDOC_MAX_FILE, err, errlen);
}

/* ------------------------------------------------------------- messages */

#define JD_SAY(jd, english, french) ((jd)->fr ? (french) : (english))

/* "where.key", or the one of them that is not "". */
static const char *jd_path(char *buf, size_t cap, const char *where, const char *key)
{
    snprintf(buf, cap, "%s%s%s", where, where[0] && key[0] ? "." : "", key);
    return buf;
}

static int jd_fail(jsondoc_t *jd, const char *path, const char *what)
{
    if (!path[0])
        return util_fail(jd->err, jd->errlen, "%s", what);
    return util_fail(jd->err, jd->errlen, "%s: %s", path, what);
}

/* 1 with the value (NULL for a JSON null) when o has key, 0 when it has not. */
static int jd_has(json_object *o, const char *key, json_object **v)
{
    *v = NULL;
    return o && json_object_object_get_ex(o, key, v);
}

/* ---------------------------------------------------- objects and lists */

int jsondoc_object(jsondoc_t *jd, json_object *o, const char *where, const char *const *allowed)
{
    if (!json_object_is_type(o, json_type_object)) {
        char what[256], keys[192] = "";
        size_t n = 0;
        while (allowed && allowed[n])
            n++;
        util_join((char *const *)allowed, n, ", ", keys, sizeof keys); /* only read */
        snprintf(what, sizeof what, "%s%s%s%s", JD_SAY(jd, "an object is required", "un objet JSON est attendu"),
                 n ? " (" : "", keys, n ? ")" : "");
        return jd_fail(jd, where, what);
    }
    if (!allowed)
        return 0;
    struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it);
        int known = name[0] == '_';
        for (size_t i = 0; !known && allowed[i]; i++)
            known = !strcmp(name, allowed[i]);
        if (!known) {
            char path[JD_PATH];
            return jd_fail(jd, jd_path(path, sizeof path, where, name), JD_SAY(jd, "unknown key", "champ inconnu"));
        }
    }
    return 0;
}

int jsondoc_child(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required,
                  const char *const *allowed, json_object **out)
{
    json_object *v;
    char path[JD_PATH];
    *out = NULL;
    if (!jd_has(o, key, &v) && !required)
        return 0;
    if (jsondoc_object(jd, v, jd_path(path, sizeof path, where, key), allowed) != 0)
        return -1;
    *out = v;
    return 0;
}

int jsondoc_array(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, size_t max,
                  json_object **out)
{
    json_object *v;
    char path[JD_PATH];
    *out = NULL;
    if (!jd_has(o, key, &v) && !required)
        return 0;
    jd_path(path, sizeof path, where, key);
    if (!json_object_is_type(v, json_type_array))
        return jd_fail(jd, path, JD_SAY(jd, "a list is required", "une liste est attendue"));
    if (json_object_array_length(v) > max) {
        char what[64];
        if (jd->fr)
            snprintf(what, sizeof what, "%zu éléments au plus", max);
        else
            snprintf(what, sizeof what, "at most %zu items", max);
        return jd_fail(jd, path, what);
    }
    *out = v;
    return 0;
}

json_object *jsondoc_item(jsondoc_t *jd, json_object *arr, size_t i, const char *name, const char *const *allowed,
                          char *where, size_t wcap)
{
    snprintf(where, wcap, "%s[%zu]", name, i);
    json_object *o = json_object_array_get_idx(arr, i);
    return jsondoc_object(jd, o, where, allowed) == 0 ? o : NULL;
}

/* -------------------------------------------------------------- strings */

/* v is a string without NUL: *out points into it. */
static int jd_string_value(jsondoc_t *jd, json_object *v, const char *path, const char **out)
{
    if (!json_object_is_type(v, json_type_string))
        return jd_fail(jd, path, JD_SAY(jd, "a string is required", "une chaîne est attendue"));
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return jd_fail(jd, path, JD_SAY(jd, "contains a NUL character", "contient un caractère nul"));
    *out = s;
    return 0;
}

int jsondoc_string(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required,
                   const char **out)
{
    json_object *v;
    char path[JD_PATH];
    *out = "";
    if (!jd_has(o, key, &v) && !required)
        return 0;
    return jd_string_value(jd, v, jd_path(path, sizeof path, where, key), out);
}

int jsondoc_str(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, char *out,
                size_t cap)
{
    const char *s;
    out[0] = '\0';
    if (jsondoc_string(jd, o, where, key, required, &s) != 0)
        return -1;
    if (util_strlcpy(out, s, cap) != 0) {
        char path[JD_PATH], what[64];
        out[0] = '\0';
        if (jd->fr)
            snprintf(what, sizeof what, "trop long (%zu octets au plus)", cap - 1);
        else
            snprintf(what, sizeof what, "too long (at most %zu bytes)", cap - 1);
        return jd_fail(jd, jd_path(path, sizeof path, where, key), what);
    }
    return 0;
}

int jsondoc_code(jsondoc_t *jd, json_object *o, const char *where, const char *key, size_t max, char *out,
                 size_t cap)
{
    if (jsondoc_str(jd, o, where, key, 1, out, cap) != 0)
        return -1;
    if (ids_code(out, max))
        return 0;
    char path[JD_PATH], what[JD_PATH + 64];
    if (jd->fr)
        snprintf(what, sizeof what, "« %.*s » n'est pas un code ([a-z0-9_-], 1 à %zu caractères)", JD_PATH, out,
                 max);
    else
        snprintf(what, sizeof what, "\"%.*s\" is not a code ([a-z0-9_-], 1 to %zu characters)", JD_PATH, out, max);
    out[0] = '\0';
    return jd_fail(jd, jd_path(path, sizeof path, where, key), what);
}

int jsondoc_strings(jsondoc_t *jd, json_object *o, const char *where, const char *key, size_t max,
                    const char **out, size_t *n)
{
    json_object *arr;
    char path[JD_PATH], item[JD_PATH + 24];
    *n = 0;
    if (jsondoc_array(jd, o, where, key, 0, max, &arr) != 0)
        return -1;
    jd_path(path, sizeof path, where, key);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        snprintf(item, sizeof item, "%s[%zu]", path, i);
        if (jd_string_value(jd, json_object_array_get_idx(arr, i), item, &out[i]) != 0)
            return -1;
        *n = i + 1;
    }
    return 0;
}

/* -------------------------------------------------------------- numbers */

/* The integer at key in [lo, hi], within a C type of [tmin, tmax] (the
 * message says only the bounds that are the reader's own): 1 when read, 0
 * when absent, -1 on error. */
static int jd_int(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, int64_t lo,
                  int64_t hi, int64_t tmin, int64_t tmax, int64_t *out)
{
    json_object *v;
    if (!jd_has(o, key, &v) && !required)
        return 0;
    int64_t x = json_object_get_int64(v);
    if (json_object_is_type(v, json_type_int) && x >= lo && x <= hi) {
        *out = x;
        return 1;
    }
    char path[JD_PATH], what[96];
    long long l = lo, h = hi;
    if (lo <= tmin && hi >= tmax)
        snprintf(what, sizeof what, "%s", JD_SAY(jd, "an integer is required", "un nombre entier est attendu"));
    else if (hi >= tmax && jd->fr)
        snprintf(what, sizeof what, "un nombre entier d'au moins %lld est attendu", l);
    else if (hi >= tmax)
        snprintf(what, sizeof what, "an integer of at least %lld is required", l);
    else if (jd->fr)
        snprintf(what, sizeof what, "un nombre entier de %lld à %lld est attendu", l, h);
    else
        snprintf(what, sizeof what, "an integer from %lld to %lld is required", l, h);
    return jd_fail(jd, jd_path(path, sizeof path, where, key), what);
}

int jsondoc_int(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, int lo, int hi,
                int *out)
{
    int64_t x;
    int rc = jd_int(jd, o, where, key, required, lo, hi, INT_MIN, INT_MAX, &x);
    if (rc > 0)
        *out = (int)x;
    return rc < 0 ? -1 : 0;
}

int jsondoc_int64(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, int64_t lo,
                  int64_t hi, int64_t *out)
{
    return jd_int(jd, o, where, key, required, lo, hi, INT64_MIN, INT64_MAX, out) < 0 ? -1 : 0;
}

int jsondoc_bool(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, int *out)
{
    json_object *v;
    char path[JD_PATH];
    if (!jd_has(o, key, &v) && !required)
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return jd_fail(jd, jd_path(path, sizeof path, where, key),
                       JD_SAY(jd, "true or false is required", "true ou false est attendu"));
    *out = json_object_get_boolean(v);
    return 0;
}
