#!/bin/sh
# Does a kill -9 of redis-server lose acknowledged writes? (docs/reliability.md,
# "The limits"). Each round: a private Redis with the given appendfsync, one
# client INCRementing a key, kill -9 of Redis after 1.5 s, a restart from the
# AOF; "lost" = last acknowledged value - value after the restart (> 0 is an
# acknowledged write lost). With DISK_LOAD=1, two dd loops keep the disk busy
# (slow fsyncs: the window where everysec postpones its writes).
#
#   tests/bench/aof-kill.sh everysec|always [ROUNDS] [BUILD_DIR]
set -u
policy=${1:?usage: aof-kill.sh everysec|always [ROUNDS] [BUILD_DIR]}
rounds=${2:-10}
build=${3:-build}
bin=$build/bench/aof_kill
[ -x "$bin" ] || { echo "aof-kill: $bin missing: make all" >&2; exit 1; }
dir=$(mktemp -d /tmp/tremplin-aofkill-XXXXXX)
port=$(( 20000 + $$ % 20000 ))
loaders=""
cleanup() {
    for p in $loaders; do kill "$p" 2>/dev/null; done
    pkill -f "of=$dir/load" 2>/dev/null # the dd running in each loop
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
if [ "${DISK_LOAD:-0}" = 1 ]; then
    for j in 1 2; do
        (while :; do dd if=/dev/zero of="$dir/load$j" bs=1M count=400 conv=fdatasync 2>/dev/null; done) &
        loaders="$loaders $!"
    done
fi
redis() { exec redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/data" --appendonly yes --save '' --logfile "$dir/redis.log" "$@"; }
total=0
for i in $(seq 1 "$rounds"); do
    rm -rf "$dir/data" "$dir/acked" && mkdir "$dir/data"
    redis --appendfsync "$policy" & rp=$!
    until redis-cli -p "$port" PING 2>/dev/null | grep -q PONG; do sleep 0.05; done
    "$bin" "$port" "$dir/acked" & cp=$!
    sleep 1.5
    kill -9 "$rp"; wait "$cp"; wait "$rp" 2>/dev/null
    redis & rp=$!
    until redis-cli -p "$port" PING 2>/dev/null | grep -q PONG; do sleep 0.05; done
    after=$(redis-cli -p "$port" GET k)
    kill "$rp"; wait "$rp" 2>/dev/null
    acked=$(cat "$dir/acked" 2>/dev/null || echo 0)
    lost=$(( acked - ${after:-0} ))
    [ "$lost" -lt 0 ] && lost=0
    total=$(( total + lost ))
    echo "round $i: appendfsync $policy, acked $acked, after the restart ${after:-0}, lost $lost"
done
echo "aof-kill: appendfsync $policy, disk load ${DISK_LOAD:-0}: $total acknowledged writes lost in $rounds rounds"
