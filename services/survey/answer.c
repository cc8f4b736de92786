/* answer — what makes a SubmitSurvey acceptable before Redis is asked, and
 * the French answer when it is not. Pure logic: no sockets, no Redis. What
 * needs the participation (known, attended, answered, in time, consent) is
 * survey.lua's. */
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ids.h"
#include "intake/referral.h"
#include "survey.h"

static int fail(survey_error_t *err, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(survey_error_t *err, const char *code, const char *field, const char *fmt, ...)
{
    err->code = code;
    util_strlcpy(err->field, field, sizeof err->field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message_fr, sizeof err->message_fr, fmt, ap);
    va_end(ap);
    return -1;
}

int survey_yes_no(const char *text)
{
    static const char *const yes[] = { "oui", "o", "yes", "y", "1" }, *const no[] = { "non", "n", "no", "0" };
    char *nfkd = text ? g_utf8_normalize(text, -1, G_NORMALIZE_NFKD) : NULL;
    if (!nfkd)
        return -1;
    char w[8];
    size_t len = 0;
    int bad = 0, ended = 0;
    for (const char *p = nfkd; *p && !bad; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_type(c) == G_UNICODE_NON_SPACING_MARK)
            continue;
        if (g_unichar_isspace(c)) {
            ended = len > 0; /* a space after the word: only spaces may follow */
            continue;
        }
        if (ended || c >= 0x80 || len == sizeof w - 1)
            bad = 1;
        else
            w[len++] = g_ascii_tolower((char)c);
    }
    g_free(nfkd);
    w[len] = '\0';
    for (size_t i = 0; !bad && i < TP_ARRAY_LEN(yes); i++)
        if (!strcmp(w, yes[i]))
            return 1;
    for (size_t i = 0; !bad && i < TP_ARRAY_LEN(no); i++)
        if (!strcmp(w, no[i]))
            return 0;
    return -1;
}

/* A topic a person may ask for: a kind of the catalogue or a needs tag. */
static int known_topic(const catalogue_t *cat, const char *topic)
{
    if (cat && catalogue_kind(cat, topic))
        return 1;
    for (int i = 0; referral_needs[i]; i++)
        if (!strcmp(referral_needs[i], topic))
            return 1;
    return 0;
}

int survey_answer_check(const Tremplin__SubmitSurvey *s, const catalogue_t *cat, int kiosk, survey_error_t *err)
{
    int by_id = s->participation_id[0] != '\0', by_pair = s->person_id[0] || s->session_id[0];
    if (!by_id && !by_pair)
        return fail(err, "MISSING_FIELD", "participation_id",
                    "Indiquer le questionnaire (participation_id), ou la personne et la séance.");
    if (by_id && !ids_hex(s->participation_id))
        return fail(err, "INVALID_FIELD", "participation_id", "Identifiant de questionnaire invalide.");
    if (by_pair && !ids_hex(s->person_id))
        return fail(err, "INVALID_FIELD", "person_id", "Identifiant de personne invalide.");
    if (by_pair && !ids_valid(s->session_id, 64))
        return fail(err, "INVALID_FIELD", "session_id", "Identifiant de séance invalide.");
    if (kiosk && s->channel[0] && strcmp(s->channel, "kiosk") != 0)
        return fail(err, "INVALID_FIELD", "channel", "Une borne envoie ses réponses avec le canal kiosk.");
    if (!kiosk && !s->channel[0])
        return fail(err, "MISSING_FIELD", "channel", "Canal de la réponse manquant : sms, kiosk ou paper.");
    if (s->channel[0] && strcmp(s->channel, "sms") && strcmp(s->channel, "kiosk") && strcmp(s->channel, "paper"))
        return fail(err, "UNKNOWN_VALUE", "channel", "Canal inconnu : sms, kiosk ou paper.");
    if (s->satisfaction > 4)
        return fail(err, "INVALID_FIELD", "satisfaction",
                    "Satisfaction de 1 (très satisfait) à 4 (pas satisfait), 0 si non donnée.");
    if (s->requested_topic[0]) {
        if (!s->wants_more_given || !s->wants_more)
            return fail(err, "INVALID_FIELD", "requested_topic",
                        "Un atelier demandé suppose que la personne souhaite un autre atelier.");
        if (!ids_code(s->requested_topic, CAT_CODE - 1) || !known_topic(cat, s->requested_topic))
            return fail(err, "UNKNOWN_VALUE", "requested_topic",
                        "Atelier ou besoin inconnu : « %.40s ».", s->requested_topic);
    }
    if (s->comment[0]) {
        if (!g_utf8_validate(s->comment, -1, NULL))
            return fail(err, "INVALID_FIELD", "comment", "Commentaire illisible : du texte UTF-8 est attendu.");
        if (g_utf8_strlen(s->comment, -1) > SURVEY_COMMENT_MAX)
            return fail(err, "TOO_LONG", "comment", "Commentaire trop long : %d caractères au plus.",
                        SURVEY_COMMENT_MAX);
    }
    if (!s->satisfaction && !s->wants_more_given && !s->comment[0])
        return fail(err, "MISSING_FIELD", "satisfaction",
                    "Réponse vide : ni satisfaction, ni souhait d'un autre atelier, ni commentaire.");
    return 0;
}

void survey_participation_id(const char *person_id, const char *session_id, char out[TP_ID_LEN + 1])
{
    char seed[128];
    snprintf(seed, sizeof seed, "%s|%s", person_id, session_id);
    util_derive_id(seed, "participation", 0, out);
}
