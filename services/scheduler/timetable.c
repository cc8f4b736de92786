#include "timetable.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "ids.h"
#include "jsondoc.h"
#include "timetable_int.h"
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
        || jsondoc_int(jd, o, where, "capacity", 1, 1, TT_MAX_CAPACITY, &s->capacity) != 0)
        return -1;
    if (!tt_venue_lookup(tt, s->venue))
        return util_fail(jd->err, jd->errlen, "%s.venue: no venue \"%s\"", where, s->venue);
    return 0;
}

static int tt_overlap(const tt_slot_t *a, const tt_slot_t *b)
{
    return !strcmp(a->venue, b->venue) && a->start_min < b->start_min + b->duration_min
        && b->start_min < a->start_min + a->duration_min;
}

/* The list at key, of any length; *n its length (0 when absent). */
static int tt_list(jsondoc_t *jd, json_object *root, const char *key, int required, json_object **arr, size_t *n)
{
    if (jsondoc_array(jd, root, "", key, required, SIZE_MAX, arr) != 0)
        return -1;
    *n = *arr ? json_object_array_length(*arr) : 0;
    return 0;
}

/* Each parser below reads its items in the order of the file and stops at
 * the first that is wrong in itself (k); a duplicate or an overlap among the
 * items before it is found afterwards by sorting (O(n log n), not a scan of
 * every earlier item), and the first of the two in file order is reported,
 * as a scan would have. */

static int tt_venue_order(const void *a, const void *b)
{
    int c = tt_cmp_venue(a, b);
    return c != 0 ? c : tt_by_address(a, b);
}

static int tt_parse_venues(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "id", "name_fr", "address_fr", NULL };
    json_object *arr;
    size_t n;
    if (tt_list(jd, root, "venues", 1, &arr, &n) != 0)
        return -1;
    if (n == 0)
        return util_fail(jd->err, jd->errlen, "venues: at least 1 venue");
    tt->venues = xcalloc(n, sizeof *tt->venues);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, arr, i, "venues", keys, where, sizeof where);
        tt_venue_t *v = &tt->venues[tt->nvenues];
        if (!o || jsondoc_code(jd, o, where, "id", TT_VENUE_ID_MAX, v->id, TT_CODE) != 0
            || jsondoc_str(jd, o, where, "name_fr", 1, v->name_fr, sizeof v->name_fr) != 0
            || jsondoc_str(jd, o, where, "address_fr", 0, v->address_fr, sizeof v->address_fr) != 0)
            rc = -1;
        else if (!v->name_fr[0])
            rc = util_fail(jd->err, jd->errlen, "%s.name_fr: must not be empty", where);
        else
            tt->nvenues++;
    }
    const void **items = tt_items(tt->venues, tt->nvenues, sizeof *tt->venues);
    int twin = tt_first_twin(items, (size_t)tt->nvenues, tt->venues, sizeof *tt->venues, tt_cmp_venue, tt_venue_order);
    free(items);
    if (twin >= 0)
        return util_fail(jd->err, jd->errlen, "venues[%d].id: \"%s\" twice", twin, tt->venues[twin].id);
    if (rc == 0)
        tt_index_venues(tt);
    return rc;
}

/* The first slot of slots[0..n) (in file order) that overlaps an earlier one
 * of its group (same venue, and same weekday, or date with by_date): its
 * index, the earlier one's in *twin; -1 if none. Sorted by group, each
 * group is scanned in file order up to its first overlap: a group without
 * one holds at most 96 slots (15 minutes at least each), so that is linear. */
static int tt_first_overlap(const tt_slot_t *slots, int n, int by_date, int *twin)
{
    if (n < 2)
        return -1;
    const tt_slot_t **v = (const tt_slot_t **)tt_items(slots, n, sizeof *slots);
    qsort(v, (size_t)n, sizeof *v, by_date ? tt_slot_cmp_date : tt_slot_cmp_day);
    int first = -1;
    for (int a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && (by_date ? v[b]->date == v[a]->date : v[b]->wday == v[a]->wday)
                        && !strcmp(v[b]->venue, v[a]->venue);
             b++)
            ;
        if (b - a < 2)
            continue;
        qsort(v + a, (size_t)(b - a), sizeof *v, tt_by_address); /* file order */
        for (int i = a + 1, found = 0; i < b && !found; i++)
            for (int j = a; j < i && !found; j++)
                if (tt_overlap(v[j], v[i])) {
                    found = 1;
                    int at = (int)(v[i] - slots);
                    if (first < 0 || at < first) {
                        first = at;
                        *twin = (int)(v[j] - slots);
                    }
                }
    }
    free(v);
    return first;
}

static int tt_parse_slots(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "day", "start", "duration_min", "kind", "venue", "trainer", "capacity", NULL };
    json_object *arr;
    size_t n;
    if (tt_list(jd, root, "slots", 1, &arr, &n) != 0)
        return -1;
    tt->slots = xcalloc(n > 0 ? n : 1, sizeof *tt->slots);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char where[48], day[8];
        json_object *o = jsondoc_item(jd, arr, i, "slots", keys, where, sizeof where);
        tt_slot_t *s = &tt->slots[tt->nslots];
        s->date = -1;
        s->wday = -1;
        if (!o || jsondoc_str(jd, o, where, "day", 1, day, sizeof day) != 0) {
            rc = -1;
            break;
        }
        for (int d = 1; d <= 6; d++)
            if (!strcmp(day, tt_day_names[d]))
                s->wday = d;
        if (s->wday < 0)
            rc = util_fail(jd->err, jd->errlen, "%s.day: \"%s\" is not one of mon, tue, wed, thu, fri, sat", where,
                           day);
        else if (tt_parse_slot_fields(jd, o, tt, s, where) != 0)
            rc = -1;
        else
            tt->nslots++;
    }
    int j = -1, i = tt_first_overlap(tt->slots, tt->nslots, 0, &j);
    if (i >= 0)
        return util_fail(jd->err, jd->errlen, "slots[%d]: overlaps slots[%d] at venue \"%s\" on %s", i, j,
                         tt->slots[i].venue, tt_day_names[tt->slots[i].wday]);
    if (rc == 0)
        tt_index_slots(tt);
    return rc;
}

/* The first weekly slot (in file order) that s overlaps, or -1: those of
 * its venue and weekday, found in slot_by_day (they do not overlap one
 * another: at most 96). */
static int tt_weekly_overlap(const timetable_t *tt, const tt_slot_t *s)
{
    int lo = tt->wday_at[s->wday], hi = tt->wday_at[s->wday + 1], first = -1;
    while (lo < hi) { /* the first of the venue */
        int mid = lo + (hi - lo) / 2;
        if (strcmp(tt->slot_by_day[mid]->venue, s->venue) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; i < tt->wday_at[s->wday + 1] && !strcmp(tt->slot_by_day[i]->venue, s->venue); i++)
        if (tt_overlap(tt->slot_by_day[i], s)) {
            int at = (int)(tt->slot_by_day[i] - tt->slots);
            first = first < 0 || at < first ? at : first;
        }
    return first;
}

static int tt_parse_one_off(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "date", "start", "duration_min", "kind", "venue", "trainer", "capacity", NULL };
    json_object *arr;
    size_t n;
    if (tt_list(jd, root, "one_off", 0, &arr, &n) != 0)
        return -1;
    tt->one_off = xcalloc(n > 0 ? n : 1, sizeof *tt->one_off);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, arr, i, "one_off", keys, where, sizeof where);
        tt_slot_t *s = &tt->one_off[tt->none_off];
        if (!o || tt_date(jd, o, "date", &s->date, where) != 0 || tt_parse_slot_fields(jd, o, tt, s, where) != 0) {
            rc = -1;
            break;
        }
        s->wday = cal_weekday(s->date);
        /* a one-off never shares its venue's time with another session:
         * session ids stay unique and a room is never booked twice */
        int j = tt_weekly_overlap(tt, s);
        if (j >= 0)
            rc = util_fail(jd->err, jd->errlen, "%s: overlaps the weekly slots[%d] at venue \"%s\"", where, j,
                           s->venue);
        else
            tt->none_off++;
    }
    int j = -1, i = tt_first_overlap(tt->one_off, tt->none_off, 1, &j);
    if (i >= 0)
        return util_fail(jd->err, jd->errlen, "one_off[%d]: overlaps one_off[%d] at venue \"%s\"", i, j,
                         tt->one_off[i].venue);
    if (rc == 0)
        tt_index_one_offs(tt);
    return rc;
}

static int tt_day_same(const void *a, const void *b)
{
    int32_t x = **(const int32_t *const *)a, y = **(const int32_t *const *)b;
    return (x > y) - (x < y);
}

static int tt_day_order(const void *a, const void *b)
{
    int c = tt_day_same(a, b);
    return c != 0 ? c : tt_by_address(a, b);
}

static int tt_parse_holidays(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    json_object *arr;
    size_t n;
    if (tt_list(jd, root, "holidays", 0, &arr, &n) != 0)
        return -1;
    tt->holidays = xcalloc(n > 0 ? n : 1, sizeof *tt->holidays);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_object *x = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
        int32_t d;
        if (!s || tt_parse_date(s, &d) != 0)
            rc = util_fail(jd->err, jd->errlen, "holidays[%zu]: \"%.16s\" is not a date YYYY-MM-DD (%d to %d)", i,
                           s ? s : "", TT_YEAR_MIN, TT_YEAR_MAX);
        else
            tt->holidays[tt->nholidays++] = d;
    }
    const void **items = tt_items(tt->holidays, tt->nholidays, sizeof *tt->holidays);
    int twin = tt_first_twin(items, (size_t)tt->nholidays, tt->holidays, sizeof *tt->holidays, tt_day_same,
                             tt_day_order);
    free(items);
    if (twin >= 0)
        return util_fail(jd->err, jd->errlen, "holidays[%d]: %s twice", twin,
                         json_object_get_string(json_object_array_get_idx(arr, (size_t)twin)));
    return rc;
}

static int tt_parse_closures(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "from", "to", "venue", "reason_fr", NULL };
    json_object *arr;
    size_t n;
    if (tt_list(jd, root, "closures", 0, &arr, &n) != 0)
        return -1;
    tt->closures = xcalloc(n > 0 ? n : 1, sizeof *tt->closures);
    for (size_t i = 0; i < n; i++) {
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
        if (c->venue[0] && !tt_venue_lookup(tt, c->venue))
            return util_fail(jd->err, jd->errlen, "%s.venue: no venue \"%s\"", where, c->venue);
        tt->nclosures++;
    }
    return 0;
}

static int tt_cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The trainers of the slots and one-offs, sorted (the caller frees). */
static const char **tt_trainers(const timetable_t *tt)
{
    int n = tt->nslots + tt->none_off;
    const char **v = xmalloc((n > 0 ? (size_t)n : 1) * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = (i < tt->nslots ? &tt->slots[i] : &tt->one_off[i - tt->nslots])->trainer;
    qsort(v, (size_t)n, sizeof *v, tt_cmp_str);
    return v;
}

static int tt_parse_absences(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "trainer", "from", "to", NULL };
    json_object *arr;
    size_t n;
    if (tt_list(jd, root, "absences", 0, &arr, &n) != 0)
        return -1;
    tt->absences = xcalloc(n > 0 ? n : 1, sizeof *tt->absences);
    const char **trainers = n > 0 ? tt_trainers(tt) : NULL;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char where[48];
        json_object *o = jsondoc_item(jd, arr, i, "absences", keys, where, sizeof where);
        tt_absence_t *a = &tt->absences[tt->nabsences];
        const char *key = a->trainer;
        if (!o || jsondoc_code(jd, o, where, "trainer", TT_CODE - 1, a->trainer, TT_CODE) != 0
            || tt_date(jd, o, "from", &a->from, where) != 0 || tt_date(jd, o, "to", &a->to, where) != 0)
            rc = -1;
        else if (a->from > a->to)
            rc = util_fail(jd->err, jd->errlen, "%s: from is after to", where);
        /* a misspelt trainer would silently leave their sessions on */
        else if (!bsearch(&key, trainers, (size_t)(tt->nslots + tt->none_off), sizeof *trainers, tt_cmp_str))
            rc = util_fail(jd->err, jd->errlen, "%s.trainer: no slot or one-off has trainer \"%s\"", where,
                           a->trainer);
        else
            tt->nabsences++;
    }
    free(trainers);
    return rc;
}

static int tt_capacity_order(const void *a, const void *b)
{
    int c = tt_cmp_capacity(a, b);
    return c != 0 ? c : tt_by_address(a, b);
}

/* "capacities": one session's capacity in place of its slot's. The id is
 * checked for its form (date, time, venue, kind of the file); a session the
 * file no longer holds (a holiday added since) is simply not made. */
static int tt_parse_capacities(jsondoc_t *jd, json_object *root, timetable_t *tt)
{
    static const char *const keys[] = { "session", "capacity", NULL };
    json_object *arr;
    size_t n;
    if (tt_list(jd, root, "capacities", 0, &arr, &n) != 0)
        return -1;
    tt->capacities = xcalloc(n > 0 ? n : 1, sizeof *tt->capacities);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char where[48], date[11];
        json_object *o = jsondoc_item(jd, arr, i, "capacities", keys, where, sizeof where);
        tt_capacity_t *c = &tt->capacities[tt->ncapacities];
        if (!o || jsondoc_str(jd, o, where, "session", 1, c->session, sizeof c->session) != 0
            || jsondoc_int(jd, o, where, "capacity", 1, 1, TT_MAX_CAPACITY, &c->capacity) != 0) {
            rc = -1;
            break;
        }
        const char *id = c->session;
        int32_t day;
        snprintf(date, sizeof date, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
        if (!ids_valid(id, TT_ID - 1) || strlen(id) < 15 || id[8] != '-' || id[13] != '-'
            || tt_parse_date(date, &day) != 0 || tt_parse_time_id(id + 9) < 0)
            rc = util_fail(jd->err, jd->errlen, "%s.session: \"%s\" is not a session id (20261130-0930-venue-kind)",
                           where, id);
        else
            tt->ncapacities++;
    }
    const void **items = tt_items(tt->capacities, tt->ncapacities, sizeof *tt->capacities);
    int twin = tt_first_twin(items, (size_t)tt->ncapacities, tt->capacities, sizeof *tt->capacities,
                             tt_cmp_capacity, tt_capacity_order);
    free(items);
    if (twin >= 0)
        return util_fail(jd->err, jd->errlen, "capacities[%d].session: \"%s\" is given twice", twin,
                         tt->capacities[twin].session);
    return rc;
}

/* Each slot and one-off remembers the line of its kind (in the order of the
 * file: slots, then one-offs): the nth slot of a kind has the line of the nth
 * "kind": "<kind>" of the text. One pass over the text records every such
 * line; slots and lines are then paired kind by kind, after a sort. */
typedef struct {
    const char *v; /* the value, up to its closing quote */
    size_t len;
    int line;
} tt_kind_at_t;

static int tt_kind_at_order(const void *a, const void *b)
{
    const tt_kind_at_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->v, y->v, n);
    if (c == 0)
        c = (x->len > y->len) - (x->len < y->len);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int tt_slot_kind_order(const void *a, const void *b)
{
    int c = strcmp((*(const tt_slot_t *const *)a)->kind, (*(const tt_slot_t *const *)b)->kind);
    return c != 0 ? c : (*(const tt_slot_t *const *)a)->line - (*(const tt_slot_t *const *)b)->line;
}

static void tt_set_lines(const char *text, timetable_t *tt)
{
    size_t cap = 64, m = 0;
    tt_kind_at_t *at = xmalloc(cap * sizeof *at);
    int line = 1;
    const char *counted = text;
    for (const char *p = text; (p = strstr(p, "\"kind\"")) != NULL;) {
        const char *v = p + 6;
        v += strspn(v, " \t\r\n");
        if (*v == ':')
            v += 1 + strspn(v + 1, " \t\r\n");
        if (*v == '"') {
            for (; counted < p; counted++)
                line += *counted == '\n';
            const char *end = strchr(v + 1, '"');
            if (m == cap)
                at = xrealloc(at, (cap *= 2) * sizeof *at);
            at[m++] = (tt_kind_at_t){ v + 1, end ? (size_t)(end - v - 1) : strlen(v + 1), line };
        }
        p = v;
    }
    qsort(at, m, sizeof *at, tt_kind_at_order); /* by value, then line: the order of the text */
    int n = tt->nslots + tt->none_off;
    const tt_slot_t **s = xmalloc((n > 0 ? (size_t)n : 1) * sizeof *s);
    for (int i = 0; i < n; i++) {
        tt_slot_t *x = i < tt->nslots ? &tt->slots[i] : &tt->one_off[i - tt->nslots];
        x->line = i; /* the file order, for the sort; set for good below */
        s[i] = x;
    }
    qsort(s, (size_t)n, sizeof *s, tt_slot_kind_order);
    size_t a = 0;
    for (int i = 0; i < n; i++) {
        tt_slot_t *x = (tt_slot_t *)s[i];
        tt_kind_at_t key = { x->kind, strlen(x->kind), 0 };
        if (i > 0 && !strcmp(s[i - 1]->kind, x->kind))
            ; /* the next line of the same kind */
        else
            while (a < m && tt_kind_at_order(&at[a], &key) < 0) /* the first of the kind */
                a++;
        int same = a < m && at[a].len == key.len && !memcmp(at[a].v, key.v, key.len);
        x->line = same ? at[a++].line : 0;
    }
    free(s);
    free(at);
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
    tt_index_rest(tt);
    tt_set_lines(json_text, tt);
    rc = 0;
done:
    json_object_put(root);
    if (rc != 0)
        timetable_free(tt);
    return rc;
}

int timetable_load(const char *path, timetable_t *out, char *err, size_t errlen)
{
    char reason[400];
    char *text = jsondoc_read_max(path, TT_MAX_FILE, reason, sizeof reason);
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
    return tt_venue_lookup(tt, id);
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
    return tt_holiday_listed(tt, day);
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
    if (tt_is_holiday(tt, day) || tt_closed(tt, s->venue, day))
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
    int own = tt_capacity_of(tt, out->id);
    out->capacity = own > 0 ? own : s->capacity;
    snprintf(out->half_day, sizeof out->half_day, "%s-%s", tt_day_names[cal_weekday(day)],
             s->start_min < 12 * 60 ? "am" : "pm");
    cal_format_date(day, out->local_date);
    snprintf(out->local_start, sizeof out->local_start, "%02u:%02u", hh, mm);
    out->trainer_absent = tt_absent(tt, s->trainer, day);
    return 1;
}

static int tt_session_cmp(const void *a, const void *b)
{
    const tt_session_t *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    int c = strcmp(x->venue, y->venue);
    return c != 0 ? c : strcmp(x->id, y->id);
}

/* Sessions made, in an array grown as needed. */
typedef struct {
    tt_session_t *v;
    int n, cap;
} tt_made_t;

static void tt_push(tt_made_t *m, const tt_session_t *s)
{
    if (m->n == m->cap) {
        m->cap = m->cap < 64 ? 64 : m->cap * 2;
        m->v = xrealloc(m->v, (size_t)m->cap * sizeof *m->v);
    }
    m->v[m->n++] = *s;
}

static void tt_push_if(const timetable_t *tt, const tt_slot_t *slot, int32_t day, int64_t from_ms, int64_t to_ms,
                       tt_made_t *m)
{
    tt_session_t s;
    if (tt_make(tt, slot, day, &s) && s.start_ms >= from_ms && s.start_ms < to_ms)
        tt_push(m, &s);
}

/* The sessions of [from_ms, to_ms) into m, day by day, until at least max
 * are made (max < 0: all of them). Each local day's are sorted; a day's all
 * start before the next day's (a local day is a span of time, and sessions
 * end by midnight): the whole is in order, in O(k log k) for k sessions,
 * each day's slots and one-offs found through the indexes. */
static void tt_generate(const timetable_t *tt, int64_t from_ms, int64_t to_ms, int max, tt_made_t *m)
{
    /* the local days the window touches, one more on each side: a local day
     * is never more than a day away from the UTC one */
    int32_t first = tt_local_day(tt, from_ms) - 1, last = tt_local_day(tt, to_ms) + 1;
    int32_t lo = cal_days_from_civil(TT_YEAR_MIN, 1, 1), hi = cal_days_from_civil(TT_YEAR_MAX, 12, 31);
    first = first < lo ? lo : first; /* the calendar of the file, and of timetable_find() */
    last = last > hi ? hi : last;
    if (tt->nslots == 0) { /* only one-offs: no need to walk past the last */
        if (tt->none_off == 0)
            return;
        int32_t d0 = tt->one_off_by_date[0]->date, d1 = tt->one_off_by_date[tt->none_off - 1]->date;
        first = first > d0 ? first : d0;
        last = last < d1 ? last : d1;
    }
    for (int32_t day = first; day <= last && (max < 0 || m->n < max); day++) {
        int at = m->n, wday = cal_weekday(day), o0, o1;
        for (int i = tt->wday_at[wday]; i < tt->wday_at[wday + 1]; i++)
            tt_push_if(tt, tt->slot_by_day[i], day, from_ms, to_ms, m);
        tt_one_off_range(tt, day, &o0, &o1);
        for (int i = o0; i < o1; i++)
            tt_push_if(tt, tt->one_off_by_date[i], day, from_ms, to_ms, m);
        if (m->n - at > 1)
            qsort(m->v + at, (size_t)(m->n - at), sizeof *m->v, tt_session_cmp);
    }
}

int timetable_sessions(const timetable_t *tt, int64_t from_ms, int64_t to_ms, tt_session_t *out, int max)
{
    if (!tt || !out || max <= 0 || from_ms >= to_ms)
        return 0;
    tt_made_t m = { 0 };
    tt_generate(tt, from_ms, to_ms, max, &m);
    int n = m.n < max ? m.n : max;
    if (n > 0)
        memcpy(out, m.v, (size_t)n * sizeof *out);
    free(m.v);
    return n;
}

int timetable_sessions_all(const timetable_t *tt, int64_t from_ms, int64_t to_ms, tt_session_t **out, int *cap)
{
    if (!tt || !out || !cap || from_ms >= to_ms)
        return 0;
    tt_made_t m = { *out, 0, *out ? *cap : 0 };
    tt_generate(tt, from_ms, to_ms, -1, &m);
    *out = m.v;
    *cap = m.cap;
    return m.n;
}

int timetable_find(const timetable_t *tt, const char *id, tt_session_t *out)
{
    /* "YYYYMMDD-HHMM-<venue>-<kind>": the date says which day to generate,
     * the time and the venue which slot (a venue id may hold '-': each
     * split is tried, at most a few) */
    if (!tt || !id || strlen(id) < 15 || strlen(id) >= TT_ID || id[8] != '-' || id[13] != '-')
        return -1;
    char date[11];
    snprintf(date, sizeof date, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
    int32_t day;
    int start = tt_parse_time_id(id + 9);
    if (tt_parse_date(date, &day) != 0 || start < 0)
        return -1;
    const char *rest = id + 14;
    for (const char *dash = strchr(rest, '-'); dash && dash - rest <= TT_VENUE_ID_MAX; dash = strchr(dash + 1, '-')) {
        char venue[TT_CODE];
        snprintf(venue, sizeof venue, "%.*s", (int)(dash - rest), rest);
        const tt_slot_t *c[2] = { tt_slot_lookup(tt, cal_weekday(day), venue, start),
                                  tt_one_off_lookup(tt, day, venue, start) };
        tt_session_t s;
        for (int i = 0; i < 2; i++)
            if (c[i] && !strcmp(c[i]->kind, dash + 1) && tt_make(tt, c[i], day, &s) && !strcmp(s.id, id)) {
                *out = s;
                return 0;
            }
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
