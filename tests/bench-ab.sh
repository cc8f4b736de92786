#!/bin/sh
# Two builds compared on make bench's closed loop, their runs alternated (on
# this machine a single run moves by +-20 %, with the load around it): the
# median of N runs of each, per referral.
#
#   tests/bench-ab.sh BUILD_A BUILD_B [N]     (N = 3; BENCH_SIZES: one size, 10000)
#
# A build is a directory with bin/ and bench/ as make puts them in build/
# (e.g. a worktree of the commit to compare: git worktree add /tmp/base REV &&
# make -C /tmp/base -j2 all).
set -eu
[ $# -ge 2 ] || { echo "usage: tests/bench-ab.sh BUILD_A BUILD_B [N]" >&2; exit 2; }
a=$1 b=$2 n=${3:-3}
for i in $(seq 1 "$n"); do
    for build in "$a" "$b"; do
        BENCH_CLOSED_ONLY=1 BENCH_TRACE=0 BENCH_BUS=0 BENCH_SIZES=${BENCH_SIZES:-10000} tests/bench.sh "$build" |
            awk -v b="$build" '
                function val(name) { return match($0, name "=[0-9.]+") ? substr($0, RSTART + length(name) + 1, RLENGTH - length(name) - 1) : "" }
                /closed loop:/ { rate = val("final_per_s") }
                /^  redis:/ { calls = val("calls_per"); cpu = val("cpu_us_per"); mem = val("memory_bytes_per") }
                /^  services:/ { svc = val("intake_cpu_us_per") + val("matcher_cpu_us_per") + val("scheduler_cpu_us_per") }
                END { print b, rate, cpu, calls, mem, svc }'
    done
done | awk '
    function median(list, k,    v, m, i, j, t) {
        m = split(list, v, " ")
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    { if (!($1 in seen)) { seen[$1] = 1; order[++nb] = $1 }
      for (k = 2; k <= 6; k++) runs[$1, k] = runs[$1, k] " " $k }
    END {
        printf "%-28s %14s %16s %14s %18s %18s\n", "build (median of runs)", "referrals/s", "redis_cpu_us", "redis_calls", "redis_bytes", "services_cpu_us"
        for (i = 1; i <= nb; i++) {
            b = order[i]
            printf "%-28s %14s %16s %14s %18s %18s\n", b, median(runs[b, 2]), median(runs[b, 3]), median(runs[b, 4]), median(runs[b, 5]), median(runs[b, 6])
            for (k = 2; k <= 6; k++) printf "  %s", (k == 2 ? "runs:" : "|") runs[b, k]
            printf "\n"
        }
    }'
