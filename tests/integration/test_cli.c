/* The tremplin tool as its users meet it, through the real binary against a
 * real Redis and the real services: every command of the README, each
 * misuse refused with exit 2 and the usage (unknown option, missing value,
 * extra argument, typo'd command), `--help` exiting 0 without the
 * configuration or Redis, and — checked with a snapshot of every Redis key
 * and of the instance's files — no misuse changing anything. Then a
 * mediator's day: referrals, person show (by id and by the mediator's
 * reference), consents given back, the worklist, bookings, sessions,
 * attendance; and the imports as French Excel writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <czmq.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "snapshot.h"
#include "util.h"

#define MON "20261130-0930-wilson-initiation"

static h_env_t env;
static pid_t sched_pid;

static int survey_leases(h_env_t *h, void *arg)
{
    (void)arg;
    return h_redis_int(h, "EXISTS tp:{42}:survey:lease:timers tp:{42}:survey:lease:purge") == 2;
}

static int setup(void **state)
{
    (void)state;
    zsys_handler_set(NULL);
    if (h_setup(&env) != 0)
        return -1;
    char out[2048];
    /* one Monday session of two seats; Sunday 29 November 2026, 19:00 in
     * Saint-Étienne */
    if (h_write(&env, "timetable.json",
                "{ \"version\": \"cli\", \"timezone\": \"Europe/Paris\", \"horizon_days\": 1,\n"
                "  \"venues\": [ { \"id\": \"wilson\", \"name_fr\": \"Wilson\" } ],\n"
                "  \"slots\": [ { \"day\": \"mon\", \"start\": \"09:30\", \"kind\": \"initiation\", \"venue\": \"wilson\",\n"
                "               \"trainer\": \"t1\", \"capacity\": 2 } ] }\n")
        || h_set_clock(&env, "2026-11-29T18:00:00Z") || h_conf_set(&env, "scheduler", "cutoff_hours", "3")
        || h_cli(&env, out, sizeof out, "branch add wilson --name 'Saint-Étienne Wilson' --territory 42") != 0)
        return -1;
    /* no second chance after a no-show: the first one is flagged for the mediator */
    const char *fast[] = { "TREMPLIN_SCHEDULER_TIMER_MS=100", "TREMPLIN_SCHEDULER_GENERATE_MS=200",
                           "TREMPLIN_SCHEDULER_NOSHOW_CHANCES=0", NULL };
    const char *gw[] = { "TREMPLIN_GATEWAY_TICK_MS=50", NULL };
    const char *survey[] = { "TREMPLIN_SURVEY_PURGE_MS=200", NULL };
    if ((sched_pid = h_start_ready(&env, "scheduler", NULL, fast, 30000)) < 0
        || h_start_ready(&env, "matcher", NULL, NULL, 30000) < 0 || h_start_ready(&env, "intake", NULL, NULL, 30000) < 0
        || h_start_ready(&env, "gateway", NULL, gw, 30000) < 0
        || h_start_ready(&env, "survey", NULL, survey, 30000) < 0) /* its part of person erase */
        return -1;
    /* the survey's timers hold their leases before the snapshots start */
    return h_wait_for(&env, h_session_open, MON, 20000) || h_wait_for(&env, survey_leases, NULL, 20000);
}

static int teardown(void **state)
{
    (void)state;
    h_teardown(&env);
    return 0;
}

static int read_file(const char *path, char *out, size_t cap);

/* tremplin ARGS: its exit code, its output (stdout and stderr) in out. */
static int cli(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cli(char *out, size_t cap, const char *fmt, ...)
{
    char args[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = h_cli(&env, out, cap, args);
    printf("tp $ tremplin %s -> %d\n", args, rc);
    if (getenv("TP_VERBOSE"))
        printf("%s\n", out);
    return rc;
}

/* The column (in characters, UTF-8) where word starts on the first line of
 * out that holds marker; -1 when there is none. */
static int column_at(const char *out, const char *marker, const char *word)
{
    const char *m = strstr(out, marker);
    if (!m)
        return -1;
    const char *line = m;
    while (line > out && line[-1] != '\n')
        line--;
    const char *end = strchr(line, '\n');
    const char *w = strstr(line, word);
    if (!w || (end && w > end))
        return -1;
    int col = 0;
    for (const char *p = line; p < w; p++)
        col += (*p & 0xC0) != 0x80;
    return col;
}

#define SAYS(out, text)                                                                                              \
    do {                                                                                                             \
        if (!strstr(out, text))                                                                                      \
            fprintf(stderr, "expected « %s » in:\n%s\n", text, out);                                                 \
        assert_non_null(strstr(out, text));                                                                          \
    } while (0)

/* ------------------------------------------------------------- misuse */

/* The files of the instance that are not logs nor Redis's, newer than
 * marker: what a command wrote. */
static int files_written_since(const char *marker, char *list, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "find %s -path %s/redis -prune -o -type f ! -name '*.log' -newer %s ! -path %s -print", env.dir, env.dir,
             marker, marker);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(list, 1, cap - 1, p);
    list[n] = '\0';
    pclose(p);
    return (int)n;
}

typedef struct {
    const char *args;
    int rc;
    const char *says;
} misuse_t;

/* Every command's --help, every misuse: exit codes, and nothing changed. */
static void misuse_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    static const char *const commands[] = { "ping",     "functions", "outbox",   "probe",     "branch",   "kiosk",
                                            "referral", "consent",   "person",   "worklist",  "simulate", "sessions",
                                            "attendance", "offer",   "booking",  "session",   "trainer",  "timetable",
                                            "kpi",      "roster",    "letters",  "notify",    "survey" };
    static const misuse_t cases[] = {
        /* typos and the line itself */
        { "sesions", 2, "commande inconnue : sesions — vouliez-vous dire « sessions »" },
        { "", 2, "usage : tremplin [-c CONFIGURATION] COMMANDE" },
        { "--version", 0, "tremplin 0.1.0" },
        { "--help", 0, "commandes :" },
        { "-c /nonexistent/tremplin.conf ping", 2, "fichier de configuration introuvable : /nonexistent/tremplin.conf" },
        { "ping -c", 2, "il manque le fichier de -c" },
        { "ping intake -c /nonexistent/other.conf", 2, "introuvable : /nonexistent/other.conf" }, /* -c anywhere */
        { "ping intake --config=/nonexistent/third.conf", 2, "introuvable : /nonexistent/third.conf" },
        /* --help before the configuration and Redis, even with none */
        { "-c /nonexistent/tremplin.conf outbox list --help", 0, "usage : tremplin outbox list" },
        { "branch add --help", 0, "usage : tremplin branch add ID --name NOM --territory T" },
        { "simulate --help", 0, "usage : tremplin simulate" },
        /* unknown options, missing values, extra words, bad numbers */
        { "branch add lyon --name Lyon --territroy 69", 2, "option inconnue : --territroy" },
        { "branch add lyon --name Lyon", 2, "--territory" },
        { "branch add lyon --territory 42", 2, "--name" },
        { "branch add lyon --name Lyon --territory 69", 2, "territoire non desservi : 69" },
        { "branch add", 2, "usage : tremplin branch" },
        { "branch list extra", 2, "argument en trop : extra" },
        { "branch revoke", 2, "usage : tremplin branch" },
        { "branch remove wilson", 2, "action inconnue : remove" },
        { "kiosk add hall --territory 42", 2, "--name" },
        { "simulate --count abc", 2, "--count : un nombre entier" },
        { "simulate --count", 2, "il manque la valeur de --count" },
        { "simulate --bogus", 2, "option inconnue : --bogus" },
        { "simulate extra", 2, "argument en trop : extra" },
        { "sessions --bogus", 2, "option inconnue : --bogus" },
        { "sessions --week", 2, "il manque la valeur de --week" },
        { "sessions --week 2026-49", 2, "usage : tremplin sessions" },
        { "sessions extra", 2, "argument en trop : extra" },
        { "outbox", 2, "quelle action ?" },
        { "outbox list --page", 2, "il manque la valeur de --page" },
        { "outbox list --page abc", 2, "--page : un nombre entier" },
        { "outbox retry", 2, "usage : tremplin outbox" },
        { "probe --count abc intake", 2, "--count : un nombre entier" },
        { "probe", 2, "usage : tremplin probe" },
        { "functions", 2, "quelle action ?" },
        { "functions load extra", 2, "argument en trop : extra" },
        { "ping nosuch", 2, "nosuch" },
        { "referral", 2, "quelle action ?" },
        { "referral submit a.json b.json", 2, "argument en trop : b.json" },
        { "referral import", 2, "il manque un argument" },
        { "referral import /nonexistent/x.csv", 2, "/nonexistent/x.csv" },
        { "referral explain", 2, "un identifiant d'orientation, ou --ref" },
        { "referral explain not-an-id", 2, "identifiant d'orientation invalide" },
        { "referral explain --ref", 2, "il manque la valeur de --ref" },
        { "referral template extra", 2, "argument en trop : extra" },
        { "consent give", 2, "usage : tremplin consent" },
        { "consent give 0123456789abcdef0123456789abcdef marketing", 2, "finalité inconnue : marketing" },
        { "consent give not-a-person sms", 2, "identifiant de personne invalide" },
        { "consent withdraw 0123456789abcdef0123456789abcdef sms extra", 2, "argument en trop : extra" },
        { "consent forget 0123456789abcdef0123456789abcdef sms", 2, "action inconnue : forget" },
        { "person show", 2, "un identifiant de personne, ou --ref" },
        { "person show abc", 2, "identifiant de personne invalide" },
        { "person show --ref", 2, "il manque la valeur de --ref" },
        { "person show --ref nocolon", 2, "AGENCE:REFERENCE" },
        { "person show 0123456789abcdef0123456789abcdef --ref wilson:X", 2, "un identifiant de personne, ou --ref" },
        { "person list", 2, "action inconnue : list" },
        { "person erase", 2, "un identifiant de personne, ou --ref" },
        { "person erase abc", 2, "identifiant de personne invalide" },
        { "person erase --ref nocolon", 2, "AGENCE:REFERENCE" },
        { "person erase 0123456789abcdef0123456789abcdef --ref wilson:X", 2, "un identifiant de personne, ou --ref" },
        { "person erase 0123456789abcdef0123456789abcdef --wait 0", 2, "--wait" },
        { "worklist extra", 2, "argument en trop : extra" },
        { "worklist --branch", 2, "il manque la valeur de --branch" },
        { "worklist --bogus", 2, "option inconnue : --bogus" },
        { "attendance", 2, "usage : tremplin attendance" },
        { "attendance " MON " 0123456789abcdef0123456789abcdef maybe", 2, "marque inconnue : maybe" },
        { "attendance " MON " 0123456789abcdef0123456789abcdef present --trainer", 2, "il manque la valeur de --trainer" },
        { "offer", 2, "quelle action ?" },
        { "offer maybe ABCDEFGHJK", 2, "action inconnue : maybe" },
        { "offer accept", 2, "usage : tremplin offer" },
        { "booking cancel", 2, "usage : tremplin booking" },
        { "session cancel", 2, "usage : tremplin session" },
        { "session reopen", 2, "usage : tremplin session" },
        { "session capacity " MON " abc", 2, "usage : tremplin session" },
        { "session capacity " MON, 2, "usage : tremplin session" },
        { "trainer absent t1 2026-12-01", 2, "usage : tremplin trainer" },
        { "trainer absent t1 2026-13-01 2026-12-02", 2, "usage : tremplin trainer" },
        { "timetable check a b", 2, "argument en trop : b" },
        { "timetable verify", 2, "action inconnue : verify" },
        { "kpi --bogus", 2, "option inconnue : --bogus" },
        { "kpi --from", 2, "il manque la valeur de --from" },
        { "roster", 2, "usage : tremplin roster" },
        { "roster " MON " --sep x", 2, "--sep" },
        { "letters", 2, "usage : tremplin letters" },
        { "notify list --limit abc", 2, "--limit : un nombre entier" },
        { "notify list extra", 2, "argument en trop : extra" },
        { "survey submit a b", 2, "argument en trop : b" },
        { "survey show", 2, "usage : tremplin survey" },
    };
    char marker[400], out[16384], list[4096];
    snprintf(marker, sizeof marker, "%s/misuse.marker", env.dir);
    assert_int_equal(h_write_file(marker, "before the misuse\n"), 0);
    snap_t before, after;
    assert_int_equal(snap_take(&env, &before), 0);

    for (size_t i = 0; i < TP_ARRAY_LEN(commands); i++) {
        char usage[64];
        assert_int_equal(cli(out, sizeof out, "%s --help", commands[i]), 0);
        snprintf(usage, sizeof usage, "usage : tremplin %s", commands[i]);
        SAYS(out, usage);
        /* the forms of the usage together, the explanation after a blank line */
        if (strstr(out, "\n\n       tremplin ") || strstr(out, "\n\n              "))
            fail_msg("tremplin %s --help: a blank line inside the usage:\n%s", commands[i], out);
        /* without a configuration: the same */
        assert_int_equal(cli(out, sizeof out, "-c /nonexistent.conf %s --help", commands[i]), 0);
        SAYS(out, usage);
    }
    for (size_t i = 0; i < TP_ARRAY_LEN(cases); i++) {
        int rc = cli(out, sizeof out, "%s", cases[i].args);
        if (rc != cases[i].rc)
            fprintf(stderr, "tremplin %s: exit %d, not %d:\n%s\n", cases[i].args, rc, cases[i].rc, out);
        assert_int_equal(rc, cases[i].rc);
        SAYS(out, cases[i].says);
    }

    assert_int_equal(snap_take(&env, &after), 0);
    size_t diff = snap_diff(&before, &after, 10);
    snap_free(&before);
    snap_free(&after);
    assert_int_equal(diff, 0);
    if (files_written_since(marker, list, sizeof list) != 0)
        fprintf(stderr, "written by a misuse:\n%s", list);
    assert_int_equal(files_written_since(marker, list, sizeof list), 0);
    printf("tp %zu --help and %zu misuses: exit codes as documented, no Redis key nor file changed\n",
           TP_ARRAY_LEN(commands) * 2, TP_ARRAY_LEN(cases));
}

/* --------------------------------------------------- a mediator's day */

typedef struct {
    char referral[40], person[40];
} referred_t;

static referred_t refer(const char *ref)
{
    referred_t x;
    assert_int_equal(h_refer(&env, ref, NULL, x.referral, x.person), 0);
    return x;
}

static void booking_of(const char *pid, char *bid, size_t cap)
{
    redisReply *b = h_redis(&env, "HGET tp:{42}:scheduler:roster:" MON " %s", pid);
    util_strlcpy(bid, b && b->str ? b->str : "", cap);
    if (b)
        freeReplyObject(b);
}

static void a_mediators_day_through_every_command(void **state)
{
    (void)state;
    char out[16384], path[400], bid_a[24], bid_b[24], bid_c[24];
    referred_t a = refer("WIL-A"), b = refer("WIL-B"), c = refer("WIL-C");
    booking_of(a.person, bid_a, sizeof bid_a);
    booking_of(b.person, bid_b, sizeof bid_b);
    assert_true(bid_a[0] && bid_b[0]);

    /* a referral said in French (default), JSON with --json */
    json_object *o = json_object_from_file("deploy/examples/referral.json");
    json_object_object_add(o, "external_ref", json_object_new_string("WIL-FR"));
    snprintf(path, sizeof path, "%s/fr.json", env.dir);
    assert_int_equal(json_object_to_file(path, o), 0);
    json_object_put(o);
    assert_int_equal(cli(out, sizeof out, "referral submit %s", path), 0);
    SAYS(out, "Orientation enregistrée : Josiane");

    /* person show: by id and by the mediator's reference */
    assert_int_equal(cli(out, sizeof out, "person show %s", a.person), 0);
    SAYS(out, "Orientations (1)");
    SAYS(out, "référence wilson:WIL-A (médiateur med-07)");
    SAYS(out, a.referral);
    SAYS(out, "Réservations (1)");
    SAYS(out, bid_a);
    SAYS(out, "réservée");
    SAYS(out, "Wilson");
    /* the columns hold their longest cell: the status under its heading */
    assert_true(column_at(out, "  date ", "état") > 0);
    assert_int_equal(column_at(out, bid_a, "réservée"), column_at(out, "  date ", "état"));
    SAYS(out, "Consentements");
    /* the convocation the gateway handled (sent, or held for the night) */
    char show[128];
    snprintf(show, sizeof show, "person show %s", a.person);
    assert_int_equal(h_wait_cli(&env, show, 0, "convocation", 20000), 0);
    assert_int_equal(cli(out, sizeof out, "person show --ref wilson:WIL-C"), 0);
    SAYS(out, c.person);
    SAYS(out, "Listes d'attente");
    SAYS(out, "lundi matin : 1re sur 2"); /* WIL-FR came after */
    SAYS(out, "prochaine séance à cette demi-journée : lundi 30 novembre 2026 à 9 h 30, complète");
    SAYS(out, "pas de séance ouverte à cette demi-journée"); /* Thursday: beyond the horizon */
    assert_int_equal(cli(out, sizeof out, "person show --ref wilson:NOPE"), 2);
    assert_int_equal(cli(out, sizeof out, "person show 0123456789abcdef0123456789abcdef"), 2);
    SAYS(out, "personne inconnue");
    assert_int_equal(cli(out, sizeof out, "person show %s --json", a.person), 0);
    json_object *p = json_tokener_parse(out), *arr;
    assert_non_null(p);
    assert_true(json_object_object_get_ex(p, "bookings", &arr));
    assert_string_equal(json_object_get_string(
                            json_object_object_get(json_object_array_get_idx(arr, 0), "booking_id")),
                        bid_a);
    json_object_put(p);

    /* why this workshop, by id and by reference */
    assert_int_equal(cli(out, sizeof out, "referral explain %s", a.referral), 0);
    SAYS(out, "Pourquoi :");
    assert_int_equal(cli(out, sizeof out, "referral explain --ref wilson:WIL-A"), 0);
    SAYS(out, a.referral);

    /* consents: withdrawn, shown with their dates, given again */
    assert_int_equal(cli(out, sizeof out, "consent withdraw %s sms", a.person), 0);
    SAYS(out, "Consentement « SMS » retiré");
    assert_int_equal(cli(out, sizeof out, "person show %s", a.person), 0);
    SAYS(out, "retiré le 29/11/2026");
    assert_int_equal(cli(out, sizeof out, "consent give %s sms", a.person), 0);
    SAYS(out, "Consentement « SMS » donné");
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:person:%s", a.person), 1);
    redisReply *r = h_redis(&env, "HGET tp:{42}:intake:person:%s consent:sms", a.person);
    assert_string_equal(r->str, "given");
    freeReplyObject(r);
    assert_int_equal(cli(out, sizeof out, "consent give %s sms", a.person), 0);
    SAYS(out, "il l'était déjà");

    /* the sessions, the roster with the booking ids */
    assert_int_equal(cli(out, sizeof out, "sessions"), 0);
    SAYS(out, MON);
    SAYS(out, "complète");
    assert_int_equal(cli(out, sizeof out, "roster %s", MON), 0);
    SAYS(out, bid_a);
    SAYS(out, bid_b);

    /* B asks to be erased (by the mediator's reference): her data goes,
     * her booking is released and its seat offered to C, who accepts, then
     * the session cancelled and reopened */
    assert_int_equal(cli(out, sizeof out, "person erase --ref wilson:WIL-B"), 0);
    SAYS(out, "données personnelles effacées : coordonnées");
    SAYS(out, "réservations et listes d'attente libérées");
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:contact:%s", b.person), 0);
    redisReply *released = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s status", bid_b);
    assert_string_equal(released->str, "consent_withdrawn");
    freeReplyObject(released);
    assert_int_equal(cli(out, sizeof out, "person erase %s", b.person), 0);
    SAYS(out, "a déjà été effacée le");
    assert_int_equal(cli(out, sizeof out, "person show %s", b.person), 0);
    SAYS(out, "Données personnelles effacées le");
    SAYS(out, "retiré le");
    assert_int_equal(cli(out, sizeof out, "person erase 0123456789abcdef0123456789abcdef"), 2);
    SAYS(out, "personne inconnue");
    booking_of(c.person, bid_c, sizeof bid_c);
    assert_true(bid_c[0] != '\0');
    assert_int_equal(cli(out, sizeof out, "offer accept %s", bid_c), 0);
    SAYS(out, "Proposition acceptée");
    assert_int_equal(cli(out, sizeof out, "session cancel %s \"formateur absent\"", MON), 0);
    SAYS(out, "séance annulée");
    assert_int_equal(cli(out, sizeof out, "sessions"), 0);
    SAYS(out, "annulée");
    assert_int_equal(cli(out, sizeof out, "session reopen %s", MON), 0);
    /* A and C, moved out by the mistake and still waiting, first in line:
     * both seats offered to them again */
    SAYS(out, "séance rouverte, 2 places proposées");
    assert_int_equal(cli(out, sizeof out, "person show %s", a.person), 0);
    SAYS(out, "place proposée, en attente de réponse");
    SAYS(out, "séance annulée"); /* the first booking, kept in the history */
    assert_int_equal(cli(out, sizeof out, "session reopen %s", MON), 0);
    SAYS(out, "déjà ouverte");

    /* the timetable: checked, a capacity, an absence */
    assert_int_equal(cli(out, sizeof out, "timetable check"), 0);
    SAYS(out, "calendrier valide");
    assert_int_equal(cli(out, sizeof out, "session capacity %s 3", MON), 0);
    SAYS(out, "Calendrier enregistré");
    assert_int_equal(cli(out, sizeof out, "trainer absent t1 2026-12-21 2026-12-22"), 0);
    SAYS(out, "Calendrier enregistré");
    assert_int_equal(cli(out, sizeof out, "timetable check"), 0);
    assert_int_equal(h_reload(&env, sched_pid, "scheduler", 20000), 0);

    /* the worklist: a questionnaire left undetermined */
    o = json_object_from_file("deploy/examples/referral.json");
    json_object_object_add(o, "external_ref", json_object_new_string("WIL-Q-2026-000000123")); /* a long one */
    json_object_object_add(o, "answers", json_object_new_object());
    snprintf(path, sizeof path, "%s/q.json", env.dir);
    assert_int_equal(json_object_to_file(path, o), 0);
    json_object_put(o);
    assert_int_equal(cli(out, sizeof out, "referral submit %s --json", path), 0);
    assert_int_equal(h_wait_cli(&env, "worklist", 0, "wilson:WIL-Q", 20000), 0);
    assert_int_equal(cli(out, sizeof out, "worklist --branch wilson"), 0);
    SAYS(out, "refaire le questionnaire");
    SAYS(out, "med-07");
    /* the reference's column holds it: the mediator under its heading */
    assert_true(column_at(out, "depuis le", "médiateur") > 0);
    assert_int_equal(column_at(out, "wilson:WIL-Q", "med-07"), column_at(out, "depuis le", "médiateur"));
    assert_int_equal(cli(out, sizeof out, "worklist --branch montreynaud"), 0);
    SAYS(out, "Aucune personne");
    assert_int_equal(cli(out, sizeof out, "worklist --json"), 0);
    SAYS(out, "\"what\":\"questionnaire\"");

    /* the seat the reopening offered, accepted: that person is marked */
    char who[40] = "";
    r = h_redis(&env, "HGETALL tp:{42}:scheduler:roster:" MON);
    assert_non_null(r);
    for (size_t i = 0; i + 1 < r->elements && !who[0]; i += 2) {
        redisReply *st = h_redis(&env, "HGET tp:{42}:scheduler:booking:%s status", r->element[i + 1]->str);
        if (st && st->str && (!strcmp(st->str, "offered") || !strcmp(st->str, "booked"))) {
            util_strlcpy(who, r->element[i]->str, sizeof who);
            util_strlcpy(bid_a, r->element[i + 1]->str, sizeof bid_a);
            if (!strcmp(st->str, "offered"))
                assert_int_equal(cli(out, sizeof out, "offer accept %s", bid_a), 0);
        }
        if (st)
            freeReplyObject(st);
    }
    freeReplyObject(r);
    assert_true(who[0] != '\0');
    assert_int_equal(cli(out, sizeof out, "person show %s", who), 0);
    SAYS(out, bid_a);

    /* attendance, once the session has started */
    assert_int_equal(h_set_clock(&env, "2026-11-30T08:45:00Z"), 0);
    assert_int_equal(h_reload(&env, sched_pid, "scheduler", 20000), 0);
    assert_int_equal(cli(out, sizeof out, "attendance %s %s present --trainer t1", MON, who), 0);
    SAYS(out, "Présence notée : présent(e)");
    assert_int_equal(cli(out, sizeof out, "attendance %s %s absente", MON, who), 0);
    SAYS(out, "Présence notée : absent(e)");
    /* the no-show reaches the mediator's worklist, with the reference */
    assert_int_equal(h_wait_cli(&env, "worklist", 0, "absences répétées", 20000), 0);
    assert_int_equal(cli(out, sizeof out, "worklist"), 0);
    SAYS(out, "Initiation au numérique");
    /* corrected to present: the flag is lifted */
    assert_int_equal(cli(out, sizeof out, "attendance %s %s present", MON, who), 0);
    assert_int_equal(cli(out, sizeof out, "worklist"), 0);
    assert_null(strstr(out, "absences répétées"));
    SAYS(out, "wilson:WIL-Q"); /* the questionnaire stays */

    /* a timetable broken by a hand edit: refused by the check, and the tool
     * still lists the sessions (from Redis; the places by their code) */
    char tt[400], saved[8192];
    snprintf(tt, sizeof tt, "%s/timetable.json", env.dir);
    assert_int_equal(read_file(tt, saved, sizeof saved), 0);
    assert_int_equal(h_write_file(tt, "{ \"version\": \"cli\", \"slots\": [ { \"day\": \"mon\" } ]\n"), 0);
    assert_int_equal(cli(out, sizeof out, "timetable check"), 2);
    SAYS(out, "calendrier refusé");
    assert_int_equal(cli(out, sizeof out, "sessions"), 0);
    SAYS(out, MON);
    SAYS(out, "attention : calendrier illisible");
    assert_int_equal(h_write_file(tt, saved), 0);
    assert_int_equal(cli(out, sizeof out, "timetable check"), 0);

    /* the operators' commands */
    assert_int_equal(cli(out, sizeof out, "ping intake"), 0);
    assert_int_equal(cli(out, sizeof out, "outbox list"), 0);
    assert_int_equal(cli(out, sizeof out, "branch list"), 0);
    SAYS(out, "Saint-Étienne Wilson");
    SAYS(out, "active");
    assert_int_equal(cli(out, sizeof out, "kpi"), 0);
    assert_int_equal(cli(out, sizeof out, "kpi periods"), 0);
    assert_int_equal(cli(out, sizeof out, "notify list"), 0);
    assert_int_equal(cli(out, sizeof out, "kiosk add hall --name Hall --territory 42"), 0);
    assert_int_equal(cli(out, sizeof out, "kiosk list"), 0);
    SAYS(out, "hall");
    assert_int_equal(cli(out, sizeof out, "kiosk revoke hall"), 0);
    assert_int_equal(cli(out, sizeof out, "probe --count 10 intake"), 0);
    assert_int_equal(cli(out, sizeof out, "simulate --branches 1 --count 3 --seed 7"), 0);
    assert_int_equal(cli(out, sizeof out, "branch list"), 0);
    SAYS(out, "simulée");
    assert_int_equal(cli(out, sizeof out, "simulate --remove"), 0);
    SAYS(out, "1 agence simulée retirée");
    assert_int_equal(cli(out, sizeof out, "branch list"), 0);
    assert_null(strstr(out, "simulée"));
}

/* ---------------------------------------------------- CSV as Excel */

static int read_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return 0;
}

/* A file as French Excel saves "CSV UTF-8 (séparateur : point-virgule)":
 * BOM, ';', CRLF, Oui, 28/11/2026; a line of each strictness error. */
static void csv_as_french_excel_writes_it(void **state)
{
    (void)state;
    char path[400], out[16384], text[16384];
    assert_int_equal(cli(out, sizeof out, "referral template"), 0);
    assert_int_equal(memcmp(out, "\xEF\xBB\xBF" "branch;external_ref;", 23), 0);
    SAYS(out, "\r\n");

    snprintf(path, sizeof path, "%s/excel.csv", env.dir);
    assert_int_equal(h_write_file(path, "\xEF\xBB\xBF"
                                        "branch;external_ref;mediator_id;partner;given_name;phone;birth_year;availability;"
                                        "consent_given;consent_at;consent_purposes;consent_version;answers\r\n"
                                        "wilson;XL-1;med-1;pimms;Josiane;06 12 34 56 78;1948;mon-am;Oui;28/11/2026;"
                                        "training sms;2026-09;email=1 mouse_touch=2\r\n"
                                        "wilson;XL-2;med-1;pimms;Marcel;0611223344;1950;mon-am;OUI;2026-11-28;"
                                        "training;2026-09;email=1\r\n"
                                        "wilson;XL-3;med-1;pimms;René;0611223344;1950;mon-am;oui;28/11/2026;"
                                        "training;2026-09;email=deux\r\n"
                                        "wilson;XL-4;med-1;pimms;Rose;0611223344;1950;mon-am;oui;28/11/2026;"
                                        "training;2026-09;email=1 email=2\r\n"
                                        "wilson;XL-5;med-1;pimms;Paul;0611223344;48;mon-am;oui;28/11/2026;"
                                        "training;2026-09;email=1\r\n"),
                     0);
    assert_int_equal(cli(out, sizeof out, "referral import %s", path), 2);
    SAYS(out, "5 lignes — 2 acceptées, 0 déjà reçue, 3 refusées, 0 sans réponse");
    /* the accepted lines with their ids */
    char acc[700], rej[700];
    snprintf(acc, sizeof acc, "%s.accepted", path);
    snprintf(rej, sizeof rej, "%s.rejected", path);
    assert_int_equal(read_file(acc, text, sizeof text), 0);
    SAYS(text, "referral_id");
    SAYS(text, "person_id");
    SAYS(text, "XL-1");
    SAYS(text, "XL-2");
    redisReply *r = h_redis(&env, "HGET tp:{42}:intake:ref:wilson:XL-1 referral_id");
    assert_non_null(r);
    assert_non_null(r->str);
    SAYS(text, r->str);
    freeReplyObject(r);
    /* the refused lines as they were, with the reason naming line and column */
    assert_int_equal(read_file(rej, text, sizeof text), 0);
    assert_int_equal(memcmp(text, "\xEF\xBB\xBF", 3), 0);
    SAYS(text, ";motif\r\n");
    SAYS(text, "wilson;XL-3;med-1;pimms;René;");
    SAYS(text, "ligne 4");
    SAYS(text, "email");
    SAYS(text, "ligne 5");
    SAYS(text, "ligne 6");
    SAYS(text, "birth_year");
    /* the .rejected, fixed, imported again: its motif column is ignored */
    assert_int_equal(cli(out, sizeof out, "referral import %s", rej), 2);
    SAYS(out, "3 lignes — 0 acceptée, 0 déjà reçue, 3 refusées");

    /* an unknown column: the whole file refused, nothing sent */
    snprintf(path, sizeof path, "%s/unknown.csv", env.dir);
    assert_int_equal(h_write_file(path, "branch;external_ref;note\r\nwilson;XL-9;x\r\n"), 0);
    assert_int_equal(cli(out, sizeof out, "referral import %s", path), 2);
    SAYS(out, "note");
    SAYS(out, "rien n'a été envoyé");
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:XL-9"), 0);

    /* a JSON array is read as an array */
    snprintf(path, sizeof path, "%s/array.json", env.dir);
    json_object *arr = json_object_new_array();
    for (int i = 0; i < 3; i++) {
        json_object *o = json_object_from_file("deploy/examples/referral.json");
        char ref[16];
        snprintf(ref, sizeof ref, "ARR-%d", i);
        json_object_object_add(o, "external_ref", json_object_new_string(ref));
        json_object_array_add(arr, o);
    }
    assert_int_equal(json_object_to_file(path, arr), 0);
    json_object_put(arr);
    assert_int_equal(cli(out, sizeof out, "referral import %s", path), 0);
    SAYS(out, "3 lignes — 3 acceptées");
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:ARR-2"), 1);
}

/* --------------------------------------------- retried, never lied */

static long long errors_of_redis(h_env_t *h)
{
    redisReply *r = h_redis(h, "INFO errorstats");
    const char *at = r && r->str ? strstr(r->str, "errorstat_ERR:count=") : NULL;
    long long n = at ? atoll(at + strlen("errorstat_ERR:count=")) : 0;
    if (r)
        freeReplyObject(r);
    return n;
}

typedef struct {
    long long from, n;
} errors_t;

static int errors_reached(h_env_t *h, void *arg)
{
    errors_t *e = arg;
    return errors_of_redis(h) - e->from >= e->n;
}

/* intake answers UNAVAILABLE (retryable) while its Redis functions are
 * gone (as during a Redis restart or an upgrade): the import retries those
 * lines with backoff under the same msg_id, and ends with every line
 * accepted once — none written into .rejected, none said unreachable. */
static void import_retries_what_intake_could_not_do_yet(void **state)
{
    (void)state;
    char path[400], bin[400], log[400], out[16384];
    snprintf(path, sizeof path, "%s/retry.jsonl", env.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 1000; i++) {
        json_object *o = json_object_from_file("deploy/examples/referral.json");
        char ref[24];
        snprintf(ref, sizeof ref, "RETRY-%04d", i);
        json_object_object_add(o, "external_ref", json_object_new_string(ref));
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    }
    fclose(f);
    errors_t e = { errors_of_redis(&env), 64 };
    redisReply *r = h_redis(&env, "FUNCTION DELETE intake_v1");
    assert_non_null(r);
    freeReplyObject(r);
    snprintf(bin, sizeof bin, "%s/bin/tremplin", env.build);
    char *argv[] = { bin, "-c", env.conf, "referral", "import", path, NULL };
    pid_t imp = h_spawn_cmd(&env, "import-retry", argv);
    assert_true(imp > 0);
    /* a full window answered UNAVAILABLE, then the functions are back */
    assert_int_equal(h_wait_for(&env, errors_reached, &e, 20000), 0);
    long long unavailable = errors_of_redis(&env) - e.from;
    assert_int_equal(cli(out, sizeof out, "functions load"), 0);
    int status = 0;
    assert_int_equal(h_wait_exit(imp, 120000, &status), 0);
    snprintf(log, sizeof log, "%s/import-retry.log", env.dir);
    assert_int_equal(read_file(log, out, sizeof out), 0);
    printf("tp %lld FCALLs refused while intake's library was gone; the import: %s", unavailable,
           strstr(out, "1000 lignes") ?: out);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    SAYS(out, "1000 lignes — 1000 acceptées, 0 déjà reçue, 0 refusée, 0 sans réponse");
    char rej[500];
    snprintf(rej, sizeof rej, "%s.rejected", path);
    assert_int_not_equal(access(rej, F_OK), 0);
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:intake:ref:wilson:RETRY-0999"), 1);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(misuse_is_refused_and_changes_nothing),
        cmocka_unit_test(a_mediators_day_through_every_command),
        cmocka_unit_test(csv_as_french_excel_writes_it),
        cmocka_unit_test(import_retries_what_intake_could_not_do_yet),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
