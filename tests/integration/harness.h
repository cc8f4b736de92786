/* harness — what every integration test stands on: a private instance
 * (deploy/setup.sh) with a real redis-server on free ports, the real service
 * binaries, waits on conditions with deadlines, and process control (kill -9,
 * SIGSTOP/SIGCONT, restart). Every process it starts dies with the test, even
 * when the test crashes (PR_SET_PDEATHSIG), and teardown kills the rest. */
#ifndef TP_HARNESS_H
#define TP_HARNESS_H

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <sys/types.h>

#include "client.h"
#include "intake/referral_json.h"
#include "keyring.h"
#include "wire.h"

#define H_MAX_PROCS 32

typedef struct {
    char dir[256];   /* the instance: redis/, secrets/, tremplin.conf */
    char conf[300];  /* dir/tremplin.conf */
    char build[256]; /* where the binaries are: $TP_BUILD or build/san */
    int redis_port;
    char redis_host[32]; /* where h_redis goes: "" = 127.0.0.1 (a test moves it after a failover) */
    int base_port;
    pid_t redis_pid;
    redisContext *admin;
    void *zctx;
    char answer[64]; /* what the last h_probe was answered */
    keyring_cred_t cred; /* the harness's bus key (role "service"), h_client's */
} h_env_t;

/* Creates the instance and starts Redis. 0 or -1 (reason on stderr). */
int h_setup(h_env_t *h);
/* Free ports for an instance (Redis at base, the services base+1..+30) into
 * h->redis_port and h->base_port, for a test whose stack something else
 * starts (deploy/stack.sh); h_setup calls it. 0 or -1. */
int h_pick_ports(h_env_t *h);
/* The harness's own key on the bus (h_client's): a "service" key in the
 * instance's registry, made if missing (h_setup does it; an instance
 * restored from a backup has the original's). 0 or -1. */
int h_keys(h_env_t *h);
/* Kills every process still running and removes the instance directory
 * (kept when TP_KEEP=1, for a post-mortem). */
void h_teardown(h_env_t *h);

/* cmocka group fixtures for a file whose tests share one instance, h (given
 * once, before cmocka_run_group_tests): h_group_setup is h_setup(h),
 * h_group_teardown h_teardown(h). A group that needs more calls them first. */
void h_group_env(h_env_t *h);
int h_group_setup(void **state);
int h_group_teardown(void **state);

/* Starts service `svc` with extra environment entries ("KEY=VALUE", NULL
 * terminated, may be NULL); its log goes to dir/<label>.log. */
pid_t h_start(h_env_t *h, const char *svc, const char *label, const char *const *env);
/* Starts any program (argv[0] looked up in PATH) the same way: tracked, dies
 * with the test, its output in dir/<log_name>.log. */
pid_t h_spawn_cmd(h_env_t *h, const char *log_name, char *const argv[]);
/* Prints the last lines of dir/<label>.log to stderr (after a failure). */
void h_log_tail(h_env_t *h, const char *label, int lines);
/* Waits until the service answers Ping with Redis up. */
int h_wait_ready(h_env_t *h, const char *endpoint, int timeout_ms);
/* The same at the endpoint configured for svc. */
int h_service_ready(h_env_t *h, const char *svc, int timeout_ms);
/* h_start, then h_wait_ready at the service's endpoint: the
 * TREMPLIN_<SVC>_BIND of env when it has one, else the configured one.
 * Returns its pid, or -1 after printing the end of its log (the process
 * stays tracked: teardown kills it). */
pid_t h_start_ready(h_env_t *h, const char *svc, const char *label, const char *const *env, int timeout_ms);

/* kill -9 every process this harness started except Redis: a failed test
 * leaves nothing running for the next one. */
void h_kill_services(h_env_t *h);

/* Sends sig; for SIGKILL also reaps the process. */
void h_signal(pid_t pid, int sig);
/* Waits for pid to exit; 0 with its wait status, -1 on timeout. */
int h_wait_exit(pid_t pid, int timeout_ms, int *status);

/* kill -<sig> redis-server, then starts it again on the same data; sig 0:
 * it has stopped already (SHUTDOWN), start it again. */
int h_redis_restart(h_env_t *h, int sig);
/* Another redis-server of the instance (a replica, a shard): its own folder
 * dir/<name>/ with a redis.conf like the instance's (the same ACL file, AOF
 * always) on bind:port, plus extra (lines of redis.conf, "" for none);
 * started as h_spawn_cmd (its log dir/<name>.log). Its pid, or -1. */
pid_t h_redis_spawn(h_env_t *h, const char *name, const char *bind, int port, const char *extra);
/* A connection to a redis-server of the test on port (a replica, a
 * Sentinel), logged in as the admin when admin is set; NULL if refused. */
redisContext *h_redis_connect_to(h_env_t *h, int port, int admin);
/* The same on another loopback address ("127.0.0.2": another "host"). */
redisContext *h_redis_connect_host(h_env_t *h, const char *host, int port, int admin);
/* Drops h_redis's connection: the next command connects to redis_host:redis_port. */
void h_redis_forget(h_env_t *h);
/* A command as the Redis admin user (reconnects if needed); NULL on error. */
redisReply *h_redis(h_env_t *h, const char *fmt, ...);
long long h_redis_int(h_env_t *h, const char *fmt, ...);

/* Calls fn for every key matching pattern (SCAN: a key may come twice).
 * fn returns 0 to go on, anything else to stop. 0, or -1 when Redis could
 * not be read. */
typedef int (*h_key_fn)(h_env_t *h, const char *key, void *arg);
int h_scan(h_env_t *h, const char *pattern, h_key_fn fn, void *arg);

/* Every hash whose key starts with prefix, as {rest of the key: {field:
 * "value"}} (SCAN + HGETALL, read as the admin: the raw records an audit
 * recomputes from). The caller puts it (json_object_put). */
struct json_object;
struct json_object *h_records(h_env_t *h, const char *prefix);

typedef int (*h_cond_fn)(h_env_t *h, void *arg);
/* Polls cond every few ms until it holds (0) or timeout_ms passes (-1). */
int h_wait_for(h_env_t *h, h_cond_fn cond, void *arg, int timeout_ms);

/* For h_wait_for: the scheduler has opened the session whose id (a
 * const char *, e.g. "20261130-0930-wilson-initiation") is arg, in
 * territory 42. */
int h_session_open(h_env_t *h, void *session_id);

/* "tcp://127.0.0.1:<base+off>" */
void h_endpoint(const h_env_t *h, int offset, char *out, size_t cap);
/* Endpoint of a service's ROUTER as configured. */
void h_service_endpoint(const h_env_t *h, const char *svc, char *out, size_t cap);

/* A branch system's client (the branch added with `tremplin branch add`):
 * CURVE with the branch's key pair from the instance's curve/, to endpoints
 * (NULL: intake's branch endpoint), retry timeout and tries as given,
 * connected. */
client_t *h_branch_client(h_env_t *h, const char *branch, const char *endpoints, int64_t timeout_ms, int tries);
/* `tremplin branch add NAME --name NAME --territory T` for each of the n
 * names; 0, or -1 (the tool's answer on stderr). */
int h_branches_add(h_env_t *h, const char *const *names, int n, const char *territory);
/* A client to endpoints, retry timeout and tries as given. */
client_t *h_client(h_env_t *h, const char *endpoints, int64_t timeout_ms, int tries);
/* One command, its reply (free with wire_free) or NULL. */
Tremplin__Envelope *h_call(h_env_t *h, const char *endpoints, Tremplin__Envelope *req);

/* A Ping (territory 42, nonce "h-ping") to endpoint: its answer (free with
 * wire_free) or NULL. */
Tremplin__Envelope *h_ping(h_env_t *h, const char *endpoint);
/* A Probe with key to svc in territory, under msg_id (NULL: a new one).
 * Returns h->answer: "ACK", "ACK-DUP" for a replay, the Error's code, or
 * "NONE" when nothing answered. */
const char *h_probe(h_env_t *h, const char *svc, const char *territory, const char *msg_id, const char *key);

/* The answers of a windowed client (h_count_reply is client_poll's
 * callback; arg an h_counts_t): Acks, Errors, and commands given up. */
typedef struct {
    long acked, refused, lost;
} h_counts_t;
void h_count_reply(void *arg, uint64_t tag, const Tremplin__Envelope *reply);

/* Sends raw bytes (any frame, valid or not) to a ROUTER and returns the
 * answer decoded as it is (free with wire_free), or NULL after 5 s. */
Tremplin__Envelope *h_raw_call(h_env_t *h, const char *endpoint, const void *data, size_t len);
/* One command's answer summed up: code "ACK", the Error's code, or
 * "NO_ANSWER"; and the Ack's ids. The territory is "42" unless set. */
typedef struct {
    char code[48], booking[24], session[64], status[48];
} h_answer_t;
h_answer_t h_ask(h_env_t *h, const char *endpoints, Tremplin__Envelope *req);
/* What an answer says in one word: "ACK", the Error's code, or "NO_ANSWER". */
const char *h_code(const Tremplin__Envelope *reply);
/* TrackAssigned of a new assignment: the person to kind, available one
 * half-day, referred at that time. */
h_answer_t h_assign(h_env_t *h, const char *endpoints, const char *pid, const char *kind, const char *half_day,
                    long long referred_at);

/* Refers the shipped example (deploy/examples/referral.json) under the
 * external reference ref through intake (`tremplin referral submit`), with
 * the consent purposes given (NULL-terminated; NULL: the example's); its
 * referral and person ids into rid and pid. 0 once the scheduler has placed
 * the person, -1 otherwise. */
int h_refer(h_env_t *h, const char *ref, const char *const *purposes, char rid[TP_ID_LEN + 1],
            char pid[TP_ID_LEN + 1]);

/* The SubmitReferral envelope e of a referral as JSON (the shape of
 * deploy/examples/referral.json), territory 42, under msg_id (NULL: the
 * client gives one); what e points to lives in *h and o. 0, or -1 with the
 * reason on stderr. */
int h_referral_envelope(struct json_object *o, referral_json_t *h, const char *msg_id, Tremplin__Envelope *e);

/* Runs the tremplin tool with args; captures stdout into out. Returns the
 * exit status or -1. */
int h_cli(h_env_t *h, char *out, size_t cap, const char *args);
/* Gives a raw ZeroMQ socket the harness's bus key (before its connect). */
void h_socket_key(const h_env_t *h, void *sock);
/* The same as the operator operator_id (its key, made by `tremplin
 * operator add`, in $TREMPLIN_KEY); NULL: the local administrator's. */
int h_cli_as(h_env_t *h, const char *operator_id, char *out, size_t cap, const char *args);
/* The path of an operator's secret key in the instance. */
void h_operator_key(const h_env_t *h, const char *id, char *out, size_t cap);

/* Runs only the tests whose name matches $TP_ONLY (a cmocka pattern, e.g.
 * TP_ONLY='*poison*'), for development; call first in main. */
void h_test_filter(void);

/* Waits until `tremplin args` exits with rc and its output contains needle;
 * 0, or -1 with what it said last printed to stderr. */
int h_wait_cli(h_env_t *h, const char *args, int rc, const char *needle, int timeout_ms);

/* Writes text into path; 0 or -1. */
int h_write_file(const char *path, const char *text);
/* The password of a Redis user, from the instance's secrets/; 0 or -1. */
int h_read_secret(const h_env_t *h, const char *user, char *out, size_t cap);

/* The lines of Redis's log that say it dropped or refused something while
 * loading its AOF (CRITICAL, a bad format, NOPERM ...), each printed to
 * stderr; 0 when clean. One exception, counted apart: kill -9 in the middle
 * of Redis's write() of a command leaves it cut, and Redis (aof-load-truncated
 * yes) drops the cut tail with "short read". That command was never
 * answered (Redis answers after the write): nothing acknowledged is lost —
 * the data checks of each test prove it. A "short read" not followed by
 * "loaded anyway" is a problem. */
int h_redis_log_problems(h_env_t *h);
/* 1 when dir/<label>.log contains text. */
int h_log_has(h_env_t *h, const char *label, const char *text);
/* For h_wait_for: until the log of label has n lines with needle. */
typedef struct {
    const char *label, *needle;
    int n;
} h_log_wait_t;
int h_log_reaches(h_env_t *h, void *h_log_wait);

/* The business clock of the instance's config: "now" is iso_utc (e.g.
 * "2026-11-30T06:00:00Z") from this moment on; services take it on SIGHUP. */
int h_set_clock(h_env_t *h, const char *iso_utc);
/* Writes text to dir/name (e.g. the instance's timetable.json). */
int h_write(h_env_t *h, const char *name, const char *text);

/* Sets key in [section] of the instance's config (the line must exist). */
int h_conf_set(h_env_t *h, const char *section, const char *key, const char *value);
/* Adds the line key = value at the top of [section] (a key the generated
 * file does not have, e.g. [redis] sentinels). */
int h_conf_add(h_env_t *h, const char *section, const char *key, const char *value);

/* SIGHUP to pid, then waits until dir/<label>.log shows one more
 * "event=reloaded". 0, or -1 on timeout. */
int h_reload(h_env_t *h, pid_t pid, const char *label, int timeout_ms);
/* SIGTERM to pid and waits for it to exit; returns its exit status, or -1
 * when it did not exit within timeout_ms or died of a signal. */
int h_stop(pid_t pid, int timeout_ms);
/* The lines of dir/<label>.log that contain needle. */
int h_log_count(h_env_t *h, const char *label, const char *needle);


#endif
