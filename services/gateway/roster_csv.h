/* roster_csv — a session's roster as CSV for the trainer: one row per
 * participant (line number, first name, level, accessibility, how they were
 * convoked, booking id and person id — the handles `tremplin attendance`
 * takes —, how the survey reaches them: SMS or a paper questionnaire, and
 * for a line kept only for its number what became of the booking:
 * "inscription annulée" …, empty for a participant), under a header row.
 *
 * RFC 4180: CRLF line ends; a field holding the separator, a quote, CR or LF
 * is quoted, its quotes doubled. UTF-8 with a byte order mark, so that Excel
 * reads the accents right. The separator is the caller's: ',' as RFC 4180
 * says, or ';', which Excel expects in a French locale (where ',' is the
 * decimal mark) — with ',' a French Excel shows each row in one cell. A field
 * that starts with = + - @ or a tab is prefixed with ' (and quoted): a name
 * sent by a branch system must not run as a spreadsheet formula. */
#ifndef TP_ROSTER_CSV_H
#define TP_ROSTER_CSV_H

#include <stdio.h>

#include "gateway/roster.h"

/* Writes r to f. 0, or -1 on a write error or a separator that is not ','
 * or ';'. */
int roster_csv_write(FILE *f, const roster_t *r, char sep);

#endif
