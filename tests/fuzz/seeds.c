/* Writes the fuzzers' seed corpus into DIR: for the envelope decoders, one
 * valid sample per payload type and one referral per rejection code; for
 * referral_json, the example referral and its variants; for reply, SMS
 * replies. Generated at build
 * time from the schema, so it never goes stale. */
#include <stdio.h>
#include <string.h>

#include "wire.h"

/* nul: a string of env whose middle byte becomes a NUL in the packed bytes
 * (only the wire can carry one), or NULL. */
static void write_sample(const char *dir, const char *name, Tremplin__Envelope *env, const char *nul)
{
    char id[TP_ID_LEN + 1], path[512];
    wire_stamp(env, id, "cause", "seeds", "42");
    wire_buf_t b = { 0 };
    wire_pack(env, &b);
    for (size_t at = 0, n = nul ? strlen(nul) : 0; nul && at + n <= b.len; at++)
        if (memcmp(b.data + at, nul, n) == 0) {
            b.data[at + n / 2] = 0;
            break;
        }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b.data, 1, b.len, f);
        fclose(f);
    }
    wire_buf_free(&b);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int json_seeds(const char *dir)
{
    FILE *f = fopen("deploy/examples/referral.json", "r");
    static char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    write_text(dir, "example", buf);
    write_text(dir, "empty_object", "{}");
    write_text(dir, "wrong_types", "{\"branch\": 1, \"person\": [], \"answers\": {\"q\": \"x\"}}");
    write_text(dir, "trailing", "{\"branch\": \"wilson\"} {}");
    return 0;
}

/* SMS replies to the gateway, as people type them */
static int reply_seeds(const char *dir)
{
    static const char *const replies[] = { "OUI", "Oui merci.", "NÔN !", "ANNULER", "1 OUI", "4-non", "2", "ＯＵＩ",
                                           "oui non", "Annulé svp" };
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "reply_%zu", i);
        write_text(dir, name, replies[i]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: seeds DIR TARGET\n");
        return 2;
    }
    if (!strcmp(argv[2], "referral_json"))
        return json_seeds(argv[1]);
    if (!strcmp(argv[2], "reply"))
        return reply_seeds(argv[1]);
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Ping ping = TREMPLIN__PING__INIT;
    ping.nonce = "n";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
    env.ping = &ping;
    write_sample(argv[1], "ping", &env, NULL);

    Tremplin__Probe probe = TREMPLIN__PROBE__INIT;
    char *route[] = { "matcher", "scheduler" };
    probe.key = "k-1";
    probe.route = route;
    probe.n_route = 2;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    env.probe = &probe;
    write_sample(argv[1], "probe", &env, NULL);

    Tremplin__SubmitReferral sr = TREMPLIN__SUBMIT_REFERRAL__INIT;
    Tremplin__Mediator med = TREMPLIN__MEDIATOR__INIT;
    Tremplin__Person person = TREMPLIN__PERSON__INIT;
    Tremplin__Consent consent = TREMPLIN__CONSENT__INIT;
    Tremplin__Answer a1 = TREMPLIN__ANSWER__INIT, *answers[] = { &a1 };
    char *needs[] = { "email", "online_forms" }, *avail[] = { "mon-am", "thu-pm" }, *purposes[] = { "training", "sms" };
    med.id = "m-7";
    med.partner = "pimms";
    person.given_name = "C.";
    person.phone = "0612345678";
    person.birth_year = 1950;
    person.availability = avail;
    person.n_availability = 2;
    consent.given = 1;
    consent.given_at_ms = 1790000000000ULL;
    consent.purposes = purposes;
    consent.n_purposes = 2;
    consent.text_version = "v1";
    a1.question_id = "q1";
    a1.score = 2;
    sr.branch = "wilson";
    sr.external_ref = "REF-1";
    sr.mediator = &med;
    sr.person = &person;
    sr.consent = &consent;
    sr.needs = needs;
    sr.n_needs = 2;
    sr.answers = answers;
    sr.n_answers = 1;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL;
    env.submit_referral = &sr;
    write_sample(argv[1], "submit_referral", &env, NULL);

    /* one referral per rejection code */
    sr.branch = "";
    write_sample(argv[1], "reject_missing_field", &env, NULL);
    sr.branch = "wilson";
    person.phone = "12";
    write_sample(argv[1], "reject_invalid_field", &env, NULL);
    person.phone = "0612345678";
    char *dup_avail[] = { "mon-am", "mon-am" };
    person.availability = dup_avail;
    write_sample(argv[1], "reject_duplicate_value", &env, NULL);
    char *bad_avail[] = { "sun-am" };
    person.availability = bad_avail;
    person.n_availability = 1;
    write_sample(argv[1], "reject_unknown_value", &env, NULL);
    person.availability = avail;
    person.n_availability = 2;
    char *many[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i" };
    person.accessibility = many;
    person.n_accessibility = 9;
    write_sample(argv[1], "reject_too_many", &env, NULL);
    person.n_accessibility = 0;
    consent.given = 0;
    write_sample(argv[1], "reject_consent_required", &env, NULL);
    consent.given = 1;
    /* strings the decoder refuses: a NUL in the payload, in the header */
    sr.external_ref = "REF-other";
    write_sample(argv[1], "reject_nul_in_string", &env, "REF-other");
    sr.external_ref = "REF-1";
    write_sample(argv[1], "reject_nul_in_header", &env, "SubmitReferral");

    Tremplin__Error err = TREMPLIN__ERROR__INIT;
    err.code = "INVALID_FIELD";
    err.field = "person.phone";
    err.message_fr = "Numéro invalide.";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ERROR;
    env.error = &err;
    write_sample(argv[1], "error", &env, NULL);
    return 0;
}
