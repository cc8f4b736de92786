/* web — a minimal HTTP/1.0 GET for the tests of the reporter's HTTP side
 * (loopback, no TLS): status, headers and body, read until the server
 * closes. */
#ifndef TP_WEB_H
#define TP_WEB_H

#include <stddef.h>

typedef struct {
    int status;        /* 0 when nothing answered */
    char *headers;     /* the header block, as sent */
    char *body;        /* NUL-terminated (the body may hold NULs: use len) */
    size_t len;
    long long micros;  /* time to the last byte */
} web_reply_t;

/* GET path from 127.0.0.1:port within timeout_ms; 0, or -1 when it failed
 * (connection refused, timeout). Free with web_free. */
int web_get(int port, const char *path, int timeout_ms, web_reply_t *out);
void web_free(web_reply_t *r);
/* The value of a header (case-insensitive name) copied into out; 0 or -1. */
int web_header(const web_reply_t *r, const char *name, char *out, size_t cap);

#endif
