/* audit — what a load test checks at its end, read from the raw Redis state
 * as the admin with none of the services' code (test_faults, test_ha,
 * test_shards): every acknowledged referral has exactly one final state; no
 * effect happened twice (business keys, bookings, SMS); no session above
 * capacity; no person booked twice for one kind; each SMS in the spool once
 * and recorded once; the figures equal the state; no dead letter. And the
 * condition a test waits for before it: everything has settled. */
#ifndef TP_AUDIT_H
#define TP_AUDIT_H

#include "harness.h"

/* A referral the load saw acknowledged: its external reference and the ids
 * the ack gave. */
typedef struct {
    char ext[32];
    char rid[TP_ID_LEN + 1], pid[TP_ID_LEN + 1];
} audit_ref_t;

/* What is audited: the Redis of h (h_redis), territory t, the acked
 * referrals, the gateway's spool folder. */
typedef struct {
    h_env_t *h;
    const char *t;
    const audit_ref_t *refs;
    int nrefs;
    char spool[400];
    /* audit_settled's progress, and why it is not settled yet */
    int checked;
    char why[128];
} audit_ctx_t;

typedef struct {
    long lost, doubled, oversold, dead, state_off, counter_off, double_booked, figures_off;
    long sms_files, sms_doubled, sms_unrecorded, sms_missing;
    long referrals, bookings, sessions, participations, jobs, follow_ups;
} audit_t;

/* For h_wait_for (arg: an audit_ctx_t): nothing left to do — every outbox
 * empty, the notify streams read by the gateway, no job due or being sent,
 * every acked referral assessed and, when it has a kind, placed. */
int audit_settled(h_env_t *h, void *ctx);

/* The audit of the state; a->... count what is wrong (0 each when right). */
void audit_run(audit_ctx_t *ctx, audit_t *a);

/* Fails the test (cmocka) unless every count of what is wrong is 0. */
void audit_assert_clean(const audit_t *a);

/* XLEN tp:{t}:<svc>:<what> */
long long audit_xlen(audit_ctx_t *ctx, const char *svc, const char *what);

#endif
