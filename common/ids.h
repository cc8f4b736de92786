/* ids — the shapes of the identifiers Tremplin accepts, checked in one
 * place. Whatever goes into a Redis key, a session id or a log line has one
 * of these shapes: no space, no ':' or '{', no control character, no
 * multi-byte character. Each returns 1 when s has the shape, 0 when it has
 * not (NULL included). */
#ifndef TP_IDS_H
#define TP_IDS_H

#include <stddef.h>

/* 1 to max characters of [A-Za-z0-9] and the punctuation listed in extra. */
int ids_token(const char *s, size_t max, const char *extra);

/* [A-Za-z0-9_-]{1,max}: message ids, territories, branches, names on the
 * bus. */
int ids_valid(const char *s, size_t max);

/* Exactly TP_ID_LEN (32) lowercase hex characters: the ids Tremplin makes
 * (util_random_id, util_derive_id) for referrals, people and follow-ups. */
int ids_hex(const char *s);

/* [a-z0-9_-]{1,max}: the codes of the configuration files (workshop kinds,
 * questions, venues, trainers), which go into session ids and Redis keys;
 * lower case only, so that one code is never spelt two ways. */
int ids_code(const char *s, size_t max);

#endif
