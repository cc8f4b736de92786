/* Unit tests for common/inbox, the receiving side of the bus, through link
 * seams: fake_rds in place of Redis, and the senders an inproc DEALER the
 * test drives. A test handler serves Probe commands: its probe key says
 * what the handler decides, and the played function answers with the key,
 * so that each answer shows which request it belongs to.
 *
 * Each test names the property it checks; the commit that added them says
 * which mutation of inbox.c each one catches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "fake_rds.h"
#include "inbox.h"
#include "inproc.h"
#include "log.h"
#include "wire.h"

#define LIB "lib_v1"
#define FN LIB "_thing"
#define MAX_MSGS 16

typedef struct {
    inproc_pair_t z; /* z.router: the service's; z.dealer: the sender's */
    rds_t *rds;
    inbox_t *inbox;
    inbox_conf_t conf;
    const char *territories[1];
    int committed;   /* committed hook calls */
    int pong_filled; /* pong_fill calls */
    char sent[MAX_MSGS][65]; /* msg_ids sent, in order ("" for a raw frame) */
    int nsent;
} fx_t;

/* ------------------------------------------------- the service, played */

/* Probe key "err": refused at once; "nothing": the handler decides nothing
 * (a bug); anything else: one function call with the key as argument. */
static void prepare(void *arg, const Tremplin__Envelope *in, call_t *call)
{
    (void)arg;
    const char *key = in->probe->key;
    if (!strcmp(key, "err")) {
        call_error(call, "INVALID_FIELD", "probe.key", "Refusé.", 0);
        return;
    }
    if (!strcmp(key, "nothing"))
        return;
    call_function(call, "thing");
    call_key(call, "thing", "thing:%s", key);
    call_arg(call, "key", "%s", key);
}

/* The function: answers ok with its argument key as the status; "dup" is a
 * replay, answered as such. */
static redisReply *redis(void *arg, const fake_cmd_t *c)
{
    (void)arg;
    if (!strcmp(c->name, FN)) {
        const char *key = fake_cmd_arg(c, "key");
        assert_non_null(key);
        const char *ok[] = { "ok", "status", key, "duplicate", "1" };
        return fake_reply_strs(strcmp(key, "dup") ? 3 : 5, ok);
    }
    if (!strcmp(c->name, "WAIT"))
        return fake_reply_int(1);
    return fake_reply_nil();
}

static void committed(void *arg, const call_t *call, const Tremplin__Ack *ack)
{
    (void)call;
    (void)ack;
    ((fx_t *)arg)->committed++;
}

static void pong_fill(void *arg, Tremplin__Pong *pong)
{
    (void)pong;
    ((fx_t *)arg)->pong_filled++;
}

static const inbox_handler_t handlers[] = { { TREMPLIN__ENVELOPE__PAYLOAD_PROBE, prepare } };

/* ------------------------------------------------------ the sender side */

/* Sends an envelope as built by the caller (its msg_id recorded). */
static void send_env(fx_t *f, Tremplin__Envelope *env)
{
    assert_true(f->nsent < MAX_MSGS);
    snprintf(f->sent[f->nsent++], sizeof f->sent[0], "%s", env->msg_id);
    inproc_send(f->z.dealer, NULL, env);
}

/* Sends a Probe with key (or a Ping when key is NULL) in territory t. */
static void send_probe(fx_t *f, const char *key, const char *t)
{
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Probe probe = TREMPLIN__PROBE__INIT;
    Tremplin__Ping ping = TREMPLIN__PING__INIT;
    probe.key = (char *)key;
    env.payload_case = key ? TREMPLIN__ENVELOPE__PAYLOAD_PROBE : TREMPLIN__ENVELOPE__PAYLOAD_PING;
    if (key)
        env.probe = &probe;
    else
        env.ping = &ping;
    char id[TP_ID_LEN + 1];
    wire_stamp(&env, id, NULL, "test", t);
    send_env(f, &env);
}

/* Sends raw frames (the last without SNDMORE); no msg_id to expect. */
static void send_raw(fx_t *f, int nframes, const char *data, size_t len)
{
    for (int i = 0; i < nframes; i++)
        assert_true(zmq_send(f->z.dealer, data, len, i + 1 < nframes ? ZMQ_SNDMORE : 0) >= 0);
    f->sent[f->nsent++][0] = '\0';
}

/* What the service does when its ROUTER is readable; waits for it with a
 * deadline, never a sleep (inproc: what was sent before is there). */
static int drain(fx_t *f)
{
    inproc_wait(f->z.router);
    return inbox_drain(f->inbox);
}

/* The next answer to the sender (waited for with a deadline). The answer
 * to a frame whose ids could not be read has no territory either: its
 * header does not pass the checks, and a sender reads it all the same. */
static Tremplin__Envelope *answer(fx_t *f)
{
    inproc_wait(f->z.dealer);
    uint8_t buf[4096];
    int n = zmq_recv(f->z.dealer, buf, sizeof buf, 0);
    assert_true(n > 0 && (size_t)n <= sizeof buf);
    Tremplin__Envelope *env = NULL;
    wire_err_t werr = wire_unpack(buf, (size_t)n, sizeof buf, NULL, &env);
    assert_true(werr == WIRE_OK || (werr == WIRE_EHEADER && !env->cause_id[0]));
    return env;
}

/* The answer to the i-th message sent: an Ack with status (NULL: any) or
 * an Error with code. */
static void expect(fx_t *f, int i, const char *code, const char *status, int retryable)
{
    Tremplin__Envelope *a = answer(f);
    assert_string_equal(a->cause_id, f->sent[i]);
    if (!code) {
        assert_int_equal(a->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_ACK);
        if (status)
            assert_string_equal(a->ack->status, status);
    } else {
        assert_int_equal(a->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_ERROR);
        assert_string_equal(a->error->code, code);
        assert_int_equal(a->error->retryable, retryable);
    }
    wire_free(a, NULL);
}

/* The pipelines the commands since `from` went in: their count, and the
 * number of calls of the function. */
static int pipelines_since(int from, int *calls)
{
    int n = 0, last = -1;
    *calls = 0;
    for (int i = from; i < fake_rds_ncmds(); i++) {
        const fake_cmd_t *c = fake_rds_cmd(i);
        if (c->batch != last)
            n++;
        last = c->batch;
        *calls += !strcmp(c->name, FN);
    }
    return n;
}

/* ------------------------------------------------------------------ fixture */

static int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    fake_rds_reset();
    fake_rds_answer(redis, f);
    inproc_open(&f->z, "inproc://svc");
    rds_conf_t rc = { 0 };
    f->rds = rds_new(&rc, "test");
    f->territories[0] = "42";
    f->conf = (inbox_conf_t){
        .service = "svc", .library = LIB, .instance = "svc-1", .max_msg = 4096, .batch = 16, .mark_ttl_s = 60,
        .territories = f->territories, .nterritories = 1, .handlers = handlers, .nhandlers = 1,
        .handler_arg = f, .pong_fill = pong_fill, .committed = committed,
    };
    *state = f;
    return 0;
}

static void fx_start(fx_t *f) { f->inbox = inbox_new(f->z.router, f->rds, &f->conf); }

static int fx_teardown(void **state)
{
    fx_t *f = *state;
    inbox_destroy(&f->inbox);
    rds_destroy(&f->rds);
    inproc_close(&f->z);
    fake_rds_reset();
    free(f);
    return 0;
}

/* ------------------------------------------------------------------- tests */

/* Every ready message of a wake-up is handled in one batch: one pipeline
 * holding one function call per message (mark and outbox keys in front of
 * the handler's), and the answers in the order of the requests, each the
 * answer of its own call. */
static void test_batch_is_one_pipeline(void **state)
{
    fx_t *f = *state;
    fx_start(f);
    static const char *const keys[] = { "a", "b", "c", "d", "e" };
    for (int i = 0; i < 5; i++)
        send_probe(f, keys[i], "42");
    int from = fake_rds_ncmds(), calls;
    assert_int_equal(drain(f), 5);
    assert_int_equal(pipelines_since(from, &calls), 1);
    assert_int_equal(calls, 5);
    const fake_cmd_t *c = fake_rds_cmd(from);
    assert_true(fake_cmd_arg_is(c, 2, "3")); /* numkeys: mark, outbox, the handler's */
    char mark[128];
    snprintf(mark, sizeof mark, "tp:{42}:svc:seen:%s", f->sent[0]);
    assert_true(fake_cmd_arg_is(c, 3, mark));
    assert_true(fake_cmd_arg_is(c, 4, "tp:{42}:svc:outbox"));
    assert_true(fake_cmd_arg_is(c, 5, "tp:{42}:svc:thing:a"));
    for (int i = 0; i < 5; i++)
        expect(f, i, NULL, keys[i], 0);
    inbox_stats_t st = inbox_stats(f->inbox);
    assert_int_equal(st.received, 5);
    assert_int_equal(st.acked, 5);
    assert_int_equal(f->committed, 5);
}

/* A batch holds at most `batch` messages: more wait for the next wake-up. */
static void test_batch_is_capped(void **state)
{
    fx_t *f = *state;
    f->conf.batch = 4;
    fx_start(f);
    for (int i = 0; i < 10; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        send_probe(f, key, "42");
    }
    static const int sizes[] = { 4, 4, 2 };
    for (int b = 0; b < 3; b++) {
        int from = fake_rds_ncmds(), calls;
        assert_int_equal(drain(f), sizes[b]);
        assert_int_equal(pipelines_since(from, &calls), 1);
        assert_int_equal(calls, sizes[b]);
    }
    for (int i = 0; i < 10; i++)
        expect(f, i, NULL, NULL, 0);
}

/* Bad frames, in the middle of good ones, are each answered with their
 * stable code, in order, and never stop the batch: the good ones still go
 * in one pipeline. */
static void test_bad_frames_are_answered(void **state)
{
    fx_t *f = *state;
    fx_start(f);
    send_probe(f, "first", "42");
    send_raw(f, 1, "", 0);                             /* EMPTY_MESSAGE */
    send_raw(f, 1, "\xff\xff\xff", 3);                 /* MALFORMED_MESSAGE */
    send_raw(f, 2, "\x0a\x02mm", 4);                   /* two frames: MALFORMED_MESSAGE */
    char big[5000];
    memset(big, 'x', sizeof big);
    send_raw(f, 1, big, sizeof big);                   /* over max_msg: MESSAGE_TOO_LARGE */
    send_probe(f, "x", "75");                          /* UNKNOWN_TERRITORY */
    send_probe(f, "err", "42");                        /* the handler refuses */
    send_probe(f, "nothing", "42");                    /* the handler decides nothing: INTERNAL */
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT; /* a payload nobody serves: UNSUPPORTED */
    Tremplin__Event ev = TREMPLIN__EVENT__INIT;
    char id[TP_ID_LEN + 1];
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_EVENT;
    env.event = &ev;
    wire_stamp(&env, id, NULL, "test", "42");
    send_env(f, &env);
    Tremplin__Probe probe = TREMPLIN__PROBE__INIT; /* a newer schema: UNSUPPORTED_VERSION */
    probe.key = (char *)"new";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    env.probe = &probe;
    wire_stamp(&env, id, NULL, "test", "42");
    env.schema_version = WIRE_SCHEMA_VERSION + 1;
    send_env(f, &env);
    send_probe(f, "last", "42");

    int from = fake_rds_ncmds(), calls;
    assert_int_equal(drain(f), f->nsent);
    assert_int_equal(pipelines_since(from, &calls), 1);
    assert_int_equal(calls, 2);
    static const char *const codes[] = { NULL,          "EMPTY_MESSAGE", "MALFORMED_MESSAGE", "MALFORMED_MESSAGE",
                                         "MESSAGE_TOO_LARGE", "UNKNOWN_TERRITORY", "INVALID_FIELD", "INTERNAL",
                                         "UNSUPPORTED", "UNSUPPORTED_VERSION", NULL };
    assert_int_equal(f->nsent, (int)(sizeof codes / sizeof codes[0]));
    for (int i = 0; i < f->nsent; i++)
        expect(f, i, codes[i], i ? "last" : "first", 0);
    assert_int_equal(inbox_stats(f->inbox).bad_frames, 5);
}

/* What Redis says becomes the answer: no reply (Redis down, or lost in the
 * middle) and a passing error are UNAVAILABLE, retryable; a function's
 * runtime error is INTERNAL, not retryable. A Ping is answered without
 * Redis. Nothing failed is reported as committed. */
static void test_redis_failures_are_answered(void **state)
{
    fx_t *f = *state;
    fx_start(f);
    fake_rds_down(1);
    send_probe(f, "a", "42");
    send_probe(f, NULL, "42");
    assert_int_equal(drain(f), 2);
    expect(f, 0, "UNAVAILABLE", NULL, 1);
    Tremplin__Envelope *pong = answer(f);
    assert_int_equal(pong->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_PONG);
    assert_string_equal(pong->cause_id, f->sent[1]);
    wire_free(pong, NULL);
    assert_int_equal(f->pong_filled, 1);

    fake_rds_down(0);
    fake_rds_script(FN, fake_reply_error("LOADING Redis is loading the dataset in memory"));
    fake_rds_script(FN, fake_reply_error("ERR user_script:1: Script attempted to access nonexistent global"));
    fake_rds_script(FN, NULL); /* the connection lost here: this one and the rest */
    for (int i = 0; i < 4; i++)
        send_probe(f, "b", "42");
    assert_int_equal(drain(f), 4);
    expect(f, 2, "UNAVAILABLE", NULL, 1);
    expect(f, 3, "UNAVAILABLE", NULL, 1); /* the whole read failed: no reply for any */
    expect(f, 4, "UNAVAILABLE", NULL, 1);
    expect(f, 5, "UNAVAILABLE", NULL, 1);

    fake_rds_script(FN, fake_reply_error("LOADING Redis is loading the dataset in memory"));
    fake_rds_script(FN, fake_reply_error("ERR user_script:1: Script attempted to access nonexistent global"));
    send_probe(f, "c", "42");
    send_probe(f, "d", "42");
    send_probe(f, "e", "42");
    assert_int_equal(drain(f), 3);
    expect(f, 6, "UNAVAILABLE", NULL, 1);
    expect(f, 7, "INTERNAL", NULL, 0);
    expect(f, 8, NULL, "e", 0);
    assert_int_equal(f->committed, 1);
}

/* With wait_replicas, one WAIT closes the batch's pipeline; a batch the
 * replicas did not confirm is answered UNAVAILABLE (its replay gets the
 * stored answer), a confirmed one is acked. */
static void test_wait_for_replicas(void **state)
{
    fx_t *f = *state;
    f->conf.wait_replicas = 1;
    f->conf.wait_timeout_ms = 100;
    fx_start(f);
    send_probe(f, "a", "42");
    send_probe(f, "b", "42");
    int from = fake_rds_ncmds(), calls;
    assert_int_equal(drain(f), 2);
    assert_int_equal(pipelines_since(from, &calls), 1);
    const fake_cmd_t *w = fake_rds_cmd(fake_rds_ncmds() - 1);
    assert_string_equal(w->name, "WAIT");
    assert_true(fake_cmd_arg_is(w, 1, "1") && fake_cmd_arg_is(w, 2, "100"));
    expect(f, 0, NULL, "a", 0);
    expect(f, 1, NULL, "b", 0);

    fake_rds_script("WAIT", fake_reply_int(0));
    send_probe(f, "c", "42");
    assert_int_equal(drain(f), 1);
    expect(f, 2, "UNAVAILABLE", NULL, 1);
    assert_int_equal(f->committed, 2);
}

/* A replay answered from the mark is counted as a duplicate and is not
 * reported as committed (no second event, no relay wake-up). */
static void test_duplicates_are_not_committed(void **state)
{
    fx_t *f = *state;
    fx_start(f);
    send_probe(f, "dup", "42");
    send_probe(f, "new", "42");
    assert_int_equal(drain(f), 2);
    Tremplin__Envelope *a = answer(f);
    assert_true(a->ack->duplicate);
    wire_free(a, NULL);
    expect(f, 1, NULL, "new", 0);
    assert_int_equal(inbox_stats(f->inbox).duplicates, 1);
    assert_int_equal(f->committed, 1);
}

int main(void)
{
    log_set_level(TPLOG_OFF); /* bad frames and failures log warnings here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_is_one_pipeline, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch_is_capped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_are_answered, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_redis_failures_are_answered, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_replicas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_are_not_committed, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("inbox", tests, NULL, NULL);
}
