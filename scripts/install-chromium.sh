#!/usr/bin/env bash
# Installs Debian's `chromium` when it is missing, quietly and idempotently: the status-page tests
# (tests/page_browser.rs) drive it headless against the daemon (`--dump-dom`, `--screenshot`).
# In CI (CI set) the tests fail when the browser is missing, rather than skip.
set -euo pipefail

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else
        echo "need root to run: $*" >&2; return 1; fi
}

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
