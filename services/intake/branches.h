/* branches — the registry of branch systems and their CURVE keys.
 *
 * The registry is a directory of CZMQ public certificates, one per branch
 * (<dir>/branches/<id>.key, metadata: branch, name, territory). The same
 * directory is intake's ZAP allowlist (zauth), so removing a branch's file
 * refuses its new connections; intake also watches the directory and, when a
 * key is gone, closes the connections that key still holds. The branch's
 * secret certificate (<dir>/branch-secrets/<id>.key_secret, mode 0600) is
 * what the branch system is given. Intake's own key pair is <dir>/server.key
 * and server.key_secret. */
#ifndef TP_BRANCHES_H
#define TP_BRANCHES_H

#include <stddef.h>

#define BRANCH_ID_MAX 33
#define BRANCH_KEY_LEN 40 /* Z85 of 32 bytes */

typedef struct {
    char id[BRANCH_ID_MAX];
    char name[96];
    char territory[17];
    char public_key[BRANCH_KEY_LEN + 1];
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

/* 1 when a key of old is no longer in fresh (a revocation). */
int branches_any_removed(const branches_t *old, const branches_t *fresh);

/* A fingerprint of the directory (names, sizes, times) to notice changes. */
unsigned long branches_dir_stamp(const char *curve_dir);

/* Creates intake's server key pair if missing. 0 / -1. */
int branches_ensure_server_key(const char *curve_dir, char *err, size_t errlen);
/* Creates a branch: key pair, public cert in the registry, secret cert for
 * the branch system (0600, with the server's public key and the endpoint in
 * its metadata). Refuses an id that exists. */
int branches_add(const char *curve_dir, const char *id, const char *name, const char *territory,
                 const char *endpoint, char *err, size_t errlen);
/* Removes the branch's public certificate (and its secret copy). */
int branches_revoke(const char *curve_dir, const char *id, char *err, size_t errlen);

#endif
