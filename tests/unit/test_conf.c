/* Unit tests for common/conf: defaults, then the file, then the environment;
 * errors that name file:line; free-key sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"

typedef struct {
    char host[32];
    int64_t port;
    int64_t command_timeout_ms;
    int verbose;
    double speed;
    int64_t watch_ms;
    conf_map_t endpoints;
} t_conf_t;

static const conf_field_t t_fields[] = {
    CONF_STR_FIELD("redis", "host", t_conf_t, host, "localhost"),
    CONF_INT_FIELD("redis", "port", t_conf_t, port, "6379"),
    CONF_INT_FIELD("redis", "command-timeout-ms", t_conf_t, command_timeout_ms, "500"),
    CONF_BOOL_FIELD("log", "verbose", t_conf_t, verbose, "no"),
    CONF_DOUBLE_FIELD("clock", "speed", t_conf_t, speed, "1.5"),
    CONF_INT_FIELD("intake", "watch_ms", t_conf_t, watch_ms, "1000"),
    CONF_MAP_FIELD("endpoints", t_conf_t, endpoints),
};

/* Every test starts from a struct full of junk and an environment without
 * TREMPLIN_* variables, and writes its file (if any) to path. */
typedef struct {
    t_conf_t c;
    conf_table_t table;
    char path[64];
    char err[512];
} fixture_t;

extern char **environ;

static void clear_tremplin_env(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; *e; e++)
            if (strncmp(*e, "TREMPLIN_", 9) == 0) {
                size_t n = strcspn(*e, "=");
                if (n < sizeof name) {
                    memcpy(name, *e, n);
                    name[n] = '\0';
                }
                break;
            }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    memset(&f->c, 0x5a, sizeof f->c);
    f->table = (conf_table_t){ t_fields, sizeof t_fields / sizeof t_fields[0], &f->c };
    clear_tremplin_env();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->path[0])
        unlink(f->path);
    clear_tremplin_env();
    free(f);
    return 0;
}

static const char *write_file(fixture_t *f, const char *text)
{
    snprintf(f->path, sizeof f->path, "/tmp/tp-test-conf-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return f->path;
}

static int load(fixture_t *f, const char *path)
{
    f->err[0] = '\0';
    static const char *const others[] = { "matcher", NULL };
    return conf_load(path, &f->table, 1, others, f->err, sizeof f->err);
}

/* The error expected for line `line` of the fixture's file. */
static void assert_err_at(const fixture_t *f, int line, const char *reason)
{
    char want[512];
    snprintf(want, sizeof want, "%s:%d: %s", f->path, line, reason);
    assert_string_equal(f->err, want);
}

/* ------------------------------------------------------------- loading */

static void test_defaults(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->c.host, "localhost");
    assert_int_equal(f->c.port, 6379);
    assert_int_equal(f->c.command_timeout_ms, 500);
    assert_int_equal(f->c.verbose, 0);
    assert_true(f->c.speed == 1.5);
    assert_int_equal(f->c.endpoints.n, 0);
    /* an empty path is "no file" too */
    memset(&f->c, 0x5a, sizeof f->c);
    assert_int_equal(load(f, ""), 0);
    assert_int_equal(f->c.port, 6379);
}

static void test_file_values(void **state)
{
    fixture_t *f = *state;
    write_file(f, "; a comment\n"
                  "[redis]\n"
                  "host = redis.internal\n"
                  "port=7000\n"
                  "\n"
                  "# another comment\n"
                  "[clock]\n"
                  "speed = 60\n"
                  "[log]\n"
                  "verbose = yes\n");
    assert_int_equal(load(f, f->path), 0);
    assert_string_equal(f->c.host, "redis.internal");
    assert_int_equal(f->c.port, 7000);
    assert_int_equal(f->c.command_timeout_ms, 500); /* not in the file: default */
    assert_int_equal(f->c.verbose, 1);
    assert_true(f->c.speed == 60.0);
}

/* TREMPLIN_<SECTION>_<KEY>, upper case, '-' and '.' as '_', beats the file. */
static void test_env_overrides_file(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[redis]\nport = 7000\ncommand-timeout-ms = 100\n");
    setenv("TREMPLIN_REDIS_PORT", "7001", 1);
    setenv("TREMPLIN_REDIS_COMMAND_TIMEOUT_MS", "250", 1);
    setenv("TREMPLIN_LOG_VERBOSE", "on", 1);
    assert_int_equal(load(f, f->path), 0);
    assert_int_equal(f->c.port, 7001);
    assert_int_equal(f->c.command_timeout_ms, 250);
    assert_int_equal(f->c.verbose, 1);
    assert_string_equal(f->c.host, "localhost");
}

static void test_env_bad_value(void **state)
{
    fixture_t *f = *state;
    setenv("TREMPLIN_REDIS_PORT", "63 79", 1);
    assert_int_equal(load(f, NULL), -1);
    assert_string_equal(f->err, "environment TREMPLIN_REDIS_PORT must be an integer");
}

/* ---------------------------------------------------------- file errors */

static void test_bad_integer_names_line(void **state)
{
    fixture_t *f = *state;
    static const char *const bad[] = { "abc", "12abc", "", "99999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[redis]\nhost = h\nport = %s\n", bad[i]);
        write_file(f, text);
        assert_int_equal(load(f, f->path), -1);
        assert_err_at(f, 3, "redis.port must be an integer");
        unlink(f->path);
        f->path[0] = '\0';
    }
}

static void test_unknown_key_fails(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[redis]\nhost = h\nhots = typo\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 3, "unknown key 'hots' in [redis]");
}

/* A key that moved to another section is refused with where it is now
 * (the retention periods went to [retention]): read under its old name it
 * would be ignored, and the deployment would keep a retention it believes
 * it changed. */
static void test_moved_key_says_where(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[intake]\nwatch_ms = 5\nretention_days = 30\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 3, "'retention_days' in [intake] has moved: write it as 'contact_days' in [retention]");
}

static void test_other_programs_section_skipped(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[matcher]\nrules = /etc/rules\nanything = goes\n[redis]\nport = 1\n");
    assert_int_equal(load(f, f->path), 0);
    assert_int_equal(f->c.port, 1);
}

/* A section neither this program's nor another's of the deployment is a
 * misspelling: named with its own line, never skipped (every Redis setting
 * would silently stay at its default). */
static void test_unknown_section_refused(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[log]\nverbose = yes\n\n[reddis]\nhost = h\nport = 1\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 4, "unknown section [reddis]");
    unlink(f->path);
    write_file(f, "port = 1\n[redis]\nport = 2\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 1, "'port' is outside any [section]");
}

/* A file without one setting (empty, or only comments and headers) is
 * refused: defaults alone would reach another Redis. */
static void test_empty_file_refused(void **state)
{
    fixture_t *f = *state;
    const char *texts[] = { "", "; only a comment\n# another\n\n", "[redis]\n[log]\n" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (i > 0)
            unlink(f->path);
        write_file(f, texts[i]);
        assert_int_equal(load(f, f->path), -1);
        assert_non_null(strstr(f->err, "no setting in the file"));
        assert_non_null(strstr(f->err, f->path));
    }
}

static void test_string_too_long(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[redis]\nhost = a-host-name-of-more-than-thirty-one-chars\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 2, "redis.host must be a string that fits");
}

static void test_not_a_pair(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[redis]\nport = 1\njust some words\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 3, "not a 'key = value' or '[section]' line");
}

/* With two bad lines, the reason must be the one of the line named. */
static void test_first_error_wins(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[redis]\njust some words\nport = x\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 2, "not a 'key = value' or '[section]' line");

    unlink(f->path);
    write_file(f, "[redis]\nport = x\njust some words\nhost = a-host-name-of-more-than-thirty-one-chars\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 2, "redis.port must be an integer");
}

static void test_missing_file(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(load(f, "/tmp/tp-test-conf-does-not-exist.ini"), -1);
    assert_string_equal(f->err, "/tmp/tp-test-conf-does-not-exist.ini: cannot open: No such file or directory");
}

/* ---------------------------------------------------------------- types */

static void test_bool_forms(void **state)
{
    fixture_t *f = *state;
    const conf_field_t *verbose = &t_fields[3];
    static const char *const yes[] = { "yes", "true", "1", "on", "YES", "True", "On" };
    static const char *const no[] = { "no", "false", "0", "off", "NO", "False", "OFF" };
    static const char *const bad[] = { "", "maybe", "2", "y", "n", "yes please" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        f->c.verbose = 0;
        assert_int_equal(conf_set(verbose, &f->c, yes[i]), 0);
        assert_int_equal(f->c.verbose, 1);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        f->c.verbose = 1;
        assert_int_equal(conf_set(verbose, &f->c, no[i]), 0);
        assert_int_equal(f->c.verbose, 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f->c.verbose = 7;
        assert_int_equal(conf_set(verbose, &f->c, bad[i]), -1);
        assert_int_equal(f->c.verbose, 7);
    }

    write_file(f, "[log]\nverbose = maybe\n");
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 2, "log.verbose must be yes or no");
}

static void test_double_forms(void **state)
{
    fixture_t *f = *state;
    const conf_field_t *speed = &t_fields[4];
    assert_int_equal(conf_set(speed, &f->c, "0.25"), 0);
    assert_true(f->c.speed == 0.25);
    assert_int_equal(conf_set(speed, &f->c, "1e3"), 0);
    assert_true(f->c.speed == 1000.0);
    assert_int_equal(conf_set(speed, &f->c, "fast"), -1);
    assert_int_equal(conf_set(speed, &f->c, "2x"), -1);
    assert_true(f->c.speed == 1000.0);
}

/* ------------------------------------------------------------------ map */

static void test_map_section(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[endpoints]\n"
                  "intake = tcp://10.0.0.1:5555\n"
                  "matcher = tcp://10.0.0.2:5556\n");
    setenv("TREMPLIN_ENDPOINTS_FOO", "tcp://foo:1", 1);
    setenv("TREMPLIN_ENDPOINTS_INTAKE", "tcp://override:5555", 1);
    assert_int_equal(load(f, f->path), 0);
    const conf_map_t *m = &f->c.endpoints;
    assert_int_equal(m->n, 3);
    assert_string_equal(conf_map_get(m, "intake"), "tcp://override:5555");
    assert_string_equal(conf_map_get(m, "matcher"), "tcp://10.0.0.2:5556");
    assert_string_equal(conf_map_get(m, "foo"), "tcp://foo:1");
    assert_null(conf_map_get(m, "FOO"));
    assert_null(conf_map_get(m, "scheduler"));
}

/* A later file line for the same key replaces the value, not adds one. */
static void test_map_repeated_key(void **state)
{
    fixture_t *f = *state;
    write_file(f, "[endpoints]\na = 1\nb = 2\na = 3\n");
    assert_int_equal(load(f, f->path), 0);
    assert_int_equal(f->c.endpoints.n, 2);
    assert_string_equal(conf_map_get(&f->c.endpoints, "a"), "3");
}

static void test_map_limits(void **state)
{
    fixture_t *f = *state;
    char text[4096] = "[endpoints]\n";
    for (int i = 0; i <= CONF_MAP_MAX; i++) {
        char line[32];
        snprintf(line, sizeof line, "k%d = v\n", i);
        strcat(text, line);
    }
    write_file(f, text);
    assert_int_equal(load(f, f->path), -1);
    char reason[64];
    snprintf(reason, sizeof reason, "endpoints.k%d must be a value that fits", CONF_MAP_MAX);
    assert_err_at(f, CONF_MAP_MAX + 2, reason);

    unlink(f->path);
    f->path[0] = '\0';
    char longval[300];
    memset(longval, 'v', sizeof longval - 1);
    longval[sizeof longval - 1] = '\0';
    setenv("TREMPLIN_ENDPOINTS_K", longval, 1);
    assert_int_equal(load(f, NULL), -1);
    assert_string_equal(f->err, "environment TREMPLIN_ENDPOINTS_K: value too long or too many entries");
}

/* inih reads INI_MAX_LINE - 1 bytes at a time: a line that fits is taken
 * whole; a longer one is an error at its own line, never cut in two (the
 * rest of a "tcp://..." would parse as a key of its own). */
static void test_long_lines(void **state)
{
    fixture_t *f = *state;
    char text[1024];
    char value[INI_MAX_LINE];
    size_t n = INI_MAX_LINE - 1 - strlen("k = ");
    memset(value, 'v', n);
    value[n] = '\0';
    snprintf(text, sizeof text, "[endpoints]\nk = %s\nafter = 1\n", value);
    write_file(f, text);
    assert_int_equal(load(f, f->path), 0);
    assert_int_equal(f->c.endpoints.n, 2);
    assert_string_equal(conf_map_get(&f->c.endpoints, "k"), value);
    unlink(f->path);

    snprintf(text, sizeof text, "[endpoints]\na = 1\nk = %sv:tcp://host:1\nafter = 1\n", value);
    write_file(f, text);
    assert_int_equal(load(f, f->path), -1);
    assert_err_at(f, 3, "line too long");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_file_values),
        T(test_env_overrides_file),
        T(test_env_bad_value),
        T(test_bad_integer_names_line),
        T(test_unknown_key_fails),
        T(test_moved_key_says_where),
        T(test_other_programs_section_skipped),
        T(test_unknown_section_refused),
        T(test_empty_file_refused),
        T(test_string_too_long),
        T(test_not_a_pair),
        T(test_first_error_wins),
        T(test_missing_file),
        T(test_bool_forms),
        T(test_double_forms),
        T(test_map_section),
        T(test_map_repeated_key),
        T(test_map_limits),
        T(test_long_lines),
    };
    return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
