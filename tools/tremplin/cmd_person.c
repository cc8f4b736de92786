/* tremplin person show | worklist — what Tremplin knows of one person, and
 * the people who wait for a mediator's action. Read-only: both read what
 * the services wrote, with the operator's Redis connection.
 *
 * person show gathers, across the services' keys of the person's territory:
 * intake's person and referrals (referrals:<pid>, the mediator's references),
 * the matcher's level, the scheduler's bookings (bookings:<pid>) and waitlist
 * places, the consents with their dates, and the gateway's notifications
 * (person:<pid>). A booking made before bookings:<pid> existed is still found
 * through the person's active bookings.
 *
 * worklist merges the flags the services raise in the same step as the
 * event (each service's "worklist" zset: ms -> what|pid[|kind]), oldest
 * first, each told with the person's latest referral (the mediator's own
 * reference) and what to do. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "ids.h"
#include "keys.h"

/* ---------------------------------------------------------- reading */

/* A hash of service svc in territory T as a JSON object of strings (empty
 * when the key does not exist); NULL when Redis failed. */
static json_object *ps_hash(rds_t *r, const char *T, const char *svc, const char *key)
{
    char k[240];
    tp_key(k, sizeof k, T, svc, "%s", key);
    redisReply *x = rds_cmd(r, "HGETALL %s", k);
    if (!x || x->type != REDIS_REPLY_ARRAY) {
        if (x)
            freeReplyObject(x);
        return NULL;
    }
    json_object *o = json_object_new_object();
    for (size_t i = 0; i + 1 < x->elements; i += 2)
        json_object_object_add(o, x->element[i]->str, json_object_new_string(x->element[i + 1]->str));
    freeReplyObject(x);
    return o;
}

/* A field of a ps_hash object, "" when absent. */
static const char *ps_get(json_object *o, const char *field)
{
    json_object *v;
    return o && json_object_object_get_ex(o, field, &v) ? json_object_get_string(v) : "";
}

static int64_t ps_ms(json_object *o, const char *field) { return atoll(ps_get(o, field)); }

/* ZRANGE key 0 -1 WITHSCORES of a service's key; NULL when Redis failed. */
static redisReply *ps_zrange(rds_t *r, const char *T, const char *svc, const char *key)
{
    char k[240];
    tp_key(k, sizeof k, T, svc, "%s", key);
    redisReply *x = rds_cmd(r, "ZRANGE %s 0 -1 WITHSCORES", k);
    if (x && x->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(x);
        return NULL;
    }
    return x;
}

static void ps_add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

/* A person's latest referral, as the mediator knows it: branch, external
 * reference, mediator; the referral's hash (empty when none). */
static json_object *ps_last_referral(rds_t *r, const char *T, json_object *person)
{
    char key[80];
    snprintf(key, sizeof key, "referral:%s", ps_get(person, "last_referral"));
    return ps_hash(r, T, "intake", key);
}

/* ------------------------------------------------------- person show */

/* The referrals (referrals:<pid>; an older person: its first and last). */
static json_object *ps_referrals(cli_t *cli, rds_t *r, const char *T, const char *pid, json_object *person)
{
    json_object *arr = json_object_new_array();
    char key[80];
    snprintf(key, sizeof key, "referrals:%s", pid);
    redisReply *z = ps_zrange(r, T, "intake", key);
    const char *ids[64];
    size_t n = 0;
    for (size_t i = 0; z && i + 1 < z->elements && n < TP_ARRAY_LEN(ids); i += 2)
        ids[n++] = z->element[i]->str;
    if (n == 0) {
        if (ps_get(person, "first_referral")[0])
            ids[n++] = ps_get(person, "first_referral");
        if (strcmp(ps_get(person, "last_referral"), ps_get(person, "first_referral")))
            ids[n++] = ps_get(person, "last_referral");
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "referral:%s", ids[i]);
        json_object *ref = ps_hash(r, T, "intake", key);
        snprintf(key, sizeof key, "assignment:%s", ids[i]);
        json_object *as = ps_hash(r, T, "matcher", key);
        json_object *o = json_object_new_object();
        ps_add_str(o, "referral_id", ids[i]);
        ps_add_str(o, "branch", ps_get(ref, "branch"));
        ps_add_str(o, "external_ref", ps_get(ref, "external_ref"));
        ps_add_str(o, "mediator", ps_get(ref, "mediator"));
        json_object_object_add(o, "created_ms", json_object_new_int64(ps_ms(ref, "created_ms")));
        ps_add_str(o, "outcome", ps_get(as, "outcome"));
        ps_add_str(o, "kind", ps_get(as, "kind"));
        ps_add_str(o, "kind_title", ps_get(as, "kind")[0] ? cli_kind_fr(cli, ps_get(as, "kind")) : "");
        json_object_array_add(arr, o);
        json_object_put(ref);
        json_object_put(as);
    }
    if (z)
        freeReplyObject(z);
    return arr;
}

/* The expected wait of a waitlist place: the next open session of that kind
 * at that half-day (sessions:<kind>, from now, the first 100) and its free
 * seats, into w (next_session_id, next_start_ms, next_free). */
static void ps_next_session(rds_t *r, const char *T, const char *kind, const char *half_day, json_object *w)
{
    char k[240];
    tp_key(k, sizeof k, T, "scheduler", "sessions:%s", kind);
    redisReply *z = rds_cmd(r, "ZRANGEBYSCORE %s (%lld +inf LIMIT 0 100", k, (long long)clock_now_ms());
    for (size_t i = 0; z && z->type == REDIS_REPLY_ARRAY && i < z->elements; i++) {
        char key[120];
        snprintf(key, sizeof key, "session:%s", z->element[i]->str);
        json_object *s = ps_hash(r, T, "scheduler", key);
        int match = !strcmp(ps_get(s, "half_day"), half_day) && !strcmp(ps_get(s, "status"), "open");
        if (match) {
            ps_add_str(w, "next_session_id", z->element[i]->str);
            json_object_object_add(w, "next_start_ms", json_object_new_int64(ps_ms(s, "start")));
            int64_t free_seats = ps_ms(s, "capacity") - ps_ms(s, "taken");
            json_object_object_add(w, "next_free", json_object_new_int64(free_seats > 0 ? free_seats : 0));
        }
        json_object_put(s);
        if (match)
            break;
    }
    if (z)
        freeReplyObject(z);
}

/* The bookings (bookings:<pid>, and the active ones of the person's hash)
 * and the waitlist places (active:<kind> = waiting). */
static void ps_bookings(cli_t *cli, rds_t *r, const char *T, const char *pid, json_object *out)
{
    json_object *arr = json_object_new_array(), *waits = json_object_new_array();
    char key[80];
    snprintf(key, sizeof key, "person:%s", pid);
    json_object *sp = ps_hash(r, T, "scheduler", key);
    snprintf(key, sizeof key, "bookings:%s", pid);
    redisReply *z = ps_zrange(r, T, "scheduler", key);
    const char *bids[256];
    size_t n = 0;
    for (size_t i = 0; z && i + 1 < z->elements && n < TP_ARRAY_LEN(bids); i += 2)
        bids[n++] = z->element[i]->str;
    json_object_object_foreach(sp, field, val)
    {
        const char *v = json_object_get_string(val);
        if (strncmp(field, "active:", 7))
            continue;
        if (!strcmp(v, "waiting")) { /* a place in each list of the half-days joined */
            const char *kind = field + 7;
            char wd[40], days[256];
            snprintf(wd, sizeof wd, "waitdays:%s", kind);
            util_strlcpy(days, ps_get(sp, wd)[0] ? ps_get(sp, wd) : ps_get(sp, "availability"), sizeof days);
            for (char *save = NULL, *h = strtok_r(days, " ", &save); h; h = strtok_r(NULL, " ", &save)) {
                char wk[200];
                snprintf(wk, sizeof wk, "wait:%s:%s", kind, h);
                char k2[260];
                tp_key(k2, sizeof k2, T, "scheduler", "%s", wk);
                redisReply *rk = rds_cmd(r, "ZRANK %s %s", k2, pid), *cn = rds_cmd(r, "ZCARD %s", k2);
                if (rk && rk->type == REDIS_REPLY_INTEGER) {
                    json_object *w = json_object_new_object();
                    ps_add_str(w, "kind", kind);
                    ps_add_str(w, "kind_title", cli_kind_fr(cli, kind));
                    ps_add_str(w, "half_day", h);
                    json_object_object_add(w, "position", json_object_new_int64(rk->integer + 1));
                    json_object_object_add(w, "of", json_object_new_int64(cn ? cn->integer : 0));
                    ps_next_session(r, T, kind, h, w);
                    json_object_array_add(waits, w);
                }
                if (rk)
                    freeReplyObject(rk);
                if (cn)
                    freeReplyObject(cn);
            }
            continue;
        }
        int known = 0;
        for (size_t i = 0; i < n && !known; i++)
            known = !strcmp(bids[i], v);
        if (!known && n < TP_ARRAY_LEN(bids))
            bids[n++] = v;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "booking:%s", bids[i]);
        json_object *b = ps_hash(r, T, "scheduler", key);
        char sk[120];
        snprintf(sk, sizeof sk, "session:%s", ps_get(b, "sid"));
        json_object *s = ps_hash(r, T, "scheduler", sk);
        json_object *o = json_object_new_object();
        ps_add_str(o, "booking_id", bids[i]);
        ps_add_str(o, "session_id", ps_get(b, "sid"));
        ps_add_str(o, "kind", ps_get(b, "kind"));
        ps_add_str(o, "kind_title", cli_kind_fr(cli, ps_get(b, "kind")));
        ps_add_str(o, "status", ps_get(b, "status"));
        json_object_object_add(o, "start_ms", json_object_new_int64(ps_ms(s, "start")));
        ps_add_str(o, "venue", ps_get(s, "venue"));
        ps_add_str(o, "venue_name", cli_venue_fr(cli, ps_get(s, "venue")));
        ps_add_str(o, "session_status", ps_get(s, "status"));
        json_object_array_add(arr, o);
        json_object_put(b);
        json_object_put(s);
    }
    if (z)
        freeReplyObject(z);
    json_object_put(sp);
    json_object_object_add(out, "bookings", arr);
    json_object_object_add(out, "waitlists", waits);
}

static json_object *ps_consents(json_object *person)
{
    static const char *const purposes[] = { "training", "sms", "survey" };
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < TP_ARRAY_LEN(purposes); i++) {
        char f[48], g[64], w[64];
        snprintf(f, sizeof f, "consent:%s", purposes[i]);
        snprintf(g, sizeof g, "consent:%s:given_ms", purposes[i]);
        snprintf(w, sizeof w, "consent:%s:withdrawn_ms", purposes[i]);
        json_object *o = json_object_new_object();
        ps_add_str(o, "purpose", purposes[i]);
        ps_add_str(o, "state", ps_get(person, f)[0] ? ps_get(person, f) : "not_given");
        /* given at the referral (consent_at) unless given again since */
        int64_t given = ps_ms(person, g) ? ps_ms(person, g) : ps_get(person, f)[0] ? ps_ms(person, "consent_at") : 0;
        json_object_object_add(o, "given_ms", json_object_new_int64(given));
        json_object_object_add(o, "withdrawn_ms", json_object_new_int64(ps_ms(person, w)));
        json_object_array_add(arr, o);
    }
    return arr;
}

static json_object *ps_notifications(rds_t *r, const char *T, const char *pid)
{
    json_object *arr = json_object_new_array();
    char key[80];
    snprintf(key, sizeof key, "person:%s", pid);
    redisReply *z = ps_zrange(r, T, "gateway", key);
    for (size_t i = 0; z && i + 1 < z->elements; i += 2) {
        snprintf(key, sizeof key, "job:%s", z->element[i]->str);
        json_object *j = ps_hash(r, T, "gateway", key);
        json_object *o = json_object_new_object();
        ps_add_str(o, "job_id", z->element[i]->str);
        ps_add_str(o, "type", ps_get(j, "type"));
        ps_add_str(o, "status", ps_get(j, "status"));
        ps_add_str(o, "channel", ps_get(j, "channel"));
        json_object_object_add(o, "created_ms", json_object_new_int64(atoll(z->element[i + 1]->str)));
        json_object_object_add(o, "sent_ms", json_object_new_int64(ps_ms(j, "sent_ms")));
        json_object_array_add(arr, o);
        json_object_put(j);
    }
    if (z)
        freeReplyObject(z);
    return arr;
}

/* Everything about pid in T, as one JSON object; NULL when Redis failed. */
static json_object *ps_person(cli_t *cli, rds_t *r, const char *T, const char *pid, json_object *person)
{
    json_object *out = json_object_new_object();
    char key[80];
    ps_add_str(out, "person_id", pid);
    ps_add_str(out, "territory", T);
    json_object_object_add(out, "created_ms", json_object_new_int64(ps_ms(person, "created_ms")));
    snprintf(key, sizeof key, "contact:%s", pid);
    json_object *contact = ps_hash(r, T, "intake", key);
    ps_add_str(out, "given_name", ps_get(contact, "given_name"));
    json_object_put(contact);
    json_object_object_add(out, "contact_purged_ms", json_object_new_int64(ps_ms(person, "contact_purged_ms")));
    json_object_object_add(out, "erased_ms", json_object_new_int64(ps_ms(person, "erased_ms")));
    snprintf(key, sizeof key, "person:%s", pid);
    json_object *mp = ps_hash(r, T, "matcher", key);
    char lvl[64];
    ps_add_str(out, "level", ps_get(mp, "level"));
    ps_add_str(out, "level_fr", ps_get(mp, "outcome")[0] && strcmp(ps_get(mp, "outcome"), "reassess")
                                    ? cli_level_fr(cli, ps_get(mp, "level"), lvl, sizeof lvl)
                                    : "non déterminé");
    ps_add_str(out, "outcome", ps_get(mp, "outcome"));
    json_object_object_add(out, "assessed_ms", json_object_new_int64(ps_ms(mp, "assessed_ms")));
    json_object_put(mp);
    json_object_object_add(out, "referrals", ps_referrals(cli, r, T, pid, person));
    ps_bookings(cli, r, T, pid, out);
    json_object_object_add(out, "consents", ps_consents(person));
    json_object_object_add(out, "notifications", ps_notifications(r, T, pid));
    return out;
}

static const char *ps_state_fr(const char *state)
{
    return !strcmp(state, "given") ? "donné" : !strcmp(state, "withdrawn") ? "retiré" : "non donné";
}

static const char *ps_half_day_fr(const char *h, char *out, size_t cap)
{
    static const char *const days[][2] = { { "mon", "lundi" },    { "tue", "mardi" },  { "wed", "mercredi" },
                                           { "thu", "jeudi" },    { "fri", "vendredi" }, { "sat", "samedi" },
                                           { "sun", "dimanche" } };
    for (size_t i = 0; i < TP_ARRAY_LEN(days); i++)
        if (!strncmp(h, days[i][0], 3)) {
            snprintf(out, cap, "%s %s", days[i][1], strstr(h, "-pm") ? "après-midi" : "matin");
            return out;
        }
    return h;
}

/* The person told in French: sections, one line per thing, ids shown. */
static void ps_print(json_object *p)
{
    char day[11], when[96], hd[40];
    json_object *arr;
    cli_date_fr(ps_ms(p, "created_ms"), day);
    printf("Personne %s%s%s%s, territoire %s, connue depuis le %s\n", ps_get(p, "person_id"),
           ps_get(p, "given_name")[0] ? " (" : "", ps_get(p, "given_name"), ps_get(p, "given_name")[0] ? ")" : "",
           ps_get(p, "territory"), day);
    if (ps_ms(p, "contact_purged_ms")) {
        cli_date_fr(ps_ms(p, "contact_purged_ms"), day);
        printf("Coordonnées effacées le %s (durée de conservation dépassée)\n", day);
    }
    if (ps_ms(p, "erased_ms")) {
        cli_date_fr(ps_ms(p, "erased_ms"), day);
        printf("Données personnelles effacées le %s, à sa demande (tremplin person erase)\n", day);
    }
    cli_date_fr(ps_ms(p, "assessed_ms"), day);
    if (ps_ms(p, "assessed_ms"))
        printf("Niveau : %s (évalué le %s)\n", ps_get(p, "level_fr"), day);
    else
        printf("Niveau : pas encore évalué\n");

    json_object_object_get_ex(p, "referrals", &arr);
    printf("\nOrientations (%zu) :\n", json_object_array_length(arr));
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *outcome = ps_get(o, "outcome");
        char what[200];
        if (!strcmp(outcome, "workshop"))
            snprintf(what, sizeof what, "atelier « %s »", ps_get(o, "kind_title"));
        else if (!strcmp(outcome, "autonomous"))
            snprintf(what, sizeof what, "autonome, pas d'atelier");
        else if (outcome[0])
            snprintf(what, sizeof what, "niveau non déterminé : questionnaire à refaire");
        else
            snprintf(what, sizeof what, "pas encore évaluée");
        cli_date_fr(ps_ms(o, "created_ms"), day);
        printf("  %s  référence %s:%s (médiateur %s) : %s\n    orientation %s\n", day, ps_get(o, "branch"),
               ps_get(o, "external_ref"), ps_get(o, "mediator"), what, ps_get(o, "referral_id"));
    }

    json_object_object_get_ex(p, "bookings", &arr);
    printf("\nRéservations (%zu) :\n", json_object_array_length(arr));
    if (json_object_array_length(arr)) {
        int w[] = { 36, 4, 7, 34, 10 }; /* the place and the workshop as wide as their longest */
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *o = json_object_array_get_idx(arr, i);
            cli_fit(&w[1], ps_get(o, "venue_name"));
            cli_fit(&w[2], ps_get(o, "kind_title"));
        }
        cli_row(w, 5, "  date", "lieu", "atelier", "état", "réservation");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *o = json_object_array_get_idx(arr, i);
            char status[96];
            cli_when_fr(ps_ms(o, "start_ms"), when + 2, sizeof when - 2);
            when[0] = when[1] = ' ';
            snprintf(status, sizeof status, "%s%s", cli_status_fr(ps_get(o, "status")),
                     !strcmp(ps_get(o, "session_status"), "cancelled") && strcmp(ps_get(o, "status"), "session_cancelled")
                         ? " (séance annulée)"
                         : "");
            cli_row(w, 5, when, ps_get(o, "venue_name"), ps_get(o, "kind_title"), status, ps_get(o, "booking_id"));
        }
    }

    json_object_object_get_ex(p, "waitlists", &arr);
    if (json_object_array_length(arr)) {
        printf("\nListes d'attente :\n");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *o = json_object_array_get_idx(arr, i);
            printf("  « %s », %s : %s%s sur %s\n", ps_get(o, "kind_title"), ps_half_day_fr(ps_get(o, "half_day"), hd, sizeof hd),
                   ps_get(o, "position"), !strcmp(ps_get(o, "position"), "1") ? "re" : "e", ps_get(o, "of"));
            if (ps_ms(o, "next_start_ms")) {
                cli_when_fr(ps_ms(o, "next_start_ms"), when, sizeof when);
                long free_seats = (long)ps_ms(o, "next_free");
                if (free_seats == 0)
                    printf("    prochaine séance à cette demi-journée : %s, complète (une place se libère par une "
                           "annulation)\n",
                           when);
                else
                    printf("    prochaine séance à cette demi-journée : %s, %ld place%s libre%s\n", when, free_seats,
                           free_seats > 1 ? "s" : "", free_seats > 1 ? "s" : "");
            } else {
                printf("    pas de séance ouverte à cette demi-journée dans le calendrier actuel\n");
            }
        }
    }

    json_object_object_get_ex(p, "consents", &arr);
    printf("\nConsentements :\n");
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        char given[11], withdrawn[11];
        cli_date_fr(ps_ms(o, "given_ms"), given);
        cli_date_fr(ps_ms(o, "withdrawn_ms"), withdrawn);
        const char *state = ps_get(o, "state");
        printf("  %-30s %s", cli_purpose_fr(ps_get(o, "purpose")), ps_state_fr(state));
        if (!strcmp(state, "withdrawn"))
            printf(" le %s%s%s", withdrawn, given[0] ? " (donné le " : "", given[0] ? given : "");
        else if (given[0])
            printf(" le %s", given);
        printf("%s\n", !strcmp(state, "withdrawn") && given[0] ? ")" : "");
    }

    json_object_object_get_ex(p, "notifications", &arr);
    printf("\nNotifications (%zu) :\n", json_object_array_length(arr));
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        cli_date_fr(ps_ms(o, "sent_ms") ? ps_ms(o, "sent_ms") : ps_ms(o, "created_ms"), day);
        printf("  %s  %-22s %s%s%s\n", day, gw_type_fr(ps_get(o, "type")), gw_status_fr(ps_get(o, "status")),
               ps_get(o, "channel")[0] ? ", " : "", ps_get(o, "channel"));
    }
}

/* What `person export` adds to `person show`'s record for an access request
 * (GDPR art. 15): the contact data as held (name, phone, address, birth
 * year, needs, retention date) and each survey answer with its comment.
 * The participations are found through the person's bookings (one per
 * person and session). */
static void ps_export_extra(rds_t *r, const char *T, const char *pid, json_object *out)
{
    char key[120];
    snprintf(key, sizeof key, "contact:%s", pid);
    json_object *contact = ps_hash(r, T, "intake", key);
    json_object_object_add(out, "contact", contact ? contact : json_object_new_object());
    json_object *answers = json_object_new_array();
    snprintf(key, sizeof key, "bookings:%s", pid);
    redisReply *z = ps_zrange(r, T, "scheduler", key);
    for (size_t i = 0; z && i + 1 < z->elements; i += 2) {
        snprintf(key, sizeof key, "booking:%s", z->element[i]->str);
        json_object *b = ps_hash(r, T, "scheduler", key);
        char k[240];
        tp_key(k, sizeof k, T, "survey", "by:%s:%s", pid, ps_get(b, "sid"));
        json_object_put(b);
        redisReply *id = rds_cmd(r, "GET %s", k);
        if (id && id->type == REDIS_REPLY_STRING) {
            snprintf(key, sizeof key, "participation:%s", id->str);
            json_object *part = ps_hash(r, T, "survey", key);
            snprintf(key, sizeof key, "comment:%s", id->str);
            json_object *comment = ps_hash(r, T, "survey", key);
            if (part) {
                ps_add_str(part, "participation_id", id->str);
                ps_add_str(part, "comment", ps_get(comment, "text"));
                json_object_array_add(answers, part);
            }
            json_object_put(comment);
        }
        if (id)
            freeReplyObject(id);
    }
    if (z)
        freeReplyObject(z);
    json_object_object_add(out, "survey", answers);
}

int cli_person_find(cli_t *cli, const char *word, const char *ref, char pid[TP_ID_LEN + 1], const char **T,
                    json_object **person)
{
    char rid[TP_ID_LEN + 1];
    *T = NULL;
    if (!word == !ref)
        return cli_misuse(cli, "un identifiant de personne, ou --ref AGENCE:REFERENCE");
    if (ref) {
        if (!strchr(ref, ':'))
            return cli_misuse(cli, "--ref : AGENCE:REFERENCE attendu, pas « %s »", ref);
        int rc = cli_by_ref(cli, ref, rid, pid, T);
        if (rc == -1)
            return CLI_UNREACHABLE;
        if (rc == -2) {
            fprintf(stderr, "refusé : aucune orientation reçue sous la référence %s\n", ref);
            return CLI_REFUSED;
        }
    } else if (!ids_hex(word)) {
        return cli_misuse(cli, "identifiant de personne invalide : %s (32 caractères hexadécimaux)", word);
    } else {
        util_strlcpy(pid, word, TP_ID_LEN + 1);
    }
    rds_t *r = cli_redis(cli);
    if (!r)
        return CLI_UNREACHABLE;
    if (!*T)
        *T = cli_person_territory(cli, pid);
    char key[80];
    snprintf(key, sizeof key, "person:%s", pid);
    *person = ps_hash(r, *T, "intake", key);
    if (!*person) {
        fprintf(stderr, "tremplin : Redis injoignable\n");
        return CLI_UNREACHABLE;
    }
    if (json_object_object_length(*person) == 0) {
        json_object_put(*person);
        *person = NULL;
        fprintf(stderr, "refusé : personne inconnue : %s\n", pid);
        return CLI_REFUSED;
    }
    return CLI_OK;
}

static int cli_person_show(cli_t *cli, int argc, char **argv, int export)
{
    static const struct option opts[] = { { "ref", required_argument, NULL, 'r' },
                                          { "json", no_argument, NULL, 'j' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 1, &a) != 0)
        return CLI_REFUSED;
    cli->json = export || a.opt['j'] != NULL;
    char pid[TP_ID_LEN + 1];
    const char *T = NULL;
    json_object *person = NULL;
    int rc = cli_person_find(cli, a.nwords ? a.word[0] : NULL, a.opt['r'], pid, &T, &person);
    if (rc != CLI_OK)
        return rc;
    rds_t *r = cli_redis(cli);
    int audited = cli_record_read(cli, "intake", T, export ? "person_export" : "person_show", pid);
    if (audited != CLI_OK) {
        json_object_put(person);
        return audited;
    }
    json_object *p = ps_person(cli, r, T, pid, person);
    json_object_put(person);
    if (export)
        ps_export_extra(r, T, pid, p);
    if (cli->json)
        printf("%s\n", json_object_to_json_string_ext(p, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        ps_print(p);
    json_object_put(p);
    return CLI_OK;
}

int cli_person(cli_t *cli, int argc, char **argv)
{
    static const char *const actions[] = { "show", "export", "erase", NULL };
    int action = cli_action(cli, argc, argv, actions);
    if (action < 0)
        return CLI_REFUSED;
    if (action == 2)
        return cli_person_erase(cli, argc - 1, argv + 1);
    return cli_person_show(cli, argc - 1, argv + 1, action == 1);
}

/* ---------------------------------------------------------- worklist */

/* What a flag asks of the mediator, in French. */
static const char *wl_action_fr(const char *what)
{
    static const struct {
        const char *what, *fr;
    } actions[] = {
        { "questionnaire", "niveau non déterminé : refaire le questionnaire avec la personne" },
        { "reassessment", "parcours terminé : proposer une nouvelle évaluation" },
        { "noshow", "absences répétées : reprendre contact avant une nouvelle place" },
        { "offer_expired", "proposition de place expirée sans réponse : rappeler la personne" },
        { "undelivered", "convocation non distribuée : vérifier le téléphone et l'adresse" },
        { "no_contact", "ni téléphone ni adresse : en obtenir un, puis envoyer une orientation" },
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(actions); i++)
        if (!strcmp(actions[i].what, what))
            return actions[i].fr;
    return what;
}

/* A worklist entry's cells as shown: its reference (BRANCH:EXTERNAL_REF,
 * into ref) and its workshop (returned; "-" for none). */
static const char *wl_cells(cli_t *cli, json_object *o, char *ref, size_t cap)
{
    snprintf(ref, cap, "%s:%s", ps_get(o, "branch"), ps_get(o, "external_ref"));
    return ps_get(o, "kind")[0] ? cli_kind_fr(cli, ps_get(o, "kind")) : "-";
}

static int wl_cmp(const void *x, const void *y)
{
    json_object *const *a = x, *const *b = y;
    int64_t d = ps_ms(*a, "since_ms") - ps_ms(*b, "since_ms");
    return d < 0 ? -1 : d > 0;
}

int cli_worklist(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = { { "branch", required_argument, NULL, 'b' },
                                          { "json", no_argument, NULL, 'j' },
                                          { NULL, 0, NULL, 0 } };
    cli_args_t a;
    if (cli_parse(cli, argc, argv, opts, 0, 0, &a) != 0)
        return CLI_REFUSED;
    const char *branch = a.opt['b'];
    if (!branch && cli_key(cli) == 1 && cli->cred.branch[0])
        branch = cli->cred.branch; /* a mediator's key: its branch's */
    if (branch && !ids_valid(branch, KEYRING_ID_MAX - 1))
        return cli_misuse(cli, "--branch : identifiant d'agence invalide : %s", branch);
    cli->json = a.opt['j'] != NULL;
    rds_t *r = cli_redis(cli);
    if (!r)
        return CLI_UNREACHABLE;
    int audited = cli_record_read(cli, "intake", cli->territories[0], "worklist", branch ? branch : "all");
    if (audited != CLI_OK)
        return audited;
    static const char *const services[] = { "intake", "matcher", "scheduler", "gateway" };
    json_object *all = json_object_new_array();
    int lost = 0;
    for (int t = 0; t < cli->nterritories && !lost; t++) {
        const char *T = cli->territories[t];
        for (size_t s = 0; s < TP_ARRAY_LEN(services) && !lost; s++) {
            redisReply *z = ps_zrange(r, T, services[s], "worklist");
            lost = !z;
            for (size_t i = 0; z && i + 1 < z->elements; i += 2) {
                char entry[200], *save = NULL;
                util_strlcpy(entry, z->element[i]->str, sizeof entry);
                const char *what = strtok_r(entry, "|", &save), *pid = strtok_r(NULL, "|", &save),
                           *kind = strtok_r(NULL, "|", &save);
                if (!what || !pid)
                    continue;
                char key[80];
                snprintf(key, sizeof key, "person:%s", pid);
                json_object *person = ps_hash(r, T, "intake", key);
                json_object *ref = ps_last_referral(r, T, person);
                if (branch && strcmp(ps_get(ref, "branch"), branch)) {
                    json_object_put(person);
                    json_object_put(ref);
                    continue;
                }
                json_object *o = json_object_new_object();
                json_object_object_add(o, "since_ms", json_object_new_int64(atoll(z->element[i + 1]->str)));
                ps_add_str(o, "what", what);
                ps_add_str(o, "todo_fr", wl_action_fr(what));
                ps_add_str(o, "person_id", pid);
                ps_add_str(o, "kind", kind ? kind : "");
                ps_add_str(o, "territory", T);
                ps_add_str(o, "branch", ps_get(ref, "branch"));
                ps_add_str(o, "external_ref", ps_get(ref, "external_ref"));
                ps_add_str(o, "mediator", ps_get(ref, "mediator"));
                json_object_array_add(all, o);
                json_object_put(person);
                json_object_put(ref);
            }
            if (z)
                freeReplyObject(z);
        }
    }
    if (lost) {
        json_object_put(all);
        fprintf(stderr, "tremplin : Redis injoignable\n");
        return CLI_UNREACHABLE;
    }
    json_object_array_sort(all, wl_cmp);
    size_t n = json_object_array_length(all);
    if (cli->json) {
        printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    } else if (n == 0) {
        printf("Aucune personne n'attend d'action d'un médiateur%s%s.\n", branch ? " de l'agence " : "",
               branch ? branch : "");
    } else {
        int w[] = { 10, 9, 9, 7, 32, 40 }; /* the reference, the mediator and the workshop as wide as their longest */
        char ref[160];
        for (size_t i = 0; i < n; i++) {
            json_object *o = json_object_array_get_idx(all, i);
            cli_fit(&w[3], wl_cells(cli, o, ref, sizeof ref));
            cli_fit(&w[1], ref);
            cli_fit(&w[2], ps_get(o, "mediator"));
        }
        cli_row(w, 6, "depuis le", "référence", "médiateur", "atelier", "personne", "à faire");
        for (size_t i = 0; i < n; i++) {
            json_object *o = json_object_array_get_idx(all, i);
            char day[11];
            cli_date_fr(ps_ms(o, "since_ms"), day);
            const char *kind = wl_cells(cli, o, ref, sizeof ref);
            cli_row(w, 6, day, ref, ps_get(o, "mediator"), kind, ps_get(o, "person_id"), ps_get(o, "todo_fr"));
        }
        printf("\n%zu personne%s (tremplin person show PERSONNE pour le détail)\n", n, n > 1 ? "s" : "");
    }
    json_object_put(all);
    return CLI_OK;
}
