/* Writes the fuzzers' seed corpus into DIR: for the envelope decoders, one
 * sample of every payload type (walked from the schema's descriptors), one
 * referral per rejection code and survey answers with their rejections; for
 * referral_json, the example referral and its variants; for reply, SMS
 * replies; for catalogue, timetable and conf, the shipped files and broken
 * variants. Generated at build time from the schema and deploy/, so it never
 * goes stale. */
#include <stdio.h>
#include <stdlib.h>
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

/* The file at path (from the source tree), whole, or "" */
static const char *slurp(const char *path)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

/* A shipped document (catalogue, timetable) and variants each check refuses */
static int file_seeds(const char *dir, const char *path, const char *const *broken, size_t nbroken)
{
    write_text(dir, "shipped", slurp(path));
    for (size_t i = 0; i < nbroken; i++) {
        char name[16];
        snprintf(name, sizeof name, "broken_%zu", i);
        write_text(dir, name, broken[i]);
    }
    return 0;
}

static int conf_seeds(const char *dir)
{
    write_text(dir, "good", "; comment\n[redis]\nhost = 127.0.0.1\nport = 6390\nrequire_aof = no\n"
                            "[clock]\nspeed = 2.5\n[endpoints]\nintake = tcp://127.0.0.1:6391\n");
    write_text(dir, "unknown_key", "[redis]\nhots = x\n");
    write_text(dir, "bad_int", "[redis]\nport = 63a\n");
    write_text(dir, "bad_bool", "[redis]\nrequire_aof = peut-etre\n");
    write_text(dir, "long_value", "[redis]\nhost = 0123456789012345678901234567890123456789012345678901234567890123456789\n");
    write_text(dir, "no_section", "port = 1\n");
    write_text(dir, "other_section", "[sentinel]\nx = 1\n");
    return 0;
}

/* Spreadsheet lines as French Excel writes them, and the strictness errors */
static int csv_seeds(const char *dir)
{
    static const char head[] = "branch;external_ref;mediator_id;partner;given_name;phone;birth_year;availability;"
                               "consent;consent_date;purposes;text_version;needs;mouse_touch;email\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%swilson;WIL-1;med-07;pimms;Josiane;06 12 34 56 78;1948;mon-am thu-pm;Oui;"
                              "28/11/2026;training sms;2026-09;email;2;0\n", head);
    write_text(dir, "excel_row", buf);
    snprintf(buf, sizeof buf, "%swilson;WIL-2;med-07;pimms;Jo;0612345678;48;mon-am;peut-etre;2026-13-45;x;v;;deux;0\n",
             head);
    write_text(dir, "strict_errors", buf);
    write_text(dir, "unknown_column", "branch,externe,given_name\nwilson,1,Jo\n");
    return 0;
}

/* Every payload of the envelope's oneof, with its scalar fields set: walked
 * from the descriptors, so a message added to the schema gets its sample. */
static void payload_samples(const char *dir)
{
    const ProtobufCMessageDescriptor *ed = &tremplin__envelope__descriptor;
    for (unsigned i = 0; i < ed->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &ed->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const ProtobufCMessageDescriptor *md = f->descriptor;
        ProtobufCMessage *m = calloc(1, md->sizeof_message);
        if (!m)
            return;
        protobuf_c_message_init(md, m);
        for (unsigned j = 0; j < md->n_fields; j++) {
            const ProtobufCFieldDescriptor *g = &md->fields[j];
            if (g->label == PROTOBUF_C_LABEL_REPEATED)
                continue;
            char *at = (char *)m + g->offset;
            switch (g->type) {
            case PROTOBUF_C_TYPE_STRING: *(const char **)at = "x-1"; break;
            case PROTOBUF_C_TYPE_UINT32:
            case PROTOBUF_C_TYPE_INT32:
            case PROTOBUF_C_TYPE_ENUM:
            case PROTOBUF_C_TYPE_BOOL: *(uint32_t *)at = 1; break;
            case PROTOBUF_C_TYPE_UINT64:
            case PROTOBUF_C_TYPE_INT64: *(uint64_t *)at = 1; break;
            default: break;
            }
        }
        Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
        *(ProtobufCMessage **)((char *)&env + f->offset) = m;
        *(uint32_t *)((char *)&env + f->quantifier_offset) = f->id;
        char name[80];
        snprintf(name, sizeof name, "payload_%s", f->name);
        write_sample(dir, name, &env, NULL);
        free(m);
    }
}

/* survey answers: a good one by each channel, and one per rejection */
static void survey_samples(const char *dir)
{
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
    Tremplin__SubmitSurvey sv = TREMPLIN__SUBMIT_SURVEY__INIT;
    env.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_SURVEY;
    env.submit_survey = &sv;
    sv.participation_id = "0123456789abcdef0123456789abcdef";
    sv.satisfaction = 1;
    sv.wants_more = 1;
    sv.wants_more_given = 1;
    sv.requested_topic = "budget";
    sv.comment = "Très bien, merci à la formatrice.";
    sv.channel = "kiosk";
    write_sample(dir, "survey_kiosk", &env, NULL);
    sv.channel = "paper";
    sv.person_id = "p-1";
    sv.session_id = "s-1";
    write_sample(dir, "survey_paper", &env, NULL);
    sv.satisfaction = 5;
    write_sample(dir, "survey_reject_scale", &env, NULL);
    sv.satisfaction = 2;
    sv.channel = "fax";
    write_sample(dir, "survey_reject_channel", &env, NULL);
    sv.channel = "sms";
    sv.requested_topic = "astrophysique";
    write_sample(dir, "survey_reject_topic", &env, NULL);
    sv.requested_topic = "";
    sv.participation_id = "zz";
    write_sample(dir, "survey_reject_participation", &env, NULL);
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
    if (!strcmp(argv[2], "conf"))
        return conf_seeds(argv[1]);
    if (!strcmp(argv[2], "referral_csv"))
        return csv_seeds(argv[1]);
    if (!strcmp(argv[2], "catalogue")) {
        static const char *const broken[] = { "{}", "{\"kinds\": [{\"code\": \"\"}]}", "[1, 2",
                                              "{\"kinds\": [], \"unknown\": true}" };
        return file_seeds(argv[1], "deploy/catalogue.json", broken, sizeof broken / sizeof broken[0]);
    }
    if (!strcmp(argv[2], "timetable")) {
        static const char *const broken[] = { "{}", "{\"timezone\": \"Mars/Olympus\"}",
                                              "{\"weekly\": [{\"day\": \"lundi\", \"start\": \"25:00\"}]}" };
        return file_seeds(argv[1], "deploy/timetable.json", broken, sizeof broken / sizeof broken[0]);
    }
    payload_samples(argv[1]);
    survey_samples(argv[1]);
    Tremplin__Envelope env = TREMPLIN__ENVELOPE__INIT;
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
