/* The C <-> Redis function contract, on the real libraries: every function
 * receives its keys and arguments by name, and bus.lua checks them once, for
 * every function, as Redis checks a command's arity. A call with a name
 * missing, unknown or given twice, a value missing, or keys that do not
 * match their names is refused with an error that names the fault, before
 * the function writes anything; the services answer that INTERNAL, not
 * retryable (a bug: the sender's dead letters). The calls are made here as
 * the Redis admin, by hand, the way a wrong build would make them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "harness.h"

static h_env_t env;

#define MARK "tp:{42}:intake:seen:contract-1"
#define OUTBOX "tp:{42}:intake:outbox"
#define PERSON "tp:{42}:intake:person:0123456789abcdef0123456789abcdef"
#define FIG "tp:{42}:intake:fig:2026-11-30"
#define RETENTION "tp:{42}:intake:retention"
/* a command's bus prefix, nothing to send: ttl, digest, nout */
#define PREFIX "60", "digest-1", "0"

#define MAX_ARGS 24

typedef struct {
    const char *what;
    const char *argv[MAX_ARGS]; /* after FCALL; NULL ends it */
    const char *error;          /* the error's text, or NULL: the call is good */
} contract_case_t;

static const contract_case_t cases[] = {
    /* a command: intake's withdraw_consent (keys person, fig_day; purpose, now_ms, person_id) */
    { "well formed",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person fig_day", "purpose", "sms",
        "now_ms", "1", "person_id", "p" },
      NULL },
    { "keys named in another order",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, FIG, PERSON, PREFIX, "fig_day person", "person_id", "p",
        "now_ms", "1", "purpose", "sms" },
      NULL },
    { "argument missing",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person fig_day", "purpose", "sms",
        "now_ms", "1" },
      "withdraw_consent: missing argument \"person_id\"" },
    { "argument unknown",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person fig_day", "purpose", "sms",
        "now_ms", "1", "person_id", "p", "colour", "blue" },
      "withdraw_consent: unknown argument \"colour\"" },
    { "argument misspelt",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person fig_day", "purpose", "sms",
        "now", "1", "person_id", "p" },
      "withdraw_consent: unknown argument \"now\"" },
    { "argument twice",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person fig_day", "purpose", "sms",
        "now_ms", "1", "person_id", "p", "purpose", "survey" },
      "withdraw_consent: duplicate argument \"purpose\"" },
    { "argument without its value",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person fig_day", "purpose", "sms",
        "now_ms", "1", "person_id" },
      "withdraw_consent: no value for argument \"person_id\"" },
    { "key unknown",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person fig_jour", "purpose", "sms",
        "now_ms", "1", "person_id", "p" },
      "withdraw_consent: unknown key \"fig_jour\"" },
    { "key twice",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, PERSON, PREFIX, "person person", "purpose", "sms",
        "now_ms", "1", "person_id", "p" },
      "withdraw_consent: duplicate key \"person\"" },
    { "key missing",
      { "intake_v1_withdraw_consent", "3", MARK, OUTBOX, PERSON, PREFIX, "person", "purpose", "sms", "now_ms", "1",
        "person_id", "p" },
      "withdraw_consent: missing key \"fig_day\"" },
    { "keys and names that do not match",
      { "intake_v1_withdraw_consent", "4", MARK, OUTBOX, PERSON, FIG, PREFIX, "person", "purpose", "sms", "now_ms",
        "1", "person_id", "p" },
      "withdraw_consent: 1 key names for 2 keys" },
    { "a command called as a step",
      { "intake_v1_withdraw_consent", "2", PERSON, FIG, "person fig_day", "purpose", "sms", "now_ms", "1",
        "person_id", "p" },
      "withdraw_consent: not a command's call (no bus prefix)" },
    /* a step of the service: purge_contacts (key retention; now_ms, limit, day) */
    { "step well formed",
      { "intake_v1_purge_contacts", "1", RETENTION, "retention", "now_ms", "1", "limit", "10", "day", "2026-11-30" },
      NULL },
    { "step argument missing",
      { "intake_v1_purge_contacts", "1", RETENTION, "retention", "now_ms", "1", "day", "2026-11-30" },
      "purge_contacts: missing argument \"limit\"" },
    /* a step of the bus: the lease (key lease; holder, ttl_ms) */
    { "bus step argument unknown",
      { "intake_v1_lease", "1", "tp:{42}:intake:lease:x", "lease", "instance", "a", "ttl_ms", "1000" },
      "lease: unknown argument \"instance\"" },
};

/* The FCALL of c, as the admin. */
static redisReply *fcall(const contract_case_t *c)
{
    const char *argv[MAX_ARGS + 1] = { "FCALL" };
    int argc = 1;
    for (int i = 0; c->argv[i]; i++)
        argv[argc++] = c->argv[i];
    redisReply *ping = h_redis(&env, "PING"); /* connected */
    assert_non_null(ping);
    freeReplyObject(ping);
    return redisCommandArgv(env.admin, argc, argv, NULL);
}

/* Each case's reply: a good call runs (an answer of the function: here
 * UNKNOWN_PERSON, the retention empty), a bad one is refused with its named
 * error, which a service answers INTERNAL and not retryable. */
static void each_name_is_checked(void **state)
{
    (void)state;
    for (size_t i = 0; i < TP_ARRAY_LEN(cases); i++) {
        const contract_case_t *c = &cases[i];
        redisReply *r = fcall(c);
        assert_non_null(r);
        if (!c->error) {
            int refused = r->type == REDIS_REPLY_ERROR;
            freeReplyObject(r);
            if (refused)
                fail_msg("%s: refused", c->what);
            continue;
        }
        if (r->type != REDIS_REPLY_ERROR || !strstr(r->str, c->error)) {
            char got[300];
            snprintf(got, sizeof got, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "an answer");
            freeReplyObject(r);
            fail_msg("%s: wanted the error '%s', got %s", c->what, c->error, got);
        }
        Tremplin__Ack ack = TREMPLIN__ACK__INIT;
        Tremplin__Error err = TREMPLIN__ERROR__INIT;
        char buf[256];
        assert_int_equal(call_parse_reply(r, &ack, &err, buf, sizeof buf), 0);
        assert_string_equal(err.code, "INTERNAL");
        assert_false(err.retryable);
        freeReplyObject(r);
    }
}

/* A refused call wrote nothing: no mark kept (a replay would not find an
 * answer), no figure moved. The well-formed calls of the table wrote the
 * mark; each refused one is checked on a fresh mark. */
static void a_refused_call_writes_nothing(void **state)
{
    (void)state;
    static const char *const bad[] = { "intake_v1_withdraw_consent", "4", "tp:{42}:intake:seen:contract-2", OUTBOX,
                                       PERSON, FIG, PREFIX, "person fig_day", "purpose", "sms", "now_ms", "1", NULL };
    contract_case_t c = { "argument missing", { NULL }, "missing argument" };
    memcpy(c.argv, bad, sizeof bad);
    redisReply *r = fcall(&c);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:seen:contract-2"), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS " FIG), 0);
}

int main(void)
{
    h_test_filter();
    h_group_env(&env);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_name_is_checked),
        cmocka_unit_test(a_refused_call_writes_nothing),
    };
    return cmocka_run_group_tests_name("functions", tests, h_group_setup, h_group_teardown);
}
