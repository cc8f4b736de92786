/* access — who may send what on the services' command endpoints.
 *
 * The bus registry (common/keyring.h, kind access_keys, under [bus]
 * keys_dir) holds one CURVE key per operator and per service, each with a
 * role in its certificate ("access"): a key not in it, or revoked, is
 * refused at the handshake (ZAP); a key let in may send the commands of its
 * role (access_check, called by the inbox before any handler):
 *
 *   service      everything the bus carries (the outbox relays, a service's
 *                own probes and health checks)
 *   coordinator  every operator command of its territory: referrals,
 *                consents, bookings, offers, attendance, the timetable's
 *                sessions (cancel, reopen), closing a period, survey imports,
 *                probes
 *   mediator     referrals of its own branch, consents, offers' answers and
 *                booking cancellations (on the person's behalf); reads of
 *                the people its branch referred (intake checks) and of its
 *                branch's worklist
 *   trainer      attendance of its own sessions: the mark names the trainer
 *                (trainer_id = the key's), and the scheduler checks the
 *                session is that trainer's
 *
 * A refusal is the stable code FORBIDDEN with a French reason. */
#ifndef TP_ACCESS_H
#define TP_ACCESS_H

#include <stddef.h>

#include "keyring.h"
#include "wire.h"

#define ACCESS_FORBIDDEN "FORBIDDEN"

extern const keyring_kind_t access_keys;

/* 1 for a role an operator may be given (trainer, mediator, coordinator). */
int access_operator_role(const char *role);

/* NULL when who may send env, else the French reason (in why). */
const char *access_check(const keyring_entry_t *who, const Tremplin__Envelope *env, char *why, size_t cap);

/* The id of a service's own key in the registry ("svc-intake"). */
void access_service_id(const char *service, char *out, size_t cap);

/* A service's own key: its secret certificate under dir, made (and
 * registered with the role "service") at its first start. 0, or -1 with the
 * reason (e.g. the key was revoked: it must not make itself another). */
int access_service_key(const char *dir, const char *service, const char *territory, keyring_cred_t *out, char *err,
                       size_t errlen);

#endif
