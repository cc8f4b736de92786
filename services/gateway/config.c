/* The gateway's settings ([gateway]), checked together, and what its texts
 * read from files: the venues (the scheduler's timetable) and the
 * workshops' titles (the matcher's catalogue). Loaded whole or not at all:
 * on SIGHUP a bad file or setting keeps the previous ones. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "ids.h"
#include "log.h"
#include "scheduler/scheduler.h"

const conf_field_t gateway_conf_fields[] = {
    CONF_STR_FIELD("gateway", "channel", gateway_conf_t, channel, "spool"),
    CONF_STR_FIELD("gateway", "spool_dir", gateway_conf_t, spool_dir, "var/spool"),
    CONF_STR_FIELD("gateway", "inbox_dir", gateway_conf_t, inbox_dir, ""),
    CONF_STR_FIELD("gateway", "streams", gateway_conf_t, streams, "scheduler, survey"),
    CONF_STR_FIELD("gateway", "quiet_from", gateway_conf_t, quiet_from, QUIET_DEFAULT_FROM),
    CONF_STR_FIELD("gateway", "quiet_until", gateway_conf_t, quiet_until, QUIET_DEFAULT_UNTIL),
    CONF_STR_FIELD("gateway", "closed_days", gateway_conf_t, closed_days, QUIET_DEFAULT_CLOSED),
    CONF_INT_FIELD("gateway", "sms_max_segments", gateway_conf_t, sms_max_segments, "1"),
    CONF_INT_FIELD("gateway", "reminder_days", gateway_conf_t, reminder_days, "2"),
    CONF_INT_FIELD("gateway", "batch", gateway_conf_t, batch, "16"),
    CONF_INT_FIELD("gateway", "tick_ms", gateway_conf_t, tick_ms, "200"),
    CONF_INT_FIELD("gateway", "lease_ms", gateway_conf_t, lease_ms, "60000"),
    CONF_INT_FIELD("gateway", "max_tries", gateway_conf_t, max_tries, "5"),
    CONF_INT_FIELD("gateway", "retry_base_ms", gateway_conf_t, retry_base_ms, "2000"),
    CONF_INT_FIELD("gateway", "retry_max_ms", gateway_conf_t, retry_max_ms, "300000"),
    CONF_INT_FIELD("gateway", "survey_wait_min", gateway_conf_t, survey_wait_min, "120"),
    CONF_STR_FIELD("gateway", "http_url", gateway_conf_t, http_url, ""),
    CONF_STR_FIELD("gateway", "http_auth_header_file", gateway_conf_t, http_auth_header_file, ""),
    CONF_STR_FIELD("gateway", "http_body_template", gateway_conf_t, http_body_template,
                   "{\"to\": \"{to}\", \"text\": \"{text}\", \"reference\": \"{job_id}\"}"),
    CONF_STR_FIELD("gateway", "http_id_path", gateway_conf_t, http_id_path, "id"),
    CONF_INT_FIELD("gateway", "http_connect_timeout_ms", gateway_conf_t, http_connect_timeout_ms, "3000"),
    CONF_INT_FIELD("gateway", "http_timeout_ms", gateway_conf_t, http_timeout_ms, "10000"),
    CONF_STR_FIELD("gateway", "callback_bind", gateway_conf_t, callback_bind, ""),
    CONF_STR_FIELD("gateway", "callback_secret_file", gateway_conf_t, callback_secret_file, ""),
    CONF_STR_FIELD("gateway", "letter_sender", gateway_conf_t, letter_sender,
                   "Tremplin numérique|Département de la Loire"),
    CONF_STR_FIELD("gateway", "letter_place", gateway_conf_t, letter_place, "Saint-Étienne"),
    CONF_INT_FIELD("gateway", "purge_ms", gateway_conf_t, purge_ms, "60000"),
};
const size_t gateway_nconf_fields = sizeof gateway_conf_fields / sizeof gateway_conf_fields[0];

int gateway_read_secret(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return util_fail(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fclose(f);
        return util_fail(err, errlen, "%s: readable by others (chmod 600)", path);
    }
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : util_fail(err, errlen, "%s: empty", path);
}

/* The settings that must make sense together. */
static int gateway_check(const gateway_conf_t *c, quiet_rules_t *q, char *err, size_t errlen)
{
    if (strcmp(c->channel, "spool") && strcmp(c->channel, "http"))
        return util_fail(err, errlen, "gateway.channel must be spool or http");
    if (quiet_rules_parse(c->quiet_from, c->quiet_until, c->closed_days, q, err, errlen) != 0)
        return -1;
    if (c->sms_max_segments < 1 || c->sms_max_segments > 4 || c->reminder_days < 0 || c->reminder_days > 14)
        return util_fail(err, errlen, "gateway: sms_max_segments 1..4, reminder_days 0..14");
    if (c->batch < 1 || c->batch > GW_MAX_BATCH || c->tick_ms < 10 || c->max_tries < 1 || c->retry_base_ms < 1
        || c->retry_max_ms < c->retry_base_ms || c->survey_wait_min < 0)
        return util_fail(err, errlen,
                         "gateway: batch 1..%d, tick_ms >= 10, max_tries >= 1, retry_max_ms >= retry_base_ms >= 1",
                         GW_MAX_BATCH);
    /* a holder must have sent its whole batch well before its lease ends,
     * else a live instance's jobs would be taken over and sent twice */
    int64_t worst = c->batch * (c->http_connect_timeout_ms + c->http_timeout_ms);
    if (!strcmp(c->channel, "http") && c->lease_ms < 2 * worst)
        return util_fail(err, errlen,
                         "gateway.lease_ms must be at least twice batch x (http_connect_timeout_ms + http_timeout_ms) "
                         "= %lld",
                         (long long)(2 * worst));
    if (c->lease_ms < 1000)
        return util_fail(err, errlen, "gateway.lease_ms must be at least 1000");
    if (c->purge_ms < 100)
        return util_fail(err, errlen, "gateway: purge_ms >= 100");
    return 0;
}

/* The HTTP channel's handle, from the settings and the secret file. */
static http_t *gateway_http(const gateway_conf_t *c, char *err, size_t errlen)
{
    http_conf_t hc;
    memset(&hc, 0, sizeof hc);
    util_strlcpy(hc.url, c->http_url, sizeof hc.url);
    util_strlcpy(hc.body_template, c->http_body_template, sizeof hc.body_template);
    util_strlcpy(hc.id_path, c->http_id_path, sizeof hc.id_path);
    hc.connect_timeout_ms = (long)c->http_connect_timeout_ms;
    hc.timeout_ms = (long)c->http_timeout_ms;
    if (c->http_auth_header_file[0]
        && gateway_read_secret(c->http_auth_header_file, hc.auth_header, sizeof hc.auth_header, err, errlen) != 0)
        return NULL;
    http_t *h = http_new(&hc, err, errlen);
    memset(hc.auth_header, 0, sizeof hc.auth_header);
    return h;
}

static int gateway_mkdirs(const gateway_conf_t *c, char *err, size_t errlen)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/tmp", c->spool_dir);
    const char *dirs[] = { c->spool_dir, tmp, c->inbox_dir };
    for (size_t i = 0; i < TP_ARRAY_LEN(dirs); i++)
        if (mkdir(dirs[i], 0750) != 0 && errno != EEXIST)
            return util_fail(err, errlen, "%s: %s", dirs[i], strerror(errno));
    char done[300];
    snprintf(done, sizeof done, "%s/done", c->inbox_dir);
    if (mkdir(done, 0750) != 0 && errno != EEXIST)
        return util_fail(err, errlen, "%s: %s", done, strerror(errno));
    return 0;
}

int gateway_load(svc_t *s)
{
    gateway_t *g = svc_state(s);
    gateway_conf_t c = g->conf; /* svc has read [gateway] into g->conf */
    quiet_rules_t q;
    char err[512];
    if (!c.inbox_dir[0])
        snprintf(c.inbox_dir, sizeof c.inbox_dir, "%.200s/inbox", c.spool_dir);
    timetable_t *tt = xcalloc(1, sizeof *tt);
    catalogue_t *cat = xmalloc(sizeof *cat);
    http_t *http = NULL;
    int rc = -1;
    if (gateway_check(&c, &q, err, sizeof err) != 0 || gateway_mkdirs(&c, err, sizeof err) != 0)
        goto fail;
    if (!strcmp(c.channel, "http") && !(http = gateway_http(&c, err, sizeof err)))
        goto fail;
    if (scheduler_load_kinds(s, tt, cat, "gateway_load_failed") != 0)
        goto done;
    scheduler_conf_t sc; /* the cancellation cutoff, as the scheduler reads it */
    if (svc_conf_peer(s, "scheduler", scheduler_conf_fields, scheduler_nconf_fields, &sc, err, sizeof err) != 0)
        goto fail;
    char buf[256], *items[GW_MAX_STREAMS];
    util_strlcpy(buf, c.streams, sizeof buf);
    int n = util_split_list(buf, items, GW_MAX_STREAMS);
    for (int i = 0; i < n; i++)
        if (!ids_valid(items[i], 24)) {
            snprintf(err, sizeof err, "gateway.streams: '%s' is not a service name", items[i]);
            goto fail;
        }
    /* all good: replace what is in use */
    g->conf = c;
    g->quiet = q;
    timetable_free(&g->timetable);
    g->timetable = *tt;
    *tt = (timetable_t){ 0 }; /* g's now */
    g->catalogue = *cat;
    g->nstreams = n;
    g->cutoff_ms = sc.cutoff_hours * 3600000;
    for (int i = 0; i < n; i++)
        util_strlcpy(g->streams[i], items[i], sizeof g->streams[i]);
    http_destroy(&g->http);
    g->http = http;
    http = NULL;
    rc = 0;
    goto done;
fail:
    log_error("gateway_load_failed", "reason=\"%s\"", err);
done:
    http_destroy(&http);
    timetable_free(tt);
    free(tt);
    free(cat);
    return rc;
}

void gateway_unload(gateway_t *g)
{
    http_destroy(&g->http);
    call_free(&g->step);
    timetable_free(&g->timetable);
}
