/* kiosk — the survey's CURVE endpoint for the kiosks and tablets in the
 * offices: a kiosk is registered once (`tremplin kiosk add`), gets a key
 * pair, and may send SubmitSurvey only. Who may connect is the kiosk
 * registry, read by the handshake (ZAP) and the handlers alike
 * (common/keyring.h, as intake's branch endpoint). */
#include "log.h"
#include "survey.h"

static void kiosk_zap(svc_t *s, void *sock)
{
    (void)sock;
    keyring_door_zap(&((survey_t *)svc_state(s))->kiosk);
}

/* A revocation never touches the socket: ZAP refuses the key's next
 * handshakes, the handler answers its open connections KIOSK_REVOKED. */
static void kiosk_watch(svc_t *s) { keyring_door_refresh(&((survey_t *)svc_state(s))->kiosk); }

int survey_kiosk_start(survey_t *sv, char *err, size_t errlen)
{
    sv->kiosk.kind = &survey_kiosks;
    sv->kiosk.dir = sv->conf.kiosk_dir;
    if (keyring_door_open(&sv->kiosk, sv->svc, sv->conf.kiosk_bind, kiosk_zap, err, errlen) != 0)
        return -1;
    svc_add_router(sv->svc, sv->kiosk.router, survey_handlers, 1); /* SubmitSurvey only */
    svc_add_timer(sv->svc, sv->conf.watch_ms, kiosk_watch);
    log_info("kiosk_endpoint", "bind=%s kiosks=%d", sv->conf.kiosk_bind, sv->kiosk.keys.n);
    return 0;
}

void survey_kiosk_stop(survey_t *sv) { keyring_door_close(&sv->kiosk); }
