#!/bin/sh
# Installs the Debian 12 packages Tremplin builds, tests and runs with.
# Idempotent: installs only what is missing. `--check` installs nothing and
# names each missing package (exit 1), so a missing package is never first
# seen as a compiler error. The gateway prints with cairo + pango and the
# DejaVu fonts and talks to an SMS provider with libcurl; poppler-utils
# (pdftotext, pdfinfo) is for the tests that read its PDFs back.
set -eu

PACKAGES="build-essential pkg-config clang libclang-rt-14-dev
libzmq3-dev libczmq-dev libsodium-dev
libprotobuf-c-dev protobuf-c-compiler
libhiredis-dev redis-server redis-sentinel redis-tools
libcmocka-dev libjson-c-dev libinih-dev libcsv-dev libglib2.0-dev
libcairo2-dev libpango1.0-dev fonts-dejavu-core libcurl4-openssl-dev poppler-utils
libmicrohttpd-dev prometheus chromium
libsystemd-dev systemd docker-compose iproute2"

# The services tell systemd they are ready through libsystemd's sd_notify;
# the deployment tests check the units with systemd-analyze (package systemd)
# and deploy/compose.yaml with docker-compose (no engine is needed).
# redis-sentinel: Redis high availability (tests/integration/test_ha.c runs
# three Sentinels with Debian's binary; docs/operations.md).
# make demo checks with ss (iproute2) that no other stack holds its ports.
# The reporter serves HTTP with libmicrohttpd; its tests check /metrics with
# promtool (package prometheus) and drive the dashboard in Debian's chromium
# through playwright-core (npm, pinned in tests/browser/package-lock.json:
# `make browser-deps`). Node and npm: Debian's, unless a node with npm is
# there already (a newer one from elsewhere conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ "${1:-}" = "--check" ]; then
    if [ -n "$missing" ]; then
        echo "missing Debian packages:$missing" >&2
        echo "install them with: make deps   (as root)" >&2
        exit 1
    fi
    exit 0
fi

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: run as root to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
