/* web — a minimal HTTP/1.0 GET (web.h). */
#include "web.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int web_get(int port, const char *path, int timeout_ms, web_reply_t *out)
{
    memset(out, 0, sizeof *out);
    long long t0 = now_us();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[2048];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        int left = timeout_ms - (int)((now_us() - t0) / 1000);
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        if (len == cap)
            buf = realloc(buf, (cap *= 2) + 1);
        ssize_t r = read(fd, buf + len, cap - len);
        if (r <= 0) {
            out->micros = now_us() - t0;
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!out->micros || !end || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        return -1;
    }
    *end = '\0';
    out->headers = strdup(buf);
    out->len = len - (size_t)(end + 4 - buf);
    out->body = malloc(out->len + 1);
    memcpy(out->body, end + 4, out->len);
    out->body[out->len] = '\0';
    free(buf);
    return 0;
}

void web_free(web_reply_t *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int web_header(const web_reply_t *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = r->headers; l && *l;) {
        const char *eol = strstr(l, "\r\n");
        if (!strncasecmp(l, name, nl) && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = eol ? (size_t)(eol - v) : strlen(v);
            snprintf(out, cap, "%.*s", (int)vl, v);
            return 0;
        }
        l = eol ? eol + 2 : NULL;
    }
    return -1;
}
