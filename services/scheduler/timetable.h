/* timetable — the workshops of the venues, read from a JSON file
 * (deploy/timetable.json: config, not code; a SIGHUP reloads it), and the pure
 * rule that turns it into dated sessions over a window of time: weekly slots
 * and one-off sessions, minus public holidays (the French ones computed for
 * any year, plus those the file lists) and venue closures, with the
 * sessions of an absent trainer flagged (the scheduler cancels those).
 *
 * The file is written in the venues' local time; the conversion to UTC goes
 * through the system tz database (common/calendar.c, GLib's GTimeZone),
 * without the process-global TZ. */
#ifndef TP_TIMETABLE_H
#define TP_TIMETABLE_H

#include <stddef.h>
#include <stdint.h>

#define TT_CODE 33        /* kind, trainer, venue ids: [a-z0-9_-]{1,32} */
#define TT_VENUE_ID_MAX 16 /* a venue id is at most 16 chars, so a session id fits TT_ID */
#define TT_ID 64          /* "<YYYYMMDD>-<HHMM>-<venue>-<kind>", at most 63 chars */
#define TT_HALF_DAY 8     /* "mon-am" … "sat-pm" */
/* No count of venues, slots, one-offs, holidays, closures, absences or
 * capacities is bounded: the arrays are sized to the file. What is bounded is
 * a sanity check, not a room size (a typo of 1000 for 100 seats is refused)
 * and the file itself (a national timetable fits; a runaway file does not). */
#define TT_MAX_CAPACITY 10000            /* seats of one session */
#define TT_MAX_FILE (64 * 1024 * 1024)  /* bytes of the file */
#define TT_DEFAULT_DURATION 120 /* minutes */

typedef struct {
    char id[TT_CODE];
    char name_fr[128];
    char address_fr[256];
} tt_venue_t;

/* A weekly slot or a one-off session. Dates are days since 1970-01-01 in the
 * civil calendar (no time zone: a date of the file, as written). */
typedef struct {
    int32_t date;     /* one-off: its date; weekly slot: -1 */
    int wday;         /* 0 = sun, 1 = mon … 6 = sat (weekly slots: 1..6) */
    int start_min;    /* local minutes after midnight */
    int duration_min; /* start + duration ends by midnight */
    int capacity;
    char kind[TT_CODE];
    char venue[TT_CODE];
    char trainer[TT_CODE];
    int line; /* of its "kind" in the file, for messages (0: unknown) */
} tt_slot_t;

typedef struct {
    int32_t from, to;   /* inclusive */
    char venue[TT_CODE]; /* "" = every venue */
    char reason_fr[200];
} tt_closure_t;

typedef struct {
    char trainer[TT_CODE];
    int32_t from, to; /* inclusive */
} tt_absence_t;

/* One session's own capacity, in place of its slot's (a smaller room that
 * day, a second trainer): "capacities": [{"session": ID, "capacity": N}]. */
typedef struct {
    char session[TT_ID];
    int capacity;
} tt_capacity_t;

typedef struct {
    char path[256]; /* the file it was loaded from ("" when parsed from text) */
    char version[TT_CODE];
    char timezone[64]; /* a name of the tz database, e.g. "Europe/Paris" */
    int horizon_days;  /* how far ahead the scheduler opens sessions */
    tt_venue_t *venues; /* in the order of the file */
    int nvenues;
    tt_slot_t *slots; /* weekly */
    int nslots;
    tt_slot_t *one_off;
    int none_off;
    int public_holidays; /* "public_holidays": "fr" (1, the default) or "none" (0) */
    int32_t *holidays;   /* more days without sessions, at any venue */
    int nholidays;
    tt_closure_t *closures;
    int nclosures;
    tt_absence_t *absences;
    int nabsences;
    tt_capacity_t *capacities;
    int ncapacities;
    /* indexes made by the load (timetable_index.c), so that every lookup is
     * O(log n) in the size of the file; they point into the arrays above */
    const tt_venue_t **venue_by_id;
    const tt_slot_t **slot_by_day;     /* weekly slots by (wday, venue, start) */
    int wday_at[8];                    /* slot_by_day[wday_at[d] .. wday_at[d + 1]) are day d's */
    const tt_slot_t **one_off_by_date; /* one-offs by (date, venue, start) */
    const tt_capacity_t **capacity_by_id;
    int32_t *holiday_sorted;
    const tt_closure_t **closure_by_venue;  /* by (venue, from): those of every venue ("") first */
    const tt_absence_t **absence_by_trainer; /* by (trainer, from) */
} timetable_t;

/* One dated session. The id is stable across runs and reloads (it is made of
 * the local date and start, the venue and the kind; overlapping sessions at a
 * venue are refused), so regenerating the horizon never duplicates one. */
typedef struct {
    char id[TT_ID];
    int64_t start_ms, end_ms; /* UTC */
    char kind[TT_CODE];
    char venue[TT_CODE];
    char trainer[TT_CODE];
    int capacity;
    char half_day[TT_HALF_DAY]; /* "mon-am" … "sat-pm", local; am if it starts before 12:00 */
    char local_date[11];        /* "YYYY-MM-DD" */
    char local_start[6];        /* "HH:MM" */
    int trainer_absent;         /* the trainer is absent that day: to be cancelled */
} tt_session_t;

/* 0, or -1 with "path: reason" in err (timetable_load: "file: path: reason").
 * out is written whole (whatever it held is not freed: pass a zeroed or
 * freed timetable); on failure it is left empty (timetable_free is harmless).
 * The file is read as common/jsondoc reads every document (whole, at most
 * TT_MAX_FILE here, nothing after the document, no unknown key: keys starting with '_'
 * are comments; types checked, null included). Everything is checked: names
 * of days, times, dates, capacities, codes, known venues and trainers, no
 * overlap at a venue, unique ids, a time zone the system knows. */
int timetable_parse(const char *json_text, timetable_t *out, char *err, size_t errlen);
int timetable_load(const char *path, timetable_t *out, char *err, size_t errlen);
/* Frees what a parse or a load allocated and leaves tt empty (zeroed). */
void timetable_free(timetable_t *tt);

/* The sessions (weekly and one-off) that start in [from_ms, to_ms), ordered
 * by start then venue, without those on a holiday or a closure of their
 * venue. Returns the count: the first max of them (max returned: there may
 * be more). */
int timetable_sessions(const timetable_t *tt, int64_t from_ms, int64_t to_ms, tt_session_t *out, int max);
/* All of them, however many: *out (NULL or malloc'd, *cap sessions) is grown
 * as needed (the caller frees it). Returns the count. The cost is that of the
 * sessions made, plus O(log n) a day. */
int timetable_sessions_all(const timetable_t *tt, int64_t from_ms, int64_t to_ms, tt_session_t **out, int *cap);

/* The session with this id: 0, or -1 if the timetable has none (any more:
 * a holiday or a closure removes it). O(log n). */
int timetable_find(const timetable_t *tt, const char *id, tt_session_t *out);

/* The local half-day ("mon-am" … "sun-pm") of an instant. 0 or -1. */
int timetable_half_day(const timetable_t *tt, int64_t ms, char out[TT_HALF_DAY]);

const tt_venue_t *timetable_venue(const timetable_t *tt, const char *id);

/* The timetable's kinds must be the catalogue's (kinds, nkinds): a misspelt
 * kind would open sessions nobody is ever assigned to and cancel the real
 * ones. 0, or -1 with "file:line: slots[i].kind \"x\" is not a kind of the
 * catalogue (catalogue)" in err. */
int timetable_check_kinds(const timetable_t *tt, const char *const *kinds, int nkinds, const char *catalogue,
                          char *err, size_t errlen);
/* The kinds of the list with no weekly slot and no one-off: people assigned
 * to one wait for good. Writes them space separated to out; returns how many. */
int timetable_unserved_kinds(const timetable_t *tt, const char *const *kinds, int nkinds, char *out, size_t cap);
/* The distinct half-days ("mon-am" … "sun-pm") of its weekly slots and
 * one-offs, the first max of them; returns how many. */
int timetable_half_days(const timetable_t *tt, char out[][TT_HALF_DAY], int max);

/* 1 if a civil date is one of the eleven French public holidays: 1 Jan,
 * Easter Monday, 1 May, 8 May, Ascension, Whit Monday, 14 Jul, 15 Aug,
 * 1 Nov, 11 Nov, 25 Dec (Easter by the anonymous Gregorian algorithm). Pure:
 * any year of the Gregorian calendar. */
int timetable_fr_holiday(int y, int m, int d);

/* 1 if the timetable has no session at all on that date ("YYYY-MM-DD"): a
 * public holiday (when "public_holidays" is "fr") or a listed holiday; 0 if
 * not; -1 if it is not a date. */
int timetable_is_holiday(const timetable_t *tt, const char *date);

#endif
