/* Who may send commands to the services (common/access.h): every service's
 * command endpoint lets in only the keys of the bus registry (ZAP), and each
 * key only the commands of its role. A process with no key, or with a key
 * nobody registered, or a revoked one, gets no answer at all (the handshake
 * fails) and nothing is written; an operator's key sends what its role
 * allows, is refused the rest with FORBIDDEN, and what it writes names it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "harness.h"
#include "util.h"

static const char *const services[] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
#define NSVC (sizeof services / sizeof services[0])
static h_env_t env;

static int setup(void **state)
{
    zsys_handler_set(NULL);
    if (h_group_setup(state) != 0)
        return -1;
    for (size_t i = 0; i < NSVC; i++)
        if (h_start_ready(&env, services[i], NULL, NULL, 20000) < 0)
            return -1;
    return 0;
}

/* A Probe recording `key` at svc (no route: it stays there), sent with the
 * given keys (NULL public key: no CURVE at all); the answer's code ("" for
 * an Ack, "NONE" when nothing came back). */
static const char *probe_as(const char *svc, const char *key, const char *public_key, const char *secret_key)
{
    static char code[64];
    char ep[64];
    h_service_endpoint(&env, svc, ep, sizeof ep);
    client_t *c = client_new(env.zctx, ep, "intruder");
    client_set_retry(c, 400, 2);
    if (public_key)
        assert_int_equal(client_set_curve(c, env.cred.server_key, public_key, secret_key), 0);
    char err[128];
    assert_int_equal(client_connect(c, err, sizeof err), 0);
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT, *reply = NULL;
    Tremplin__Probe p = TREMPLIN__PROBE__INIT;
    p.key = (char *)key;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    req.probe = &p;
    req.territory = "42";
    client_call(c, &req, &reply);
    util_strlcpy(code, !reply ? "NONE" : reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? reply->error->code : "",
                 sizeof code);
    wire_free(reply, NULL);
    client_destroy(&c);
    return code;
}

static long long probe_recorded(const char *svc, const char *key)
{
    return h_redis_int(&env, "HEXISTS tp:{42}:%s:probe:seen %s", svc, key);
}

/* No key, a key nobody registered, an intake branch's key (another
 * registry): no answer from any service, nothing recorded; the harness's
 * registered key, at once after, is served. */
static void a_process_without_a_registered_key_is_refused_everywhere(void **state)
{
    (void)state;
    char stranger_pub[41], stranger_sec[41];
    assert_int_equal(zmq_curve_keypair(stranger_pub, stranger_sec), 0);
    char out[2048], path[512];
    assert_int_equal(h_cli(&env, out, sizeof out, "branch add wilson --name Wilson --territory 42"), 0);
    snprintf(path, sizeof path, "%s/curve/branch-secrets/wilson.key_secret", env.dir);
    zcert_t *branch = zcert_load(path);
    assert_non_null(branch);
    for (size_t i = 0; i < NSVC; i++) {
        const char *s = services[i];
        assert_string_equal(probe_as(s, "nokey", NULL, NULL), "NONE");
        assert_string_equal(probe_as(s, "stranger", stranger_pub, stranger_sec), "NONE");
        assert_string_equal(probe_as(s, "branchkey", zcert_public_txt(branch), zcert_secret_txt(branch)), "NONE");
        assert_string_equal(probe_as(s, "harness", env.cred.public_key, env.cred.secret_key), "");
        assert_int_equal(probe_recorded(s, "nokey"), 0);
        assert_int_equal(probe_recorded(s, "stranger"), 0);
        assert_int_equal(probe_recorded(s, "branchkey"), 0);
        assert_int_equal(probe_recorded(s, "harness"), 1);
        assert_true(h_log_count(&env, s, "event=key_refused") >= 2);
    }
    zcert_destroy(&branch);
    /* the tool, given a key file that is not there, says so and sends nothing */
    assert_int_equal(h_cli_as(&env, "nowhere", out, sizeof out, "ping"), 2 - 1);
    assert_non_null(strstr(out, "clé d'opérateur illisible"));
    printf("tp six services: no key, a stranger's key and a branch's key refused at the handshake, nothing recorded\n");
}

/* An operator's key works until it is revoked; then the next command gets
 * no answer (ZAP refuses the new connection). */
static void a_revoked_operator_key_is_refused(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(h_cli(&env, out, sizeof out, "operator add cora --role coordinator --name 'Cora Coord'"), 0);
    assert_non_null(strstr(out, "clé cora créée"));
    assert_int_equal(h_cli_as(&env, "cora", out, sizeof out, "probe --count 3 matcher"), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "operator list"), 0);
    assert_non_null(strstr(out, "coordinator"));
    assert_non_null(strstr(out, "cora"));
    /* the secret goes with the revocation: keep a copy, as a thief would */
    char key[400], copy[420], cmd[900];
    h_operator_key(&env, "cora", key, sizeof key);
    snprintf(copy, sizeof copy, "%s/stolen.key_secret", env.dir);
    snprintf(cmd, sizeof cmd, "cp %s %s", key, copy);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "operator revoke cora"), 0);
    keyring_cred_t stolen;
    char err[256];
    assert_int_equal(keyring_cred_load(copy, &stolen, err, sizeof err), 0);
    for (size_t i = 0; i < NSVC; i++) {
        assert_string_equal(probe_as(services[i], "revoked", stolen.public_key, stolen.secret_key), "NONE");
        assert_int_equal(probe_recorded(services[i], "revoked"), 0);
    }
    assert_int_equal(h_cli(&env, out, sizeof out, "operator list"), 0);
    assert_non_null(strstr(out, "révoquée le"));
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_process_without_a_registered_key_is_refused_everywhere),
        cmocka_unit_test(a_revoked_operator_key_is_refused),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("access", tests, setup, h_group_teardown);
}
