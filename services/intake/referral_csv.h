/* referral_csv — a referral as a line of a spreadsheet (what French Excel
 * saves as CSV), to the JSON form referral_json reads: one reader for both,
 * so a CSV line is checked exactly as a JSON referral is.
 *
 * Forgiving where a spreadsheet is: ';' or ',' between fields (found from
 * the header line), a UTF-8 BOM, CRLF line ends, column names in any order
 * and case, "Oui"/"OUI"/"oui", dates 28/11/2026 as well as ISO 8601,
 * surrounding spaces. Strict where a silent default would change a
 * person's level or consent: a column it does not know, a column twice, a
 * score that is not a whole number, a question answered twice, a birth
 * year that is not four digits, a yes/no that is neither — each an error
 * naming the column (the caller adds the line), never a 0 or a drop. */
#ifndef TP_REFERRAL_CSV_H
#define TP_REFERRAL_CSV_H

#include <json-c/json.h>
#include <stddef.h>

#define RC_MAX_COLS 32
#define RC_IGNORED (-1) /* a column the reader skips: "motif", the reason of a .rejected file */

/* The columns, in the order `tremplin referral template` writes them. */
extern const char *const referral_csv_columns[];
/* The column of a .rejected file that says why (ignored when read again). */
#define RC_REASON_COLUMN "motif"

typedef struct {
    int col[RC_MAX_COLS]; /* per column of the file: its index in referral_csv_columns, or RC_IGNORED */
    int ncols;
} referral_csv_header_t;

/* The separator of a CSV from its first line (outside quotes): ';' when it
 * has more semicolons than commas, else ','. */
char referral_csv_separator(const char *line, size_t len);

/* Reads the header row. 0, or -1 with "colonne N « name » : reason" in err
 * (an unknown column, one given twice, too many). */
int referral_csv_header(const char *const *fields, int n, referral_csv_header_t *h, char *err, size_t errlen);

/* One data row as the JSON form of a referral (*out, the caller's to put).
 * 0, or -1 with "colonne name : reason" in err. A row with more fields
 * than the header is refused too. */
int referral_csv_row(const referral_csv_header_t *h, const char *const *fields, int n, json_object **out, char *err,
                     size_t errlen);

#endif
