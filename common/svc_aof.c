/* svc_aof — the AOF rewrite after a purge that removed personal data (see
 * svc.h): asked once per purge run; asked again at the next run when a
 * rewrite was running already. */
#include "log.h"
#include "svc_int.h"

void svc_aof_rewrite_after_purge(svc_t *s, long removed)
{
    if (removed > 0)
        s->aof_due = 1;
    if (!s->aof_due)
        return;
    char err[256];
    int rc = rds_aof_rewrite(s->rds, err, sizeof err);
    if (rc == 0) {
        s->aof_due = 0;
        log_info("aof_rewrite_asked", "why=purge");
    } else if (rc < 0) {
        log_error("aof_rewrite_failed", "reason=\"%s\"", err);
    }
}
