#include "gateway/message.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* --------------------------------------------------------------- dates */

static const char *const msg_weekdays[7] = { "dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi" };
static const char *const msg_months[12] = { "janvier", "février", "mars",      "avril",   "mai",      "juin",
                                            "juillet", "août",    "septembre", "octobre", "novembre", "décembre" };

void msg_day_fr(const cal_zone_t *zone, int64_t ms, int with_year, char *out)
{
    cal_local_t l;
    cal_to_local(zone, ms, &l);
    int y, m, d;
    cal_civil_from_days(l.days, &y, &m, &d);
    /* French writes the first of the month "1er" */
    if (with_year)
        snprintf(out, MSG_DATE_MAX, "%s %d%s %s %d", msg_weekdays[l.weekday], d, d == 1 ? "er" : "",
                 msg_months[m - 1], y);
    else
        snprintf(out, MSG_DATE_MAX, "%s %d%s %s", msg_weekdays[l.weekday], d, d == 1 ? "er" : "", msg_months[m - 1]);
}

void msg_time_fr(const cal_zone_t *zone, int64_t ms, char *out)
{
    cal_local_t l;
    cal_to_local(zone, ms, &l);
    int h = l.minute / 60, mn = l.minute % 60;
    if (mn)
        snprintf(out, MSG_DATE_MAX, "%d h %02d", h, mn);
    else
        snprintf(out, MSG_DATE_MAX, "%d h", h);
}

void msg_when_fr(const cal_zone_t *zone, int64_t ms, int with_year, char *out)
{
    char day[MSG_DATE_MAX], time[MSG_DATE_MAX];
    msg_day_fr(zone, ms, with_year, day);
    msg_time_fr(zone, ms, time);
    snprintf(out, MSG_DATE_MAX, "%.40s à %.16s", day, time);
}

/* ---------------------------------------------------------- kinds, reasons */

static const char *const msg_kind_names[MSG_NKINDS] = {
    "convocation",  "reminder",  "offer",  "session_cancelled",
    "capacity_cut", "cancelled", "survey", "not_understood", "reply_refused",
};

const char *msg_kind_name(msg_kind_t kind)
{
    return (unsigned)kind < MSG_NKINDS ? msg_kind_names[kind] : "unknown";
}

int msg_kind_of_job(const char *type, msg_kind_t *out)
{
    static const struct {
        const char *job;
        msg_kind_t kind;
    } jobs[] = {
        { "convocation", MSG_CONVOCATION },   { "reminder", MSG_REMINDER },   { "offer", MSG_OFFER },
        { "session_cancelled", MSG_SESSION_CANCELLED }, { "capacity_cut", MSG_CAPACITY_CUT },
        { "withdrawn", MSG_CANCELLED },       { "cancelled", MSG_CANCELLED }, { "survey", MSG_SURVEY },
        { "survey_invitation", MSG_SURVEY },  { "survey_reminder", MSG_SURVEY },
        { "not_understood", MSG_NOT_UNDERSTOOD }, { "reply_refused", MSG_REFUSED },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(jobs); i++)
        if (!strcmp(jobs[i].job, type)) {
            *out = jobs[i].kind;
            return 0;
        }
    return -1;
}

const char *msg_reason_fr(const char *code)
{
    static const struct {
        const char *code, *fr;
    } reasons[] = {
        { "trainer_absent", "formateur absent" },
        { "timetable_change", "changement de planning" },
        { "capacity_cut", "moins de places" },
        { "attendance_corrected", "présence corrigée" },
        { "consent_withdrawn", "consentement retiré" },
    };
    if (!code)
        return "";
    for (size_t i = 0; i < TP_ARRAY_LEN(reasons); i++)
        if (!strcmp(reasons[i].code, code))
            return reasons[i].fr;
    return code;
}

/* -------------------------------------------------------------- checks */

static const char *msg_s(const char *s) { return s ? s : ""; }

/* A field is UTF-8 without control characters (C0, DEL, C1): it goes into an
 * SMS, a PDF and a provider's JSON as it is. */
static int msg_check_field(const char *s, const char *name, char *err, size_t errlen)
{
    if (strlen(s) >= MSG_FIELD_MAX)
        return util_fail(err, errlen, "%s: longer than %d bytes", name, MSG_FIELD_MAX - 1);
    if (!g_utf8_validate(s, -1, NULL))
        return util_fail(err, errlen, "%s: not UTF-8", name);
    for (const char *p = s; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c < 0x20 || (c >= 0x7F && c < 0xA0))
            return util_fail(err, errlen, "%s: holds a control character", name);
    }
    return 0;
}

static int msg_check_session(const msg_session_t *s, const char *name, int place, char *err, size_t errlen)
{
    char f[64];
    const char *fields[3] = { s->title, s->venue_name, s->venue_address };
    const char *names[3] = { "title", "venue_name", "venue_address" };
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s.%s", name, names[i]);
        if (msg_check_field(msg_s(fields[i]), f, err, errlen) != 0)
            return -1;
    }
    if (s->start_ms <= 0)
        return util_fail(err, errlen, "%s.start_ms: required", name);
    if (place && !*msg_s(s->venue_name))
        return util_fail(err, errlen, "%s.venue_name: required", name);
    return 0;
}

static int msg_check(const msg_input_t *in, char *err, size_t errlen)
{
    if ((unsigned)in->kind >= MSG_NKINDS)
        return util_fail(err, errlen, "kind: unknown (%d)", (int)in->kind);
    if (msg_check_field(msg_s(in->given_name), "given_name", err, errlen) != 0
        || msg_check_field(msg_s(in->reason), "reason", err, errlen) != 0)
        return -1;
    switch (in->kind) {
    case MSG_CONVOCATION:
    case MSG_REMINDER:
        return msg_check_session(&in->session, "session", 1, err, errlen);
    case MSG_OFFER:
        if (in->deadline_ms <= 0)
            return util_fail(err, errlen, "deadline_ms: required");
        return msg_check_session(&in->session, "session", 1, err, errlen);
    case MSG_SESSION_CANCELLED:
    case MSG_CAPACITY_CUT:
        if (in->next.start_ms > 0 && msg_check_session(&in->next, "next", 1, err, errlen) != 0)
            return -1;
        return msg_check_session(&in->session, "session", 0, err, errlen);
    case MSG_CANCELLED:
        return msg_check_session(&in->session, "session", 0, err, errlen);
    case MSG_SURVEY:
        return msg_check_field(msg_s(in->session.title), "session.title", err, errlen);
    default:
        return 0;
    }
}

/* -------------------------------------------------------- SMS, in pieces */

/* A text is a list of pieces; an optional one names the part it belongs to,
 * so that a shorter variant leaves that part out. */
#define MSG_PIECES 16
#define MSG_PIECE_MAX (2 * MSG_FIELD_MAX + 64)

typedef struct {
    struct {
        char text[MSG_PIECE_MAX];
        unsigned part; /* 0: always there */
        int verbatim;  /* the person's name: never folded */
    } p[MSG_PIECES];
    int n;
} msg_text_t;

static void msg_piece(msg_text_t *t, unsigned part, int verbatim, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void msg_piece(msg_text_t *t, unsigned part, int verbatim, const char *fmt, ...)
{
    if (t->n == MSG_PIECES)
        abort(); /* a template with more pieces than room: a programming error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->p[t->n].text, MSG_PIECE_MAX, fmt, ap); /* fields are checked short enough */
    va_end(ap);
    t->p[t->n].part = part;
    t->p[t->n].verbatim = verbatim;
    t->n++;
}

#define MSG_ADD(t, part, ...) msg_piece(t, part, 0, __VA_ARGS__)

static const char msg_hint_cancel[] = " Indisponible ? Répondez ANNULER.";

/* "Bonjour Josiane, " ("Josiane, " without the greeting; "Bonjour, " when
 * there is no name) */
static void msg_hello(msg_text_t *t, const char *name)
{
    if (*name) {
        MSG_ADD(t, MSG_PART_GREETING, "Bonjour ");
        msg_piece(t, 0, 1, "%s", name);
        MSG_ADD(t, 0, ", ");
    } else {
        MSG_ADD(t, MSG_PART_GREETING, "Bonjour, ");
    }
}

static void msg_title(msg_text_t *t, const msg_session_t *s, const char *fmt)
{
    if (*msg_s(s->title))
        msg_piece(t, MSG_PART_TITLE, 0, fmt, s->title);
}

/* "La Poste Wilson, 12 rue …" — the address may go */
static void msg_place(msg_text_t *t, const msg_session_t *s)
{
    MSG_ADD(t, 0, "%s", s->venue_name);
    if (*msg_s(s->venue_address))
        MSG_ADD(t, MSG_PART_ADDRESS, ", %s", s->venue_address);
}

/* "votre atelier Initiation au numérique : mardi 8 décembre à 9 h 30, La
 * Poste Wilson. Indisponible ? Répondez ANNULER." */
static void msg_booked(msg_text_t *t, const msg_input_t *in)
{
    char when[MSG_DATE_MAX];
    msg_when_fr(in->zone, in->session.start_ms, 0, when);
    MSG_ADD(t, 0, "votre atelier");
    msg_title(t, &in->session, " %s");
    MSG_ADD(t, 0, " : %s, ", when);
    msg_place(t, &in->session);
    MSG_ADD(t, 0, ".");
    MSG_ADD(t, MSG_PART_HINT, "%s", msg_hint_cancel);
}

/* what follows a move: the new session, or the waitlist */
static void msg_next(msg_text_t *t, const msg_input_t *in)
{
    if (in->next.start_ms <= 0) {
        MSG_ADD(t, 0, " Nous vous proposerons une autre date.");
        return;
    }
    char when[MSG_DATE_MAX];
    msg_when_fr(in->zone, in->next.start_ms, 0, when);
    MSG_ADD(t, 0, " Nouvelle date : %s, ", when);
    if (*msg_s(in->session.venue_name) && !strcmp(in->session.venue_name, in->next.venue_name))
        MSG_ADD(t, 0, "lieu inchangé");
    else
        msg_place(t, &in->next);
    MSG_ADD(t, 0, ".");
    MSG_ADD(t, MSG_PART_HINT, "%s", msg_hint_cancel);
}

/* "Bonjour Josiane, votre atelier Initiation au numérique du mardi 8
 * décembre à 9 h 30 est annulé (formateur absent)." */
static void msg_annulled(msg_text_t *t, const msg_input_t *in, const char *what, const char *annulled,
                         const char *fallback)
{
    char when[MSG_DATE_MAX];
    const char *r = *msg_s(in->reason) ? in->reason : fallback;
    msg_hello(t, msg_s(in->given_name));
    msg_when_fr(in->zone, in->session.start_ms, 0, when);
    MSG_ADD(t, 0, "%s", what);
    msg_title(t, &in->session, " %s");
    MSG_ADD(t, 0, " du %s est %s", when, annulled);
    if (*r)
        MSG_ADD(t, MSG_PART_REASON, " (%s)", r);
    MSG_ADD(t, 0, ".");
}

/* Why a reply was not taken, in words for the person: reason is
 * "<what>:<code>" (what: cancel, offer, survey; code: the refusal's). */
static const char *msg_refusal_fr(const char *reason)
{
    static const struct {
        const char *reason, *fr;
    } words[] = {
        { "cancel:TOO_LATE", "il est trop tard pour annuler par SMS : merci de prévenir directement le formateur "
                             "ou votre médiateur." },
        { "cancel:NOT_CANCELLABLE", "cette inscription n'est plus active : il n'y a rien à annuler." },
        { "cancel:SESSION_STARTED", "l'atelier a déjà commencé : il ne peut plus être annulé." },
        { "offer:OFFER_EXPIRED", "le délai pour répondre à la place proposée est passé : elle n'est plus "
                                 "disponible." },
        { "offer:NOT_AN_OFFER", "cette place n'est plus proposée : votre réponse n'a pas été prise en compte." },
        { "survey:TOO_LATE", "merci, mais le délai pour répondre à ce questionnaire est passé." },
        { "survey:ALREADY_ANSWERED", "merci, vous avez déjà répondu à ce questionnaire : votre première réponse "
                                     "est gardée." },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(words); i++)
        if (!strcmp(words[i].reason, reason))
            return words[i].fr;
    return "votre réponse n'a pas pu être prise en compte. Pour toute question, contactez votre médiateur.";
}

/* The pieces of in's SMS, and the order its optional parts are left out. */
static void msg_sms_pieces(const msg_input_t *in, msg_text_t *t, unsigned order[5])
{
    static const unsigned booked[5] = { MSG_PART_ADDRESS, MSG_PART_HINT, MSG_PART_TITLE, MSG_PART_GREETING, 0 };
    static const unsigned offer[5] = { MSG_PART_ADDRESS, MSG_PART_TITLE, MSG_PART_GREETING, 0 };
    static const unsigned moved[5] = { MSG_PART_ADDRESS, MSG_PART_HINT, MSG_PART_TITLE, MSG_PART_GREETING,
                                      MSG_PART_REASON };
    static const unsigned cancelled[5] = { MSG_PART_TITLE, MSG_PART_GREETING, MSG_PART_REASON, 0 };
    static const unsigned survey[5] = { MSG_PART_TITLE, MSG_PART_GREETING, MSG_PART_HINT, 0 };
    const char *name = msg_s(in->given_name);
    const unsigned *o = booked;
    char when[MSG_DATE_MAX];
    t->n = 0;
    switch (in->kind) {
    case MSG_CONVOCATION:
        msg_hello(t, name);
        msg_booked(t, in);
        break;
    case MSG_REMINDER:
        MSG_ADD(t, 0, "Rappel : ");
        if (*name) {
            msg_piece(t, 0, 1, "%s", name);
            MSG_ADD(t, 0, ", ");
        }
        msg_booked(t, in);
        break;
    case MSG_OFFER:
        o = offer;
        msg_hello(t, name);
        MSG_ADD(t, 0, "une place se libère : ");
        msg_title(t, &in->session, "%s, ");
        msg_when_fr(in->zone, in->session.start_ms, 0, when);
        MSG_ADD(t, 0, "%s, ", when);
        msg_place(t, &in->session);
        msg_when_fr(in->zone, in->deadline_ms, 0, when);
        MSG_ADD(t, 0, ". Répondez OUI ou NON avant le %s.", when);
        break;
    case MSG_SESSION_CANCELLED:
    case MSG_CAPACITY_CUT: {
        int cut = in->kind == MSG_CAPACITY_CUT;
        o = moved;
        msg_annulled(t, in, cut ? "votre place à l'atelier" : "votre atelier", cut ? "annulée" : "annulé",
                     cut ? msg_reason_fr("capacity_cut") : "");
        msg_next(t, in);
        break;
    }
    case MSG_CANCELLED:
        o = cancelled;
        msg_annulled(t, in, "votre inscription à l'atelier", "annulée", "");
        break;
    case MSG_SURVEY:
        o = survey;
        msg_hello(t, name);
        MSG_ADD(t, 0, "merci pour l'atelier");
        msg_title(t, &in->session, " %s");
        MSG_ADD(t, 0, ". De 1 (très satisfait) à 4 (pas satisfait) ? Souhaitez-vous un autre atelier : OUI/NON ?");
        MSG_ADD(t, MSG_PART_HINT, " Exemple : 1 OUI");
        break;
    case MSG_REFUSED:
        o = cancelled;
        msg_hello(t, name);
        MSG_ADD(t, 0, "%s", msg_refusal_fr(msg_s(in->reason)));
        break;
    default:
        MSG_ADD(t, 0, "Réponse non comprise. Répondez OUI ou NON à une place proposée, ANNULER pour annuler "
                      "une inscription, ou après un atelier une note de 1 à 4 puis OUI ou NON.");
        break;
    }
    memcpy(order, o, 5 * sizeof *order);
}

/* The text without the parts of drop: folded into GSM-7 but for the name,
 * its first letter a capital. */
static int msg_join(const msg_text_t *t, unsigned drop, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = '\0';
    for (int i = 0; i < t->n; i++) {
        if (t->p[i].part & drop)
            continue;
        if (t->p[i].verbatim ? util_strlcpy(out + w, t->p[i].text, cap - w) : sms_fold(t->p[i].text, out + w, cap - w))
            return -1;
        w += strlen(out + w);
    }
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
    return 0;
}

int msg_sms(const msg_input_t *in, int max_segments, msg_sms_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (msg_check(in, err, errlen) != 0)
        return -1;
    msg_text_t t;
    unsigned order[5], present = 0;
    msg_sms_pieces(in, &t, order);
    for (int i = 0; i < t.n; i++)
        present |= t.p[i].part;
    /* the whole text, then without one more optional part each time: the
     * first that fits max_segments; when none does, the first that takes no
     * more segments than the shortest (nothing is left out that would not
     * save a segment) */
    unsigned drops[6] = { 0 };
    int segments[6], n = 0;
    for (int k = 0; k < 5; k++) {
        if (!(order[k] & present))
            continue; /* a part this text does not have, or the end of the order */
        drops[n + 1] = drops[n] | order[k];
        n++;
    }
    n++;
    int pick = -1;
    for (int i = 0; i < n && pick < 0; i++) {
        if (msg_join(&t, drops[i], out->text, sizeof out->text) != 0 || sms_measure(out->text, &out->size) != 0)
            return util_fail(err, errlen, "the text does not fit %d bytes", MSG_TEXT_MAX);
        segments[i] = out->size.segments;
        if (segments[i] <= max_segments)
            pick = i;
    }
    for (int i = 0; pick < 0; i++)
        if (segments[i] <= segments[n - 1])
            pick = i;
    if (msg_join(&t, drops[pick], out->text, sizeof out->text) != 0 || sms_measure(out->text, &out->size) != 0)
        return util_fail(err, errlen, "the text does not fit %d bytes", MSG_TEXT_MAX);
    out->dropped = drops[pick];
    return 0;
}

/* ------------------------------------------------------------- letters */

typedef struct {
    char *out;
    size_t cap, w;
    int full;
} msg_buf_t;

static void msg_cat(msg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msg_cat(msg_buf_t *b, const char *fmt, ...)
{
    if (b->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->out + b->w, b->cap - b->w, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->w) {
        b->full = 1;
        b->out[b->w] = '\0';
        return;
    }
    b->w += (size_t)n;
}

/* "le mardi 8 décembre 2026 de 9 h 30 à 11 h 30", then the place on lines
 * of their own */
static void msg_letter_session(msg_buf_t *b, const msg_input_t *in, const msg_session_t *s)
{
    char day[MSG_DATE_MAX], from[MSG_DATE_MAX], to[MSG_DATE_MAX];
    msg_day_fr(in->zone, s->start_ms, 1, day);
    msg_time_fr(in->zone, s->start_ms, from);
    if (s->end_ms > s->start_ms) {
        msg_time_fr(in->zone, s->end_ms, to);
        msg_cat(b, "le %s de %s à %s :\n%s", day, from, to, s->venue_name);
    } else {
        msg_cat(b, "le %s à %s :\n%s", day, from, s->venue_name);
    }
    if (*msg_s(s->venue_address))
        msg_cat(b, "\n%s", s->venue_address);
    msg_cat(b, "\n\n");
}

static void msg_letter_title(msg_buf_t *b, const msg_session_t *s)
{
    if (*msg_s(s->title))
        msg_cat(b, " « %s »", s->title);
}

static const char msg_letter_cancel[] =
    "Si vous ne pouvez pas venir, prévenez-nous : votre place pourra servir à une autre personne.\n\n";

const char *msg_letter_subject(msg_kind_t kind)
{
    switch (kind) {
    case MSG_CONVOCATION:
        return "Convocation à un atelier numérique";
    case MSG_SESSION_CANCELLED:
        return "Atelier annulé";
    case MSG_CAPACITY_CUT:
        return "Votre place à l'atelier";
    case MSG_CANCELLED:
        return "Inscription annulée";
    default:
        return "";
    }
}

int msg_letter(const msg_input_t *in, char *out, size_t cap, char *err, size_t errlen)
{
    if (cap)
        out[0] = '\0';
    if (msg_check(in, err, errlen) != 0)
        return -1;
    if (in->kind != MSG_CONVOCATION && in->kind != MSG_SESSION_CANCELLED && in->kind != MSG_CAPACITY_CUT
        && in->kind != MSG_CANCELLED)
        return util_fail(err, errlen, "kind: %s goes by SMS only", msg_kind_name(in->kind));
    msg_buf_t b = { out, cap, 0, cap == 0 };
    const char *name = msg_s(in->given_name);
    char when[MSG_DATE_MAX];
    msg_when_fr(in->zone, in->session.start_ms, 1, when);
    if (*name)
        msg_cat(&b, "Bonjour %s,\n\n", name);
    else
        msg_cat(&b, "Bonjour,\n\n");
    switch (in->kind) {
    case MSG_CONVOCATION:
        msg_cat(&b, "Une place vous est réservée à l'atelier");
        msg_letter_title(&b, &in->session);
        msg_cat(&b, ". Rendez-vous ");
        msg_letter_session(&b, in, &in->session);
        msg_cat(&b, "%s", msg_letter_cancel);
        break;
    case MSG_CANCELLED:
        msg_cat(&b, "Votre inscription à l'atelier");
        msg_letter_title(&b, &in->session);
        msg_cat(&b, " du %s est annulée", when);
        msg_cat(&b, *msg_s(in->reason) ? " (%s).\n\n" : "%s.\n\n", msg_s(in->reason));
        msg_cat(&b, "Pour toute question, contactez-nous.\n\n");
        break;
    default: {
        int cut = in->kind == MSG_CAPACITY_CUT;
        const char *reason = *msg_s(in->reason) ? in->reason : cut ? msg_reason_fr("capacity_cut") : "";
        msg_cat(&b, cut ? "Votre place à l'atelier" : "L'atelier");
        msg_letter_title(&b, &in->session);
        msg_cat(&b, cut ? " du %s est annulée" : " du %s est annulé", when);
        msg_cat(&b, *reason ? " (%s)" : "%s", reason);
        msg_cat(&b, ". Nous vous prions de nous en excuser.\n\n");
        if (in->next.start_ms > 0) {
            msg_cat(&b, "Une place vous est réservée à une nouvelle date, ");
            msg_letter_session(&b, in, &in->next);
            msg_cat(&b, "%s", msg_letter_cancel);
        } else {
            msg_cat(&b, "Nous vous proposerons une autre date dès qu'une place se libérera.\n\n");
        }
        break;
    }
    }
    msg_cat(&b, "À bientôt !");
    if (b.full)
        return util_fail(err, errlen, "the letter does not fit %zu bytes", cap);
    return 0;
}
