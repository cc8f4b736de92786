/* The SMS channels: the spool folder (one file per message, for the demo,
 * the tests and a local SMS modem's software) and an HTTP provider
 * (http.c). Each message is handed over under its territory and job id
 * ("42:scheduler:<stream id>"): the spool file is named by it
 * (42_scheduler_<stream id>.sms) and created once (link: an existing one is
 * not overwritten), the provider gets it as Idempotency-Key — a job taken
 * over from a holder that died between handing it over and recording it is
 * not sent twice, and two territories' jobs of the same id are two. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "gateway/gateway.h"
#include "log.h"

void gateway_spool_name(const char *jid, char *out, size_t cap)
{
    size_t i = 0;
    for (; jid[i] && i + 5 < cap; i++)
        out[i] = jid[i] == ':' ? '_' : jid[i];
    snprintf(out + i, cap - i, ".sms");
}

void gateway_job_key(const char *T, const char *jid, char *out, size_t cap) { snprintf(out, cap, "%s:%s", T, jid); }

void gateway_job_spool_name(const char *T, const char *jid, char *out, size_t cap)
{
    char key[160];
    gateway_job_key(T, jid, key, sizeof key);
    gateway_spool_name(key, out, cap);
}

const char *gateway_job_of_key(const char *T, const char *key)
{
    size_t tl = strlen(T);
    return !strncmp(key, T, tl) && key[tl] == ':' ? key + tl + 1 : key;
}

int gateway_spooled(const gateway_t *g, const char *jid, int *segments)
{
    char name[160], path[512], line[128];
    gateway_spool_name(jid, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", g->conf.spool_dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    *segments = 1;
    while (fgets(line, sizeof line, f) && line[0] != '\n')
        if (!strncmp(line, "Segments: ", 10))
            *segments = atoi(line + 10);
    fclose(f);
    return 1;
}

/* Written to tmp/, flushed to disk, then linked to its name: the file
 * appears whole or not at all, and once. */
static int gateway_spool(gateway_t *g, const char *jid, const char *to, const char *text, int segments, char *error,
                         size_t errcap)
{
    char name[160], path[512], tmp[512];
    gateway_spool_name(jid, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", g->conf.spool_dir, name);
    snprintf(tmp, sizeof tmp, "%s/tmp/%s.%d", g->conf.spool_dir, name, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd < 0)
        return util_fail(error, errcap, "spool: %s", strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return util_fail(error, errcap, "spool: %s", strerror(errno));
    }
    fprintf(f, "To: %s\nJob: %s\nSegments: %d\n\n%s\n", to, jid, segments, text);
    int bad = fflush(f) != 0 || fsync(fd) != 0;
    bad |= fclose(f) != 0;
    if (bad) {
        unlink(tmp);
        return util_fail(error, errcap, "spool: write failed");
    }
    int rc = link(tmp, path);
    int e = errno;
    unlink(tmp);
    if (rc != 0 && e == EEXIST) {
        log_info("spool_exists", "job=%s action=recorded_as_sent", jid);
        return 0;
    }
    if (rc != 0)
        return util_fail(error, errcap, "spool: %s", strerror(e));
    gateway_stamp_business(path, clock_now_ms()); /* its age, for the retention purge */
    return 0;
}

int gateway_send_sms(gateway_t *g, const char *jid, const char *to, const char *text, int segments,
                     char *provider_id, size_t idcap, int *retryable, char *error, size_t errcap)
{
    provider_id[0] = '\0';
    error[0] = '\0';
    *retryable = 1;
    if (!g->http)
        return gateway_spool(g, jid, to, text, segments, error, errcap);
    http_result_t r;
    int rc = http_send(g->http, jid, to, text, &r);
    if (rc == 0) {
        util_strlcpy(provider_id, r.provider_id, idcap);
        return 0;
    }
    *retryable = r.retryable;
    util_strlcpy(error, r.error[0] ? r.error : "http: not sent", errcap);
    return -1;
}
