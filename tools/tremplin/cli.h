/* The tremplin tool's shared context and its subcommands. Exit codes:
 * 0 done, 1 a service or Redis could not be reached, 2 refused or misused. */
#ifndef TP_CLI_H
#define TP_CLI_H

#include "client.h"
#include "intake/intake.h"
#include "rds.h"
#include "scheduler/scheduler.h"
#include "survey/survey.h"
#include "svc.h"

typedef struct {
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
} cli_t;

typedef struct {
    const char *name;
    const char *help;
    int (*run)(cli_t *cli, int argc, char **argv);
} cli_command_t;

int cli_init(cli_t *cli, const char *conf_path);
void cli_fini(cli_t *cli);

/* A client for one service, with the configured endpoints and retries. */
client_t *cli_client(cli_t *cli, const char *service);
/* The operator's Redis connection, or NULL with a message printed. */
rds_t *cli_redis(cli_t *cli);
/* The options and words of a command (argv: what follows its name) with
 * getopt_long: the value of option opts[i] (its val, an ASCII letter) into
 * values[val] (128 slots) ("" for one without a value), the other words in their order
 * into words (at most max, *n of them). 0, or -1 after a message (an
 * unknown option, a value missing, too many words). */
struct option;
int cli_options(int argc, char **argv, const struct option *opts, const char **values, const char **words, int max,
                int *n);
/* A service by name, or NULL with a message printed. */
struct service_info;
const struct service_info *cli_service(const char *name);

int cli_ping(cli_t *cli, int argc, char **argv);
int cli_outbox(cli_t *cli, int argc, char **argv);
int cli_probe(cli_t *cli, int argc, char **argv);
int cli_functions(cli_t *cli, int argc, char **argv);
int cli_branch(cli_t *cli, int argc, char **argv);
int cli_kiosk(cli_t *cli, int argc, char **argv);
int cli_survey(cli_t *cli, int argc, char **argv);
int cli_referral(cli_t *cli, int argc, char **argv);
int cli_consent(cli_t *cli, int argc, char **argv);
int cli_simulate(cli_t *cli, int argc, char **argv);
int cli_sessions(cli_t *cli, int argc, char **argv);
int cli_attendance(cli_t *cli, int argc, char **argv);
int cli_offer(cli_t *cli, int argc, char **argv);
int cli_booking(cli_t *cli, int argc, char **argv);
int cli_session(cli_t *cli, int argc, char **argv);
int cli_kpi(cli_t *cli, int argc, char **argv);
int cli_roster(cli_t *cli, int argc, char **argv);
int cli_attendance_lines(cli_t *cli, int argc, char **argv);
int cli_letters(cli_t *cli, int argc, char **argv);
int cli_notify(cli_t *cli, int argc, char **argv);
/* Sends one command to a service and prints its answer (as `referral
 * submit` does); returns the exit code. */
int cli_command(cli_t *cli, const char *service, Tremplin__Envelope *env);

/* s padded with spaces to width characters (UTF-8: "é" is one), for the
 * columns of a table in a terminal; printf's %-Ns counts bytes. Returns out. */
const char *cli_pad(const char *s, int width, char *out, size_t cap);

#endif
