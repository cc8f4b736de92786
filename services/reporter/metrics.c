/* metrics — /metrics in the Prometheus text format (version 0.0.4).
 *
 * Every figure a service keeps for all time (its fig:total hash) is a gauge
 * tremplin_figure{territory, service, figure, detail, branch, partner}: gauges,
 * not counters, since a trainer's correction may take one back. The headline
 * figures have names of their own (people accompanied and trained, waiting,
 * the capacity outlook), and each service's health comes from its Pong:
 * outbox backlog and age, dead letters, Redis; the reporter's own Redis
 * round trip is measured at each scrape. Families are written whole, each
 * after its HELP and TYPE, as promtool wants them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "clock.h"
#include "figures.h"
#include "keys.h"
#include "reporter.h"
#include "services.h"
#include "util.h"

/* A label value as the format wants it: \\, \" and \n escaped. */
static void label(FILE *f, const char *name, const char *v, int first)
{
    fprintf(f, "%s%s=\"", first ? "" : ",", name);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*v, f);
    }
    fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A field name split as the services write it: figure[:detail][@b:branch|@p:partner];
 * intake's referrals:<branch> and no_consent:<branch> are by branch. */
static void split_field(const char *svc, const char *field, char *fig, char *detail, char *branch, char *partner,
                        size_t cap)
{
    char tmp[256];
    util_strlcpy(tmp, field, sizeof tmp);
    detail[0] = branch[0] = partner[0] = '\0';
    char *at = strchr(tmp, '@');
    if (at) {
        *at = '\0';
        if (at[1] == 'b' && at[2] == ':')
            util_strlcpy(branch, at + 3, cap);
        else if (at[1] == 'p' && at[2] == ':')
            util_strlcpy(partner, at + 3, cap);
    }
    char *colon = strchr(tmp, ':');
    if (colon) {
        *colon = '\0';
        if (!strcmp(svc, "intake") && (!strcmp(tmp, "referrals") || !strcmp(tmp, "no_consent")))
            util_strlcpy(branch, colon + 1, cap);
        else
            util_strlcpy(detail, colon + 1, cap);
    }
    util_strlcpy(fig, tmp, cap);
}

/* ------------------------------------------------------------ health */

static void on_pong(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    (void)tag;
    reporter_health_t *h = arg;
    if (!reply || reply->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_PONG)
        return;
    const Tremplin__Pong *p = reply->pong;
    h->up = 1;
    h->redis_ok = p->redis_ok;
    h->stalled = p->outbox_stalled;
    h->outbox = p->outbox_pending;
    h->oldest_ms = p->outbox_oldest_ms;
    h->dead = p->dead_letters;
}

/* Pings every service at once and waits for the Pongs, at most timeout_ms. */
static void health_read(reporter_t *r, const svc_conf_t *sc, const reporter_conf_t *rc, reporter_health_t *h,
                        const char *territory)
{
    client_t *c[TP_NSERVICES] = { 0 };
    for (int i = 0; i < TP_NSERVICES; i++) {
        memset(&h[i], 0, sizeof h[i]);
        util_strlcpy(h[i].service, tp_services[i].name, sizeof h[i].service);
        const char *ep = conf_map_get(&sc->endpoints, tp_services[i].name);
        if (!ep)
            continue;
        c[i] = client_new(r->zctx, ep, "reporter-health");
        client_set_retry(c[i], rc->health_timeout_ms, 1);
        if (r->cred.public_key[0])
            client_set_curve(c[i], r->cred.server_key, r->cred.public_key, r->cred.secret_key);
        char err[128];
        if (client_connect(c[i], err, sizeof err) != 0) {
            client_destroy(&c[i]);
            continue;
        }
        Tremplin__Envelope req = TREMPLIN__ENVELOPE__INIT;
        Tremplin__Ping ping = TREMPLIN__PING__INIT;
        req.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
        req.ping = &ping;
        req.territory = (char *)territory;
        client_send(c[i], &req, (uint64_t)i);
    }
    int64_t deadline = clock_mono_ms() + rc->health_timeout_ms + 50;
    for (int busy = 1; busy && clock_mono_ms() < deadline;) {
        busy = 0;
        for (int i = 0; i < TP_NSERVICES; i++)
            if (c[i] && client_inflight(c[i]) > 0)
                busy |= client_poll(c[i], 2, on_pong, &h[i]) > 0;
    }
    for (int i = 0; i < TP_NSERVICES; i++)
        client_destroy(&c[i]);
}

/* ------------------------------------------------------------ figures */

typedef struct {
    const char *territory;
    json_object *totals[FIG_NSERVICES]; /* fig:total of each service */
    json_object *today;                 /* today's aggregate: current, outlook */
} terr_t;

static json_object *read_hash(rds_t *rds, const char *key)
{
    redisReply *rep = rds_cmd(rds, "HGETALL %s", key);
    json_object *o = json_object_new_object();
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
        json_object_object_add(o, rep->element[i]->str, json_object_new_int64(atoll(rep->element[i + 1]->str)));
    if (rep)
        freeReplyObject(rep);
    return o;
}

static void write_figures(FILE *f, terr_t *t, int n)
{
    family(f, "tremplin_figure", "gauge",
           "Every figure a service keeps for all time (its fig:total): figure, detail (the kind for workshop "
           "figures), branch and partner as the service counts them (docs/figures.md).");
    for (int i = 0; i < n; i++)
        for (int s = 0; s < FIG_NSERVICES; s++) {
            json_object_object_foreach(t[i].totals[s], field, v)
            {
                char fig[128], detail[128], branch[128], partner[128];
                split_field(fig_services[s], field, fig, detail, branch, partner, sizeof fig);
                fputs("tremplin_figure{", f);
                label(f, "territory", t[i].territory, 1);
                label(f, "service", fig_services[s], 0);
                label(f, "figure", fig, 0);
                label(f, "detail", detail, 0);
                label(f, "branch", branch, 0);
                label(f, "partner", partner, 0);
                fprintf(f, "} %lld\n", (long long)json_object_get_int64(v));
            }
        }
    family(f, "tremplin_people", "gauge",
           "People to date: accompanied (an accepted referral assessed), assigned to a workshop, booked, trained "
           "(at least one workshop attended).");
    static const struct {
        int svc;
        const char *field, *stage;
    } people[] = { { 1, "accompanied", "accompanied" }, { 1, "people_assigned", "assigned" },
                   { 2, "people_booked", "booked" }, { 2, "trained", "trained" } };
    for (int i = 0; i < n; i++)
        for (size_t p = 0; p < TP_ARRAY_LEN(people); p++) {
            fputs("tremplin_people{", f);
            label(f, "territory", t[i].territory, 1);
            label(f, "stage", people[p].stage, 0);
            fprintf(f, "} %lld\n", (long long)fig_int(t[i].totals[people[p].svc], people[p].field));
        }
    family(f, "tremplin_referrals", "gauge", "Referrals to date: accepted, or refused for want of consent.");
    for (int i = 0; i < n; i++) {
        const char *outcome[] = { "referrals", "accepted", "no_consent", "no_consent" };
        for (int o = 0; o < 4; o += 2) {
            fputs("tremplin_referrals{", f);
            label(f, "territory", t[i].territory, 1);
            label(f, "outcome", outcome[o + 1], 0);
            fprintf(f, "} %lld\n", (long long)fig_int(t[i].totals[0], outcome[o]));
        }
    }
    family(f, "tremplin_waiting", "gauge", "People on a waitlist now, per workshop kind.");
    for (int i = 0; i < n; i++) {
        json_object *cur;
        if (!json_object_object_get_ex(t[i].today, "current", &cur))
            continue;
        json_object_object_foreach(cur, field, v)
        {
            if (strncmp(field, "waiting:", 8) != 0)
                continue;
            fputs("tremplin_waiting{", f);
            label(f, "territory", t[i].territory, 1);
            label(f, "kind", field + 8, 0);
            fprintf(f, "} %lld\n", (long long)json_object_get_int64(v));
        }
    }
}

static void write_outlook(FILE *f, terr_t *t, int n, const kpi_conf_t *kc)
{
    json_object *ol[SVC_MAX_TERRITORIES];
    for (int i = 0; i < n; i++) {
        kpi_filter_t flt = { .territory = t[i].territory };
        ol[i] = kpi_outlook(&t[i].today, 1, &flt, kc);
    }
    static const struct {
        const char *name, *field, *help;
        int tenths;
    } m[] = {
        { "tremplin_outlook_weekly_seats", "weekly_seats", "Seats per week in the open sessions of the next 28 days.", 1 },
        { "tremplin_outlook_arrivals_per_week", "arrivals_per_week", "Assignments per week over the last 28 days.", 1 },
        { "tremplin_outlook_projected_wait_seconds", "projected_wait_days",
          "Projected wait of a person referred today (everyone ahead served at the weekly seats).", 86400 },
        { "tremplin_outlook_warning", "warning", "1 when the projected wait passes [reporter] wait_warn_days, or "
          "demand exceeds the seats: more workshops are needed.", 0 },
    };
    for (size_t k = 0; k < TP_ARRAY_LEN(m); k++) {
        family(f, m[k].name, "gauge", m[k].help);
        for (int i = 0; i < n; i++)
            for (size_t j = 0; j < json_object_array_length(ol[i]); j++) {
                json_object *row = json_object_array_get_idx(ol[i], j), *v;
                if (!json_object_object_get_ex(row, m[k].field, &v) || !v)
                    continue;
                fprintf(f, "%s{", m[k].name);
                label(f, "territory", t[i].territory, 1);
                label(f, "kind", fig_str(row, "kind"), 0);
                if (m[k].tenths > 1)
                    fprintf(f, "} %.0f\n", json_object_get_double(v) * m[k].tenths);
                else if (m[k].tenths)
                    fprintf(f, "} %s\n", json_object_to_json_string(v));
                else
                    fprintf(f, "} %d\n", json_object_get_boolean(v));
            }
    }
    for (int i = 0; i < n; i++)
        json_object_put(ol[i]);
}

static void write_health(FILE *f, const reporter_health_t *h)
{
    static const struct {
        const char *name, *help;
    } m[] = {
        { "tremplin_service_up", "1 when the service answered a Ping within [reporter] health_timeout_ms." },
        { "tremplin_service_redis_ok", "1 when the service reaches its Redis." },
        { "tremplin_outbox_backlog", "Messages in the service's outbox, not yet acknowledged." },
        { "tremplin_outbox_oldest_seconds", "How long the oldest outbox entry has waited." },
        { "tremplin_outbox_stalled", "1 when the oldest outbox entry has waited longer than bus.stall_ms." },
        { "tremplin_dead_letters", "Messages given up, waiting for an operator (tremplin outbox list)." },
    };
    for (size_t k = 0; k < TP_ARRAY_LEN(m); k++) {
        family(f, m[k].name, "gauge", m[k].help);
        for (int i = 0; i < TP_NSERVICES; i++) {
            if (k > 0 && !h[i].up)
                continue; /* unknown: no sample rather than a made-up 0 */
            fprintf(f, "%s{", m[k].name);
            label(f, "service", h[i].service, 1);
            double v = k == 0 ? h[i].up : k == 1 ? h[i].redis_ok : k == 2 ? (double)h[i].outbox
                     : k == 3 ? (double)h[i].oldest_ms / 1000.0 : k == 4 ? h[i].stalled : (double)h[i].dead;
            fprintf(f, "} %g\n", v);
        }
    }
}

char *reporter_metrics(reporter_t *r, rds_t *rds, const svc_conf_t *sc, const reporter_conf_t *rc,
                       const catalogue_t *cat, size_t *len)
{
    int64_t t0 = clock_mono_ms();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    redisReply *pong = rds_cmd(rds, "PING");
    clock_gettime(CLOCK_MONOTONIC, &b);
    int redis_up = pong && pong->type == REDIS_REPLY_STATUS;
    if (pong)
        freeReplyObject(pong);
    double latency = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;

    char buf[256];
    const char *terr[SVC_MAX_TERRITORIES];
    int nterr = svc_territories(sc, buf, sizeof buf, terr, SVC_MAX_TERRITORIES);
    terr_t t[SVC_MAX_TERRITORIES];
    int n = 0;
    int64_t now = clock_now_ms();
    char today[11], err[256], key[200];
    clock_local_day(now, today);
    for (int i = 0; redis_up && i < nterr; i++) {
        json_object *agg = fig_read(rds, terr[i], today, today, now, err, sizeof err);
        if (!agg)
            continue;
        t[n].territory = terr[i];
        t[n].today = agg;
        for (int s = 0; s < FIG_NSERVICES; s++) {
            tp_key(key, sizeof key, terr[i], fig_services[s], "fig:total");
            t[n].totals[s] = read_hash(rds, key);
        }
        n++;
    }
    reporter_health_t h[TP_NSERVICES];
    health_read(r, sc, rc, h, nterr > 0 ? terr[0] : "42");

    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    kpi_conf_t kc = { rc->wait_warn_days, cat };
    write_figures(f, t, n);
    write_outlook(f, t, n, &kc);
    write_health(f, h);
    family(f, "tremplin_redis_up", "gauge", "1 when the reporter reached Redis at this scrape.");
    fprintf(f, "tremplin_redis_up %d\n", redis_up);
    family(f, "tremplin_redis_latency_seconds", "gauge", "Round trip of a PING from the reporter to Redis.");
    fprintf(f, "tremplin_redis_latency_seconds %.6f\n", latency);
    family(f, "tremplin_reporter_events_total", "counter", "Events heard from the services (wake-ups).");
    fprintf(f, "tremplin_reporter_events_total %lu\n", (unsigned long)atomic_load(&r->events));
    family(f, "tremplin_reporter_scrape_seconds", "gauge", "Time this page took to compute.");
    fprintf(f, "tremplin_reporter_scrape_seconds %.3f\n", (double)(clock_mono_ms() - t0) / 1000.0);
    fclose(f);
    for (int i = 0; i < n; i++) {
        json_object_put(t[i].today);
        for (int s = 0; s < FIG_NSERVICES; s++)
            json_object_put(t[i].totals[s]);
    }
    return out;
}
