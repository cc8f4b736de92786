#include "timetable.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "ids.h"
#include "util.h"

/* Dates of the file are kept from 2000-01-01 to 2199-12-31: wide enough for a
 * timetable, and it bounds every loop over days. */
#define TT_YEAR_MIN 2000
#define TT_YEAR_MAX 2199

static const char *const tt_day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* ------------------------------------------------------------ calendar */

int timetable_fr_holiday(int y, int m, int d)
{
    static const int fixed[][2] = { { 1, 1 }, { 5, 1 }, { 5, 8 }, { 7, 14 }, { 8, 15 }, { 11, 1 }, { 11, 11 }, { 12, 25 } };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (m == fixed[i][0] && d == fixed[i][1])
            return 1;
    /* Easter Monday, Ascension (Thursday, +39) and Whit Monday (+50) */
    int32_t day = cal_days_from_civil(y, m, d), easter = cal_easter(y);
    return day == easter + 1 || day == easter + 39 || day == easter + 50;
}

/* "YYYY-MM-DD" to days; -1 if it is not a date of the file's calendar. */
static int tt_parse_date(const char *s, int32_t *out) { return cal_parse_date(s, TT_YEAR_MIN, TT_YEAR_MAX, out); }

/* "HH:MM" to minutes after midnight; -1 if it is not a time of day. */
static int tt_parse_time(const char *s)
{
    if (strlen(s) != 5 || s[2] != ':' || strspn(s, "0123456789:") != 5)
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    return h * 60 + m;
}

/* ------------------------------------------------------------ loading */

/* Refuses a key that is not in allowed (NULL-terminated): a misspelt
 * "holidays" must not silently give sessions on Christmas. Keys starting
 * with '_' are comments. */
static int tt_keys(json_object *o, const char *const *allowed, const char *where, char *err, size_t errlen)
{
    struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it);
        int ok = name[0] == '_';
        for (int i = 0; !ok && allowed[i]; i++)
            ok = !strcmp(name, allowed[i]);
        if (!ok)
            return util_fail(err, errlen, "%s.%s: unknown key", where, name);
    }
    return 0;
}

/* The string at key: required, or "" when absent; -1 if it is not a string,
 * too long or holds a NUL. */
static int tt_str(json_object *o, const char *key, char *out, size_t cap, int required, const char *where, char *err,
                  size_t errlen)
{
    json_object *v;
    out[0] = '\0';
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        return required ? util_fail(err, errlen, "%s.%s: a string is required", where, key) : 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return util_fail(err, errlen, "%s.%s: a string is required", where, key);
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return util_fail(err, errlen, "%s.%s: contains a NUL character", where, key);
    if (util_strlcpy(out, s, cap) != 0)
        return util_fail(err, errlen, "%s.%s: too long (at most %zu bytes)", where, key, cap - 1);
    return 0;
}

/* The integer at key, from lo to hi; def when absent (def < lo: required). */
static int tt_int(json_object *o, const char *key, int *out, int lo, int hi, int def, const char *where, char *err,
                  size_t errlen)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) {
        if (def < lo)
            return util_fail(err, errlen, "%s.%s: an integer from %d to %d is required", where, key, lo, hi);
        *out = def;
        return 0;
    }
    int64_t x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : INT64_MIN;
    if (x < lo || x > hi)
        return util_fail(err, errlen, "%s.%s: an integer from %d to %d is required", where, key, lo, hi);
    *out = (int)x;
    return 0;
}

static int tt_code(json_object *o, const char *key, char *out, size_t max, const char *where, char *err,
                   size_t errlen)
{
    char tmp[TT_CODE];
    if (tt_str(o, key, tmp, sizeof tmp, 1, where, err, errlen) != 0)
        return -1;
    if (!ids_code(tmp, max))
        return util_fail(err, errlen, "%s.%s: \"%s\" is not a code ([a-z0-9_-], 1 to %zu characters)", where, key, tmp,
                         max);
    memcpy(out, tmp, sizeof tmp);
    return 0;
}

static int tt_date(json_object *o, const char *key, int32_t *out, const char *where, char *err, size_t errlen)
{
    char s[16];
    if (tt_str(o, key, s, sizeof s, 1, where, err, errlen) != 0)
        return -1;
    if (tt_parse_date(s, out) != 0)
        return util_fail(err, errlen, "%s.%s: \"%s\" is not a date YYYY-MM-DD (%d to %d)", where, key, s, TT_YEAR_MIN,
                         TT_YEAR_MAX);
    return 0;
}

/* The array at key: NULL with *absent set when there is none; -1 if the
 * key holds something else or too many items. */
static int tt_array(json_object *root, const char *key, int max, int required, json_object **out, char *err,
                    size_t errlen)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(root, key, &v))
        return required ? util_fail(err, errlen, "%s: a list is required", key) : 0;
    if (!json_object_is_type(v, json_type_array))
        return util_fail(err, errlen, "%s: a list is required", key);
    if ((int)json_object_array_length(v) > max)
        return util_fail(err, errlen, "%s: at most %d items", key, max);
    *out = v;
    return 0;
}

static json_object *tt_item(json_object *arr, size_t i, const char *key, char *where, size_t wcap, char *err,
                            size_t errlen)
{
    snprintf(where, wcap, "%s[%zu]", key, i);
    json_object *o = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(o, json_type_object)) {
        util_fail(err, errlen, "%s: an object is required", where);
        return NULL;
    }
    return o;
}

static int tt_venue_index(const timetable_t *tt, const char *id)
{
    for (int i = 0; i < tt->nvenues; i++)
        if (!strcmp(tt->venues[i].id, id))
            return i;
    return -1;
}

/* The time zone must be one the tz database knows: glibc silently falls
 * back to UTC for a name it does not know, and so would every session. */
static int tt_timezone_ok(const char *tz) { return cal_zone(tz) != NULL; }

/* Fields common to weekly slots and one-offs; the caller sets date and wday. */
static int tt_parse_slot_fields(json_object *o, const timetable_t *tt, tt_slot_t *s, const char *where, char *err,
                                size_t errlen)
{
    char start[16];
    if (tt_str(o, "start", start, sizeof start, 1, where, err, errlen) != 0)
        return -1;
    if ((s->start_min = tt_parse_time(start)) < 0)
        return util_fail(err, errlen, "%s.start: \"%s\" is not a time HH:MM (00:00 to 23:59)", where, start);
    if (tt_int(o, "duration_min", &s->duration_min, 15, 600, TT_DEFAULT_DURATION, where, err, errlen) != 0)
        return -1;
    if (s->start_min + s->duration_min > 24 * 60)
        return util_fail(err, errlen, "%s.duration_min: the session would end after midnight", where);
    if (tt_code(o, "kind", s->kind, TT_CODE - 1, where, err, errlen) != 0
        || tt_code(o, "venue", s->venue, TT_VENUE_ID_MAX, where, err, errlen) != 0
        || tt_code(o, "trainer", s->trainer, TT_CODE - 1, where, err, errlen) != 0
        || tt_int(o, "capacity", &s->capacity, 1, 100, -1, where, err, errlen) != 0)
        return -1;
    if (tt_venue_index(tt, s->venue) < 0)
        return util_fail(err, errlen, "%s.venue: no venue \"%s\"", where, s->venue);
    return 0;
}

static int tt_overlap(const tt_slot_t *a, const tt_slot_t *b)
{
    return !strcmp(a->venue, b->venue) && a->start_min < b->start_min + b->duration_min
        && b->start_min < a->start_min + a->duration_min;
}

static int tt_parse_venues(json_object *root, timetable_t *tt, char *err, size_t errlen)
{
    static const char *const keys[] = { "id", "name_fr", "address_fr", NULL };
    json_object *arr;
    if (tt_array(root, "venues", TT_MAX_VENUES, 1, &arr, err, errlen) != 0)
        return -1;
    if (json_object_array_length(arr) == 0)
        return util_fail(err, errlen, "venues: 1 to %d venues", TT_MAX_VENUES);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = tt_item(arr, i, "venues", where, sizeof where, err, errlen);
        tt_venue_t *v = &tt->venues[tt->nvenues];
        if (!o || tt_keys(o, keys, where, err, errlen) != 0
            || tt_code(o, "id", v->id, TT_VENUE_ID_MAX, where, err, errlen) != 0
            || tt_str(o, "name_fr", v->name_fr, sizeof v->name_fr, 1, where, err, errlen) != 0
            || tt_str(o, "address_fr", v->address_fr, sizeof v->address_fr, 0, where, err, errlen) != 0)
            return -1;
        if (!v->name_fr[0])
            return util_fail(err, errlen, "%s.name_fr: must not be empty", where);
        if (tt_venue_index(tt, v->id) >= 0)
            return util_fail(err, errlen, "%s.id: \"%s\" twice", where, v->id);
        tt->nvenues++;
    }
    return 0;
}

static int tt_parse_slots(json_object *root, timetable_t *tt, char *err, size_t errlen)
{
    static const char *const keys[] = { "day", "start", "duration_min", "kind", "venue", "trainer", "capacity", NULL };
    json_object *arr;
    if (tt_array(root, "slots", TT_MAX_SLOTS, 1, &arr, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        char where[48], day[8];
        json_object *o = tt_item(arr, i, "slots", where, sizeof where, err, errlen);
        tt_slot_t *s = &tt->slots[tt->nslots];
        memset(s, 0, sizeof *s);
        s->date = -1;
        s->wday = -1;
        if (!o || tt_keys(o, keys, where, err, errlen) != 0 || tt_str(o, "day", day, sizeof day, 1, where, err, errlen))
            return -1;
        for (int d = 1; d <= 6; d++)
            if (!strcmp(day, tt_day_names[d]))
                s->wday = d;
        if (s->wday < 0)
            return util_fail(err, errlen, "%s.day: \"%s\" is not one of mon, tue, wed, thu, fri, sat", where, day);
        if (tt_parse_slot_fields(o, tt, s, where, err, errlen) != 0)
            return -1;
        for (int j = 0; j < tt->nslots; j++)
            if (tt->slots[j].wday == s->wday && tt_overlap(&tt->slots[j], s))
                return util_fail(err, errlen, "%s: overlaps slots[%d] at venue \"%s\" on %s", where, j, s->venue, day);
        tt->nslots++;
    }
    return 0;
}

static int tt_parse_one_off(json_object *root, timetable_t *tt, char *err, size_t errlen)
{
    static const char *const keys[] = { "date", "start", "duration_min", "kind", "venue", "trainer", "capacity", NULL };
    json_object *arr;
    if (tt_array(root, "one_off", TT_MAX_ONE_OFF, 0, &arr, err, errlen) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = tt_item(arr, i, "one_off", where, sizeof where, err, errlen);
        tt_slot_t *s = &tt->one_off[tt->none_off];
        memset(s, 0, sizeof *s);
        if (!o || tt_keys(o, keys, where, err, errlen) != 0 || tt_date(o, "date", &s->date, where, err, errlen) != 0
            || tt_parse_slot_fields(o, tt, s, where, err, errlen) != 0)
            return -1;
        s->wday = cal_weekday(s->date);
        /* a one-off never shares its venue's time with another session:
         * session ids stay unique and a room is never booked twice */
        for (int j = 0; j < tt->nslots; j++)
            if (tt->slots[j].wday == s->wday && tt_overlap(&tt->slots[j], s))
                return util_fail(err, errlen, "%s: overlaps the weekly slots[%d] at venue \"%s\"", where, j, s->venue);
        for (int j = 0; j < tt->none_off; j++)
            if (tt->one_off[j].date == s->date && tt_overlap(&tt->one_off[j], s))
                return util_fail(err, errlen, "%s: overlaps one_off[%d] at venue \"%s\"", where, j, s->venue);
        tt->none_off++;
    }
    return 0;
}

static int tt_parse_holidays(json_object *root, timetable_t *tt, char *err, size_t errlen)
{
    json_object *arr;
    if (tt_array(root, "holidays", TT_MAX_HOLIDAYS, 0, &arr, err, errlen) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *x = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
        int32_t d;
        if (!s || tt_parse_date(s, &d) != 0)
            return util_fail(err, errlen, "holidays[%zu]: \"%.16s\" is not a date YYYY-MM-DD (%d to %d)", i,
                             s ? s : "", TT_YEAR_MIN, TT_YEAR_MAX);
        for (int j = 0; j < tt->nholidays; j++)
            if (tt->holidays[j] == d)
                return util_fail(err, errlen, "holidays[%zu]: %s twice", i, s);
        tt->holidays[tt->nholidays++] = d;
    }
    return 0;
}

static int tt_parse_closures(json_object *root, timetable_t *tt, char *err, size_t errlen)
{
    static const char *const keys[] = { "from", "to", "venue", "reason_fr", NULL };
    json_object *arr;
    if (tt_array(root, "closures", TT_MAX_CLOSURES, 0, &arr, err, errlen) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = tt_item(arr, i, "closures", where, sizeof where, err, errlen);
        tt_closure_t *c = &tt->closures[tt->nclosures];
        if (!o || tt_keys(o, keys, where, err, errlen) != 0 || tt_date(o, "from", &c->from, where, err, errlen) != 0
            || tt_date(o, "to", &c->to, where, err, errlen) != 0
            || tt_str(o, "venue", c->venue, sizeof c->venue, 0, where, err, errlen) != 0
            || tt_str(o, "reason_fr", c->reason_fr, sizeof c->reason_fr, 0, where, err, errlen) != 0)
            return -1;
        if (c->from > c->to)
            return util_fail(err, errlen, "%s: from is after to", where);
        if (c->venue[0] && tt_venue_index(tt, c->venue) < 0)
            return util_fail(err, errlen, "%s.venue: no venue \"%s\"", where, c->venue);
        tt->nclosures++;
    }
    return 0;
}

static int tt_has_trainer(const timetable_t *tt, const char *trainer)
{
    for (int i = 0; i < tt->nslots; i++)
        if (!strcmp(tt->slots[i].trainer, trainer))
            return 1;
    for (int i = 0; i < tt->none_off; i++)
        if (!strcmp(tt->one_off[i].trainer, trainer))
            return 1;
    return 0;
}

static int tt_parse_absences(json_object *root, timetable_t *tt, char *err, size_t errlen)
{
    static const char *const keys[] = { "trainer", "from", "to", NULL };
    json_object *arr;
    if (tt_array(root, "absences", TT_MAX_ABSENCES, 0, &arr, err, errlen) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = tt_item(arr, i, "absences", where, sizeof where, err, errlen);
        tt_absence_t *a = &tt->absences[tt->nabsences];
        if (!o || tt_keys(o, keys, where, err, errlen) != 0
            || tt_code(o, "trainer", a->trainer, TT_CODE - 1, where, err, errlen) != 0
            || tt_date(o, "from", &a->from, where, err, errlen) != 0 || tt_date(o, "to", &a->to, where, err, errlen) != 0)
            return -1;
        if (a->from > a->to)
            return util_fail(err, errlen, "%s: from is after to", where);
        /* a misspelt trainer would silently leave their sessions on */
        if (!tt_has_trainer(tt, a->trainer))
            return util_fail(err, errlen, "%s.trainer: no slot or one-off has trainer \"%s\"", where, a->trainer);
        tt->nabsences++;
    }
    return 0;
}

/* The line of the nth (1-based) "kind": "<kind>" of the text, 0 if none:
 * where a message about a slot's kind points. */
static int tt_kind_line(const char *text, const char *kind, int nth)
{
    size_t klen = strlen(kind);
    for (const char *p = text; (p = strstr(p, "\"kind\"")) != NULL;) {
        const char *v = p + 6;
        v += strspn(v, " \t\r\n");
        if (*v == ':')
            v += 1 + strspn(v + 1, " \t\r\n");
        if (*v == '"' && !strncmp(v + 1, kind, klen) && v[1 + klen] == '"' && --nth == 0) {
            int line = 1;
            for (const char *c = text; c < p; c++)
                line += *c == '\n';
            return line;
        }
        p = v;
    }
    return 0;
}

/* Each slot and one-off remembers the line of its kind (in the order of the
 * file: slots, then one-offs). */
static void tt_set_lines(const char *text, timetable_t *tt)
{
    for (int i = 0; i < tt->nslots + tt->none_off; i++) {
        tt_slot_t *s = i < tt->nslots ? &tt->slots[i] : &tt->one_off[i - tt->nslots];
        int nth = 1;
        for (int j = 0; j < i; j++)
            nth += !strcmp((j < tt->nslots ? &tt->slots[j] : &tt->one_off[j - tt->nslots])->kind, s->kind);
        s->line = tt_kind_line(text, s->kind, nth);
    }
}

int timetable_parse(const char *json_text, timetable_t *tt, char *err, size_t errlen)
{
    static const char *const keys[] = { "version", "timezone", "horizon_days", "venues", "slots", "one_off",
                                        "public_holidays", "holidays", "closures", "absences", NULL };
    memset(tt, 0, sizeof *tt);
    char ph[8];
    enum json_tokener_error jerr;
    json_object *root = json_tokener_parse_verbose(json_text, &jerr);
    if (!root)
        return util_fail(err, errlen, "not JSON: %s", json_tokener_error_desc(jerr));
    int rc = -1;
    if (!json_object_is_type(root, json_type_object)) {
        util_fail(err, errlen, "timetable: an object is required");
        goto done;
    }
    if (tt_keys(root, keys, "timetable", err, errlen) != 0
        || tt_str(root, "version", tt->version, sizeof tt->version, 1, "timetable", err, errlen) != 0
        || tt_str(root, "timezone", tt->timezone, sizeof tt->timezone, 1, "timetable", err, errlen) != 0
        || tt_int(root, "horizon_days", &tt->horizon_days, 1, 366, 28, "timetable", err, errlen) != 0
        || tt_str(root, "public_holidays", ph, sizeof ph, 0, "timetable", err, errlen) != 0)
        goto done;
    /* the French days are computed for any year; "none" where another
     * calendar applies (its days then go in "holidays") */
    tt->public_holidays = !ph[0] || !strcmp(ph, "fr");
    if (!tt->public_holidays && strcmp(ph, "none") != 0) {
        util_fail(err, errlen, "timetable.public_holidays: \"%s\" is not \"fr\" or \"none\"", ph);
        goto done;
    }
    if (!tt->version[0]) {
        util_fail(err, errlen, "timetable.version: must not be empty");
        goto done;
    }
    if (!tt_timezone_ok(tt->timezone)) {
        util_fail(err, errlen, "timetable.timezone: \"%s\" is not a time zone of the system tz database", tt->timezone);
        goto done;
    }
    if (tt_parse_venues(root, tt, err, errlen) != 0 || tt_parse_slots(root, tt, err, errlen) != 0
        || tt_parse_one_off(root, tt, err, errlen) != 0 || tt_parse_holidays(root, tt, err, errlen) != 0
        || tt_parse_closures(root, tt, err, errlen) != 0 || tt_parse_absences(root, tt, err, errlen) != 0)
        goto done;
    tt_set_lines(json_text, tt);
    rc = 0;
done:
    json_object_put(root);
    return rc;
}

int timetable_load(const char *path, timetable_t *out, char *err, size_t errlen)
{
    enum { CAP = 1024 * 1024 };
    FILE *f = fopen(path, "r");
    if (!f)
        return util_fail(err, errlen, "%s: cannot open", path);
    char *buf = xmalloc(CAP);
    size_t n = fread(buf, 1, CAP - 1, f);
    int bad = ferror(f) ? 1 : (n == CAP - 1 && fgetc(f) != EOF) ? 2 : 0;
    fclose(f);
    buf[n] = '\0';
    char reason[400];
    int rc = bad ? util_fail(reason, sizeof reason, bad == 1 ? "read error" : "larger than 1 MiB")
                 : timetable_parse(buf, out, reason, sizeof reason);
    free(buf);
    if (rc != 0)
        util_fail(err, errlen, "%s: %s", path, reason);
    else
        util_strlcpy(out->path, path, sizeof out->path);
    return rc;
}

static int tt_in(const char *const *list, int n, const char *x)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], x))
            return 1;
    return 0;
}

int timetable_check_kinds(const timetable_t *tt, const char *const *kinds, int nkinds, const char *catalogue,
                          char *err, size_t errlen)
{
    for (int i = 0; i < tt->nslots + tt->none_off; i++) {
        int weekly = i < tt->nslots;
        const tt_slot_t *s = weekly ? &tt->slots[i] : &tt->one_off[i - tt->nslots];
        if (!tt_in(kinds, nkinds, s->kind))
            return util_fail(err, errlen, "%s:%d: %s[%d].kind \"%s\" is not a kind of the catalogue (%s)",
                             tt->path[0] ? tt->path : "timetable", s->line, weekly ? "slots" : "one_off",
                             weekly ? i : i - tt->nslots, s->kind, catalogue);
    }
    return 0;
}

int timetable_unserved_kinds(const timetable_t *tt, const char *const *kinds, int nkinds, char *out, size_t cap)
{
    char **unserved = xcalloc(nkinds > 0 ? (size_t)nkinds : 1, sizeof *unserved);
    size_t n = 0;
    for (int k = 0; k < nkinds; k++) {
        int served = 0;
        for (int i = 0; i < tt->nslots + tt->none_off && !served; i++)
            served = !strcmp((i < tt->nslots ? &tt->slots[i] : &tt->one_off[i - tt->nslots])->kind, kinds[k]);
        if (!served)
            unserved[n++] = (char *)kinds[k]; /* util_join only reads them */
    }
    util_join(unserved, n, " ", out, cap);
    free(unserved);
    return (int)n;
}

int timetable_half_days(const timetable_t *tt, char out[][TT_HALF_DAY], int max)
{
    int n = 0;
    for (int i = 0; i < tt->nslots + tt->none_off; i++) {
        const tt_slot_t *s = i < tt->nslots ? &tt->slots[i] : &tt->one_off[i - tt->nslots];
        char h[TT_HALF_DAY];
        snprintf(h, sizeof h, "%s-%s", tt_day_names[s->wday], s->start_min < 12 * 60 ? "am" : "pm");
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = !strcmp(out[j], h);
        if (!seen && n < max)
            util_strlcpy(out[n++], h, TT_HALF_DAY);
    }
    return n;
}

const tt_venue_t *timetable_venue(const timetable_t *tt, const char *id)
{
    int i = tt_venue_index(tt, id);
    return i < 0 ? NULL : &tt->venues[i];
}

/* ------------------------------------------------------------ sessions */

/* UTC ms of a local date and time of the timetable's zone. */
static int64_t tt_local_ms(const timetable_t *tt, int32_t day, int min)
{
    return cal_from_local(cal_zone(tt->timezone), day, min);
}

/* The local date (days) of an instant, within the calendar of the file. */
static int32_t tt_local_day(const timetable_t *tt, int64_t ms)
{
    cal_local_t l;
    cal_to_local(cal_zone(tt->timezone), ms, &l);
    int32_t lo = cal_days_from_civil(TT_YEAR_MIN, 1, 1), hi = cal_days_from_civil(TT_YEAR_MAX, 12, 31);
    return l.days < lo ? lo : l.days > hi ? hi : l.days;
}

static int tt_is_holiday(const timetable_t *tt, int32_t day)
{
    int y, m, d;
    cal_civil_from_days(day, &y, &m, &d);
    if (tt->public_holidays && timetable_fr_holiday(y, m, d))
        return 1;
    for (int i = 0; i < tt->nholidays; i++)
        if (tt->holidays[i] == day)
            return 1;
    return 0;
}

static int tt_is_closed(const timetable_t *tt, const char *venue, int32_t day)
{
    for (int i = 0; i < tt->nclosures; i++) {
        const tt_closure_t *c = &tt->closures[i];
        if (day >= c->from && day <= c->to && (!c->venue[0] || !strcmp(c->venue, venue)))
            return 1;
    }
    return 0;
}

static int tt_is_absent(const timetable_t *tt, const char *trainer, int32_t day)
{
    for (int i = 0; i < tt->nabsences; i++) {
        const tt_absence_t *a = &tt->absences[i];
        if (day >= a->from && day <= a->to && !strcmp(a->trainer, trainer))
            return 1;
    }
    return 0;
}

int timetable_is_holiday(const timetable_t *tt, const char *date)
{
    int32_t day;
    if (!tt || !date || tt_parse_date(date, &day) != 0)
        return -1;
    return tt_is_holiday(tt, day);
}

/* The session of slot s on day (its weekday or its date), if the day is
 * not a holiday or a closure of its venue. 1: made, 0: none that day. */
static int tt_make(const timetable_t *tt, const tt_slot_t *s, int32_t day, tt_session_t *out)
{
    if (tt_is_holiday(tt, day) || tt_is_closed(tt, s->venue, day))
        return 0;
    int y, m, d;
    cal_civil_from_days(day, &y, &m, &d);
    memset(out, 0, sizeof *out);
    out->start_ms = tt_local_ms(tt, day, s->start_min);
    out->end_ms = out->start_ms + (int64_t)s->duration_min * 60000;
    /* the id and the local fields come from the file's date and time, not
     * from a round trip through the time zone: they never change for a session */
    unsigned hh = (unsigned)(s->start_min / 60) % 100u, mm = (unsigned)(s->start_min % 60) % 100u;
    snprintf(out->id, sizeof out->id, "%04u%02u%02u-%02u%02u-%.16s-%.32s", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u, hh, mm, s->venue, s->kind);
    memcpy(out->kind, s->kind, TT_CODE);
    memcpy(out->venue, s->venue, TT_CODE);
    memcpy(out->trainer, s->trainer, TT_CODE);
    out->capacity = s->capacity;
    snprintf(out->half_day, sizeof out->half_day, "%s-%s", tt_day_names[cal_weekday(day)],
             s->start_min < 12 * 60 ? "am" : "pm");
    cal_format_date(day, out->local_date);
    snprintf(out->local_start, sizeof out->local_start, "%02u:%02u", hh, mm);
    out->trainer_absent = tt_is_absent(tt, s->trainer, day);
    return 1;
}

static int tt_before(const tt_session_t *a, const tt_session_t *b)
{
    if (a->start_ms != b->start_ms)
        return a->start_ms < b->start_ms;
    int c = strcmp(a->venue, b->venue);
    return c != 0 ? c < 0 : strcmp(a->id, b->id) < 0;
}

/* Inserts s into the sorted out[0..*n), keeping the first max. */
static void tt_insert(tt_session_t *out, int *n, int max, const tt_session_t *s)
{
    int i = *n;
    if (i == max) {
        if (!tt_before(s, &out[max - 1]))
            return;
        i--;
    } else {
        (*n)++;
    }
    for (; i > 0 && tt_before(s, &out[i - 1]); i--)
        out[i] = out[i - 1];
    out[i] = *s;
}

int timetable_sessions(const timetable_t *tt, int64_t from_ms, int64_t to_ms, tt_session_t *out, int max)
{
    if (!tt || !out || max <= 0 || from_ms >= to_ms)
        return 0;
    /* the local days the window touches, one more on each side: a local day
     * is never more than a day away from the UTC one */
    int32_t first = tt_local_day(tt, from_ms) - 1, last = tt_local_day(tt, to_ms) + 1;
    int32_t lo = cal_days_from_civil(TT_YEAR_MIN, 1, 1), hi = cal_days_from_civil(TT_YEAR_MAX, 12, 31);
    first = first < lo ? lo : first; /* the calendar of the file, and of timetable_find() */
    last = last > hi ? hi : last;
    if (tt->nslots == 0) { /* only one-offs: no need to walk past the last */
        int32_t d0 = INT32_MAX, d1 = INT32_MIN;
        for (int i = 0; i < tt->none_off; i++) {
            d0 = tt->one_off[i].date < d0 ? tt->one_off[i].date : d0;
            d1 = tt->one_off[i].date > d1 ? tt->one_off[i].date : d1;
        }
        first = first > d0 ? first : d0;
        last = last < d1 ? last : d1;
    }
    int n = 0;
    tt_session_t s;
    for (int32_t day = first; day <= last; day++) {
        /* full, and everything kept starts before the day before: the rest
         * of the window can only come later */
        if (n == max && out[max - 1].start_ms < tt_local_ms(tt, day - 1, 0))
            break;
        int wday = cal_weekday(day);
        for (int i = 0; i < tt->nslots; i++)
            if (tt->slots[i].wday == wday && tt_make(tt, &tt->slots[i], day, &s) && s.start_ms >= from_ms
                && s.start_ms < to_ms)
                tt_insert(out, &n, max, &s);
        for (int i = 0; i < tt->none_off; i++)
            if (tt->one_off[i].date == day && tt_make(tt, &tt->one_off[i], day, &s) && s.start_ms >= from_ms
                && s.start_ms < to_ms)
                tt_insert(out, &n, max, &s);
    }
    return n;
}

int timetable_find(const timetable_t *tt, const char *id, tt_session_t *out)
{
    /* "YYYYMMDD-HHMM-…": the date says which day to generate */
    if (!tt || !id || strlen(id) < 15 || strlen(id) >= TT_ID || id[8] != '-' || id[13] != '-')
        return -1;
    char date[11];
    snprintf(date, sizeof date, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
    int32_t day;
    if (tt_parse_date(date, &day) != 0)
        return -1;
    int wday = cal_weekday(day);
    tt_session_t s;
    for (int i = 0; i < tt->nslots; i++)
        if (tt->slots[i].wday == wday && tt_make(tt, &tt->slots[i], day, &s) && !strcmp(s.id, id)) {
            *out = s;
            return 0;
        }
    for (int i = 0; i < tt->none_off; i++)
        if (tt->one_off[i].date == day && tt_make(tt, &tt->one_off[i], day, &s) && !strcmp(s.id, id)) {
            *out = s;
            return 0;
        }
    return -1;
}

int timetable_half_day(const timetable_t *tt, int64_t ms, char out[TT_HALF_DAY])
{
    const cal_zone_t *z = tt ? cal_zone(tt->timezone) : NULL;
    if (!z)
        return -1;
    cal_local_t l;
    cal_to_local(z, ms, &l);
    snprintf(out, TT_HALF_DAY, "%s-%s", tt_day_names[l.weekday], l.minute < 12 * 60 ? "am" : "pm");
    return 0;
}
