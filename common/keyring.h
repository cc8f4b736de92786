/* keyring — who may talk to a service's authenticated endpoint: a registry
 * of CURVE public keys, and the endpoint itself (a ROUTER with CURVE whose
 * ZAP handler answers from that registry).
 *
 * The registry is a directory of CZMQ certificates, one per client system
 * (intake's branch systems, the survey's kiosks): <dir>/<kind->dir>/<id>.key
 * with the metadata <kind->role> (the id), name, territory, created_ms,
 * origin (who made it: "" for people, e.g. "simulation" for a demo's), and
 * revoked_ms once revoked — a revoked entry stays, with its date. Files are written
 * whole and renamed into place, so a reader never sees half a certificate.
 *
 * Rotation: a new key pair for the same id replaces <id>.key, and the old
 * certificate moves to <id>.<rotated_ms>.key with expires_ms, the end of the
 * window in which both keys are accepted (the client system installs the new
 * one without a moment refused); the window can be ended early once it has.
 * The client's secret certificate (<dir>/<kind->secrets>/<id>.key_secret,
 * mode 0600, with the server's public key and the endpoint in its metadata)
 * is what the client system is given. The server's own key pair is
 * <dir>/server.key and server.key_secret.
 *
 * The door (keyring_door_*) answers ZAP itself (ZeroMQ RFC 27) from the
 * same table the service's handlers read, reloaded before a handshake
 * whenever the directory changed: a key let in is an entry the handlers
 * know, and a revoked key is refused at its next handshake while its open
 * connections are the handlers' to refuse (the inbox gives each message its
 * sender's key, ZAP's User-Id). Both run in the service loop, so they never
 * see the table half loaded. The library knows no service: the kind names
 * the registry, the caller its endpoint. */
#ifndef TP_KEYRING_H
#define TP_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#define KEYRING_ID_MAX 33
#define KEYRING_KEY_LEN 40 /* Z85 of 32 bytes */

/* A registry's layout and words: the server's role ("intake", in its
 * certificate's metadata), its entries' role ("branch", the metadata that
 * holds the id), the directories of the public and secret certificates
 * ("branches", "branch-secrets"), and the French noun with its article for
 * messages ("agence", "l'agence"; both feminine in Tremplin's registries:
 * "inconnue", "révoquée"). */
typedef struct {
    const char *server_role;
    const char *role;
    const char *dir;
    const char *secrets;
    const char *noun_fr;
    const char *the_fr;
} keyring_kind_t;

typedef struct {
    char id[KEYRING_ID_MAX];
    char name[96];
    char territory[17];
    char public_key[KEYRING_KEY_LEN + 1];
    int64_t created_ms; /* 0 when not recorded (an older entry) */
    int64_t revoked_ms; /* 0 while the entry may send */
    char origin[17];    /* "" (made by people), or what made it ("simulation") */
    int64_t expires_ms; /* a replaced key: accepted until then; 0 for the id's current key */
    /* the bus registry's (operators and services, common/access.h): what
     * the key may send ("trainer", "mediator", "coordinator", "service"),
     * and the branch or trainer it speaks for ("" = none); "" elsewhere */
    char access[16];
    char branch[KEYRING_ID_MAX];
    char trainer[KEYRING_ID_MAX];
} keyring_entry_t;

typedef struct {
    keyring_entry_t *items;
    int n;
} keyring_t;

/* Loads every .key file of <dir>/<kind->dir>. 0, or -1 with err (a bad file
 * is named and skipped). */
int keyring_load(const keyring_kind_t *kind, const char *dir, keyring_t *out, char *err, size_t errlen);
void keyring_free(keyring_t *k);

/* The id's current entry (not a replaced key). */
const keyring_entry_t *keyring_by_id(const keyring_t *k, const char *id);
const keyring_entry_t *keyring_by_key(const keyring_t *k, const char *public_key);

/* Why a key may not send: */
typedef enum { KEYRING_OK, KEYRING_UNKNOWN, KEYRING_REVOKED, KEYRING_EXPIRED } keyring_verdict_t;
/* Whether public_key may send at now_ms (real time): a known key, its id
 * not revoked, and, for a replaced key, its window not over. *entry gets the
 * key's entry (NULL when unknown). The one rule ZAP and the handlers apply. */
keyring_verdict_t keyring_check(const keyring_t *k, const char *public_key, int64_t now_ms,
                                const keyring_entry_t **entry);

/* How many entries are revoked. */
int keyring_revoked(const keyring_t *k);

/* A fingerprint of the registry directory (names, sizes, times) to notice
 * changes. */
unsigned long keyring_dir_stamp(const keyring_kind_t *kind, const char *dir);

/* Creates the server's key pair and the directories if missing. 0 / -1. */
int keyring_ensure_server_key(const keyring_kind_t *kind, const char *dir, char *err, size_t errlen);
/* Creates an entry: key pair, public certificate in the registry, secret
 * certificate for the client (0600, with the server's public key and the
 * endpoint in its metadata; the server's key made first if missing), made
 * at now_ms by origin ("" for people). Refuses an id that exists. */
int keyring_add(const keyring_kind_t *kind, const char *dir, const char *id, const char *name, const char *territory,
                const char *endpoint, int64_t now_ms, const char *origin, char *err, size_t errlen);
/* The same with more metadata: pairs of name and value, NULL-terminated
 * (NULL = none); e.g. { "access", "trainer", "trainer", "t-anne", NULL }. */
int keyring_add_meta(const keyring_kind_t *kind, const char *dir, const char *id, const char *name,
                     const char *territory, const char *endpoint, int64_t now_ms, const char *origin,
                     const char *const *meta, char *err, size_t errlen);
/* Deletes an entry of the given origin (and its secret) from the registry,
 * as if it had never been: for what a demo made. An entry of another origin
 * is refused (people's entries are revoked, never forgotten). */
int keyring_remove(const keyring_kind_t *kind, const char *dir, const char *id, const char *origin, char *err,
                   size_t errlen);
/* Marks the entry revoked as of now_ms (its certificate stays, with the
 * date), ends the window of its replaced keys and deletes its secret copy. */
int keyring_revoke(const keyring_kind_t *kind, const char *dir, const char *id, int64_t now_ms, char *err,
                   size_t errlen);

/* Gives the entry a new key pair: the new secret certificate replaces the
 * client's copy, the old public certificate stays accepted until
 * now_ms + window_ms (0: refused at once). Refuses a revoked entry. */
int keyring_rotate(const keyring_kind_t *kind, const char *dir, const char *id, const char *endpoint, int64_t now_ms,
                   int64_t window_ms, char *err, size_t errlen);
/* Ends the window of the entry's replaced keys now (the client system has
 * the new key); how many windows were ended (0: none open), or -1. */
int keyring_end_window(const keyring_kind_t *kind, const char *dir, const char *id, int64_t now_ms, char *err,
                       size_t errlen);
/* A client's credentials: its key pair and the server's public key, from
 * the secret certificate keyring_add wrote (metadata "server-key"). */
typedef struct {
    char public_key[KEYRING_KEY_LEN + 1];
    char secret_key[KEYRING_KEY_LEN + 1];
    char server_key[KEYRING_KEY_LEN + 1];
    /* an operator's (the bus registry's metadata, "" elsewhere) */
    char id[KEYRING_ID_MAX];
    char access[16];
    char trainer[KEYRING_ID_MAX];
    char branch[KEYRING_ID_MAX];
} keyring_cred_t;

/* 0, or -1 with the reason (the file missing or not a secret certificate
 * with its server's key). */
int keyring_cred_load(const char *path, keyring_cred_t *out, char *err, size_t errlen);

/* ------------------------------------------------------------------ door */

struct svc;

typedef struct {
    const keyring_kind_t *kind;
    const char *dir;     /* the registry (the caller's configuration) */
    keyring_t keys;      /* the one table ZAP and the handlers read */
    unsigned long stamp; /* of the directory when loaded */
    void *router;        /* the CURVE endpoint */
    void *zap;
    char server_public[KEYRING_KEY_LEN + 1];
    char also_allowed[KEYRING_KEY_LEN + 1]; /* a key of the service's own (a self-check), "" = none */
    struct svc *svc;
    const char *server_secret; /* the server key's file; NULL: <dir>/server.key_secret */
} keyring_door_t;

/* Reloads the registry when its directory changed; 1 when it did. */
int keyring_door_refresh(keyring_door_t *d);
/* Makes the server key if missing, loads the registry, binds the ZAP
 * handler (the service calls on_zap when it is readable: a one-line
 * function calling keyring_door_zap) then the ROUTER at bind (a comma list)
 * with the server key of d->dir.
 *
 * ZeroMQ asks one ZAP handler per context (inproc://zeromq.zap.01) about
 * every handshake of every socket, so a process with several doors (the
 * bus's command endpoint, intake's branches, the survey's kiosks) has one
 * handler for all: each door's ROUTER names its registry in ZMQ_ZAP_DOMAIN
 * (the kind's role: "operator", "branch", "kiosk"), and the handler answers
 * each request from the door of its domain — a branch key is not let in on
 * the command endpoint, nor an operator's at a branch door. The first door
 * opened binds the handler (its on_zap serves them all). The caller adds the router to its service
 * with the handlers it serves (svc_add_router). 0, or -1 with the reason. */
int keyring_door_open(keyring_door_t *d, struct svc *s, const char *bind, void (*on_zap)(struct svc *s, void *sock),
                      char *err, size_t errlen);
/* Answers every ZAP request waiting. */
void keyring_door_zap(keyring_door_t *d);
/* Closes both sockets and frees the table; idempotent. */
void keyring_door_close(keyring_door_t *d);

#endif
