#!/usr/bin/env bash
# Runs every test of the project, as CI does (.ci/run calls exactly this).
# It installs what the tests need when it is missing; nothing has to be set up by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-tools.sh
scripts/install-moto.sh      # moto, the AWS emulator of tests/aws_moto.rs
scripts/install-cfn-lint.sh  # cfn-lint, which checks deploy/events/ (tests/deploy_events.rs)
scripts/install-schemas.sh   # SARIF and CI schemas of tests/preflight.rs

echo "== format"
cargo fmt --all -- --check

echo "== core without the AWS feature (the evaluation core must not need it)"
cargo test --locked --no-default-features --lib

echo "== lints"
cargo clippy --locked --all-targets -- -D warnings

echo "== all tests"
cargo test --locked --all-targets
