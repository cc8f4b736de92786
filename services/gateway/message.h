/* message — the French texts the gateway sends: convocation, reminder, offer
 * of a freed seat, a seat moved (session cancelled, capacity cut), a booking
 * cancelled, survey invitation, and the answer to a reply it did not
 * understand; as an SMS, and for people with only a postal address as the
 * body of a letter (services/gateway/pdf.h prints it).
 *
 * Pure: the caller gives the first name, the session (title, start, venue)
 * and what the job says (deadline, reason); nothing here reads Redis or the
 * clock. Dates are written in words in the venues' zone ("mardi 8 décembre à
 * 9 h 30", "lundi 30 novembre à 14 h", "mardi 1er décembre").
 *
 * An SMS must fit max_segments (one, usually: sms.h). Its wording is folded
 * into GSM-7 (the person's name excepted, see sms.h); when the whole text is
 * too long, optional parts are left out one at a time, in an order chosen per
 * kind — the venue's address first, then the "Indisponible ? Répondez
 * ANNULER." hint, the workshop's title, the reason, and the "Bonjour" — until
 * it fits. The date, the place's name, the deadline and how to answer are
 * never left out. When even the shortest text does not fit (a name that
 * makes it UCS-2, 70 characters a segment), the most complete text that
 * takes no more segments than the shortest is sent, and msg_sms_t.size says
 * how many segments it takes. */
#ifndef TP_MESSAGE_H
#define TP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "gateway/sms.h"

typedef enum {
    MSG_CONVOCATION,       /* job "convocation": a seat booked */
    MSG_REMINDER,          /* two days before the session (quiet.h) */
    MSG_OFFER,             /* job "offer": a freed seat, its deadline, OUI or NON */
    MSG_SESSION_CANCELLED, /* job "session_cancelled": why, and the new session if any */
    MSG_CAPACITY_CUT,      /* job "capacity_cut": the same when the session lost seats */
    MSG_CANCELLED,         /* a booking cancelled (job "withdrawn", CancelBooking): why */
    MSG_SURVEY,            /* after the workshop: satisfaction 1-4, another workshop OUI/NON */
    MSG_NOT_UNDERSTOOD,    /* the answer to a reply reply.h did not understand */
    MSG_REFUSED,           /* job "reply_refused": a reply that could not be taken, and why (reason
                            * "cancel:TOO_LATE", "offer:OFFER_EXPIRED", "survey:ALREADY_ANSWERED" …) */
    MSG_NKINDS
} msg_kind_t;

/* The parts a text may leave out (msg_sms_t.dropped). */
enum {
    MSG_PART_ADDRESS = 1u << 0,  /* the venue's address */
    MSG_PART_HINT = 1u << 1,     /* "Indisponible ? Répondez ANNULER.", the survey's example */
    MSG_PART_TITLE = 1u << 2,    /* the workshop's title */
    MSG_PART_REASON = 1u << 3,   /* "(formateur absent)" */
    MSG_PART_GREETING = 1u << 4, /* "Bonjour " before the name */
};

#define MSG_FIELD_MAX 256 /* bytes of any text field, its NUL included */
#define MSG_TEXT_MAX 1024
#define MSG_DATE_MAX 64   /* "mercredi 30 septembre 2026 à 23 h 59" fits */

typedef struct {
    const char *title;         /* the workshop's title, in French */
    int64_t start_ms;          /* UTC; 0 = no session */
    int64_t end_ms;            /* UTC; 0 = unknown (letters say "de 9 h 30 à 11 h 30") */
    const char *venue_name;    /* "La Poste Wilson — espace numérique" */
    const char *venue_address; /* "Bureau de poste Wilson, 42000 Saint-Étienne" */
} msg_session_t;

/* NULL strings read as "". */
typedef struct {
    msg_kind_t kind;
    const cal_zone_t *zone;   /* the venues' zone: clock_zone() */
    const char *given_name;   /* the person's first name, as they write it ("" = none) */
    msg_session_t session;    /* the session the job names */
    msg_session_t next;       /* SESSION_CANCELLED, CAPACITY_CUT: the new session (start 0: on the waitlist) */
    int64_t deadline_ms;      /* OFFER: answer before this */
    const char *reason;       /* SESSION_CANCELLED, CAPACITY_CUT, CANCELLED: in French, "" = none */
} msg_input_t;

typedef struct {
    char text[MSG_TEXT_MAX];
    sms_size_t size;   /* coding and segments of text */
    unsigned dropped;  /* the MSG_PART_ bits left out to fit */
} msg_sms_t;

/* The SMS of in, fitted to max_segments (>= 1) as said above. 0, or -1 with
 * the reason in err: a field that is not UTF-8, holds a control character or
 * is longer than MSG_FIELD_MAX, a session or deadline the kind needs and
 * lacks. */
int msg_sms(const msg_input_t *in, int max_segments, msg_sms_t *out, char *err, size_t errlen);

/* The body of a letter for in: paragraphs separated by an empty line, the
 * date with its year and the time span, the venue's name and address on
 * lines of their own; not folded. For CONVOCATION, SESSION_CANCELLED,
 * CAPACITY_CUT and CANCELLED (the others go by SMS only: a letter comes too
 * late for an offer or a reminder). 0, or -1 with the reason in err. */
int msg_letter(const msg_input_t *in, char *out, size_t cap, char *err, size_t errlen);

/* The subject line of a letter of that kind: "Convocation à un atelier
 * numérique" … ("" for the kinds msg_letter refuses). */
const char *msg_letter_subject(msg_kind_t kind);

/* The French words for a reason code of the scheduler ("trainer_absent" →
 * "formateur absent", "timetable_change", "capacity_cut",
 * "attendance_corrected", "consent_withdrawn"); any other text is returned as
 * it is (staff write their reasons in French). */
const char *msg_reason_fr(const char *code);

/* Dates and times in words, in zone: msg_day_fr "mardi 8 décembre" (with
 * year: "mardi 8 décembre 2026"), msg_time_fr "9 h 30" / "14 h", msg_when_fr
 * "mardi 8 décembre à 9 h 30". out holds MSG_DATE_MAX bytes. */
void msg_day_fr(const cal_zone_t *zone, int64_t ms, int with_year, char *out);
void msg_time_fr(const cal_zone_t *zone, int64_t ms, char *out);
void msg_when_fr(const cal_zone_t *zone, int64_t ms, int with_year, char *out);

/* The kind of a notification job's type (scheduler.lua's notify): 0, or -1
 * for a type that sends nothing to the person (waitlisted, offer_expired,
 * mediator_flag …). "withdrawn" and "cancelled" are CANCELLED; "reminder"
 * and "not_understood" are the gateway's own, "survey_invitation" and
 * "survey_reminder" the survey service's. */
int msg_kind_of_job(const char *type, msg_kind_t *out);
/* The kind's name, for logs: "convocation", "offer" … */
const char *msg_kind_name(msg_kind_t kind);

#endif
