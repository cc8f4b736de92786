#include "sms.h"

#include <glib.h>
#include <string.h>

/* ------------------------------------------------------------- alphabet */

/* The characters of the GSM-7 basic set outside printable ASCII (TS 23.038,
 * 6.2.1), and the printable ASCII it lacks. */
static const gunichar sms_basic_extra[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8, 0x00C5, 0x00E5,
    0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E, 0x00C6, 0x00E6,
    0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6,
    0x00F1, 0x00FC, 0x00E0,
};
/* the extension table: an escape septet, then the character */
static const char sms_ext_ascii[] = "^{}\\[~]|";
#define SMS_EURO 0x20AC
#define SMS_FORM_FEED 0x0C

/* Septets of c in GSM-7: 1, 2 (extension table), or 0 (not in GSM-7). */
static int sms_septets(gunichar c)
{
    if (c == '\n' || c == '\r')
        return 1;
    if (c == SMS_FORM_FEED || c == SMS_EURO)
        return 2;
    if (c >= 0x20 && c < 0x7F) {
        if (c == '`')
            return 0;
        return strchr(sms_ext_ascii, (int)c) ? 2 : 1;
    }
    for (size_t i = 0; i < sizeof sms_basic_extra / sizeof sms_basic_extra[0]; i++)
        if (sms_basic_extra[i] == c)
            return 1;
    return 0;
}

int sms_is_gsm7(const char *utf8)
{
    if (!g_utf8_validate(utf8, -1, NULL))
        return 0;
    for (const char *p = utf8; *p; p = g_utf8_next_char(p))
        if (sms_septets(g_utf8_get_char(p)) == 0)
            return 0;
    return 1;
}

/* ------------------------------------------------------------- measure */

/* Segments for characters of the given widths: one segment when the total
 * fits single, else segments of multi units, none split. */
static int sms_segments(const char *utf8, sms_coding_t coding, int total, int single, int multi)
{
    if (total <= single)
        return 1;
    int segments = 1, used = 0;
    for (const char *p = utf8; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        int w = coding == SMS_GSM7 ? sms_septets(c) : c > 0xFFFF ? 2 : 1;
        if (used + w > multi) {
            segments++;
            used = 0;
        }
        used += w;
    }
    return segments;
}

int sms_measure(const char *utf8, sms_size_t *out)
{
    memset(out, 0, sizeof *out);
    if (!g_utf8_validate(utf8, -1, NULL))
        return -1;
    int septets = 0, utf16 = 0, chars = 0, gsm = 1;
    for (const char *p = utf8; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        int w = sms_septets(c);
        gsm = gsm && w > 0;
        septets += w;
        utf16 += c > 0xFFFF ? 2 : 1;
        chars++;
    }
    out->chars = chars;
    out->coding = gsm ? SMS_GSM7 : SMS_UCS2;
    out->units = gsm ? septets : utf16;
    out->segments = gsm ? sms_segments(utf8, SMS_GSM7, septets, SMS_GSM7_SINGLE, SMS_GSM7_MULTI)
                        : sms_segments(utf8, SMS_UCS2, utf16, SMS_UCS2_SINGLE, SMS_UCS2_MULTI);
    return 0;
}

/* ---------------------------------------------------------------- fold */

/* What French text uses that GSM-7 lacks, and what stands for it. */
static const struct {
    gunichar c;
    const char *to;
} sms_folds[] = {
    { 0x00A0, " " },  { 0x2007, " " },  { 0x2009, " " },  { 0x202F, " " },  { 0x2002, " " },
    { 0x2003, " " },  { '\t', " " },    { 0x2018, "'" },  { 0x2019, "'" },  { 0x201A, "'" },
    { 0x2032, "'" },  { 0x00B4, "'" },  { '`', "'" },     { 0x201C, "\"" }, { 0x201D, "\"" },
    { 0x201E, "\"" }, { 0x00AB, "\"" }, { 0x00BB, "\"" }, { 0x2010, "-" },  { 0x2011, "-" },
    { 0x2012, "-" },  { 0x2013, "-" },  { 0x2014, "-" },  { 0x2212, "-" },  { 0x2026, "..." },
    { 0x00E2, "a" },  { 0x00E1, "a" },  { 0x00E3, "a" },  { 0x00C0, "A" },  { 0x00C2, "A" },
    { 0x00C1, "A" },  { 0x00C3, "A" },  { 0x00EA, "e" },  { 0x00EB, "e" },  { 0x00C8, "E" },
    { 0x00CA, "E" },  { 0x00CB, "E" },  { 0x00EE, "i" },  { 0x00EF, "i" },  { 0x00ED, "i" },
    { 0x00CE, "I" },  { 0x00CF, "I" },  { 0x00CC, "I" },  { 0x00CD, "I" },  { 0x00F4, "o" },
    { 0x00F3, "o" },  { 0x00F5, "o" },  { 0x00D4, "O" },  { 0x00D2, "O" },  { 0x00D3, "O" },
    { 0x00FB, "u" },  { 0x00FA, "u" },  { 0x00DB, "U" },  { 0x00D9, "U" },  { 0x00DA, "U" },
    { 0x00E7, "c" },  { 0x00FF, "y" },  { 0x0178, "Y" },  { 0x0153, "oe" }, { 0x0152, "OE" },
};

int sms_fold(const char *in, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (!g_utf8_validate(in, -1, NULL))
        return -1;
    size_t w = 0;
    for (const char *p = in; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        const char *to = NULL;
        size_t len = (size_t)(g_utf8_next_char(p) - p);
        for (size_t i = 0; i < sizeof sms_folds / sizeof sms_folds[0] && !to; i++)
            if (sms_folds[i].c == c)
                to = sms_folds[i].to;
        if (to)
            len = strlen(to);
        if (w + len >= cap)
            return -1;
        memcpy(out + w, to ? to : p, len);
        w += len;
        out[w] = '\0';
    }
    return 0;
}
