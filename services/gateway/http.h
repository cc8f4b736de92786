/* http — an SMS provider's HTTP API, through libcurl.
 *
 * Each message is one POST to the configured URL, with the configured
 * authorization header and a JSON body made from a template: {to}, {text}
 * and {job_id} are replaced by their values, escaped as JSON string contents
 * (json-c), so the template writes them between quotes:
 *
 *     {"to": "{to}", "text": "{text}", "reference": "{job_id}"}
 *
 * The job id also goes as an Idempotency-Key header: a provider that knows it
 * can tell a retry from a new message (a timeout does not say whether the
 * first try was taken). The provider's id of the message is read from its
 * JSON answer at a configured path ("id", "messages.0.id").
 *
 * The outcome says whether to try again: a 2xx answer is sent; 5xx, 408,
 * 425, 429, a timeout, a refused or broken connection are worth another try
 * later; any other answer (4xx: the provider refuses this message, 3xx) or a
 * local error (a bad URL) is not. One log line per try, with the job id, the
 * outcome, the HTTP status and the time taken: never the URL (it may hold a
 * key), the header, the number or the text. */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include <stddef.h>

typedef struct {
    char url[512];             /* http:// or https:// */
    char auth_header[1024];    /* "Authorization: Bearer …" — a secret; "" = none */
    char body_template[2048];  /* JSON with {to}, {text}, {job_id} */
    char id_path[128];         /* where the answer holds the provider's id: "id", "data.messages.0.id" */
    long connect_timeout_ms;   /* e.g. 3000 */
    long timeout_ms;           /* the whole request, e.g. 10000 */
} http_conf_t;

typedef struct http http_t;

/* Checks conf (an http(s) URL, a template whose placeholders are known and
 * that gives JSON, an auth header "Name: value", timeouts > 0) and opens a
 * handle that keeps its connection between messages. NULL with the reason in
 * err. */
http_t *http_new(const http_conf_t *conf, char *err, size_t errlen);
void http_destroy(http_t **p);

#define HTTP_ID_MAX 128

typedef struct {
    int sent;                      /* 1: the provider took the message */
    int retryable;                 /* not sent: 1 = try again later, 0 = it would fail again */
    long status;                   /* the HTTP status, 0 when no answer came */
    int curl_code;                 /* libcurl's CURLcode, 0 when the exchange completed */
    char provider_id[HTTP_ID_MAX]; /* sent: the provider's id, "" when its answer had none */
    char error[160];               /* not sent, or no id: why, fit for a log line */
} http_result_t;

/* Sends text to the number to (international form) as job job_id. 0 when
 * sent, -1 when not (out says why and whether to retry). */
int http_send(http_t *h, const char *job_id, const char *to, const char *text, http_result_t *out);

/* The body the template gives for these values, JSON-escaped; NULL (with
 * the reason in err) for an unknown placeholder. The caller frees it
 * (free). */
char *http_body(const char *tmpl, const char *job_id, const char *to, const char *text, char *err, size_t errlen);

#endif
