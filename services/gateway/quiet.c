#include "gateway/quiet.h"

#include <string.h>

#include "util.h"

#define QUIET_DAY_MIN (24 * 60)

static const char *const quiet_day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* "H:MM" or "HH:MM", 0:00 to 23:59 */
static int quiet_hhmm(const char *s, int *out)
{
    size_t len = strlen(s);
    if (len < 4 || len > 5 || s[len - 3] != ':')
        return -1;
    int h = 0;
    for (size_t i = 0; i < len - 3; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        h = h * 10 + (s[i] - '0');
    }
    const char *mm = s + len - 2;
    if (mm[0] < '0' || mm[0] > '5' || mm[1] < '0' || mm[1] > '9' || h > 23)
        return -1;
    *out = h * 60 + (mm[0] - '0') * 10 + (mm[1] - '0');
    return 0;
}

int quiet_rules_parse(const char *from, const char *until, const char *closed_days, quiet_rules_t *out, char *err,
                      size_t errlen)
{
    quiet_rules_t r = { 0 };
    if (quiet_hhmm(from, &r.from_min) != 0)
        return util_fail(err, errlen, "quiet_from: \"%s\" is not a time HH:MM", from);
    if (quiet_hhmm(until, &r.until_min) != 0)
        return util_fail(err, errlen, "quiet_until: \"%s\" is not a time HH:MM", until);
    char list[64], *days[8];
    if (util_strlcpy(list, closed_days, sizeof list) != 0)
        return util_fail(err, errlen, "closed_days: too long");
    int n = util_split_list(list, days, 8);
    for (int i = 0; i < n; i++) {
        int d = 0;
        while (d < 7 && strcmp(days[i], quiet_day_names[d]) != 0)
            d++;
        if (d == 7)
            return util_fail(err, errlen, "closed_days: \"%s\" is not one of sun, mon, tue, wed, thu, fri, sat",
                             days[i]);
        r.closed_days |= 1u << d;
    }
    *out = r;
    return 0;
}

/* The first allowed minute of a day from minute m on, or -1 when the rest of
 * the day is quiet. Quiet hours from 20:00 to 08:30 span midnight; from
 * 12:00 to 14:00 they would not. */
static int quiet_first_minute(const quiet_rules_t *r, int m)
{
    int f = r->from_min, u = r->until_min;
    if (f == u)
        return m;
    if (f > u)
        return m < u ? u : m < f ? m : -1;
    return m < f || m >= u ? m : u;
}

static int quiet_closed(const quiet_rules_t *r, int32_t days) { return (r->closed_days >> cal_weekday(days)) & 1u; }

int quiet_allowed(const quiet_rules_t *r, const cal_zone_t *zone, int64_t ms)
{
    cal_local_t l;
    cal_to_local(zone, ms, &l);
    return !quiet_closed(r, l.days) && quiet_first_minute(r, l.minute) == l.minute;
}

int64_t quiet_next_allowed(const quiet_rules_t *r, const cal_zone_t *zone, int64_t ms)
{
    cal_local_t l;
    cal_to_local(zone, ms, &l);
    int m = l.minute;
    for (int32_t day = l.days; day <= l.days + 7; day++, m = 0) {
        int first = quiet_closed(r, day) ? -1 : quiet_first_minute(r, m);
        if (first < 0)
            continue;
        if (day == l.days && first == l.minute)
            return ms;
        return cal_from_local(zone, day, first);
    }
    return -1;
}

int64_t quiet_reminder_due(const cal_zone_t *zone, int64_t start_ms, int days)
{
    cal_local_t l;
    cal_to_local(zone, start_ms, &l);
    int64_t sub_minute = (int64_t)l.second * 1000 + ((start_ms % 1000) + 1000) % 1000;
    return cal_from_local(zone, l.days - days, l.minute) + sub_minute;
}

static quiet_decision_t quiet_verdict(quiet_verdict_t v, int64_t at, const char *reason)
{
    return (quiet_decision_t){ v, at, reason };
}

static quiet_decision_t quiet_decision(const quiet_rules_t *r, const cal_zone_t *zone, int64_t now_ms,
                                       int64_t due_ms, int64_t start_ms, int64_t deadline_ms)
{
    if (start_ms > 0 && now_ms >= start_ms)
        return quiet_verdict(QUIET_DROP, 0, "session_started");
    if (deadline_ms > 0 && now_ms >= deadline_ms)
        return quiet_verdict(QUIET_DROP, 0, "deadline_passed");
    int64_t from = due_ms > now_ms ? due_ms : now_ms;
    int64_t at = quiet_next_allowed(r, zone, from);
    if (at < 0)
        return quiet_verdict(QUIET_DROP, 0, "no_allowed_time");
    /* held past the start or the deadline, it would say something no longer
     * true: better nothing */
    if ((start_ms > 0 && at >= start_ms) || (deadline_ms > 0 && at >= deadline_ms))
        return quiet_verdict(QUIET_DROP, 0, "too_late");
    if (at == now_ms)
        return quiet_verdict(QUIET_SEND, at, "");
    if (at == from)
        return quiet_verdict(QUIET_HOLD, at, "not_due");
    cal_local_t l;
    cal_to_local(zone, from, &l);
    return quiet_verdict(QUIET_HOLD, at, quiet_closed(r, l.days) ? "closed_day" : "quiet_hours");
}

void quiet_decide(const quiet_rules_t *r, const cal_zone_t *zone, int64_t now_ms, int64_t due_ms, int64_t start_ms,
                  int64_t deadline_ms, quiet_decision_t *out)
{
    *out = quiet_decision(r, zone, now_ms, due_ms, start_ms, deadline_ms);
}
