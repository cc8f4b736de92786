#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
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

void clock_set_timezone(const char *tz)
{
    if (tz && *tz)
        setenv("TZ", tz, 1);
    tzset();
}

void clock_local_day(int64_t ms, char out[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

void clock_local_day_before(int64_t ms, char out[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_mday -= 1; /* mktime normalises the month and year */
    tm.tm_hour = 12;
    tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}
