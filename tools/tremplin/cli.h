/* The tremplin tool's shared context and its subcommands.
 *
 * Every command parses its line the same way (cli_parse: getopt_long, one
 * helper): `COMMAND --help` prints its usage and exits 0 before the
 * configuration or Redis is touched (main.c); an unknown option, a missing
 * value, a bad number, a word too many or too few is a misuse: the reason
 * and the usage on stderr, exit 2, nothing sent or written. Exit codes:
 * 0 done, 1 a service or Redis could not be reached, 2 refused or misused.
 * What people read is French; `--json` gives scripts the answer as JSON. */
#ifndef TP_CLI_H
#define TP_CLI_H

#include "client.h"
#include "intake/intake.h"
#include "rds.h"
#include "scheduler/scheduler.h"
#include "survey/survey.h"
#include "svc.h"

enum { CLI_OK = 0, CLI_UNREACHABLE = 1, CLI_REFUSED = 2 };

typedef struct cli cli_t;

typedef struct {
    const char *name;
    const char *summary; /* one line of `tremplin --help` */
    const char *usage;   /* the command's usage (French): `COMMAND --help`, and after a misuse */
    int (*run)(cli_t *cli, int argc, char **argv);
    const char *no_conf; /* the action that runs without the configuration ("template"), or NULL */
} cli_command_t;

struct cli {
    const cli_command_t *cmd;
    const char *conf_path;
    svc_conf_t conf;
    void *ctx;
    const char *territories[SVC_MAX_TERRITORIES];
    int nterritories;
    char terr_buf[256];
    rds_t *rds; /* opened on first use, as the operator user */
    intake_conf_t intake;
    scheduler_conf_t scheduler;
    survey_conf_t survey;
    int json;  /* --json: answers as JSON */
    int quiet; /* the tool's own steps (the demo season): no confirmation printed */
    int pdf_used; /* a PDF was written: fontconfig's caches to free at the end */
    /* the files people's words come from (cli_tt, cli_catalogue):
     * read on first use */
    timetable_t *tt;
    catalogue_t *cat;
    int tt_tried, cat_tried;
    /* the operator's key ([tool] key or $TREMPLIN_KEY), read on first use */
    keyring_cred_t cred;
    int cred_state; /* 0 not read, 1 read, -1 none or unreadable (said once) */
};

/* Reads the configuration (conf_path: -c FILE, else $TREMPLIN_CONF, else
 * ./tremplin.conf) as the services read it. 0, or -1 after a French message
 * ("fichier de configuration introuvable : …"). */
int cli_init(cli_t *cli, const cli_command_t *cmd, const char *conf_path);
void cli_fini(cli_t *cli);
/* The timetable (venue names, for what is shown) and the catalogue (kind
 * titles, level names), read once; NULL after a warning when one does not
 * load: what is shown then falls back to the codes. */
const timetable_t *cli_tt(cli_t *cli);
const catalogue_t *cli_catalogue(cli_t *cli);
/* The French name of a level ("débutant"), or its number. */
const char *cli_level_fr(cli_t *cli, const char *level, char *out, size_t cap);
/* The French name of a venue, or its code; a kind's title, or its code. */
const char *cli_venue_fr(cli_t *cli, const char *venue);
const char *cli_kind_fr(cli_t *cli, const char *kind);
/* Another program's settings of the same file (its own table), as that
 * program reads them; 0, or -1 after a message. */
int cli_conf_part(cli_t *cli, const char *program, const conf_field_t *fields, size_t n, void *base);

/* ------------------------------------------------------------- the line */

#define CLI_MAX_WORDS 64

/* What cli_parse found: the value of each option by its letter (its `val`
 * in the table: "" for a flag, NULL when not given), the other words in
 * their order. */
typedef struct {
    const char *opt[128];
    const char *word[CLI_MAX_WORDS];
    int nwords;
} cli_args_t;

struct option;
/* Parses argv (what follows the command or its action) with getopt_long:
 * options anywhere, "--" ends them. Between min and max words. 0, or -1
 * after cli_misuse (the caller returns CLI_REFUSED). */
int cli_parse(cli_t *cli, int argc, char **argv, const struct option *opts, int min, int max, cli_args_t *a);
/* Prints "tremplin COMMAND : <reason>" and the command's usage on stderr;
 * returns CLI_REFUSED. */
int cli_misuse(cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An option's number, strictly (digits only, within [min, max]); def when
 * the option was not given. 0, or -1 after cli_misuse. */
int cli_number(cli_t *cli, const cli_args_t *a, char letter, const char *name, long min, long max, long def,
               long *out);
/* The action word of a command with several ("add", "list" …): argv[0]
 * among actions (NULL-terminated), else a misuse. Its index, or -1. */
int cli_action(cli_t *cli, int argc, char **argv, const char *const *actions);

/* ------------------------------------------------------------ services */

/* The operator's key, read once: 1 read (cli->cred), 0 none needed (no
 * [bus] keys_dir), -1 none or unreadable (said on stderr). */
int cli_key(cli_t *cli);
/* A client for one service, with the configured endpoints and retries, and
 * the operator's key; NULL after a message. */
client_t *cli_client(cli_t *cli, const char *service);
/* The operator's Redis connection, or NULL with a message printed. */
rds_t *cli_redis(cli_t *cli);
/* A service by name, or NULL with a message printed. */
struct service_info;
const struct service_info *cli_service(const char *name);

/* How an accepted command is told in French: one sentence (or a few lines)
 * from the Ack; arg is the command's. */
typedef void (*cli_tell_fn)(cli_t *cli, const Tremplin__Ack *ack, void *arg);
/* Sends one command to a service (the territory, if the envelope has none,
 * is the first configured) and tells its answer: with --json the answer as
 * JSON; else tell's sentence, or "refusé : <the service's French message>".
 * Returns the exit code: 0 accepted (a duplicate too), 2 refused, 1 no answer. */
int cli_send(cli_t *cli, const char *service, Tremplin__Envelope *env, cli_tell_fn tell, void *arg);
/* A command with no answer, said on stderr: the key refused at the
 * handshake (CLI_REFUSED), or the service silent (CLI_UNREACHABLE). */
int cli_unanswered(cli_t *cli, client_t *c, const char *service);
/* Before personal data is shown: the read goes to the audit trail of the
 * service that holds it (RecordRead: action, subject; a trainer's key names
 * its trainer). 0 when recorded, else the exit code after a message on
 * stderr: nothing is shown unless it was recorded. */
int cli_record_read(cli_t *cli, const char *service, const char *territory, const char *action, const char *subject);
/* The answer as JSON on stdout (what --json prints); returns the exit code. */
int cli_print_json(const Tremplin__Envelope *reply);
/* A refusal before anything is sent, told like the service's: JSON with
 * --json, else "refusé : message" on stderr. Returns CLI_REFUSED. */
int cli_refuse(cli_t *cli, const char *code, const char *field, const char *message);

/* The territory whose intake holds this person (the first configured when
 * none does, or Redis is away). */
const char *cli_person_territory(cli_t *cli, const char *person_id);

/* ------------------------------------------------------------- French */

/* A booking's or a command's status in French ("booked" → "réservée",
 * "session_cancelled" → "séance annulée"); the code itself when unknown. */
const char *cli_status_fr(const char *status);
/* A consent purpose in French ("sms" → "SMS", "training" → "formation"). */
const char *cli_purpose_fr(const char *purpose);
/* A local date and time as people write it: "lundi 30 novembre 2026 à 9 h 30". */
void cli_when_fr(int64_t ms, char *out, size_t cap);
/* A local date: "30/11/2026" ("" for 0). */
void cli_date_fr(int64_t ms, char out[11]);

/* The characters of a UTF-8 string (not its bytes). */
int cli_chars(const char *s);
/* s padded with spaces to width characters (UTF-8: "é" is one), for the
 * columns of a table in a terminal; printf's %-Ns counts bytes. Returns out. */
const char *cli_pad(const char *s, int width, char *out, size_t cap);
/* Widens *width to hold s (a column as wide as its longest cell). */
void cli_fit(int *width, const char *s);
/* Prints one row of a table: each cell padded to its width (the last one
 * not), separated by two spaces. */
void cli_row(const int *widths, int n, ...);

/* ------------------------------------------------- shared by commands */

/* HGET of a key of service svc in territory T into out ("" when absent or
 * Redis away). */
void cli_hget(cli_t *cli, const char *T, const char *svc, const char *key, const char *field, char *out, size_t cap);
/* The referral of a mediator's reference "BRANCH:EXTERNAL_REF": its ids and
 * territory. 0, -1 (Redis away), -2 (no such reference, or malformed). */
int cli_by_ref(cli_t *cli, const char *ref, char rid[TP_ID_LEN + 1], char pid[TP_ID_LEN + 1], const char **terr);
/* The territory of a branch (the first configured when it is unknown). */
const char *cli_branch_territory(cli_t *cli, const keyring_t *branches, const char *branch);
void cli_referral_envelope(Tremplin__Envelope *env, Tremplin__SubmitReferral *r, const char *territory);
int cli_referral_import(cli_t *cli, int argc, char **argv);
/* A mark as trainers type it: present|absent|excuse (présent, absente,
 * excusé …), English accepted (seen, noshow, excused); its status, or NULL. */
const char *cli_mark(const char *word);
/* A notification's type and delivery status in French (cmd_gateway.c). */
const char *gw_type_fr(const char *type);
const char *gw_status_fr(const char *status);
/* The territory whose sessions the timetable holds. */
const char *cli_scheduler_territory(cli_t *cli);

/* Simulated branch systems (cmd_simulate.c): registers one (marked as
 * simulated; 1 added, 0 it was there or could not be); waits until intake
 * has read its registry again; a client connected as that branch over
 * intake's CURVE endpoint, or NULL after a message. */
int cli_sim_branch_add(cli_t *cli, const char *id, const char *name, const char *territory);
void cli_sim_wait_registry(cli_t *cli);
client_t *cli_sim_connect(cli_t *cli, const char *id);
/* Adds days off for every venue (the timetable's holidays, cmd_scheduler.c):
 * written like `trainer absent` does; exit code. */
int cli_timetable_add_holidays(cli_t *cli, const char *const *days, int n);
/* The report of /api/kpi for [from, to] (local days), computed as the
 * reporter does (cmd_kpi.c); NULL after a message. Put it when done. */
struct json_object *cli_kpi_report(cli_t *cli, const char *from, const char *to);

/* ----------------------------------------------------------- commands */

int cli_ping(cli_t *cli, int argc, char **argv);
int cli_outbox(cli_t *cli, int argc, char **argv);
int cli_probe(cli_t *cli, int argc, char **argv);
int cli_functions(cli_t *cli, int argc, char **argv);
int cli_branch(cli_t *cli, int argc, char **argv);
int cli_kiosk(cli_t *cli, int argc, char **argv);
int cli_operator(cli_t *cli, int argc, char **argv);
int cli_audit(cli_t *cli, int argc, char **argv);
int cli_survey(cli_t *cli, int argc, char **argv);
int cli_referral(cli_t *cli, int argc, char **argv);
int cli_consent(cli_t *cli, int argc, char **argv);
int cli_person(cli_t *cli, int argc, char **argv);
/* The person a command names, by id (word) or by a referral's reference
 * (ref, "BRANCH:REF"), one of the two: its id, territory and intake record (a JSON object
 * the caller puts). CLI_OK, or the exit code with the reason told. */
struct json_object;
int cli_person_find(cli_t *cli, const char *word, const char *ref, char pid[TP_ID_LEN + 1], const char **T,
                    struct json_object **person);
int cli_person_erase(cli_t *cli, int argc, char **argv);
int cli_worklist(cli_t *cli, int argc, char **argv);
int cli_simulate(cli_t *cli, int argc, char **argv);
int cli_season(cli_t *cli, int argc, char **argv);
int cli_sessions(cli_t *cli, int argc, char **argv);
int cli_attendance(cli_t *cli, int argc, char **argv);
int cli_offer(cli_t *cli, int argc, char **argv);
int cli_booking(cli_t *cli, int argc, char **argv);
int cli_session(cli_t *cli, int argc, char **argv);
int cli_trainer(cli_t *cli, int argc, char **argv);
int cli_timetable(cli_t *cli, int argc, char **argv);
int cli_kpi(cli_t *cli, int argc, char **argv);
int cli_roster(cli_t *cli, int argc, char **argv);
int cli_attendance_lines(cli_t *cli, const char *session, char **marks, int nmarks, const char *trainer);
int cli_letters(cli_t *cli, int argc, char **argv);
int cli_notify(cli_t *cli, int argc, char **argv);

#endif
