/* A referral as a CSV line (referral_csv.h): the header checked once, each
 * row turned into the JSON form that referral_json and intake check. */
#include "referral_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "clock.h"
#include "util.h"

const char *const referral_csv_columns[] = {
    "branch",        "external_ref",  "mediator_id", "partner",        "person_id",        "given_name",
    "family_name",   "phone",         "address_line1", "address_line2", "postcode",         "city",
    "birth_year",    "availability",  "accessibility", "consent_given", "consent_at",       "consent_purposes",
    "consent_version", "needs",       "answers",       NULL,
};

char referral_csv_separator(const char *line, size_t len)
{
    int semicolons = 0, commas = 0, quoted = 0;
    for (size_t i = 0; i < len && line[i] != '\n'; i++) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (!quoted && line[i] == ';')
            semicolons++;
        else if (!quoted && line[i] == ',')
            commas++;
    }
    return semicolons > commas ? ';' : ',';
}

/* s without the spaces around it, into out. */
static void rc_trim(const char *s, char *out, size_t cap)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    snprintf(out, cap, "%.*s", (int)n, s);
}

int referral_csv_header(const char *const *fields, int n, referral_csv_header_t *h, char *err, size_t errlen)
{
    if (n > RC_MAX_COLS)
        return util_fail(err, errlen, "%d colonnes au plus (il y en a %d)", RC_MAX_COLS, n);
    h->ncols = n;
    for (int i = 0; i < n; i++) {
        char name[64];
        rc_trim(fields[i], name, sizeof name);
        h->col[i] = -2;
        if (!strcasecmp(name, RC_REASON_COLUMN))
            h->col[i] = RC_IGNORED;
        for (int c = 0; referral_csv_columns[c] && h->col[i] == -2; c++)
            if (!strcasecmp(name, referral_csv_columns[c]))
                h->col[i] = c;
        if (h->col[i] == -2)
            return util_fail(err, errlen, "colonne %d « %s » : colonne inconnue (les colonnes : tremplin referral "
                                          "template)",
                             i + 1, name);
        for (int j = 0; j < i; j++)
            if (h->col[j] == h->col[i] && h->col[i] != RC_IGNORED)
                return util_fail(err, errlen, "colonne %d « %s » : colonne en double (déjà colonne %d)", i + 1, name,
                                 j + 1);
    }
    return 0;
}

/* A list of words (spaces, commas or semicolons between them). */
static json_object *rc_words(const char *s)
{
    json_object *a = json_object_new_array();
    char buf[1024];
    util_strlcpy(buf, s, sizeof buf);
    char *save = NULL;
    for (char *w = strtok_r(buf, " ,;\t", &save); w; w = strtok_r(NULL, " ,;\t", &save))
        json_object_array_add(a, json_object_new_string(w));
    return a;
}

/* "question=score ...": every score a whole number, every question once. */
static int rc_answers(const char *v, json_object *ans, char *err, size_t errlen)
{
    char buf[1024];
    util_strlcpy(buf, v, sizeof buf);
    char *save = NULL;
    for (char *w = strtok_r(buf, " ,;\t", &save); w; w = strtok_r(NULL, " ,;\t", &save)) {
        char *eq = strchr(w, '=');
        if (!eq || eq == w)
            return util_fail(err, errlen, "colonne answers : « %s » : attendu question=score (ex. email=2)", w);
        *eq = '\0';
        const char *score = eq + 1;
        const char *digits = score[0] == '-' ? score + 1 : score;
        if (!digits[0] || strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 6)
            return util_fail(err, errlen, "colonne answers : score non numérique « %s » pour la question %s", score, w);
        if (json_object_object_get_ex(ans, w, NULL))
            return util_fail(err, errlen, "colonne answers : la question %s est en double", w);
        json_object_object_add(ans, w, json_object_new_int(atoi(score)));
    }
    return 0;
}

/* oui/non as people type it; -1 if neither. */
static int rc_yes_no(const char *v)
{
    static const char *const yes[] = { "oui", "o", "yes", "y", "true", "vrai", "1", NULL };
    static const char *const no[] = { "non", "n", "no", "false", "faux", "0", NULL };
    for (int i = 0; yes[i]; i++)
        if (!strcasecmp(v, yes[i]))
            return 1;
    for (int i = 0; no[i]; i++)
        if (!strcasecmp(v, no[i]))
            return 0;
    return -1;
}

/* The consent date: 28/11/2026 (and "28/11/2026 09:30", local time), ISO
 * 2026-11-28 or 2026-11-28T09:30:00+01:00 as it is. */
static int rc_consent_at(const char *v, json_object *con, char *err, size_t errlen)
{
    int d, m, y, hh = 0, mm = 0, n = 0;
    if (sscanf(v, "%2d/%2d/%4d%n", &d, &m, &y, &n) == 3 && (n == 10 || n == 8 || n == 9)) {
        const char *rest = v + n;
        int k = 0;
        if (*rest && !(sscanf(rest, " %2d:%2d%n", &hh, &mm, &k) == 2 && !rest[k] && hh < 24 && mm < 60))
            return util_fail(err, errlen, "colonne consent_at : « %s » : date attendue JJ/MM/AAAA [HH:MM] ou ISO", v);
        char iso[11];
        snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, d);
        int32_t days;
        if (cal_parse_date(iso, 1900, 2199, &days) != 0)
            return util_fail(err, errlen, "colonne consent_at : « %s » n'est pas une date", v);
        if (*rest)
            json_object_object_add(con, "given_at_ms",
                                   json_object_new_int64(cal_from_local(clock_zone(), days, hh * 60 + mm)));
        else
            json_object_object_add(con, "given_at", json_object_new_string(iso));
        return 0;
    }
    if (strlen(v) >= 10 && v[4] == '-' && v[7] == '-') {
        json_object_object_add(con, "given_at", json_object_new_string(v)); /* ISO: intake's reader checks it */
        return 0;
    }
    return util_fail(err, errlen, "colonne consent_at : « %s » : date attendue JJ/MM/AAAA ou AAAA-MM-JJ", v);
}

/* Puts v as the column's field of the referral's JSON form. */
static int rc_field(const char *k, const char *v, json_object *root, json_object *med, json_object *per,
                    json_object *adr, json_object *con, json_object *ans, char *err, size_t errlen)
{
    if (!strcmp(k, "branch") || !strcmp(k, "external_ref"))
        json_object_object_add(root, k, json_object_new_string(v));
    else if (!strcmp(k, "mediator_id"))
        json_object_object_add(med, "id", json_object_new_string(v));
    else if (!strcmp(k, "partner"))
        json_object_object_add(med, "partner", json_object_new_string(v));
    else if (!strcmp(k, "person_id") || !strcmp(k, "given_name") || !strcmp(k, "family_name") || !strcmp(k, "phone"))
        json_object_object_add(per, k, json_object_new_string(v));
    else if (!strncmp(k, "address_", 8))
        json_object_object_add(adr, k + 8, json_object_new_string(v));
    else if (!strcmp(k, "postcode") || !strcmp(k, "city"))
        json_object_object_add(adr, k, json_object_new_string(v));
    else if (!strcmp(k, "birth_year")) {
        if (strlen(v) != 4 || strspn(v, "0123456789") != 4)
            return util_fail(err, errlen, "colonne birth_year : année de naissance invalide « %s » (4 chiffres, ex. 1948)",
                             v);
        json_object_object_add(per, k, json_object_new_int(atoi(v)));
    } else if (!strcmp(k, "availability") || !strcmp(k, "accessibility"))
        json_object_object_add(per, k, rc_words(v));
    else if (!strcmp(k, "consent_given")) {
        int yes = rc_yes_no(v);
        if (yes < 0)
            return util_fail(err, errlen, "colonne consent_given : « %s » : oui ou non attendu", v);
        json_object_object_add(con, "given", json_object_new_boolean(yes));
    } else if (!strcmp(k, "consent_at"))
        return rc_consent_at(v, con, err, errlen);
    else if (!strcmp(k, "consent_purposes"))
        json_object_object_add(con, "purposes", rc_words(v));
    else if (!strcmp(k, "consent_version"))
        json_object_object_add(con, "text_version", json_object_new_string(v));
    else if (!strcmp(k, "needs"))
        json_object_object_add(root, "needs", rc_words(v));
    else if (!strcmp(k, "answers"))
        return rc_answers(v, ans, err, errlen);
    return 0;
}

int referral_csv_row(const referral_csv_header_t *h, const char *const *fields, int n, json_object **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    if (n > h->ncols) {
        for (int i = h->ncols; i < n; i++) { /* an empty cell after the last column: Excel writes them */
            char v[8];
            rc_trim(fields[i], v, sizeof v);
            if (v[0])
                return util_fail(err, errlen, "colonne %d : valeur hors des colonnes de l'en-tête (%d colonnes)", i + 1,
                                 h->ncols);
        }
        n = h->ncols;
    }
    json_object *root = json_object_new_object(), *med = json_object_new_object(), *per = json_object_new_object(),
                *adr = json_object_new_object(), *con = json_object_new_object(), *ans = json_object_new_object();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (h->col[i] == RC_IGNORED)
            continue;
        char v[1024];
        rc_trim(fields[i], v, sizeof v);
        if (v[0])
            rc = rc_field(referral_csv_columns[h->col[i]], v, root, med, per, adr, con, ans, err, errlen);
    }
    if (json_object_object_length(adr))
        json_object_object_add(per, "address", adr);
    else
        json_object_put(adr);
    json_object_object_add(root, "mediator", med);
    json_object_object_add(root, "person", per);
    json_object_object_add(root, "consent", con);
    json_object_object_add(root, "answers", ans);
    if (rc != 0) {
        json_object_put(root);
        return -1;
    }
    *out = root;
    return 0;
}
