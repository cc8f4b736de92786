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
static pid_t sched_pid;

/* t1's Monday morning session, t2's Monday afternoon one */
#define MON_T1 "20261130-0930-wilson-initiation"
#define MON_T2 "20261130-1400-wilson-initiation"

static int setup(void **state)
{
    zsys_handler_set(NULL);
    if (h_group_setup(state) != 0)
        return -1;
    char out[2048];
    if (h_write(&env, "timetable.json",
                "{ \"version\": \"access\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 1,\n"
                "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" } ],\n"
                "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\",\n"
                "               \"trainer\": \"t1\", \"capacity\": 4 },\n"
                "             { \"day\": \"mon\", \"start\": \"14:00\", \"kind\": \"initiation\", \"venue\": \"wilson\",\n"
                "               \"trainer\": \"t2\", \"capacity\": 4 } ] }\n")
        || h_set_clock(&env, "2026-11-29T18:00:00Z")
        || h_cli(&env, out, sizeof out, "branch add wilson --name Wilson --territory 42") != 0
        || h_cli(&env, out, sizeof out, "branch add carnot --name Carnot --territory 42") != 0)
        return -1;
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200", NULL };
    for (size_t i = 0; i < NSVC; i++) {
        pid_t pid = h_start_ready(&env, services[i], NULL, strcmp(services[i], "scheduler") ? NULL : fast, 20000);
        if (pid < 0)
            return -1;
        if (!strcmp(services[i], "scheduler"))
            sched_pid = pid;
    }
    return h_wait_for(&env, h_session_open, MON_T1, 20000);
}

/* A probe through an open client: its answer's code ("" an Ack, "NONE" no
 * answer). */
static const char *probe_on(client_t *c, const char *key)
{
    static char code[64];
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
    return code;
}

/* A Probe recording `key` at svc (no route: it stays there), sent with the
 * given keys (NULL public key: no CURVE at all); the answer's code ("" for
 * an Ack, "NONE" when nothing came back). */
static const char *probe_as(const char *svc, const char *key, const char *public_key, const char *secret_key)
{
    char ep[64];
    h_service_endpoint(&env, svc, ep, sizeof ep);
    client_t *c = client_new(env.zctx, ep, "intruder");
    client_set_retry(c, 400, 2);
    if (public_key)
        assert_int_equal(client_set_curve(c, env.cred.server_key, public_key, secret_key), 0);
    char err[128];
    assert_int_equal(client_connect(c, err, sizeof err), 0);
    const char *code = probe_on(c, key);
    client_destroy(&c);
    return code;
}

typedef struct {
    client_t *c;
    int n;
    char key[32];
} open_conn_t;

/* The open connection of a test, closed by the group's teardown too: a
 * socket left open when an assertion ends the test would block the
 * context's end. */
static client_t *open_client;

static int teardown(void **state)
{
    client_destroy(&open_client);
    return h_group_teardown(state);
}

/* The open connection's next probe is refused FORBIDDEN (the service has
 * seen the registry change). */
static int open_conn_refused(h_env_t *h, void *arg)
{
    (void)h;
    open_conn_t *o = arg;
    snprintf(o->key, sizeof o->key, "open-after-%d", ++o->n);
    return !strcmp(probe_on(o->c, o->key), "FORBIDDEN");
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
    /* the case: a referral for branch wilson from a process with no
     * credentials, on intake's command endpoint: no answer, no referral */
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    assert_non_null(o);
    json_object_object_add(o, "external_ref", json_object_new_string("NOKEY-1"));
    referral_json_t holder;
    Tremplin__Envelope e;
    assert_int_equal(h_referral_envelope(o, &holder, "", &e), 0);
    char ep[64], err[128];
    h_service_endpoint(&env, "intake", ep, sizeof ep);
    client_t *c = client_new(env.zctx, ep, "nokey");
    client_set_retry(c, 500, 2);
    assert_int_equal(client_connect(c, err, sizeof err), 0);
    Tremplin__Envelope *reply = NULL;
    assert_int_not_equal(client_call(c, &e, &reply), 0);
    assert_null(reply);
    client_destroy(&c);
    json_object_put(o);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:NOKEY-1"), 0);
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
    /* a connection cora opened before the revocation */
    keyring_cred_t cora;
    char err0[256], ep[64];
    assert_int_equal(keyring_cred_load(key, &cora, err0, sizeof err0), 0);
    h_service_endpoint(&env, "matcher", ep, sizeof ep);
    client_t *open = open_client = client_new(env.zctx, ep, "cora-open");
    client_set_retry(open, 2000, 2);
    assert_int_equal(client_set_curve(open, env.cred.server_key, cora.public_key, cora.secret_key), 0);
    assert_int_equal(client_connect(open, err0, sizeof err0), 0);
    assert_string_equal(probe_on(open, "open-before"), "");
    /* her key replaced: the old one still served in its window, then, the
     * window ended, refused command by command on that connection, nothing
     * recorded */
    assert_int_equal(h_cli(&env, out, sizeof out, "operator rotate cora"), 0);
    assert_string_equal(probe_on(open, "open-in-window"), "");
    assert_int_equal(h_cli(&env, out, sizeof out, "operator retire-old cora"), 0);
    open_conn_t o = { open, 0, "" };
    assert_int_equal(h_wait_for(&env, open_conn_refused, &o, 20000), 0);
    assert_int_equal(probe_recorded("matcher", o.key), 0);
    client_destroy(&open_client);
    h_operator_key(&env, "cora", key, sizeof key); /* the new key's file */
    snprintf(cmd, sizeof cmd, "cp %s %s", key, copy);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "operator revoke cora"), 0);
    /* a service's own key is not the operator commands' to revoke */
    assert_int_equal(h_cli(&env, out, sizeof out, "operator revoke svc-matcher"), 2);
    keyring_cred_t stolen;
    char err[256];
    assert_int_equal(keyring_cred_load(copy, &stolen, err, sizeof err), 0);
    for (size_t i = 0; i < NSVC; i++) {
        assert_string_equal(probe_as(services[i], "revoked", stolen.public_key, stolen.secret_key), "NONE");
        assert_int_equal(probe_recorded(services[i], "revoked"), 0);
    }
    assert_int_equal(h_cli(&env, out, sizeof out, "operator list"), 0);
    assert_non_null(strstr(out, "révoquée le"));
    /* the tool, with the stolen copy, says the key was refused */
    char as[420];
    h_operator_key(&env, "stolen", as, sizeof as);
    snprintf(cmd, sizeof cmd, "cp %s %s", copy, as);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(h_cli_as(&env, "stolen", out, sizeof out, "ping intake"), 1);
    assert_non_null(strstr(out, "clé d'opérateur refusée"));
    assert_int_equal(h_cli_as(&env, "stolen", out, sizeof out, "session cancel 20261130-0930-wilson-initiation x"), 2);
    assert_non_null(strstr(out, "refuse la clé d'opérateur cora"));
}

/* A referral of branch `branch` sent by operator op (NULL: the local
 * administrator) with the tool: its exit code, its output in out. */
static int submit_as(const char *op, const char *branch, const char *ref, char *out, size_t cap)
{
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    assert_non_null(o);
    json_object_object_add(o, "external_ref", json_object_new_string(ref));
    json_object_object_add(o, "branch", json_object_new_string(branch));
    char path[400], args[500];
    snprintf(path, sizeof path, "%s/%s.json", env.dir, ref);
    assert_int_equal(json_object_to_file(path, o), 0);
    json_object_put(o);
    snprintf(args, sizeof args, "referral submit %s --json", path);
    return h_cli_as(&env, op, out, cap, args);
}

/* The audit trail's entries with these fields (NULL: any). */
static int audited(const char *op, const char *kind, const char *action, const char *subject)
{
    redisReply *r = h_redis(&env, "XRANGE audit:{42} - +");
    assert_non_null(r);
    int n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *want[][2] = { { "op", op }, { "kind", kind }, { "action", action }, { "subject", subject } };
        int match = 1;
        for (size_t w = 0; w < TP_ARRAY_LEN(want); w++) {
            int found = !want[w][1];
            for (size_t j = 0; !found && j + 1 < f->elements; j += 2)
                found = !strcmp(f->element[j]->str, want[w][0]) && !strcmp(f->element[j + 1]->str, want[w][1]);
            match &= found;
        }
        n += match;
    }
    freeReplyObject(r);
    return n;
}

static int placed(h_env_t *h, void *pid)
{
    return h_redis_int(h, "HEXISTS tp:{42}:scheduler:roster:" MON_T1 " %s", (const char *)pid) == 1;
}

#define SAYS(out, text)                                                                                                \
    do {                                                                                                               \
        if (!strstr(out, text))                                                                                        \
            fail_msg("expected « %s » in:\n%s", text, out);                                                            \
    } while (0)

/* Each role sends what it may and is refused the rest (FORBIDDEN, nothing
 * written); what it writes is in the audit trail under its id. */
static void each_role_sends_what_it_may_and_nothing_else(void **state)
{
    (void)state;
    char out[4096], args[300];
    assert_int_equal(h_cli(&env, out, sizeof out, "operator add mia --role mediator --branch wilson --name 'Mia Med'"), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "operator add tina --role trainer --trainer t1 --name 'Tina T'"), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "operator add theo --role formateur --trainer t2 --name 'Théo T'"), 0);
    /* a role's scope is required, and a role it is not given */
    assert_int_equal(h_cli(&env, out, sizeof out, "operator add x --role mediator --name X"), 2);
    SAYS(out, "--branch AGENCE est obligatoire");
    assert_int_equal(h_cli(&env, out, sizeof out, "operator add x --role chef --name X"), 2);
    assert_int_equal(h_cli(&env, out, sizeof out, "operator add svc-x --role coordinator --name X"), 2);

    /* the mediator refers for her branch, not for another */
    assert_int_equal(submit_as("mia", "wilson", "WIL-M", out, sizeof out), 0);
    json_object *j = json_tokener_parse(out), *v;
    assert_non_null(j);
    assert_true(json_object_object_get_ex(j, "person_id", &v));
    char pid[40], rid[40];
    util_strlcpy(pid, json_object_get_string(v), sizeof pid);
    util_strlcpy(rid, json_object_get_string(json_object_object_get(j, "referral_id")), sizeof rid);
    json_object_put(j);
    assert_int_equal(audited("mia", "write", "submit_referral", rid), 1);
    assert_int_equal(submit_as("mia", "carnot", "CAR-M", out, sizeof out), 2);
    SAYS(out, "FORBIDDEN");
    SAYS(out, "oriente pour l'agence wilson");
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:carnot:CAR-M"), 0);
    /* a trainer refers for nobody */
    assert_int_equal(submit_as("tina", "wilson", "WIL-T", out, sizeof out), 2);
    SAYS(out, "FORBIDDEN");
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:WIL-T"), 0);
    /* nor cancels a session; a mediator neither */
    snprintf(args, sizeof args, "session cancel %s erreur", MON_T2);
    assert_int_equal(h_cli_as(&env, "tina", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    assert_int_equal(h_cli_as(&env, "mia", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    assert_int_equal(h_redis_int(&env, "HEXISTS tp:{42}:scheduler:session:%s cancelled_by", MON_T2), 0);

    /* attendance, once t1's session has started: t2's trainer may not mark
     * it (nor may t1 name another trainer); t1's may */
    assert_int_equal(h_wait_for(&env, placed, pid, 20000), 0);
    assert_int_equal(h_set_clock(&env, "2026-11-30T08:45:00Z"), 0);
    assert_int_equal(h_reload(&env, sched_pid, "scheduler", 20000), 0);
    snprintf(args, sizeof args, "attendance %s %s present", MON_T1, pid);
    assert_int_equal(h_cli_as(&env, "theo", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    snprintf(args, sizeof args, "attendance %s %s present --trainer t2", MON_T1, pid);
    assert_int_equal(h_cli_as(&env, "tina", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    char bid[40] = "";
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:roster:%s %s", MON_T1, pid);
    assert_true(r && r->str);
    util_strlcpy(bid, r->str, sizeof bid);
    freeReplyObject(r);
    r = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s status", bid);
    assert_string_equal(r->str, "booked");
    freeReplyObject(r);
    snprintf(args, sizeof args, "attendance %s %s present", MON_T1, pid);
    assert_int_equal(h_cli_as(&env, "tina", out, sizeof out, args), 0);
    r = h_redis(&env, "HMGET tp:{42}:scheduler:booking:%s status marked_by", bid);
    assert_string_equal(r->element[0]->str, "seen");
    assert_string_equal(r->element[1]->str, "t1");
    freeReplyObject(r);
    assert_int_equal(audited("tina", "write", "mark_attendance", bid), 1);
    /* a trainer cancels no booking; the coordinator cancels t2's session */
    snprintf(args, sizeof args, "booking cancel %s", bid);
    assert_int_equal(h_cli_as(&env, "tina", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    snprintf(args, sizeof args, "session cancel %s erreur", MON_T2);
    assert_int_equal(h_cli(&env, out, sizeof out, args), 0);
    assert_int_equal(audited("admin", "write", "cancel_session", MON_T2), 1);
    /* every write an operator's, none refused among them (cora: the probes above) */
    assert_int_equal(audited(NULL, "write", NULL, NULL),
                     audited("mia", NULL, NULL, NULL) + audited("tina", NULL, NULL, NULL)
                         + audited("admin", NULL, NULL, NULL) + audited("cora", NULL, NULL, NULL));
    assert_int_equal(audited("theo", NULL, NULL, NULL), 0);
    assert_int_equal(h_log_count(&env, "scheduler", "event=forbidden") + h_log_count(&env, "intake", "event=forbidden"),
                     6); /* theo's is the scheduler's own check, not the inbox's */
}

/* Every read of personal data is in the audit trail under the reader's id
 * before anything is shown; a trainer reads its own sessions' rosters only;
 * tremplin audit tells it in French. Runs after the roles' test: the person
 * mia referred, booked in t1's session. */
static void each_read_of_personal_data_is_in_the_audit_trail(void **state)
{
    (void)state;
    char out[8192], args[400], pid[40] = "";
    redisReply *r = h_redis(&env, "HKEYS tp:{42}:scheduler:roster:%s", MON_T1);
    assert_true(r && r->elements >= 1);
    util_strlcpy(pid, r->element[0]->str, sizeof pid);
    freeReplyObject(r);
    /* someone carnot referred */
    assert_int_equal(submit_as(NULL, "carnot", "CAR-A", out, sizeof out), 0);
    json_object *j = json_tokener_parse(out);
    assert_non_null(j);
    char other[40];
    util_strlcpy(other, json_object_get_string(json_object_object_get(j, "person_id")), sizeof other);
    json_object_put(j);
    const long long before = h_redis_int(&env, "XLEN audit:{42}");

    snprintf(args, sizeof args, "person show %s", pid);
    assert_int_equal(h_cli_as(&env, "mia", out, sizeof out, args), 0);
    assert_int_equal(audited("mia", "read", "person_show", pid), 1);
    snprintf(args, sizeof args, "person export %s", pid);
    assert_int_equal(h_cli(&env, out, sizeof out, args), 0);
    SAYS(out, "Josiane"); /* the contact data the export holds */
    assert_int_equal(audited("admin", "read", "person_export", pid), 1);
    assert_int_equal(h_cli_as(&env, "mia", out, sizeof out, "worklist"), 0); /* her branch's */
    assert_int_equal(audited("mia", "read", "worklist", "wilson"), 1);
    /* a mediator reads the people her branch referred, her branch's
     * worklist, and no letters */
    snprintf(args, sizeof args, "person show %s", other);
    assert_int_equal(h_cli_as(&env, "mia", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    snprintf(args, sizeof args, "person export %s", other);
    assert_int_equal(h_cli_as(&env, "mia", out, sizeof out, args), 2);
    assert_null(strstr(out, "Josiane"));
    assert_int_equal(h_cli_as(&env, "mia", out, sizeof out, "worklist --branch carnot"), 2);
    SAYS(out, "FORBIDDEN");
    snprintf(args, sizeof args, "letters --date 2026-11-30 --pdf %s/mia.pdf", env.dir);
    assert_int_equal(h_cli_as(&env, "mia", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    snprintf(args, sizeof args, "letters --date 2026-11-30 --pdf %s/letters.pdf", env.dir);
    h_cli(&env, out, sizeof out, args);
    assert_int_equal(audited("admin", "read", "letters", "2026-11-30"), 1);

    /* rosters: t1's trainer reads t1's session, not t2's; t2's not t1's */
    snprintf(args, sizeof args, "roster %s", MON_T1);
    assert_int_equal(h_cli_as(&env, "tina", out, sizeof out, args), 0);
    SAYS(out, "Josiane");
    assert_int_equal(audited("tina", "read", "roster", MON_T1), 1);
    assert_int_equal(h_cli_as(&env, "theo", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    assert_null(strstr(out, "Josiane"));
    snprintf(args, sizeof args, "roster %s", MON_T2);
    assert_int_equal(h_cli_as(&env, "tina", out, sizeof out, args), 2);
    SAYS(out, "FORBIDDEN");
    assert_int_equal(audited("theo", "read", NULL, NULL), 0);
    assert_int_equal(audited("tina", "read", "roster", MON_T2), 0);
    assert_int_equal(h_redis_int(&env, "XLEN audit:{42}"), before + 5);

    /* tremplin audit: in French, by operator, as JSON, since a date */
    assert_int_equal(h_cli(&env, out, sizeof out, "audit"), 0);
    SAYS(out, "lecture");
    SAYS(out, "liste d'une séance");
    SAYS(out, "fiche d'une personne");
    SAYS(out, "écriture");
    SAYS(out, "orientation");
    SAYS(out, pid);
    assert_int_equal(h_cli(&env, out, sizeof out, "audit --operator tina --json"), 0);
    j = json_tokener_parse(out);
    assert_non_null(j);
    assert_int_equal((int)json_object_array_length(j), audited("tina", NULL, NULL, NULL));
    for (size_t i = 0; i < json_object_array_length(j); i++)
        assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(j, i), "operator")),
                            "tina");
    json_object_put(j);
    assert_int_equal(h_cli(&env, out, sizeof out, "audit --since 2100-01-01 --json"), 0);
    j = json_tokener_parse(out);
    assert_int_equal((int)json_object_array_length(j), 0);
    json_object_put(j);
    assert_int_equal(h_cli(&env, out, sizeof out, "audit --since demain"), 2);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_process_without_a_registered_key_is_refused_everywhere),
        cmocka_unit_test(a_revoked_operator_key_is_refused),
        cmocka_unit_test(each_role_sends_what_it_may_and_nothing_else),
        cmocka_unit_test(each_read_of_personal_data_is_in_the_audit_trail),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("access", tests, setup, teardown);
}
