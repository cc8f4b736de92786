/* referral — what makes a SubmitReferral acceptable, and the French answer
 * when it is not. Pure logic: no sockets, no Redis.
 *
 * Every fault has a stable code (see README.md, "Intake error codes") and
 * names the field; the message is for a counter agent. */
#ifndef TP_REFERRAL_H
#define TP_REFERRAL_H

#include <stddef.h>
#include <stdint.h>

#include "tremplin.pb-c.h"
#include "util.h"

#define REFERRAL_MAX_ANSWERS 32  /* one per question of the questionnaire, with room to grow */
#define REFERRAL_QUESTION_MAX 32 /* characters of a question id */
/* The answers as the referral record keeps them, "q1=2 q2=0", at those
 * bounds: a question id, '=', a score (an int32: 11 characters at most) and
 * a space each. */
#define REFERRAL_ANSWERS_TEXT_MAX (REFERRAL_MAX_ANSWERS * (REFERRAL_QUESTION_MAX + 13))

typedef struct {
    const char *code;
    char field[64];
    char message_fr[256];
} referral_error_t;

/* Fills err; returns -1 so that callers can `return referral_fail(...)`. */
int referral_fail(referral_error_t *err, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The checks that do not depend on consent: branch, external_ref, mediator. */
int referral_check_envelope(const Tremplin__SubmitReferral *r, referral_error_t *err);
/* Consent given, for training, with a version and a plausible date. */
int referral_check_consent(const Tremplin__SubmitReferral *r, int64_t now_ms, referral_error_t *err);
/* Everything: envelope checks, then consent, then person, needs, answers. */
int referral_validate(const Tremplin__SubmitReferral *r, int64_t now_ms, referral_error_t *err);

/* Writes the answers as the record keeps them ("q1=2 q2=0") into buf;
 * returns the length, or -1 when they do not fit (never for a validated
 * referral and REFERRAL_ANSWERS_TEXT_MAX bytes): never a record cut short. */
int referral_answers_text(const Tremplin__SubmitReferral *r, char *buf, size_t cap);

/* A digest of the referral as packed (BLAKE2b, util_digest): the same
 * referral sent again gives the same, any other content another. */
void referral_digest(const Tremplin__SubmitReferral *r, char out[TP_ID_LEN + 1]);

/* "06 12-34.56 78", "+33612345678", "0033 6…" -> "+33612345678". -1 if not
 * a French number. */
int referral_phone_normalize(const char *in, char out[16]);
int referral_phone_is_mobile(const char *normalized);

/* 0 when purpose is one of training, sms, survey. */
int referral_known_purpose(const char *purpose);
int referral_has_purpose(const Tremplin__Consent *c, const char *purpose);

/* The needs tags and half-days the programme knows. */
extern const char *const referral_needs[];
extern const char *const referral_half_days[];
/* The half-days of the timetable's sessions, accepted besides
 * referral_half_days (replacing those set before); returns how many were
 * not among them. */
int referral_set_timetable_half_days(const char *const *half_days, int n);

#endif
