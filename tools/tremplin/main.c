/* tremplin — the operator's tool: one binary, one subcommand per task. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command_t cli_commands[] = {
    { "ping", "ping [SERVICE...]            ask each service (default: all) for its health", cli_ping },
    { "functions", "functions load               load the services' Redis function libraries (admin)", cli_functions },
    { "outbox", "outbox list [SERVICE] [--page N] [--limit N|--all] | retry|drop SERVICE ID...|--all [--territory T]",
      cli_outbox },
    { "probe", "probe [--count N] [--poison|--poison-retryable] HOP...   send bus probes through the services", cli_probe },
    { "branch", "branch add ID --name N --territory T | revoke ID | list", cli_branch },
    { "kiosk", "kiosk add ID [--name N] [--territory T] | revoke ID | list   survey kiosks (CURVE keys)", cli_kiosk },
    { "survey", "survey submit [FILE|-] | import FILE.csv | show PARTICIPATION   answers typed in", cli_survey },
    { "referral", "referral submit [FILE|-] | import FILE.csv|FILE.jsonl | explain ID", cli_referral },
    { "consent", "consent withdraw PERSON_ID training|sms|survey", cli_consent },
    { "sessions", "sessions [--week YYYY-Www] [--kind K]   seats taken/capacity and waitlists", cli_sessions },
    { "attendance", "attendance SESSION PERSON seen|noshow|excused [--trainer ID]   (again: a correction)\n"
                    "  attendance SESSION [N=present|absent|excuse ...] [--trainer ID]   by the roster's line numbers",
      cli_attendance },
    { "offer", "offer accept|decline BOOKING", cli_offer },
    { "booking", "booking cancel BOOKING [REASON]", cli_booking },
    { "session", "session cancel SESSION REASON", cli_session },
    { "kpi", "kpi [--from D] [--to D] [--by week|month|branch|partner|kind|territory] [--json] | close | periods"
             "   the figures (same as /api/kpi)", cli_kpi },
    { "roster", "roster SESSION [--csv FILE] [--pdf FILE] [--sep ,|;]   participants, CSV, sign-in sheet", cli_roster },
    { "letters", "letters --date YYYY-MM-DD --pdf FILE   the day's letters, one page each", cli_letters },
    { "notify", "notify list [--failed] [--person ID] [--limit N]   delivery status of the notifications", cli_notify },
    { "simulate", "simulate [--branches N] [--count N] [--seed S] [--rate R]  branch systems over CURVE", cli_simulate },
};

static void cli_usage(FILE *f)
{
    fprintf(f, "usage: tremplin [-c CONF] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        fprintf(f, "  %s\n", cli_commands[i].help);
    fprintf(f, "\nCONF defaults to $TREMPLIN_CONF, then ./tremplin.conf.\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *conf = NULL;
    if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
        conf = argv[i + 1];
        i += 2;
    }
    if (i >= argc || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "help")) {
        cli_usage(i >= argc ? stderr : stdout);
        return i >= argc ? 2 : 0;
    }
    for (size_t k = 0; k < sizeof cli_commands / sizeof cli_commands[0]; k++)
        if (strcmp(argv[i], cli_commands[k].name) == 0) {
            cli_t cli;
            if (cli_init(&cli, conf) != 0)
                return 1;
            int rc = cli_commands[k].run(&cli, argc - i - 1, argv + i + 1);
            cli_fini(&cli);
            return rc;
        }
    fprintf(stderr, "tremplin: unknown command '%s'\n\n", argv[i]);
    cli_usage(stderr);
    return 2;
}
