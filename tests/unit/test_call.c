/* Unit tests for common/call: turning a function's reply into an answer, and
 * building a call (named keys and arguments, outgoing messages, immediate
 * errors) in the layout bus.lua reads (seen through tests/unit/fake_rds.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "call.h"
#include "fake_rds.h"
#include "rds.h"

/* ------------------------------------------------------ hand-made replies */

#define MAX_ELEMENTS 16

/* An array reply of strings; NULL in strs makes an integer element. */
typedef struct {
    redisReply array;
    redisReply items[MAX_ELEMENTS];
    redisReply *ptrs[MAX_ELEMENTS];
} fake_reply_t;

static const redisReply *fake_array(fake_reply_t *r, const char *const *strs, size_t n)
{
    assert_true(n <= MAX_ELEMENTS);
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        if (strs[i]) {
            r->items[i].type = REDIS_REPLY_STRING;
            r->items[i].str = (char *)strs[i];
            r->items[i].len = strlen(strs[i]);
        } else {
            r->items[i].type = REDIS_REPLY_INTEGER;
            r->items[i].integer = 1;
        }
        r->ptrs[i] = &r->items[i];
    }
    r->array.type = REDIS_REPLY_ARRAY;
    r->array.elements = n;
    r->array.element = n ? r->ptrs : NULL;
    return &r->array;
}

#define FAKE(r, ...) \
    fake_array(r, (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

/* True when s lies inside buf: reply strings are copied, not borrowed. */
static int inside(const char *s, const char *buf, size_t cap)
{
    return s >= buf && s < buf + cap;
}

/* -------------------------------------------------------- call_parse_reply */

/* One reply parsed into a fresh answer. */
typedef struct {
    Tremplin__Ack ack;
    Tremplin__Error error;
    char buf[256];
    int rc;
} parsed_t;

static void parse(const redisReply *reply, parsed_t *p)
{
    p->ack = (Tremplin__Ack)TREMPLIN__ACK__INIT;
    p->error = (Tremplin__Error)TREMPLIN__ERROR__INIT;
    p->rc = call_parse_reply(reply, &p->ack, &p->error, p->buf, sizeof p->buf);
}

static void test_reply_ok(void **state)
{
    (void)state;
    fake_reply_t r;
    const redisReply *reply = FAKE(&r, "ok", "referral_id", "r-123", "person_id", "p-456", "duplicate", "1");
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error error = TREMPLIN__ERROR__INIT;
    char buf[256];
    assert_int_equal(call_parse_reply(reply, &ack, &error, buf, sizeof buf), 1);
    assert_string_equal(ack.referral_id, "r-123");
    assert_string_equal(ack.person_id, "p-456");
    assert_true(ack.duplicate);
    assert_string_equal(ack.booking_id, "");
    assert_true(inside(ack.referral_id, buf, sizeof buf));
    assert_true(inside(ack.person_id, buf, sizeof buf));
    assert_string_equal(error.code, ""); /* error untouched */
}

static void test_reply_ok_every_field(void **state)
{
    (void)state;
    fake_reply_t r;
    const redisReply *reply = FAKE(&r, "ok", "booking_id", "b-1", "session_id", "s-2", "status", "offered",
                                   "duplicate", "0", "unknown", "ignored", "referral_id", NULL, "person_id");
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error error = TREMPLIN__ERROR__INIT;
    char buf[256];
    assert_int_equal(call_parse_reply(reply, &ack, &error, buf, sizeof buf), 1);
    assert_string_equal(ack.booking_id, "b-1");
    assert_string_equal(ack.session_id, "s-2");
    assert_string_equal(ack.status, "offered");
    assert_false(ack.duplicate);
    assert_string_equal(ack.referral_id, ""); /* integer value skipped */
    assert_string_equal(ack.person_id, "");   /* key without value */
}

/* Every string or bool field of Ack is set by the reply key of its name:
 * the mapping comes from the descriptor, so a field added to the proto
 * reaches the caller with no change to common/. */
static void test_reply_maps_every_ack_field_by_name(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &tremplin__ack__descriptor;
    int seen = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BOOL)
            continue;
        char value[64];
        snprintf(value, sizeof value, "%s", f->type == PROTOBUF_C_TYPE_BOOL ? "1" : f->name);
        fake_reply_t r;
        const redisReply *reply = FAKE(&r, "ok", f->name, value);
        Tremplin__Ack ack = TREMPLIN__ACK__INIT;
        Tremplin__Error error = TREMPLIN__ERROR__INIT;
        char buf[256];
        assert_int_equal(call_parse_reply(reply, &ack, &error, buf, sizeof buf), 1);
        const char *at = (const char *)&ack + f->offset;
        if (f->type == PROTOBUF_C_TYPE_BOOL) {
            assert_true(*(const protobuf_c_boolean *)at);
            assert_null(call_ack_string(&ack, f->name)); /* not a string */
        } else {
            assert_string_equal(*(char *const *)at, f->name);
            assert_string_equal(call_ack_string(&ack, f->name), f->name);
        }
        seen++;
    }
    assert_int_equal(seen, (int)d->n_fields); /* Ack holds only strings and bools today */
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    assert_null(call_ack_string(&ack, "no_such_field"));
}

/* The handler names its event and the reply key of its subject; a reset
 * forgets both (calls are reused from one cycle to the next). */
static void test_event(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "svc", "42", "m1");
    assert_null(c.event_kind);
    assert_null(c.event_subject);
    call_event(&c, "thing.done", "booking_id");
    assert_string_equal(c.event_kind, "thing.done");
    assert_string_equal(c.event_subject, "booking_id");
    call_reset(&c, "svc", "42", "m2");
    assert_null(c.event_kind);
    assert_null(c.event_subject);
    call_free(&c);
}

/* A small strbuf truncates values, never writes past its end. */
static void test_reply_ok_small_buffer(void **state)
{
    (void)state;
    fake_reply_t r;
    const redisReply *reply = FAKE(&r, "ok", "referral_id", "abcdefghijkl", "person_id", "p-456");
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error error = TREMPLIN__ERROR__INIT;
    char buf[8];
    assert_int_equal(call_parse_reply(reply, &ack, &error, buf, sizeof buf), 1);
    assert_string_equal(ack.referral_id, "abcdefg");
    assert_string_equal(ack.person_id, "");

    /* a value exactly the size of the buffer loses its last byte to the NUL */
    Tremplin__Ack ack2 = TREMPLIN__ACK__INIT;
    reply = FAKE(&r, "ok", "status", "12345678");
    assert_int_equal(call_parse_reply(reply, &ack2, &error, buf, sizeof buf), 1);
    assert_string_equal(ack2.status, "1234567");
}

/* A handler's refusal: "err" is final, "retry" (it wrote nothing, no mark
 * was kept) may succeed later. */
static void test_reply_err(void **state)
{
    (void)state;
    static const struct {
        const char *tag;
        int retryable;
    } kinds[] = { { "err", 0 }, { "retry", 1 } };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        fake_reply_t r;
        parsed_t p;
        parse(FAKE(&r, kinds[i].tag, "INVALID_FIELD", "person.phone", "Numéro de téléphone invalide."), &p);
        assert_int_equal(p.rc, 0);
        assert_string_equal(p.error.code, "INVALID_FIELD");
        assert_string_equal(p.error.field, "person.phone");
        assert_string_equal(p.error.message_fr, "Numéro de téléphone invalide.");
        assert_int_equal(p.error.retryable, kinds[i].retryable);
        assert_true(inside(p.error.code, p.buf, sizeof p.buf));
        assert_string_equal(p.ack.referral_id, "");
    }
}

/* A short "err" array fills what it has. */
static void test_reply_err_short(void **state)
{
    (void)state;
    fake_reply_t r;
    const redisReply *reply = FAKE(&r, "err", "NOT_FOUND");
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error error = TREMPLIN__ERROR__INIT;
    char buf[256];
    assert_int_equal(call_parse_reply(reply, &ack, &error, buf, sizeof buf), 0);
    assert_string_equal(error.code, "NOT_FOUND");
    assert_string_equal(error.field, "");
    assert_string_equal(error.message_fr, "");
}

/* A Redis error reply: a passing condition of the server is UNAVAILABLE and
 * retryable; a function's own failure is a bug, INTERNAL and not retryable
 * (the sender dead-letters it at once). */
static void test_reply_redis_error(void **state)
{
    (void)state;
    static const struct {
        const char *err, *code;
        int retryable;
    } cases[] = {
        { "ERR user_function:2: poisoned probe script: probe, on @user_function:2.", "INTERNAL", 0 },
        { "ERR user_function:3: attempt to index local 'x' (a nil value)", "INTERNAL", 0 },
        { "ERR value is not an integer or out of range script: f, on @user_function:6.", "INTERNAL", 0 },
        { "ERR The user executing the script can't run this command or subcommand", "INTERNAL", 0 },
        { "WRONGTYPE Operation against a key holding the wrong kind of value", "INTERNAL", 0 },
        { "NOPERM this user has no permissions to run the 'fcall' command", "INTERNAL", 0 },
        { "LOADING Redis is loading the dataset in memory", "UNAVAILABLE", 1 },
        { "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.", "UNAVAILABLE", 1 },
        { "READONLY You can't write against a read only replica.", "UNAVAILABLE", 1 },
        { "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", "UNAVAILABLE", 1 },
        { "OOM command not allowed when used memory > 'maxmemory'.", "UNAVAILABLE", 1 },
        { "NOREPLICAS Not enough good replicas to write.", "UNAVAILABLE", 1 },
        { "TRYAGAIN Multiple keys request during rehashing of slot", "UNAVAILABLE", 1 },
        { "CLUSTERDOWN The cluster is down", "UNAVAILABLE", 1 },
        { "ERR Function not found", "UNAVAILABLE", 1 },
        { "MISCONF Errors writing to the AOF file: No space left on device", "UNAVAILABLE", 1 },
        { "LOADINGX not a known prefix", "INTERNAL", 0 },
        { "", "INTERNAL", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        redisReply reply = { .type = REDIS_REPLY_ERROR, .str = (char *)cases[i].err, .len = strlen(cases[i].err) };
        parsed_t p;
        parse(&reply, &p);
        assert_int_equal(p.rc, 0);
        if (strcmp(p.error.code, cases[i].code) != 0 || p.error.retryable != cases[i].retryable)
            fail_msg("'%s' gave %s retryable=%d", cases[i].err, p.error.code, p.error.retryable);
        assert_true(p.error.message_fr[0] != '\0');
        assert_null(strstr(p.error.message_fr, "poisoned")); /* no internals to the peer */
    }
}

static void test_reply_null_is_unavailable(void **state)
{
    (void)state;
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error error = TREMPLIN__ERROR__INIT;
    char buf[256];
    assert_int_equal(call_parse_reply(NULL, &ack, &error, buf, sizeof buf), 0);
    assert_string_equal(error.code, "UNAVAILABLE");
    assert_true(error.retryable);
}

static void test_reply_wrong_shape(void **state)
{
    (void)state;
    char buf[256];
    fake_reply_t r;
    redisReply integer = { .type = REDIS_REPLY_INTEGER, .integer = 1 };
    redisReply status = { .type = REDIS_REPLY_STATUS, .str = (char *)"OK", .len = 2 };
    const redisReply *shapes[] = {
        &integer,
        &status,
        FAKE(&r, NULL, "referral_id", "r-1"), /* tag is not a string */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        Tremplin__Ack ack = TREMPLIN__ACK__INIT;
        Tremplin__Error error = TREMPLIN__ERROR__INIT;
        assert_int_equal(call_parse_reply(shapes[i], &ack, &error, buf, sizeof buf), 0);
        assert_string_equal(error.code, "INTERNAL");
        assert_false(error.retryable);
        assert_string_equal(ack.referral_id, "");
    }
    fake_reply_t empty;
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error error = TREMPLIN__ERROR__INIT;
    assert_int_equal(call_parse_reply(fake_array(&empty, NULL, 0), &ack, &error, buf, sizeof buf), 0);
    assert_string_equal(error.code, "INTERNAL");
}

/* ----------------------------------------------------------- the builder */

static const char *item(const call_vec_t *v, int i, size_t *len)
{
    assert_true(i < v->n);
    return call_vec_at(v, i, len);
}

static void test_reset(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");
    call_step(&c, "submit_referral");
    call_key(&c, "x", "x");
    call_arg(&c, "y", "y");
    call_error(&c, "E", "f", "m", 1);

    call_reset(&c, "matcher", "75", "m2");
    assert_int_equal(c.kind, CALL_EMPTY);
    assert_string_equal(c.service, "matcher");
    assert_string_equal(c.territory, "75");
    assert_string_equal(c.msg_id, "m2");
    assert_string_equal(c.function, "");
    assert_false(c.step);
    assert_int_equal(c.key_names.len, 0);
    assert_int_equal(c.arg_names.len, 0);
    assert_int_equal(c.keys.n, 0);
    assert_int_equal(c.args.n, 0);
    assert_int_equal(c.out.n, 0);
    assert_int_equal(c.nout, 0);
    assert_string_equal(c.err_code, "");
    assert_false(c.err_retryable);
    assert_true(c.keys.arena.cap > 0); /* capacity kept for the next cycle */
    call_free(&c);
}

/* Each key is the service's own (tp_key), its name listed once, in order. */
static void test_named_keys(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");
    call_function(&c, "submit_referral");
    assert_int_equal(c.kind, CALL_REDIS);
    assert_false(c.step);
    assert_string_equal(c.function, "submit_referral");

    call_key(&c, "referral", "referral:%s", "abc");
    call_key(&c, "fig_total", "fig:total");
    size_t len;
    assert_string_equal(item(&c.keys, 0, &len), "tp:{42}:intake:referral:abc");
    assert_int_equal(len, strlen("tp:{42}:intake:referral:abc"));
    assert_string_equal(item(&c.keys, 1, &len), "tp:{42}:intake:fig:total");
    assert_string_equal((const char *)c.key_names.data, "referral fig_total");
    assert_int_equal(c.key_names.len, strlen("referral fig_total"));
    call_step(&c, "purge");
    assert_true(c.step);
    call_free(&c);
}

/* Each argument's name is listed once, in order; its value goes apart;
 * bytes stay bytes. */
static void test_named_args(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");
    call_arg(&c, "tag", "%d:%s", 12, "x");
    call_arg(&c, "empty", "%s", "");
    static const char bin[] = { 'a', '\0', 'b' };
    call_arg_bytes(&c, "bin", bin, sizeof bin);
    assert_string_equal((const char *)c.arg_names.data, "tag empty bin");
    assert_int_equal(c.args.n, 3);
    size_t len;
    assert_string_equal(item(&c.args, 0, &len), "12:x");
    assert_int_equal(len, 4);
    assert_string_equal(item(&c.args, 1, &len), "");
    assert_int_equal(len, 0);
    const char *b = item(&c.args, 2, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(b, bin, 3);
    call_free(&c);
}

/* A list is one argument, its items joined by spaces; words added later
 * extend the argument added last, whatever its length. */
static void test_list_args(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");
    char *days[] = { (char *)"mon-am", (char *)"thu-pm" };
    call_arg_list(&c, "availability", days, 2);
    call_arg_list(&c, "none", NULL, 0);
    call_arg_list(&c, "ids", NULL, 0);
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof id, "1764460800000-%d", i);
        call_arg_word(&c, id);
    }
    assert_int_equal(c.args.n, 3);
    assert_string_equal((const char *)c.arg_names.data, "availability none ids");
    assert_string_equal(item(&c.args, 0, NULL), "mon-am thu-pm");
    assert_string_equal(item(&c.args, 1, NULL), "");
    size_t len;
    const char *ids = item(&c.args, 2, &len);
    assert_int_equal(strlen(ids), len);
    assert_memory_equal(ids, "1764460800000-0 1764460800000-1 ", 32);
    assert_string_equal(ids + len - strlen(" 1764460800000-999"), " 1764460800000-999");
    call_free(&c);
}

/* Many items: the arena and the span table grow, earlier items survive. */
static void test_many_items(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");
    for (int i = 0; i < 500; i++)
        call_arg(&c, "n", "argument-%d", i);
    assert_int_equal(c.args.n, 500);
    assert_int_equal(c.arg_names.len, 500 * 2 - 1);
    for (int i = 0; i < 500; i++) {
        char want[32];
        snprintf(want, sizeof want, "argument-%d", i);
        assert_string_equal(item(&c.args, i, NULL), want);
    }
    call_free(&c);
}

/* A formatted key or argument longer than the first try's room is
 * formatted again whole, never cut. */
static void test_long_formatted_item(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");
    static char big[10000];
    memset(big, 'z', sizeof big - 1);
    call_key(&c, "big", "%s", big);
    call_arg(&c, "big", "<%s>", big);
    size_t len;
    const char *k = item(&c.keys, 0, &len);
    assert_int_equal(len, sizeof big - 1 + strlen("tp:{42}:intake:"));
    assert_int_equal(strlen(k), len);
    assert_memory_equal(k, "tp:{42}:intake:zzz", 18);
    const char *a = item(&c.args, 0, &len);
    assert_int_equal(len, sizeof big + 1);
    assert_int_equal(a[0], '<');
    assert_int_equal(a[len - 1], '>');
    call_free(&c);
}

/* -------------------------------------------------------- the wire layout */

/* A call and the fake Redis it is appended to. */
typedef struct {
    rds_t *r;
    call_t c;
} wire_t;

static int wire_setup(void **state)
{
    static wire_t w;
    fake_rds_reset();
    rds_conf_t rc = { .port = 1 };
    w = (wire_t){ rds_new(&rc, "test"), { 0 } };
    *state = &w;
    return 0;
}

static int wire_teardown(void **state)
{
    wire_t *w = *state;
    call_free(&w->c);
    rds_destroy(&w->r);
    return 0;
}

/* The argv of the one command appended. */
static const fake_cmd_t *appended(void)
{
    assert_int_equal(fake_rds_ncmds(), 1);
    return fake_rds_cmd(0);
}

#define ARGV_IS(cmd, i, s) assert_true(fake_cmd_arg_is(cmd, i, s))

/* A command: the bus prefix (mark, outbox; ttl, digest, nout, the outgoing
 * triples), then the key names in one argument, the argument names in
 * another, then the values — what bus.lua's command() reads. */
static void test_command_layout(void **state)
{
    wire_t *w = *state;
    call_t *c = &w->c;
    call_reset(c, "matcher", "42", "m1");
    c->digest = "d1";
    call_function(c, "assign");
    call_key(c, "assignment", "assignment:%s", "r1");
    call_key(c, "person", "person:%s", "p1");
    Tremplin__Event event = TREMPLIN__EVENT__INIT;
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_EVENT;
    env.event = &event;
    call_send(c, "scheduler", &env);
    call_arg(c, "kind", "%s", "initiation");
    call_arg(c, "level", "%d", 1);
    call_append(c, w->r, "matcher_v1", 3600);

    const fake_cmd_t *cmd = appended();
    assert_int_equal(cmd->argc, 3 + 4 + 3 + 3 + 2 + 2);
    ARGV_IS(cmd, 0, "FCALL");
    ARGV_IS(cmd, 1, "matcher_v1_assign");
    ARGV_IS(cmd, 2, "4");
    ARGV_IS(cmd, 3, "tp:{42}:matcher:seen:m1");
    ARGV_IS(cmd, 4, "tp:{42}:matcher:outbox");
    ARGV_IS(cmd, 5, "tp:{42}:matcher:assignment:r1");
    ARGV_IS(cmd, 6, "tp:{42}:matcher:person:p1");
    ARGV_IS(cmd, 7, "3600");
    ARGV_IS(cmd, 8, "d1");
    ARGV_IS(cmd, 9, "1");
    ARGV_IS(cmd, 10, "scheduler");
    ARGV_IS(cmd, 11, item(&c->out, 1, NULL));
    assert_int_equal(cmd->lens[12], c->out.items[2].len);
    ARGV_IS(cmd, 13, "assignment person");
    ARGV_IS(cmd, 14, "kind level");
    ARGV_IS(cmd, 15, "initiation");
    ARGV_IS(cmd, 16, "1");
    /* and as the test fakes read it back, by name */
    assert_string_equal(fake_cmd_key(cmd, "person"), "tp:{42}:matcher:person:p1");
    assert_string_equal(fake_cmd_arg(cmd, "level"), "1");
}

/* A CURVE peer's marks are its own: another key cannot replay its msg_ids. */
static void test_command_mark_of_a_peer(void **state)
{
    wire_t *w = *state;
    call_t *c = &w->c;
    call_reset(c, "intake", "42", "m1");
    c->peer = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    call_function(c, "submit_referral");
    call_append(c, w->r, "intake_v1", 60);
    char who[TP_ID_LEN + 1], mark[128];
    util_derive_id(c->peer, "peer", 0, who);
    snprintf(mark, sizeof mark, "tp:{42}:intake:seen:%.16s:m1", who);
    const fake_cmd_t *cmd = appended();
    ARGV_IS(cmd, 2, "2");
    ARGV_IS(cmd, 3, mark);
    ARGV_IS(cmd, 8, ""); /* no key of its own, no argument: no names */
    ARGV_IS(cmd, 9, "");
    assert_int_equal(cmd->argc, 10);
}

/* A step: no mark, no outbox, no prefix; its names first in ARGV. Many
 * arguments go beyond the stack's argv. */
static void test_step_layout(void **state)
{
    wire_t *w = *state;
    call_t *c = &w->c;
    call_reset(c, "scheduler", "42", "");
    call_step(c, "ensure_session");
    call_key(c, "session", "session:%s", "s1");
    for (int i = 0; i < 80; i++)
        call_arg(c, i % 2 ? "odd" : "even", "%d", i);
    call_append(c, w->r, "scheduler_v1", 3600);
    const fake_cmd_t *cmd = appended();
    assert_int_equal(cmd->argc, 3 + 1 + 2 + 80);
    ARGV_IS(cmd, 1, "scheduler_v1_ensure_session");
    ARGV_IS(cmd, 2, "1");
    ARGV_IS(cmd, 3, "tp:{42}:scheduler:session:s1");
    ARGV_IS(cmd, 4, "session");
    assert_memory_equal(cmd->argv[5], "even odd even odd ", 18);
    ARGV_IS(cmd, 6, "0");
    ARGV_IS(cmd, 85, "79");
    assert_string_equal(fake_cmd_key(cmd, "session"), "tp:{42}:scheduler:session:s1");
}

/* call_run: the step alone, its reply; NULL when Redis is down. */
static void test_run(void **state)
{
    wire_t *w = *state;
    call_t *c = &w->c;
    call_reset(c, "svc", "42", "");
    call_step(c, "lease");
    call_key(c, "lease", "lease:timers");
    call_arg(c, "holder", "%s", "a");
    fake_rds_script("svc_v1_lease", fake_reply_int(1));
    redisReply *reply = call_run(c, w->r, "svc_v1");
    assert_non_null(reply);
    assert_int_equal(reply->integer, 1);
    freeReplyObject(reply);
    assert_int_equal(fake_rds_batches(), 1);
    fake_rds_down(1);
    assert_null(call_run(c, w->r, "svc_v1"));
}

static void test_send_packs_envelope(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");

    Tremplin__Event event = TREMPLIN__EVENT__INIT;
    event.kind = (char *)"referral.accepted";
    event.subject_id = (char *)"r-123";
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_EVENT;
    env.event = &event;
    /* call_send stamps it: ids derived from the command's and the rank, so
     * that a step run again sends the very same messages */
    char id0[TP_ID_LEN + 1], id1[TP_ID_LEN + 1];
    util_derive_id("m1", "out", 0, id0);
    util_derive_id("m1", "out", 1, id1);
    assert_string_not_equal(id0, id1);
    c.producer = "intake-1";

    call_send(&c, "reporter", &env);
    call_send(&c, "matcher", &env);
    assert_string_equal(env.msg_id, ""); /* the caller's envelope is left alone */
    assert_int_equal(c.nout, 2);
    assert_int_equal(c.out.n, 6);
    size_t len;
    assert_string_equal(item(&c.out, 0, NULL), "reporter");
    assert_string_equal(item(&c.out, 1, NULL), id0);
    assert_string_equal(item(&c.out, 3, NULL), "matcher");
    assert_string_equal(item(&c.out, 4, NULL), id1);
    const char *bytes = item(&c.out, 5, &len);

    Tremplin__Envelope *back = NULL;
    assert_int_equal(wire_unpack((const uint8_t *)bytes, len, WIRE_MAX_DEFAULT, NULL, &back), WIRE_OK);
    assert_string_equal(back->msg_id, id1);
    assert_string_equal(back->producer, "intake-1");
    assert_string_equal(back->territory, "42");
    assert_string_equal(back->cause_id, "m1");
    assert_string_equal(back->type, "Event");
    assert_int_equal(back->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_EVENT);
    assert_string_equal(back->event->kind, "referral.accepted");
    assert_string_equal(back->event->subject_id, "r-123");
    wire_free(back, NULL);
    call_free(&c);
    /* from CURVE peers (two branches), one msg_id: their onward messages
     * get ids of their own (each has its own mark), never the same */
    call_t p1 = { 0 }, p2 = { 0 };
    call_reset(&p1, "intake", "42", "m1");
    call_reset(&p2, "intake", "42", "m1");
    p1.peer = "branch-key-one";
    p2.peer = "branch-key-two";
    p1.producer = p2.producer = "intake-1";
    call_send(&p1, "matcher", &env);
    call_send(&p2, "matcher", &env);
    assert_string_not_equal(item(&p1.out, 1, NULL), item(&p2.out, 1, NULL));
    assert_string_not_equal(item(&p1.out, 1, NULL), id0);
    call_free(&p1);
    call_free(&p2);
}

static void test_error_answers_now(void **state)
{
    (void)state;
    call_t c = { 0 };
    call_reset(&c, "intake", "42", "m1");
    call_error(&c, "INVALID_FIELD", "person.phone", "Numéro invalide.", 0);
    assert_int_equal(c.kind, CALL_ANSWER);
    assert_string_equal(c.err_code, "INVALID_FIELD");
    assert_string_equal(c.err_field, "person.phone");
    assert_string_equal(c.err_message, "Numéro invalide.");
    assert_false(c.err_retryable);

    call_error(&c, "UNAVAILABLE", NULL, NULL, 1);
    assert_string_equal(c.err_code, "UNAVAILABLE");
    assert_string_equal(c.err_field, "");
    assert_string_equal(c.err_message, "");
    assert_true(c.err_retryable);

    char code[100];
    memset(code, 'C', sizeof code - 1);
    code[sizeof code - 1] = '\0';
    call_error(&c, code, "", "", 0);
    assert_int_equal(strlen(c.err_code), sizeof c.err_code - 1);
    call_free(&c);
}

int main(void)
{
    static const unsigned char key[TP_ID_KEY_LEN] = { 1 }; /* call_send derives message ids */
    util_id_key_set(key);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_ok),
        cmocka_unit_test(test_reply_ok_every_field),
        cmocka_unit_test(test_reply_maps_every_ack_field_by_name),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_reply_ok_small_buffer),
        cmocka_unit_test(test_reply_err),
        cmocka_unit_test(test_reply_err_short),
        cmocka_unit_test(test_reply_redis_error),
        cmocka_unit_test(test_reply_null_is_unavailable),
        cmocka_unit_test(test_reply_wrong_shape),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_named_keys),
        cmocka_unit_test(test_named_args),
        cmocka_unit_test(test_list_args),
        cmocka_unit_test(test_many_items),
        cmocka_unit_test(test_long_formatted_item),
        cmocka_unit_test_setup_teardown(test_command_layout, wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_command_mark_of_a_peer, wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_step_layout, wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_run, wire_setup, wire_teardown),
        cmocka_unit_test(test_send_packs_envelope),
        cmocka_unit_test(test_error_answers_now),
    };
    return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
