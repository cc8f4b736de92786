#!/bin/sh
# Writes a self-contained Tremplin instance into DIR: Redis configuration
# (AOF on, loopback only), one ACL user per service with its own random
# password, and tremplin.conf with every endpoint on loopback.
#
#   deploy/setup.sh DIR REDIS_PORT BASE_PORT
#
# Ports: services bind BASE_PORT+1..+5 (commands) and BASE_PORT+11..+15
# (events); intake's CURVE endpoint for branch systems is BASE_PORT+6; the
# reporter's HTTP (dashboard, /metrics, API) BASE_PORT+7; the survey's CURVE
# endpoint for kiosks BASE_PORT+10; the gateway BASE_PORT+8 (commands: Ping), +17
# (events) and +9 (the SMS provider's callback, HTTP on loopback). Existing secrets are kept, so a re-run does not lock anyone out;
# the configuration files are rewritten. Used by `make demo` and the tests.
set -eu
# Everything an instance holds is private to the user that runs it: the AOF
# holds names and phone numbers, the configuration names the secrets.
umask 077

dir=$1
redis_port=$2
base=$3

mkdir -p "$dir/redis" "$dir/secrets" "$dir/spool"
# the workshop catalogue and questionnaire: the instance's own copy, edited
# there and reloaded with SIGHUP
[ -f "$dir/catalogue.json" ] || cp "$(dirname "$0")/catalogue.json" "$dir/catalogue.json"
[ -f "$dir/timetable.json" ] || cp "$(dirname "$0")/timetable.json" "$dir/timetable.json"
# an instance made by an older setup.sh, or with another umask
chmod 700 "$dir" "$dir/redis" "$dir/secrets" "$dir/spool"

users="admin operator intake matcher scheduler survey reporter gateway"
for u in $users; do
    f="$dir/secrets/$u.pass"
    if [ ! -s "$f" ]; then
        (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$f")
    fi
done
pass() { cat "$dir/secrets/$1.pass"; }
# the key of the ids services derive (a keyed hash: without it one id says
# nothing of another); every instance of the deployment needs the same file
# the secret the SMS provider's callback must send (X-Tremplin-Secret)
if [ ! -s "$dir/secrets/callback.secret" ]; then
    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$dir/secrets/callback.secret")
fi
if [ ! -s "$dir/secrets/ids.key" ]; then
    (umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$dir/secrets/ids.key")
fi

# What a service may run: reads, writes and streams on its own keys, its
# function library, and nothing dangerous (no KEYS, FLUSHALL, CONFIG ...).
# Function libraries are loaded by the admin (`tremplin functions load`), not
# by the services: a user that may FUNCTION LOAD could replace another
# service's library and run code with its rights.
# INFO persistence only (INFO is @dangerous): a service checks at connect that
# AOF is on, and reports it in its Pong.
# SCAN and RANDOMKEY take no key, so key patterns do not limit them: with
# them any user could list every key name (a contact's person id, a branch's
# external references).
svc_cmds="-@all +@read +@write +@stream +@connection -@dangerous -scan -randomkey -function +fcall +fcall_ro +function|list +role +client|setname +ping +time +info|persistence"
# BGREWRITEAOF: after an erasure (the tool, as operator) or a retention purge
# that removed personal data (intake: contacts, survey: comments, gateway:
# phone sets, scheduler: who attended which session), the AOF is rewritten
# once so the deleted data leaves the disk too; the matcher and the reporter
# delete no personal data and may not.
rewrite="+bgrewriteaof"

# The default user is disabled (no client can log in as it: "off", no
# password) but keeps every permission. Redis 7.0 (Debian 12's 7.0.15) replays
# the AOF as the default user and drops every MULTI/EXEC it may not run —
# which is how every function call's effects are stored — with "NOPERM ACLs
# rules changed" in its log: `user default off` alone loses all the data at
# the next restart. tests/integration/test_durability.c holds this.
# Key patterns are anchored on the territory's braces: tp:{*}:intake:* cannot
# match tp:{42}:scheduler:x:intake:y, because no key segment may hold a '}'
# (territories and ids are checked by ids_valid), so the '*' cannot run past
# the territory. (tp:*:intake:* matched it: any service could write another's
# keys through a crafted name.)
# The audit trail (audit:{T}, outside tp:) is written by the services only
# (common/bus.lua, common/svc_audit.c): the operator user may read it, not
# add to, trim nor delete it.
audit="~audit:{*}"
{
    echo "user default off resetpass ~* &* +@all"
    echo "user admin on #$(printf %s "$(pass admin)" | sha256sum | cut -d' ' -f1) ~* &* +@all"
    # the operator (the tool): reads everything it shows (contacts too: person
    # show, rosters, letters — each read in the audit trail), writes nothing
    # but the dead letters and outboxes (outbox retry | drop): every other
    # change goes through a service's command, under the operator's key and
    # role; seat counters and records are the services' alone
    opw=""
    for s in intake matcher scheduler survey reporter gateway; do opw="$opw ~tp:{*}:$s:dead ~tp:{*}:$s:outbox"; done
    echo "user operator on #$(printf %s "$(pass operator)" | sha256sum | cut -d' ' -f1) %R~tp:*$opw %R~audit:{*} resetchannels $svc_cmds $rewrite"
    for s in intake scheduler; do
        echo "user $s on #$(printf %s "$(pass $s)" | sha256sum | cut -d' ' -f1) ~tp:{*}:$s:* $audit resetchannels $svc_cmds $rewrite"
    done
    echo "user matcher on #$(printf %s "$(pass matcher)" | sha256sum | cut -d' ' -f1) ~tp:{*}:matcher:* $audit resetchannels $svc_cmds"
    # the survey reads a person's consent to the survey (intake's pseudonymous
    # record, never the contact data) when it opens a participation
    echo "user survey on #$(printf %s "$(pass survey)" | sha256sum | cut -d' ' -f1) ~tp:{*}:survey:* %R~tp:{*}:intake:person:* $audit resetchannels $svc_cmds $rewrite"
    # the reporter reads every service's figures, read-only (tp:{T}:<svc>:fig:*,
    # docs/figures.md: counts and pseudonymous facts, never contact data), and
    # writes only its own keys (closed periods)
    figs=""
    for s in intake matcher scheduler survey gateway; do figs="$figs %R~tp:{*}:$s:fig:*"; done
    echo "user reporter on #$(printf %s "$(pass reporter)" | sha256sum | cut -d' ' -f1)$figs ~tp:{*}:reporter:* $audit resetchannels $svc_cmds"
    # the gateway: its own keys; the notify streams it reads through its
    # consumer group (XREADGROUP and XACK write the group's state: read and
    # write on those two keys only); and, read-only, what a message needs at
    # send time: consent (intake person), contact data, the session and
    # booking it names, and the person's bookings (the open offer or next
    # booking an SMS reply answers)
    echo "user gateway on #$(printf %s "$(pass gateway)" | sha256sum | cut -d' ' -f1) ~tp:{*}:gateway:*" \
         "~tp:{*}:scheduler:notify ~tp:{*}:survey:notify %R~tp:{*}:intake:person:* %R~tp:{*}:intake:contact:*" \
         "%R~tp:{*}:survey:participation:* %R~tp:{*}:survey:by:*" \
         "%R~tp:{*}:scheduler:session:* %R~tp:{*}:scheduler:booking:* %R~tp:{*}:scheduler:person:* $audit resetchannels $svc_cmds $rewrite"
} > "$dir/redis/users.acl"
chmod 600 "$dir/redis/users.acl"

abs=$(cd "$dir" && pwd)
cat > "$dir/redis/redis.conf" <<CONF
# Generated by deploy/setup.sh — private Redis of a Tremplin instance.
bind 127.0.0.1
port $redis_port
protected-mode yes
dir $abs/redis
aclfile $abs/redis/users.acl
appendonly yes
appendfilename "appendonly.aof"
# always: Redis writes and fsyncs each event loop's commands before it
# replies, so an acked step survives kill -9 of Redis and a power cut.
# everysec does not even survive kill -9 when the disk is busy: while a
# background fsync runs, Redis postpones its write up to 2 s but still
# replies (docs/reliability.md, "The limits").
appendfsync always
aof-use-rdb-preamble yes
# A referral's records (a questionnaire's answers, the matcher's reason in
# French) hold values of 100-200 bytes: over the default 64 each record
# becomes a hash table, ~2.5 times its listpack's size (BENCHMARKS.md).
hash-max-listpack-value 256
save ""
daemonize no
logfile ""
CONF

cat > "$dir/tremplin.conf" <<CONF
# Generated by deploy/setup.sh. Every key can be overridden by an
# environment variable TREMPLIN_<SECTION>_<KEY>, e.g. TREMPLIN_LOG_LEVEL=debug.

[redis]
host = 127.0.0.1
port = $redis_port
; each service connects as its own ACL user (its name) with this password file
password_file = $abs/secrets/%s.pass

[clock]
; business time = epoch_ms + (now - start_ms) * speed; epoch_ms = 0: real time
epoch_ms = 0
start_ms = 0
speed = 1

[log]
level = info

[bus]
; the secret of derived ids (referral, person, message ids): the same file on
; every host of the deployment, mode 600
id_key_file = $abs/secrets/ids.key
territories = 42
window = 256
ack_timeout_ms = 1000
retry_max_ms = 8000
lease_ms = 30000
max_tries = 12
; the bus registry: the CURVE keys of operators (tremplin operator add) and of
; the services (each makes its own at first start); the command endpoints let
; in only these keys, each for the commands of its role (docs/operations.md)
keys_dir = $abs/keys

[tool]
; the operator key the tool uses (TREMPLIN_KEY in the environment wins): the local
; administrator's, a coordinator made by setup.sh
key = $abs/keys/operator-secrets/admin.key_secret

[intake]
; a stable name: a restarted instance resumes its own unacknowledged messages
; at once (a second instance on the same host sets TREMPLIN_INTAKE_INSTANCE)
instance = intake-1
; server key, branch registry (public keys = the ZAP allowlist), branch secrets
curve_dir = $abs/curve
; branch systems connect here with CURVE
branch_bind = tcp://127.0.0.1:$((base + 6))

[matcher]
instance = matcher-1
; workshop kinds, questionnaire, levels, pathways (JSON; SIGHUP reloads it)
catalogue = $abs/catalogue.json

[scheduler]
instance = scheduler-1
; weekly slots, one-off sessions, holidays, closures (JSON; SIGHUP reloads it)
timetable = $abs/timetable.json
; business durations: no booking later than notice_min before a start, a person
; may cancel until cutoff_hours before, an offer holds its seat offer_hours
notice_min = 120
cutoff_hours = 24
offer_hours = 24
; a trainer may correct attendance until correct_hours after the session's end
correct_hours = 72

[survey]
instance = survey-1
; answers are accepted until window_days after the session; an unanswered
; invitation is reminded once after remind_hours, then closed at the window's end
window_days = 30
remind_hours = 72
; kiosks in the offices connect here with CURVE (tremplin kiosk add)
kiosk_dir = $abs/kiosk
kiosk_bind = tcp://127.0.0.1:$((base + 10))

[reporter]
instance = reporter-1
; the dashboard, /metrics and the JSON API (loopback: put a proxy in front to
; show it elsewhere)
http_bind = 127.0.0.1
http_port = $((base + 7))
; exports for publication hide counts below this (1 to suppress_below - 1)
suppress_below = 5
; the capacity outlook warns when a person referred today would wait longer
wait_warn_days = 28

[gateway]
instance = gateway-1
; spool: one file per SMS in spool_dir (the demo, the tests, a local modem's
; software); http: an SMS provider's API (http_url, http_auth_header_file …)
channel = spool
spool_dir = $abs/spool
; incoming SMS, one file each (the provider's callback writes them here too)
inbox_dir = $abs/spool/inbox
; the producers whose notify streams carry jobs for the gateway
streams = scheduler, survey
; no SMS between quiet_from and quiet_until (local time) nor on closed_days
quiet_from = 20:00
quiet_until = 08:30
closed_days = sun
; the provider's callback for incoming SMS (loopback), and its secret
callback_bind = 127.0.0.1:$((base + 9))
callback_secret_file = $abs/secrets/callback.secret

[retention]
; how long each category of personal data is kept (business days), then
; deleted by the daily purges, which keep the pseudonymous facts the figures
; need (docs/operations.md, "Privacy"). Erasing one person at once:
; tremplin person erase.
; contact details (name, phone, address, birth year), after the last referral
contact_days = 730
; survey comments (free text), after they came
comments_days = 365
; who was booked into which session (rosters, the bookings' person), after
; the session; the per-person counts the figures need stay
attendance_days = 1095
; SMS texts received, spool files, the phone sets replies are matched by,
; after their last use
sms_days = 90
; the audit trail: who sent which command, who read whose personal data (tremplin audit)
audit_days = 365

[season]
; the demo season (\`tremplin season\`, played by \`make demo\`): how many people
; are referred over how many weeks (ending this week), and how they behave,
; in percent. Keys: people, weeks, improvement_pct, budget_pct,
; autonomous_pct, no_mobile_pct, no_consent_pct, noshow_pct, excused_pct,
; cancel_pct, decline_pct, survey_answer_pct, very_satisfied_pct,
; wants_more_pct, holiday_week, absence_week — what each means and its
; default: README.md, "The demo season: what you see". Set one here to
; change it, e.g.
; people = 500

[endpoints]
intake = tcp://127.0.0.1:$((base + 1))
intake_branch = tcp://127.0.0.1:$((base + 6))
survey_kiosk = tcp://127.0.0.1:$((base + 10))
matcher = tcp://127.0.0.1:$((base + 2))
scheduler = tcp://127.0.0.1:$((base + 3))
survey = tcp://127.0.0.1:$((base + 4))
reporter = tcp://127.0.0.1:$((base + 5))
intake_events = tcp://127.0.0.1:$((base + 11))
matcher_events = tcp://127.0.0.1:$((base + 12))
scheduler_events = tcp://127.0.0.1:$((base + 13))
survey_events = tcp://127.0.0.1:$((base + 14))
reporter_events = tcp://127.0.0.1:$((base + 15))
gateway = tcp://127.0.0.1:$((base + 8))
gateway_events = tcp://127.0.0.1:$((base + 17))
CONF

# The local administrator's operator key (a coordinator: every operator
# command of the territory), so that `make demo` and the README's commands
# work; other people get their own (tremplin operator add). Made with the
# tool ($TREMPLIN_BIN, else the build's), which writes the bus registry.
bin=${TREMPLIN_BIN:-$(dirname "$0")/../build/bin/tremplin}
if [ ! -s "$dir/keys/operator-secrets/admin.key_secret" ]; then
    if [ -x "$bin" ]; then
        "$bin" -c "$dir/tremplin.conf" operator add admin --role coordinator --name "Administration locale" >/dev/null
    else
        echo "setup.sh: no tremplin tool at $bin: make the administrator's key with" \
             "'tremplin operator add admin --role coordinator --name ...'" >&2
    fi
fi
