#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/random.h>

static void util_oom(size_t n)
{
    fprintf(stderr, "level=error event=out_of_memory bytes=%zu\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        util_oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        util_oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        util_oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void util_getrandom(unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0)
            continue; /* EINTR; getrandom on Linux >= 3.17 does not fail otherwise */
        p += got;
        n -= (size_t)got;
    }
}

/* A getrandom(2) per call was a system call per message (each reply's id,
 * each send's jitter): the bytes come from a pool refilled 256 at a time,
 * each handed out once. Each thread has its own; a forked child forgets the
 * bytes its parent has not used yet (it would hand out the same ones). */
static __thread unsigned char util_pool[256];
static __thread size_t util_pool_left;

static void util_pool_forget(void) { util_pool_left = 0; }
static void util_pool_register_fork(void) { pthread_atfork(NULL, NULL, util_pool_forget); }

static void util_random_bytes(void *buf, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    unsigned char *p = buf;
    while (n > 0) {
        if (util_pool_left == 0) {
            pthread_once(&once, util_pool_register_fork);
            util_getrandom(util_pool, sizeof util_pool);
            util_pool_left = sizeof util_pool;
        }
        size_t k = n < util_pool_left ? n : util_pool_left;
        unsigned char *from = util_pool + sizeof util_pool - util_pool_left;
        memcpy(p, from, k);
        memset(from, 0, k);
        util_pool_left -= k;
        p += k;
        n -= k;
    }
}

/* TP_ID_LEN / 2 bytes as an id: lowercase hex and a NUL. */
static void util_hex_id(const unsigned char raw[TP_ID_LEN / 2], char out[TP_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < TP_ID_LEN / 2; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[TP_ID_LEN] = '\0';
}

void util_random_id(char out[TP_ID_LEN + 1])
{
    unsigned char raw[TP_ID_LEN / 2];
    util_random_bytes(raw, sizeof raw);
    util_hex_id(raw, out);
}

void util_digest(const void *data, size_t len, char out[TP_ID_LEN + 1])
{
    unsigned char raw[TP_ID_LEN / 2];
    if (sodium_init() < 0)
        abort(); /* no usable randomness or CPU support: nothing can run safely */
    crypto_generichash(raw, sizeof raw, data, len, NULL, 0);
    util_hex_id(raw, out);
}

uint64_t util_random_u64(void)
{
    uint64_t v;
    util_random_bytes(&v, sizeof v);
    return v;
}

/* The deployment's secret for derived ids: configuration of the process,
 * like the business clock, set once at start. */
static unsigned char util_key[TP_ID_KEY_LEN];
static int util_key_set;

void util_id_key_set(const unsigned char key[TP_ID_KEY_LEN])
{
    memcpy(util_key, key, TP_ID_KEY_LEN);
    util_key_set = 1;
}

int util_id_key_load(const char *path, char *err, size_t errlen)
{
    FILE *f = path && *path ? fopen(path, "r") : NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot read the id key (bus.id_key_file; deploy/setup.sh writes it)",
                 path && *path ? path : "bus.id_key_file not set");
        return -1;
    }
    char hex[2 * TP_ID_KEY_LEN + 2] = "";
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
        n--;
    hex[n] = '\0';
    unsigned char key[TP_ID_KEY_LEN];
    size_t bin = 0;
    if (n != 2 * TP_ID_KEY_LEN || sodium_hex2bin(key, sizeof key, hex, n, NULL, &bin, NULL) != 0
        || bin != TP_ID_KEY_LEN) {
        snprintf(err, errlen, "%s: the id key must be %d hex characters", path, 2 * TP_ID_KEY_LEN);
        return -1;
    }
    util_id_key_set(key);
    sodium_memzero(key, sizeof key);
    return 0;
}

void util_derive_id(const char *seed, const char *label, unsigned index, char out[TP_ID_LEN + 1])
{
    if (!util_key_set) {
        fprintf(stderr, "level=error event=no_id_key\n");
        abort(); /* a programming error: every service loads the key at start */
    }
    if (sodium_init() < 0)
        abort();
    /* seed and label each end with their NUL: ("ab", "c") is not ("a", "bc") */
    const unsigned char idx[4] = { (unsigned char)(index >> 24), (unsigned char)(index >> 16),
                                   (unsigned char)(index >> 8), (unsigned char)index };
    unsigned char raw[TP_ID_LEN / 2];
    crypto_generichash_state st;
    crypto_generichash_init(&st, util_key, sizeof util_key, sizeof raw);
    crypto_generichash_update(&st, (const unsigned char *)seed, strlen(seed) + 1);
    crypto_generichash_update(&st, (const unsigned char *)label, strlen(label) + 1);
    crypto_generichash_update(&st, idx, sizeof idx);
    crypto_generichash_final(&st, raw, sizeof raw);
    util_hex_id(raw, out);
}

int util_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int util_strlcpy(char *dst, const char *src, size_t cap)
{
    if (cap == 0)
        return -1;
    size_t n = strlen(src);
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int util_split_list(char *s, char **items, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*tok)
            items[n++] = tok;
    }
    return n;
}

const char *util_join(char *const *items, size_t n, const char *sep, char *buf, size_t cap)
{
    size_t w = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]) + (i > 0 ? strlen(sep) : 0);
        if (len >= cap - w)
            break;
        snprintf(buf + w, cap - w, "%s%s", i > 0 ? sep : "", items[i]);
        w += len;
    }
    return buf;
}
