/* Unit tests for services/gateway/quiet: quiet hours and closed days in
 * Europe/Paris (a Saturday night goes to Monday morning; both 2027 changes of
 * clocks; New Year), the reminder two calendar days before, and what is
 * dropped: after the start, after the deadline, or held past them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway/quiet.h"

#define H (3600 * 1000LL)

static const cal_zone_t *paris(void) { return cal_zone("Europe/Paris"); }

/* "YYYY-MM-DD HH:MM[:SS]" in Paris, as UTC ms */
static int64_t at(const char *s)
{
    char date[11] = "";
    int h = 0, m = 0, sec = 0;
    int32_t days;
    assert_true(sscanf(s, "%10s %d:%d:%d", date, &h, &m, &sec) >= 3);
    assert_int_equal(cal_parse_date(date, 2000, 2100, &days), 0);
    return cal_from_local(paris(), days, h * 60 + m) + sec * 1000;
}

static quiet_rules_t defaults(void)
{
    quiet_rules_t r;
    char err[128];
    assert_int_equal(quiet_rules_parse(QUIET_DEFAULT_FROM, QUIET_DEFAULT_UNTIL, QUIET_DEFAULT_CLOSED, &r, err,
                                       sizeof err),
                     0);
    return r;
}

static void test_rules_parse(void **state)
{
    (void)state;
    quiet_rules_t r = defaults();
    assert_int_equal(r.from_min, 20 * 60);
    assert_int_equal(r.until_min, 8 * 60 + 30);
    assert_int_equal(r.closed_days, 1u << 0);
    char err[128];
    assert_int_equal(quiet_rules_parse("7:45", "0:00", " sat , sun", &r, err, sizeof err), 0);
    assert_int_equal(r.from_min, 7 * 60 + 45);
    assert_int_equal(r.until_min, 0);
    assert_int_equal(r.closed_days, (1u << 6) | 1u);
    assert_int_equal(quiet_rules_parse("20:00", "08:30", "", &r, err, sizeof err), 0);
    assert_int_equal(r.closed_days, 0);
    static const struct {
        const char *from, *until, *days, *err;
    } bad[] = {
        { "24:00", "08:30", "sun", "quiet_from: \"24:00\" is not a time HH:MM" },
        { "20h00", "08:30", "sun", "quiet_from: \"20h00\" is not a time HH:MM" },
        { "20:00", "8:60", "sun", "quiet_until: \"8:60\" is not a time HH:MM" },
        { "20:00", "-8:30", "sun", "quiet_until: \"-8:30\" is not a time HH:MM" },
        { "20:00", "08:30", "dim", "closed_days: \"dim\" is not one of sun, mon, tue, wed, thu, fri, sat" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(quiet_rules_parse(bad[i].from, bad[i].until, bad[i].days, &r, err, sizeof err), -1);
        assert_string_equal(err, bad[i].err);
    }
}

static void test_next_allowed(void **state)
{
    (void)state;
    quiet_rules_t r = defaults();
    static const struct {
        const char *when, *next;
    } cases[] = {
        { "2027-01-12 10:00", "2027-01-12 10:00" },    /* a Tuesday morning */
        { "2027-01-12 19:59:59", "2027-01-12 19:59:59" },
        { "2027-01-12 20:00", "2027-01-13 08:30" },
        { "2027-01-13 08:29", "2027-01-13 08:30" },
        { "2027-01-13 08:30", "2027-01-13 08:30" },
        { "2027-01-16 21:00", "2027-01-18 08:30" },    /* Saturday night: Monday */
        { "2027-01-17 12:00", "2027-01-18 08:30" },    /* a Sunday */
        { "2027-01-17 07:00", "2027-01-18 08:30" },
        { "2027-03-27 21:00", "2027-03-29 08:30" },    /* across the spring change (Sunday 28 March) */
        { "2027-03-28 10:00", "2027-03-29 08:30" },
        { "2027-10-30 22:00", "2027-11-01 08:30" },    /* across the autumn change (Sunday 31 October) */
        { "2026-12-31 23:00", "2027-01-01 08:30" },    /* New Year's Eve: New Year's Day is a Friday */
        { "2027-01-01 00:10", "2027-01-01 08:30" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = quiet_next_allowed(&r, paris(), at(cases[i].when));
        if (got != at(cases[i].next))
            fail_msg("%s: got %lld, want %s", cases[i].when, (long long)got, cases[i].next);
        assert_int_equal(quiet_allowed(&r, paris(), at(cases[i].when)), !strcmp(cases[i].when, cases[i].next));
    }
    /* the same instants in UTC: 08:30 is 07:30Z in winter, 06:30Z in summer */
    assert_int_equal(at("2027-03-27 21:00"), 1806177600000LL);
    assert_int_equal(at("2027-03-29 08:30"), 1806301800000LL);
    assert_int_equal(at("2027-11-01 08:30"), 1825054200000LL);

    /* other rules: none at all; a quiet lunch that does not span midnight;
     * every day closed */
    char err[128];
    assert_int_equal(quiet_rules_parse("00:00", "00:00", "", &r, err, sizeof err), 0);
    assert_int_equal(quiet_next_allowed(&r, paris(), at("2027-01-17 03:00")), at("2027-01-17 03:00"));
    assert_int_equal(quiet_rules_parse("12:00", "14:00", "", &r, err, sizeof err), 0);
    assert_int_equal(quiet_next_allowed(&r, paris(), at("2027-01-12 13:00")), at("2027-01-12 14:00"));
    assert_int_equal(quiet_next_allowed(&r, paris(), at("2027-01-12 23:00")), at("2027-01-12 23:00"));
    assert_int_equal(quiet_rules_parse("20:00", "08:30", "mon,tue,wed,thu,fri,sat,sun", &r, err, sizeof err), 0);
    assert_int_equal(quiet_next_allowed(&r, paris(), at("2027-01-12 10:00")), -1);
}

/* J-2 at the same wall time: 47 hours before a session just after the spring
 * change, 49 hours before one just after the autumn change */
static void test_reminder_due(void **state)
{
    (void)state;
    const cal_zone_t *z = paris();
    int64_t spring = at("2027-03-29 09:30"), autumn = at("2027-11-01 09:30");
    assert_int_equal(quiet_reminder_due(z, spring, 2), at("2027-03-27 09:30"));
    assert_int_equal(spring - quiet_reminder_due(z, spring, 2), 47 * H);
    assert_int_equal(quiet_reminder_due(z, autumn, 2), at("2027-10-30 09:30"));
    assert_int_equal(autumn - quiet_reminder_due(z, autumn, 2), 49 * H);
    assert_int_equal(quiet_reminder_due(z, at("2027-01-02 09:30"), 2), at("2026-12-31 09:30")); /* New Year */
    assert_int_equal(quiet_reminder_due(z, at("2027-01-12 14:00:05") + 250, 2), at("2027-01-10 14:00:05") + 250);
}

static void test_decide(void **state)
{
    (void)state;
    quiet_rules_t r = defaults();
    static const struct {
        const char *now, *due, *start, *deadline; /* "" = 0 */
        quiet_verdict_t verdict;
        const char *at, *reason;
    } cases[] = {
        /* a convocation on a Tuesday morning goes at once */
        { "2027-01-12 10:00", "", "2027-01-18 09:30", "", QUIET_SEND, "2027-01-12 10:00", "" },
        /* booked on Saturday night: Monday morning */
        { "2027-01-16 21:00", "", "2027-01-20 09:30", "", QUIET_HOLD, "2027-01-18 08:30", "quiet_hours" },
        /* the reminder of a Tuesday session is due on Sunday: Monday */
        { "2027-01-17 09:30", "2027-01-17 09:30", "2027-01-19 09:30", "", QUIET_HOLD, "2027-01-18 08:30",
          "closed_day" },
        /* not yet due: held until it is */
        { "2027-01-14 10:00", "2027-01-16 09:30", "2027-01-18 09:30", "", QUIET_HOLD, "2027-01-16 09:30",
          "not_due" },
        /* the session has started: dropped */
        { "2027-01-18 09:31", "2027-01-16 09:30", "2027-01-18 09:30", "", QUIET_DROP, "", "session_started" },
        /* an offer past its deadline */
        { "2027-01-13 12:00", "", "2027-01-14 14:00", "2027-01-13 12:00", QUIET_DROP, "", "deadline_passed" },
        /* an offer made on Saturday night that expires on Sunday: it could go
         * only after its deadline */
        { "2027-01-16 21:00", "", "2027-01-19 14:00", "2027-01-17 21:00", QUIET_DROP, "", "too_late" },
        /* a convocation for a Monday 08:00 session booked on Saturday night */
        { "2027-01-16 21:00", "", "2027-01-18 08:00", "", QUIET_DROP, "", "too_late" },
        /* a survey invitation (no session ahead) on a Sunday */
        { "2027-01-17 12:00", "", "", "", QUIET_HOLD, "2027-01-18 08:30", "closed_day" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        quiet_decision_t d;
#define MS(s) (*(s) ? at(s) : 0)
        quiet_decide(&r, paris(), at(cases[i].now), MS(cases[i].due), MS(cases[i].start), MS(cases[i].deadline), &d);
        if (d.verdict != cases[i].verdict || d.at_ms != MS(cases[i].at) || strcmp(d.reason, cases[i].reason) != 0)
            fail_msg("case %zu: verdict %d at %lld reason %s", i, d.verdict, (long long)d.at_ms, d.reason);
#undef MS
    }
    char err[128];
    assert_int_equal(quiet_rules_parse("20:00", "08:30", "mon,tue,wed,thu,fri,sat,sun", &r, err, sizeof err), 0);
    quiet_decision_t d;
    quiet_decide(&r, paris(), at("2027-01-12 10:00"), 0, 0, 0, &d);
    assert_int_equal(d.verdict, QUIET_DROP);
    assert_string_equal(d.reason, "no_allowed_time");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_parse),
        cmocka_unit_test(test_next_allowed),
        cmocka_unit_test(test_reminder_due),
        cmocka_unit_test(test_decide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
