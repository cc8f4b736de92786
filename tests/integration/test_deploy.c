/* The deployment files, checked the way the host will read them:
 *   - deploy/install.sh --root DIR installs binaries, instance folder,
 *     configuration and units with private modes, and a second run changes
 *     no secret;
 *   - every installed unit (the template for each of the six services, with
 *     its drop-in, and Redis's) passes `systemd-analyze verify` without a
 *     single warning — an unknown directive is only a warning there, so any
 *     output fails;
 *   - the units ask what docs/operations.md promises (own user,
 *     ProtectSystem=strict, NoNewPrivileges, Restart=on-failure, Type=notify)
 *     and each service may write exactly the folders its configuration names;
 *   - a service started with NOTIFY_SOCKET sends READY=1 once it answers,
 *     and STOPPING=1 when SIGTERM makes it drain;
 *   - deploy/compose.yaml passes Debian's `docker-compose config` and says
 *     what the units say, service by service.
 * The tools are Debian packages of deploy/deps.sh (systemd, docker-compose):
 * without one, its test says SKIPPED; CI installs them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

char *mkdtemp(char *template); /* POSIX 2008, hidden by the strict feature macros of some libcs */

static const char *const services[] = { "intake", "matcher", "scheduler", "survey", "reporter", "gateway" };
#define NSVC 6

static h_env_t env;         /* the readiness test's instance (Redis, a service) */
static char root[64];       /* deploy/install.sh --root */
static char units[300];     /* root/etc/systemd/system */
static char out[64 * 1024]; /* the last command's output */

/* ----------------------------------------------------------------- helpers */

/* Runs a shell command; its stdout and stderr into out. Returns its exit
 * status, or -1. */
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[2100];
    snprintf(full, sizeof full, "( %s ) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have(const char *tool)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static void skip_without(const char *tool, const char *package)
{
    if (!have(tool)) {
        fprintf(stderr, "\n*** SKIPPED: %s not installed (Debian package %s, deploy/deps.sh) ***\n\n", tool,
                package);
        printf("tp SKIPPED %s: not installed\n", tool);
        skip();
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 256 * 1024);
    size_t n = fread(buf, 1, 256 * 1024 - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Whether text has a line that is exactly line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* The value of `key = value` in [section] of an INI text, into val. */
static int ini_get(const char *text, const char *section, const char *key, char *val, size_t cap)
{
    char head[64];
    snprintf(head, sizeof head, "[%s]", section);
    int in = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (*p == '[')
            in = !strncmp(p, head, strlen(head));
        else if (in && !strncmp(p, key, strlen(key)) && p[strlen(key)] == ' ') {
            const char *v = strchr(p, '=');
            if (!v)
                continue;
            v++;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\n");
            snprintf(val, cap, "%.*s", (int)n, v);
            return 0;
        }
    }
    return -1;
}

/* Every ReadWritePaths= of a unit's text and its drop-ins, sorted, as one
 * space-separated string. */
static void rw_paths(const char *unit_file, const char *dropin_dir, char *dst, size_t cap)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd,
             "cat %s %s/*.conf 2>/dev/null | sed -n 's/^ReadWritePaths=-\\{0,1\\}//p' | tr ' ' '\\n' | sort | tr '\\n' ' '",
             unit_file, dropin_dir);
    assert_true(sh("%s", cmd) == 0);
    util_strlcpy(dst, out, cap);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/tp-deploy-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    snprintf(units, sizeof units, "%s/etc/systemd/system", root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!getenv("TP_KEEP") && root[0])
        sh("rm -rf %s", root);
    if (env.dir[0]) /* also after a failed assertion in the readiness test */
        h_teardown(&env);
    return 0;
}

static const char *build_dir(void)
{
    const char *b = getenv("TP_BUILD");
    return b && *b ? b : "build/san";
}

/* ----------------------------------------------------------------- install */

static void install(void)
{
    if (sh("deploy/install.sh --root %s --bin %s/bin --redis-port 6390 --base-port 6390", root, build_dir()) != 0)
        fail_msg("install.sh failed:\n%s", out);
}

static void assert_mode(const char *rel, unsigned mode)
{
    char path[400];
    snprintf(path, sizeof path, "%s%s", root, rel);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 07777) != mode)
        fail_msg("%s: mode %o, expected %o", rel, st.st_mode & 07777, mode);
}

static void install_is_private_and_idempotent(void **state)
{
    (void)state;
    install();
    static const struct {
        const char *path;
        unsigned mode;
    } modes[] = {
        { "/var/lib/tremplin", 0711 },       { "/var/lib/tremplin/redis", 0700 },
        { "/var/lib/tremplin/secrets", 0700 }, { "/var/lib/tremplin/curve", 0700 },
        { "/var/lib/tremplin/kiosk", 0700 },   { "/var/lib/tremplin/spool", 0700 },
        { "/var/lib/tremplin/secrets/ids.key", 0600 }, { "/var/lib/tremplin/secrets/admin.pass", 0600 },
        { "/var/lib/tremplin/redis/users.acl", 0600 }, { "/etc/tremplin", 0750 },
        { "/etc/tremplin/tremplin.conf", 0640 },       { "/usr/local/bin/tremplin-gateway", 0755 },
        { "/etc/systemd/system/tremplin@.service", 0644 },
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        assert_mode(modes[i].path, modes[i].mode);
    /* the files name the host's paths, not the --root they were written in */
    assert_int_equal(sh("grep -rl '%s' %s/etc/tremplin %s/var/lib/tremplin/redis/redis.conf", root, root, root), 1);

    /* a second run keeps every secret and the host's configuration, and
     * puts the modes back */
    assert_int_equal(sh("cat %s/var/lib/tremplin/secrets/* %s/etc/tremplin/tremplin.conf | sha256sum", root, root), 0);
    char before[128];
    util_strlcpy(before, out, sizeof before);
    sh("chmod 755 %s/var/lib/tremplin/secrets", root);
    install();
    assert_int_equal(sh("cat %s/var/lib/tremplin/secrets/* %s/etc/tremplin/tremplin.conf | sha256sum", root, root), 0);
    assert_string_equal(out, before);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        assert_mode(modes[i].path, modes[i].mode);
}

/* ------------------------------------------------------------------- units */

/* systemd-analyze verify reads each unit as systemd would and checks that
 * its commands exist: a copy of the installed units whose ExecStart names
 * the binaries installed under --root. Offline (--man=no), no systemd
 * running: it needs only the files. */
static void every_unit_passes_systemd_analyze_verify(void **state)
{
    (void)state;
    skip_without("systemd-analyze", "systemd");
    if (access(units, F_OK) != 0)
        install();
    char copy[400];
    snprintf(copy, sizeof copy, "%s/verify", root);
    assert_int_equal(sh("rm -rf %s && cp -r %s %s && sed -i 's|/usr/local/bin/|%s/usr/local/bin/|' %s/tremplin@.service",
                        copy, units, copy, root, copy),
                     0);
    char names[NSVC + 1][64];
    for (int i = 0; i < NSVC; i++)
        snprintf(names[i], sizeof names[i], "tremplin@%s.service", services[i]);
    snprintf(names[NSVC], sizeof names[NSVC], "tremplin-redis.service");
    for (int i = 0; i <= NSVC; i++) {
        int rc = sh("SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no %s/%s", copy, names[i]);
        if (rc != 0 || out[0])
            fail_msg("systemd-analyze verify %s: exit %d\n%s", names[i], rc, out);
        printf("tp verify %s ok\n", names[i]);
    }
}

/* What the units promise, read from the installed files; and each service's
 * writable folders are exactly those its configuration names (intake's
 * curve_dir, the survey's kiosk_dir, the gateway's spool_dir), the rest of
 * the filesystem read-only. */
static void units_harden_and_open_each_service_its_folders(void **state)
{
    (void)state;
    if (access(units, F_OK) != 0)
        install();
    char path[400];
    snprintf(path, sizeof path, "%s/tremplin@.service", units);
    char *tpl = slurp(path);
    snprintf(path, sizeof path, "%s/tremplin-redis.service", units);
    char *red = slurp(path);
    snprintf(path, sizeof path, "%s/etc/tremplin/tremplin.conf", root);
    char *conf = slurp(path);
    assert_non_null(tpl);
    assert_non_null(red);
    assert_non_null(conf);
    static const char *const both[] = { "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure",
                                        "Type=notify", "UMask=0077", "ProtectHome=yes" };
    for (size_t i = 0; i < sizeof both / sizeof both[0]; i++) {
        if (!has_line(tpl, both[i]))
            fail_msg("tremplin@.service lacks %s", both[i]);
        if (!has_line(red, both[i]))
            fail_msg("tremplin-redis.service lacks %s", both[i]);
    }
    assert_true(has_line(tpl, "User=tremplin"));
    assert_true(has_line(tpl, "NotifyAccess=main"));
    assert_true(has_line(tpl, "Environment=TREMPLIN_CONF=/etc/tremplin/tremplin.conf"));
    assert_true(has_line(red, "User=redis"));

    static const struct {
        const char *svc, *key;
    } dirs[] = { { "intake", "curve_dir" }, { "survey", "kiosk_dir" }, { "gateway", "spool_dir" } };
    for (int i = 0; i < NSVC; i++) {
        char want[300] = "", got[600], dropins[400];
        for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++)
            if (!strcmp(dirs[d].svc, services[i])) {
                char v[256];
                assert_int_equal(ini_get(conf, services[i], dirs[d].key, v, sizeof v), 0);
                snprintf(want, sizeof want, "%s ", v);
            }
        snprintf(path, sizeof path, "%s/tremplin@.service", units);
        snprintf(dropins, sizeof dropins, "%s/tremplin@%s.service.d", units, services[i]);
        rw_paths(path, dropins, got, sizeof got);
        if (strcmp(got, want))
            fail_msg("%s may write \"%s\", its configuration names \"%s\"", services[i], got, want);
    }
    /* Redis writes its folder, the one redis.conf names */
    char got[600], dropins[400];
    snprintf(path, sizeof path, "%s/tremplin-redis.service", units);
    snprintf(dropins, sizeof dropins, "%s/tremplin-redis.service.d", units);
    rw_paths(path, dropins, got, sizeof got);
    assert_string_equal(got, "/var/lib/tremplin/redis ");
    free(tpl);
    free(red);
    free(conf);
}

/* ---------------------------------------------------------------- readiness */

/* The service is started as systemd would with Type=notify (NOTIFY_SOCKET):
 * READY=1 comes, and then it answers; SIGTERM brings STOPPING=1 and exit 0. */
static int notify_wait(int fd, const char *want, int timeout_ms, char *got, size_t cap)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (poll(&p, 1, timeout_ms) == 1) {
        ssize_t n = recv(fd, got, cap - 1, 0);
        if (n < 0)
            return -1;
        got[n] = '\0';
        if (strstr(got, want))
            return 0;
    }
    return -1;
}

static void a_service_tells_systemd_it_is_ready_then_draining(void **state)
{
    (void)state;
    h_env_t *h = &env;
    assert_int_equal(h_setup(h), 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char sock[1024];
    snprintf(sock, sizeof sock, "%.255s/notify.sock", h->dir);
    assert_true(strlen(sock) < sizeof sa.sun_path);
    util_strlcpy(sa.sun_path, sock, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char envv[200], got[512];
    snprintf(envv, sizeof envv, "NOTIFY_SOCKET=%s", sa.sun_path);
    const char *extra[] = { envv, NULL };
    pid_t pid = h_start(h, "matcher", NULL, extra);
    assert_true(pid > 0);
    if (notify_wait(fd, "READY=1", 30000, got, sizeof got) != 0) {
        h_log_tail(h, "matcher", 20);
        fail_msg("no READY=1 from the matcher");
    }
    printf("tp notify: %s\n", got);
    char ep[64];
    h_service_endpoint(h, "matcher", ep, sizeof ep);
    Tremplin__Envelope *pong = h_ping(h, ep);
    assert_non_null(pong);
    wire_free(pong, NULL);
    kill(pid, SIGTERM);
    assert_int_equal(notify_wait(fd, "STOPPING=1", 20000, got, sizeof got), 0);
    int status = 0;
    assert_int_equal(h_wait_exit(pid, 20000, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
}

/* ----------------------------------------------------------------- compose */

/* The block of one service in `docker-compose config`'s output (two spaces
 * of indent under services:), into dst. */
static int compose_block(const char *text, const char *svc, char *dst, size_t cap)
{
    char head[64];
    snprintf(head, sizeof head, "\n  %s:\n", svc);
    const char *p = strstr(text, head);
    if (!p)
        return -1;
    p += strlen(head);
    const char *e = p;
    while (*e && !(e[0] == '\n' && e[1] == ' ' && e[2] == ' ' && e[3] != ' '))
        e++;
    snprintf(dst, cap, "%.*s\n", (int)(e - p), p);
    return 0;
}

/* The host paths mounted read-write in a block, sorted, space-separated. */
static void compose_rw(const char *block, char *dst, size_t cap)
{
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/block", root);
    assert_int_equal(h_write_file(tmp, block), 0);
    assert_int_equal(sh("sed -n 's/^ *- \\([^:]*\\):[^:]*:rw$/\\1/p' %s | sort | tr '\\n' ' '", tmp), 0);
    util_strlcpy(dst, out, cap);
}

static void compose_says_what_the_units_say(void **state)
{
    (void)state;
    skip_without("docker-compose", "docker-compose");
    if (access(units, F_OK) != 0)
        install();
    /* validated as docker-compose reads it (no engine needed) */
    if (sh("docker-compose -f deploy/compose.yaml config") != 0)
        fail_msg("docker-compose config:\n%s", out);
    char *cfg = strdup(out);
    char block[8192], want[600], got[600], path[400], dropins[400], line[200];

    /* the services: Redis and the six, nothing else */
    assert_int_equal(sh("docker-compose -f deploy/compose.yaml config --services | sort | tr '\\n' ' '"), 0);
    assert_string_equal(out, "gateway intake matcher redis reporter scheduler survey ");

    for (int i = 0; i < NSVC; i++) {
        assert_int_equal(compose_block(cfg, services[i], block, sizeof block), 0);
        static const char *const lines[] = {
            "    network_mode: host", "    read_only: true", "    restart: on-failure", "    - no-new-privileges:true",
            "    - ALL", "      TREMPLIN_CONF: /etc/tremplin/tremplin.conf", "    stop_signal: SIGTERM",
            "    stop_grace_period: 10s", "    - /etc/tremplin:/etc/tremplin:ro",
            "    - /var/lib/tremplin:/var/lib/tremplin:ro",
        };
        for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++)
            if (!has_line(block, lines[l]))
                fail_msg("compose %s lacks \"%s\"", services[i], lines[l]);
        snprintf(line, sizeof line, "    - tremplin-%s", services[i]);
        assert_true(has_line(block, line));
        snprintf(line, sizeof line, "      - %s", services[i]); /* healthcheck: tremplin ping <svc> */
        assert_true(has_line(block, line));
        /* no port of its own: the host's network, the ports of tremplin.conf */
        assert_null(strstr(block, "\n    ports:"));
        /* it writes the folders its unit lets it write */
        snprintf(path, sizeof path, "%s/tremplin@.service", units);
        snprintf(dropins, sizeof dropins, "%s/tremplin@%s.service.d", units, services[i]);
        rw_paths(path, dropins, want, sizeof want);
        compose_rw(block, got, sizeof got);
        if (strcmp(got, want))
            fail_msg("compose %s writes \"%s\", its unit \"%s\"", services[i], got, want);
    }
    /* Redis: the same configuration file and folder as its unit */
    assert_int_equal(compose_block(cfg, "redis", block, sizeof block), 0);
    assert_true(has_line(block, "    - /var/lib/tremplin/redis/redis.conf"));
    assert_true(has_line(block, "    network_mode: host"));
    assert_true(has_line(block, "    read_only: true"));
    snprintf(path, sizeof path, "%s/tremplin-redis.service", units);
    char *red = slurp(path);
    assert_non_null(strstr(red, "ExecStart=/usr/bin/redis-server /var/lib/tremplin/redis/redis.conf"));
    free(red);
    snprintf(dropins, sizeof dropins, "%s/tremplin-redis.service.d", units);
    rw_paths(path, dropins, want, sizeof want);
    compose_rw(block, got, sizeof got);
    assert_string_equal(got, want);
    free(cfg);
}

int main(void)
{
    h_test_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(install_is_private_and_idempotent),
        cmocka_unit_test(every_unit_passes_systemd_analyze_verify),
        cmocka_unit_test(units_harden_and_open_each_service_its_folders),
        cmocka_unit_test(a_service_tells_systemd_it_is_ready_then_draining),
        cmocka_unit_test(compose_says_what_the_units_say),
    };
    return cmocka_run_group_tests_name("deploy", tests, setup, teardown);
}
