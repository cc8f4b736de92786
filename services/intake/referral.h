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
