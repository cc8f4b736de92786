#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

typedef struct {
    conf_table_t *tables;
    size_t ntables;
    const char *const *others; /* other programs' sections, skipped */
    int settings;              /* key = value lines read */
    char *err;
    size_t errlen;
    int failed;     /* line of the first value error, 0 if none */
    FILE *file;
    int line;       /* lines read so far */
    int long_line;  /* first line over inih's INI_MAX_LINE, 0 if none */
    int section_line; /* of the last "[section]" header read */
    int report_line;  /* the line the first error names (its section's, for an unknown section) */
} conf_parse_t;

const char *conf_map_get(const conf_map_t *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0)
            return m->items[i].value;
    return NULL;
}

static int conf_map_put(conf_map_t *m, const char *key, const char *value)
{
    int i = 0;
    while (i < m->n && strcmp(m->items[i].key, key) != 0)
        i++;
    if (i == CONF_MAP_MAX || strlen(key) >= sizeof m->items[0].key)
        return -1;
    if (util_strlcpy(m->items[i].value, value, sizeof m->items[0].value) != 0)
        return -1;
    util_strlcpy(m->items[i].key, key, sizeof m->items[0].key);
    if (i == m->n)
        m->n++;
    return 0;
}

int conf_set(const conf_field_t *f, void *base, const char *value)
{
    char *dst = (char *)base + f->offset;
    char *end = NULL;
    switch (f->type) {
    case CONF_STR:
        return util_strlcpy(dst, value, f->size);
    case CONF_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end != '\0')
            return -1;
        *(int64_t *)dst = v;
        return 0;
    }
    case CONF_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end != '\0')
            return -1;
        *(double *)dst = v;
        return 0;
    }
    case CONF_BOOL:
        if (!strcasecmp(value, "yes") || !strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "on"))
            *(int *)dst = 1;
        else if (!strcasecmp(value, "no") || !strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "off"))
            *(int *)dst = 0;
        else
            return -1;
        return 0;
    case CONF_MAP:
        ((conf_map_t *)dst)->n = 0; /* only the default "" is set this way */
        return 0;
    }
    return -1;
}

static const char *conf_type_name(conf_type_t t)
{
    switch (t) {
    case CONF_STR: return "a string that fits";
    case CONF_INT: return "an integer";
    case CONF_DOUBLE: return "a number";
    case CONF_BOOL: return "yes or no";
    case CONF_MAP: return "a value that fits";
    }
    return "?";
}

/* fgets for ini_parse_stream, counting lines so that an error found by the
 * handler is only reported for the line inih names (the first bad one). inih
 * reads at most INI_MAX_LINE bytes at a time and would parse the rest of a
 * longer line as a line of its own; here the rest is skipped and the line
 * replaced by one that does not parse, reported as too long. */
static char *conf_read_line(char *str, int num, void *stream)
{
    conf_parse_t *p = stream;
    if (!fgets(str, num, p->file))
        return NULL;
    p->line++;
    if (str[strspn(str, " \t")] == '[')
        p->section_line = p->line;
    size_t n = strlen(str);
    if (n > 0 && str[n - 1] != '\n') {
        int c = getc(p->file);
        if (c != '\n' && c != EOF) {
            while ((c = getc(p->file)) != '\n' && c != EOF)
                ;
            if (!p->long_line)
                p->long_line = p->line;
            util_strlcpy(str, "?", (size_t)num);
        }
    }
    return str;
}

/* The keys that moved to another section: refused with where they are now,
 * never read under their old name (a deployment would keep a retention it
 * believes changed). 0 with the reason in err when key is one. */
static int conf_moved(const char *section, const char *key, char *err, size_t errlen)
{
    static const char *const moved[][4] = {
        { "intake", "retention_days", "retention", "contact_days" },
        { "survey", "comment_retention_days", "retention", "comments_days" },
        { "gateway", "retention_days", "retention", "sms_days" },
    };
    for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++)
        if (!strcmp(moved[i][0], section) && !strcmp(moved[i][1], key)) {
            snprintf(err, errlen, "'%s' in [%s] has moved: write it as '%s' in [%s]", key, section, moved[i][3],
                     moved[i][2]);
            return 0;
        }
    return -1;
}

/* Writes only the reason: inih returns the first failing line, which
 * conf_load puts in front. */
static int conf_handler(void *user, const char *section, const char *key, const char *value)
{
    conf_parse_t *p = user;
    int section_known = 0;
    p->settings++;
    for (size_t t = 0; t < p->ntables; t++) {
        conf_table_t *tab = &p->tables[t];
        for (size_t i = 0; i < tab->n; i++) {
            const conf_field_t *f = &tab->fields[i];
            if (strcmp(f->section, section) != 0)
                continue;
            section_known = 1;
            int map = f->type == CONF_MAP;
            if (!map && strcmp(f->key, key) != 0)
                continue;
            if (map ? conf_map_put((conf_map_t *)((char *)tab->base + f->offset), key, value) != 0
                    : conf_set(f, tab->base, value) != 0) {
                if (!p->failed) {
                    snprintf(p->err, p->errlen, "%s.%s must be %s", section, key, conf_type_name(f->type));
                    p->failed = p->report_line = p->line;
                }
                return 0;
            }
            return 1;
        }
    }
    if (section_known) {
        if (!p->failed && conf_moved(section, key, p->err, p->errlen) == 0) {
            p->failed = p->report_line = p->line;
        } else if (!p->failed) {
            snprintf(p->err, p->errlen, "unknown key '%s' in [%s]", key, section);
            p->failed = p->report_line = p->line;
        }
        return 0;
    }
    for (const char *const *o = p->others; o && *o; o++)
        if (strcmp(*o, section) == 0)
            return 1; /* another program's section */
    if (!p->failed) {
        if (section[0])
            snprintf(p->err, p->errlen, "unknown section [%s]", section);
        else
            snprintf(p->err, p->errlen, "'%s' is outside any [section]", key);
        p->failed = p->line;
        p->report_line = section[0] && p->section_line ? p->section_line : p->line;
    }
    return 0;
}

static void conf_env_name(char *out, size_t cap, const char *section, const char *key)
{
    size_t n = (size_t)snprintf(out, cap, "TREMPLIN_%s_%s", section, key);
    for (size_t i = 0; i < n && i < cap; i++) {
        unsigned char c = (unsigned char)out[i];
        out[i] = (c == '.' || c == '-') ? '_' : (char)toupper(c);
    }
}

extern char **environ;

static int conf_env_map(const conf_field_t *f, void *base, char *err, size_t errlen)
{
    char prefix[96];
    conf_env_name(prefix, sizeof prefix, f->section, "");
    size_t plen = strlen(prefix);
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || strncmp(*e, prefix, plen) != 0 || (size_t)(eq - *e) <= plen)
            continue;
        char key[48];
        size_t klen = (size_t)(eq - *e) - plen;
        if (klen >= sizeof key) {
            snprintf(err, errlen, "environment %.*s: name too long", (int)(eq - *e), *e);
            return -1;
        }
        for (size_t i = 0; i < klen; i++)
            key[i] = (char)tolower((unsigned char)(*e)[plen + i]);
        key[klen] = '\0';
        if (conf_map_put((conf_map_t *)((char *)base + f->offset), key, eq + 1) != 0) {
            snprintf(err, errlen, "environment %.*s: value too long or too many entries", (int)(eq - *e), *e);
            return -1;
        }
    }
    return 0;
}

int conf_load(const char *path, conf_table_t *tables, size_t ntables, const char *const *others, char *err,
              size_t errlen)
{
    for (size_t t = 0; t < ntables; t++)
        for (size_t i = 0; i < tables[t].n; i++) {
            const conf_field_t *f = &tables[t].fields[i];
            if (conf_set(f, tables[t].base, f->def) != 0) {
                snprintf(err, errlen, "default of %s.%s does not parse", f->section, f->key);
                return -1;
            }
        }

    if (path && *path) {
        conf_parse_t p = { tables, ntables, others, 0, err, errlen, 0, fopen(path, "r"), 0, 0, 0, 0 };
        if (!p.file) {
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            return -1;
        }
        int rc = ini_parse_stream(conf_read_line, &p, conf_handler, &p);
        fclose(p.file);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot parse (out of memory)", path);
            return -1;
        }
        if (rc > 0) {
            if (rc == p.failed) {
                char reason[512];
                util_strlcpy(reason, err, sizeof reason);
                snprintf(err, errlen, "%s:%d: %s", path, p.report_line, reason);
            } else if (rc == p.long_line) {
                snprintf(err, errlen, "%s:%d: line too long", path, rc);
            } else {
                snprintf(err, errlen, "%s:%d: not a 'key = value' or '[section]' line", path, rc);
            }
            return -1;
        }
        if (p.settings == 0) {
            snprintf(err, errlen, "%s: no setting in the file (empty, or only comments): refusing to run on defaults",
                     path);
            return -1;
        }
    }

    for (size_t t = 0; t < ntables; t++)
        for (size_t i = 0; i < tables[t].n; i++) {
            const conf_field_t *f = &tables[t].fields[i];
            if (f->type == CONF_MAP) {
                if (conf_env_map(f, tables[t].base, err, errlen) != 0)
                    return -1;
                continue;
            }
            char name[128];
            conf_env_name(name, sizeof name, f->section, f->key);
            const char *v = getenv(name);
            if (v && conf_set(f, tables[t].base, v) != 0) {
                snprintf(err, errlen, "environment %s must be %s", name, conf_type_name(f->type));
                return -1;
            }
        }
    return 0;
}
