/* client — the calling side of a command, for the CLI, branch systems,
 * simulators and tests: DEALER to one or more service endpoints, the same
 * msg_id on every retry (so the service answers a retry with its first
 * answer), resend after a timeout, give up after N tries (Lazy Pirate).
 * client_call waits for one answer; client_send/client_poll keep a window of
 * many commands in flight. */
#ifndef TP_CLIENT_H
#define TP_CLIENT_H

#include <stdint.h>

#include "wire.h"

typedef struct client client_t;

/* Answer callback for windowed use: reply is NULL when the command gave up
 * after its tries. tag is what client_send was given. */
typedef void (*client_reply_fn)(void *arg, uint64_t tag, const Tremplin__Envelope *reply);

/* curve_server_key etc. may be NULL (plain loopback). */
client_t *client_new(void *ctx, const char *endpoints, const char *producer);
void client_destroy(client_t **self_p);

void client_set_retry(client_t *self, int64_t timeout_ms, int tries);
/* Optional CURVE: the server's public key and this client's key pair (Z85). */
int client_set_curve(client_t *self, const char *server_public, const char *public_key, const char *secret_key);
/* Watches the handshakes (a monitor socket, before client_connect): then
 * client_key_refused says whether a CURVE handshake was refused (the
 * server's ZAP did not let this key in). */
int client_watch_handshakes(client_t *self, void *ctx);
int client_key_refused(client_t *self);
/* Connects; call after the options above. */
int client_connect(client_t *self, char *err, size_t errlen);

/* Sends req (with a new msg_id unless it has one), waits. Returns 0 with
 * *reply (free with wire_free) or -1 when every try timed out. */
int client_call(client_t *self, const Tremplin__Envelope *req, Tremplin__Envelope **reply);

/* Windowed: queues req (a copy stamped with a new msg_id when it has none;
 * req itself is not changed); returns -1 when the window is full. */
int client_send(client_t *self, const Tremplin__Envelope *req, uint64_t tag);
/* Waits up to timeout_ms for answers, resends overdue commands, calls fn for
 * each answer or give-up. Returns the number of commands still in flight. */
int client_poll(client_t *self, int timeout_ms, client_reply_fn fn, void *arg);
int client_inflight(const client_t *self);
/* The client's socket, for a caller that polls it with others (then calls
 * client_poll with timeout 0 when it is readable). */
void *client_socket(const client_t *self);
void client_set_window(client_t *self, int window);

#endif
