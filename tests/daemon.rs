//! The daemon as operators run it: the real binary on a temporary copy of the bundled example,
//! with sub-second intervals, scraped over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Daemon {
    child: Child,
    port: u16,
    /// Every stderr log line, in order.
    logs: mpsc::Receiver<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temporary copy of the bundled example with a fast interval and a port of its own.
fn example(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"), dir.path());
    let config = dir.path().join("mrap-auditor.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("interval = \"5m\"", "interval = \"200ms\"\njitter = 0.0")
        .replace("listen = \"127.0.0.1:9898\"", "listen = \"127.0.0.1:0\"")
        .replace("state = \"../state/mrap-auditor.db\"", "state = \"state/history.db\"");
    std::fs::write(&config, format!("{text}{extra}")).unwrap();
    (dir, config)
}

fn start(config: &Path) -> Daemon {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["run", "--log-format", "json", "--config"])
        .arg(config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take();
    let (tx, rx) = mpsc::channel();
    // From here on the guard kills and reaps the process, whatever happens.
    let mut daemon = Daemon { child, port: 0, logs: rx };
    std::thread::spawn(move || {
        let Some(stderr) = stderr else { return };
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Ok(line) = daemon.logs.recv_timeout(Duration::from_millis(200)) else { continue };
        seen.push(line.clone());
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "Listening." {
            let address = v["fields"]["address"].as_str().unwrap();
            daemon.port = address.rsplit(':').next().unwrap().parse().unwrap();
            return daemon;
        }
    }
    panic!("the daemon did not start listening:\n{}", seen.join("\n"));
}

fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0);
    // Bodies may be chunked; the tests only look for substrings and JSON objects in them.
    (status, dechunk(head, body))
}

fn dechunk(head: &str, body: &str) -> String {
    if !head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// The value of the metric sample with exactly these labels, if present.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
        if n != name {
            return None;
        }
        let all = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        all.then(|| value.parse().ok()).flatten()
    })
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

const APP: &str = "app-reads-reports";
const B1: &str = "doc-examplebucket1";

fn holds(port: u16, bucket: &str) -> Option<f64> {
    sample(&get(port, "/metrics").1, "mrap_auditor_expectation_holds", &[("expectation", APP), ("bucket", bucket)])
}

fn bucket1_policy(dir: &Path) -> PathBuf {
    dir.join("snapshots/example/s3/get-bucket-policy/doc-examplebucket1.json")
}

fn fix_bucket1(dir: &Path) {
    let file = bucket1_policy(dir);
    let body =
        std::fs::read_to_string(&file).unwrap().replace(r#"doc-examplebucket1\"]"#, r#"doc-examplebucket1/*\"]"#);
    // Write then rename, as a capture would: the daemon never reads half a file.
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(tmp, file).unwrap();
}

fn stop(mut d: Daemon) -> (Option<i32>, Duration) {
    let started = Instant::now();
    unsafe_kill(d.child.id(), "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = d.child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        assert!(Instant::now() < deadline, "the daemon did not exit within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    let ok = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
    assert!(ok.success());
}

#[test]
fn serves_metrics_report_and_reacts_to_policy_changes() {
    let (dir, config) = example("");
    let d = start(&config);
    let (status, _) = get(d.port, "/healthz");
    assert_eq!(status, 200);
    wait_for("the first cycle", Duration::from_secs(10), || get(d.port, "/readyz").0 == 200);
    assert_eq!(holds(d.port, B1), Some(0.0), "the seed's bucket 1 denies");
    let (status, body) = get(d.port, "/api/v1/report");
    assert_eq!(status, 200);
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["expectations"][0]["verdict"], "intermittent");
    let (status, page) = get(d.port, "/");
    assert_eq!(status, 200);
    assert!(page.contains("app-reads-reports") && page.contains("violated"), "{page}");

    // Fix the policy on disk: within two intervals the verdict flips and is counted.
    fix_bucket1(dir.path());
    wait_for("the verdict to flip", Duration::from_secs(5), || holds(d.port, B1) == Some(1.0));
    let metrics = get(d.port, "/metrics").1;
    assert_eq!(
        sample(
            &metrics,
            "mrap_auditor_verdict_changes_total",
            &[("expectation", APP), ("from", "intermittent"), ("to", "allow")]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "mrap_auditor_policy_changes_total", &[("resource", "arn:aws:s3:::doc-examplebucket1")]),
        Some(1.0)
    );

    // Break the file: unknown, and no stale `holds` sample for that bucket.
    std::fs::write(bucket1_policy(dir.path()), "{\"Policy\": \"{not json").unwrap();
    wait_for("unknown", Duration::from_secs(5), || {
        sample(&get(d.port, "/metrics").1, "mrap_auditor_expectation_unknown", &[("expectation", APP)]) == Some(1.0)
    });
    let metrics = get(d.port, "/metrics").1;
    assert_eq!(holds(d.port, B1), None, "no holds sample for an unknown bucket:\n{metrics}");
    assert!(sample(&metrics, "mrap_auditor_findings", &[("code", "unreadable-input")]).is_some());

    let (status, body) = get(d.port, "/api/v1/history?expect=app-reads-reports");
    assert_eq!(status, 200);
    let history: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<&str> = history["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"verdict_change"), "{kinds:?}");

    let (code, took) = stop(d);
    assert_eq!(code, Some(0), "exit 0 on SIGTERM");
    assert!(took < Duration::from_secs(10));
}

#[test]
fn history_survives_restart_and_kill_9() {
    let (dir, config) = example("");
    let d = start(&config);
    wait_for("the first cycle", Duration::from_secs(10), || get(d.port, "/readyz").0 == 200);
    fix_bucket1(dir.path());
    wait_for("the verdict to flip", Duration::from_secs(5), || holds(d.port, B1) == Some(1.0));
    // kill -9 while cycles are running (every 200 ms): the database must stay consistent.
    std::thread::sleep(Duration::from_millis(330));
    unsafe_kill(d.child.id(), "KILL");
    drop(d);

    let d = start(&config);
    wait_for("a cycle after restart", Duration::from_secs(10), || get(d.port, "/readyz").0 == 200);
    // Drift is measured against the last state seen before the kill: no spurious flip.
    std::thread::sleep(Duration::from_millis(500));
    let metrics = get(d.port, "/metrics").1;
    assert_eq!(sample(&metrics, "mrap_auditor_verdict_changes_total", &[("expectation", APP)]), None, "{metrics}");
    let (code, _) = stop(d);
    assert_eq!(code, Some(0));

    let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["history", "--expect", APP, "--format", "json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h["current"][0]["verdict"], "allow");
    assert!(h["current"][0]["since"].is_string(), "{h}");
    let events = h["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["kind"] == "verdict_change" && e["from"] == "intermittent" && e["to"] == "allow"),
        "{h}"
    );
    assert_eq!(
        events.iter().filter(|e| e["kind"] == "first_seen").count(),
        1,
        "first seen once, not again after the restart"
    );

    let text =
        Command::new(env!("CARGO_BIN_EXE_mrap-auditor")).args(["history", "--config"]).arg(&config).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("app-reads-reports: allow (holds) since"), "{text}");
    let db = dir.path().join("state/history.db");
    let check = rusqlite_integrity(&db);
    assert_eq!(check, "ok");
}

fn rusqlite_integrity(db: &Path) -> String {
    let h = mrap_auditor::history::History::open_read_only(db).unwrap();
    h.integrity().unwrap()
}

#[test]
fn reload_keeps_the_old_config_when_the_new_one_is_bad() {
    let (_dir, config) = example("");
    let d = start(&config);
    wait_for("the first cycle", Duration::from_secs(10), || get(d.port, "/readyz").0 == 200);
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}\n[[expect]]\nname = \"broken\"\n")).unwrap();
    unsafe_kill(d.child.id(), "HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut rejected = false;
    while Instant::now() < deadline && !rejected {
        if let Ok(line) = d.logs.recv_timeout(Duration::from_millis(100)) {
            rejected = line.contains("New configuration rejected");
        }
    }
    assert!(rejected, "a bad configuration is logged and refused");
    assert_eq!(get(d.port, "/healthz").0, 200, "still running");

    let extra = good.replace("name = \"anonymous-cannot-read\"", "name = \"anonymous-cannot-read-2\"");
    let second = &extra[extra.find("# Anonymous").unwrap()..];
    std::fs::write(&config, format!("{good}\n{second}")).unwrap();
    unsafe_kill(d.child.id(), "HUP");
    wait_for("the new expectation", Duration::from_secs(5), || {
        get(d.port, "/api/v1/report").1.contains("anonymous-cannot-read-2")
    });
    let (code, _) = stop(d);
    assert_eq!(code, Some(0));
}

/// A fake Alertmanager that records every POST body.
fn fake_alertmanager() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut line = String::new();
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap_or(0);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if request_line.starts_with("POST /api/v2/alerts") {
                let _ = tx.send(String::from_utf8_lossy(&body).to_string());
            }
        }
    });
    (port, rx)
}

#[test]
fn pushes_alerts_and_resolves_them() {
    let (am_port, pushes) = fake_alertmanager();
    let (dir, config) = example(&format!("\n[alertmanager]\nurl = \"http://127.0.0.1:{am_port}\"\n"));
    let d = start(&config);
    let first = pushes.recv_timeout(Duration::from_secs(10)).expect("an alert push");
    let alerts: serde_json::Value = serde_json::from_str(&first).unwrap();
    let a = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "MrapAuditorExpectationViolated")
        .unwrap();
    assert_eq!(a["labels"]["expectation"], APP);
    assert_eq!(a["labels"]["bucket"], B1);
    assert_eq!(a["labels"]["severity"], "critical");
    assert!(a["annotations"]["description"].as_str().unwrap().contains("does not match"));
    fix_bucket1(dir.path());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut resolved = false;
    while Instant::now() < deadline && !resolved {
        if let Ok(body) = pushes.recv_timeout(Duration::from_millis(200)) {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            resolved = v
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["labels"]["bucket"] == B1 && a["annotations"]["summary"] == "resolved");
        }
    }
    assert!(resolved, "the alert is resolved when the verdict returns");
    let (code, _) = stop(d);
    assert_eq!(code, Some(0));
}

#[test]
fn a_down_alertmanager_never_stalls_the_loop() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_dir, config) = example(&format!("\n[alertmanager]\nurl = \"http://127.0.0.1:{port}\"\n"));
    let d = start(&config);
    let cycles = |d: &Daemon| {
        sample(&get(d.port, "/metrics").1, "mrap_auditor_cycles_total", &[("outcome", "ok")]).unwrap_or(0.0)
    };
    wait_for("ten cycles", Duration::from_secs(10), || cycles(&d) >= 10.0);
    let (code, _) = stop(d);
    assert_eq!(code, Some(0));
}

#[test]
fn metrics_pass_promtool() {
    let Some(promtool) = which("promtool") else {
        assert!(
            std::env::var("CI").is_err(),
            "promtool is missing in CI: scripts/test.sh installs the Debian `prometheus` package"
        );
        eprintln!("skipped: promtool not installed (scripts/test.sh installs it)");
        return;
    };
    let (_dir, config) = example("");
    let d = start(&config);
    wait_for("the first cycle", Duration::from_secs(10), || get(d.port, "/readyz").0 == 200);
    let metrics = get(d.port, "/metrics").1;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, _) = stop(d);
    assert_eq!(code, Some(0));
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
}
