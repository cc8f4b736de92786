/* reporter — the read side: figures from state (figures.c, kpi.c), exports
 * (export.c), Prometheus metrics (metrics.c), the JSON API and the dashboard
 * over HTTP (http.c, libmicrohttpd, its own thread and Redis connection),
 * and ClosePeriod, which freezes a period's figures (handlers.c). Shared by
 * the service and the tool (`tremplin kpi`). */
#ifndef TP_REPORTER_H
#define TP_REPORTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "conf.h"
#include "kpi.h"
#include "matcher/catalogue.h"
#include "svc.h"

typedef struct {
    char http_bind[64];       /* the dashboard and API's address: loopback by default */
    int64_t http_port;        /* 0: no HTTP */
    int64_t suppress_below;   /* publication exports hide counts from 1 to this - 1 */
    int64_t wait_warn_days;   /* the capacity outlook warns past this projected wait */
    int64_t default_days;     /* the period when none is asked: this many days to today */
    int64_t refresh_s;        /* the dashboard reloads its figures at least this often */
    int64_t health_timeout_ms;/* /metrics waits this long for each service's Pong */
} reporter_conf_t;

extern const conf_field_t reporter_conf_fields[];
extern const size_t reporter_nconf_fields;

/* One service's health, from its Pong (metrics.c). */
typedef struct {
    char service[16];
    int up, redis_ok, stalled;
    uint64_t outbox, oldest_ms, dead;
} reporter_health_t;

typedef struct {
    reporter_conf_t conf;
    catalogue_t catalogue; /* the matcher's: kinds' titles, levels, themes */
    int have_catalogue;
    /* what the HTTP thread reads of what the main thread owns: a snapshot
     * taken under the lock (configuration, territories, endpoints) */
    pthread_mutex_t lock;
    svc_conf_t svc_conf;
    atomic_ulong version; /* events heard: the dashboard reloads when it moves */
    atomic_ulong events;
    void *httpd;          /* struct MHD_Daemon */
    rds_t *http_rds;      /* the HTTP thread's Redis connection */
    void *zctx;
    keyring_cred_t cred;  /* the reporter's bus key, for its health Pings ("" = plain) */
    void *sub;            /* the other services' events */
    call_t scratch;
} reporter_t;

extern const inbox_handler_t reporter_handlers[];
extern const size_t reporter_nhandlers;

/* Reads the aggregates of a query (one per territory, NULL-free): each
 * closed period's frozen aggregate when [from, to] is one (use_closed), else
 * live. Returns how many, or -1 with the reason in err. */
int reporter_aggregates(rds_t *rds, const char *const *territories, int nterritories, const char *only_territory,
                        const char *from, const char *to, int64_t now_ms, int use_closed, json_object **out,
                        char *err, size_t errlen);

/* The catalogue named by the configuration's [matcher] catalogue, for
 * titles: 0, or -1 (the reporter then shows codes). */
int reporter_load_catalogue(const char *conf_path, catalogue_t *out, char *err, size_t errlen);

/* http.c */
int reporter_http_start(svc_t *s, reporter_t *r);
void reporter_http_stop(reporter_t *r);

/* metrics.c: the Prometheus text of the figures of every territory and of
 * the services' health (caller frees). */
char *reporter_metrics(reporter_t *r, rds_t *rds, const svc_conf_t *sc, const reporter_conf_t *rc,
                       const catalogue_t *cat, size_t *len);

#endif
