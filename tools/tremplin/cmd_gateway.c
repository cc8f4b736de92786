/* tremplin roster | attendance SESSION [N=mark ...] | letters | notify list —
 * the trainer's and the staff's side of the gateway (French output): the
 * participants of a session as a list, a CSV and a sign-in sheet; attendance
 * by the roster's line numbers; the day's letters as one PDF; the delivery
 * status of the notification jobs. Read as the operator user. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "services.h"
#include "clock.h"
#include "gateway/gateway.h"
#include "gateway/message.h"
#include "gateway/pdf.h"
#include "gateway/roster_csv.h"
#include "ids.h"
#include "keys.h"
#include "matcher/matcher.h"
#include "scheduler/scheduler.h"

/* What the papers need besides Redis: venues, titles and levels, the
 * letterhead. */
typedef struct {
    timetable_t tt;
    catalogue_t cat;
    gateway_conf_t gw;
} gw_files_t;

static gw_files_t *gw_files(cli_t *cli)
{
    gw_files_t *f = xcalloc(1, sizeof *f);
    matcher_conf_t mc;
    svc_conf_t scratch;
    svc_def_t mpart = { .sections = tp_conf_sections, .conf_fields = matcher_conf_fields, .nconf_fields = matcher_nconf_fields, .conf_base = &mc };
    svc_def_t gpart = { .sections = tp_conf_sections, .conf_fields = gateway_conf_fields, .nconf_fields = gateway_nconf_fields, .conf_base = &f->gw };
    char err[512];
    if (svc_conf_load(cli->conf_path, "matcher", &scratch, &mpart, err, sizeof err) != 0
        || svc_conf_load(cli->conf_path, "gateway", &scratch, &gpart, err, sizeof err) != 0
        || timetable_load(cli->scheduler.timetable_path, &f->tt, err, sizeof err) != 0
        || catalogue_load(mc.catalogue_path, &f->cat, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin: %s\n", err);
        timetable_free(&f->tt);
        free(f);
        return NULL;
    }
    clock_set_timezone(cli->conf.timezone);
    return f;
}

static void gw_files_free(gw_files_t *f)
{
    if (f)
        timetable_free(&f->tt);
    free(f);
}

/* ---------------------------------------------------------------- roster */

typedef struct {
    char bid[16], pid[40], status[24], name[128], level[64], access[256], convoked[16], survey[32];
    long long seq;
    int64_t booked_at;
    const char *released; /* a line kept for its number (roster.h): what became of it; NULL = a participant */
} gw_line_t;

typedef struct {
    char sid[TT_ID], kind[TT_CODE], venue[TT_CODE], trainer[TT_CODE];
    long long start, end;
    gw_line_t *lines;
    int n;
} gw_roster_t;

static int gw_line_cmp(const void *a, const void *b)
{
    const gw_line_t *x = a, *y = b;
    if (x->booked_at != y->booked_at)
        return (x->booked_at > y->booked_at) - (x->booked_at < y->booked_at);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The lines of sid (roster_line: its participants, and the bookings
 * released since, kept for their numbers), in the order they became
 * booked: the line numbers of the roster, the sheet and `attendance`, which
 * never shift. 0, -1 (Redis away: 1) or -2 (unknown session). */
static int gw_roster_read(cli_t *cli, rds_t *r, const gw_files_t *f, const char *sid, gw_roster_t *out)
{
    const char *T = cli_scheduler_territory(cli);
    memset(out, 0, sizeof *out);
    util_strlcpy(out->sid, sid, sizeof out->sid);
    char key[200], v[64];
    tp_key(key, sizeof key, T, "scheduler", "session:%s", sid);
    redisReply *s = rds_cmd(r, "HMGET %s kind venue trainer start end", key);
    if (!s)
        return -1;
    int known = s->type == REDIS_REPLY_ARRAY && s->elements == 5 && s->element[0]->str;
    if (known) {
        util_strlcpy(out->kind, s->element[0]->str, sizeof out->kind);
        util_strlcpy(out->venue, s->element[1]->str ? s->element[1]->str : "", sizeof out->venue);
        util_strlcpy(out->trainer, s->element[2]->str ? s->element[2]->str : "", sizeof out->trainer);
        out->start = s->element[3]->str ? atoll(s->element[3]->str) : 0;
        out->end = s->element[4]->str ? atoll(s->element[4]->str) : 0;
    }
    freeReplyObject(s);
    if (!known)
        return -2;
    tp_key(key, sizeof key, T, "scheduler", "roster:%s", sid);
    redisReply *ro = rds_cmd(r, "HGETALL %s", key);
    if (!ro)
        return -1;
    out->lines = xcalloc(ro->elements / 2 + 1, sizeof *out->lines);
    for (size_t i = 0; ro->type == REDIS_REPLY_ARRAY && i + 1 < ro->elements; i += 2) {
        gw_line_t *l = &out->lines[out->n];
        util_strlcpy(l->pid, ro->element[i]->str, sizeof l->pid);
        util_strlcpy(l->bid, ro->element[i + 1]->str, sizeof l->bid);
        tp_key(key, sizeof key, T, "scheduler", "booking:%s", l->bid);
        redisReply *b = rds_cmd(r, "HMGET %s status via answered created seq", key);
        const char *bf[5] = { "", "", "", "", "" };
        for (size_t k = 0; b && b->type == REDIS_REPLY_ARRAY && k < b->elements && k < 5; k++)
            bf[k] = b->element[k]->type == REDIS_REPLY_STRING ? b->element[k]->str : "";
        util_strlcpy(l->status, bf[0], sizeof l->status);
        int line = roster_line(bf[0], bf[1], bf[2], bf[3], &l->booked_at, &l->released);
        l->seq = atoll(bf[4]);
        if (b)
            freeReplyObject(b);
        if (!line)
            continue;
        char pkey[80];
        snprintf(pkey, sizeof pkey, "contact:%s", l->pid);
        cli_hget(cli, T, "intake", pkey, "given_name", l->name, sizeof l->name);
        char codes[200], phone[24], sms[16], survey[16];
        cli_hget(cli, T, "intake", pkey, "accessibility", codes, sizeof codes);
        cli_hget(cli, T, "intake", pkey, "phone", phone, sizeof phone);
        roster_access_fr(codes, l->access, sizeof l->access);
        snprintf(pkey, sizeof pkey, "person:%s", l->pid);
        cli_hget(cli, T, "intake", pkey, "consent:sms", sms, sizeof sms);
        cli_hget(cli, T, "intake", pkey, "consent:survey", survey, sizeof survey);
        /* the survey service relies on it: who gets no survey by SMS answers on paper */
        util_strlcpy(l->survey, phone[0] == '+' && !strcmp(sms, "given") && !strcmp(survey, "given") ? "SMS"
                                                                                                   : "questionnaire papier",
                     sizeof l->survey);
        cli_hget(cli, T, "matcher", pkey, "level", v, sizeof v);
        for (int k = 0; v[0] && k < f->cat.nlevels; k++)
            if (f->cat.levels[k].level == atoi(v))
                util_strlcpy(l->level, f->cat.levels[k].name_fr, sizeof l->level);
        char ckey[96];
        snprintf(ckey, sizeof ckey, "convoked:%s", sid);
        cli_hget(cli, T, "gateway", ckey, l->bid, v, sizeof v);
        util_strlcpy(l->convoked, !strcmp(v, "sms") ? "SMS" : !strcmp(v, "letter") ? "courrier" : "", sizeof l->convoked);
        out->n++;
    }
    freeReplyObject(ro);
    qsort(out->lines, (size_t)out->n, sizeof *out->lines, gw_line_cmp);
    return 0;
}

static int gw_roster_open(cli_t *cli, const char *sid, gw_files_t **f, gw_roster_t *ro)
{
    if (!ids_valid(sid, TT_ID - 1)) {
        fprintf(stderr, "tremplin: identifiant de séance invalide\n");
        return 2;
    }
    int audited = cli_record_read(cli, "scheduler", cli_scheduler_territory(cli), "roster", sid);
    if (audited != CLI_OK)
        return audited;
    if (!(*f = gw_files(cli)))
        return 2;
    rds_t *r = cli_redis(cli);
    int rc = r ? gw_roster_read(cli, r, *f, sid, ro) : -1;
    if (rc == 0)
        return 0;
    free(*f);
    *f = NULL;
    if (rc == -2)
        fprintf(stderr, "tremplin: séance inconnue : %s\n", sid);
    return rc == -2 ? 2 : 1;
}

static void gw_roster_print(const gw_roster_t *ro, const gw_files_t *f)
{
    const cat_kind_t *k = catalogue_kind(&f->cat, ro->kind);
    const tt_venue_t *v = timetable_venue(&f->tt, ro->venue);
    char when[MSG_DATE_MAX];
    msg_when_fr(clock_zone(), ro->start, 1, when);
    printf("%s — %s, %s (formateur : %s)\n", k ? k->title_fr : ro->kind, when, v ? v->name_fr : ro->venue,
           ro->trainer);
    /* the name, level and needs as wide as their longest */
    int w[] = { 3, 6, 6, 13, 11, 13, 10, 11, 32 };
    for (int i = 0; i < ro->n; i++) {
        const char *cells[] = { ro->lines[i].name, ro->lines[i].level, ro->lines[i].access };
        for (int c = 0; c < 3; c++)
            cli_fit(&w[1 + c], cells[c]);
    }
    cli_row(w, 9, "n°", "prénom", "niveau", "accessibilité", "convocation", "questionnaire", "présence", "réservation",
            "personne");
    for (int i = 0; i < ro->n; i++) {
        const gw_line_t *l = &ro->lines[i];
        const char *mark = l->released                    ? l->released
                           : !strcmp(l->status, "seen")    ? "présent"
                           : !strcmp(l->status, "noshow")  ? "absent"
                           : !strcmp(l->status, "excused") ? "excusé"
                                                           : "";
        char n[12];
        snprintf(n, sizeof n, "%d", i + 1);
        cli_row(w, 9, n, l->name, l->level, l->access[0] ? l->access : "-", l->convoked[0] ? l->convoked : "-",
                l->survey, mark[0] ? mark : "-", l->bid, l->pid);
    }
    if (ro->n == 0)
        printf("(aucun participant)\n");
}

int cli_roster(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "csv", required_argument, NULL, 'c' },
                                          { "pdf", required_argument, NULL, 'p' },
                                          { "sep", required_argument, NULL, 's' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 1, 1, &a) != 0)
        return CLI_REFUSED;
    const char *csv = a.opt['c'], *pdf = a.opt['p'];
    if (a.opt['s'] && strcmp(a.opt['s'], ",") && strcmp(a.opt['s'], ";"))
        return cli_misuse(cli, "--sep : , ou ; (pas « %s »)", a.opt['s']);
    char sep = a.opt['s'] ? a.opt['s'][0] : ';';
    gw_files_t *f;
    gw_roster_t ro;
    int rc = gw_roster_open(cli, a.word[0], &f, &ro);
    if (rc != 0)
        return rc;
    if (!cli->quiet)
        gw_roster_print(&ro, f);
    const cat_kind_t *k = catalogue_kind(&f->cat, ro.kind);
    const tt_venue_t *v = timetable_venue(&f->tt, ro.venue);
    roster_entry_t *e = xcalloc((size_t)ro.n + 1, sizeof *e);
    for (int i = 0; i < ro.n; i++)
        e[i] = (roster_entry_t){ ro.lines[i].name,  ro.lines[i].level, ro.lines[i].access,   ro.lines[i].convoked,
                                 ro.lines[i].bid,   ro.lines[i].pid,   ro.lines[i].survey,   ro.lines[i].released };
    roster_t r = { ro.sid, k ? k->title_fr : ro.kind, ro.start, ro.end, v ? v->name_fr : ro.venue,
                   v ? v->address_fr : "", ro.trainer, k ? k->partner : "", clock_zone(), e, (size_t)ro.n };
    char err[256];
    if (csv) {
        FILE *out = fopen(csv, "w");
        if (!out || roster_csv_write(out, &r, sep) != 0) {
            fprintf(stderr, "tremplin: %s : écriture impossible\n", csv);
            rc = 2;
        } else if (!cli->quiet) {
            printf("liste écrite : %s\n", csv);
        }
        if (out)
            fclose(out);
    }
    if (pdf && rc == 0) {
        if (pdf_sheet(pdf, &r, err, sizeof err) != 0) {
            fprintf(stderr, "tremplin: %s : %s\n", pdf, err);
            rc = 2;
        } else if (!cli->quiet) {
            printf("feuille d'émargement écrite : %s\n", pdf);
        }
        cli->pdf_used = 1; /* fontconfig's caches freed once, at the end (cli_fini) */
    }
    free(e);
    free(ro.lines);
    gw_files_free(f);
    return rc;
}

/* ------------------------------------------------ attendance by line number */

/* "3=present" → line 3, "seen"; or BOOKING_ID=present (as typed: lower
 * case, O for 0 …), or PERSON_ID=present. */
static int gw_parse_mark(const gw_roster_t *ro, const char *arg, const gw_line_t **line, const char **status)
{
    char buf[96], bid[SCHEDULER_BOOKING_LEN + 1];
    util_strlcpy(buf, arg, sizeof buf);
    char *eq = strchr(buf, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    if (!(*status = cli_mark(eq + 1)))
        return -1;
    char *end;
    long n = strtol(buf, &end, 10);
    if (!*end && n >= 1 && n <= ro->n) {
        *line = &ro->lines[n - 1];
        return 0;
    }
    int is_bid = scheduler_booking_id(buf, bid) == 0;
    for (int i = 0; i < ro->n; i++)
        if (!strcmp(ro->lines[i].pid, buf) || (is_bid && !strcmp(ro->lines[i].bid, bid))) {
            *line = &ro->lines[i];
            return 0;
        }
    return -1;
}

int cli_attendance_lines(cli_t *cli, const char *session, char **argv, int nmarks, const char *trainer)
{
    gw_files_t *f;
    gw_roster_t ro;
    int rc = gw_roster_open(cli, session, &f, &ro);
    if (rc != 0)
        return rc;
    char line[1024], *words[64];
    char **marks = argv;
    if (nmarks == 0) { /* the list, then the marks typed on one line */
        gw_roster_print(&ro, f);
        printf("\nprésences (ex. 1=present 2=absent 3=excuse), puis Entrée :\n");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            goto done;
        for (char *t = strtok(line, " \t\r\n"); t && nmarks < 64; t = strtok(NULL, " \t\r\n"))
            words[nmarks++] = t;
        marks = words;
    }
    /* every mark checked before one is sent */
    for (int i = 0; i < nmarks; i++) {
        const gw_line_t *l;
        const char *st;
        if (gw_parse_mark(&ro, marks[i], &l, &st) != 0) {
            fprintf(stderr,
                    "tremplin: « %s » : attendu N=present|absent|excuse (N de 1 à %d, ou l'identifiant de la "
                    "réservation ou de la personne)\n",
                    marks[i], ro.n);
            rc = 2;
            goto done;
        }
        if (l->released) { /* the line of someone no longer booked: never another person's */
            fprintf(stderr, "tremplin: « %s » : ligne %d (%s) — %s : rien n'est noté\n", marks[i],
                    (int)(l - ro.lines) + 1, l->name, l->released);
            rc = 2;
            goto done;
        }
    }
    client_t *c = nmarks ? cli_client(cli, "scheduler") : NULL;
    for (int i = 0; i < nmarks && c; i++) {
        const gw_line_t *l;
        const char *st;
        gw_parse_mark(&ro, marks[i], &l, &st);
        Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT, *reply = NULL;
        Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
        m.session_id = ro.sid;
        m.person_id = (char *)l->pid;
        m.status = (char *)st;
        m.trainer_id = (char *)trainer;
        env.territory = (char *)cli_scheduler_territory(cli);
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
        env.mark_attendance = &m;
        int n = (int)(l - ro.lines) + 1;
        const char *fr = !strcmp(st, "seen") ? "présent(e)" : !strcmp(st, "noshow") ? "absent(e)" : "excusé(e)";
        if (client_call(c, &env, &reply) != 0) {
            fprintf(stderr, "%d %s : le planificateur ne répond pas\n", n, l->name);
            rc = 1;
            break;
        }
        if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK)
            printf("%d %s : %s%s\n", n, l->name, fr, reply->ack->duplicate ? " (déjà noté)" : "");
        else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR) {
            printf("%d %s : refusé — %s\n", n, l->name, reply->error->message_fr);
            rc = 2;
        }
        wire_free(reply, NULL);
    }
    if (c)
        client_destroy(&c);
done:
    free(ro.lines);
    gw_files_free(f);
    return rc;
}

/* --------------------------------------------------------------- letters */

int cli_letters(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "date", required_argument, NULL, 'd' },
                                          { "pdf", required_argument, NULL, 'p' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0)
        return CLI_REFUSED;
    const char *date = a.opt['d'], *pdf = a.opt['p'];
    int32_t days;
    if (!date || !pdf)
        return cli_misuse(cli, "--date et --pdf sont obligatoires");
    if (cal_parse_date(date, 2000, 2100, &days) != 0)
        return cli_misuse(cli, "--date : date attendue AAAA-MM-JJ, pas « %s »", date);
    int audited = cli_record_read(cli, "intake", cli_scheduler_territory(cli), "letters", date);
    if (audited != CLI_OK)
        return audited;
    gw_files_t *f = gw_files(cli);
    if (!f)
        return 2;
    rds_t *r = cli_redis(cli);
    if (!r) {
        gw_files_free(f);
        return 1;
    }
    const char *T = cli_scheduler_territory(cli);
    char key[200];
    tp_key(key, sizeof key, T, "gateway", "letters:%s", date);
    redisReply *ids = rds_cmd(r, "ZRANGE %s 0 -1", key);
    size_t n = ids && ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0;
    pdf_letter_t *letters = xcalloc(n + 1, sizeof *letters);
    /* each letter's strings: 9 fields and the body */
    enum { F_NAME, F_FAMILY, F_L1, F_L2, F_PC, F_CITY, F_ADDR, F_BODY_MAX = 4096 };
    char(*fields)[7][256] = xcalloc(n + 1, sizeof *fields);
    char(*bodies)[F_BODY_MAX] = xcalloc(n + 1, sizeof *bodies);
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char jkey[160], type[32], pid[40], sid[TT_ID], reason[200], skind[TT_CODE], venue[TT_CODE], v[32];
        snprintf(jkey, sizeof jkey, "job:%s", ids->element[i]->str);
        cli_hget(cli, T, "gateway", jkey, "type", type, sizeof type);
        cli_hget(cli, T, "gateway", jkey, "person", pid, sizeof pid);
        cli_hget(cli, T, "gateway", jkey, "session", sid, sizeof sid);
        cli_hget(cli, T, "gateway", jkey, "reason", reason, sizeof reason);
        msg_kind_t kind;
        if (msg_kind_of_job(type, &kind) != 0)
            continue;
        char skey[96], ckey[80];
        snprintf(skey, sizeof skey, "session:%s", sid);
        cli_hget(cli, T, "scheduler", skey, "kind", skind, sizeof skind);
        cli_hget(cli, T, "scheduler", skey, "venue", venue, sizeof venue);
        msg_input_t in = { .kind = kind, .zone = clock_zone(), .reason = msg_reason_fr(reason) };
        cli_hget(cli, T, "scheduler", skey, "start", v, sizeof v);
        in.session.start_ms = atoll(v);
        cli_hget(cli, T, "scheduler", skey, "end", v, sizeof v);
        in.session.end_ms = atoll(v);
        const cat_kind_t *ck = catalogue_kind(&f->cat, skind);
        const tt_venue_t *tv = timetable_venue(&f->tt, venue);
        in.session.title = ck ? ck->title_fr : "";
        in.session.venue_name = tv ? tv->name_fr : venue;
        in.session.venue_address = tv ? tv->address_fr : "";
        snprintf(ckey, sizeof ckey, "contact:%s", pid);
        static const char *const names[6] = { "given_name", "family_name", "line1", "line2", "postcode", "city" };
        for (int j = 0; j < 6; j++)
            cli_hget(cli, T, "intake", ckey, names[j], fields[k][j], sizeof fields[k][j]);
        if (!fields[k][F_L1][0]) /* the contact data was purged meanwhile */
            continue;
        in.given_name = fields[k][F_NAME];
        char err[200];
        if (msg_letter(&in, bodies[k], F_BODY_MAX, err, sizeof err) != 0) {
            fprintf(stderr, "tremplin: lettre %s : %s\n", ids->element[i]->str, err);
            continue;
        }
        snprintf(fields[k][F_ADDR], sizeof fields[k][F_ADDR], "%.120s%s%.120s", fields[k][F_NAME],
                 fields[k][F_FAMILY][0] ? " " : "", fields[k][F_FAMILY]);
        letters[k] = (pdf_letter_t){ fields[k][F_ADDR], fields[k][F_L1], fields[k][F_L2], fields[k][F_PC],
                                     fields[k][F_CITY], msg_letter_subject(kind), bodies[k] };
        k++;
    }
    if (ids)
        freeReplyObject(ids);
    if (k == 0) {
        printf("aucune lettre pour le %s\n", date);
    } else {
        char sender[512];
        util_strlcpy(sender, f->gw.letter_sender, sizeof sender);
        for (char *p = sender; *p; p++)
            if (*p == '|')
                *p = '\n';
        pdf_letterhead_t head = { sender, f->gw.letter_place, cal_from_local(clock_zone(), days, 9 * 60), clock_zone() };
        char err[256];
        if (pdf_letters(pdf, &head, letters, k, err, sizeof err) != 0) {
            fprintf(stderr, "tremplin: %s : %s\n", pdf, err);
            rc = 2;
        } else {
            printf("%zu lettre%s écrite%s : %s\n", k, k > 1 ? "s" : "", k > 1 ? "s" : "", pdf);
        }
        cli->pdf_used = 1; /* fontconfig's caches freed once, at the end (cli_fini) */
    }
    free(letters);
    free(fields);
    free(bodies);
    gw_files_free(f);
    return rc;
}

/* ----------------------------------------------------------- notify list */

const char *gw_status_fr(const char *s)
{
    static const struct {
        const char *code, *fr;
    } st[] = { { "queued", "en attente" }, { "held", "retenu" },      { "sending", "en cours" },
               { "sent", "envoyé" },        { "failed", "échec, nouvel essai" }, { "given_up", "abandonné" },
               { "dropped", "non envoyé" } };
    for (size_t i = 0; i < TP_ARRAY_LEN(st); i++)
        if (!strcmp(st[i].code, s))
            return st[i].fr;
    return s;
}

/* A job's type and a drop's reason, in French (the code when unknown). */
const char *gw_type_fr(const char *t)
{
    static const struct {
        const char *code, *fr;
    } types[] = { { "convocation", "convocation" },
                  { "reminder", "rappel" },
                  { "offer", "proposition de place" },
                  { "waitlisted", "liste d'attente" },
                  { "cancelled", "annulation" },
                  { "session_cancelled", "séance annulée" },
                  { "capacity_cut", "places réduites" },
                  { "offer_expired", "proposition expirée" },
                  { "withdrawn", "place retirée" },
                  { "mediator_flag", "signalement médiateur" },
                  { "mediator_unflag", "signalement levé" },
                  { "survey_invitation", "questionnaire" },
                  { "survey_reminder", "rappel questionnaire" },
                  { "not_understood", "réponse incomprise" } };
    for (size_t i = 0; i < TP_ARRAY_LEN(types); i++)
        if (!strcmp(types[i].code, t))
            return types[i].fr;
    return t;
}

static const char *gw_drop_fr(const char *r)
{
    return !strcmp(r, "too_late")     ? "trop tard"
           : !strcmp(r, "no_consent") ? "pas de consentement"
           : !strcmp(r, "no_contact") ? "ni téléphone ni adresse"
           : !strcmp(r, "stale")      ? "plus d'actualité"
                                      : r;
}

int cli_notify(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "list", NULL };
    static const struct option opts[] = { { "failed", no_argument, NULL, 'f' },
                                          { "person", required_argument, NULL, 'p' },
                                          { "limit", required_argument, NULL, 'l' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    long limit;
    if (cli_action(cli, argc, argv, actions) < 0 || cli_parse(cli, argc - 1, argv + 1, opts, 0, 0, &a) != 0
        || cli_number(cli, &a, 'l', "limit", 1, 100000, 50, &limit) != 0)
        return CLI_REFUSED;
    int failed = a.opt['f'] != NULL;
    const char *person = a.opt['p'];
    if (person && !ids_hex(person))
        return cli_misuse(cli, "--person : identifiant de personne invalide : %s", person);
    rds_t *r = cli_redis(cli);
    if (!r)
        return 1;
    static const int w[] = { 44, 22, 12, 20, 7, 6, 30 };
    cli_row(w, 7, "notification", "type", "personne", "état", "canal", "essais", "détail");
    int shown = 0;
    for (int t = 0; t < cli->nterritories; t++) {
        const char *T = cli->territories[t];
        char key[200];
        if (failed)
            tp_key(key, sizeof key, T, "gateway", "flagged");
        else if (person)
            tp_key(key, sizeof key, T, "gateway", "person:%s", person);
        else
            tp_key(key, sizeof key, T, "gateway", "jobs");
        redisReply *ids = rds_cmd(r, "ZREVRANGE %s 0 %ld", key, limit - 1);
        for (size_t i = 0; ids && ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++) {
            char jkey[200];
            tp_key(jkey, sizeof jkey, T, "gateway", "job:%s", ids->element[i]->str);
            redisReply *j = rds_cmd(r, "HMGET %s type person status channel tries held_until drop_reason last_error sent_ms",
                                    jkey);
            if (!j || j->type != REDIS_REPLY_ARRAY || j->elements != 9 || !j->element[0]->str) {
                if (j)
                    freeReplyObject(j);
                continue;
            }
#define J(i) (j->element[i]->str ? j->element[i]->str : "")
            char detail[200] = "", when[MSG_DATE_MAX];
            if (!strcmp(J(2), "held") && *J(5)) {
                msg_when_fr(clock_zone(), atoll(J(5)), 0, when);
                snprintf(detail, sizeof detail, "jusqu'au %s", when);
            } else if (!strcmp(J(2), "dropped")) {
                snprintf(detail, sizeof detail, "%s (%s)", gw_drop_fr(J(6)), J(6));
            } else if (*J(7) && strcmp(J(2), "sent")) {
                snprintf(detail, sizeof detail, "%.150s", J(7));
            } else if (!strcmp(J(2), "sent") && *J(8)) {
                msg_when_fr(clock_zone(), atoll(J(8)), 0, when);
                snprintf(detail, sizeof detail, "le %s", when);
            }
            char pid[16];
            snprintf(pid, sizeof pid, "%.12s", J(1));
            cli_row(w, 7, ids->element[i]->str, gw_type_fr(J(0)), pid, gw_status_fr(J(2)), *J(3) ? J(3) : "-",
                    *J(4) ? J(4) : "0", detail);
#undef J
            shown++;
            freeReplyObject(j);
        }
        if (ids)
            freeReplyObject(ids);
    }
    if (shown == 0)
        printf("(aucune notification)\n");
    return 0;
}
