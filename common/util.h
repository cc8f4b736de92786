/* util — the few helpers every module needs: allocation that aborts on
 * out-of-memory (there is no sane recovery inside a handler), random ids and
 * bounded string copies. */
#ifndef TP_UTIL_H
#define TP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define TP_ID_LEN 32 /* hex chars of a random id, without the NUL */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Fills out[0..TP_ID_LEN] with 128 random bits as lowercase hex plus NUL. */
void util_random_id(char out[TP_ID_LEN + 1]);
uint64_t util_random_u64(void);

/* A 128-bit id (hex, like util_random_id) derived from seed and label: the
 * same inputs always give the same id. Handlers derive the ids they create
 * from the msg_id of the command, so that a step run again (a retry after a
 * failover lost the first run) creates the same ids, which receivers
 * recognise. The seed (a random msg_id) keeps them unguessable. */
void util_derive_id(const char *seed, const char *label, unsigned index, char out[TP_ID_LEN + 1]);

/* A digest of data (BLAKE2b, 128 bits) as lowercase hex, like an id: to
 * tell one content from another, not to keep it secret. */
void util_digest(const void *data, size_t len, char out[TP_ID_LEN + 1]);

/* Copies at most cap-1 bytes and always terminates; returns -1 if truncated. */
int util_strlcpy(char *dst, const char *src, size_t cap);

/* Splits a comma-separated list in place; trims spaces; returns the count
 * (at most max) and fills items. */
int util_split_list(char *s, char **items, int max);

#define TP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
