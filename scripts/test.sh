#!/usr/bin/env bash
# Runs every test of the project, as CI does (.ci/run calls exactly this).
# It installs what the tests need when it is missing; nothing has to be set up by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-tools.sh
scripts/install-moto.sh      # moto, the AWS emulator of tests/aws_moto.rs
scripts/install-cfn-lint.sh  # cfn-lint, which checks deploy/events/ (tests/deploy_events.rs)
scripts/install-schemas.sh   # SARIF and CI schemas of tests/preflight.rs
scripts/install-chromium.sh  # headless Chromium for the status-page tests (tests/page_browser.rs)

echo "== format"
cargo fmt --all -- --check

echo "== the core alone: no runtime, no AWS SDK (features \`runtime\` and \`aws\` off)"
scripts/check-core-deps.sh
cargo test --locked --no-default-features --lib

echo "== lints (default features, and the core alone: code under \`#[cfg(feature)]\` rots unseen)"
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked --no-default-features --all-targets -- -D warnings

echo "== all tests"
cargo test --locked --all-targets
