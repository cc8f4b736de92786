/* Unit tests for common/wire: every frame a peer can send — valid, empty,
 * oversized, truncated, random, with a bad header or an unknown payload —
 * and decoding under allocation failure (after protobuf-c's own
 * test_alloc_fail). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ids.h"
#include "wire.h"

/* ------------------------------------------------------------- fixtures */

/* A SubmitReferral with every kind of field: nested messages, repeated
 * strings, repeated messages. Points into static storage. */
typedef struct {
    Tremplin__Envelope env;
    Tremplin__SubmitReferral sr;
    Tremplin__Mediator mediator;
    Tremplin__Person person;
    Tremplin__PostalAddress address;
    Tremplin__Consent consent;
    Tremplin__Answer answer[3];
    Tremplin__Answer *answers[3];
    char id[TP_ID_LEN + 1];
} rich_t;

static char *availability[] = { "mon-am", "tue-pm", "thu-am" };
static char *accessibility[] = { "wheelchair" };
static char *purposes[] = { "training", "sms", "survey" };
static char *needs[] = { "email", "online-forms", "smartphone", "video-call" };

static void rich_init(rich_t *r)
{
    *r = (rich_t){ .env = TREMPLIN__ENVELOPE__INIT, .sr = TREMPLIN__SUBMIT_REFERRAL__INIT,
                   .mediator = TREMPLIN__MEDIATOR__INIT, .person = TREMPLIN__PERSON__INIT,
                   .address = TREMPLIN__POSTAL_ADDRESS__INIT, .consent = TREMPLIN__CONSENT__INIT };
    r->mediator.id = "med-7";
    r->mediator.partner = "caf-42";
    r->address.line1 = "1 rue de la Paix";
    r->address.postcode = "42000";
    r->address.city = "Saint-Étienne";
    r->person.given_name = "A. B.";
    r->person.phone = "+33600000000";
    r->person.address = &r->address;
    r->person.birth_year = 1958;
    r->person.n_availability = 3;
    r->person.availability = availability;
    r->person.n_accessibility = 1;
    r->person.accessibility = accessibility;
    r->consent.given = 1;
    r->consent.given_at_ms = 1700000000000ULL;
    r->consent.n_purposes = 3;
    r->consent.purposes = purposes;
    r->consent.text_version = "v3";
    for (int i = 0; i < 3; i++) {
        r->answer[i] = (Tremplin__Answer)TREMPLIN__ANSWER__INIT;
        r->answer[i].question_id = i == 0 ? "q-mail" : i == 1 ? "q-forms" : "q-phone";
        r->answer[i].score = i - 1; /* a negative int32 too */
        r->answers[i] = &r->answer[i];
    }
    r->sr.branch = "st-etienne-centre";
    r->sr.external_ref = "EXT-0001";
    r->sr.mediator = &r->mediator;
    r->sr.person = &r->person;
    r->sr.consent = &r->consent;
    r->sr.n_needs = 4;
    r->sr.needs = needs;
    r->sr.n_answers = 3;
    r->sr.answers = r->answers;
    r->env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    r->env.submit_referral = &r->sr;
    wire_stamp(&r->env, r->id, NULL, "test-1", "42");
}

/* An envelope with a header only, to be given a payload or a bad field. */
static void header_init(Tremplin__Envelope *env, char id[TP_ID_LEN + 1])
{
    *env = (Tremplin__Envelope)TREMPLIN__ENVELOPE__INIT;
    wire_stamp(env, id, NULL, "test-1", "42");
}

static Tremplin__Ping ping = TREMPLIN__PING__INIT;

static void with_ping(Tremplin__Envelope *env)
{
    ping.nonce = "n-1";
    env->payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
    env->ping = &ping;
}

/* True when e is one of the outcomes wire_unpack may give for a frame. */
static int known_err(wire_err_t e)
{
    return e == WIRE_OK || e == WIRE_EEMPTY || e == WIRE_ETOOBIG || e == WIRE_EDECODE || e == WIRE_EHEADER
           || e == WIRE_EUNSUPPORTED || e == WIRE_EFIELD;
}

/* The contract on *out: NULL exactly when nothing was decoded. */
static void check_out(wire_err_t e, const Tremplin__Envelope *env)
{
    assert_true(known_err(e));
    if (e == WIRE_OK || e == WIRE_EHEADER || e == WIRE_EUNSUPPORTED || e == WIRE_EFIELD)
        assert_non_null(env);
    else
        assert_null(env);
    if (e == WIRE_OK) {
        assert_true(ids_valid(env->msg_id, 64));
        assert_true(ids_valid(env->territory, WIRE_TERRITORY_MAX));
        assert_int_not_equal(env->payload_case, TREMPLIN__ENVELOPE__PAYLOAD__NOT_SET);
    }
}

/* The rich SubmitReferral packed into b (new): its size. */
static size_t rich_pack(rich_t *r, wire_buf_t *b)
{
    rich_init(r);
    *b = (wire_buf_t){ 0 };
    return wire_pack(&r->env, b);
}

/* -------------------------------------------------------- valid frames */

static void test_round_trip(void **state)
{
    (void)state;
    rich_t r;
    wire_buf_t b;
    size_t n = rich_pack(&r, &b);
    assert_int_equal(n, b.len);

    Tremplin__Envelope *env = NULL;
    assert_int_equal(wire_unpack(b.data, b.len, WIRE_MAX_DEFAULT, NULL, &env), WIRE_OK);
    assert_string_equal(env->msg_id, r.id);
    assert_string_equal(env->type, "SubmitReferral");
    assert_string_equal(env->producer, "test-1");
    assert_string_equal(env->territory, "42");
    assert_string_equal(env->cause_id, "");
    assert_int_equal(env->schema_version, WIRE_SCHEMA_VERSION);
    assert_int_equal(env->payload_case, TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL);
    const Tremplin__SubmitReferral *sr = env->submit_referral;
    assert_string_equal(sr->branch, "st-etienne-centre");
    assert_string_equal(sr->mediator->partner, "caf-42");
    assert_string_equal(sr->person->address->city, "Saint-Étienne");
    assert_int_equal(sr->person->birth_year, 1958);
    assert_int_equal(sr->person->n_availability, 3);
    assert_string_equal(sr->person->availability[2], "thu-am");
    assert_true(sr->consent->given);
    assert_int_equal(sr->consent->n_purposes, 3);
    assert_int_equal(sr->n_needs, 4);
    assert_string_equal(sr->needs[3], "video-call");
    assert_int_equal(sr->n_answers, 3);
    assert_string_equal(sr->answers[1]->question_id, "q-forms");
    assert_int_equal(sr->answers[0]->score, -1);
    wire_free(env, NULL);
    wire_buf_free(&b);
    assert_null(b.data);
}

/* A decoder's arena: a message decodes as with malloc, from the block while
 * it lasts and from malloc past it (a block too small for the message: the
 * rest is freed by wire_free, which LeakSanitizer checks); reset, the block
 * serves the next message again. */
static void test_arena_decodes_as_malloc_does(void **state)
{
    (void)state;
    rich_t r;
    wire_buf_t b;
    rich_pack(&r, &b);
    const size_t caps[] = { 64, 8192 };
    for (size_t c = 0; c < TP_ARRAY_LEN(caps); c++) {
        wire_arena_t a;
        wire_arena_init(&a, caps[c]);
        for (int round = 0; round < 2; round++) {
            Tremplin__Envelope *env = NULL;
            assert_int_equal(wire_decode(b.data, b.len, WIRE_MAX_DEFAULT, &a.base, &env, NULL), WIRE_OK);
            assert_true(a.used > 0 && a.used <= a.cap);
            assert_int_equal((uintptr_t)env % 16, 0);
            assert_string_equal(env->msg_id, r.id);
            const Tremplin__SubmitReferral *sr = env->submit_referral;
            assert_string_equal(sr->person->address->city, "Saint-Étienne");
            assert_string_equal(sr->needs[3], "video-call");
            assert_string_equal(sr->answers[1]->question_id, "q-forms");
            assert_int_equal(sr->answers[0]->score, -1);
            wire_free(env, &a.base);
            wire_arena_reset(&a);
            assert_int_equal(a.used, 0);
        }
        wire_arena_free(&a);
    }
    wire_buf_free(&b);
}

/* Packing appends: two envelopes in one buffer decode separately. */
static void test_pack_appends(void **state)
{
    (void)state;
    Tremplin__Envelope a, c;
    char ida[TP_ID_LEN + 1], idc[TP_ID_LEN + 1];
    header_init(&a, ida);
    with_ping(&a);
    rich_t r;
    rich_init(&r);
    header_init(&c, idc);
    with_ping(&c);

    wire_buf_t b = { 0 };
    size_t na = wire_pack(&a, &b);
    size_t nr = wire_pack(&r.env, &b); /* past the first 256 bytes: grows */
    assert_int_equal(b.len, na + nr);
    assert_true(b.cap >= b.len);

    Tremplin__Envelope *env = NULL;
    assert_int_equal(wire_unpack(b.data, na, WIRE_MAX_DEFAULT, NULL, &env), WIRE_OK);
    assert_string_equal(env->msg_id, ida);
    wire_free(env, NULL);
    assert_int_equal(wire_unpack(b.data + na, nr, WIRE_MAX_DEFAULT, NULL, &env), WIRE_OK);
    assert_string_equal(env->msg_id, r.id);
    wire_free(env, NULL);
    wire_buf_free(&b);
}

static void test_stamp(void **state)
{
    (void)state;
    Tremplin__Envelope env;
    char id[TP_ID_LEN + 1];
    int64_t before = clock_now_ms();
    header_init(&env, id);
    int64_t after = clock_now_ms();
    assert_ptr_equal(env.msg_id, id);
    assert_int_equal(strlen(id), TP_ID_LEN);
    assert_true(ids_valid(id, 64));
    assert_string_equal(env.type, ""); /* no payload yet */
    assert_string_equal(env.producer, "test-1");
    assert_string_equal(env.territory, "42");
    assert_int_equal(env.schema_version, WIRE_SCHEMA_VERSION);
    assert_in_range(env.ts_ms, (uint64_t)before, (uint64_t)after);

    with_ping(&env);
    wire_stamp(&env, id, "cause-1", NULL, NULL);
    assert_string_equal(env.type, "Ping");
    assert_string_equal(env.cause_id, "cause-1");
    assert_string_equal(env.producer, "");
    assert_string_equal(env.territory, "");
}

/* -------------------------------------------------------- size checks */

static void test_empty(void **state)
{
    (void)state;
    static const uint8_t buf[1] = { 0 };
    Tremplin__Envelope *env = (Tremplin__Envelope *)&ping; /* must be reset */
    assert_int_equal(wire_unpack(buf, 0, WIRE_MAX_DEFAULT, NULL, &env), WIRE_EEMPTY);
    assert_null(env);
}

static void test_too_big(void **state)
{
    (void)state;
    rich_t r;
    wire_buf_t b;
    size_t n = rich_pack(&r, &b);
    Tremplin__Envelope *env = (Tremplin__Envelope *)&ping;
    assert_int_equal(wire_unpack(b.data, n, n - 1, NULL, &env), WIRE_ETOOBIG);
    assert_null(env);
    assert_int_equal(wire_unpack(b.data, n, n, NULL, &env), WIRE_OK); /* the cap itself is fine */
    wire_free(env, NULL);
    wire_buf_free(&b);

    /* a huge frame is refused before it is read */
    static const uint8_t one[1] = { 0 };
    assert_int_equal(wire_unpack(one, (size_t)WIRE_MAX_DEFAULT + 1, WIRE_MAX_DEFAULT, NULL, &env), WIRE_ETOOBIG);
    assert_null(env);
}

/* ------------------------------------------------------- broken frames */

/* Every prefix of a valid frame: an error, or a message that really is
 * valid (a cut between fields is a shorter message). */
static void test_every_truncation(void **state)
{
    (void)state;
    rich_t r;
    wire_buf_t b;
    size_t n = rich_pack(&r, &b);
    int counts[WIRE_NERR] = { 0 };
    for (size_t len = 0; len < n; len++) {
        /* a copy of exactly len bytes, so ASan sees any read past it */
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, b.data, len);
        Tremplin__Envelope *env = NULL;
        wire_err_t e = wire_unpack(cut, len, WIRE_MAX_DEFAULT, NULL, &env);
        check_out(e, env);
        counts[e]++;
        wire_free(env, NULL);
        free(cut);
    }
    assert_int_equal(counts[WIRE_EEMPTY], 1);
    assert_true(counts[WIRE_EDECODE] > 0);
    assert_true(counts[WIRE_EHEADER] > 0);      /* cut before the territory */
    assert_true(counts[WIRE_EUNSUPPORTED] > 0); /* cut just before the payload */
    assert_int_equal(counts[WIRE_OK], 0);       /* the payload is one field, last */
    wire_buf_free(&b);
}

/* xorshift64: the same buffers on every run and every libc. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_random_buffers(void **state)
{
    (void)state;
    uint64_t seed = 0x7e3f1a2b9c4d5e6fULL;
    uint8_t *buf = malloc(512);
    for (int i = 0; i < 2000; i++) {
        size_t len = 1 + (size_t)(rng_next(&seed) % 512);
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)rng_next(&seed);
        Tremplin__Envelope *env = NULL;
        wire_err_t e = wire_unpack(buf, len, WIRE_MAX_DEFAULT, NULL, &env);
        check_out(e, env);
        assert_int_not_equal(e, WIRE_OK);
        wire_free(env, NULL);
    }
    free(buf);
}

/* Random bytes mostly fail at the first tag; flipping a few bytes of a valid
 * frame reaches deeper into the decoder. */
static void test_mutated_frames(void **state)
{
    (void)state;
    rich_t r;
    wire_buf_t b;
    size_t n = rich_pack(&r, &b);
    uint8_t *buf = malloc(n);
    uint64_t seed = 0x1234567890abcdefULL;
    int counts[WIRE_NERR] = { 0 };
    for (int i = 0; i < 2000; i++) {
        memcpy(buf, b.data, n);
        int flips = 1 + (int)(rng_next(&seed) % 4);
        for (int k = 0; k < flips; k++)
            buf[rng_next(&seed) % n] = (uint8_t)rng_next(&seed);
        Tremplin__Envelope *env = NULL;
        wire_err_t e = wire_unpack(buf, n, WIRE_MAX_DEFAULT, NULL, &env);
        check_out(e, env);
        counts[e]++;
        wire_free(env, NULL);
    }
    assert_true(counts[WIRE_EDECODE] > 0);
    assert_true(counts[WIRE_OK] > 0); /* a flip inside a string is still valid */
    free(buf);
    wire_buf_free(&b);
}

/* ------------------------------------------------------------- header */

/* 64 characters, the longest msg_id */
#define ID64 "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789_-_-_-"

static wire_err_t unpack_env(const Tremplin__Envelope *src, Tremplin__Envelope **out)
{
    wire_buf_t b = { 0 };
    wire_pack(src, &b);
    wire_err_t e = wire_unpack(b.data, b.len, WIRE_MAX_DEFAULT, NULL, out);
    wire_buf_free(&b);
    return e;
}

static void test_bad_header(void **state)
{
    (void)state;
    static const struct {
        const char *msg_id, *territory, *cause_id;
    } bad[] = {
        { "", "42", "" },          /* no id */
        { "bad id!", "42", "" },   /* space */
        { "tp:{42}:x", "42", "" }, /* key characters */
        { ID64 "x", "42", "" },    /* 65 characters */
        { "m1", "", "" },          /* no territory */
        { "m1", "42}", "" },
        { "m1", "12345678901234567", "" }, /* 17 characters */
        { "m1", "42", "not valid" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Tremplin__Envelope src = TREMPLIN__ENVELOPE__INIT;
        with_ping(&src);
        src.msg_id = (char *)bad[i].msg_id;
        src.territory = (char *)bad[i].territory;
        src.cause_id = (char *)bad[i].cause_id;
        Tremplin__Envelope *env = NULL;
        assert_int_equal(unpack_env(&src, &env), WIRE_EHEADER);
        assert_non_null(env); /* returned so the receiver can answer it */
        assert_string_equal(env->msg_id, bad[i].msg_id);
        wire_free(env, NULL);
    }
}

/* The longest ids allowed pass. */
static void test_header_limits(void **state)
{
    (void)state;
    Tremplin__Envelope src = TREMPLIN__ENVELOPE__INIT;
    with_ping(&src);
    src.msg_id = ID64;
    src.territory = "1234567890123456";
    src.cause_id = "Z_-9";
    Tremplin__Envelope *env = NULL;
    assert_int_equal(unpack_env(&src, &env), WIRE_OK);
    wire_free(env, NULL);
}

static void test_payload_not_set(void **state)
{
    (void)state;
    Tremplin__Envelope src;
    char id[TP_ID_LEN + 1];
    header_init(&src, id);
    Tremplin__Envelope *env = NULL;
    assert_int_equal(unpack_env(&src, &env), WIRE_EUNSUPPORTED);
    assert_non_null(env);
    assert_string_equal(env->msg_id, id);
    wire_free(env, NULL);
}

/* A newer peer's payload (field 50, unknown here) is "unsupported". */
static void test_unknown_payload(void **state)
{
    (void)state;
    Tremplin__Envelope src;
    char id[TP_ID_LEN + 1];
    header_init(&src, id);
    wire_buf_t b = { 0 };
    wire_pack(&src, &b);
    static const uint8_t field50[] = { 0x92, 0x03, 0x02, 0x0a, 0x00 }; /* tag 50/LEN, 2 bytes */
    wire_buf_reserve(&b, sizeof field50);
    memcpy(b.data + b.len, field50, sizeof field50);
    b.len += sizeof field50;
    Tremplin__Envelope *env = NULL;
    assert_int_equal(wire_unpack(b.data, b.len, WIRE_MAX_DEFAULT, NULL, &env), WIRE_EUNSUPPORTED);
    assert_int_equal(env->payload_case, TREMPLIN__ENVELOPE__PAYLOAD__NOT_SET);
    assert_string_equal(env->msg_id, id);
    wire_free(env, NULL);
    wire_buf_free(&b);
}

/* ------------------------------------------------------ embedded NULs */

/* Packs r, then turns the '#' of the string s in the packed bytes into a
 * NUL: protobuf-c packs C strings, so a NUL can only be made on the wire. */
static wire_err_t unpack_with_nul(rich_t *r, const char *s, wire_info_t *info)
{
    wire_buf_t b = { 0 };
    wire_pack(&r->env, &b);
    size_t n = strlen(s), at = 0;
    while (at + n <= b.len && memcmp(b.data + at, s, n) != 0)
        at++;
    assert_true(at + n <= b.len);
    b.data[at + (size_t)(strchr(s, '#') - s)] = 0;
    Tremplin__Envelope *env = NULL;
    wire_err_t e = wire_decode(b.data, b.len, WIRE_MAX_DEFAULT, NULL, &env, info);
    check_out(e, env);
    wire_free(env, NULL);
    wire_buf_free(&b);
    return e;
}

/* A string whose wire length is not its C length is refused, named as the
 * handlers name fields: it would otherwise be read cut short ("X\0other" as
 * "X", a duplicate of another referral). */
static void test_embedded_nul(void **state)
{
    (void)state;
    static const struct {
        int at; /* which string gets the marker */
        wire_err_t err;
        const char *field;
    } cases[] = {
        { 0, WIRE_EFIELD, "external_ref" },          { 1, WIRE_EFIELD, "person.given_name" },
        { 2, WIRE_EFIELD, "person.availability[2]" }, { 3, WIRE_EFIELD, "answers[1].question_id" },
        { 4, WIRE_EFIELD, "person.address.city" },    { 5, WIRE_EHEADER, "msg_id" },
        { 6, WIRE_EHEADER, "territory" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rich_t r;
        rich_init(&r);
        char *avail[] = { "mon-am", "tue-pm", "#thu-am" };
        const char *s = "";
        switch (cases[i].at) {
        case 0: s = r.sr.external_ref = "X#other"; break;
        case 1: s = r.person.given_name = "Jo#\001hidden"; break;
        case 2: s = avail[2]; r.person.availability = avail; break;
        case 3: s = r.answer[1].question_id = "q#forms"; break;
        case 4: s = r.address.city = "Saint-#tienne"; break;
        case 5: s = r.env.msg_id = "m1#x"; break;
        case 6: s = r.env.territory = "42#9"; break;
        }
        wire_info_t info;
        assert_int_equal(unpack_with_nul(&r, s, &info), cases[i].err);
        assert_string_equal(info.field, cases[i].field);
        assert_string_equal(info.msg_id, cases[i].at == 5 ? "" : r.env.msg_id);
    }
    /* the same strings without the NUL are fine */
    rich_t r;
    rich_init(&r);
    r.sr.external_ref = "X#other";
    wire_buf_t b = { 0 };
    wire_pack(&r.env, &b);
    Tremplin__Envelope *env = NULL;
    wire_info_t info;
    assert_int_equal(wire_decode(b.data, b.len, WIRE_MAX_DEFAULT, NULL, &env, &info), WIRE_OK);
    assert_string_equal(info.field, "");
    wire_free(env, NULL);
    wire_buf_free(&b);
}

/* A frame refused before (or without) decoding is still answered with the
 * request's ids, read from the raw bytes: a client with several requests in
 * flight knows which one was refused. */
static void test_ids_of_undecodable_frames(void **state)
{
    (void)state;
    rich_t r;
    wire_buf_t b;
    size_t n = rich_pack(&r, &b);
    Tremplin__Envelope *env = NULL;
    wire_info_t info;
    assert_int_equal(wire_decode(b.data, n, n - 1, NULL, &env, &info), WIRE_ETOOBIG);
    assert_null(env);
    assert_string_equal(info.msg_id, r.id);
    assert_string_equal(info.territory, "42");
    /* cut inside the payload: no envelope, the ids before it are known */
    assert_int_equal(wire_decode(b.data, n - 3, WIRE_MAX_DEFAULT, NULL, &env, &info), WIRE_EDECODE);
    assert_string_equal(info.msg_id, r.id);
    assert_string_equal(info.territory, "42");
    /* ids that are not ids are not repeated back */
    Tremplin__Envelope src = TREMPLIN__ENVELOPE__INIT;
    with_ping(&src);
    src.msg_id = "tp:{42}:x";
    src.territory = "42";
    b.len = 0;
    n = wire_pack(&src, &b);
    assert_int_equal(wire_decode(b.data, n, n - 1, NULL, &env, &info), WIRE_ETOOBIG);
    assert_string_equal(info.msg_id, "");
    assert_string_equal(info.territory, "42");
    /* nothing readable at all */
    assert_int_equal(wire_decode((const uint8_t *)"\xff\xff\xff", 3, WIRE_MAX_DEFAULT, NULL, &env, &info),
                     WIRE_EDECODE);
    assert_string_equal(info.msg_id, "");
    wire_buf_free(&b);
}

/* A command from a newer producer is refused; 0 (not stated) reads as 1. */
static void test_check_version(void **state)
{
    (void)state;
    Tremplin__Envelope env;
    char id[TP_ID_LEN + 1];
    header_init(&env, id);
    assert_int_equal(wire_check_version(&env), WIRE_OK);
    env.schema_version = 0;
    assert_int_equal(wire_check_version(&env), WIRE_OK);
    env.schema_version = WIRE_SCHEMA_VERSION + 1;
    assert_int_equal(wire_check_version(&env), WIRE_EVERSION);
    assert_string_equal(wire_error_code(WIRE_EVERSION), "UNSUPPORTED_VERSION");
}

/* ------------------------------------------------------------- helpers */

static void test_type_name(void **state)
{
    (void)state;
    assert_string_equal(wire_type_name(TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL), "SubmitReferral");
    assert_string_equal(wire_type_name(TREMPLIN__ENVELOPE__PAYLOAD_PING), "Ping");
    assert_string_equal(wire_type_name(TREMPLIN__ENVELOPE__PAYLOAD_FOLLOW_UP_REQUESTED), "FollowUpRequested");
    assert_string_equal(wire_type_name(TREMPLIN__ENVELOPE__PAYLOAD_WITHDRAW_CONSENT), "WithdrawConsent");
    assert_string_equal(wire_type_name(TREMPLIN__ENVELOPE__PAYLOAD__NOT_SET), "");
    /* header fields are not payloads; unknown numbers are nothing */
    assert_string_equal(wire_type_name((Tremplin__Envelope__PayloadCase)1), "");
    assert_string_equal(wire_type_name((Tremplin__Envelope__PayloadCase)7), "");
    assert_string_equal(wire_type_name((Tremplin__Envelope__PayloadCase)31), "");
    assert_string_equal(wire_type_name((Tremplin__Envelope__PayloadCase)999), "");
}

static void test_error_codes(void **state)
{
    (void)state;
    assert_string_equal(wire_error_code(WIRE_OK), "OK");
    assert_string_equal(wire_error_code(WIRE_EDECODE), "MALFORMED_MESSAGE");
    assert_string_equal(wire_error_code(WIRE_EUNSUPPORTED), "UNSUPPORTED");
    assert_string_equal(wire_error_code(WIRE_EFIELD), "INVALID_FIELD");
    for (int e = WIRE_EEMPTY; e < WIRE_NERR; e++) {
        assert_true(wire_error_message_fr((wire_err_t)e)[0] != '\0');
        for (int k = WIRE_OK; k < e; k++)
            assert_string_not_equal(wire_error_code((wire_err_t)e), wire_error_code((wire_err_t)k));
    }
}

/* --------------------------------------------------- allocation failure */

typedef struct {
    size_t fail_at; /* index of the allocation that fails */
    size_t calls;   /* allocations asked for */
    size_t allocs;  /* allocations given */
    size_t frees;
} fail_alloc_t;

static void *fail_alloc(void *data, size_t size)
{
    fail_alloc_t *a = data;
    if (a->calls++ == a->fail_at)
        return NULL;
    a->allocs++;
    return malloc(size ? size : 1);
}

static void fail_free(void *data, void *p)
{
    fail_alloc_t *a = data;
    if (p)
        a->frees++;
    free(p);
}

/* Fails the i-th allocation for every i until decoding needs no more: each
 * attempt is a clean WIRE_EDECODE that gives back all it took. */
static void test_alloc_fail(void **state)
{
    (void)state;
    rich_t r;
    wire_buf_t b;
    rich_pack(&r, &b);

    size_t i;
    for (i = 0;; i++) {
        assert_true(i < 10000);
        fail_alloc_t a = { .fail_at = i };
        ProtobufCAllocator pa = { fail_alloc, fail_free, &a };
        Tremplin__Envelope *env = NULL;
        wire_err_t e = wire_unpack(b.data, b.len, WIRE_MAX_DEFAULT, &pa, &env);
        if (e == WIRE_OK) {
            assert_int_equal(a.calls, i); /* the first run with nothing to fail */
            assert_string_equal(env->submit_referral->answers[2]->question_id, "q-phone");
            wire_free(env, &pa);
            assert_int_equal(a.allocs, a.frees);
            break;
        }
        assert_int_equal(e, WIRE_EDECODE);
        assert_null(env);
        assert_int_equal(a.calls, i + 1); /* stopped at the failure */
        assert_int_equal(a.allocs, a.frees);
    }
    /* envelope, payload, 4 nested messages, 3 answers and their arrays */
    assert_true(i > 10);
    wire_buf_free(&b);
}

/* The same allocator counts allocs and frees for a frame returned with a
 * bad header: wire_free with that allocator gives everything back. */
static void test_custom_allocator_header_error(void **state)
{
    (void)state;
    Tremplin__Envelope src = TREMPLIN__ENVELOPE__INIT;
    with_ping(&src);
    src.msg_id = "m1";
    src.territory = "bad territory";
    wire_buf_t b = { 0 };
    wire_pack(&src, &b);
    fail_alloc_t a = { .fail_at = (size_t)-1 };
    ProtobufCAllocator pa = { fail_alloc, fail_free, &a };
    Tremplin__Envelope *env = NULL;
    assert_int_equal(wire_unpack(b.data, b.len, WIRE_MAX_DEFAULT, &pa, &env), WIRE_EHEADER);
    assert_true(a.allocs > 0);
    wire_free(env, &pa);
    assert_int_equal(a.allocs, a.frees);
    wire_free(NULL, &pa); /* harmless */
    wire_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_arena_decodes_as_malloc_does),
        cmocka_unit_test(test_pack_appends),
        cmocka_unit_test(test_stamp),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_random_buffers),
        cmocka_unit_test(test_mutated_frames),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_payload_not_set),
        cmocka_unit_test(test_unknown_payload),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_ids_of_undecodable_frames),
        cmocka_unit_test(test_check_version),
        cmocka_unit_test(test_type_name),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_alloc_fail),
        cmocka_unit_test(test_custom_allocator_header_error),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
