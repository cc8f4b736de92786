#include "referral_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "jsondoc.h"
#include "util.h"

int64_t referral_parse_time(const char *s)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    const char *p = s + 10;
    int offset_min = 0;
    if (*p == 'T' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &m) != 3 || m != 8)
            return -1;
        p += 9;
        if (*p == '.') /* fractions of a second: ignored */
            while (*++p >= '0' && *p <= '9')
                ;
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om, k = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5)
                return -1;
            offset_min = (*p == '+' ? 1 : -1) * (oh * 60 + om);
            p += 6;
        } else {
            return -1; /* a time needs its zone: Z or +hh:mm */
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t days = cal_days_from_civil(y, mo, d);
    return ((days * 86400) + h * 3600 + mi * 60 + sec - offset_min * 60) * 1000;
}

/* A string of the referral ("" when absent), pointing into the document:
 * protobuf-c's strings are char *, never written through here. */
static int rj_str(jsondoc_t *jd, json_object *o, const char *where, const char *key, char **out)
{
    const char *s;
    int rc = jsondoc_string(jd, o, where, key, 0, &s);
    *out = (char *)s;
    return rc;
}

static int rj_list(jsondoc_t *jd, json_object *o, const char *where, const char *key, char **items, size_t *n)
{
    return jsondoc_strings(jd, o, where, key, RJ_MAX_LIST, (const char **)items, n);
}

static int rj_person(jsondoc_t *jd, json_object *per, json_object *adr, referral_json_t *h)
{
    Tremplin__Person *p = &h->person;
    int birth_year = 0;
    if (rj_str(jd, per, "person", "person_id", &p->person_id) != 0
        || rj_str(jd, per, "person", "given_name", &p->given_name) != 0
        || rj_str(jd, per, "person", "family_name", &p->family_name) != 0
        || rj_str(jd, per, "person", "phone", &p->phone) != 0
        || jsondoc_int(jd, per, "person", "birth_year", 0, 0, 9999, &birth_year) != 0
        || rj_list(jd, per, "person", "availability", h->availability, &p->n_availability) != 0
        || rj_list(jd, per, "person", "accessibility", h->accessibility, &p->n_accessibility) != 0)
        return -1;
    p->birth_year = (uint32_t)birth_year;
    p->availability = h->availability;
    p->accessibility = h->accessibility;
    if (adr) {
        if (rj_str(jd, adr, "person.address", "line1", &h->address.line1) != 0
            || rj_str(jd, adr, "person.address", "line2", &h->address.line2) != 0
            || rj_str(jd, adr, "person.address", "postcode", &h->address.postcode) != 0
            || rj_str(jd, adr, "person.address", "city", &h->address.city) != 0)
            return -1;
        p->address = &h->address;
    }
    h->referral.person = p;
    return 0;
}

static int rj_consent(jsondoc_t *jd, json_object *con, referral_json_t *h)
{
    Tremplin__Consent *c = &h->consent;
    const char *at;
    int given = 0;
    int64_t at_ms = 0;
    if (jsondoc_bool(jd, con, "consent", "given", 0, &given) != 0
        || rj_str(jd, con, "consent", "text_version", &c->text_version) != 0
        || jsondoc_string(jd, con, "consent", "given_at", 0, &at) != 0
        || jsondoc_int64(jd, con, "consent", "given_at_ms", 0, 0, INT64_MAX, &at_ms) != 0
        || rj_list(jd, con, "consent", "purposes", h->purposes, &c->n_purposes) != 0)
        return -1;
    c->given = given;
    c->purposes = h->purposes;
    if (*at) { /* the date as people write it, else in ms */
        at_ms = referral_parse_time(at);
        if (at_ms < 0)
            return util_fail(jd->err, jd->errlen, "consent.given_at: date ISO 8601 attendue (2026-11-26T09:30:00Z)");
    }
    c->given_at_ms = (uint64_t)at_ms;
    h->referral.consent = c;
    return 0;
}

/* "answers": {question id: score}, a map: any key, each score a whole number
 * (a score out of the question's range is the matcher's to count). */
static int rj_answers(jsondoc_t *jd, json_object *root, referral_json_t *h)
{
    Tremplin__SubmitReferral *r = &h->referral;
    json_object *ans;
    if (jsondoc_child(jd, root, "", "answers", 0, NULL, &ans) != 0)
        return -1;
    r->answers = h->answers;
    if (!ans)
        return 0;
    json_object_object_foreach(ans, q, score)
    {
        (void)score;
        if (r->n_answers == RJ_MAX_LIST)
            return util_fail(jd->err, jd->errlen, "answers: %d réponses au plus", RJ_MAX_LIST);
        Tremplin__Answer *a = &h->answer_items[r->n_answers];
        tremplin__answer__init(a);
        a->question_id = q;
        int v = 0;
        if (jsondoc_int(jd, ans, "answers", q, 1, INT32_MIN, INT32_MAX, &v) != 0)
            return -1;
        a->score = v;
        h->answers[r->n_answers++] = a;
    }
    return 0;
}

int referral_from_json(json_object *root, referral_json_t *h, char *err, size_t errlen)
{
    static const char *const top_k[] = { "branch", "external_ref", "mediator", "person",
                                         "consent", "needs",        "answers",  NULL };
    static const char *const med_k[] = { "id", "partner", NULL };
    static const char *const per_k[] = { "person_id",    "given_name",    "family_name", "phone", "address",
                                         "birth_year",   "availability",  "accessibility", NULL };
    static const char *const adr_k[] = { "line1", "line2", "postcode", "city", NULL };
    static const char *const con_k[] = { "given", "given_at", "given_at_ms", "text_version", "purposes", NULL };
    memset(h, 0, sizeof *h);
    tremplin__submit_referral__init(&h->referral);
    tremplin__mediator__init(&h->mediator);
    tremplin__person__init(&h->person);
    tremplin__postal_address__init(&h->address);
    tremplin__consent__init(&h->consent);
    jsondoc_t jd = { .err = err, .errlen = errlen, .fr = 1 };
    Tremplin__SubmitReferral *r = &h->referral;
    json_object *med, *per, *adr, *con;
    if (jsondoc_object(&jd, root, "", top_k) != 0 || rj_str(&jd, root, "", "branch", &r->branch) != 0
        || rj_str(&jd, root, "", "external_ref", &r->external_ref) != 0
        || jsondoc_child(&jd, root, "", "mediator", 0, med_k, &med) != 0
        || jsondoc_child(&jd, root, "", "person", 0, per_k, &per) != 0
        || jsondoc_child(&jd, per, "person", "address", 0, adr_k, &adr) != 0
        || jsondoc_child(&jd, root, "", "consent", 0, con_k, &con) != 0)
        return -1;
    if (med) {
        if (rj_str(&jd, med, "mediator", "id", &h->mediator.id) != 0
            || rj_str(&jd, med, "mediator", "partner", &h->mediator.partner) != 0)
            return -1;
        r->mediator = &h->mediator;
    }
    if ((per && rj_person(&jd, per, adr, h) != 0) || (con && rj_consent(&jd, con, h) != 0))
        return -1;
    r->needs = h->needs;
    if (rj_list(&jd, root, "", "needs", h->needs, &r->n_needs) != 0)
        return -1;
    return rj_answers(&jd, root, h);
}
