/* sock — ZeroMQ sockets with the options every Tremplin socket needs:
 * no linger at exit, a hard size cap (ZMQ_MAXMSGSIZE: the peer is cut off
 * above it; the soft cap below it is answered with MESSAGE_TOO_LARGE), ZMTP
 * heartbeats so a stopped peer is noticed, and ROUTER_MANDATORY so a reply to
 * a vanished peer fails instead of vanishing. */
#ifndef TP_SOCK_H
#define TP_SOCK_H

#include <stddef.h>

#define SOCK_HARD_MAX (1024 * 1024)

void *sock_new(void *ctx, int type);

/* Binds or connects to every endpoint of a comma-separated list.
 * 0, or -1 with the failing endpoint in err. */
int sock_bind_list(void *sock, const char *endpoints, char *err, size_t errlen);
int sock_connect_list(void *sock, const char *endpoints, char *err, size_t errlen);

/* The first endpoint of a list, for a service that binds one of them. */
void sock_first_endpoint(const char *list, char *out, size_t cap);

#endif
