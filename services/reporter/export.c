/* export — CSV for the commission and for the activity report (export.h). */
#include <stdio.h>

#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "figures.h"
#include "util.h"

#define CSV_BOM "\xEF\xBB\xBF"

void export_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ";\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void row_end(FILE *f) { fputs("\r\n", f); }

/* A count as published: "" not applicable, "<N" suppressed, else the number. */
static void count_field(FILE *f, int64_t v, int suppressed, int below)
{
    if (v < 0)
        return;
    if (suppressed)
        fprintf(f, "<%d", below);
    else
        fprintf(f, "%lld", (long long)v);
}

/* ------------------------------------------------------------ commission */

static const char *const commission_cols[] = {
    "referrals_received", "referrals_accepted", "people_accompanied", "assigned", "bookings",
    "attended", "noshow", "excused", "people_trained",
};
#define NCOLS ((int)TP_ARRAY_LEN(commission_cols))

static const char *const commission_heads[NCOLS] = {
    "Orientations reçues", "Orientations acceptées", "Personnes accompagnées", "Orientations vers l'atelier",
    "Inscriptions", "Présences", "Absences", "Absences excusées", "Personnes formées",
};

/* One period's grid: (branches + 1) × (kinds + 1) cells of NCOLS values,
 * index 0 being "all" on both axes. */
typedef struct {
    int nb, nk;
    int64_t *v;     /* value or -1 */
    char *hidden;   /* suppressed */
} grid_t;

#define CELL(g, b, k, c) ((((size_t)(b) * (size_t)((g)->nk + 1)) + (size_t)(k)) * NCOLS + (size_t)(c))

/* In a line of n cells (stride apart from first), suppress a second cell
 * where exactly one is: the smallest positive one not yet hidden. Returns 1
 * when it hid one. */
static int line_protect(grid_t *g, size_t first, size_t stride, int n)
{
    int hidden = 0, best = -1;
    for (int i = 0; i < n; i++) {
        size_t at = first + (size_t)i * stride;
        if (g->hidden[at])
            hidden++;
        else if (g->v[at] > 0 && (best < 0 || g->v[at] < g->v[first + (size_t)best * stride]))
            best = i;
    }
    if (hidden != 1 || best < 0)
        return 0;
    g->hidden[first + (size_t)best * stride] = 1;
    return 1;
}

static void grid_suppress(grid_t *g, int below)
{
    size_t n = (size_t)(g->nb + 1) * (size_t)(g->nk + 1) * NCOLS;
    for (size_t i = 0; i < n; i++)
        g->hidden[i] = g->v[i] > 0 && g->v[i] < below;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int c = 0; c < NCOLS; c++) {
            for (int b = 0; b <= g->nb; b++) /* a branch across kinds */
                changed |= line_protect(g, CELL(g, b, 0, c), NCOLS, g->nk + 1);
            for (int k = 0; k <= g->nk; k++) /* a kind across branches */
                changed |= line_protect(g, CELL(g, 0, k, c), (size_t)(g->nk + 1) * NCOLS, g->nb + 1);
        }
    }
}

static const char *kind_title(const kpi_conf_t *conf, const char *code)
{
    const cat_kind_t *k = conf && conf->catalogue ? catalogue_kind(conf->catalogue, code) : NULL;
    return k ? k->title_fr : code;
}

char *export_commission(json_object *const *aggs, int naggs, const kpi_query_t *q, const kpi_conf_t *conf,
                        int suppress_below, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    fputs(CSV_BOM "Période;Du;Au;Agence;Type d'atelier", f);
    for (int c = 0; c < NCOLS; c++) {
        fputc(';', f);
        export_field(f, commission_heads[c]);
    }
    row_end(f);
    const char *by = q->by && !strcmp(q->by, "week") ? "week" : q->by && !strcmp(q->by, "period") ? NULL : "month";
    json_object *periods = by ? kpi_groups(aggs, naggs, by, q->from, q->to, conf) : NULL;
    if (!periods) {
        periods = json_object_new_array();
        json_object *r = json_object_new_object();
        json_object_object_add(r, "key", json_object_new_string("période"));
        json_object_object_add(r, "from", json_object_new_string(q->from));
        json_object_object_add(r, "to", json_object_new_string(q->to));
        json_object_array_add(periods, r);
    }
    json_object *branches = kpi_groups(aggs, naggs, "branch", q->from, q->to, conf);
    json_object *kinds = kpi_groups(aggs, naggs, "kind", q->from, q->to, conf);
    /* a filter keeps its own branch or kind only */
    grid_t g = { (int)json_object_array_length(branches), (int)json_object_array_length(kinds), NULL, NULL };
    size_t ncells = (size_t)(g.nb + 1) * (size_t)(g.nk + 1) * NCOLS;
    g.v = xcalloc(ncells, sizeof *g.v);
    g.hidden = xcalloc(ncells, 1);
    for (size_t p = 0; p < json_object_array_length(periods); p++) {
        json_object *per = json_object_array_get_idx(periods, p);
        const char *from = fig_str(per, "from"), *to = fig_str(per, "to");
        for (int b = 0; b <= g.nb; b++)
            for (int k = 0; k <= g.nk; k++) {
                kpi_filter_t flt = q->filter;
                if (b > 0)
                    flt.branch = fig_str(json_object_array_get_idx(branches, (size_t)b - 1), "key");
                if (k > 0)
                    flt.kind = fig_str(json_object_array_get_idx(kinds, (size_t)k - 1), "key");
                json_object *figs = kpi_figures(aggs, naggs, from, to, &flt);
                for (int c = 0; c < NCOLS; c++) {
                    json_object *v = NULL;
                    json_object_object_get_ex(figs, commission_cols[c], &v);
                    g.v[CELL(&g, b, k, c)] = v ? json_object_get_int64(v) : -1;
                }
                json_object_put(figs);
            }
        if (suppress_below > 0)
            grid_suppress(&g, suppress_below);
        for (int b = 0; b <= g.nb; b++)
            for (int k = 0; k <= g.nk; k++) {
                const char *branch = b ? fig_str(json_object_array_get_idx(branches, (size_t)b - 1), "key")
                                       : "Toutes agences";
                const char *kind = k ? kind_title(conf, fig_str(json_object_array_get_idx(kinds, (size_t)k - 1), "key"))
                                     : "Tous ateliers";
                export_field(f, fig_str(per, "key"));
                fprintf(f, ";%s;%s;", from, to);
                export_field(f, branch);
                fputc(';', f);
                export_field(f, kind);
                for (int c = 0; c < NCOLS; c++) {
                    fputc(';', f);
                    count_field(f, g.v[CELL(&g, b, k, c)], g.hidden[CELL(&g, b, k, c)], suppress_below);
                }
                row_end(f);
            }
    }
    free(g.v);
    free(g.hidden);
    json_object_put(periods);
    json_object_put(branches);
    json_object_put(kinds);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------ activities */

/* The level words of the national report for the levels a kind serves. */
static void level_words(const cat_kind_t *k, char *out, size_t cap)
{
    out[0] = '\0';
    if (!k)
        return;
    const char *words[] = { "Débutant", "Débutant", "Intermédiaire", "Avancé" };
    const char *last = NULL;
    for (int l = 0; l < 4; l++) {
        if (!(k->levels & (1u << l)) || (last && !strcmp(last, words[l])))
            continue;
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? " / " : "", words[l]);
        last = words[l];
    }
}

typedef struct {
    json_object *s;
    int64_t start;
} held_t;

static int cmp_held(const void *a, const void *b)
{
    const held_t *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return strcmp(fig_str(x->s, "id"), fig_str(y->s, "id"));
}

char *export_activities(json_object *const *aggs, int naggs, const kpi_query_t *q, const kpi_conf_t *conf,
                        int suppress_below, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    fputs(CSV_BOM "Date;Heure;Durée (minutes);Type d'activité;Atelier;Thématiques;Niveau;Lieu;Territoire;"
                  "Participants;Absents;Absents excusés;Places\r\n", f);
    size_t n = 0, cap = 16;
    held_t *held = xmalloc(cap * sizeof *held);
    for (int a = 0; a < naggs; a++) {
        json_object *sessions;
        const char *terr = fig_str(aggs[a], "territory");
        if ((q->filter.territory && *q->filter.territory && strcmp(terr, q->filter.territory))
            || !json_object_object_get_ex(aggs[a], "sessions", &sessions))
            continue;
        int64_t now = fig_int(aggs[a], "now_ms");
        for (size_t i = 0; i < json_object_array_length(sessions); i++) {
            json_object *s = json_object_array_get_idx(sessions, i);
            const char *day = fig_str(s, "day");
            if (strcmp(day, q->from) < 0 || strcmp(day, q->to) > 0 || strcmp(fig_str(s, "status"), "open")
                || fig_int(s, "start") > now || (q->filter.kind && *q->filter.kind && strcmp(fig_str(s, "kind"), q->filter.kind)))
                continue;
            json_object_object_add(s, "territory", json_object_new_string(terr));
            if (n == cap)
                held = xrealloc(held, (cap *= 2) * sizeof *held);
            held[n++] = (held_t){ s, fig_int(s, "start") };
        }
    }
    qsort(held, n, sizeof *held, cmp_held);
    for (size_t i = 0; i < n; i++) {
        json_object *s = held[i].s;
        const cat_kind_t *k = conf && conf->catalogue ? catalogue_kind(conf->catalogue, fig_str(s, "kind")) : NULL;
        cal_local_t lt;
        clock_local(held[i].start, &lt);
        char themes[400] = "", level[64];
        for (int j = 0; k && j < k->nneeds; j++) {
            size_t l = strlen(themes);
            snprintf(themes + l, sizeof themes - l, "%s%s", l ? ", " : "", k->needs[j]);
        }
        level_words(k, level, sizeof level);
        int64_t minutes = (fig_int(s, "end") - held[i].start) / 60000;
        fprintf(f, "%s;%02d:%02d;%lld;Atelier collectif;", fig_str(s, "day"), lt.minute / 60, lt.minute % 60,
                (long long)(minutes > 0 ? minutes : (k ? k->duration_min : 0)));
        export_field(f, k ? k->title_fr : fig_str(s, "kind"));
        fputc(';', f);
        export_field(f, themes[0] ? themes : (k ? k->title_fr : fig_str(s, "kind")));
        fputc(';', f);
        export_field(f, level);
        fputc(';', f);
        export_field(f, fig_str(s, "venue"));
        fputc(';', f);
        export_field(f, fig_str(s, "territory"));
        const char *counts[] = { "seen", "noshow", "excused" };
        for (size_t c = 0; c < TP_ARRAY_LEN(counts); c++) {
            int64_t v = fig_int(s, counts[c]);
            fputc(';', f);
            count_field(f, v, suppress_below > 0 && v > 0 && v < suppress_below, suppress_below);
        }
        fprintf(f, ";%lld", (long long)fig_int(s, "capacity"));
        row_end(f);
    }
    free(held);
    fclose(f);
    return buf;
}
