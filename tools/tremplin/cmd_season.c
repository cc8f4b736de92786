/* tremplin season — the demo's season: twelve weeks of the programme played
 * through the running stack in a minute or two (business time moved by the
 * [clock] of the configuration), then what the commission reads. Played
 * once per instance: <dir>/season.json says it was, and a second run shows
 * the figures again without adding anything. */
#include <getopt.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "keys.h"
#include "gateway/gateway.h"
#include "reporter/kpi.h"
#include "reporter/reporter.h"
#include "season.h"

#define DAY_MS 86400000LL

static const conf_field_t season_conf_fields[] = {
    CONF_INT_FIELD("season", "people", season_rates_t, people, "350"),
    CONF_INT_FIELD("season", "weeks", season_rates_t, weeks, "12"),
    CONF_INT_FIELD("season", "improvement_pct", season_rates_t, improvement_pct, "18"),
    CONF_INT_FIELD("season", "budget_pct", season_rates_t, budget_pct, "10"),
    CONF_INT_FIELD("season", "autonomous_pct", season_rates_t, autonomous_pct, "8"),
    CONF_INT_FIELD("season", "no_mobile_pct", season_rates_t, no_mobile_pct, "12"),
    CONF_INT_FIELD("season", "no_consent_pct", season_rates_t, no_consent_pct, "3"),
    CONF_INT_FIELD("season", "noshow_pct", season_rates_t, noshow_pct, "12"),
    CONF_INT_FIELD("season", "excused_pct", season_rates_t, excused_pct, "5"),
    CONF_INT_FIELD("season", "cancel_pct", season_rates_t, cancel_pct, "6"),
    CONF_INT_FIELD("season", "decline_pct", season_rates_t, decline_pct, "25"),
    CONF_INT_FIELD("season", "survey_answer_pct", season_rates_t, survey_answer_pct, "80"),
    CONF_INT_FIELD("season", "very_satisfied_pct", season_rates_t, very_satisfied_pct, "70"),
    CONF_INT_FIELD("season", "wants_more_pct", season_rates_t, wants_more_pct, "60"),
    CONF_INT_FIELD("season", "holiday_week", season_rates_t, holiday_week, "8"),
    CONF_INT_FIELD("season", "absence_week", season_rates_t, absence_week, "5"),
};

/* the business instants of a day the season acts at (local minutes):
 * referrals and answers, the morning's attendance, the afternoon's, answers */
static const int season_steps[] = { 8 * 60 + 45, 12 * 60 + 15, 16 * 60 + 30, 19 * 60 };
#define SEASON_NSTEPS 4

/* ------------------------------------------------------------ state file */

static json_object *season_state_read(const char *path)
{
    return json_object_from_file(path);
}

static const char *js(json_object *o, const char *k)
{
    json_object *v;
    return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static int season_state_write(const char *path, json_object *o)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0
        || rename(tmp, path) != 0) {
        fprintf(stderr, "tremplin : %s : écriture impossible\n", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ the report */

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
    printf("Les chiffres de la commission, du %.2s/%.2s/%.4s au %.2s/%.2s/%.4s :\n", from + 8, from + 5, from, to + 8,
           to + 5, to);
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
            printf("  %s : %s jours (%s en liste d'attente)\n", js(k, "title"), val, json_object_get_string(n));
        }
    }
    json_object_put(rep);
}

/* What one person received, SMS by SMS, from their referral on. */
static void season_journey(season_t *s, const char *pid, const char *phone)
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
    printf("\nLes SMS qu'elle a reçus (%s/, un fichier par SMS) :\n", s->spool_dir);
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
        snprintf(name, sizeof name, "%s", jobs->element[i]->str);
        for (char *c = name; *c; c++)
            if (*c == ':' || *c == '/')
                *c = '_';
        snprintf(path, sizeof path, "%s/%s.sms", s->spool_dir, name);
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
    (void)phone;
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

static void season_report(season_t *s, json_object *st)
{
    char today[11];
    clock_local_day(clock_now_ms(), today);
    printf("\n");
    season_figures(s->cli, js(st, "from"), today);
    reporter_conf_t rc;
    if (cli_conf_part(s->cli, "reporter", reporter_conf_fields, reporter_nconf_fields, &rc) == 0)
        printf("\nTableau de bord : http://%s:%ld/   (les mêmes chiffres : /api/kpi?from=%s&to=%s)\n", rc.http_bind,
               (long)rc.http_port, js(st, "from"), today);
    season_journey(s, js(st, "journey_person"), js(st, "journey_phone"));
    season_next_week(s);
    printf("Les SMS envoyés : %s/ (un fichier par SMS) ; les réponses lues : %s/done/\n", s->spool_dir, s->inbox_dir);
    printf("\nOrienter quelqu'un à la main (comme le système d'un bureau de poste), dans un autre terminal :\n"
           "  export TREMPLIN_CONF=%s\n"
           "  tremplin branch add wilson --name \"La Poste Saint-Étienne Wilson\" --territory %s   (une fois)\n"
           "  tremplin referral submit deploy/examples/referral.json\n"
           "  tremplin person show --ref wilson:WIL-2026-000123\n"
           "Et : tremplin sessions ; tremplin kpi --from %s --by week ; tremplin worklist\n",
           s->cli->conf_path, s->T, js(st, "from"));
}

/* ------------------------------------------------------------ the weeks */

/* The day's steps: referrals, answers, attendance, each followed by a
 * wait until the stack has done what follows from it. */
static int season_day(season_t *s, int day, int *next)
{
    int32_t date = s->first_day + day;
    int wd = cal_weekday(date);
    if (wd == 0) /* Sunday: the gateway keeps the SMS, nothing happens */
        return 0;
    int64_t prev = cal_from_local(clock_zone(), date, 0);
    for (int k = 0; k < SEASON_NSTEPS; k++) {
        int64_t at = cal_from_local(clock_zone(), date, season_steps[k]);
        if (at > clock_real_ms()) /* this week: the season ends now */
            return 0;
        if (season_set_clock(s, at) != 0)
            return -1;
        if (k == 0) {
            const season_rates_t *r = &s->plan.rates;
            if (r->absence_week && day == (r->absence_week - 1) * 7) {
                /* announced on Monday: the initiation trainer is away Wednesday and Thursday */
                char d1[11], d2[11];
                cal_format_date(date + 2, d1);
                cal_format_date(date + 3, d2);
                char *argv[] = { "absent", "face-loire-01", d1, d2, NULL };
                if (cli_trainer(s->cli, 4, argv) == 0) {
                    printf("  (semaine %d : la formatrice d'initiation est absente mercredi et jeudi, ses séances sont "
                           "annulées et leurs participants replacés : tremplin trainer absent face-loire-01 %s %s)\n",
                           day / 7 + 1, d1, d2);
                    if (season_set_clock(s, at) != 0) /* the services read the timetable again */
                        return -1;
                }
            }
            while (*next < s->plan.npeople && s->plan.people[*next].day == day)
                if (season_refer(s, (*next)++) != 0)
                    return -1;
        }
        if (season_wait_quiet(s) != 0)
            return -1;
        season_attendance(s, prev, at);
        season_reply(s);
        if (season_wait_quiet(s) != 0)
            return -1;
        if (season_paper(s) > 0 && season_wait_quiet(s) != 0)
            return -1;
        prev = at;
    }
    return 0;
}

static int season_play(season_t *s, json_object *st, const char *state_path)
{
    const season_rates_t *r = &s->plan.rates;
    if (r->holiday_week) {
        const char *days[6];
        char buf[6][11];
        for (int d = 0; d < 6; d++) {
            cal_format_date(s->first_day + (int32_t)(r->holiday_week - 1) * 7 + d, buf[d]);
            days[d] = buf[d];
        }
        if (cli_timetable_add_holidays(s->cli, days, 6) != 0)
            return -1;
        printf("  (semaine %ld : vacances, l'espace numérique est fermé du %.2s/%.2s au %.2s/%.2s)\n", r->holiday_week,
               buf[0] + 8, buf[0] + 5, buf[5] + 8, buf[5] + 5);
    }
    if (season_set_clock(s, cal_from_local(clock_zone(), s->first_day, 8 * 60)) != 0 || season_connect(s) != 0)
        return -1;
    int next = 0;
    int64_t t0 = clock_mono_ms();
    /* the weeks of the plan, then this week's days until now (attendance
     * of the sessions already held, answers to the SMS already sent) */
    cal_local_t today;
    clock_local(clock_real_ms(), &today);
    for (int day = 0; s->first_day + day <= today.days; day++) {
        if (season_day(s, day, &next) != 0)
            return -1;
        if (day % 7 == 6 && day < r->weeks * 7) {
            long n = s->referred + s->refused;
            printf("  semaine %2d : %ld orientation%s, %ld présence%s notée%s, %ld réponse%s par SMS, %ld questionnaire%s "
                   "papier (%.0f s)\n",
                   day / 7 + 1, n, n > 1 ? "s" : "", s->marks, s->marks > 1 ? "s" : "", s->marks > 1 ? "s" : "",
                   s->replies, s->replies > 1 ? "s" : "", s->forms, s->forms > 1 ? "s" : "",
                   (double)(clock_mono_ms() - t0) / 1000.0);
            fflush(stdout);
        }
    }
    /* the journey told at the end: someone who went on to a second workshop */
    for (int i = 0; i < s->plan.npeople; i++)
        if (s->workshops_marked[i] >= 2 && !s->plan.people[i].noshow_first && !s->plan.people[i].excused_first
            && s->plan.people[i].wants_more && s->plan.people[i].mobile) {
            json_object_object_add(st, "journey_person", json_object_new_string(s->pid[i]));
            json_object_object_add(st, "journey_phone", json_object_new_string(s->plan.people[i].phone));
            break;
        }
    json_object_object_add(st, "status", json_object_new_string("played"));
    if (season_wait_quiet(s) != 0 || season_set_clock(s, 0) != 0 || season_state_write(state_path, st) != 0)
        return -1;
    if (s->errors)
        printf("  (%ld opérations refusées : voir les messages ci-dessus)\n", s->errors);
    return 0;
}

/* season [--seed S] */
int cli_season(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "seed", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
    cli_args_t a;
    long seed;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0
        || cli_number(cli, &a, 's', "seed", 0, 2147483647L, 42, &seed) != 0)
        return CLI_REFUSED;
    season_t s;
    memset(&s, 0, sizeof s);
    s.cli = cli;
    cli->quiet = 1;
    s.T = cli->territories[0];
    season_rates_t rates;
    season_rates_default(&rates);
    if (cli_conf_part(cli, "season", season_conf_fields, TP_ARRAY_LEN(season_conf_fields), &rates) != 0)
        return CLI_REFUSED;
    char err[256], conf[512];
    if (season_plan_make((uint64_t)seed, &rates, &s.plan, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : [season] invalide : %s\n", err);
        return CLI_REFUSED;
    }
    snprintf(conf, sizeof conf, "%s", cli->conf_path);
    snprintf(s.dir, sizeof s.dir, "%s", dirname(conf));
    snprintf(s.run_dir, sizeof s.run_dir, "%s/run", s.dir);
    snprintf(s.log_dir, sizeof s.log_dir, "%s/log", s.dir);
    gateway_conf_t gc;
    if (cli_conf_part(cli, "gateway", gateway_conf_fields, gateway_nconf_fields, &gc) != 0)
        return CLI_REFUSED;
    snprintf(s.spool_dir, sizeof s.spool_dir, "%s", gc.spool_dir);
    if (gc.inbox_dir[0])
        snprintf(s.inbox_dir, sizeof s.inbox_dir, "%s", gc.inbox_dir);
    else
        snprintf(s.inbox_dir, sizeof s.inbox_dir, "%s/inbox", gc.spool_dir);
    char state_path[400];
    snprintf(state_path, sizeof state_path, "%s/season.json", s.dir);
    json_object *st = season_state_read(state_path);
    int rc = CLI_OK;
    if (st) {
        if (!strcmp(js(st, "status"), "played"))
            printf("La saison a déjà été jouée sur ces données (graine %s, à partir du %s) : rien n'est ajouté.\n",
                   js(st, "seed"), js(st, "from"));
        else
            printf("Une saison a commencé sur ces données sans finir (arrêtée en route) : rien n'est rejoué.\n"
                   "Pour la rejouer entière : arrêter la démonstration, effacer %s/, relancer make demo.\n",
                   s.dir);
        season_report(&s, st);
        json_object_put(st);
        season_plan_free(&s.plan);
        return CLI_OK;
    }
    /* only on a new instance: the season moves business time and
     * registers branches, which an instance in use must never see */
    rds_t *rds = cli_redis(cli);
    char key[200];
    tp_key(key, sizeof key, s.T, "intake", "fig:total");
    redisReply *x = rds ? rds_cmd(rds, "HGET %s referrals", key) : NULL;
    long long before = x && x->type == REDIS_REPLY_STRING ? atoll(x->str) : 0;
    if (x)
        freeReplyObject(x);
    if (!x || before > 0) {
        if (x)
            fprintf(stderr, "tremplin : cette instance a déjà %lld orientation%s : la saison ne se joue que sur une "
                            "instance neuve (make demo : arrêter, effacer var/, relancer)\n",
                    before, before > 1 ? "s" : "");
        season_plan_free(&s.plan);
        return x ? CLI_REFUSED : CLI_UNREACHABLE;
    }
    /* the season: the weeks before this one, so that it ends now */
    cal_local_t l;
    clock_local(clock_real_ms(), &l);
    s.first_day = l.days - (l.weekday + 6) % 7 - (int32_t)rates.weeks * 7;
    char from[11];
    cal_format_date(s.first_day, from);
    st = json_object_new_object();
    json_object_object_add(st, "seed", json_object_new_int64(seed));
    json_object_object_add(st, "from", json_object_new_string(from));
    json_object_object_add(st, "weeks", json_object_new_int64(rates.weeks));
    json_object_object_add(st, "people", json_object_new_int64(rates.people));
    json_object_object_add(st, "status", json_object_new_string("playing"));
    if (season_state_write(state_path, st) != 0) {
        json_object_put(st);
        season_plan_free(&s.plan);
        return CLI_REFUSED;
    }
    printf("Une saison de %ld semaines à partir du %s (graine %ld) : %d personnes orientées par %d bureaux de poste,\n"
           "six ateliers de deux heures par semaine, le temps des services avancé pas à pas :\n",
           rates.weeks, from, seed, s.plan.npeople, SEASON_NBRANCHES);
    fflush(stdout);
    s.pid = xcalloc((size_t)s.plan.npeople, sizeof *s.pid);
    s.workshops_marked = xcalloc((size_t)s.plan.npeople, sizeof(int));
    s.cancelled = xcalloc((size_t)s.plan.npeople, sizeof(int));
    s.declined = xcalloc((size_t)s.plan.npeople, sizeof(int));
    s.seen_sms = zhash_new();
    if (season_play(&s, st, state_path) != 0) {
        rc = CLI_UNREACHABLE;
        season_set_clock(&s, 0);
    } else {
        season_report(&s, st);
    }
    season_disconnect(&s);
    json_object_put(st);
    zhash_destroy(&s.seen_sms);
    free(s.pid);
    free(s.workshops_marked);
    free(s.cancelled);
    free(s.declined);
    season_plan_free(&s.plan);
    return rc;
}
