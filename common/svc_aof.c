/* svc_aof — the AOF rewrite after a purge that removed personal data (see
 * svc.h): asked once per purge run of every Redis of the deployment; a
 * Redis where a rewrite was running already (or that failed) is asked again
 * at the next run, alone. */
#include <stdint.h>

#include "log.h"
#include "svc_int.h"

void svc_aof_rewrite_after_purge(svc_t *s, long removed)
{
    int n = rds_shard_count(s->rds);
    /* every Redis of the deployment (the purge's territory may be any);
     * each asked until it starts one, apart from the others */
    if (removed > 0)
        s->aof_due = n >= 32 ? UINT32_MAX : (1u << n) - 1;
    for (int i = 0; i < n && s->aof_due; i++) {
        if (!(s->aof_due & (1u << i)))
            continue;
        const char *t = rds_shard_territory(s->rds, i);
        char err[256];
        int rc = rds_aof_rewrite_at(s->rds, i, err, sizeof err);
        if (rc == 0) {
            s->aof_due &= ~(1u << i);
            log_info("aof_rewrite_asked", "why=purge%s%s", t ? " shard=" : "", t ? t : "");
        } else if (rc < 0) {
            log_error("aof_rewrite_failed", "reason=\"%s\"%s%s", err, t ? " shard=" : "", t ? t : "");
        }
    }
}
