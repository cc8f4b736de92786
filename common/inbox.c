#include "inbox.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "ids.h"
#include "log.h"

typedef struct {
    zmq_msg_t identity;
    char peer[48]; /* ZAP User-Id: the CURVE public key of the sender */
    char operator[34]; /* the operator who sent it ("" for a service or a plain socket) */
    char access[16];   /* and its role */
    Tremplin__Envelope *env;
    wire_err_t werr;
    wire_info_t info; /* the request's ids as far as they could be read */
    call_t call;
    redisReply *reply;
    wire_arena_t arena; /* env's memory */
} inbox_slot_t;

/* A slot's arena holds a decoded command of the usual size (a referral:
 * ~2 KB); a larger one takes the rest from malloc. */
#define INBOX_ARENA_BYTES 8192

struct inbox {
    void *router;
    rds_t *rds;
    inbox_conf_t conf;
    inbox_slot_t *slots;
    wire_buf_t out;
    char strbuf[2048];
    inbox_stats_t stats;
    redisReply **replies;
    const char **senders; /* inbox_senders */
};

inbox_t *inbox_new(void *router, rds_t *rds, const inbox_conf_t *conf)
{
    inbox_t *self = xcalloc(1, sizeof *self);
    self->router = router;
    self->rds = rds;
    self->conf = *conf;
    if (self->conf.batch <= 0)
        self->conf.batch = 256;
    self->slots = xcalloc((size_t)self->conf.batch, sizeof *self->slots);
    for (int i = 0; i < self->conf.batch; i++)
        wire_arena_init(&self->slots[i].arena, INBOX_ARENA_BYTES);
    self->replies = xcalloc((size_t)self->conf.batch + INBOX_RIDE_MAX + 1, sizeof *self->replies); /* + WAIT */
    self->senders = xcalloc((size_t)self->conf.batch, sizeof *self->senders);
    return self;
}

void inbox_destroy(inbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    inbox_t *self = *self_p;
    for (int i = 0; i < self->conf.batch; i++) {
        call_free(&self->slots[i].call);
        wire_arena_free(&self->slots[i].arena);
    }
    free(self->slots);
    free(self->replies);
    free(self->senders);
    wire_buf_free(&self->out);
    free(self);
    *self_p = NULL;
}

inbox_stats_t inbox_stats(const inbox_t *self) { return self->stats; }

void inbox_set_territories(inbox_t *self, const char *const *territories, int n)
{
    self->conf.territories = territories;
    self->conf.nterritories = n;
}

static void inbox_discard_rest(void *sock)
{
    int more = 1;
    size_t len = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
        zmq_msg_close(&m);
    }
}

static int inbox_has_more(void *sock)
{
    int more = 0;
    size_t len = sizeof more;
    zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len);
    return more;
}

/* Sends env to the peer of slot; a vanished peer (EHOSTUNREACH) or a full
 * queue is logged and dropped: the sender will resend and get the stored
 * answer. */
static void inbox_send(inbox_t *self, inbox_slot_t *slot, Tremplin__Envelope *reply)
{
    char id[TP_ID_LEN + 1];
    wire_stamp(reply, id, slot->info.msg_id, self->conf.instance, slot->info.territory);
    self->out.len = 0;
    wire_pack(reply, &self->out);
    zmq_msg_t idm;
    zmq_msg_init(&idm);
    zmq_msg_copy(&idm, &slot->identity);
    if (zmq_msg_send(&idm, self->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(self->router, self->out.data, self->out.len, ZMQ_DONTWAIT) < 0) {
        log_debug("reply_dropped", "msg_id=%s errno=%d", slot->info.msg_id[0] ? slot->info.msg_id : "-", errno);
        zmq_msg_close(&idm);
    }
}

static void inbox_answer_error(inbox_t *self, inbox_slot_t *slot, const char *code, const char *field,
                               const char *message_fr, int retryable)
{
    Tremplin__Envelope reply = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Error err = TREMPLIN__ERROR__INIT;
    err.code = (char *)code;
    err.field = (char *)(field ? field : "");
    err.message_fr = (char *)(message_fr ? message_fr : "");
    err.retryable = retryable;
    reply.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ERROR;
    reply.error = &err;
    self->stats.errors++;
    inbox_send(self, slot, &reply);
}

static void inbox_answer_pong(inbox_t *self, inbox_slot_t *slot)
{
    Tremplin__Envelope reply = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Pong pong = TREMPLIN__PONG__INIT;
    pong.nonce = slot->env->ping->nonce;
    pong.service = (char *)self->conf.service;
    pong.instance = (char *)self->conf.instance;
    if (self->conf.pong_fill)
        self->conf.pong_fill(self->conf.handler_arg, &pong);
    reply.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PONG;
    reply.pong = &pong;
    self->stats.acked++;
    inbox_send(self, slot, &reply);
}

static int inbox_known_territory(const inbox_t *self, const char *t)
{
    for (int i = 0; i < self->conf.nterritories; i++)
        if (strcmp(self->conf.territories[i], t) == 0)
            return 1;
    return 0;
}

static const inbox_handler_t *inbox_handler(const inbox_t *self, Tremplin__Envelope__PayloadCase c)
{
    for (size_t i = 0; i < self->conf.nhandlers; i++)
        if (self->conf.handlers[i].payload == c)
            return &self->conf.handlers[i];
    return NULL;
}

/* Reads one message into slot; 0 = got one, -1 = nothing ready. */
static int inbox_receive(inbox_t *self, inbox_slot_t *slot)
{
    zmq_msg_init(&slot->identity);
    if (zmq_msg_recv(&slot->identity, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&slot->identity);
        return -1;
    }
    slot->env = NULL;
    slot->reply = NULL;
    slot->peer[0] = '\0';
    memset(&slot->info, 0, sizeof slot->info);
    if (!inbox_has_more(self->router)) {
        slot->werr = WIRE_EEMPTY;
        return 0;
    }
    zmq_msg_t body;
    zmq_msg_init(&body);
    zmq_msg_recv(&body, self->router, 0);
    const char *uid = zmq_msg_gets(&body, "User-Id");
    util_strlcpy(slot->peer, uid ? uid : "", sizeof slot->peer);
    if (inbox_has_more(self->router)) {
        inbox_discard_rest(self->router);
        slot->werr = WIRE_EDECODE;
    } else {
        slot->werr = wire_decode(zmq_msg_data(&body), zmq_msg_size(&body), self->conf.max_msg, &slot->arena.base,
                                 &slot->env, &slot->info);
    }
    zmq_msg_close(&body);
    return 0;
}

/* Decides what to do with a received message: answer now, or a Redis call. */
static void inbox_prepare(inbox_t *self, inbox_slot_t *slot)
{
    call_t *c = &slot->call;
    const Tremplin__Envelope *env = slot->env;
    call_reset(c, self->conf.service, env ? env->territory : "", env ? env->msg_id : "");
    c->peer = slot->peer;
    c->digest = slot->info.digest;
    c->producer = self->conf.instance;
    wire_err_t e = slot->werr;
    /* a newer producer's command (its payload may be one we do not know):
     * say why it is refused; a Ping is answered whatever its version, a
     * newer tool may ask */
    if ((e == WIRE_OK || e == WIRE_EUNSUPPORTED) && env->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_PING
        && wire_check_version(env) != WIRE_OK)
        e = WIRE_EVERSION;
    if (e != WIRE_OK) {
        const char *field = e == WIRE_EVERSION ? "schema_version" : slot->info.field;
        self->stats.bad_frames++;
        log_warn("bad_frame", "code=%s msg_id=%s type=%s field=%s", wire_error_code(e),
                 slot->info.msg_id[0] ? slot->info.msg_id : "-", env && ids_valid(env->type, 64) ? env->type : "-",
                 field[0] ? field : "-");
        call_error(c, wire_error_code(e), field, wire_error_message_fr(e), 0);
        return;
    }
    if (env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_PING)
        return; /* answered without Redis */
    const inbox_handler_t *h = inbox_handler(self, env->payload_case);
    if (!h) {
        call_error(c, wire_error_code(WIRE_EUNSUPPORTED), "", wire_error_message_fr(WIRE_EUNSUPPORTED), 0);
        return;
    }
    if (!inbox_known_territory(self, env->territory)) {
        call_error(c, "UNKNOWN_TERRITORY", "territory", "Territoire inconnu de ce service.", 0);
        return;
    }
    char why[256];
    slot->operator[0] = slot->access[0] = '\0';
    if (self->conf.forbid
        && self->conf.forbid(self->conf.handler_arg, slot->peer, env, slot->operator, slot->access, why, sizeof why)) {
        log_warn("forbidden", "msg_id=%s type=%s key=%.8s", env->msg_id, ids_valid(env->type, 64) ? env->type : "-",
                 slot->peer[0] ? slot->peer : "-");
        call_error(c, "FORBIDDEN", "", why, 0);
        return;
    }
    if (self->conf.forbid && !slot->operator[0])
        c->peer = ""; /* a service: the bus's own marks */
    c->operator = slot->operator;
    c->access = slot->access;
    if (h->edge && self->conf.busy && self->conf.busy(self->conf.handler_arg, env->territory)) {
        call_error(c, "BUSY", "", "Service momentanément saturé : renvoyer ce message dans quelques secondes.", 1);
        return;
    }
    h->prepare(self->conf.handler_arg, env, c);
    if (c->kind == CALL_EMPTY) /* a handler that decided nothing: a bug */
        call_error(c, "INTERNAL", "", "Erreur interne du service.", 0);
    if (c->kind == CALL_REDIS && !c->step && c->operator[0]) { /* common/bus.lua: the audit trail of writes */
        call_arg(c, "operator", "%s", c->operator);
        call_arg(c, "audit_keep_ms", "%lld", (long long)self->conf.audit_keep_ms);
    }
}

static void inbox_finish(inbox_t *self, inbox_slot_t *slot)
{
    call_t *c = &slot->call;
    if (slot->werr == WIRE_OK && slot->env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_PING) {
        inbox_answer_pong(self, slot);
        return;
    }
    if (c->kind == CALL_ANSWER) {
        inbox_answer_error(self, slot, c->err_code, c->err_field, c->err_message, c->err_retryable);
        return;
    }
    Tremplin__Ack ack = TREMPLIN__ACK__INIT;
    Tremplin__Error err = TREMPLIN__ERROR__INIT;
    if (!call_parse_reply(slot->reply, &ack, &err, self->strbuf, sizeof self->strbuf)) {
        if (slot->reply && slot->reply->type == REDIS_REPLY_ERROR)
            log_error("handler_failed", "msg_id=%s function=%s reason=\"%.200s\"", c->msg_id, c->function,
                      slot->reply->str);
        inbox_answer_error(self, slot, err.code, err.field, err.message_fr, err.retryable);
        return;
    }
    if (ack.duplicate)
        self->stats.duplicates++;
    else if (self->conf.committed)
        self->conf.committed(self->conf.handler_arg, c, &ack);
    Tremplin__Envelope reply = TREMPLIN__ENVELOPE__INIT;
    reply.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ACK;
    reply.ack = &ack;
    self->stats.acked++;
    inbox_send(self, slot, &reply);
}

/* The territories the batch's steps send messages from (each once), in
 * self->senders. */
static int inbox_senders(inbox_t *self, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        const call_t *c = &self->slots[i].call;
        if (c->kind != CALL_REDIS || c->nout == 0 || !c->territory)
            continue;
        int seen = 0;
        for (int j = 0; j < k && !seen; j++)
            seen = strcmp(self->senders[j], c->territory) == 0;
        if (!seen)
            self->senders[k++] = c->territory;
    }
    return k;
}

int inbox_drain(inbox_t *self)
{
    int n = 0;
    while (n < self->conf.batch && inbox_receive(self, &self->slots[n]) == 0)
        n++;
    if (n == 0)
        return 0;
    self->stats.received += (unsigned long)n;

    /* every prepare step first (one may read Redis synchronously), then the
     * whole batch as one pipeline: nothing else may sit between its
     * commands and their replies on the connection */
    for (int i = 0; i < n; i++)
        inbox_prepare(self, &self->slots[i]);
    int ncalls = 0;
    for (int i = 0; i < n; i++)
        if (self->slots[i].call.kind == CALL_REDIS) {
            call_append(&self->slots[i].call, self->rds, self->conf.library, self->conf.mark_ttl_s);
            ncalls++;
        }
    int ride = 0;
    if (ncalls > 0) {
        if (self->conf.ride_append)
            ride = self->conf.ride_append(self->conf.handler_arg, self->senders, inbox_senders(self, n));
        if (ride < 0 || ride > INBOX_RIDE_MAX)
            abort(); /* a bug of the hook: the pipeline would be misread */
        int wait = self->conf.wait_replicas > 0;
        if (wait) { /* one WAIT covers the whole pipeline before it */
            char n_rep[24], ms[24];
            snprintf(n_rep, sizeof n_rep, "%lld", (long long)self->conf.wait_replicas);
            snprintf(ms, sizeof ms, "%lld", (long long)self->conf.wait_timeout_ms);
            const char *argv[3] = { "WAIT", n_rep, ms };
            size_t lens[3] = { 4, strlen(n_rep), strlen(ms) };
            rds_append_argv(self->rds, 3, argv, lens);
        }
        rds_read(self->rds, self->replies, ncalls + ride + wait);
        redisReply *waited = wait ? self->replies[ncalls + ride] : NULL;
        int replicated = !wait || (waited && waited->type == REDIS_REPLY_INTEGER
                                   && waited->integer >= self->conf.wait_replicas);
        if (waited)
            freeReplyObject(waited);
        for (int i = 0, k = 0; i < n; i++)
            if (self->slots[i].call.kind == CALL_REDIS) {
                redisReply *r = self->replies[k++];
                if (!replicated && r) { /* done, but not safe yet: answered UNAVAILABLE, the retry replays it */
                    freeReplyObject(r);
                    r = NULL;
                }
                self->slots[i].reply = r;
            }
        if (!replicated)
            log_warn("not_replicated", "calls=%d wanted_replicas=%lld", ncalls, (long long)self->conf.wait_replicas);
    }
    for (int i = 0; i < n; i++) {
        inbox_slot_t *slot = &self->slots[i];
        inbox_finish(self, slot);
        if (slot->reply)
            freeReplyObject(slot->reply);
        slot->reply = NULL;
        wire_free(slot->env, &slot->arena.base);
        wire_arena_reset(&slot->arena);
        slot->env = NULL;
        zmq_msg_close(&slot->identity);
    }
    if (ride) /* the batch answered, what its steps wrote to the outbox goes downstream */
        self->conf.ride_apply(self->conf.handler_arg, self->replies + ncalls);
    return n;
}
