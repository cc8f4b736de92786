/* figures — what the reporter reads from Redis: the figures the services
 * keep in their own atomic steps (ARCHITECTURE.md, "Figures come from
 * state"), gathered for one territory and a range of local days into one
 * JSON document, the *aggregate*. Every figure the reporter shows is
 * computed from an aggregate (kpi.c), live or frozen: a closed period is its
 * aggregate stored once (docs/figures.md). Ids and counts only.
 *
 * An aggregate:
 *   { "territory": "42", "from": "2026-11-01", "to": "2026-11-30",
 *     "now_ms": business time it was read at, "closed_ms": (frozen only),
 *     "days": { "2026-11-30": { "intake": {field: n}, "matcher": ..., "scheduler": ...,
 *                               "survey": ..., "gateway": ... } },
 *     "sessions": [ {"id", "day", "kind", "venue", "start", "end", "capacity", "taken",
 *                    "status", "seen", "noshow", "excused"} ],
 *     "waits": [ {"day", "kind", "branch", "partner", "ms"} ],
 *     "current": { field: n },                    (scheduler fig:current)
 *     "outlook": { kind: {"waiting", "sessions", "seats", "taken", "arrivals"} } }
 * Only days with figures are present; fields are as the services write
 * them (docs/figures.md lists them). */
#ifndef TP_FIGURES_H
#define TP_FIGURES_H

#include <json-c/json.h>
#include <stdint.h>

#include "rds.h"

#define FIG_NSERVICES 5
extern const char *const fig_services[FIG_NSERVICES]; /* intake matcher scheduler survey gateway */

#define FIG_OUTLOOK_DAYS 28 /* the capacity outlook looks this far ahead, and back for arrivals */
#define FIG_MAX_DAYS 3700   /* about ten years in one read */

/* Reads the aggregate of territory for the local days [from, to]
 * ("YYYY-MM-DD"), at business time now_ms (sessions held are those started
 * by then; the outlook looks from then). Returns a new object (put it with
 * json_object_put), or NULL with the reason in err (Redis unreachable, a
 * range too long). */
json_object *fig_read(rds_t *rds, const char *territory, const char *from, const char *to, int64_t now_ms, char *err,
                      size_t errlen);

/* The frozen aggregate of a closed period, if there is one (NULL: none, or
 * Redis unreachable: *failed set). */
json_object *fig_read_closed(rds_t *rds, const char *territory, const char *from, const char *to, int *failed);

/* The closed periods of a territory: {"<from>:<to>": closed_ms}; NULL if
 * Redis could not be read. */
json_object *fig_closed_list(rds_t *rds, const char *territory);

/* A field of an object as an integer (0 when absent). */
int64_t fig_int(json_object *o, const char *key);
const char *fig_str(json_object *o, const char *key);

/* Days as "YYYY-MM-DD" strings: 0 and the next day in out, -1 if not a date. */
int fig_next_day(const char *day, char out[11]);
/* 1 when s is a date "YYYY-MM-DD" of years 2000-2199. */
int fig_is_day(const char *s);

#endif
