#!/bin/sh
# Runs a whole Tremplin stack on loopback: a private redis-server (AOF, ACL
# users, data under ./var/) and the five services, until Ctrl-C, which stops
# the services (one SIGTERM each: they drain and exit 0), then Redis (SHUTDOWN:
# the AOF is flushed). Run again, it starts on the same data.
#
#   deploy/stack.sh demo [BUILD_DIR]    start, play the demo season, keep running
#   deploy/stack.sh up   [BUILD_DIR]    start and keep running, nothing played
#
# demo plays twelve weeks of the programme through the stack (`tremplin
# season`: business time moved by the [clock] of the configuration and a
# SIGHUP to each service, whose pids are in $var/run/) and prints what the
# commission reads; ONESHOT=1 stops everything after that (exit 0 when the
# season played and everything stopped cleanly). Run again on the same data,
# the season is not played twice: its figures are shown again.
#
# Exit status: 0 after Ctrl-C (or SIGTERM) with every process stopped
# cleanly; 1 when the stack could not start or a process did not stop
# cleanly. Ports: Redis 6390, services 6391..6395, the reporter's dashboard
# http://127.0.0.1:6397/, the gateway 6398 (its callback 6399), the survey's
# kiosks 6400, events 6401..6405 and 6407 (BASE).
set -eu
# the instance's files (the AOF holds names and phone numbers, the logs) are
# private to the user that runs it
umask 077

mode=${1:-demo}
build=${2:-build}
var=${TREMPLIN_VAR:-var}
base=${BASE:-6390}
services="intake matcher scheduler survey reporter gateway"

TREMPLIN_BIN="$build/bin/tremplin" deploy/setup.sh "$var" "$base" "$base"
export TREMPLIN_CONF="$var/tremplin.conf"
mkdir -p "$var/log" "$var/run"

tool() { "$build/bin/tremplin" "$@"; }
rcli() {
    timeout 5 redis-cli -p "$base" --user admin --pass "$(cat "$var/secrets/admin.pass")" --no-auth-warning "$@"
}

pids=""
redis_pid=""
# Stops what runs: services first (they may still write to Redis while they
# drain), Redis last. Ctrl-C reaches only this script: the processes run in
# sessions of their own (setsid), so each gets exactly one signal, from here.
stop() {
    rc=$1
    # nothing may stop the stopping: not a second Ctrl-C, nor a terminal gone
    # (a closed pipe or terminal fails the messages, never the shutdown)
    trap '' INT TERM HUP PIPE
    set +e
    echo
    echo "arrêt des services…"
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do
        st=0
        wait "$p" 2>/dev/null || st=$?
        if [ "$st" -ne 0 ]; then
            echo "un service (pid $p) s'est arrêté avec le code $st : voir $var/log/" >&2
            rc=1
        fi
    done
    if [ -n "$redis_pid" ]; then
        rcli shutdown >/dev/null 2>&1 || kill -TERM "$redis_pid" 2>/dev/null || true
        st=0
        wait "$redis_pid" 2>/dev/null || st=$?
        if [ "$st" -ne 0 ]; then
            echo "redis-server s'est arrêté avec le code $st : voir $var/log/redis.log" >&2
            rc=1
        fi
    fi
    if [ "$rc" -eq 0 ]; then echo "arrêté."; else echo "arrêté, avec des erreurs." >&2; fi
    exit "$rc"
}
trap 'stop 0' INT TERM HUP
# the terminal or pipe that reads us is gone: stop everything, leave nothing behind
trap 'stop 1' PIPE

# Another stack on these ports (a demo still running, or one whose services
# outlived it): say so and touch nothing — starting anyway would reach the
# other's Redis, and stopping would shut it down.
busy=""
for off in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 17; do
    p=$((base + off))
    if [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then busy="$busy $p"; fi
done
if [ -n "$busy" ]; then
    echo "des ports de Tremplin sont déjà pris :$busy — un autre Tremplin tourne-t-il encore ?" >&2
    echo "arrêtez-le (Ctrl-C dans son terminal, ou : pkill -f 'bin/tremplin-' ; redis-cli -p $base shutdown)," >&2
    echo "ou choisissez d'autres ports : BASE=7390 make demo" >&2
    exit 1
fi

setsid redis-server "$var/redis/redis.conf" >> "$var/log/redis.log" 2>&1 &
redis_pid=$!
# Ready means PONG: while Redis loads its AOF it answers -LOADING, on which
# redis-cli still exits 0.
i=0
until kill -0 "$redis_pid" 2>/dev/null && [ "$(rcli ping 2>/dev/null)" = "PONG" ]; do
    i=$((i + 1))
    if ! kill -0 "$redis_pid" 2>/dev/null; then
        redis_pid=""
        echo "redis-server s'est arrêté au démarrage : voir $var/log/redis.log" >&2
        tail -n 5 "$var/log/redis.log" >&2
        stop 1
    fi
    if [ $i -gt 600 ]; then echo "redis-server ne répond pas après 60 s : voir $var/log/redis.log" >&2; stop 1; fi
    sleep 0.1
done

"$build/bin/tremplin" functions load > "$var/log/functions.log" 2>&1 || {
    echo "le chargement des fonctions Redis a échoué : voir $var/log/functions.log" >&2
    cat "$var/log/functions.log" >&2
    stop 1
}
# the demo season begins twelve weeks ago: the services start at its first
# day (nothing when it was played already, or the instance is in use)
if [ "$mode" = "demo" ]; then
    tool season --prepare || { echo "la préparation de la saison a échoué : voir ci-dessus" >&2; stop 1; }
fi
# the demo season moves business time step by step and waits for the
# scheduler's timer (offer expiry, new sessions) after each: ticking every
# 50 ms instead of every second keeps the wait short
if [ "$mode" = "demo" ]; then export TREMPLIN_SCHEDULER_TIMER_MS="${TREMPLIN_SCHEDULER_TIMER_MS:-50}"; fi
for s in $services; do
    setsid "$build/bin/tremplin-$s" >> "$var/log/$s.log" 2>&1 &
    pids="$pids $!"
    eval "pid_$s=$!"
    echo $! > "$var/run/$s.pid"
done

i=0
until tool ping >/dev/null 2>&1; do
    i=$((i + 1))
    for s in $services; do
        if ! kill -0 "$(eval echo "\$pid_$s")" 2>/dev/null; then
            echo "tremplin-$s s'est arrêté au démarrage : voir $var/log/$s.log" >&2
            tail -n 5 "$var/log/$s.log" >&2
            stop 1
        fi
    done
    if [ $i -gt 300 ]; then
        echo "les services ne répondent pas après 30 s : voir $var/log/" >&2
        tool ping || true
        stop 1
    fi
    sleep 0.1
done

if [ "$mode" = "demo" ]; then
    echo "Tremplin tourne (Redis sur 127.0.0.1:$base, journaux dans $var/log/)."
    echo
    tool ping
    echo
    season_rc=0
    tool season --seed "${SEED:-42}" || season_rc=$?
    if [ "$season_rc" -ne 0 ]; then
        echo "(la saison n'a pas pu être jouée jusqu'au bout : voir les messages ci-dessus et $var/log/)" >&2
    fi
    echo
    echo "Le programme tremplin, dans un autre terminal :  export PATH=\$PATH:$(pwd)/$build/bin TREMPLIN_CONF=$var/tremplin.conf"
    if [ "${ONESHOT:-0}" = "1" ]; then
        [ "$season_rc" -eq 0 ] && stop 0
        stop 1
    fi
    echo "Ctrl-C pour tout arrêter."
fi
# wait returns when a trapped signal arrives (then stop runs) or when every
# child has exited by itself, which is a failure
set +e
wait
echo "les processus se sont arrêtés d'eux-mêmes : voir $var/log/" >&2
stop 1
