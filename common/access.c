#include "access.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "ids.h"
#include "util.h"

const keyring_kind_t access_keys = { "bus", "operator", "operators", "operator-secrets", "clé", "la clé" };

typedef Tremplin__Envelope__PayloadCase pc_t;

/* What each operator role may send (a service may send anything). */
static const pc_t access_coordinator[] = {
    TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL, TREMPLIN__ENVELOPE__PAYLOAD_WITHDRAW_CONSENT,
    TREMPLIN__ENVELOPE__PAYLOAD_GIVE_CONSENT,    TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE,
    TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER,    TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING,
    TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_SESSION,  TREMPLIN__ENVELOPE__PAYLOAD_REOPEN_SESSION,
    TREMPLIN__ENVELOPE__PAYLOAD_CLOSE_PERIOD,    TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY,
    TREMPLIN__ENVELOPE__PAYLOAD_PROBE,           TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ,
    TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON, /* the right to erasure: coordinators only */
};
static const pc_t access_mediator[] = {
    TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL, TREMPLIN__ENVELOPE__PAYLOAD_WITHDRAW_CONSENT,
    TREMPLIN__ENVELOPE__PAYLOAD_GIVE_CONSENT,    TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER,
    TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING,  TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ,
};
static const pc_t access_trainer[] = { TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE,
                                       TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ };

static const struct {
    const char *role, *fr;
    const pc_t *may;
    size_t n;
} access_roles[] = {
    { "coordinator", "coordination", access_coordinator, TP_ARRAY_LEN(access_coordinator) },
    { "mediator", "médiation", access_mediator, TP_ARRAY_LEN(access_mediator) },
    { "trainer", "formation", access_trainer, TP_ARRAY_LEN(access_trainer) },
};

int access_operator_role(const char *role)
{
    for (size_t i = 0; i < TP_ARRAY_LEN(access_roles); i++)
        if (!strcmp(access_roles[i].role, role))
            return 1;
    return 0;
}

const char *access_check(const keyring_entry_t *who, const Tremplin__Envelope *env, char *why, size_t cap)
{
    if (!who) {
        snprintf(why, cap, "Clé inconnue du registre : commande refusée.");
        return why;
    }
    if (who->revoked_ms) {
        snprintf(why, cap, "La clé %s est révoquée : commande refusée.", who->id);
        return why;
    }
    if (!strcmp(who->access, "service"))
        return NULL;
    size_t r = 0;
    while (r < TP_ARRAY_LEN(access_roles) && strcmp(access_roles[r].role, who->access))
        r++;
    if (r == TP_ARRAY_LEN(access_roles)) {
        snprintf(why, cap, "La clé %s n'a pas de rôle connu : commande refusée.", who->id);
        return why;
    }
    int may = 0;
    for (size_t i = 0; i < access_roles[r].n; i++)
        may |= access_roles[r].may[i] == env->payload_case;
    if (!may) {
        snprintf(why, cap, "Le rôle %s (%s) ne permet pas cette commande (%s).", access_roles[r].fr, who->id,
                 ids_valid(env->type, 64) ? env->type : "?");
        return why;
    }
    if (strcmp(env->territory, who->territory)) {
        snprintf(why, cap, "%s travaille pour le territoire %s, pas %s.", who->id, who->territory, env->territory);
        return why;
    }
    if (env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL && !strcmp(who->access, "mediator")
        && strcmp(env->submit_referral->branch, who->branch)) {
        snprintf(why, cap, "%s oriente pour l'agence %s, pas pour une autre.", who->id, who->branch);
        return why;
    }
    if (env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE && !strcmp(who->access, "trainer")
        && (!who->trainer[0] || strcmp(env->mark_attendance->trainer_id, who->trainer))) {
        snprintf(why, cap, "%s note la présence de ses propres séances seulement (formateur %s).", who->id,
                 who->trainer[0] ? who->trainer : "?");
        return why;
    }
    const Tremplin__RecordRead *rr = env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ ? env->record_read : NULL;
    if (rr && !strcmp(who->access, "mediator")
        && (strcmp(rr->branch, who->branch)
            || (strcmp(rr->action, "person_show") && strcmp(rr->action, "person_export")
                && (strcmp(rr->action, "worklist") || strcmp(rr->subject, who->branch))))) {
        snprintf(why, cap, "%s lit les personnes orientées par l'agence %s et sa liste de travail seulement.", who->id,
                 who->branch);
        return why;
    }
    if (rr && !strcmp(who->access, "trainer")
        && (strcmp(rr->action, "roster") || !who->trainer[0] || strcmp(rr->trainer_id, who->trainer))) {
        snprintf(why, cap, "%s lit la liste de ses propres séances seulement (formateur %s).", who->id,
                 who->trainer[0] ? who->trainer : "?");
        return why;
    }
    return NULL;
}

void access_service_id(const char *service, char *out, size_t cap) { snprintf(out, cap, "svc-%s", service); }

int access_service_key(const char *dir, const char *service, const char *territory, keyring_cred_t *out, char *err,
                       size_t errlen)
{
    char id[KEYRING_ID_MAX], path[512], pub[512];
    access_service_id(service, id, sizeof id);
    snprintf(path, sizeof path, "%s/%s/%s.key_secret", dir, access_keys.secrets, id);
    snprintf(pub, sizeof pub, "%s/%s/%s.key", dir, access_keys.dir, id);
    /* the first start: another instance of the same service may be making
     * it at this very moment — both would write the secret, one reading the
     * other's half-written file (a scheduler of test_scheduler_ops did not
     * start, now and then): one at a time, under a lock on the registry */
    char lockpath[512];
    snprintf(lockpath, sizeof lockpath, "%s/.service-keys.lock", dir);
    int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock >= 0)
        flock(lock, LOCK_EX);
    struct stat st;
    if (stat(pub, &st) != 0) {
        static const char *const meta[] = { "access", "service", NULL };
        char name[64];
        snprintf(name, sizeof name, "service %s", service);
        keyring_add_meta(&access_keys, dir, id, name, territory, "", clock_real_ms(), "", meta, err, errlen);
    }
    int rc = keyring_cred_load(path, out, err, errlen) != 0 ? -1 : 0;
    if (lock >= 0)
        close(lock); /* and its lock with it */
    return rc;
}
