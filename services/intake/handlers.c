/* intake's command handlers: from a decoded command to one Redis function
 * call (or an immediate error). The checks are in referral.c; the atomic
 * step is in intake.lua. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ids.h"
#include "intake.h"
#include "keys.h"
#include "referral.h"

const conf_field_t intake_conf_fields[] = {
    CONF_STR_FIELD("intake", "curve_dir", intake_conf_t, curve_dir, "var/curve"),
    CONF_STR_FIELD("intake", "branch_bind", intake_conf_t, branch_bind, ""),
    CONF_INT_FIELD("intake", "watch_ms", intake_conf_t, watch_ms, "1000"),
    CONF_INT_FIELD("intake", "purge_ms", intake_conf_t, purge_ms, "60000"),
};
const size_t intake_nconf_fields = sizeof intake_conf_fields / sizeof intake_conf_fields[0];

const keyring_kind_t intake_branches = { "intake", "branch", "branches", "branch-secrets", "agence", "l'agence" };

static void reject(call_t *call, const referral_error_t *err)
{
    call_error(call, err->code, err->field, err->message_fr, 0);
}

/* The branch checks that need the registry: known branch, not revoked, the
 * sender's key is that branch's (on the CURVE endpoint: the key ZAP let in,
 * from the same registry; peer is "" on the command endpoint, whose
 * senders' roles common/access.h checks), the territory is the branch's. A branch added a
 * moment ago (staff on the loopback endpoint) is looked for again in the
 * registry's directory before it is called unknown. */
static int check_branch(intake_t *in, const Tremplin__Envelope *env, const char *branch_id, const char *peer,
                        referral_error_t *err)
{
    const keyring_entry_t *b = keyring_by_id(&in->door.keys, branch_id);
    if (!b && keyring_door_refresh(&in->door))
        b = keyring_by_id(&in->door.keys, branch_id);
    if (!b)
        return referral_fail(err, "UNKNOWN_BRANCH", "branch", "Agence inconnue : « %s ».", branch_id);
    if (peer[0]) {
        const keyring_entry_t *sender;
        keyring_verdict_t v = keyring_check(&in->door.keys, peer, clock_real_ms(), &sender);
        if (v == KEYRING_EXPIRED)
            return referral_fail(err, "KEY_EXPIRED", "branch",
                                 "Cette clé de l'agence a été remplacée : installez la nouvelle.");
        if (v != KEYRING_OK)
            return referral_fail(err, "BRANCH_REVOKED", "branch", "La clé de cette agence n'est plus autorisée.");
        if (strcmp(sender->id, b->id) != 0)
            return referral_fail(err, "BRANCH_MISMATCH", "branch",
                                 "L'agence indiquée (%s) n'est pas celle de la clé qui envoie (%s).", b->id, sender->id);
    }
    if (b->revoked_ms)
        return referral_fail(err, "BRANCH_REVOKED", "branch", "L'agence %s a été révoquée.", b->id);
    if (strcmp(b->territory, env->territory) != 0)
        return referral_fail(err, "TERRITORY_MISMATCH", "territory",
                             "Le territoire du message (%s) n'est pas celui de l'agence (%s).", env->territory,
                             b->territory);
    return 0;
}

static void prepare_no_consent(const Tremplin__SubmitReferral *r, int64_t now, const char *day,
                               const referral_error_t *err, call_t *call)
{
    char yesterday[11];
    clock_local_day_before(now, yesterday);
    call_function(call, "no_consent");
    call_key(call, "noconsent", "noconsent:%s:%s", day, r->branch);
    call_key(call, "fig_day", "fig:%s", day);
    call_key(call, "fig_total", "fig:total");
    call_key(call, "noconsent_before", "noconsent:%s:%s", yesterday, r->branch);
    call_arg(call, "branch", "%s", r->branch);
    call_arg(call, "external_ref", "%s", r->external_ref);
    call_arg(call, "field", "%s", err->field);
    call_arg(call, "message", "%s", err->message_fr);
}

/* The personal data of a new person, apart from the rest: only the fields
 * given (a person already known sends none). */
static void contact_args(const Tremplin__Person *p, call_t *call)
{
    const Tremplin__PostalAddress *a = p->address;
    const struct {
        const char *name, *value;
    } text[] = {
        { "given_name", p->given_name },     { "family_name", p->family_name },
        { "line1", a ? a->line1 : "" },       { "line2", a ? a->line2 : "" },
        { "postcode", a ? a->postcode : "" }, { "city", a ? a->city : "" },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(text); i++)
        if (text[i].value[0])
            call_arg(call, text[i].name, "%s", text[i].value);
    char phone[16] = "";
    if (p->phone[0] && referral_phone_normalize(p->phone, phone) == 0)
        call_arg(call, "phone", "%s", phone);
    if (p->birth_year)
        call_arg(call, "birth_year", "%u", p->birth_year);
    if (p->n_accessibility)
        call_arg_list(call, "accessibility", p->accessibility, p->n_accessibility);
}

static void prepare_submit_referral(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    svc_t *s = arg;
    intake_t *in = svc_state(s);
    const Tremplin__SubmitReferral *r = env->submit_referral;
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    referral_error_t err;
    const char *branch_key = call->operator[0] ? "" : call->peer; /* the branch door's sender */
    if (referral_check_envelope(r, &err) != 0 || check_branch(in, env, r->branch, branch_key, &err) != 0) {
        reject(call, &err);
        return;
    }
    if (referral_check_consent(r, now, &err) != 0) {
        if (!strcmp(err.code, "CONSENT_REQUIRED"))
            prepare_no_consent(r, now, day, &err, call); /* counted, not stored */
        else
            reject(call, &err);
        return;
    }
    if (referral_validate(r, now, &err) != 0) {
        reject(call, &err);
        return;
    }
    char answers[REFERRAL_ANSWERS_TEXT_MAX]; /* the validated bounds always fit: never a record cut short */
    int nanswers = referral_answers_text(r, answers, sizeof answers);
    if (nanswers < 0) {
        call_error(call, "TOO_MANY", "answers", "Réponses trop longues pour être enregistrées.", 0);
        return;
    }

    const Tremplin__Person *p = r->person;
    int known = p->person_id[0] != '\0';
    /* ids derived from the command's: a run again makes the same ones */
    char rid[TP_ID_LEN + 1], pid[TP_ID_LEN + 1], seed[256];
    snprintf(seed, sizeof seed, "%s|%s|%s|%s", env->msg_id, call->peer, r->branch, r->external_ref);
    util_derive_id(seed, "referral", 0, rid);
    if (known)
        util_strlcpy(pid, p->person_id, sizeof pid);
    else
        util_derive_id(seed, "person", 0, pid);

    /* what the matcher needs, nothing personal */
    Tremplin__Envelope out = TREMPLIN__ENVELOPE__INIT;
    Tremplin__ReferralAccepted acc = TREMPLIN__REFERRAL_ACCEPTED__INIT;
    acc.referral_id = rid;
    acc.person_id = pid;
    acc.branch = r->branch;
    acc.partner = r->mediator->partner;
    acc.needs = r->needs;
    acc.n_needs = r->n_needs;
    acc.answers = r->answers;
    acc.n_answers = r->n_answers;
    acc.availability = p->availability;
    acc.n_availability = p->n_availability;
    acc.referred_at_ms = (uint64_t)now;
    out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_REFERRAL_ACCEPTED;
    out.referral_accepted = &acc;

    call_function(call, "submit_referral");
    call_event(call, "referral.accepted", "referral_id");
    call_send(call, "matcher", &out);
    call_key(call, "ref", "ref:%s:%s", r->branch, r->external_ref);
    call_key(call, "referral", "referral:%s", rid);
    call_key(call, "person", "person:%s", pid);
    call_key(call, "contact", "contact:%s", pid);
    call_key(call, "fig_day", "fig:%s", day);
    call_key(call, "fig_total", "fig:total");
    call_key(call, "retention", "retention");

    char digest[TP_ID_LEN + 1];
    referral_digest(r, digest);
    call_arg(call, "digest", "%s", digest);
    call_arg(call, "referral_id", "%s", rid);
    call_arg(call, "person_id", "%s", pid);
    call_arg(call, "known", "%d", known);
    call_arg(call, "branch", "%s", r->branch);
    call_arg(call, "external_ref", "%s", r->external_ref);
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg(call, "retain_until_ms", "%lld", (long long)(now + svc_conf(s)->retention.contact_days * 86400000LL));
    call_arg(call, "mediator", "%s", r->mediator->id);
    call_arg(call, "partner", "%s", r->mediator->partner);
    call_arg_list(call, "needs", r->needs, r->n_needs);
    call_arg_bytes(call, "answers", answers, (size_t)nanswers);
    call_arg_list(call, "availability", p->availability, p->n_availability);
    call_arg_list(call, "purposes", r->consent->purposes, r->consent->n_purposes);
    call_arg(call, "consent_version", "%s", r->consent->text_version);
    call_arg(call, "consent_at_ms", "%llu", (unsigned long long)r->consent->given_at_ms);
    contact_args(p, call);
}

/* The scheduler told, in the step, that pid withdrew the consent to
 * training: their seats and waitlist places go. */
static void send_training_withdrawn(call_t *call, char *pid, int64_t now)
{
    Tremplin__Envelope out = TREMPLIN__ENVELOPE__INIT;
    Tremplin__ConsentWithdrawn cw = TREMPLIN__CONSENT_WITHDRAWN__INIT;
    cw.person_id = pid;
    cw.purpose = "training";
    cw.withdrawn_at_ms = (uint64_t)now;
    out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CONSENT_WITHDRAWN;
    out.consent_withdrawn = &cw;
    call_send(call, "scheduler", &out);
}

static void prepare_withdraw_consent(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    (void)arg;
    const Tremplin__WithdrawConsent *w = env->withdraw_consent;
    if (!call_person_ok(call, w->person_id))
        return;
    if (referral_known_purpose(w->purpose) != 0) {
        call_error(call, "UNKNOWN_VALUE", "purpose", "Finalité inconnue (training, sms, survey).", 0);
        return;
    }
    char day[11];
    int64_t now = clock_now_ms();
    clock_local_day(now, day);
    call_function(call, "withdraw_consent");
    call_event(call, "consent.withdrawn", "person_id");
    if (!strcmp(w->purpose, "training")) /* the scheduler obeys it, in the same step */
        send_training_withdrawn(call, w->person_id, now);
    call_key(call, "person", "person:%s", w->person_id);
    call_key(call, "fig_day", "fig:%s", day);
    call_arg(call, "purpose", "%s", w->purpose);
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg(call, "person_id", "%s", w->person_id);
}

/* ErasePerson: the right to erasure (intake.lua erase_person). In the same
 * step, the scheduler is told the training consent is withdrawn (its seats
 * and waitlist places go, as for a withdrawal), and the survey and the
 * gateway get the erasure for their parts. */
static void prepare_erase_person(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    (void)arg;
    const Tremplin__ErasePerson *e = env->erase_person;
    if (!call_person_ok(call, e->person_id))
        return;
    char day[11];
    int64_t now = clock_now_ms();
    clock_local_day(now, day);
    call_function(call, "erase_person");
    call_event(call, "person.erased", "person_id");
    send_training_withdrawn(call, e->person_id, now);
    Tremplin__Envelope on = TREMPLIN__ENVELOPE__INIT;
    Tremplin__ErasePerson ep = TREMPLIN__ERASE_PERSON__INIT;
    ep.person_id = e->person_id;
    ep.erased_at_ms = (uint64_t)now;
    on.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON;
    on.erase_person = &ep;
    call_send(call, "survey", &on);
    call_send(call, "gateway", &on);
    call_key(call, "person", "person:%s", e->person_id);
    call_key(call, "contact", "contact:%s", e->person_id);
    call_key(call, "retention", "retention");
    call_key(call, "fig_day", "fig:%s", day);
    call_arg(call, "person_id", "%s", e->person_id);
    call_arg(call, "now_ms", "%lld", (long long)now);
}

/* GiveConsent: staff record a consent given (again); dated. */
static void prepare_give_consent(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    (void)arg;
    const Tremplin__GiveConsent *g = env->give_consent;
    if (!call_person_ok(call, g->person_id))
        return;
    if (referral_known_purpose(g->purpose) != 0) {
        call_error(call, "UNKNOWN_VALUE", "purpose", "Finalité inconnue (training, sms, survey).", 0);
        return;
    }
    call_function(call, "give_consent");
    call_event(call, "consent.given", "person_id");
    call_key(call, "person", "person:%s", g->person_id);
    call_arg(call, "purpose", "%s", g->purpose);
    call_arg(call, "now_ms", "%lld", (long long)clock_now_ms());
    call_arg(call, "person_id", "%s", g->person_id);
}

/* SubmitReferral first: the branch endpoint serves that one only. */
/* 1 when one of the person's referrals came from branch (referrals:<pid>;
 * an older person: its first and last). A mediator's read is rare: read
 * here, as the scheduler reads a session for a mark. */
static int person_of_branch(svc_t *s, const char *territory, const char *pid, const char *branch)
{
    char key[160];
    tp_key(key, sizeof key, territory, "intake", "referrals:%s", pid);
    redisReply *z = rds_cmd(svc_rds(s), "ZRANGE %s 0 63", key);
    int found = 0;
    for (size_t i = 0; z && z->type == REDIS_REPLY_ARRAY && i < z->elements && !found; i++) {
        tp_key(key, sizeof key, territory, "intake", "referral:%s", z->element[i]->str);
        redisReply *b = rds_cmd(svc_rds(s), "HGET %s branch", key);
        found = b && b->type == REDIS_REPLY_STRING && !strcmp(b->str, branch);
        if (b)
            freeReplyObject(b);
    }
    if (z)
        freeReplyObject(z);
    for (int i = 0; i < 2 && !found; i++) {
        char rid[TP_ID_LEN + 1] = "";
        tp_key(key, sizeof key, territory, "intake", "person:%s", pid);
        redisReply *p = rds_cmd(svc_rds(s), "HGET %s %s", key, i ? "last_referral" : "first_referral");
        if (p && p->type == REDIS_REPLY_STRING)
            util_strlcpy(rid, p->str, sizeof rid);
        if (p)
            freeReplyObject(p);
        tp_key(key, sizeof key, territory, "intake", "referral:%s", rid);
        redisReply *b = rid[0] ? rds_cmd(svc_rds(s), "HGET %s branch", key) : NULL;
        found = b && b->type == REDIS_REPLY_STRING && !strcmp(b->str, branch);
        if (b)
            freeReplyObject(b);
    }
    return found;
}

/* A person's data about to be shown (the audit trail): a mediator's key
 * reads the people its branch referred only (common/access.h checked the
 * branch is the key's). */
static void prepare_record_read(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    const Tremplin__RecordRead *r = env->record_read;
    if (!strcmp(call->access, "mediator") && strcmp(r->action, "worklist")
        && !(ids_hex(r->subject) && person_of_branch(arg, env->territory, r->subject, r->branch))) {
        call_error(call, "FORBIDDEN", "subject", "Cette personne n'a pas été orientée par votre agence.", 0);
        return;
    }
    svc_prepare_record_read(arg, env, call);
}

const inbox_handler_t intake_handlers[] = {
    { TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL, prepare_submit_referral, .edge = 1 },
    { TREMPLIN__ENVELOPE__PAYLOAD_WITHDRAW_CONSENT, prepare_withdraw_consent },
    { TREMPLIN__ENVELOPE__PAYLOAD_GIVE_CONSENT, prepare_give_consent },
    { TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON, prepare_erase_person },
    { TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ, prepare_record_read },
};
const size_t intake_nhandlers = sizeof intake_handlers / sizeof intake_handlers[0];
