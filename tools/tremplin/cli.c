/* Shared context of the tremplin tool: configuration, ZeroMQ, Redis. */
#include "cli.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "loop.h"
#include "services.h"

int cli_init(cli_t *cli, const char *conf_path)
{
    memset(cli, 0, sizeof *cli);
    zsys_handler_set(NULL);
    log_init("tremplin", TPLOG_WARN);
    char *argv[] = { "tremplin", "-c", (char *)conf_path, NULL };
    cli->conf_path = conf_path ? conf_path : svc_conf_path(1, argv);
    char err[512];
    /* the operator's settings, then intake's (branch keys), the
     * scheduler's (timetable) and the survey's (kiosk keys), each read as
     * that service reads them */
    svc_conf_t scratch;
    svc_def_t operator_part = { .sections = tp_conf_sections };
    svc_def_t intake_part = { .sections = tp_conf_sections, .conf_fields = intake_conf_fields, .nconf_fields = intake_nconf_fields,
                              .conf_base = &cli->intake };
    svc_def_t scheduler_part = { .sections = tp_conf_sections, .conf_fields = scheduler_conf_fields, .nconf_fields = scheduler_nconf_fields,
                                 .conf_base = &cli->scheduler };
    svc_def_t survey_part = { .sections = tp_conf_sections, .conf_fields = survey_conf_fields, .nconf_fields = survey_nconf_fields,
                              .conf_base = &cli->survey };
    if (svc_conf_load(cli->conf_path, "operator", &cli->conf, &operator_part, err, sizeof err) != 0
        || svc_conf_load(cli->conf_path, "intake", &scratch, &intake_part, err, sizeof err) != 0
        || svc_conf_load(cli->conf_path, "scheduler", &scratch, &scheduler_part, err, sizeof err) != 0
        || svc_conf_load(cli->conf_path, "survey", &scratch, &survey_part, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin: %s\n", err);
        return -1;
    }
    /* the tool inspects and repairs whatever Redis it finds; only the
     * services refuse to work on one without AOF */
    cli->conf.redis.require_aof = 0;
    cli->nterritories = svc_territories(&cli->conf, cli->terr_buf, sizeof cli->terr_buf, cli->territories,
                                        SVC_MAX_TERRITORIES);
    cli->ctx = zmq_ctx_new();
    return 0;
}

void cli_fini(cli_t *cli)
{
    rds_destroy(&cli->rds);
    if (cli->ctx)
        zmq_ctx_term(cli->ctx);
}

client_t *cli_client(cli_t *cli, const char *service)
{
    const char *ep = conf_map_get(&cli->conf.endpoints, service);
    if (!ep) {
        fprintf(stderr, "tremplin: no endpoint for '%s' in [endpoints]\n", service);
        return NULL;
    }
    client_t *c = client_new(cli->ctx, ep, "tremplin-cli");
    client_set_retry(c, 1500, 3);
    char err[256];
    if (client_connect(c, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin: %s\n", err);
        client_destroy(&c);
    }
    return c;
}

rds_t *cli_redis(cli_t *cli)
{
    if (cli->rds)
        return cli->rds;
    cli->rds = rds_new(&cli->conf.redis, "tremplin-cli");
    char err[256];
    if (rds_connect(cli->rds, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin: Redis: %s\n", err);
        rds_destroy(&cli->rds);
    }
    return cli->rds;
}

int cli_options(int argc, char **argv, const struct option *opts, const char **values, const char **words, int max,
                int *n)
{
    char *args[64];
    if (argc + 1 > (int)TP_ARRAY_LEN(args)) {
        fprintf(stderr, "tremplin: trop d'arguments\n");
        return -1;
    }
    args[0] = "tremplin";
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    optind = 0; /* glibc: a full reset */
    opterr = 0;
    int o;
    while ((o = getopt_long(argc + 1, args, "", opts, NULL)) != -1) {
        if (o == '?' || o == ':') {
            fprintf(stderr, "tremplin: option inconnue ou sans sa valeur : %s\n", args[optind - 1]);
            return -1;
        }
        values[o] = optarg ? optarg : "";
    }
    *n = 0;
    for (int i = optind; i < argc + 1; i++) {
        if (*n == max) {
            fprintf(stderr, "tremplin: argument en trop : %s\n", args[i]);
            return -1;
        }
        words[(*n)++] = args[i];
    }
    return 0;
}

const char *cli_pad(const char *s, int width, char *out, size_t cap)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xC0) != 0x80; /* continuation bytes are not characters */
    int n = snprintf(out, cap, "%s%*s", s, chars < width ? width - chars : 0, "");
    (void)n;
    return out;
}
