/* Unit tests for common/loop: timers (on the fake clock, moved by the test
 * as the loop turns), socket callbacks (inproc), and the signals of the
 * two-phase stop (read from the signalfd; the second SIGTERM in a child
 * process, since it ends the process).
 *
 * Each test names the property it checks; the commit that added them says
 * which mutation of loop.c each one catches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "fake_clock.h"
#include "inproc.h"
#include "log.h"
#include "loop.h"

#define T0 1000000
#define MAX_RUNS 64

/* What ran, and at what (fake) time. */
typedef struct {
    loop_t *loop;
    char who[MAX_RUNS];
    int64_t at[MAX_RUNS];
    int n;
    int64_t end;          /* the clock tick stops the loop here */
    int woke;             /* timer B woke timer A once */
    int hups, terms;
    int64_t drained_at;   /* a timer that plays the drain: stops once terminating */
} rec_t;

static void rec(rec_t *r, char who)
{
    assert_true(r->n < MAX_RUNS);
    r->who[r->n] = who;
    r->at[r->n++] = fake_clock_now() - T0;
}

/* Time passes as the loop turns: 1 ms per turn (an interval-0 timer runs
 * at every turn). */
static void tick(loop_t *loop, void *arg)
{
    rec_t *r = arg;
    fake_clock_advance(1);
    if (fake_clock_now() - T0 > r->end)
        loop_stop(loop);
}

static void timer_a(loop_t *loop, void *arg)
{
    (void)loop;
    rec(arg, 'A');
}

static void timer_b(loop_t *loop, void *arg)
{
    rec_t *r = arg;
    rec(r, 'B');
    if (!r->woke++)
        loop_wake_timer(loop, timer_a);
}

/* A timer runs every interval from its start, not before; a woken timer
 * runs at the next turn and counts its interval from then. */
static void test_timers(void **state)
{
    (void)state;
    fake_clock_set(T0);
    rec_t r = { .end = 40 };
    loop_t *loop = loop_new();
    loop_add_timer(loop, 10, timer_a, &r);
    loop_add_timer(loop, 25, timer_b, &r);
    loop_add_timer(loop, 0, tick, &r); /* last: the others of a turn run at its time */
    assert_int_equal(loop_run(loop), 0);
    loop_destroy(&loop);
    assert_null(loop);
    /* A at 10 and 20; B at 25 wakes A, which runs at the next turn (26)
     * and then every 10 from there; B again at 50, after the end */
    static const char who[] = "AABAA";
    static const int64_t at[] = { 10, 20, 25, 26, 36 };
    assert_int_equal(r.n, 5);
    for (int i = 0; i < r.n; i++) {
        assert_int_equal(r.who[i], who[i]);
        assert_int_equal(r.at[i], at[i]);
    }
}

/* The real clock again for the tests after, also when one fails. */
static int real_clock(void **state)
{
    (void)state;
    fake_clock_set(0);
    return 0;
}

/* ------------------------------------------------------------------ sockets */

typedef struct {
    int calls;
    void *sock;
} sock_rec_t;

/* Reads one message and stops listening to the socket. */
static void on_readable(loop_t *loop, void *sock, void *arg)
{
    sock_rec_t *s = arg;
    char buf[16];
    assert_true(zmq_recv(sock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0);
    s->calls++;
    loop_remove_socket(loop, sock);
}

/* Counts the loop's turns (an interval-0 timer runs at each) and stops it
 * after three: time enough to read both messages had both been polled. */
static void three_turns(loop_t *loop, void *arg)
{
    int *turns = arg;
    if (++*turns == 3)
        loop_stop(loop);
}

/* A readable socket calls its function; a socket removed is no longer
 * polled (the second message stays unread). */
static void test_sockets(void **state)
{
    (void)state;
    inproc_pair_t z;
    inproc_open(&z, "inproc://loop");
    sock_rec_t s = { 0, z.dealer };
    loop_t *loop = loop_new();
    loop_add_socket(loop, z.router, on_readable, &s);
    assert_true(zmq_send(z.dealer, "one", 3, 0) == 3);
    assert_true(zmq_send(z.dealer, "two", 3, 0) == 3);
    int turns = 0;
    loop_add_timer(loop, 0, three_turns, &turns);
    assert_int_equal(loop_run(loop), 0);
    loop_destroy(&loop);
    assert_int_equal(s.calls, 1);
    zmq_pollitem_t item = { z.router, 0, ZMQ_POLLIN, 0 };
    assert_int_equal(zmq_poll(&item, 1, 0), 1); /* "two" still there */
    inproc_close(&z);
}

/* ------------------------------------------------------------------ signals */

static void on_hup(loop_t *loop, void *arg)
{
    (void)loop;
    ((rec_t *)arg)->hups++;
}

/* First phase: a service stops taking work and drains; the loop goes on. */
static void on_term(loop_t *loop, void *arg)
{
    rec_t *r = arg;
    r->terms++;
    assert_true(loop_terminating(loop));
}

static void stop_loop(loop_t *loop, void *arg)
{
    (void)arg;
    loop_stop(loop); /* a guard: the signals were not seen */
}

/* The drain: once terminating, finishes at the next turn. */
static void drain(loop_t *loop, void *arg)
{
    rec_t *r = arg;
    if (!r->hups) {
        raise(SIGHUP);
        return;
    }
    if (!r->terms) {
        raise(SIGTERM);
        return;
    }
    if (loop_terminating(loop) && !r->drained_at) {
        r->drained_at = 1;
        loop_stop(loop);
    }
}

/* Signals are read from the signalfd in the loop: SIGHUP calls on_hup and
 * the loop goes on; the first SIGTERM calls on_term and the loop goes on
 * until the service stops it (the drain). */
static void test_signals_first_phase(void **state)
{
    (void)state;
    rec_t r = { 0 };
    loop_t *loop = loop_new();
    loop_on_signals(loop, on_term, on_hup, &r);
    loop_add_timer(loop, 1, drain, &r);
    loop_add_timer(loop, 10000, stop_loop, NULL);
    assert_false(loop_terminating(loop));
    assert_int_equal(loop_run(loop), 0);
    loop_destroy(&loop);
    assert_int_equal(r.hups, 1);
    assert_int_equal(r.terms, 1);
    assert_int_equal(r.drained_at, 1); /* stopped by the drain, not by the signal */
}

/* A drain that does not end: the operator sends SIGTERM again. */
static void on_term_again(loop_t *loop, void *arg)
{
    (void)loop;
    int *raised = arg;
    if (!(*raised)++)
        raise(SIGTERM);
}

static void first_term(loop_t *loop, void *arg)
{
    (void)arg;
    if (!loop_terminating(loop))
        raise(SIGTERM);
}

static void give_up(loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
    _exit(3); /* the second SIGTERM did nothing */
}

/* Second phase: another SIGTERM while draining exits at once, status 1
 * (in a child process: it ends the process). Without on_term the first
 * SIGTERM stops the loop. */
static void test_second_term_exits_at_once(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int raised = 0;
        loop_t *loop = loop_new();
        loop_on_signals(loop, on_term_again, NULL, &raised);
        loop_add_timer(loop, 1, first_term, NULL);
        loop_add_timer(loop, 10000, give_up, NULL);
        loop_run(loop);
        _exit(0); /* the loop returned: neither phase worked */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);

    loop_t *loop = loop_new();
    loop_add_timer(loop, 1, first_term, NULL);
    assert_int_equal(loop_run(loop), 0); /* no on_term: the first SIGTERM stops it */
    assert_true(loop_terminating(loop));
    loop_destroy(&loop);
}

int main(void)
{
    loop_block_signals(); /* before any thread: signals only through the signalfd */
    log_set_level(TPLOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_timers, real_clock),
        cmocka_unit_test(test_sockets),
        cmocka_unit_test(test_signals_first_phase),
        cmocka_unit_test(test_second_term_exits_at_once),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
