/* Unit tests for services/scheduler/timetable: the shipped
 * deploy/timetable.json over four-week windows (holidays, the year-end
 * closure, the one-off), closures per venue, trainer absences, stable and
 * ordered ids, exact [from, to) bounds, the daylight-saving weeks of October
 * 2026 and March 2027 in Europe/Paris, half-days in local time, and every
 * timetable the loader must refuse. Expected instants are written in UTC by
 * hand (never computed with mktime, which is what is under test). Run from
 * the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler/timetable.h"

#define TIMETABLE_PATH "deploy/timetable.json"
#define MAXS 256
#define HOUR 3600000LL
#define MIN 60000LL

static timetable_t deflt; /* deploy/timetable.json, loaded once */

static int setup(void **state)
{
    (void)state;
    char err[512];
    if (timetable_load(TIMETABLE_PATH, &deflt, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    timetable_free(&deflt);
    return 0;
}

/* ------------------------------------------------------------- helpers */

/* UTC ms of a local date and time whose offset from UTC is off hours (1 in
 * winter in Paris, 2 in summer): the expected values, written by hand. */
static int64_t at(int y, int m, int d, int h, int mi, int off)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    return ((days * 24 + h - off) * 60 + mi) * MIN;
}

/* Two venues; the six weekly slots of the default at wilson, and Monday
 * 09:30 at the gare as well. No holidays. */
#define HEAD                                                                                                  \
    "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"horizon_days\":28,\"public_holidays\":\"none\","                                    \
    "\"venues\":[{\"id\":\"wilson\",\"name_fr\":\"Wilson\"},{\"id\":\"gare\",\"name_fr\":\"Gare\"}],"
#define SLOT(day, start, kind, venue, trainer)                                                                \
    "{\"day\":\"" day "\",\"start\":\"" start "\",\"kind\":\"" kind "\",\"venue\":\"" venue                  \
    "\",\"trainer\":\"" trainer "\",\"capacity\":8}"
#define SIX_SLOTS                                                                                             \
    SLOT("mon", "09:30", "initiation", "wilson", "t1") "," SLOT("tue", "14:00", "perfectionnement", "wilson", "t2") \
    "," SLOT("wed", "09:30", "initiation", "wilson", "t1") "," SLOT("thu", "14:00", "budget", "wilson", "t3") "," \
    SLOT("fri", "09:30", "perfectionnement", "wilson", "t2") "," SLOT("sat", "09:30", "initiation", "wilson", "t1") \
    "," SLOT("mon", "09:30", "initiation", "gare", "t4")

static timetable_t *parse_ok(const char *text)
{
    timetable_t *tt = calloc(1, sizeof *tt);
    assert_non_null(tt);
    char err[512] = "";
    int rc = timetable_parse(text, tt, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "refused: %s\n", err);
    assert_int_equal(rc, 0);
    return tt;
}

static int count_on(const tt_session_t *s, int n, const char *date, const char *venue)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += !strcmp(s[i].local_date, date) && (!venue || !strcmp(s[i].venue, venue));
    return c;
}

/* ------------------------------------------------------- the default file */

static void test_load_default(void **state)
{
    (void)state;
    assert_string_equal(deflt.version, "2026-11-1");
    assert_string_equal(deflt.timezone, "Europe/Paris");
    assert_int_equal(deflt.horizon_days, 28);
    assert_int_equal(deflt.nvenues, 1);
    const tt_venue_t *v = timetable_venue(&deflt, "wilson");
    assert_non_null(v);
    assert_string_equal(v->name_fr, "La Poste Wilson — espace numérique");
    assert_null(timetable_venue(&deflt, "gare"));
    assert_int_equal(deflt.nslots, 6);
    int days = 0;
    for (int i = 0; i < deflt.nslots; i++) {
        const tt_slot_t *s = &deflt.slots[i];
        days |= 1 << s->wday;
        assert_int_equal(s->capacity, 8);
        assert_int_equal(s->duration_min, 120);
        assert_true(!strcmp(s->kind, "initiation") || !strcmp(s->kind, "perfectionnement")
                    || !strcmp(s->kind, "budget"));
        assert_string_equal(s->venue, "wilson");
        assert_memory_equal(s->trainer, "face-loire-", 11);
    }
    assert_int_equal(days, 0x7e); /* one slot each day, monday to saturday */
    assert_int_equal(deflt.none_off, 1);
    assert_int_equal(deflt.public_holidays, 1); /* computed, every year */
    assert_int_equal(deflt.nholidays, 0);
    assert_int_equal(deflt.nclosures, 1);
    assert_int_equal(deflt.nabsences, 0);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    timetable_t *tt = calloc(1, sizeof *tt);
    assert_non_null(tt);
    char err[512] = "";
    assert_int_equal(timetable_load("deploy/no-such-timetable.json", tt, err, sizeof err), -1);
    assert_non_null(strstr(err, "deploy/no-such-timetable.json: cannot open"));
    timetable_free(tt);
    free(tt);
}

/* Four-week windows of the default, Monday 00:00 local to Monday 00:00
 * local: 24 sessions, less the holidays and the year-end closure, plus the
 * one-off of Saturday 5 December 2026. */
static void test_four_weeks(void **state)
{
    (void)state;
    const struct {
        int64_t from, to;
        int expected;
        const char *why;
    } cases[] = {
        { at(2027, 1, 4, 0, 0, 1), at(2027, 2, 1, 0, 0, 1), 24, "January 2027: nothing off" },
        { at(2026, 11, 2, 0, 0, 1), at(2026, 11, 30, 0, 0, 1), 23, "Wed 11 Nov" },
        { at(2026, 11, 30, 0, 0, 1), at(2026, 12, 28, 0, 0, 1), 22, "+ one-off 5 Dec, closure from 24 Dec" },
        { at(2026, 12, 7, 0, 0, 1), at(2027, 1, 4, 0, 0, 1), 16, "closure 24-31 Dec, 25 Dec, 1 Jan" },
        { at(2027, 3, 22, 0, 0, 1), at(2027, 4, 19, 0, 0, 2), 23, "Easter Monday 29 Mar" },
        { at(2027, 4, 26, 0, 0, 2), at(2027, 5, 24, 0, 0, 2), 20, "1 May, Ascension 6 May, 8 May, Whit Monday" },
        { at(2026, 5, 4, 0, 0, 2), at(2026, 6, 1, 0, 0, 2), 21, "8 May, Ascension 14 May, Whit Monday 25 May" },
    };
    tt_session_t s[MAXS];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = timetable_sessions(&deflt, cases[i].from, cases[i].to, s, MAXS);
        if (n != cases[i].expected)
            fprintf(stderr, "case %zu (%s): %d sessions\n", i, cases[i].why, n);
        assert_int_equal(n, cases[i].expected);
        for (int j = 0; j < n; j++) {
            assert_true(s[j].start_ms >= cases[i].from && s[j].start_ms < cases[i].to);
            assert_int_equal(s[j].end_ms - s[j].start_ms, 120 * MIN);
            assert_int_equal(s[j].trainer_absent, 0);
        }
    }
}

/* A holiday takes that day's session away and nothing else of the week. */
static void test_holiday_week(void **state)
{
    (void)state;
    static const struct {
        int y, m, d; /* the monday */
        int off;
        int expected;
        const char *gone[2];
    } cases[] = {
        { 2026, 11, 9, 1, 5, { "2026-11-11", NULL } },         /* Armistice, a wednesday */
        { 2026, 7, 13, 2, 5, { "2026-07-14", NULL } },         /* a tuesday */
        { 2027, 5, 3, 2, 4, { "2027-05-06", "2027-05-08" } },  /* Ascension, 8 May a saturday */
        { 2026, 4, 6, 2, 5, { "2026-04-06", NULL } },          /* Easter Monday */
        { 2026, 11, 16, 1, 6, { NULL, NULL } },                /* an ordinary week */
    };
    tt_session_t s[MAXS];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t mon = at(cases[i].y, cases[i].m, cases[i].d, 0, 0, cases[i].off);
        int n = timetable_sessions(&deflt, mon, mon + 7 * 24 * HOUR, s, MAXS);
        assert_int_equal(n, cases[i].expected);
        for (int g = 0; g < 2; g++)
            if (cases[i].gone[g])
                assert_int_equal(count_on(s, n, cases[i].gone[g], NULL), 0);
    }
    /* the same holiday in a timetable of two venues: gone at both */
    timetable_t *tt = parse_ok(HEAD "\"slots\":[" SIX_SLOTS "],\"holidays\":[\"2026-11-16\"]}");
    int64_t mon = at(2026, 11, 16, 0, 0, 1);
    int n = timetable_sessions(tt, mon, mon + 7 * 24 * HOUR, s, MAXS);
    assert_int_equal(n, 5);
    assert_int_equal(count_on(s, n, "2026-11-16", NULL), 0);
    assert_int_equal(timetable_sessions(tt, mon + 7 * 24 * HOUR, mon + 14 * 24 * HOUR, s, MAXS), 7);
    timetable_free(tt);
    free(tt);
}

/* The French public holidays, computed for any year: the eleven days of
 * years whose Easter falls early, late and on leap years (checked against
 * published calendars), nothing else of the year, and the timetable uses
 * them past 2027 as well: no session on Easter Monday 2030 or on 14 July
 * 2100. "none" switches them off. */
static void test_fr_holidays(void **state)
{
    (void)state;
    static const struct {
        int y;
        int easter_monday[2], ascension[2], whit_monday[2];
        int count; /* distinct days (Ascension may fall on 1 or 8 May) */
    } cases[] = {
        { 2008, { 3, 24 }, { 5, 1 }, { 5, 12 }, 10 },  /* Ascension on 1 May */
        { 2024, { 4, 1 }, { 5, 9 }, { 5, 20 }, 11 },   /* leap year */
        { 2025, { 4, 21 }, { 5, 29 }, { 6, 9 }, 11 },
        { 2026, { 4, 6 }, { 5, 14 }, { 5, 25 }, 11 },
        { 2027, { 3, 29 }, { 5, 6 }, { 5, 17 }, 11 },
        { 2028, { 4, 17 }, { 5, 25 }, { 6, 5 }, 11 },
        { 2030, { 4, 22 }, { 5, 30 }, { 6, 10 }, 11 },
        { 2038, { 4, 26 }, { 6, 3 }, { 6, 14 }, 11 },  /* Easter 25 April: the latest */
        { 2100, { 3, 29 }, { 5, 6 }, { 5, 17 }, 11 },  /* not a leap year */
        { 2160, { 3, 24 }, { 5, 1 }, { 5, 12 }, 10 },
    };
    static const int fixed[][2] = { { 1, 1 }, { 5, 1 }, { 5, 8 }, { 7, 14 }, { 8, 15 }, { 11, 1 }, { 11, 11 }, { 12, 25 } };
    static const int dim[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int y = cases[i].y;
        for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++)
            assert_int_equal(timetable_fr_holiday(y, fixed[f][0], fixed[f][1]), 1);
        assert_int_equal(timetable_fr_holiday(y, cases[i].easter_monday[0], cases[i].easter_monday[1]), 1);
        assert_int_equal(timetable_fr_holiday(y, cases[i].ascension[0], cases[i].ascension[1]), 1);
        assert_int_equal(timetable_fr_holiday(y, cases[i].whit_monday[0], cases[i].whit_monday[1]), 1);
        int n = 0;
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= dim[m - 1]; d++)
                n += timetable_fr_holiday(y, m, d);
        if (n != cases[i].count)
            fprintf(stderr, "%d: %d holidays\n", y, n);
        assert_int_equal(n, cases[i].count);
    }
    /* the day after each movable feast is not one */
    assert_int_equal(timetable_fr_holiday(2030, 4, 23), 0);
    assert_int_equal(timetable_fr_holiday(2030, 5, 31), 0);
    assert_int_equal(timetable_fr_holiday(2030, 6, 11), 0);

    /* the default timetable uses them in any year */
    assert_int_equal(timetable_is_holiday(&deflt, "2030-04-22"), 1);
    assert_int_equal(timetable_is_holiday(&deflt, "2100-07-14"), 1);
    assert_int_equal(timetable_is_holiday(&deflt, "2030-04-23"), 0);
    assert_int_equal(timetable_is_holiday(&deflt, "2030-02-30"), -1);
    tt_session_t s[MAXS];
    int64_t mon = at(2030, 4, 22, 0, 0, 2);
    int n = timetable_sessions(&deflt, mon, mon + 7 * 24 * HOUR, s, MAXS);
    assert_int_equal(n, 5);
    assert_int_equal(count_on(s, n, "2030-04-22", NULL), 0);
    tt_session_t one;
    assert_int_equal(timetable_find(&deflt, "20300422-0930-wilson-initiation", &one), -1);
    assert_int_equal(timetable_find(&deflt, "20300424-0930-wilson-initiation", &one), 0);

    /* "none": only the listed days */
    timetable_t *tt = parse_ok(HEAD "\"slots\":[" SIX_SLOTS "],\"holidays\":[\"2030-04-23\"]}");
    assert_int_equal(tt->public_holidays, 0);
    assert_int_equal(timetable_is_holiday(tt, "2030-04-22"), 0);
    assert_int_equal(timetable_is_holiday(tt, "2030-04-23"), 1);
    timetable_free(tt);
    free(tt);
}

/* The kinds must be the catalogue's: a misspelt one is refused with the
 * file, its line and where it is; kinds no session serves are listed; the
 * half-days of the sessions (a Saturday afternoon one-off among them). */
static void test_kinds_and_half_days(void **state)
{
    (void)state;
    static const char *const catalogue[] = { "initiation", "perfectionnement", "budget", "demarches" };
    char err[512] = "", out[256];
    assert_int_equal(timetable_check_kinds(&deflt, catalogue, 4, "cat.json", err, sizeof err), 0);
    assert_int_equal(timetable_unserved_kinds(&deflt, catalogue, 4, out, sizeof out), 1);
    assert_string_equal(out, "demarches");
    assert_int_equal(timetable_unserved_kinds(&deflt, catalogue, 3, out, sizeof out), 0);
    assert_string_equal(out, "");
    /* only two kinds in the catalogue: the default's first budget slot is
     * refused, at its line */
    assert_int_equal(timetable_check_kinds(&deflt, catalogue, 2, "cat.json", err, sizeof err), -1);
    assert_string_equal(err, "deploy/timetable.json:13: slots[3].kind \"budget\" is not a kind of the catalogue "
                             "(cat.json)");

    timetable_t *tt = parse_ok(HEAD "\"slots\":[\n" SLOT("mon", "09:30", "initiation", "wilson", "t1") ",\n"
                               SLOT("wed", "09:30", "initation", "wilson", "t1") "],\n\"one_off\":[\n"
                               "{\"date\":\"2026-12-05\",\"start\":\"14:00\",\"kind\":\"initation\","
                               "\"venue\":\"gare\",\"trainer\":\"t1\",\"capacity\":8}]}");
    assert_int_equal(timetable_check_kinds(tt, catalogue, 4, "cat.json", err, sizeof err), -1);
    assert_string_equal(err, "timetable:3: slots[1].kind \"initation\" is not a kind of the catalogue (cat.json)");
    assert_int_equal(tt->one_off[0].line, 5); /* the second "initation" */
    char h[16][TT_HALF_DAY];
    int n = timetable_half_days(tt, h, 16);
    assert_int_equal(n, 3);
    assert_string_equal(h[0], "mon-am");
    assert_string_equal(h[1], "wed-am");
    assert_string_equal(h[2], "sat-pm");
    timetable_free(tt);
    free(tt);
    n = timetable_half_days(&deflt, h, 16);
    assert_int_equal(n, 7); /* six weekly slots, and the Saturday afternoon one-off */
    assert_string_equal(h[6], "sat-pm");
}

/* A closure removes the sessions of its venue only, inclusive of both
 * ends; one without a venue closes them all. */
static void test_closures(void **state)
{
    (void)state;
    static const struct {
        const char *closure;
        int wilson, gare; /* sessions left in the two weeks from Mon 16 Nov 2026 */
    } cases[] = {
        { "", 12, 2 },
        { "{\"from\":\"2026-11-16\",\"to\":\"2026-11-16\",\"venue\":\"wilson\"}", 11, 2 },
        { "{\"from\":\"2026-11-16\",\"to\":\"2026-11-21\",\"venue\":\"wilson\"}", 6, 2 },
        { "{\"from\":\"2026-11-17\",\"to\":\"2026-11-23\",\"venue\":\"gare\"}", 12, 1 },
        { "{\"from\":\"2026-11-16\",\"to\":\"2026-11-16\",\"venue\":\"\"}", 11, 1 },
        { "{\"from\":\"2026-11-21\",\"to\":\"2026-11-23\",\"reason_fr\":\"Travaux\"}", 10, 1 },
        { "{\"from\":\"2026-01-01\",\"to\":\"2026-11-15\",\"venue\":\"wilson\"}", 12, 2 },
    };
    tt_session_t s[MAXS];
    int64_t mon = at(2026, 11, 16, 0, 0, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[4096];
        snprintf(text, sizeof text, HEAD "\"slots\":[" SIX_SLOTS "],\"closures\":[%s]}", cases[i].closure);
        timetable_t *tt = parse_ok(text);
        int n = timetable_sessions(tt, mon, mon + 14 * 24 * HOUR, s, MAXS);
        int w = 0, g = 0;
        for (int j = 0; j < n; j++) {
            w += !strcmp(s[j].venue, "wilson");
            g += !strcmp(s[j].venue, "gare");
        }
        if (w != cases[i].wilson || g != cases[i].gare)
            fprintf(stderr, "case %zu: wilson %d gare %d\n", i, w, g);
        assert_int_equal(w, cases[i].wilson);
        assert_int_equal(g, cases[i].gare);
        timetable_free(tt);
        free(tt);
    }
}

/* The default's one-off comes out once, beside the saturday morning slot,
 * and only in the windows that hold it. */
static void test_one_off(void **state)
{
    (void)state;
    tt_session_t s[MAXS];
    int n = timetable_sessions(&deflt, at(2026, 11, 1, 0, 0, 1), at(2027, 1, 31, 0, 0, 1), s, MAXS);
    int found = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(s[i].id, "20261205-1400-wilson-budget")) {
            found++;
            assert_int_equal(s[i].start_ms, at(2026, 12, 5, 14, 0, 1));
            assert_string_equal(s[i].trainer, "face-loire-03");
            assert_string_equal(s[i].half_day, "sat-pm");
        }
    assert_int_equal(found, 1);
    assert_int_equal(count_on(s, n, "2026-12-05", NULL), 2);
    /* the saturdays around it have their slot only */
    assert_int_equal(count_on(s, n, "2026-11-28", NULL), 1);
    assert_int_equal(count_on(s, n, "2026-12-12", NULL), 1);
    /* a window that ends at its start misses it; one that starts there has it */
    int64_t t = at(2026, 12, 5, 14, 0, 1);
    n = timetable_sessions(&deflt, t - 5 * HOUR, t, s, MAXS);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].id, "20261205-0930-wilson-initiation");
    n = timetable_sessions(&deflt, t, t + 24 * HOUR, s, MAXS);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].id, "20261205-1400-wilson-budget");

    /* a timetable of one-offs only, asked over all time */
    timetable_t *tt = parse_ok(HEAD "\"slots\":[],\"one_off\":["
                                    "{\"date\":\"2027-06-02\",\"start\":\"10:00\",\"duration_min\":90,"
                                    "\"kind\":\"budget\",\"venue\":\"gare\",\"trainer\":\"t9\",\"capacity\":6}]}");
    n = timetable_sessions(tt, INT64_MIN, INT64_MAX, s, MAXS);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].id, "20270602-1000-gare-budget");
    assert_int_equal(s[0].start_ms, at(2027, 6, 2, 10, 0, 2));
    assert_int_equal(s[0].end_ms, at(2027, 6, 2, 11, 30, 2));
    assert_int_equal(s[0].capacity, 6);
    timetable_free(tt);
    free(tt);
}

/* An absent trainer's sessions stay, flagged; the others' are untouched. */
static void test_absences(void **state)
{
    (void)state;
    timetable_t *tt = parse_ok(HEAD "\"slots\":[" SIX_SLOTS "],\"absences\":["
                                    "{\"trainer\":\"t1\",\"from\":\"2026-11-16\",\"to\":\"2026-11-18\"},"
                                    "{\"trainer\":\"t4\",\"from\":\"2026-11-23\",\"to\":\"2026-11-23\"}]}");
    static const struct {
        const char *id;
        int absent;
    } cases[] = {
        { "20261116-0930-wilson-initiation", 1 }, { "20261116-0930-gare-initiation", 0 },
        { "20261117-1400-wilson-perfectionnement", 0 }, { "20261118-0930-wilson-initiation", 1 },
        { "20261121-0930-wilson-initiation", 0 }, { "20261123-0930-wilson-initiation", 0 },
        { "20261123-0930-gare-initiation", 1 }, { "20261130-0930-gare-initiation", 0 },
    };
    tt_session_t s[MAXS];
    int n = timetable_sessions(tt, at(2026, 11, 16, 0, 0, 1), at(2026, 12, 7, 0, 0, 1), s, MAXS);
    assert_int_equal(n, 21);
    int flagged = 0;
    for (int i = 0; i < n; i++)
        flagged += s[i].trainer_absent;
    assert_int_equal(flagged, 3);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int found = 0;
        for (int j = 0; j < n; j++)
            if (!strcmp(s[j].id, cases[i].id)) {
                found = 1;
                assert_int_equal(s[j].trainer_absent, cases[i].absent);
            }
        assert_int_equal(found, 1);
        tt_session_t one;
        assert_int_equal(timetable_find(tt, cases[i].id, &one), 0);
        assert_int_equal(one.trainer_absent, cases[i].absent);
    }
    timetable_free(tt);
    free(tt);
}

/* Ids say date, start, venue and kind in local time; two calls, and a
 * reload of the file, give the same sessions in the same order. */
static void test_ids_stable_and_ordered(void **state)
{
    (void)state;
    int64_t from = at(2026, 11, 30, 0, 0, 1), to = from + 56 * 24 * HOUR;
    tt_session_t a[MAXS], b[MAXS];
    memset(a, 0xa5, sizeof a);
    memset(b, 0x5a, sizeof b);
    int n = timetable_sessions(&deflt, from, to, a, MAXS);
    assert_true(n > 30);
    assert_int_equal(timetable_sessions(&deflt, from, to, b, MAXS), n);
    assert_memory_equal(a, b, (size_t)n * sizeof a[0]);

    timetable_t *again = calloc(1, sizeof *again);
    assert_non_null(again);
    char err[512];
    assert_int_equal(timetable_load(TIMETABLE_PATH, again, err, sizeof err), 0);
    memset(b, 0, sizeof b);
    assert_int_equal(timetable_sessions(again, from, to, b, MAXS), n);
    for (int i = 0; i < n; i++)
        assert_string_equal(a[i].id, b[i].id);
    timetable_free(again);
    free(again);

    assert_string_equal(a[0].id, "20261130-0930-wilson-initiation");
    assert_string_equal(a[0].local_date, "2026-11-30");
    assert_string_equal(a[0].local_start, "09:30");
    assert_string_equal(a[1].id, "20261201-1400-wilson-perfectionnement");
    for (int i = 0; i < n; i++) {
        char want[TT_ID];
        snprintf(want, sizeof want, "%.4s%.2s%.2s-%.2s%.2s-%s-%s", a[i].local_date, a[i].local_date + 5,
                 a[i].local_date + 8, a[i].local_start, a[i].local_start + 3, a[i].venue, a[i].kind);
        assert_string_equal(a[i].id, want);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a[i].id, a[j].id);
        if (i > 0)
            assert_true(a[i - 1].start_ms < a[i].start_ms);
    }

    /* same start at two venues: by venue */
    timetable_t *tt = parse_ok(HEAD "\"slots\":[" SIX_SLOTS "]}");
    n = timetable_sessions(tt, at(2026, 11, 16, 0, 0, 1), at(2026, 11, 17, 0, 0, 1), a, MAXS);
    assert_int_equal(n, 2);
    assert_string_equal(a[0].id, "20261116-0930-gare-initiation");
    assert_string_equal(a[1].id, "20261116-0930-wilson-initiation");
    assert_int_equal(a[0].start_ms, a[1].start_ms);
    timetable_free(tt);
    free(tt);
}

/* [from, to): a session starting at from is in, one starting at to is out;
 * max keeps the earliest. */
static void test_bounds(void **state)
{
    (void)state;
    int64_t mon = at(2027, 1, 11, 9, 30, 1), tue = at(2027, 1, 12, 14, 0, 1);
    static const struct {
        int64_t df, dt; /* from = mon + df, to = tue + dt */
        int expected;
    } cases[] = {
        { 0, 0, 1 },  { 0, 1, 2 },       { 1, 1, 1 }, { -1, 0, 1 }, { 1, 0, 0 },
        { 0, -1, 1 }, { -HOUR, HOUR, 2 }, { 2 * HOUR, 0, 0 },
    };
    tt_session_t s[MAXS];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = timetable_sessions(&deflt, mon + cases[i].df, tue + cases[i].dt, s, MAXS);
        if (n != cases[i].expected)
            fprintf(stderr, "case %zu: %d\n", i, n);
        assert_int_equal(n, cases[i].expected);
    }
    assert_int_equal(timetable_sessions(&deflt, mon, mon, s, MAXS), 0);
    assert_int_equal(timetable_sessions(&deflt, tue, mon, s, MAXS), 0);
    assert_int_equal(timetable_sessions(&deflt, mon, mon + 1, s, 0), 0);

    /* max: the earliest ones, the same as the head of the full list */
    tt_session_t all[MAXS], few[3];
    int64_t from = at(2027, 1, 4, 0, 0, 1), to = at(2027, 2, 1, 0, 0, 1);
    assert_int_equal(timetable_sessions(&deflt, from, to, all, MAXS), 24);
    assert_int_equal(timetable_sessions(&deflt, from, to, few, 3), 3);
    assert_memory_equal(few, all, sizeof few);
    /* and over all time, at once */
    assert_int_equal(timetable_sessions(&deflt, INT64_MIN, INT64_MAX, few, 3), 3);
    assert_string_equal(few[0].id, "20000103-0930-wilson-initiation"); /* Sat 1 Jan 2000 is a holiday too */
}

/* Europe/Paris: CEST (UTC+2) until Sun 25 Oct 2026 03:00, CET (UTC+1) until
 * Sun 28 Mar 2027 02:00, then CEST again. The same local 09:30 on either
 * side of each change. A timetable without holidays: 29 Mar 2027 is Easter
 * Monday in the default. */
static void test_dst(void **state)
{
    (void)state;
    timetable_t *tt = parse_ok(HEAD "\"slots\":[" SIX_SLOTS "]}");
    const struct {
        const char *id;
        int64_t start;
    } cases[] = {
        { "20261019-0930-wilson-initiation", at(2026, 10, 19, 7, 30, 0) },       /* summer */
        { "20261024-0930-wilson-initiation", at(2026, 10, 24, 7, 30, 0) },       /* saturday before */
        { "20261026-0930-wilson-initiation", at(2026, 10, 26, 8, 30, 0) },       /* monday after: winter */
        { "20261027-1400-wilson-perfectionnement", at(2026, 10, 27, 13, 0, 0) }, /* 14:00 = 13:00Z */
        { "20270322-0930-wilson-initiation", at(2027, 3, 22, 8, 30, 0) },        /* winter */
        { "20270327-0930-wilson-initiation", at(2027, 3, 27, 8, 30, 0) },        /* saturday before */
        { "20270329-0930-wilson-initiation", at(2027, 3, 29, 7, 30, 0) },        /* monday after: summer */
        { "20270329-0930-gare-initiation", at(2027, 3, 29, 7, 30, 0) },
        { "20270330-1400-wilson-perfectionnement", at(2027, 3, 30, 12, 0, 0) },
    };
    tt_session_t s[MAXS];
    int n = timetable_sessions(tt, at(2026, 10, 19, 0, 0, 2), at(2026, 11, 2, 0, 0, 1), s, MAXS);
    assert_int_equal(n, 14);
    int m = timetable_sessions(tt, at(2027, 3, 22, 0, 0, 1), at(2027, 4, 5, 0, 0, 2), s + n, MAXS - n);
    assert_int_equal(m, 14);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int found = 0;
        for (int j = 0; j < n + m; j++)
            if (!strcmp(s[j].id, cases[i].id)) {
                found = 1;
                assert_int_equal(s[j].start_ms, cases[i].start);
                assert_int_equal(s[j].end_ms, cases[i].start + 2 * HOUR);
            }
        if (!found)
            fprintf(stderr, "missing %s\n", cases[i].id);
        assert_int_equal(found, 1);
        tt_session_t one;
        assert_int_equal(timetable_find(tt, cases[i].id, &one), 0);
        assert_int_equal(one.start_ms, cases[i].start);
    }
    /* the local fields do not move with the offset */
    for (int j = 0; j < n + m; j++)
        assert_true(!strcmp(s[j].local_start, "09:30") || !strcmp(s[j].local_start, "14:00"));
    timetable_free(tt);
    free(tt);

    /* the default: no session on Easter Monday, tuesday right */
    tt_session_t one;
    assert_int_equal(timetable_find(&deflt, "20270329-0930-wilson-initiation", &one), -1);
    assert_int_equal(timetable_find(&deflt, "20270330-1400-wilson-perfectionnement", &one), 0);
    assert_int_equal(one.start_ms, at(2027, 3, 30, 12, 0, 0));
    assert_int_equal(timetable_find(&deflt, "20261026-0930-wilson-initiation", &one), 0);
    assert_int_equal(one.start_ms, at(2026, 10, 26, 8, 30, 0));
}

/* Half-days from the local start (am before 12:00), not from UTC. */
static void test_half_day(void **state)
{
    (void)state;
    timetable_t *tt = parse_ok(HEAD "\"slots\":[" SLOT("mon", "11:59", "a", "wilson", "t") "," SLOT(
        "mon", "12:00", "b", "gare", "t") "," SLOT("sat", "08:00", "c", "wilson", "t") "," SLOT("sat", "13:00", "d",
                                                                                               "wilson", "t") "]}");
    static const struct {
        const char *id, *half_day;
    } cases[] = {
        { "20261026-1159-wilson-a", "mon-am" }, /* 10:59Z */
        { "20261026-1200-gare-b", "mon-pm" },   /* 11:00Z: UTC says morning */
        { "20260613-0800-wilson-c", "sat-am" },
        { "20260613-1300-wilson-d", "sat-pm" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tt_session_t s;
        assert_int_equal(timetable_find(tt, cases[i].id, &s), 0);
        assert_string_equal(s.half_day, cases[i].half_day);
        char hd[TT_HALF_DAY];
        assert_int_equal(timetable_half_day(tt, s.start_ms, hd), 0);
        assert_string_equal(hd, cases[i].half_day);
    }
    const struct {
        int64_t ms;
        const char *half_day;
    } instants[] = {
        { at(2026, 10, 24, 22, 30, 0), "sun-am" }, /* 00:30 CEST */
        { at(2026, 10, 26, 11, 30, 0), "mon-pm" }, /* 12:30 CET */
        { at(2026, 10, 26, 10, 59, 0), "mon-am" }, /* 11:59 CET */
        { at(2027, 3, 29, 9, 59, 0), "mon-am" },   /* 11:59 CEST */
        { at(2027, 3, 29, 10, 0, 0), "mon-pm" },   /* 12:00 CEST */
        { at(2027, 1, 2, 22, 59, 0), "sat-pm" },   /* 23:59 CET */
    };
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        char hd[TT_HALF_DAY];
        assert_int_equal(timetable_half_day(tt, instants[i].ms, hd), 0);
        assert_string_equal(hd, instants[i].half_day);
    }
    timetable_free(tt);
    free(tt);
}

static void test_find(void **state)
{
    (void)state;
    tt_session_t s;
    assert_int_equal(timetable_find(&deflt, "20261207-0930-wilson-initiation", &s), 0);
    assert_string_equal(s.id, "20261207-0930-wilson-initiation");
    assert_int_equal(s.start_ms, at(2026, 12, 7, 9, 30, 1));
    assert_int_equal(s.capacity, 8);
    assert_string_equal(s.trainer, "face-loire-01");
    static const char *const missing[] = {
        "20261207-0930-wilson-budget",         /* another kind */
        "20261207-1000-wilson-initiation",     /* another time */
        "20261207-0930-gare-initiation",       /* another venue */
        "20261206-0930-wilson-initiation",     /* a sunday */
        "20261225-0930-wilson-perfectionnement", /* Christmas, a friday */
        "20261228-0930-wilson-initiation",     /* year-end closure */
        "20261207-0930-wilson-initiation-x",
        "20261232-0930-wilson-initiation",
        "2026-12-07-0930-wilson-initiation",
        "20261207",
        "",
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        assert_int_equal(timetable_find(&deflt, missing[i], &s), -1);
}

/* A venue id of 16 characters and a kind of 32 still make an id that fits
 * (63 characters), and a valid message id. */
static void test_longest_id(void **state)
{
    (void)state;
    timetable_t *tt = parse_ok("{\"version\":\"t\",\"timezone\":\"Europe/Paris\","
                               "\"venues\":[{\"id\":\"abcdefghij-_0123\",\"name_fr\":\"X\"}],\"slots\":["
                               "{\"day\":\"sat\",\"start\":\"18:00\",\"duration_min\":360,"
                               "\"kind\":\"abcdefghijklmnopqrstuvwxyz012345\",\"venue\":\"abcdefghij-_0123\","
                               "\"trainer\":\"abcdefghijklmnopqrstuvwxyz-_6789\",\"capacity\":100}]}");
    assert_int_equal(tt->horizon_days, 28); /* default */
    assert_int_equal(tt->slots[0].duration_min, 360);
    tt_session_t s[2];
    assert_int_equal(timetable_sessions(tt, at(2026, 11, 16, 0, 0, 1), at(2026, 11, 23, 0, 0, 1), s, 2), 1);
    assert_int_equal(strlen(s[0].id), 63);
    assert_string_equal(s[0].id, "20261121-1800-abcdefghij-_0123-abcdefghijklmnopqrstuvwxyz012345");
    assert_int_equal(s[0].end_ms, at(2026, 11, 22, 0, 0, 1)); /* ends at midnight exactly */
    tt_session_t one;
    assert_int_equal(timetable_find(tt, s[0].id, &one), 0);
    timetable_free(tt);
    free(tt);
}

/* Accepted: slots back to back, the same time at two venues or two days,
 * comment keys, and duration_min left out. */
static void test_parse_accepts(void **state)
{
    (void)state;
    timetable_t *tt = parse_ok(
        HEAD "\"_comment\":\"x\",\"slots\":["
        "{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"wilson\",\"trainer\":\"t\",\"capacity\":1,"
        "\"_note\":1},"
        "{\"day\":\"mon\",\"start\":\"11:30\",\"kind\":\"a\",\"venue\":\"wilson\",\"trainer\":\"t\",\"capacity\":8},"
        "{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"gare\",\"trainer\":\"t\",\"capacity\":8},"
        "{\"day\":\"tue\",\"start\":\"10:00\",\"kind\":\"a\",\"venue\":\"wilson\",\"trainer\":\"t\",\"capacity\":8}],"
        "\"one_off\":[{\"date\":\"2026-11-16\",\"start\":\"13:30\",\"kind\":\"b\",\"venue\":\"wilson\","
        "\"trainer\":\"u\",\"capacity\":8},{\"date\":\"2026-11-16\",\"start\":\"13:30\",\"kind\":\"b\","
        "\"venue\":\"gare\",\"trainer\":\"u\",\"capacity\":8}],"
        "\"holidays\":[\"2028-02-29\"],\"closures\":[{\"from\":\"2026-12-01\",\"to\":\"2026-12-01\"}]}");
    assert_int_equal(tt->nslots, 4);
    assert_int_equal(tt->slots[0].duration_min, TT_DEFAULT_DURATION);
    assert_int_equal(tt->none_off, 2);
    assert_int_equal(tt->one_off[0].wday, 1);
    assert_string_equal(tt->closures[0].venue, "");
    timetable_free(tt);
    free(tt);
}

/* Every refusal, with the path of what is wrong. */
static void test_parse_errors(void **state)
{
    (void)state;
#define OK_SLOT SLOT("mon", "09:30", "initiation", "wilson", "t1")
    static const struct {
        const char *text, *err;
    } cases[] = {
        { "{", "not JSON" },
        { "[]", "timetable: an object is required" },
        { HEAD "\"public_holidays\":\"de\",\"slots\":[" OK_SLOT "]}", "timetable.public_holidays: \"de\" is not" },
        { "{\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"w\",\"name_fr\":\"W\"}],\"slots\":[]}",
          "timetable.version: a string is required" },
        { "{\"version\":\"\",\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"w\",\"name_fr\":\"W\"}],\"slots\":[]}",
          "timetable.version: must not be empty" },
        { "{\"version\":\"t\",\"venues\":[{\"id\":\"w\",\"name_fr\":\"W\"}],\"slots\":[]}",
          "timetable.timezone: a string is required" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Pariss\",\"venues\":[{\"id\":\"w\",\"name_fr\":\"W\"}],\"slots\":[]}",
          "timetable.timezone: \"Europe/Pariss\" is not a time zone" },
        { "{\"version\":\"t\",\"timezone\":\"../../etc/passwd\",\"venues\":[],\"slots\":[]}",
          "timetable.timezone:" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"horizon_days\":0,\"venues\":[],\"slots\":[]}",
          "timetable.horizon_days: an integer from 1 to 366" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"horizon_days\":\"28\",\"venues\":[],\"slots\":[]}",
          "timetable.horizon_days: an integer from 1 to 366" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"holiday\":[],\"venues\":[],\"slots\":[]}",
          "timetable.holiday: unknown key" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"slots\":[]}", "venues: a list is required" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[],\"slots\":[]}", "venues: at least 1 venue" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[1],\"slots\":[]}",
          "venues[0]: an object is required" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"Wilson\",\"name_fr\":\"W\"}],"
          "\"slots\":[]}",
          "venues[0].id: \"Wilson\" is not a code" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"abcdefghijklmnopq\",\"name_fr\":\"W\"}],"
          "\"slots\":[]}",
          "venues[0].id: \"abcdefghijklmnopq\" is not a code ([a-z0-9_-], 1 to 16 characters)" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"w\"}],\"slots\":[]}",
          "venues[0].name_fr: a string is required" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"w\",\"name_fr\":\"W\"},"
          "{\"id\":\"w\",\"name_fr\":\"V\"}],\"slots\":[]}",
          "venues[1].id: \"w\" twice" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"w\",\"name_fr\":\"W\",\"city\":\"x\"}],"
          "\"slots\":[]}",
          "venues[0].city: unknown key" },
        { HEAD "\"slots\":{}}", "slots: a list is required" },
        { HEAD "\"one_off\":[]}", "slots: a list is required" },
        { HEAD "\"slots\":[" SLOT("sun", "09:30", "initiation", "wilson", "t1") "]}",
          "slots[0].day: \"sun\" is not one of mon, tue, wed, thu, fri, sat" },
        { HEAD "\"slots\":[" SLOT("Mon", "09:30", "initiation", "wilson", "t1") "]}", "slots[0].day: \"Mon\"" },
        { HEAD "\"slots\":[" OK_SLOT "," SLOT("tue", "25:00", "initiation", "wilson", "t1") "]}",
          "slots[1].start: \"25:00\" is not a time HH:MM" },
        { HEAD "\"slots\":[" SLOT("tue", "9:30", "initiation", "wilson", "t1") "]}",
          "slots[0].start: \"9:30\" is not a time" },
        { HEAD "\"slots\":[" SLOT("tue", "09:60", "initiation", "wilson", "t1") "]}",
          "slots[0].start: \"09:60\" is not a time" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"09:30\",\"duration_min\":10,\"kind\":\"a\",\"venue\":\"wilson\","
          "\"trainer\":\"t\",\"capacity\":8}]}",
          "slots[0].duration_min: an integer from 15 to 600" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"23:00\",\"kind\":\"a\",\"venue\":\"wilson\","
          "\"trainer\":\"t\",\"capacity\":8}]}",
          "slots[0].duration_min: the session would end after midnight" },
        { HEAD "\"slots\":[" SLOT("mon", "09:30", "Initiation", "wilson", "t1") "]}",
          "slots[0].kind: \"Initiation\" is not a code" },
        { HEAD "\"slots\":[" SLOT("mon", "09:30", "abcdefghijklmnopqrstuvwxyz0123456", "wilson", "t1") "]}",
          "slots[0].kind: too long" },
        { HEAD "\"slots\":[" SLOT("mon", "09:30", "", "wilson", "t1") "]}", "slots[0].kind: \"\" is not a code" },
        { HEAD "\"slots\":[" SLOT("mon", "09:30", "initiation", "poste", "t1") "]}",
          "slots[0].venue: no venue \"poste\"" },
        { HEAD "\"slots\":[" SLOT("mon", "09:30", "initiation", "wilson", "t 1") "]}",
          "slots[0].trainer: \"t 1\" is not a code" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"wilson\",\"capacity\":8}]}",
          "slots[0].trainer: a string is required" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"wilson\","
          "\"trainer\":\"t\",\"capacity\":0}]}",
          "slots[0].capacity: an integer from 1 to 10000" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"wilson\","
          "\"trainer\":\"t\",\"capacity\":10001}]}",
          "slots[0].capacity: an integer from 1 to 10000" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"wilson\","
          "\"trainer\":\"t\",\"capacity\":8.5}]}",
          "slots[0].capacity: an integer from 1 to 10000" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"wilson\","
          "\"trainer\":\"t\"}]}",
          "slots[0].capacity: an integer from 1 to 10000 is required" },
        { HEAD "\"slots\":[{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"a\",\"venue\":\"wilson\","
          "\"trainer\":\"t\",\"capacity\":8,\"room\":\"1\"}]}",
          "slots[0].room: unknown key" },
        { HEAD "\"slots\":[" OK_SLOT "," SLOT("tue", "09:30", "b", "gare", "t1") "," SLOT("mon", "11:00", "budget",
                                                                                             "wilson", "t2") "]}",
          "slots[2]: overlaps slots[0] at venue \"wilson\" on mon" },
        { HEAD "\"slots\":[" OK_SLOT "," SLOT("mon", "09:30", "budget", "wilson", "t2") "]}",
          "slots[1]: overlaps slots[0]" },
        { HEAD "\"slots\":[" OK_SLOT "," SLOT("mon", "08:00", "budget", "wilson", "t2") "]}",
          "slots[1]: overlaps slots[0]" },
        { HEAD "\"slots\":[" OK_SLOT "],\"one_off\":[{\"date\":\"2026-02-30\",\"start\":\"14:00\",\"kind\":\"a\","
               "\"venue\":\"wilson\",\"trainer\":\"t\",\"capacity\":8}]}",
          "one_off[0].date: \"2026-02-30\" is not a date YYYY-MM-DD" },
        { HEAD "\"slots\":[" OK_SLOT "],\"one_off\":[{\"date\":\"2026-11-16\",\"start\":\"10:00\",\"kind\":\"a\","
               "\"venue\":\"wilson\",\"trainer\":\"t\",\"capacity\":8}]}",
          "one_off[0]: overlaps the weekly slots[0] at venue \"wilson\"" },
        { HEAD "\"slots\":[" OK_SLOT "],\"one_off\":[{\"date\":\"2026-11-17\",\"start\":\"10:00\",\"kind\":\"a\","
               "\"venue\":\"wilson\",\"trainer\":\"t\",\"capacity\":8},{\"date\":\"2026-11-17\",\"start\":\"11:00\","
               "\"kind\":\"b\",\"venue\":\"wilson\",\"trainer\":\"u\",\"capacity\":8}]}",
          "one_off[1]: overlaps one_off[0]" },
        { HEAD "\"slots\":[" OK_SLOT "],\"one_off\":[{\"date\":\"2026-11-17\",\"start\":\"10:00\",\"kind\":\"a\","
               "\"venue\":\"nowhere\",\"trainer\":\"t\",\"capacity\":8}]}",
          "one_off[0].venue: no venue \"nowhere\"" },
        { HEAD "\"slots\":[" OK_SLOT "],\"one_off\":{}}", "one_off: a list is required" },
        { HEAD "\"slots\":[" OK_SLOT "],\"holidays\":[\"2026-13-01\"]}",
          "holidays[0]: \"2026-13-01\" is not a date" },
        { HEAD "\"slots\":[" OK_SLOT "],\"holidays\":[\"2027-02-29\"]}", "holidays[0]: \"2027-02-29\"" },
        { HEAD "\"slots\":[" OK_SLOT "],\"holidays\":[\"1999-12-25\"]}", "holidays[0]: \"1999-12-25\"" },
        { HEAD "\"slots\":[" OK_SLOT "],\"holidays\":[\"25/12/2026\"]}", "holidays[0]: \"25/12/2026\"" },
        { HEAD "\"slots\":[" OK_SLOT "],\"holidays\":[20261225]}", "holidays[0]: \"\" is not a date" },
        { HEAD "\"slots\":[" OK_SLOT "],\"holidays\":[\"2026-12-25\",\"2026-12-25\"]}",
          "holidays[1]: 2026-12-25 twice" },
        { HEAD "\"slots\":[" OK_SLOT "],\"closures\":[{\"from\":\"2026-12-31\",\"to\":\"2026-12-24\"}]}",
          "closures[0]: from is after to" },
        { HEAD "\"slots\":[" OK_SLOT "],\"closures\":[{\"from\":\"2026-12-24\",\"to\":\"2026-12-32\"}]}",
          "closures[0].to: \"2026-12-32\" is not a date" },
        { HEAD "\"slots\":[" OK_SLOT "],\"closures\":[{\"to\":\"2026-12-31\"}]}",
          "closures[0].from: a string is required" },
        { HEAD "\"slots\":[" OK_SLOT "],\"closures\":[{\"from\":\"2026-12-24\",\"to\":\"2026-12-31\","
               "\"venue\":\"poste\"}]}",
          "closures[0].venue: no venue \"poste\"" },
        { HEAD "\"slots\":[" OK_SLOT "],\"closures\":[{\"from\":\"2026-12-24\",\"to\":\"2026-12-31\",\"reason\":\"x\"}]}",
          "closures[0].reason: unknown key" },
        { HEAD "\"slots\":[" OK_SLOT "],\"absences\":[{\"trainer\":\"t1\",\"from\":\"2026-12-15\",\"to\":\"2026-12-14\"}]}",
          "absences[0]: from is after to" },
        { HEAD "\"slots\":[" OK_SLOT "],\"absences\":[{\"trainer\":\"t7\",\"from\":\"2026-12-14\",\"to\":\"2026-12-14\"}]}",
          "absences[0].trainer: no slot or one-off has trainer \"t7\"" },
        { HEAD "\"slots\":[" OK_SLOT "],\"absences\":[{\"trainer\":\"t1\",\"from\":\"2026-12-14\"}]}",
          "absences[0].to: a string is required" },
        { HEAD "\"slots\":[" OK_SLOT "],\"absences\":[\"t1\"]}", "absences[0]: an object is required" },
        /* the one strictness of common/jsondoc */
        { HEAD "\"slots\":[" OK_SLOT "]} x", "not JSON: text after the document (line 1, offset " },
        { HEAD "\"slots\":[" OK_SLOT "]}\n{}", "not JSON: text after the document (line 2, offset " },
        { HEAD "\"slots\":[" OK_SLOT ",]}", "not JSON: unexpected character" },
        { HEAD "\"slots\":[" OK_SLOT "] /* weekly */}", "not JSON: object value separator" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"venues\":[{\"id\":\"w\",\"name_fr\":\"W\","
          "\"address_fr\":null}],\"slots\":[]}",
          "venues[0].address_fr: a string is required" },
        { "{\"version\":\"t\",\"timezone\":\"Europe/Paris\",\"horizon_days\":null,\"venues\":[],\"slots\":[]}",
          "timetable.horizon_days: an integer from 1 to 366 is required" },
        { HEAD "\"slots\":[" OK_SLOT "],\"public_holidays\":null}", "timetable.public_holidays: a string is required" },
        { HEAD "\"slots\":[" OK_SLOT "],\"closures\":[{\"from\":\"2026-12-24\",\"to\":\"2026-12-31\","
               "\"reason_fr\":\"a\\u0000b\"}]}",
          "closures[0].reason_fr: contains a NUL character" },
    };
#undef OK_SLOT
    timetable_t *tt = calloc(1, sizeof *tt);
    assert_non_null(tt);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        int rc = timetable_parse(cases[i].text, tt, err, sizeof err);
        if (rc != -1 || !strstr(err, cases[i].err))
            fprintf(stderr, "case %zu: rc %d, err \"%s\", wanted \"%s\"\n", i, rc, err, cases[i].err);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, cases[i].err));
    }
    /* an error message is cut, never overflowed */
    char small[8];
    assert_int_equal(timetable_parse(cases[0].text, tt, small, sizeof small), -1);
    assert_int_equal(strlen(small), sizeof small - 1);
    timetable_free(tt);
    free(tt);
}

/* A file the loader refuses names the file. */
static void test_load_error_names_file(void **state)
{
    (void)state;
    char path[] = "/tmp/tp-timetable-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(HEAD "\"slots\":[" SLOT("sun", "09:30", "initiation", "wilson", "t1") "]}", f);
    fclose(f);
    timetable_t *tt = calloc(1, sizeof *tt);
    assert_non_null(tt);
    char err[512] = "", want[600];
    assert_int_equal(timetable_load(path, tt, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: slots[0].day: \"sun\"", path);
    assert_non_null(strstr(err, want));
    remove(path);
    timetable_free(tt);
    free(tt);
}

/* ------------------------------------------------ a national timetable */

/* A network far past the old caps (16 venues, 64 slots, 100 seats, 1 024
 * sessions): 300 venues of 8 weekly slots each (2 400 slots) of 500 seats,
 * a listed holiday, closures of one venue or all, absences, a Sunday
 * one-off and one session's own capacity; extra
 * is spliced into "slots" (a slot) and "one_off" (a one-off). */
#define BIG_VENUES 300
#define BIG_PER_VENUE 8

static char *big_timetable(const char *extra_slot, const char *extra_one_off)
{
    static const char *const days[BIG_PER_VENUE] = { "mon", "mon", "tue", "tue", "wed", "thu", "fri", "sat" };
    static const char *const starts[BIG_PER_VENUE] = { "09:00", "14:00", "09:00", "14:00", "09:00", "14:00", "09:00", "09:00" };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fputs("{\"version\":\"national\",\"timezone\":\"Europe/Paris\",\"public_holidays\":\"none\",\n\"venues\":[", f);
    for (int v = 0; v < BIG_VENUES; v++)
        fprintf(f, "%s{\"id\":\"v%03d\",\"name_fr\":\"Lieu %d\"}\n", v ? "," : "", v, v);
    fputs("],\n\"slots\":[", f);
    for (int v = 0; v < BIG_VENUES; v++)
        for (int k = 0; k < BIG_PER_VENUE; k++)
            fprintf(f, "%s{\"day\":\"%s\",\"start\":\"%s\",\"kind\":\"%s\",\"venue\":\"v%03d\",\"trainer\":\"t%03d\","
                       "\"capacity\":500}\n",
                    v || k ? "," : "", days[k], starts[k], k % 2 ? "budget" : "initiation", v, v);
    if (extra_slot)
        fprintf(f, ",%s\n", extra_slot);
    fputs("],\n\"one_off\":[{\"date\":\"2027-01-10\",\"start\":\"10:00\",\"kind\":\"budget\",\"venue\":\"v000\","
          "\"trainer\":\"t000\",\"capacity\":500}", f);
    if (extra_one_off)
        fprintf(f, ",%s", extra_one_off);
    /* every other venue closed on Wednesday 20, all on Friday 29; every
     * third trainer absent on Thursday 21 */
    fputs("],\n\"closures\":[{\"from\":\"2027-01-29\",\"to\":\"2027-01-29\"}", f);
    for (int v = 0; v < BIG_VENUES; v += 2)
        fprintf(f, ",{\"from\":\"2027-01-20\",\"to\":\"2027-01-20\",\"venue\":\"v%03d\"}", v);
    fputs("],\n\"absences\":[", f);
    for (int v = 0; v < BIG_VENUES; v += 3)
        fprintf(f, "%s{\"trainer\":\"t%03d\",\"from\":\"2027-01-21\",\"to\":\"2027-01-21\"}", v ? "," : "", v);
    fputs("],\n\"holidays\":[\"2027-01-13\"],\n"
          "\"capacities\":[{\"session\":\"20270118-0900-v150-initiation\",\"capacity\":700}]}\n", f);
    fclose(f);
    return text;
}

static double big_ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void test_national_timetable(void **state)
{
    (void)state;
    char *text = big_timetable(NULL, NULL);
    timetable_t *tt = calloc(1, sizeof *tt);
    assert_non_null(tt);
    char err[512] = "";
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = timetable_parse(text, tt, err, sizeof err);
    double load_ms = big_ms_since(&t0);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(tt->nvenues, BIG_VENUES);
    assert_int_equal(tt->nslots, BIG_VENUES * BIG_PER_VENUE);
    /* every slot's kind points to its own line (one venue or slot a line) */
    assert_int_equal(tt->slots[0].line, BIG_VENUES + 3);
    assert_int_equal(tt->slots[BIG_VENUES * BIG_PER_VENUE - 1].line, BIG_VENUES + 2 + BIG_VENUES * BIG_PER_VENUE);
    assert_int_equal(tt->one_off[0].line, BIG_VENUES + 4 + BIG_VENUES * BIG_PER_VENUE);

    /* four weeks from Monday 4 January 2027 (no change of time): every slot
     * four times, less Wednesday 13 (one slot a venue), Wednesday 20 at
     * every other venue, Friday 29 everywhere, plus the one-off */
    int64_t from = at(2027, 1, 4, 0, 0, 1), to = at(2027, 2, 1, 0, 0, 1);
    tt_session_t *all = NULL;
    int cap = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = timetable_sessions_all(tt, from, to, &all, &cap);
    double gen_ms = big_ms_since(&t0);
    assert_int_equal(n, 4 * BIG_VENUES * BIG_PER_VENUE - BIG_VENUES - BIG_VENUES / 2 - BIG_VENUES + 1);
    assert_true(cap >= n);
    int own = 0, absent = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        if (i > 0) { /* in order: start, then venue */
            assert_true(all[i - 1].start_ms <= all[i].start_ms);
            if (all[i - 1].start_ms == all[i].start_ms)
                assert_true(strcmp(all[i - 1].venue, all[i].venue) < 0);
        }
        assert_int_equal(count_on(&all[i], 1, "2027-01-13", NULL), 0);
        own += all[i].capacity == 700;
        assert_int_equal(count_on(&all[i], 1, "2027-01-29", NULL), 0);
        if (!strcmp(all[i].local_date, "2027-01-20"))
            assert_true(atoi(all[i].venue + 1) % 2 == 1);
        absent += all[i].trainer_absent;
        assert_int_equal(all[i].trainer_absent,
                         !strcmp(all[i].local_date, "2027-01-21") && atoi(all[i].trainer + 1) % 3 == 0);
        assert_true(all[i].capacity == 500 || !strcmp(all[i].id, "20270118-0900-v150-initiation"));
        tt_session_t again;
        assert_int_equal(timetable_find(tt, all[i].id, &again), 0); /* each found by its id */
        assert_string_equal(again.id, all[i].id);
        assert_int_equal(again.start_ms, all[i].start_ms);
        assert_int_equal(again.capacity, all[i].capacity);
    }
    double find_ms = big_ms_since(&t0);
    assert_int_equal(own, 1);
    assert_int_equal(absent, BIG_VENUES / 3);
    /* the fixed-size form gives the same first ones */
    tt_session_t few[MAXS];
    assert_int_equal(timetable_sessions(tt, from, to, few, MAXS), MAXS);
    for (int i = 0; i < MAXS; i++)
        assert_string_equal(few[i].id, all[i].id);
    fprintf(stderr, "national timetable: %zu bytes, %d slots: parsed in %.1f ms; %d sessions of four weeks made in "
                    "%.1f ms, each found by its id in %.1f ms\n",
            strlen(text), tt->nslots, load_ms, n, gen_ms, find_ms);
    free(all);
    timetable_free(tt);
    free(tt);
    free(text);

    /* still checked at that size: an overlap of weekly slots, a one-off on
     * a weekly slot, seats past the sanity bound */
    static const struct {
        const char *slot, *one_off, *err;
    } bad[] = {
        { "{\"day\":\"mon\",\"start\":\"09:30\",\"kind\":\"budget\",\"venue\":\"v299\",\"trainer\":\"t299\",\"capacity\":9}",
          NULL, "slots[2400]: overlaps slots[2392] at venue \"v299\" on mon" },
        { NULL,
          "{\"date\":\"2027-01-12\",\"start\":\"15:00\",\"kind\":\"budget\",\"venue\":\"v123\",\"trainer\":\"t123\","
          "\"capacity\":9}",
          "one_off[1]: overlaps the weekly slots[987] at venue \"v123\"" },
        { NULL,
          "{\"date\":\"2027-01-10\",\"start\":\"11:00\",\"kind\":\"budget\",\"venue\":\"v000\",\"trainer\":\"t000\","
          "\"capacity\":9}",
          "one_off[1]: overlaps one_off[0] at venue \"v000\"" },
        { "{\"day\":\"sat\",\"start\":\"18:00\",\"kind\":\"budget\",\"venue\":\"v001\",\"trainer\":\"t1\",\"capacity\":10001}",
          NULL, "slots[2400].capacity: an integer from 1 to 10000 is required" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        text = big_timetable(bad[i].slot, bad[i].one_off);
        timetable_t *t = calloc(1, sizeof *t);
        assert_non_null(t);
        err[0] = '\0';
        assert_int_equal(timetable_parse(text, t, err, sizeof err), -1);
        if (strcmp(err, bad[i].err) != 0)
            fprintf(stderr, "case %zu: %s\n", i, err);
        assert_string_equal(err, bad[i].err);
        timetable_free(t);
        free(t);
        free(text);
    }
}

/* The loader reads the whole file or refuses it: a file over TT_MAX_FILE
 * (cut there it would still parse: the padding is white space) and one
 * holding a NUL byte are refused with the file's name. A timetable is not
 * held to the 1 MiB of other documents: a national one is larger. */
static void test_load_refuses_what_it_cannot_read_whole(void **state)
{
    (void)state;
    static const struct {
        size_t pad;
        char c;
        const char *reason;
    } cases[] = {
        { TT_MAX_FILE, ' ', ": larger than 64 MiB" },
        { 1, '\0', ": holds a NUL byte" },
        { 2 * 1024 * 1024, ' ', NULL }, /* over the 1 MiB of other documents: loaded */
        { 0, ' ', NULL }, /* the same text without them: loaded */
    };
    timetable_t *tt = calloc(1, sizeof *tt);
    assert_non_null(tt);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[] = "/tmp/tp-timetable-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        assert_non_null(f);
        fputs(HEAD "\"slots\":[" SIX_SLOTS "]}\n", f);
        for (size_t j = 0; j < cases[i].pad; j++)
            fputc(cases[i].c, f);
        fclose(f);
        char err[512] = "", want[600];
        if (!cases[i].reason) {
            assert_int_equal(timetable_load(path, tt, err, sizeof err), 0);
            assert_int_equal(tt->nslots, 7);
            timetable_free(tt);
        } else {
            assert_int_equal(timetable_load(path, tt, err, sizeof err), -1);
            snprintf(want, sizeof want, "%s%s", path, cases[i].reason);
            assert_string_equal(err, want);
        }
        remove(path);
    }
    timetable_free(tt);
    free(tt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_default),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_four_weeks),
        cmocka_unit_test(test_holiday_week),
        cmocka_unit_test(test_fr_holidays),
        cmocka_unit_test(test_kinds_and_half_days),
        cmocka_unit_test(test_closures),
        cmocka_unit_test(test_one_off),
        cmocka_unit_test(test_absences),
        cmocka_unit_test(test_ids_stable_and_ordered),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_dst),
        cmocka_unit_test(test_half_day),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_longest_id),
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_load_error_names_file),
        cmocka_unit_test(test_load_refuses_what_it_cannot_read_whole),
        cmocka_unit_test(test_national_timetable),
    };
    return cmocka_run_group_tests_name("timetable", tests, setup, teardown);
}
