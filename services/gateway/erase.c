/* The gateway's part of an erasure (ErasePerson, passed on by intake): the
 * command's step (gateway.lua erase_person) takes the person out of the
 * phone sets, drops their pending jobs and records which numbers they had
 * (erase_files); this file's timer then deletes their files — the spool's
 * SMS files (named by job id) and the reply texts in the inbox's done/ folder
 * whose sender's number is one of theirs (a number shared with someone else
 * loses its texts too: better one text too many erased than one kept) — and
 * says so (erase_files_done). Unlinking is idempotent: any instance may do
 * it, again after a crash. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "gateway/gateway.h"
#include "ids.h"
#include "log.h"
#include "intake/referral.h"
#include "services.h"

#define GW_ERASE_BATCH 16 /* people per territory and tick */

static void prepare_erase_person(void *arg, const Tremplin__Envelope *env, call_t *call)
{
    (void)arg;
    const Tremplin__ErasePerson *e = env->erase_person;
    if (!call_person_ok(call, e->person_id))
        return;
    int64_t now = clock_now_ms();
    char day[11];
    clock_local_day(now, day);
    call_function(call, "erase_person");
    call_event(call, "person.erased", "person_id");
    call_key(call, "erased", "erased");
    call_key(call, "phones", "phones");
    call_key(call, "fig_day", "fig:%s", day);
    call_key(call, "fig_total", "fig:total");
    call_arg(call, "person_id", "%s", e->person_id);
    call_arg(call, "now_ms", "%lld", (long long)now);
}

const inbox_handler_t gateway_handlers[] = {
    { TREMPLIN__ENVELOPE__PAYLOAD_ERASE_PERSON, prepare_erase_person },
};
const size_t gateway_nhandlers = sizeof gateway_handlers / sizeof gateway_handlers[0];

/* The keyed hash of a reply file's sender (its "From:" header), "" when it
 * has none that reads as a number. */
static void gw_file_sender(const char *path, char out[33])
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[256], e164[16];
    while (fgets(line, sizeof line, f) && line[0] != '\n' && line[0] != '\r') {
        if (strncasecmp(line, "From:", 5))
            continue;
        char *v = line + 5 + strspn(line + 5, " \t");
        v[strcspn(v, "\r\n")] = '\0';
        if (referral_phone_normalize(v, e164) == 0)
            gateway_phone_hash(e164, out);
        break;
    }
    fclose(f);
}

/* The reply texts of done/ sent from one of the numbers (hashes: space
 * separated), deleted. Returns how many. */
static int gw_erase_texts(const gateway_t *g, const char *hashes)
{
    if (!hashes[0])
        return 0;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/done", g->conf.inbox_dir);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[600], h[33];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        gw_file_sender(path, h);
        if (h[0] && strstr(hashes, h) && unlink(path) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* One person's files: the spool files of their jobs (handed over as
 * T:jid, jobs.c), the texts from their numbers. Returns how many were
 * deleted. */
static int gw_erase_person_files(const gateway_t *g, const char *T, const redisReply *e)
{
    int n = gw_erase_texts(g, e->element[1]->str);
    for (size_t j = 2; j < e->elements; j++) {
        char name[160], path[512];
        gateway_job_spool_name(T, e->element[j]->str, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", g->conf.spool_dir, name);
        n += unlink(path) == 0;
    }
    return n;
}

void gateway_erase_files(svc_t *s)
{
    gateway_t *g = svc_state(s);
    char buf[256];
    const char *terr[SVC_MAX_TERRITORIES];
    int nt = svc_territories(svc_conf(s), buf, sizeof buf, terr, SVC_MAX_TERRITORIES);
    for (int t = 0; t < nt; t++) {
        call_t *c = &g->step;
        call_reset(c, "gateway", terr[t], "");
        call_step(c, "erase_files_due");
        call_key(c, "erase_files", "erase_files");
        call_arg(c, "count", "%d", GW_ERASE_BATCH);
        redisReply *r = call_run(c, svc_rds(s), GATEWAY_LIBRARY);
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
                continue;
            int files = gw_erase_person_files(g, terr[t], e);
            call_reset(c, "gateway", terr[t], "");
            call_step(c, "erase_files_done");
            call_key(c, "erase_files", "erase_files");
            call_key(c, "erased", "erased");
            call_arg(c, "person_id", "%s", e->element[0]->str);
            call_arg(c, "files", "%d", files);
            redisReply *d = call_run(c, svc_rds(s), GATEWAY_LIBRARY);
            if (d && d->type == REDIS_REPLY_ERROR)
                log_error("erase_failed", "step=erase_files_done territory=%s reason=\"%.200s\"", terr[t], d->str);
            else
                log_info("person_files_erased", "territory=%s person=%s files=%d", terr[t], e->element[0]->str, files);
            if (d)
                freeReplyObject(d);
        }
        if (r && r->type == REDIS_REPLY_ERROR)
            log_error("erase_failed", "step=erase_files_due territory=%s reason=\"%.200s\"", terr[t], r->str);
        if (r)
            freeReplyObject(r);
    }
}
