#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "util.h"

#define LOOP_MAX_SOCKETS 32
#define LOOP_MAX_TIMERS 32

typedef struct {
    void *socket;
    loop_sock_fn fn;
    void *arg;
} loop_sock_t;

typedef struct {
    int64_t interval_ms;
    int64_t due_ms;
    loop_timer_fn fn;
    void *arg;
} loop_timer_t;

struct loop {
    loop_sock_t socks[LOOP_MAX_SOCKETS];
    int nsocks;
    loop_timer_t timers[LOOP_MAX_TIMERS];
    int ntimers;
    int sigfd;
    loop_signal_fn on_term, on_hup;
    void *sig_arg;
    int running;
    int terminating;
};

static void loop_signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

void loop_block_signals(void)
{
    sigset_t set;
    loop_signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

loop_t *loop_new(void)
{
    loop_t *self = xcalloc(1, sizeof *self);
    sigset_t set;
    loop_signal_set(&set);
    loop_block_signals();
    self->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0)
        log_error("signalfd_failed", "errno=%d", errno);
    return self;
}

void loop_destroy(loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->sigfd >= 0)
        close((*self_p)->sigfd);
    free(*self_p);
    *self_p = NULL;
}

void loop_add_socket(loop_t *self, void *socket, loop_sock_fn fn, void *arg)
{
    if (self->nsocks == LOOP_MAX_SOCKETS)
        abort(); /* a programming error: the count is fixed by the code */
    self->socks[self->nsocks++] = (loop_sock_t){ socket, fn, arg };
}

void loop_remove_socket(loop_t *self, void *socket)
{
    for (int i = 0; i < self->nsocks; i++)
        if (self->socks[i].socket == socket) {
            memmove(&self->socks[i], &self->socks[i + 1], (size_t)(self->nsocks - i - 1) * sizeof self->socks[0]);
            self->nsocks--;
            return;
        }
}

void loop_add_timer(loop_t *self, int64_t interval_ms, loop_timer_fn fn, void *arg)
{
    if (self->ntimers == LOOP_MAX_TIMERS)
        abort();
    self->timers[self->ntimers++] = (loop_timer_t){ interval_ms, clock_mono_ms() + interval_ms, fn, arg };
}

void loop_wake_timer(loop_t *self, loop_timer_fn fn)
{
    for (int i = 0; i < self->ntimers; i++)
        if (self->timers[i].fn == fn)
            self->timers[i].due_ms = 0;
}

void loop_on_signals(loop_t *self, loop_signal_fn on_term, loop_signal_fn on_hup, void *arg)
{
    self->on_term = on_term;
    self->on_hup = on_hup;
    self->sig_arg = arg;
}

void loop_stop(loop_t *self) { self->running = 0; }
int loop_terminating(const loop_t *self) { return self->terminating; }

static void loop_read_signals(loop_t *self)
{
    struct signalfd_siginfo si;
    while (read(self->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            log_info("signal", "sig=HUP action=reload");
            if (self->on_hup)
                self->on_hup(self, self->sig_arg);
        } else if (self->terminating) {
            log_warn("signal", "sig=%u action=exit_now", si.ssi_signo);
            _exit(1);
        } else {
            log_info("signal", "sig=%u action=drain", si.ssi_signo);
            self->terminating = 1;
            if (self->on_term)
                self->on_term(self, self->sig_arg);
            else
                self->running = 0;
        }
    }
}

static void loop_run_timers(loop_t *self, int64_t now)
{
    for (int i = 0; i < self->ntimers && self->running; i++) {
        loop_timer_t *t = &self->timers[i];
        if (t->due_ms <= now) {
            t->due_ms = now + t->interval_ms;
            t->fn(self, t->arg);
        }
    }
}

int loop_run(loop_t *self)
{
    zmq_pollitem_t items[LOOP_MAX_SOCKETS + 1];
    loop_sock_t socks[LOOP_MAX_SOCKETS];
    self->running = 1;
    while (self->running) {
        int64_t now = clock_mono_ms();
        int64_t timeout = 1000;
        for (int i = 0; i < self->ntimers; i++) {
            int64_t wait = self->timers[i].due_ms - now;
            if (wait < timeout)
                timeout = wait < 0 ? 0 : wait;
        }
        /* a handler may add or remove sockets: poll a copy */
        int n = self->nsocks;
        memcpy(socks, self->socks, (size_t)n * sizeof socks[0]);
        for (int i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){ socks[i].socket, 0, ZMQ_POLLIN, 0 };
        items[n] = (zmq_pollitem_t){ NULL, self->sigfd, ZMQ_POLLIN, 0 };
        int rc = zmq_poll(items, n + 1, (long)timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll_failed", "errno=%d", errno);
            return -1;
        }
        if (items[n].revents & ZMQ_POLLIN)
            loop_read_signals(self);
        for (int i = 0; i < n && self->running; i++)
            if (items[i].revents & ZMQ_POLLIN)
                socks[i].fn(self, socks[i].socket, socks[i].arg);
        if (self->running)
            loop_run_timers(self, clock_mono_ms());
    }
    return 0;
}
