/* tremplin branch | kiosk — the registries of CURVE keys (common/keyring.h):
 * intake's branch systems and the survey's kiosks, one code for both. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "survey/survey.h"

/* add ID [--name N] [--territory T] | revoke ID | list, on the registry of
 * kind under dir; endpoint: the [endpoints] entry the secret names. */
static int cli_keys(cli_t *cli, const keyring_kind_t *kind, const char *dir, const char *endpoint_name, int argc,
                    char **argv)
{
    char err[512];
    const char *name = NULL, *territory = cli->territories[0];
    static const struct option opts[] = { { "name", required_argument, NULL, 'n' },
                                          { "territory", required_argument, NULL, 't' },
                                          { NULL, 0, NULL, 0 } };
    const char *values[128] = { 0 }, *words[2];
    int nw;
    if (cli_options(argc, argv, opts, values, words, 2, &nw) != 0)
        goto usage;
    if (values['n'])
        name = values['n'];
    if (values['t'])
        territory = values['t'];
    if (nw == 2 && !strcmp(words[0], "add")) {
        const char *endpoint = conf_map_get(&cli->conf.endpoints, endpoint_name);
        if (keyring_add(kind, dir, words[1], name ? name : words[1], territory, endpoint, err, sizeof err) != 0) {
            fprintf(stderr, "tremplin: %s\n", err);
            return 2;
        }
        printf("%s %s créée (territoire %s)\nclé à remettre à %s : %s/%s/%s.key_secret\n", kind->noun_fr, words[1],
               territory, kind->the_fr, dir, kind->secrets, words[1]);
        return 0;
    }
    if (nw == 2 && !strcmp(words[0], "revoke")) {
        if (keyring_revoke(kind, dir, words[1], clock_real_ms(), err, sizeof err) != 0) {
            fprintf(stderr, "tremplin: %s\n", err);
            return 2;
        }
        printf("%s %s révoquée : ses nouvelles connexions sont refusées, ses messages en cours aussi (les autres ne "
               "sont pas touchées)\n",
               kind->noun_fr, words[1]);
        return 0;
    }
    if (nw == 1 && !strcmp(words[0], "list")) {
        keyring_t k;
        if (keyring_load(kind, dir, &k, err, sizeof err) != 0)
            fprintf(stderr, "tremplin: %s\n", err);
        for (int i = 0; i < k.n; i++) {
            char state[40] = "active";
            if (k.items[i].revoked_ms) {
                char day[11];
                clock_local_day(k.items[i].revoked_ms, day);
                snprintf(state, sizeof state, "révoquée le %s", day);
            }
            printf("%-16s %-6s %.12s…  %-22s %s\n", k.items[i].id, k.items[i].territory, k.items[i].public_key, state,
                   k.items[i].name);
        }
        keyring_free(&k);
        return 0;
    }
usage:
    fprintf(stderr, "usage: tremplin %s add ID [--name NAME] [--territory T] | revoke ID | list\n", kind->role);
    return 2;
}

int cli_branch(cli_t *cli, int argc, char **argv)
{
    return cli_keys(cli, &intake_branches, cli->intake.curve_dir, "intake_branch", argc, argv);
}

int cli_kiosk(cli_t *cli, int argc, char **argv)
{
    return cli_keys(cli, &survey_kiosks, cli->survey.kiosk_dir, "survey_kiosk", argc, argv);
}
