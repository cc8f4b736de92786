/* intake — the only door for branch systems: validates, deduplicates,
 * persists, answers (ARCHITECTURE.md). This header is shared by the service
 * and the tremplin tool (which manages branches and submits referrals). */
#ifndef TP_INTAKE_H
#define TP_INTAKE_H

#include <stdint.h>

#include "conf.h"
#include "keyring.h"
#include "scheduler/timetable.h"
#include "svc.h"

typedef struct {
    char curve_dir[256];     /* server key, branch registry, branch secrets */
    char branch_bind[256];   /* CURVE endpoint for branch systems; "" = none */
    int64_t watch_ms;        /* how often the branch registry is checked */
    int64_t purge_ms;        /* how often expired contact data is deleted (real time) */
} intake_conf_t;

extern const conf_field_t intake_conf_fields[];
extern const size_t intake_nconf_fields;

typedef struct {
    intake_conf_t conf;
    keyring_door_t door;  /* the branch endpoint, the one registry ZAP and the handlers read */
    /* the self-check of the branch endpoint (selfcheck.c) */
    void *self_dealer;
    char self_secret[KEYRING_KEY_LEN + 1];
    int64_t self_answered_ms;
    char self_check[40]; /* "branch_endpoint=ok" or "=KO", shown by tremplin ping */
    char *self_checks[1];
    svc_t *svc;
    timetable_t timetable; /* the scheduler's, read for its half-days (half_days.c) */
    call_t step;           /* the timers' step, reused */
} intake_t;

/* The branch registry (common/keyring.h): <curve_dir>/branches/<id>.key,
 * <curve_dir>/branch-secrets/<id>.key_secret, intake's server key. */
extern const keyring_kind_t intake_branches;

/* Handlers (prepare steps) of the commands intake serves. */
extern const inbox_handler_t intake_handlers[];
extern const size_t intake_nhandlers;


/* timers.c: the registry watched (every watch_ms), the contact data past its
 * retention date purged (every purge_ms, under a lease). */
void intake_watch(svc_t *s);
void intake_purge(svc_t *s);

/* half_days.c: the half-days of the scheduler's timetable, accepted in
 * referrals besides the week's; a timetable that does not load keeps the
 * ones known before. */
int intake_load_half_days(intake_t *in);

/* selfcheck.c: intake pings its own branch endpoint over CURVE (through
 * ZAP) every watch_ms; its Pong says whether the last answer is recent. */
int intake_selfcheck_start(intake_t *in, char *err, size_t errlen);
void intake_selfcheck_pong(intake_t *in, Tremplin__Pong *pong);
void intake_selfcheck_stop(intake_t *in);

#endif
