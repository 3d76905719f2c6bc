#!/usr/bin/env bash
# The whole-process benchmarks (benches/process.rs) on the release binary, as users run it:
# `check` on 1,000 … 10,000 expectations × 5 buckets (the curve, checked linear) and
# `eval --jsonl` side by side with @cloud-copilot/iam-simulate (installed from npm into
# target/iam-simulate by scripts/install-iam-simulate.sh), in one run.
#
#   scripts/bench.sh                       # builds the release binary first
#   MRAP_AUDITOR_BIN=path/to/bin scripts/bench.sh   # another binary (e.g. an older build)
#   scripts/bench.sh eval                  # one part only: `check` or `eval`
#
# The criterion benchmarks of the library stay `cargo bench --bench eval|audit|daemon`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MRAP_AUDITOR_BIN:-}" ]; then
    cargo build --release --locked --bin mrap-auditor
    export MRAP_AUDITOR_BIN="$PWD/target/release/mrap-auditor"
fi
scripts/install-iam-simulate.sh
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The harness itself only writes files and spawns processes: its debug build (warm in target/
# from `cargo test`) measures the release binary just as well, without a bench-profile build of
# every dependency.
cargo test --locked --bench process -- --bench "$@"
