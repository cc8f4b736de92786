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

#include "clock.h"
#include "keys.h"
#include "gateway/gateway.h"
#include "season.h"

#define DAY_MS 86400000LL


/* the business instants of a day the season acts at (local minutes):
 * referrals and answers, the morning's attendance, the afternoon's, answers */
static const int season_steps[] = { 8 * 60 + 45, 12 * 60 + 15, 16 * 60 + 30, 19 * 60 };
#define SEASON_NSTEPS 4

/* ------------------------------------------------------------ state file */

static json_object *season_state_read(const char *path)
{
    return json_object_from_file(path);
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

/* ------------------------------------------------------------ the weeks */

/* The day's steps: referrals, answers, attendance, each followed by a
 * wait until the stack has done what follows from it. */
static int season_day(season_t *s, int day, int *next)
{
    int32_t date = s->first_day + day;
    int wd = cal_weekday(date);
    if (wd == 0) /* Sunday: the gateway keeps the SMS, nothing happens */
        return 0;
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
                    if (season_load_timetable(s) != 0 || season_set_clock(s, at) != 0) /* read again */
                        return -1;
                }
            }
            while (*next < s->plan.npeople && s->plan.people[*next].day == day)
                if (season_refer(s, (*next)++) != 0)
                    return -1;
        }
        if (season_wait_quiet(s) != 0)
            return -1;
        season_attendance(s, s->last_step_ms, at);
        season_reply(s);
        if (season_wait_quiet(s) != 0)
            return -1;
        if (season_paper(s) > 0 && season_wait_quiet(s) != 0)
            return -1;
        s->last_step_ms = at;
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
    if (season_load_timetable(s) != 0 || season_set_clock(s, cal_from_local(clock_zone(), s->first_day, 8 * 60)) != 0
        || season_connect(s) != 0)
        return -1;
    int next = 0;
    int64_t t0 = clock_mono_ms();
    s->last_step_ms = cal_from_local(clock_zone(), s->first_day, 0);
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
            break;
        }
    json_object_object_add(st, "status", json_object_new_string("played"));
    if (season_wait_quiet(s) != 0 || season_set_clock(s, 0) != 0 || season_state_write(state_path, st) != 0)
        return -1;
    if (s->errors)
        printf("  (%ld opérations refusées : voir les messages ci-dessus)\n", s->errors);
    return 0;
}

/* 1 when the instance holds no referral yet (the season may be played on
 * it: it moves business time and registers branches, which an instance in
 * use must never see), 0 when it does (said on stderr unless quiet), -1
 * when Redis could not be read. */
static int season_instance_new(season_t *s, int quiet)
{
    rds_t *rds = cli_redis(s->cli);
    char key[200];
    tp_key(key, sizeof key, s->T, "intake", "fig:total");
    redisReply *x = rds ? rds_cmd(rds, "HGET %s referrals", key) : NULL;
    if (!x)
        return -1;
    long long before = x->type == REDIS_REPLY_STRING ? atoll(x->str) : 0;
    freeReplyObject(x);
    if (before > 0 && !quiet)
        fprintf(stderr, "tremplin : cette instance a déjà %lld orientation%s : la saison ne se joue que sur une "
                        "instance neuve (make demo : arrêter, effacer %s/, relancer)\n",
                before, before > 1 ? "s" : "", s->dir);
    return before == 0;
}

/* season [--seed S] [--prepare] */
int cli_season(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "seed", required_argument, NULL, 's' },
                                          { "prepare", no_argument, NULL, 'p' },
                                          { NULL, 0, NULL, 0 } };
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
    if (cli_conf_part(cli, "season", season_conf_fields, SEASON_NCONF_FIELDS, &rates) != 0)
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
    /* the season: the weeks before this one, so that it ends now */
    cal_local_t l;
    clock_local(clock_real_ms(), &l);
    s.first_day = l.days - (l.weekday + 6) % 7 - (int32_t)rates.weeks * 7;
    if (a.opt['p']) {
        /* before the services start (deploy/stack.sh): their business time
         * begins with the season, so that the sessions they open are those
         * of its first four weeks, not of the real ones */
        int fresh = st ? 0 : season_instance_new(&s, 1);
        if (fresh == 1 && season_write_clock(cli->conf_path, cal_from_local(clock_zone(), s.first_day, 0),
                                             clock_real_ms()) != 0) {
            fprintf(stderr, "tremplin : %s : impossible d'écrire l'heure de la saison\n", cli->conf_path);
            rc = CLI_REFUSED;
        }
        json_object_put(st);
        season_plan_free(&s.plan);
        return fresh < 0 ? CLI_UNREACHABLE : rc;
    }
    if (st) {
        char from_fr[11];
        season_date_fr(season_js(st, "from"), from_fr);
        if (!strcmp(season_js(st, "status"), "played"))
            printf("La saison a déjà été jouée sur ces données (graine %s, à partir du %s) : rien n'est ajouté.\n",
                   season_js(st, "seed"), from_fr);
        else
            printf("Une saison a commencé sur ces données sans finir (arrêtée en route) : rien n'est rejoué.\n"
                   "Pour la rejouer entière : arrêter la démonstration, effacer %s/, relancer make demo.\n",
                   s.dir);
        season_report(&s, st);
        json_object_put(st);
        season_plan_free(&s.plan);
        return CLI_OK;
    }
    int fresh = season_instance_new(&s, 0);
    if (fresh != 1) {
        season_plan_free(&s.plan);
        return fresh < 0 ? CLI_UNREACHABLE : CLI_REFUSED;
    }
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
    char from_fr[11];
    season_date_fr(from, from_fr);
    printf("Une saison de %ld semaines à partir du %s (graine %ld) : %d personnes orientées par %d bureaux de poste,\n"
           "six ateliers de deux heures par semaine, le temps des services avancé pas à pas :\n",
           rates.weeks, from_fr, seed, s.plan.npeople, SEASON_NBRANCHES);
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
    timetable_free(s.tt);
    free(s.tt);
    season_plan_free(&s.plan);
    return rc;
}
