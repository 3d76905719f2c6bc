#!/usr/bin/env bash
# Installs the tools the tests use when they are missing, quietly and idempotently:
# - promtool and prometheus (Debian package `prometheus`): `promtool check metrics` on the daemon's
#   output; rule checks and rule unit tests of deploy/prometheus; the end-to-end test against a
#   real Prometheus (tests/deploy.rs).
# - prometheus-alertmanager (Debian package of that name): the end-to-end test shows the daemon's
#   own alert push arriving at a real Alertmanager.
# - systemd-analyze (Debian package `systemd`): `verify` and `security` on deploy/systemd.
# The tests fail in CI (CI set) when one is missing, rather than skip.
set -euo pipefail

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else
        echo "need root to run: $*" >&2; return 1; fi
}

missing=()
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    missing+=(prometheus)
fi
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    missing+=(prometheus-alertmanager)
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
    missing+=(systemd)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages may start their servers; the tests start their own, on their own ports.
    as_root systemctl stop prometheus prometheus-alertmanager >/dev/null 2>&1 || true
fi
