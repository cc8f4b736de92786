/* What the demo season tells at its end (and again when it was played
 * already): the commission's figures as the reporter computes them, the
 * dashboard, one person's journey SMS by SMS, next week's rosters and
 * sign-in sheets, where the SMS are, how to refer someone by hand. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "gateway/gateway.h"
#include "keys.h"
#include "reporter/kpi.h"
#include "reporter/reporter.h"
#include "season.h"

void season_date_fr(const char *iso, char out[11])
{
    if (strlen(iso) == 10)
        snprintf(out, 11, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
    else
        snprintf(out, 11, "%s", iso);
}

const char *season_js(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static void season_value(json_object *v, char *out, size_t cap)
{
    if (!v)
        snprintf(out, cap, "—");
    else if (json_object_is_type(v, json_type_object)) { /* satisfaction: answers by score */
        size_t n = 0;
        out[0] = '\0';
        json_object_object_foreach(v, k, c)
        {
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s : %s", n ? " · " : "", k,
                                  json_object_get_string(c));
            if (n >= cap)
                break;
        }
    } else if (json_object_is_type(v, json_type_double)) {
        snprintf(out, cap, "%.1f", json_object_get_double(v));
        char *dot = strchr(out, '.');
        if (dot)
            *dot = ',';
    } else
        snprintf(out, cap, "%s", json_object_get_string(v));
}

/* The figures the commission reads, each "  <label> : <value>" (the test
 * reads them back and compares them with /api/kpi). */
static void season_figures(cli_t *cli, const char *from, const char *to)
{
    json_object *rep = cli_kpi_report(cli, from, to), *fig = NULL, *outlook = NULL;
    if (!rep || !json_object_object_get_ex(rep, "figures", &fig)) {
        json_object_put(rep);
        return;
    }
    static const char *const names[] = { "people_accompanied", "people_trained", "workshops_held",
                                         "workshops_cancelled", "fill_rate", "waiting", "wait_days_median", "satisfaction",
                                         "pct_very_satisfied", "pct_wants_more", "went_on", "pct_went_on", NULL };
    char f[11], t[11];
    season_date_fr(from, f);
    season_date_fr(to, t);
    printf("Les chiffres de la commission, du %s au %s :\n", f, t);
    for (int i = 0; names[i]; i++) {
        json_object *v = NULL;
        char val[64];
        json_object_object_get_ex(fig, names[i], &v);
        season_value(v, val, sizeof val);
        printf("  %s : %s\n", kpi_label(names[i]), val);
    }
    if (json_object_object_get_ex(rep, "outlook", &outlook)) {
        printf("Attente prévue pour une personne orientée aujourd'hui :\n");
        for (size_t i = 0; i < json_object_array_length(outlook); i++) {
            json_object *k = json_object_array_get_idx(outlook, i), *w = NULL, *n = NULL;
            char val[64];
            json_object_object_get_ex(k, "projected_wait_days", &w);
            json_object_object_get_ex(k, "waiting", &n);
            season_value(w, val, sizeof val);
            printf("  %s : %s jours (%s en liste d'attente)\n", season_js(k, "title"), val, json_object_get_string(n));
        }
    }
    json_object_put(rep);
}

/* What one person received, SMS by SMS, from their referral on. */
static void season_journey(season_t *s, const char *pid)
{
    if (!pid[0])
        return;
    printf("\nLe parcours d'une personne (tremplin person show %s) :\n", pid);
    char *argv[] = { "show", (char *)pid, NULL };
    fflush(stdout);
    cli_person(s->cli, 2, argv);
    rds_t *r = cli_redis(s->cli);
    char key[300];
    tp_key(key, sizeof key, s->T, "gateway", "person:%s", pid);
    redisReply *jobs = r ? rds_cmd(r, "ZRANGE %s 0 -1", key) : NULL;
    printf("\nLes SMS reçus, de l'orientation au deuxième atelier (%s/, un fichier par SMS) :\n", s->spool_dir);
    for (size_t i = 0; jobs && jobs->type == REDIS_REPLY_ARRAY && i < jobs->elements; i++) {
        char jkey[300], path[700], when[80] = "";
        tp_key(jkey, sizeof jkey, s->T, "gateway", "job:%s", jobs->element[i]->str);
        redisReply *x = rds_cmd(r, "HMGET %s sent_ms channel status", jkey);
        if (!x || x->type != REDIS_REPLY_ARRAY || x->elements != 3 || !x->element[0]->str
            || !x->element[1]->str || strcmp(x->element[1]->str, "sms")) {
            if (x)
                freeReplyObject(x);
            continue;
        }
        cli_when_fr(atoll(x->element[0]->str), when, sizeof when);
        freeReplyObject(x);
        char name[200];
        gateway_job_spool_name(s->T, jobs->element[i]->str, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", s->spool_dir, name);
        FILE *f = fopen(path, "r");
        char line[1024], text[1024] = "";
        int body = 0;
        while (f && fgets(line, sizeof line, f)) {
            if (body)
                strncat(text, line, sizeof text - strlen(text) - 1);
            else if (line[0] == '\n')
                body = 1;
        }
        if (f)
            fclose(f);
        text[strcspn(text, "\n")] = '\0';
        printf("  %s : « %s »\n", when, text[0] ? text : "(SMS)");
    }
    if (jobs)
        freeReplyObject(jobs);
}

static int season_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Next week's sessions (ids start with their date and time): the roster
 * (CSV) and sign-in sheet (PDF) of each, written in <dir>/semaine-prochaine/
 * as `tremplin roster` writes them. */
static void season_next_week(season_t *s)
{
    cal_local_t l;
    clock_local(clock_now_ms(), &l);
    int32_t monday = l.days - (l.weekday + 6) % 7 + 7;
    int64_t from = cal_from_local(clock_zone(), monday, 0), to = cal_from_local(clock_zone(), monday + 7, 0);
    rds_t *r = cli_redis(s->cli);
    char key[200], *ids[64];
    int n = 0;
    tp_key(key, sizeof key, s->T, "scheduler", "kinds");
    redisReply *kinds = r ? rds_cmd(r, "SMEMBERS %s", key) : NULL;
    for (size_t k = 0; kinds && kinds->type == REDIS_REPLY_ARRAY && k < kinds->elements; k++) {
        tp_key(key, sizeof key, s->T, "scheduler", "sessions:%s", kinds->element[k]->str);
        redisReply *x = rds_cmd(r, "ZRANGEBYSCORE %s %lld (%lld", key, (long long)from, (long long)to);
        for (size_t j = 0; x && x->type == REDIS_REPLY_ARRAY && j < x->elements && n < 64; j++)
            ids[n++] = xstrdup(x->element[j]->str);
        if (x)
            freeReplyObject(x);
    }
    if (kinds)
        freeReplyObject(kinds);
    qsort(ids, (size_t)n, sizeof *ids, season_cmp);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/semaine-prochaine", s->dir);
    mkdir(dir, 0700);
    printf("\nLa semaine prochaine, la liste (CSV) et la feuille d'émargement (PDF) de chaque séance, dans %s/ :\n", dir);
    for (int i = 0; i < n; i++) {
        char csv[500], pdf[500];
        snprintf(csv, sizeof csv, "%s/liste-%s.csv", dir, ids[i]);
        snprintf(pdf, sizeof pdf, "%s/emargement-%s.pdf", dir, ids[i]);
        char *argv[] = { ids[i], "--csv", csv, "--pdf", pdf, NULL };
        if (cli_roster(s->cli, 5, argv) == 0)
            printf("  %s : liste-%s.csv, emargement-%s.pdf\n", ids[i], ids[i], ids[i]);
        free(ids[i]);
    }
    printf("  (à nouveau, pour une séance : tremplin roster SEANCE --csv liste.csv --pdf emargement.pdf)\n");
}

void season_report(season_t *s, json_object *st)
{
    char today[11];
    clock_local_day(clock_now_ms(), today);
    printf("\n");
    season_figures(s->cli, season_js(st, "from"), today);
    reporter_conf_t rc;
    if (cli_conf_part(s->cli, "reporter", reporter_conf_fields, reporter_nconf_fields, &rc) == 0)
        printf("\nTableau de bord : http://%s:%ld/   (les mêmes chiffres : /api/kpi?from=%s&to=%s)\n", rc.http_bind,
               (long)rc.http_port, season_js(st, "from"), today);
    season_journey(s, season_js(st, "journey_person"));
    season_next_week(s);
    printf("Les SMS envoyés : %s/ (un fichier par SMS) ; les réponses lues : %s/done/\n", s->spool_dir, s->inbox_dir);
    printf("\nOrienter quelqu'un à la main (comme le système d'un bureau de poste), dans un autre terminal :\n"
           "  export TREMPLIN_CONF=%s\n"
           "  tremplin branch add wilson --name \"La Poste Saint-Étienne Wilson\" --territory %s   (une fois)\n"
           "  tremplin referral submit deploy/examples/referral.json\n"
           "  tremplin person show --ref wilson:WIL-2026-000123\n"
           "Et : tremplin sessions ; tremplin kpi --from %s --by week ; tremplin worklist\n",
           s->cli->conf_path, s->T, season_js(st, "from"));
}

