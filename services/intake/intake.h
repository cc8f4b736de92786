/* intake — the only door for branch systems: validates, deduplicates,
 * persists, answers (ARCHITECTURE.md). This header is shared by the service
 * and the tremplin tool (which manages branches and submits referrals). */
#ifndef TP_INTAKE_H
#define TP_INTAKE_H

#include <stdint.h>

#include "branches.h"
#include "conf.h"
#include "svc.h"

typedef struct {
    char curve_dir[256];     /* server key, branch registry, branch secrets */
    char branch_bind[256];   /* CURVE endpoint for branch systems; "" = none */
    int64_t retention_days;  /* how long contact data is kept after the last referral */
    int64_t watch_ms;        /* how often the branch registry is checked */
    int64_t purge_ms;        /* how often expired contact data is deleted (real time) */
} intake_conf_t;

extern const conf_field_t intake_conf_fields[];
extern const size_t intake_nconf_fields;

typedef struct {
    intake_conf_t conf;
    branches_t branches;
    unsigned long stamp;
    void *branch_router;
    void *auth; /* zauth actor */
    svc_t *svc;
} intake_t;

/* Handlers (prepare steps) of the commands intake serves. */
extern const inbox_handler_t intake_handlers[];
extern const size_t intake_nhandlers;

#endif
