/* tremplin outbox list | retry | drop — the backlog of each outbox and the
 * dead letters, which an operator sends again (after a fix) or discards. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "cli.h"
#include "keys.h"
#include "services.h"

#define CLI_DEAD_PAGE 50 /* dead letters per page by default */
#define CLI_DEAD_CHUNK 100

/* ------------------------------------------------------------ dead letters */

/* A dead letter as XRANGE gives it: {id, {name, value, ...}}. */
static const char *cli_dead_field(const redisReply *e, const char *name)
{
    const redisReply *f = e->element[1];
    for (size_t j = 0; j + 1 < f->elements; j += 2)
        if (!strcmp(f->element[j]->str, name))
            return f->element[j + 1]->str;
    return "";
}

typedef struct {
    long skip, left; /* dead letters still to pass over, then to show (< 0: all) */
    long shown;
} cli_page_t;

/* Prints the dead letters of one stream that fall on the page, reading them
 * in chunks (a page deep in a long list costs the entries before it). */
static int cli_dead_page(rds_t *r, const char *service, const char *terr, cli_page_t *pg)
{
    char from[48] = "-", dead[96];
    tp_key(dead, sizeof dead, terr, service, "dead");
    while (pg->left != 0) {
        redisReply *x = rds_cmd(r, "XRANGE %s %s + COUNT %d", dead, from, CLI_DEAD_CHUNK);
        if (!x || x->type != REDIS_REPLY_ARRAY) {
            if (x)
                freeReplyObject(x);
            return -1;
        }
        size_t n = x->elements;
        for (size_t k = 0; k < n && pg->left != 0; k++) {
            const redisReply *e = x->element[k];
            if (pg->skip > 0) {
                pg->skip--;
                continue;
            }
            if (pg->shown++ == 0)
                printf("%-10s %-6s %-20s %-10s %-32s %-18s %s\n", "service", "terr.", "id", "vers", "msg_id", "erreur",
                       "essais");
            printf("%-10s %-6s %-20s %-10s %-32s %-18s %s\n", service, terr, e->element[0]->str,
                   cli_dead_field(e, "to"), cli_dead_field(e, "id"), cli_dead_field(e, "error"),
                   cli_dead_field(e, "tries"));
            if (pg->left > 0)
                pg->left--;
        }
        if (n > 0)
            snprintf(from, sizeof from, "(%s", x->element[n - 1]->element[0]->str);
        freeReplyObject(x);
        if (n < CLI_DEAD_CHUNK)
            break;
    }
    return 0;
}

/* ------------------------------------------------------------------- list */

typedef struct {
    const char *service; /* NULL: every service */
    long page, limit;    /* limit < 0: every dead letter */
} cli_list_opts_t;

static int cli_list_args(int argc, char **argv, cli_list_opts_t *o)
{
    *o = (cli_list_opts_t){ NULL, 1, CLI_DEAD_PAGE };
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--page") && i + 1 < argc)
            o->page = atol(argv[++i]);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            o->limit = atol(argv[++i]);
        else if (!strcmp(argv[i], "--all"))
            o->limit = -1;
        else if (argv[i][0] != '-' && !o->service && cli_service(argv[i]))
            o->service = argv[i];
        else
            return -1;
    }
    return o->page >= 1 && o->limit != 0 ? 0 : -1;
}

static int cli_outbox_list(cli_t *cli, rds_t *r, int argc, char **argv)
{
    cli_list_opts_t o;
    if (cli_list_args(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: tremplin outbox list [SERVICE] [--page N] [--limit N | --all]\n");
        return 2;
    }
    printf("%-10s %-6s %10s %13s %6s  %s\n", "service", "terr.", "en_attente", "plus_ancien_s", "mortes", "état");
    long total = 0;
    for (int i = 0; i < TP_NSERVICES; i++)
        for (int t = 0; t < cli->nterritories; t++) {
            const char *name = tp_services[i].name;
            outbox_backlog_t b;
            if (o.service && strcmp(o.service, name) != 0)
                continue;
            if (outbox_backlog(r, name, cli->territories[t], &b) != 0)
                return 1;
            printf("%-10s %-6s %10" PRId64 " %13" PRId64 " %6" PRId64 "  %s\n", name, cli->territories[t], b.pending,
                   b.oldest_age_ms / 1000, b.dead,
                   outbox_stalled(&b, cli->conf.stall_ms) ? "bloquée"
                   : b.pending                            ? "en cours"
                                                          : "vide");
            total += b.dead;
        }
    if (total == 0)
        return 0;
    cli_page_t pg = { o.limit < 0 ? 0 : (o.page - 1) * o.limit, o.limit, 0 };
    long first = pg.skip + 1;
    printf("\n");
    for (int i = 0; i < TP_NSERVICES; i++)
        for (int t = 0; t < cli->nterritories; t++)
            if ((!o.service || !strcmp(o.service, tp_services[i].name))
                && cli_dead_page(r, tp_services[i].name, cli->territories[t], &pg) != 0)
                return 1;
    long pages = o.limit < 0 ? 1 : (total + o.limit - 1) / o.limit;
    if (pg.shown == 0)
        printf("lettres mortes : aucune sur cette page (%ld au total, %ld page%s)\n", total, pages, pages > 1 ? "s" : "");
    else if (o.limit < 0 || pages == 1)
        printf("lettres mortes : %ld sur %ld\n", pg.shown, total);
    else
        printf("lettres mortes %ld-%ld sur %ld (page %ld sur %ld%s)\n", first, first + pg.shown - 1, total, o.page,
               pages, o.page < pages ? " ; --page N pour une autre, --all pour toutes" : "");
    return 0;
}

/* ------------------------------------------------------------ retry | drop */

/* Acts on up to n ids of one territory's dead letters; returns how many were
 * there, or -1 when Redis is lost. */
static long cli_dead_act(rds_t *r, const service_info_t *s, const char *terr, int retry, const char **ids, int n)
{
    redisReply *x;
    if (n > CLI_DEAD_CHUNK)
        n = CLI_DEAD_CHUNK;
    if (retry) {
        call_t c = { 0 };
        call_reset(&c, s->name, terr, "");
        call_step(&c, "dead_retry");
        call_key(&c, "dead", "dead");
        call_key(&c, "outbox", "outbox");
        call_arg_list(&c, "ids", NULL, 0);
        for (int i = 0; i < n; i++)
            call_arg_word(&c, ids[i]);
        x = call_run(&c, r, s->library);
        call_free(&c);
    } else {
        char dead[96];
        const char *argv[2 + CLI_DEAD_CHUNK] = { "XDEL", dead };
        size_t lens[2 + CLI_DEAD_CHUNK];
        tp_key(dead, sizeof dead, terr, s->name, "dead");
        for (int i = 0; i < n; i++)
            argv[2 + i] = ids[i];
        for (int i = 0; i < 2 + n; i++)
            lens[i] = strlen(argv[i]);
        x = rds_cmd_argv(r, 2 + n, argv, lens);
    }
    if (!x)
        return -1;
    long done = x->type == REDIS_REPLY_INTEGER ? (long)x->integer : 0;
    if (x->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "tremplin: %s\n", x->str);
    freeReplyObject(x);
    return done;
}

/* --all: every dead letter there is now, in chunks. The last id is read
 * first: a retried message that fails again becomes a new dead letter, after
 * it, and is not taken again in the same run. */
static long cli_dead_act_all(rds_t *r, const service_info_t *s, const char *terr, int retry)
{
    char dead[96];
    tp_key(dead, sizeof dead, terr, s->name, "dead");
    redisReply *last = rds_cmd(r, "XREVRANGE %s + - COUNT 1", dead);
    if (!last)
        return -1;
    char upto[48] = "";
    if (last->type == REDIS_REPLY_ARRAY && last->elements == 1)
        util_strlcpy(upto, last->element[0]->element[0]->str, sizeof upto);
    freeReplyObject(last);
    long done = 0;
    while (upto[0]) {
        redisReply *x = rds_cmd(r, "XRANGE %s - %s COUNT %d", dead, upto, CLI_DEAD_CHUNK);
        if (!x)
            return -1;
        const char *ids[CLI_DEAD_CHUNK];
        int n = 0;
        for (size_t k = 0; x->type == REDIS_REPLY_ARRAY && k < x->elements; k++)
            ids[n++] = x->element[k]->element[0]->str;
        long got = n ? cli_dead_act(r, s, terr, retry, ids, n) : 0;
        freeReplyObject(x);
        if (got < 0)
            return -1;
        done += got;
        if (got == 0) /* nothing left up to the snapshot (or nothing could be done) */
            break;
    }
    return done;
}

/* A stream id as Redis writes it: <ms>-<seq>. */
static int cli_stream_id_ok(const char *id)
{
    size_t ms = strspn(id, "0123456789");
    return ms > 0 && id[ms] == '-' && id[ms + 1] && strspn(id + ms + 1, "0123456789") == strlen(id + ms + 1);
}

/* retry|drop SERVICE ID... | --all [--territory T] */
static int cli_outbox_act(cli_t *cli, rds_t *r, int retry, int argc, char **argv)
{
    const char *terr = NULL;
    const char *ids[256];
    int nids = 0, all = 0;
    const service_info_t *s = argc > 0 ? cli_service(argv[0]) : NULL;
    for (int i = 1; s && i < argc; i++) {
        if (!strcmp(argv[i], "--territory") && i + 1 < argc)
            terr = argv[++i];
        else if (!strcmp(argv[i], "--all"))
            all = 1;
        else if (argv[i][0] == '-' || nids == (int)TP_ARRAY_LEN(ids))
            s = NULL;
        else if (!cli_stream_id_ok(argv[i])) {
            fprintf(stderr, "tremplin: identifiant de lettre morte invalide : %s (de la forme 1764460800000-0)\n",
                    argv[i]);
            return 2;
        } else
            ids[nids++] = argv[i];
    }
    if (!s || all == (nids > 0)) {
        fprintf(stderr, "usage: tremplin outbox %s SERVICE ID... | --all [--territory T]\n", retry ? "retry" : "drop");
        return 2;
    }
    long done = 0, missing = 0;
    for (int t = 0; t < cli->nterritories && all; t++) {
        const char *tt = cli->territories[t];
        long got = terr && strcmp(terr, tt) ? 0 : cli_dead_act_all(r, s, tt, retry);
        if (got < 0)
            return 1;
        done += got;
    }
    for (int i = 0; i < nids; i++) { /* each id in its territory, or the first that has it */
        long got = 0;
        for (int t = 0; t < cli->nterritories && got == 0; t++)
            if (!terr || !strcmp(terr, cli->territories[t]))
                got = cli_dead_act(r, s, cli->territories[t], retry, &ids[i], 1);
        if (got < 0)
            return 1;
        if (got == 0) {
            printf("introuvable : %s\n", ids[i]);
            missing++;
        }
        done += got;
    }
    printf("%ld %s\n", done,
           retry ? (done > 1 ? "remises dans la file d'envoi" : "remise dans la file d'envoi")
                 : (done > 1 ? "supprimées" : "supprimée"));
    return missing ? 2 : 0;
}

int cli_outbox(cli_t *cli, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: tremplin outbox list [SERVICE] [--page N] [--limit N | --all]\n"
                        "       tremplin outbox retry|drop SERVICE ID... | --all [--territory T]\n");
        return 2;
    }
    rds_t *r = cli_redis(cli);
    if (!r)
        return 1;
    if (!strcmp(argv[0], "list"))
        return cli_outbox_list(cli, r, argc - 1, argv + 1);
    if (!strcmp(argv[0], "retry") || !strcmp(argv[0], "drop"))
        return cli_outbox_act(cli, r, argv[0][0] == 'r', argc - 1, argv + 1);
    fprintf(stderr, "tremplin: outbox: unknown action '%s'\n", argv[0]);
    return 2;
}
