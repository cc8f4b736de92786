#!/bin/sh
# Backs up a running Tremplin instance into DEST (a new folder), without
# stopping anything and without the tremplin tool: the data as one RDB file,
# taken the way a replica takes it (Redis forks; the services go on; the
# file is the dataset at one instant, function libraries included), and the
# instance's files the data cannot be read or used without.
#
#   deploy/backup.sh INSTANCE_DIR DEST        e.g. /var/lib/tremplin /srv/backup/2026-11-30
#
# Run it as root (or the user owning INSTANCE_DIR). DEST is private (0700):
# the RDB holds names and phone numbers, secrets/ the passwords and the id key.
# docs/operations.md shows it line by line; tests/integration/test_backup.c
# runs it against running services and restores it (deploy/restore.sh).
set -eu
umask 077
inst=$1
dest=$2
port=$(awk '$1 == "port" { print $2 }' "$inst/redis/redis.conf")
mkdir -p "$dest"
# 1. the data, as the Redis admin (the password from the environment, not argv)
REDISCLI_AUTH=$(cat "$inst/secrets/admin.pass") redis-cli --user admin -p "$port" --rdb "$dest/dump.rdb"
# 2. what the data needs: the passwords and ACL it was written under, the id
#    key (ids derived after a restore must match those before), the CURVE keys
#    of intake, branches, kiosks, operators and services, the catalogue, the
#    timetable, the config
#    (curve/, kiosk/ and keys/ once made)
set -- secrets redis/users.acl catalogue.json timetable.json tremplin.conf
for d in curve kiosk keys; do [ ! -e "$inst/$d" ] || set -- "$@" "$d"; done
tar -C "$inst" -cf "$dest/instance.tar" "$@"
echo "backup: $dest/dump.rdb $dest/instance.tar"
