/* libFuzzer target: the configuration file (tremplin.conf), read by every
 * service at start and on SIGHUP: loaded, or refused with "file:line:
 * reason". The table has a field of each type, as the services' tables do. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    char host[64];
    int64_t port;
    int require_aof;
    double speed;
    conf_map_t endpoints;
} fuzz_conf_t;

static const conf_field_t fields[] = {
    CONF_STR_FIELD("redis", "host", fuzz_conf_t, host, "127.0.0.1"),
    CONF_INT_FIELD("redis", "port", fuzz_conf_t, port, "6379"),
    CONF_BOOL_FIELD("redis", "require_aof", fuzz_conf_t, require_aof, "yes"),
    CONF_DOUBLE_FIELD("clock", "speed", fuzz_conf_t, speed, "1"),
    CONF_MAP_FIELD("endpoints", fuzz_conf_t, endpoints),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* conf_load reads a path, as the services do: the input goes into an
     * in-memory file */
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_conf", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    fuzz_conf_t c;
    conf_table_t t = { fields, sizeof fields / sizeof fields[0], &c };
    char err[256] = "";
    if (conf_load(path, &t, 1, NULL, err, sizeof err) != 0) {
        if (!err[0])
            abort(); /* a refusal always says where and why */
        return 0;
    }
    if (memchr(c.host, '\0', sizeof c.host) == NULL || c.endpoints.n < 0 || c.endpoints.n > CONF_MAP_MAX)
        abort();
    return 0;
}
