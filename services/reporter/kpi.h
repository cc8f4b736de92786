/* kpi — the figures the reporter serves, computed from aggregates
 * (figures.h), one per territory. Pure: no Redis, no clock; the same code
 * answers /api/kpi, /metrics' headline figures, the exports, the dashboard and
 * `tremplin kpi`, live or for a closed period. The definitions are
 * docs/figures.md (version KPI_DEFINITIONS); a figure that a filter cannot
 * apply to (satisfaction by branch: the survey does not know branches) is
 * null, never a number that means something else. */
#ifndef TP_KPI_H
#define TP_KPI_H

#include <json-c/json.h>
#include <stdint.h>

#include "matcher/catalogue.h"

#define KPI_DEFINITIONS "figures-1"

typedef struct {
    const char *branch;    /* NULL or "" = every branch */
    const char *partner;   /* the mediator's partner */
    const char *kind;      /* workshop kind */
    const char *territory; /* NULL or "" = every territory */
} kpi_filter_t;

typedef struct {
    const char *from, *to; /* local days "YYYY-MM-DD", within the aggregates' range */
    kpi_filter_t filter;
    const char *by; /* NULL, "week", "month", "branch", "partner", "kind", "territory" */
} kpi_query_t;

typedef struct {
    int64_t wait_warn_days;       /* the capacity outlook warns past this projected wait */
    const catalogue_t *catalogue; /* titles and partners of the kinds; may be NULL */
} kpi_conf_t;

/* The figures of aggs over [from, to] with filter: {name: number | null | {…}}. */
json_object *kpi_figures(json_object *const *aggs, int naggs, const char *from, const char *to,
                         const kpi_filter_t *filter);

/* The capacity outlook per kind (now: the aggregates' read time), with its
 * warnings: an array. */
json_object *kpi_outlook(json_object *const *aggs, int naggs, const kpi_filter_t *filter, const kpi_conf_t *conf);

/* The whole answer of /api/kpi and `tremplin kpi --json`: period, filters,
 * figures, funnel, rows (when q->by), outlook, the kinds, the labels. */
json_object *kpi_report(json_object *const *aggs, int naggs, const kpi_query_t *q, const kpi_conf_t *conf);

/* The keys of a grouping over aggs and [from, to] (weeks "2026-W49",
 * months "2026-11", branches, partners, kinds, territories), sorted, and
 * for weeks and months the days each covers within [from, to]: an array of
 * {"key", "from", "to"}. NULL for an unknown grouping. */
json_object *kpi_groups(json_object *const *aggs, int naggs, const char *by, const char *from, const char *to,
                        const kpi_conf_t *conf);

/* The French label of a figure ("Personnes formées"), or its name. */
const char *kpi_label(const char *name);
/* The figures in display order, NULL-terminated. */
extern const char *const kpi_names[];

/* Helpers shared with the exports: a percentage rounded to a tenth, as
 * integer tenths (-1 when den is 0); ms rounded to tenths of a day. */
int64_t kpi_pct_tenths(int64_t num, int64_t den);
int64_t kpi_days_tenths(int64_t ms);
/* ISO week "YYYY-Www" and month "YYYY-MM" of a day "YYYY-MM-DD". */
void kpi_week_of(const char *day, char out[9]);
void kpi_month_of(const char *day, char out[8]);

#endif
