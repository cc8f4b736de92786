/* export — the CSV files the reporter hands out, computed from aggregates
 * with kpi.c: French Excel opens them as they are (UTF-8 with a BOM, ';'
 * between fields, CRLF).
 *
 *   commission   the commission's table: one row per period (month or week)
 *                × branch ("Toutes agences" first) × kind ("Tous ateliers"
 *                first); a cell a figure has no breakdown for is empty
 *   activities   one row per collective workshop held: date, time, duration,
 *                kind, themes, level, venue, attendee counts (anonymous) —
 *                the shape of the national digital-mediation activity report
 *
 * For publication (suppress_below > 0) a count from 1 to suppress_below - 1
 * is written "<N" (primary suppression), and in the commission table, in
 * every line of a period's grid (a branch across kinds, a kind across
 * branches, totals included) a second cell is suppressed wherever only one
 * is, so that no suppressed count can be found again by subtraction. */
#ifndef TP_EXPORT_H
#define TP_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "kpi.h"

/* The CSV text (caller frees) and its length; by: "month" (default) or
 * "week" or "period" (the whole range as one). */
char *export_commission(json_object *const *aggs, int naggs, const kpi_query_t *q, const kpi_conf_t *conf,
                        int suppress_below, size_t *len);
char *export_activities(json_object *const *aggs, int naggs, const kpi_query_t *q, const kpi_conf_t *conf,
                        int suppress_below, size_t *len);

/* One CSV field as Excel reads it: quoted when it holds ';', '"' or a line
 * break ("" doubled inside). */
void export_field(FILE *f, const char *s);

#endif
