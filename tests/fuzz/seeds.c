/* Writes one valid sample per payload type into DIR, as the fuzzer's seed
 * corpus; generated from the schema at build time so it never goes stale. */
#include <stdio.h>
#include <string.h>

#include "wire.h"

static void write_sample(const char *dir, const char *name, Tremplin__Envelope *env)
{
    char id[TP_ID_LEN + 1], path[512];
    wire_stamp(env, id, "cause", "seeds", "42");
    wire_buf_t b = { 0 };
    wire_pack(env, &b);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b.data, 1, b.len, f);
        fclose(f);
    }
    wire_buf_free(&b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 2;
    }
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__Ping ping = TREMPLIN__PING__INIT;
    ping.nonce = "n";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PING;
    env.ping = &ping;
    write_sample(argv[1], "ping", &env);

    Tremplin__Probe probe = TREMPLIN__PROBE__INIT;
    char *route[] = { "matcher", "scheduler" };
    probe.key = "k-1";
    probe.route = route;
    probe.n_route = 2;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
    env.probe = &probe;
    write_sample(argv[1], "probe", &env);

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
    write_sample(argv[1], "submit_referral", &env);

    Tremplin__Error err = TREMPLIN__ERROR__INIT;
    err.code = "INVALID_FIELD";
    err.field = "person.phone";
    err.message_fr = "Numéro invalide.";
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_ERROR;
    env.error = &err;
    write_sample(argv[1], "error", &env);
    return 0;
}
