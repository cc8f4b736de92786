#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_service[32] = "tremplin";
static log_level_t log_min = TPLOG_INFO;
static const char *const log_names[] = { "debug", "info", "warn", "error", "off" };

void log_init(const char *service, log_level_t level)
{
    snprintf(log_service, sizeof log_service, "%s", service);
    log_min = level;
}

void log_set_level(log_level_t level) { log_min = level; }

int log_enabled(log_level_t level) { return level >= log_min && level < TPLOG_OFF; }

int log_level_parse(const char *name, log_level_t *out)
{
    for (int i = 0; i <= TPLOG_OFF; i++)
        if (strcmp(name, log_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    return -1;
}

/* The whole line is built first and written with one write(2), so lines from
 * several processes sharing stderr never interleave. */
void log_write(log_level_t level, const char *event, const char *fmt, ...)
{
    char line[1024];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s pid=%d event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     now.tv_nsec / 1000000, log_names[level], log_service, (int)getpid(), event);
    if (n < 0 || (size_t)n >= sizeof line - 2)
        n = (int)sizeof line - 2;
    if (fmt && *fmt) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m < (int)(sizeof line - (size_t)n - 1) ? m : (int)(sizeof line - (size_t)n - 2);
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
