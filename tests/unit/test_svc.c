/* Unit tests for the service runtime (common/svc*.c): a test service runs
 * svc_main in a child process against fake_rds, and the test is everything
 * around it over ipc:// sockets — the receiver of its outbox, a sender of
 * commands, a subscriber of its events — and the operator who sends it
 * signals. Conditions are waited for with deadlines, never with sleeps.
 *
 * Each test names the property it checks; the commit that added them says
 * which mutation of svc*.c each one catches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"
#include "fake_rds.h"
#include "inproc.h"
#include "sock.h"
#include "svc.h"
#include "wire.h"

char *mkdtemp(char *template); /* POSIX 2008, hidden by the strict feature macros */

#define LIB "test_v1"
#define WAIT_MS 5000

/* ------------------------------------------------- the service (the child) */

/* CancelBooking's booking_id says how the handler names its event. */
static void prepare_thing(void *arg, const Tremplin__Envelope *in, call_t *call)
{
    (void)arg;
    const char *mode = in->cancel_booking->booking_id;
    call_function(call, "thing");
    if (!strcmp(mode, "named"))
        call_event(call, "thing.done", "booking_id");
    else if (!strcmp(mode, "unnamed"))
        call_event(call, "thing.done", NULL);
    /* "plain": no event named, the function's name is the kind */
}

static const inbox_handler_t handlers[] = { { TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING, prepare_thing } };
static const svc_def_t def = { .name = "test", .library = LIB, .lua = "", .handlers = handlers, .nhandlers = 1 };

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Redis as the service sees it: an outbox that holds what the test put in
 * it (scripted), the relay's functions, and "thing". */
static redisReply *child_redis(void *arg, const fake_cmd_t *c)
{
    (void)arg;
    if (!strcmp(c->name, "XGROUP"))
        return fake_reply_status("OK");
    if (ends_with(c->name, "_outbox_take"))
        return fake_reply_array(0, NULL);
    if (ends_with(c->name, "_outbox_orphans"))
        return fake_reply_strs(1, (const char *const[]){ "" });
    if (ends_with(c->name, "_outbox_done") || ends_with(c->name, "_outbox_touch"))
        return fake_reply_int(1);
    if (!strcmp(c->name, LIB "_thing"))
        return fake_reply_strs(3, (const char *const[]){ "ok", "booking_id", "b-7" });
    return fake_reply_nil();
}

/* The outbox entry the relay finds at start: a Probe to "peer". */
static redisReply *inflight_entry(void)
{
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Probe probe = TREMPLIN__PROBE__INIT;
    probe.key = (char *)"k";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    env.probe = &probe;
    env.msg_id = (char *)"inflight1";
    env.territory = (char *)"42";
    wire_buf_t buf = { 0 };
    wire_pack(&env, &buf);
    redisReply *e[5] = { fake_reply_str("1-0"), fake_reply_str("peer"), fake_reply_str("inflight1"),
                         fake_reply_bin(buf.data, buf.len), fake_reply_int(1) };
    wire_buf_free(&buf);
    return fake_reply_array(5, e);
}

/* ------------------------------------------------------------ the fixture */

typedef struct {
    char dir[64], conf[128], log[128];
    char ep_svc[160], ep_events[160], ep_peer[160];
    pid_t pid;
    void *ctx;
    void *peer;  /* ROUTER: where the service's outbox sends to "peer" */
    void *sub;   /* its events */
    client_t *cl; /* a sender of commands */
    zmq_msg_t to; /* the service's DEALER, as the peer sees it */
    int have_to;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tp-test-svc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->conf, sizeof f->conf, "%s/tremplin.conf", f->dir);
    snprintf(f->log, sizeof f->log, "%s/test.log", f->dir);
    snprintf(f->ep_svc, sizeof f->ep_svc, "ipc://%s/svc", f->dir);
    snprintf(f->ep_events, sizeof f->ep_events, "ipc://%s/events", f->dir);
    snprintf(f->ep_peer, sizeof f->ep_peer, "ipc://%s/peer", f->dir);
    *state = f;
    return 0;
}

/* Starts the service with drain_ms, its outbox holding one entry or none;
 * then the test's own sockets (after the fork: a child inherits no
 * ZeroMQ context). */
static void fx_start(fx_t *f, int drain_ms, int with_entry)
{
    char key[160];
    snprintf(key, sizeof key, "%s/ids.key", f->dir); /* the deployment's id secret: any 64 hex */
    FILE *c = fopen(key, "w");
    assert_non_null(c);
    fputs("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", c);
    fclose(c);
    c = fopen(f->conf, "w");
    assert_non_null(c);
    fprintf(c,
            "[redis]\nrequire_aof = no\n[log]\nlevel = info\n"
            "[bus]\nterritories = 42\nack_timeout_ms = 100\nretry_max_ms = 200\nlease_ms = 1000\npump_ms = 5\n"
            "max_tries = 100000\n" /* an entry nobody acks stays in flight */
            "drain_ms = %d\nid_key_file = %s\n[endpoints]\ntest = %s\ntest_events = %s\npeer = %s\n",
            drain_ms, key, f->ep_svc, f->ep_events, f->ep_peer);
    fclose(c);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        fake_rds_reset();
        fake_rds_answer(child_redis, NULL);
        if (with_entry)
            fake_rds_script(LIB "_outbox_take", inflight_entry()); /* the first take: this instance's own */
        char *argv[] = { (char *)"test-svc", (char *)"-c", f->conf, NULL };
        exit(svc_main(&def, 3, argv)); /* exit: the leak check runs */
    }
    f->ctx = zmq_ctx_new();
    f->peer = sock_new(f->ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(f->peer, f->ep_peer), 0);
}

static int fx_teardown(void **state)
{
    fx_t *f = *state;
    if (f->pid > 0 && waitpid(f->pid, NULL, WNOHANG) == 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    if (f->have_to)
        zmq_msg_close(&f->to);
    client_destroy(&f->cl);
    if (f->sub)
        zmq_close(f->sub);
    if (f->peer)
        zmq_close(f->peer);
    if (f->ctx)
        zmq_ctx_term(f->ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* ----------------------------------------------------------- conditions */

typedef int (*cond_fn)(fx_t *f, const void *arg);

/* Polls cond every 5 ms until it holds (1) or WAIT_MS pass (0). */
static int wait_until(fx_t *f, cond_fn cond, const void *arg)
{
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (!cond(f, arg)) {
        if (clock_mono_ms() >= deadline)
            return 0;
        nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
    }
    return 1;
}

/* The service's log holds text (it writes a few lines: all of it is read). */
static int log_has(fx_t *f, const void *text)
{
    char buf[1 << 16];
    FILE *l = fopen(f->log, "r");
    size_t n = l ? fread(buf, 1, sizeof buf - 1, l) : 0;
    if (l)
        fclose(l);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* Nobody listens at the service's command endpoint any more: it unbound
 * it (libzmq leaves the ipc file; a connect to it is refused). */
static int unbound(fx_t *f, const void *arg)
{
    (void)arg;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->ep_svc + strlen("ipc://"));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int refused = connect(fd, (struct sockaddr *)&a, sizeof a) != 0;
    close(fd);
    return refused;
}

static int exited(fx_t *f, const void *status)
{
    if (waitpid(f->pid, (int *)status, WNOHANG) != f->pid)
        return 0;
    f->pid = 0;
    return 1;
}

/* The service exits by itself, with code. */
static void expect_exit(fx_t *f, int code)
{
    int status = -1;
    assert_true(wait_until(f, exited, &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), code);
}

/* Receives what the service's relay sent to the peer (one message, waited
 * for); returns its msg_id into mid. */
static void peer_receives(fx_t *f, char mid[65])
{
    inproc_wait(f->peer);
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&id, f->peer, 0) >= 0);
    assert_true(zmq_msg_recv(&body, f->peer, 0) >= 0);
    if (!f->have_to) {
        zmq_msg_init(&f->to);
        zmq_msg_copy(&f->to, &id);
        f->have_to = 1;
    }
    Tremplin__Envelope *env = NULL;
    assert_int_equal(wire_unpack(zmq_msg_data(&body), zmq_msg_size(&body), WIRE_MAX_DEFAULT, NULL, &env), WIRE_OK);
    snprintf(mid, 65, "%s", env->msg_id);
    wire_free(env, NULL);
    zmq_msg_close(&id);
    zmq_msg_close(&body);
}

/* Drops what the peer has received so far. */
static void peer_forgets(fx_t *f)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, f->peer, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close(&m);
}

static void peer_acks(fx_t *f, const char *mid)
{
    Tremplin__Envelope reply = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    reply.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ACK;
    reply.ack = &ack;
    char id[TP_ID_LEN + 1];
    wire_stamp(&reply, id, mid, "peer-1", "42");
    inproc_send(f->peer, &f->to, &reply);
}

/* The service is relaying its entry; SIGTERM, and the first phase starts:
 * it says so and unbinds its command endpoint. */
static void start_draining(fx_t *f, int drain_ms)
{
    fx_start(f, drain_ms, 1);
    char mid[65];
    peer_receives(f, mid);
    assert_string_equal(mid, "inflight1");
    kill(f->pid, SIGTERM);
    assert_true(wait_until(f, log_has, "event=draining inflight=1"));
    assert_true(wait_until(f, unbound, NULL));
}

/* ------------------------------------------------------------------- tests */

/* SIGTERM, first phase: stop taking work (the command endpoint goes), go
 * on relaying what is in flight (it is sent again while draining), and
 * exit 0 as soon as it is acknowledged, long before drain_ms. */
static void test_sigterm_drains_in_flight_then_exits(void **state)
{
    fx_t *f = *state;
    start_draining(f, 60000);
    peer_forgets(f);
    char mid[65];
    peer_receives(f, mid); /* a resend, after SIGTERM */
    assert_string_equal(mid, "inflight1");
    peer_acks(f, mid);
    expect_exit(f, 0);
    assert_true(log_has(f, "inflight=0 retrying=0"));
}

/* A drain that gets no ack ends at drain_ms, still exit 0 (the entry stays
 * in the Redis outbox for the next run). */
static void test_drain_ends_at_its_deadline(void **state)
{
    fx_t *f = *state;
    start_draining(f, 300);
    expect_exit(f, 0);
    assert_true(log_has(f, "inflight=1"));
}

/* Second phase: another SIGTERM while draining exits at once, status 1. */
static void test_second_sigterm_exits_at_once(void **state)
{
    fx_t *f = *state;
    start_draining(f, 60000);
    kill(f->pid, SIGTERM);
    expect_exit(f, 1);
}

/* One command, its Ack, and the event it published: kind and subject. */
static int call_and_event(client_t *cl, void *sub, const char *mode, char *msg_id, char *kind, char *subject,
                          int wait_ms)
{
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT, *reply = NULL;
    Tremplin__CancelBooking cb = TREMPLIN__CANCEL_BOOKING__INIT;
    cb.booking_id = (char *)mode;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    req.cancel_booking = &cb;
    wire_stamp(&req, msg_id, NULL, "test", "42");
    assert_int_equal(client_call(cl, &req, &reply), 0);
    assert_int_equal(reply->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_ACK);
    wire_free(reply, NULL);
    zmq_pollitem_t item = { sub, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&item, 1, wait_ms) != 1)
        return 0;
    char topic[96], buf[1024];
    int tn = zmq_recv(sub, topic, sizeof topic - 1, 0), n = zmq_recv(sub, buf, sizeof buf, 0);
    assert_true(tn > 0 && n > 0);
    Tremplin__Envelope *env = NULL;
    assert_int_equal(wire_unpack((uint8_t *)buf, (size_t)n, sizeof buf, NULL, &env), WIRE_OK);
    assert_int_equal(env->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_EVENT);
    assert_string_equal(env->cause_id, msg_id);
    snprintf(kind, 96, "%s", env->event->kind);
    snprintf(subject, 96, "%s", env->event->subject_id);
    assert_int_equal(tn, (int)strlen(kind)); /* the topic is the kind */
    wire_free(env, NULL);
    return 1;
}

/* After a committed step the service publishes Event{kind, subject}: the
 * handler names the kind and the reply key of its subject (call_event);
 * without a key the subject is the command's msg_id; without call_event
 * the kind is the function's name. */
static void test_events_say_what_the_handler_names(void **state)
{
    fx_t *f = *state;
    fx_start(f, 1000, 0);
    void *sub = f->sub = sock_new(f->ctx, ZMQ_SUB);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(sub, f->ep_events), 0);
    client_t *cl = f->cl = client_new(f->ctx, f->ep_svc, "test");
    client_set_retry(cl, 1000, 5);
    char err[128];
    assert_int_equal(client_connect(cl, err, sizeof err), 0);
    char id[TP_ID_LEN + 1], kind[96], subject[96];
    /* a subscription takes effect some time after the connect (PUB drops
     * what it sends before): commands until one event comes through */
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (!call_and_event(cl, sub, "named", id, kind, subject, 50))
        assert_true(clock_mono_ms() < deadline);

    static const struct {
        const char *mode, *kind, *subject; /* NULL subject: the msg_id */
    } cases[] = {
        { "named", "test.thing.done", "b-7" },
        { "unnamed", "test.thing.done", NULL },
        { "plain", "test.thing", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(call_and_event(cl, sub, cases[i].mode, id, kind, subject, WAIT_MS));
        assert_string_equal(kind, cases[i].kind);
        assert_string_equal(subject, cases[i].subject ? cases[i].subject : id);
    }
}

/* Settings that must agree are checked at load: with replicas to wait
 * for, a step's WAIT must end before its sender's ack timeout (a failover
 * made dead letters with both at 1000 ms). */
static void test_wait_timeout_below_the_ack_timeout(void **state)
{
    (void)state;
    static const struct {
        const char *redis, *bus;
        int ok;
    } cases[] = {
        { "wait_replicas = 1\n", "", 1 }, /* the defaults: 500 below 1000 */
        { "wait_replicas = 1\nwait_timeout_ms = 1000\n", "", 0 },
        { "wait_replicas = 1\nwait_timeout_ms = 900\n", "ack_timeout_ms = 800\n", 0 },
        { "wait_replicas = 1\nwait_timeout_ms = 0\n", "", 0 },
        { "wait_replicas = 0\nwait_timeout_ms = 5000\n", "", 1 }, /* nothing waited for */
        { "wait_replicas = 2\nwait_timeout_ms = 200\n", "ack_timeout_ms = 300\n", 1 },
    };
    char path[] = "/tmp/tremplin-svcconf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "[redis]\n%s[bus]\nterritories = 42\n%s", cases[i].redis, cases[i].bus);
        fclose(f);
        svc_conf_t conf;
        char err[256] = "";
        int rc = svc_conf_load(path, "test", &conf, NULL, err, sizeof err);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "must be >= 1 and below bus.ack_timeout_ms"));
        }
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigterm_drains_in_flight_then_exits, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_drain_ends_at_its_deadline, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_second_sigterm_exits_at_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_events_say_what_the_handler_names, fx_setup, fx_teardown),
        cmocka_unit_test(test_wait_timeout_below_the_ack_timeout),
    };
    return cmocka_run_group_tests_name("svc", tests, NULL, NULL);
}
