#include "clock.h"

#include <time.h>

static int64_t clock_epoch_ms;
static int64_t clock_start_ms;
static double clock_speed = 1.0;

void clock_configure(int64_t epoch_ms, int64_t start_ms, double speed)
{
    clock_epoch_ms = epoch_ms;
    clock_start_ms = start_ms;
    clock_speed = speed > 0 ? speed : 1.0;
}

static int64_t clock_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_real_ms(void) { return clock_read(CLOCK_REALTIME); }
int64_t clock_mono_ms(void) { return clock_read(CLOCK_MONOTONIC); }

int64_t clock_business_ms(int64_t real_ms, int64_t epoch_ms, int64_t start_ms, double speed)
{
    if (epoch_ms == 0)
        return real_ms;
    return epoch_ms + (int64_t)((double)(real_ms - start_ms) * speed);
}

int64_t clock_now_ms(void)
{
    return clock_business_ms(clock_real_ms(), clock_epoch_ms, clock_start_ms, clock_speed);
}

/* The venues' zone: local days and times are computed in it, without the
 * process-global TZ (common/calendar.c). UTC until configured. */
static const cal_zone_t *clock_zone_now;

int clock_set_timezone(const char *tz)
{
    const cal_zone_t *z = cal_zone(tz);
    if (!z)
        return -1;
    clock_zone_now = z;
    return 0;
}

const cal_zone_t *clock_zone(void)
{
    if (!clock_zone_now)
        clock_zone_now = cal_zone("UTC");
    return clock_zone_now;
}

void clock_local(int64_t ms, cal_local_t *out) { cal_to_local(clock_zone(), ms, out); }

void clock_local_day(int64_t ms, char out[11])
{
    cal_local_t l;
    clock_local(ms, &l);
    cal_format_date(l.days, out);
}

void clock_local_day_before(int64_t ms, char out[11])
{
    cal_local_t l;
    clock_local(ms, &l);
    cal_format_date(l.days - 1, out);
}
