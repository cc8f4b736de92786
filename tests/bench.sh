#!/bin/sh
# Bus throughput on this machine: a private Redis (AOF, setup.sh's appendfsync always) and real
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
if [ "${BENCH_BUS:-1}" = 1 ]; then # BENCH_BUS=0: the referral benchmark only
echo "bus throughput ($(nproc) cores, Redis AOF appendfsync $(awk '/^appendfsync/ { print $2 }' "$dir/redis/redis.conf"), $(date -u +%Y-%m-%d))"
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
fi

# Referrals end to end (issue 16's benchmark): build/bench/loadgen submits
# N referrals from 20 branches over CURVE through intake's branch endpoint and
# follows each to its final state on the matcher's and the scheduler's event
# sockets. Each size runs on a fresh instance whose timetable is scaled up
# (16 venues x 4 slots of 100 seats a week, four weeks: 25 600 seats), so
# that most referrals of the smaller sizes are booked, not only waitlisted.
# Redis's own accounting (INFO commandstats, cpu, memory) and the services'
# /proc figures are divided by the referrals followed.
#
#   BENCH_SIZES="10000 100000"  (1000000 takes ~10 min and ~5 GB of Redis)
#   BENCH_WINDOW=640            referrals not yet final, closed loop
#   BENCH_RATES="1000 10000"    open-loop rates (BENCH_OPEN_COUNT each)
#   BENCH_FSYNC=everysec        Redis's appendfsync (setup.sh's: always)
#   BENCH_CLOSED_ONLY=1         the closed-loop runs alone
#   BENCH_TRACE=0               no perf trace of Redis's fdatasync during the
#                               closed loop (it costs the run a few per cent)
admin() { redis-cli -p "$base" --user admin --pass "$(cat "$dir/secrets/admin.pass")" --no-auth-warning "$@"; }
kill_stack() { for p in $pids; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=""; }
scaled_timetable() { # the instance's timetable: 64 weekly slots of 100 seats
    {
        echo '{ "version": "bench-1", "timezone": "Europe/Paris", "horizon_days": 28, "venues": ['
        for v in $(seq 1 16); do
            printf '  { "id": "v%02d", "name_fr": "Salle %d", "address_fr": "Banc d'"'"'essai" }%s\n' "$v" "$v" \
                "$([ "$v" -lt 16 ] && echo ,)"
        done
        echo '], "slots": ['
        slot=0
        for v in $(seq 1 16); do
            for k in 0 1 2 3; do
                slot=$((slot + 1))
                day=$(echo mon tue wed thu fri sat | cut -d' ' -f$(((v + k) % 6 + 1)))
                start=$([ $((k % 2)) = 0 ] && echo 09:30 || echo 14:00)
                [ "$day" = sat ] && start=09:30
                kind=$(echo initiation initiation perfectionnement budget | cut -d' ' -f$((k + 1)))
                printf '  { "day": "%s", "start": "%s", "duration_min": 120, "kind": "%s", "venue": "v%02d", "trainer": "t%02d%d", "capacity": 100 }%s\n' \
                    "$day" "$start" "$kind" "$v" "$v" "$k" "$([ "$slot" -lt 64 ] && echo ,)"
            done
        done
        echo '], "public_holidays": "fr", "holidays": [], "closures": [], "absences": [] }'
    } > "$1"
}
svc_cpu_ms() { # utime + stime of a pid, ms
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}
svc_hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# Where Redis's main thread (it runs every command: one core is its ceiling)
# spends a run: on a CPU, runnable but waiting for one (the machine's cores
# are shared), or off them (blocked in fdatasync under appendfsync always, or
# idle): /proc's schedstat, ns. Its children are the AOF rewrites it forks
# (reaped: cutime + cstime, ms). And the machine's busy jiffies against all.
redis_sched() { cat "/proc/$redis_pid/task/$redis_pid/schedstat"; }
redis_children_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($16 + $17) * 1000 / hz }' "/proc/$redis_pid/stat"; }
machine_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $6 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat; }
# The ms a traced system call took (perf trace -s's table; it starts a
# second before the run: the idle waits are not comparable, the fdatasyncs
# are the run's)
traced_ms() { awk -v c="$1" '$1 == c { printf "%d", $4 }' "$dir/trace.txt" 2>/dev/null || true; }
info_sum() { # redis commands, their usec, the functions' usec, cpu ms, used memory
    admin info commandstats | tr -d '\r' |
        awk -F'[=,]' '/^cmdstat_/ { c += $2; u += $4 } /^cmdstat_fcall:/ { f = $4 } END { printf "%d %d %d ", c, u, f }'
    admin info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%d ", s * 1000 }'
    admin info memory | tr -d '\r' | awk -F: '/^used_memory:/ { print $2 }'
}
census() { # where Redis's memory goes: each key family (ids masked), keys and bytes per referral
    echo "  redis memory by key family, per referral followed (MEMORY USAGE of up to 50 keys of each, scaled):"
    admin --scan --pattern 'tp:*' | awk '
        { f = $0; gsub(/:[^:{}]*[0-9][^:{}]*/, ":*", f); n[f]++; if (n[f] <= 50) print f "\t" $0 }
        END { for (f in n) print "#count\t" f "\t" n[f] }' > "$dir/census"
    grep -v '^#' "$dir/census" | while IFS="$(printf '\t')" read -r fam key; do
        printf '%s\t%s\n' "$fam" "$(admin memory usage "$key" samples 0)"
    done | awk -F'\t' -v per="$1" -v counts="$dir/census" '
        BEGIN { while ((getline l < counts) > 0) { split(l, c, "\t"); if (c[1] == "#count") n[c[2]] = c[3] } }
        { s[$1] += $2; k[$1]++ }
        END { for (f in s) printf "    %-48s keys_per=%6.2f bytes_per=%6d\n", f, n[f] / per, s[f] / k[f] * n[f] / per }' |
        sort -t= -k3 -rn | head -25
}
start_stack() { # a fresh instance: Redis, intake, matcher, scheduler, 20 branches
    kill_stack
    rm -rf "$dir"
    mkdir -p "$dir"
    deploy/setup.sh "$dir" "$base" "$base" >/dev/null
    # BENCH_FSYNC=everysec: what appendfsync always (setup.sh's) costs
    [ -n "${BENCH_FSYNC:-}" ] && sed -i "s/^appendfsync .*/appendfsync $BENCH_FSYNC/" "$dir/redis/redis.conf"
    scaled_timetable "$dir/timetable.json"
    redis-server "$dir/redis/redis.conf" > "$dir/redis.log" 2>&1 &
    redis_pid=$!
    pids="$redis_pid"
    until "$build/bin/tremplin" functions load >/dev/null 2>&1; do sleep 0.1; done
    svc_pids=""
    for s in intake matcher scheduler; do
        "$build/bin/tremplin-$s" 2> "$dir/$s.log" &
        pids="$pids $!"
        svc_pids="$svc_pids $s=$!"
    done
    until "$build/bin/tremplin" ping intake matcher scheduler >/dev/null 2>&1; do sleep 0.1; done
    for b in $(seq -w 1 20); do
        "$build/bin/tremplin" branch add "bench-$b" --name "Banc $b" --territory 42 >/dev/null
    done
}
loadgen() {
    "$build/bench/loadgen" -c "$TREMPLIN_CONF" --catalogue "$dir/catalogue.json" \
        --keys "$dir/curve/branch-secrets" --branch-prefix bench --branches 20 "$@"
}
for n in ${BENCH_SIZES:-10000 100000}; do
    start_stack
    set -- $(info_sum)
    c0=$1 u0=$2 f0=$3 p0=$4 m0=$5
    cpu0=""
    for sp in $svc_pids; do cpu0="$cpu0 $(svc_cpu_ms "${sp#*=}")"; done
    # perf trace, when there, tells the fdatasync in the off-CPU time
    # (BENCH_TRACE=0: not traced)
    tracer=""
    if [ "${BENCH_TRACE:-1}" = 1 ] && command -v perf >/dev/null 2>&1; then
        perf trace -s -e fdatasync -t "$redis_pid" -o "$dir/trace.txt" >/dev/null 2>&1 &
        tracer=$!
        sleep 1 # it attaches
    fi
    rs0=$(redis_sched) rc0=$(redis_children_ms) mj0=$(machine_jiffies) t0=$(date +%s%N)
    out=$(loadgen --count "$n" --window "${BENCH_WINDOW:-640}")
    rs1=$(redis_sched) rc1=$(redis_children_ms) mj1=$(machine_jiffies) t1=$(date +%s%N)
    [ -n "$tracer" ] && { kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true; }
    echo "referrals end to end, N=$n, closed loop: $out"
    last_closed=$out
    f=$(echo "$out" | sed -n 's/.* followed=\([0-9]*\) .*/\1/p')
    [ "${f:-0}" -gt 0 ] || { echo "nothing followed" >&2; exit 1; }
    set -- $(info_sum)
    # fcall_us_per: the functions' own time (their commands included); the
    # rest of cpu_us_per is Redis's reading, replying, AOF writing and fsync
    last_cpu=$((($4 - p0) * 1000 / f)) last_mem=$((($5 - m0) / f))
    printf '  redis: calls_per=%d us_in_commands_per=%d fcall_us_per=%d cpu_us_per=%d memory_bytes_per=%d\n' \
        $((($1 - c0) / f)) $((($2 - u0) / f)) $((($3 - f0) / f)) "$last_cpu" "$last_mem"
    printf '  services:'
    set -- $cpu0
    for sp in $svc_pids; do
        printf ' %s_cpu_us_per=%d %s_peak_rss_mb=%d' "${sp%=*}" $((($(svc_cpu_ms "${sp#*=}") - $1) * 1000 / f)) \
            "${sp%=*}" $(($(svc_hwm_kb "${sp#*=}") / 1024))
        shift
    done
    echo
    # what limits the rate: the resource at its ceiling during the run
    wall=$((t1 - t0))
    set -- $rs0 $rs1
    on=$((($4 - $1) * 100 / wall)) runq=$((($5 - $2) * 100 / wall))
    set -- $mj0 $mj1
    machine=$((($3 - $1) * 100 / ($4 - $2)))
    fsync=$(($(traced_ms fdatasync) + 0))
    printf '  redis main thread: on_cpu=%d%% waiting_for_cpu=%d%% off_cpu=%d%%' "$on" "$runq" $((100 - on - runq))
    if [ -s "$dir/trace.txt" ]; then
        fsync=$((fsync * 100000000 / wall))
        printf ' (fdatasync=%d%%, the rest idle)' "$fsync"
    else
        fsync=""
        printf ' (not split: no perf trace)'
    fi
    printf '; aof_rewrites=%d%% of a core; machine=%d%% of %d cores\n' $(((rc1 - rc0) * 100000000 / wall)) \
        "$machine" "$(nproc)"
    if [ $((on + runq + ${fsync:-0})) -ge 85 ]; then
        echo "  saturated: Redis's main thread (every command, one at a time, and the fdatasync of appendfsync always)"
    elif [ "$machine" -ge 90 ]; then
        echo "  saturated: the machine's cores (Redis, the services and the load generator share them)"
    elif [ -z "$fsync" ]; then
        echo "  saturated: not told (Redis's off-CPU time is fdatasync or idle: perf trace tells which)"
    else
        echo "  saturated: none (the window of referrals in flight, or a wait, limits the rate)"
    fi
    echo "  bookings made: $(admin --scan --pattern 'tp:{42}:scheduler:booking:*' | wc -l) (the rest waitlisted, or no workshop)"
    census "$f"
done
# BENCH_CLOSED_ONLY=1: the closed loop alone (tests/bench-ab.sh)
[ "${BENCH_CLOSED_ONLY:-0}" = 1 ] && exit 0
# Latency, open loop: referrals due at a fixed rate, each timed from its due
# time to its final event (on the last instance, its sessions partly full).
for r in ${BENCH_RATES:-1000 10000}; do
    cnt=${BENCH_OPEN_COUNT:-$((r * 5))}
    echo "referrals end to end, open loop at $r/s: $(loadgen --count "$cnt" --rate "$r" --seed "$r")"
done
# Where Redis's time goes: a diagnostic pass (SLOWLOG at threshold 0 slows
# Redis down, so apart from the measured runs) of 5 000 referrals.
admin config set slowlog-log-slower-than 0 >/dev/null
admin config set slowlog-max-len 10000000 >/dev/null
admin slowlog reset >/dev/null
out=$(loadgen --count 5000 --window "${BENCH_WINDOW:-640}" --seed 99)
acc=$(echo "$out" | sed -n 's/.* followed=\([0-9]*\) .*/\1/p')
# the slow log, summed per command (an FCALL by its function): calls and
# microseconds per referral followed, the ten costliest
echo "where Redis's time goes, per referral followed (SLOWLOG at threshold 0; an FCALL's time includes the commands it runs, listed too):"
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
# The Redis ceiling for the seat work alone: one seat-reservation script
# (capacity check, counter, roster) pipelined x64 by redis-benchmark.
rb() { redis-benchmark -p "$base" --user admin -a "$(cat "$dir/secrets/admin.pass")" "$@"; }
seat='local t = redis.call("HINCRBY", KEYS[1], "taken", 1) if t > 100 then redis.call("HINCRBY", KEYS[1], "taken", -1) return 0 end redis.call("ZADD", KEYS[2], t, ARGV[1]) return 1'
ceil=$(rb -q -P 64 -n 300000 -r 100000 EVAL "$seat" 2 'bench:seat:__rand_int__' 'bench:roster:__rand_int__' 'p__rand_int__' 2>/dev/null \
    | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
echo "redis ceiling: one seat script pipelined x64: ${ceil:-?} per second"
# the pipeline against that ceiling (the last closed-loop run)
[ -n "${ceil:-}" ] && awk -v r="$(echo "$last_closed" | sed -n 's/.* final_per_s=\([0-9]*\) .*/\1/p')" -v c="$ceil" \
    'BEGIN { if (r > 0) printf "pipeline / ceiling: %d / %d per second = %.1f %%\n", r, c, 100 * r / c }'

# The contract's floor: the least Redis work a referral can be under
# ARCHITECTURE.md's rules — three steps (intake, matcher, scheduler), each one
# function call through common/bus.lua's wrapper with its idempotency mark, an
# outbox entry for the next service but the last, one record of what it was
# sent, the seat taken in the last (tests/bench/floor.lua) — with real-sized
# arguments (one session for all, its capacity never reached: every step
# books), pipelined x64 on the same Redis (AOF, its fsync policy). What a
# real step costs above it is business: figures, indexes, person records.
floor_n=${BENCH_FLOOR_COUNT:-100000}
floor_err="$dir/floor.err"
# Redis's CPU since info_sum printed k0, us per call of n; its memory now
cpu_us_since() { calls=$2; set -- $1 $(info_sum); echo $((($9 - $4) * 1000 / calls)); }
used_memory() { set -- $(info_sum); echo "$5"; }
floor_fail() { echo "contract floor: $*" >&2; cat "$floor_err" >&2; exit 1; }
# an AOF rewrite (the runs write ~100 MB) would stretch the one-client latencies
aof_idle() { until admin info persistence | tr -d '\r' | grep -q '^aof_rewrite_in_progress:0'; do sleep 0.1; done; }
floor() { # step, its FCALL's arguments: Redis CPU us per call pipelined x64;
    # then one call at a time (one client, no pipeline): p50 and p99 in ms
    step=$1
    shift
    k0=$(info_sum)
    rb -q -P 64 -n "$floor_n" -r 1000000000 FCALL "floor_v1_$step" "$@" >/dev/null 2>>"$floor_err" ||
        floor_fail "$step: the pipelined run failed"
    cpu=$(cpu_us_since "$k0" "$floor_n")
    aof_idle
    lat=$(rb -c 1 -n 2000 -r 1000000000 FCALL "floor_v1_$step" "$@" 2>>"$floor_err" | tr '\r' '\n' |
        awk '/latency summary/ { getline; getline; print $3, $5 }')
    [ -n "$lat" ] || floor_fail "$step: the one-client run failed"
    echo "$cpu $lat"
}
# the services poll Redis: stopped, they leave it to the floor alone
for sp in $svc_pids; do kill -9 "${sp#*=}" 2>/dev/null || true; done
[ "$(sed 's/__LIB__/floor_v1/' common/bus.lua tests/bench/floor.lua | admin -x function load replace)" = floor_v1 ] ||
    floor_fail "tests/bench/floor.lua did not load"
m0=$(used_memory)
msg=$(head -c 370 /dev/zero | tr '\0' m) # the size of the messages a referral's steps send
dig=$(printf floor | sha1sum | cut -c1-40)
F='bench:floor:{9}'
fs=$(floor submit 3 "$F:intake:seen:__rand_int__" "$F:intake:outbox" "$F:intake:referral:__rand_int__" \
    1209600 "$dig" 1 matcher 'm__rand_int__' "$msg" record \
    'referral_id person_id branch external_ref mediator partner needs answers availability consent_version now_ms retain_until_ms' \
    'r-__rand_int__' 'p-__rand_int__' 'bench-01' 'EXT-__rand_int__' 'm-17' 'assoc-3' 'email administration' \
    'q1=2 q2=1 q3=0 q4=1 q5=2 q6=0 q7=1 q8=1 q9=0 q10=2 q11=1 q12=0' 'mon-am tue-pm thu-am' 'v3' 1764500000000 1827572000000)
fa=$(floor assign 3 "$F:matcher:seen:__rand_int__" "$F:matcher:outbox" "$F:matcher:assignment:__rand_int__" \
    1209600 "$dig" 1 scheduler 'm__rand_int__' "$msg" record \
    'referral_id person_id kind level score outcome reason rules branch now_ms' \
    'r-__rand_int__' 'p-__rand_int__' initiation 1 4 assigned \
    "Niveau 1 : atelier d'initiation au numérique (questionnaire 4 sur 12)." 'catalogue-3 questionnaire-2' 'bench-01' \
    1764500000000)
fb=$(floor book 4 "$F:scheduler:seen:__rand_int__" "$F:scheduler:outbox" "$F:scheduler:session:1" \
    "$F:scheduler:booking:__rand_int__" 1209600 "$dig" 0 'session record' \
    'person_id kind session_id assignment_id now_ms capacity' \
    'p-__rand_int__' initiation 's-__rand_int__' 'a-__rand_int__' 1764500000000 1000000000000)
# every call did its step: an outbox entry each (the first two), a seat each
# (the last) — an error, a replay or a refusal would not
made=$(admin xlen "$F:intake:outbox")
for c in "$made" "$(admin xlen "$F:matcher:outbox")" "$(admin hget "$F:scheduler:session:1" taken)"; do
    [ "${c:-0}" -ge $((floor_n + 2000)) ] || floor_fail "a step did not do its work ($c of $((floor_n + 2000)) calls)"
done
# the outbox entries go once acknowledged: not live state
admin del "$F:intake:outbox" "$F:matcher:outbox" >/dev/null
m1=$(used_memory)
# and below any wrapper: one bare script per step (EVALSHA) — the mark (SET
# EX), an outbox entry (XADD; the last step needs none), the record as the
# packed message (one SET)
bare=$(admin script load 'redis.call("SET", KEYS[1], ARGV[1], "EX", 1209600) redis.call("XADD", KEYS[2], "*", "to", "matcher", "id", ARGV[2], "msg", ARGV[3]) redis.call("SET", KEYS[3], ARGV[3]) return 1')
k0=$(info_sum)
rb -q -P 64 -n "$floor_n" -r 1000000000 EVALSHA "$bare" 3 "$F:bare:seen:__rand_int__" "$F:bare:outbox" "$F:bare:record:__rand_int__" \
    "{\"digest\":\"$dig\",\"answer\":[\"ok\",\"referral_id\",\"r-1\",\"status\",\"accepted\"]}" \
    'm__rand_int__' "$msg" >/dev/null 2>>"$floor_err" || floor_fail "the bare script failed"
fbare=$(cpu_us_since "$k0" "$floor_n")
[ "$(admin xlen "$F:bare:outbox")" -ge "$floor_n" ] || floor_fail "the bare script did not write"
set -- $fs $fa $fb
fl=$(($1 + $4 + $7))
echo "contract floor (3 steps: mark, outbox entry, one record each, the seat; pipelined x64): submit=$1us assign=$4us book=$7us redis_cpu_us_per=$fl memory_bytes_per=$(((m1 - m0) / made)) referrals_per_s_on_one_core=$((1000000 / fl))"
echo "contract floor, one call at a time (the fsync in each): submit_ms p50=$2 p99=$3, assign_ms p50=$5 p99=$6, book_ms p50=$8 p99=$9; the three p50s together: $(awk -v a="$2" -v b="$5" -v c="$8" 'BEGIN { printf "%.2f", a + b + c }') ms in Redis alone"
echo "bare floor (one script per step, no wrapper: the mark, an outbox entry, the packed message as the record): step=${fbare}us x 3 = $((3 * fbare))us per referral"
echo "pipeline / floor: Redis CPU ${last_cpu}us / ${fl}us per referral = $(awk -v a="$last_cpu" -v b="$fl" 'BEGIN { printf "%.1f", a / b }')x"

kill_stack
