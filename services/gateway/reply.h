/* reply — what a person's SMS reply says.
 *
 * The texts ask for few answers: OUI or NON to an offer, ANNULER to give up
 * a seat, and after a workshop a score from 1 (très satisfait) to 4 (pas
 * satisfait) and OUI or NON for another workshop ("1 OUI"). A reply is read
 * tolerantly — case, accents, punctuation, spaces, "merci" and "bonjour"
 * around it do not matter ("oui ", "Oui.", "O", "NÔN !", "1oui", "2 - non",
 * "Annulé merci") — but strictly in what it may mean: any other word, a score
 * outside 1-4, two answers that contradict each other, is not understood
 * (the gateway answers with what it accepts and tells a mediator). Pure: the
 * caller decides what a bare OUI answers (an open offer, else a survey). */
#ifndef TP_REPLY_H
#define TP_REPLY_H

typedef enum {
    REPLY_NOT_UNDERSTOOD = 0,
    REPLY_YES,    /* OUI, O */
    REPLY_NO,     /* NON, N */
    REPLY_CANCEL, /* ANNULER */
    REPLY_SURVEY, /* a score, with or without OUI/NON */
} reply_kind_t;

typedef struct {
    reply_kind_t kind;
    int score;  /* REPLY_SURVEY: 1 (très satisfait) to 4 (pas satisfait) */
    int yes_no; /* 1 OUI, 0 NON, -1 not given (YES, NO, and SURVEY's "another workshop?") */
} reply_t;

/* Reads text (UTF-8; anything else is not understood). */
void reply_parse(const char *text, reply_t *out);

/* "yes", "no", "cancel", "survey", "not_understood", for logs. */
const char *reply_kind_name(reply_kind_t kind);

#endif
