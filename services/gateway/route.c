#include "gateway/route.h"

#include <string.h>

#include "util.h"

const char *route_action_name(route_action_t a)
{
    static const char *const names[] = { "unknown_sender", "answer_offer", "cancel_booking", "survey",
                                         "survey_partial", "not_understood", "refused" };
    return (unsigned)a < TP_ARRAY_LEN(names) ? names[a] : "?";
}

static void route_not_understood(route_t *out, const char *why)
{
    out->action = ROUTE_NOT_UNDERSTOOD;
    out->why = why;
}

/* The only person with an open offer (*count says how many have one). */
static int route_offer_holder(const route_person_t *p, int n, int *count)
{
    int who = -1;
    *count = 0;
    for (int i = 0; i < n; i++) {
        *count += p[i].noffers;
        if (p[i].noffers)
            who = i;
    }
    return who;
}

static int route_count(const route_person_t *p, int n, int survey, int *who)
{
    int count = 0;
    *who = -1;
    for (int i = 0; i < n; i++)
        if (survey ? p[i].participation[0] != '\0' : p[i].booking[0] != '\0') {
            count++;
            *who = i;
        }
    return count;
}

/* How many people have an offer sent whose deadline passed (*who: one). */
static int route_expired(const route_person_t *p, int n, int *who)
{
    int count = 0;
    *who = -1;
    for (int i = 0; i < n; i++)
        if (p[i].expired) {
            count++;
            *who = i;
        }
    return count;
}

/* A survey answer: complete when both parts are known (now or kept), else
 * kept. score 0 / yes_no -1: not in this SMS. */
static void route_survey(const route_person_t *p, int n, int score, int yes_no, route_t *out)
{
    int who;
    int count = route_count(p, n, 1, &who);
    if (count != 1) {
        route_not_understood(out, count ? "ambiguous" : "nothing_open");
        return;
    }
    out->who = who;
    out->score = score ? score : p[who].score;
    out->yes_no = yes_no >= 0 ? yes_no : p[who].yes_no;
    out->action = out->score && out->yes_no >= 0 ? ROUTE_SURVEY : ROUTE_SURVEY_PARTIAL;
    if (out->action == ROUTE_SURVEY_PARTIAL) { /* keep only what this SMS said */
        out->score = score;
        out->yes_no = yes_no;
    }
}

void route_reply(const reply_t *r, const route_person_t *p, int n, route_t *out)
{
    memset(out, 0, sizeof *out);
    out->who = -1;
    out->yes_no = -1;
    out->why = "";
    out->refusal = "";
    if (n <= 0) {
        out->action = ROUTE_UNKNOWN_SENDER;
        return;
    }
    int count, who;
    switch (r->kind) {
    case REPLY_YES:
    case REPLY_NO:
        who = route_offer_holder(p, n, &count);
        if (count == 1) {
            out->action = ROUTE_ANSWER_OFFER;
            out->who = who;
            out->accept = r->kind == REPLY_YES;
            util_strlcpy(out->booking, p[who].offers[0], sizeof out->booking);
            return;
        }
        if (count > 1) {
            route_not_understood(out, "ambiguous");
            break;
        }
        if (route_count(p, n, 1, &who) == 0 && route_expired(p, n, &who) == 1) {
            out->action = ROUTE_REFUSED; /* the offer it answers is past its deadline */
            out->who = who;
            out->refusal = "offer:OFFER_EXPIRED";
            return;
        }
        route_survey(p, n, 0, r->kind == REPLY_YES, out);
        break;
    case REPLY_CANCEL:
        count = route_count(p, n, 0, &who);
        if (count == 1 && p[who].booking_late) { /* the scheduler would refuse it: TOO_LATE */
            out->action = ROUTE_REFUSED;
            out->who = who;
            out->refusal = "cancel:TOO_LATE";
            return;
        }
        if (count == 1) {
            out->action = ROUTE_CANCEL_BOOKING;
            out->who = who;
            util_strlcpy(out->booking, p[who].booking, sizeof out->booking);
            return;
        }
        if (count > 1) {
            route_not_understood(out, "ambiguous");
            break;
        }
        who = route_offer_holder(p, n, &count);
        if (count == 1) { /* ANNULER to an offer: no thank you */
            out->action = ROUTE_ANSWER_OFFER;
            out->who = who;
            out->accept = 0;
            util_strlcpy(out->booking, p[who].offers[0], sizeof out->booking);
            return;
        }
        route_not_understood(out, count ? "ambiguous" : "nothing_open");
        break;
    case REPLY_SURVEY:
        route_survey(p, n, r->score, r->yes_no, out);
        break;
    default:
        route_not_understood(out, "not_understood");
        break;
    }
    if (out->action == ROUTE_NOT_UNDERSTOOD && out->who < 0)
        out->who = 0; /* the polite answer goes to the number: any of its people */
}
