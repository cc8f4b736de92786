/* referral_json — the JSON form of a referral (the tremplin tool, imports,
 * integrators) to and from SubmitReferral. The README shows a full example.
 *
 * The built message points into the JSON object and into the holder (no
 * allocation of its own): keep both until the message is packed. */
#ifndef TP_REFERRAL_JSON_H
#define TP_REFERRAL_JSON_H

#include <json-c/json.h>
#include <stdint.h>

#include "tremplin.pb-c.h"

#define RJ_MAX_LIST 64

typedef struct {
    Tremplin__SubmitReferral referral;
    Tremplin__Mediator mediator;
    Tremplin__Person person;
    Tremplin__PostalAddress address;
    Tremplin__Consent consent;
    char *needs[RJ_MAX_LIST], *availability[RJ_MAX_LIST], *accessibility[RJ_MAX_LIST], *purposes[RJ_MAX_LIST];
    Tremplin__Answer answer_items[RJ_MAX_LIST];
    Tremplin__Answer *answers[RJ_MAX_LIST];
} referral_json_t;

/* Builds h->referral from root. 0, or -1 with "field: reason" in err, in
 * French: a JSON shape error — an unknown field (a field starting with '_' is
 * a comment), a value of another type or null, a string holding a NUL (read
 * as common/jsondoc reads every document); the content itself is checked by
 * intake. */
int referral_from_json(json_object *root, referral_json_t *h, char *err, size_t errlen);

/* "2026-11-26T09:30:00Z", "...+01:00", "2026-11-26" -> UTC ms; -1 if not. */
int64_t referral_parse_time(const char *s);

#endif
