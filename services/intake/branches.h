/* branches — the registry of branch systems and their CURVE keys.
 *
 * The registry is a directory of CZMQ public certificates, one per branch
 * (<dir>/branches/<id>.key, metadata: branch, name, territory, and
 * revoked_ms once revoked: a revoked branch stays, with its date). Intake
 * loads it into one table that both its ZAP handler and its command
 * handlers read (services/intake/access.c), so a key that passed the
 * handshake is a branch the handlers know. Files are written whole and
 * renamed into place, so a reader never sees half a certificate. The
 * branch's secret certificate (<dir>/branch-secrets/<id>.key_secret, mode
 * 0600) is what the branch system is given. Intake's own key pair is
 * <dir>/server.key and server.key_secret. */
#ifndef TP_BRANCHES_H
#define TP_BRANCHES_H

#include <stddef.h>
#include <stdint.h>

#define BRANCH_ID_MAX 33
#define BRANCH_KEY_LEN 40 /* Z85 of 32 bytes */

typedef struct {
    char id[BRANCH_ID_MAX];
    char name[96];
    char territory[17];
    char public_key[BRANCH_KEY_LEN + 1];
    int64_t revoked_ms; /* 0 while the branch may send */
} branch_t;

typedef struct {
    branch_t *items;
    int n;
} branches_t;

/* Loads every .key file of <curve_dir>/branches. 0, or -1 with err (a bad file is
 * named and skipped). */
int branches_load(const char *curve_dir, branches_t *out, char *err, size_t errlen);
void branches_free(branches_t *b);

const branch_t *branches_by_id(const branches_t *b, const char *id);
const branch_t *branches_by_key(const branches_t *b, const char *public_key);

/* How many branches of the registry are revoked. */
int branches_revoked(const branches_t *b);

/* A fingerprint of the directory (names, sizes, times) to notice changes. */
unsigned long branches_dir_stamp(const char *curve_dir);

/* Creates intake's server key pair if missing. 0 / -1. */
int branches_ensure_server_key(const char *curve_dir, char *err, size_t errlen);
/* Creates a branch: key pair, public cert in the registry, secret cert for
 * the branch system (0600, with the server's public key and the endpoint in
 * its metadata). Refuses an id that exists. */
int branches_add(const char *curve_dir, const char *id, const char *name, const char *territory,
                 const char *endpoint, char *err, size_t errlen);
/* Marks the branch revoked as of now_ms (its certificate stays in the
 * registry, with the date) and deletes its secret copy. */
int branches_revoke(const char *curve_dir, const char *id, int64_t now_ms, char *err, size_t errlen);

#endif
