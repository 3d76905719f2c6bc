#!/usr/bin/env bash
# Installs cfn-lint (PyPI) for tests/deploy_events.rs when no `cfn-lint` is on PATH, quietly and
# idempotently: into a venv at target/cfn-lint-venv, where the test looks first. Needs only
# python3 and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

spec='cfn-lint>=1.20,<2'

for lint in target/cfn-lint-venv/bin/cfn-lint "$(command -v cfn-lint || true)"; do
    if [ -n "$lint" ] && [ -x "$lint" ] && "$lint" --version >/dev/null 2>&1; then
        exit 0
    fi
done

echo "== installing $spec into target/cfn-lint-venv (tests/deploy_events.rs)"
if python3 -m venv target/cfn-lint-venv >/dev/null 2>&1; then
    target/cfn-lint-venv/bin/python3 -m pip install --quiet --disable-pip-version-check "$spec"
else
    # No venv module (Debian without python3-venv): the user's site-packages instead.
    python3 -m pip install --quiet --disable-pip-version-check --user "$spec"
fi
