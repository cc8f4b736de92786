/* svc_lease — one instance at a time runs a timer of a service that has
 * several (offer expiry, purges, ...): the holder renews a lease in Redis
 * at each run, another takes it once the holder stops renewing. */
#include <unistd.h>

#include "keys.h"
#include "log.h"
#include "svc_int.h"

int svc_hold_lease(svc_t *s, const char *territory, const char *name, int64_t ttl_ms)
{
    /* the holder is this process, not only its instance name: two processes
     * given the same name by mistake never both hold it */
    char key[160];
    tp_key(key, sizeof key, territory, s->def->name, "lease:%s", name);
    redisReply *r = rds_cmd(s->rds, "FCALL %s_lease 1 %s %s/%d %lld", s->def->library, key, s->conf.instance,
                            (int)getpid(), (long long)ttl_ms);
    int held = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("lease_failed", "lease=%s reason=\"%.200s\"", name, r->str);
    if (r)
        freeReplyObject(r);
    return held;
}
