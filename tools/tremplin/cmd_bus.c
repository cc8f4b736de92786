/* tremplin ping | functions | probe — the health and plumbing of the bus. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cli.h"
#include "services.h"

const service_info_t *cli_service(const char *name)
{
    for (int i = 0; i < TP_NSERVICES; i++)
        if (strcmp(tp_services[i].name, name) == 0)
            return &tp_services[i];
    fprintf(stderr, "tremplin : service inconnu : %s (intake, matcher, scheduler, survey, reporter, gateway)\n", name);
    return NULL;
}

/* Prints a service's Pong: one line of figures, then a French line per
 * problem. Healthy: Redis reachable and safe to write to (AOF on unless the
 * service was told otherwise, its last AOF write and rewrite ok, its data
 * loaded), and the outbox moving. */
static int cli_ping_print(const char *name, const Tremplin__Pong *p)
{
    int aof_off = p->persistence_known && !p->aof_enabled && p->aof_required;
    int write_err = p->persistence_known && p->aof_enabled && strcmp(p->aof_last_write_status, "ok") != 0;
    int rewrite_err = p->persistence_known && p->aof_enabled && strcmp(p->aof_last_rewrite_status, "ok") != 0;
    int loading = p->persistence_known && p->redis_loading;
    int checks_ko = 0; /* what else the service checked, e.g. intake's branch endpoint */
    for (size_t k = 0; k < p->n_checks; k++)
        checks_ko += strstr(p->checks[k], "=KO") != NULL;
    int healthy = p->redis_ok && !p->outbox_stalled && !aof_off && !write_err && !rewrite_err && !loading && !checks_ko;
    printf("%-10s %s instance=%s version=%s redis=%s uptime_s=%" PRIu64 " outbox=%" PRIu64 " oldest_s=%" PRIu64
           " dead=%" PRIu64 " duplicates=%" PRIu64 " aof=%s aof_write=%s aof_rewrite=%s loading=%s\n",
           name, healthy ? "ok" : "KO", p->instance, p->version, p->redis_ok ? "ok" : "KO", p->uptime_ms / 1000,
           p->outbox_pending, p->outbox_oldest_ms / 1000, p->dead_letters, p->duplicates,
           !p->persistence_known ? "?" : p->aof_enabled ? "on" : "off",
           p->persistence_known ? p->aof_last_write_status : "?", p->persistence_known ? p->aof_last_rewrite_status : "?",
           !p->persistence_known ? "?" : p->redis_loading ? "oui" : "non");
    for (size_t k = 0; k < p->n_checks; k++)
        printf("%-10s %s\n", "", p->checks[k]);
    if (p->outbox_stalled)
        printf("%-10s file d'envoi bloquée : le plus ancien de ses %" PRIu64 " messages attend depuis %" PRIu64
               " s (tremplin outbox list)\n",
               "", p->outbox_pending, p->outbox_oldest_ms / 1000);
    if (aof_off)
        printf("%-10s Redis tourne sans AOF : ce qui est acquitté ne survivrait pas à son redémarrage\n", "");
    if (write_err)
        printf("%-10s Redis : la dernière écriture de l'AOF a échoué (disque plein ?)\n", "");
    if (rewrite_err)
        printf("%-10s Redis : la dernière réécriture de l'AOF a échoué\n", "");
    if (loading)
        printf("%-10s Redis charge encore ses données\n", "");
    for (size_t w = 0; w < p->n_warnings; w++) /* works, but leaves something undone */
        printf("%-10s attention : %s\n", "", p->warnings[w]);
    return healthy;
}

/* ping [SERVICE...]: exit 0 when every one answered, healthy. */
int cli_ping(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, TP_NSERVICES, &a) != 0)
        return CLI_REFUSED;
    const char *names[TP_NSERVICES];
    int n = 0;
    for (int i = 0; i < a.nwords; i++) {
        if (!cli_service(a.word[i]))
            return cli_misuse(cli, "service inconnu : %s", a.word[i]);
        names[n++] = a.word[i];
    }
    if (n == 0)
        for (int i = 0; i < TP_NSERVICES; i++)
            names[n++] = tp_services[i].name;
    int failures = 0;
    for (int i = 0; i < n; i++) {
        client_t *c = cli_client(cli, names[i]);
        if (!c)
            return CLI_UNREACHABLE;
        client_set_retry(c, 1000, 2);
        Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
        Tremplin__Ping ping = TREMPLIN__PING__INIT;
        req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
        req.ping = &ping;
        req.territory = (char *)cli->territories[0];
        Tremplin__Envelope *reply = NULL;
        if (client_call(c, &req, &reply) != 0 || reply->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_PONG) {
            printf("%-10s %s\n", names[i], client_key_refused(c) ? "clé d'opérateur refusée (inconnue ou révoquée)"
                                                                     : "injoignable");
            failures++;
        } else {
            failures += !cli_ping_print(names[i], reply->pong);
        }
        wire_free(reply, NULL);
        client_destroy(&c);
    }
    return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- functions */

extern const char intake_lua[], matcher_lua[], scheduler_lua[], survey_lua[], reporter_lua[], gateway_lua[];

/* functions load: the six function libraries, loaded (replaced) as the
 * Redis admin, at deploy and at each upgrade. Services only check that
 * theirs is there. */
int cli_functions(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "load", NULL };
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_action(cli, argc, argv, actions) < 0 || cli_parse(cli, argc - 1, argv + 1, opts, 0, 0, &a) != 0)
        return CLI_REFUSED;
    const char *code[TP_NSERVICES] = { intake_lua, matcher_lua, scheduler_lua, survey_lua, reporter_lua, gateway_lua };
    rds_conf_t admin = cli->conf.redis;
    util_strlcpy(admin.user, "admin", sizeof admin.user);
    svc_password_file(&cli->conf, "admin", admin.password_file, sizeof admin.password_file);
    rds_t *r = rds_new(&admin, "tremplin-functions");
    char err[256];
    if (rds_connect(r, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : Redis injoignable (administrateur) : %s\n", err);
        rds_destroy(&r);
        return 1;
    }
    int rc = 0;
    /* into every Redis of the deployment: the default and each shard */
    for (int k = 0; k < rds_shard_count(r); k++)
        for (int i = 0; i < TP_NSERVICES; i++) {
            char *src = rds_library_source(code[i], tp_services[i].library);
            redisReply *x = rds_cmd_at(r, k, "FUNCTION LOAD REPLACE %s", src);
            free(src);
            const char *shard = rds_shard_territory(r, k);
            if (!x || x->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "tremplin: %s: %s\n", tp_services[i].library, x ? x->str : "Redis lost");
                rc = 1;
            } else if (shard) {
                printf("%s chargée (territoire %s)\n", tp_services[i].library, shard);
            } else {
                printf("%s chargée\n", tp_services[i].library);
            }
            if (x)
                freeReplyObject(x);
        }
    rds_destroy(&r);
    return rc;
}

/* ------------------------------------------------------------------- probe */

typedef struct {
    long acked, failed;
} cli_probe_count_t;

static void cli_probe_reply(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    (void)tag;
    cli_probe_count_t *c = arg;
    if (reply && reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK)
        c->acked++;
    else
        c->failed++;
}

/* probe [--count N] [--window W] [--poison|--poison-retryable] HOP [HOP...]:
 * N probes enter at the first hop and travel the others through the outboxes. */
int cli_probe(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "count", required_argument, NULL, 'n' },
                                          { "window", required_argument, NULL, 'w' },
                                          { "poison", no_argument, NULL, 'p' },
                                          { "poison-retryable", no_argument, NULL, 'r' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    long count, window;
    if (cli_parse(cli, argc, argv, opts, 1, 16, &a) != 0 || cli_number(cli, &a, 'n', "count", 1, 10000000, 1, &count) != 0
        || cli_number(cli, &a, 'w', "window", 1, 100000, 100, &window) != 0)
        return CLI_REFUSED;
    if (a.opt['p'] && a.opt['r'])
        return cli_misuse(cli, "--poison ou --poison-retryable, pas les deux");
    int poison = a.opt['p'] != NULL, poison_retryable = a.opt['r'] != NULL;
    for (int k = 0; k < a.nwords; k++)
        if (!cli_service(a.word[k]))
            return cli_misuse(cli, "service inconnu : %s", a.word[k]);
    client_t *c = cli_client(cli, a.word[0]);
    if (!c)
        return CLI_UNREACHABLE;
    client_set_window(c, (int)window);
    client_set_retry(c, 2000, 5);
    cli_probe_count_t counts = { 0, 0 };
    char run[TP_ID_LEN + 1];
    util_random_id(run);
    int64_t t0 = clock_mono_ms();
    for (long n = 0; n < count || client_inflight(c) > 0;) {
        while (n < count) {
            Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
            Tremplin__Probe p = TREMPLIN__PROBE__INIT;
            char key[64];
            snprintf(key, sizeof key, "%.12s-%ld", run, n);
            p.key = key;
            p.route = (char **)a.word + 1;
            p.n_route = (size_t)(a.nwords - 1);
            p.poison = poison;
            p.poison_retryable = poison_retryable;
            req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
            req.probe = &p;
            req.territory = (char *)cli->territories[0];
            if (client_send(c, &req, (uint64_t)n) != 0)
                break;
            n++;
        }
        client_poll(c, 100, cli_probe_reply, &counts);
    }
    int64_t ms = clock_mono_ms() - t0;
    printf("probes=%ld acked=%ld failed=%ld ms=%" PRId64 " per_s=%.0f run=%.12s\n", count, counts.acked, counts.failed,
           ms, ms > 0 ? (double)counts.acked * 1000.0 / (double)ms : 0.0, run);
    client_destroy(&c);
    return counts.failed ? 1 : 0;
}
