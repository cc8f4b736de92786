/* intake — service entry point: wiring only. The branch endpoint (CURVE,
 * ZAP from the branch registry: access.c) is served by the same handlers as
 * the loopback one, and checked by intake itself (selfcheck.c). */
#include <czmq.h>
#include <zmq.h>

#include "clock.h"
#include "intake.h"
#include "log.h"
#include "referral.h"
#include "scheduler/scheduler.h"
#include "services.h"
#include "sock.h"

extern const char intake_lua[];

static intake_t intake;

static int intake_open_branch_endpoint(intake_t *in, char *err, size_t errlen)
{
    char sec[512];
    snprintf(sec, sizeof sec, "%s/server.key_secret", in->conf.curve_dir);
    zcert_t *server = zcert_load(sec);
    if (!server) {
        snprintf(err, errlen, "%.400s: cannot read the server key", sec);
        return -1;
    }
    in->branch_router = sock_new(svc_zctx(in->svc), ZMQ_ROUTER);
    int one = 1;
    zmq_setsockopt(in->branch_router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zcert_apply(server, in->branch_router);
    util_strlcpy(in->server_public, zcert_public_txt(server), sizeof in->server_public);
    zcert_destroy(&server);
    return sock_bind_list(in->branch_router, in->conf.branch_bind, err, errlen);
}

/* The half-days people may declare include those of the timetable's
 * sessions (a Saturday afternoon one-off), so that every session can be
 * reached. A timetable that does not load leaves the ones known before. */
static void intake_load_half_days(svc_t *s)
{
    static timetable_t tt;
    scheduler_conf_t sc;
    char err[512], half_days[TT_MAX_SLOTS + TT_MAX_ONE_OFF][TT_HALF_DAY];
    const char *list[TT_MAX_SLOTS + TT_MAX_ONE_OFF];
    if (svc_conf_peer(s, "scheduler", scheduler_conf_fields, scheduler_nconf_fields, &sc, err, sizeof err) != 0
        || timetable_load(sc.timetable_path, &tt, err, sizeof err) != 0) {
        log_warn("timetable_unreadable", "reason=\"%s\" action=keep_half_days", err);
        return;
    }
    int n = timetable_half_days(&tt, half_days, TT_MAX_SLOTS + TT_MAX_ONE_OFF);
    for (int i = 0; i < n; i++)
        list[i] = half_days[i];
    int more = referral_set_timetable_half_days(list, n);
    log_info("half_days_loaded", "timetable=%s more=%d", sc.timetable_path, more);
}

/* A revocation never touches the socket: ZAP refuses the key's next
 * handshakes, the handlers answer its open connections BRANCH_REVOKED. */
static void intake_watch(svc_t *s) { intake_branches_refresh(svc_state(s)); }

/* Deletes the contact data past its retention date, in every territory,
 * from the one instance holding the lease. */
static void intake_purge(svc_t *s)
{
    char buf[256], day[11];
    const char *t[SVC_MAX_TERRITORIES];
    int n = svc_territories(svc_conf(s), buf, sizeof buf, t, SVC_MAX_TERRITORIES);
    int64_t now = clock_now_ms();
    clock_local_day(now, day);
    for (int i = 0; i < n; i++) {
        if (!svc_hold_lease(s, t[i], "purge", intake.conf.purge_ms * 3))
            continue;
        call_t c = { 0 };
        call_reset(&c, "intake", t[i], "");
        call_step(&c, "purge_contacts");
        call_key(&c, "retention", "retention");
        call_arg(&c, "now_ms", "%lld", (long long)now);
        call_arg(&c, "limit", "%d", 500);
        call_arg(&c, "day", "%s", day);
        redisReply *r = call_run(&c, svc_rds(s), INTAKE_LIBRARY);
        call_free(&c);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
            log_info("contacts_purged", "territory=%s count=%lld", t[i], r->integer);
        if (r)
            freeReplyObject(r);
    }
}

static int intake_start(svc_t *s)
{
    intake_t *in = svc_state(s);
    in->svc = s;
    char err[512];
    if (branches_ensure_server_key(in->conf.curve_dir, err, sizeof err) != 0) {
        log_error("start_failed", "reason=\"%s\"", err);
        return -1;
    }
    intake_branches_refresh(in);
    intake_load_half_days(s);
    if (in->conf.branch_bind[0]) {
        if (intake_zap_start(in, err, sizeof err) != 0 || intake_open_branch_endpoint(in, err, sizeof err) != 0
            || intake_selfcheck_start(in, err, sizeof err) != 0) {
            log_error("start_failed", "reason=\"%s\"", err);
            return -1;
        }
        /* branch systems send referrals; nothing else is theirs to send */
        svc_add_router(s, in->branch_router, intake_handlers, 1);
        log_info("branch_endpoint", "bind=%s branches=%d", in->conf.branch_bind, in->branches.n);
    }
    svc_add_timer(s, in->conf.watch_ms, intake_watch);
    svc_add_timer(s, in->conf.purge_ms, intake_purge);
    return 0;
}

static void intake_reload(svc_t *s)
{
    intake_branches_refresh(svc_state(s));
    intake_load_half_days(s);
}

static void intake_pong_fill(svc_t *s, Tremplin__Pong *pong) { intake_selfcheck_pong(svc_state(s), pong); }

static void intake_stop(svc_t *s)
{
    intake_t *in = svc_state(s);
    intake_selfcheck_stop(in);
    if (in->branch_router)
        zmq_close(in->branch_router);
    intake_zap_stop(in);
    branches_free(&in->branches);
}

int main(int argc, char **argv)
{
    svc_def_t def = {
        .name = "intake",
        .library = INTAKE_LIBRARY,
        .lua = intake_lua,
        .handlers = intake_handlers,
        .nhandlers = intake_nhandlers,
        .conf_fields = intake_conf_fields,
        .nconf_fields = intake_nconf_fields,
        .conf_base = &intake.conf,
        .start = intake_start,
        .reload = intake_reload,
        .stop = intake_stop,
        .pong_fill = intake_pong_fill,
        .state = &intake,
    };
    return svc_main(&def, argc, argv);
}
