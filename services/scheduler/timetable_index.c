/* The indexes of a loaded timetable: sorted arrays of pointers into its own
 * arrays, so that finding a venue, the slot of a session id, the one-offs
 * of a date, a session's own capacity or a listed holiday is a binary
 * search, whatever the size of the file (a national network has thousands
 * of slots). Built once per load; freed by timetable_free. */
#include <stdlib.h>
#include <string.h>

#include "timetable_int.h"
#include "util.h"

int tt_cmp_venue(const void *a, const void *b)
{
    return strcmp((*(const tt_venue_t *const *)a)->id, (*(const tt_venue_t *const *)b)->id);
}

static int tt_cmp_int(int a, int b) { return (a > b) - (a < b); }

static int tt_slot_cmp(const tt_slot_t *x, const tt_slot_t *y, int by_date)
{
    int c = by_date ? tt_cmp_int(x->date, y->date) : tt_cmp_int(x->wday, y->wday);
    if (c == 0)
        c = strcmp(x->venue, y->venue);
    return c != 0 ? c : tt_cmp_int(x->start_min, y->start_min);
}

int tt_slot_cmp_day(const void *a, const void *b)
{
    return tt_slot_cmp(*(const tt_slot_t *const *)a, *(const tt_slot_t *const *)b, 0);
}

int tt_slot_cmp_date(const void *a, const void *b)
{
    return tt_slot_cmp(*(const tt_slot_t *const *)a, *(const tt_slot_t *const *)b, 1);
}

int tt_cmp_capacity(const void *a, const void *b)
{
    return strcmp((*(const tt_capacity_t *const *)a)->session, (*(const tt_capacity_t *const *)b)->session);
}

static int tt_cmp_day(const void *a, const void *b) { return tt_cmp_int(*(const int32_t *)a, *(const int32_t *)b); }

const void **tt_items(const void *base, int n, size_t size)
{
    const void **v = xmalloc((n > 0 ? (size_t)n : 1) * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = (const char *)base + (size_t)i * size;
    return v;
}

static int tt_cmp_closure(const void *a, const void *b)
{
    const tt_closure_t *x = *(const tt_closure_t *const *)a, *y = *(const tt_closure_t *const *)b;
    int c = strcmp(x->venue, y->venue);
    return c != 0 ? c : tt_cmp_int(x->from, y->from);
}

static int tt_cmp_absence(const void *a, const void *b)
{
    const tt_absence_t *x = *(const tt_absence_t *const *)a, *y = *(const tt_absence_t *const *)b;
    int c = strcmp(x->trainer, y->trainer);
    return c != 0 ? c : tt_cmp_int(x->from, y->from);
}

/* An array of n pointers to the items of base (of size bytes), sorted. */
static void *tt_order(const void *base, int n, size_t size, int (*cmp)(const void *, const void *))
{
    const void **v = tt_items(base, n, size);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, cmp);
    return v;
}

void tt_index_venues(timetable_t *tt)
{
    free(tt->venue_by_id);
    tt->venue_by_id = tt_order(tt->venues, tt->nvenues, sizeof *tt->venues, tt_cmp_venue);
}

void tt_index_slots(timetable_t *tt)
{
    free(tt->slot_by_day);
    tt->slot_by_day = tt_order(tt->slots, tt->nslots, sizeof *tt->slots, tt_slot_cmp_day);
    int i = 0;
    for (int d = 0; d < 8; d++) {
        while (i < tt->nslots && tt->slot_by_day[i]->wday < d)
            i++;
        tt->wday_at[d] = i;
    }
}

void tt_index_one_offs(timetable_t *tt)
{
    free(tt->one_off_by_date);
    tt->one_off_by_date = tt_order(tt->one_off, tt->none_off, sizeof *tt->one_off, tt_slot_cmp_date);
}

void tt_index_rest(timetable_t *tt)
{
    free(tt->capacity_by_id);
    tt->capacity_by_id = tt_order(tt->capacities, tt->ncapacities, sizeof *tt->capacities, tt_cmp_capacity);
    free(tt->holiday_sorted);
    tt->holiday_sorted = xmalloc((tt->nholidays > 0 ? (size_t)tt->nholidays : 1) * sizeof *tt->holiday_sorted);
    if (tt->nholidays > 0)
        memcpy(tt->holiday_sorted, tt->holidays, (size_t)tt->nholidays * sizeof *tt->holidays);
    qsort(tt->holiday_sorted, (size_t)tt->nholidays, sizeof *tt->holiday_sorted, tt_cmp_day);
    free(tt->closure_by_venue);
    tt->closure_by_venue = tt_order(tt->closures, tt->nclosures, sizeof *tt->closures, tt_cmp_closure);
    free(tt->absence_by_trainer);
    tt->absence_by_trainer = tt_order(tt->absences, tt->nabsences, sizeof *tt->absences, tt_cmp_absence);
}

void timetable_free(timetable_t *tt)
{
    if (!tt)
        return;
    free(tt->venues);
    free(tt->slots);
    free(tt->one_off);
    free(tt->holidays);
    free(tt->closures);
    free(tt->absences);
    free(tt->capacities);
    free(tt->venue_by_id);
    free(tt->slot_by_day);
    free(tt->one_off_by_date);
    free(tt->capacity_by_id);
    free(tt->holiday_sorted);
    free(tt->closure_by_venue);
    free(tt->absence_by_trainer);
    memset(tt, 0, sizeof *tt);
}

const tt_venue_t *tt_venue_lookup(const timetable_t *tt, const char *id)
{
    if (!tt->venue_by_id)
        return NULL;
    tt_venue_t key;
    util_strlcpy(key.id, id, sizeof key.id);
    const tt_venue_t *k = &key, *const *hit = bsearch(&k, tt->venue_by_id, (size_t)tt->nvenues, sizeof k, tt_cmp_venue);
    return hit ? *hit : NULL;
}

static const tt_slot_t *tt_find_slot(const tt_slot_t *const *v, int n, int wday, int32_t date, const char *venue,
                                     int start_min, int (*cmp)(const void *, const void *))
{
    if (!v)
        return NULL;
    tt_slot_t key;
    key.wday = wday;
    key.date = date;
    key.start_min = start_min;
    util_strlcpy(key.venue, venue, sizeof key.venue);
    const tt_slot_t *k = &key, *const *hit = bsearch(&k, v, (size_t)n, sizeof k, cmp);
    return hit ? *hit : NULL;
}

const tt_slot_t *tt_slot_lookup(const timetable_t *tt, int wday, const char *venue, int start_min)
{
    return tt_find_slot(tt->slot_by_day, tt->nslots, wday, -1, venue, start_min, tt_slot_cmp_day);
}

const tt_slot_t *tt_one_off_lookup(const timetable_t *tt, int32_t date, const char *venue, int start_min)
{
    return tt_find_slot(tt->one_off_by_date, tt->none_off, 0, date, venue, start_min, tt_slot_cmp_date);
}

/* The first of one_off_by_date whose date is at least date. */
static int tt_one_off_from(const timetable_t *tt, int32_t date)
{
    int lo = 0, hi = tt->none_off;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (tt->one_off_by_date[mid]->date < date)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void tt_one_off_range(const timetable_t *tt, int32_t date, int *lo, int *hi)
{
    *lo = tt->one_off_by_date ? tt_one_off_from(tt, date) : 0;
    *hi = tt->one_off_by_date ? tt_one_off_from(tt, date + 1) : 0;
}

int tt_capacity_of(const timetable_t *tt, const char *session_id)
{
    if (!tt->capacity_by_id || tt->ncapacities == 0)
        return -1;
    tt_capacity_t key;
    util_strlcpy(key.session, session_id, sizeof key.session);
    const tt_capacity_t *k = &key,
                        *const *hit = bsearch(&k, tt->capacity_by_id, (size_t)tt->ncapacities, sizeof k, tt_cmp_capacity);
    return hit ? (*hit)->capacity : -1;
}

int tt_holiday_listed(const timetable_t *tt, int32_t day)
{
    return tt->nholidays > 0 && tt->holiday_sorted
        && bsearch(&day, tt->holiday_sorted, (size_t)tt->nholidays, sizeof day, tt_cmp_day) != NULL;
}

int tt_by_address(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return (x > y) - (x < y);
}

int tt_first_twin(const void **items, size_t n, const void *base, size_t size,
                  int (*cmp)(const void *, const void *), int (*order)(const void *, const void *))
{
    if (n < 2)
        return -1;
    qsort(items, n, sizeof *items, order);
    long first = -1;
    for (size_t i = 1; i < n; i++)
        if (cmp(&items[i - 1], &items[i]) == 0) {
            long at = (long)(((const char *)items[i] - (const char *)base) / (long)size);
            /* items[i] is the second of its run only if the one before starts it */
            if ((i < 2 || cmp(&items[i - 2], &items[i - 1]) != 0) && (first < 0 || at < first))
                first = at;
        }
    return (int)first;
}

/* The first of v[0..n) (sorted by name, then from) whose name is at least
 * name. */
static int tt_first_named(const void *const *v, int n, const char *name, const char *(*name_of)(const void *))
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(name_of(v[mid]), name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const char *tt_closure_venue(const void *c) { return ((const tt_closure_t *)c)->venue; }
static const char *tt_absence_trainer(const void *a) { return ((const tt_absence_t *)a)->trainer; }

/* 1 if one of the spans of name in v, from its first, covers day (they are
 * by from: the scan stops at the first starting after day). */
static int tt_covered(const void *const *v, int n, const char *name, int32_t day,
                      const char *(*name_of)(const void *), void (*span_of)(const void *, int32_t *, int32_t *))
{
    if (!v)
        return 0;
    for (int i = tt_first_named(v, n, name, name_of); i < n && !strcmp(name_of(v[i]), name); i++) {
        int32_t from, to;
        span_of(v[i], &from, &to);
        if (from > day)
            break;
        if (day <= to)
            return 1;
    }
    return 0;
}

static void tt_closure_span(const void *c, int32_t *from, int32_t *to)
{
    *from = ((const tt_closure_t *)c)->from;
    *to = ((const tt_closure_t *)c)->to;
}

static void tt_absence_span(const void *a, int32_t *from, int32_t *to)
{
    *from = ((const tt_absence_t *)a)->from;
    *to = ((const tt_absence_t *)a)->to;
}

int tt_closed(const timetable_t *tt, const char *venue, int32_t day)
{
    const void *const *v = (const void *const *)tt->closure_by_venue;
    return tt_covered(v, tt->nclosures, "", day, tt_closure_venue, tt_closure_span)
        || tt_covered(v, tt->nclosures, venue, day, tt_closure_venue, tt_closure_span);
}

int tt_absent(const timetable_t *tt, const char *trainer, int32_t day)
{
    return tt_covered((const void *const *)tt->absence_by_trainer, tt->nabsences, trainer, day, tt_absence_trainer,
                      tt_absence_span);
}
