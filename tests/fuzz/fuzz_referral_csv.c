/* libFuzzer target: a referral as a spreadsheet line (`tremplin referral
 * import FILE.csv`): the first line is the header, each next line a row,
 * fields split on the separator the reader finds (the tool's CSV parser,
 * libcsv, handles quoting before this point). Each row is read into the
 * JSON form, then converted and checked as intake does. A refusal always
 * says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake/referral.h"
#include "intake/referral_csv.h"
#include "intake/referral_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits line (modified) on sep into at most RC_MAX_COLS + 1 fields. */
static int split(char *line, char sep, const char **fields)
{
    int n = 0;
    for (char *p = line;;) {
        fields[n++] = p;
        char *next = strchr(p, sep);
        if (!next || n > RC_MAX_COLS)
            return n;
        *next = '\0';
        p = next + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *save = NULL, err[256];
    char *line = strtok_r(text, "\n", &save);
    if (!line) {
        free(text);
        return 0;
    }
    char sep = referral_csv_separator(line, strlen(line));
    const char *fields[RC_MAX_COLS + 2];
    referral_csv_header_t h;
    err[0] = '\0';
    if (referral_csv_header(fields, split(line, sep, fields), &h, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        free(text);
        return 0;
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        json_object *o = NULL;
        err[0] = '\0';
        if (referral_csv_row(&h, fields, split(line, sep, fields), &o, err, sizeof err) != 0) {
            if (!err[0] || o)
                abort();
            continue;
        }
        referral_json_t rj;
        if (referral_from_json(o, &rj, err, sizeof err) == 0) {
            referral_error_t rerr;
            referral_validate(&rj.referral, 1795680000000LL, &rerr);
        }
        json_object_put(o);
    }
    free(text);
    return 0;
}
