/* scheduler — turns assignments into seats: timetable, bookings, waitlists,
 * offers, attendance (ARCHITECTURE.md). Shared by the service and the tool. */
#ifndef TP_SCHEDULER_H
#define TP_SCHEDULER_H

#include <stdint.h>

#include "conf.h"
#include "matcher/catalogue.h"
#include "svc.h"
#include "timetable.h"

typedef struct {
    char timetable_path[256];
    char territory[17];       /* whose sessions the timetable holds ("" = the first of bus.territories) */
    int64_t notice_min;       /* no booking into a session starting sooner */
    int64_t cutoff_hours;     /* a person may cancel until this long before the start */
    int64_t offer_hours;      /* an offer holds its seat this long (business time) */
    int64_t noshow_chances;   /* seats offered again after a no-show, before the mediator is told */
    int64_t correct_hours;    /* attendance may be corrected until this long after the end */
    int64_t timer_ms;         /* offer expiry check (real time) */
    int64_t generate_ms;      /* timetable horizon refresh (real time) */
    int64_t lease_ms;         /* the timers' lease: another instance takes over after it */
    int64_t purge_ms;         /* attendance detail past [retention] attendance_days (real time) */
} scheduler_conf_t;

extern const conf_field_t scheduler_conf_fields[];
extern const size_t scheduler_nconf_fields;

#define SCHEDULER_MAX_CLOSING 256

/* A session the timer closed, to be cancelled once the horizon is done. */
typedef struct {
    char id[TT_ID];
    char why[16];  /* trainer_absent | timetable_change */
    char round[16]; /* times the session was reopened */
} sched_closing_t;

typedef struct {
    scheduler_conf_t conf;
    timetable_t timetable;
    int64_t next_generate_ms;
    int64_t next_purge_ms;
    char first_territory[17];
    /* the timers' scratch (timers.c), grown to the horizon: every session
     * of it is opened, however many */
    tt_session_t *horizon;
    int nhorizon, horizon_cap;
    sched_closing_t closing[SCHEDULER_MAX_CLOSING];
    int nclosing;
    redisReply **replies; /* of one pipeline */
    int replies_cap;
    call_t step;
    catalogue_t catalogue; /* load.c: the matcher's, to check the timetable's kinds */
} scheduler_t;

extern const inbox_handler_t scheduler_handlers[];
extern const size_t scheduler_nhandlers;

/* Business durations of the configuration, in ms. */
int64_t scheduler_notice_ms(const scheduler_t *sc);
int64_t scheduler_cutoff_ms(const scheduler_t *sc);
int64_t scheduler_offer_ms(const scheduler_t *sc);

/* The cancel_session step (staff's CancelSession, by = "staff", or the
 * timer for an absent trainer or a session the timetable dropped, by =
 * "timetable": only those come back when the change is undone). */
void scheduler_cancel_call(const scheduler_t *sc, const char *sid, const char *reason, const char *by, int64_t now,
                           const char *day, call_t *call);

/* The timetable's kinds must be the catalogue's (kinds.c): 0, or -1 with
 * "file:line: …" in err; warning gets the catalogue kinds no session serves
 * (French, for `tremplin ping`), "" when none. */
int scheduler_check_kinds(const timetable_t *tt, const catalogue_t *cat, const char *catalogue_path, char *err,
                          size_t errlen, char *warning, size_t wcap);
/* For the program loading either file (the scheduler its timetable, the
 * matcher its catalogue; at start and on SIGHUP): reads both, as the
 * configuration names them, into tt and cat, and checks them against each
 * other. 0 (the timetable tt held is freed and replaced); or -1 after
 * logging failed_event with the reason (tt is left as it was: the caller
 * keeps the file in use). A catalogue kind no session serves is logged
 * (kinds_unserved) and reported in every Pong (svc_set_warning). */
int scheduler_load_kinds(svc_t *s, timetable_t *tt, catalogue_t *cat, const char *failed_event);

/* Timers (timers.c): the territory whose sessions the timetable holds, and
 * the leased tick (offer expiry, the rolling horizon). */
const char *scheduler_territory(svc_t *s);
void scheduler_tick(svc_t *s);

/* load.c: the timetable, loaded whole or not at all, and only with kinds of
 * the matcher's catalogue (at start and on SIGHUP): 0, or -1 when it keeps
 * the one in use (the reason logged). */
int scheduler_load(svc_t *s);

/* Booking ids (booking_id.c): 10 characters of Crockford's base 32, made
 * by scheduler.lua from a secret nonce drawn for each step. */
#define SCHEDULER_BOOKING_LEN 10
#define SCHEDULER_NONCE_LEN 32
void scheduler_nonce(char out[SCHEDULER_NONCE_LEN + 1]);
/* A fresh nonce as the argument "nonce" of call (handlers.c). */
void scheduler_nonce_arg(call_t *call);
/* A booking id as a person typed it (any case; O for 0, I or L for 1) into
 * out, canonical. 0, or -1 if it cannot be one. */
int scheduler_booking_id(const char *in, char out[SCHEDULER_BOOKING_LEN + 1]);

#endif
