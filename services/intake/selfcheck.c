/* selfcheck — intake pings its own branch endpoint, as a branch would.
 *
 * The loopback endpoint answering Ping says nothing of the branch endpoint:
 * it could be unbound, or refuse every handshake, while `tremplin ping
 * intake` said ok. So every watch_ms intake sends a Ping over CURVE to its
 * branch endpoint, with a key pair made at start that its ZAP handler lets
 * in (its door lets that key in: common/keyring.h), and its Pong reports "branch_endpoint=ok" while an answer
 * came within the last three rounds, "branch_endpoint=KO" otherwise. */
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "intake.h"
#include "log.h"
#include "sock.h"

#define SELFCHECK_ROUNDS 3 /* rounds without an answer before KO */

static void selfcheck_send(svc_t *s)
{
    intake_t *in = svc_state(s);
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Ping ping = TREMPLIN__PING__INIT;
    char id[TP_ID_LEN + 1], territory[WIRE_TERRITORY_MAX + 1];
    const char *t[SVC_MAX_TERRITORIES];
    char buf[256];
    svc_territories(svc_conf(s), buf, sizeof buf, t, SVC_MAX_TERRITORIES);
    util_strlcpy(territory, t[0], sizeof territory);
    ping.nonce = "selfcheck";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
    env.ping = &ping;
    wire_stamp(&env, id, NULL, svc_instance(s), territory);
    uint8_t out[256];
    size_t n = tremplin__envelope__get_packed_size(&env);
    if (n <= sizeof out) {
        tremplin__envelope__pack(&env, out);
        zmq_send(in->self_dealer, out, n, ZMQ_DONTWAIT); /* no connection: no answer, KO in time */
    }
}

static void selfcheck_on_reply(svc_t *s, void *sock)
{
    intake_t *in = svc_state(s);
    uint8_t buf[4096];
    int n;
    while ((n = zmq_recv(sock, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
        Tremplin__Envelope *env = NULL;
        if ((size_t)n <= sizeof buf && wire_unpack(buf, (size_t)n, sizeof buf, NULL, &env) == WIRE_OK
            && env->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_PONG)
            in->self_answered_ms = clock_mono_ms();
        wire_free(env, NULL);
    }
}

void intake_selfcheck_pong(intake_t *in, Tremplin__Pong *pong)
{
    if (!in->self_dealer)
        return; /* no branch endpoint */
    int ok = clock_mono_ms() - in->self_answered_ms <= SELFCHECK_ROUNDS * in->conf.watch_ms;
    snprintf(in->self_check, sizeof in->self_check, "branch_endpoint=%s", ok ? "ok" : "KO");
    in->self_checks[0] = in->self_check;
    pong->checks = in->self_checks;
    pong->n_checks = 1;
}

int intake_selfcheck_start(intake_t *in, char *err, size_t errlen)
{
    char endpoint[256];
    size_t len = sizeof endpoint;
    if (zmq_getsockopt(in->door.router, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0
        || zmq_curve_keypair(in->door.also_allowed, in->self_secret) != 0) {
        snprintf(err, errlen, "self-check: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    in->self_dealer = sock_new(svc_zctx(in->svc), ZMQ_DEALER);
    if (zmq_setsockopt(in->self_dealer, ZMQ_CURVE_SERVERKEY, in->door.server_public, KEYRING_KEY_LEN) != 0
        || zmq_setsockopt(in->self_dealer, ZMQ_CURVE_PUBLICKEY, in->door.also_allowed, KEYRING_KEY_LEN) != 0
        || zmq_setsockopt(in->self_dealer, ZMQ_CURVE_SECRETKEY, in->self_secret, KEYRING_KEY_LEN) != 0
        || zmq_connect(in->self_dealer, endpoint) != 0) {
        snprintf(err, errlen, "self-check of %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return -1;
    }
    in->self_answered_ms = clock_mono_ms(); /* the first rounds are the grace */
    svc_add_socket(in->svc, in->self_dealer, selfcheck_on_reply);
    svc_add_timer(in->svc, in->conf.watch_ms, selfcheck_send);
    return 0;
}

void intake_selfcheck_stop(intake_t *in)
{
    if (in->self_dealer)
        zmq_close(in->self_dealer);
    in->self_dealer = NULL;
}
