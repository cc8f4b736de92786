#include "util.h"

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

static void util_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0)
            continue; /* EINTR; getrandom on Linux >= 3.17 does not fail otherwise */
        p += got;
        n -= (size_t)got;
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

static uint64_t util_mix(uint64_t h)
{
    h ^= h >> 30; /* splitmix64 finaliser */
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

void util_derive_id(const char *seed, const char *label, unsigned index, char out[TP_ID_LEN + 1])
{
    uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
    for (const char *p = seed; *p; p++) {
        a = (a ^ (unsigned char)*p) * 0x100000001b3ULL;
        b = (b ^ (unsigned char)*p) * 0x1000193ULL + 0x9e3779b97f4a7c15ULL;
    }
    for (const char *p = label; *p; p++) {
        a = (a ^ (unsigned char)*p) * 0x100000001b3ULL;
        b = (b ^ (unsigned char)*p) * 0x1000193ULL + 0x9e3779b97f4a7c15ULL;
    }
    a = util_mix(a ^ index);
    b = util_mix(b + a + index);
    snprintf(out, TP_ID_LEN + 1, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
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
