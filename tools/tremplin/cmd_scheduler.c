/* tremplin sessions | attendance | offer | booking | session | trainer |
 * timetable — the scheduler's side of the tool, for trainers and staff:
 * the sessions as they are, the commands people send by hand, and the
 * timetable edited safely (written apart, checked, then put in place). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "calendar.h"
#include "cli.h"
#include "clock.h"
#include "ids.h"
#include "jsondoc.h"
#include "keys.h"
#include "matcher/matcher.h"

/* ----------------------------------------------------------- sessions */

/* Monday 00:00 local of ISO week "YYYY-Www", in UTC ms; -1 if malformed. */
static int64_t iso_week_start(const char *s)
{
    int y, w, n = 0;
    if (sscanf(s, "%4d-W%2d%n", &y, &w, &n) != 2 || s[n] || w < 1 || w > 53)
        return -1;
    int32_t jan4 = cal_days_from_civil(y, 1, 4); /* week 1 holds 4 January */
    int32_t monday = jan4 - (cal_weekday(jan4) + 6) % 7 + (w - 1) * 7;
    return cal_from_local(clock_zone(), monday, 0);
}

typedef struct {
    char id[TT_ID], kind[TT_CODE], venue[TT_CODE], trainer[TT_CODE], half_day[TT_HALF_DAY], status[16], by[16];
    int64_t start, end;
    long capacity, taken, booked, offered, marked, waiting;
} cli_session_t;

static int cli_session_cmp(const void *a, const void *b)
{
    const cli_session_t *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    int c = strcmp(x->venue, y->venue);
    return c ? c : strcmp(x->trainer, y->trainer) ? strcmp(x->trainer, y->trainer) : strcmp(x->id, y->id);
}

static const char *const cli_day_abbr[7] = { "dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam." };

/* What a session is now, in French: held, under way, cancelled, open. */
static const char *cli_session_state(const cli_session_t *s, int64_t now)
{
    if (!strcmp(s->status, "cancelled"))
        return !strcmp(s->by, "staff") ? "annulée" : "annulée (calendrier)";
    if (!strcmp(s->status, "closing"))
        return "en cours d'annulation";
    if (s->end <= now)
        return "tenue";
    if (s->start <= now)
        return "en cours";
    return s->taken >= s->capacity ? "complète" : "ouverte";
}

/* One session as Redis has it, with its bookings counted by status and the
 * waitlist that can take it (its kind and half-day). 0, -1 (Redis lost), 1
 * (no such session). */
static int cli_session_read(rds_t *r, const char *T, const char *sid, cli_session_t *s)
{
    char key[200];
    memset(s, 0, sizeof *s);
    util_strlcpy(s->id, sid, sizeof s->id);
    tp_key(key, sizeof key, T, "scheduler", "session:%s", sid);
    redisReply *x = rds_cmd(r, "HMGET %s kind venue trainer half_day status cancelled_by start end capacity taken", key);
    if (!x)
        return -1;
    if (x->type != REDIS_REPLY_ARRAY || x->elements != 10 || !x->element[0]->str) {
        freeReplyObject(x);
        return 1;
    }
#define F(i) (x->element[i]->str ? x->element[i]->str : "")
    util_strlcpy(s->kind, F(0), sizeof s->kind);
    util_strlcpy(s->venue, F(1), sizeof s->venue);
    util_strlcpy(s->trainer, F(2), sizeof s->trainer);
    util_strlcpy(s->half_day, F(3), sizeof s->half_day);
    util_strlcpy(s->status, F(4), sizeof s->status);
    util_strlcpy(s->by, F(5), sizeof s->by);
    s->start = atoll(F(6));
    s->end = atoll(F(7));
    s->capacity = atol(F(8));
    s->taken = atol(F(9));
#undef F
    freeReplyObject(x);
    tp_key(key, sizeof key, T, "scheduler", "roster:%s", sid);
    redisReply *ro = rds_cmd(r, "HVALS %s", key);
    if (!ro)
        return -1;
    for (size_t i = 0; ro->type == REDIS_REPLY_ARRAY && i < ro->elements; i++) {
        char bkey[200];
        tp_key(bkey, sizeof bkey, T, "scheduler", "booking:%s", ro->element[i]->str);
        redisReply *b = rds_cmd(r, "HGET %s status", bkey);
        if (!b) {
            freeReplyObject(ro);
            return -1;
        }
        const char *st = b->type == REDIS_REPLY_STRING ? b->str : "";
        s->booked += !strcmp(st, "booked");
        s->offered += !strcmp(st, "offered");
        s->marked += !strcmp(st, "seen") || !strcmp(st, "noshow") || !strcmp(st, "excused");
        freeReplyObject(b);
    }
    freeReplyObject(ro);
    tp_key(key, sizeof key, T, "scheduler", "wait:%s:%s", s->kind, s->half_day);
    redisReply *w = rds_cmd(r, "ZCARD %s", key);
    if (!w)
        return -1;
    s->waiting = w->type == REDIS_REPLY_INTEGER ? (long)w->integer : 0;
    freeReplyObject(w);
    return 0;
}

const char *cli_scheduler_territory(cli_t *cli)
{
    return cli->scheduler.territory[0] ? cli->scheduler.territory : cli->territories[0];
}

/* sessions [--week YYYY-Www] [--kind K] [--json]: what Redis holds (the
 * sessions the scheduler opened), so a timetable file being edited never
 * hides them; the file only names the venues. */
int cli_sessions(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "week", required_argument, NULL, 'w' },
                                          { "kind", required_argument, NULL, 'k' },
                                          { "json", no_argument, NULL, 'j' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0)
        return CLI_REFUSED;
    const char *week = a.opt['w'], *kind = a.opt['k'];
    cli->json = a.opt['j'] != NULL;
    int64_t now = clock_now_ms();
    int64_t from = week ? iso_week_start(week) : now - 86400000;
    if (from < 0)
        return cli_misuse(cli, "--week : semaine attendue sous la forme 2026-W49, pas « %s »", week);
    if (kind && !ids_valid(kind, TT_CODE - 1))
        return cli_misuse(cli, "--kind : type d'atelier invalide : %s", kind);
    int64_t to = from + (week ? 7 : 29) * 86400000LL;
    rds_t *r = cli_redis(cli);
    if (!r)
        return CLI_UNREACHABLE;
    const char *T = cli_scheduler_territory(cli);
    char key[200];
    tp_key(key, sizeof key, T, "scheduler", "kinds");
    redisReply *kinds = rds_cmd(r, "SMEMBERS %s", key);
    if (!kinds)
        return CLI_UNREACHABLE;
    cli_session_t *list = NULL;
    size_t n = 0, cap = 0;
    int rc = CLI_OK;
    for (size_t k = 0; kinds->type == REDIS_REPLY_ARRAY && k < kinds->elements && rc == CLI_OK; k++) {
        if (kind && strcmp(kind, kinds->element[k]->str))
            continue;
        tp_key(key, sizeof key, T, "scheduler", "sessions:%s", kinds->element[k]->str);
        redisReply *ids = rds_cmd(r, "ZRANGEBYSCORE %s %lld (%lld", key, (long long)from, (long long)to);
        if (!ids) {
            rc = CLI_UNREACHABLE;
            break;
        }
        for (size_t j = 0; ids->type == REDIS_REPLY_ARRAY && j < ids->elements; j++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                list = xrealloc(list, cap * sizeof *list);
            }
            int got = cli_session_read(r, T, ids->element[j]->str, &list[n]);
            if (got < 0) {
                rc = CLI_UNREACHABLE;
                break;
            }
            n += got == 0;
        }
        freeReplyObject(ids);
    }
    freeReplyObject(kinds);
    if (rc != CLI_OK) {
        free(list);
        return rc;
    }
    qsort(list, n, sizeof *list, cli_session_cmp);
    if (cli->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            const cli_session_t *s = &list[i];
            json_object *o = json_object_new_object();
            json_object_object_add(o, "session_id", json_object_new_string(s->id));
            json_object_object_add(o, "kind", json_object_new_string(s->kind));
            json_object_object_add(o, "venue", json_object_new_string(s->venue));
            json_object_object_add(o, "trainer", json_object_new_string(s->trainer));
            json_object_object_add(o, "start_ms", json_object_new_int64(s->start));
            json_object_object_add(o, "end_ms", json_object_new_int64(s->end));
            json_object_object_add(o, "status", json_object_new_string(s->status));
            json_object_object_add(o, "state_fr", json_object_new_string(cli_session_state(s, now)));
            json_object_object_add(o, "capacity", json_object_new_int64(s->capacity));
            json_object_object_add(o, "booked", json_object_new_int64(s->booked));
            json_object_object_add(o, "offered", json_object_new_int64(s->offered));
            json_object_object_add(o, "marked", json_object_new_int64(s->marked));
            json_object_object_add(o, "half_day", json_object_new_string(s->half_day));
            json_object_object_add(o, "waitlist", json_object_new_int64(s->waiting));
            json_object_array_add(arr, o);
        }
        printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(arr);
        free(list);
        return CLI_OK;
    }
    /* the place and the workshop as wide as their longest name */
    int w[] = { 15, 5, 4, 15, 7, 9, 9, 6, 22, 7, 34 };
    for (size_t i = 0; i < n; i++) {
        cli_fit(&w[2], cli_venue_fr(cli, list[i].venue));
        cli_fit(&w[4], cli_kind_fr(cli, list[i].kind));
    }
    cli_row(w, 11, "date", "heure", "lieu", "formateur", "atelier", "réservées", "proposées", "places", "état",
            "attente", "séance");
    for (size_t i = 0; i < n; i++) {
        const cli_session_t *s = &list[i];
        cal_local_t l;
        clock_local(s->start, &l);
        int yy, mm, dd;
        cal_civil_from_days(l.days, &yy, &mm, &dd);
        char date[32], hour[16], booked[16], offered[16], places[16], waiting[16];
        snprintf(date, sizeof date, "%s %02d/%02d/%04d", cli_day_abbr[cal_weekday(l.days)], dd, mm, yy);
        snprintf(hour, sizeof hour, "%02d:%02d", l.minute / 60, l.minute % 60);
        /* after the start, the marks count: seen, noshow and excused were booked */
        snprintf(booked, sizeof booked, "%ld", s->booked + s->marked);
        snprintf(offered, sizeof offered, "%ld", s->offered);
        snprintf(places, sizeof places, "%ld", s->capacity);
        snprintf(waiting, sizeof waiting, "%ld", s->waiting);
        cli_row(w, 11, date, hour, cli_venue_fr(cli, s->venue), s->trainer, cli_kind_fr(cli, s->kind), booked,
                offered, places, cli_session_state(s, now), waiting, s->id);
    }
    if (n == 0)
        printf("(aucune séance sur cette période)\n");
    else
        printf("\nattente : les personnes en liste d'attente de cet atelier qui peuvent venir ce jour-là à cette heure "
               "(même demi-journée)\n");
    free(list);
    return CLI_OK;
}

/* --------------------------------------------------------- attendance */

const char *cli_mark(const char *word)
{
    static const struct {
        const char *word, *status;
    } marks[] = {
        { "present", "seen" },    { "présent", "seen" },     { "presente", "seen" },  { "présente", "seen" },
        { "p", "seen" },          { "seen", "seen" },        { "absent", "noshow" },  { "absente", "noshow" },
        { "a", "noshow" },        { "noshow", "noshow" },    { "excuse", "excused" }, { "excusé", "excused" },
        { "excusée", "excused" }, { "excusee", "excused" },  { "e", "excused" },      { "excused", "excused" },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(marks); i++)
        if (!strcasecmp(word, marks[i].word))
            return marks[i].status;
    return NULL;
}

static void cli_tell_mark(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    (void)arg;
    printf("Présence notée : %s%s (réservation %s, séance %s)\n", cli_status_fr(ack->status),
           ack->duplicate ? ", déjà noté ainsi" : "", ack->booking_id, ack->session_id);
}

int cli_attendance(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "trainer", required_argument, NULL, 't' },
                                          { "json", no_argument, NULL, 'j' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 1, CLI_MAX_WORDS, &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    const char *trainer = a.opt['t'] ? a.opt['t'] : "";
    if (!trainer[0] && cli_key(cli) == 1)
        trainer = cli->cred.trainer; /* a trainer's key names its trainer */
    if (!ids_valid(a.word[0], TT_ID - 1))
        return cli_misuse(cli, "identifiant de séance invalide : %s", a.word[0]);
    if (trainer[0] && !ids_valid(trainer, TT_CODE - 1))
        return cli_misuse(cli, "--trainer : identifiant de formateur invalide : %s", trainer);
    if (a.nwords == 3 && !strchr(a.word[1], '=')) { /* SESSION PERSON MARK */
        const char *status = cli_mark(a.word[2]);
        if (!status)
            return cli_misuse(cli, "marque inconnue : %s (present, absent ou excuse)", a.word[2]);
        if (!ids_hex(a.word[1]))
            return cli_misuse(cli, "identifiant de personne invalide : %s", a.word[1]);
        Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
        Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
        m.session_id = (char *)a.word[0];
        m.person_id = (char *)a.word[1];
        m.status = (char *)status;
        m.trainer_id = (char *)trainer;
        env.territory = (char *)cli_scheduler_territory(cli);
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
        env.mark_attendance = &m;
        return cli_send(cli, "scheduler", &env, cli_tell_mark, NULL);
    }
    for (int i = 1; i < a.nwords; i++)
        if (!strchr(a.word[i], '='))
            return cli_misuse(cli, "« %s » : attendu N=present|absent|excuse, ou PERSONNE MARQUE", a.word[i]);
    if (cli->json)
        return cli_misuse(cli, "--json : pour une seule personne (SEANCE PERSONNE MARQUE)");
    return cli_attendance_lines(cli, a.word[0], (char **)a.word + 1, a.nwords - 1, trainer);
}

/* -------------------------------------------------- offer, booking */

static void cli_tell_offer(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    const int *accept = arg;
    if (*accept)
        printf("Proposition acceptée%s : place réservée (réservation %s, séance %s)\n",
               ack->duplicate ? " (déjà)" : "", ack->booking_id, ack->session_id);
    else
        printf("Proposition déclinée%s : la place est proposée à la personne suivante ; la personne garde sa place en "
               "liste d'attente (réservation %s)\n",
               ack->duplicate ? " (déjà)" : "", ack->booking_id);
}

int cli_offer(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "accept", "decline", NULL };
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    int act = cli_action(cli, argc, argv, actions);
    cli_args_t a;
    if (act < 0 || cli_parse(cli, argc - 1, argv + 1, opts, 1, 1, &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    if (!ids_valid(a.word[0], 32))
        return cli_misuse(cli, "numéro de réservation invalide : %s", a.word[0]);
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__AnswerOffer o = TREMPLIN__ANSWER_OFFER__INIT;
    o.booking_id = (char *)a.word[0];
    o.accept = act == 0;
    env.territory = (char *)cli_scheduler_territory(cli);
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
    env.answer_offer = &o;
    int accept = act == 0;
    return cli_send(cli, "scheduler", &env, cli_tell_offer, &accept);
}

static void cli_tell_cancel(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    (void)arg;
    printf("Réservation %s annulée%s : la place est proposée à la liste d'attente (séance %s)\n", ack->booking_id,
           ack->duplicate ? " (déjà)" : "", ack->session_id);
}

int cli_booking(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "cancel", NULL };
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_action(cli, argc, argv, actions) < 0 || cli_parse(cli, argc - 1, argv + 1, opts, 1, 2, &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    if (!ids_valid(a.word[0], 32))
        return cli_misuse(cli, "numéro de réservation invalide : %s", a.word[0]);
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelBooking c = TREMPLIN__CANCEL_BOOKING__INIT;
    c.booking_id = (char *)a.word[0];
    c.reason = (char *)(a.nwords > 1 ? a.word[1] : "");
    env.territory = (char *)cli_scheduler_territory(cli);
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    env.cancel_booking = &c;
    return cli_send(cli, "scheduler", &env, cli_tell_cancel, NULL);
}

/* ----------------------------------------------------------- timetable */

/* The timetable file and the catalogue agree (the check every service
 * makes when it loads either). 0, or -1 with the reason in err. */
static int cli_timetable_check_file(cli_t *cli, const char *path, timetable_t *tt, char *warning, size_t wcap,
                                    char *err, size_t errlen)
{
    matcher_conf_t mc;
    if (timetable_load(path, tt, err, errlen) != 0)
        return -1;
    if (cli_conf_part(cli, "matcher", matcher_conf_fields, matcher_nconf_fields, &mc) != 0) {
        snprintf(err, errlen, "configuration du matcher illisible");
        return -1;
    }
    catalogue_t *cat = xmalloc(sizeof *cat);
    int rc = catalogue_load(mc.catalogue_path, cat, err, errlen) == 0
                     && scheduler_check_kinds(tt, cat, mc.catalogue_path, err, errlen, warning, wcap) == 0
                 ? 0
                 : -1;
    free(cat);
    return rc;
}

static void cli_reload_hint(void)
{
    printf("À faire relire aux services (ils gardent l'ancien calendrier jusque-là) :\n"
           "  systemctl reload tremplin@scheduler tremplin@matcher tremplin@intake tremplin@gateway\n"
           "  (hors systemd : kill -HUP de chacun de ces services)\n");
}

int cli_timetable(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "check", NULL };
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_action(cli, argc, argv, actions) < 0 || cli_parse(cli, argc - 1, argv + 1, opts, 0, 1, &a) != 0)
        return CLI_REFUSED;
    const char *path = a.nwords ? a.word[0] : cli->scheduler.timetable_path;
    timetable_t *tt = xcalloc(1, sizeof *tt);
    char err[600], warning[400] = "";
    int rc = cli_timetable_check_file(cli, path, tt, warning, sizeof warning, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "calendrier refusé : %s\n", err);
    } else {
        printf("calendrier valide : %s (version %s) : %d lieu%s, %d créneau%s par semaine, %d séance%s ponctuelle%s, %d "
               "fermeture%s, %d absence%s, %d capacité%s particulière%s\n",
               path, tt->version, tt->nvenues, tt->nvenues > 1 ? "x" : "", tt->nslots, tt->nslots > 1 ? "x" : "",
               tt->none_off, tt->none_off > 1 ? "s" : "", tt->none_off > 1 ? "s" : "", tt->nclosures,
               tt->nclosures > 1 ? "s" : "", tt->nabsences, tt->nabsences > 1 ? "s" : "", tt->ncapacities,
               tt->ncapacities > 1 ? "s" : "", tt->ncapacities > 1 ? "s" : "");
        if (warning[0])
            printf("attention : %s\n", warning);
        if (strcmp(path, cli->scheduler.timetable_path))
            printf("Pour le mettre en place : le copier sur %s, puis le faire relire aux services.\n",
                   cli->scheduler.timetable_path);
    }
    timetable_free(tt);
    free(tt);
    return rc == 0 ? CLI_OK : CLI_REFUSED;
}

/* Edits the timetable file safely: the change made on its JSON (edit),
 * written beside it, checked as the services will check it, then renamed
 * into place (a reader never sees half a file, and a change that does not
 * pass is never put in place). 0 done, 2 refused. */
static int cli_timetable_edit(cli_t *cli, int (*edit)(cli_t *cli, json_object *root, void *arg), void *arg)
{
    const char *path = cli->scheduler.timetable_path;
    char err[600], tmp[600], warning[400] = "";
    char *text = jsondoc_read_max(path, TT_MAX_FILE, err, sizeof err);
    json_object *root = text ? jsondoc_parse_fr(text, err, sizeof err) : NULL;
    free(text);
    if (!root) {
        fprintf(stderr, "tremplin : calendrier %s illisible : %s\n", path, err);
        return CLI_REFUSED;
    }
    int rc = edit(cli, root, arg);
    if (rc != 0) {
        json_object_put(root);
        return rc;
    }
    snprintf(tmp, sizeof tmp, "%s.new-%d", path, (int)getpid());
    timetable_t *tt = xcalloc(1, sizeof *tt);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                                          | JSON_C_TO_STRING_NOSLASHESCAPE))
                      < 0
        || fclose(f) != 0) {
        fprintf(stderr, "tremplin : %s : écriture impossible (%s)\n", tmp, strerror(errno));
        rc = CLI_REFUSED;
    } else if (cli_timetable_check_file(cli, tmp, tt, warning, sizeof warning, err, sizeof err) != 0) {
        fprintf(stderr, "refusé : le calendrier modifié ne passerait pas : %s\n", err);
        rc = CLI_REFUSED;
    } else if (rename(tmp, path) != 0) {
        fprintf(stderr, "tremplin : %s : mise en place impossible (%s)\n", path, strerror(errno));
        rc = CLI_REFUSED;
    } else if (!cli->quiet) {
        printf("Calendrier enregistré : %s\n", path);
        cli_reload_hint();
    }
    unlink(tmp); /* gone after the rename; left when refused */
    timetable_free(tt);
    free(tt);
    json_object_put(root);
    return rc;
}

/* The array "key" of the timetable, made when absent. */
static json_object *cli_tt_array(json_object *root, const char *key)
{
    json_object *arr;
    if (!json_object_object_get_ex(root, key, &arr) || !json_object_is_type(arr, json_type_array)) {
        arr = json_object_new_array();
        json_object_object_add(root, key, arr);
    }
    return arr;
}

typedef struct {
    const char *session;
    long capacity;
} cli_capacity_t;

static int cli_edit_capacity(cli_t *cli, json_object *root, void *arg)
{
    const cli_capacity_t *c = arg;
    timetable_t *tt = xcalloc(1, sizeof *tt);
    char err[600];
    tt_session_t s;
    int known = timetable_load(cli->scheduler.timetable_path, tt, err, sizeof err) == 0
                && timetable_find(tt, c->session, &s) == 0;
    timetable_free(tt);
    free(tt);
    if (!known) {
        fprintf(stderr, "refusé : le calendrier n'a pas de séance %s (tremplin sessions)\n", c->session);
        return CLI_REFUSED;
    }
    json_object *arr = cli_tt_array(root, "capacities");
    for (size_t i = 0; i < json_object_array_length(arr); i++) { /* the session's earlier change goes */
        json_object *o = json_object_array_get_idx(arr, i), *v;
        if (json_object_object_get_ex(o, "session", &v) && !strcmp(json_object_get_string(v), c->session)) {
            json_object_array_del_idx(arr, i, 1);
            break;
        }
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "session", json_object_new_string(c->session));
    json_object_object_add(o, "capacity", json_object_new_int((int)c->capacity));
    json_object_array_add(arr, o);
    return 0;
}

typedef struct {
    const char *trainer;
    char from[11], to[11];
} cli_absence_t;

static int cli_edit_absence(cli_t *cli, json_object *root, void *arg)
{
    (void)cli;
    const cli_absence_t *c = arg;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "trainer", json_object_new_string(c->trainer));
    json_object_object_add(o, "from", json_object_new_string(c->from));
    json_object_object_add(o, "to", json_object_new_string(c->to));
    json_object_array_add(cli_tt_array(root, "absences"), o);
    return 0;
}

typedef struct {
    const char *const *days;
    int n;
} cli_holidays_t;

static int cli_edit_holidays(cli_t *cli, json_object *root, void *arg)
{
    (void)cli;
    const cli_holidays_t *h = arg;
    json_object *arr = cli_tt_array(root, "holidays");
    for (int i = 0; i < h->n; i++)
        json_object_array_add(arr, json_object_new_string(h->days[i]));
    return 0;
}

int cli_timetable_add_holidays(cli_t *cli, const char *const *days, int n)
{
    cli_holidays_t h = { days, n };
    return cli_timetable_edit(cli, cli_edit_holidays, &h);
}

/* A date as people type it (30/11/2026) or ISO, to ISO. 0 or -1. */
static int cli_iso_date(const char *s, char out[11])
{
    int d, m, y, n = 0;
    if (sscanf(s, "%2d/%2d/%4d%n", &d, &m, &y, &n) == 3 && !s[n])
        snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
    else
        snprintf(out, 11, "%.10s", s);
    int32_t days;
    return strlen(s) <= 10 && cal_parse_date(out, 2000, 2199, &days) == 0 ? 0 : -1;
}

int cli_trainer(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "absent", NULL };
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_action(cli, argc, argv, actions) < 0 || cli_parse(cli, argc - 1, argv + 1, opts, 3, 3, &a) != 0)
        return CLI_REFUSED;
    cli_absence_t c = { a.word[0], "", "" };
    if (!ids_valid(c.trainer, TT_CODE - 1))
        return cli_misuse(cli, "identifiant de formateur invalide : %s", c.trainer);
    if (cli_iso_date(a.word[1], c.from) != 0 || cli_iso_date(a.word[2], c.to) != 0)
        return cli_misuse(cli, "dates attendues AAAA-MM-JJ ou JJ/MM/AAAA");
    if (strcmp(c.from, c.to) > 0)
        return cli_misuse(cli, "la première date est après la seconde");
    return cli_timetable_edit(cli, cli_edit_absence, &c);
}

/* ------------------------------------------------------------- session */

static void cli_tell_session(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    (void)arg;
    const char *st = ack->status;
    const char *colon = strchr(st, ':');
    long n = colon ? atol(colon + 1) : 0;
    if (!strncmp(st, "cancelled:", 10))
        printf("Séance %s : séance annulée, %ld personne%s replacée%s ou remise%s en liste d'attente, et prévenue%s\n",
               ack->session_id, n, n > 1 ? "s" : "", n > 1 ? "s" : "", n > 1 ? "s" : "", n > 1 ? "s" : "");
    else if (!strcmp(st, "cancelled"))
        printf("Séance %s : déjà annulée\n", ack->session_id);
    else if (!strncmp(st, "reopened:", 9))
        printf("Séance %s : séance rouverte, %ld place%s proposée%s à la liste d'attente\n", ack->session_id, n,
               n > 1 ? "s" : "", n > 1 ? "s" : "");
    else if (!strcmp(st, "open"))
        printf("Séance %s : déjà ouverte\n", ack->session_id);
    else
        printf("Séance %s : %s\n", ack->session_id, cli_status_fr(st));
}

int cli_session(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "cancel", "reopen", "capacity", NULL };
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    static const int words[] = { 2, 1, 2 };
    int act = cli_action(cli, argc, argv, actions);
    cli_args_t a;
    if (act < 0 || cli_parse(cli, argc - 1, argv + 1, opts, words[act], words[act], &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    if (!ids_valid(a.word[0], TT_ID - 1))
        return cli_misuse(cli, "identifiant de séance invalide : %s", a.word[0]);
    if (act == 2) {
        cli_capacity_t c = { a.word[0], 0 };
        char *end;
        c.capacity = strtol(a.word[1], &end, 10);
        if (*end || !a.word[1][0] || c.capacity < 1 || c.capacity > TT_MAX_CAPACITY)
            return cli_misuse(cli, "nombre de places attendu, de 1 à %d, pas « %s »", TT_MAX_CAPACITY, a.word[1]);
        if (cli->json)
            return cli_misuse(cli, "--json : pas pour capacity");
        return cli_timetable_edit(cli, cli_edit_capacity, &c);
    }
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelSession c = TREMPLIN__CANCEL_SESSION__INIT;
    Tremplin__ReopenSession r = TREMPLIN__REOPEN_SESSION__INIT;
    env.territory = (char *)cli_scheduler_territory(cli);
    if (act == 0) {
        c.session_id = (char *)a.word[0];
        c.reason = (char *)a.word[1];
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_SESSION;
        env.cancel_session = &c;
    } else {
        r.session_id = (char *)a.word[0];
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_REOPEN_SESSION;
        env.reopen_session = &r;
    }
    return cli_send(cli, "scheduler", &env, cli_tell_session, NULL);
}
