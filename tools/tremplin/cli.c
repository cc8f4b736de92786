/* Shared context of the tremplin tool: configuration, ZeroMQ, Redis. */
#include "cli.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "loop.h"

int cli_init(cli_t *cli, const char *conf_path)
{
    memset(cli, 0, sizeof *cli);
    zsys_handler_set(NULL);
    log_init("tremplin", TPLOG_WARN);
    char *argv[] = { "tremplin", "-c", (char *)conf_path, NULL };
    cli->conf_path = conf_path ? conf_path : svc_conf_path(1, argv);
    char err[512];
    /* the operator's settings, then intake's (branch keys) and the
     * scheduler's (timetable), each read as that service reads them */
    svc_conf_t scratch;
    svc_def_t intake_part = { .conf_fields = intake_conf_fields, .nconf_fields = intake_nconf_fields,
                              .conf_base = &cli->intake };
    svc_def_t scheduler_part = { .conf_fields = scheduler_conf_fields, .nconf_fields = scheduler_nconf_fields,
                                 .conf_base = &cli->scheduler };
    if (svc_conf_load(cli->conf_path, "operator", &cli->conf, NULL, err, sizeof err) != 0
        || svc_conf_load(cli->conf_path, "intake", &scratch, &intake_part, err, sizeof err) != 0
        || svc_conf_load(cli->conf_path, "scheduler", &scratch, &scheduler_part, err, sizeof err) != 0) {
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
