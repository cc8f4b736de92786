/* tremplin sessions | attendance | offer | booking | session — the
 * scheduler's side of the tool, for trainers and staff (French output). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "keys.h"

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

int cli_sessions(cli_t *cli, int argc, char **argv)
{
    const char *week = NULL, *kind = NULL;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--week"))
            week = argv[i + 1];
        else if (!strcmp(argv[i], "--kind"))
            kind = argv[i + 1];
    }
    clock_set_timezone(cli->conf.timezone);
    int64_t from = week ? iso_week_start(week) : clock_now_ms() - 86400000;
    if (from < 0) {
        fprintf(stderr, "tremplin: semaine attendue sous la forme 2026-W49\n");
        return 2;
    }
    int64_t to = from + (week ? 7 : 28) * 86400000LL;
    timetable_t *tt = xmalloc(sizeof *tt);
    char err[512];
    if (timetable_load(cli->scheduler.timetable_path, tt, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin: %s\n", err);
        free(tt);
        return 2;
    }
    rds_t *r = cli_redis(cli);
    if (!r) {
        free(tt);
        return 1;
    }
    const char *T = cli->scheduler.territory[0] ? cli->scheduler.territory : cli->territories[0];
    char c1[64], c6[32];
    printf("%s %-10s %-5s %-18s %-8s %s %s\n", cli_pad("séance", 36, c1, sizeof c1), "date", "heure", "atelier", "places",
           cli_pad("état", 7, c6, sizeof c6),
           "liste d'attente");
    int shown = 0;
    char kinds[64][TT_CODE];
    int nk = 0;
    for (int i = 0; i < tt->nslots + tt->none_off; i++) {
        const tt_slot_t *sl = i < tt->nslots ? &tt->slots[i] : &tt->one_off[i - tt->nslots];
        int seen = 0;
        for (int k = 0; k < nk && !seen; k++)
            seen = !strcmp(kinds[k], sl->kind);
        if (!seen && nk < 64 && (!kind || !strcmp(kind, sl->kind)))
            util_strlcpy(kinds[nk++], sl->kind, TT_CODE);
    }
    char key[160];
    for (int k = 0; k < nk; k++) {
        tp_key(key, sizeof key, T, "scheduler", "sessions:%s", kinds[k]);
        redisReply *ids = rds_cmd(r, "ZRANGEBYSCORE %s %lld (%lld", key, (long long)from, (long long)to);
        long long waiting = 0;
        tp_key(key, sizeof key, T, "scheduler", "fig:current");
        redisReply *wq = rds_cmd(r, "HGET %s waiting:%s", key, kinds[k]);
        if (wq && wq->type == REDIS_REPLY_STRING)
            waiting = atoll(wq->str);
        if (wq)
            freeReplyObject(wq);
        for (size_t j = 0; ids && ids->type == REDIS_REPLY_ARRAY && j < ids->elements; j++) {
            tp_key(key, sizeof key, T, "scheduler", "session:%s", ids->element[j]->str);
            redisReply *x = rds_cmd(r, "HMGET %s start taken capacity status", key);
            if (!x || x->type != REDIS_REPLY_ARRAY || x->elements != 4 || !x->element[0]->str) {
                if (x)
                    freeReplyObject(x);
                continue;
            }
            cal_local_t l;
            clock_local(atoll(x->element[0]->str), &l);
            int yy, mm, dd;
            cal_civil_from_days(l.days, &yy, &mm, &dd);
            char date[40], hour[24], places[16];
            snprintf(date, sizeof date, "%02d/%02d/%04d", dd, mm, yy);
            snprintf(hour, sizeof hour, "%02d:%02d", l.minute / 60, l.minute % 60);
            snprintf(places, sizeof places, "%s/%s", x->element[1]->str, x->element[2]->str);
            printf("%-36s %-10s %-5s %-18s %-8s %s %lld\n", ids->element[j]->str, date, hour, kinds[k], places,
                   cli_pad(!strcmp(x->element[3]->str, "open") ? "ouverte" : "annulée", 7, c6, sizeof c6), waiting);
            shown++;
            freeReplyObject(x);
        }
        if (ids)
            freeReplyObject(ids);
    }
    if (!shown)
        printf("(aucune séance sur cette période)\n");
    free(tt);
    return 0;
}

int cli_attendance(cli_t *cli, int argc, char **argv)
{
    if (argc == 1 || (argc >= 2 && strchr(argv[1], '=')))
        return cli_attendance_lines(cli, argc, argv);
    if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "--trainer"))) {
        fprintf(stderr, "usage: tremplin attendance SESSION PERSON seen|noshow|excused [--trainer ID]\n");
        return 2;
    }
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
    m.session_id = argv[0];
    m.person_id = argv[1];
    m.status = argv[2];
    m.trainer_id = argc == 5 ? argv[4] : "";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
    env.mark_attendance = &m;
    return cli_command(cli, "scheduler", &env);
}

int cli_offer(cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[0], "accept") && strcmp(argv[0], "decline"))) {
        fprintf(stderr, "usage: tremplin offer accept|decline BOOKING\n");
        return 2;
    }
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__AnswerOffer a = TREMPLIN__ANSWER_OFFER__INIT;
    a.booking_id = argv[1];
    a.accept = !strcmp(argv[0], "accept");
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
    env.answer_offer = &a;
    return cli_command(cli, "scheduler", &env);
}

int cli_booking(cli_t *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "cancel")) {
        fprintf(stderr, "usage: tremplin booking cancel BOOKING [REASON]\n");
        return 2;
    }
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelBooking c = TREMPLIN__CANCEL_BOOKING__INIT;
    c.booking_id = argv[1];
    c.reason = argc > 2 ? argv[2] : "";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    env.cancel_booking = &c;
    return cli_command(cli, "scheduler", &env);
}

int cli_session(cli_t *cli, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[0], "cancel")) {
        fprintf(stderr, "usage: tremplin session cancel SESSION REASON\n");
        return 2;
    }
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__CancelSession c = TREMPLIN__CANCEL_SESSION__INIT;
    c.session_id = argv[1];
    c.reason = argv[2];
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_SESSION;
    env.cancel_session = &c;
    return cli_command(cli, "scheduler", &env);
}
