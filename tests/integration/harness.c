#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include <zmq.h>
/* cmocka needs these three first */
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "access.h"
#include "clock.h"
#include "intake/referral_json.h"
#include "util.h"

char *mkdtemp(char *template); /* POSIX 2008, hidden by the strict feature macros of some libcs */

static pid_t h_procs[H_MAX_PROCS];
static int h_nprocs;

static void h_track(pid_t pid)
{
    for (int i = 0; i < h_nprocs; i++)
        if (h_procs[i] == 0) {
            h_procs[i] = pid;
            return;
        }
    if (h_nprocs < H_MAX_PROCS)
        h_procs[h_nprocs++] = pid;
}

static void h_untrack(pid_t pid)
{
    for (int i = 0; i < h_nprocs; i++)
        if (h_procs[i] == pid)
            h_procs[i] = 0;
}

static void h_kill_all(void)
{
    for (int i = 0; i < h_nprocs; i++)
        if (h_procs[i] > 0) {
            kill(h_procs[i], SIGKILL);
            waitpid(h_procs[i], NULL, 0);
            h_procs[i] = 0;
        }
    h_nprocs = 0;
}

/* A port is free if we can bind it now; the window until the server binds
 * it is small, and the ports are drawn at random to keep parallel runs apart. */
static int h_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Ports below the kernel's ephemeral range (ip_local_port_range starts at
 * 32768 on Linux): a port in that range can be taken at any moment by an
 * outgoing connection, and a service's bind would then fail. */
int h_pick_ports(h_env_t *h)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        int base = 10000 + (int)(util_random_u64() % 22000); /* base + 30 < 32768 */
        int ok = 1;
        for (int off = 0; off <= 30 && ok; off++)
            ok = h_port_free(base + off);
        if (ok) {
            h->redis_port = base;
            h->base_port = base;
            return 0;
        }
    }
    return -1;
}

int h_keys(h_env_t *h)
{
    char dir[400], path[500], err[600];
    snprintf(dir, sizeof dir, "%s/keys", h->dir);
    static const char *const meta[] = { "access", "service", NULL };
    snprintf(path, sizeof path, "%s/operator-secrets/harness.key_secret", dir);
    if ((access(path, R_OK) != 0
         && keyring_add_meta(&access_keys, dir, "harness", "tests", "42", "", clock_real_ms(), "", meta, err,
                             sizeof err)
                != 0)
        || keyring_cred_load(path, &h->cred, err, sizeof err) != 0) {
        fprintf(stderr, "harness: the harness's key: %s\n", err);
        return -1;
    }
    return 0;
}

static pid_t h_spawn(h_env_t *h, const char *log_name, char *const argv[], const char *const *env)
{
    char log_path[400];
    snprintf(log_path, sizeof log_path, "%s/%s.log", h->dir, log_name);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setenv("TREMPLIN_CONF", h->conf, 1);
        for (int i = 0; env && env[i]; i++) {
            char kv[512];
            util_strlcpy(kv, env[i], sizeof kv);
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                setenv(kv, eq + 1, 1);
            }
        }
        /* the test process blocks nothing, but be explicit for the child */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        _exit(127);
    }
    h_track(pid);
    return pid;
}

pid_t h_redis_spawn(h_env_t *h, const char *name, const char *bind, int port, const char *extra)
{
    char dir[400], conf[440], text[4096];
    snprintf(dir, sizeof dir, "%s/%s", h->dir, name);
    if (mkdir(dir, 0700) != 0)
        return -1;
    snprintf(conf, sizeof conf, "%s/redis.conf", dir);
    snprintf(text, sizeof text,
             "bind %s\nport %d\nprotected-mode yes\ndir %s\naclfile %s/redis/users.acl\n"
             "appendonly yes\nappendfsync always\nhash-max-listpack-value 256\nsave \"\"\ndaemonize no\nlogfile \"\"\n%s",
             bind, port, dir, h->dir, extra);
    if (h_write_file(conf, text) != 0)
        return -1;
    char *argv[] = { "redis-server", conf, NULL };
    return h_spawn_cmd(h, name, argv);
}

redisContext *h_redis_connect_to(h_env_t *h, int port, int admin)
{
    return h_redis_connect_host(h, "127.0.0.1", port, admin);
}

redisContext *h_redis_connect_host(h_env_t *h, const char *host, int port, int admin)
{
    redisContext *c = redisConnectWithTimeout(host, port, (struct timeval){ 1, 0 });
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, (struct timeval){ 10, 0 });
    if (!admin)
        return c;
    char pass[128] = "";
    h_read_secret(h, "admin", pass, sizeof pass);
    redisReply *r = redisCommand(c, "AUTH admin %s", pass);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static int h_redis_connect(h_env_t *h)
{
    h_redis_forget(h);
    h->admin = h_redis_connect_host(h, h->redis_host[0] ? h->redis_host : "127.0.0.1", h->redis_port, 1);
    return h->admin ? 0 : -1;
}

void h_redis_forget(h_env_t *h)
{
    if (h->admin)
        redisFree(h->admin);
    h->admin = NULL;
}

static int h_redis_up(h_env_t *h, void *arg)
{
    (void)arg;
    if (!h->admin && h_redis_connect(h) != 0)
        return 0;
    redisReply *r = redisCommand(h->admin, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        redisFree(h->admin);
        h->admin = NULL;
    }
    return ok;
}

static int h_redis_start(h_env_t *h)
{
    char conf[400];
    snprintf(conf, sizeof conf, "%s/redis/redis.conf", h->dir);
    char *argv[] = { "redis-server", conf, NULL };
    h->redis_pid = h_spawn(h, "redis", argv, NULL);
    if (h->redis_pid < 0 || h_wait_for(h, h_redis_up, NULL, 20000) != 0) {
        fprintf(stderr, "harness: redis-server did not come up on port %d\n", h->redis_port);
        return -1;
    }
    return 0;
}

int h_setup(h_env_t *h)
{
    memset(h, 0, sizeof *h);
    signal(SIGPIPE, SIG_IGN);
    atexit(h_kill_all);
    /* as stack.sh and systemd (UMask=0077) run an instance: its files private */
    umask(077);
    const char *build = getenv("TP_BUILD");
    util_strlcpy(h->build, build && *build ? build : "build/san", sizeof h->build);
    snprintf(h->dir, sizeof h->dir, "/tmp/tremplin-test-XXXXXX");
    if (!mkdtemp(h->dir) || h_pick_ports(h) != 0) {
        fprintf(stderr, "harness: no temp dir or no free ports\n");
        return -1;
    }
    snprintf(h->conf, sizeof h->conf, "%s/tremplin.conf", h->dir);
    char cmd[700];
    /* Redis takes base, the services base+1.. (setup.sh adds 1..15) */
    snprintf(cmd, sizeof cmd, "TREMPLIN_BIN=%s/bin/tremplin deploy/setup.sh %s %d %d", h->build, h->dir, h->redis_port,
             h->base_port);
    if (system(cmd) != 0) {
        fprintf(stderr, "harness: %s failed\n", cmd);
        return -1;
    }
    if (h_keys(h) != 0)
        return -1;
    h->zctx = zmq_ctx_new();
    if (h_redis_start(h) != 0)
        return -1;
    /* as at deploy: the admin loads the function libraries */
    char out[2048];
    if (h_cli(h, out, sizeof out, "functions load") != 0) {
        fprintf(stderr, "harness: tremplin functions load: %s\n", out);
        return -1;
    }
    return 0;
}

void h_teardown(h_env_t *h)
{
    h_kill_all();
    if (h->admin)
        redisFree(h->admin);
    h->admin = NULL;
    if (h->zctx)
        zmq_ctx_term(h->zctx);
    h->zctx = NULL;
    const char *keep = getenv("TP_KEEP");
    if (h->dir[0] && !(keep && *keep == '1')) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf %s", h->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", h->dir);
    } else if (h->dir[0]) {
        fprintf(stderr, "harness: kept %s\n", h->dir);
    }
}

static h_env_t *h_group;

void h_group_env(h_env_t *h) { h_group = h; }

int h_group_setup(void **state)
{
    (void)state;
    return h_setup(h_group);
}

int h_group_teardown(void **state)
{
    (void)state;
    h_teardown(h_group);
    return 0;
}

pid_t h_start(h_env_t *h, const char *svc, const char *label, const char *const *env)
{
    char bin[400];
    snprintf(bin, sizeof bin, "%s/bin/tremplin-%s", h->build, svc);
    char *argv[] = { bin, NULL };
    return h_spawn(h, label ? label : svc, argv, env);
}

pid_t h_spawn_cmd(h_env_t *h, const char *log_name, char *const argv[])
{
    return h_spawn(h, log_name, argv, NULL);
}

typedef struct {
    const char *endpoint;
} h_ready_t;

/* A Ping to endpoint with this client's retries. */
static Tremplin__Envelope *h_ping_with(h_env_t *h, const char *endpoint, int64_t timeout_ms, int tries)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Ping ping = TREMPLIN__PING__INIT;
    ping.nonce = "h-ping";
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
    req.ping = &ping;
    req.territory = "42";
    client_t *c = h_client(h, endpoint, timeout_ms, tries);
    Tremplin__Envelope *reply = NULL;
    client_call(c, &req, &reply);
    client_destroy(&c);
    return reply;
}

Tremplin__Envelope *h_ping(h_env_t *h, const char *endpoint) { return h_ping_with(h, endpoint, 2000, 3); }

static int h_pong_ok(h_env_t *h, void *arg)
{
    h_ready_t *r = arg;
    Tremplin__Envelope *reply = h_ping_with(h, r->endpoint, 200, 1);
    int ok = reply && reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_PONG && reply->pong->redis_ok;
    wire_free(reply, NULL);
    return ok;
}

int h_wait_ready(h_env_t *h, const char *endpoint, int timeout_ms)
{
    h_ready_t r = { endpoint };
    return h_wait_for(h, h_pong_ok, &r, timeout_ms);
}

int h_service_ready(h_env_t *h, const char *svc, int timeout_ms)
{
    char ep[64];
    h_service_endpoint(h, svc, ep, sizeof ep);
    return h_wait_ready(h, ep, timeout_ms);
}

pid_t h_start_ready(h_env_t *h, const char *svc, const char *label, const char *const *env, int timeout_ms)
{
    pid_t pid = h_start(h, svc, label, env);
    char bind[48], ep[256] = "";
    size_t n = (size_t)snprintf(bind, sizeof bind, "TREMPLIN_%s_BIND=", svc);
    for (size_t i = 0; i < n; i++)
        bind[i] = (char)toupper((unsigned char)bind[i]);
    for (int i = 0; env && env[i]; i++)
        if (!strncmp(env[i], bind, n))
            util_strlcpy(ep, env[i] + n, sizeof ep);
    if (!ep[0])
        h_service_endpoint(h, svc, ep, sizeof ep);
    if (pid < 0 || h_wait_ready(h, ep, timeout_ms) != 0) {
        fprintf(stderr, "harness: %s (%s) not ready:\n", label ? label : svc, ep);
        h_log_tail(h, label ? label : svc, 20);
        return -1;
    }
    return pid;
}

const char *h_probe(h_env_t *h, const char *svc, const char *territory, const char *msg_id, const char *key)
{
    char ep[64];
    h_service_endpoint(h, svc, ep, sizeof ep);
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Probe p = TREMPLIN__PROBE__INIT;
    p.key = (char *)key;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    req.probe = &p;
    req.territory = (char *)territory;
    req.msg_id = (char *)(msg_id ? msg_id : "");
    Tremplin__Envelope *r = h_call(h, ep, &req);
    util_strlcpy(h->answer,
                 !r ? "NONE"
                 : r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK ? (r->ack->duplicate ? "ACK-DUP" : "ACK")
                                                                      : r->error->code,
                 sizeof h->answer);
    wire_free(r, NULL);
    return h->answer;
}

void h_count_reply(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    (void)tag;
    h_counts_t *c = arg;
    if (!reply)
        c->lost++;
    else if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK)
        c->acked++;
    else
        c->refused++;
}

void h_signal(pid_t pid, int sig)
{
    if (pid <= 0)
        return;
    kill(pid, sig);
    if (sig == SIGKILL) {
        waitpid(pid, NULL, 0);
        h_untrack(pid);
    }
}

void h_kill_services(h_env_t *h)
{
    for (int i = 0; i < h_nprocs; i++)
        if (h_procs[i] > 0 && h_procs[i] != h->redis_pid) {
            kill(h_procs[i], SIGKILL);
            waitpid(h_procs[i], NULL, 0);
            h_procs[i] = 0;
        }
}

int h_wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            h_untrack(pid);
            return 0;
        }
        if (clock_mono_ms() >= deadline)
            return -1;
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

int h_redis_restart(h_env_t *h, int sig)
{
    if (sig) {
        h_signal(h->redis_pid, sig);
        if (sig != SIGKILL)
            h_wait_exit(h->redis_pid, 20000, NULL);
    }
    if (h->admin)
        redisFree(h->admin);
    h->admin = NULL;
    return h_redis_start(h);
}

static redisReply *h_redis_v(h_env_t *h, const char *fmt, va_list ap)
{
    if (!h->admin && h_redis_connect(h) != 0)
        return NULL;
    redisReply *r = redisvCommand(h->admin, fmt, ap);
    if (!r) {
        redisFree(h->admin);
        h->admin = NULL;
    }
    return r;
}

redisReply *h_redis(h_env_t *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = h_redis_v(h, fmt, ap);
    va_end(ap);
    return r;
}

long long h_redis_int(h_env_t *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = h_redis_v(h, fmt, ap);
    va_end(ap);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_STRING)
        v = atoll(r->str);
    else if (r && r->type == REDIS_REPLY_NIL)
        v = 0;
    if (r)
        freeReplyObject(r);
    return v;
}

typedef struct {
    size_t skip;
    json_object *out;
} h_records_t;

static int h_record(h_env_t *h, const char *key, void *arg)
{
    h_records_t *c = arg;
    redisReply *r = h_redis(h, "HGETALL %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return 0; /* not a hash (a prefix shared with other keys) */
    }
    json_object *o = json_object_new_object();
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        json_object_object_add(o, r->element[i]->str, json_object_new_string(r->element[i + 1]->str));
    freeReplyObject(r);
    json_object_object_add(c->out, key + c->skip, o);
    return 0;
}

json_object *h_records(h_env_t *h, const char *prefix)
{
    char pattern[256];
    snprintf(pattern, sizeof pattern, "%s*", prefix);
    h_records_t c = { strlen(prefix), json_object_new_object() };
    if (h_scan(h, pattern, h_record, &c) != 0) {
        json_object_put(c.out);
        return NULL;
    }
    return c.out;
}

int h_wait_for(h_env_t *h, h_cond_fn cond, void *arg, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        if (cond(h, arg))
            return 0;
        if (clock_mono_ms() >= deadline)
            return -1;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

void h_endpoint(const h_env_t *h, int offset, char *out, size_t cap)
{
    snprintf(out, cap, "tcp://127.0.0.1:%d", h->base_port + offset);
}

void h_service_endpoint(const h_env_t *h, const char *svc, char *out, size_t cap)
{
    /* as deploy/setup.sh numbers them: BASE+1..+5, the gateway BASE+8 (+6 is
     * intake's branch endpoint, +7 the reporter's HTTP) */
    static const char *const order[] = { "intake", "matcher", "scheduler", "survey", "reporter", "", "", "gateway" };
    for (int i = 0; i < (int)TP_ARRAY_LEN(order); i++)
        if (strcmp(order[i], svc) == 0)
            h_endpoint(h, i + 1, out, cap);
}

int h_branches_add(h_env_t *h, const char *const *names, int n, const char *territory)
{
    char out[1024], cmd[160];
    for (int b = 0; b < n; b++) {
        snprintf(cmd, sizeof cmd, "branch add %s --name %s --territory %s", names[b], names[b], territory);
        if (h_cli(h, out, sizeof out, cmd) != 0) {
            fprintf(stderr, "harness: tremplin %s: %s\n", cmd, out);
            return -1;
        }
    }
    return 0;
}

client_t *h_branch_client(h_env_t *h, const char *branch, const char *endpoints, int64_t timeout_ms, int tries)
{
    char path[400], ep[64];
    snprintf(path, sizeof path, "%s/curve/branch-secrets/%s.key_secret", h->dir, branch);
    zcert_t *cert = zcert_load(path);
    assert_non_null(cert);
    h_endpoint(h, 6, ep, sizeof ep);
    client_t *c = client_new(h->zctx, endpoints ? endpoints : ep, branch);
    client_set_retry(c, timeout_ms, tries);
    assert_int_equal(client_set_curve(c, zcert_meta(cert, "server-key"), zcert_public_txt(cert), zcert_secret_txt(cert)),
                     0);
    zcert_destroy(&cert);
    char err[256];
    assert_int_equal(client_connect(c, err, sizeof err), 0);
    return c;
}

client_t *h_client(h_env_t *h, const char *endpoints, int64_t timeout_ms, int tries)
{
    client_t *c = client_new(h->zctx, endpoints, "test");
    client_set_retry(c, timeout_ms, tries);
    /* the tests' clients speak for the bus (they stand in for the services
     * around the one under test): the harness's service key */
    client_set_curve(c, h->cred.server_key, h->cred.public_key, h->cred.secret_key);
    char err[256];
    client_connect(c, err, sizeof err);
    return c;
}

Tremplin__Envelope *h_call(h_env_t *h, const char *endpoints, Tremplin__Envelope *req)
{
    client_t *c = h_client(h, endpoints, 2000, 3);
    Tremplin__Envelope *reply = NULL;
    client_call(c, req, &reply);
    client_destroy(&c);
    return reply;
}

void h_socket_key(const h_env_t *h, void *sock)
{
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, h->cred.server_key, KEYRING_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, h->cred.public_key, KEYRING_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, h->cred.secret_key, KEYRING_KEY_LEN);
}

Tremplin__Envelope *h_raw_call(h_env_t *h, const char *endpoint, const void *data, size_t len)
{
    void *s = zmq_socket(h->zctx, ZMQ_DEALER);
    h_socket_key(h, s);
    int zero = 0, timeout = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(s, endpoint);
    zmq_send(s, data, len, 0);
    static uint8_t buf[65536];
    int n = zmq_recv(s, buf, sizeof buf, 0);
    zmq_close(s);
    return n > 0 && (size_t)n <= sizeof buf ? tremplin__envelope__unpack(NULL, (size_t)n, buf) : NULL;
}

int h_cli(h_env_t *h, char *out, size_t cap, const char *args) { return h_cli_as(h, NULL, out, cap, args); }

void h_operator_key(const h_env_t *h, const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/keys/operator-secrets/%s.key_secret", h->dir, id);
}

int h_cli_as(h_env_t *h, const char *operator_id, char *out, size_t cap, const char *args)
{
    char cmd[1400], key[400], env[420] = "";
    if (operator_id) {
        h_operator_key(h, operator_id, key, sizeof key);
        snprintf(env, sizeof env, "TREMPLIN_KEY=%s ", key);
    }
    snprintf(cmd, sizeof cmd, "%s%s/bin/tremplin -c %s %s 2>&1", env, h->build, h->conf, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The instance's config into a static buffer; NULL when unreadable. */
static char *h_conf_read(h_env_t *h)
{
    static char in[32768];
    FILE *f = fopen(h->conf, "r");
    if (!f)
        return NULL;
    size_t n = fread(in, 1, sizeof in - 1, f);
    fclose(f);
    in[n] = '\0';
    return in;
}

/* The config with the text from at to cut replaced by key = value and
 * then end, written. */
static int h_conf_splice(h_env_t *h, const char *in, const char *at, const char *cut, const char *key, const char *value,
                         const char *end)
{
    static char out[33000];
    snprintf(out, sizeof out, "%.*s%s = %s%s%s", (int)(at - in), in, key, value, end, cut);
    return h_write_file(h->conf, out);
}

int h_conf_set(h_env_t *h, const char *section, const char *key, const char *value)
{
    char *in = h_conf_read(h);
    if (!in)
        return -1;
    char head[80], line_start[80];
    snprintf(head, sizeof head, "[%s]", section);
    snprintf(line_start, sizeof line_start, "\n%s =", key);
    char *sec = strstr(in, head);
    char *at = sec ? strstr(sec, line_start) : NULL;
    if (!at)
        return -1;
    at++; /* the key's line */
    char *eol = strchr(at, '\n');
    return h_conf_splice(h, in, at, eol ? eol : "", key, value, "");
}

int h_conf_add(h_env_t *h, const char *section, const char *key, const char *value)
{
    char *in = h_conf_read(h);
    if (!in)
        return -1;
    char head[80];
    snprintf(head, sizeof head, "[%s]\n", section);
    char *at = strstr(in, head);
    if (!at)
        return -1;
    at += strlen(head);
    return h_conf_splice(h, in, at, at, key, value, "\n");
}

void h_log_tail(h_env_t *h, const char *label, int lines)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tail -n %d %s/%s.log >&2", lines, h->dir, label);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: no log for %s\n", label);
}

int h_log_count(h_env_t *h, const char *label, const char *needle)
{
    char path[400], line[4096];
    snprintf(path, sizeof path, "%s/%s.log", h->dir, label);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

int h_reload(h_env_t *h, pid_t pid, const char *label, int timeout_ms)
{
    h_log_wait_t w = { label, "event=reloaded", h_log_count(h, label, "event=reloaded") + 1 };
    kill(pid, SIGHUP);
    return h_wait_for(h, h_log_reaches, &w, timeout_ms);
}

int h_stop(pid_t pid, int timeout_ms)
{
    int status = 0;
    kill(pid, SIGTERM);
    if (h_wait_exit(pid, timeout_ms, &status) != 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int h_scan(h_env_t *h, const char *pattern, h_key_fn fn, void *arg)
{
    char cursor[32] = "0";
    do {
        redisReply *r = h_redis(h, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r)
                freeReplyObject(r);
            return -1;
        }
        util_strlcpy(cursor, r->element[0]->str, sizeof cursor);
        int stop = 0;
        for (size_t i = 0; i < r->element[1]->elements && !stop; i++)
            stop = fn(h, r->element[1]->element[i]->str, arg);
        freeReplyObject(r);
        if (stop)
            return 0;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

void h_test_filter(void)
{
    const char *only = getenv("TP_ONLY");
    if (only && *only)
        cmocka_set_test_filter(only);
}

typedef struct {
    const char *args;
    int rc;
    const char *needle;
    char out[8192];
} h_cli_says_t;

static int h_cli_says(h_env_t *h, void *arg)
{
    h_cli_says_t *x = arg;
    return h_cli(h, x->out, sizeof x->out, x->args) == x->rc && strstr(x->out, x->needle) != NULL;
}

int h_wait_cli(h_env_t *h, const char *args, int rc, const char *needle, int timeout_ms)
{
    h_cli_says_t x = { args, rc, needle, "" };
    if (h_wait_for(h, h_cli_says, &x, timeout_ms) == 0)
        return 0;
    fprintf(stderr, "tremplin %s: wanted exit %d and '%s', got:\n%s\n", args, rc, needle, x.out);
    return -1;
}

int h_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

int h_read_secret(const h_env_t *h, const char *user, char *out, size_t cap)
{
    char path[400];
    snprintf(path, sizeof path, "%s/secrets/%s.pass", h->dir, user);
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (!f)
        return -1;
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : -1;
}

int h_log_has(h_env_t *h, const char *label, const char *text) { return h_log_count(h, label, text) > 0; }

int h_log_reaches(h_env_t *h, void *arg)
{
    const h_log_wait_t *w = arg;
    return h_log_count(h, w->label, w->needle) >= w->n;
}

const char *h_code(const Tremplin__Envelope *r)
{
    if (!r)
        return "NO_ANSWER";
    if (r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK)
        return "ACK";
    return r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? r->error->code : "?";
}

h_answer_t h_ask(h_env_t *h, const char *endpoints, Tremplin__Envelope *req)
{
    if (!req->territory || !req->territory[0])
        req->territory = "42";
    Tremplin__Envelope *r = h_call(h, endpoints, req);
    h_answer_t a = { "", "", "", "" };
    util_strlcpy(a.code, h_code(r), sizeof a.code);
    if (r && r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        util_strlcpy(a.booking, r->ack->booking_id, sizeof a.booking);
        util_strlcpy(a.session, r->ack->session_id, sizeof a.session);
        util_strlcpy(a.status, r->ack->status, sizeof a.status);
    }
    wire_free(r, NULL);
    return a;
}

h_answer_t h_assign(h_env_t *h, const char *endpoints, const char *pid, const char *kind, const char *half_day,
                    long long referred_at)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__TrackAssigned t = TREMPLIN__TRACK_ASSIGNED__INIT;
    char aid[TP_ID_LEN + 1];
    util_random_id(aid);
    char *av[1] = { (char *)half_day };
    t.assignment_id = aid;
    t.person_id = (char *)pid;
    t.kind = (char *)kind;
    t.availability = av;
    t.n_availability = 1;
    t.referred_at_ms = (uint64_t)referred_at;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED;
    req.track_assigned = &t;
    return h_ask(h, endpoints, &req);
}

int h_set_clock(h_env_t *h, const char *iso_utc)
{
    char epoch[32], start[32];
    int64_t ms = referral_parse_time(iso_utc);
    if (ms <= 0)
        return -1;
    snprintf(epoch, sizeof epoch, "%lld", (long long)ms);
    snprintf(start, sizeof start, "%lld", (long long)clock_real_ms());
    return h_conf_set(h, "clock", "epoch_ms", epoch) || h_conf_set(h, "clock", "start_ms", start) ? -1 : 0;
}

int h_write(h_env_t *h, const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", h->dir, name);
    return h_write_file(path, text);
}

static int h_placed(h_env_t *h, void *arg)
{
    return h_redis_int(h, "EXISTS tp:{42}:scheduler:assigned:%s", (const char *)arg) == 1;
}

int h_session_open(h_env_t *h, void *session_id)
{
    return h_redis_int(h, "EXISTS tp:{42}:scheduler:session:%s", (const char *)session_id) == 1;
}

int h_referral_envelope(json_object *o, referral_json_t *h, const char *msg_id, Tremplin__Envelope *e)
{
    char err[256];
    if (referral_from_json(o, h, err, sizeof err) != 0) {
        fprintf(stderr, "referral_from_json: %s\n", err);
        return -1;
    }
    tremplin__envelope__init(e);
    e->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    e->submit_referral = &h->referral;
    e->territory = "42";
    e->msg_id = (char *)msg_id;
    return 0;
}

int h_refer(h_env_t *h, const char *ref, const char *const *purposes, char rid[TP_ID_LEN + 1],
            char pid[TP_ID_LEN + 1])
{
    char path[400], out[2048], cmd[512];
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    if (!o)
        return -1;
    json_object_object_add(o, "external_ref", json_object_new_string(ref));
    if (purposes) {
        json_object *list = json_object_new_array();
        for (int i = 0; purposes[i]; i++)
            json_object_array_add(list, json_object_new_string(purposes[i]));
        json_object_object_add(json_object_object_get(o, "consent"), "purposes", list);
    }
    snprintf(path, sizeof path, "%s/%s.json", h->dir, ref);
    int rc = json_object_to_file(path, o);
    json_object_put(o);
    snprintf(cmd, sizeof cmd, "referral submit %s --json", path);
    if (rc != 0 || h_cli(h, out, sizeof out, cmd) != 0)
        return -1;
    json_object *r = json_tokener_parse(out), *v;
    rc = r && json_object_object_get_ex(r, "referral_id", &v) ? 0 : -1;
    if (rc == 0) {
        util_strlcpy(rid, json_object_get_string(v), TP_ID_LEN + 1);
        util_strlcpy(pid, json_object_get_string(json_object_object_get(r, "person_id")), TP_ID_LEN + 1);
    }
    json_object_put(r);
    return rc == 0 ? h_wait_for(h, h_placed, rid, 20000) : -1;
}

int h_redis_log_problems(h_env_t *h)
{
    static const char *const bad[] = { "CRITICAL", "Bad file format", "Unrecoverable", "Unexpected end of file",
                                       "NOPERM", "Error loading" };
    int problems = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = h_log_count(h, "redis", bad[i]);
        if (n)
            fprintf(stderr, "redis.log: %d line(s) with \"%s\"\n", n, bad[i]);
        problems += n;
    }
    int cut = h_log_count(h, "redis", "short read"), loaded = h_log_count(h, "redis", "loaded anyway because aof-load-truncated");
    if (cut)
        fprintf(stderr, "tp redis.log: %d AOF tail(s) cut by kill -9, dropped on load\n", cut);
    if (cut != loaded) {
        fprintf(stderr, "redis.log: %d short read(s), %d loaded anyway\n", cut, loaded);
        problems += cut - loaded > 0 ? cut - loaded : loaded - cut;
    }
    return problems;
}
