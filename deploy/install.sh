#!/bin/sh
# Installs Tremplin on a Debian 12 host with systemd: the binaries, the
# instance folder (deploy/setup.sh) with private modes, the host's
# configuration file, the units, then starts Redis, loads the function
# libraries and starts the services. Idempotent: a re-run keeps the secrets
# and the host's /etc/tremplin/tremplin.conf, and puts modes and owners back.
#
#   deploy/install.sh [--root DIR] [--bin DIR] [--redis-port P] [--base-port P] [--no-start]
#
#   --root DIR     install into DIR instead of / (DESTDIR: a package, an
#                  image, a test): no user is created, no owner changed,
#                  nothing started; the files name their final paths
#   --bin DIR      where the built binaries are (build/bin)
#   --redis-port P Redis's port (6390); --base-port P: services on P+1.. (6390)
#   --no-start     install, but do not start or enable anything
#
# Layout (docs/operations.md):
#   /usr/local/bin/tremplin, tremplin-<service>       the binaries
#   /etc/tremplin/tremplin.conf                        the host's configuration (0640 root:tremplin)
#   /etc/tremplin/<service>.env                        optional overrides per service
#   /var/lib/tremplin/                      0711 tremplin   (Redis must reach redis/ inside)
#   /var/lib/tremplin/redis/                0700 redis      redis.conf, users.acl, the AOF
#   /var/lib/tremplin/secrets/              0700 tremplin   passwords, ids.key, callback.secret
#   /var/lib/tremplin/curve, kiosk, spool/  0700 tremplin   written by intake, survey, gateway
#   /var/lib/tremplin/keys/                 0700 tremplin   the bus registry: operators' and services' keys
#   /etc/systemd/system/tremplin@.service, tremplin@<service>.service.d/, tremplin-redis.service
set -eu
umask 077

src=$(cd "$(dirname "$0")/.." && pwd)
root=""
bin="$src/build/bin"
redis_port=6390
base_port=6390
start=1
while [ $# -gt 0 ]; do
    case $1 in
        --root) root=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --redis-port) redis_port=$2; shift 2 ;;
        --base-port) base_port=$2; shift 2 ;;
        --no-start) start=0; shift ;;
        *) echo "usage: $0 [--root DIR] [--bin DIR] [--redis-port P] [--base-port P] [--no-start]" >&2; exit 2 ;;
    esac
done

services="intake matcher scheduler survey reporter gateway"
say() { echo "install: $*"; }

if [ -n "$root" ]; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
    [ "$root" != / ] || root=""
fi
real=0
[ -n "$root" ] || real=1
if [ "$real" = 1 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install: run as root (or with --root DIR)" >&2
    exit 1
fi
for b in tremplin $(for s in $services; do echo "tremplin-$s"; done); do
    [ -x "$bin/$b" ] || { echo "install: $bin/$b missing: run make first" >&2; exit 1; }
done

data=/var/lib/tremplin
etc=/etc/tremplin

# ------------------------------------------------------------------ users
# tremplin runs the services; redis (the Debian package's user) runs Redis
if [ "$real" = 1 ]; then
    getent passwd redis >/dev/null || { echo "install: no user redis: install redis-server first (deploy/deps.sh)" >&2; exit 1; }
    if ! getent passwd tremplin >/dev/null; then
        useradd --system --home-dir "$data" --no-create-home --shell /usr/sbin/nologin tremplin
        say "user tremplin created"
    fi
fi

# ---------------------------------------------------------------- binaries
install -d -m 755 "$root/usr/local/bin"
for b in tremplin $(for s in $services; do echo "tremplin-$s"; done); do
    install -m 755 "$bin/$b" "$root/usr/local/bin/$b"
done
say "binaries in $root/usr/local/bin"

# --------------------------------------------------------- instance folder
mkdir -p "$root$data"
TREMPLIN_BIN="$bin/tremplin" "$src/deploy/setup.sh" "$root$data" "$redis_port" "$base_port"
if [ -n "$root" ]; then
    # setup.sh wrote the paths it was given; the host will see them without
    # the --root prefix
    for f in "$root$data/tremplin.conf" "$root$data/redis/redis.conf"; do
        sed "s|$root$data|$data|g" "$f" > "$f.tmp" && mv "$f.tmp" "$f"
    done
fi
install -d -m 700 "$root$data/curve" "$root$data/kiosk" "$root$data/spool" "$root$data/spool/inbox"
# private, but the redis user must traverse it to reach redis/
chmod 711 "$root$data"
chmod 700 "$root$data/redis" "$root$data/secrets"
if [ "$real" = 1 ]; then
    chown -R tremplin:tremplin "$data"
    chown -R redis:redis "$data/redis"
fi

# ------------------------------------------------- the host's configuration
install -d -m 750 "$root$etc"
if [ ! -f "$root$etc/tremplin.conf" ]; then
    install -m 640 "$root$data/tremplin.conf" "$root$etc/tremplin.conf"
    say "configuration $etc/tremplin.conf written"
elif ! cmp -s "$root$data/tremplin.conf" "$root$etc/tremplin.conf"; then
    say "$etc/tremplin.conf kept (yours); the generated one is $data/tremplin.conf"
fi
if [ "$real" = 1 ]; then
    chown root:tremplin "$etc" "$etc/tremplin.conf"
fi

# ------------------------------------------------------------------- units
units="$root/etc/systemd/system"
install -d -m 755 "$units"
install -m 644 "$src/deploy/systemd/tremplin@.service" "$src/deploy/systemd/tremplin-redis.service" "$units/"
for d in "$src"/deploy/systemd/*.service.d; do
    install -d -m 755 "$units/$(basename "$d")"
    install -m 644 "$d"/*.conf "$units/$(basename "$d")/"
done
say "units in $units"

if [ "$real" = 0 ] || [ "$start" = 0 ]; then
    say "done (nothing started)"
    exit 0
fi

# ------------------------------------------------------------------- start
systemctl daemon-reload
# Type=notify: returns once Redis has loaded its data and accepts clients
systemctl enable --now tremplin-redis.service
# the function libraries, as the Redis admin (again after every upgrade)
TREMPLIN_CONF="$etc/tremplin.conf" /usr/local/bin/tremplin functions load
for s in $services; do
    systemctl enable --now "tremplin@$s.service"
done
say "started; check with: sudo -u tremplin TREMPLIN_CONF=$etc/tremplin.conf tremplin ping"
