/* The demo season's business time and its waits: the stack is moved to a
 * business instant by the configuration's [clock] (what every process reads,
 * ARCHITECTURE.md "business time") and a SIGHUP; between two instants it is
 * left to do its work, and the season goes on once it is quiet — a condition
 * read in Redis and the inbox, never a sleep taken as a sync. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "keys.h"
#include "season.h"
#include "services.h"

static void season_nap(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Rewrites the [clock] lines of the configuration (written whole to a
 * temporary file, then renamed over it). 0 or -1. */
int season_write_clock(const char *path, int64_t epoch, int64_t start)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return -1;
    char tmp[600], line[1024];
    snprintf(tmp, sizeof tmp, "%s.season", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return -1;
    }
    int in_clock = 0;
    while (fgets(line, sizeof line, in)) {
        if (line[0] == '[')
            in_clock = !strncmp(line, "[clock]", 7);
        if (in_clock && !strncmp(line, "epoch_ms", 8))
            fprintf(out, "epoch_ms = %lld\n", (long long)epoch);
        else if (in_clock && !strncmp(line, "start_ms", 8))
            fprintf(out, "start_ms = %lld\n", (long long)start);
        else if (in_clock && !strncmp(line, "speed", 5))
            fprintf(out, "speed = 1\n");
        else
            fputs(line, out);
    }
    fclose(in);
    int bad = fclose(out) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static long season_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* 1 when the log grew past from with a "reloaded" line, -1 with a failed
 * reload, 0 not yet. */
static int season_reloaded(const char *path, long from)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fseek(f, from, SEEK_SET);
    char line[2048];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f))
        rc = strstr(line, "event=reloaded") ? 1 : strstr(line, "event=reload_failed") ? -1 : 0;
    fclose(f);
    return rc;
}

int season_set_clock(season_t *s, int64_t at_ms)
{
    int64_t real = clock_real_ms();
    if (season_write_clock(s->cli->conf_path, at_ms, at_ms ? real : 0) != 0) {
        fprintf(stderr, "tremplin : %s : impossible d'écrire l'heure de la saison (%s)\n", s->cli->conf_path,
                strerror(errno));
        return -1;
    }
    clock_configure(at_ms, real, 1);
    pid_t pids[TP_NSERVICES];
    long sizes[TP_NSERVICES];
    char logs[TP_NSERVICES][400];
    for (int i = 0; i < TP_NSERVICES; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s.pid", s->run_dir, tp_services[i].name);
        snprintf(logs[i], sizeof logs[i], "%s/%s.log", s->log_dir, tp_services[i].name);
        FILE *f = fopen(path, "r");
        long p = 0;
        if (!f || fscanf(f, "%ld", &p) != 1 || p <= 1) {
            if (f)
                fclose(f);
            fprintf(stderr, "tremplin : %s : pas de numéro de processus (la saison se joue dans `make demo`)\n", path);
            return -1;
        }
        fclose(f);
        pids[i] = (pid_t)p;
        sizes[i] = season_file_size(logs[i]);
        if (kill(pids[i], SIGHUP) != 0) {
            fprintf(stderr, "tremplin : tremplin-%s (pid %ld) ne répond pas au signal HUP : %s\n", tp_services[i].name,
                    p, strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < TP_NSERVICES; i++) {
        int64_t deadline = clock_mono_ms() + 30000;
        int rc;
        while ((rc = season_reloaded(logs[i], sizes[i])) == 0 && clock_mono_ms() < deadline)
            season_nap(5);
        if (rc != 1) {
            fprintf(stderr, "tremplin : tremplin-%s n'a pas pris la nouvelle heure : voir %s\n", tp_services[i].name,
                    logs[i]);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ quiet */

static long long season_int(rds_t *r, const char *fmt, const char *key)
{
    redisReply *x = rds_cmd(r, fmt, key);
    long long v = x && x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
    if (x)
        freeReplyObject(x);
    return v;
}

/* 1 when the gateway's group has read every entry of stream key. */
static int season_stream_read(rds_t *r, const char *key)
{
    redisReply *st = rds_cmd(r, "XINFO STREAM %s", key);
    if (!st || st->type != REDIS_REPLY_ARRAY) { /* no stream yet: nothing to read */
        int none = st && st->type == REDIS_REPLY_ERROR;
        if (st)
            freeReplyObject(st);
        return none;
    }
    char last[64] = "";
    for (size_t i = 0; i + 1 < st->elements; i += 2)
        if (st->element[i]->str && !strcmp(st->element[i]->str, "last-generated-id") && st->element[i + 1]->str)
            snprintf(last, sizeof last, "%s", st->element[i + 1]->str);
    freeReplyObject(st);
    redisReply *g = rds_cmd(r, "XINFO GROUPS %s", key);
    int done = 0;
    for (size_t k = 0; g && g->type == REDIS_REPLY_ARRAY && k < g->elements; k++) {
        redisReply *e = g->element[k];
        const char *name = "", *delivered = "";
        for (size_t i = 0; i + 1 < e->elements; i += 2) {
            if (!e->element[i]->str || !e->element[i + 1]->str)
                continue;
            if (!strcmp(e->element[i]->str, "name"))
                name = e->element[i + 1]->str;
            else if (!strcmp(e->element[i]->str, "last-delivered-id"))
                delivered = e->element[i + 1]->str;
        }
        if (!strcmp(name, "gateway"))
            done = !strcmp(delivered, last);
    }
    if (g)
        freeReplyObject(g);
    return done;
}

/* 1 when no incoming SMS waits in the inbox (done/ holds those read). */
static int season_inbox_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 1;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "done"))
            empty = 0;
    closedir(d);
    return empty;
}

int season_load_timetable(season_t *s)
{
    char err[512];
    if (!s->tt)
        s->tt = xcalloc(1, sizeof *s->tt);
    timetable_free(s->tt); /* the one read before this edit */
    if (timetable_load(s->cli->scheduler.timetable_path, s->tt, err, sizeof err) != 0) {
        fprintf(stderr, "tremplin : calendrier illisible : %s\n", err);
        return -1;
    }
    return 0;
}

/* 1 when the scheduler's timer has caught up with business now: no offer
 * a second past its deadline, and every session of the horizon's last day
 * (the timetable's, as the scheduler reads it) opened. */
static int season_timer_done(season_t *s, rds_t *r, int64_t now)
{
    char key[200];
    tp_key(key, sizeof key, s->T, "scheduler", "offers");
    redisReply *x = rds_cmd(r, "ZCOUNT %s -inf %lld", key, (long long)(now - 1000));
    long long late = x && x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
    if (x)
        freeReplyObject(x);
    if (late != 0 || !s->tt)
        return late == 0;
    int64_t end = now + (int64_t)s->tt->horizon_days * 86400000;
    tt_session_t last[16];
    int n = timetable_sessions(s->tt, end - 86400000, end, last, 16);
    for (int i = 0; i < n && i < 16; i++) {
        if (last[i].trainer_absent)
            continue;
        tp_key(key, sizeof key, s->T, "scheduler", "session:%s", last[i].id);
        if (season_int(r, "EXISTS %s", key) != 1)
            return 0;
    }
    return 1;
}

static int season_quiet(season_t *s, rds_t *r)
{
    char key[200];
    if (!season_timer_done(s, r, clock_now_ms()))
        return 0;
    static const char *const outboxes[] = { "intake", "matcher", "scheduler", "survey", "gateway" };
    for (size_t i = 0; i < TP_ARRAY_LEN(outboxes); i++) {
        tp_key(key, sizeof key, s->T, outboxes[i], "outbox");
        if (season_int(r, "XLEN %s", key) != 0)
            return 0;
    }
    static const char *const streams[] = { "scheduler", "survey" };
    for (size_t i = 0; i < TP_ARRAY_LEN(streams); i++) {
        tp_key(key, sizeof key, s->T, streams[i], "notify");
        if (!season_stream_read(r, key))
            return 0;
    }
    tp_key(key, sizeof key, s->T, "gateway", "due");
    char max[32];
    snprintf(max, sizeof max, "%lld", (long long)clock_now_ms());
    redisReply *x = rds_cmd(r, "ZCOUNT %s -inf %s", key, max);
    long long due = x && x->type == REDIS_REPLY_INTEGER ? x->integer : -1;
    if (x)
        freeReplyObject(x);
    tp_key(key, sizeof key, s->T, "gateway", "sending");
    return due == 0 && season_int(r, "ZCARD %s", key) == 0 && season_inbox_empty(s->inbox_dir);
}

int season_wait_quiet(season_t *s)
{
    rds_t *r = cli_redis(s->cli);
    if (!r)
        return -1;
    int64_t deadline = clock_mono_ms() + 60000;
    int calm = 0;
    while (clock_mono_ms() < deadline) {
        calm = season_quiet(s, r) ? calm + 1 : 0;
        if (calm == 2) /* twice: what a tick may have started in between is seen */
            return 0;
        season_nap(calm ? 30 : 10);
    }
    fprintf(stderr, "tremplin : la pile ne s'est pas calmée en 60 s (files d'envoi, SMS en attente) : voir %s\n",
            s->log_dir);
    return -1;
}
