/* The demo season's player (`tremplin season`), internal to the tool:
 * season_stack.c moves business time and waits for the stack to be quiet,
 * season_play.c does what the people, the branches and the trainers do
 * (referrals over the branch CURVE endpoint, SMS replies through the
 * gateway's inbox, attendance through the scheduler), season_report.c tells
 * the result, cmd_season.c runs the weeks. */
#ifndef TP_SEASON_H
#define TP_SEASON_H

#include <czmq.h>

#include "cli.h"
#include "season_plan.h"

typedef struct {
    cli_t *cli;
    season_plan_t plan;
    char dir[256];        /* the instance (the configuration's folder) */
    char run_dir[300];    /* <dir>/run: the services' pid files */
    char log_dir[300];    /* <dir>/log: their logs (a reload is seen there) */
    char spool_dir[256];  /* the gateway's spool and inbox */
    char inbox_dir[300];
    const char *T;        /* the territory */
    timetable_t *tt;      /* the instance's timetable, read again after each edit */
    client_t *branch[SEASON_NBRANCHES];
    client_t *scheduler, *survey;
    /* paper forms of the workshops just marked (people without a mobile),
     * typed in at the next step, once the survey has opened them */
    struct {
        int person;
        char session[72];
    } *paper;
    int npaper, paper_cap;
    int32_t first_day;    /* the season's first Monday (days since 1970) */
    int64_t last_step_ms; /* the business instant of the last step */
    /* per person of the plan */
    char (*pid)[TP_ID_LEN + 1];
    int *workshops_marked, *cancelled, *declined;
    zhash_t *seen_sms;    /* spool files already read */
    long referred, refused, replies, marks, forms, errors;
} season_t;

/* ---------------------------------------------------------- season_stack.c */

/* Rewrites the [clock] lines of the configuration: business time is epoch
 * at the real instant start, at speed 1 (epoch 0: real time). 0 or -1. */
int season_write_clock(const char *path, int64_t epoch, int64_t start);
/* Business time is now at_ms for every service: the configuration's [clock]
 * rewritten (epoch_ms = at_ms from this real instant, speed 1; at_ms 0:
 * real time again), each service told (SIGHUP, its pid in run_dir) and
 * seen to reload it (its log). 0, or -1 after a French message. */
int season_set_clock(season_t *s, int64_t at_ms);
/* Waits until what was sent has been carried out: every outbox empty, the
 * notify streams read by the gateway, no job due now, the inbox empty, and
 * what the scheduler's timer does after a move of time done (no offer past
 * its deadline, the sessions of the horizon's last day opened) — 60 s at
 * most. 0, or -1 after a French message. */
int season_wait_quiet(season_t *s);
/* Reads the timetable again (after the season edited it). 0 or -1. */
int season_load_timetable(season_t *s);

/* ----------------------------------------------------------- season_play.c */

/* Registers the season's post offices (simulated branches) and connects
 * to intake's CURVE endpoint as each. 0 or -1. */
int season_connect(season_t *s);
void season_disconnect(season_t *s);
/* Sends the referrals of person i (plan) at business now. 0 or -1. */
int season_refer(season_t *s, int i);
/* Reads the SMS the gateway wrote since the last call and answers those
 * the plan answers (offers, a first convocation, survey invitations). */
void season_reply(season_t *s);
/* Marks attendance of the sessions that ended in (from_ms, to_ms]. */
void season_attendance(season_t *s, int64_t from_ms, int64_t to_ms);
/* Types in the paper forms of the people without a mobile who came
 * (SubmitSurvey to the survey service, channel "paper"); how many. */
int season_paper(season_t *s);
/* The plan's index of a person id, or -1. */
int season_person_of(const season_t *s, const char *pid);

/* --------------------------------------------------------- season_report.c */

struct json_object;
/* Prints the season's result (st: var/season.json's record: from,
 * journey_person …). */
void season_report(season_t *s, struct json_object *st);
/* "30/11/2026" of "2026-11-30" (anything else as it is). */
void season_date_fr(const char *iso, char out[11]);
/* A string member of o, or "". */
const char *season_js(struct json_object *o, const char *k);

#endif
