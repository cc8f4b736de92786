#include "gateway/http.h"

#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "jsondoc.h"
#include "log.h"
#include "util.h"

#define HTTP_ANSWER_MAX (64 * 1024) /* what is kept of an answer: the id is near its start */

struct http {
    http_conf_t conf;
    CURL *curl;
    struct curl_slist *headers; /* all but the Idempotency-Key, which is the message's */
    char *answer;               /* this message's answer, at most HTTP_ANSWER_MAX */
    size_t answer_len;
};

/* ------------------------------------------------------------ the body */

/* A value as the contents of a JSON string (json-c's escaping, without the
 * quotes around it), appended to s. */
static void http_json_escape(GString *s, const char *value)
{
    json_object *o = json_object_new_string(value);
    const char *q = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(q);
    g_string_append_len(s, q + 1, (gssize)(n - 2));
    json_object_put(o);
}

char *http_body(const char *tmpl, const char *job_id, const char *to, const char *text, char *err, size_t errlen)
{
    static const char *const names[] = { "to", "text", "job_id" };
    const char *values[] = { to, text, job_id };
    GString *s = g_string_new(NULL);
    for (const char *p = tmpl; *p;) {
        /* a placeholder is {name} with name of [a-z_]: JSON's own braces
         * are followed by a quote, a space or a brace */
        size_t n = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_") : 0;
        if (n == 0 || p[1 + n] != '}') {
            g_string_append_c(s, *p++);
            continue;
        }
        size_t i = 0;
        while (i < TP_ARRAY_LEN(names) && (strlen(names[i]) != n || strncmp(p + 1, names[i], n) != 0))
            i++;
        if (i == TP_ARRAY_LEN(names)) {
            util_fail(err, errlen, "body_template: unknown placeholder {%.*s} (known: {to}, {text}, {job_id})",
                      (int)n, p + 1);
            g_string_free(s, TRUE);
            return NULL;
        }
        http_json_escape(s, values[i]);
        p += n + 2;
    }
    char *body = xstrdup(s->str);
    sodium_memzero(s->str, s->len); /* the number and the text */
    g_string_free(s, TRUE);
    return body;
}

/* ------------------------------------------------------------ the handle */

static int http_check(const http_conf_t *c, char *err, size_t errlen)
{
    if (strncmp(c->url, "https://", 8) != 0 && strncmp(c->url, "http://", 7) != 0)
        return util_fail(err, errlen, "url: an http:// or https:// address is required");
    if (c->auth_header[0] && (!strchr(c->auth_header, ':') || strpbrk(c->auth_header, "\r\n")))
        return util_fail(err, errlen, "auth_header: one line \"Name: value\" is required");
    if (c->connect_timeout_ms <= 0 || c->timeout_ms <= 0)
        return util_fail(err, errlen, "timeouts: more than 0 ms are required");
    if (!c->id_path[0])
        return util_fail(err, errlen, "id_path: required");
    /* the template with values that need escaping must give one JSON value */
    char *body = http_body(c->body_template, "job\"1", "+33612345678", "a \"b\"\n\\ é", err, errlen);
    if (!body)
        return -1;
    char why[200];
    json_object *root = jsondoc_parse(body, why, sizeof why);
    free(body);
    if (!root)
        return util_fail(err, errlen, "body_template: not JSON once filled in: %s", why);
    json_object_put(root);
    return 0;
}

static size_t http_keep(char *data, size_t size, size_t nmemb, void *user)
{
    http_t *h = user;
    size_t n = size * nmemb, room = HTTP_ANSWER_MAX - h->answer_len;
    size_t keep = n < room ? n : room; /* the rest is read and dropped */
    memcpy(h->answer + h->answer_len, data, keep);
    h->answer_len += keep;
    h->answer[h->answer_len] = '\0';
    return n;
}

http_t *http_new(const http_conf_t *conf, char *err, size_t errlen)
{
    if (http_check(conf, err, errlen) != 0)
        return NULL;
    /* reference counted and thread-safe since libcurl 7.84 */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        util_fail(err, errlen, "libcurl: cannot initialise");
        return NULL;
    }
    http_t *h = xcalloc(1, sizeof *h);
    h->conf = *conf;
    h->answer = xmalloc(HTTP_ANSWER_MAX + 1);
    h->curl = curl_easy_init();
    if (!h->curl) {
        util_fail(err, errlen, "libcurl: cannot open a handle");
        http_destroy(&h);
        return NULL;
    }
    /* the headers of every message; http_send puts the job's own in front */
    h->headers = curl_slist_append(h->headers, "Content-Type: application/json; charset=utf-8");
    h->headers = curl_slist_append(h->headers, "Accept: application/json");
    h->headers = curl_slist_append(h->headers, "Expect:"); /* no 100-continue round trip */
    if (conf->auth_header[0])
        h->headers = curl_slist_append(h->headers, conf->auth_header);
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, conf->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* timeouts without SIGALRM: the process has threads */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conf->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, conf->timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tremplin-gateway");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    return h;
}

void http_destroy(http_t **p)
{
    if (!p || !*p)
        return;
    http_t *h = *p;
    if (h->curl) {
        curl_easy_cleanup(h->curl);
        curl_global_cleanup();
    }
    curl_slist_free_all(h->headers);
    /* the auth header is a secret: not left in freed memory */
    sodium_memzero(h->conf.auth_header, sizeof h->conf.auth_header);
    free(h->answer);
    free(h);
    *p = NULL;
}

/* ------------------------------------------------------------- sending */

/* The provider's id at a dotted path of the answer: object keys, and array
 * indexes as numbers. 0, or -1 when the answer is not JSON or has none. */
static int http_answer_id(const char *answer, const char *path, char *out, size_t cap)
{
    char why[128], copy[sizeof ((http_conf_t *)0)->id_path], *save = NULL;
    json_object *root = jsondoc_parse(answer, why, sizeof why), *o = root;
    util_strlcpy(copy, path, sizeof copy);
    for (char *k = strtok_r(copy, ".", &save); o && k; k = strtok_r(NULL, ".", &save)) {
        json_object *next = NULL;
        if (json_object_is_type(o, json_type_object))
            json_object_object_get_ex(o, k, &next);
        else if (json_object_is_type(o, json_type_array) && k[strspn(k, "0123456789")] == '\0')
            next = json_object_array_get_idx(o, (size_t)strtoul(k, NULL, 10));
        o = next;
    }
    int rc = -1;
    /* an id goes into logs: only characters that cannot break a line */
    static const char id_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:+/=-";
    if (o && (json_object_is_type(o, json_type_string) || json_object_is_type(o, json_type_int))) {
        const char *v = json_object_get_string(o);
        size_t n = strlen(v);
        rc = n > 0 && n < cap && strspn(v, id_chars) == n ? util_strlcpy(out, v, cap) : -1;
    }
    if (root)
        json_object_put(root);
    return rc;
}

static int http_retryable_code(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int http_retryable_status(long status) { return status >= 500 || status == 408 || status == 425 || status == 429; }

int http_send(http_t *h, const char *job_id, const char *to, const char *text, http_result_t *out)
{
    memset(out, 0, sizeof *out);
    char err[200];
    char *body = http_body(h->conf.body_template, job_id, to, text, err, sizeof err);
    if (!body) { /* the template was checked by http_new */
        util_strlcpy(out->error, err, sizeof out->error);
        return -1;
    }
    char key[160];
    snprintf(key, sizeof key, "Idempotency-Key: %.100s", job_id);
    struct curl_slist *headers = curl_slist_append(NULL, key);
    for (const struct curl_slist *l = h->headers; l; l = l->next)
        headers = curl_slist_append(headers, l->data);
    h->answer_len = 0;
    h->answer[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    int64_t t0 = clock_mono_ms();
    CURLcode rc = curl_easy_perform(h->curl);
    int64_t ms = clock_mono_ms() - t0;
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    sodium_memzero(body, strlen(body)); /* the number and the text */
    free(body);

    out->curl_code = (int)rc;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (rc != CURLE_OK) {
        out->retryable = http_retryable_code(rc);
        snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(rc));
    } else if (out->status >= 200 && out->status < 300) {
        out->sent = 1;
        if (http_answer_id(h->answer, h->conf.id_path, out->provider_id, sizeof out->provider_id) != 0)
            snprintf(out->error, sizeof out->error, "no message id at %.100s in the answer", h->conf.id_path);
    } else {
        out->retryable = http_retryable_status(out->status);
        snprintf(out->error, sizeof out->error, "HTTP %ld", out->status);
    }
    if (out->sent)
        log_info("sms_sent", "job=%.100s provider_id=\"%.100s\" status=%ld ms=%lld%s", job_id, out->provider_id,
                 out->status, (long long)ms, out->provider_id[0] ? "" : " warning=no_provider_id");
    else
        log_warn("sms_failed", "job=%.100s status=%ld curl=%d retryable=%d ms=%lld reason=\"%s\"", job_id,
                 out->status, out->curl_code, out->retryable, (long long)ms, out->error);
    return out->sent ? 0 : -1;
}
