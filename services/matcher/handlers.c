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

static void track_assigned(const char *assignment_id, const char *person_id,
                           const cat_kind_t *kind, int level, char **availability, size_t navail,
                           uint64_t referred_at, const char *reason, call_t *call)
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
    out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED;
    out.track_assigned = &t;
    call_send(call, "scheduler", &out);
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
    char day[11], rules[80], avail[256] = "";
    clock_local_day(now, day);
    snprintf(rules, sizeof rules, "catalogue %s / questionnaire %s", m->catalogue.version, m->catalogue.q_version);
    util_join(r->availability, r->n_availability, " ", avail, sizeof avail);

    call_function(call, "assign");
    call_event(call, "track.assigned", "referral_id");
    if (a.kind)
        track_assigned(r->referral_id, r->person_id, a.kind, a.level, r->availability, r->n_availability,
                       r->referred_at_ms, a.reason_fr, call);
    call_own_key(call, "assignment:%s", r->referral_id);
    call_own_key(call, "person:%s", r->person_id);
    call_own_key(call, "fig:%s", day);
    call_own_key(call, "fig:total");
    call_argf(call, "%s", r->referral_id);
    call_argf(call, "%s", r->person_id);
    call_argf(call, "%s", a.kind ? a.kind->code : "");
    call_argf(call, "%s", a.kind ? a.kind->title_fr : "");
    call_argf(call, "%d", a.level);
    call_argf(call, "%d", a.score);
    call_argf(call, "%s", assess_outcome_name(a.outcome));
    call_argf(call, "%s", a.reason_fr);
    call_argf(call, "%s", rules);
    call_argf(call, "%lld", (long long)now);
    call_argf(call, "%s", avail);
    call_argf(call, "%s", r->branch);
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
                       "suite du parcours", call);
    call_own_key(call, "followup:%s", f->follow_up_id);
    call_own_key(call, "person:%s", f->person_id);
    call_own_key(call, "fig:%s", day);
    call_own_key(call, "fig:total");
    call_argf(call, "%s", f->follow_up_id);
    call_argf(call, "%s", f->person_id);
    call_argf(call, "%s", f->completed_kind);
    call_argf(call, "%lld", (long long)now);
    call_argf(call, "%d", explicit_request);
    for (int i = 0; i < n; i++)
        call_argf(call, "%s", cands[i]->code);
}

const inbox_handler_t matcher_handlers[] = {
    { TREMPLIN__ENVELOPE__PAYLOAD_REFERRAL_ACCEPTED, prepare_referral_accepted },
    { TREMPLIN__ENVELOPE__PAYLOAD_FOLLOW_UP_REQUESTED, prepare_follow_up },
};
const size_t matcher_nhandlers = sizeof matcher_handlers / sizeof matcher_handlers[0];
