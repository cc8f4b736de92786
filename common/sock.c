#include "sock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "util.h"

void *sock_new(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    if (!s)
        return NULL;
    int zero = 0, one = 1, hb_ivl = 1000, hb_timeout = 5000, reconnect = 100, reconnect_max = 2000;
    int hwm = 100000;
    int64_t max = SOCK_HARD_MAX;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
    if (type == ZMQ_ROUTER)
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    if (type == ZMQ_DEALER)
        zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof one); /* queue only to live peers */
    return s;
}

static int sock_each(void *sock, const char *endpoints, int bind, char *err, size_t errlen)
{
    char list[1024];
    char *items[16];
    util_strlcpy(list, endpoints, sizeof list);
    int n = util_split_list(list, items, 16);
    if (n == 0) {
        snprintf(err, errlen, "no endpoint given");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int rc = bind ? zmq_bind(sock, items[i]) : zmq_connect(sock, items[i]);
        if (rc != 0) {
            snprintf(err, errlen, "%s %s: %s", bind ? "bind" : "connect", items[i], zmq_strerror(errno));
            return -1;
        }
    }
    return 0;
}

int sock_bind_list(void *sock, const char *endpoints, char *err, size_t errlen)
{
    return sock_each(sock, endpoints, 1, err, errlen);
}

int sock_connect_list(void *sock, const char *endpoints, char *err, size_t errlen)
{
    return sock_each(sock, endpoints, 0, err, errlen);
}

void sock_first_endpoint(const char *list, char *out, size_t cap)
{
    size_t n = strcspn(list, ",");
    while (n > 0 && list[n - 1] == ' ')
        n--;
    while (*list == ' ' && n > 0) {
        list++;
        n--;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, list, n);
    out[n] = '\0';
}
