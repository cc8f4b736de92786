/* survey's command handlers: AttendanceRecorded from the scheduler opens (or
 * closes) a participation, SubmitSurvey records an answer from any channel.
 * The checks that need no Redis are in answer.c; the atomic steps in
 * survey.lua. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ids.h"
#include "keys.h"
#include "survey.h"

const conf_field_t survey_conf_fields[] = {
    CONF_INT_FIELD("survey", "window_days", survey_conf_t, window_days, "30"),
    CONF_INT_FIELD("survey", "remind_hours", survey_conf_t, remind_hours, "72"),
    CONF_INT_FIELD("survey", "timer_ms", survey_conf_t, timer_ms, "1000"),
    CONF_INT_FIELD("survey", "purge_ms", survey_conf_t, purge_ms, "60000"),
    CONF_INT_FIELD("survey", "lease_ms", survey_conf_t, lease_ms, "5000"),
    CONF_STR_FIELD("survey", "kiosk_dir", survey_conf_t, kiosk_dir, "var/kiosk"),
    CONF_STR_FIELD("survey", "kiosk_bind", survey_conf_t, kiosk_bind, ""),
    CONF_INT_FIELD("survey", "watch_ms", survey_conf_t, watch_ms, "1000"),
};
const size_t survey_nconf_fields = sizeof survey_conf_fields / sizeof survey_conf_fields[0];

const keyring_kind_t survey_kiosks = { "survey", "kiosk", "kiosks", "kiosk-secrets", "borne", "la borne" };

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL

/* The figures' keys of the day a step runs. */
static void figures(call_t *call, int64_t now)
{
    char day[11];
    clock_local_day(now, day);
    call_key(call, "fig_day", "fig:%s", day);
    call_key(call, "fig_total", "fig:total");
}

/* A refusal before Redis, counted with the others (survey.lua, reject). */
static void refuse(call_t *call, const char *code, const char *field, const char *message_fr)
{
    call_function(call, "reject");
    figures(call, clock_now_ms());
    call_arg(call, "code", "%s", code);
    call_arg(call, "field", "%s", field);
    call_arg(call, "message", "%s", message_fr);
}

static void prepare_attendance(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    survey_t *sv = svc_state(arg);
    const Tremplin__AttendanceRecorded *r = env->attendance_recorded;
    if (!ids_hex(r->person_id) || !ids_valid(r->session_id, 64) || (r->kind[0] && !ids_code(r->kind, CAT_CODE - 1))) {
        call_error(call, "INVALID_FIELD", "session_id", "Séance, personne ou type d'atelier invalide.", 0);
        return;
    }
    if (strcmp(r->status, "seen") && strcmp(r->status, "noshow") && strcmp(r->status, "excused")) {
        call_error(call, "UNKNOWN_VALUE", "status", "Présence : seen, noshow ou excused.", 0);
        return;
    }
    int64_t now = clock_now_ms();
    int64_t start = r->session_start_ms ? (int64_t)r->session_start_ms : now;
    char id[TP_ID_LEN + 1];
    survey_participation_id(r->person_id, r->session_id, id);
    call_function(call, "attendance");
    call_event(call, "participation.changed", "session_id");
    call_key(call, "participation", "participation:%s", id);
    call_key(call, "index", "by:%s:%s", r->person_id, r->session_id);
    call_key(call, "due", "due");
    call_key(call, "notify", "notify");
    figures(call, now);
    call_arg(call, "participation_id", "%s", id);
    call_arg(call, "person_id", "%s", r->person_id);
    call_arg(call, "session_id", "%s", r->session_id);
    call_arg(call, "kind", "%s", r->kind);
    call_arg(call, "status", "%s", r->status);
    call_arg(call, "session_start_ms", "%lld", (long long)start);
    /* the scheduler's time of this mark orders the corrections */
    call_arg(call, "mark_ms", "%llu", (unsigned long long)(env->ts_ms ? env->ts_ms : (uint64_t)now));
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg(call, "remind_at_ms", "%lld", (long long)(now + sv->conf.remind_hours * HOUR_MS));
    call_arg(call, "deadline_ms", "%lld", (long long)(start + sv->conf.window_days * DAY_MS));
}

/* "Wants more": the matcher assigns the next kind of the pathway, or the
 * topic asked for; sent only if the step records it. */
static void follow_up(const Tremplin__SubmitSurvey *s, const char *follow_up_id, const char *person_id,
                      const char *completed_kind, call_t *call)
{
    Tremplin__Envelope out = TREMPLIN__ENVELOPE__INIT;
    Tremplin__FollowUpRequested f = TREMPLIN__FOLLOW_UP_REQUESTED__INIT;
    f.follow_up_id = (char *)follow_up_id;
    f.person_id = (char *)person_id;
    f.completed_kind = (char *)completed_kind;
    f.requested_topic = s->requested_topic;
    out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_FOLLOW_UP_REQUESTED;
    out.follow_up_requested = &f;
    call_send(call, "matcher", &out);
}

/* The person and the workshop kind of the participation (the follow-up
 * names both: the matcher goes on from that kind along the pathway): one
 * read, for the answers that ask for more only. 0, or -1 when there is none
 * (the step then refuses the participation as unknown). */
static int participation_of(svc_t *s, const char *territory, const char *id, char pid[TP_ID_LEN + 1],
                            char kind[CAT_CODE])
{
    char key[160];
    tp_key(key, sizeof key, territory, "survey", "participation:%s", id);
    redisReply *r = rds_cmd(svc_rds(s), "HMGET %s person kind", key);
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING
             && ids_hex(r->element[0]->str);
    if (ok) {
        util_strlcpy(pid, r->element[0]->str, TP_ID_LEN + 1);
        util_strlcpy(kind, r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "", CAT_CODE);
    }
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

static void prepare_submit(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    survey_t *sv = svc_state(arg);
    const Tremplin__SubmitSurvey *s = env->submit_survey;
    int kiosk = call->peer[0] != '\0' && !call->operator[0]; /* the kiosk door, not an operator's import */
    survey_error_t err;
    if (survey_answer_check(s, &sv->catalogue, kiosk, &err) != 0) {
        refuse(call, err.code, err.field, err.message_fr);
        return;
    }
    if (kiosk) { /* the kiosk endpoint: a known key, not revoked, of this territory */
        const keyring_entry_t *k;
        keyring_verdict_t v = keyring_check(&sv->kiosk.keys, call->peer, clock_real_ms(), &k);
        if (v == KEYRING_EXPIRED) {
            refuse(call, "KEY_EXPIRED", "channel", "Cette clé de la borne a été remplacée : installez la nouvelle.");
            return;
        }
        if (v != KEYRING_OK) {
            refuse(call, "KIOSK_REVOKED", "channel", "La clé de cette borne n'est plus autorisée.");
            return;
        }
        if (strcmp(k->territory, env->territory) != 0) {
            refuse(call, "TERRITORY_MISMATCH", "territory", "Le territoire du message n'est pas celui de la borne.");
            return;
        }
    }
    char id[TP_ID_LEN + 1];
    if (s->person_id[0]) {
        survey_participation_id(s->person_id, s->session_id, id);
        if (s->participation_id[0] && strcmp(id, s->participation_id) != 0) {
            refuse(call, "UNKNOWN_PARTICIPATION", "participation_id",
                   "Ce questionnaire n'est pas celui de cette personne à cette séance.");
            return;
        }
    } else {
        util_strlcpy(id, s->participation_id, sizeof id);
    }
    int64_t now = clock_now_ms();
    char fid[TP_ID_LEN + 1];
    util_derive_id(id, "follow_up", 0, fid);
    call_function(call, "submit");
    call_event(call, "participation.answered", "session_id");
    call_key(call, "participation", "participation:%s", id);
    call_key(call, "comment", "comment:%s", id);
    call_key(call, "due", "due");
    call_key(call, "retention", "retention");
    figures(call, now);
    call_arg(call, "participation_id", "%s", id);
    call_arg(call, "satisfaction", "%u", s->satisfaction);
    call_arg(call, "wants_more", "%s", s->wants_more_given ? (s->wants_more ? "1" : "0") : "");
    call_arg(call, "topic", "%s", s->requested_topic);
    call_arg(call, "channel", "%s", s->channel[0] ? s->channel : "kiosk");
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg(call, "retain_until_ms", "%lld", (long long)(now + svc_conf(sv->svc)->retention.comments_days * DAY_MS));
    call_arg(call, "follow_up_id", "%s", fid);
    if (s->comment[0])
        call_arg(call, "text", "%s", s->comment);
    char pid[TP_ID_LEN + 1], kind[CAT_CODE];
    if (s->wants_more_given && s->wants_more && participation_of(arg, env->territory, id, pid, kind) == 0)
        follow_up(s, fid, pid, kind, call);
}

/* ErasePerson from intake: the person's comments (survey.lua erase_person). */
static void prepare_erase_person(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    (void)arg;
    const Tremplin__ErasePerson *e = env->erase_person;
    if (!call_person_ok(call, e->person_id))
        return;
    call_function(call, "erase_person");
    call_event(call, "person.erased", "person_id");
    call_key(call, "erased", "erased");
    call_key(call, "retention", "retention");
    call_key(call, "participations", "participations:%s", e->person_id);
    call_arg(call, "person_id", "%s", e->person_id);
    call_arg(call, "now_ms", "%lld", (long long)clock_now_ms());
}

const inbox_handler_t survey_handlers[] = {
    /* first: the kiosk endpoint serves that one only */
    { TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY, prepare_submit, .edge = 1 },
    { TREMPLIN__ENVELOPE__PAYLOAD_ATTENDANCE_RECORDED, prepare_attendance },
    { TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON, prepare_erase_person },
};
const size_t survey_nhandlers = sizeof survey_handlers / sizeof survey_handlers[0];
