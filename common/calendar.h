/* calendar — civil dates, and the local time of a place, computed without
 * the process-global TZ.
 *
 * Civil dates are days since 1970-01-01 in the proleptic Gregorian calendar
 * (no time zone: a date as written in a file). A zone converts between UTC
 * instants and local wall time through the system tz database, read by
 * GLib's GTimeZone: nothing calls setenv("TZ") or tzset(), which are not
 * safe while other threads (CZMQ's zauth) run, and two zones can be used at
 * once. */
#ifndef TP_CALENDAR_H
#define TP_CALENDAR_H

#include <stdint.h>

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's
 * algorithms). */
int32_t cal_days_from_civil(int y, int m, int d);
void cal_civil_from_days(int32_t days, int *y, int *m, int *d);
/* 0 = Sunday .. 6 = Saturday (1970-01-01 was a Thursday). */
int cal_weekday(int32_t days);
int cal_days_in_month(int y, int m);
/* "YYYY-MM-DD" to days; -1 if it is not a date of years [year_min, year_max]. */
int cal_parse_date(const char *s, int year_min, int year_max, int32_t *days);
/* "YYYY-MM-DD" (out: 11 bytes). */
void cal_format_date(int32_t days, char out[11]);
/* Easter Sunday of year (anonymous Gregorian algorithm), as days. */
int32_t cal_easter(int year);

typedef struct cal_zone cal_zone_t;

/* A zone of the tz database ("Europe/Paris"), or NULL when the name is not
 * one it knows (glibc's TZ would silently give UTC). Zones are opened once
 * and kept for the life of the process (a service uses one or two); call
 * from the main thread. */
const cal_zone_t *cal_zone(const char *name);
const char *cal_zone_name(const cal_zone_t *zone);

typedef struct {
    int32_t days;    /* the local civil date */
    int minute;      /* minutes since local midnight */
    int second;      /* 0..59 */
    int weekday;     /* 0 = Sunday */
    int offset_min;  /* local - UTC, in minutes (+60 in Paris in winter) */
} cal_local_t;

/* The local wall time of an instant (taken within years 1 to 9999). */
void cal_to_local(const cal_zone_t *zone, int64_t utc_ms, cal_local_t *out);
/* The instant of a local date and time. A time that does not exist (in the
 * hour skipped when clocks go forward) is moved forward past the gap; one
 * that happens twice (when clocks go back) is the first of the two. */
int64_t cal_from_local(const cal_zone_t *zone, int32_t days, int minute);

#endif
