#include "gateway/pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/message.h"
#include "util.h"

#define PDF_A4_W 595.2756 /* points: 210 mm */
#define PDF_A4_H 841.8898 /* 297 mm */
#define PDF_MM (72.0 / 25.4)
#define PDF_FONT "DejaVu Sans"

static const char *pdf_s(const char *s) { return s ? s : ""; }

/* ------------------------------------------------------------ document */

/* A PDF being written: cairo draws into a temporary file beside path, which
 * replaces path only once the whole document is written. */
typedef struct {
    FILE *f;
    char tmp[4096];
    cairo_surface_t *surface;
    cairo_t *cr;
    PangoLayout *layout;
    int write_error;
} pdf_doc_t;

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int len)
{
    pdf_doc_t *d = closure;
    if (fwrite(data, 1, len, d->f) != len) {
        d->write_error = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

static int pdf_open(pdf_doc_t *d, const char *path, const char *title, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if ((size_t)snprintf(d->tmp, sizeof d->tmp, "%s.tmp.XXXXXX", path) >= sizeof d->tmp)
        return util_fail(err, errlen, "%s: path too long", path);
    int fd = mkstemp(d->tmp);
    if (fd < 0 || !(d->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(d->tmp);
        }
        return util_fail(err, errlen, "%s: cannot write: %s", path, strerror(e));
    }
    d->surface = cairo_pdf_surface_create_for_stream(pdf_write, d, PDF_A4_W, PDF_A4_H);
    cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(d->surface, CAIRO_PDF_METADATA_CREATOR, "Tremplin");
    d->cr = cairo_create(d->surface);
    d->layout = pango_cairo_create_layout(d->cr);
    /* one unit of the layout is one point, as on the page */
    pango_cairo_context_set_resolution(pango_layout_get_context(d->layout), 72.0);
    pango_layout_context_changed(d->layout);
    pango_layout_set_wrap(d->layout, PANGO_WRAP_WORD_CHAR);
    return 0;
}

/* Finishes the document: renamed onto path when everything was written
 * (ok), else removed. */
static int pdf_close(pdf_doc_t *d, const char *path, int ok, char *err, size_t errlen)
{
    g_object_unref(d->layout);
    cairo_destroy(d->cr);
    cairo_surface_finish(d->surface);
    cairo_status_t st = cairo_surface_status(d->surface);
    cairo_surface_destroy(d->surface);
    int closed = fclose(d->f);
    if (ok && st == CAIRO_STATUS_SUCCESS && closed == 0 && !d->write_error && rename(d->tmp, path) == 0)
        return 0;
    unlink(d->tmp);
    if (!ok)
        return -1; /* err already says why */
    if (d->write_error || closed != 0)
        return util_fail(err, errlen, "%s: cannot write: %s", path, strerror(d->write_error ? d->write_error : errno));
    if (st != CAIRO_STATUS_SUCCESS)
        return util_fail(err, errlen, "%s: %s", path, cairo_status_to_string(st));
    return util_fail(err, errlen, "%s: cannot rename into place: %s", path, strerror(errno));
}

/* Lays text out in a box width wide, in the given font ("Bold 10"), and
 * draws it at (x, y) unless draw is 0. Returns its height. */
static double pdf_text(pdf_doc_t *d, double x, double y, double width, const char *font, PangoAlignment align,
                       const char *text, int draw)
{
    char desc[64];
    snprintf(desc, sizeof desc, PDF_FONT " %s", font);
    PangoFontDescription *fd = pango_font_description_from_string(desc);
    pango_layout_set_font_description(d->layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(d->layout, (int)(width * PANGO_SCALE));
    pango_layout_set_alignment(d->layout, align);
    pango_layout_set_text(d->layout, text, -1);
    int w, h;
    pango_layout_get_size(d->layout, &w, &h);
    if (draw) {
        cairo_move_to(d->cr, x, y);
        pango_cairo_show_layout(d->cr, d->layout);
    }
    return (double)h / PANGO_SCALE;
}

#define PDF_DRAW(d, x, y, w, font, text) pdf_text(d, x, y, w, font, PANGO_ALIGN_LEFT, text, 1)

static void pdf_box(pdf_doc_t *d, double x, double y, double w, double h, double grey)
{
    cairo_rectangle(d->cr, x, y, w, h);
    if (grey < 1.0) {
        cairo_set_source_rgb(d->cr, grey, grey, grey);
        cairo_fill_preserve(d->cr);
    }
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    cairo_set_line_width(d->cr, 0.6);
    cairo_stroke(d->cr);
}

/* ------------------------------------------------------ sign-in sheet */

#define SHEET_MARGIN 40.0
#define SHEET_W (PDF_A4_W - 2 * SHEET_MARGIN)
#define SHEET_PAD 4.0
#define SHEET_ROW_MIN 36.0 /* room for a signature */
#define SHEET_FOOTER 80.0
#define SHEET_COLS 5

static const double sheet_col_w[SHEET_COLS] = { 24, 115, 125, 130, SHEET_W - 24 - 115 - 125 - 130 };
static const char *const sheet_col_name[SHEET_COLS] = { "N°", "Prénom", "Niveau", "Accessibilité", "Signature" };

#define SHEET_NOTE_MAX 400

/* The cells of participant i (its signature cell empty); a survey on paper
 * is noted under the accessibility needs, so the trainer hands it out. A
 * line kept for its number (released) says what became of it where the
 * signature would go, and is struck out (pdf_sheet). */
static void sheet_cells(const roster_t *r, size_t i, char num[16], char note[SHEET_NOTE_MAX],
                        const char *cells[SHEET_COLS])
{
    const roster_entry_t *e = &r->entries[i];
    snprintf(num, 16, "%zu", i + 1);
    if (*pdf_s(e->released)) {
        cells[0] = num;
        cells[1] = pdf_s(e->given_name);
        cells[2] = cells[3] = "";
        snprintf(note, SHEET_NOTE_MAX, "%.200s — ne pas signer", e->released);
        cells[4] = note;
        return;
    }
    cells[0] = num;
    cells[1] = pdf_s(e->given_name);
    cells[2] = pdf_s(e->level);
    cells[3] = pdf_s(e->accessibility);
    if (*pdf_s(e->survey) && strcmp(e->survey, "SMS") != 0) {
        snprintf(note, SHEET_NOTE_MAX, "%.250s%s%s", pdf_s(e->accessibility), *pdf_s(e->accessibility) ? "\n" : "",
                 e->survey);
        cells[3] = note;
    }
    cells[4] = "";
}

/* One row of the table at y; its height (the tallest cell, at least
 * min_h). Drawn when draw. */
static double sheet_row(pdf_doc_t *d, double y, const char *const *cells, const char *font, double min_h,
                        double grey, int draw)
{
    double h = min_h;
    for (int c = 0; c < SHEET_COLS; c++) {
        double t = pdf_text(d, 0, 0, sheet_col_w[c] - 2 * SHEET_PAD, font, PANGO_ALIGN_LEFT, cells[c], 0);
        if (t + 2 * SHEET_PAD > h)
            h = t + 2 * SHEET_PAD;
    }
    if (!draw)
        return h;
    double x = SHEET_MARGIN;
    for (int c = 0; c < SHEET_COLS; c++) {
        pdf_box(d, x, y, sheet_col_w[c], h, grey);
        pdf_text(d, x + SHEET_PAD, y + SHEET_PAD, sheet_col_w[c] - 2 * SHEET_PAD, font, PANGO_ALIGN_LEFT, cells[c], 1);
        x += sheet_col_w[c];
    }
    return h;
}

/* The heading every page repeats: what, when, where, who; then the table's
 * header row. Returns the y below it. */
static double sheet_heading(pdf_doc_t *d, const roster_t *r, int page, int pages, int draw)
{
    char day[MSG_DATE_MAX], from[MSG_DATE_MAX], to[MSG_DATE_MAX], line[1024], where[600];
    double y = SHEET_MARGIN, x = SHEET_MARGIN;
    msg_day_fr(r->zone, r->start_ms, 1, day);
    msg_time_fr(r->zone, r->start_ms, from);
    msg_time_fr(r->zone, r->end_ms, to);
    if (draw) {
        snprintf(line, sizeof line, "Page %d / %d", page, pages);
        pdf_text(d, x, y, SHEET_W, "9", PANGO_ALIGN_RIGHT, line, 1);
    }
    y += pdf_text(d, x, y, SHEET_W, "Bold 16", PANGO_ALIGN_LEFT, "Feuille d'émargement", draw) + 4;
    y += pdf_text(d, x, y, SHEET_W, "Bold 13", PANGO_ALIGN_LEFT, pdf_s(r->title), draw) + 6;
    snprintf(where, sizeof where, "%s%s%s", pdf_s(r->venue_name), *pdf_s(r->venue_address) ? ", " : "",
             pdf_s(r->venue_address));
    const char *labels[] = { "Date", "Horaire", "Lieu", "Formateur", "Partenaire", "Séance" };
    char horaire[2 * MSG_DATE_MAX + 8];
    if (r->end_ms > r->start_ms)
        snprintf(horaire, sizeof horaire, "%s – %s", from, to);
    else
        util_strlcpy(horaire, from, sizeof horaire);
    const char *values[] = { day, horaire, where, pdf_s(r->trainer), pdf_s(r->partner), pdf_s(r->session_id) };
    for (size_t i = 0; i < TP_ARRAY_LEN(labels); i++) {
        snprintf(line, sizeof line, "%s : %s", labels[i], values[i]);
        y += pdf_text(d, x, y, SHEET_W, "10", PANGO_ALIGN_LEFT, line, draw) + 2;
    }
    y += 8;
    return y + sheet_row(d, y, sheet_col_name, "Bold 9.5", 0, 0.88, draw);
}

/* The trainer's part at the foot of each page. */
static void sheet_footer(pdf_doc_t *d)
{
    double y = PDF_A4_H - SHEET_MARGIN - SHEET_FOOTER + 10, box_w = 200;
    PDF_DRAW(d, SHEET_MARGIN, y, 250, "10", "Nombre de présents : ________");
    PDF_DRAW(d, PDF_A4_W - SHEET_MARGIN - box_w, y, box_w, "10", "Signature du formateur :");
    pdf_box(d, PDF_A4_W - SHEET_MARGIN - box_w, y + 16, box_w, SHEET_FOOTER - 30, 1.0);
}

int pdf_sheet(const char *path, const roster_t *r, char *err, size_t errlen)
{
    pdf_doc_t d;
    if (pdf_open(&d, path, "Feuille d'émargement", err, errlen) != 0)
        return -1;
    /* first the heights, to know the pages; then the pages */
    double bottom = PDF_A4_H - SHEET_MARGIN - SHEET_FOOTER, top = sheet_heading(&d, r, 1, 1, 0);
    double *h = xcalloc(r->n ? r->n : 1, sizeof *h);
    int pages = 1, ok = 1;
    double y = top;
    for (size_t i = 0; i < r->n; i++) {
        char num[16], note[SHEET_NOTE_MAX];
        const char *cells[SHEET_COLS];
        sheet_cells(r, i, num, note, cells);
        h[i] = sheet_row(&d, 0, cells, "10", SHEET_ROW_MIN, 1.0, 0);
        if (top + h[i] > bottom) {
            util_fail(err, errlen, "participant %zu: a line taller than a page", i + 1);
            ok = 0;
            break;
        }
        if (y + h[i] > bottom) {
            pages++;
            y = top;
        }
        y += h[i];
    }
    for (int page = 1, i = 0; ok && page <= pages; page++) {
        y = sheet_heading(&d, r, page, pages, 1);
        if (r->n == 0)
            PDF_DRAW(&d, SHEET_MARGIN, y + 10, SHEET_W, "10", "Aucun participant inscrit.");
        for (; (size_t)i < r->n && y + h[i] <= bottom; i++) {
            char num[16], note[SHEET_NOTE_MAX];
            const char *cells[SHEET_COLS];
            sheet_cells(r, (size_t)i, num, note, cells);
            int struck = *pdf_s(r->entries[i].released) != '\0';
            double rh = sheet_row(&d, y, cells, "10", SHEET_ROW_MIN, struck ? 0.93 : 1.0, 1);
            if (struck) { /* a line through the name and level cells */
                cairo_move_to(d.cr, SHEET_MARGIN + sheet_col_w[0], y + rh / 2);
                cairo_line_to(d.cr, SHEET_MARGIN + sheet_col_w[0] + sheet_col_w[1] + sheet_col_w[2], y + rh / 2);
                cairo_set_line_width(d.cr, 1.0);
                cairo_stroke(d.cr);
            }
            y += rh;
        }
        sheet_footer(&d);
        cairo_show_page(d.cr);
    }
    free(h);
    return pdf_close(&d, path, ok, err, errlen);
}

/* ------------------------------------------------------------- letters */

/* The last line of an address as the postal norm (NF Z 10-011) asks:
 * capitals, no accents, no punctuation: "42000 SAINT ETIENNE". */
static void letter_city_line(const char *postcode, const char *city, char *out, size_t cap)
{
    char *nfd = g_utf8_normalize(city, -1, G_NORMALIZE_NFD);
    GString *s = g_string_new(NULL);
    for (const char *p = nfd ? nfd : ""; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_type(c) == G_UNICODE_NON_SPACING_MARK)
            continue;
        g_string_append_unichar(s, c == '-' || c == '\'' || c == 0x2019 ? ' ' : g_unichar_toupper(c));
    }
    snprintf(out, cap, "%s %s", postcode, s->str);
    g_string_free(s, TRUE);
    g_free(nfd);
}

static void letter_page(pdf_doc_t *d, const pdf_letterhead_t *head, const pdf_letter_t *l)
{
    char city[300], address[1200], date[MSG_DATE_MAX + 300], day[MSG_DATE_MAX], subject[400];
    PDF_DRAW(d, 20 * PDF_MM, 15 * PDF_MM, 85 * PDF_MM, "9", pdf_s(head->sender));
    letter_city_line(pdf_s(l->postcode), pdf_s(l->city), city, sizeof city);
    snprintf(address, sizeof address, "%s\n%s%s%s\n%s", pdf_s(l->addressee), pdf_s(l->line1),
             *pdf_s(l->line2) ? "\n" : "", pdf_s(l->line2), city);
    PDF_DRAW(d, 110 * PDF_MM, 52 * PDF_MM, 85 * PDF_MM, "11", address);
    msg_day_fr(head->zone, head->date_ms, 1, day);
    snprintf(date, sizeof date, "%s, le %s", pdf_s(head->place), day);
    PDF_DRAW(d, 110 * PDF_MM, 100 * PDF_MM, 85 * PDF_MM, "10", date);
    snprintf(subject, sizeof subject, "Objet : %s", pdf_s(l->subject));
    PDF_DRAW(d, 25 * PDF_MM, 118 * PDF_MM, 160 * PDF_MM, "Bold 11", subject);
    PDF_DRAW(d, 25 * PDF_MM, 132 * PDF_MM, 160 * PDF_MM, "11", pdf_s(l->body));
    cairo_show_page(d->cr);
}

int pdf_letters(const char *path, const pdf_letterhead_t *head, const pdf_letter_t *letters, size_t n, char *err,
                size_t errlen)
{
    if (n == 0)
        return util_fail(err, errlen, "no letter to print");
    pdf_doc_t d;
    if (pdf_open(&d, path, "Courriers Tremplin", err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        letter_page(&d, head, &letters[i]);
    return pdf_close(&d, path, 1, err, errlen);
}

/* Neither FcFini() nor cairo_debug_reset_static_data(): each asserts
 * (abort, exit 134) when a cache entry is still referenced — pango keeps
 * fonts alive past its font map — which ended `tremplin letters` and the
 * demo season now and then (fccache.c FcCacheFini; cairo-hash.c
 * _cairo_hash_table_destroy: live_entries == 0). What fontconfig and cairo
 * keep for the process's life is suppressed for LeakSanitizer
 * (tests/lsan.supp). */
void pdf_cleanup(void)
{
    pango_cairo_font_map_set_default(NULL);
}
