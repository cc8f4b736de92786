#!/bin/sh
# Runs a whole Tremplin stack on loopback: a private redis-server (AOF, ACL
# users, data under ./var/) and the five services, until Ctrl-C, which stops
# the services (SIGTERM: they drain and exit), then Redis.
#
#   deploy/stack.sh demo [BUILD_DIR]    start, show health, keep running
#   deploy/stack.sh up   [BUILD_DIR]    the same without the health banner
#
# Ports: Redis 6390, services 6391..6395, events 6401..6405 (change BASE).
set -eu

mode=${1:-demo}
build=${2:-build}
var=${TREMPLIN_VAR:-var}
base=${BASE:-6390}
services="intake matcher scheduler survey reporter"

deploy/setup.sh "$var" "$base" "$base"
export TREMPLIN_CONF="$var/tremplin.conf"
mkdir -p "$var/log"

pids=""
redis_pid=""
stop() {
    trap - INT TERM
    echo
    echo "arrêt des services…"
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    if [ -n "$redis_pid" ]; then
        redis-cli -p "$base" --user admin --pass "$(cat "$var/secrets/admin.pass")" --no-auth-warning \
            shutdown >/dev/null 2>&1 || kill -TERM "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    echo "arrêté."
    exit 0
}
trap stop INT TERM

redis-server "$var/redis/redis.conf" > "$var/log/redis.log" 2>&1 &
redis_pid=$!
i=0
until redis-cli -p "$base" --user admin --pass "$(cat "$var/secrets/admin.pass")" --no-auth-warning ping >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "redis-server did not start: see $var/log/redis.log" >&2; stop; fi
    sleep 0.1
done

"$build/bin/tremplin" functions load > "$var/log/functions.log" 2>&1 || {
    echo "loading the Redis functions failed: see $var/log/functions.log" >&2; stop; }
for s in $services; do
    "$build/bin/tremplin-$s" > "$var/log/$s.log" 2>&1 &
    pids="$pids $!"
done

tool() { "$build/bin/tremplin" "$@"; }
i=0
until tool ping >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "services did not become healthy: see $var/log/" >&2; tool ping || true; stop; fi
    sleep 0.1
done

if [ "$mode" = "demo" ]; then
    echo "Tremplin tourne (Redis sur 127.0.0.1:$base, journaux dans $var/log/)."
    echo
    tool ping
    echo
    echo "Essai du bus : 1000 messages intake → matcher"
    tool probe --count 1000 intake matcher
    echo
    echo "Trois bureaux de poste simulés orientent 150 personnes (clés CURVE, consentement, questionnaire) :"
    tool simulate --branches 3 --count 150 --seed 42 || true
    sleep 2   # the matcher assesses, the scheduler books: a moment for the relays
    echo
    echo "Les séances des quatre prochaines semaines (places prises / capacité, liste d'attente) :"
    tool sessions | head -16
    echo
    echo "Dans un autre terminal :  TREMPLIN_CONF=$var/tremplin.conf $build/bin/tremplin ping"
    echo "Ctrl-C pour tout arrêter."
fi
wait
