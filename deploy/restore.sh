#!/bin/sh
# Restores a backup of deploy/backup.sh into an instance whose Redis is
# stopped and empty: a new host (deploy/install.sh --no-start), or the same
# one after the old data was moved away. Without the tremplin tool.
#
#   deploy/restore.sh BACKUP INSTANCE_DIR     e.g. /srv/backup/2026-11-30 /var/lib/tremplin
#
# The instance keeps its own redis.conf and tremplin.conf (its paths and
# ports); it takes the backup's secrets, ACL, CURVE keys, catalogue and
# timetable, then its data. Redis 7.0 started with appendonly yes and no AOF
# starts EMPTY and ignores dump.rdb, so Redis is started once with the AOF
# off to load the RDB, then told to turn it on (it writes the AOF from what
# it holds), and stopped once that AOF is written. Start it as usual then.
set -eu
umask 077
backup=$1
inst=$2
conf="$inst/redis/redis.conf"
port=$(awk '$1 == "port" { print $2 }' "$conf")
if [ -e "$inst/redis/appendonlydir" ]; then
    echo "restore: $inst/redis/appendonlydir exists: stop Redis and move it away first" >&2
    exit 1
fi
if redis-cli -p "$port" PING >/dev/null 2>&1; then
    echo "restore: something answers on port $port: stop Redis first" >&2
    exit 1
fi
# 1. the instance's files of the backup (secrets, users.acl, curve, kiosk, keys,
#    catalogue, timetable); tremplin.conf stays the instance's own
tar -C "$inst" -xf "$backup/instance.tar" --exclude=tremplin.conf
# 2. the data: Redis loads the RDB with the AOF off ...
cp "$backup/dump.rdb" "$inst/redis/dump.rdb"
redis-server "$conf" --appendonly no --daemonize yes --pidfile "$inst/redis/restore.pid" --logfile "$inst/redis/restore.log"
export REDISCLI_AUTH="$(cat "$inst/secrets/admin.pass")"
cli() { redis-cli --user admin -p "$port" "$@" 2>/dev/null | tr -d '\r'; }
# waits until the shell condition $1 holds (every 0.1 s, at most 60 s)
wait_until() {
    n=0
    until eval "$1"; do
        n=$((n + 1))
        [ "$n" -lt 600 ] || { echo "restore: timed out waiting for: $1 (see $inst/redis/restore.log)" >&2; exit 1; }
        sleep 0.1
    done
}
# ... answers once it has loaded it ...
wait_until '[ "$(cli PING)" = PONG ]'
# 3. ... writes the AOF from memory ...
cli CONFIG SET appendonly yes >/dev/null
wait_until 'cli INFO persistence | grep -qx "aof_rewrite_in_progress:0" && cli INFO persistence | grep -qx "aof_rewrite_scheduled:0"'
if ! cli INFO persistence | grep -qx "aof_last_bgrewrite_status:ok"; then
    echo "restore: the AOF rewrite failed, see $inst/redis/restore.log" >&2
    cli SHUTDOWN NOSAVE >/dev/null
    exit 1
fi
# 4. ... and stops (the AOF flushed); the RDB has served
cli SHUTDOWN >/dev/null || true
wait_until '[ ! -e "$inst/redis/restore.pid" ]'
rm -f "$inst/redis/dump.rdb"
echo "restore: done; start Redis as usual (systemctl start tremplin-redis)"
