/* tremplin ping | outbox | probe — the health and plumbing of the bus. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cli.h"
#include "services.h"

static const service_info_t *cli_service(const char *name)
{
    for (int i = 0; i < TP_NSERVICES; i++)
        if (strcmp(tp_services[i].name, name) == 0)
            return &tp_services[i];
    fprintf(stderr, "tremplin: unknown service '%s' (intake, matcher, scheduler, survey, reporter)\n", name);
    return NULL;
}

/* ping [SERVICE...]: exit 0 when every one answered with Redis up. */
int cli_ping(cli_t *cli, int argc, char **argv)
{
    const char *names[TP_NSERVICES];
    int n = 0;
    for (int i = 0; i < argc && n < TP_NSERVICES; i++) {
        if (!cli_service(argv[i]))
            return 2;
        names[n++] = argv[i];
    }
    if (n == 0)
        for (int i = 0; i < TP_NSERVICES; i++)
            names[n++] = tp_services[i].name;
    int failures = 0;
    for (int i = 0; i < n; i++) {
        client_t *c = cli_client(cli, names[i]);
        if (!c)
            return 2;
        client_set_retry(c, 1000, 2);
        Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
        Tremplin__Ping ping = TREMPLIN__PING__INIT;
        req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
        req.ping = &ping;
        req.territory = (char *)cli->territories[0];
        Tremplin__Envelope *reply = NULL;
        if (client_call(c, &req, &reply) != 0 || reply->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_PONG) {
            printf("%-10s injoignable\n", names[i]);
            failures++;
        } else {
            const Tremplin__Pong *p = reply->pong;
            printf("%-10s ok instance=%s version=%s redis=%s uptime_s=%" PRIu64 " outbox=%" PRIu64 " dead=%" PRIu64,
                   names[i], p->instance, p->version, p->redis_ok ? "ok" : "KO", p->uptime_ms / 1000, p->outbox_pending,
                   p->dead_letters);
            for (size_t k = 0; k < p->n_checks; k++) { /* what else the service checked */
                printf(" %s", p->checks[k]);
                failures += strstr(p->checks[k], "=KO") != NULL;
            }
            printf("\n");
            if (!p->redis_ok)
                failures++;
        }
        wire_free(reply, NULL);
        client_destroy(&c);
    }
    return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- functions */

extern const char intake_lua[], matcher_lua[], scheduler_lua[], survey_lua[], reporter_lua[];

/* functions load: the five function libraries, loaded (replaced) as the
 * Redis admin, at deploy and at each upgrade. Services only check that
 * theirs is there. */
int cli_functions(cli_t *cli, int argc, char **argv)
{
    if (argc != 1 || strcmp(argv[0], "load") != 0) {
        fprintf(stderr, "usage: tremplin functions load\n");
        return 2;
    }
    const char *code[TP_NSERVICES] = { intake_lua, matcher_lua, scheduler_lua, survey_lua, reporter_lua };
    rds_conf_t admin = cli->conf.redis;
    util_strlcpy(admin.user, "admin", sizeof admin.user);
    svc_password_file(&cli->conf, "admin", admin.password_file, sizeof admin.password_file);
    rds_t *r = rds_new(&admin, "tremplin-functions");
    char err[256];
    if (rds_connect(r, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin: Redis (admin): %s\n", err);
        rds_destroy(&r);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < TP_NSERVICES; i++) {
        char *src = rds_library_source(code[i], tp_services[i].library);
        redisReply *x = rds_cmd(r, "FUNCTION LOAD REPLACE %s", src);
        free(src);
        if (!x || x->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "tremplin: %s: %s\n", tp_services[i].library, x ? x->str : "Redis lost");
            rc = 1;
        } else {
            printf("%s chargée\n", tp_services[i].library);
        }
        if (x)
            freeReplyObject(x);
    }
    rds_destroy(&r);
    return rc;
}

/* ------------------------------------------------------------------ outbox */

static int cli_outbox_list(cli_t *cli, rds_t *r)
{
    printf("%-10s %-6s %8s %12s %6s\n", "service", "terr.", "pending", "oldest_ms", "dead");
    for (int i = 0; i < TP_NSERVICES; i++)
        for (int t = 0; t < cli->nterritories; t++) {
            int64_t pending, age, dead;
            if (outbox_backlog(r, tp_services[i].name, cli->territories[t], &pending, &age, &dead) != 0)
                return 1;
            printf("%-10s %-6s %8" PRId64 " %12" PRId64 " %6" PRId64 "\n", tp_services[i].name, cli->territories[t],
                   pending, age, dead);
        }
    int shown = 0;
    for (int i = 0; i < TP_NSERVICES; i++)
        for (int t = 0; t < cli->nterritories; t++) {
            redisReply *x = rds_cmd(r, "XRANGE tp:{%s}:%s:dead - + COUNT 100", cli->territories[t], tp_services[i].name);
            if (!x)
                return 1;
            for (size_t k = 0; x->type == REDIS_REPLY_ARRAY && k < x->elements; k++) {
                const redisReply *e = x->element[k], *f = e->element[1];
                const char *to = "", *id = "", *error = "", *tries = "";
                for (size_t j = 0; j + 1 < f->elements; j += 2) {
                    const char *name = f->element[j]->str, *val = f->element[j + 1]->str;
                    if (!strcmp(name, "to")) to = val;
                    else if (!strcmp(name, "id")) id = val;
                    else if (!strcmp(name, "error")) error = val;
                    else if (!strcmp(name, "tries")) tries = val;
                }
                if (!shown++)
                    printf("\ndead letters:\n%-10s %-6s %-20s %-10s %-32s %-18s %s\n", "service", "terr.", "id", "to",
                           "msg_id", "error", "tries");
                printf("%-10s %-6s %-20s %-10s %-32s %-18s %s\n", tp_services[i].name, cli->territories[t],
                       e->element[0]->str, to, id, error, tries);
            }
            freeReplyObject(x);
        }
    return 0;
}

/* retry|drop SERVICE ENTRY_ID [TERRITORY] */
static int cli_outbox_act(cli_t *cli, rds_t *r, int retry, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tremplin outbox %s SERVICE ENTRY_ID [TERRITORY]\n", retry ? "retry" : "drop");
        return 2;
    }
    const service_info_t *s = cli_service(argv[0]);
    if (!s)
        return 2;
    const char *terr = argc > 2 ? argv[2] : cli->territories[0];
    redisReply *x = retry ? rds_cmd(r, "FCALL %s_dead_retry 2 tp:{%s}:%s:dead tp:{%s}:%s:outbox %s", s->library, terr,
                                    s->name, terr, s->name, argv[1])
                          : rds_cmd(r, "XDEL tp:{%s}:%s:dead %s", terr, s->name, argv[1]);
    if (!x)
        return 1;
    int done = x->type == REDIS_REPLY_INTEGER && x->integer == 1;
    if (x->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "tremplin: %s\n", x->str);
    freeReplyObject(x);
    printf("%s\n", done ? (retry ? "remis dans la file d'envoi" : "supprimé") : "introuvable");
    return done ? 0 : 2;
}

int cli_outbox(cli_t *cli, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: tremplin outbox list | retry SERVICE ID [T] | drop SERVICE ID [T]\n");
        return 2;
    }
    rds_t *r = cli_redis(cli);
    if (!r)
        return 1;
    if (!strcmp(argv[0], "list"))
        return cli_outbox_list(cli, r);
    if (!strcmp(argv[0], "retry") || !strcmp(argv[0], "drop"))
        return cli_outbox_act(cli, r, argv[0][0] == 'r', argc - 1, argv + 1);
    fprintf(stderr, "tremplin: outbox: unknown action '%s'\n", argv[0]);
    return 2;
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

/* probe [--count N] [--window W] [--poison] HOP [HOP...]: N probes enter at
 * the first hop and travel the others through the outboxes. */
int cli_probe(cli_t *cli, int argc, char **argv)
{
    long count = 1, window = 100;
    int poison = 0, i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--window") && i + 1 < argc)
            window = atol(argv[++i]);
        else if (!strcmp(argv[i], "--poison"))
            poison = 1;
        else
            break;
    }
    if (i >= argc || count < 1 || window < 1) {
        fprintf(stderr, "usage: tremplin probe [--count N] [--window W] [--poison] HOP [HOP...]\n");
        return 2;
    }
    for (int k = i; k < argc; k++)
        if (!cli_service(argv[k]))
            return 2;
    client_t *c = cli_client(cli, argv[i]);
    if (!c)
        return 2;
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
            p.route = argv + i + 1;
            p.n_route = (size_t)(argc - i - 1);
            p.poison = poison;
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
