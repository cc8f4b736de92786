/* svc_int — what the files of the service runtime share (svc.c and its
 * svc_*.c), never included by a service: the runtime's state, and the
 * functions one concern offers the others.
 *
 *   svc.c         start and stop, the loop hooks, signals, accessors
 *   svc_conf.c    the shared configuration table, its checks, password file, territories
 *   svc_probe.c   the built-ins: Probe (through the outbox) and the Pong of a Ping
 *   svc_audit.c   the built-in RecordRead (the audit trail of reads)
 *   svc_events.c  the PUB side: an event after each committed step
 *   svc_route.c   the DEALERs to other services, opened on first use
 *   svc_lease.c   leases, so that one instance at a time runs a timer */
#ifndef TP_SVC_INT_H
#define TP_SVC_INT_H

#include "loop.h"
#include "svc.h"

#define SVC_MAX_ROUTES 16
#define SVC_MAX_ROUTERS 4
#define SVC_MAX_TIMERS 8

typedef struct {
    char to[32];
    void *dealer;
} svc_route_t;

typedef struct {
    struct svc *s;
    void (*fn)(struct svc *s);
} svc_timer_t;

#define SVC_MAX_SOCKETS 4

/* A socket of the service's own (not a command ROUTER) and what reads it. */
typedef struct {
    struct svc *s;
    void (*fn)(struct svc *s, void *sock);
} svc_socket_t;

struct svc {
    const svc_def_t *def;
    const char *conf_path;
    svc_conf_t conf;
    char terr_buf[256];
    const char *territories[SVC_MAX_TERRITORIES];
    int nterritories;
    void *ctx;
    void *router;
    void *pub;
    rds_t *rds;
    inbox_t *inbox;
    inbox_conf_t inbox_conf;
    struct {
        void *router;
        inbox_t *inbox;
    } extra[SVC_MAX_ROUTERS];
    int nextra;
    svc_timer_t timers[SVC_MAX_TIMERS];
    int ntimers;
    outbox_t *outbox;
    loop_t *loop;
    svc_route_t routes[SVC_MAX_ROUTES];
    int nroutes;
    int64_t started_ms;
    int64_t drain_deadline_ms;
    int wrote_outbox;
    int rode; /* the relay's take went with the last batch */
    char aof_write[8], aof_rewrite[8]; /* strings of the last Pong */
    inbox_handler_t handlers[64];
    size_t nhandlers;
    wire_buf_t evbuf;
    svc_socket_t sockets[SVC_MAX_SOCKETS];
    int nsockets;
    char warning[512];
    char *warning_v[1]; /* the Pong's list of warnings */
    call_t lease;       /* svc_hold_lease's step, reused */
    /* each territory's outbox length, read every SVC_BACKLOG_MS, and whether
     * it is over bus.outbox_max (edge commands are then refused: BUSY) */
    long long backlog[SVC_MAX_TERRITORIES];
    int busy[SVC_MAX_TERRITORIES];
    uint32_t aof_due; /* connections (bit i: rds connection i) whose AOF rewrite a purge still owes */
    /* [bus] keys_dir set: the command ROUTER is this door's (CURVE, ZAP from
     * the bus registry), and this is the service's own key */
    int auth;
    keyring_door_t bus_door;
    keyring_cred_t cred;
};

/* svc_conf.c: applies the settings that live outside the struct (log
 * level, clock, territory list); at start and after each reload. */
void svc_apply_conf(svc_t *s);

/* svc_probe.c: the Probe handler every service serves, and the Pong. */
void svc_prepare_probe(void *arg, const Tremplin__Envelope *in, call_t *call);
void svc_pong_fill(void *arg, Tremplin__Pong *pong);

/* svc_lease.c: frees what the leases keep. */
void svc_lease_free(svc_t *s);

/* svc_events.c: binds the PUB socket when [<service>] events is set;
 * publishes the event of a committed step; closes the socket. */
int svc_events_open(svc_t *s, char *err, size_t errlen);
void svc_event_publish(svc_t *s, const call_t *call, const Tremplin__Ack *ack);
void svc_events_close(svc_t *s);

/* svc_route.c: the outbox's route function, and the closing of the routes. */
void *svc_route(void *arg, const char *to, int *unknown);
void svc_routes_close(svc_t *s);

#endif
