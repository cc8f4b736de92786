#include "keys.h"

#include <stdio.h>

size_t tp_vkey(char *out, size_t cap, const char *territory, const char *service, const char *fmt, va_list ap)
{
    int p = service ? snprintf(out, cap, "tp:{%s}:%s:", territory, service) : snprintf(out, cap, "tp:{%s}:", territory);
    if (p < 0)
        p = 0;
    size_t at = (size_t)p < cap ? (size_t)p : cap ? cap - 1 : 0;
    int n = vsnprintf(cap ? out + at : NULL, cap - at, fmt, ap);
    return (size_t)p + (n > 0 ? (size_t)n : 0);
}

size_t tp_key(char *out, size_t cap, const char *territory, const char *service, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = tp_vkey(out, cap, territory, service, fmt, ap);
    va_end(ap);
    return n;
}
