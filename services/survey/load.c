/* The matcher's catalogue, read by the survey for the topics a person may
 * ask for (a kind of the catalogue, or a needs tag): at start and on
 * SIGHUP, whole or not at all; a bad file keeps the one in use. */
#include "log.h"
#include "matcher/matcher.h"
#include "survey.h"

int survey_load(svc_t *s)
{
    survey_t *sv = svc_state(s);
    matcher_conf_t mc;
    char err[512];
    if (svc_conf_peer(s, "matcher", matcher_conf_fields, matcher_nconf_fields, &mc, err, sizeof err) != 0
        || catalogue_load(mc.catalogue_path, &sv->fresh, err, sizeof err) != 0) {
        log_error("catalogue_invalid", "reason=\"%s\" action=keep_previous", err);
        return -1;
    }
    sv->catalogue = sv->fresh;
    log_info("catalogue_loaded", "version=%s kinds=%d", sv->catalogue.version, sv->catalogue.nkinds);
    return 0;
}
