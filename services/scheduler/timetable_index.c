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
