/* Intake, driven as branch systems and staff would: the tremplin tool with
 * JSON, CURVE clients with branch keys, raw clients replaying messages, and
 * kill -9 right after an Ack. A real redis-server, real intake and matcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "intake/referral_json.h"

static h_env_t env;
static pid_t intake_pid, matcher_pid;
static const char *const purge_fast[] = { "TREMPLIN_INTAKE_PURGE_MS=200", NULL };
static char intake_ep[64], branch_ep[64];

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    if (h_setup(&env) != 0)
        return -1;
    char out[1024];
    if (h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0
        || h_cli(&env, out, sizeof out, "branch add montreynaud --name 'Montreynaud' --territory 42") != 0
        /* a branch of a territory no longer served: registered while 69 was */
        || h_conf_set(&env, "bus", "territories", "42,69") != 0
        || h_cli(&env, out, sizeof out, "branch add lyon-3 --name 'Lyon 3e' --territory 69") != 0
        || h_conf_set(&env, "bus", "territories", "42") != 0
        || h_cli(&env, out, sizeof out, "branch add doomed --name 'À révoquer' --territory 42") != 0) {
        fprintf(stderr, "branch add failed: %s\n", out);
        return -1;
    }
    h_service_endpoint(&env, "intake", intake_ep, sizeof intake_ep);
    h_endpoint(&env, 6, branch_ep, sizeof branch_ep);
    matcher_pid = h_start_ready(&env, "matcher", NULL, NULL, 30000);
    intake_pid = h_start_ready(&env, "intake", NULL, purge_fast, 30000);
    return matcher_pid > 0 && intake_pid > 0 ? 0 : -1;
}

/* The clients a test opened: a failing test leaves through a longjmp, and
 * the ZeroMQ context would wait for their sockets forever at teardown. */
static client_t *open_clients[16];

static client_t *tracked(client_t *c)
{
    for (size_t i = 0; i < TP_ARRAY_LEN(open_clients); i++)
        if (!open_clients[i]) {
            open_clients[i] = c;
            break;
        }
    return c;
}

static void drop(client_t **c)
{
    for (size_t i = 0; i < TP_ARRAY_LEN(open_clients); i++)
        if (open_clients[i] == *c)
            open_clients[i] = NULL;
    client_destroy(c);
}

static int teardown(void **state)
{
    for (size_t i = 0; i < TP_ARRAY_LEN(open_clients); i++)
        client_destroy(&open_clients[i]);
    return h_group_teardown(state);
}

/* ------------------------------------------------------------- helpers */

/* A valid referral as JSON, with a fresh external_ref and consent an hour old. */
static json_object *valid_json(const char *branch, const char *ref)
{
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    json_object_object_add(o, "branch", json_object_new_string(branch));
    json_object_object_add(o, "external_ref", json_object_new_string(ref));
    json_object *consent = json_object_object_get(o, "consent");
    json_object_object_del(consent, "given_at");
    json_object_object_add(consent, "given_at_ms", json_object_new_int64(clock_real_ms() - 3600 * 1000));
    return o;
}

/* Sets a dotted path ("person.phone") to v (NULL deletes it). */
static void set_path(json_object *o, const char *path, json_object *v)
{
    char buf[128];
    util_strlcpy(buf, path, sizeof buf);
    char *dot;
    char *p = buf;
    while ((dot = strchr(p, '.'))) {
        *dot = '\0';
        o = json_object_object_get(o, p);
        p = dot + 1;
    }
    if (v)
        json_object_object_add(o, p, v);
    else
        json_object_object_del(o, p);
}

typedef struct {
    int exit;
    char status[32], code[48], field[64], referral_id[40], person_id[40];
    int duplicate;
} answer_t;

/* tremplin referral submit FILE, its JSON answer parsed. */
static answer_t submit_json(json_object *o)
{
    char path[400], out[4096], cmd[512];
    snprintf(path, sizeof path, "%s/ref-%d.json", env.dir, rand());
    json_object_to_file(path, o);
    snprintf(cmd, sizeof cmd, "referral submit %s --json", path);
    answer_t a = { 0 };
    a.exit = h_cli(&env, out, sizeof out, cmd);
    unlink(path);
    json_object *r = json_tokener_parse(out);
    json_object *err = json_object_object_get(r, "error");
    util_strlcpy(a.status, json_object_get_string(json_object_object_get(r, "status")) ?: "", sizeof a.status);
    util_strlcpy(a.code, json_object_get_string(json_object_object_get(err, "code")) ?: "", sizeof a.code);
    util_strlcpy(a.field, json_object_get_string(json_object_object_get(err, "field")) ?: "", sizeof a.field);
    util_strlcpy(a.referral_id, json_object_get_string(json_object_object_get(r, "referral_id")) ?: "",
                 sizeof a.referral_id);
    util_strlcpy(a.person_id, json_object_get_string(json_object_object_get(r, "person_id")) ?: "",
                 sizeof a.person_id);
    a.duplicate = json_object_get_boolean(json_object_object_get(r, "duplicate"));
    json_object_put(r);
    return a;
}

/* A client that speaks for `branch` with its CURVE key. */
static client_t *branch_client(const char *branch, int64_t timeout_ms, int tries)
{
    char path[400];
    snprintf(path, sizeof path, "%s/curve/branch-secrets/%s.key_secret", env.dir, branch);
    zcert_t *cert = zcert_load(path);
    assert_non_null(cert);
    client_t *c = tracked(client_new(env.zctx, branch_ep, branch));
    client_set_retry(c, timeout_ms, tries);
    assert_int_equal(client_set_curve(c, zcert_meta(cert, "server-key"), zcert_public_txt(cert),
                                      zcert_secret_txt(cert)), 0);
    zcert_destroy(&cert);
    char err[256];
    assert_int_equal(client_connect(c, err, sizeof err), 0);
    return c;
}

/* The envelope of a referral JSON, to send with a client. */
static Tremplin__Envelope *envelope_of(json_object *o, referral_json_t *h, const char *territory)
{
    static Tremplin__Envelope e;
    char err[256];
    assert_int_equal(referral_from_json(o, h, err, sizeof err), 0);
    tremplin__envelope__init(&e);
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    e.submit_referral = &h->referral;
    e.territory = (char *)territory;
    return &e;
}

/* --------------------------------------------------------------- tests */

static int assigned(h_env_t *h, void *arg)
{
    (void)h;
    return h_redis_int(&env, "EXISTS tp:{42}:matcher:assignment:%s", (const char *)arg) == 1;
}

static void accepted_persisted_apart_and_assigned(void **state)
{
    (void)state;
    json_object *o = valid_json("wilson", "ACC-1");
    answer_t a = submit_json(o);
    json_object_put(o);
    assert_int_equal(a.exit, 0);
    assert_string_equal(a.status, "accepted");
    assert_int_equal(strlen(a.referral_id), 32);
    assert_int_equal(strlen(a.person_id), 32);
    assert_false(a.duplicate);

    /* the pseudonymous records carry no personal data ... */
    redisReply *r = h_redis(&env, "HGETALL tp:{42}:intake:referral:%s", a.referral_id);
    assert_non_null(r);
    assert_true(r->elements > 0);
    for (size_t i = 0; i < r->elements; i++) {
        assert_null(strstr(r->element[i]->str, "Josiane"));
        assert_null(strstr(r->element[i]->str, "612345678"));
    }
    freeReplyObject(r);
    /* ... which lives apart, normalised, with a retention date */
    r = h_redis(&env, "HMGET tp:{42}:intake:contact:%s given_name phone retain_until_ms", a.person_id);
    assert_string_equal(r->element[0]->str, "Josiane");
    assert_string_equal(r->element[1]->str, "+33612345678");
    assert_true(atoll(r->element[2]->str) > clock_real_ms() + 700LL * 86400000);
    freeReplyObject(r);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:intake:person:%s consent:sms", a.person_id) == 0, 1);
    r = h_redis(&env, "HGET tp:{42}:intake:person:%s consent:training", a.person_id);
    assert_string_equal(r->str, "given");
    freeReplyObject(r);
    /* and it reaches the matcher, which assesses it */
    assert_int_equal(h_wait_for(&env, assigned, a.referral_id, 30000), 0);
    char out[2048], cmd[128];
    snprintf(cmd, sizeof cmd, "referral explain %s", a.referral_id);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "Initiation au numérique"));
    assert_non_null(strstr(out, "Pourquoi : Score"));
}

typedef struct {
    const char *path;
    const char *json; /* the new value as JSON, NULL to delete the field */
    const char *code;
    const char *field;
} rule_case_t;

/* One rejection per validation rule and per error code, through the tool. */
static void each_rule_is_rejected_with_its_code(void **state)
{
    (void)state;
    static const rule_case_t cases[] = {
        { "branch", NULL, "MISSING_FIELD", "branch" },
        { "branch", "\"no such branch\"", "INVALID_FIELD", "branch" },
        { "branch", "\"nowhere\"", "UNKNOWN_BRANCH", "branch" },
        { "branch", "\"lyon-3\"", "UNKNOWN_TERRITORY", "territory" }, /* 69 is not served here */
        { "external_ref", NULL, "MISSING_FIELD", "external_ref" },
        { "external_ref", "\"has space\"", "INVALID_FIELD", "external_ref" },
        { "mediator.id", NULL, "MISSING_FIELD", "mediator.id" },
        { "mediator.partner", NULL, "MISSING_FIELD", "mediator.partner" },
        { "consent.given", "false", "CONSENT_REQUIRED", "consent.given" },
        { "consent.purposes", "[\"sms\"]", "CONSENT_REQUIRED", "consent.purposes" },
        { "consent.purposes", "[\"training\",\"marketing\"]", "UNKNOWN_VALUE", "consent.purposes[1]" },
        { "consent.purposes", "[\"training\",\"training\"]", "DUPLICATE_VALUE", "consent.purposes[1]" },
        { "consent.text_version", NULL, "MISSING_FIELD", "consent.text_version" },
        { "consent.given_at_ms", "0", "MISSING_FIELD", "consent.given_at" },
        { "consent.given_at_ms", "4102444800000", "INVALID_FIELD", "consent.given_at" },
        { "person.given_name", NULL, "MISSING_FIELD", "person.given_name" },
        { "person.given_name", "\"1234\"", "INVALID_FIELD", "person.given_name" },
        { "person.phone", "\"12 34\"", "INVALID_FIELD", "person.phone" },
        { "person.phone", "\"04 77 12 34 56\"", "INVALID_FIELD", "person.phone" },
        { "person.phone", NULL, "MISSING_FIELD", "person.phone" },
        { "person.person_id", "\"0123456789abcdef0123456789abcdef\"", "UNKNOWN_PERSON", "person.person_id" },
        { "person.person_id", "\"short\"", "INVALID_FIELD", "person.person_id" },
        { "person.address", "{\"line1\":\"1 rue X\",\"postcode\":\"4200\",\"city\":\"Saint-Étienne\"}", "INVALID_FIELD",
          "person.address.postcode" },
        { "person.birth_year", "1850", "INVALID_FIELD", "person.birth_year" },
        { "person.availability", "[]", "MISSING_FIELD", "person.availability" },
        { "person.availability", "[\"sun-am\"]", "UNKNOWN_VALUE", "person.availability[0]" },
        { "person.availability", "[\"mon-am\",\"mon-am\"]", "DUPLICATE_VALUE", "person.availability[1]" },
        { "person.accessibility", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]", "TOO_MANY",
          "person.accessibility" },
        { "needs", "[\"astrology\"]", "UNKNOWN_VALUE", "needs[0]" },
        { "answers", "{\"bad id!\": 1}", "INVALID_FIELD", "answers[0]" },
        { "answers", "{\"q_is_thirty_three_characters_long\": 1}", "INVALID_FIELD", "answers[0]" },
        { "person.birth_year", "\"1950\"", "INVALID_JSON", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "RULE-%zu", i);
        json_object *o = valid_json("wilson", ref);
        set_path(o, cases[i].path, cases[i].json ? json_tokener_parse(cases[i].json) : NULL);
        answer_t a = submit_json(o);
        json_object_put(o);
        printf("tp case %-24s -> %s %s\n", cases[i].path, a.code, a.field);
        assert_int_equal(a.exit, 2);
        assert_string_equal(a.code, cases[i].code);
        assert_string_equal(a.field, cases[i].field);
        /* nothing half-written */
        assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:%s", ref), 0);
    }
    /* TERRITORY_MISMATCH: a message for territory 42 from a branch of 69 */
    json_object *lyon = valid_json("lyon-3", "TERR-1");
    referral_json_t hl;
    Tremplin__Envelope *reply = h_call(&env, intake_ep, envelope_of(lyon, &hl, "42"));
    assert_string_equal(h_code(reply), "TERRITORY_MISMATCH");
    assert_string_equal(reply->error->field, "territory");
    wire_free(reply, NULL);
    json_object_put(lyon);

    /* CONFLICT: the same reference again with other content */
    json_object *o = valid_json("wilson", "CONF-1");
    assert_int_equal(submit_json(o).exit, 0);
    set_path(o, "person.given_name", json_object_new_string("Marcel"));
    answer_t a = submit_json(o);
    json_object_put(o);
    assert_string_equal(a.code, "CONFLICT");
    assert_string_equal(a.field, "external_ref");

    /* a half-day of the timetable's sessions (the Saturday afternoon
     * one-off) may be declared: that session can be reached */
    o = valid_json("wilson", "SATPM-1");
    set_path(o, "person.availability", json_tokener_parse("[\"sat-pm\"]"));
    a = submit_json(o);
    json_object_put(o);
    assert_int_equal(a.exit, 0);
}

/* The referral o, packed with a fresh msg_id (written into id), with the '#'
 * of the string s turned into a NUL on the wire when s is given. */
static void pack_raw(json_object *o, const char *s, char id[TP_ID_LEN + 1], wire_buf_t *b)
{
    referral_json_t h;
    Tremplin__Envelope *e = envelope_of(o, &h, "42");
    wire_stamp(e, id, NULL, "raw-client", "42");
    b->len = 0;
    wire_pack(e, b);
    if (!s)
        return;
    size_t n = strlen(s), at = 0;
    while (at + n <= b->len && memcmp(b->data + at, s, n) != 0)
        at++;
    assert_true(at + n <= b->len);
    b->data[at + (size_t)(strchr(s, '#') - s)] = 0;
}

/* What an independent client found: a string with an embedded NUL was read
 * cut short ("X\0other" answered as a duplicate of "X", a control character
 * hidden behind the NUL never checked); a frame over the size cap was
 * answered without its cause_id, so a client with several requests in
 * flight could not tell which one was refused. */
static void wire_faults_are_answered_by_field_and_request(void **state)
{
    (void)state;
    json_object *o = valid_json("wilson", "NULREF");
    answer_t first = submit_json(o);
    assert_int_equal(first.exit, 0);
    json_object_put(o);

    static const struct {
        const char *path, *value, *nul, *field;
    } cases[] = {
        { "external_ref", "NULREF#other", "NULREF#other", "external_ref" },
        { "person.given_name", "Jo#\001hidden", "Jo#\001hidden", "person.given_name" },
    };
    wire_buf_t b = { 0 };
    char id[TP_ID_LEN + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o = valid_json("wilson", "NUL-2");
        set_path(o, cases[i].path, json_object_new_string(cases[i].value));
        pack_raw(o, cases[i].nul, id, &b);
        json_object_put(o);
        Tremplin__Envelope *r = h_raw_call(&env, intake_ep, b.data, b.len);
        printf("tp NUL in %s -> %s %s\n", cases[i].path, h_code(r), r && r->error ? r->error->field : "");
        assert_string_equal(h_code(r), "INVALID_FIELD");
        assert_string_equal(r->error->field, cases[i].field);
        assert_string_equal(r->cause_id, id);
        wire_free(r, NULL);
    }
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:NUL-2"), 0);

    /* over bus.max_msg (64 KiB): refused, and the tool takes that refusal as
     * final: refused (2), not "unreachable" (1) after three tries */
    static char big[70001];
    memset(big, 'a', sizeof big - 1);
    o = valid_json("wilson", "BIG-1");
    set_path(o, "person.given_name", json_object_new_string(big));
    answer_t a = submit_json(o);
    assert_int_equal(a.exit, 2);
    assert_string_equal(a.code, "MESSAGE_TOO_LARGE");
    /* answered with the request's ids */
    pack_raw(o, NULL, id, &b);
    json_object_put(o);
    Tremplin__Envelope *r = h_raw_call(&env, intake_ep, b.data, b.len);
    assert_string_equal(h_code(r), "MESSAGE_TOO_LARGE");
    assert_string_equal(r->cause_id, id);
    assert_string_equal(r->territory, "42");
    assert_false(r->error->retryable);
    wire_free(r, NULL);
    wire_buf_free(&b);
}

/* o sent to the loopback endpoint under msg_id id (a new one when NULL):
 * the answer, to wire_free. */
static Tremplin__Envelope *call_with_id(json_object *o, const char *id)
{
    referral_json_t h;
    Tremplin__Envelope *e = envelope_of(o, &h, "42");
    e->msg_id = (char *)id;
    return h_call(&env, intake_ep, e);
}

/* How many entries were ever added to a stream (XINFO STREAM entries-added):
 * unlike XLEN, the relay deleting what it delivered does not hide one. */
static long long stream_added(const char *key)
{
    redisReply *r = h_redis(&env, "XINFO STREAM %s", key);
    long long n = -1;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (!strcmp(r->element[i]->str, "entries-added"))
            n = r->element[i + 1]->integer;
    if (r)
        freeReplyObject(r);
    return n;
}

/* The same message replayed (a lost Ack) and the same referral resent under
 * a new message id: the first answer, nothing new. The same message id with
 * another referral (a branch reusing its ids): CONFLICT, never the first
 * referral's answer, and the other referral is not taken for it. */
static void idempotent_after_a_lost_answer(void **state)
{
    (void)state;
    json_object *o = valid_json("wilson", "IDEM-1");
    char id[TP_ID_LEN + 1];
    util_random_id(id);
    Tremplin__Envelope *first = call_with_id(o, id);
    assert_string_equal(h_code(first), "ACK");
    long long refs = h_redis_int(&env, "HGET tp:{42}:intake:fig:total referrals");
    long long people = h_redis_int(&env, "HGET tp:{42}:intake:fig:total people");
    long long sent = stream_added("tp:{42}:intake:outbox");
    assert_true(sent > 0);

    Tremplin__Envelope *again = call_with_id(o, id); /* same msg_id */
    assert_string_equal(h_code(again), "ACK");
    assert_true(again->ack->duplicate);
    assert_string_equal(again->ack->referral_id, first->ack->referral_id);
    assert_string_equal(again->ack->person_id, first->ack->person_id);

    json_object *other = valid_json("wilson", "IDEM-2");
    Tremplin__Envelope *reused = call_with_id(other, id); /* the same msg_id, another referral */
    assert_string_equal(h_code(reused), "CONFLICT");
    assert_string_equal(reused->error->field, "msg_id");
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:IDEM-2"), 0);

    Tremplin__Envelope *resent = call_with_id(o, NULL); /* the branch resends it as a new message */
    assert_string_equal(h_code(resent), "ACK");
    assert_true(resent->ack->duplicate);
    assert_string_equal(resent->ack->referral_id, first->ack->referral_id);

    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:intake:fig:total referrals"), refs);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:intake:fig:total people"), people);
    assert_int_equal(stream_added("tp:{42}:intake:outbox"), sent); /* nothing more sent */
    wire_free(first, NULL);
    wire_free(again, NULL);
    wire_free(reused, NULL);
    wire_free(resent, NULL);
    json_object_put(o);
    json_object_put(other);
}

/* The referral record kept its answers cut at 1 023 bytes: at the bounds the
 * checks allow (32 answers, 32-character question ids) it keeps them all, and
 * past them the referral is refused with the field named. */
static void answers_are_recorded_whole_within_their_bounds(void **state)
{
    (void)state;
    for (int extra = 0; extra < 2; extra++) {
        json_object *o = valid_json("wilson", extra ? "ANS-33" : "ANS-32"), *ans = json_object_new_object();
        char want[2048] = "";
        size_t w = 0;
        for (int i = 0; i < 32 + extra; i++) {
            char q[40];
            snprintf(q, sizeof q, "q%02d_abcdefghijklmnopqrstuvwxyzab", i); /* 32 characters */
            json_object_object_add(ans, q, json_object_new_int(i % 4));
            w += (size_t)snprintf(want + w, sizeof want - w, "%s%s=%d", i ? " " : "", q, i % 4);
        }
        set_path(o, "answers", ans);
        answer_t a = submit_json(o);
        json_object_put(o);
        if (extra) {
            assert_string_equal(a.code, "TOO_MANY");
            assert_string_equal(a.field, "answers");
            continue;
        }
        assert_int_equal(a.exit, 0);
        redisReply *r = h_redis(&env, "HGET tp:{42}:intake:referral:%s answers", a.referral_id);
        assert_non_null(r);
        assert_true(strlen(want) > 1023);
        assert_string_equal(r->str, want);
        freeReplyObject(r);
    }
}

static void without_consent_counted_not_stored(void **state)
{
    (void)state;
    char day[11];
    clock_set_timezone("Europe/Paris");
    clock_local_day(clock_real_ms(), day);
    long long before = h_redis_int(&env, "HGET tp:{42}:intake:fig:%s no_consent:montreynaud", day);
    for (int i = 0; i < 2; i++) { /* resent: counted once */
        json_object *o = valid_json("montreynaud", "NOC-1");
        set_path(o, "consent.given", json_object_new_boolean(0));
        answer_t a = submit_json(o);
        json_object_put(o);
        assert_string_equal(a.code, "CONSENT_REQUIRED");
    }
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:intake:fig:%s no_consent:montreynaud", day), before + 1);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:montreynaud:NOC-1"), 0);
}

static int matcher_count_is(h_env_t *h, void *arg)
{
    (void)h;
    return h_redis_int(&env, "HGET tp:{42}:matcher:fig:total accompanied") == *(long long *)arg
           && h_redis_int(&env, "XLEN tp:{42}:intake:outbox") == 0;
}

/* kill -9 intake right after its Ack: the referral still reaches the
 * matcher, once — counted by the matcher at every delivery its idempotency
 * mark lets through ("accompanied" is set once per person whatever the
 * deliveries, so it could not see a second one). */
static void kill9_after_ack_loses_nothing(void **state)
{
    (void)state;
    long long accompanied = h_redis_int(&env, "HGET tp:{42}:matcher:fig:total accompanied");
    h_signal(matcher_pid, SIGSTOP); /* the relay cannot deliver before the kill */
    json_object *o = valid_json("wilson", "K9-1");
    referral_json_t h;
    Tremplin__Envelope *reply = h_call(&env, intake_ep, envelope_of(o, &h, "42"));
    assert_string_equal(h_code(reply), "ACK");
    char rid[40];
    util_strlcpy(rid, reply->ack->referral_id, sizeof rid);
    wire_free(reply, NULL);
    h_signal(intake_pid, SIGKILL);
    /* the message as the relay sends it (and sends again after a timeout) */
    redisReply *x = h_redis(&env, "XRANGE tp:{42}:intake:outbox - +");
    assert_non_null(x);
    assert_int_equal(x->elements, 1);
    const redisReply *f = x->element[0]->element[1];
    wire_buf_t sent = { 0 };
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (!strcmp(f->element[i]->str, "msg")) {
            wire_buf_reserve(&sent, f->element[i + 1]->len);
            memcpy(sent.data, f->element[i + 1]->str, f->element[i + 1]->len);
            sent.len = f->element[i + 1]->len;
        }
    freeReplyObject(x);
    intake_pid = h_start(&env, "intake", "intake-2", purge_fast);
    h_signal(matcher_pid, SIGCONT);
    long long want = accompanied + 1;
    assert_int_equal(h_wait_for(&env, matcher_count_is, &want, 60000), 0);
    assert_int_equal(h_wait_for(&env, assigned, rid, 1000), 0);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:matcher:assignment:%s received", rid), 1);
    /* delivered once more, as a resend whose ack was lost: the first answer,
     * and still one delivery that counts */
    char mep[64];
    h_service_endpoint(&env, "matcher", mep, sizeof mep);
    Tremplin__Envelope *again = h_raw_call(&env, mep, sent.data, sent.len);
    assert_string_equal(h_code(again), "ACK");
    assert_true(again->ack->duplicate);
    wire_free(again, NULL);
    wire_buf_free(&sent);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:matcher:assignment:%s received", rid), 1);
    assert_int_equal(h_wait_ready(&env, intake_ep, 30000), 0);
    json_object_put(o);
}

/* Backpressure: with the matcher stopped, intake's outbox grows; past
 * bus.outbox_max (20 here) intake answers BUSY, retryable, and stores
 * nothing for it. Once the matcher is back and the outbox drains, the same
 * messages (same msg_id) are accepted: every referral stored and assessed
 * once, none lost, none twice. */
typedef struct {
    char msg_id[TP_ID_LEN + 1], code[32];
} bp_sent_t;
#define BP_N 300
static bp_sent_t bp[BP_N];
static int bp_busy, bp_acked, bp_other;

static void bp_answer(void *arg, uint64_t tag, const Tremplin__Envelope *r)
{
    (void)arg;
    util_strlcpy(bp[tag].code, h_code(r), sizeof bp[tag].code);
    if (!strcmp(bp[tag].code, "ACK"))
        bp_acked++;
    else if (!strcmp(bp[tag].code, "BUSY") && r->error->retryable)
        bp_busy++;
    else
        bp_other++;
}

/* Sends every referral not acked yet, 16 in flight, under its own msg_id. */
static void bp_round(client_t *c)
{
    for (int k = 0; k < BP_N; k++) {
        if (!strcmp(bp[k].code, "ACK"))
            continue;
        char ref[32];
        snprintf(ref, sizeof ref, "BP-%03d", k);
        json_object *o = valid_json("wilson", ref);
        referral_json_t h;
        Tremplin__Envelope *e = envelope_of(o, &h, "42");
        e->msg_id = bp[k].msg_id;
        while (client_send(c, e, (uint64_t)k) != 0)
            client_poll(c, 50, bp_answer, NULL);
        json_object_put(o);
    }
    while (client_inflight(c) > 0)
        client_poll(c, 100, bp_answer, NULL);
}

/* intake has seen its outbox drain: as many "busy_over" as "busy" */
static int intake_not_busy(h_env_t *h, void *arg)
{
    (void)arg;
    return h_log_count(h, "intake-bounded", "event=busy_over") >= h_log_count(h, "intake-bounded", "event=busy ");
}

static void a_full_outbox_answers_busy_until_it_drains(void **state)
{
    (void)state;
    long long accompanied = h_redis_int(&env, "HGET tp:{42}:matcher:fig:total accompanied");
    h_signal(intake_pid, SIGKILL);
    const char *bounded[] = { "TREMPLIN_BUS_OUTBOX_MAX=20", "TREMPLIN_INTAKE_PURGE_MS=200", NULL };
    intake_pid = h_start_ready(&env, "intake", "intake-bounded", bounded, 30000);
    assert_true(intake_pid > 0);
    h_signal(matcher_pid, SIGSTOP);
    for (int k = 0; k < BP_N; k++)
        util_random_id(bp[k].msg_id);
    client_t *c = tracked(h_client(&env, intake_ep, 2000, 5));
    client_set_window(c, 16);
    bp_round(c);
    long long held = h_redis_int(&env, "XLEN tp:{42}:intake:outbox");
    print_message("tp backpressure: %d acked, %d BUSY, %d other; outbox %lld with the matcher stopped\n", bp_acked,
                  bp_busy, bp_other, held);
    assert_int_equal(bp_other, 0);
    assert_true(bp_busy > 0);
    assert_int_equal(bp_acked + bp_busy, BP_N);
    /* the bound held: what was acked is what the outbox holds, far below
     * the 300 sent (a reading every 200 ms lets a few through past it) */
    assert_int_equal(held, bp_acked);
    assert_true(held < BP_N / 2);
    /* the refused ones left nothing behind */
    assert_true(h_log_has(&env, "intake-bounded", "event=busy "));
    h_signal(matcher_pid, SIGCONT);
    /* as a branch system does: again once intake serves (here: once its log
     * says so), the refused ones only */
    for (int round = 0; round < 100 && bp_acked < BP_N; round++) {
        assert_int_equal(h_wait_for(&env, intake_not_busy, NULL, 30000), 0);
        bp_busy = 0;
        bp_round(c);
    }
    assert_int_equal(bp_acked, BP_N);
    long long want = accompanied + BP_N;
    assert_int_equal(h_wait_for(&env, matcher_count_is, &want, 60000), 0);
    for (int k = 0; k < BP_N; k++)
        assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:BP-%03d", k), 1);
    drop(&c);
    /* the next tests run on the shipped bound */
    h_signal(intake_pid, SIGKILL);
    intake_pid = h_start_ready(&env, "intake", "intake-3", purge_fast, 30000);
    assert_true(intake_pid > 0);
}

static void curve_unknown_key_is_refused(void **state)
{
    (void)state;
    zcert_t *stranger = zcert_new();
    char server_key[64];
    char path[400];
    snprintf(path, sizeof path, "%s/curve/server.key", env.dir);
    zcert_t *server = zcert_load(path);
    util_strlcpy(server_key, zcert_public_txt(server), sizeof server_key);
    client_t *c = tracked(client_new(env.zctx, branch_ep, "stranger"));
    client_set_retry(c, 1000, 2);
    client_set_curve(c, server_key, zcert_public_txt(stranger), zcert_secret_txt(stranger));
    char err[128];
    client_connect(c, err, sizeof err);
    json_object *o = valid_json("wilson", "STRANGER-1");
    referral_json_t h;
    Tremplin__Envelope *reply = NULL;
    assert_int_equal(client_call(c, envelope_of(o, &h, "42"), &reply), -1);
    assert_null(reply);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:STRANGER-1"), 0);
    drop(&c);
    zcert_destroy(&stranger);
    zcert_destroy(&server);
    json_object_put(o);

    /* the branch's own key is served */
    client_t *w = branch_client("wilson", 3000, 3);
    o = valid_json("wilson", "CURVE-1");
    assert_int_equal(client_call(w, envelope_of(o, &h, "42"), &reply), 0);
    assert_string_equal(h_code(reply), "ACK");
    wire_free(reply, NULL);
    json_object_put(o);
    /* a branch key may send referrals, nothing else */
    Tremplin__Envelope wd = TREMPLIN__ENVELOPE__INIT;
    Tremplin__WithdrawConsent w_c = TREMPLIN__WITHDRAW_CONSENT__INIT;
    w_c.person_id = "0123456789abcdef0123456789abcdef";
    w_c.purpose = "sms";
    wd.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_WITHDRAW_CONSENT;
    wd.withdraw_consent = &w_c;
    wd.territory = "42";
    assert_int_equal(client_call(w, &wd, &reply), 0);
    assert_string_equal(h_code(reply), "UNSUPPORTED");
    wire_free(reply, NULL);
    /* BRANCH_MISMATCH: wilson's key speaking for montreynaud */
    o = valid_json("montreynaud", "MISMATCH-1");
    assert_int_equal(client_call(w, envelope_of(o, &h, "42"), &reply), 0);
    assert_string_equal(h_code(reply), "BRANCH_MISMATCH");
    wire_free(reply, NULL);
    json_object_put(o);
    drop(&w);
}

/* One referral of `branch` through client c: the answer's code. */
static const char *send_as(client_t *c, const char *branch, const char *ref)
{
    static char code[48];
    json_object *o = valid_json(branch, ref);
    referral_json_t hj;
    Tremplin__Envelope *reply = NULL;
    client_call(c, envelope_of(o, &hj, "42"), &reply);
    util_strlcpy(code, h_code(reply), sizeof code);
    wire_free(reply, NULL);
    json_object_put(o);
    return code;
}

/* Referrals of `branch` through c, each with a new ref, until one is
 * answered `code` (its ref is kept, to check nothing of it was stored). */
typedef struct {
    client_t *c;
    const char *branch, *code;
    int attempt;
    char ref[32];
} answered_t;

static int answered(h_env_t *h, void *arg)
{
    (void)h;
    answered_t *r = arg;
    snprintf(r->ref, sizeof r->ref, "LATE-%d", ++r->attempt);
    return strcmp(send_as(r->c, r->branch, r->ref), r->code) == 0;
}

/* A client of a key kept aside (the branch's copy of its secret). */
static client_t *key_client(zcert_t *key, int tries)
{
    client_t *c = tracked(client_new(env.zctx, branch_ep, "kept"));
    client_set_retry(c, 1000, tries);
    assert_int_equal(client_set_curve(c, zcert_meta(key, "server-key"), zcert_public_txt(key), zcert_secret_txt(key)),
                     0);
    char err[128];
    client_connect(c, err, sizeof err);
    return c;
}

/* Revoking one branch never disturbs the others (it used to unbind and
 * rebind the branch endpoint, which could fail and leave it closed for
 * every branch while `ping intake` said ok): the revoked key's open
 * connection is answered BRANCH_REVOKED (its key is known from the
 * connection), its new connections are refused at the handshake, another
 * branch keeps its answers on its open connection and on new ones, ping
 * checks the branch endpoint, and the branch stays listed, revoked. */
static void revoking_a_branch_disturbs_no_other(void **state)
{
    (void)state;
    client_t *doomed = branch_client("doomed", 3000, 3), *wilson = branch_client("wilson", 3000, 3);
    char path[400];
    snprintf(path, sizeof path, "%s/curve/branch-secrets/doomed.key_secret", env.dir);
    zcert_t *key = zcert_load(path); /* kept: revoking deletes the file, not the branch's copy */
    assert_non_null(key);
    assert_string_equal(send_as(doomed, "doomed", "BEFORE-REVOKE"), "ACK");
    assert_string_equal(send_as(wilson, "wilson", "OTHER-BEFORE-REVOKE"), "ACK");
    char out[2048];
    assert_int_equal(h_cli(&env, out, sizeof out, "branch revoke doomed"), 0);

    /* BRANCH_REVOKED on the connection it still has (once intake has seen
     * the registry change: within watch_ms), and nothing of it stored */
    answered_t r = { doomed, "doomed", "BRANCH_REVOKED", 0, "" };
    assert_int_equal(h_wait_for(&env, answered, &r, 20000), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:doomed:%s", r.ref), 0);
    assert_string_equal(send_as(doomed, "doomed", "AFTER-REVOKE-LAST"), "BRANCH_REVOKED");
    drop(&doomed);
    /* a new connection with its key: refused at the handshake, no answer */
    client_t *again = key_client(key, 1);
    assert_string_equal(send_as(again, "doomed", "NEW-CONN"), "NO_ANSWER");
    drop(&again);
    zcert_destroy(&key);

    /* the other branch: its open connection and a new one still answered */
    assert_string_equal(send_as(wilson, "wilson", "OTHER-AFTER-REVOKE-1"), "ACK");
    drop(&wilson);
    wilson = branch_client("wilson", 3000, 3);
    assert_string_equal(send_as(wilson, "wilson", "OTHER-AFTER-REVOKE-2"), "ACK");
    drop(&wilson);
    /* ping checks the branch endpoint too */
    assert_int_equal(h_cli(&env, out, sizeof out, "ping intake"), 0);
    assert_non_null(strstr(out, "branch_endpoint=ok"));
    /* the branch stays in the registry, revoked, with its date */
    assert_int_equal(h_cli(&env, out, sizeof out, "branch list"), 0);
    char *line = strstr(out, "doomed");
    assert_non_null(line);
    assert_non_null(strstr(line, "révoquée le "));
    assert_int_equal(h_cli(&env, out, sizeof out, "branch revoke doomed"), 2); /* already */
}

/* A branch gets a new key without a moment refused: after `branch rotate`
 * its old key is still served, on the connection it has and on new ones,
 * next to the new key; `branch retire-old` ends that window (the old key's
 * open connection answered KEY_EXPIRED, nothing stored; its handshakes
 * refused) while the new key goes on; revoking the branch ends every
 * window at once, and a revoked branch has no key left to rotate. */
static void a_branch_key_rotates_without_a_refused_moment(void **state)
{
    (void)state;
    char out[4096], path[400];
    assert_int_equal(h_cli(&env, out, sizeof out, "branch add rotor --name Rotor --territory 42"), 0);
    snprintf(path, sizeof path, "%s/curve/branch-secrets/rotor.key_secret", env.dir);
    zcert_t *old = zcert_load(path);
    assert_non_null(old);
    client_t *open_old = branch_client("rotor", 3000, 3);
    assert_string_equal(send_as(open_old, "rotor", "BEFORE-ROTATE"), "ACK");

    assert_int_equal(h_cli(&env, out, sizeof out, "branch rotate rotor --days 7"), 0);
    assert_non_null(strstr(out, "acceptée jusqu'au"));
    zcert_t *fresh = zcert_load(path);
    assert_non_null(fresh);
    assert_string_not_equal(zcert_public_txt(fresh), zcert_public_txt(old));
    /* during the window: the old key on its connection and on a new one,
     * and the new key */
    assert_string_equal(send_as(open_old, "rotor", "OLD-KEY-OPEN"), "ACK");
    client_t *new_old = key_client(old, 3);
    assert_string_equal(send_as(new_old, "rotor", "OLD-KEY-NEW-CONN"), "ACK");
    drop(&new_old);
    client_t *c_new = branch_client("rotor", 3000, 3);
    assert_string_equal(send_as(c_new, "rotor", "NEW-KEY-1"), "ACK");
    assert_int_equal(h_cli(&env, out, sizeof out, "branch list"), 0);
    assert_non_null(strstr(out, "ancienne clé, acceptée jusqu'au"));

    /* the window ended: the old key's open connection is refused (once
     * intake has seen the registry change), nothing of it stored; its new
     * handshakes get no answer; the new key goes on */
    assert_int_equal(h_cli(&env, out, sizeof out, "branch retire-old rotor"), 0);
    answered_t r = { open_old, "rotor", "KEY_EXPIRED", 0, "" };
    assert_int_equal(h_wait_for(&env, answered, &r, 20000), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:rotor:%s", r.ref), 0);
    drop(&open_old);
    new_old = key_client(old, 1);
    assert_string_equal(send_as(new_old, "rotor", "OLD-KEY-AFTER"), "NO_ANSWER");
    drop(&new_old);
    assert_string_equal(send_as(c_new, "rotor", "NEW-KEY-2"), "ACK");
    assert_int_equal(h_cli(&env, out, sizeof out, "branch retire-old rotor"), 0);
    assert_non_null(strstr(out, "aucune ancienne clé"));

    /* revoking ends a window still open */
    assert_int_equal(h_cli(&env, out, sizeof out, "branch rotate rotor"), 0);
    zcert_t *second = fresh;
    client_t *c_second = key_client(second, 3);
    assert_string_equal(send_as(c_second, "rotor", "SECOND-KEY-IN-WINDOW"), "ACK");
    drop(&c_second);
    assert_int_equal(h_cli(&env, out, sizeof out, "branch revoke rotor"), 0);
    c_second = key_client(second, 1);
    assert_string_equal(send_as(c_second, "rotor", "SECOND-KEY-REVOKED"), "NO_ANSWER");
    drop(&c_second);
    assert_int_equal(h_cli(&env, out, sizeof out, "branch rotate rotor"), 2);
    drop(&c_new);
    zcert_destroy(&second);
    zcert_destroy(&old);
}

/* A branch used at once after `branch add` (the handshake used to let its
 * key in while the handlers' registry, reloaded every second, did not know
 * it yet: UNKNOWN_BRANCH, not retryable): the handshake and the handlers
 * read the same registry. Staff on the loopback endpoint likewise. */
static void a_branch_is_served_as_soon_as_it_is_added(void **state)
{
    (void)state;
    char out[2048], cmd[256];
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "fresh-%d", i);
        snprintf(cmd, sizeof cmd, "branch add %s --name 'Nouvelle %d' --territory 42", id, i);
        assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
        client_t *c = branch_client(id, 3000, 3);
        const char *code = send_as(c, id, "FIRST");
        printf("tp fresh branch %s over CURVE -> %s\n", id, code);
        assert_string_equal(code, "ACK");
        drop(&c);
    }
    assert_int_equal(h_cli(&env, out, sizeof out, "branch add fresh-staff --name 'Par le guichet' --territory 42"),
                     0);
    json_object *o = valid_json("fresh-staff", "FIRST");
    answer_t a = submit_json(o);
    json_object_put(o);
    printf("tp fresh branch over loopback -> %s %s\n", a.status, a.code);
    assert_int_equal(a.exit, 0);
}

/* Writes n referrals as JSON lines into dir/<name>.jsonl (path), line
 * `bad` with a phone that is not one (0: none). */
static void write_import(const char *name, int n, int bad, char path[400])
{
    snprintf(path, 400, "%s/%s.jsonl", env.dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 1; i <= n; i++) {
        char ref[48];
        snprintf(ref, sizeof ref, "%s-%05d", name, i);
        json_object *o = valid_json(i % 2 ? "wilson" : "montreynaud", ref);
        if (i == bad)
            set_path(o, "person.phone", json_object_new_string("not a phone"));
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    }
    fclose(f);
}

/* 10 000 referrals with one bad line: counted, reported, safe to re-run. */
static void import_reports_bad_lines_and_reruns_safely(void **state)
{
    (void)state;
    char path[400];
    write_import("import", 10000, 4321, path);
    char out[4096], cmd[600], rejects[500];
    snprintf(cmd, sizeof cmd, "referral import %s", path);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    printf("tp first run: %s", strstr(out, "10000 lignes") ?: out);
    assert_non_null(strstr(out, "10000 lignes — 9999 acceptées, 0 déjà reçue, 1 refusée, 0 sans réponse"));
    snprintf(rejects, sizeof rejects, "%s.rejected", path);
    FILE *f = fopen(rejects, "r");
    assert_non_null(f);
    char line[8192] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "\"_motif\":\"ligne 4321 : "));
    assert_non_null(strstr(line, "[INVALID_FIELD person.phone]"));
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    printf("tp second run: %s", strstr(out, "10000 lignes") ?: out);
    assert_non_null(strstr(out, "10000 lignes — 0 acceptée, 9999 déjà reçues, 1 refusée, 0 sans réponse"));

    /* CSV, the form spreadsheets export */
    snprintf(path, sizeof path, "%s/import.csv", env.dir);
    f = fopen(path, "w");
    fprintf(f, "branch,external_ref,mediator_id,partner,given_name,phone,availability,consent_given,consent_at,"
               "consent_purposes,consent_version,needs,answers\n");
    for (int i = 1; i <= 5; i++) {
        char at[32];
        time_t t = (time_t)(clock_real_ms() / 1000 - 3600);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(f, "wilson,CSV-%d,med-1,pimms,\"Jean, dit Jeannot\",%s,mon-am thu-pm,oui,%s,training sms,2026-09,email,"
                   "email=1 mouse_touch=2\n",
                i, i == 3 ? "0000" : "0611223344", at);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "referral import %s", path);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "5 lignes — 4 acceptées, 0 déjà reçue, 1 refusée, 0 sans réponse"));
}

/* An import while intake is gone used to wait each line's tries in turn
 * (10 000 lines: 40 minutes, seen as a hang): every line has a deadline,
 * the lines left unanswered are reported unreachable (not rejected), the
 * import ends with 1, and running it again once intake is back takes them
 * all, once. */
static void import_ends_when_intake_stops(void **state)
{
    (void)state;
    char path[400], bin[400], out[4096], cmd[600];
    write_import("stopped", 3000, 0, path);
    snprintf(bin, sizeof bin, "%s/bin/tremplin", env.build);
    char *argv[] = { bin, "-c", env.conf, "referral", "import", path, NULL };
    h_signal(intake_pid, SIGSTOP); /* intake stops answering: nothing of the import is answered */
    pid_t imp = h_spawn_cmd(&env, "import-stopped", argv);
    h_signal(intake_pid, SIGKILL);
    int status = 0;
    /* a deadline for the condition, far above one line's (5 tries of 3 s) */
    assert_int_equal(h_wait_exit(imp, 120000, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    snprintf(cmd, sizeof cmd, "%s/import-stopped.log", env.dir);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    printf("tp intake stopped: %s", strstr(out, "3000 lignes —") ?: out);
    assert_non_null(strstr(out, "3000 lignes — 0 acceptée, 0 déjà reçue, 0 refusée, 3000 sans réponse"));

    intake_pid = h_start(&env, "intake", "intake-3", purge_fast);
    assert_int_equal(h_wait_ready(&env, intake_ep, 30000), 0);
    snprintf(cmd, sizeof cmd, "referral import %s", path);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "3000 lignes — 3000 acceptées, 0 déjà reçue, 0 refusée, 0 sans réponse"));
}

/* Ids are derived with the deployment's secret (secrets/ids.key, mode 600,
 * written by setup.sh): a service will not start without it, and a step run
 * again by another process (here: the step's records lost, as after a
 * failover, then the same message sent to a new intake) derives the same
 * referral and person ids. */
static void ids_are_derived_with_the_deployments_key(void **state)
{
    (void)state;
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/secrets/ids.key", env.dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    const char *const nokey[] = { "TREMPLIN_BUS_ID_KEY_FILE=/nonexistent/ids.key", NULL };
    pid_t p = h_start(&env, "intake", "intake-nokey", nokey);
    int status = 0;
    assert_int_equal(h_wait_exit(p, 30000, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);

    json_object *o = valid_json("wilson", "KEYED-1");
    char id[TP_ID_LEN + 1];
    util_random_id(id);
    Tremplin__Envelope *first = call_with_id(o, id);
    assert_string_equal(h_code(first), "ACK");
    char rid[40], pid[40];
    util_strlcpy(rid, first->ack->referral_id, sizeof rid);
    util_strlcpy(pid, first->ack->person_id, sizeof pid);
    wire_free(first, NULL);
    redisReply *r = h_redis(&env, "DEL tp:{42}:intake:seen:%s tp:{42}:intake:ref:wilson:KEYED-1 tp:{42}:intake:referral:%s "
                                  "tp:{42}:intake:person:%s tp:{42}:intake:contact:%s",
                            id, rid, pid, pid);
    assert_non_null(r);
    assert_int_equal(r->integer, 5);
    freeReplyObject(r);
    h_signal(intake_pid, SIGKILL);
    intake_pid = h_start(&env, "intake", "intake-4", purge_fast);
    assert_int_equal(h_wait_ready(&env, intake_ep, 30000), 0);
    Tremplin__Envelope *again = call_with_id(o, id);
    assert_string_equal(h_code(again), "ACK");
    assert_false(again->ack->duplicate); /* run again, not replayed */
    assert_string_equal(again->ack->referral_id, rid);
    assert_string_equal(again->ack->person_id, pid);
    wire_free(again, NULL);
    json_object_put(o);
}

static void withdraw_consent_is_recorded(void **state)
{
    (void)state;
    json_object *o = valid_json("wilson", "WD-1");
    answer_t a = submit_json(o);
    json_object_put(o);
    assert_int_equal(a.exit, 0);
    char out[1024], cmd[128];
    snprintf(cmd, sizeof cmd, "consent withdraw %s sms", a.person_id);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    redisReply *r = h_redis(&env, "HGET tp:{42}:intake:person:%s consent:sms", a.person_id);
    assert_string_equal(r->str, "withdrawn");
    freeReplyObject(r);
    assert_int_equal(h_cli(&env, out, sizeof out, "consent withdraw 0123456789abcdef0123456789abcdef sms"), 2);
    assert_non_null(strstr(out, "UNKNOWN_PERSON"));
    snprintf(cmd, sizeof cmd, "consent withdraw %s marketing", a.person_id);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 2);
    assert_non_null(strstr(out, "finalité inconnue : marketing"));
}

static int on_worklist(const char *person_id)
{
    return h_redis_int(&env, "ZSCORE tp:{42}:intake:worklist no_contact|%s", person_id) > 0;
}

/* The person pid referred again under ref, with or without a phone (the
 * other contact fields as valid_json has them). */
static answer_t refer_again(const char *ref, const char *pid, int with_phone)
{
    json_object *o = valid_json("wilson", ref);
    set_path(o, "person.person_id", json_object_new_string(pid));
    if (!with_phone)
        set_path(o, "person.phone", NULL);
    answer_t b = submit_json(o);
    json_object_put(o);
    assert_int_equal(b.exit, 0);
    return b;
}

/* A person known before whose contact data was purged, referred again with
 * neither a phone nor an address: the mediator's worklist says so, until a
 * referral brings a way to reach them. */
static void a_person_with_no_contact_stays_on_the_worklist_until_one_comes(void **state)
{
    (void)state;
    json_object *o = valid_json("wilson", "NC-1");
    answer_t a = submit_json(o);
    json_object_put(o);
    assert_int_equal(a.exit, 0);
    assert_false(on_worklist(a.person_id));
    /* referred again without a phone: the one on record still reaches them */
    refer_again("NC-1b", a.person_id, 0);
    assert_false(on_worklist(a.person_id));
    /* the retention purge (intake's timer step, here for every contact) */
    redisReply *r = h_redis(&env, "FCALL intake_v1_purge_contacts 1 tp:{42}:intake:retention retention %s %lld 100000 "
                            "2099-01-01", "now_ms limit day", (long long)clock_real_ms() + 800LL * 86400000);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:contact:%s", a.person_id), 0);

    const char *refs[] = { "NC-2", "NC-3" };
    for (int i = 0; i < 2; i++) { /* without a phone, then with one */
        answer_t b = refer_again(refs[i], a.person_id, i == 1);
        assert_string_equal(b.person_id, a.person_id);
        assert_int_equal(on_worklist(a.person_id), i == 0);
    }
}

static int contact_gone(h_env_t *h, void *arg)
{
    (void)h;
    return h_redis_int(&env, "EXISTS tp:{42}:intake:contact:%s", (const char *)arg) == 0;
}

/* Personal data past its retention date (730 days after the last
 * referral) is deleted; the pseudonymous records stay, saying when. */
static void expired_contacts_are_purged(void **state)
{
    (void)state;
    json_object *o = valid_json("wilson", "RET-1");
    answer_t a = submit_json(o);
    json_object_put(o);
    assert_int_equal(a.exit, 0);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:contact:%s", a.person_id), 1);
    char epoch[32], start[32];
    snprintf(epoch, sizeof epoch, "%lld", (long long)(clock_real_ms() + 731LL * 86400000));
    snprintf(start, sizeof start, "%lld", (long long)clock_real_ms());
    assert_int_equal(h_conf_set(&env, "clock", "epoch_ms", epoch), 0);
    assert_int_equal(h_conf_set(&env, "clock", "start_ms", start), 0);
    h_signal(intake_pid, SIGHUP);
    assert_int_equal(h_wait_for(&env, contact_gone, a.person_id, 20000), 0);
    assert_true(h_redis_int(&env, "HGET tp:{42}:intake:person:%s contact_purged_ms", a.person_id) > 0);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:referral:%s", a.referral_id), 1);
    assert_int_equal(h_redis_int(&env, "ZSCORE tp:{42}:intake:retention %s", a.person_id), 0);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_persisted_apart_and_assigned),
        cmocka_unit_test(each_rule_is_rejected_with_its_code),
        cmocka_unit_test(wire_faults_are_answered_by_field_and_request),
        cmocka_unit_test(idempotent_after_a_lost_answer),
        cmocka_unit_test(answers_are_recorded_whole_within_their_bounds),
        cmocka_unit_test(without_consent_counted_not_stored),
        cmocka_unit_test(kill9_after_ack_loses_nothing),
        cmocka_unit_test(curve_unknown_key_is_refused),
        cmocka_unit_test(a_branch_is_served_as_soon_as_it_is_added),
        cmocka_unit_test(revoking_a_branch_disturbs_no_other),
        cmocka_unit_test(a_branch_key_rotates_without_a_refused_moment),
        cmocka_unit_test(import_reports_bad_lines_and_reruns_safely),
        cmocka_unit_test(import_ends_when_intake_stops),
        cmocka_unit_test(ids_are_derived_with_the_deployments_key),
        cmocka_unit_test(withdraw_consent_is_recorded),
        cmocka_unit_test(a_full_outbox_answers_busy_until_it_drains),
        cmocka_unit_test(a_person_with_no_contact_stays_on_the_worklist_until_one_comes), /* purges every contact */
        cmocka_unit_test(expired_contacts_are_purged), /* last: it moves the clock */
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("intake", tests, setup, teardown);
}
