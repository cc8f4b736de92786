/* tremplin kpi — the reporter's figures in a terminal, computed by the same
 * code as /api/kpi (services/reporter/kpi.c) from the same Redis state, read
 * as the operator: it works also while the reporter is stopped.
 *
 *   tremplin kpi [--from D] [--to D] [--by week|month|branch|partner|kind|territory]
 *                [--branch B] [--partner P] [--kind K] [--territory T] [--json]
 *   tremplin kpi --export commission|activities [--publication] ...   the CSV, on stdout
 *   tremplin kpi close --from D --to D      freeze a period that is over (ClosePeriod)
 *   tremplin kpi periods                    the closed periods */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "ids.h"
#include "reporter/export.h"
#include "reporter/figures.h"
#include "reporter/reporter.h"
#include "util.h"

/* A number as a French reader writes it: "62,5"; "–" when not applicable. */
static void fr_value(json_object *v, char *out, size_t cap)
{
    if (!v) {
        util_strlcpy(out, "–", cap);
        return;
    }
    if (json_object_is_type(v, json_type_object)) {
        out[0] = '\0';
        json_object_object_foreach(v, k, n)
        {
            size_t l = strlen(out);
            snprintf(out + l, cap - l, "%s%s : %lld", l ? ", " : "", k, (long long)json_object_get_int64(n));
        }
        if (!out[0])
            util_strlcpy(out, "–", cap);
        return;
    }
    util_strlcpy(out, json_object_get_string(v), cap);
    char *dot = strchr(out, '.');
    if (dot && json_object_is_type(v, json_type_double))
        *dot = ',';
}

static json_object *get(json_object *o, const char *k)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return v;
}

static const char *const table_cols[] = {
    "referrals_accepted", "people_accompanied", "people_booked", "people_trained", "attended", "noshow_rate",
    "fill_rate", "wait_days_median",
};

/* The rows of a breakdown (--by): each column as wide as its widest cell
 * (labels and values in characters, not bytes), the keys to the left, the
 * figures to the right, so a column's " | " is on the same place on every
 * line. */
static void print_rows(const char *by, json_object *rows)
{
    enum { NCOLS = TP_ARRAY_LEN(table_cols) };
    size_t nrows = json_object_array_length(rows);
    int w[1 + NCOLS] = { 0 };
    char val[256], cell[512];
    cli_fit(&w[0], by);
    for (size_t c = 0; c < NCOLS; c++)
        cli_fit(&w[1 + c], kpi_label(table_cols[c]));
    for (size_t i = 0; i < nrows; i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        cli_fit(&w[0], json_object_get_string(get(row, "key")));
        for (size_t c = 0; c < NCOLS; c++) {
            fr_value(get(get(row, "figures"), table_cols[c]), val, sizeof val);
            cli_fit(&w[1 + c], val);
        }
    }
    printf("\n%s", cli_pad(by, w[0], cell, sizeof cell));
    for (size_t c = 0; c < NCOLS; c++)
        printf(" | %s", c + 1 < NCOLS ? cli_pad(kpi_label(table_cols[c]), w[1 + c], cell, sizeof cell)
                                      : kpi_label(table_cols[c]));
    printf("\n");
    for (size_t i = 0; i < nrows; i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        printf("%s", cli_pad(json_object_get_string(get(row, "key")), w[0], cell, sizeof cell));
        for (size_t c = 0; c < NCOLS; c++) {
            fr_value(get(get(row, "figures"), table_cols[c]), val, sizeof val);
            printf(" | %*s%s", w[1 + c] - cli_chars(val), "", val);
        }
        printf("\n");
    }
}

static void print_table(json_object *rep)
{
    json_object *period = get(rep, "period"), *filters = get(rep, "filters");
    printf("Période du %s au %s%s\n", json_object_get_string(get(period, "from")), json_object_get_string(get(period, "to")),
           json_object_get_boolean(get(period, "closed")) ? " (close : chiffres figés)" : "");
    json_object_object_foreach(filters, name, v)
    {
        if (v)
            printf("Filtre %s : %s\n", name, json_object_get_string(v));
    }
    json_object *rows = get(rep, "rows");
    char val[256];
    if (rows && json_object_array_length(rows) > 0) {
        const char *by = json_object_get_string(get(rep, "by"));
        static const char *const heads[][2] = { { "week", "Semaine" }, { "month", "Mois" }, { "branch", "Agence" },
                                                { "partner", "Partenaire" }, { "kind", "Type d'atelier" },
                                                { "territory", "Territoire" } };
        for (size_t h = 0; h < TP_ARRAY_LEN(heads); h++)
            if (!strcmp(by, heads[h][0]))
                by = heads[h][1];
        print_rows(by, rows);
        return;
    }
    printf("\n");
    json_object *figs = get(rep, "figures");
    for (int i = 0; kpi_names[i]; i++) {
        fr_value(get(figs, kpi_names[i]), val, sizeof val);
        char label[160];
        printf("%s %s\n", cli_pad(kpi_label(kpi_names[i]), 50, label, sizeof label), val);
    }
    json_object *ol = get(rep, "outlook");
    if (ol && json_object_array_length(ol) > 0) {
        printf("\nPrévision de capacité (4 semaines) :\n");
        for (size_t i = 0; i < json_object_array_length(ol); i++) {
            json_object *k = json_object_array_get_idx(ol, i);
            char wait[32], seats[32];
            fr_value(get(k, "projected_wait_days"), wait, sizeof wait);
            fr_value(get(k, "weekly_seats"), seats, sizeof seats);
            printf("  %-32s en attente %lld, places/semaine %s, attente prévue %s j%s%s\n",
                   json_object_get_string(get(k, "title")), (long long)json_object_get_int64(get(k, "waiting")), seats,
                   wait, get(k, "warning_fr") ? " — " : "",
                   get(k, "warning_fr") ? json_object_get_string(get(k, "warning_fr")) : "");
        }
    }
}

static void kpi_tell_close(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    const char *const *period = arg;
    printf("Période du %s au %s close%s : ses chiffres sont figés\n", period[0], period[1],
           ack->duplicate ? " (elle l'était déjà)" : "");
}

static int kpi_close(cli_t *cli, const char *from, const char *to)
{
    if (!from || !to)
        return cli_misuse(cli, "close : --from et --to sont obligatoires");
    const char *period[2] = { from, to };
    int rc = 0;
    for (int t = 0; t < cli->nterritories; t++) {
        Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
        Tremplin__ClosePeriod c = TREMPLIN__CLOSE_PERIOD__INIT;
        c.from = (char *)from;
        c.to = (char *)to;
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CLOSE_PERIOD;
        env.close_period = &c;
        env.territory = (char *)cli->territories[t];
        int r = cli_send(cli, "reporter", &env, kpi_tell_close, period);
        rc = r > rc ? r : rc;
    }
    return rc;
}

static int kpi_periods(cli_t *cli)
{
    rds_t *rds = cli_redis(cli);
    if (!rds)
        return 1;
    for (int t = 0; t < cli->nterritories; t++) {
        json_object *l = fig_closed_list(rds, cli->territories[t]);
        if (!l) {
            fprintf(stderr, "tremplin : Redis injoignable\n");
            return 1;
        }
        json_object_object_foreach(l, period, ms)
        {
            char day[11];
            clock_local_day(json_object_get_int64(ms), day);
            printf("territoire %s  période %s  close le %s\n", cli->territories[t], period, day);
        }
        json_object_put(l);
    }
    return 0;
}

json_object *cli_kpi_report(cli_t *cli, const char *from, const char *to)
{
    reporter_conf_t rc;
    char err[512];
    if (cli_conf_part(cli, "reporter", reporter_conf_fields, reporter_nconf_fields, &rc) != 0)
        return NULL;
    rds_t *rds = cli_redis(cli);
    if (!rds)
        return NULL;
    catalogue_t *cat = xmalloc(sizeof *cat);
    if (reporter_load_catalogue(cli->conf_path, cat, err, sizeof err) != 0) {
        free(cat);
        cat = NULL;
    }
    json_object *aggs[SVC_MAX_TERRITORIES], *rep = NULL;
    kpi_query_t q = { 0 };
    q.from = from;
    q.to = to;
    int n = reporter_aggregates(rds, cli->territories, cli->nterritories, NULL, from, to, clock_now_ms(), 1, aggs, err,
                                sizeof err);
    if (n < 0) {
        fprintf(stderr, "tremplin : %s\n", err);
    } else {
        kpi_conf_t kc = { rc.wait_warn_days, cat };
        rep = kpi_report(aggs, n, &q, &kc);
    }
    for (int i = 0; i < n; i++)
        json_object_put(aggs[i]);
    free(cat);
    return rep;
}

int cli_kpi(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "from", required_argument, NULL, 'f' },      { "to", required_argument, NULL, 't' },
        { "by", required_argument, NULL, 'b' },        { "branch", required_argument, NULL, 'B' },
        { "partner", required_argument, NULL, 'P' },   { "kind", required_argument, NULL, 'K' },
        { "territory", required_argument, NULL, 'T' }, { "json", no_argument, NULL, 'j' },
        { "export", required_argument, NULL, 'e' },    { "publication", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 1, &a) != 0)
        return CLI_REFUSED;
    const char *from = a.opt['f'], *to = a.opt['t'], *exp = a.opt['e'];
    kpi_query_t q = { 0 };
    q.by = a.opt['b'];
    q.filter.branch = a.opt['B'];
    q.filter.partner = a.opt['P'];
    q.filter.kind = a.opt['K'];
    q.filter.territory = a.opt['T'];
    int json = a.opt['j'] != NULL, publication = a.opt['p'] != NULL;
    if (a.nwords == 1 && !strcmp(a.word[0], "close"))
        return kpi_close(cli, from, to);
    if (a.nwords == 1 && !strcmp(a.word[0], "periods"))
        return kpi_periods(cli);
    if (a.nwords == 1)
        return cli_misuse(cli, "action inconnue : %s (close ou periods)", a.word[0]);
    const char *dims[] = { q.filter.branch, q.filter.partner, q.filter.kind, q.filter.territory };
    for (size_t i = 0; i < TP_ARRAY_LEN(dims); i++)
        if (dims[i] && !ids_token(dims[i], 64, "-_.")) {
            return cli_misuse(cli, "filtre invalide : %s", dims[i]);
        }
    if (q.by && strcmp(q.by, "week") && strcmp(q.by, "month") && strcmp(q.by, "branch") && strcmp(q.by, "partner")
        && strcmp(q.by, "kind") && strcmp(q.by, "territory")) {
        return cli_misuse(cli, "--by : week, month, branch, partner, kind ou territory, pas « %s »", q.by);
    }
    if (exp && strcmp(exp, "commission") && strcmp(exp, "activities")) {
        return cli_misuse(cli, "--export : commission ou activities, pas « %s »", exp);
    }

    /* the reporter's settings and the catalogue, as the reporter reads them
     * (business time and the venues' zone are the tool's: cli_init) */
    reporter_conf_t rc;
    char err[512];
    if (cli_conf_part(cli, "reporter", reporter_conf_fields, reporter_nconf_fields, &rc) != 0)
        return CLI_REFUSED;
    catalogue_t *cat = xmalloc(sizeof *cat);
    if (reporter_load_catalogue(cli->conf_path, cat, err, sizeof err) != 0) {
        free(cat);
        cat = NULL;
    }
    char dfrom[11], dto[11];
    if (to)
        util_strlcpy(dto, to, sizeof dto);
    else
        clock_local_day(clock_now_ms(), dto);
    if (from) {
        util_strlcpy(dfrom, from, sizeof dfrom);
    } else {
        int32_t d;
        if (cal_parse_date(dto, 2000, 2199, &d) == 0)
            cal_format_date(d - (int32_t)(rc.default_days > 0 ? rc.default_days - 1 : 0), dfrom);
    }
    if ((from && strlen(from) > 10) || (to && strlen(to) > 10) || !fig_is_day(dfrom) || !fig_is_day(dto)
        || strcmp(dfrom, dto) > 0) {
        free(cat);
        return cli_misuse(cli, "période invalide : dates AAAA-MM-JJ, du premier au dernier jour");
    }
    q.from = dfrom;
    q.to = dto;
    rds_t *rds = cli_redis(cli);
    if (!rds) {
        free(cat);
        return 1;
    }
    json_object *aggs[SVC_MAX_TERRITORIES];
    int n = reporter_aggregates(rds, cli->territories, cli->nterritories, q.filter.territory, q.from, q.to,
                                clock_now_ms(), 1, aggs, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "tremplin : %s\n", err);
        free(cat);
        return strstr(err, "Redis") ? 1 : 2;
    }
    kpi_conf_t kc = { rc.wait_warn_days, cat };
    if (exp) {
        size_t len = 0;
        kpi_query_t eq = q;
        char *csv = !strcmp(exp, "commission") ? export_commission(aggs, n, &eq, &kc, publication ? (int)rc.suppress_below : 0, &len)
                                               : export_activities(aggs, n, &eq, &kc, publication ? (int)rc.suppress_below : 0, &len);
        fwrite(csv, 1, len, stdout);
        free(csv);
    } else {
        json_object *rep = kpi_report(aggs, n, &q, &kc);
        if (json)
            printf("%s\n", json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
        else
            print_table(rep);
        json_object_put(rep);
    }
    for (int i = 0; i < n; i++)
        json_object_put(aggs[i]);
    free(cat);
    return 0;
}
