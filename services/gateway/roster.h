/* roster — the participants of one session as the trainer reads them, for
 * the CSV (roster_csv.h) and the sign-in sheet (pdf.h). The caller fills it
 * from the scheduler's roster, the people's contact data and the catalogue;
 * every text is in French and UTF-8, NULL reads as "". */
#ifndef TP_ROSTER_H
#define TP_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

typedef struct {
    const char *given_name;
    const char *level;         /* the catalogue's name_fr: "débutant" */
    const char *accessibility; /* roster_access_fr() of the person's codes; "" = none */
    const char *convoked_by;   /* "SMS", "courrier", "" = not yet */
    const char *booking_id;
    const char *person_id;
    const char *survey;        /* how the satisfaction survey reaches them: "SMS", "questionnaire papier" */
    const char *released;      /* a line kept for its number: "inscription annulée" …; NULL or "" = a participant */
} roster_entry_t;

typedef struct {
    const char *session_id;
    const char *title;         /* the workshop's title */
    int64_t start_ms, end_ms;  /* UTC */
    const char *venue_name, *venue_address;
    const char *trainer, *partner;
    const cal_zone_t *zone;    /* the venues' zone: clock_zone() */
    const roster_entry_t *entries;
    size_t n;
} roster_t;

/* The lines of a session's roster keep their numbers: the number a trainer
 * reads on a printed sheet is the one `tremplin attendance SESSION N=…`
 * takes later, whatever happened in between. A booking is a line once it
 * has been booked (status booked, seen, noshow or excused — or released
 * after that: cancelled, withdrawn, consent_withdrawn, session_cancelled,
 * capacity_cut; an offer never accepted is no line), and lines are in the
 * order they became booked (booked_at: when the offer was accepted, else
 * when the booking was made; then seq, the scheduler's order): a newcomer
 * always comes after every line already there, and a released line stays,
 * struck out, at its number.
 *
 * roster_line: of a booking's status, `via` ("waitlist" for an offer),
 * `answered` and `created` (ms, "" when absent): 1 when it is a line, with
 * *booked_at and *released (NULL for a participant, else the French words
 * of what became of it); 0 when it is not. */
int roster_line(const char *status, const char *via, const char *answered, const char *created, int64_t *booked_at,
                const char **released);

/* The French words for accessibility codes as intake stores them (space
 * separated: "hearing mobility" → "audition, mobilité réduite"); a code it
 * does not know is written as it is. Always terminated; a code that does
 * not fit is left out, with those after it. Returns out. */
const char *roster_access_fr(const char *codes, char *out, size_t cap);

#endif
