#!/usr/bin/env bash
# Fails when the core build pulls in a crate of the runtime or of the AWS source: the core
# (`--no-default-features`) must build without an async runtime, HTTP, SQLite, Prometheus, log
# subscribers or the AWS SDK (issue 12; Cargo.toml's `[features]` say which feature brings which).
# scripts/test.sh runs it; it needs no network (`--offline`) and no build.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(tokio(-[a-z0-9-]+)?|axum(-[a-z0-9-]+)?|hyper(-[a-z0-9-]+)?|rusqlite|reqwest|prometheus|tracing-subscriber|aws-[a-z0-9-]+) v'
tree=$(cargo tree --locked --offline --no-default-features -e normal --prefix none)
found=$(grep -E "$forbidden" <<<"$tree" | sed 's/ (\*)$//' | sort -u || true)
if [ -n "$found" ]; then
    echo "error: the core's dependency tree (cargo tree --no-default-features -e normal) holds:" >&2
    sed 's/^/  /' <<<"$found" >&2
    echo "make them optional and enable them from the \`runtime\` or \`aws\` feature" >&2
    echo "(\`cargo tree --no-default-features -e normal -i CRATE\` shows who brings one in)" >&2
    exit 1
fi
echo "the core's dependency tree: $(sort -u <<<"$tree" | wc -l) crates, none of the runtime or the AWS SDK"
