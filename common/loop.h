/* loop — the service loop: zmq_poll over sockets, a signalfd and timers.
 *
 * Signals are blocked in every thread (call loop_block_signals() before the
 * ZeroMQ context starts its I/O threads) and read from a signalfd, so handlers
 * run in the loop, never in signal context. The first SIGTERM/SIGINT calls
 * on_term (the service starts draining and calls loop_stop when done); a
 * second one exits the process at once. SIGHUP calls on_hup. */
#ifndef TP_LOOP_H
#define TP_LOOP_H

#include <stdint.h>

typedef struct loop loop_t;
typedef void (*loop_sock_fn)(loop_t *loop, void *socket, void *arg);
typedef void (*loop_timer_fn)(loop_t *loop, void *arg);
typedef void (*loop_signal_fn)(loop_t *loop, void *arg);

void loop_block_signals(void);

loop_t *loop_new(void);
void loop_destroy(loop_t **self_p);

/* Calls fn when socket is readable (ZMQ_POLLIN). */
void loop_add_socket(loop_t *self, void *socket, loop_sock_fn fn, void *arg);
void loop_remove_socket(loop_t *self, void *socket);

/* Calls fn every interval_ms (monotonic), first after interval_ms. */
void loop_add_timer(loop_t *self, int64_t interval_ms, loop_timer_fn fn, void *arg);
/* Next run of every timer with this fn happens at once. */
void loop_wake_timer(loop_t *self, loop_timer_fn fn);

void loop_on_signals(loop_t *self, loop_signal_fn on_term, loop_signal_fn on_hup, void *arg);

/* Runs until loop_stop. Returns 0, or -1 if polling failed. */
int loop_run(loop_t *self);
void loop_stop(loop_t *self);
int loop_terminating(const loop_t *self);

#endif
