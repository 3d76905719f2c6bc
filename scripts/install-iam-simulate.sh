#!/usr/bin/env bash
# Installs @cloud-copilot/iam-simulate, the evaluator benches/process.rs compares with, from npm
# into target/iam-simulate, quietly and idempotently. Needs node and npm (Debian: nodejs, npm).
set -euo pipefail
cd "$(dirname "$0")/.."

# The version the adapter benches/iam_simulate_jsonl.mjs was written against.
version='0.1.173'
dir=target/iam-simulate
installed=$dir/node_modules/@cloud-copilot/iam-simulate/package.json

if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm is needed to install @cloud-copilot/iam-simulate (apt-get install nodejs npm)" >&2
    exit 1
fi
echo "== installing @cloud-copilot/iam-simulate@$version into $dir (benches/process.rs)" >&2
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --silent "@cloud-copilot/iam-simulate@$version" >&2
