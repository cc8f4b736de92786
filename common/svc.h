/* svc — what every Tremplin service shares: configuration, the Redis
 * connection with the service's function library, the ROUTER inbox, the
 * outbox relay, the PUB socket for events, signals and the loop.
 *
 * A service's main.c fills a svc_def_t (its name, library, handlers and
 * hooks) and calls svc_main(). Ping and Probe are handled here for all. */
#ifndef TP_SVC_H
#define TP_SVC_H

#include "conf.h"
#include "keyring.h"
#include "inbox.h"
#include "outbox.h"
#include "rds.h"

#define SVC_MAX_TERRITORIES 32
#define SVC_VERSION "0.1.0" /* of the services and the tool */

/* Settings every service reads from the shared file. */
typedef struct {
    /* [redis] */
    rds_conf_t redis;
    char password_file_tpl[256]; /* as written, before %s became the user */
    int load_functions;          /* load the library at connect (dev), else require it */
    /* [clock] */
    int64_t clock_epoch_ms, clock_start_ms;
    double clock_speed;
    char timezone[64];
    /* [log] */
    char log_level[16];
    /* [bus] */
    char territories[256];
    int64_t window, retry_window, batch, ack_timeout_ms, retry_max_ms, lease_ms, max_tries, mark_ttl_s, max_msg, pump_ms,
        drain_ms, stall_ms, outbox_max;
    char id_key_file[256]; /* the deployment's secret for derived ids (util_derive_id), read at start */
    /* [retention]: how long each category of personal data is kept
     * (business days; docs/operations.md, "Privacy") */
    struct {
        int64_t contact_days;    /* contact details, after the last referral (intake) */
        int64_t comments_days;   /* survey comments, after they came (survey) */
        int64_t attendance_days; /* who was booked into which session, after it (scheduler) */
        int64_t sms_days;        /* SMS texts, spool files, phone sets, after their last use (gateway) */
        int64_t audit_days;      /* the audit stream of reads of personal data */
    } retention;
    /* the bus registry (common/access.h): operators' and services' keys;
     * "" = the command endpoints take any local process (a warning) */
    char keys_dir[256];
    /* [tool] key: the operator's secret certificate the tool uses
     * ($TREMPLIN_KEY wins) */
    char tool_key[256];
    /* [endpoints]: where each service is reached */
    conf_map_t endpoints;
    /* [shards]: territory = host:port of its own Redis (into redis.shards) */
    conf_map_t shards;
    /* [<service>] */
    char bind[256];
    char events[256];
    char instance[64];
} svc_conf_t;

typedef struct svc svc_t;

typedef struct {
    const char *name;    /* "intake" */
    const char *library; /* "intake_v1": the Redis function library */
    const char *lua;     /* its source (bus.lua + the service's functions) */
    const inbox_handler_t *handlers;
    size_t nhandlers;
    /* every section of the deployment's configuration file, NULL-terminated
     * (services/services.h: tp_conf_sections): the ones this program does not
     * read are skipped, any other is a misspelling and refused */
    const char *const *sections;
    /* the service's own keys in its [<name>] section */
    const conf_field_t *conf_fields;
    size_t nconf_fields;
    void *conf_base;
    /* hooks, each optional; 0 / -1 (a reload that fails keeps what is in
     * use, and is logged as a failure, never as "reloaded") */
    int (*start)(svc_t *s);
    int (*reload)(svc_t *s);
    void (*stop)(svc_t *s);
    void (*pong_fill)(svc_t *s, Tremplin__Pong *pong); /* what only this service checks */
    /* a message of the outbox refused for good by its receiver: 0 taken as
     * its final answer, 1 a dead letter, -1 later (outbox_refused_fn) */
    int (*refused)(svc_t *s, const char *territory, const Tremplin__Envelope *sent, const char *code);
    void *state; /* the service's own data, for its handlers */
} svc_def_t;

int svc_main(const svc_def_t *def, int argc, char **argv);

/* Loads the shared file (plus the service's own table when def is given)
 * into conf; def->sections, when given, lists the sections of the
 * deployment (any other is refused). Used by services and the CLI. */
int svc_conf_load(const char *path, const char *service, svc_conf_t *conf, const svc_def_t *def, char *err,
                  size_t errlen);
/* Another program's settings of the file this service reads (e.g. the
 * matcher's catalogue path, for the scheduler), read as that program reads
 * them: fields/base its table. 0 or -1 with the reason. */
int svc_conf_peer(const svc_t *s, const char *program, const conf_field_t *fields, size_t nfields, void *base,
                  char *err, size_t errlen);
/* The configuration path: -c FILE, else $TREMPLIN_CONF, else ./tremplin.conf */
const char *svc_conf_path(int argc, char **argv);
/* The password file of another Redis user: [redis] password_file with its
 * "%s" replaced by user. */
void svc_password_file(const svc_conf_t *conf, const char *user, char *out, size_t cap);
/* Splits conf->territories into out (pointers into buf). */
int svc_territories(const svc_conf_t *conf, char *buf, size_t cap, const char **out, int max);

/* For a service's start hook: the ZeroMQ context (CZMQ's), another ROUTER with the handlers it may serve (e.g. a CURVE
 * endpoint for branch systems: referrals only), and a timer of its own. */
void *svc_zctx(const svc_t *s);
void svc_add_router(svc_t *s, void *router, const inbox_handler_t *handlers, size_t nhandlers);
void svc_add_timer(svc_t *s, int64_t interval_ms, void (*fn)(svc_t *s));
/* Calls fn when sock (the service's own, not a command ROUTER) is readable. */
void svc_add_socket(svc_t *s, void *sock, void (*fn)(svc_t *s, void *sock));

/* For a timer of a service with several instances: 1 when this instance
 * holds (or has just taken, or renewed) the lease `name` of territory, so
 * that one instance at a time runs it, and another takes over once the
 * holder stops renewing for ttl_ms. */
int svc_hold_lease(svc_t *s, const char *territory, const char *name, int64_t ttl_ms);

/* This service's own key on the bus (its relays and health checks use it),
 * or NULL when [bus] keys_dir is not set. */
const keyring_cred_t *svc_cred(const svc_t *s);

/* RecordRead (common/svc_audit.c), answered by every service: a service
 * that checks more first (the scheduler: a trainer's roster) serves its own
 * handler for it, which ends by calling this one. */
void svc_prepare_record_read(void *arg, const Tremplin__Envelope *in, call_t *call);

/* A warning this service reports in every Pong until it is replaced ("" =
 * none): a configuration that works but leaves something undone. */
void svc_set_warning(svc_t *s, const char *text);

/* After a purge run (a leased timer): when it removed personal data
 * (removed > 0), or a rewrite asked after an earlier run could not start (one
 * was running: it copies the data as it was before), asks Redis to rewrite
 * its AOF so the deleted data leaves the disk too — once per run, never per
 * key. The user needs +bgrewriteaof (deploy/setup.sh). */
void svc_aof_rewrite_after_purge(svc_t *s, long removed);
const svc_conf_t *svc_conf(const svc_t *s);
const char *svc_name(const svc_t *s);
const char *svc_instance(const svc_t *s);
void *svc_state(const svc_t *s);
rds_t *svc_rds(const svc_t *s);

#endif
