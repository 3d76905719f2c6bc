#!/usr/bin/env bash
# Installs moto's server (a local AWS emulator) for tests/aws_moto.rs when no Python has it,
# quietly and idempotently: into a venv at target/moto-venv, where the test looks first (then
# MRAP_AUDITOR_PYTHON, then python3). Needs only python3 and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

# The version range tests/support/moto_server.py's one patch was written against.
spec='moto[server]>=5.2,<5.3'
check='import moto, moto.server, flask, flask_cors'

for python in "${MRAP_AUDITOR_PYTHON:-}" target/moto-venv/bin/python3 python3; do
    if [ -n "$python" ] && "$python" -c "$check" >/dev/null 2>&1; then
        exit 0
    fi
done

echo "== installing $spec into target/moto-venv (tests/aws_moto.rs)"
if python3 -m venv target/moto-venv >/dev/null 2>&1; then
    target/moto-venv/bin/python3 -m pip install --quiet --disable-pip-version-check "$spec"
else
    # No venv module (Debian without python3-venv): the user's site-packages instead.
    python3 -m pip install --quiet --disable-pip-version-check --user "$spec"
fi
