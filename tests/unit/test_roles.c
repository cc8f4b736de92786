/* Unit tests for common/access: what each role may send, and the scopes
 * (territory, a mediator's branch, a trainer's own trainer id), on
 * envelopes as the inbox decodes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "access.h"
#include "util.h"

static keyring_entry_t entry(const char *id, const char *access, const char *branch, const char *trainer)
{
    keyring_entry_t e;
    memset(&e, 0, sizeof e);
    util_strlcpy(e.id, id, sizeof e.id);
    util_strlcpy(e.territory, "42", sizeof e.territory);
    util_strlcpy(e.access, access, sizeof e.access);
    util_strlcpy(e.branch, branch, sizeof e.branch);
    util_strlcpy(e.trainer, trainer, sizeof e.trainer);
    return e;
}

static Tremplin__SubmitReferral ref = TREMPLIN__SUBMIT_REFERRAL__INIT;
static Tremplin__MarkAttendance mark = TREMPLIN__MARK_ATTENDANCE__INIT;
static Tremplin__RecordRead rr = TREMPLIN__RECORD_READ__INIT;
static Tremplin__CancelSession cs = TREMPLIN__CANCEL_SESSION__INIT;
static Tremplin__TrackAssigned ta = TREMPLIN__TRACK_ASSIGNED__INIT;
static Tremplin__ErasePerson er = TREMPLIN__ERASE_PERSON__INIT;

static Tremplin__Envelope env_of(Tremplin__Envelope__PayloadCase c)
{
    Tremplin__Envelope e = TREMPLIN__ENVELOPE__INIT;
    e.territory = "42";
    e.type = "x";
    e.payload_case = c;
    ref.branch = "wilson";
    mark.trainer_id = "t1";
    rr.action = "roster";
    rr.trainer_id = "t1";
    e.submit_referral = &ref; /* the oneof's members share one pointer */
    if (c == TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE)
        e.mark_attendance = &mark;
    if (c == TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ)
        e.record_read = &rr;
    if (c == TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_SESSION)
        e.cancel_session = &cs;
    if (c == TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED)
        e.track_assigned = &ta;
    if (c == TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON)
        e.erase_person = &er;
    return e;
}

static int may(const keyring_entry_t *who, Tremplin__Envelope e)
{
    char why[256];
    return access_check(who, &e, why, sizeof why) == NULL;
}

static void test_roles(void **state)
{
    (void)state;
    keyring_entry_t svc = entry("svc-intake", "service", "", ""), coord = entry("c", "coordinator", "", ""),
                    med = entry("m", "mediator", "wilson", ""), tr = entry("t", "trainer", "", "t1"),
                    odd = entry("o", "boss", "", "");
    const Tremplin__Envelope__PayloadCase sub = TREMPLIN__ENVELOPE__PAYLOAD_SUBMIT_REFERRAL,
                                          mk = TREMPLIN__ENVELOPE__PAYLOAD_MARK_ATTENDANCE,
                                          rd = TREMPLIN__ENVELOPE__PAYLOAD_RECORD_READ,
                                          can = TREMPLIN__ENVELOPE__PAYLOAD_CANCEL_SESSION,
                                          bus = TREMPLIN__ENVELOPE__PAYLOAD_TRACK_ASSIGNED,
                                          erase = TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON;
    /* services: everything; coordinators: operators' commands, not the bus's */
    assert_true(may(&svc, env_of(bus)));
    assert_true(may(&coord, env_of(sub)) && may(&coord, env_of(mk)) && may(&coord, env_of(can)));
    assert_false(may(&coord, env_of(bus)));
    /* an erasure: coordinators only */
    assert_true(may(&coord, env_of(erase)));
    assert_false(may(&med, env_of(erase)) || may(&tr, env_of(erase)));
    /* mediators: referrals of their branch, no session cancelled, no mark */
    assert_true(may(&med, env_of(sub)));
    ref.branch = "carnot";
    Tremplin__Envelope e = env_of(sub);
    ref.branch = "carnot";
    assert_false(may(&med, e));
    assert_false(may(&med, env_of(can)));
    assert_false(may(&med, env_of(mk)));
    /* trainers: their own marks and rosters only */
    assert_true(may(&tr, env_of(mk)));
    assert_false(may(&tr, env_of(sub)));
    e = env_of(mk);
    mark.trainer_id = "t2";
    assert_false(may(&tr, e));
    assert_true(may(&tr, env_of(rd)));
    e = env_of(rd);
    rr.action = "person_show";
    assert_false(may(&tr, e));
    e = env_of(rd);
    rr.trainer_id = "t2";
    assert_false(may(&tr, e));
    /* another territory, an unknown role, no entry, a revoked one */
    e = env_of(sub);
    e.territory = "69";
    assert_false(may(&coord, e));
    assert_false(may(&odd, env_of(sub)));
    assert_false(may(NULL, env_of(sub)));
    coord.revoked_ms = 1;
    assert_false(may(&coord, env_of(sub)));
    assert_true(access_operator_role("trainer") && access_operator_role("mediator") && access_operator_role("coordinator"));
    assert_false(access_operator_role("service"));
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_roles) };
    return cmocka_run_group_tests_name("roles", tests, NULL, NULL);
}
