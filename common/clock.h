/* clock — business time.
 *
 * clock_now_ms() = epoch + (real - start) * speed, from config every service
 * shares, so a demo can run weeks in minutes and tests can move time. Business
 * deadlines use it; transport timeouts use clock_mono_ms(). */
#ifndef TP_CLOCK_H
#define TP_CLOCK_H

#include <stdint.h>

#include "calendar.h"

/* epoch_ms = 0 means business time is real time (start and speed ignored). */
void clock_configure(int64_t epoch_ms, int64_t start_ms, double speed);

int64_t clock_now_ms(void);   /* business UTC ms */
int64_t clock_real_ms(void);  /* wall-clock UTC ms */
int64_t clock_mono_ms(void);  /* monotonic ms, for timeouts */

/* The local time zone of the venues ("Europe/Paris", from the system tz
 * database); local dates and times are computed in it (UTC until set).
 * 0, or -1 when the database does not know the name (nothing changes). */
int clock_set_timezone(const char *tz);
const cal_zone_t *clock_zone(void);
/* The local wall time of ms in that zone. */
void clock_local(int64_t ms, cal_local_t *out);
/* "YYYY-MM-DD" of ms in the local time zone (out: 11 bytes). */
void clock_local_day(int64_t ms, char out[11]);
/* The local day before that of ms (a calendar day: right also after a
 * 23- or 25-hour day). */
void clock_local_day_before(int64_t ms, char out[11]);

/* Pure form of clock_now_ms(), for tests. */
int64_t clock_business_ms(int64_t real_ms, int64_t epoch_ms, int64_t start_ms, double speed);

#endif
