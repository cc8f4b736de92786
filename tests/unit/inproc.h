/* inproc — the ZeroMQ side of the bus core's unit tests: a ROUTER and a
 * DEALER connected in process (inproc://), with the options of every
 * Tremplin socket (sock.c), and a wait for a message with a deadline. */
#ifndef TP_INPROC_H
#define TP_INPROC_H

#include "wire.h"

typedef struct {
    void *ctx;
    void *router; /* bound to the endpoint */
    void *dealer; /* connected to it */
} inproc_pair_t;

void inproc_open(inproc_pair_t *p, const char *endpoint);
void inproc_close(inproc_pair_t *p);

/* Packs env and sends it on sock, after the identity frame `to` of a peer
 * (a zmq_msg_t, copied) when sock is a ROUTER; NULL otherwise. */
void inproc_send(void *sock, const void *to, const Tremplin__Envelope *env);

/* Fails the test unless sock has a message within 5 s (inproc delivers at
 * once: the deadline only keeps a broken test from hanging). */
void inproc_wait(void *sock);

#endif
