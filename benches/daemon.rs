//! The daemon's memory and cycle cost: the real binary on the bundled example with a 1 ms
//! interval, RSS read from /proc after 100, 1,000 and 2,000 cycles. Goal: under 40 MB, no growth.
//! Run with `cargo bench --bench daemon`; prints the figures for the README.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "benchmarks")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::{Daemon, daemon_example, sum, wait_for};

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --all-targets` lists benches; nothing to list here.
    }
    // Under `cargo test` (no `--bench`), a short run proves the bench still works.
    let checkpoints: &[f64] = if std::env::args().any(|a| a == "--bench") { &[100.0, 1000.0, 2000.0] } else { &[20.0] };
    let (_dir, config) = daemon_example("1ms", "");
    let daemon = Daemon::start(&config, &["--log-level", "warn,mrap_auditor::daemon=info"]);
    let mut rows = Vec::new();
    for &target in checkpoints {
        wait_for(&format!("{target} cycles"), Duration::from_secs(600), || {
            sum(&daemon.metrics(), "mrap_auditor_cycles_total") >= target
        });
        rows.push((target, rss_kb(daemon.child.id())));
    }
    let metrics = daemon.metrics();
    let (total, count) = (
        sum(&metrics, "mrap_auditor_poll_duration_seconds_sum"),
        sum(&metrics, "mrap_auditor_poll_duration_seconds_count"),
    );
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    for (cycles, rss) in &rows {
        println!("daemon RSS after {cycles:>5} cycles: {:.1} MB", *rss as f64 / 1024.0);
    }
    println!("mean cycle (capture + audit + history + metrics): {:.2} ms over {count} cycles", total / count * 1000.0);
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        println!("growth from {} to {} cycles: {:+.1} MB", first.0, last.0, (last.1 as f64 - first.1 as f64) / 1024.0);
    }
}
