#!/bin/sh
# Bus throughput on this machine: a private Redis (AOF everysec) and real
# services on loopback, driven by `tremplin probe`. Prints one line per case;
# BENCHMARKS.md records the figures with this command.
#
#   tests/bench.sh [BUILD_DIR]     (make bench)
set -eu
build=${1:-build}
dir=$(mktemp -d /tmp/tremplin-bench-XXXXXX)
base=$((10000 + $$ % 20000)) # below the ephemeral port range
TREMPLIN_BIN="$build/bin/tremplin" deploy/setup.sh "$dir" "$base" "$base" >/dev/null
export TREMPLIN_CONF="$dir/tremplin.conf" TREMPLIN_LOG_LEVEL=warn
# BENCH_PLAIN=1: the command endpoints without CURVE (no [bus] keys_dir), to
# measure what authenticating every sender costs
if [ "${BENCH_PLAIN:-0}" = 1 ]; then export TREMPLIN_BUS_KEYS_DIR= TREMPLIN_TOOL_KEY=; fi
pids=""
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
redis-server "$dir/redis/redis.conf" > "$dir/redis.log" 2>&1 &
pids="$pids $!"
until "$build/bin/tremplin" functions load >/dev/null 2>&1; do sleep 0.1; done
for s in intake matcher scheduler; do
    "$build/bin/tremplin-$s" 2> "$dir/$s.log" &
    pids="$pids $!"
done
until "$build/bin/tremplin" ping intake matcher scheduler >/dev/null 2>&1; do sleep 0.1; done

run() { # label, probe args
    label=$1
    shift
    printf '%-44s ' "$label"
    "$build/bin/tremplin" probe "$@"
}
echo "bus throughput ($(nproc) cores, Redis AOF everysec, $(date -u +%Y-%m-%d))"
run "1 hop, window 1 (one at a time)" --count 5000 --window 1 matcher
run "1 hop, window 100" --count 50000 --window 100 matcher
run "1 hop, window 1000" --count 50000 --window 1000 matcher
run "2 hops (intake outbox -> matcher), window 500" --count 50000 --window 500 intake matcher
# the second hop is asynchronous: wait until the outbox is empty to time it
t0=$(date +%s%N)
run "2 hops, end to end incl. relay, window 500" --count 50000 --window 500 intake matcher >/dev/null
until "$build/bin/tremplin" ping intake | grep -q 'outbox=0 '; do sleep 0.01; done
t1=$(date +%s%N)
printf '%-44s probes=50000 ms=%d per_s=%d\n' "2 hops, until the outbox is empty" $(((t1 - t0) / 1000000)) \
    $((50000 * 1000000000 / (t1 - t0)))

# Referrals end to end: simulated branches over CURVE -> intake -> matcher ->
# scheduler, until every outbox is empty. Redis's own accounting (INFO
# commandstats: calls and microseconds, Lua's commands included; INFO cpu)
# divided by the referrals accepted gives the cost per referral.
admin() { redis-cli -p "$base" --user admin --pass "$(cat "$dir/secrets/admin.pass")" --no-auth-warning "$@"; }
stats() { # calls usec cpu_ms
    admin info commandstats | tr -d '\r' | awk -F'[=,]' '/^cmdstat_/ { c += $2; u += $4 } END { printf "%d %d ", c, u }'
    admin info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%d\n", s * 1000 }'
}
n=${BENCH_REFERRALS:-5000}
# every command Redis runs, those inside the functions too, goes to the
# slow log (threshold 0): summed by name below, where Redis's time goes
admin config set slowlog-log-slower-than 0 >/dev/null
admin config set slowlog-max-len 10000000 >/dev/null
admin slowlog reset >/dev/null
set -- $(stats)
c0=$1 u0=$2 p0=$3
t0=$(date +%s%N)
out=$("$build/bin/tremplin" simulate --branches 5 --count "$n" --seed 7)
until [ "$(admin xlen 'tp:{42}:intake:outbox')" = 0 ] && [ "$(admin xlen 'tp:{42}:matcher:outbox')" = 0 ] \
    && [ "$(admin xlen 'tp:{42}:scheduler:outbox')" = 0 ]; do sleep 0.01; done
t1=$(date +%s%N)
set -- $(stats)
# "5000 orientations envoyées par 5 agences simulées en 1.2 s : 4871 acceptées, ..."
acc=$(echo "$out" | sed -n 's/.* : \([0-9]*\) acceptée.*/\1/p' | head -1)
if [ -z "$acc" ] || [ "$acc" -eq 0 ]; then
    echo "no referral accepted: $out" >&2
    exit 1
fi
printf '%-44s referrals=%d accepted=%d ms=%d per_s=%d redis_calls_per=%d redis_us_per=%d redis_cpu_us_per=%d\n' \
    "referrals end to end (5 branches, CURVE)" "$n" "$acc" $(((t1 - t0) / 1000000)) \
    $((acc * 1000000000 / (t1 - t0))) $((($1 - c0) / acc)) $((($2 - u0) / acc)) $((($3 - p0) * 1000 / acc))
# the slow log, summed per command (an FCALL by its function): calls and
# microseconds per referral accepted, the ten costliest
echo "where Redis's time goes, per referral accepted (SLOWLOG at threshold 0; an FCALL's time includes the commands it runs, listed too):"
admin slowlog get 10000000 | awk -v acc="$acc" '
    # redis-cli (raw, not a terminal) prints each entry flat: its id, its
    # time, its microseconds, the argv, the client address and name; the ids
    # come newest first, one apart, which tells where an entry starts (an
    # argument may be a number too). An FCALL is named by its function.
    { line[NR] = $0 }
    END {
        want = line[1]
        for (i = 1; i <= NR; i++) {
            if (line[i] != want || line[i + 2] !~ /^[0-9]+$/) continue
            us = line[i + 2]; cmd = toupper(line[i + 3])
            if (cmd == "FCALL" || cmd == "FCALL_RO") cmd = cmd " " line[i + 4]
            t[cmd] += us; c[cmd]++
            want = line[i] - 1
            i += 3
        }
        for (k in t) printf "  %-44s calls_per=%7.2f us_per=%8.1f us_per_call=%7.1f\n", k, c[k] / acc, t[k] / acc, t[k] / c[k]
    }' | sort -t= -k3 -n -r | head -12
admin config set slowlog-log-slower-than 10000 >/dev/null
admin slowlog reset >/dev/null
