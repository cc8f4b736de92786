/* tremplin — the tool of the people at the counter, in the workshop and in
 * the office: one binary, one command per task, French for what they read.
 *
 * The line: `tremplin [-c FICHIER] COMMANDE [ARGUMENTS]`, -c anywhere on it.
 * `COMMANDE --help` prints that command's usage and exits 0 before the
 * configuration or Redis is touched; a misuse exits 2 with the usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "svc.h"

#define U(s) "usage : " s "\n"

static const cli_command_t cli_commands[] = {
    { "ping", "santé des services (Redis, file d'envoi, lettres mortes)",
      U("tremplin ping [SERVICE...]") "\n"
      "Demande à chaque service (par défaut : tous) comment il va. Code de sortie 1 si l'un ne répond pas\n"
      "ou n'est pas en bonne santé.\n",
      cli_ping, NULL },
    { "functions", "charger les fonctions Redis des services (administrateur)",
      U("tremplin functions load") "\n"
      "Charge (remplace) les bibliothèques de fonctions Redis des services, comme administrateur Redis :\n"
      "au déploiement et à chaque mise à jour.\n",
      cli_functions, NULL },
    { "outbox", "files d'envoi et lettres mortes",
      U("tremplin outbox list [SERVICE] [--page N] [--limit N | --all]")
      "       tremplin outbox retry SERVICE ID... | --all [--territory T]\n"
      "       tremplin outbox drop SERVICE ID... | --all [--territory T]\n\n"
      "list : l'état de chaque file d'envoi, puis les lettres mortes, 50 par page.\n"
      "retry : remettre des lettres mortes dans leur file d'envoi ; drop : les supprimer.\n",
      cli_outbox, NULL },
    { "probe", "envoyer des messages d'essai le long d'un trajet",
      U("tremplin probe [--count N] [--window N] [--poison | --poison-retryable] SERVICE [SERVICE...]") "\n"
      "N messages d'essai entrent au premier service et suivent les autres par les files d'envoi.\n",
      cli_probe, NULL },
    { "branch", "agences (clés CURVE des systèmes des bureaux)",
      U("tremplin branch add ID --name NOM --territory T")
      "       tremplin branch rotate ID [--days N]\n"
      "       tremplin branch retire-old ID\n"
      "       tremplin branch revoke ID\n"
      "       tremplin branch list\n\n"
      "add : enregistre une agence d'un territoire desservi ; sa clé secrète est à remettre au système du bureau.\n"
      "rotate : lui donne une nouvelle clé ; l'ancienne reste acceptée N jours (7 par défaut, 0 : plus du tout),\n"
      "  le temps que le bureau installe la nouvelle. retire-old : l'ancienne est refusée dès maintenant.\n"
      "revoke : ses nouvelles connexions et ses messages sont refusés. list : toutes, avec leur état.\n",
      cli_branch, NULL },
    { "kiosk", "bornes du questionnaire de satisfaction (clés CURVE)",
      U("tremplin kiosk add ID --name NOM --territory T")
      "       tremplin kiosk rotate ID [--days N]\n"
      "       tremplin kiosk retire-old ID\n"
      "       tremplin kiosk revoke ID\n"
      "       tremplin kiosk list\n\n"
      "rotate : une nouvelle clé, l'ancienne acceptée N jours (7 par défaut) ; retire-old : l'ancienne refusée "
      "dès maintenant.\n",
      cli_kiosk, NULL },
    { "operator", "opérateurs : leurs clés et leurs rôles",
      U("tremplin operator add ID --role trainer|mediator|coordinator [--branch AGENCE] [--trainer FORMATEUR]\n"
        "                         --name NOM [--territory T]")
      "       tremplin operator rotate ID [--days N]\n"
      "       tremplin operator retire-old ID\n"
      "       tremplin operator revoke ID\n"
      "       tremplin operator list\n\n"
      "add : la clé d'une personne et son rôle (formateur : la présence de ses séances, --trainer obligatoire ;\n"
      "médiateur : les orientations de son agence, --branch obligatoire ; coordinateur : tout son territoire).\n"
      "Sa clé secrète est à lui remettre ; l'outil la lit dans [tool] key ou $TREMPLIN_KEY.\n"
      "rotate : une nouvelle clé, l'ancienne acceptée N jours (7 par défaut) ; retire-old : l'ancienne refusée\n"
      "dès maintenant. revoke : ses connexions et ses commandes sont refusées. list : toutes, avec leur rôle.\n",
      cli_operator, NULL },
    { "audit", "journal d'audit : qui a envoyé quoi, qui a lu les données de qui",
      U("tremplin audit [--since AAAA-MM-JJ] [--operator ID] [--json]") "\n"
      "Les commandes des opérateurs et leurs lectures de données personnelles (fiche, export, liste d'une\n"
      "séance, liste de travail, lettres), les plus anciennes d'abord, gardées [retention] audit_days jours.\n",
      cli_audit, NULL },
    { "referral", "orientations : envoyer, importer, expliquer",
      U("tremplin referral submit [FICHIER.json | -] [--json]")
      "       tremplin referral import FICHIER.csv|.jsonl|.json\n"
      "       tremplin referral template > modele.csv\n"
      "       tremplin referral explain ID_ORIENTATION | --ref AGENCE:REFERENCE\n\n"
      "import : chaque ligne acceptée va dans FICHIER.accepted (avec ses identifiants), chaque ligne\n"
      "refusée dans FICHIER.rejected (avec le motif, à corriger puis importer à nouveau).\n"
      "CSV : séparateur ; ou , (détecté), UTF-8 avec ou sans BOM, colonnes de `referral template`.\n",
      cli_referral, "template" },
    { "consent", "consentements d'une personne",
      U("tremplin consent withdraw PERSONNE training|sms|survey [--json]")
      "       tremplin consent give PERSONNE training|sms|survey [--json]\n\n"
      "training : la formation ; sms : les SMS ; survey : le questionnaire de satisfaction.\n",
      cli_consent, NULL },
    { "person", "tout ce que Tremplin sait d'une personne",
      U("tremplin person show PERSONNE | --ref AGENCE:REFERENCE [--json]")
      "       tremplin person export PERSONNE | --ref AGENCE:REFERENCE > personne.json\n"
      "       tremplin person erase PERSONNE | --ref AGENCE:REFERENCE [--wait SECONDES]\n\n"
      "show : orientations, niveau, réservations, listes d'attente, consentements et notifications.\n"
      "export : tout cela et les données personnelles détenues (coordonnées, réponses au questionnaire\n"
      "et commentaires), en JSON : la réponse à une demande d'accès de la personne (RGPD, article 15).\n"
      "erase : le droit à l'effacement (RGPD, article 17) : coordonnées, commentaires, numéros, SMS\n"
      "conservés effacés partout, consentements retirés (places et notifications libérées), puis le\n"
      "fichier AOF de Redis réécrit ; restent les faits pseudonymes des chiffres. Attend au plus\n"
      "--wait secondes (30) que chaque service ait fait sa part ; relancée, elle termine ou dit que\n"
      "c'est fait.\n",
      cli_person, NULL },
    { "worklist", "les personnes qui attendent une action d'un médiateur",
      U("tremplin worklist [--branch AGENCE] [--json]") "\n"
      "Les plus anciennes d'abord : questionnaire à refaire, absences répétées, proposition expirée sans\n"
      "réponse, convocation non distribuée, personne sans téléphone ni adresse.\n",
      cli_worklist, NULL },
    { "simulate", "systèmes d'agences simulés (démonstration, charge)",
      U("tremplin simulate [--branches N] [--count N] [--seed S] [--rate PAR_S]")
      "       tremplin simulate --remove\n\n"
      "Les agences simulées (sim-01 …) sont marquées comme telles ; --remove les retire.\n",
      cli_simulate, NULL },
    { "season", "la démonstration : douze semaines du programme jouées par la pile (make demo)",
      U("tremplin season [--seed S] [--prepare]") "\n"
      "Joue une saison (réglages [season] de la configuration) sur la pile lancée par deploy/stack.sh :\n"
      "orientations par les bureaux de poste, réponses par SMS, présences ; le temps des services avance\n"
      "pas à pas. Puis les chiffres de la commission. Une seule fois par instance (var/season.json) :\n"
      "relancée, elle montre les chiffres sans rien ajouter. --prepare (avant le démarrage des services) :\n"
      "met leur heure au début de la saison.\n",
      cli_season, NULL },
    { "sessions", "séances, places et listes d'attente",
      U("tremplin sessions [--week AAAA-Wss] [--kind TYPE] [--json]") "\n"
      "Les séances triées par date : lieu, formateur, places réservées et tenues par une proposition,\n"
      "la liste d'attente qui peut prendre la séance. Par défaut : hier et les 4 semaines suivantes.\n",
      cli_sessions, NULL },
    { "attendance", "noter les présences",
      U("tremplin attendance SEANCE PERSONNE present|absent|excuse [--trainer ID] [--json]")
      "       tremplin attendance SEANCE [N=present|absent|excuse ...] [--trainer ID]\n\n"
      "Par les numéros de la liste (roster) ; sans marque, la liste puis les marques sur une ligne.\n"
      "Noter à nouveau corrige. Acceptés aussi : présent, absente, excusé, seen, noshow, excused.\n",
      cli_attendance, NULL },
    { "offer", "répondre à une proposition de place",
      U("tremplin offer accept|decline RESERVATION [--json]") "\n", cli_offer, NULL },
    { "booking", "annuler une réservation",
      U("tremplin booking cancel RESERVATION [MOTIF] [--json]") "\n", cli_booking, NULL },
    { "session", "annuler, rouvrir une séance ; changer ses places",
      U("tremplin session cancel SEANCE MOTIF [--json]")
      "       tremplin session reopen SEANCE [--json]\n"
      "       tremplin session capacity SEANCE N\n\n"
      "reopen : une séance annulée par erreur. capacity : écrit le calendrier (vérifié, puis mis en place) ;\n"
      "les services le relisent au signal HUP.\n",
      cli_session, NULL },
    { "trainer", "absences des formateurs",
      U("tremplin trainer absent FORMATEUR DU AU") "\n"
      "Dates AAAA-MM-JJ (ou JJ/MM/AAAA), incluses. Écrit le calendrier (vérifié, puis mis en place) ;\n"
      "les séances de ces jours sont annulées et leurs participants replacés quand les services le relisent.\n",
      cli_trainer, NULL },
    { "timetable", "vérifier le calendrier",
      U("tremplin timetable check [FICHIER]") "\n"
      "Vérifie le fichier (par défaut celui de la configuration) et son accord avec le catalogue, avant\n"
      "de le faire relire aux services.\n",
      cli_timetable, NULL },
    { "kpi", "les chiffres du programme",
      U("tremplin kpi [--from AAAA-MM-JJ] [--to AAAA-MM-JJ] [--by week|month|branch|partner|kind|territory]")
      "                    [--branch B] [--partner P] [--kind K] [--territory T] [--json]\n"
      "       tremplin kpi --export commission|activities [--publication] [--from …] [--to …]\n"
      "       tremplin kpi close --from AAAA-MM-JJ --to AAAA-MM-JJ\n"
      "       tremplin kpi periods\n",
      cli_kpi, NULL },
    { "roster", "liste des participants, CSV, feuille d'émargement",
      U("tremplin roster SEANCE [--csv FICHIER] [--pdf FICHIER] [--sep ,|;]") "\n", cli_roster, NULL },
    { "letters", "les lettres du jour, une page chacune",
      U("tremplin letters --date AAAA-MM-JJ --pdf FICHIER") "\n", cli_letters, NULL },
    { "notify", "état d'envoi des notifications",
      U("tremplin notify list [--failed] [--person PERSONNE] [--limit N]") "\n", cli_notify, NULL },
    { "survey", "questionnaires papier saisis",
      U("tremplin survey submit [FICHIER.json | -] [--json]")
      "       tremplin survey import FICHIER.csv\n"
      "       tremplin survey show QUESTIONNAIRE | PERSONNE SEANCE\n",
      cli_survey, NULL },
};

#define CLI_NCOMMANDS (sizeof cli_commands / sizeof cli_commands[0])

static void cli_usage(FILE *f)
{
    fprintf(f, "usage : tremplin [-c CONFIGURATION] COMMANDE [ARGUMENTS]\n"
               "        tremplin COMMANDE --help     l'aide d'une commande\n"
               "        tremplin --version\n\ncommandes :\n");
    for (size_t i = 0; i < CLI_NCOMMANDS; i++) {
        char name[32];
        fprintf(f, "  %s%s\n", cli_pad(cli_commands[i].name, 12, name, sizeof name), cli_commands[i].summary);
    }
    fprintf(f, "\nCONFIGURATION : -c FICHIER, sinon $TREMPLIN_CONF, sinon ./tremplin.conf.\n"
               "Codes de sortie : 0 fait, 1 un service ou Redis injoignable, 2 refusé ou mal employé.\n");
}

static const cli_command_t *cli_find(const char *name)
{
    for (size_t k = 0; k < CLI_NCOMMANDS; k++)
        if (strcmp(name, cli_commands[k].name) == 0)
            return &cli_commands[k];
    return NULL;
}

/* The edit distance of a and b (both short: command names), capped at 9. */
static int cli_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 15 || lb > 15)
        return 9;
    int d[16][16];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]), del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* The command a typo most likely meant (two edits at most), or NULL. */
static const cli_command_t *cli_nearest(const char *name)
{
    const cli_command_t *best = NULL;
    int best_d = 3;
    for (size_t k = 0; k < CLI_NCOMMANDS; k++) {
        int d = cli_distance(name, cli_commands[k].name);
        if (d < best_d) {
            best_d = d;
            best = &cli_commands[k];
        }
    }
    return best;
}

/* Takes -c FILE (also -cFILE, --config FILE, --config=FILE) out of the line,
 * wherever it is, up to a "--". 0, or -1 when -c has no value. */
static int cli_take_conf(int *argc, char **argv, const char **conf)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (i + 1 >= *argc)
                return -1;
            *conf = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            *conf = a + 9;
        } else if (a[0] == '-' && a[1] == 'c' && a[2]) {
            *conf = a + 2;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    if (cli_take_conf(&argc, argv, &conf) != 0) {
        fprintf(stderr, "tremplin : il manque le fichier de -c\n\n");
        cli_usage(stderr);
        return CLI_REFUSED;
    }
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_REFUSED;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("tremplin %s\n", SVC_VERSION);
        return CLI_OK;
    }
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        const cli_command_t *c = argc > 2 ? cli_find(argv[2]) : NULL;
        if (c)
            fputs(c->usage, stdout);
        else
            cli_usage(stdout);
        return CLI_OK;
    }
    const cli_command_t *cmd = cli_find(name);
    if (!cmd) {
        const cli_command_t *near = cli_nearest(name);
        if (near) {
            fprintf(stderr, "tremplin : commande inconnue : %s — vouliez-vous dire « %s » ?\n\n", name, near->name);
            fputs(near->usage, stderr);
        } else {
            fprintf(stderr, "tremplin : commande inconnue : %s\n\n", name);
            cli_usage(stderr);
        }
        return CLI_REFUSED;
    }
    /* COMMAND ... --help: its usage, before anything is read or sent */
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(cmd->usage, stdout);
            return CLI_OK;
        }
    cli_t cli;
    if (cmd->no_conf && argc > 2 && !strcmp(argv[2], cmd->no_conf)) {
        memset(&cli, 0, sizeof cli);
        cli.cmd = cmd;
        return cmd->run(&cli, argc - 2, argv + 2);
    }
    if (cli_init(&cli, cmd, conf) != 0) {
        cli_fini(&cli);
        return CLI_REFUSED;
    }
    int rc = cmd->run(&cli, argc - 2, argv + 2);
    cli_fini(&cli);
    return rc;
}
