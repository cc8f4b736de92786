#include "referral_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
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

static const char *str_at(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

/* Checks that every present key has the expected JSON type. */
static int check_types(json_object *o, const char *where, const char *const *strings, const char *const *others,
                       char *err, size_t errlen)
{
    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_object))
        return util_fail(err, errlen, "%s: un objet JSON est attendu", where);
    json_object_object_foreach(o, key, val)
    {
        int known = 0;
        for (int i = 0; strings && strings[i]; i++)
            if (!strcmp(key, strings[i])) {
                known = 1;
                if (!json_object_is_type(val, json_type_string)) {
                    char f[96];
                    snprintf(f, sizeof f, "%s%s%s", where, *where ? "." : "", key);
                    return util_fail(err, errlen, "%s: une chaîne est attendue", f);
                }
            }
        for (int i = 0; others && others[i]; i++)
            if (!strcmp(key, others[i]))
                known = 1;
        if (!known) {
            char f[96];
            snprintf(f, sizeof f, "%s%s%s", where, *where ? "." : "", key);
            return util_fail(err, errlen, "%s: champ inconnu", f);
        }
    }
    return 0;
}

static int str_list(json_object *o, const char *key, const char *field, char **out, size_t *n, char *err,
                    size_t errlen)
{
    json_object *arr;
    *n = 0;
    if (!o || !json_object_object_get_ex(o, key, &arr))
        return 0;
    if (!json_object_is_type(arr, json_type_array))
        return util_fail(err, errlen, "%s: une liste est attendue", field);
    size_t len = json_object_array_length(arr);
    if (len > RJ_MAX_LIST)
        return util_fail(err, errlen, "%s: liste trop longue", field);
    for (size_t i = 0; i < len; i++) {
        json_object *it = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(it, json_type_string))
            return util_fail(err, errlen, "%s: une liste de chaînes est attendue", field);
        out[(*n)++] = (char *)json_object_get_string(it);
    }
    return 0;
}

static json_object *child(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

int referral_from_json(json_object *root, referral_json_t *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    tremplin__submit_referral__init(&h->referral);
    tremplin__mediator__init(&h->mediator);
    tremplin__person__init(&h->person);
    tremplin__postal_address__init(&h->address);
    tremplin__consent__init(&h->consent);
    static const char *const top_s[] = { "branch", "external_ref", NULL };
    static const char *const top_o[] = { "mediator", "person", "consent", "needs", "answers", NULL };
    static const char *const med_s[] = { "id", "partner", NULL };
    static const char *const per_s[] = { "person_id", "given_name", "phone", NULL };
    static const char *const per_o[] = { "address", "birth_year", "availability", "accessibility", NULL };
    static const char *const adr_s[] = { "line1", "line2", "postcode", "city", NULL };
    static const char *const con_s[] = { "given_at", "text_version", NULL };
    static const char *const con_o[] = { "given", "purposes", "given_at_ms", NULL };
    json_object *med = child(root, "mediator"), *per = child(root, "person"), *con = child(root, "consent");
    json_object *adr = child(per, "address");
    if (check_types(root, "", top_s, top_o, err, errlen) || check_types(med, "mediator", med_s, NULL, err, errlen)
        || check_types(per, "person", per_s, per_o, err, errlen)
        || check_types(adr, "person.address", adr_s, NULL, err, errlen)
        || check_types(con, "consent", con_s, con_o, err, errlen))
        return -1;

    Tremplin__SubmitReferral *r = &h->referral;
    r->branch = (char *)str_at(root, "branch");
    r->external_ref = (char *)str_at(root, "external_ref");
    if (med) {
        h->mediator.id = (char *)str_at(med, "id");
        h->mediator.partner = (char *)str_at(med, "partner");
        r->mediator = &h->mediator;
    }
    if (per) {
        Tremplin__Person *p = &h->person;
        p->person_id = (char *)str_at(per, "person_id");
        p->given_name = (char *)str_at(per, "given_name");
        p->phone = (char *)str_at(per, "phone");
        json_object *by = child(per, "birth_year");
        if (by) {
            if (!json_object_is_type(by, json_type_int) || json_object_get_int64(by) < 0
                || json_object_get_int64(by) > 9999)
                return util_fail(err, errlen, "person.birth_year: une année (nombre) est attendue");
            p->birth_year = (uint32_t)json_object_get_int64(by);
        }
        if (adr) {
            h->address.line1 = (char *)str_at(adr, "line1");
            h->address.line2 = (char *)str_at(adr, "line2");
            h->address.postcode = (char *)str_at(adr, "postcode");
            h->address.city = (char *)str_at(adr, "city");
            p->address = &h->address;
        }
        p->availability = h->availability;
        p->accessibility = h->accessibility;
        if (str_list(per, "availability", "person.availability", h->availability, &p->n_availability, err, errlen)
            || str_list(per, "accessibility", "person.accessibility", h->accessibility, &p->n_accessibility, err,
                        errlen))
            return -1;
        r->person = p;
    }
    if (con) {
        Tremplin__Consent *c = &h->consent;
        json_object *given = child(con, "given");
        if (given && !json_object_is_type(given, json_type_boolean))
            return util_fail(err, errlen, "consent.given: true ou false est attendu");
        c->given = given && json_object_get_boolean(given);
        c->text_version = (char *)str_at(con, "text_version");
        const char *at = str_at(con, "given_at");
        json_object *at_ms = child(con, "given_at_ms");
        if (*at) {
            int64_t ms = referral_parse_time(at);
            if (ms < 0)
                return util_fail(err, errlen, "consent.given_at: date ISO 8601 attendue (2026-11-26T09:30:00Z)");
            c->given_at_ms = (uint64_t)ms;
        } else if (at_ms) {
            if (!json_object_is_type(at_ms, json_type_int) || json_object_get_int64(at_ms) < 0)
                return util_fail(err, errlen, "consent.given_at_ms: un nombre de millisecondes est attendu");
            c->given_at_ms = (uint64_t)json_object_get_int64(at_ms);
        }
        c->purposes = h->purposes;
        if (str_list(con, "purposes", "consent.purposes", h->purposes, &c->n_purposes, err, errlen))
            return -1;
        r->consent = c;
    }
    r->needs = h->needs;
    if (str_list(root, "needs", "needs", h->needs, &r->n_needs, err, errlen))
        return -1;
    json_object *ans = child(root, "answers");
    if (ans) {
        if (!json_object_is_type(ans, json_type_object))
            return util_fail(err, errlen, "answers: un objet {question: score} est attendu");
        json_object_object_foreach(ans, q, score)
        {
            if (r->n_answers == RJ_MAX_LIST)
                return util_fail(err, errlen, "answers: trop de réponses");
            if (!json_object_is_type(score, json_type_int))
                return util_fail(err, errlen, "answers: chaque score doit être un nombre entier");
            Tremplin__Answer *a = &h->answer_items[r->n_answers];
            tremplin__answer__init(a);
            a->question_id = q;
            a->score = (int32_t)json_object_get_int(score);
            h->answers[r->n_answers++] = a;
        }
        r->answers = h->answers;
    }
    return 0;
}
