/* matcher's command handlers: assessment of a new referral, and the next
 * step after a workshop. The rules are in catalogue.c; the atomic steps in
 * matcher.lua. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ids.h"
#include "matcher.h"

#define MATCHER_MAX_CANDIDATES 4

const conf_field_t matcher_conf_fields[] = {
    CONF_STR_FIELD("matcher", "catalogue", matcher_conf_t, catalogue_path, "deploy/catalogue.json"),
};
const size_t matcher_nconf_fields = sizeof matcher_conf_fields / sizeof matcher_conf_fields[0];

/* branch, partner: where the person was referred from ("" in a follow-up). */
static void track_assigned(const char *assignment_id, const char *person_id,
                           const cat_kind_t *kind, int level, char **availability, size_t navail,
                           uint64_t referred_at, const char *reason, const char *branch, const char *partner,
                           call_t *call)
{
    Tremplin__Envelope out = TREMPLIN__ENVELOPE__INIT;
    Tremplin__TrackAssigned t = TREMPLIN__TRACK_ASSIGNED__INIT;
    t.assignment_id = (char *)assignment_id;
    t.person_id = (char *)person_id;
    t.kind = (char *)kind->code;
    t.level = level < 0 ? 0 : (uint32_t)level;
    t.availability = availability;
    t.n_availability = navail;
    t.referred_at_ms = referred_at;
    t.reason = (char *)reason;
    t.branch = (char *)branch;
    t.partner = (char *)partner;
    out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED;
    out.track_assigned = &t;
    call_send(call, "scheduler", &out);
}

/* What both steps touch besides their own record: the person's pathway and
 * the figures of the day. */
static void person_and_figures(call_t *call, const char *person_id, const char *day)
{
    call_key(call, "person", "person:%s", person_id);
    call_key(call, "fig_day", "fig:%s", day);
    call_key(call, "fig_total", "fig:total");
    call_arg(call, "person_id", "%s", person_id);
}

static void prepare_referral_accepted(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    svc_t *s = arg;
    matcher_t *m = svc_state(s);
    const Tremplin__ReferralAccepted *r = env->referral_accepted;
    if (!ids_hex(r->referral_id) || !ids_hex(r->person_id)) {
        call_error(call, "INVALID_FIELD", "referral_id", "Identifiant d'orientation ou de personne invalide.", 0);
        return;
    }
    assessment_t a;
    assess(&m->catalogue, r->answers, r->n_answers, r->needs, r->n_needs, &a);
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);

    call_function(call, "assign");
    call_event(call, "track.assigned", "referral_id");
    if (a.kind)
        track_assigned(r->referral_id, r->person_id, a.kind, a.level, r->availability, r->n_availability,
                       r->referred_at_ms, a.reason_fr, r->branch, r->partner, call);
    call_key(call, "assignment", "assignment:%s", r->referral_id);
    person_and_figures(call, r->person_id, day);
    call_arg(call, "referral_id", "%s", r->referral_id);
    call_arg(call, "kind", "%s", a.kind ? a.kind->code : "");
    call_arg(call, "kind_title", "%s", a.kind ? a.kind->title_fr : "");
    call_arg(call, "level", "%d", a.level);
    call_arg(call, "score", "%d", a.score);
    call_arg(call, "outcome", "%s", assess_outcome_name(a.outcome));
    call_arg(call, "reason", "%s", a.reason_fr);
    call_arg(call, "rules", "catalogue %s / questionnaire %s", m->catalogue.version, m->catalogue.q_version);
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg_list(call, "availability", r->availability, r->n_availability);
    call_arg(call, "branch", "%s", r->branch);
    call_arg(call, "partner", "%s", r->partner);
}

static void prepare_follow_up(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    svc_t *s = arg;
    matcher_t *m = svc_state(s);
    const Tremplin__FollowUpRequested *f = env->follow_up_requested;
    if (!ids_hex(f->follow_up_id) || !ids_hex(f->person_id)) {
        call_error(call, "INVALID_FIELD", "follow_up_id", "Identifiant de suivi ou de personne invalide.", 0);
        return;
    }
    if (f->completed_kind[0] && !ids_valid(f->completed_kind, CAT_CODE - 1)) {
        call_error(call, "INVALID_FIELD", "completed_kind", "Type d'atelier invalide.", 0);
        return;
    }
    const cat_kind_t *cands[MATCHER_MAX_CANDIDATES];
    int explicit_request = 0;
    int n = next_candidates(&m->catalogue, f->completed_kind, f->requested_topic, cands, MATCHER_MAX_CANDIDATES,
                            &explicit_request);
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    call_function(call, "follow_up");
    call_event(call, "followup.decided", NULL);
    for (int i = 0; i < n; i++) /* availability empty: the scheduler keeps the person's last known */
        track_assigned(f->follow_up_id, f->person_id, cands[i], -1, NULL, 0, (uint64_t)now,
                       "suite du parcours", "", "", call);
    call_key(call, "followup", "followup:%s", f->follow_up_id);
    person_and_figures(call, f->person_id, day);
    call_arg(call, "follow_up_id", "%s", f->follow_up_id);
    call_arg(call, "completed_kind", "%s", f->completed_kind);
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg(call, "asked", "%d", explicit_request);
    call_arg_list(call, "candidates", NULL, 0); /* in the order of the messages prepared */
    for (int i = 0; i < n; i++)
        call_arg_word(call, cands[i]->code);
}

const inbox_handler_t matcher_handlers[] = {
    { TREMPLIN__ENVELOPE__PAYLOAD_REFERRAL_ACCEPTED, prepare_referral_accepted },
    { TREMPLIN__ENVELOPE__PAYLOAD_FOLLOW_UP_REQUESTED, prepare_follow_up },
};
const size_t matcher_nhandlers = sizeof matcher_handlers / sizeof matcher_handlers[0];
