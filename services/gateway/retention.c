/* Retention of the personal data the gateway keeps (business time, from
 * config): the texts of incoming SMS in the inbox's done/ folder, the spool's
 * SMS files (a number and a text), and the phone:<hash> sets that match a
 * reply's number to people. Every purge_ms (real time) the instance holding
 * the lease "purge" of a territory deletes, in that territory, the phone
 * sets not used for [retention] sms_days (purge_phones: the phones zset says when
 * each was last written to), and — the holder of the first territory's
 * lease, the folders being one for all — the files older than that; and
 * the job records older than [retention] attendance_days (a convocation
 * names a person and a session: purge_jobs).
 *
 * A file's age is its mtime, which the gateway sets to the business time
 * when it puts the file there (the spool file once written, the reply once
 * in done/): a demo's clock running weeks in minutes ages them as it ages
 * everything else. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "gateway/gateway.h"
#include "log.h"
#include "services.h"

#define GW_PURGE_LIMIT 500 /* phone sets per territory and run */

void gateway_stamp_business(const char *path, int64_t business_ms)
{
    struct timespec t[2] = { { (time_t)(business_ms / 1000), (long)(business_ms % 1000) * 1000000L },
                             { (time_t)(business_ms / 1000), (long)(business_ms % 1000) * 1000000L } };
    utimensat(AT_FDCWD, path, t, 0);
}

/* The regular files of dir whose stamp is before `before` (business ms),
 * deleted; those whose name ends with suffix ("" = any). Returns how many. */
static int gw_purge_dir(const char *dir, const char *suffix, int64_t before)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    size_t sl = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t at = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (at < before && unlink(path) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static long gw_purge_phones(svc_t *s, gateway_t *g, const char *T, int64_t before)
{
    long n = 0;
    call_t *c = &g->step;
    call_reset(c, "gateway", T, "");
    call_step(c, "purge_phones");
    call_key(c, "phones", "phones");
    call_arg(c, "before_ms", "%lld", (long long)before);
    call_arg(c, "limit", "%d", GW_PURGE_LIMIT);
    redisReply *r = call_run(c, svc_rds(s), GATEWAY_LIBRARY);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        log_info("phones_purged", "territory=%s count=%ld", T, n = (long)r->integer);
    else if (r && r->type == REDIS_REPLY_ERROR)
        log_error("purge_failed", "step=purge_phones territory=%s reason=\"%.200s\"", T, r->str);
    if (r)
        freeReplyObject(r);
    return n;
}

/* The job records older than [retention] attendance_days (purge_jobs). */
static long gw_purge_jobs(svc_t *s, gateway_t *g, const char *T)
{
    call_t *c = &g->step;
    call_reset(c, "gateway", T, "");
    call_step(c, "purge_jobs");
    call_key(c, "jobs", "jobs");
    call_arg(c, "before_ms", "%lld",
             (long long)(clock_now_ms() - svc_conf(s)->retention.attendance_days * 86400000LL));
    call_arg(c, "limit", "%d", GW_PURGE_LIMIT);
    redisReply *r = call_run(c, svc_rds(s), GATEWAY_LIBRARY);
    long n = r && r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 0;
    if (n > 0)
        log_info("jobs_purged", "territory=%s count=%ld", T, n);
    else if (r && r->type == REDIS_REPLY_ERROR)
        log_error("purge_failed", "step=purge_jobs territory=%s reason=\"%.200s\"", T, r->str);
    if (r)
        freeReplyObject(r);
    return n;
}

void gateway_purge(svc_t *s)
{
    gateway_t *g = svc_state(s);
    if (rds_ensure(svc_rds(s)) != 0)
        return;
    int64_t before = clock_now_ms() - svc_conf(s)->retention.sms_days * 86400000LL;
    char buf[256];
    const char *terr[SVC_MAX_TERRITORIES];
    int nt = svc_territories(svc_conf(s), buf, sizeof buf, terr, SVC_MAX_TERRITORIES);
    long purged = 0;
    for (int t = 0; t < nt; t++) {
        if (!svc_hold_lease(s, terr[t], "purge", g->conf.purge_ms * 3))
            continue;
        purged += gw_purge_phones(s, g, terr[t], before) + gw_purge_jobs(s, g, terr[t]);
        if (t == 0) {
            char done[300];
            snprintf(done, sizeof done, "%s/done", g->conf.inbox_dir);
            int texts = gw_purge_dir(done, "", before), sms = gw_purge_dir(g->conf.spool_dir, ".sms", before);
            if (texts || sms)
                log_info("files_purged", "replies=%d spool=%d", texts, sms);
        }
    }
    svc_aof_rewrite_after_purge(s, purged); /* the files are not in the AOF */
}
