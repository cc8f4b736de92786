/* Unit tests for services/intake/referral: one valid SubmitReferral, then
 * one mutation per rule, each with the code and the field the counter agent
 * is shown; phone numbers; the order of the checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "intake/referral.h"
#include "util.h"

/* A fixed business clock, so that the year boundaries below are known:
 * 2026-06-15 12:00:00 UTC. */
#define NOW_MS 1781524800000LL
#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)
#define THIS_YEAR 2026

/* ------------------------------------------------------------- fixture */

/* Everything a SubmitReferral points to, in static storage. */
typedef struct {
    Tremplin__SubmitReferral sr;
    Tremplin__Mediator mediator;
    Tremplin__Person person;
    Tremplin__PostalAddress address;
    Tremplin__Consent consent;
    Tremplin__Answer answer[40];
    Tremplin__Answer *answers[40];
    char *purposes[4];
    char *availability[16];
    char *accessibility[12];
    char *needs[20];
    char qid[40][REFERRAL_QUESTION_MAX + 1];
    char buf[4][128]; /* for generated strings */
} fixture_t;

static fixture_t fx;

/* The one fully valid referral every case starts from. */
static Tremplin__SubmitReferral *valid_referral(void)
{
    memset(&fx, 0, sizeof fx);
    fx.sr = (Tremplin__SubmitReferral)TREMPLIN__SUBMIT_REFERRAL__INIT;
    fx.mediator = (Tremplin__Mediator)TREMPLIN__MEDIATOR__INIT;
    fx.person = (Tremplin__Person)TREMPLIN__PERSON__INIT;
    fx.address = (Tremplin__PostalAddress)TREMPLIN__POSTAL_ADDRESS__INIT;
    fx.consent = (Tremplin__Consent)TREMPLIN__CONSENT__INIT;

    fx.sr.branch = "st-etienne-centre";
    fx.sr.external_ref = "EXT-2026/06.0001";
    fx.mediator.id = "med-7";
    fx.mediator.partner = "face-loire";
    fx.sr.mediator = &fx.mediator;

    fx.person.given_name = "Élodie";
    fx.person.phone = "06 12 34 56 78";
    fx.person.birth_year = 1958;
    fx.availability[0] = "mon-am";
    fx.availability[1] = "thu-pm";
    fx.person.availability = fx.availability;
    fx.person.n_availability = 2;
    fx.accessibility[0] = "wheelchair";
    fx.person.accessibility = fx.accessibility;
    fx.person.n_accessibility = 1;
    fx.sr.person = &fx.person;

    fx.consent.given = 1;
    fx.purposes[0] = "training";
    fx.purposes[1] = "sms";
    fx.purposes[2] = "survey";
    fx.consent.purposes = fx.purposes;
    fx.consent.n_purposes = 3;
    fx.consent.text_version = "v3.1";
    fx.consent.given_at_ms = (uint64_t)(NOW_MS - HOUR_MS);
    fx.sr.consent = &fx.consent;

    fx.needs[0] = "email";
    fx.needs[1] = "budget";
    fx.sr.needs = fx.needs;
    fx.sr.n_needs = 2;

    static const char *const qids[] = { "mouse_touch", "email", "online_form" };
    for (int i = 0; i < 40; i++) {
        fx.answer[i] = (Tremplin__Answer)TREMPLIN__ANSWER__INIT;
        if (i < 3)
            snprintf(fx.qid[i], sizeof fx.qid[i], "%s", qids[i]);
        else
            snprintf(fx.qid[i], sizeof fx.qid[i], "q%02d", i);
        fx.answer[i].question_id = fx.qid[i];
        fx.answer[i].score = i % 4;
        fx.answers[i] = &fx.answer[i];
    }
    fx.sr.answers = fx.answers;
    fx.sr.n_answers = 3;
    return &fx.sr;
}

/* A string of n copies of c, in one of the fixture's buffers. */
static char *repeat(int slot, char c, size_t n)
{
    assert_true(n < sizeof fx.buf[slot]);
    memset(fx.buf[slot], c, n);
    fx.buf[slot][n] = '\0';
    return fx.buf[slot];
}

static void reset_err(referral_error_t *err)
{
    err->code = NULL;
    memset(err->field, 'x', sizeof err->field - 1);
    err->field[sizeof err->field - 1] = '\0';
    err->message_fr[0] = '\0';
}

static void test_valid(void **state)
{
    (void)state;
    referral_error_t err;
    reset_err(&err);
    assert_int_equal(referral_validate(valid_referral(), NOW_MS, &err), 0);
    assert_null(err.code);
    reset_err(&err);
    assert_int_equal(referral_check_envelope(valid_referral(), &err), 0);
    assert_int_equal(referral_check_consent(valid_referral(), NOW_MS, &err), 0);
    assert_null(err.code);
}

/* ----------------------------------------------------------- mutations */

typedef void (*mutate_fn)(Tremplin__SubmitReferral *r);

/* envelope */
static void m_no_branch(Tremplin__SubmitReferral *r) { r->branch = ""; }
static void m_null_branch(Tremplin__SubmitReferral *r) { r->branch = NULL; }
static void m_branch_space(Tremplin__SubmitReferral *r) { r->branch = "st etienne"; }
static void m_branch_slash(Tremplin__SubmitReferral *r) { r->branch = "st/etienne"; }
static void m_branch_32(Tremplin__SubmitReferral *r) { r->branch = repeat(0, 'b', 32); }
static void m_branch_33(Tremplin__SubmitReferral *r) { r->branch = repeat(0, 'b', 33); }
static void m_no_ref(Tremplin__SubmitReferral *r) { r->external_ref = ""; }
static void m_ref_64(Tremplin__SubmitReferral *r) { r->external_ref = repeat(0, 'R', 64); }
static void m_ref_65(Tremplin__SubmitReferral *r) { r->external_ref = repeat(0, 'R', 65); }
static void m_ref_hash(Tremplin__SubmitReferral *r) { r->external_ref = "EXT#1"; }
static void m_no_mediator(Tremplin__SubmitReferral *r) { r->mediator = NULL; }
static void m_no_mediator_id(Tremplin__SubmitReferral *r) { r->mediator->id = ""; }
static void m_bad_mediator_id(Tremplin__SubmitReferral *r) { r->mediator->id = "med 7"; }
static void m_mediator_id_65(Tremplin__SubmitReferral *r) { r->mediator->id = repeat(0, 'm', 65); }
static void m_no_partner(Tremplin__SubmitReferral *r) { r->mediator->partner = ""; }
static void m_bad_partner(Tremplin__SubmitReferral *r) { r->mediator->partner = "face/loire"; }

/* consent */
static void m_no_consent(Tremplin__SubmitReferral *r) { r->consent = NULL; }
static void m_consent_not_given(Tremplin__SubmitReferral *r) { r->consent->given = 0; }
static void m_consent_no_training(Tremplin__SubmitReferral *r)
{
    r->consent->purposes[0] = "survey";
    r->consent->purposes[1] = "sms";
    r->consent->n_purposes = 2;
}
static void m_consent_no_purpose(Tremplin__SubmitReferral *r) { r->consent->n_purposes = 0; }
static void m_consent_training_only(Tremplin__SubmitReferral *r) { r->consent->n_purposes = 1; }
static void m_consent_unknown_purpose(Tremplin__SubmitReferral *r) { r->consent->purposes[1] = "marketing"; }
static void m_consent_dup_purpose(Tremplin__SubmitReferral *r)
{
    r->consent->purposes[3] = "training";
    r->consent->n_purposes = 4;
}
static void m_no_text_version(Tremplin__SubmitReferral *r) { r->consent->text_version = ""; }
static void m_bad_text_version(Tremplin__SubmitReferral *r) { r->consent->text_version = "v 3"; }
static void m_text_version_17(Tremplin__SubmitReferral *r) { r->consent->text_version = repeat(0, 'v', 17); }
static void m_text_version_16(Tremplin__SubmitReferral *r) { r->consent->text_version = repeat(0, 'v', 16); }
static void m_given_at_0(Tremplin__SubmitReferral *r) { r->consent->given_at_ms = 0; }
static void m_given_at_future(Tremplin__SubmitReferral *r) { r->consent->given_at_ms = NOW_MS + 10 * 60 * 1000 + 1; }
static void m_given_at_10min(Tremplin__SubmitReferral *r) { r->consent->given_at_ms = NOW_MS + 10 * 60 * 1000; }
static void m_given_at_now(Tremplin__SubmitReferral *r) { r->consent->given_at_ms = NOW_MS; }
static void m_given_at_90d(Tremplin__SubmitReferral *r) { r->consent->given_at_ms = NOW_MS - 90 * DAY_MS; }
static void m_given_at_old(Tremplin__SubmitReferral *r) { r->consent->given_at_ms = NOW_MS - 90 * DAY_MS - 1; }

/* person */
static void m_no_person(Tremplin__SubmitReferral *r) { r->person = NULL; }
static void m_person_id_short(Tremplin__SubmitReferral *r) { r->person->person_id = repeat(0, 'a', TP_ID_LEN - 1); }
static void m_person_id_long(Tremplin__SubmitReferral *r) { r->person->person_id = repeat(0, 'a', TP_ID_LEN + 1); }
static void m_person_id_dash(Tremplin__SubmitReferral *r)
{
    r->person->person_id = repeat(0, 'a', TP_ID_LEN);
    fx.buf[0][5] = '-';
}
/* A known person: the record already has their name and contact. */
static void m_known_bare(Tremplin__SubmitReferral *r)
{
    r->person->person_id = "0123456789abcdef0123456789abcdef";
    r->person->given_name = "";
    r->person->phone = "";
    r->person->address = NULL;
    r->person->n_availability = 0;
}
static void m_no_name(Tremplin__SubmitReferral *r) { r->person->given_name = ""; }
static void m_null_name(Tremplin__SubmitReferral *r) { r->person->given_name = NULL; }
static void m_name_tab(Tremplin__SubmitReferral *r) { r->person->given_name = "Ann\te"; }
static void m_name_newline(Tremplin__SubmitReferral *r) { r->person->given_name = "Anne\n"; }
static void m_name_del(Tremplin__SubmitReferral *r) { r->person->given_name = "Anne\x7f"; }
static void m_name_latin1(Tremplin__SubmitReferral *r) { r->person->given_name = "Ren\xe9"; }
static void m_name_cut_utf8(Tremplin__SubmitReferral *r) { r->person->given_name = "Ren\xc3"; }
static void m_name_stray_cont(Tremplin__SubmitReferral *r) { r->person->given_name = "A\x80"; }
static void m_name_no_letter(Tremplin__SubmitReferral *r) { r->person->given_name = "12 . -"; }
static void m_name_initials(Tremplin__SubmitReferral *r) { r->person->given_name = "A. B."; }
static void m_name_accented(Tremplin__SubmitReferral *r) { r->person->given_name = "É. Ô."; }
static void m_name_64(Tremplin__SubmitReferral *r) { r->person->given_name = repeat(0, 'n', 64); }
static void m_name_65(Tremplin__SubmitReferral *r) { r->person->given_name = repeat(0, 'n', 65); }
static void m_no_contact(Tremplin__SubmitReferral *r)
{
    r->person->phone = "";
    r->person->address = NULL;
}
static void m_no_contact_no_sms(Tremplin__SubmitReferral *r)
{
    m_no_contact(r);
    r->consent->n_purposes = 1;
}
static void m_empty_address(Tremplin__SubmitReferral *r)
{
    r->person->phone = NULL;
    r->person->address = &fx.address; /* all fields empty: no address */
}
static void set_address(Tremplin__SubmitReferral *r)
{
    fx.address.line1 = "1 rue de la Paix";
    fx.address.postcode = "42000";
    fx.address.city = "Saint-Étienne";
    r->person->address = &fx.address;
}
static void m_address_only(Tremplin__SubmitReferral *r) /* no sms: a letter is enough */
{
    r->person->phone = "";
    set_address(r);
    r->consent->n_purposes = 1;
}
static void m_address_only_sms(Tremplin__SubmitReferral *r)
{
    r->person->phone = "";
    set_address(r);
}
static void m_phone_and_address(Tremplin__SubmitReferral *r) { set_address(r); }
static void m_bad_phone(Tremplin__SubmitReferral *r) { r->person->phone = "06 12 34 56"; }
static void m_foreign_phone(Tremplin__SubmitReferral *r) { r->person->phone = "+44 20 7946 0958"; }
static void m_landline_sms(Tremplin__SubmitReferral *r) { r->person->phone = "04 77 12 34 56"; }
static void m_landline_no_sms(Tremplin__SubmitReferral *r)
{
    r->person->phone = "04 77 12 34 56";
    r->consent->purposes[1] = "survey";
    r->consent->n_purposes = 2;
}
static void m_mobile_07(Tremplin__SubmitReferral *r) { r->person->phone = "+33 7 12 34 56 78"; }
static void m_bad_postcode(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.postcode = "4200A";
}
static void m_short_postcode(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.postcode = "4200";
}
static void m_long_postcode(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.postcode = "420000";
}
static void m_no_postcode(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.postcode = "";
}
static void m_no_city(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.city = "";
}
static void m_null_city(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.city = NULL;
}
static void m_null_postcode(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.postcode = NULL;
}
static void m_no_line1(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.line1 = "";
}
static void m_bad_line2(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.line2 = "Bât.\rB";
}
static void m_line2(Tremplin__SubmitReferral *r)
{
    set_address(r);
    fx.address.line2 = "Bâtiment B";
}
static void m_born_1899(Tremplin__SubmitReferral *r) { r->person->birth_year = 1899; }
static void m_born_1900(Tremplin__SubmitReferral *r) { r->person->birth_year = 1900; }
static void m_born_year_15(Tremplin__SubmitReferral *r) { r->person->birth_year = THIS_YEAR - 15; }
static void m_born_year_16(Tremplin__SubmitReferral *r) { r->person->birth_year = THIS_YEAR - 16; }
static void m_born_unknown(Tremplin__SubmitReferral *r) { r->person->birth_year = 0; }
static void m_no_availability(Tremplin__SubmitReferral *r) { r->person->n_availability = 0; }
static void m_sat_pm(Tremplin__SubmitReferral *r) { r->person->availability[1] = "sat-pm"; }
static void m_dup_availability(Tremplin__SubmitReferral *r)
{
    r->person->availability[2] = "mon-am";
    r->person->n_availability = 3;
}
static void m_all_availability(Tremplin__SubmitReferral *r)
{
    for (int i = 0; referral_half_days[i]; i++) {
        r->person->availability[i] = (char *)referral_half_days[i];
        r->person->n_availability = (size_t)i + 1;
    }
}
static void m_12_availability(Tremplin__SubmitReferral *r)
{
    m_all_availability(r);
    r->person->availability[r->person->n_availability++] = "sat-pm";
}
static void m_bad_access(Tremplin__SubmitReferral *r) { r->person->accessibility[0] = "wheel chair"; }
static void m_long_access(Tremplin__SubmitReferral *r) { r->person->accessibility[0] = repeat(0, 'a', 33); }
static void m_dup_access(Tremplin__SubmitReferral *r)
{
    r->person->accessibility[1] = "hearing_aid";
    r->person->accessibility[2] = "wheelchair";
    r->person->n_accessibility = 3;
}
static void set_access(Tremplin__SubmitReferral *r, size_t n)
{
    static char tags[12][8];
    for (size_t i = 0; i < n; i++) {
        snprintf(tags[i], sizeof tags[i], "tag-%zu", i);
        r->person->accessibility[i] = tags[i];
    }
    r->person->n_accessibility = n;
}
static void m_8_access(Tremplin__SubmitReferral *r) { set_access(r, 8); }
static void m_9_access(Tremplin__SubmitReferral *r) { set_access(r, 9); }

/* needs */
static void m_no_needs(Tremplin__SubmitReferral *r) { r->n_needs = 0; }
static void m_unknown_need(Tremplin__SubmitReferral *r) { r->needs[1] = "cooking"; }
static void m_dup_need(Tremplin__SubmitReferral *r)
{
    r->needs[2] = "email";
    r->n_needs = 3;
}
static void m_all_needs(Tremplin__SubmitReferral *r)
{
    for (int i = 0; referral_needs[i]; i++) {
        r->needs[i] = (char *)referral_needs[i];
        r->n_needs = (size_t)i + 1;
    }
}
static void m_17_needs(Tremplin__SubmitReferral *r)
{
    for (int i = 0; i < 17; i++)
        r->needs[i] = "email";
    r->n_needs = 17;
}

/* answers */
static void m_no_answers(Tremplin__SubmitReferral *r) { r->n_answers = 0; }
static void m_32_answers(Tremplin__SubmitReferral *r) { r->n_answers = 32; }
static void m_33_answers(Tremplin__SubmitReferral *r) { r->n_answers = 33; }
static void m_bad_question(Tremplin__SubmitReferral *r) { r->answers[2]->question_id = "online form"; }
static void m_empty_question(Tremplin__SubmitReferral *r) { r->answers[1]->question_id = ""; }
static void m_long_question(Tremplin__SubmitReferral *r) { r->answers[0]->question_id = repeat(0, 'q', 33); }
static void m_null_answer(Tremplin__SubmitReferral *r) { r->answers[1] = NULL; }
static void m_dup_question(Tremplin__SubmitReferral *r) { r->answers[2]->question_id = "mouse_touch"; }

typedef struct {
    const char *name;
    mutate_fn mutate;
    const char *code; /* NULL: still valid */
    const char *field;
} mutation_t;

static const mutation_t mutations[] = {
    /* envelope */
    { "missing branch", m_no_branch, "MISSING_FIELD", "branch" },
    { "NULL branch", m_null_branch, "MISSING_FIELD", "branch" },
    { "branch with a space", m_branch_space, "INVALID_FIELD", "branch" },
    { "branch with a slash", m_branch_slash, "INVALID_FIELD", "branch" },
    { "branch of 32", m_branch_32, NULL, NULL },
    { "branch of 33", m_branch_33, "INVALID_FIELD", "branch" },
    { "missing external_ref", m_no_ref, "MISSING_FIELD", "external_ref" },
    { "external_ref of 64", m_ref_64, NULL, NULL },
    { "external_ref of 65", m_ref_65, "INVALID_FIELD", "external_ref" },
    { "external_ref with #", m_ref_hash, "INVALID_FIELD", "external_ref" },
    { "no mediator", m_no_mediator, "MISSING_FIELD", "mediator.id" },
    { "missing mediator id", m_no_mediator_id, "MISSING_FIELD", "mediator.id" },
    { "mediator id with a space", m_bad_mediator_id, "INVALID_FIELD", "mediator.id" },
    { "mediator id of 65", m_mediator_id_65, "INVALID_FIELD", "mediator.id" },
    { "missing partner", m_no_partner, "MISSING_FIELD", "mediator.partner" },
    { "partner with a slash", m_bad_partner, "INVALID_FIELD", "mediator.partner" },
    /* consent */
    { "no consent message", m_no_consent, "CONSENT_REQUIRED", "consent.given" },
    { "consent not given", m_consent_not_given, "CONSENT_REQUIRED", "consent.given" },
    { "consent without training", m_consent_no_training, "CONSENT_REQUIRED", "consent.purposes" },
    { "consent without purposes", m_consent_no_purpose, "CONSENT_REQUIRED", "consent.purposes" },
    { "consent for training only", m_consent_training_only, NULL, NULL },
    { "unknown purpose", m_consent_unknown_purpose, "UNKNOWN_VALUE", "consent.purposes[1]" },
    { "duplicate purpose", m_consent_dup_purpose, "DUPLICATE_VALUE", "consent.purposes[3]" },
    { "missing text_version", m_no_text_version, "MISSING_FIELD", "consent.text_version" },
    { "text_version with a space", m_bad_text_version, "INVALID_FIELD", "consent.text_version" },
    { "text_version of 16", m_text_version_16, NULL, NULL },
    { "text_version of 17", m_text_version_17, "INVALID_FIELD", "consent.text_version" },
    { "given_at 0", m_given_at_0, "MISSING_FIELD", "consent.given_at" },
    { "given_at > now + 10 min", m_given_at_future, "INVALID_FIELD", "consent.given_at" },
    { "given_at = now + 10 min", m_given_at_10min, NULL, NULL },
    { "given_at = now", m_given_at_now, NULL, NULL },
    { "given_at = now - 90 days", m_given_at_90d, NULL, NULL },
    { "given_at older than 90 days", m_given_at_old, "INVALID_FIELD", "consent.given_at" },
    /* person */
    { "no person", m_no_person, "MISSING_FIELD", "person" },
    { "person_id of 31", m_person_id_short, "INVALID_FIELD", "person.person_id" },
    { "person_id of 33", m_person_id_long, "INVALID_FIELD", "person.person_id" },
    { "person_id with a dash", m_person_id_dash, "INVALID_FIELD", "person.person_id" },
    { "known person_id, no name nor contact", m_known_bare, NULL, NULL },
    { "no given_name", m_no_name, "MISSING_FIELD", "person.given_name" },
    { "NULL given_name", m_null_name, "MISSING_FIELD", "person.given_name" },
    { "name with a tab", m_name_tab, "INVALID_FIELD", "person.given_name" },
    { "name with a newline", m_name_newline, "INVALID_FIELD", "person.given_name" },
    { "name with DEL", m_name_del, "INVALID_FIELD", "person.given_name" },
    { "name in Latin-1", m_name_latin1, "INVALID_FIELD", "person.given_name" },
    { "name with a cut UTF-8 sequence", m_name_cut_utf8, "INVALID_FIELD", "person.given_name" },
    { "name with a stray continuation byte", m_name_stray_cont, "INVALID_FIELD", "person.given_name" },
    { "name without a letter", m_name_no_letter, "INVALID_FIELD", "person.given_name" },
    { "initials", m_name_initials, NULL, NULL },
    { "accented initials only", m_name_accented, NULL, NULL },
    { "name of 64 bytes", m_name_64, NULL, NULL },
    { "name of 65 bytes", m_name_65, "INVALID_FIELD", "person.given_name" },
    { "no phone and no address", m_no_contact, "MISSING_FIELD", "person.phone" },
    { "no phone, no address, no sms", m_no_contact_no_sms, "MISSING_FIELD", "person.phone" },
    { "an address with every field empty", m_empty_address, "MISSING_FIELD", "person.phone" },
    { "address only, no sms", m_address_only, NULL, NULL },
    { "address only, sms consent", m_address_only_sms, "MISSING_FIELD", "person.phone" },
    { "phone and address", m_phone_and_address, NULL, NULL },
    { "phone of 8 digits", m_bad_phone, "INVALID_FIELD", "person.phone" },
    { "British phone", m_foreign_phone, "INVALID_FIELD", "person.phone" },
    { "landline with sms consent", m_landline_sms, "INVALID_FIELD", "person.phone" },
    { "landline without sms consent", m_landline_no_sms, NULL, NULL },
    { "07 mobile, international form", m_mobile_07, NULL, NULL },
    { "postcode with a letter", m_bad_postcode, "INVALID_FIELD", "person.address.postcode" },
    { "postcode of 4 digits", m_short_postcode, "INVALID_FIELD", "person.address.postcode" },
    { "postcode of 6 digits", m_long_postcode, "INVALID_FIELD", "person.address.postcode" },
    { "address without postcode", m_no_postcode, "INVALID_FIELD", "person.address.postcode" },
    { "address without city", m_no_city, "INVALID_FIELD", "person.address.city" },
    { "address with a NULL city", m_null_city, "INVALID_FIELD", "person.address.city" },
    { "address with a NULL postcode", m_null_postcode, "INVALID_FIELD", "person.address.postcode" },
    { "address without line1", m_no_line1, "INVALID_FIELD", "person.address.line1" },
    { "line2 with a control char", m_bad_line2, "INVALID_FIELD", "person.address.line2" },
    { "address with line2", m_line2, NULL, NULL },
    { "born 1899", m_born_1899, "INVALID_FIELD", "person.birth_year" },
    { "born 1900", m_born_1900, NULL, NULL },
    { "born this year - 15", m_born_year_15, "INVALID_FIELD", "person.birth_year" },
    { "born this year - 16", m_born_year_16, NULL, NULL },
    { "birth year not given", m_born_unknown, NULL, NULL },
    { "no availability", m_no_availability, "MISSING_FIELD", "person.availability" },
    { "availability sat-pm", m_sat_pm, "UNKNOWN_VALUE", "person.availability[1]" },
    { "duplicate availability", m_dup_availability, "DUPLICATE_VALUE", "person.availability[2]" },
    { "all 11 half-days", m_all_availability, NULL, NULL },
    { "12 availabilities", m_12_availability, "TOO_MANY", "person.availability" },
    { "accessibility tag with a space", m_bad_access, "UNKNOWN_VALUE", "person.accessibility[0]" },
    { "accessibility tag of 33", m_long_access, "UNKNOWN_VALUE", "person.accessibility[0]" },
    { "duplicate accessibility tag", m_dup_access, "DUPLICATE_VALUE", "person.accessibility[2]" },
    { "8 accessibility tags", m_8_access, NULL, NULL },
    { "9 accessibility tags", m_9_access, "TOO_MANY", "person.accessibility" },
    /* needs */
    { "no needs", m_no_needs, NULL, NULL },
    { "unknown need", m_unknown_need, "UNKNOWN_VALUE", "needs[1]" },
    { "duplicate need", m_dup_need, "DUPLICATE_VALUE", "needs[2]" },
    { "every known need", m_all_needs, NULL, NULL },
    { "17 needs", m_17_needs, "TOO_MANY", "needs" },
    /* answers */
    { "no answers", m_no_answers, NULL, NULL },
    { "32 answers", m_32_answers, NULL, NULL },
    { "33 answers", m_33_answers, "TOO_MANY", "answers" },
    { "question id with a space", m_bad_question, "INVALID_FIELD", "answers[2]" },
    { "empty question id", m_empty_question, "INVALID_FIELD", "answers[1]" },
    { "question id of 33", m_long_question, "INVALID_FIELD", "answers[0]" },
    { "NULL answer", m_null_answer, "INVALID_FIELD", "answers[1]" },
    { "duplicate question", m_dup_question, "DUPLICATE_VALUE", "answers[2]" },
};

static void test_mutations(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(mutations); i++) {
        const mutation_t *m = &mutations[i];
        Tremplin__SubmitReferral *r = valid_referral();
        m->mutate(r);
        referral_error_t err;
        reset_err(&err);
        int rc = referral_validate(r, NOW_MS, &err);
        if (!m->code) {
            if (rc != 0) {
                print_error("%s: expected valid, got %s %s (%s)\n", m->name, err.code ? err.code : "(null)", err.field,
                            err.message_fr);
                failures++;
            }
            continue;
        }
        if (rc != -1 || !err.code || strcmp(err.code, m->code) != 0 || strcmp(err.field, m->field) != 0
            || err.message_fr[0] == '\0') {
            print_error("%s: expected -1 %s %s, got %d %s %s '%s'\n", m->name, m->code, m->field, rc,
                        err.code ? err.code : "(null)", err.field, err.message_fr);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* The half-days of the timetable's sessions are accepted besides the
 * week's (intake sets them from the timetable): a Saturday afternoon, and
 * twelve half-days in all; still not a Sunday the timetable has none on. */
static void test_timetable_half_days(void **state)
{
    (void)state;
    static const char *const timetable[] = { "mon-am", "sat-pm", "thu-pm" };
    assert_int_equal(referral_set_timetable_half_days(timetable, 3), 1);
    referral_error_t err;
    Tremplin__SubmitReferral *r = valid_referral();
    m_sat_pm(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), 0);
    r = valid_referral();
    m_12_availability(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), 0);
    r = valid_referral();
    r->person->availability[0] = "sun-am";
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_string_equal(err.code, "UNKNOWN_VALUE");
    /* a timetable without it: refused again */
    assert_int_equal(referral_set_timetable_half_days(timetable, 1), 0);
    r = valid_referral();
    m_sat_pm(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_string_equal(err.code, "UNKNOWN_VALUE");
}

/* Every code the file can give appears in the table: a new rule with a new
 * code must come with its case. */
static void test_every_code_covered(void **state)
{
    (void)state;
    static const char *const codes[] = { "MISSING_FIELD", "INVALID_FIELD", "TOO_MANY",
                                         "UNKNOWN_VALUE", "DUPLICATE_VALUE", "CONSENT_REQUIRED" };
    for (size_t c = 0; c < TP_ARRAY_LEN(codes); c++) {
        int seen = 0;
        for (size_t i = 0; i < TP_ARRAY_LEN(mutations); i++)
            seen += mutations[i].code && !strcmp(mutations[i].code, codes[c]);
        assert_true(seen > 0);
    }
}

/* The message names the offending value where it helps the agent, and
 * never repeats text that is not clean UTF-8. */
static void test_messages(void **state)
{
    (void)state;
    referral_error_t err;
    Tremplin__SubmitReferral *r = valid_referral();
    m_unknown_need(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_non_null(strstr(err.message_fr, "cooking"));

    r = valid_referral();
    r->needs[0] = "caf\xe9";
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_string_equal(err.code, "UNKNOWN_VALUE");
    assert_null(strchr(err.message_fr, '\xe9'));

    r = valid_referral();
    m_dup_question(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_non_null(strstr(err.message_fr, "mouse_touch"));

    r = valid_referral();
    m_born_year_15(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_non_null(strstr(err.message_fr, "2010"));

    r = valid_referral();
    m_long_question(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_non_null(strstr(err.message_fr, "trop long"));

    /* referral_fail itself: NULL field, formatted message, -1 */
    reset_err(&err);
    assert_int_equal(referral_fail(&err, "TOO_MANY", NULL, "au plus %d", 7), -1);
    assert_string_equal(err.code, "TOO_MANY");
    assert_string_equal(err.field, "");
    assert_string_equal(err.message_fr, "au plus 7");
}

/* The record keeps every answer, at the largest the checks let through:
 * 32 answers, 32-character question ids, the longest scores. */
static void test_answers_record(void **state)
{
    (void)state;
    Tremplin__SubmitReferral *r = valid_referral();
    r->n_answers = REFERRAL_MAX_ANSWERS;
    for (int i = 0; i < REFERRAL_MAX_ANSWERS; i++) {
        snprintf(fx.qid[i], sizeof fx.qid[i], "q%02d_%.*s", i, REFERRAL_QUESTION_MAX - 4,
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnop");
        assert_int_equal(strlen(fx.qid[i]), REFERRAL_QUESTION_MAX);
        fx.answer[i].score = INT32_MIN;
    }
    referral_error_t err;
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), 0);
    char text[REFERRAL_ANSWERS_TEXT_MAX];
    int n = referral_answers_text(r, text, sizeof text);
    assert_int_equal(n, REFERRAL_MAX_ANSWERS * (REFERRAL_QUESTION_MAX + 12) + REFERRAL_MAX_ANSWERS - 1);
    assert_int_equal(strlen(text), (size_t)n);
    assert_non_null(strstr(text, "q31_abcdefghijklmnopqrstuvwxyzab=-2147483648"));
    assert_int_equal(referral_answers_text(r, text, (size_t)n), -1); /* one byte short: refused, not cut */
}

/* --------------------------------------------------------------- order */

static void test_order(void **state)
{
    (void)state;
    referral_error_t err;

    /* consent is checked before the person: no consent and a bad phone */
    Tremplin__SubmitReferral *r = valid_referral();
    m_consent_not_given(r);
    m_bad_phone(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_string_equal(err.code, "CONSENT_REQUIRED");
    assert_string_equal(err.field, "consent.given");

    /* the envelope before consent */
    r = valid_referral();
    m_consent_not_given(r);
    m_branch_space(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_string_equal(err.code, "INVALID_FIELD");
    assert_string_equal(err.field, "branch");

    /* each step alone checks only its own part */
    r = valid_referral();
    m_consent_not_given(r);
    m_bad_phone(r);
    reset_err(&err);
    assert_int_equal(referral_check_envelope(r, &err), 0);
    assert_int_equal(referral_check_consent(r, NOW_MS, &err), -1);
    assert_string_equal(err.code, "CONSENT_REQUIRED");

    r = valid_referral();
    m_branch_space(r);
    m_bad_phone(r);
    reset_err(&err);
    assert_int_equal(referral_check_consent(r, NOW_MS, &err), 0);
    assert_int_equal(referral_check_envelope(r, &err), -1);
    assert_string_equal(err.field, "branch");

    /* the person before the needs, the needs before the answers */
    r = valid_referral();
    m_bad_phone(r);
    m_unknown_need(r);
    m_dup_question(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_string_equal(err.field, "person.phone");
    r = valid_referral();
    m_unknown_need(r);
    m_dup_question(r);
    reset_err(&err);
    assert_int_equal(referral_validate(r, NOW_MS, &err), -1);
    assert_string_equal(err.field, "needs[1]");
}

/* --------------------------------------------------------------- phones */

typedef struct {
    const char *in;
    const char *out; /* NULL: rejected */
} phone_case_t;

static const phone_case_t phones[] = {
    { "06 12 34 56 78", "+33612345678" },
    { "06.12.34.56.78", "+33612345678" },
    { "06-12-34-56-78", "+33612345678" },
    { "0612345678", "+33612345678" },
    { "+33 6 12 34 56 78", "+33612345678" },
    { "+33612345678", "+33612345678" },
    { "0033612345678", "+33612345678" },
    { "00 33 6 12 34 56 78", "+33612345678" },
    { " 06 12 34 56 78 ", "+33612345678" },
    { "07 98 76 54 32", "+33798765432" },
    { "04 77 12 34 56", "+33477123456" },
    /* overseas departments: their own country codes */
    { "0692 12 34 56", "+262692123456" },     /* Réunion mobile */
    { "06 39 12 34 56", "+262639123456" },    /* Mayotte mobile */
    { "0690 12 34 56", "+590690123456" },     /* Guadeloupe mobile */
    { "0594 12 34 56", "+594594123456" },     /* Guyane landline */
    { "0696 12 34 56", "+596696123456" },     /* Martinique mobile */
    { "+262 692 12 34 56", "+262692123456" },
    { "00590690123456", "+590690123456" },
    { "+33 6 92 12 34 56", "+262692123456" }, /* written the mainland way */
    { "0012345678", NULL },        /* 10 digits, but 00 is no French prefix */
    { "+44 20 7946 0958", NULL },
    { "+447946095812", NULL },
    { "0044 7946 095812", NULL },
    { "06 12 34 56 7a", NULL },
    { "O6 12 34 56 78", NULL },    /* a letter O */
    { "061234567", NULL },          /* 9 digits */
    { "06123456789", NULL },        /* 11 digits */
    { "612345678", NULL },          /* no 0 */
    { "1612345678", NULL },         /* 10 digits, no 0 */
    { "+336123456789", NULL },      /* 10 digits after +33 */
    { "00336123456789", NULL },     /* 10 digits after 0033 */
    { "+33 06 12 34 56 78", NULL }, /* the 0 kept after +33 */
    { "+330612345678", NULL },
    { "+33 0 12 34 56 78", NULL },
    { "0612+345678", NULL },
    { "++33612345678", NULL },
    { "06/12/34/56/78", NULL },
    { "(06) 12 34 56 78", NULL },
    { "", NULL },
    { "+", NULL },
    { "   ", NULL },
    { "061234567800000000000000000000", NULL }, /* longer than its buffer */
};

static void test_phone_normalize(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(phones); i++) {
        char out[16] = "untouched";
        int rc = referral_phone_normalize(phones[i].in, out);
        if (phones[i].out ? (rc != 0 || strcmp(out, phones[i].out) != 0) : rc != -1) {
            print_error("'%s': expected %s, got %d '%s'\n", phones[i].in, phones[i].out ? phones[i].out : "-1", rc,
                        rc == 0 ? out : "");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_phone_is_mobile(void **state)
{
    (void)state;
    assert_true(referral_phone_is_mobile("+33612345678"));
    assert_true(referral_phone_is_mobile("+33798765432"));
    assert_false(referral_phone_is_mobile("+33477123456"));
    assert_false(referral_phone_is_mobile("+33123456789"));
    assert_false(referral_phone_is_mobile("+33912345678"));
    assert_false(referral_phone_is_mobile("+3361234567"));
    assert_false(referral_phone_is_mobile("+336123456789"));
    assert_false(referral_phone_is_mobile(""));
    assert_true(referral_phone_is_mobile("+262692123456"));
    assert_false(referral_phone_is_mobile("+594594123456"));
    /* what normalize gives is what is_mobile reads */
    char out[16];
    assert_int_equal(referral_phone_normalize("07 12 34 56 78", out), 0);
    assert_true(referral_phone_is_mobile(out));
    assert_int_equal(referral_phone_normalize("05 12 34 56 78", out), 0);
    assert_false(referral_phone_is_mobile(out));
}

static void test_purposes(void **state)
{
    (void)state;
    assert_int_equal(referral_known_purpose("training"), 0);
    assert_int_equal(referral_known_purpose("sms"), 0);
    assert_int_equal(referral_known_purpose("survey"), 0);
    assert_int_equal(referral_known_purpose("marketing"), -1);
    assert_int_equal(referral_known_purpose(""), -1);
    assert_int_equal(referral_known_purpose("Training"), -1);
    Tremplin__SubmitReferral *r = valid_referral();
    assert_true(referral_has_purpose(r->consent, "sms"));
    assert_false(referral_has_purpose(r->consent, "marketing"));
    assert_false(referral_has_purpose(NULL, "training"));
    r->consent->n_purposes = 1;
    assert_false(referral_has_purpose(r->consent, "sms"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_timetable_half_days),
        cmocka_unit_test(test_every_code_covered),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_answers_record),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_phone_normalize),
        cmocka_unit_test(test_phone_is_mobile),
        cmocka_unit_test(test_purposes),
    };
    return cmocka_run_group_tests_name("referral", tests, NULL, NULL);
}
