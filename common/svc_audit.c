/* svc_audit — the built-in every service answers for the audit trail of
 * reads: RecordRead, sent by the tool before it shows personal data; the
 * entry itself is written by common/bus.lua's command wrapper (the operator
 * named by the sender's key, never by the message). */
#include <string.h>

#include "ids.h"
#include "svc_int.h"

static const char *const svc_read_actions[] = { "person_show", "person_export", "roster", "worklist", "letters" };

void svc_prepare_record_read(void *arg, const Tremplin__Envelope *in, call_t *call)
{
    (void)arg;
    const Tremplin__RecordRead *r = in->record_read;
    int known = 0;
    for (size_t i = 0; i < TP_ARRAY_LEN(svc_read_actions); i++)
        known |= !strcmp(r->action, svc_read_actions[i]);
    if (!known) {
        call_error(call, "UNKNOWN_VALUE", "action", "Lecture inconnue du journal d'audit.", 0);
        return;
    }
    if (!ids_valid(r->subject, 64)) {
        call_error(call, "INVALID_FIELD", "subject", "Objet de la lecture invalide.", 0);
        return;
    }
    call_function(call, "record_read");
    call_arg(call, "action", "%s", r->action);
    call_arg(call, "subject", "%s", r->subject);
}
