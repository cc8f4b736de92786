/* util — the few helpers every module needs: allocation that aborts on
 * out-of-memory (there is no sane recovery inside a handler), random ids and
 * bounded string copies. */
#ifndef TP_UTIL_H
#define TP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define TP_ID_LEN 32     /* hex chars of a random id, without the NUL */
#define TP_ID_KEY_LEN 32 /* bytes of the deployment's key for derived ids */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Fills out[0..TP_ID_LEN] with 128 random bits as lowercase hex plus NUL. */
void util_random_id(char out[TP_ID_LEN + 1]);
uint64_t util_random_u64(void);

/* A 128-bit id (hex, like util_random_id) derived from seed, label and
 * index with a keyed hash (BLAKE2b keyed with the deployment's secret): the
 * same inputs always give the same id. Handlers derive the ids they create
 * from the msg_id of the command, so that a step run again (a retry after a
 * failover lost the first run, on any instance: they share the key)
 * creates the same ids, which receivers recognise. Without the key, one id
 * says nothing of another: a published referral id does not give the person
 * id of the same submission. Aborts when no key was set: a service loads
 * it at start. */
void util_derive_id(const char *seed, const char *label, unsigned index, char out[TP_ID_LEN + 1]);
/* The deployment's key: set it, or read it from a file of 2 * TP_ID_KEY_LEN
 * hex characters (deploy/setup.sh writes secrets/ids.key). 0, or -1 with
 * the reason in err. */
void util_id_key_set(const unsigned char key[TP_ID_KEY_LEN]);
int util_id_key_load(const char *path, char *err, size_t errlen);

/* A digest of data (BLAKE2b, 128 bits) as lowercase hex, like an id: to
 * tell one content from another, not to keep it secret. */
void util_digest(const void *data, size_t len, char out[TP_ID_LEN + 1]);

/* Writes the reason of a failure into err (printf-like, cut to errlen) and
 * returns -1, so that a check reads `return util_fail(err, errlen, ...);`. */
int util_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copies at most cap-1 bytes and always terminates; returns -1 if truncated. */
int util_strlcpy(char *dst, const char *src, size_t cap);

/* Splits a comma-separated list in place; trims spaces; returns the count
 * (at most max) and fills items. */
int util_split_list(char *s, char **items, int max);

/* Joins n strings with sep between them into buf (always terminated, "" for
 * none); an item that does not fit whole is left out, with those after it,
 * never cut. Returns buf, to be used in place. */
const char *util_join(char *const *items, size_t n, const char *sep, char *buf, size_t cap);

#define TP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
