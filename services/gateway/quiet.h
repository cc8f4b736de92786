/* quiet — when a message may go.
 *
 * Nobody is sent a message at night or on a closed day (by default between
 * 20:00 and 08:30 local time, and on Sunday: [gateway] quiet_from,
 * quiet_until, closed_days): a message due then is held until the next
 * allowed moment — a Saturday 21:00 one goes on Monday at 08:30. A message
 * about a session is never sent once the session has started, nor an offer
 * once its deadline has passed: it is dropped, with the reason. The reminder
 * is due two calendar days before the session, at the same local time (not
 * 48 hours: across a change of clocks the wall time is what people read).
 *
 * Pure functions of UTC milliseconds (business time: the caller passes
 * clock_now_ms()) and the venues' zone (clock_zone()). */
#ifndef TP_QUIET_H
#define TP_QUIET_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

typedef struct {
    int from_min;         /* local minutes after midnight: quiet from (20:00 = 1200) */
    int until_min;        /* to (08:30 = 510); from == until: no quiet hours */
    unsigned closed_days; /* bit d set: no message on weekday d (0 = Sunday) */
} quiet_rules_t;

#define QUIET_DEFAULT_FROM "20:00"
#define QUIET_DEFAULT_UNTIL "08:30"
#define QUIET_DEFAULT_CLOSED "sun"

/* The rules from their configured text: "HH:MM" twice, and a comma list of
 * mon … sun ("" = none). 0, or -1 with the reason in err. */
int quiet_rules_parse(const char *from, const char *until, const char *closed_days, quiet_rules_t *out, char *err,
                      size_t errlen);

/* 1 when a message may go at ms. */
int quiet_allowed(const quiet_rules_t *r, const cal_zone_t *zone, int64_t ms);

/* ms itself when allowed, else the first allowed moment after it (within
 * the next eight days: a week closed every day has none, and gives -1). */
int64_t quiet_next_allowed(const quiet_rules_t *r, const cal_zone_t *zone, int64_t ms);

/* The moment the reminder of a session starting at start_ms is due: days
 * before, at the same local time. */
int64_t quiet_reminder_due(const cal_zone_t *zone, int64_t start_ms, int days);

typedef enum { QUIET_SEND, QUIET_HOLD, QUIET_DROP } quiet_verdict_t;

typedef struct {
    quiet_verdict_t verdict;
    int64_t at_ms;      /* SEND: now; HOLD: when it may go; DROP: 0 */
    const char *reason; /* HOLD: "not_due", "quiet_hours", "closed_day"; DROP: "session_started",
                           "deadline_passed", "too_late" (it could go only once the session has
                           started or the deadline passed), "no_allowed_time"; SEND: "" */
} quiet_decision_t;

/* What to do at now with a message due at due_ms (0: now), about a session
 * starting at start_ms (0: none, e.g. a survey) with a deadline (0: none,
 * an offer's otherwise). */
void quiet_decide(const quiet_rules_t *r, const cal_zone_t *zone, int64_t now_ms, int64_t due_ms, int64_t start_ms,
                  int64_t deadline_ms, quiet_decision_t *out);

#endif
