#include "keyring.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ids.h"
#include "util.h"
#include "wire.h"

/* A keyring library: no log, no service; every failure is told in err. */

static void keyring_path(char *out, size_t cap, const char *dir, const char *sub, const char *id, const char *ext)
{
    snprintf(out, cap, "%s/%s%s%s%s", dir, sub, *sub ? "/" : "", id, ext);
}

static int keyring_mkdirs(const keyring_kind_t *kind, const char *dir)
{
    char p[512];
    mkdir(dir, 0700);
    keyring_path(p, sizeof p, dir, "", kind->dir, "");
    mkdir(p, 0755);
    keyring_path(p, sizeof p, dir, "", kind->secrets, "");
    mkdir(p, 0700);
    struct stat st;
    return stat(p, &st) == 0 ? 0 : -1;
}

int keyring_load(const keyring_kind_t *kind, const char *dir, keyring_t *out, char *err, size_t errlen)
{
    out->items = NULL;
    out->n = 0;
    char dirpath[512];
    keyring_path(dirpath, sizeof dirpath, dir, "", kind->dir, "");
    DIR *d = opendir(dirpath);
    if (!d) {
        if (errno == ENOENT)
            return 0; /* no entry yet */
        snprintf(err, errlen, "%s: %s", dirpath, strerror(errno));
        return -1;
    }
    int rc = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".key") != 0)
            continue;
        char path[800];
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        zcert_t *cert = zcert_load(path);
        const char *id = cert ? zcert_meta(cert, kind->role) : NULL;
        const char *terr = cert ? zcert_meta(cert, "territory") : NULL;
        if (!cert || !ids_valid(id, KEYRING_ID_MAX - 1) || !ids_valid(terr, WIRE_TERRITORY_MAX)) {
            snprintf(err, errlen, "%s: not a %s certificate (%s, territory)", path, kind->role, kind->role);
            rc = -1;
            zcert_destroy(&cert);
            continue;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->items = xrealloc(out->items, (size_t)cap * sizeof *out->items);
        }
        keyring_entry_t *b = &out->items[out->n++];
        util_strlcpy(b->id, id, sizeof b->id);
        const char *name = zcert_meta(cert, "name");
        util_strlcpy(b->name, name ? name : id, sizeof b->name);
        util_strlcpy(b->territory, terr, sizeof b->territory);
        util_strlcpy(b->public_key, zcert_public_txt(cert), sizeof b->public_key);
        const char *revoked = zcert_meta(cert, "revoked_ms"), *created = zcert_meta(cert, "created_ms"),
                   *origin = zcert_meta(cert, "origin");
        b->revoked_ms = revoked ? strtoll(revoked, NULL, 10) : 0;
        b->created_ms = created ? strtoll(created, NULL, 10) : 0;
        util_strlcpy(b->origin, origin ? origin : "", sizeof b->origin);
        const char *expires = zcert_meta(cert, "expires_ms");
        b->expires_ms = expires ? strtoll(expires, NULL, 10) : 0;
        const char *access = zcert_meta(cert, "access"), *branch = zcert_meta(cert, "branch"),
                   *trainer = zcert_meta(cert, "trainer");
        util_strlcpy(b->access, access ? access : "", sizeof b->access);
        util_strlcpy(b->branch, branch ? branch : "", sizeof b->branch);
        util_strlcpy(b->trainer, trainer ? trainer : "", sizeof b->trainer);
        zcert_destroy(&cert);
    }
    closedir(d);
    return rc;
}

void keyring_free(keyring_t *b)
{
    free(b->items);
    b->items = NULL;
    b->n = 0;
}

const keyring_entry_t *keyring_by_id(const keyring_t *b, const char *id)
{
    for (int i = 0; i < b->n; i++)
        if (!b->items[i].expires_ms && strcmp(b->items[i].id, id) == 0)
            return &b->items[i];
    return NULL;
}

const keyring_entry_t *keyring_by_key(const keyring_t *b, const char *public_key)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->items[i].public_key, public_key) == 0)
            return &b->items[i];
    return NULL;
}

int keyring_revoked(const keyring_t *b)
{
    int n = 0;
    for (int i = 0; i < b->n; i++)
        n += b->items[i].revoked_ms != 0 && !b->items[i].expires_ms;
    return n;
}

keyring_verdict_t keyring_check(const keyring_t *k, const char *public_key, int64_t now_ms,
                                const keyring_entry_t **entry)
{
    const keyring_entry_t *e = keyring_by_key(k, public_key);
    *entry = e;
    if (!e)
        return KEYRING_UNKNOWN;
    /* a replaced key speaks for its id: refused once the id is revoked */
    const keyring_entry_t *current = keyring_by_id(k, e->id);
    if (e->revoked_ms || (current && current->revoked_ms))
        return KEYRING_REVOKED;
    if (e->expires_ms && now_ms >= e->expires_ms)
        return KEYRING_EXPIRED;
    return KEYRING_OK;
}

/* Writes the public certificate whole beside the registry, then renames it
 * into place as <name>.key: a reader (the service, at any moment) never sees
 * half of it. */
static int keyring_save_public(const keyring_kind_t *kind, zcert_t *cert, const char *dir, const char *name)
{
    char tmp[512], pub[512];
    keyring_path(tmp, sizeof tmp, dir, "", ".new-", name);
    keyring_path(pub, sizeof pub, dir, kind->dir, name, ".key");
    if (zcert_save_public(cert, tmp) != 0 || rename(tmp, pub) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

unsigned long keyring_dir_stamp(const keyring_kind_t *kind, const char *dir)
{
    char dirpath[512];
    keyring_path(dirpath, sizeof dirpath, dir, "", kind->dir, "");
    DIR *d = opendir(dirpath);
    if (!d)
        return 0;
    unsigned long h = 5381;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[800];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        /* order-independent: sum of per-file hashes */
        unsigned long f = 5381;
        for (const char *p = e->d_name; *p; p++)
            f = f * 33 + (unsigned char)*p;
        f = f * 33 + (unsigned long)st.st_size;
        f = f * 33 + (unsigned long)st.st_mtim.tv_sec * 1000000000UL + (unsigned long)st.st_mtim.tv_nsec;
        h += f;
    }
    closedir(d);
    return h;
}

int keyring_ensure_server_key(const keyring_kind_t *kind, const char *dir, char *err, size_t errlen)
{
    if (keyring_mkdirs(kind, dir) != 0) {
        snprintf(err, errlen, "%s: cannot create the key directories", dir);
        return -1;
    }
    char pub[512], sec[512];
    keyring_path(pub, sizeof pub, dir, "", "server", ".key");
    keyring_path(sec, sizeof sec, dir, "", "server", ".key_secret");
    struct stat st;
    if (stat(sec, &st) == 0)
        return 0;
    /* several programs may make it at once (services starting together):
     * the secret is linked into place, so one wins and the others use its
     * key; the public file is then written from the winner's */
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/.new-server-%d", dir, (int)getpid());
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "role", "%s", kind->server_role);
    int rc = zcert_save_secret(cert, tmp) == 0 && chmod(tmp, 0600) == 0 && (link(tmp, sec) == 0 || errno == EEXIST)
                 ? 0
                 : -1;
    unlink(tmp);
    zcert_destroy(&cert);
    cert = rc == 0 ? zcert_load(sec) : NULL;
    if (!cert || zcert_save_public(cert, tmp) != 0 || rename(tmp, pub) != 0) {
        unlink(tmp);
        snprintf(err, errlen, "%s: cannot write the server key", dir);
        rc = -1;
    }
    zcert_destroy(&cert);
    return rc;
}

int keyring_add(const keyring_kind_t *kind, const char *dir, const char *id, const char *name, const char *territory,
                const char *endpoint, int64_t now_ms, const char *origin, char *err, size_t errlen)
{
    return keyring_add_meta(kind, dir, id, name, territory, endpoint, now_ms, origin, NULL, err, errlen);
}

int keyring_add_meta(const keyring_kind_t *kind, const char *dir, const char *id, const char *name,
                     const char *territory, const char *endpoint, int64_t now_ms, const char *origin,
                     const char *const *meta, char *err, size_t errlen)
{
    if (!ids_valid(id, KEYRING_ID_MAX - 1) || !ids_valid(territory, WIRE_TERRITORY_MAX)) {
        snprintf(err, errlen, "identifiant de %s ou territoire invalide (lettres, chiffres, - _)", kind->noun_fr);
        return -1;
    }
    char pub[512], sec[512], server[512];
    keyring_path(pub, sizeof pub, dir, kind->dir, id, ".key");
    keyring_path(sec, sizeof sec, dir, kind->secrets, id, ".key_secret");
    keyring_path(server, sizeof server, dir, "", "server", ".key");
    if (keyring_ensure_server_key(kind, dir, err, errlen) != 0)
        return -1;
    struct stat st;
    if (stat(pub, &st) == 0) {
        snprintf(err, errlen, "%s %s existe déjà", kind->the_fr, id);
        return -1;
    }
    zcert_t *server_cert = zcert_load(server);
    if (!server_cert) {
        snprintf(err, errlen, "%s: cannot read the server key", server);
        return -1;
    }
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, kind->role, "%s", id);
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "territory", "%s", territory);
    zcert_set_meta(cert, "server-key", "%s", zcert_public_txt(server_cert));
    zcert_set_meta(cert, "endpoint", "%s", endpoint ? endpoint : "");
    zcert_set_meta(cert, "created_ms", "%lld", (long long)now_ms);
    if (origin && origin[0])
        zcert_set_meta(cert, "origin", "%s", origin);
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2)
        if (meta[i + 1][0])
            zcert_set_meta(cert, meta[i], "%s", meta[i + 1]);
    /* the secret first: a registered key whose secret was never written
     * would be an entry nobody can use */
    int rc = zcert_save_secret(cert, sec) == 0 && chmod(sec, 0600) == 0 && keyring_save_public(kind, cert, dir, id) == 0
                 ? 0
                 : -1;
    if (rc != 0)
        snprintf(err, errlen, "cannot write the keys of %s under %s", id, dir);
    zcert_destroy(&cert);
    zcert_destroy(&server_cert);
    return rc;
}

/* An entry's public certificate and the paths of its two files (512
 * bytes each), or NULL with "invalide" / "inconnue" in err. */
static zcert_t *keyring_load_entry(const keyring_kind_t *kind, const char *dir, const char *id, char *pub, char *sec,
                                   char *err, size_t errlen)
{
    if (!ids_valid(id, KEYRING_ID_MAX - 1)) {
        snprintf(err, errlen, "identifiant de %s invalide", kind->noun_fr);
        return NULL;
    }
    keyring_path(pub, 512, dir, kind->dir, id, ".key");
    keyring_path(sec, 512, dir, kind->secrets, id, ".key_secret");
    zcert_t *cert = zcert_load(pub);
    if (!cert)
        snprintf(err, errlen, "%s %s inconnue", kind->noun_fr, id);
    return cert;
}

/* The replaced keys of an entry: <dir>/<kind->dir>/<id>.<digits>.key (an id
 * has no dot, so no entry's file looks like one). fn gets each file's path
 * and its name without ".key"; stops at the first non-zero return. */
static int keyring_each_replaced(const keyring_kind_t *kind, const char *dir, const char *id,
                                 int (*fn)(const char *path, const char *name, void *arg), void *arg)
{
    char dirpath[512];
    keyring_path(dirpath, sizeof dirpath, dir, "", kind->dir, "");
    DIR *d = opendir(dirpath);
    if (!d)
        return 0;
    size_t idlen = strlen(id);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        if (len < idlen + 6 || strncmp(n, id, idlen) != 0 || n[idlen] != '.' || strcmp(n + len - 4, ".key") != 0)
            continue;
        size_t digits = len - 4 - idlen - 1;
        if (strspn(n + idlen + 1, "0123456789") != digits)
            continue;
        char path[800], name[128];
        snprintf(path, sizeof path, "%s/%s", dirpath, n);
        snprintf(name, sizeof name, "%.*s", (int)(len - 4), n);
        rc = fn(path, name, arg);
    }
    closedir(d);
    return rc;
}

/* cert with its metadata `name` set to value: CZMQ's zcert_set_meta never
 * replaces a value (and zcert_unset_meta is a draft API), so a copy. */
static zcert_t *keyring_with_meta(zcert_t *cert, const char *name, int64_t value)
{
    zcert_t *copy = zcert_new_from(zcert_public_key(cert), zcert_secret_key(cert));
    zlist_t *keys = zcert_meta_keys(cert);
    for (const char *k = zlist_first(keys); k; k = zlist_next(keys))
        if (strcmp(k, name) != 0)
            zcert_set_meta(copy, k, "%s", zcert_meta(cert, k));
    zlist_destroy(&keys);
    zcert_set_meta(copy, name, "%lld", (long long)value);
    return copy;
}

typedef struct {
    const keyring_kind_t *kind;
    const char *dir;
    int64_t now_ms;
    int ended;
} keyring_window_t;

/* One replaced key still accepted after now: its window ends now. */
static int keyring_end_one(const char *path, const char *name, void *arg)
{
    keyring_window_t *w = arg;
    zcert_t *cert = zcert_load(path);
    if (!cert)
        return 0;
    const char *expires = zcert_meta(cert, "expires_ms");
    int rc = 0;
    if (expires && strtoll(expires, NULL, 10) > w->now_ms) {
        zcert_t *ended = keyring_with_meta(cert, "expires_ms", w->now_ms);
        rc = keyring_save_public(w->kind, ended, w->dir, name);
        w->ended += rc == 0;
        zcert_destroy(&ended);
    }
    zcert_destroy(&cert);
    return rc;
}

int keyring_end_window(const keyring_kind_t *kind, const char *dir, const char *id, int64_t now_ms, char *err,
                       size_t errlen)
{
    char pub[512], sec[512];
    zcert_t *cert = keyring_load_entry(kind, dir, id, pub, sec, err, errlen);
    if (!cert)
        return -1;
    zcert_destroy(&cert);
    keyring_window_t w = { kind, dir, now_ms, 0 };
    if (keyring_each_replaced(kind, dir, id, keyring_end_one, &w) != 0) {
        snprintf(err, errlen, "cannot rewrite the replaced keys of %s under %s", id, dir);
        return -1;
    }
    return w.ended;
}

int keyring_rotate(const keyring_kind_t *kind, const char *dir, const char *id, const char *endpoint, int64_t now_ms,
                   int64_t window_ms, char *err, size_t errlen)
{
    char pub[512], sec[512], server[512];
    zcert_t *old = keyring_load_entry(kind, dir, id, pub, sec, err, errlen);
    if (!old)
        return -1;
    keyring_path(server, sizeof server, dir, "", "server", ".key");
    zcert_t *server_cert = NULL, *cert = NULL;
    int rc = -1;
    if (zcert_meta(old, "revoked_ms")) {
        snprintf(err, errlen, "%s %s est révoquée : elle n'a plus de clé à remplacer", kind->the_fr, id);
        goto done;
    }
    if (!(server_cert = zcert_load(server))) {
        snprintf(err, errlen, "%s: cannot read the server key", server);
        goto done;
    }
    /* the old key first kept under its own name with its window, so that
     * at no moment is it unknown; then the new secret, then the new public
     * certificate in the entry's place */
    char replaced[128];
    snprintf(replaced, sizeof replaced, "%s.%lld", id, (long long)now_ms);
    zcert_set_meta(old, "expires_ms", "%lld", (long long)(now_ms + window_ms));
    zcert_set_meta(old, "replaced_ms", "%lld", (long long)now_ms);
    if (keyring_save_public(kind, old, dir, replaced) != 0) {
        snprintf(err, errlen, "cannot write the replaced key of %s under %s", id, dir);
        goto done;
    }
    /* the new certificate says what the old one said (id, name, territory,
     * created_ms, origin, an operator's role ...), but for what is the key's
     * own: its window, its server, its endpoint, its rotation */
    cert = zcert_new();
    static const char *const own[] = { "expires_ms", "replaced_ms", "rotated_ms", "server-key", "endpoint" };
    zlist_t *names = zcert_meta_keys(old);
    for (const char *k = zlist_first(names); k; k = zlist_next(names)) {
        size_t i = 0;
        while (i < sizeof own / sizeof *own && strcmp(own[i], k) != 0)
            i++;
        if (i == sizeof own / sizeof *own)
            zcert_set_meta(cert, k, "%s", zcert_meta(old, k));
    }
    zlist_destroy(&names);
    zcert_set_meta(cert, "server-key", "%s", zcert_public_txt(server_cert));
    zcert_set_meta(cert, "endpoint", "%s", endpoint ? endpoint : "");
    zcert_set_meta(cert, "rotated_ms", "%lld", (long long)now_ms);
    if (zcert_save_secret(cert, sec) != 0 || chmod(sec, 0600) != 0 || keyring_save_public(kind, cert, dir, id) != 0) {
        snprintf(err, errlen, "cannot write the new keys of %s under %s", id, dir);
        goto done;
    }
    rc = 0;
done:
    zcert_destroy(&cert);
    zcert_destroy(&server_cert);
    zcert_destroy(&old);
    return rc;
}

static int keyring_unlink_one(const char *path, const char *name, void *arg)
{
    (void)name, (void)arg;
    unlink(path);
    return 0;
}

int keyring_revoke(const keyring_kind_t *kind, const char *dir, const char *id, int64_t now_ms, char *err,
                   size_t errlen)
{
    char pub[512], sec[512];
    zcert_t *cert = keyring_load_entry(kind, dir, id, pub, sec, err, errlen);
    if (!cert)
        return -1;
    int rc = 0;
    if (zcert_meta(cert, "revoked_ms")) {
        snprintf(err, errlen, "%s %s est déjà révoquée", kind->the_fr, id);
        rc = -1;
    } else {
        zcert_set_meta(cert, "revoked_ms", "%lld", (long long)now_ms);
        if (keyring_save_public(kind, cert, dir, id) != 0) {
            snprintf(err, errlen, "cannot write %s", pub);
            rc = -1;
        } else {
            unlink(sec);
            keyring_window_t w = { kind, dir, now_ms, 0 };
            keyring_each_replaced(kind, dir, id, keyring_end_one, &w);
        }
    }
    zcert_destroy(&cert);
    return rc;
}

int keyring_remove(const keyring_kind_t *kind, const char *dir, const char *id, const char *origin, char *err,
                   size_t errlen)
{
    char pub[512], sec[512];
    zcert_t *cert = keyring_load_entry(kind, dir, id, pub, sec, err, errlen);
    if (!cert)
        return -1;
    const char *o = zcert_meta(cert, "origin");
    int rc = 0;
    if (!o || strcmp(o, origin) != 0) {
        snprintf(err, errlen, "%s %s n'est pas de « %s » : la révoquer plutôt", kind->the_fr, id, origin);
        rc = -1;
    } else if (unlink(pub) != 0) {
        snprintf(err, errlen, "cannot delete %s: %s", pub, strerror(errno));
        rc = -1;
    } else {
        unlink(sec);
        keyring_each_replaced(kind, dir, id, keyring_unlink_one, NULL);
    }
    zcert_destroy(&cert);
    return rc;
}

int keyring_cred_load(const char *path, keyring_cred_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    zcert_t *cert = zcert_load(path);
    const char *server = cert ? zcert_meta(cert, "server-key") : NULL;
    int rc = -1;
    if (!cert)
        snprintf(err, errlen, "%s: %s", path, access(path, R_OK) == 0 ? "not a certificate" : strerror(errno));
    else if (!server || strlen(server) != KEYRING_KEY_LEN || strspn(zcert_secret_txt(cert), "0") == KEYRING_KEY_LEN)
        snprintf(err, errlen, "%s: not a secret certificate with its server's key", path);
    else {
        util_strlcpy(out->public_key, zcert_public_txt(cert), sizeof out->public_key);
        util_strlcpy(out->secret_key, zcert_secret_txt(cert), sizeof out->secret_key);
        util_strlcpy(out->server_key, server, sizeof out->server_key);
        const char *id = zcert_meta(cert, "operator"), *access = zcert_meta(cert, "access"),
                   *trainer = zcert_meta(cert, "trainer");
        util_strlcpy(out->id, id ? id : "", sizeof out->id);
        util_strlcpy(out->access, access ? access : "", sizeof out->access);
        util_strlcpy(out->trainer, trainer ? trainer : "", sizeof out->trainer);
        const char *branch = zcert_meta(cert, "branch");
        util_strlcpy(out->branch, branch ? branch : "", sizeof out->branch);
        rc = 0;
    }
    zcert_destroy(&cert);
    return rc;
}
