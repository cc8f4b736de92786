/* timetable's own: the indexes of a loaded timetable (timetable_index.c),
 * shared by the loader and the session maker (timetable.c). */
#ifndef TP_TIMETABLE_INT_H
#define TP_TIMETABLE_INT_H

#include "timetable.h"

/* The indexes, each built once its arrays are final (the loader checks
 * the later parts of the file against the earlier ones through them). */
void tt_index_venues(timetable_t *tt);
void tt_index_slots(timetable_t *tt);   /* slot_by_day, wday_at */
void tt_index_one_offs(timetable_t *tt);
void tt_index_rest(timetable_t *tt);    /* capacities, holidays, closures, absences */

/* An array of n pointers to the items of base, of size bytes (the caller frees). */
const void **tt_items(const void *base, int n, size_t size);

/* Order of two pointers to venues (by id), to capacities (by session id). */
int tt_cmp_venue(const void *a, const void *b);
int tt_cmp_capacity(const void *a, const void *b);
/* Order of two slots of a group: (wday or date, venue, start). */
int tt_slot_cmp_day(const void *a, const void *b);
int tt_slot_cmp_date(const void *a, const void *b);

/* The venue with this id, through venue_by_id; NULL if none. */
const tt_venue_t *tt_venue_lookup(const timetable_t *tt, const char *id);
/* The weekly slot of (wday, venue, start), the one-off of (date, venue,
 * start); NULL if none. */
const tt_slot_t *tt_slot_lookup(const timetable_t *tt, int wday, const char *venue, int start_min);
const tt_slot_t *tt_one_off_lookup(const timetable_t *tt, int32_t date, const char *venue, int start_min);
/* one_off_by_date[*lo .. *hi) are the one-offs of date. */
void tt_one_off_range(const timetable_t *tt, int32_t date, int *lo, int *hi);
/* The capacity given for this session id, or -1. */
int tt_capacity_of(const timetable_t *tt, const char *session_id);
/* 1 if day is one of the file's "holidays". */
int tt_holiday_listed(const timetable_t *tt, int32_t day);
/* 1 if a closure of venue (or of every venue) covers day; 1 if an absence
 * of trainer does. O(log n) and the closures of that venue (absences of
 * that trainer) starting by day. */
int tt_closed(const timetable_t *tt, const char *venue, int32_t day);
int tt_absent(const timetable_t *tt, const char *trainer, int32_t day);

/* The first item, in file order, among n that equals an earlier one under
 * cmp (items are pointers into base, of items of size bytes; sorted in place
 * by order: cmp, then tt_by_address): its index, or -1. O(n log n). */
int tt_first_twin(const void **items, size_t n, const void *base, size_t size,
                  int (*cmp)(const void *, const void *), int (*order)(const void *, const void *));
int tt_by_address(const void *a, const void *b);

#endif
