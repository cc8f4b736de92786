#include "gateway/roster_csv.h"

#include <string.h>

/* One field, quoted when it must be. */
static void roster_csv_field(FILE *f, const char *s, char sep)
{
    s = s ? s : "";
    int formula = strchr("=+-@\t\r", s[0]) && s[0];
    int quote = formula || strchr(s, sep) || strpbrk(s, "\"\r\n");
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void roster_csv_row(FILE *f, const char *const *fields, size_t n, char sep)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(sep, f);
        roster_csv_field(f, fields[i], sep);
    }
    fputs("\r\n", f);
}

int roster_csv_write(FILE *f, const roster_t *r, char sep)
{
    static const char *const header[] = { "N°", "Prénom", "Niveau", "Accessibilité", "Convocation", "Réservation",
                                          "Personne", "Questionnaire", "Inscription" };
    if (sep != ',' && sep != ';')
        return -1;
    fputs("\xef\xbb\xbf", f);
    roster_csv_row(f, header, sizeof header / sizeof header[0], sep);
    for (size_t i = 0; i < r->n; i++) {
        const roster_entry_t *e = &r->entries[i];
        char line[24];
        snprintf(line, sizeof line, "%zu", i + 1);
        const char *const row[] = { line, e->given_name, e->level, e->accessibility, e->convoked_by, e->booking_id,
                                    e->person_id, e->survey, e->released };
        roster_csv_row(f, row, sizeof row / sizeof row[0], sep);
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
