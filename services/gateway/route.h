/* route — what an incoming SMS is for, from what its sender has open.
 *
 * A reply is matched by its sender's number: the people an SMS went to at
 * that number (a family may share one phone), each with their open offers,
 * their next booking and a survey invitation not answered yet — never by
 * an id typed in the text. Pure: replies.c reads the candidates in Redis
 * (gateway.lua, reply_lookup) and acts on the route.
 *
 *   OUI / NON       the one open offer (accept or decline); with none, the
 *                   survey's "another workshop?"
 *   ANNULER         the next booking; with none, declines the one open offer
 *   a score 1-4     the survey (with OUI/NON in the same SMS, or one sent
 *                   before: complete; else kept until the rest comes)
 *   anything else   not understood: one polite SMS and a line for a
 *                   mediator; so is a reply that could be for two offers,
 *                   two bookings or two surveys (two people on one phone).
 *
 * What the gateway knows would be refused is answered at once, by a polite
 * SMS saying why, and nothing is sent: ANNULER inside the cancellation
 * cutoff ("cancel:TOO_LATE"), OUI/NON when the only offer sent is past its
 * deadline and no survey is open ("offer:OFFER_EXPIRED").
 */
#ifndef TP_ROUTE_H
#define TP_ROUTE_H

#include <stdint.h>

#include "gateway/reply.h"

#define ROUTE_MAX_PEOPLE 8
#define ROUTE_MAX_OFFERS 4

typedef struct {
    char person[33];
    char offers[ROUTE_MAX_OFFERS][16]; /* booking ids of open offers */
    int noffers;
    char booking[16];                  /* the next booked session's booking, "" = none */
    int booking_late;                  /* it is inside the cancellation cutoff: ANNULER is refused */
    int expired;                       /* offers sent whose deadline passed (lately) */
    char participation[64];            /* a survey invitation not answered yet, "" = none */
    int score;                         /* of a partial survey answer: 0 = none */
    int yes_no;                        /* of a partial survey answer: -1 = none */
} route_person_t;

typedef enum {
    ROUTE_UNKNOWN_SENDER = 0, /* nobody was sent an SMS at that number */
    ROUTE_ANSWER_OFFER,
    ROUTE_CANCEL_BOOKING,
    ROUTE_SURVEY,             /* complete: score (0 = not given) and yes_no (-1 = not given) */
    ROUTE_SURVEY_PARTIAL,     /* kept until the rest comes: score or yes_no */
    ROUTE_NOT_UNDERSTOOD,
    ROUTE_REFUSED,            /* known to be refused: told why (refusal), nothing sent */
} route_action_t;

typedef struct {
    route_action_t action;
    int who;           /* index into the people, -1 = none */
    char booking[16];  /* ANSWER_OFFER, CANCEL_BOOKING */
    int accept;        /* ANSWER_OFFER */
    int score, yes_no; /* SURVEY, SURVEY_PARTIAL */
    const char *why;   /* NOT_UNDERSTOOD: "not_understood", "ambiguous", "nothing_open" (for the log) */
    const char *refusal; /* REFUSED: "cancel:TOO_LATE", "offer:OFFER_EXPIRED" (the polite SMS's reason) */
} route_t;

void route_reply(const reply_t *r, const route_person_t *people, int n, route_t *out);

/* "answer_offer", "cancel_booking", "survey", "survey_partial",
 * "not_understood", "unknown_sender", "refused". */
const char *route_action_name(route_action_t a);

#endif
