#!/bin/sh
# Runs a whole Tremplin stack on loopback: a private redis-server (AOF, ACL
# users, data under ./var/) and the five services, until Ctrl-C, which stops
# the services (one SIGTERM each: they drain and exit 0), then Redis (SHUTDOWN:
# the AOF is flushed). Run again, it starts on the same data.
#
#   deploy/stack.sh demo [BUILD_DIR]    start, show health, keep running
#   deploy/stack.sh up   [BUILD_DIR]    the same without the health banner
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
mkdir -p "$var/log"

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
for s in $services; do
    setsid "$build/bin/tremplin-$s" >> "$var/log/$s.log" 2>&1 &
    pids="$pids $!"
    eval "pid_$s=$!"
done

tool() { "$build/bin/tremplin" "$@"; }
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
    echo "Essai du bus : 1000 messages intake → matcher"
    tool probe --count 1000 intake matcher || echo "(l'essai du bus a échoué : voir $var/log/)" >&2
    echo
    echo "Trois bureaux de poste simulés orientent 150 personnes (clés CURVE, consentement, questionnaire) :"
    echo "(relancé, les mêmes orientations reviennent « déjà reçues » : rien n'est perdu ni compté deux fois)"
    tool simulate --branches 3 --count 150 --seed 42 || echo "(la simulation a échoué : voir $var/log/)" >&2
    # the matcher assesses, the scheduler books: until the relays have passed
    # everything on (15 s at most)
    i=0
    until [ "$(tool ping intake matcher scheduler 2>/dev/null | grep -c ' outbox=0 ')" -eq 3 ] || [ $i -gt 150 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    echo
    echo "Les séances des quatre prochaines semaines (places réservées, proposées, liste d'attente) :"
    tool sessions
    echo
    echo "Tableau de bord :  http://127.0.0.1:$((base + 7))/   (chiffres : /api/kpi, /metrics, /api/export.csv)"
    echo "Les convocations envoyées par SMS (un fichier par message dans $var/spool/) :"
    n=$(ls "$var/spool/" 2>/dev/null | grep -c '\.sms$' || true)
    echo "$n SMS dans la file (la nuit et le dimanche, ils attendent 8 h 30 : « retenu ») ; le premier :"
    f=$(ls "$var/spool/"*.sms 2>/dev/null | head -1)
    [ -n "$f" ] && sed -n '5,$p' "$f"
    tool notify list --limit 5 || true
    echo
    echo "Dans un autre terminal :  TREMPLIN_CONF=$var/tremplin.conf $build/bin/tremplin ping"
    echo "                          TREMPLIN_CONF=$var/tremplin.conf $build/bin/tremplin kpi"
    echo "Ctrl-C pour tout arrêter."
fi
# wait returns when a trapped signal arrives (then stop runs) or when every
# child has exited by itself, which is a failure
set +e
wait
echo "les processus se sont arrêtés d'eux-mêmes : voir $var/log/" >&2
stop 1
