/* fake_rds — common/rds.h without a Redis server, for unit tests of the bus
 * core (the link seam mosquitto's unit tests use: the real objects, linked
 * with a stub in place of one of them). The Makefile links it instead of
 * common/rds.c into the tests listed in FAKE_TESTS.
 *
 * Every command the code under test sends is recorded (argv, and the
 * pipeline it went in: rds_read closes one, rds_cmd is one of its own) and
 * answered, in order, by the first of:
 *   1. a reply scripted for its name (fake_rds_script), first in first out;
 *   2. the test's answer function (fake_rds_answer);
 *   3. a nil reply.
 * A command's name is argv[0], or for FCALL the function ("lib_v1_probe").
 * An answer of NULL is a connection lost in the middle of the pipeline: the
 * whole rds_read fails, as rds.c's does.
 *
 * One fake per process (rds_new hands out views of it): a test resets it
 * between cases. rds_parse_persistence and rds_library_source, pure
 * functions, are not faked (a test of them links rds.o). */
#ifndef TP_FAKE_RDS_H
#define TP_FAKE_RDS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

typedef struct {
    int argc;
    char **argv; /* copies, each NUL-terminated */
    size_t *lens;
    const char *name;
    int batch; /* the pipeline it went in: 0, 1, ... */
    int sent;  /* 0: appended while Redis was down (never reached it) */
} fake_cmd_t;

typedef redisReply *(*fake_rds_answer_fn)(void *arg, const fake_cmd_t *cmd);

/* Forgets commands, scripts, the answer function; Redis up. */
void fake_rds_reset(void);
void fake_rds_answer(fake_rds_answer_fn fn, void *arg);
/* Takes ownership of reply. */
void fake_rds_script(const char *name, redisReply *reply);
/* Down: rds_ensure and rds_connect fail, appended commands are not sent
 * and rds_read returns -1. */
void fake_rds_down(int down);
/* A territory whose Redis is away (shards): rds_territory_up says so for it
 * alone; NULL: none. */
void fake_rds_territory_down(const char *T);

int fake_rds_ncmds(void);
const fake_cmd_t *fake_rds_cmd(int i);
/* Commands named name (NULL: all) sent so far, and the last of them. */
int fake_rds_count(const char *name);
const fake_cmd_t *fake_rds_last(const char *name);
/* Pipelines read so far (rds_read calls and rds_cmd calls). */
int fake_rds_batches(void);
/* 1 when argv[i] of cmd is s. */
int fake_cmd_arg_is(const fake_cmd_t *cmd, int i, const char *s);
/* An FCALL's key or argument by name (common/call.c's layout), or NULL. */
const char *fake_cmd_key(const fake_cmd_t *cmd, const char *name);
const char *fake_cmd_arg(const fake_cmd_t *cmd, const char *name);

/* Replies, allocated as hiredis allocates them (freeReplyObject frees). */
redisReply *fake_reply_status(const char *s);
redisReply *fake_reply_error(const char *s);
redisReply *fake_reply_int(long long v);
redisReply *fake_reply_nil(void);
redisReply *fake_reply_bin(const void *data, size_t len);
redisReply *fake_reply_str(const char *s);
/* An array of n elements, each taken over (NULL: an empty array). */
redisReply *fake_reply_array(size_t n, redisReply **elements);
/* An array of strings. */
redisReply *fake_reply_strs(size_t n, const char *const *strs);

#endif
