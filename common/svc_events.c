/* svc_events — the PUB side of a service: after each committed step an
 * Event{kind, subject_id} (topic = kind), ids only. PUB drops what a slow
 * subscriber cannot take: events are wake-ups, never the only copy. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "sock.h"
#include "svc_int.h"

int svc_events_open(svc_t *s, char *err, size_t errlen)
{
    if (!s->conf.events[0])
        return 0;
    s->pub = sock_new(s->ctx, ZMQ_PUB);
    return sock_bind_list(s->pub, s->conf.events, err, errlen);
}

/* The kind is the service's name and the one the handler gave (else its
 * function's); the subject the value of the reply key it named (else the
 * command's msg_id). */
void svc_event_publish(svc_t *s, const call_t *call, const Tremplin__Ack *ack)
{
    if (!s->pub)
        return;
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Event ev = TREMPLIN__EVENT__INIT;
    char id[TP_ID_LEN + 1], kind[96];
    snprintf(kind, sizeof kind, "%s.%s", s->def->name, call->event_kind ? call->event_kind : call->function);
    ev.kind = kind;
    const char *subject = call->event_subject ? call_ack_string(ack, call->event_subject) : NULL;
    ev.subject_id = (char *)(subject && subject[0] ? subject : call->msg_id);
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_EVENT;
    env.event = &ev;
    wire_stamp(&env, id, call->msg_id, s->conf.instance, call->territory);
    s->evbuf.len = 0;
    wire_pack(&env, &s->evbuf);
    zmq_send(s->pub, kind, strlen(kind), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s->pub, s->evbuf.data, s->evbuf.len, ZMQ_DONTWAIT);
}

void svc_events_close(svc_t *s)
{
    if (s->pub)
        zmq_close(s->pub);
    s->pub = NULL;
    wire_buf_free(&s->evbuf);
}
