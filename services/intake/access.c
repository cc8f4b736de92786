/* access — intake's branch endpoint (CURVE) and who may talk to it, from
 * one registry.
 *
 * Intake answers ZAP (ZeroMQ RFC 27) itself instead of CZMQ's zauth: zauth
 * read the registry directory on its own while the handlers read intake's
 * copy, refreshed every watch_ms, so a branch used within a second of
 * `branch add` passed the handshake and was then answered UNKNOWN_BRANCH.
 * Here the handshake and the handlers read the same table, refreshed
 * before each handshake when the directory changed: a key let in is a
 * branch the handlers know, and a revoked key is refused at its next
 * handshake while its open connections are answered BRANCH_REVOKED. Both run
 * in the service loop, so they never see the table half loaded. */
#include <czmq.h>
#include <string.h>
#include <zmq.h>

#include "intake.h"
#include "log.h"
#include "sock.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

int intake_branches_refresh(intake_t *in)
{
    /* the stamp first: a change while loading is seen again next time */
    unsigned long stamp = branches_dir_stamp(in->conf.curve_dir);
    if (stamp == in->stamp)
        return 0;
    branches_t fresh;
    char err[512];
    if (branches_load(in->conf.curve_dir, &fresh, err, sizeof err) != 0)
        log_warn("branch_registry", "reason=\"%s\"", err);
    branches_free(&in->branches);
    in->branches = fresh;
    in->stamp = stamp;
    log_info("branches_loaded", "count=%d revoked=%d", in->branches.n, branches_revoked(&in->branches));
    return 1;
}

/* 1 when the CURVE key (32 bytes) may connect; its Z85 form into z85. */
static int access_allowed(intake_t *in, const uint8_t *key, char z85[BRANCH_KEY_LEN + 1])
{
    zmq_z85_encode(z85, key, 32);
    if (strcmp(z85, in->self_public) == 0)
        return 1; /* intake's own self-check */
    intake_branches_refresh(in);
    const branch_t *b = branches_by_key(&in->branches, z85);
    if (b && !b->revoked_ms)
        return 1;
    log_info("branch_refused", "key=%.8s branch=%s", z85, b ? b->id : "-");
    return 0;
}

/* One ZAP request: version, request id, domain, address, identity,
 * mechanism, credentials. The reply's user id is the key in Z85, which the
 * inbox reads from each message (User-Id) to know its sender. */
static void access_zap(svc_t *s, void *sock)
{
    intake_t *in = svc_state(s);
    for (;;) {
        zmq_msg_t f[7];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&m);
                if (n == 0)
                    return; /* nothing waiting */
                break;
            }
            more = zmq_msg_more(&m);
            if (n < 7)
                f[n++] = m;
            else
                zmq_msg_close(&m);
        }
        const char *status = "400", *text = "refused";
        char user[BRANCH_KEY_LEN + 1] = "";
        size_t mech_len = n > 5 ? zmq_msg_size(&f[5]) : 0;
        const char *mech = n > 5 ? zmq_msg_data(&f[5]) : "";
        if (mech_len == 4 && !memcmp(mech, "NULL", 4)) {
            status = "200", text = "OK"; /* loopback sockets: no credentials to check */
        } else if (n == 7 && mech_len == 5 && !memcmp(mech, "CURVE", 5) && zmq_msg_size(&f[6]) == 32
                   && access_allowed(in, zmq_msg_data(&f[6]), user)) {
            status = "200", text = "OK";
        } else {
            user[0] = '\0';
        }
        zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(sock, n > 1 ? zmq_msg_data(&f[1]) : "", n > 1 ? zmq_msg_size(&f[1]) : 0, ZMQ_SNDMORE);
        zmq_send(sock, status, 3, ZMQ_SNDMORE);
        zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(sock, "", 0, 0);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
}

/* Binds the ZAP handler: before the branch endpoint, since a CURVE socket
 * with no ZAP handler lets every key in. */
static int access_zap_start(intake_t *in, char *err, size_t errlen)
{
    in->zap = zmq_socket(svc_zctx(in->svc), ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(in->zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(in->zap, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        return -1;
    }
    svc_add_socket(in->svc, in->zap, access_zap);
    return 0;
}

int intake_branch_endpoint_start(intake_t *in, char *err, size_t errlen)
{
    if (access_zap_start(in, err, errlen) != 0)
        return -1;
    char sec[512];
    snprintf(sec, sizeof sec, "%s/server.key_secret", in->conf.curve_dir);
    zcert_t *server = zcert_load(sec);
    if (!server) {
        snprintf(err, errlen, "%.400s: cannot read the server key", sec);
        return -1;
    }
    in->branch_router = sock_new(svc_zctx(in->svc), ZMQ_ROUTER);
    int one = 1;
    zmq_setsockopt(in->branch_router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zcert_apply(server, in->branch_router);
    util_strlcpy(in->server_public, zcert_public_txt(server), sizeof in->server_public);
    zcert_destroy(&server);
    return sock_bind_list(in->branch_router, in->conf.branch_bind, err, errlen);
}

void intake_branch_endpoint_stop(intake_t *in)
{
    if (in->branch_router)
        zmq_close(in->branch_router);
    in->branch_router = NULL;
    if (in->zap)
        zmq_close(in->zap);
    in->zap = NULL;
}
