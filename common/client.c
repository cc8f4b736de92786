#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "sock.h"
#include "util.h"

typedef struct {
    int used;
    char msg_id[65];
    uint64_t tag;
    uint8_t *bytes;
    size_t len;
    int tries;
    int unsent;
    int64_t deadline_ms;     /* next action */
    int64_t try_deadline_ms; /* end of the current try */
} client_req_t;

struct client {
    void *dealer;
    void *monitor;    /* client_watch_handshakes, NULL unless asked */
    int key_refused;
    char endpoints[1024];
    char producer[64];
    int64_t timeout_ms;
    int tries;
    client_req_t *reqs;
    int window;
    int count;
    wire_buf_t buf;
};

client_t *client_new(void *ctx, const char *endpoints, const char *producer)
{
    client_t *self = xcalloc(1, sizeof *self);
    self->dealer = sock_new(ctx, ZMQ_DEALER);
    util_strlcpy(self->endpoints, endpoints, sizeof self->endpoints);
    util_strlcpy(self->producer, producer, sizeof self->producer);
    self->timeout_ms = 2000;
    self->tries = 3;
    client_set_window(self, 1);
    return self;
}

void client_destroy(client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_t *self = *self_p;
    for (int i = 0; i < self->window; i++)
        free(self->reqs[i].bytes);
    free(self->reqs);
    wire_buf_free(&self->buf);
    if (self->dealer)
        zmq_close(self->dealer);
    if (self->monitor)
        zmq_close(self->monitor);
    free(self);
    *self_p = NULL;
}

void client_set_retry(client_t *self, int64_t timeout_ms, int tries)
{
    self->timeout_ms = timeout_ms;
    self->tries = tries;
}

void client_set_window(client_t *self, int window)
{
    if (self->count > 0 || window < 1)
        return;
    for (int i = 0; i < self->window; i++)
        free(self->reqs[i].bytes);
    free(self->reqs);
    self->window = window;
    self->reqs = xcalloc((size_t)window, sizeof *self->reqs);
}

int client_set_curve(client_t *self, const char *server_public, const char *public_key, const char *secret_key)
{
    if (zmq_setsockopt(self->dealer, ZMQ_CURVE_SERVERKEY, server_public, 40) != 0
        || zmq_setsockopt(self->dealer, ZMQ_CURVE_PUBLICKEY, public_key, 40) != 0
        || zmq_setsockopt(self->dealer, ZMQ_CURVE_SECRETKEY, secret_key, 40) != 0)
        return -1;
    return 0;
}

int client_watch_handshakes(client_t *self, void *ctx)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://client-monitor-%p", (void *)self);
    if (zmq_socket_monitor(self->dealer, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
        return -1;
    self->monitor = zmq_socket(ctx, ZMQ_PAIR);
    if (!self->monitor || zmq_connect(self->monitor, ep) != 0)
        return -1;
    return 0;
}

int client_key_refused(client_t *self)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (!self->monitor || zmq_msg_recv(&m, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return self->key_refused;
        }
        /* an event: 2 bytes of its number, 4 of its value; then the endpoint */
        if (zmq_msg_size(&m) >= 2) {
            uint16_t event;
            memcpy(&event, zmq_msg_data(&m), sizeof event);
            self->key_refused |= event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (more) {
            zmq_msg_init(&m);
            zmq_msg_recv(&m, self->monitor, 0);
            zmq_msg_close(&m);
        }
    }
}

int client_connect(client_t *self, char *err, size_t errlen)
{
    return sock_connect_list(self->dealer, self->endpoints, err, errlen);
}

int client_inflight(const client_t *self) { return self->count; }

void *client_socket(const client_t *self) { return self->dealer; }

/* With no connected peer yet nothing leaves: try again shortly without
 * counting it, until the try's deadline passes. */
#define CLIENT_UNSENT_RETRY_MS 20

static void client_transmit(client_t *self, client_req_t *r)
{
    int64_t now = clock_mono_ms();
    if (!r->unsent) {
        r->tries++;
        r->try_deadline_ms = now + self->timeout_ms;
    }
    if (zmq_send(self->dealer, r->bytes, r->len, ZMQ_DONTWAIT) < 0) {
        r->unsent = 1;
        r->deadline_ms = now + CLIENT_UNSENT_RETRY_MS;
        if (r->deadline_ms > r->try_deadline_ms)
            r->deadline_ms = r->try_deadline_ms;
        if (now >= r->try_deadline_ms)
            r->unsent = 0; /* this try is over */
        return;
    }
    r->unsent = 0;
    r->deadline_ms = r->try_deadline_ms;
}

int client_send(client_t *self, const Tremplin__Envelope *req, uint64_t tag)
{
    if (self->count == self->window)
        return -1;
    client_req_t *r = NULL;
    for (int i = 0; i < self->window && !r; i++)
        if (!self->reqs[i].used)
            r = &self->reqs[i];
    if (!r)
        return -1;
    /* stamp a copy: the caller's envelope keeps no pointer to our buffer */
    Tremplin__Envelope stamped = *req;
    char id[TP_ID_LEN + 1];
    if (!req->msg_id || !req->msg_id[0])
        wire_stamp(&stamped, id, req->cause_id, self->producer, req->territory);
    self->buf.len = 0;
    wire_pack(&stamped, &self->buf);
    free(r->bytes);
    r->bytes = xmalloc(self->buf.len);
    memcpy(r->bytes, self->buf.data, self->buf.len);
    r->len = self->buf.len;
    util_strlcpy(r->msg_id, stamped.msg_id, sizeof r->msg_id);
    r->tag = tag;
    r->tries = 0;
    r->unsent = 0;
    r->used = 1;
    self->count++;
    client_transmit(self, r);
    return 0;
}

/* The request an answer is for: the one its cause_id names; or, for a final
 * Error that names none (the service could not read the request's ids, so
 * the answer has no cause_id and no territory either), the only request in
 * flight — resending it would get the same refusal. */
static client_req_t *client_find(client_t *self, const Tremplin__Envelope *reply, wire_err_t werr)
{
    int only = (werr == WIRE_OK || werr == WIRE_EHEADER) && self->count == 1 && !reply->cause_id[0]
               && reply->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR && !reply->error->retryable;
    for (int i = 0; i < self->window; i++)
        if (self->reqs[i].used && (only || (werr == WIRE_OK && strcmp(self->reqs[i].msg_id, reply->cause_id) == 0)))
            return &self->reqs[i];
    return NULL;
}

int client_poll(client_t *self, int timeout_ms, client_reply_fn fn, void *arg)
{
    int64_t now = clock_mono_ms();
    int64_t wait = timeout_ms;
    for (int i = 0; i < self->window; i++)
        if (self->reqs[i].used && self->reqs[i].deadline_ms - now < wait)
            wait = self->reqs[i].deadline_ms - now;
    if (wait < 0)
        wait = 0;
    zmq_pollitem_t item = { self->dealer, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&item, 1, (long)wait) > 0) {
        uint8_t buf[65536];
        int n;
        while ((n = zmq_recv(self->dealer, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
            Tremplin__Envelope *env = NULL;
            wire_err_t werr = (size_t)n <= sizeof buf ? wire_unpack(buf, (size_t)n, sizeof buf, NULL, &env) : WIRE_ETOOBIG;
            if (env) {
                client_req_t *r = client_find(self, env, werr);
                if (r) {
                    r->used = 0;
                    self->count--;
                    fn(arg, r->tag, env);
                }
            }
            wire_free(env, NULL);
        }
    }
    now = clock_mono_ms();
    for (int i = 0; i < self->window; i++) {
        client_req_t *r = &self->reqs[i];
        if (!r->used || r->deadline_ms > now)
            continue;
        if (!r->unsent && r->tries >= self->tries) {
            r->used = 0;
            self->count--;
            fn(arg, r->tag, NULL);
        } else {
            client_transmit(self, r);
        }
    }
    return self->count;
}

typedef struct {
    Tremplin__Envelope **reply;
    int done;
} client_wait_t;

static void client_keep(void *arg, uint64_t tag, const Tremplin__Envelope *reply)
{
    (void)tag;
    client_wait_t *w = arg;
    w->done = 1;
    if (reply) {
        /* re-decode into a copy the caller owns */
        size_t n = tremplin__envelope__get_packed_size(reply);
        uint8_t *tmp = xmalloc(n ? n : 1);
        tremplin__envelope__pack(reply, tmp);
        *w->reply = tremplin__envelope__unpack(NULL, n, tmp);
        free(tmp);
    }
}

int client_call(client_t *self, const Tremplin__Envelope *req, Tremplin__Envelope **reply)
{
    *reply = NULL;
    if (self->count > 0)
        return -1;
    client_wait_t w = { reply, 0 };
    if (client_send(self, req, 0) != 0)
        return -1;
    while (!w.done)
        client_poll(self, 1000, client_keep, &w);
    return *reply ? 0 : -1;
}
