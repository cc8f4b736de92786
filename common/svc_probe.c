/* svc_probe — the built-ins every service answers: Probe, the bus
 * self-test (`tremplin probe`), forwarded along its route through the
 * outbox; and the Pong of a Ping (health: Redis, its persistence, the
 * outbox backlog). */
#include <string.h>

#include "clock.h"
#include "ids.h"
#include "svc_int.h"
#include "util.h"

/* Probe: forward to route[0] through the outbox, or count at the last hop. */
void svc_prepare_probe(void *arg, const Tremplin__Envelope *in, call_t *call)
{
    svc_t *s = arg;
    const Tremplin__Probe *p = in->probe;
    if (!ids_valid(p->key, 64)) {
        call_error(call, "INVALID_FIELD", "probe.key", "Clé de sonde invalide.", 0);
        return;
    }
    for (size_t i = 0; i < p->n_route; i++) /* only the services this deployment has */
        if (!ids_valid(p->route[i], 31) || strspn(p->route[i], "abcdefghijklmnopqrstuvwxyz") != strlen(p->route[i])
            || !conf_map_get(&s->conf.endpoints, p->route[i])) { /* "x_events", "intake_branch" are not services */
            call_error(call, "INVALID_FIELD", "probe.route", "Étape de sonde inconnue.", 0);
            return;
        }
    call_function(call, "probe");
    call_key(call, "seen", "probe:seen");
    if (p->n_route > 0) {
        Tremplin__Envelope out = TREMPLIN__ENVELOPE__INIT;
        Tremplin__Probe fwd = TREMPLIN__PROBE__INIT;
        fwd.key = p->key;
        fwd.route = p->route + 1;
        fwd.n_route = p->n_route - 1;
        fwd.poison = p->poison;
        fwd.poison_retryable = p->poison_retryable;
        out.payload_case = TREMPLIN__ENVELOPE__PAYLOAD_PROBE;
        out.probe = &fwd;
        call_send(call, p->route[0], &out);
        call_arg(call, "hop", "forward");
    } else {
        call_arg(call, "hop", "last");
    }
    call_arg(call, "key", "%s", p->key);
    call_arg(call, "poison", "%d", p->n_route > 0 ? 0 : p->poison ? 1 : p->poison_retryable ? 2 : 0);
}

void svc_pong_fill(void *arg, Tremplin__Pong *pong)
{
    svc_t *s = arg;
    pong->version = (char *)SVC_VERSION;
    pong->uptime_ms = (uint64_t)(clock_mono_ms() - s->started_ms);
    pong->redis_ok = rds_ensure(s->rds) == 0;
    pong->duplicates = inbox_stats(s->inbox).duplicates;
    for (int i = 0; i < s->nextra; i++)
        pong->duplicates += inbox_stats(s->extra[i].inbox).duplicates;
    rds_persistence_t p;
    rds_persistence(s->rds, &p);
    pong->persistence_known = p.known;
    pong->aof_enabled = p.aof_enabled;
    pong->redis_loading = p.loading;
    pong->aof_required = s->conf.redis.require_aof;
    util_strlcpy(s->aof_write, p.aof_last_write_status, sizeof s->aof_write);
    util_strlcpy(s->aof_rewrite, p.aof_last_bgrewrite_status, sizeof s->aof_rewrite);
    pong->aof_last_write_status = s->aof_write;
    pong->aof_last_rewrite_status = s->aof_rewrite;
    if (s->warning[0]) {
        s->warning_v[0] = s->warning;
        pong->warnings = s->warning_v;
        pong->n_warnings = 1;
    }
    for (int t = 0; t < s->nterritories && pong->redis_ok; t++) {
        outbox_backlog_t b;
        if (outbox_backlog(s->rds, s->def->name, s->territories[t], &b) == 0) {
            pong->outbox_pending += (uint64_t)b.pending;
            pong->dead_letters += (uint64_t)b.dead;
            if ((uint64_t)b.oldest_age_ms > pong->outbox_oldest_ms)
                pong->outbox_oldest_ms = (uint64_t)b.oldest_age_ms;
            pong->outbox_stalled |= outbox_stalled(&b, s->conf.stall_ms);
        }
    }
    if (s->def->pong_fill) /* what only this service checks */
        s->def->pong_fill(s, pong);
}

void svc_set_warning(svc_t *s, const char *text) { util_strlcpy(s->warning, text, sizeof s->warning); }

