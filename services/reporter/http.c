/* http — the reporter's HTTP side (libmicrohttpd): one internal thread that
 * answers one request at a time with its own Redis connection (hiredis
 * contexts are not shared between threads). What it reads of the main
 * thread's state — configuration, territories, endpoints — is copied under
 * the lock at each request; the event counter is atomic. Figures only: the
 * reporter's Redis user may read nothing else.
 *
 *   GET /                 the dashboard (French, one page, no outside resource)
 *   GET /metrics          Prometheus text
 *   GET /api/kpi          ?from=&to=&branch=&partner=&kind=&territory=&by=   JSON
 *   GET /api/export.csv   ?table=commission|activities&from=&to=&by=&publication=1
 *   GET /api/version      {"version": events heard, "now_ms"}: the dashboard reloads when it moves */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "export.h"
#include "figures.h"
#include "ids.h"
#include "log.h"
#include "reporter.h"
#include "util.h"

extern const char reporter_dashboard_html[];

typedef struct {
    reporter_t *r;
    svc_conf_t sc;
    reporter_conf_t rc;
    catalogue_t *cat; /* a copy: a reload may replace the reporter's meanwhile */
    const char *terr[SVC_MAX_TERRITORIES];
    int nterr;
    char terr_buf[256];
} req_t;

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, char *body, size_t len,
                               const char *disposition)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (disposition)
        MHD_add_response_header(resp, "Content-Disposition", disposition);
    if (!strncmp(type, "text/html", 9))
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "img-src 'self' data:; connect-src 'self'");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_object *o)
{
    char *text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return respond(conn, status, "application/json; charset=utf-8", text, strlen(text), NULL);
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                     const char *field, const char *message_fr)
{
    json_object *e = json_object_new_object(), *o = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "field", field ? json_object_new_string(field) : NULL);
    json_object_object_add(e, "message", json_object_new_string(message_fr));
    json_object_object_add(o, "error", e);
    return respond_json(conn, status, o);
}

static const char *arg(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

/* The query of /api/kpi and the exports, checked: 0, or -1 after answering
 * 400. Defaults: to = today, from = to - default_days + 1. */
static int read_query(struct MHD_Connection *conn, const req_t *q, kpi_query_t *out, char from[11], char to[11],
                      enum MHD_Result *answered)
{
    int64_t now = clock_now_ms();
    const char *f = arg(conn, "from"), *t = arg(conn, "to");
    if (t)
        util_strlcpy(to, t, 11);
    else
        clock_local_day(now, to);
    if (f) {
        util_strlcpy(from, f, 11);
    } else {
        int32_t d;
        if (cal_parse_date(to, 2000, 2199, &d) == 0)
            cal_format_date(d - (int32_t)(q->rc.default_days > 0 ? q->rc.default_days - 1 : 0), from);
    }
    const char *bad = NULL;
    if ((f && strlen(f) > 10) || !fig_is_day(from))
        bad = "from";
    else if ((t && strlen(t) > 10) || !fig_is_day(to) || strcmp(from, to) > 0)
        bad = "to";
    if (bad) {
        *answered = respond_error(conn, 400, "INVALID_FIELD", bad, "Période invalide : dates AAAA-MM-JJ, du premier au dernier jour.");
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->from = from;
    out->to = to;
    const char *names[] = { "branch", "partner", "kind", "territory" };
    const char **slots[] = { &out->filter.branch, &out->filter.partner, &out->filter.kind, &out->filter.territory };
    for (size_t i = 0; i < TP_ARRAY_LEN(names); i++) {
        const char *v = arg(conn, names[i]);
        if (v && !ids_token(v, 64, "-_.")) {
            *answered = respond_error(conn, 400, "INVALID_FIELD", names[i], "Filtre invalide : lettres, chiffres, - _ . seulement.");
            return -1;
        }
        *slots[i] = v;
    }
    out->by = arg(conn, "by");
    if (out->by && strcmp(out->by, "week") && strcmp(out->by, "month") && strcmp(out->by, "branch")
        && strcmp(out->by, "partner") && strcmp(out->by, "kind") && strcmp(out->by, "territory") && strcmp(out->by, "period")) {
        *answered = respond_error(conn, 400, "UNKNOWN_VALUE", "by", "Regroupement inconnu : week, month, branch, partner, kind, territory.");
        return -1;
    }
    return 0;
}

/* The query of a request and its aggregates: how many, or -1 after
 * answering (400: a bad query, 503: Redis). */
static int begin(struct MHD_Connection *conn, req_t *q, kpi_query_t *k, char from[11], char to[11], json_object **aggs,
                 enum MHD_Result *answered)
{
    if (read_query(conn, q, k, from, to, answered) != 0)
        return -1;
    char err[256];
    int n = reporter_aggregates(q->r->http_rds, q->terr, q->nterr, k->filter.territory, k->from, k->to, clock_now_ms(), 1,
                                aggs, err, sizeof err);
    if (n < 0)
        *answered = strstr(err, "Redis") ? respond_error(conn, 503, "UNAVAILABLE", NULL, "Redis est injoignable : réessayer.")
                                         : respond_error(conn, 400, "INVALID_FIELD", "territory", err);
    return n;
}

static void put_all(json_object **aggs, int n)
{
    for (int i = 0; i < n; i++)
        json_object_put(aggs[i]);
}

static enum MHD_Result serve_kpi(struct MHD_Connection *conn, req_t *q)
{
    kpi_query_t k;
    char from[11], to[11];
    enum MHD_Result answered = MHD_NO;
    json_object *aggs[SVC_MAX_TERRITORIES];
    int n = begin(conn, q, &k, from, to, aggs, &answered);
    if (n < 0)
        return answered;
    if (k.by && !strcmp(k.by, "period"))
        k.by = NULL;
    kpi_conf_t kc = { q->rc.wait_warn_days, q->cat };
    json_object *rep = kpi_report(aggs, n, &k, &kc);
    json_object_object_add(rep, "version", json_object_new_int64((int64_t)atomic_load(&q->r->version)));
    json_object_object_add(rep, "refresh_s", json_object_new_int64(q->rc.refresh_s));
    put_all(aggs, n);
    return respond_json(conn, 200, rep);
}

static enum MHD_Result serve_export(struct MHD_Connection *conn, req_t *q)
{
    const char *table = arg(conn, "table") ? arg(conn, "table") : "commission";
    if (strcmp(table, "commission") && strcmp(table, "activities"))
        return respond_error(conn, 400, "UNKNOWN_VALUE", "table", "Tableau inconnu : commission ou activities.");
    const char *pub = arg(conn, "publication");
    int below = pub && strcmp(pub, "0") ? (int)q->rc.suppress_below : 0;
    kpi_query_t k;
    char from[11], to[11];
    enum MHD_Result answered = MHD_NO;
    json_object *aggs[SVC_MAX_TERRITORIES];
    int n = begin(conn, q, &k, from, to, aggs, &answered);
    if (n < 0)
        return answered;
    kpi_conf_t kc = { q->rc.wait_warn_days, q->cat };
    size_t len = 0;
    char *csv = !strcmp(table, "commission") ? export_commission(aggs, n, &k, &kc, below, &len)
                                             : export_activities(aggs, n, &k, &kc, below, &len);
    put_all(aggs, n);
    char disp[160];
    snprintf(disp, sizeof disp, "attachment; filename=\"tremplin-%s-%s-%s%s.csv\"", table, from, to,
             below ? "-publication" : "");
    return respond(conn, 200, "text/csv; charset=utf-8", csv, len, disp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    reporter_t *r = cls;
    if (!*con_cls) { /* the headers: answer once the (empty) body is read */
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond_error(conn, 405, "METHOD_NOT_ALLOWED", NULL, "Lecture seule : GET uniquement.");
    req_t q = { .r = r };
    pthread_mutex_lock(&r->lock);
    q.sc = r->svc_conf;
    q.rc = r->conf;
    if (r->have_catalogue) {
        q.cat = xmalloc(sizeof *q.cat);
        *q.cat = r->catalogue;
    }
    pthread_mutex_unlock(&r->lock);
    q.nterr = svc_territories(&q.sc, q.terr_buf, sizeof q.terr_buf, q.terr, SVC_MAX_TERRITORIES);
    int64_t t0 = clock_mono_ms();
    enum MHD_Result rc;
    if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
        char *page = xstrdup(reporter_dashboard_html);
        rc = respond(conn, 200, "text/html; charset=utf-8", page, strlen(page), NULL);
    } else if (!strcmp(url, "/metrics")) {
        size_t len = 0;
        char *text = reporter_metrics(r, r->http_rds, &q.sc, &q.rc, q.cat, &len);
        rc = respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
    } else if (!strcmp(url, "/api/kpi")) {
        rc = serve_kpi(conn, &q);
    } else if (!strcmp(url, "/api/export.csv")) {
        rc = serve_export(conn, &q);
    } else if (!strcmp(url, "/api/version")) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "version", json_object_new_int64((int64_t)atomic_load(&r->version)));
        json_object_object_add(o, "now_ms", json_object_new_int64(clock_now_ms()));
        rc = respond_json(conn, 200, o);
    } else {
        rc = respond_error(conn, 404, "NOT_FOUND", NULL, "Page inconnue.");
    }
    log_debug("http", "url=%s ms=%lld", url, (long long)(clock_mono_ms() - t0));
    free(q.cat);
    return rc;
}

int reporter_http_start(svc_t *s, reporter_t *r)
{
    if (r->conf.http_port <= 0)
        return 0;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->conf.http_port) };
    if (inet_pton(AF_INET, r->conf.http_bind, &addr.sin_addr) != 1) {
        log_error("start_failed", "reason=\"[reporter] http_bind: not an IPv4 address: %s\"", r->conf.http_bind);
        return -1;
    }
    r->http_rds = rds_new(&svc_conf(s)->redis, "reporter-http"); /* the HTTP thread's: no library to check */
    r->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, r,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!r->httpd) {
        log_error("start_failed", "reason=\"cannot listen on http://%s:%lld\"", r->conf.http_bind,
                  (long long)r->conf.http_port);
        rds_destroy(&r->http_rds);
        return -1;
    }
    log_info("http_listening", "url=http://%s:%lld/", r->conf.http_bind, (long long)r->conf.http_port);
    return 0;
}

void reporter_http_stop(reporter_t *r)
{
    if (r->httpd)
        MHD_stop_daemon(r->httpd);
    r->httpd = NULL;
    rds_destroy(&r->http_rds);
}
