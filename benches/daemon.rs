//! The daemon's memory and cycle cost: the real binary on the bundled example with a 1 ms
//! interval, RSS read from /proc after 100, 1,000 and 2,000 cycles. Goal: under 40 MB, no growth.
//! Run with `cargo bench --bench daemon`; prints the figures for the README.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "benchmarks")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)
        } else {
            std::fs::copy(entry.path(), target).map(|_| ()).unwrap()
        }
    }
}

fn metric(port: u16, name: &str) -> f64 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

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
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"), dir.path());
    let config = dir.path().join("mrap-auditor.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("interval = \"5m\"", "interval = \"1ms\"\njitter = 0.0")
        .replace("127.0.0.1:9898", "127.0.0.1:0")
        .replace("../state/mrap-auditor.db", "state/h.db");
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["run", "--log-format", "json", "--log-level", "warn,mrap_auditor::daemon=info", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "Listening." {
            break v["fields"]["address"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let checkpoints: &[f64] = if bench_mode { &[100.0, 1000.0, 2000.0] } else { &[20.0] };
    let started = Instant::now();
    let mut rows = Vec::new();
    for &target in checkpoints {
        while metric(port, "mrap_auditor_cycles_total") < target {
            assert!(started.elapsed() < Duration::from_secs(600), "cycles too slow");
            std::thread::sleep(Duration::from_millis(20));
        }
        rows.push((target, rss_kb(child.id())));
    }
    let sum = metric(port, "mrap_auditor_poll_duration_seconds_sum");
    let count = metric(port, "mrap_auditor_poll_duration_seconds_count");
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    for (cycles, rss) in &rows {
        println!("daemon RSS after {cycles:>5} cycles: {:.1} MB", *rss as f64 / 1024.0);
    }
    println!("mean cycle (capture + audit + history + metrics): {:.2} ms over {count} cycles", sum / count * 1000.0);
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        println!("growth from {} to {} cycles: {:+.1} MB", first.0, last.0, (last.1 as f64 - first.1 as f64) / 1024.0);
    }
}
