/* tremplin branch | kiosk | operator — the registries of CURVE keys
 * (common/keyring.h): intake's branch systems, the survey's kiosks and the
 * bus's operators (common/access.h: each with a role), one code for all. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "access.h"
#include "clock.h"
#include "ids.h"
#include "survey/survey.h"

/* By id, the current key first, then the replaced ones, newest first. */
static int cli_key_cmp(const void *a, const void *b)
{
    const keyring_entry_t *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c || x->expires_ms == y->expires_ms)
        return c;
    if (!x->expires_ms || !y->expires_ms)
        return x->expires_ms ? 1 : -1;
    return x->expires_ms < y->expires_ms ? 1 : -1;
}

/* An operator's role and scope (--role, --branch, --trainer) into meta
 * (pairs for keyring_add_meta); 0, or CLI_REFUSED after a misuse. */
static int cli_operator_meta(cli_t *cli, const cli_args_t *a, const char *meta[7])
{
    static const char *const words[][2] = { { "trainer", "trainer" },         { "formateur", "trainer" },
                                            { "formatrice", "trainer" },      { "mediator", "mediator" },
                                            { "mediateur", "mediator" },      { "médiateur", "mediator" },
                                            { "médiatrice", "mediator" },     { "coordinator", "coordinator" },
                                            { "coordinateur", "coordinator" }, { "coordinatrice", "coordinator" } };
    const char *role = NULL, *r = a->opt['r'], *b = a->opt['b'], *t = a->opt['T'];
    for (size_t i = 0; r && i < TP_ARRAY_LEN(words); i++)
        if (!strcmp(r, words[i][0]))
            role = words[i][1];
    if (!role || !access_operator_role(role))
        return cli_misuse(cli, "--role : trainer, mediator ou coordinator est attendu%s%s", r ? ", pas " : "",
                          r ? r : "");
    if (!strcmp(role, "mediator") && !(b && ids_valid(b, KEYRING_ID_MAX - 1)))
        return cli_misuse(cli, "--branch AGENCE est obligatoire pour un médiateur (lettres, chiffres, - _)");
    if (!strcmp(role, "trainer") && !(t && ids_valid(t, KEYRING_ID_MAX - 1)))
        return cli_misuse(cli, "--trainer FORMATEUR est obligatoire pour un formateur (son code du calendrier)");
    if ((b && strcmp(role, "mediator")) || (t && strcmp(role, "trainer")))
        return cli_misuse(cli, "--branch va avec un médiateur, --trainer avec un formateur");
    meta[0] = "access", meta[1] = role;
    meta[2] = "branch", meta[3] = b ? b : "";
    meta[4] = "trainer", meta[5] = t ? t : "";
    meta[6] = NULL;
    return 0;
}

/* add ID --name N --territory T: both required, the territory one this
 * deployment serves (bus.territories); an operator's also takes its role
 * (its territory defaults to the first served). */
static int cli_keys_add(cli_t *cli, const keyring_kind_t *kind, const char *dir, const char *endpoint_name, int argc,
                        char **argv)
{
    static const struct option opts[] = { { "name", required_argument, NULL, 'n' },
                                          { "territory", required_argument, NULL, 't' },
                                          { NULL, 0, NULL, 0 } };
    static const struct option operator_opts[] = { { "name", required_argument, NULL, 'n' },
                                                   { "territory", required_argument, NULL, 't' },
                                                   { "role", required_argument, NULL, 'r' },
                                                   { "branch", required_argument, NULL, 'b' },
                                                   { "trainer", required_argument, NULL, 'T' },
                                                   { NULL, 0, NULL, 0 } };
    int op = kind == &access_keys;
    cli_args_t a;
    const char *meta[7] = { NULL };
    if (cli_parse(cli, argc, argv, op ? operator_opts : opts, 1, 1, &a) != 0)
        return CLI_REFUSED;
    if (!a.opt['n'] || !a.opt['n'][0])
        return cli_misuse(cli, "--name est obligatoire (le nom que les gens connaissent)");
    if (op && !a.opt['t'])
        a.opt['t'] = cli->territories[0];
    if (!a.opt['t'])
        return cli_misuse(cli, "--territory est obligatoire");
    if (op && (!strncmp(a.word[0], "svc-", 4) || cli_operator_meta(cli, &a, meta) != 0))
        return strncmp(a.word[0], "svc-", 4) ? CLI_REFUSED : cli_misuse(cli, "« svc- » est réservé aux services");
    int served = 0;
    char list[256] = "";
    for (int t = 0; t < cli->nterritories; t++) {
        served |= !strcmp(cli->territories[t], a.opt['t']);
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", cli->territories[t]);
    }
    if (!served)
        return cli_misuse(cli, "territoire non desservi : %s (desservis : %s, [bus] territories)", a.opt['t'], list);
    char err[512];
    const char *endpoint = conf_map_get(&cli->conf.endpoints, endpoint_name);
    if (keyring_add_meta(kind, dir, a.word[0], a.opt['n'], a.opt['t'], endpoint, clock_real_ms(), "", meta, err,
                         sizeof err)
        != 0) {
        fprintf(stderr, "refusé : %s\n", err);
        return CLI_REFUSED;
    }
    printf("%s %s créée (territoire %s)\nclé à remettre à %s : %s/%s/%s.key_secret\n", kind->noun_fr, a.word[0],
           a.opt['t'], kind->the_fr, dir, kind->secrets, a.word[0]);
    return CLI_OK;
}

/* list: a table, one entry a line, with the full key (its fingerprint,
 * to compare with what the office installed) and its state with its date. */
static int cli_keys_list(cli_t *cli, const keyring_kind_t *kind, const char *dir, int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0)
        return CLI_REFUSED;
    keyring_t k;
    char err[512];
    if (keyring_load(kind, dir, &k, err, sizeof err) != 0)
        fprintf(stderr, "tremplin : %s\n", err);
    qsort(k.items, (size_t)k.n, sizeof *k.items, cli_key_cmp);
    static const int w[] = { 16, 32, 10, 26, 40 }, wo[] = { 16, 24, 10, 26, 24, 40 };
    int op = kind == &access_keys;
    if (op)
        cli_row(wo, 6, "identifiant", "nom", "territoire", "état", "rôle", "clé publique (empreinte)");
    else
        cli_row(w, 5, "identifiant", "nom", "territoire", "état", "clé publique (empreinte)");
    for (int i = 0; i < k.n; i++) {
        const keyring_entry_t *e = &k.items[i];
        char state[128], day[11];
        cli_date_fr(e->revoked_ms ? e->revoked_ms : e->created_ms, day);
        if (e->expires_ms) {
            char until[64];
            cli_when_fr(e->expires_ms, until, sizeof until);
            snprintf(state, sizeof state, "ancienne clé, %s %s",
                     e->expires_ms > clock_real_ms() ? "acceptée jusqu'au" : "refusée depuis le", until);
        } else if (e->revoked_ms)
            snprintf(state, sizeof state, "révoquée le %s", day);
        else if (day[0])
            snprintf(state, sizeof state, "active depuis le %s", day);
        else
            snprintf(state, sizeof state, "active");
        if (!strcmp(e->origin, "simulation"))
            snprintf(state + strlen(state), sizeof state - strlen(state), " (simulée)");
        char role[96];
        snprintf(role, sizeof role, "%s%s%s", e->access, e->branch[0] ? " " : e->trainer[0] ? " " : "",
                 e->branch[0] ? e->branch : e->trainer);
        if (op)
            cli_row(wo, 6, e->id, e->name, e->territory, state, role, e->public_key);
        else
            cli_row(w, 5, e->id, e->name, e->territory, state, e->public_key);
    }
    if (k.n == 0)
        printf("(aucune %s)\n", kind->noun_fr);
    keyring_free(&k);
    return CLI_OK;
}

/* rotate ID [--days N]: a new key pair, the old key accepted N more days
 * (real time) so that the office installs the new one without a moment
 * refused. */
static int cli_keys_rotate(cli_t *cli, const keyring_kind_t *kind, const char *dir, const char *endpoint_name,
                           int argc, char **argv)
{
    static const struct option opts[] = { { "days", required_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
    cli_args_t a;
    long days;
    if (cli_parse(cli, argc, argv, opts, 1, 1, &a) != 0 || cli_number(cli, &a, 'd', "--days", 0, 90, 7, &days) != 0)
        return CLI_REFUSED;
    char err[512], until[64];
    int64_t now = clock_real_ms(), window = (int64_t)days * 86400000;
    if (keyring_rotate(kind, dir, a.word[0], conf_map_get(&cli->conf.endpoints, endpoint_name), now, window, err,
                       sizeof err) != 0) {
        fprintf(stderr, "refusé : %s\n", err);
        return CLI_REFUSED;
    }
    printf("%s %s : nouvelle clé à remettre à %s : %s/%s/%s.key_secret\n", kind->noun_fr, a.word[0], kind->the_fr, dir,
           kind->secrets, a.word[0]);
    if (days) {
        cli_when_fr(now + window, until, sizeof until);
        printf("l'ancienne clé reste acceptée jusqu'au %s (tremplin %s retire-old %s la refuse dès que la nouvelle "
               "est installée)\n",
               until, cli->cmd->name, a.word[0]);
    } else {
        printf("l'ancienne clé est refusée dès maintenant\n");
    }
    return CLI_OK;
}

/* retire-old ID: the replaced keys refused from now on. */
static int cli_keys_retire_old(cli_t *cli, const keyring_kind_t *kind, const char *dir, int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 1, 1, &a) != 0)
        return CLI_REFUSED;
    char err[512];
    int n = keyring_end_window(kind, dir, a.word[0], clock_real_ms(), err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "refusé : %s\n", err);
        return CLI_REFUSED;
    }
    if (n == 0)
        printf("%s %s : aucune ancienne clé encore acceptée\n", kind->noun_fr, a.word[0]);
    else
        printf("%s %s : ancienne clé refusée dès maintenant (seule la nouvelle est acceptée)\n", kind->noun_fr,
               a.word[0]);
    return CLI_OK;
}

/* add | rotate | retire-old | revoke | list on the registry of kind under
 * dir; endpoint_name: the [endpoints] entry the secret names. */
static int cli_keys(cli_t *cli, const keyring_kind_t *kind, const char *dir, const char *endpoint_name, int argc,
                    char **argv)
{
    static const char *const actions[] = { "add", "revoke", "list", "rotate", "retire-old", NULL };
    int act = cli_action(cli, argc, argv, actions);
    if (act < 0)
        return CLI_REFUSED;
    if (act == 0)
        return cli_keys_add(cli, kind, dir, endpoint_name, argc - 1, argv + 1);
    if (act == 2)
        return cli_keys_list(cli, kind, dir, argc - 1, argv + 1);
    /* a service's own key (svc-<name>): made and held by the service; a
     * revocation would delete the secret it starts with, a rotation leave
     * it on a key about to be refused */
    for (int i = 1; kind == &access_keys && i < argc; i++)
        if (!strncmp(argv[i], "svc-", 4))
            return cli_misuse(cli, "« %s » est la clé d'un service : ni révoquée ni remplacée par cette commande",
                              argv[i]);
    if (act == 3)
        return cli_keys_rotate(cli, kind, dir, endpoint_name, argc - 1, argv + 1);
    if (act == 4)
        return cli_keys_retire_old(cli, kind, dir, argc - 1, argv + 1);
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc - 1, argv + 1, opts, 1, 1, &a) != 0)
        return CLI_REFUSED;
    char err[512];
    if (keyring_revoke(kind, dir, a.word[0], clock_real_ms(), err, sizeof err) != 0) {
        fprintf(stderr, "refusé : %s\n", err);
        return CLI_REFUSED;
    }
    printf("%s %s révoquée : ses nouvelles connexions sont refusées, ses messages en cours aussi (les autres ne "
           "sont pas touchées)\n",
           kind->noun_fr, a.word[0]);
    return CLI_OK;
}

int cli_branch(cli_t *cli, int argc, char **argv)
{
    return cli_keys(cli, &intake_branches, cli->intake.curve_dir, "intake_branch", argc, argv);
}

int cli_kiosk(cli_t *cli, int argc, char **argv)
{
    return cli_keys(cli, &survey_kiosks, cli->survey.kiosk_dir, "survey_kiosk", argc, argv);
}

int cli_operator(cli_t *cli, int argc, char **argv)
{
    if (!cli->conf.keys_dir[0]) {
        fprintf(stderr, "tremplin : pas de registre des clés : [bus] keys_dir dans %s\n", cli->conf_path);
        return CLI_REFUSED;
    }
    return cli_keys(cli, &access_keys, cli->conf.keys_dir, "", argc, argv);
}
