/* keys — the names of Tremplin's Redis keys, built in one place:
 *
 *   tp:{<territory>}:<service>:<suffix>     a service's own keys
 *   tp:{<territory>}:<suffix>               service NULL: another namespace
 *
 * The territory is a hash tag, so every key of one function call lands in
 * one Redis Cluster slot (ARCHITECTURE.md, "State in Redis"); each service's
 * ACL user is limited to tp:*:<service>:*. */
#ifndef TP_KEYS_H
#define TP_KEYS_H

#include <stdarg.h>
#include <stddef.h>

/* Writes the key into out (always terminated when cap > 0) and returns its
 * full length, as snprintf does: a result >= cap means it was cut. */
size_t tp_key(char *out, size_t cap, const char *territory, const char *service, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
size_t tp_vkey(char *out, size_t cap, const char *territory, const char *service, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

#endif
