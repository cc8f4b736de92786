/* svc_lease — one instance at a time runs a timer of a service that has
 * several (offer expiry, purges, ...): the holder renews a lease in Redis
 * at each run, another takes it once the holder stops renewing. */
#include <unistd.h>

#include "log.h"
#include "svc_int.h"

int svc_hold_lease(svc_t *s, const char *territory, const char *name, int64_t ttl_ms)
{
    call_t *c = &s->lease;
    call_reset(c, s->def->name, territory, "");
    call_step(c, "lease");
    call_key(c, "lease", "lease:%s", name);
    /* the holder is this process, not only its instance name: two processes
     * given the same name by mistake never both hold it */
    call_arg(c, "holder", "%s/%d", s->conf.instance, (int)getpid());
    call_arg(c, "ttl_ms", "%lld", (long long)ttl_ms);
    redisReply *r = call_run(c, s->rds, s->def->library);
    int held = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("lease_failed", "lease=%s reason=\"%.200s\"", name, r->str);
    if (r)
        freeReplyObject(r);
    return held;
}

void svc_lease_free(svc_t *s) { call_free(&s->lease); }
