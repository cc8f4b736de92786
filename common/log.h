/* log — one key=value line per event on stderr.
 *
 * The level is checked before anything is formatted. Callers pass only ids and
 * codes: names, phone numbers, addresses and comments never reach a log line. */
#ifndef TP_LOG_H
#define TP_LOG_H

typedef enum { TPLOG_DEBUG = 0, TPLOG_INFO, TPLOG_WARN, TPLOG_ERROR, TPLOG_OFF } log_level_t;

/* Sets the service name written as svc= on every line, and the minimum level. */
void log_init(const char *service, log_level_t level);
void log_set_level(log_level_t level);
int log_enabled(log_level_t level);

/* Parses "debug", "info", "warn", "error", "off"; returns -1 if unknown. */
int log_level_parse(const char *name, log_level_t *out);

/* fmt holds the key=value pairs after the fixed prefix, e.g.
 * log_write(TPLOG_INFO, "started", "bind=%s", endpoint). */
void log_write(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) do { if (log_enabled(TPLOG_DEBUG)) log_write(TPLOG_DEBUG, ev, __VA_ARGS__); } while (0)
#define log_info(ev, ...)  do { if (log_enabled(TPLOG_INFO))  log_write(TPLOG_INFO, ev, __VA_ARGS__); } while (0)
#define log_warn(ev, ...)  do { if (log_enabled(TPLOG_WARN))  log_write(TPLOG_WARN, ev, __VA_ARGS__); } while (0)
#define log_error(ev, ...) do { if (log_enabled(TPLOG_ERROR)) log_write(TPLOG_ERROR, ev, __VA_ARGS__); } while (0)

#endif
