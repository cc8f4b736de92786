/* Unit tests for services/gateway/pdf: the sign-in sheet and the letters are
 * written into a temporary directory and read back with poppler-utils
 * (pdftotext, pdfinfo, pdffonts): names with accents (Œuvray, Nguyễn, Ğül,
 * Éléonore), dates in words, page counts, the embedded DejaVu font. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/message.h"
#include "gateway/pdf.h"

#define TUE_8_DEC_0930 1796718600000LL /* 2026-12-08T08:30Z */
#define TUE_8_DEC_1130 1796725800000LL
#define MON_30_NOV_1000 1796029200000LL

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tp_pdf_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    pdf_cleanup(); /* pango's font map and cairo's caches: not a leak, but ASan cannot tell */
    return rmdir(dir);
}

/* The output of a command (the caller frees it). */
static char *run(const char *fmt, const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, fmt, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0) {
        n += got;
        if (n + 1 == cap)
            out = realloc(out, cap *= 2);
    }
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    return out;
}

static int pages(const char *path)
{
    char *info = run("pdfinfo %s", path);
    char *p = strstr(info, "\nPages:");
    int n = p ? atoi(p + 7) : -1;
    free(info);
    return n;
}

/* every string of want is in the text of the PDF */
static void has_text(const char *path, const char *const *want)
{
    char *text = run("pdftotext -layout %s -", path);
    while (*want && strstr(text, *want))
        want++;
    if (*want)
        print_error("%s", text);
    free(text);
    if (*want)
        fail_msg("%s: \"%s\" not found", path, *want);
}

/* ------------------------------------------------------------ the sheet */

static const roster_entry_t four[] = {
    { "Œuvray", "débutant", "audition", "SMS", "K7M2Q9XH4T", "0f3a" },
    { "Nguyễn", "intermédiaire", "", "SMS", "B2C3D4E5F6", "1f3a" },
    { "Ğül", "n'a jamais utilisé le numérique", "vue, mobilité réduite", "courrier", "C3D4E5F6G7", "2f3a" },
    { "Éléonore", "débutant", "", "SMS", "D4E5F6G7H8", "3f3a", NULL, "inscription annulée" },
};

static roster_t roster(const roster_entry_t *e, size_t n)
{
    return (roster_t){ "20261208-0930-wilson-initiation", "Initiation au numérique", TUE_8_DEC_0930, TUE_8_DEC_1130,
                       "La Poste Wilson — espace numérique", "Bureau de poste Wilson, 42000 Saint-Étienne",
                       "face-loire-01", "face-loire", cal_zone("Europe/Paris"), e, n };
}

/* The sheet of n people into dir/name (path[128]); its pages. */
static int sheet(const char *name, const roster_entry_t *e, size_t n, char *path)
{
    char err[256] = "";
    snprintf(path, 128, "%s/%s", dir, name);
    roster_t r = roster(e, n);
    if (pdf_sheet(path, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    return pages(path);
}

static void test_sheet_one_page(void **state)
{
    (void)state;
    char path[128];
    assert_int_equal(sheet("sheet.pdf", four, 4, path), 1);
    static const char *const want[] = { "Feuille d'émargement", "Initiation au numérique", "Page 1 / 1",
                                        "Date : mardi 8 décembre 2026", "Horaire : 9 h 30 – 11 h 30",
                                        "Lieu : La Poste Wilson — espace numérique, Bureau de poste Wilson, 42000",
                                        "Formateur : face-loire-01", "Partenaire : face-loire",
                                        "Séance : 20261208-0930-wilson-initiation", "Prénom", "Accessibilité",
                                        "Signature", "Œuvray", "Nguyễn", "Ğül", "Éléonore", "intermédiaire",
                                        "mobilité", "Signature du formateur", "Nombre de présents",
                                        "inscription annulée", "ne pas signer", NULL };
    has_text(path, want);
    /* the font is embedded: every reader prints the same glyphs */
    char *fonts = run("pdffonts %s", path);
    assert_non_null(strstr(fonts, "DejaVuSans"));
    free(fonts);
}

/* 30 participants: as many pages as the lines need, the heading on each */
static void test_sheet_pages(void **state)
{
    (void)state;
    roster_entry_t many[30];
    char names[30][32];
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "Participant%02d", i + 1);
        many[i] = (roster_entry_t){ names[i], "débutant", i == 7 ? "fauteuil roulant, audition, vue, lecture, "
                                                                   "langue française, accompagnant"
                                                                 : "",
                                    "SMS", "K7M2Q9XH4T", "0f3a" };
    }
    many[29].given_name = "Nguyễn";
    char path[128];
    assert_int_equal(sheet("sheet30.pdf", many, 30, path), 3);
    static const char *const want[] = { "Page 1 / 3", "Page 3 / 3", "Participant01", "Participant29", "Nguyễn",
                                        "accompagnant", NULL };
    has_text(path, want);
    /* each page carries the heading */
    char *text = run("pdftotext -f 3 -l 3 %s -", path);
    assert_non_null(strstr(text, "Date : mardi 8 décembre 2026"));
    assert_non_null(strstr(text, "Nguyễn"));
    assert_null(strstr(text, "Participant01"));
    free(text);

    /* nobody yet: one page that says so */
    assert_int_equal(sheet("sheet0.pdf", NULL, 0, path), 1);
    static const char *const none[] = { "Aucun participant inscrit.", NULL };
    has_text(path, none);
}

/* ------------------------------------------------------------- letters */

static void test_letters(void **state)
{
    (void)state;
    static const char *const names[] = { "Œuvray", "Nguyễn", "Ğül", "Éléonore" };
    char bodies[4][MSG_TEXT_MAX * 2], err[256] = "";
    pdf_letter_t letters[4];
    for (int i = 0; i < 4; i++) {
        msg_input_t in = { .kind = MSG_CONVOCATION, .zone = cal_zone("Europe/Paris"), .given_name = names[i] };
        in.session = (msg_session_t){ "Initiation au numérique", TUE_8_DEC_0930, TUE_8_DEC_1130,
                                      "La Poste Wilson — espace numérique",
                                      "Bureau de poste Wilson, 42000 Saint-Étienne" };
        assert_int_equal(msg_letter(&in, bodies[i], sizeof bodies[i], err, sizeof err), 0);
        letters[i] = (pdf_letter_t){ names[i], "12 rue de la République", i == 1 ? "Bâtiment B, 3e étage" : "",
                                     "42000", "Saint-Étienne", msg_letter_subject(MSG_CONVOCATION), bodies[i] };
    }
    pdf_letterhead_t head = { "Tremplin — La Poste Wilson\n1 place Wilson, 42000 Saint-Étienne\n04 77 00 00 00",
                              "Saint-Étienne", MON_30_NOV_1000, cal_zone("Europe/Paris") };
    char path[128];
    snprintf(path, sizeof path, "%s/letters.pdf", dir);
    if (pdf_letters(path, &head, letters, 4, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(pages(path), 4);
    static const char *const want[] = { "Bonjour Œuvray,", "Bonjour Nguyễn,", "Bonjour Ğül,", "Bonjour Éléonore,",
                                        "42000 SAINT ETIENNE", "Bâtiment B, 3e étage",
                                        "Saint-Étienne, le lundi 30 novembre 2026",
                                        "Objet : Convocation à un atelier numérique",
                                        "mardi 8 décembre 2026 de 9 h 30 à 11 h 30", "Tremplin — La Poste Wilson",
                                        NULL };
    has_text(path, want);
    /* one person a page: the second page is Nguyễn's only */
    char *text = run("pdftotext -f 2 -l 2 %s -", path);
    assert_non_null(strstr(text, "Nguyễn"));
    assert_null(strstr(text, "Œuvray"));
    free(text);
}

/* A file that cannot be written: an error, and nothing left behind. */
static void test_errors(void **state)
{
    (void)state;
    char path[128], err[256] = "";
    roster_t r = roster(four, 4);
    assert_int_equal(pdf_sheet("/nonexistent/dir/sheet.pdf", &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/sheet.pdf: cannot write"));
    pdf_letterhead_t head = { "", "", MON_30_NOV_1000, cal_zone("Europe/Paris") };
    snprintf(path, sizeof path, "%s/none.pdf", dir);
    assert_int_equal(pdf_letters(path, &head, NULL, 0, err, sizeof err), -1);
    assert_string_equal(err, "no letter to print");
    assert_int_equal(access(path, F_OK), -1);
    /* the directory holds the finished files only, no temporary one */
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sheet_one_page),
        cmocka_unit_test(test_sheet_pages),
        cmocka_unit_test(test_letters),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
