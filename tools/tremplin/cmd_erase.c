/* tremplin person erase — the right to erasure (GDPR art. 17).
 *
 * The tool sends ErasePerson to intake (a command like any other: its
 * msg_id makes a retry harmless) and writes no key itself: intake deletes
 * the contact and withdraws the consents in one step, and passes the
 * erasure on through its outbox — to the scheduler (seats and waitlist
 * places released, as for a withdrawal), the survey (comments) and the
 * gateway (phone sets, pending notifications, spool files, reply texts).
 * The tool then waits (reading, with a deadline) until each part is done,
 * and asks Redis once to rewrite its AOF (BGREWRITEAOF: the operator's Redis
 * user may run it), waiting for the rewrite to end, so that the data leaves
 * the disk too. An erased person again: told, nothing done. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "keys.h"

typedef struct {
    long scheduler, survey, gateway, files; /* each part: 1 done, 0 not yet */
    long comments, jobs, phones, nfiles;
} erase_parts_t;

/* A field of a service's hash of T, "" when absent (out: cap bytes). */
static void er_hget(rds_t *r, const char *T, const char *svc, const char *key, const char *field, char *out,
                    size_t cap)
{
    char k[240];
    tp_key(k, sizeof k, T, svc, "%s", key);
    redisReply *x = rds_cmd(r, "HGET %s %s", k, field);
    snprintf(out, cap, "%s", x && x->type == REDIS_REPLY_STRING ? x->str : "");
    if (x)
        freeReplyObject(x);
}

/* What each service has done of pid's erasure (erased_ms: intake's). */
static void er_parts(rds_t *r, const char *T, const char *pid, int64_t erased_ms, erase_parts_t *p)
{
    char v[128], key[80];
    memset(p, 0, sizeof *p);
    snprintf(key, sizeof key, "person:%s", pid);
    er_hget(r, T, "scheduler", key, "training_withdrawn_ms", v, sizeof v);
    p->scheduler = atoll(v) >= erased_ms;
    er_hget(r, T, "survey", "erased", pid, v, sizeof v);
    p->survey = v[0] != '\0';
    if (p->survey) /* "<ms> <comments>" */
        sscanf(v + strcspn(v, " "), "%ld", &p->comments);
    er_hget(r, T, "gateway", "erased", pid, v, sizeof v);
    p->gateway = v[0] != '\0'; /* "<ms> <jobs> <phones>", then " <files>" once they are deleted */
    p->files = p->gateway && sscanf(v + strcspn(v, " "), "%ld %ld %ld", &p->jobs, &p->phones, &p->nfiles) == 3;
}

static int er_done(const erase_parts_t *p) { return p->scheduler && p->survey && p->gateway && p->files; }

/* The AOF of territory T's Redis (its shard's, else the default) rewritten
 * once: asked when no rewrite runs (one running copies the data as it was
 * before the erasure), then waited for. 0, or -1 when Redis refused or the
 * deadline passed (told). */
static int er_rewrite(rds_t *r, const char *T, int64_t deadline)
{
    int at = rds_territory_conn(r, T), asked = 0;
    for (;;) {
        rds_persistence_t p;
        rds_persistence_at(r, at, &p);
        if (!p.known) {
            fprintf(stderr, "tremplin : Redis injoignable : le fichier AOF n'a pas été réécrit\n");
            return -1;
        }
        if (!p.aof_rewriting && asked) {
            if (strcmp(p.aof_last_bgrewrite_status, "ok")) {
                fprintf(stderr, "tremplin : la réécriture du fichier AOF a échoué (voir le journal de Redis)\n");
                return -1;
            }
            return 0;
        }
        if (!p.aof_rewriting) {
            char err[256];
            int rc = rds_aof_rewrite_at(r, at, err, sizeof err);
            if (rc < 0) {
                fprintf(stderr, "tremplin : Redis refuse de réécrire le fichier AOF : %s\n", err);
                return -1;
            }
            asked = rc == 0;
        }
        if (clock_real_ms() > deadline) {
            fprintf(stderr, "tremplin : la réécriture du fichier AOF n'est pas finie après le délai\n");
            return -1;
        }
        nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
    }
}

static void er_tell(cli_t *cli, const Tremplin__Ack *ack, void *arg)
{
    (void)cli;
    *(int *)arg = ack->duplicate;
}

static const char *er_s(long n) { return n > 1 ? "s" : ""; }

int cli_person_erase(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "ref", required_argument, NULL, 'r' },
                                          { "wait", required_argument, NULL, 'w' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 1, &a) != 0)
        return CLI_REFUSED;
    long wait_s;
    if (cli_number(cli, &a, 'w', "--wait", 1, 3600, 30, &wait_s) != 0)
        return CLI_REFUSED;
    char pid[TP_ID_LEN + 1], when[11], v[32];
    const char *T;
    json_object *person;
    int rc = cli_person_find(cli, a.nwords ? a.word[0] : NULL, a.opt['r'], pid, &T, &person);
    if (rc != CLI_OK)
        return rc;
    json_object *e;
    int64_t erased_ms = json_object_object_get_ex(person, "erased_ms", &e) ? atoll(json_object_get_string(e)) : 0;
    json_object_put(person);
    rds_t *r = cli_redis(cli);
    erase_parts_t p;
    if (erased_ms) {
        er_parts(r, T, pid, erased_ms, &p);
        if (er_done(&p)) {
            cli_date_fr(erased_ms, when);
            printf("La personne %s a déjà été effacée le %s : rien de plus à effacer.\n", pid, when);
            return CLI_OK;
        }
    } else {
        Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
        Tremplin__ErasePerson ep = TREMPLIN__ERASE_PERSON__INIT;
        ep.person_id = pid;
        env.territory = (char *)T;
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON;
        env.erase_person = &ep;
        int dup = 0;
        if ((rc = cli_send(cli, "intake", &env, er_tell, &dup)) != CLI_OK)
            return rc;
        char key[80];
        snprintf(key, sizeof key, "person:%s", pid);
        er_hget(r, T, "intake", key, "erased_ms", v, sizeof v);
        erased_ms = atoll(v);
    }
    /* each service's part, through the outboxes */
    int64_t deadline = clock_real_ms() + wait_s * 1000;
    for (er_parts(r, T, pid, erased_ms, &p); !er_done(&p) && clock_real_ms() < deadline;
         er_parts(r, T, pid, erased_ms, &p))
        nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
    if (!er_done(&p)) {
        fprintf(stderr,
                "tremplin : effacement enregistré, pas encore fini après %ld s (en attente :%s%s%s%s) ; relancer la "
                "même commande pour le terminer\n",
                wait_s, p.scheduler ? "" : " réservations", p.survey ? "" : " questionnaire",
                p.gateway ? "" : " notifications", p.gateway && !p.files ? " fichiers SMS" : "");
        return CLI_UNREACHABLE;
    }
    if (er_rewrite(r, T, clock_real_ms() + wait_s * 1000) != 0)
        return CLI_UNREACHABLE;
    printf("Personne %s : données personnelles effacées : coordonnées (nom, téléphone, adresse), %ld commentaire%s, "
           "%ld fichier%s de SMS, %ld numéro%s de téléphone connu%s de la passerelle ; consentements retirés ; "
           "réservations et listes d'attente libérées ; %ld notification%s en attente annulée%s.\n",
           pid, p.comments, er_s(p.comments), p.nfiles, er_s(p.nfiles), p.phones, er_s(p.phones), er_s(p.phones),
           p.jobs, er_s(p.jobs), er_s(p.jobs));
    printf("  Fichier AOF de Redis réécrit : les données effacées ont quitté le disque de Redis (les sauvegardes les "
           "gardent jusqu'à leur rotation).\n"
           "  Restent les faits pseudonymes des chiffres : orientations, niveau, présences, réponses au questionnaire "
           "sans commentaire.\n");
    return CLI_OK;
}
