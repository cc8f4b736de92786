/* scheduler's command handlers: from a command to one Redis function call
 * (scheduler.lua does the seat arithmetic, atomically). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ids.h"
#include "keys.h"
#include "scheduler.h"

const conf_field_t scheduler_conf_fields[] = {
    CONF_STR_FIELD("scheduler", "timetable", scheduler_conf_t, timetable_path, "deploy/timetable.json"),
    CONF_STR_FIELD("scheduler", "territory", scheduler_conf_t, territory, ""),
    CONF_INT_FIELD("scheduler", "notice_min", scheduler_conf_t, notice_min, "120"),
    CONF_INT_FIELD("scheduler", "cutoff_hours", scheduler_conf_t, cutoff_hours, "24"),
    CONF_INT_FIELD("scheduler", "offer_hours", scheduler_conf_t, offer_hours, "24"),
    CONF_INT_FIELD("scheduler", "noshow_chances", scheduler_conf_t, noshow_chances, "1"),
    CONF_INT_FIELD("scheduler", "correct_hours", scheduler_conf_t, correct_hours, "72"),
    CONF_INT_FIELD("scheduler", "timer_ms", scheduler_conf_t, timer_ms, "1000"),
    CONF_INT_FIELD("scheduler", "generate_ms", scheduler_conf_t, generate_ms, "60000"),
    CONF_INT_FIELD("scheduler", "lease_ms", scheduler_conf_t, lease_ms, "5000"),
    CONF_INT_FIELD("scheduler", "purge_ms", scheduler_conf_t, purge_ms, "60000"),
};
const size_t scheduler_nconf_fields = sizeof scheduler_conf_fields / sizeof scheduler_conf_fields[0];

int64_t scheduler_notice_ms(const scheduler_t *sc) { return sc->conf.notice_min * 60000; }
int64_t scheduler_cutoff_ms(const scheduler_t *sc) { return sc->conf.cutoff_hours * 3600000; }
int64_t scheduler_offer_ms(const scheduler_t *sc) { return sc->conf.offer_hours * 3600000; }

/* The common start of a command's step: its function, its event (subject:
 * the booking), and what every step is given: the business time and local
 * day it runs at, and the nonce of the bookings it may make. Returns the
 * time. */
static int64_t begin(call_t *call, const char *function, const char *event_kind)
{
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    call_function(call, function);
    call_event(call, event_kind, "booking_id");
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg(call, "day", "%s", day);
    scheduler_nonce_arg(call);
    return now;
}

/* An argument of every step that may make bookings: the secret its booking
 * ids are derived from. */
void scheduler_nonce_arg(call_t *call)
{
    char nonce[SCHEDULER_NONCE_LEN + 1];
    scheduler_nonce(nonce);
    call_arg(call, "nonce", "%s", nonce);
}

static void prepare_track_assigned(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    scheduler_t *sc = svc_state(arg);
    const Tremplin__TrackAssigned *t = env->track_assigned;
    if (!ids_valid(t->assignment_id, 64) || !ids_hex(t->person_id) || !ids_valid(t->kind, TT_CODE - 1)) {
        call_error(call, "INVALID_FIELD", "assignment_id", "Affectation invalide (identifiants ou type d'atelier).", 0);
        return;
    }
    /* where the person was referred from: a field of the figures' keys */
    if ((t->branch[0] && !ids_token(t->branch, 64, "-_.")) || (t->partner[0] && !ids_token(t->partner, 64, "-_."))) {
        call_error(call, "INVALID_FIELD", "branch", "Agence ou partenaire invalide.", 0);
        return;
    }
    for (size_t i = 0; i < t->n_availability; i++) {
        if (!ids_valid(t->availability[i], TT_HALF_DAY - 1)) {
            call_error(call, "INVALID_FIELD", "availability", "Demi-journée invalide.", 0);
            return;
        }
    }
    int64_t now = begin(call, "track_assigned", "booking.changed");
    call_key(call, "person", "person:%s", t->person_id);
    call_key(call, "assigned", "assigned:%s", t->assignment_id);
    call_arg(call, "person_id", "%s", t->person_id);
    call_arg(call, "kind", "%s", t->kind);
    call_arg_list(call, "availability", t->availability, t->n_availability);
    call_arg(call, "referred_at_ms", "%llu", (unsigned long long)(t->referred_at_ms ? t->referred_at_ms : (uint64_t)now));
    call_arg(call, "notice_ms", "%lld", (long long)scheduler_notice_ms(sc));
    call_arg(call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
    call_arg(call, "assignment_id", "%s", t->assignment_id);
    if (t->branch[0])
        call_arg(call, "branch", "%s", t->branch);
    if (t->partner[0])
        call_arg(call, "partner", "%s", t->partner);
}

/* A step on one booking, as typed by a person (cancel, answer an offer):
 * its id checked, its key; 0, or -1 after refusing it. */
static int begin_booking(call_t *call, const char *function, const char *typed, const char *invalid_fr)
{
    char bid[SCHEDULER_BOOKING_LEN + 1];
    if (scheduler_booking_id(typed, bid) != 0) {
        call_error(call, "INVALID_FIELD", "booking_id", invalid_fr, 0);
        return -1;
    }
    begin(call, function, "booking.changed");
    call_key(call, "booking", "booking:%s", bid);
    call_arg(call, "booking_id", "%s", bid);
    return 0;
}

static void prepare_cancel_booking(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    scheduler_t *sc = svc_state(arg);
    if (begin_booking(call, "cancel_booking", env->cancel_booking->booking_id, "Numéro de réservation invalide.") != 0)
        return;
    call_arg(call, "cutoff_ms", "%lld", (long long)scheduler_cutoff_ms(sc));
    call_arg(call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
}

static void prepare_answer_offer(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    scheduler_t *sc = svc_state(arg);
    const Tremplin__AnswerOffer *a = env->answer_offer;
    if (begin_booking(call, "answer_offer", a->booking_id, "Numéro de proposition invalide.") != 0)
        return;
    call_arg(call, "accept", "%d", a->accept ? 1 : 0);
    call_arg(call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
}

static void prepare_cancel_session(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    scheduler_t *sc = svc_state(arg);
    const Tremplin__CancelSession *c = env->cancel_session;
    if (!ids_valid(c->session_id, TT_ID - 1)) {
        call_error(call, "INVALID_FIELD", "session_id", "Identifiant de séance invalide.", 0);
        return;
    }
    char day[11];
    int64_t now = clock_now_ms();
    clock_local_day(now, day);
    scheduler_cancel_call(sc, c->session_id, c->reason, "staff", now, day, call);
}

/* ReopenSession: staff undo their own cancellation (a mistake), while the
 * timetable still holds the session: one it no longer holds (a holiday, a
 * closure, its trainer absent) would be cancelled again at the next turn. */
static void prepare_reopen_session(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    scheduler_t *sc = svc_state(arg);
    const Tremplin__ReopenSession *r = env->reopen_session;
    if (!ids_valid(r->session_id, TT_ID - 1)) {
        call_error(call, "INVALID_FIELD", "session_id", "Identifiant de séance invalide.", 0);
        return;
    }
    tt_session_t ts;
    if (timetable_find(&sc->timetable, r->session_id, &ts) != 0 || ts.trainer_absent) {
        call_error(call, "NOT_REOPENABLE", "session_id",
                   "Le calendrier n'a plus cette séance (jour férié, fermeture, absence du formateur, créneau retiré) : "
                   "la rouvrir, c'est corriger le calendrier.",
                   0);
        return;
    }
    begin(call, "reopen_session", "session.reopened");
    call_event(call, "session.reopened", "session_id"); /* its subject: the session */
    call_key(call, "session", "session:%s", r->session_id);
    call_arg(call, "session_id", "%s", r->session_id);
    call_arg(call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
}

void scheduler_cancel_call(const scheduler_t *sc, const char *sid, const char *reason, const char *by, int64_t now,
                           const char *day, call_t *call)
{
    call_function(call, "cancel_session");
    call_event(call, "session.cancelled", "session_id");
    call_key(call, "session", "session:%s", sid);
    call_arg(call, "session_id", "%s", sid);
    call_arg(call, "now_ms", "%lld", (long long)now);
    call_arg(call, "reason", "%.200s", reason);
    call_arg(call, "notice_ms", "%lld", (long long)scheduler_notice_ms(sc));
    call_arg(call, "day", "%s", day);
    call_arg(call, "by", "%s", by);
    scheduler_nonce_arg(call);
}

/* A trainer's key marks and reads its own sessions only (common/access.h
 * checked that trainer_id is the key's): the session's trainer, as the
 * timetable has it. 1, or 0 with the call refused. Other roles: 1. */
static int trainer_owns(const scheduler_t *sc, call_t *call, const char *session_id, const char *trainer_id)
{
    tt_session_t ts;
    if (strcmp(call->access, "trainer")
        || (timetable_find(&sc->timetable, session_id, &ts) == 0 && !strcmp(ts.trainer, trainer_id)))
        return 1;
    call_error(call, "FORBIDDEN", "session_id", "Cette séance n'est pas la vôtre.", 0);
    return 0;
}

/* A roster about to be shown (the audit trail): a trainer's own only. */
static void prepare_record_read(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    scheduler_t *sc = svc_state(arg);
    if (trainer_owns(sc, call, env->record_read->subject, env->record_read->trainer_id))
        svc_prepare_record_read(arg, env, call);
}

static void prepare_mark_attendance(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    svc_t *s = arg;
    scheduler_t *sc = svc_state(s);
    const Tremplin__MarkAttendance *m = env->mark_attendance;
    if (!ids_valid(m->session_id, TT_ID - 1) || !ids_hex(m->person_id)) {
        call_error(call, "INVALID_FIELD", "session_id", "Séance ou personne invalide.", 0);
        return;
    }
    if (m->trainer_id[0] && !ids_valid(m->trainer_id, TT_CODE - 1)) {
        call_error(call, "INVALID_FIELD", "trainer_id", "Identifiant de formateur invalide.", 0);
        return;
    }
    if (strcmp(m->status, "seen") && strcmp(m->status, "noshow") && strcmp(m->status, "excused")) {
        call_error(call, "UNKNOWN_VALUE", "status", "Présence : seen, noshow ou excused.", 0);
        return;
    }
    if (!trainer_owns(sc, call, m->session_id, m->trainer_id))
        return;
    begin(call, "mark_attendance", "attendance.recorded");
    /* what the survey needs: the session's kind and start, as recorded
     * (the timetable may have changed since). A trainer's mark is rare: one
     * read here costs less than a second step. */
    char kind[TT_CODE] = "";
    long long start = 0;
    char key[160];
    tp_key(key, sizeof key, env->territory, "scheduler", "session:%s", m->session_id);
    redisReply *sr = rds_cmd(svc_rds(s), "HMGET %s kind start", key);
    if (sr && sr->type == REDIS_REPLY_ARRAY && sr->elements == 2 && sr->element[0]->str) {
        util_strlcpy(kind, sr->element[0]->str, sizeof kind);
        start = atoll(sr->element[1]->str);
    }
    if (sr)
        freeReplyObject(sr);
    Tremplin__Envelope out = TREMPLIN__ENVELOPE__INIT;
    Tremplin__AttendanceRecorded rec = TREMPLIN__ATTENDANCE_RECORDED__INIT;
    rec.session_id = m->session_id;
    rec.person_id = m->person_id;
    rec.status = m->status;
    rec.kind = kind;
    rec.session_start_ms = (uint64_t)start;
    out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ATTENDANCE_RECORDED;
    out.attendance_recorded = &rec;

    call_send(call, "survey", &out);
    call_key(call, "roster", "roster:%s", m->session_id);
    call_arg(call, "session_id", "%s", m->session_id);
    call_arg(call, "person_id", "%s", m->person_id);
    call_arg(call, "status", "%s", m->status);
    call_arg(call, "chances", "%lld", (long long)sc->conf.noshow_chances);
    call_arg(call, "notice_ms", "%lld", (long long)scheduler_notice_ms(sc));
    call_arg(call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
    call_arg(call, "correct_ms", "%lld", (long long)sc->conf.correct_hours * 3600000);
    call_arg(call, "trainer_id", "%s", m->trainer_id);
}

/* intake: the person withdrew their consent to training. */
static void prepare_consent_withdrawn(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    scheduler_t *sc = svc_state(arg);
    const Tremplin__ConsentWithdrawn *w = env->consent_withdrawn;
    if (!ids_hex(w->person_id) || strcmp(w->purpose, "training") != 0) {
        call_error(call, "INVALID_FIELD", "person_id", "Retrait de consentement invalide.", 0);
        return;
    }
    int64_t now = begin(call, "consent_withdrawn", "booking.changed");
    call_key(call, "person", "person:%s", w->person_id);
    call_arg(call, "person_id", "%s", w->person_id);
    call_arg(call, "withdrawn_at_ms", "%llu",
             (unsigned long long)(w->withdrawn_at_ms ? w->withdrawn_at_ms : (uint64_t)now));
    call_arg(call, "offer_ms", "%lld", (long long)scheduler_offer_ms(sc));
}

const inbox_handler_t scheduler_handlers[] = {
    { TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED, prepare_track_assigned },
    { TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING, prepare_cancel_booking },
    { TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER, prepare_answer_offer },
    { TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_SESSION, prepare_cancel_session },
    { TREMPLIN__ENVELOPE__PAYLOAD_REOPEN_SESSION, prepare_reopen_session },
    { TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE, prepare_mark_attendance },
    { TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ, prepare_record_read },
    { TREMPLIN__ENVELOPE__PAYLOAD_CONSENT_WITHDRAWN, prepare_consent_withdrawn },
};
const size_t scheduler_nhandlers = sizeof scheduler_handlers / sizeof scheduler_handlers[0];
