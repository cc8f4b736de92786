/* How much does a kill -9 of redis-server lose of what it acknowledged?
 * (docs/reliability.md, "The limits"; run by tests/bench/aof-kill.sh)
 *
 *   aof_kill PORT FILE   INCRs key "k" one at a time until the connection
 *                        breaks, then writes the last acknowledged value to FILE.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: aof_kill PORT FILE\n");
        return 2;
    }
    redisContext *c = redisConnect("127.0.0.1", atoi(argv[1]));
    if (!c || c->err)
        return 1;
    long long acked = 0;
    for (;;) {
        redisReply *r = redisCommand(c, "INCR k");
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            if (r)
                freeReplyObject(r);
            break;
        }
        acked = r->integer;
        freeReplyObject(r);
    }
    redisFree(c);
    FILE *f = fopen(argv[2], "w");
    if (!f)
        return 1;
    fprintf(f, "%lld\n", acked);
    return fclose(f) == 0 ? 0 : 1;
}
