/* Every socket a peer can reach, abused between real requests: bytes that
 * are not ZeroMQ at all, garbage frames, the wrong number of frames,
 * oversized messages, a command sent to a service that does not take it, a
 * replayed command, a command about something that does not exist yet, and
 * a flood of tiny messages. Each is answered with a stable code or dropped,
 * the service keeps serving (a Ping is answered after each), and its memory
 * stays flat: a second flood as large as the first does not grow it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"
#include "util.h"

static const char *const services[] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
#define NSVC (sizeof services / sizeof services[0])
static h_env_t env;
static pid_t pids[NSVC];

static int setup(void **state)
{
    /* ASan keeps freed memory in quarantine (256 MiB by default): a small
     * one, so that RSS shows what the service really keeps */
    setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:quarantine_size_mb=0", 1);
    if (h_group_setup(state) != 0)
        return -1;
    for (size_t i = 0; i < NSVC; i++)
        if ((pids[i] = h_start_ready(&env, services[i], NULL, NULL, 20000)) < 0)
            return -1;
    return 0;
}

static void still_serving(const char *svc)
{
    char ep[64];
    h_service_endpoint(&env, svc, ep, sizeof ep);
    Tremplin__Envelope *r = h_ping(&env, ep);
    if (!r || r->payload_case != TREMPLIN__ENVELOPE__PAYLOAD_PONG)
        fail_msg("%s no longer answers Ping", svc);
    wire_free(r, NULL);
}

/* The Error code a service answers to data ("" for an Ack, "NONE" when it
 * answers nothing within 5 s). */
static const char *answer_to(const char *svc, const void *data, size_t len)
{
    static char code[64];
    char ep[64];
    h_service_endpoint(&env, svc, ep, sizeof ep);
    Tremplin__Envelope *r = h_raw_call(&env, ep, data, len);
    util_strlcpy(code, !r ? "NONE" : r->payload_case == TREMPLIN__ENVELOPE__PAYLOAD_ERROR ? r->error->code : "",
                 sizeof code);
    wire_free(r, NULL);
    return code;
}

static size_t pack(Tremplin__Envelope *e, wire_buf_t *b)
{
    char id[TP_ID_LEN + 1];
    wire_stamp(e, id, "", "test_abuse", "42");
    b->len = 0;
    return wire_pack(e, b);
}

static void garbage_frames_get_stable_codes(void **state)
{
    (void)state;
    static uint8_t big[70000];
    memset(big, 0x41, sizeof big);
    for (size_t i = 0; i < NSVC; i++) {
        const char *s = services[i];
        assert_string_equal(answer_to(s, "", 0), "EMPTY_MESSAGE");
        assert_string_equal(answer_to(s, "\xff\xff\xff\xff garbage", 13), "MALFORMED_MESSAGE");
        assert_string_equal(answer_to(s, big, sizeof big), "MESSAGE_TOO_LARGE");
        still_serving(s);
    }
}

/* Two frames where one is expected: the rest is read and dropped, the
 * message refused as malformed (and the next one is read whole). */
static void wrong_frame_count_is_refused(void **state)
{
    (void)state;
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Ping p = TREMPLIN__PING__INIT;
    p.nonce = "two-frames";
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
    e.ping = &p;
    wire_buf_t b = { 0 };
    pack(&e, &b);
    for (size_t i = 0; i < NSVC; i++) {
        char ep[64];
        h_service_endpoint(&env, services[i], ep, sizeof ep);
        void *s = zmq_socket(env.zctx, ZMQ_DEALER);
        h_socket_key(&env, s);
        int zero = 0, timeout = 5000;
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        assert_int_equal(zmq_connect(s, ep), 0);
        zmq_send(s, b.data, b.len, ZMQ_SNDMORE);
        zmq_send(s, b.data, b.len, ZMQ_SNDMORE);
        zmq_send(s, "x", 1, 0);
        static uint8_t buf[65536];
        int n = zmq_recv(s, buf, sizeof buf, 0);
        assert_true(n > 0);
        Tremplin__Envelope *r = tremplin__envelope__unpack(NULL, (size_t)n, buf);
        assert_non_null(r);
        assert_int_equal(r->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_ERROR);
        assert_string_equal(r->error->code, "MALFORMED_MESSAGE");
        tremplin__envelope__free_unpacked(r, NULL);
        /* the same socket goes on: the next message is read whole */
        zmq_send(s, b.data, b.len, 0);
        n = zmq_recv(s, buf, sizeof buf, 0);
        assert_true(n > 0);
        r = tremplin__envelope__unpack(NULL, (size_t)n, buf);
        assert_non_null(r);
        assert_int_equal(r->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_PONG);
        tremplin__envelope__free_unpacked(r, NULL);
        zmq_close(s);
    }
    wire_buf_free(&b);
}

/* Bytes that are not ZeroMQ (a port scanner, a confused HTTP client) on
 * every port a service listens on, the CURVE doors included: the connection
 * is dropped, the service goes on. */
static void bytes_that_are_not_zeromq_are_dropped(void **state)
{
    (void)state;
    /* commands, branch door, reporter HTTP, gateway, kiosk door, events */
    static const int offsets[] = { 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 17 };
    static uint8_t junk[65536];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 2654435761u >> 13);
    memcpy(junk, "GET / HTTP/1.1\r\n\r\n\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f", 28);
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(env.base_port + offsets[k])) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            /* the peer may close early: the writes may fail, that is the point */
            for (int r = 0; r < 4; r++)
                if (send(fd, junk, sizeof junk, MSG_NOSIGNAL) < 0)
                    break;
        }
        close(fd);
    }
    for (size_t i = 0; i < NSVC; i++)
        still_serving(services[i]);
}

/* A command to a service that does not take it: UNSUPPORTED, nothing done. */
static void a_command_sent_to_the_wrong_service_is_unsupported(void **state)
{
    (void)state;
    wire_buf_t b = { 0 };
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    Tremplin__ClosePeriod cp = TREMPLIN__CLOSE_PERIOD__INIT; /* the reporter's */
    Tremplin__SubmitReferral sr = TREMPLIN__SUBMIT_REFERRAL__INIT; /* intake's */
    for (size_t i = 0; i < NSVC; i++) {
        e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CLOSE_PERIOD;
        e.close_period = &cp;
        if (!strcmp(services[i], "reporter")) {
            e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
            e.submit_referral = &sr;
        }
        pack(&e, &b);
        assert_string_equal(answer_to(services[i], b.data, b.len), "UNSUPPORTED");
    }
    wire_buf_free(&b);
}

/* The same command twice (a replay, or a resend after a lost answer): the
 * second is answered as a duplicate, nothing is done twice. */
static void a_replayed_command_is_a_duplicate(void **state)
{
    (void)state;
    static const char *const bus[] = { "intake", "matcher", "scheduler", "survey", "reporter" };
    for (size_t i = 0; i < sizeof bus / sizeof bus[0]; i++) {
        char msg_id[40];
        snprintf(msg_id, sizeof msg_id, "replay-%s", bus[i]);
        assert_string_equal(h_probe(&env, bus[i], "42", msg_id, "k-replay"), "ACK");
        assert_string_equal(h_probe(&env, bus[i], "42", msg_id, "k-replay"), "ACK-DUP");
        assert_string_equal(h_probe(&env, bus[i], "42", msg_id, "k-replay"), "ACK-DUP");
    }
}

/* svc answers e with an Error (any code): refused, not acked nor ignored */
static void refused_by(const char *svc, Tremplin__Envelope *e, wire_buf_t *b)
{
    pack(e, b);
    const char *c = answer_to(svc, b->data, b->len);
    if (!strcmp(c, "") || !strcmp(c, "NONE"))
        fail_msg("%s: %s was %s", svc, wire_type_name(e->payload_case), c[0] ? "not answered" : "acked");
}

/* Commands about what does not exist yet (an answer to an offer, a
 * cancellation, an attendance mark, a survey answer arriving before what
 * they refer to): a stable refusal, no state created. */
static void a_command_ahead_of_its_cause_is_refused(void **state)
{
    (void)state;
    long long keys_before = h_redis_int(&env, "DBSIZE");
    wire_buf_t b = { 0 };
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;

    Tremplin__AnswerOffer ao = TREMPLIN__ANSWER_OFFER__INIT;
    ao.booking_id = "BK-NOT-YET";
    ao.accept = 1;
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ANSWER_OFFER;
    e.answer_offer = &ao;
    refused_by("scheduler", &e, &b);

    Tremplin__CancelBooking cb = TREMPLIN__CANCEL_BOOKING__INIT;
    cb.booking_id = "BK-NOT-YET";
    cb.reason = "test";
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_BOOKING;
    e.cancel_booking = &cb;
    refused_by("scheduler", &e, &b);

    Tremplin__SubmitSurvey sv = TREMPLIN__SUBMIT_SURVEY__INIT;
    sv.participation_id = "0123456789abcdef0123456789abcdef";
    sv.satisfaction = 1;
    sv.channel = "paper";
    e.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY;
    e.submit_survey = &sv;
    refused_by("survey", &e, &b);
    wire_buf_free(&b);
    for (size_t i = 0; i < NSVC; i++)
        still_serving(services[i]);
    /* refusals leave no trace but their idempotency marks (the same refusal
     * for a resend): no booking, participation or person appeared */
    assert_int_equal(h_redis_int(&env, "EXISTS tp:{42}:scheduler:booking:BK-NOT-YET"), 0);
    assert_true(h_redis_int(&env, "DBSIZE") <= keys_before + 3);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* n tiny garbage messages as fast as one socket sends them, reading the
 * answers as they come; returns how many were answered (the rest were
 * dropped by the service when this socket's queue was full). */
static long flood(const char *svc, long n)
{
    char ep[64];
    h_service_endpoint(&env, svc, ep, sizeof ep);
    void *s = zmq_socket(env.zctx, ZMQ_DEALER);
    h_socket_key(&env, s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, ep);
    long answered = 0;
    uint8_t buf[512];
    for (long i = 0; i < n; i++) {
        uint8_t tiny[2] = { (uint8_t)i, 0xff };
        zmq_send(s, tiny, sizeof tiny, 0);
        while (zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
            answered++;
    }
    /* the rest of the answers: until none comes for a second */
    int timeout = 1000;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    while (zmq_recv(s, buf, sizeof buf, 0) >= 0)
        answered++;
    zmq_close(s);
    return answered;
}

static void a_flood_of_tiny_messages_leaves_memory_flat(void **state)
{
    (void)state;
    const long n = 5000;
    for (size_t i = 0; i < NSVC; i++) {
        long a1 = flood(services[i], n); /* warms up the buffers and pools */
        still_serving(services[i]);
        long rss1 = rss_kib(pids[i]);
        long a2 = flood(services[i], n);
        still_serving(services[i]);
        long rss2 = rss_kib(pids[i]);
        print_message("tp %s: flood of %ld answered %ld then %ld; RSS %ld KiB -> %ld KiB\n", services[i], n, a1, a2,
                      rss1, rss2);
        assert_true(a1 > 0 && a2 > 0);
        assert_true(rss1 > 0 && rss2 > 0);
        /* a leak of even 1 KiB per message would show as 5 MiB */
        if (rss2 > rss1 + 4096)
            fail_msg("%s grew by %ld KiB over %ld bad messages", services[i], rss2 - rss1, n);
    }
}

int main(void)
{
    h_test_filter();
    h_group_env(&env);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(garbage_frames_get_stable_codes),
        cmocka_unit_test(wrong_frame_count_is_refused),
        cmocka_unit_test(bytes_that_are_not_zeromq_are_dropped),
        cmocka_unit_test(a_command_sent_to_the_wrong_service_is_unsupported),
        cmocka_unit_test(a_replayed_command_is_a_duplicate),
        cmocka_unit_test(a_command_ahead_of_its_cause_is_refused),
        cmocka_unit_test(a_flood_of_tiny_messages_leaves_memory_flat),
    };
    return cmocka_run_group_tests(tests, setup, h_group_teardown);
}
