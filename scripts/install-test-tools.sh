#!/usr/bin/env bash
# Installs the tools the tests use when they are missing, quietly and idempotently:
# - promtool (Debian package `prometheus`): `promtool check metrics` on the daemon's output, and
#   (deploy/prometheus) rule checks and rule unit tests.
set -euo pipefail

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else
        echo "need root to run: $*" >&2; return 1; fi
}

if ! command -v promtool >/dev/null 2>&1; then
    echo "== installing promtool (Debian package prometheus)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # The package may start a Prometheus server; the tests start their own.
    as_root systemctl stop prometheus >/dev/null 2>&1 || true
fi
