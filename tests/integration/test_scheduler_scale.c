/* The scheduler at the scale of a national network, for real: a generated
 * timetable of 100 venues (1 201 weekly slots, far past the old caps of 16
 * venues, 64 slots and 100 seats a session) whose four-week horizon holds
 * 4 804 sessions (past the old 1 024 opened at most): every one of them is
 * opened in Redis, and a session of 150 seats takes exactly 150 people, the
 * next going to the week after, its seat counter equal to its bookings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define VENUES 100
#define WEEKLY (VENUES * 12 + 1) /* two slots a day, Monday to Saturday, and the budget slot */
#define SESSIONS (4 * WEEKLY)    /* four weeks, no holiday */
#define BIG 150                  /* seats of the budget session */

static h_env_t env;
static char sched_ep[64];

static void write_timetable(void)
{
    static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat" };
    char path[400];
    snprintf(path, sizeof path, "%s/timetable.json", env.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{ \"version\": \"national\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 28,\n"
               "  \"public_holidays\": \"none\",\n  \"venues\": [\n");
    for (int v = 0; v < VENUES; v++)
        fprintf(f, "%s    { \"id\": \"v%03d\", \"name_fr\": \"Lieu %d\" }", v ? ",\n" : "", v, v);
    fprintf(f, "\n  ],\n  \"slots\": [\n    { \"day\": \"tue\", \"start\": \"17:00\", \"kind\": \"budget\", "
               "\"venue\": \"v000\", \"trainer\": \"tb\", \"capacity\": %d }",
            BIG);
    for (int v = 0; v < VENUES; v++)
        for (int d = 0; d < 6; d++)
            fprintf(f, ",\n    { \"day\": \"%s\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"v%03d\", "
                       "\"trainer\": \"t%d\", \"capacity\": 500 },\n"
                       "    { \"day\": \"%s\", \"start\": \"14:00\", \"kind\": \"perfectionnement\", \"venue\": "
                       "\"v%03d\", \"trainer\": \"t%d\", \"capacity\": 500 }",
                    days[d], v, v, days[d], v, v);
    fprintf(f, "\n  ] }\n");
    fclose(f);
}

/* The sessions opened, of every kind. */
static long long opened(void)
{
    static const char *const kinds[] = { "initiation", "perfectionnement", "budget" };
    long long n = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        n += h_redis_int(&env, "ZCARD tp:{42}:scheduler:sessions:%s", kinds[k]);
    return n;
}

static int all_opened(h_env_t *h, void *arg)
{
    (void)h;
    (void)arg;
    return opened() == SESSIONS;
}

static int setup(void **state)
{
    (void)state;
    if (h_setup(&env) != 0)
        return -1;
    write_timetable();
    /* Monday 30 November 2026, 07:00 in Saint-Étienne */
    if (h_set_clock(&env, "2026-11-30T06:00:00Z") != 0)
        return -1;
    h_service_endpoint(&env, "scheduler", sched_ep, sizeof sched_ep);
    return h_start_ready(&env, "scheduler", NULL, NULL, 30000) < 0 ? -1 : 0;
}

/* Every session of the horizon is opened, however many. */
static void every_session_of_a_large_horizon_is_opened(void **state)
{
    (void)state;
    int rc = h_wait_for(&env, all_opened, NULL, 120000);
    if (rc != 0)
        fprintf(stderr, "opened %lld sessions of %d\n", opened(), SESSIONS);
    assert_int_equal(rc, 0);
    assert_int_equal(h_redis_int(&env, "ZCARD tp:{42}:scheduler:sessions:budget"), 4);
    /* the last of the horizon, at the last venue, with its 500 seats */
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:20261226-1400-v099-perfectionnement capacity"),
                     500);
}

/* The seats of one session, checked on the data: the counter, the roster,
 * and every booking of it booked. */
static void check_session(const char *sid, long long want)
{
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:%s taken", sid), want);
    assert_int_equal(h_redis_int(&env, "HLEN tp:{42}:scheduler:roster:%s", sid), want);
    redisReply *roster = h_redis(&env, "HVALS tp:{42}:scheduler:roster:%s", sid);
    assert_non_null(roster);
    for (size_t i = 0; i < roster->elements; i++) {
        redisReply *b = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s status", roster->element[i]->str);
        assert_non_null(b);
        assert_string_equal(b->str ? b->str : "", "booked");
        freeReplyObject(b);
    }
    freeReplyObject(roster);
}

/* A session of more than 100 seats fills to its capacity, never past it. */
static void a_large_session_fills_without_overselling(void **state)
{
    (void)state;
    assert_int_equal(h_wait_for(&env, all_opened, NULL, 120000), 0);
    int first = 0, second = 0;
    for (int i = 0; i < BIG + 10; i++) {
        char pid[TP_ID_LEN + 1];
        util_random_id(pid);
        h_answer_t a = h_assign(&env, sched_ep, pid, "budget", "tue-pm", 1810000000000LL + i);
        assert_string_equal(a.status, "booked");
        if (!strcmp(a.session, "20261201-1700-v000-budget"))
            first++;
        else if (!strcmp(a.session, "20261208-1700-v000-budget"))
            second++;
        else
            fail_msg("booked into %s", a.session);
        assert_true(i < BIG ? second == 0 : first == BIG); /* the earliest first */
    }
    assert_int_equal(first, BIG);
    assert_int_equal(second, 10);
    assert_int_equal(h_redis_int(&env, "HGET tp:{42}:scheduler:session:20261201-1700-v000-budget capacity"), BIG);
    check_session("20261201-1700-v000-budget", BIG);
    check_session("20261208-1700-v000-budget", 10);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_session_of_a_large_horizon_is_opened),
        cmocka_unit_test(a_large_session_fills_without_overselling),
    };
    h_group_env(&env);
    return cmocka_run_group_tests_name("scheduler_scale", tests, setup, h_group_teardown);
}
