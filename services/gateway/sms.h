/* sms — how long a text is as an SMS, and how to keep it in GSM-7.
 *
 * An SMS carries 140 bytes: 160 characters of the GSM-7 alphabet (3GPP TS
 * 23.038: the basic set, where é è à ù ì ò É ä ö ü ñ are; the extension
 * table's ^ { } \ [ ] ~ | € take two septets each), or, as soon as one
 * character is outside it, 70 UTF-16 units (UCS-2). A longer text is sent as
 * several segments of 153 septets or 67 units each (the rest holds the
 * concatenation header); a character is never split across two segments.
 * Operators bill per segment, and a phone shows a text of several segments
 * as one message only when every segment arrived.
 *
 * Fixed wording (titles, venues, reasons, our own templates) is folded into
 * GSM-7 where French allows it (’ → ', « » → ", — → -, ê → e, ç → c,
 * œ → oe, non-breaking spaces → spaces): a typographic dash must not cost a
 * message twice as many segments. A person's name is never folded: it is
 * written as the person writes it, and Œuvray, Nguyễn or Ğül make the whole
 * text UCS-2 (sms_measure says so). */
#ifndef TP_SMS_H
#define TP_SMS_H

#include <stddef.h>

#define SMS_GSM7_SINGLE 160 /* septets in a text of one segment */
#define SMS_GSM7_MULTI 153  /* septets per segment of a longer text */
#define SMS_UCS2_SINGLE 70  /* UTF-16 units, one segment */
#define SMS_UCS2_MULTI 67

typedef enum { SMS_GSM7 = 0, SMS_UCS2 } sms_coding_t;

typedef struct {
    sms_coding_t coding;
    int chars;    /* characters (Unicode code points) */
    int units;    /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    int segments; /* 1 for the empty text */
} sms_size_t;

/* The coding, length and segments of a UTF-8 text; -1 when it is not valid
 * UTF-8 (out is then zeroed). */
int sms_measure(const char *utf8, sms_size_t *out);

/* 1 when every character of the UTF-8 text is in GSM-7 (basic set or
 * extension table). */
int sms_is_gsm7(const char *utf8);

/* Copies in to out[cap] with the folds above; characters without a GSM-7
 * form are kept as they are. Returns 0, or -1 when in is not UTF-8 or the
 * result does not fit (out then holds what fitted, on a character boundary). */
int sms_fold(const char *in, char *out, size_t cap);

#endif
