#include "ids.h"

#include <string.h>

#include "util.h"

/* 1..max characters, each in [0-9], [a-z] (and [A-Z] when upper) or extra. */
static int ids_shape(const char *s, size_t max, int upper, const char *extra)
{
    if (!s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max)
            return 0;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (upper && c >= 'A' && c <= 'Z') || strchr(extra, c)))
            return 0;
    }
    return n > 0;
}

int ids_token(const char *s, size_t max, const char *extra) { return ids_shape(s, max, 1, extra); }

int ids_valid(const char *s, size_t max) { return ids_shape(s, max, 1, "-_"); }

int ids_code(const char *s, size_t max) { return ids_shape(s, max, 0, "-_"); }

int ids_hex(const char *s)
{
    return s && strlen(s) == TP_ID_LEN && strspn(s, "0123456789abcdef") == TP_ID_LEN;
}
