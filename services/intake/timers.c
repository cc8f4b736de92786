/* intake's timers: the branch registry watched for changes, and the
 * personal data past its retention date purged (one instance at a time,
 * under a lease). */
#include "clock.h"
#include "intake.h"
#include "log.h"
#include "services.h"

/* A revocation never touches the socket: ZAP refuses the key's next
 * handshakes, the handlers answer its open connections BRANCH_REVOKED. */
void intake_watch(svc_t *s) { keyring_door_refresh(&((intake_t *)svc_state(s))->door); }

#define INTAKE_PURGE_LIMIT 500 /* contacts per territory and run */

/* Deletes the contact data past its retention date, in every territory,
 * from the one instance holding the lease. */
void intake_purge(svc_t *s)
{
    intake_t *in = svc_state(s);
    char buf[256], day[11];
    const char *t[SVC_MAX_TERRITORIES];
    int n = svc_territories(svc_conf(s), buf, sizeof buf, t, SVC_MAX_TERRITORIES);
    int64_t now = clock_now_ms();
    clock_local_day(now, day);
    long purged = 0;
    for (int i = 0; i < n; i++) {
        if (!svc_hold_lease(s, t[i], "purge", in->conf.purge_ms * 3))
            continue;
        call_t *c = &in->step;
        call_reset(c, svc_name(s), t[i], "");
        call_step(c, "purge_contacts");
        call_key(c, "retention", "retention");
        call_arg(c, "now_ms", "%lld", (long long)now);
        call_arg(c, "limit", "%d", INTAKE_PURGE_LIMIT);
        call_arg(c, "day", "%s", day);
        redisReply *r = call_run(c, svc_rds(s), INTAKE_LIBRARY);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
            log_info("contacts_purged", "territory=%s count=%lld", t[i], r->integer);
            purged += (long)r->integer;
        }
        if (r && r->type == REDIS_REPLY_ERROR)
            log_error("purge_failed", "territory=%s reason=\"%.200s\"", t[i], r->str);
        if (r)
            freeReplyObject(r);
    }
    svc_aof_rewrite_after_purge(s, purged);
}
