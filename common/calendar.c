#include "calendar.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

struct cal_zone {
    GTimeZone *tz;
    char name[64];
};

int32_t cal_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void cal_civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int cal_weekday(int32_t days)
{
    int w = (int)((days + 4) % 7);
    return w < 0 ? w + 7 : w;
}

int cal_days_in_month(int y, int m)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : len[m - 1];
}

static int cal_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int cal_parse_date(const char *s, int year_min, int year_max, int32_t *days)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int y = cal_digits(s, 4), m = cal_digits(s + 5, 2), d = cal_digits(s + 8, 2);
    if (y < year_min || y > year_max || m < 1 || m > 12 || d < 1 || d > cal_days_in_month(y, m))
        return -1;
    *days = cal_days_from_civil(y, m, d);
    return 0;
}

void cal_format_date(int32_t days, char out[11])
{
    int y, m, d;
    cal_civil_from_days(days, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

int32_t cal_easter(int year)
{
    int a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4;
    int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
    return cal_days_from_civil(year, month, day);
}

#define CAL_MAX_ZONES 8

static cal_zone_t cal_zones[CAL_MAX_ZONES];
static int cal_nzones;

const cal_zone_t *cal_zone(const char *name)
{
    if (!name || !*name || strlen(name) >= sizeof cal_zones[0].name)
        return NULL;
    for (int i = 0; i < cal_nzones; i++)
        if (!strcmp(cal_zones[i].name, name))
            return &cal_zones[i];
    if (cal_nzones == CAL_MAX_ZONES)
        return NULL;
    /* g_time_zone_new_identifier: NULL for a name the database lacks (the
     * older g_time_zone_new silently gave UTC) */
    GTimeZone *tz = g_time_zone_new_identifier(name);
    if (!tz)
        return NULL;
    cal_zone_t *z = &cal_zones[cal_nzones++];
    z->tz = tz;
    util_strlcpy(z->name, name, sizeof z->name);
    return z;
}

const char *cal_zone_name(const cal_zone_t *zone) { return zone->name; }

#define CAL_MIN_S (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define CAL_MAX_S 253402300799LL   /* 9999-12-31T23:59:59Z */

static int64_t cal_floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

void cal_to_local(const cal_zone_t *zone, int64_t utc_ms, cal_local_t *out)
{
    /* instants are taken within years 1..9999, so that any int64 (a window
     * "over all time") gives a date that fits */
    gint64 t = cal_floor_div(utc_ms, 1000);
    t = t < CAL_MIN_S ? CAL_MIN_S : t > CAL_MAX_S ? CAL_MAX_S : t;
    /* the interval (a span with one offset) the instant falls in: no
     * allocation, unlike a GDateTime */
    gint interval = g_time_zone_find_interval(zone->tz, G_TIME_TYPE_UNIVERSAL, t);
    gint32 offset = interval >= 0 ? g_time_zone_get_offset(zone->tz, interval) : 0;
    int64_t local = t + offset;
    out->days = (int32_t)cal_floor_div(local, 86400);
    int64_t s = local - (int64_t)out->days * 86400;
    out->minute = (int)(s / 60);
    out->second = (int)(s % 60);
    out->weekday = cal_weekday(out->days);
    out->offset_min = offset / 60;
}

int64_t cal_from_local(const cal_zone_t *zone, int32_t days, int minute)
{
    gint64 local = (gint64)days * 86400 + (gint64)minute * 60, adjusted = local;
    /* adjust_time moves a time of the gap forward and picks an interval for
     * it; in an overlap, asking for daylight time gives the first of the two */
    gint interval = g_time_zone_adjust_time(zone->tz, G_TIME_TYPE_DAYLIGHT, &adjusted);
    gint32 offset = g_time_zone_get_offset(zone->tz, interval);
    return (adjusted - offset) * 1000;
}
