/* svc_route — the DEALER sockets to other services, one per destination,
 * opened when the outbox first sends there (to every address listed under
 * [endpoints] <to>; ZeroMQ spreads the messages and skips a stopped one). */
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "sock.h"
#include "svc_int.h"
#include "util.h"

static void svc_on_reply(loop_t *loop, void *sock, void *arg)
{
    (void)loop;
    svc_t *s = arg;
    outbox_on_reply(s->outbox, sock);
}

void *svc_route(void *arg, const char *to, int *unknown)
{
    svc_t *s = arg;
    *unknown = 0;
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].to, to) == 0)
            return s->routes[i].dealer;
    const char *ep = conf_map_get(&s->conf.endpoints, to);
    *unknown = !ep;
    if (!ep || s->nroutes == SVC_MAX_ROUTES)
        return NULL;
    void *dealer = sock_new(s->ctx, ZMQ_DEALER);
    char err[256] = "CURVE keys";
    if (dealer && s->auth /* the next service's door lets this service's key in */
        && (zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, s->cred.server_key, KEYRING_KEY_LEN) != 0
            || zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, s->cred.public_key, KEYRING_KEY_LEN) != 0
            || zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, s->cred.secret_key, KEYRING_KEY_LEN) != 0)) {
        log_error("route_failed", "to=%s reason=\"%s\"", to, err);
        zmq_close(dealer);
        return NULL;
    }
    if (!dealer || sock_connect_list(dealer, ep, err, sizeof err) != 0) {
        log_error("route_failed", "to=%s reason=\"%s\"", to, dealer ? err : "socket");
        if (dealer)
            zmq_close(dealer);
        return NULL;
    }
    svc_route_t *r = &s->routes[s->nroutes++];
    util_strlcpy(r->to, to, sizeof r->to);
    r->dealer = dealer;
    loop_add_socket(s->loop, dealer, svc_on_reply, s);
    log_info("route_opened", "to=%s endpoints=\"%s\"", to, ep);
    return dealer;
}

void svc_routes_close(svc_t *s)
{
    for (int i = 0; i < s->nroutes; i++)
        zmq_close(s->routes[i].dealer);
    s->nroutes = 0;
}
