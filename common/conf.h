/* conf — one INI file format for every service, described by tables.
 *
 * A table lists {section, key, type, offset, size, default}. Loading applies
 * the defaults, then the file, then environment overrides named
 * TREMPLIN_<SECTION>_<KEY> (upper case, '.' and '-' become '_'). A section a
 * table does not mention is skipped when the caller names it as another
 * program's, and is an error otherwise (a misspelt "[reddis]" would
 * silently leave every Redis setting at its default); an unknown key in a
 * known section, or a value that does not parse, is an error naming
 * file:line. A file with no setting at all is an error too: running a
 * deployment on defaults (Redis on 6379) is never what an empty file meant. */
#ifndef TP_CONF_H
#define TP_CONF_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CONF_STR, CONF_INT, CONF_BOOL, CONF_DOUBLE, CONF_MAP } conf_type_t;

/* CONF_MAP: a section whose keys are free (e.g. [endpoints]); key is "*".
 * Environment overrides TREMPLIN_<SECTION>_<KEY> add or replace entries, the
 * key taken in lower case. */
#define CONF_MAP_MAX 32
typedef struct {
    int n;
    struct {
        char key[48];
        char value[256];
    } items[CONF_MAP_MAX];
} conf_map_t;

/* The value for key, or NULL. */
const char *conf_map_get(const conf_map_t *m, const char *key);

typedef struct {
    const char *section;
    const char *key;
    conf_type_t type;
    size_t offset;   /* into the table's struct */
    size_t size;     /* CONF_STR: size of the char array */
    const char *def; /* default, as it would be written in the file */
} conf_field_t;

typedef struct {
    const conf_field_t *fields;
    size_t n;
    void *base; /* the struct the offsets point into */
} conf_table_t;

#define CONF_STR_FIELD(sec, key, type_, member, def) \
    { sec, key, CONF_STR, offsetof(type_, member), sizeof(((type_ *)0)->member), def }
#define CONF_INT_FIELD(sec, key, type_, member, def) \
    { sec, key, CONF_INT, offsetof(type_, member), sizeof(int64_t), def }
#define CONF_BOOL_FIELD(sec, key, type_, member, def) \
    { sec, key, CONF_BOOL, offsetof(type_, member), sizeof(int), def }
#define CONF_MAP_FIELD(sec, type_, member) \
    { sec, "*", CONF_MAP, offsetof(type_, member), sizeof(conf_map_t), "" }
#define CONF_DOUBLE_FIELD(sec, key, type_, member, def) \
    { sec, key, CONF_DOUBLE, offsetof(type_, member), sizeof(double), def }

/* path may be NULL (defaults and environment only). others: the sections
 * the file may hold for other programs (NULL-terminated; NULL: none).
 * Returns 0, or -1 with "file:line: reason" in err. */
int conf_load(const char *path, conf_table_t *tables, size_t ntables, const char *const *others, char *err,
              size_t errlen);

/* Sets one field from its text form; used by the loader and by tests. */
int conf_set(const conf_field_t *f, void *base, const char *value);

#endif
