/* keyring_door — a service's CURVE endpoint, let in by its keyring
 * (keyring.h says why ZAP is answered here rather than by CZMQ's zauth:
 * the handshake and the handlers must read the same table). */
#include <czmq.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "keyring.h"
#include "log.h"
#include "sock.h"
#include "svc.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_MAX_DOORS 4

/* The process's one ZAP handler (ZeroMQ asks one per context) and the doors
 * it answers for, each by its domain (keyring.h). Services run one loop in
 * one thread: no lock. */
static struct {
    void *zap;
    keyring_door_t *doors[ZAP_MAX_DOORS];
    int n;
} zap_hub;

static keyring_door_t *zap_door(zmq_msg_t *domain)
{
    for (int i = 0; i < zap_hub.n; i++) {
        const char *role = zap_hub.doors[i]->kind->role;
        if (zmq_msg_size(domain) == strlen(role) && !memcmp(zmq_msg_data(domain), role, strlen(role)))
            return zap_hub.doors[i];
    }
    return NULL;
}

int keyring_door_refresh(keyring_door_t *d)
{
    /* the stamp first: a change while loading is seen again next time */
    unsigned long stamp = keyring_dir_stamp(d->kind, d->dir);
    if (stamp == d->stamp)
        return 0;
    keyring_t fresh;
    char err[512];
    if (keyring_load(d->kind, d->dir, &fresh, err, sizeof err) != 0)
        log_warn("keyring_invalid", "role=%s reason=\"%s\"", d->kind->role, err);
    keyring_free(&d->keys);
    d->keys = fresh;
    d->stamp = stamp;
    log_info("keyring_loaded", "role=%s count=%d revoked=%d", d->kind->role, d->keys.n, keyring_revoked(&d->keys));
    return 1;
}

/* 1 when the CURVE key (32 bytes) may connect; its Z85 form into z85. */
static int door_allowed(keyring_door_t *d, const uint8_t *key, char z85[KEYRING_KEY_LEN + 1])
{
    zmq_z85_encode(z85, key, 32);
    if (d->also_allowed[0] && strcmp(z85, d->also_allowed) == 0)
        return 1; /* the service's own key (its self-check) */
    keyring_door_refresh(d);
    const keyring_entry_t *e;
    keyring_verdict_t v = keyring_check(&d->keys, z85, clock_real_ms(), &e);
    if (v == KEYRING_OK)
        return 1;
    static const char *const why[] = { "ok", "unknown", "revoked", "expired" };
    log_info("key_refused", "role=%s key=%.8s id=%s why=%s", d->kind->role, z85, e ? e->id : "-", why[v]);
    return 0;
}

/* Every ZAP request waiting: version, request id, domain, address, identity,
 * mechanism, credentials. The reply's user id is the key in Z85, which the
 * inbox reads from each message (User-Id) to know its sender. Whichever
 * door's socket woke the service, every door's requests are answered. */
void keyring_door_zap(keyring_door_t *unused)
{
    (void)unused;
    for (;;) {
        zmq_msg_t f[7];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, zap_hub.zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
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
        char user[KEYRING_KEY_LEN + 1] = "";
        size_t mech_len = n > 5 ? zmq_msg_size(&f[5]) : 0;
        const char *mech = n > 5 ? zmq_msg_data(&f[5]) : "";
        keyring_door_t *d = n > 2 ? zap_door(&f[2]) : NULL;
        if (mech_len == 4 && !memcmp(mech, "NULL", 4)) {
            status = "200", text = "OK"; /* loopback sockets: no credentials to check */
        } else if (d && n == 7 && mech_len == 5 && !memcmp(mech, "CURVE", 5) && zmq_msg_size(&f[6]) == 32
                   && door_allowed(d, zmq_msg_data(&f[6]), user)) {
            status = "200", text = "OK";
        } else {
            user[0] = '\0';
        }
        void *zap = zap_hub.zap;
        zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(zap, n > 1 ? zmq_msg_data(&f[1]) : "", n > 1 ? zmq_msg_size(&f[1]) : 0, ZMQ_SNDMORE);
        zmq_send(zap, status, 3, ZMQ_SNDMORE);
        zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(zap, "", 0, 0);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
}

int keyring_door_open(keyring_door_t *d, svc_t *s, const char *bind, void (*on_zap)(svc_t *s, void *sock), char *err,
                      size_t errlen)
{
    d->svc = s;
    if (keyring_ensure_server_key(d->kind, d->dir, err, errlen) != 0)
        return -1;
    keyring_door_refresh(d);
    /* ZAP before the endpoint: a CURVE socket with no ZAP handler lets
     * every key in */
    if (zap_hub.n == ZAP_MAX_DOORS) {
        snprintf(err, errlen, "too many CURVE endpoints in one process");
        return -1;
    }
    if (!zap_hub.zap) {
        void *zap = zmq_socket(svc_zctx(s), ZMQ_REP);
        int zero = 0;
        zmq_setsockopt(zap, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_bind(zap, ZAP_ENDPOINT) != 0) {
            snprintf(err, errlen, "bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
            zmq_close(zap);
            return -1;
        }
        zap_hub.zap = zap;
        svc_add_socket(s, zap, on_zap);
    }
    d->zap = zap_hub.zap;
    zap_hub.doors[zap_hub.n++] = d;
    char sec[512];
    if (d->server_secret)
        util_strlcpy(sec, d->server_secret, sizeof sec);
    else
        snprintf(sec, sizeof sec, "%s/server.key_secret", d->dir);
    zcert_t *server = zcert_load(sec);
    if (!server) {
        snprintf(err, errlen, "%.400s: cannot read the server key", sec);
        return -1;
    }
    d->router = sock_new(svc_zctx(s), ZMQ_ROUTER);
    int one = 1;
    zmq_setsockopt(d->router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(d->router, ZMQ_ZAP_DOMAIN, d->kind->role, strlen(d->kind->role));
    zcert_apply(server, d->router);
    util_strlcpy(d->server_public, zcert_public_txt(server), sizeof d->server_public);
    zcert_destroy(&server);
    return sock_bind_list(d->router, bind, err, errlen);
}

void keyring_door_close(keyring_door_t *d)
{
    if (d->router)
        zmq_close(d->router);
    d->router = NULL;
    for (int i = 0; i < zap_hub.n; i++)
        if (zap_hub.doors[i] == d) {
            zap_hub.doors[i] = zap_hub.doors[--zap_hub.n];
            break;
        }
    if (d->zap && zap_hub.n == 0) { /* the last door: the handler goes */
        zmq_close(zap_hub.zap);
        zap_hub.zap = NULL;
    }
    d->zap = NULL;
    keyring_free(&d->keys);
    d->stamp = 0;
}
