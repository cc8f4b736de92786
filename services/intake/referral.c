#include "referral.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ids.h"
#include "util.h"

#define REFERRAL_MAX_NEEDS 16
#define REFERRAL_MAX_ACCESS 8
#define CONSENT_MAX_AGE_MS (90LL * 24 * 3600 * 1000)
#define CONSENT_MAX_AHEAD_MS (10LL * 60 * 1000) /* clocks of branch systems drift */

const char *const referral_needs[] = {
    "email",          /* has or reads an e-mail address */
    "online_forms",   /* fills an online form */
    "smartphone",     /* uses a smartphone or tablet */
    "online_banking", /* online banking */
    "budget",         /* budget tools, managing money */
    "admin_sites",    /* identity and administration sites */
    "documents",      /* scans or attaches a document */
    "video_call",     /* makes a video call */
    "security",       /* spots fraud, manages passwords */
    NULL,
};

const char *const referral_half_days[] = {
    "mon-am", "mon-pm", "tue-am", "tue-pm", "wed-am", "wed-pm",
    "thu-am", "thu-pm", "fri-am", "fri-pm", "sat-am", NULL,
};

static const char *const referral_purposes[] = { "training", "sms", "survey", NULL };

/* The half-days a person may declare: the week's, and those of the
 * timetable's sessions the week's lack (a Saturday afternoon one-off), set
 * by intake whenever it loads the timetable, so every session can be reached. */
#define REFERRAL_MAX_MORE_HALF_DAYS 14
static char referral_more[REFERRAL_MAX_MORE_HALF_DAYS][8];
static const char *referral_accepted[sizeof referral_half_days / sizeof referral_half_days[0] + REFERRAL_MAX_MORE_HALF_DAYS];
static size_t referral_naccepted;

int referral_fail(referral_error_t *err, const char *code, const char *field, const char *fmt, ...)
{
    err->code = code;
    util_strlcpy(err->field, field ? field : "", sizeof err->field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message_fr, sizeof err->message_fr, fmt, ap);
    va_end(ap);
    return -1;
}

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int is_empty(const char *s) { return !s || !*s; }

int referral_set_timetable_half_days(const char *const *half_days, int n)
{
    size_t k = 0, more = 0;
    for (; referral_half_days[k]; k++)
        referral_accepted[k] = referral_half_days[k];
    referral_accepted[k] = NULL;
    for (int i = 0; i < n && more < REFERRAL_MAX_MORE_HALF_DAYS; i++)
        if (strlen(half_days[i]) < sizeof referral_more[0] && !in_list(referral_accepted, half_days[i])) {
            memcpy(referral_more[more], half_days[i], strlen(half_days[i]) + 1);
            referral_accepted[k++] = referral_more[more++];
            referral_accepted[k] = NULL;
        }
    referral_naccepted = k;
    return (int)more;
}

/* Decodes one UTF-8 character at p: its code point and length, or length 0
 * when it is not well formed (overlong forms, surrogates, beyond U+10FFFF). */
static int utf8_next(const unsigned char *p, uint32_t *cp)
{
    int len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0)
        return 0;
    uint32_t c = len == 1 ? p[0] : p[0] & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Well-formed UTF-8, no control characters (C0, DEL, C1), at most max bytes. */
static int is_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t c;
        int len = utf8_next(p, &c);
        if (len == 0 || c < 0x20 || (c >= 0x7f && c < 0xa0))
            return 0;
        p += len;
    }
    return 1;
}

/* A letter of a name: ASCII letters, the Latin letters of U+00C0..U+024F
 * (but × and ÷), and any script from U+0370 on outside the punctuation and
 * symbol blocks. Spaces, dashes and dots alone do not make a name. */
static int has_letter(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t c;
        int len = utf8_next(p, &c);
        if (len == 0)
            return 0;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0x24f && c != 0xd7 && c != 0xf7)
            || (c >= 0x370 && !(c >= 0x2000 && c <= 0x2bff) && !(c >= 0x3000 && c <= 0x303f) && c < 0xfe00))
            return 1;
        p += len;
    }
    return 0;
}

/* How many bytes of s, at most max, end on a character boundary. */
static int text_prefix(const char *s, int max)
{
    int n = 0;
    while (s[n] && n < max) {
        uint32_t c;
        int len = utf8_next((const unsigned char *)s + n, &c);
        if (len == 0 || n + len > max)
            break;
        n += len;
    }
    return n;
}

/* A list of tags: each from `known` (or any token when known is NULL), no
 * duplicates, at most max. */
static int check_tags(char **items, size_t n, size_t max, const char *const *known, const char *field,
                      referral_error_t *err)
{
    if (n > max)
        return referral_fail(err, "TOO_MANY", field, "Trop de valeurs pour %s (au plus %zu).", field, max);
    for (size_t i = 0; i < n; i++) {
        char f[64];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        if (known ? !in_list(known, items[i]) : !ids_valid(items[i], 32))
            return referral_fail(err, "UNKNOWN_VALUE", f, "Valeur inconnue pour %s : « %.*s ».", field,
                                 is_text(items[i], 256) ? text_prefix(items[i], 32) : 1,
                                 is_text(items[i], 256) ? items[i] : "?");
        for (size_t j = 0; j < i; j++)
            if (strcmp(items[i], items[j]) == 0)
                return referral_fail(err, "DUPLICATE_VALUE", f, "Valeur en double pour %s : « %s ».", field,
                                     items[i]);
    }
    return 0;
}

int referral_known_purpose(const char *purpose) { return in_list(referral_purposes, purpose) ? 0 : -1; }

int referral_has_purpose(const Tremplin__Consent *c, const char *purpose)
{
    for (size_t i = 0; c && i < c->n_purposes; i++)
        if (strcmp(c->purposes[i], purpose) == 0)
            return 1;
    return 0;
}

/* The overseas departments have their own country codes, but their numbers
 * are dialled like mainland ones in France (0692 12 34 56 is +262 692…):
 * by the first three digits after the 0. */
static const struct {
    const char prefix[4];
    const char cc[4];
} phone_overseas[] = {
    { "262", "262" }, { "263", "262" }, { "269", "262" }, { "639", "262" }, /* Réunion, Mayotte */
    { "692", "262" }, { "693", "262" }, { "590", "590" }, { "690", "590" }, /* Guadeloupe, St-Martin */
    { "691", "590" }, { "594", "594" }, { "694", "594" },                   /* Guyane */
    { "596", "596" }, { "696", "596" }, { "697", "596" },                   /* Martinique */
};

int referral_phone_normalize(const char *in, char out[16])
{
    char digits[24];
    size_t n = 0;
    int plus = 0;
    for (const char *p = in; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n == sizeof digits - 1)
                return -1;
            digits[n++] = *p;
        } else if (*p == '+' && n == 0 && !plus) {
            plus = 1;
        } else if (*p != ' ' && *p != '.' && *p != '-') {
            return -1;
        }
    }
    digits[n] = '\0';
    /* international form: +CC or 00CC, with the 9 digits after it */
    const char *intl = plus ? digits : (n > 2 && !strncmp(digits, "00", 2)) ? digits + 2 : NULL;
    const char *cc = "33", *national = NULL;
    if (intl) {
        static const char *const codes[] = { "33", "262", "590", "594", "596" };
        for (size_t i = 0; i < TP_ARRAY_LEN(codes) && !national; i++)
            if (!strncmp(intl, codes[i], strlen(codes[i])) && strlen(intl) == strlen(codes[i]) + 9) {
                cc = codes[i];
                national = intl + strlen(codes[i]);
            }
    } else if (n == 10 && digits[0] == '0') {
        national = digits + 1;
    }
    if (!national || national[0] == '0')
        return -1;
    if (!strcmp(cc, "33")) /* an overseas number written the mainland way */
        for (size_t i = 0; i < TP_ARRAY_LEN(phone_overseas); i++)
            if (!strncmp(national, phone_overseas[i].prefix, 3))
                cc = phone_overseas[i].cc;
    snprintf(out, 16, "+%.3s%.9s", cc, national);
    return 0;
}

/* Mobiles start with 6 or 7 after the country code, overseas too (639,
 * 69x). */
int referral_phone_is_mobile(const char *normalized)
{
    size_t n = strlen(normalized);
    if (n < 12 || n > 13 || normalized[0] != '+')
        return 0;
    char first = normalized[n - 9];
    return first == '6' || first == '7';
}

int referral_check_envelope(const Tremplin__SubmitReferral *r, referral_error_t *err)
{
    if (is_empty(r->branch))
        return referral_fail(err, "MISSING_FIELD", "branch", "L'agence (branch) est obligatoire.");
    if (!ids_valid(r->branch, 32))
        return referral_fail(err, "INVALID_FIELD", "branch", "Identifiant d'agence invalide.");
    if (is_empty(r->external_ref))
        return referral_fail(err, "MISSING_FIELD", "external_ref", "La référence de l'agence est obligatoire.");
    if (!ids_token(r->external_ref, 64, "-_./"))
        return referral_fail(err, "INVALID_FIELD", "external_ref",
                             "Référence invalide : 1 à 64 caractères, lettres, chiffres, - _ . /");
    if (!r->mediator || is_empty(r->mediator->id))
        return referral_fail(err, "MISSING_FIELD", "mediator.id", "L'identifiant du médiateur est obligatoire.");
    if (!ids_token(r->mediator->id, 64, "-_."))
        return referral_fail(err, "INVALID_FIELD", "mediator.id", "Identifiant de médiateur invalide.");
    if (is_empty(r->mediator->partner))
        return referral_fail(err, "MISSING_FIELD", "mediator.partner",
                             "L'association du médiateur (partner) est obligatoire.");
    if (!ids_token(r->mediator->partner, 64, "-_."))
        return referral_fail(err, "INVALID_FIELD", "mediator.partner", "Association du médiateur invalide.");
    return 0;
}

int referral_check_consent(const Tremplin__SubmitReferral *r, int64_t now_ms, referral_error_t *err)
{
    const Tremplin__Consent *c = r->consent;
    if (!c || !c->given)
        return referral_fail(err, "CONSENT_REQUIRED", "consent.given",
                             "Sans le consentement de la personne, l'orientation ne peut pas être enregistrée.");
    for (size_t i = 0; i < c->n_purposes; i++) {
        char f[48];
        snprintf(f, sizeof f, "consent.purposes[%zu]", i);
        if (referral_known_purpose(c->purposes[i]) != 0)
            return referral_fail(err, "UNKNOWN_VALUE", f, "Finalité de consentement inconnue (training, sms, survey).");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->purposes[i], c->purposes[j]))
                return referral_fail(err, "DUPLICATE_VALUE", f, "Finalité de consentement en double.");
    }
    if (!referral_has_purpose(c, "training"))
        return referral_fail(err, "CONSENT_REQUIRED", "consent.purposes",
                             "Le consentement doit couvrir la formation (training).");
    if (is_empty(c->text_version))
        return referral_fail(err, "MISSING_FIELD", "consent.text_version",
                             "La version du texte de consentement présenté est obligatoire.");
    if (!ids_token(c->text_version, 16, "-_."))
        return referral_fail(err, "INVALID_FIELD", "consent.text_version", "Version du texte de consentement invalide.");
    if (c->given_at_ms == 0)
        return referral_fail(err, "MISSING_FIELD", "consent.given_at", "La date du consentement est obligatoire.");
    if ((int64_t)c->given_at_ms > now_ms + CONSENT_MAX_AHEAD_MS)
        return referral_fail(err, "INVALID_FIELD", "consent.given_at", "La date du consentement est dans le futur.");
    if ((int64_t)c->given_at_ms < now_ms - CONSENT_MAX_AGE_MS)
        return referral_fail(err, "INVALID_FIELD", "consent.given_at",
                             "Le consentement date de plus de 90 jours : le recueillir à nouveau.");
    return 0;
}

static int check_person(const Tremplin__SubmitReferral *r, int64_t now_ms, referral_error_t *err)
{
    const Tremplin__Person *p = r->person;
    if (!p)
        return referral_fail(err, "MISSING_FIELD", "person", "Les informations sur la personne sont obligatoires.");
    int known = !is_empty(p->person_id);
    if (known && !ids_hex(p->person_id))
        return referral_fail(err, "INVALID_FIELD", "person.person_id", "Identifiant de personne invalide.");
    if (!known && is_empty(p->given_name))
        return referral_fail(err, "MISSING_FIELD", "person.given_name", "Le prénom ou les initiales sont obligatoires.");
    if (!is_empty(p->given_name) && (!is_text(p->given_name, 64) || !has_letter(p->given_name)))
        return referral_fail(err, "INVALID_FIELD", "person.given_name", "Prénom ou initiales invalides (64 caractères au plus).");
    /* only for a letter's address block: never required, never matched on */
    if (!is_empty(p->family_name) && (!is_text(p->family_name, 64) || !has_letter(p->family_name)))
        return referral_fail(err, "INVALID_FIELD", "person.family_name", "Nom de famille invalide (64 caractères au plus).");
    int has_phone = !is_empty(p->phone);
    const Tremplin__PostalAddress *a = p->address;
    int has_address = a && (!is_empty(a->line1) || !is_empty(a->postcode) || !is_empty(a->city));
    if (!known && !has_phone && !has_address)
        return referral_fail(err, "MISSING_FIELD", "person.phone",
                             "Un moyen de convocation est obligatoire : téléphone ou adresse postale.");
    if (has_phone) {
        char norm[16];
        if (referral_phone_normalize(p->phone, norm) != 0)
            return referral_fail(err, "INVALID_FIELD", "person.phone", "Numéro de téléphone français invalide.");
        if (referral_has_purpose(r->consent, "sms") && !referral_phone_is_mobile(norm))
            return referral_fail(err, "INVALID_FIELD", "person.phone",
                                 "Les SMS demandent un numéro de mobile (06 ou 07).");
    } else if (referral_has_purpose(r->consent, "sms") && !known) {
        return referral_fail(err, "MISSING_FIELD", "person.phone", "Le consentement aux SMS demande un numéro de mobile.");
    }
    if (has_address) {
        if (is_empty(a->line1) || !is_text(a->line1, 100))
            return referral_fail(err, "INVALID_FIELD", "person.address.line1", "Adresse (ligne 1) manquante ou trop longue.");
        if (!is_empty(a->line2) && !is_text(a->line2, 100))
            return referral_fail(err, "INVALID_FIELD", "person.address.line2", "Adresse (ligne 2) invalide.");
        if (!a->postcode || strlen(a->postcode) != 5 || !ids_token(a->postcode, 5, "") || strspn(a->postcode, "0123456789") != 5)
            return referral_fail(err, "INVALID_FIELD", "person.address.postcode", "Le code postal doit avoir 5 chiffres.");
        if (is_empty(a->city) || !is_text(a->city, 64))
            return referral_fail(err, "INVALID_FIELD", "person.address.city", "Commune manquante ou invalide.");
    }
    if (p->birth_year != 0) {
        time_t now = (time_t)(now_ms / 1000);
        struct tm tm;
        gmtime_r(&now, &tm);
        int year = tm.tm_year + 1900;
        if (p->birth_year < 1900 || (int)p->birth_year > year - 16)
            return referral_fail(err, "INVALID_FIELD", "person.birth_year",
                                 "Année de naissance invalide (1900 à %d, ateliers pour adultes).", year - 16);
    }
    if (!known && p->n_availability == 0)
        return referral_fail(err, "MISSING_FIELD", "person.availability",
                             "Indiquer au moins une demi-journée de disponibilité (mon-am … sat-am).");
    if (!referral_naccepted)
        referral_set_timetable_half_days(NULL, 0);
    if (check_tags(p->availability, p->n_availability, referral_naccepted, referral_accepted, "person.availability",
                   err) != 0)
        return -1;
    return check_tags(p->accessibility, p->n_accessibility, REFERRAL_MAX_ACCESS, NULL, "person.accessibility", err);
}

static int check_answers(const Tremplin__SubmitReferral *r, referral_error_t *err)
{
    if (r->n_answers > REFERRAL_MAX_ANSWERS)
        return referral_fail(err, "TOO_MANY", "answers", "Trop de réponses : au plus %d, une par question.",
                             REFERRAL_MAX_ANSWERS);
    for (size_t i = 0; i < r->n_answers; i++) {
        char f[48];
        snprintf(f, sizeof f, "answers[%zu]", i);
        const Tremplin__Answer *a = r->answers[i];
        if (a && strlen(a->question_id) > REFERRAL_QUESTION_MAX)
            return referral_fail(err, "INVALID_FIELD", f, "Identifiant de question trop long : %d caractères au plus.",
                                 REFERRAL_QUESTION_MAX);
        if (!a || !ids_token(a->question_id, REFERRAL_QUESTION_MAX, "_-"))
            return referral_fail(err, "INVALID_FIELD", f,
                                 "Identifiant de question invalide (lettres, chiffres, - et _).");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(a->question_id, r->answers[j]->question_id))
                return referral_fail(err, "DUPLICATE_VALUE", f, "Question « %s » répondue deux fois.", a->question_id);
    }
    return 0;
}

int referral_answers_text(const Tremplin__SubmitReferral *r, char *buf, size_t cap)
{
    size_t w = 0;
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_answers; i++) {
        int n = snprintf(buf + w, cap - w, "%s%s=%d", i ? " " : "", r->answers[i]->question_id, r->answers[i]->score);
        if (n < 0 || (size_t)n >= cap - w)
            return -1;
        w += (size_t)n;
    }
    return (int)w;
}

void referral_digest(const Tremplin__SubmitReferral *r, char out[TP_ID_LEN + 1])
{
    size_t len = tremplin__submit_referral__get_packed_size(r);
    uint8_t stack[4096];
    uint8_t *buf = len <= sizeof stack ? stack : xmalloc(len);
    tremplin__submit_referral__pack(r, buf);
    util_digest(buf, len, out);
    if (buf != stack)
        free(buf);
}

int referral_validate(const Tremplin__SubmitReferral *r, int64_t now_ms, referral_error_t *err)
{
    if (referral_check_envelope(r, err) != 0 || referral_check_consent(r, now_ms, err) != 0
        || check_person(r, now_ms, err) != 0)
        return -1;
    if (check_tags(r->needs, r->n_needs, REFERRAL_MAX_NEEDS, referral_needs, "needs", err) != 0)
        return -1;
    return check_answers(r, err);
}
