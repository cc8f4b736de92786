/* survey — after a workshop: a participation opened for each person marked
 * `seen`, the invitation and one reminder on the notification stream, the
 * answers (SMS through the gateway, a kiosk, paper forms typed in: one
 * command, SubmitSurvey), and "I want more training" turned into a
 * FollowUpRequested to the matcher (ARCHITECTURE.md). This header is shared
 * by the service and the tremplin tool. */
#ifndef TP_SURVEY_H
#define TP_SURVEY_H

#include <stdint.h>

#include "conf.h"
#include "keyring.h"
#include "matcher/catalogue.h"
#include "svc.h"

#define SURVEY_COMMENT_MAX 500 /* characters of a comment */

typedef struct {
    int64_t window_days;            /* answers accepted until this long after the session's start */
    int64_t remind_hours;           /* an unanswered invitation is reminded this long after it went */
    int64_t timer_ms;               /* reminders and closures checked (real time) */
    int64_t purge_ms;               /* expired comments deleted (real time) */
    int64_t lease_ms;               /* the timers' lease: another instance takes over after it */
    char kiosk_dir[256];            /* server key, kiosk registry, kiosk secrets */
    char kiosk_bind[256];           /* CURVE endpoint for kiosks; "" = none */
    int64_t watch_ms;               /* how often the kiosk registry is checked */
} survey_conf_t;

extern const conf_field_t survey_conf_fields[];
extern const size_t survey_nconf_fields;

/* The kiosk registry's layout (common/keyring.h): <kiosk_dir>/kiosks/<id>.key,
 * <kiosk_dir>/kiosk-secrets/<id>.key_secret. */
extern const keyring_kind_t survey_kiosks;

typedef struct {
    survey_conf_t conf;
    catalogue_t catalogue; /* the matcher's: the kinds and needs a person may ask for */
    catalogue_t fresh;
    keyring_door_t kiosk;  /* the kiosks' CURVE endpoint and its ZAP (kiosk.c) */
    svc_t *svc;
    call_t step; /* the timers' step, reused */
    long purged; /* comments deleted by the current purge run */
} survey_t;

extern const inbox_handler_t survey_handlers[];
extern const size_t survey_nhandlers;

/* answer.c: the checks of a SubmitSurvey that need no Redis. Fills err and
 * returns -1 on the first fault; kiosk: it came through the kiosk endpoint
 * (channel "kiosk" or empty only). */
typedef struct {
    const char *code;
    char field[32];
    char message_fr[160];
} survey_error_t;
int survey_answer_check(const Tremplin__SubmitSurvey *s, const catalogue_t *cat, int kiosk, survey_error_t *err);
/* A yes/no cell of a paper form as typed in (survey import): oui, non, o,
 * n, yes, no, 1, 0 — any case, accents taken off, surrounding spaces
 * ignored. 1 yes, 0 no, -1 anything else (an error, never a "no"). */
int survey_yes_no(const char *text);
/* The participation of person + session: one per pair, a derived id (the
 * deployment's key), so every instance and every retry finds the same. */
void survey_participation_id(const char *person_id, const char *session_id, char out[TP_ID_LEN + 1]);

/* load.c: the matcher's catalogue, for the topics a person may ask for (at
 * start and on SIGHUP; a bad file keeps the one in use). */
int survey_load(svc_t *s);

/* timers.c: reminders then closures of unanswered invitations (business
 * time), and comments past their retention date deleted; each in every
 * territory, by the one instance holding its lease. */
void survey_tick(svc_t *s);
void survey_purge(svc_t *s);

/* kiosk.c: the kiosks' CURVE endpoint (ZAP from the kiosk registry), which
 * serves SubmitSurvey only; the registry watched every watch_ms. */
int survey_kiosk_start(survey_t *sv, char *err, size_t errlen);
void survey_kiosk_stop(survey_t *sv);

#endif
