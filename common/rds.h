/* rds — the service's Redis connection (hiredis, synchronous, pipelined).
 *
 * Connects with a timeout as the service's ACL user, directly or through
 * Sentinel; after any transport error the context is dead (hiredis rule) and
 * the next rds_ensure() reconnects with exponential backoff. On every
 * (re)connect the service's function library is checked (or loaded), and
 * Redis must run with AOF unless the configuration says otherwise: without
 * it, what a service acknowledged would not survive a Redis restart. */
#ifndef TP_RDS_H
#define TP_RDS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

/* A territory's own Redis ([shards] T = host:port). */
#define RDS_MAX_SHARDS 16
typedef struct {
    char territory[32];
    char host[128];
    int port;
} rds_shard_t;

typedef struct {
    char host[128];
    int64_t port;
    char user[64];
    char password[128];
    char password_file[256];  /* read at each connect when password is empty */
    char sentinels[256];      /* "host:port,host:port"; empty = direct */
    char master[64];          /* Sentinel master name */
    int64_t connect_timeout_ms;
    int64_t command_timeout_ms;
    int64_t backoff_max_ms;
    /* With replicas: a step is acked only once this many replicas have it
     * (WAIT), so that it survives a failover; 0 = do not wait. */
    int64_t wait_replicas;
    int64_t wait_timeout_ms;
    /* Sharding by territory: the keys of a territory in the map (their hash
     * tag tp:{T}) go to its shard, every other command to the default
     * (host/port or Sentinel). Empty: one Redis for all. */
    rds_shard_t shards[RDS_MAX_SHARDS];
    int nshards;
    /* Refuse a Redis whose AOF is off ("no" only for a deliberately
     * non-persistent setup). */
    int require_aof;
} rds_conf_t;

/* What INFO persistence says about the durability of what is written. */
typedef struct {
    int known; /* read at least once */
    int aof_enabled;
    int loading; /* still reading its data at start */
    char aof_last_write_status[8];     /* "ok" or "err" */
    char aof_last_bgrewrite_status[8]; /* "ok" or "err" */
    int aof_rewriting;                 /* a rewrite runs, or is scheduled to */
} rds_persistence_t;

/* Reads the fields above from the text of INFO persistence; 0, or -1 when
 * one is missing (out->known says whether all were found). */
int rds_parse_persistence(const char *info, rds_persistence_t *out);

typedef struct rds rds_t;

/* Asks the Redis of connection i (see rds_shard_count: 0 the default, i > 0
 * a shard's) to rewrite its AOF (BGREWRITEAOF), so that what was deleted
 * leaves the disk too (the old files go once the new base is written).
 * 0 started, or scheduled after the child Redis runs now; 1 a rewrite runs
 * already — it copies the data as it was when it started, so ask again once
 * it is over (aof_rewriting 0); -1 refused or Redis failed (err says why). */
int rds_aof_rewrite_at(rds_t *self, int i, char *err, size_t errlen);

rds_t *rds_new(const rds_conf_t *conf, const char *client_name);
void rds_destroy(rds_t **self_p);

/* Replaces the connection settings (SIGHUP); takes effect at the next connect. */
void rds_set_conf(rds_t *self, const rds_conf_t *conf);

/* The service's function library ("__LIB__" in code replaced by name).
 * With load, it is (re)loaded on every connect (FUNCTION LOAD REPLACE);
 * without, a connect checks that the library loaded at deploy by an admin
 * (`tremplin functions load`) is there and is this build's code, and fails
 * with a clear reason if not (a changed library needs a new version in its
 * name, or a reload). */
void rds_set_library(rds_t *self, const char *name, const char *code, int load);

/* One attempt, now, on every connection (the default, then each shard).
 * 0, or -1 with the reason in err (Redis down, still
 * loading its data …); -2 when the configuration is at fault (AOF off, the
 * password file unreadable), which retrying will not change. */
int rds_connect(rds_t *self, char *err, size_t errlen);

/* Redis's persistence as last seen: read again now when connected, else as
 * read at the last connect attempt (known = 0 if never). */
void rds_persistence(rds_t *self, rds_persistence_t *out);
/* The same of connection i (0 the default, i > 0 a shard's), read now
 * (known = 0 when it cannot be: not connected, or the read failed). */
void rds_persistence_at(rds_t *self, int i, rds_persistence_t *out);

/* 0 when every connection is up; otherwise tries to connect those down
 * whose backoff allows. */
int rds_ensure(rds_t *self);
int rds_connected(const rds_t *self);

/* Synchronous command; NULL after a transport error (the caller treats the
 * store as unavailable). An error reply is a reply, not NULL. A command goes
 * to the Redis of the territory of its first key ("tp:{T}:..."; SCAN's MATCH
 * pattern counts), one without to the default. */
redisReply *rds_cmd(rds_t *self, const char *fmt, ...);
redisReply *rds_cmd_argv(rds_t *self, int argc, const char **argv, const size_t *lens);
/* The connections: 1 + the shards; i = 0 the default, i > 0 shard i's
 * territory. A command on connection i, whatever its keys (FUNCTION LOAD on
 * every Redis of the deployment). */
int rds_shard_count(const rds_t *self);
const char *rds_shard_territory(const rds_t *self, int i);
redisReply *rds_cmd_at(rds_t *self, int i, const char *fmt, ...);

/* Pipelining: N appends, then rds_read(N). rds_read fills out[0..n-1] and
 * returns 0, or -1 after a transport error with every out[i] NULL. A WAIT
 * appended goes to every Redis the batch wrote to; its reply is the one
 * with the fewest replicas. */
void rds_append_argv(rds_t *self, int argc, const char **argv, const size_t *lens);
int rds_read(rds_t *self, redisReply **out, int n);
/* The same, but the replies of the connections that answered are kept: a
 * command of a connection that failed (or was down) reads back NULL. 0, or
 * -1 when one did. (With shards: one territory's Redis away does not take
 * the others' answers with it.) */
int rds_read_each(rds_t *self, redisReply **out, int n);
/* The connection territory T's commands go to (its shard's, else 0, the
 * default); and 1 when it is up (rds_ensure reconnects, within its backoff). */
int rds_territory_conn(const rds_t *self, const char *T);
int rds_territory_up(const rds_t *self, const char *T);

/* With wait_replicas > 0: WAITs (wait_timeout_ms at most) until that many
 * replicas have every write this connection made — and so everything the
 * primary had written before the last of them, the replication stream being
 * one. 1 when they have, 0 when not (or the connection failed); 1 at once
 * without wait_replicas. For a step whose effect leaves Redis (an SMS sent):
 * acted on only once it would survive a failover. */
int rds_replicated(rds_t *self);

/* Replaces every "__LIB__" in code with name; caller frees. */
char *rds_library_source(const char *code, const char *name);

#endif
