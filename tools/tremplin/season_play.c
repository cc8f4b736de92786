/* What the people of the demo season do, through the stack's front doors
 * only: their post office's system refers them over intake's CURVE endpoint
 * (as `tremplin simulate`), they answer the SMS the gateway wrote in its
 * spool by SMS of their own in its inbox (OUI, NON, ANNULER, "1 OUI"),
 * their trainer marks attendance with the scheduler's MarkAttendance and
 * types in the paper survey forms of those without a mobile (SubmitSurvey,
 * as `tremplin survey submit`). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gateway/gateway.h"
#include "keys.h"
#include "season.h"

/* ------------------------------------------------------------ branches */

int season_connect(season_t *s)
{
    int added = 0;
    for (int b = 0; b < SEASON_NBRANCHES; b++)
        added += cli_sim_branch_add(s->cli, season_branch_ids[b], season_branch_names[b], s->T) == 1;
    if (added)
        cli_sim_wait_registry(s->cli);
    for (int b = 0; b < SEASON_NBRANCHES; b++) {
        s->branch[b] = cli_sim_connect(s->cli, season_branch_ids[b]);
        if (!s->branch[b])
            return -1;
        client_set_retry(s->branch[b], 3000, 5);
    }
    s->scheduler = cli_client(s->cli, "scheduler");
    s->survey = cli_client(s->cli, "survey");
    return s->scheduler && s->survey ? 0 : -1;
}

void season_disconnect(season_t *s)
{
    for (int b = 0; b < SEASON_NBRANCHES; b++)
        client_destroy(&s->branch[b]);
    client_destroy(&s->scheduler);
    client_destroy(&s->survey);
    free(s->paper);
}

/* ------------------------------------------------------------ referrals */

static const char *const season_questions[SEASON_QUESTIONS] = { "mouse_touch", "email", "online_form",
                                                                "attach_document", "online_banking", "spot_fraud",
                                                                "passwords", "video_call" };

int season_refer(season_t *s, int i)
{
    const season_person_t *p = &s->plan.people[i];
    Tremplin__SubmitReferral r = TREMPLIN__SUBMIT_REFERRAL__INIT;
    Tremplin__Mediator m = TREMPLIN__MEDIATOR__INIT;
    Tremplin__Person per = TREMPLIN__PERSON__INIT;
    Tremplin__PostalAddress a = TREMPLIN__POSTAL_ADDRESS__INIT;
    Tremplin__Consent c = TREMPLIN__CONSENT__INIT;
    Tremplin__Answer ans[SEASON_QUESTIONS], *answers[SEASON_QUESTIONS];
    char *avail[SEASON_NHALF_DAYS], *purposes[3], *needs[2];
    r.branch = (char *)season_branch_ids[p->branch];
    r.external_ref = (char *)p->ref;
    m.id = (char *)season_mediator_ids[p->mediator];
    m.partner = (char *)season_partner_ids[p->mediator / 2];
    r.mediator = &m;
    per.given_name = (char *)season_names[p->name];
    per.birth_year = (uint32_t)p->birth_year;
    if (p->mobile) {
        per.phone = (char *)p->phone;
    } else {
        a.line1 = "3 place Jean Jaurès";
        a.postcode = "42000";
        a.city = "Saint-Étienne";
        per.address = &a;
    }
    size_t na = 0;
    for (int h = 0; h < SEASON_NHALF_DAYS; h++)
        if (p->avail & (1u << h))
            avail[na++] = (char *)season_half_days[h];
    per.availability = avail;
    per.n_availability = na;
    r.person = &per;
    c.given = p->consent != 0;
    c.given_at_ms = (uint64_t)(clock_now_ms() - 3600000); /* at the counter, an hour ago */
    size_t np = 0;
    purposes[np++] = "training";
    if (p->mobile)
        purposes[np++] = "sms";
    purposes[np++] = "survey";
    c.purposes = purposes;
    c.n_purposes = np;
    c.text_version = "2026-09";
    r.consent = &c;
    static const char *const by_profile[][2] = {
        [SEASON_INITIATION] = { "email", "smartphone" },
        [SEASON_IMPROVEMENT] = { "documents", "security" },
        [SEASON_BUDGET] = { "budget", "online_banking" },
        [SEASON_AUTONOMOUS] = { "admin_sites", "video_call" },
    };
    needs[0] = (char *)by_profile[p->profile][0];
    needs[1] = (char *)by_profile[p->profile][1];
    r.needs = needs;
    r.n_needs = 2;
    for (int q = 0; q < SEASON_QUESTIONS; q++) {
        tremplin__answer__init(&ans[q]);
        ans[q].question_id = (char *)season_questions[q];
        ans[q].score = p->scores[q];
        answers[q] = &ans[q];
    }
    r.answers = answers;
    r.n_answers = SEASON_QUESTIONS;
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT, *reply = NULL;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    env.submit_referral = &r;
    env.territory = (char *)s->T;
    if (client_call(s->branch[p->branch], &env, &reply) != 0) {
        fprintf(stderr, "tremplin : intake ne répond pas (orientation %s)\n", p->ref);
        return -1;
    }
    if (reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        snprintf(s->pid[i], sizeof s->pid[i], "%s", reply->ack->person_id);
        s->referred++;
    } else {
        s->refused++; /* consent refused: the branch is told, nothing is kept */
    }
    wire_free(reply, NULL);
    return 0;
}

int season_person_of(const season_t *s, const char *pid)
{
    for (int i = 0; i < s->plan.npeople; i++)
        if (!strcmp(s->pid[i], pid))
            return i;
    return -1;
}

/* ------------------------------------------------------------ SMS */

/* An SMS of the person's phone into the gateway's inbox, whole or not at
 * all (written aside, then renamed in). */
static void season_sms(season_t *s, const char *name, const char *from, const char *text)
{
    char tmp[600], path[600];
    snprintf(tmp, sizeof tmp, "%s/tmp/.season-%s", s->spool_dir, name);
    snprintf(path, sizeof path, "%s/season-%s", s->inbox_dir, name);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        s->errors++;
        return;
    }
    fprintf(f, "From: %s\nId: season-%s\n\n%s\n", from, name, text);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        s->errors++;
        return;
    }
    s->replies++;
}

/* The header value of key in a spool file, into out. */
static int season_header(const char *path, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    size_t kl = strlen(key);
    int found = -1;
    while (found && fgets(line, sizeof line, f) && line[0] != '\n')
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            line[strcspn(line, "\n")] = '\0';
            const char *v = line + kl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%s", v);
            found = 0;
        }
    fclose(f);
    return found;
}

/* The answer person p gives to an SMS of type (NULL: none): ANNULER to
 * their first reminder, NON to their first offer and OUI to the others, the
 * survey as planned. */
static const char *season_answer(season_t *s, int i, const char *type, char *buf, size_t cap)
{
    const season_person_t *p = &s->plan.people[i];
    if (!strcmp(type, "reminder") && p->cancels && !s->cancelled[i]) { /* two days before: a seat for the waitlist */
        s->cancelled[i] = 1;
        return "ANNULER";
    }
    if (!strcmp(type, "offer")) {
        if (p->declines && !s->declined[i]) {
            s->declined[i] = 1;
            return "Non merci";
        }
        return "OUI";
    }
    if (!strcmp(type, "survey_invitation") && p->answers_survey) {
        snprintf(buf, cap, "%d %s", p->satisfaction, p->wants_more ? "OUI" : "NON");
        return buf;
    }
    return NULL;
}

void season_reply(season_t *s)
{
    DIR *d = opendir(s->spool_dir);
    if (!d)
        return;
    rds_t *r = cli_redis(s->cli);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".sms") || zhash_lookup(s->seen_sms, e->d_name))
            continue;
        zhash_insert(s->seen_sms, e->d_name, (void *)1);
        char path[600], to[32] = "", jid[160] = "", key[300];
        snprintf(path, sizeof path, "%s/%s", s->spool_dir, e->d_name);
        if (season_header(path, "To", to, sizeof to) != 0 || season_header(path, "Job", jid, sizeof jid) != 0)
            continue;
        int i = season_find_phone(&s->plan, to);
        if (i < 0 || !r)
            continue; /* someone referred by hand: they answer themselves */
        tp_key(key, sizeof key, s->T, "gateway", "job:%s", gateway_job_of_key(s->T, jid));
        redisReply *x = rds_cmd(r, "HGET %s type", key);
        char buf[32];
        const char *text = x && x->type == REDIS_REPLY_STRING ? season_answer(s, i, x->str, buf, sizeof buf) : NULL;
        if (x)
            freeReplyObject(x);
        if (text) {
            char name[200];
            snprintf(name, sizeof name, "%.*s", (int)(n - 4), e->d_name);
            season_sms(s, name, s->plan.people[i].phone, text);
        }
    }
    closedir(d);
}

/* ------------------------------------------------------------ attendance */

static void season_mark(season_t *s, const char *sid, const char *trainer, const char *pid)
{
    int i = season_person_of(s, pid);
    const char *status = "seen";
    if (i >= 0 && s->workshops_marked[i]++ == 0) /* their first workshop */
        status = s->plan.people[i].noshow_first ? "noshow" : s->plan.people[i].excused_first ? "excused" : "seen";
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT, *reply = NULL;
    Tremplin__MarkAttendance m = TREMPLIN__MARK_ATTENDANCE__INIT;
    m.session_id = (char *)sid;
    m.person_id = (char *)pid;
    m.status = (char *)status;
    m.trainer_id = (char *)trainer;
    env.territory = (char *)s->T;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE;
    env.mark_attendance = &m;
    if (client_call(s->scheduler, &env, &reply) != 0 || reply->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
        fprintf(stderr, "tremplin : présence refusée (séance %s) : %s\n", sid,
                reply && reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? reply->error->message_fr
                                                                                  : "pas de réponse");
        s->errors++;
    } else {
        s->marks++;
        if (i >= 0 && !strcmp(status, "seen") && !s->plan.people[i].mobile && s->plan.people[i].answers_survey) {
            if (s->npaper == s->paper_cap) {
                s->paper_cap = s->paper_cap ? 2 * s->paper_cap : 16;
                s->paper = xrealloc(s->paper, (size_t)s->paper_cap * sizeof *s->paper);
            }
            s->paper[s->npaper].person = i;
            snprintf(s->paper[s->npaper].session, sizeof s->paper[s->npaper].session, "%s", sid);
            s->npaper++;
        }
    }
    wire_free(reply, NULL);
}

int season_paper(season_t *s)
{
    int n = s->npaper;
    for (int k = 0; k < n; k++) {
        const season_person_t *p = &s->plan.people[s->paper[k].person];
        Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT, *reply = NULL;
        Tremplin__SubmitSurvey f = TREMPLIN__SUBMIT_SURVEY__INIT;
        f.person_id = s->pid[s->paper[k].person];
        f.session_id = s->paper[k].session;
        f.satisfaction = (uint32_t)p->satisfaction;
        f.wants_more = p->wants_more != 0;
        f.wants_more_given = 1;
        f.channel = "paper";
        env.territory = (char *)s->T;
        env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY;
        env.submit_survey = &f;
        if (client_call(s->survey, &env, &reply) != 0 || reply->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_ACK) {
            fprintf(stderr, "tremplin : questionnaire papier refusé (séance %s) : %s\n", f.session_id,
                    reply && reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? reply->error->message_fr
                                                                                      : "pas de réponse");
            s->errors++;
        } else {
            s->forms++;
        }
        wire_free(reply, NULL);
    }
    s->npaper = 0;
    return n;
}

/* A session that ended in (from, to]: its trainer marks everyone still
 * booked. */
static void season_session(season_t *s, rds_t *r, const char *sid, int64_t from, int64_t to)
{
    char key[300];
    tp_key(key, sizeof key, s->T, "scheduler", "session:%s", sid);
    redisReply *x = rds_cmd(r, "HMGET %s status trainer end", key);
    long long end = x && x->type == REDIS_REPLY_ARRAY && x->elements == 3 && x->element[2]->str
                        ? atoll(x->element[2]->str)
                        : 0;
    if (!x || x->type != REDIS_REPLY_ARRAY || x->elements != 3 || !x->element[1]->str
        || (x->element[0]->str && !strcmp(x->element[0]->str, "cancelled")) || end <= from || end > to) {
        if (x)
            freeReplyObject(x);
        return;
    }
    char trainer[64];
    snprintf(trainer, sizeof trainer, "%s", x->element[1]->str);
    freeReplyObject(x);
    tp_key(key, sizeof key, s->T, "scheduler", "roster:%s", sid);
    redisReply *ro = rds_cmd(r, "HGETALL %s", key);
    for (size_t k = 0; ro && ro->type == REDIS_REPLY_ARRAY && k + 1 < ro->elements; k += 2) {
        char bkey[300];
        tp_key(bkey, sizeof bkey, s->T, "scheduler", "booking:%s", ro->element[k + 1]->str);
        redisReply *b = rds_cmd(r, "HGET %s status", bkey);
        if (b && b->type == REDIS_REPLY_STRING && !strcmp(b->str, "booked"))
            season_mark(s, sid, trainer, ro->element[k]->str);
        if (b)
            freeReplyObject(b);
    }
    if (ro)
        freeReplyObject(ro);
}

void season_attendance(season_t *s, int64_t from_ms, int64_t to_ms)
{
    rds_t *r = cli_redis(s->cli);
    if (!r)
        return;
    char key[200];
    tp_key(key, sizeof key, s->T, "scheduler", "kinds");
    redisReply *kinds = rds_cmd(r, "SMEMBERS %s", key);
    for (size_t k = 0; kinds && kinds->type == REDIS_REPLY_ARRAY && k < kinds->elements; k++) {
        tp_key(key, sizeof key, s->T, "scheduler", "sessions:%s", kinds->element[k]->str);
        /* those that started in the day before to and ended in (from, to] */
        redisReply *ids = rds_cmd(r, "ZRANGEBYSCORE %s %lld %lld", key, (long long)(to_ms - 86400000),
                                  (long long)to_ms);
        for (size_t j = 0; ids && ids->type == REDIS_REPLY_ARRAY && j < ids->elements; j++)
            season_session(s, r, ids->element[j]->str, from_ms, to_ms);
        if (ids)
            freeReplyObject(ids);
    }
    if (kinds)
        freeReplyObject(kinds);
}
