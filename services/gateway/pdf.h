/* pdf — the printed papers, A4, drawn with cairo and laid out with pango in
 * DejaVu Sans (fonts-dejavu-core: Latin, Greek, Cyrillic, Vietnamese …, so
 * that Œuvray, Nguyễn or Ğül print as written):
 *
 *   - the attendance sign-in sheet (feuille d'émargement) of one session:
 *     the workshop, date, time, place, trainer and partner, one numbered line
 *     per participant (first name, level, accessibility needs) with a box to
 *     sign — a line kept only for its number (roster.h) greyed, struck out,
 *     "ne pas signer" —, and on each page a box for the trainer's
 *     signature; as many pages as the lines need, each with the session's
 *     heading and "page i / n";
 *   - letters, one page per person: the sender, the address placed for a DL
 *     window envelope (window 100 × 45 mm, 20 mm from the right, 15 mm from
 *     the bottom: the block sits 110 mm from the left and 52 mm from the top
 *     of the sheet folded in three), the place and date of the letter in
 *     words, the subject and the text (message.h's msg_letter).
 *
 * Text is set as plain text, never as pango markup: a name cannot change
 * the layout. The file is written whole or not at all (a temporary file
 * renamed into place). */
#ifndef TP_PDF_H
#define TP_PDF_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "gateway/roster.h"

/* The sign-in sheet of r, into path. 0, or -1 with the reason in err. */
int pdf_sheet(const char *path, const roster_t *r, char *err, size_t errlen);

typedef struct {
    const char *addressee; /* the name as the envelope shows it */
    const char *line1, *line2;
    const char *postcode, *city; /* the last line: "42000 SAINT ETIENNE" (capitals, no accents: the postal norm) */
    const char *subject;         /* "Objet : …" (msg_letter_subject) */
    const char *body;            /* msg_letter(): paragraphs, "\n" line breaks */
} pdf_letter_t;

typedef struct {
    const char *sender;  /* the sender's block, "\n" between lines (name, address, phone) */
    const char *place;   /* where the letters are written from: "Saint-Étienne" */
    int64_t date_ms;     /* their date: "Saint-Étienne, le lundi 30 novembre 2026" */
    const cal_zone_t *zone;
} pdf_letterhead_t;

/* The n (>= 1) letters, one page each, into path. 0, or -1 with the reason
 * in err. */
int pdf_letters(const char *path, const pdf_letterhead_t *head, const pdf_letter_t *letters, size_t n, char *err,
                size_t errlen);

/* Frees what pango and cairo keep for the life of the process (the font
 * map, cairo's font caches), so that a leak checker sees a clean exit.
 * Call once at exit, after the last PDF, from the thread that drew them. */
void pdf_cleanup(void);

#endif
