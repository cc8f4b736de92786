#include "timetable.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "ids.h"
#include "jsondoc.h"
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

/* "HHMM-" of a session id to minutes; -1 if not. */
static int tt_parse_time_id(const char *s)
{
    char t[6];
    if (strlen(s) < 5 || s[4] != '-')
        return -1;
    snprintf(t, sizeof t, "%.2s:%.2s", s, s + 2);
    return tt_parse_time(t);
}

/* ------------------------------------------------------------ loading */

/* Every object of the file is read through common/jsondoc: a key that is
 * not the reader's is refused (a misspelt "holidays" must not silently give
 * sessions on Christmas; keys starting with '_' are comments), and so is a
 * value of another type. */

static int tt_date(jsondoc_t *jd, json_object *o, const char *key, int32_t *out, const char *where)
{
    char s[16];
    if (jsondoc_str(jd, o, where, key, 1, s, sizeof s) != 0)
        return -1;
    if (tt_parse_date(s, out) != 0)
        return util_fail(jd->err, jd->errlen, "%s.%s: \"%s\" is not a date YYYY-MM-DD (%d to %d)", where, key, s,
                         TT_YEAR_MIN, TT_YEAR_MAX);
    return 0;
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
static int tt_parse_slot_fields(jsondoc_t *jd, json_object *o, const timetable_t *tt, tt_slot_t *s,
                                const char *where)
{
    char start[16];
    if (jsondoc_str(jd, o, where, "start", 1, start, sizeof start) != 0)
        return -1;
    if ((s->start_min = tt_parse_time(start)) < 0)
        return util_fail(jd->err, jd->errlen, "%s.start: \"%s\" is not a time HH:MM (00:00 to 23:59)", where, start);
    s->duration_min = TT_DEFAULT_DURATION;
    if (jsondoc_int(jd, o, where, "duration_min", 0, 15, 600, &s->duration_min) != 0)
        return -1;
    if (s->start_min + s->duration_min > 24 * 60)
        return util_fail(jd->err, jd->errlen, "%s.duration_min: the session would end after midnight", where);
    if (jsondoc_code(jd, o, where, "kind", TT_CODE - 1, s->kind, TT_CODE) != 0
        || jsondoc_code(jd, o, where, "venue", TT_VENUE_ID_MAX, s->venue, TT_CODE) != 0
        || jsondoc_code(jd, o, where, "trainer", TT_CODE - 1, s->trainer, TT_CODE) != 0
        || jsondoc_int(jd, o, where, "capacity", 1, 1, 100, &s->capacity) != 0)
        return -1;
    if (tt_venue_index(tt, s->venue) < 0)
        return util_fail(jd->err, jd->errlen, "%s.venue: no venue \"%s\"", where, s->venue);
    return 0;
}

static int tt_overlap(const tt_slot_t *a, const tt_slot_t *b)
{
    return !strcmp(a->venue, b->venue) && a->start_min < b->start_min + b->duration_min
        && b->start_min < a->start_min + a->duration_min;
}

static int tt_parse_venues(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "id", "name_fr", "address_fr", NULL };
    json_object *arr;
    if (jsondoc_array(jd, root, "", "venues", 1, TT_MAX_VENUES, &arr) != 0)
        return -1;
    if (json_object_array_length(arr) == 0)
        return util_fail(jd->err, jd->errlen, "venues: 1 to %d venues", TT_MAX_VENUES);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, arr, i, "venues", keys, where, sizeof where);
        tt_venue_t *v = &tt->venues[tt->nvenues];
        if (!o || jsondoc_code(jd, o, where, "id", TT_VENUE_ID_MAX, v->id, TT_CODE) != 0
            || jsondoc_str(jd, o, where, "name_fr", 1, v->name_fr, sizeof v->name_fr) != 0
            || jsondoc_str(jd, o, where, "address_fr", 0, v->address_fr, sizeof v->address_fr) != 0)
            return -1;
        if (!v->name_fr[0])
            return util_fail(jd->err, jd->errlen, "%s.name_fr: must not be empty", where);
        if (tt_venue_index(tt, v->id) >= 0)
            return util_fail(jd->err, jd->errlen, "%s.id: \"%s\" twice", where, v->id);
        tt->nvenues++;
    }
    return 0;
}

static int tt_parse_slots(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "day", "start", "duration_min", "kind", "venue", "trainer", "capacity", NULL };
    json_object *arr;
    if (jsondoc_array(jd, root, "", "slots", 1, TT_MAX_SLOTS, &arr) != 0)
        return -1;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        char where[48], day[8];
        json_object *o = jsondoc_item(jd, arr, i, "slots", keys, where, sizeof where);
        tt_slot_t *s = &tt->slots[tt->nslots];
        memset(s, 0, sizeof *s);
        s->date = -1;
        s->wday = -1;
        if (!o || jsondoc_str(jd, o, where, "day", 1, day, sizeof day) != 0)
            return -1;
        for (int d = 1; d <= 6; d++)
            if (!strcmp(day, tt_day_names[d]))
                s->wday = d;
        if (s->wday < 0)
            return util_fail(jd->err, jd->errlen, "%s.day: \"%s\" is not one of mon, tue, wed, thu, fri, sat", where,
                             day);
        if (tt_parse_slot_fields(jd, o, tt, s, where) != 0)
            return -1;
        for (int j = 0; j < tt->nslots; j++)
            if (tt->slots[j].wday == s->wday && tt_overlap(&tt->slots[j], s))
                return util_fail(jd->err, jd->errlen, "%s: overlaps slots[%d] at venue \"%s\" on %s", where, j,
                                 s->venue, day);
        tt->nslots++;
    }
    return 0;
}

static int tt_parse_one_off(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "date", "start", "duration_min", "kind", "venue", "trainer", "capacity", NULL };
    json_object *arr;
    if (jsondoc_array(jd, root, "", "one_off", 0, TT_MAX_ONE_OFF, &arr) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, arr, i, "one_off", keys, where, sizeof where);
        tt_slot_t *s = &tt->one_off[tt->none_off];
        memset(s, 0, sizeof *s);
        if (!o || tt_date(jd, o, "date", &s->date, where) != 0
            || tt_parse_slot_fields(jd, o, tt, s, where) != 0)
            return -1;
        s->wday = cal_weekday(s->date);
        /* a one-off never shares its venue's time with another session:
         * session ids stay unique and a room is never booked twice */
        for (int j = 0; j < tt->nslots; j++)
            if (tt->slots[j].wday == s->wday && tt_overlap(&tt->slots[j], s))
                return util_fail(jd->err, jd->errlen, "%s: overlaps the weekly slots[%d] at venue \"%s\"", where, j,
                                 s->venue);
        for (int j = 0; j < tt->none_off; j++)
            if (tt->one_off[j].date == s->date && tt_overlap(&tt->one_off[j], s))
                return util_fail(jd->err, jd->errlen, "%s: overlaps one_off[%d] at venue \"%s\"", where, j, s->venue);
        tt->none_off++;
    }
    return 0;
}

static int tt_parse_holidays(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    json_object *arr;
    if (jsondoc_array(jd, root, "", "holidays", 0, TT_MAX_HOLIDAYS, &arr) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *x = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
        int32_t d;
        if (!s || tt_parse_date(s, &d) != 0)
            return util_fail(jd->err, jd->errlen, "holidays[%zu]: \"%.16s\" is not a date YYYY-MM-DD (%d to %d)", i,
                             s ? s : "", TT_YEAR_MIN, TT_YEAR_MAX);
        for (int j = 0; j < tt->nholidays; j++)
            if (tt->holidays[j] == d)
                return util_fail(jd->err, jd->errlen, "holidays[%zu]: %s twice", i, s);
        tt->holidays[tt->nholidays++] = d;
    }
    return 0;
}

static int tt_parse_closures(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "from", "to", "venue", "reason_fr", NULL };
    json_object *arr;
    if (jsondoc_array(jd, root, "", "closures", 0, TT_MAX_CLOSURES, &arr) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, arr, i, "closures", keys, where, sizeof where);
        tt_closure_t *c = &tt->closures[tt->nclosures];
        if (!o || tt_date(jd, o, "from", &c->from, where) != 0
            || tt_date(jd, o, "to", &c->to, where) != 0
            || jsondoc_str(jd, o, where, "venue", 0, c->venue, sizeof c->venue) != 0
            || jsondoc_str(jd, o, where, "reason_fr", 0, c->reason_fr, sizeof c->reason_fr) != 0)
            return -1;
        if (c->from > c->to)
            return util_fail(jd->err, jd->errlen, "%s: from is after to", where);
        if (c->venue[0] && tt_venue_index(tt, c->venue) < 0)
            return util_fail(jd->err, jd->errlen, "%s.venue: no venue \"%s\"", where, c->venue);
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

static int tt_parse_absences(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "trainer", "from", "to", NULL };
    json_object *arr;
    if (jsondoc_array(jd, root, "", "absences", 0, TT_MAX_ABSENCES, &arr) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, arr, i, "absences", keys, where, sizeof where);
        tt_absence_t *a = &tt->absences[tt->nabsences];
        if (!o || jsondoc_code(jd, o, where, "trainer", TT_CODE - 1, a->trainer, TT_CODE) != 0
            || tt_date(jd, o, "from", &a->from, where) != 0 || tt_date(jd, o, "to", &a->to, where) != 0)
            return -1;
        if (a->from > a->to)
            return util_fail(jd->err, jd->errlen, "%s: from is after to", where);
        /* a misspelt trainer would silently leave their sessions on */
        if (!tt_has_trainer(tt, a->trainer))
            return util_fail(jd->err, jd->errlen, "%s.trainer: no slot or one-off has trainer \"%s\"", where,
                             a->trainer);
        tt->nabsences++;
    }
    return 0;
}

/* "capacities": one session's capacity in place of its slot's. The id is
 * checked for its form (date, time, venue, kind of the file); a session the
 * file no longer holds (a holiday added since) is simply not made. */
static int tt_parse_capacities(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "session", "capacity", NULL };
    json_object *arr;
    if (jsondoc_array(jd, root, "", "capacities", 0, TT_MAX_CAPACITIES, &arr) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        char where[48], date[11];
        json_object *o = jsondoc_item(jd, arr, i, "capacities", keys, where, sizeof where);
        tt_capacity_t *c = &tt->capacities[tt->ncapacities];
        if (!o || jsondoc_str(jd, o, where, "session", 1, c->session, sizeof c->session) != 0
            || jsondoc_int(jd, o, where, "capacity", 1, 1, 100, &c->capacity) != 0)
            return -1;
        const char *id = c->session;
        int32_t day;
        snprintf(date, sizeof date, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
        if (!ids_valid(id, TT_ID - 1) || strlen(id) < 15 || id[8] != '-' || id[13] != '-'
            || tt_parse_date(date, &day) != 0 || tt_parse_time_id(id + 9) < 0)
            return util_fail(jd->err, jd->errlen, "%s.session: \"%s\" is not a session id (20261130-0930-venue-kind)",
                             where, id);
        for (int j = 0; j < tt->ncapacities; j++)
            if (!strcmp(tt->capacities[j].session, id))
                return util_fail(jd->err, jd->errlen, "%s.session: \"%s\" is given twice", where, id);
        tt->ncapacities++;
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
                                        "public_holidays", "holidays", "closures", "absences", "capacities", NULL };
    memset(tt, 0, sizeof *tt);
    char ph[8];
    json_object *root = jsondoc_parse(json_text, err, errlen);
    if (!root)
        return -1;
    jsondoc_t jd = { .err = err, .errlen = errlen };
    int rc = -1;
    tt->horizon_days = 28;
    if (jsondoc_object(&jd, root, "timetable", keys) != 0
        || jsondoc_str(&jd, root, "timetable", "version", 1, tt->version, sizeof tt->version) != 0
        || jsondoc_str(&jd, root, "timetable", "timezone", 1, tt->timezone, sizeof tt->timezone) != 0
        || jsondoc_int(&jd, root, "timetable", "horizon_days", 0, 1, 366, &tt->horizon_days) != 0
        || jsondoc_str(&jd, root, "timetable", "public_holidays", 0, ph, sizeof ph) != 0)
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
    if (tt_parse_venues(&jd, root, tt) != 0 || tt_parse_slots(&jd, root, tt) != 0
        || tt_parse_one_off(&jd, root, tt) != 0 || tt_parse_holidays(&jd, root, tt) != 0
        || tt_parse_closures(&jd, root, tt) != 0 || tt_parse_absences(&jd, root, tt) != 0
        || tt_parse_capacities(&jd, root, tt) != 0)
        goto done;
    tt_set_lines(json_text, tt);
    rc = 0;
done:
    json_object_put(root);
    return rc;
}

int timetable_load(const char *path, timetable_t *out, char *err, size_t errlen)
{
    char reason[400];
    char *text = jsondoc_read(path, reason, sizeof reason);
    int rc = text ? timetable_parse(text, out, reason, sizeof reason) : -1;
    free(text);
    if (rc != 0)
        return util_fail(err, errlen, "%s: %s", path, reason);
    util_strlcpy(out->path, path, sizeof out->path);
    return 0;
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
    for (int i = 0; i < tt->ncapacities; i++)
        if (!strcmp(tt->capacities[i].session, out->id))
            out->capacity = tt->capacities[i].capacity;
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
