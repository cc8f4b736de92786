#include "gateway/reply.h"

#include <glib.h>
#include <string.h>

#define REPLY_MAX_BYTES 1024 /* a reply longer than a few SMS is not an answer */
#define REPLY_MAX_WORDS 8
#define REPLY_WORD 16

/* ------------------------------------------------------------ words */

/* The text as lowercase ASCII words: accents taken off (NFKD, then the
 * combining marks left out), letters and digits kept, everything else a
 * space, and a space between a digit and a letter ("1oui" is "1 oui").
 * Returns the number of words, or -1 when there are too many, one is too
 * long, or a character is neither a space nor punctuation nor an ASCII
 * letter once its accents are off. */
static int reply_words(const char *text, char words[REPLY_MAX_WORDS][REPLY_WORD])
{
    char *nfkd = g_utf8_normalize(text, -1, G_NORMALIZE_NFKD);
    if (!nfkd)
        return -1;
    int n = 0, len = 0, bad = 0;
    char prev = ' ';
    for (const char *p = nfkd; *p && !bad; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_type(c) == G_UNICODE_NON_SPACING_MARK)
            continue;
        char a = ' ';
        if (c < 0x80 && g_ascii_isalnum((char)c))
            a = g_ascii_tolower((char)c);
        else if (g_unichar_isalnum(c))
            bad = 1; /* a letter of another script, or one NFKD does not reduce to ASCII (œ, ß) */
        int boundary = a == ' ' || (prev != ' ' && g_ascii_isdigit(prev) != g_ascii_isdigit(a));
        if (boundary && len > 0) {
            words[n++][len] = '\0';
            len = 0;
        }
        if (a != ' ') {
            if (n == REPLY_MAX_WORDS || len == REPLY_WORD - 1)
                bad = 1;
            else
                words[n][len++] = a;
        }
        prev = a;
    }
    if (!bad && len > 0)
        words[n++][len] = '\0';
    g_free(nfkd);
    return bad ? -1 : n;
}

static int reply_is(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return 1;
    return 0;
}

/* ------------------------------------------------------------- parse */

void reply_parse(const char *text, reply_t *out)
{
    static const char *const yes[] = { "oui", "o", NULL };
    static const char *const no[] = { "non", "n", NULL };
    static const char *const cancel[] = { "annuler", "annulez", "annule", "annulation", NULL };
    static const char *const polite[] = { "merci", "bonjour", "bonsoir", "svp", NULL };
    *out = (reply_t){ REPLY_NOT_UNDERSTOOD, 0, -1 };
    char words[REPLY_MAX_WORDS][REPLY_WORD];
    int n = strlen(text) > REPLY_MAX_BYTES || !g_utf8_validate(text, -1, NULL) ? -1 : reply_words(text, words);
    int yes_no = -1, score = 0, cancelled = 0;
    for (int i = 0; i < n; i++) {
        const char *w = words[i];
        int v = reply_is(w, yes) ? 1 : reply_is(w, no) ? 0 : -1;
        if (v >= 0) {
            if (yes_no >= 0 && yes_no != v)
                return; /* OUI and NON */
            yes_no = v;
        } else if (reply_is(w, cancel)) {
            cancelled = 1;
        } else if (g_ascii_isdigit(w[0])) {
            if (score || strlen(w) != 1 || w[0] < '1' || w[0] > '4')
                return; /* two scores, or not one from 1 to 4 */
            score = w[0] - '0';
        } else if (!reply_is(w, polite)) {
            return;
        }
    }
    if (cancelled) {
        if (yes_no < 0 && !score)
            out->kind = REPLY_CANCEL;
        return;
    }
    out->yes_no = yes_no;
    if (score) {
        out->kind = REPLY_SURVEY;
        out->score = score;
    } else if (yes_no >= 0) {
        out->kind = yes_no ? REPLY_YES : REPLY_NO;
    }
}

const char *reply_kind_name(reply_kind_t kind)
{
    static const char *const names[] = { "not_understood", "yes", "no", "cancel", "survey" };
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "not_understood";
}
