/* tremplin referral | consent — intake's side of the tool: a referral as
 * JSON, bulk imports (CSV as French Excel writes it, JSON lines, a JSON
 * array), the template of the CSV, why a workshop was chosen, consents (the
 * branch keys are cmd_keys.c's). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "ids.h"
#include "intake/referral_csv.h"
#include "intake/referral.h"
#include "intake/referral_json.h"
#include "jsondoc.h"
#include "keys.h"

/* ------------------------------------------------------------ submit */

/* The territory of a referral is its branch's (else the first configured). */
const char *cli_branch_territory(cli_t *cli, const keyring_t *b, const char *branch)
{
    const keyring_entry_t *br = keyring_by_id(b, branch);
    return br ? br->territory : cli->territories[0];
}

void cli_referral_envelope(Tremplin__Envelope *env, Tremplin__SubmitReferral *r, const char *territory)
{
    tremplin__envelope__init(env);
    env->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    env->submit_referral = r;
    env->territory = (char *)territory;
}

typedef struct {
    const char *given_name;
    const char *territory;
} cli_submitted_t;

/* HGET of a key of service svc in territory T into out ("" when absent). */
void cli_hget(cli_t *cli, const char *T, const char *svc, const char *key, const char *field, char *out, size_t cap)
{
    out[0] = '\0';
    rds_t *r = cli_redis(cli);
    if (!r)
        return;
    char k[200];
    tp_key(k, sizeof k, T, svc, "%s", key);
    redisReply *x = rds_cmd(r, "HGET %s %s", k, field);
    util_strlcpy(out, x && x->type == REDIS_REPLY_STRING ? x->str : "", cap);
    if (x)
        freeReplyObject(x);
}

/* "Orientation enregistrée : Josiane, niveau débutant, atelier « Initiation
 * au numérique » lundi 30 novembre 2026 à 9 h 30, La Poste Wilson" — what
 * the matcher and the scheduler made of it, once they have (a few seconds
 * at most; else the ids, and where to look later). */
static void cli_tell_referral(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    const cli_submitted_t *s = arg;
    const char *who = s->given_name && s->given_name[0] ? s->given_name : "personne déjà connue";
    if (ack->duplicate) {
        printf("Orientation déjà reçue (rien de créé une deuxième fois) : %s\n", who);
    } else {
        char outcome[32] = "", level[16] = "", title[128] = "", status[32] = "", booking[32] = "", session[80] = "";
        char key[120];
        snprintf(key, sizeof key, "assignment:%s", ack->referral_id);
        for (int i = 0; i < 40 && !outcome[0]; i++) { /* the matcher, then the scheduler: up to 4 s */
            cli_hget(cli, s->territory, "matcher", key, "outcome", outcome, sizeof outcome);
            if (!outcome[0])
                nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
        }
        cli_hget(cli, s->territory, "matcher", key, "level", level, sizeof level);
        cli_hget(cli, s->territory, "matcher", key, "kind_title", title, sizeof title);
        snprintf(key, sizeof key, "assigned:%s", ack->referral_id);
        for (int i = 0; i < 40 && !strcmp(outcome, "workshop") && !status[0]; i++) {
            cli_hget(cli, s->territory, "scheduler", key, "status", status, sizeof status);
            if (!status[0])
                nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
        }
        cli_hget(cli, s->territory, "scheduler", key, "booking", booking, sizeof booking);
        cli_hget(cli, s->territory, "scheduler", key, "session", session, sizeof session);
        char lvl[64];
        cli_level_fr(cli, level, lvl, sizeof lvl);
        if (!outcome[0]) {
            printf("Orientation enregistrée : %s (l'évaluation n'est pas encore faite : tremplin person show %s)\n",
                   who, ack->person_id);
        } else if (!strcmp(outcome, "autonomous")) {
            printf("Orientation enregistrée : %s, niveau %s : personne autonome, pas d'atelier\n", who, lvl);
        } else if (strcmp(outcome, "workshop")) {
            printf("Orientation enregistrée : %s, niveau non déterminé : questionnaire à refaire avec le médiateur\n",
                   who);
        } else if (!strcmp(status, "booked") && session[0]) {
            char sk[120], start[24] = "", venue[40] = "", when[96];
            snprintf(sk, sizeof sk, "session:%s", session);
            cli_hget(cli, s->territory, "scheduler", sk, "start", start, sizeof start);
            cli_hget(cli, s->territory, "scheduler", sk, "venue", venue, sizeof venue);
            cli_when_fr(atoll(start), when, sizeof when);
            printf("Orientation enregistrée : %s, niveau %s, atelier « %s » %s, %s (réservation %s)\n", who, lvl, title,
                   when, cli_venue_fr(cli, venue), booking);
        } else if (status[0]) {
            printf("Orientation enregistrée : %s, niveau %s, atelier « %s » : %s\n", who, lvl, title,
                   cli_status_fr(status));
        } else {
            printf("Orientation enregistrée : %s, niveau %s, atelier « %s » (place pas encore attribuée)\n", who, lvl,
                   title);
        }
    }
    printf("  orientation %s, personne %s\n", ack->referral_id, ack->person_id);
}

/* A file's whole text, or stdin's for "-" (at most 1 MiB). */
static char *cli_read_doc(const char *path)
{
    char err[256];
    char *text = strcmp(path, "-") ? jsondoc_read(path, err, sizeof err) : jsondoc_fread(stdin, err, sizeof err);
    if (!text)
        fprintf(stderr, "tremplin : %s : lecture impossible (%s)\n", path, strstr(err, "cannot open") ? strerror(errno)
                                                                          : strstr(err, "larger") ? "plus de 1 Mio"
                                                                                                  : err);
    return text;
}

static int cli_referral_submit(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 1, &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    const char *path = a.nwords ? a.word[0] : "-";
    char *text = cli_read_doc(path);
    if (!text)
        return CLI_REFUSED;
    char err[512];
    json_object *root = jsondoc_parse_fr(text, err, sizeof err);
    free(text);
    if (!root)
        return cli_refuse(cli, "INVALID_JSON", "", err);
    referral_json_t h;
    if (referral_from_json(root, &h, err, sizeof err) != 0) {
        json_object_put(root);
        return cli_refuse(cli, "INVALID_JSON", "", err);
    }
    keyring_t b;
    keyring_load(&intake_branches, cli->intake.curve_dir, &b, err, sizeof err);
    Tremplin__Envelope env;
    cli_submitted_t s = { h.referral.person ? h.referral.person->given_name : "",
                          cli_branch_territory(cli, &b, h.referral.branch) };
    cli_referral_envelope(&env, &h.referral, s.territory);
    int rc = cli_send(cli, "intake", &env, cli_tell_referral, &s);
    keyring_free(&b);
    json_object_put(root);
    return rc;
}

/* ---------------------------------------------------------- template */

/* The columns of an import, as French Excel opens them: UTF-8 with a BOM,
 * ';' between the columns, CRLF. */
static int cli_referral_template(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0)
        return CLI_REFUSED;
    fputs("\xEF\xBB\xBF", stdout);
    for (int i = 0; referral_csv_columns[i]; i++)
        printf("%s%s", i ? ";" : "", referral_csv_columns[i]);
    printf("\r\n");
    return CLI_OK;
}

/* ----------------------------------------------------------- explain */

/* The referral of a mediator's reference "BRANCH:EXTERNAL_REF": its ids and
 * territory. 0, -1 (Redis away: 1), -2 (unknown or malformed). */
int cli_by_ref(cli_t *cli, const char *ref, char rid[TP_ID_LEN + 1], char pid[TP_ID_LEN + 1], const char **terr)
{
    const char *colon = strchr(ref, ':');
    if (!colon || colon == ref || !colon[1] || (size_t)(colon - ref) >= KEYRING_ID_MAX)
        return -2;
    char branch[KEYRING_ID_MAX];
    snprintf(branch, sizeof branch, "%.*s", (int)(colon - ref), ref);
    rds_t *r = cli_redis(cli);
    if (!r)
        return -1;
    for (int t = 0; t < cli->nterritories; t++) {
        char key[400];
        tp_key(key, sizeof key, cli->territories[t], "intake", "ref:%s:%s", branch, colon + 1);
        redisReply *x = rds_cmd(r, "HMGET %s referral_id person_id", key);
        if (!x)
            return -1;
        int found = x->type == REDIS_REPLY_ARRAY && x->elements == 2 && x->element[0]->str && x->element[1]->str;
        if (found) {
            util_strlcpy(rid, x->element[0]->str, TP_ID_LEN + 1);
            util_strlcpy(pid, x->element[1]->str, TP_ID_LEN + 1);
            *terr = cli->territories[t];
        }
        freeReplyObject(x);
        if (found)
            return 0;
    }
    return -2;
}

/* explain REFERRAL_ID | --ref BRANCH:REF: why this workshop, in French,
 * from the matcher's record of its decision. */
static int cli_referral_explain(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "ref", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 1, &a) != 0)
        return CLI_REFUSED;
    if ((a.nwords == 1) == (a.opt['r'] != NULL))
        return cli_misuse(cli, "un identifiant d'orientation, ou --ref AGENCE:REFERENCE");
    char rid[TP_ID_LEN + 1], pid[TP_ID_LEN + 1];
    const char *only = NULL;
    if (a.opt['r']) {
        int rc = cli_by_ref(cli, a.opt['r'], rid, pid, &only);
        if (rc == -1)
            return CLI_UNREACHABLE;
        if (rc == -2) {
            printf("Aucune orientation reçue sous la référence %s (de la forme AGENCE:REFERENCE).\n", a.opt['r']);
            return CLI_REFUSED;
        }
    } else if (!ids_hex(a.word[0])) {
        return cli_misuse(cli, "identifiant d'orientation invalide : %s (32 caractères hexadécimaux)", a.word[0]);
    } else {
        util_strlcpy(rid, a.word[0], sizeof rid);
    }
    rds_t *r = cli_redis(cli);
    if (!r)
        return CLI_UNREACHABLE;
    for (int t = 0; t < cli->nterritories; t++) {
        if (only && strcmp(only, cli->territories[t]))
            continue;
        char key[160];
        tp_key(key, sizeof key, cli->territories[t], "matcher", "assignment:%s", rid);
        redisReply *x = rds_cmd(r, "HGETALL %s", key);
        if (!x)
            return CLI_UNREACHABLE;
        if (x->type != REDIS_REPLY_ARRAY || x->elements == 0) {
            freeReplyObject(x);
            continue;
        }
        const char *f[10] = { "kind", "kind_title", "level", "score", "outcome", "reason", "rules", "decided_ms",
                              "branch", "person_id" };
        const char *v[10] = { "", "", "", "", "", "", "", "0", "", "" };
        for (size_t i = 0; i + 1 < x->elements; i += 2)
            for (int k = 0; k < 10; k++)
                if (!strcmp(x->element[i]->str, f[k]))
                    v[k] = x->element[i + 1]->str;
        char day[11], lvl[64];
        cli_date_fr(atoll(v[7]), day);
        printf("Orientation %s (agence %s, territoire %s), décidée le %s\n", rid, v[8], cli->territories[t], day);
        printf("Personne : %s\n", v[9]);
        if (!strcmp(v[4], "workshop"))
            printf("Niveau : %s\nAtelier : %s\n", cli_level_fr(cli, v[2], lvl, sizeof lvl), v[1]);
        else if (!strcmp(v[4], "autonomous"))
            printf("Pas d'atelier : personne autonome (accompagnée)\n");
        else
            printf("Pas d'atelier pour l'instant : questionnaire à refaire\n");
        printf("Pourquoi : %s\nRègles appliquées : %s\n", v[5], v[6]);
        freeReplyObject(x);
        return CLI_OK;
    }
    printf("Orientation %s inconnue du matcher (pas encore évaluée, ou identifiant erroné).\n", rid);
    return CLI_REFUSED;
}

int cli_referral(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "submit", "import", "explain", "template", NULL };
    int act = cli_action(cli, argc, argv, actions);
    switch (act) {
    case 0: return cli_referral_submit(cli, argc - 1, argv + 1);
    case 1: return cli_referral_import(cli, argc - 1, argv + 1);
    case 2: return cli_referral_explain(cli, argc - 1, argv + 1);
    case 3: return cli_referral_template(cli, argc - 1, argv + 1);
    default: return CLI_REFUSED;
    }
}

/* ----------------------------------------------------------- consent */

typedef struct {
    const char *purpose, *person;
    int give;
} cli_consent_t;

static void cli_tell_consent(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    const cli_consent_t *c = arg;
    char day[11];
    cli_date_fr(clock_now_ms(), day);
    if (c->give)
        printf("Consentement « %s » donné%s pour la personne %s (le %s)%s\n", cli_purpose_fr(c->purpose),
               ack->duplicate ? " (il l'était déjà)" : "", c->person, day,
               !strcmp(c->purpose, "training") && !ack->duplicate
                   ? ".\n  Pour une place en atelier, une nouvelle orientation est à envoyer (referral submit)"
                   : "");
    else
        printf("Consentement « %s » retiré pour la personne %s (le %s)%s\n", cli_purpose_fr(c->purpose), c->person, day,
               !strcmp(c->purpose, "training") ? " : ses réservations et listes d'attente sont libérées" : "");
}

int cli_consent(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "withdraw", "give", NULL };
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
    int act = cli_action(cli, argc, argv, actions);
    cli_args_t a;
    if (act < 0 || cli_parse(cli, argc - 1, argv + 1, opts, 2, 2, &a) != 0)
        return CLI_REFUSED;
    cli->json = a.opt['j'] != NULL;
    if (!ids_hex(a.word[0]))
        return cli_misuse(cli, "identifiant de personne invalide : %s (32 caractères hexadécimaux)", a.word[0]);
    if (referral_known_purpose(a.word[1]) != 0)
        return cli_misuse(cli, "finalité inconnue : %s (training, sms ou survey)", a.word[1]);
    cli_consent_t c = { a.word[1], a.word[0], act == 1 };
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    env.territory = (char *)cli_person_territory(cli, a.word[0]);
    Tremplin__WithdrawConsent w = TREMPLIN__WITHDRAW_CONSENT__INIT;
    Tremplin__GiveConsent g = TREMPLIN__GIVE_CONSENT__INIT;
    if (c.give) {
        g.person_id = (char *)a.word[0];
        g.purpose = (char *)a.word[1];
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_GIVE_CONSENT;
        env.give_consent = &g;
    } else {
        w.person_id = (char *)a.word[0];
        w.purpose = (char *)a.word[1];
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_WITHDRAW_CONSENT;
        env.withdraw_consent = &w;
    }
    return cli_send(cli, "intake", &env, cli_tell_consent, &c);
}
