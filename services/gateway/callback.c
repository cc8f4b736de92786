/* The SMS provider's callback: POST /sms/inbound on a loopback address
 * ([gateway] callback_bind; a reverse proxy or the provider's agent on the
 * host forwards to it), with the header X-Tremplin-Secret carrying the
 * secret of callback_secret_file and a JSON body
 *
 *     {"id": "provider-message-id", "from": "+33612345678", "text": "OUI"}
 *
 * libmicrohttpd serves it in a thread of its own, which touches nothing of
 * the service but the inbox folder: each SMS becomes a file there (written
 * whole, then linked into place), named by the provider's id, so that a
 * callback the provider sends again is the same file and the same command;
 * the loop reads the folder (replies.c). The answer is 200 once the file is
 * on disk, 400 for a body that is not such JSON, 401 without the secret. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "log.h"

#define GW_CALLBACK_MAX 8192

struct gw_callback {
    struct MHD_Daemon *daemon;
    char inbox[256];
    char secret[256];
};

typedef struct {
    char buf[GW_CALLBACK_MAX];
    size_t len;
    int too_big;
} gw_upload_t;

static enum MHD_Result gw_answer(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Constant time: the secret is not given away byte by byte. */
static int gw_secret_ok(const char *want, const char *got)
{
    if (!got)
        return 0;
    size_t a = strlen(want), b = strlen(got);
    unsigned char d = (unsigned char)(a != b);
    for (size_t i = 0; i < a; i++)
        d |= (unsigned char)(want[i] ^ (i < b ? got[i] : 0));
    return d == 0;
}

static const char *gw_json_str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* The SMS as an inbox file; 0 or -1. */
static int gw_callback_write(const struct gw_callback *cb, const char *id, const char *from, const char *text)
{
    char name[64], path[400], tmp[420], hex[TP_ID_LEN + 1];
    util_digest(id, strlen(id), hex); /* a provider's id may hold anything: the name is its digest */
    snprintf(name, sizeof name, "cb-%s.sms", hex);
    snprintf(path, sizeof path, "%s/%s", cb->inbox, name);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", cb->inbox, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    fprintf(f, "From: %s\nId: %s\n\n%s\n", from, hex, text);
    int bad = fflush(f) != 0 || fsync(fd) != 0;
    bad |= fclose(f) != 0;
    int rc = bad ? -1 : link(tmp, path);
    int e = errno;
    unlink(tmp);
    return rc == 0 || (!bad && e == EEXIST) ? 0 : -1;
}

static enum MHD_Result gw_callback_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                           const char *version, const char *upload_data, size_t *upload_data_size,
                                           void **con_cls)
{
    (void)version;
    struct gw_callback *cb = cls;
    if (strcmp(method, "POST") != 0 || strcmp(url, "/sms/inbound") != 0)
        return gw_answer(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}");
    gw_upload_t *u = *con_cls;
    if (!u) { /* the headers: check the secret before taking the body */
        if (!gw_secret_ok(cb->secret, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Tremplin-Secret")))
            return gw_answer(conn, MHD_HTTP_UNAUTHORIZED, "{\"error\":\"secret\"}");
        *con_cls = u = xcalloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (u->len + *upload_data_size >= sizeof u->buf)
            u->too_big = 1;
        else {
            memcpy(u->buf + u->len, upload_data, *upload_data_size);
            u->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (u->too_big)
        return gw_answer(conn, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"too large\"}");
    u->buf[u->len] = '\0';
    json_object *o = json_tokener_parse(u->buf);
    const char *id = o ? gw_json_str(o, "id") : NULL, *from = o ? gw_json_str(o, "from") : NULL,
               *text = o ? gw_json_str(o, "text") : NULL;
    enum MHD_Result rc;
    if (!id || !from || !text || !*id || strpbrk(from, "\r\n") || strlen(text) > 2000)
        rc = gw_answer(conn, MHD_HTTP_BAD_REQUEST, "{\"error\":\"id, from and text expected\"}");
    else if (gw_callback_write(cb, id, from, text) != 0) {
        log_error("callback_write_failed", "reason=\"%s\"", strerror(errno));
        rc = gw_answer(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "{\"error\":\"try again\"}");
    } else
        rc = gw_answer(conn, MHD_HTTP_OK, "{\"ok\":true}");
    if (o)
        json_object_put(o);
    return rc;
}

static void gw_callback_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    free(*con_cls);
    *con_cls = NULL;
}

int gateway_callback_start(gateway_t *g, char *err, size_t errlen)
{
    if (!g->conf.callback_bind[0])
        return 0;
    char host[64];
    util_strlcpy(host, g->conf.callback_bind, sizeof host);
    char *colon = strrchr(host, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (colon)
        *colon = '\0';
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (!colon || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return util_fail(err, errlen, "gateway.callback_bind: an IPv4 address and port expected (127.0.0.1:6398)");
    struct gw_callback *cb = xcalloc(1, sizeof *cb);
    util_strlcpy(cb->inbox, g->conf.inbox_dir, sizeof cb->inbox);
    if (!g->conf.callback_secret_file[0]
        || gateway_read_secret(g->conf.callback_secret_file, cb->secret, sizeof cb->secret, err, errlen) != 0) {
        if (!g->conf.callback_secret_file[0])
            util_fail(err, errlen, "gateway.callback_secret_file is required with callback_bind");
        free(cb);
        return -1;
    }
    cb->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, gw_callback_handler, cb,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_CONNECTION_LIMIT, 64u,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_NOTIFY_COMPLETED, gw_callback_done,
                                  NULL, MHD_OPTION_END);
    if (!cb->daemon) {
        free(cb);
        return util_fail(err, errlen, "gateway.callback_bind %s: cannot listen", g->conf.callback_bind);
    }
    g->callback = cb;
    log_info("callback_listening", "bind=%s", g->conf.callback_bind);
    return 0;
}

void gateway_callback_stop(gateway_t *g)
{
    if (!g->callback)
        return;
    MHD_stop_daemon(g->callback->daemon);
    memset(g->callback->secret, 0, sizeof g->callback->secret);
    free(g->callback);
    g->callback = NULL;
}
