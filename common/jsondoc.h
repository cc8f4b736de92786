/* jsondoc — strict JSON documents (json-c): the catalogue, the timetable and
 * the JSON form of a referral are read through it, with one strictness:
 *
 *   - the text is one value and nothing else: text after it is refused
 *     (json-c alone stops at the end of the first value and ignores the
 *     rest), and so are comments, trailing commas and the other liberties of
 *     json-c's default mode;
 *   - a file is read whole, at most JSONDOC_MAX_FILE bytes (or the reader's
 *     own limit, jsondoc_read_max: the timetable's): a larger one, or
 *     one holding a NUL byte, is refused, never cut;
 *   - an object holds only the keys its reader names; a key starting with '_'
 *     is a comment;
 *   - a value of another type, null included, is refused, never taken for an
 *     absent one; a string holds no NUL; an integer is whole and in range;
 *   - the first error is reported with its path, "slots[3].capacity: an
 *     integer from 1 to 100 is required", the path as the reader names it
 *     ("where" and a key).
 *
 * Messages are in English for the operators' files, in French for people
 * (jsondoc_t.fr). Each reader below returns 0, or -1 with the reason in
 * jd->err; a parent object that is NULL reads as one without any key.
 *
 * json-c rather than jansson's json_unpack_ex(JSON_STRICT): json-c is the
 * JSON library every part already links, and jansson's errors name a
 * position, not the path of the value, nor the range a number must be in. */
#ifndef TP_JSONDOC_H
#define TP_JSONDOC_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSONDOC_MAX_FILE (1024 * 1024)

typedef struct {
    char *err; /* the first failure: "path: what is wrong" */
    size_t errlen;
    int fr; /* messages in French (for people), else English (for operators) */
} jsondoc_t;

/* The document's root (json_object_put it), or NULL with the reason in err. */
json_object *jsondoc_parse(const char *text, char *err, size_t errlen);
/* The same with the reason in French, for people ("JSON illisible : fin
 * inattendue (ligne 3, caractère 41)"). */
json_object *jsondoc_parse_fr(const char *text, char *err, size_t errlen);

/* The whole text of the file at path, NUL-terminated (the caller frees it),
 * or NULL with "cannot open", "read error", "larger than 1 MiB" or "holds a
 * NUL byte" in err; jsondoc_fread reads f (stdin) to its end the same way. */
char *jsondoc_read(const char *path, char *err, size_t errlen);
char *jsondoc_fread(FILE *f, char *err, size_t errlen);
/* The same with a limit of max bytes of its own ("larger than N MiB"). */
char *jsondoc_read_max(const char *path, size_t max, char *err, size_t errlen);
char *jsondoc_fread_max(FILE *f, size_t max, char *err, size_t errlen);

/* o is an object holding only the keys of allowed (NULL-terminated) and
 * comments; allowed NULL: any key (a map). The message for something else
 * lists the keys expected. */
int jsondoc_object(jsondoc_t *jd, json_object *o, const char *where, const char *const *allowed);

/* The object at key, checked as jsondoc_object; *out NULL when absent. */
int jsondoc_child(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required,
                  const char *const *allowed, json_object **out);

/* The list at key, of at most max items; *out NULL when absent. */
int jsondoc_array(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, size_t max,
                  json_object **out);

/* Item i of the list arr, named "name[i]" (written to where), an object
 * checked as jsondoc_object. NULL on error. */
json_object *jsondoc_item(jsondoc_t *jd, json_object *arr, size_t i, const char *name, const char *const *allowed,
                          char *where, size_t wcap);

/* The string at key, pointing into the document; "" when absent. */
int jsondoc_string(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required,
                   const char **out);

/* The same, copied into out[cap]: a longer one is refused, never cut. */
int jsondoc_str(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, char *out,
                size_t cap);

/* A required code ([a-z0-9_-]{1,max}, common/ids.h), copied into out[cap]. */
int jsondoc_code(jsondoc_t *jd, json_object *o, const char *where, const char *key, size_t max, char *out,
                 size_t cap);

/* The strings of the list at key (at most max), pointing into the document;
 * *n = 0 when absent. */
int jsondoc_strings(jsondoc_t *jd, json_object *o, const char *where, const char *key, size_t max,
                    const char **out, size_t *n);

/* The whole number at key, from lo to hi; *out is left as it was (the
 * caller's default) when the key is absent and not required. */
int jsondoc_int(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, int lo, int hi,
                int *out);
int jsondoc_int64(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, int64_t lo,
                  int64_t hi, int64_t *out);

/* true or false at key (1 or 0); *out left as it was when absent. */
int jsondoc_bool(jsondoc_t *jd, json_object *o, const char *where, const char *key, int required, int *out);

#endif
