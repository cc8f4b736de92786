/* The C <-> Redis function contract, on the real libraries: every function
 * receives its keys and arguments by name, and bus.lua checks them once, for
 * every function, as Redis checks a command's arity. A call with a name
 * missing, unknown or given twice, a value missing, or keys that do not
 * match their names is refused with an error that names the fault, before
 * the function writes anything; the services answer that INTERNAL, not
 * retryable (a bug: the sender's dead letters). A layout of names seen good
 * is remembered, never the values' count; and a function reading a name its
 * schema does not have fails too. The calls are made here as the Redis
 * admin, by hand, the way a wrong build would make them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "harness.h"
#include "rds.h"

static h_env_t env;

#define MARK "tp:{42}:intake:seen:contract-1"
#define OUTBOX "tp:{42}:intake:outbox"
#define PERSON "tp:{42}:intake:person:0123456789abcdef0123456789abcdef"
#define FIG "tp:{42}:intake:fig:2026-11-30"
#define RETENTION "tp:{42}:intake:retention"

/* One FCALL: a command's carries the bus prefix (its mark and outbox; ttl,
 * digest, nothing to send), a step's does not; then the key names, the
 * argument names and the values. */
typedef struct {
    const char *what;
    const char *function;
    int command;
    const char *keys[3]; /* NULL ends them */
    const char *key_names, *arg_names;
    const char *values[6];
    const char *error; /* the error's text, or NULL: the call is good */
} contract_case_t;

#define WITHDRAW "intake_v1_withdraw_consent" /* keys person, fig_day; purpose, now_ms, person_id */
#define PURGE "intake_v1_purge_contacts"      /* key retention; now_ms, limit, day */
#define LEASE "intake_v1_lease"               /* key lease; holder, ttl_ms */

static const contract_case_t cases[] = {
    { "well formed", WITHDRAW, 1, { PERSON, FIG }, "person fig_day", "purpose now_ms person_id", { "sms", "1", "p" },
      NULL },
    { "names in another order", WITHDRAW, 1, { FIG, PERSON }, "fig_day person", "person_id now_ms purpose",
      { "p", "1", "sms" }, NULL },
    { "argument missing", WITHDRAW, 1, { PERSON, FIG }, "person fig_day", "purpose now_ms", { "sms", "1" },
      "withdraw_consent: missing argument \"person_id\"" },
    { "argument unknown", WITHDRAW, 1, { PERSON, FIG }, "person fig_day", "purpose now_ms person_id colour",
      { "sms", "1", "p", "blue" }, "withdraw_consent: unknown argument \"colour\"" },
    { "argument misspelt", WITHDRAW, 1, { PERSON, FIG }, "person fig_day", "purpose now person_id", { "sms", "1", "p" },
      "withdraw_consent: unknown argument \"now\"" },
    { "argument twice", WITHDRAW, 1, { PERSON, FIG }, "person fig_day", "purpose now_ms person_id purpose",
      { "sms", "1", "p", "survey" }, "withdraw_consent: duplicate argument \"purpose\"" },
    { "a value missing", WITHDRAW, 1, { PERSON, FIG }, "person fig_day", "purpose now_ms person_id", { "sms", "1" },
      "withdraw_consent: 3 argument names for 2 values" },
    { "a value too many", WITHDRAW, 1, { PERSON, FIG }, "person fig_day", "purpose now_ms person_id",
      { "sms", "1", "p", "x" }, "withdraw_consent: 3 argument names for 4 values" },
    { "key unknown", WITHDRAW, 1, { PERSON, FIG }, "person fig_jour", "purpose now_ms person_id", { "sms", "1", "p" },
      "withdraw_consent: unknown key \"fig_jour\"" },
    { "key twice", WITHDRAW, 1, { PERSON, PERSON }, "person person", "purpose now_ms person_id", { "sms", "1", "p" },
      "withdraw_consent: duplicate key \"person\"" },
    { "key missing", WITHDRAW, 1, { PERSON }, "person", "purpose now_ms person_id", { "sms", "1", "p" },
      "withdraw_consent: missing key \"fig_day\"" },
    { "a key more than its names", WITHDRAW, 1, { PERSON, FIG, FIG }, "person fig_day", "purpose now_ms person_id",
      { "sms", "1", "p" }, "withdraw_consent: 2 key names for 3 keys" },
    { "a command called as a step", WITHDRAW, 0, { PERSON, FIG }, "person fig_day", "purpose now_ms person_id",
      { "sms", "1", "p" }, "withdraw_consent: not a command's call (no bus prefix)" },
    { "step well formed", PURGE, 0, { RETENTION }, "retention", "now_ms limit day", { "1", "10", "2026-11-30" },
      NULL },
    { "step argument missing", PURGE, 0, { RETENTION }, "retention", "now_ms day", { "1", "2026-11-30" },
      "purge_contacts: missing argument \"limit\"" },
    { "bus step argument unknown", LEASE, 0, { "tp:{42}:intake:lease:x" }, "lease", "instance ttl_ms",
      { "a", "1000" }, "lease: unknown argument \"instance\"" },
};

/* The FCALL of c, as the admin, with its command's mark. */
static redisReply *fcall(const contract_case_t *c, const char *mark)
{
    const char *argv[32] = { "FCALL", c->function };
    char numkeys[8];
    int argc = 3, nkeys = 0;
    if (c->command) {
        argv[argc++] = mark;
        argv[argc++] = OUTBOX;
    }
    for (; nkeys < 3 && c->keys[nkeys]; nkeys++)
        argv[argc++] = c->keys[nkeys];
    snprintf(numkeys, sizeof numkeys, "%d", nkeys + (c->command ? 2 : 0));
    argv[2] = numkeys;
    if (c->command) {
        argv[argc++] = "60";       /* mark lifetime */
        argv[argc++] = "digest-1"; /* what the command asks */
        argv[argc++] = "0";        /* nothing to send */
    }
    argv[argc++] = c->key_names;
    argv[argc++] = c->arg_names;
    for (int i = 0; i < 6 && c->values[i]; i++)
        argv[argc++] = c->values[i];
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
        redisReply *r = fcall(c, MARK);
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

/* The names of a layout already seen good are checked again when they come
 * with other values: a call is never let through on an earlier one's
 * account. */
static void a_known_layout_is_still_counted(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        redisReply *r = fcall(&cases[0], MARK);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        freeReplyObject(r);
        r = fcall(&cases[6], MARK); /* the same names, a value missing */
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        freeReplyObject(r);
    }
}

/* A refused call wrote nothing: no mark kept (a replay would not find an
 * answer), no figure moved. */
static void a_refused_call_writes_nothing(void **state)
{
    (void)state;
    redisReply *r = fcall(&cases[2], "tp:{42}:intake:seen:contract-2"); /* an argument missing */
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:seen:contract-2"), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS " FIG), 0);
}

/* Inside a function, reading a name its schema does not have is an error
 * too (a typo is never a silent nil), and an optional argument not sent
 * reads nil: a test library on bus.lua (the file itself, as the build
 * embeds it) with a function of each kind. */
static const char *const typo_lib = "\n"
    "command('typo', {keys = {'seen'}, args = {'purpose'}}, function(k, a)\n"
    "  return {'ok', 'status', a.purpse}\n"
    "end)\n"
    "command('optional', {keys = {'seen'}, args = {'purpose'}, optional = {'note'}}, function(k, a)\n"
    "  return {'ok', 'status', a.note or 'none', 'person_id', k.seen}\n"
    "end)\n";

/* Appends the file at path to code (its length n so far, size its room);
 * returns the new length. */
static size_t append_file(char *code, size_t n, size_t size, const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    n += fread(code + n, 1, size - 1 - n, f);
    assert_true(feof(f)); /* all of it fitted */
    fclose(f);
    code[n] = '\0';
    return n;
}

/* Loads bus.lua then the code of the file at path (or none) then extra as
 * the library named name, as the build and the benchmark load theirs. */
static void load_on_bus(const char *path, const char *extra, const char *name)
{
    static char code[131072];
    size_t n = append_file(code, 0, sizeof code, "common/bus.lua");
    if (path)
        n = append_file(code, n, sizeof code, path);
    assert_true(n + strlen(extra) < sizeof code);
    strcat(code, extra);
    char *src = rds_library_source(code, name);
    redisReply *r = redisCommand(env.admin, "FUNCTION LOAD REPLACE %s", src);
    free(src);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING)
        fail_msg("%s: not loaded: %s", name, r->type == REDIS_REPLY_ERROR ? r->str : "?");
    freeReplyObject(r);
}

static void a_function_reads_only_its_names(void **state)
{
    (void)state;
    load_on_bus(NULL, typo_lib, "contract_v1");
    redisReply *r;
    const contract_case_t typo = { "typo", "contract_v1_typo", 1, { "tp:{42}:contract:x" }, "seen", "purpose",
                                   { "sms" }, NULL };
    r = fcall(&typo, "tp:{42}:contract:seen:1");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "typo: no argument \"purpse\""));
    freeReplyObject(r);
    const contract_case_t optional = { "optional", "contract_v1_optional", 1, { "tp:{42}:contract:x" }, "seen",
                                       "purpose", { "sms" }, NULL };
    r = fcall(&optional, "tp:{42}:contract:seen:2");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[2]->str, "none");
    freeReplyObject(r);
}

/* make bench's contract floor (tests/bench/floor.lua) is what it says:
 * each step keeps its mark and answers a replay as the first time, sends
 * its message through the outbox, writes its record; the last takes a seat
 * only under the capacity. (The benchmark's figure is worth what this is.) */
#define FLOOR "tp:{9}:floor:"

static redisReply *floor_call(const char *function, const char *mark, int nkeys, const char *const *keys,
                              const char *nout, const char *key_names, const char *arg_names,
                              const char *const *values)
{
    const char *argv[48] = { "FCALL", function };
    char numkeys[8];
    int argc = 3;
    snprintf(numkeys, sizeof numkeys, "%d", nkeys + 2);
    argv[2] = numkeys;
    argv[argc++] = mark;
    argv[argc++] = FLOOR "outbox";
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    argv[argc++] = "60";
    argv[argc++] = "digest-1";
    argv[argc++] = nout;
    if (strcmp(nout, "1") == 0) {
        argv[argc++] = "matcher";
        argv[argc++] = "msg-1";
        argv[argc++] = "bytes";
    }
    argv[argc++] = key_names;
    argv[argc++] = arg_names;
    for (int i = 0; values[i]; i++)
        argv[argc++] = values[i];
    return redisCommandArgv(env.admin, argc, argv, NULL);
}

/* r is a floor step's answer whose last word is status; r is freed. */
static void floor_answered(redisReply *r, const char *status)
{
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[r->elements - 1]->str, status);
    freeReplyObject(r);
}

static void the_benchmark_floor_does_the_contracts_work(void **state)
{
    (void)state;
    load_on_bus("tests/bench/floor.lua", "", "floor_v1");
    const char *rec[] = { FLOOR "referral:1" };
    const char *sub[] = { "r-1", "p-1", "b", "e", "m", "p", "n", "a", "av", "v", "1", "2", NULL };
    const char *sub_names = "referral_id person_id branch external_ref mediator partner needs answers "
                            "availability consent_version now_ms retain_until_ms";
    for (int round = 0; round < 2; round++) { /* the second: a replay */
        redisReply *r = floor_call("floor_v1_submit", FLOOR "seen:1", 1, rec, "1", "record", sub_names, sub);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_string_equal(r->element[0]->str, "ok");
        assert_int_equal(r->elements, round ? 7u : 5u); /* a replay: duplicate 1 */
        freeReplyObject(r);
        assert_int_equal(h_redis_int(&env, "EXISTS " FLOOR "seen:1"), 1);
        assert_int_equal(h_redis_int(&env, "XLEN " FLOOR "outbox"), 1);
        assert_int_equal(h_redis_int(&env, "HLEN " FLOOR "referral:1"), 12);
    }
    const char *arec[] = { FLOOR "assignment:1" };
    const char *asg[] = { "r-1", "p-1", "initiation", "1", "4", "assigned", "Niveau 1", "c q", "b", "3", NULL };
    floor_answered(floor_call("floor_v1_assign", FLOOR "seen:4", 1, arec, "1", "record",
                              "referral_id person_id kind level score outcome reason rules branch now_ms", asg),
                   "assigned");
    assert_int_equal(h_redis_int(&env, "EXISTS " FLOOR "seen:4"), 1);
    assert_int_equal(h_redis_int(&env, "XLEN " FLOOR "outbox"), 2);
    assert_int_equal(h_redis_int(&env, "HLEN " FLOOR "assignment:1"), 10);
    /* a session of one seat: booked, then waitlisted, the count unmoved */
    const char *book_names = "person_id kind session_id assignment_id now_ms capacity";
    const char *book[] = { "p-1", "initiation", "s-1", "a-1", "1", "1", NULL };
    const char *keys1[] = { FLOOR "session:1", FLOOR "booking:1" };
    const char *keys2[] = { FLOOR "session:1", FLOOR "booking:2" };
    floor_answered(floor_call("floor_v1_book", FLOOR "seen:2", 2, keys1, "0", "session record", book_names, book),
                   "booked");
    assert_int_equal(h_redis_int(&env, "EXISTS " FLOOR "seen:2"), 1);
    assert_int_equal(h_redis_int(&env, "HLEN " FLOOR "booking:1"), 6);
    floor_answered(floor_call("floor_v1_book", FLOOR "seen:3", 2, keys2, "0", "session record", book_names, book),
                   "waitlisted");
    assert_int_equal(h_redis_int(&env, "HGET " FLOOR "session:1 taken"), 1);
    assert_int_equal(h_redis_int(&env, "EXISTS " FLOOR "booking:2"), 0);
    assert_int_equal(h_redis_int(&env, "XLEN " FLOOR "outbox"), 2); /* the last step sends nothing */
}

int main(void)
{
    h_test_filter();
    h_group_env(&env);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_name_is_checked),
        cmocka_unit_test(a_known_layout_is_still_counted),
        cmocka_unit_test(a_refused_call_writes_nothing),
        cmocka_unit_test(a_function_reads_only_its_names),
        cmocka_unit_test(the_benchmark_floor_does_the_contracts_work),
    };
    return cmocka_run_group_tests_name("functions", tests, h_group_setup, h_group_teardown);
}
