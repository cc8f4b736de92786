/* The matcher, for real: referrals through intake to an assignment in Redis
 * and on to the scheduler, which places the person; a fourth workshop kind
 * added by a config change and SIGHUP to the matcher and the scheduler,
 * without recompiling; follow-ups along the pathway; incomplete
 * questionnaires. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "harness.h"

static h_env_t env;
static pid_t matcher_pid, scheduler_pid;
static char intake_ep[64], matcher_ep[64];

static int setup(void **state)
{
    (void)state;
    if (h_setup(&env) != 0)
        return -1;
    char out[512];
    if (h_cli(&env, out, sizeof out, "branch add wilson --name Wilson --territory 42") != 0)
        return -1;
    h_service_endpoint(&env, "intake", intake_ep, sizeof intake_ep);
    h_service_endpoint(&env, "matcher", matcher_ep, sizeof matcher_ep);
    matcher_pid = h_start_ready(&env, "matcher", NULL, NULL, 30000);
    scheduler_pid = h_start_ready(&env, "scheduler", NULL, NULL, 30000);
    return matcher_pid > 0 && scheduler_pid > 0 && h_start_ready(&env, "intake", NULL, NULL, 30000) > 0 ? 0 : -1;
}

/* Submits a referral with these answers (score each, -1 = not answered) and
 * needs; returns its referral id in rid. */
static void refer(const char *ref, const int scores[8], const char *need, char rid[40], char pid[40])
{
    static const char *const q[8] = { "mouse_touch", "email",      "online_form", "attach_document",
                                      "online_banking", "spot_fraud", "passwords", "video_call" };
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    json_object_object_add(o, "external_ref", json_object_new_string(ref));
    json_object *c = json_object_object_get(o, "consent");
    json_object_object_del(c, "given_at");
    json_object_object_add(c, "given_at_ms", json_object_new_int64(clock_real_ms() - 60000));
    json_object *answers = json_object_new_object();
    for (int i = 0; i < 8; i++)
        if (scores[i] >= 0)
            json_object_object_add(answers, q[i], json_object_new_int(scores[i]));
    json_object_object_add(o, "answers", answers);
    json_object *needs = json_object_new_array();
    json_object_array_add(needs, json_object_new_string(need));
    json_object_object_add(o, "needs", needs);
    char path[400], cmd[500], out[2048];
    snprintf(path, sizeof path, "%s/%s.json", env.dir, ref);
    json_object_to_file(path, o);
    json_object_put(o);
    snprintf(cmd, sizeof cmd, "referral submit %s --json", path);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    json_object *r = json_tokener_parse(out);
    util_strlcpy(rid, json_object_get_string(json_object_object_get(r, "referral_id")), 40);
    util_strlcpy(pid, json_object_get_string(json_object_object_get(r, "person_id")), 40);
    json_object_put(r);
}

static int assignment_exists(h_env_t *h, void *arg)
{
    (void)h;
    return h_redis_int(&env, "EXISTS tp:{42}:matcher:assignment:%s", (const char *)arg) == 1;
}

static void assignment_field(const char *rid, const char *field, char *out, size_t cap)
{
    assert_int_equal(h_wait_for(&env, assignment_exists, (void *)rid, 30000), 0);
    redisReply *r = h_redis(&env, "HGET tp:{42}:matcher:assignment:%s %s", rid, field);
    util_strlcpy(out, r && r->str ? r->str : "", cap);
    if (r)
        freeReplyObject(r);
}

/* What the scheduler made of an assignment: its status (booked,
 * waitlisted) once the TrackAssigned has arrived. */
typedef struct {
    const char *assignment_id;
    char status[32];
} placed_t;

static int placed(h_env_t *h, void *arg)
{
    (void)h;
    placed_t *p = arg;
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:assigned:%s status", p->assignment_id);
    int ok = r && r->type == REDIS_REPLY_STRING;
    if (ok)
        util_strlcpy(p->status, r->str, sizeof p->status);
    if (r)
        freeReplyObject(r);
    return ok;
}

/* The kind the scheduler placed the person in for this assignment. */
static void scheduled_kind(const char *assignment_id, const char *pid, const char *kind)
{
    placed_t p = { assignment_id, "" };
    assert_int_equal(h_wait_for(&env, placed, &p, 30000), 0);
    assert_true(!strcmp(p.status, "booked") || !strcmp(p.status, "waitlisted"));
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:person:%s assignment:%s", pid, kind);
    assert_non_null(r);
    assert_non_null(r->str);
    assert_string_equal(r->str, assignment_id);
    freeReplyObject(r);
}

static void referral_to_assignment_and_to_the_scheduler(void **state)
{
    (void)state;
    char rid[40], pid[40], v[600];
    const int beginner[8] = { 2, 1, 1, 1, 0, 1, 0, 1 }; /* 7: level 1 */
    refer("M-1", beginner, "email", rid, pid);
    assignment_field(rid, "kind", v, sizeof v);
    assert_string_equal(v, "initiation");
    assignment_field(rid, "level", v, sizeof v);
    assert_string_equal(v, "1");
    assignment_field(rid, "rules", v, sizeof v);
    assert_string_equal(v, "catalogue 2026-11-1 / questionnaire q-2026-1");
    scheduled_kind(rid, pid, "initiation");

    const int budget[8] = { 3, 2, 2, 1, 1, 2, 1, 2 }; /* 14: level 2, budget need */
    refer("M-2", budget, "budget", rid, pid);
    assignment_field(rid, "kind", v, sizeof v);
    assert_string_equal(v, "budget");

    const int autonomous[8] = { 3, 3, 3, 3, 3, 3, 3, 2 }; /* 23: level 3 */
    refer("M-3", autonomous, "email", rid, pid);
    assignment_field(rid, "outcome", v, sizeof v);
    assert_string_equal(v, "autonomous"); /* accompanied, no workshop: nothing for the scheduler */
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:matcher:fig:total accompanied"), 3);

    const int incomplete[8] = { 3, -1, -1, -1, 1, 1, 1, 1 }; /* 3 missing > max_missing 2 */
    refer("M-4", incomplete, "email", rid, pid);
    assignment_field(rid, "outcome", v, sizeof v);
    assert_string_equal(v, "reassess");
    assignment_field(rid, "reason", v, sizeof v);
    assert_non_null(strstr(v, "incomplet"));
    char out[2048], cmd[128];
    snprintf(cmd, sizeof cmd, "referral explain %s", rid);
    assert_int_equal(h_cli(&env, out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "questionnaire à refaire"));
}

static int scheduler_has_demarches(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return h_redis_int(&env, "SISMEMBER tp:{42}:scheduler:kinds demarches") == 1;
}

/* A fourth kind is a config change picked up on SIGHUP; people already
 * placed keep their assignment. Until the timetable has a session of it,
 * the matcher says so at load and in ping; the scheduler, loading both
 * files once the slot is there, has nothing to say. */
static void fourth_kind_by_config_and_sighup(void **state)
{
    (void)state;
    char rid0[40], pid0[40], rid[40], pid[40], v[64];
    const int level1[8] = { 2, 1, 1, 1, 0, 1, 0, 1 };
    refer("K4-0", level1, "admin_sites", rid0, pid0);
    assignment_field(rid0, "kind", v, sizeof v);
    assert_string_equal(v, "initiation");

    char path[400];
    snprintf(path, sizeof path, "%s/catalogue.json", env.dir);
    json_object *cat = json_object_from_file(path);
    json_object *kind = json_tokener_parse(
        "{\"code\":\"demarches\",\"title_fr\":\"Démarches administratives en ligne\",\"levels\":[1,2],"
        "\"capacity\":8,\"duration_min\":120,\"partner\":\"face-loire\",\"next\":\"\",\"needs\":[\"admin_sites\"]}");
    json_object_array_add(json_object_object_get(cat, "kinds"), kind);
    json_object_object_add(cat, "version", json_object_new_string("2026-12-1"));
    assert_int_equal(json_object_to_file(path, cat), 0);
    json_object_put(cat);
    h_log_wait_t four_kinds = { "matcher", "kinds=4", h_log_count(&env, "matcher", "kinds=4") + 1 };
    h_signal(matcher_pid, SIGHUP);
    assert_int_equal(h_wait_for(&env, h_log_reaches, &four_kinds, 20000), 0);
    assert_true(h_log_count(&env, "matcher", "event=kinds_unserved") >= 1);
    char out[2048];
    assert_int_equal(h_cli(&env, out, sizeof out, "ping matcher"), 0);
    assert_non_null(strstr(out, "attention : types d'atelier sans séance au calendrier"));
    assert_non_null(strstr(out, ": demarches"));

    /* and the scheduler gets a weekly slot for it, by its config too */
    snprintf(path, sizeof path, "%s/timetable.json", env.dir);
    json_object *tt = json_object_from_file(path);
    json_object *slot = json_tokener_parse("{\"day\":\"thu\",\"start\":\"16:30\",\"kind\":\"demarches\","
                                           "\"venue\":\"wilson\",\"trainer\":\"face-loire-03\",\"capacity\":8}");
    json_object_array_add(json_object_object_get(tt, "slots"), slot);
    assert_int_equal(json_object_to_file(path, tt), 0);
    json_object_put(tt);
    h_signal(scheduler_pid, SIGHUP);
    assert_int_equal(h_wait_for(&env, scheduler_has_demarches, NULL, 20000), 0);
    assert_int_equal(h_cli(&env, out, sizeof out, "ping scheduler"), 0);
    assert_null(strstr(out, "attention"));

    refer("K4-1", level1, "admin_sites", rid, pid);
    assignment_field(rid, "kind", v, sizeof v);
    assert_string_equal(v, "demarches");
    scheduled_kind(rid, pid, "demarches");
    /* available on Thursday afternoons: booked into a session of the new kind */
    redisReply *r = h_redis(&env, "HGET tp:{42}:scheduler:assigned:%s session", rid);
    assert_non_null(r->str);
    assert_non_null(strstr(r->str, "-1630-wilson-demarches"));
    freeReplyObject(r);
    assignment_field(rid, "rules", v, sizeof v);
    assert_string_equal(v, "catalogue 2026-12-1 / questionnaire q-2026-1");
    assignment_field(rid0, "kind", v, sizeof v); /* never re-assigned */
    assert_string_equal(v, "initiation");
}

/* A catalogue without a kind the timetable has (budget) is refused on
 * SIGHUP, with the timetable's file and line: the matcher keeps the one in
 * use and goes on assigning. */
static void a_catalogue_missing_a_timetable_kind_is_refused(void **state)
{
    (void)state;
    char path[400], saved[400];
    snprintf(path, sizeof path, "%s/catalogue.json", env.dir);
    snprintf(saved, sizeof saved, "%s/catalogue.saved", env.dir);
    json_object *cat = json_object_from_file(path);
    assert_int_equal(json_object_to_file(saved, cat), 0);
    json_object *kinds = json_object_object_get(cat, "kinds"), *kept = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(kinds); i++) {
        json_object *k = json_object_array_get_idx(kinds, i);
        if (strcmp(json_object_get_string(json_object_object_get(k, "code")), "budget") != 0)
            json_object_array_add(kept, json_object_get(k));
    }
    json_object_object_add(cat, "kinds", kept);
    assert_int_equal(json_object_to_file(path, cat), 0);
    json_object_put(cat);
    h_log_wait_t refused = { "matcher", "event=catalogue_invalid", 0 };
    refused.n = h_log_count(&env, "matcher", refused.needle) + 1;
    h_signal(matcher_pid, SIGHUP);
    assert_int_equal(h_wait_for(&env, h_log_reaches, &refused, 20000), 0);
    /* (the test before rewrote the timetable on one line) */
    assert_true(h_log_count(&env, "matcher", "timetable.json:1: slots[3].kind \"budget\" is not a kind of the catalogue")
                >= 1);
    /* still the catalogue in use: a budget need is still served */
    char rid[40], pid[40], v[64];
    const int level1[8] = { 2, 1, 1, 1, 0, 1, 0, 1 };
    refer("R-1", level1, "budget", rid, pid);
    assignment_field(rid, "kind", v, sizeof v);
    assert_string_equal(v, "budget");
    rename(saved, path);
}

static const char *follow_up(const char *fid, const char *pid, const char *completed, const char *topic)
{
    static char status[64];
    Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
    Tremplin__FollowUpRequested f = TREMPLIN__FOLLOW_UP_REQUESTED__INIT;
    f.follow_up_id = (char *)fid;
    f.person_id = (char *)pid;
    f.completed_kind = (char *)completed;
    f.requested_topic = (char *)topic;
    req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_FOLLOW_UP_REQUESTED;
    req.follow_up_requested = &f;
    req.territory = "42";
    Tremplin__Envelope *r = h_call(&env, matcher_ep, &req);
    assert_non_null(r);
    util_strlcpy(status, r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK ? r->ack->status : r->error->code,
                 sizeof status);
    wire_free(r, NULL);
    return status;
}

/* initiation -> perfectionnement -> the end of the pathway (re-assessment
 * offered); a topic asked by name; a retry changes nothing. */
static void follow_ups_along_the_pathway(void **state)
{
    (void)state;
    char rid[40], pid[40], fid[3][TP_ID_LEN + 1];
    const int level1[8] = { 2, 1, 1, 1, 0, 1, 0, 1 };
    refer("F-1", level1, "email", rid, pid);
    char v[64];
    assignment_field(rid, "kind", v, sizeof v);
    for (int i = 0; i < 3; i++)
        util_random_id(fid[i]);

    assert_string_equal(follow_up(fid[0], pid, "initiation", ""), "assigned:perfectionnement");
    assert_string_equal(follow_up(fid[0], pid, "initiation", ""), "assigned:perfectionnement"); /* a retry */
    scheduled_kind(fid[0], pid, "perfectionnement");

    assert_string_equal(follow_up(fid[1], pid, "perfectionnement", ""), "pathway_finished");
    assert_true(h_redis_int(&env, "HGET tp:{42}:matcher:person:%s reassessment_offered_ms", pid) > 0);

    assert_string_equal(follow_up(fid[2], pid, "", "budget"), "assigned:budget");
    scheduled_kind(fid[2], pid, "budget");
    assert_string_equal(follow_up("not a valid id", pid, "", ""), "INVALID_FIELD");
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(referral_to_assignment_and_to_the_scheduler),
        cmocka_unit_test(fourth_kind_by_config_and_sighup),
        cmocka_unit_test(a_catalogue_missing_a_timetable_kind_is_refused),
        cmocka_unit_test(follow_ups_along_the_pathway),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("matcher", tests, setup, h_group_teardown);
}
