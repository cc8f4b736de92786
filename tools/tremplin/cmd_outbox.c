/* tremplin outbox list | retry | drop — the backlog of each outbox and the
 * dead letters, which an operator sends again (after a fix) or discards. */
#include <getopt.h>
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
            static const int w[] = { 10, 9, 20, 10, 32, 18, 6 };
            if (pg->shown++ == 0)
                cli_row(w, 7, "service", "territoire", "lettre morte", "vers", "message", "dernière erreur", "essais");
            cli_row(w, 7, service, terr, e->element[0]->str, cli_dead_field(e, "to"), cli_dead_field(e, "id"),
                    cli_dead_field(e, "error"), cli_dead_field(e, "tries"));
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

static int cli_list_args(cli_t *cli, int argc, char **argv, cli_list_opts_t *o)
{
    static const struct option opts[] = { { "page", required_argument, NULL, 'p' },
                                          { "limit", required_argument, NULL, 'l' },
                                          { "all", no_argument, NULL, 'a' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    *o = (cli_list_opts_t){ NULL, 1, CLI_DEAD_PAGE };
    if (cli_parse(cli, argc, argv, opts, 0, 1, &a) != 0 || cli_number(cli, &a, 'p', "page", 1, 1000000, 1, &o->page) != 0
        || cli_number(cli, &a, 'l', "limit", 1, 100000, CLI_DEAD_PAGE, &o->limit) != 0)
        return -1;
    if (a.opt['a'] && a.opt['l']) {
        cli_misuse(cli, "--limit ou --all, pas les deux");
        return -1;
    }
    if (a.opt['a'])
        o->limit = -1;
    if (a.nwords == 1 && !cli_service(a.word[0])) {
        cli_misuse(cli, "service inconnu : %s", a.word[0]);
        return -1;
    }
    o->service = a.nwords ? a.word[0] : NULL;
    return 0;
}

static int cli_outbox_list(cli_t *cli, int argc, char **argv)
{
    cli_list_opts_t o;
    if (cli_list_args(cli, argc, argv, &o) != 0)
        return CLI_REFUSED;
    rds_t *r = cli_redis(cli);
    if (!r)
        return CLI_UNREACHABLE;
    static const int w[] = { 10, 10, 10, 16, 14, 6 };
    cli_row(w, 6, "service", "territoire", "en attente", "plus ancien (s)", "lettres mortes", "état");
    long total = 0;
    for (int i = 0; i < TP_NSERVICES; i++)
        for (int t = 0; t < cli->nterritories; t++) {
            const char *name = tp_services[i].name;
            outbox_backlog_t b;
            if (o.service && strcmp(o.service, name) != 0)
                continue;
            if (outbox_backlog(r, name, cli->territories[t], &b) != 0)
                return 1;
            char pending[24], oldest[24], dead[24];
            snprintf(pending, sizeof pending, "%" PRId64, b.pending);
            snprintf(oldest, sizeof oldest, "%" PRId64, b.oldest_age_ms / 1000);
            snprintf(dead, sizeof dead, "%" PRId64, b.dead);
            cli_row(w, 6, name, cli->territories[t], pending, oldest, dead,
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
static int cli_outbox_act(cli_t *cli, int retry, int argc, char **argv)
{
    static const struct option opts[] = { { "territory", required_argument, NULL, 't' },
                                          { "all", no_argument, NULL, 'a' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 1, CLI_MAX_WORDS, &a) != 0)
        return CLI_REFUSED;
    const char *terr = a.opt['t'];
    const char **ids = a.word + 1;
    int nids = a.nwords - 1, all = a.opt['a'] != NULL;
    const service_info_t *s = cli_service(a.word[0]);
    if (!s)
        return cli_misuse(cli, "service inconnu : %s", a.word[0]);
    if (all == (nids > 0))
        return cli_misuse(cli, "des identifiants de lettres mortes, ou --all");
    for (int i = 0; i < nids; i++)
        if (!cli_stream_id_ok(ids[i]))
            return cli_misuse(cli, "identifiant de lettre morte invalide : %s (de la forme 1764460800000-0)", ids[i]);
    int known = !terr;
    for (int t = 0; t < cli->nterritories && !known; t++)
        known = !strcmp(terr, cli->territories[t]);
    if (!known)
        return cli_misuse(cli, "territoire non desservi : %s", terr);
    rds_t *r = cli_redis(cli);
    if (!r)
        return CLI_UNREACHABLE;
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
    static const char *const actions[] = { "list", "retry", "drop", NULL };
    int act = cli_action(cli, argc, argv, actions);
    if (act < 0)
        return CLI_REFUSED;
    if (act == 0)
        return cli_outbox_list(cli, argc - 1, argv + 1);
    return cli_outbox_act(cli, act == 1, argc - 1, argv + 1);
}
