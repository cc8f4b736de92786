/* inproc — see inproc.h. */
#include "inproc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <zmq.h>

#include "sock.h"

void inproc_open(inproc_pair_t *p, const char *endpoint)
{
    p->ctx = zmq_ctx_new();
    p->router = sock_new(p->ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(p->router, endpoint), 0);
    p->dealer = sock_new(p->ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(p->dealer, endpoint), 0);
}

void inproc_close(inproc_pair_t *p)
{
    zmq_close(p->dealer);
    zmq_close(p->router);
    zmq_ctx_term(p->ctx);
}

void inproc_wait(void *sock)
{
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    assert_int_equal(zmq_poll(&item, 1, 5000), 1);
}

void inproc_send(void *sock, const void *to, const Tremplin__Envelope *env)
{
    if (to) {
        zmq_msg_t id;
        zmq_msg_init(&id);
        zmq_msg_copy(&id, (zmq_msg_t *)to);
        assert_true(zmq_msg_send(&id, sock, ZMQ_SNDMORE) >= 0);
    }
    wire_buf_t buf = { 0 };
    wire_pack(env, &buf);
    assert_true(zmq_send(sock, buf.data, buf.len, 0) >= 0);
    wire_buf_free(&buf);
}
