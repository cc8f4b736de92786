/* Unit tests for services/gateway/http, against a small HTTP server this
 * test runs on loopback in a thread: it answers each connection as its
 * script says (200 with an id, 500, nothing at all, 400, 429, 200 without an
 * id), records what it was sent, then stops listening (connection refused).
 * A socket server of its own rather than libmicrohttpd: no package for a
 * test fixture, and it can misbehave at will (never answer). The test checks
 * the requests (method, headers, JSON body escaped right), the outcomes
 * (sent, retryable or not), and that the log lines carry the job ids but no
 * number, text, URL key or secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/http.h"

/* ---------------------------------------------------------- the server */

enum { ANSWER_ID = 1, ANSWER_500, ANSWER_NOTHING, ANSWER_400, ANSWER_429, ANSWER_NO_ID };
#define MAX_REQ 8

typedef struct {
    int listen_fd, port;
    int script[MAX_REQ], n;
    pthread_mutex_t lock;
    char requests[MAX_REQ][8192];
    int nreq;
    pthread_t thread;
} server_t;

/* Reads one request (headers, then Content-Length bytes of body). */
static void read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    long body = 0;
    while (len + 1 < cap) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 3000) <= 0)
            break;
        ssize_t got = recv(fd, buf + len, cap - 1 - len, 0);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            for (char *h = buf; h < end; h = strstr(h, "\r\n") + 2)
                if (!strncasecmp(h, "Content-Length:", 15))
                    body = atol(h + 15);
        }
        if (end && (long)len >= (end + 4 - buf) + body)
            break;
    }
    buf[len] = '\0';
}

static void answer(int fd, int how)
{
    static const char *const bodies[] = {
        [ANSWER_ID] = "{\"messages\": [{\"id\": \"prov-123\", \"status\": \"queued\"}]}",
        [ANSWER_500] = "internal error",
        [ANSWER_400] = "{\"error\": \"invalid number\"}",
        [ANSWER_429] = "{\"error\": \"slow down\"}",
        [ANSWER_NO_ID] = "{\"messages\": []}",
    };
    static const char *const status[] = {
        [ANSWER_ID] = "200 OK",   [ANSWER_500] = "500 Internal Server Error", [ANSWER_400] = "400 Bad Request",
        [ANSWER_429] = "429 Too Many Requests", [ANSWER_NO_ID] = "202 Accepted",
    };
    if (how == ANSWER_NOTHING) {
        /* until the client gives up and closes */
        struct pollfd p = { fd, POLLIN, 0 };
        char b[256];
        while (poll(&p, 1, 3000) > 0 && recv(fd, b, sizeof b, 0) > 0)
            ;
        return;
    }
    char out[1024];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     status[how], strlen(bodies[how]), bodies[how]);
    ssize_t w = send(fd, out, (size_t)n, MSG_NOSIGNAL);
    (void)w;
}

static void *serve(void *arg)
{
    server_t *s = arg;
    for (int i = 0; i < s->n; i++) {
        struct pollfd p = { s->listen_fd, POLLIN, 0 };
        if (poll(&p, 1, 5000) <= 0)
            break;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        char req[8192];
        read_request(fd, req, sizeof req);
        pthread_mutex_lock(&s->lock);
        memcpy(s->requests[s->nreq++], req, sizeof req);
        pthread_mutex_unlock(&s->lock);
        answer(fd, s->script[i]);
        close(fd);
    }
    close(s->listen_fd); /* from now on: connection refused */
    return NULL;
}

static void server_start(server_t *s, const int *script, int n)
{
    memset(s, 0, sizeof *s);
    memcpy(s->script, script, (size_t)n * sizeof *script);
    s->n = n;
    pthread_mutex_init(&s->lock, NULL);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listen_fd, 8), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static const char *request(server_t *s, int i)
{
    pthread_mutex_lock(&s->lock);
    const char *r = i < s->nreq ? s->requests[i] : "";
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* ------------------------------------------------------------- helpers */

static http_conf_t conf(int port)
{
    http_conf_t c = { .connect_timeout_ms = 1000, .timeout_ms = 300 };
    snprintf(c.url, sizeof c.url, "http://127.0.0.1:%d/sms?key=urlsecret", port);
    snprintf(c.auth_header, sizeof c.auth_header, "Authorization: Bearer s3cr3t-token");
    snprintf(c.body_template, sizeof c.body_template,
             "{\"to\": \"{to}\", \"text\": \"{text}\", \"reference\": \"{job_id}\", \"sender\": \"Tremplin\"}");
    snprintf(c.id_path, sizeof c.id_path, "messages.0.id");
    return c;
}

/* The body of a recorded request, parsed. */
static json_object *body_of(const char *req)
{
    const char *b = strstr(req, "\r\n\r\n");
    assert_non_null(b);
    json_object *o = json_tokener_parse(b + 4);
    assert_non_null(o);
    return o;
}

static const char *field(json_object *o, const char *key)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

/* --------------------------------------------------------------- tests */

static const char TEXT[] = "Bonjour Œuvray, \"votre\" atelier : mardi 8 décembre à 9 h 30\\\n😀 \x01";

static void test_body_escaping(void **state)
{
    (void)state;
    char err[200];
    char *body = http_body("{\"to\":\"{to}\",\"text\":\"{text}\",\"ref\":\"{job_id}\",\"x\":{}}", "j/1", "+33612345678",
                           TEXT, err, sizeof err);
    assert_non_null(body);
    assert_string_equal(body, "{\"to\":\"+33612345678\",\"text\":\"Bonjour Œuvray, \\\"votre\\\" atelier : mardi 8 "
                              "décembre à 9 h 30\\\\\\n😀 \\u0001\",\"ref\":\"j/1\",\"x\":{}}");
    json_object *o = json_tokener_parse(body);
    assert_string_equal(field(o, "text"), TEXT);
    json_object_put(o);
    free(body);
    assert_null(http_body("{\"a\":\"{phone}\"}", "j", "t", "x", err, sizeof err));
    assert_string_equal(err, "body_template: unknown placeholder {phone} (known: {to}, {text}, {job_id})");
}

static void test_conf_refused(void **state)
{
    (void)state;
    static const struct {
        const char *url, *auth, *tmpl, *err;
    } bad[] = {
        { "ftp://x/sms", "", "{}", "url: an http:// or https:// address is required" },
        { "http://x/sms", "Bearer abc", "{}", "auth_header: one line \"Name: value\" is required" },
        { "http://x/sms", "A: b\r\nX-Evil: 1", "{}", "auth_header: one line \"Name: value\" is required" },
        { "http://x/sms", "", "{\"to\": {to}}", "body_template: not JSON once filled in" },
        { "http://x/sms", "", "{\"to\": \"{number}\"}", "body_template: unknown placeholder {number}" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_conf_t c = conf(1);
        snprintf(c.url, sizeof c.url, "%s", bad[i].url);
        snprintf(c.auth_header, sizeof c.auth_header, "%s", bad[i].auth);
        snprintf(c.body_template, sizeof c.body_template, "%s", bad[i].tmpl);
        char err[256] = "";
        assert_null(http_new(&c, err, sizeof err));
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("case %zu: %s", i, err);
    }
    http_destroy(NULL);
}

static void test_outcomes(void **state)
{
    (void)state;
    static const int script[] = { ANSWER_ID, ANSWER_500, ANSWER_NOTHING, ANSWER_400, ANSWER_429, ANSWER_NO_ID };
    static const struct {
        const char *job;
        int sent, retryable;
        long status;
        int curl_code;
        const char *id;
    } want[] = {
        { "job-1", 1, 0, 200, CURLE_OK, "prov-123" },
        { "job-2", 0, 1, 500, CURLE_OK, "" },
        { "job-3", 0, 1, 0, CURLE_OPERATION_TIMEDOUT, "" },
        { "job-4", 0, 0, 400, CURLE_OK, "" },
        { "job-5", 0, 1, 429, CURLE_OK, "" },
        { "job-6", 1, 0, 202, CURLE_OK, "" },
        { "job-7", 0, 1, 0, CURLE_COULDNT_CONNECT, "" }, /* the server is gone */
    };
    server_t s;
    server_start(&s, script, 6);
    http_conf_t c = conf(s.port);
    char err[256] = "";
    http_t *h = http_new(&c, err, sizeof err);
    assert_non_null(h);

    /* the log lines of the sends go to a file, read afterwards */
    fflush(stderr);
    int saved = dup(2);
    FILE *log = tmpfile();
    dup2(fileno(log), 2);
    http_result_t r[7];
    int rc[7];
    for (int i = 0; i < 7; i++)
        rc[i] = http_send(h, want[i].job, "+33612345678", TEXT, &r[i]);
    dup2(saved, 2);
    close(saved);
    pthread_join(s.thread, NULL);
    http_destroy(&h);
    assert_null(h);

    for (int i = 0; i < 7; i++) {
        if (rc[i] != (want[i].sent ? 0 : -1) || r[i].sent != want[i].sent || r[i].retryable != want[i].retryable
            || r[i].status != want[i].status || r[i].curl_code != want[i].curl_code
            || strcmp(r[i].provider_id, want[i].id) != 0)
            fail_msg("%s: sent %d retryable %d status %ld curl %d id \"%s\" (%s)", want[i].job, r[i].sent,
                     r[i].retryable, r[i].status, r[i].curl_code, r[i].provider_id, r[i].error);
    }
    assert_string_equal(r[1].error, "HTTP 500");
    assert_string_equal(r[5].error, "no message id at messages.0.id in the answer");

    /* what the provider was sent */
    for (int i = 0; i < 6; i++) {
        const char *req = request(&s, i);
        char key[64];
        snprintf(key, sizeof key, "\r\nIdempotency-Key: %s\r\n", want[i].job);
        static const char line[] = "POST /sms?key=urlsecret HTTP/1.1\r\n";
        assert_true(!strncmp(req, line, strlen(line)));
        assert_non_null(strstr(req, "\r\nAuthorization: Bearer s3cr3t-token\r\n"));
        assert_non_null(strstr(req, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
        assert_non_null(strstr(req, key));
        json_object *o = body_of(req);
        assert_string_equal(field(o, "to"), "+33612345678");
        assert_string_equal(field(o, "text"), TEXT);
        assert_string_equal(field(o, "reference"), want[i].job);
        assert_string_equal(field(o, "sender"), "Tremplin");
        json_object_put(o);
    }

    /* the log: one line per try, ids only */
    char lines[8192] = "";
    rewind(log);
    size_t n = fread(lines, 1, sizeof lines - 1, log);
    lines[n] = '\0';
    fclose(log);
    assert_non_null(strstr(lines, "event=sms_sent job=job-1 provider_id=\"prov-123\" status=200"));
    assert_non_null(strstr(lines, "event=sms_failed job=job-3 status=0 curl=28 retryable=1"));
    assert_non_null(strstr(lines, "event=sms_failed job=job-4 status=400 curl=0 retryable=0"));
    assert_non_null(strstr(lines, "job=job-6 provider_id=\"\" status=202"));
    static const char *const never[] = { "33612345678", "s3cr3t", "urlsecret", "Œuvray", "atelier", "127.0.0.1" };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strstr(lines, never[i]))
            fail_msg("\"%s\" in the log:\n%s", never[i], lines);
    pthread_mutex_destroy(&s.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_escaping),
        cmocka_unit_test(test_conf_refused),
        cmocka_unit_test(test_outcomes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
