//! The daemon as operators run it: the real binary on a temporary copy of the bundled example,
//! with sub-second intervals, scraped over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]
// It runs the daemon (`mrap-auditor run`).
#![cfg(feature = "runtime")]

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{APP, B1, Daemon, fake_alertmanager, sample, set_bucket1_policy, wait_for, which};

fn example(extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    support::daemon_example("200ms", extra)
}

fn start(config: &Path) -> Daemon {
    Daemon::start(config, &[])
}

fn holds(d: &Daemon, bucket: &str) -> Option<f64> {
    sample(&d.metrics(), "mrap_auditor_expectation_holds", &[("expectation", APP), ("bucket", bucket)])
}

fn ready(d: &Daemon) -> bool {
    d.get("/readyz").0 == 200
}

#[test]
fn serves_metrics_report_and_reacts_to_policy_changes() {
    let (dir, config) = example("");
    let d = start(&config);
    let (status, _) = d.get("/healthz");
    assert_eq!(status, 200);
    wait_for("the first cycle", Duration::from_secs(10), || ready(&d));
    assert_eq!(holds(&d, B1), Some(0.0), "the seed's bucket 1 denies");
    let (status, body) = d.get("/api/v1/report");
    assert_eq!(status, 200);
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["expectations"][0]["verdict"], "intermittent");
    let (status, page) = d.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("app-reads-reports") && page.contains("violated"), "{page}");

    // Fix the policy on disk: within two intervals the verdict flips and is counted.
    set_bucket1_policy(dir.path(), true);
    wait_for("the verdict to flip", Duration::from_secs(5), || holds(&d, B1) == Some(1.0));
    let metrics = d.metrics();
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
    std::fs::write(
        dir.path().join("snapshots/example/s3/get-bucket-policy/doc-examplebucket1.json"),
        "{\"Policy\": \"{not json",
    )
    .unwrap();
    wait_for("unknown", Duration::from_secs(5), || {
        sample(&d.metrics(), "mrap_auditor_expectation_unknown", &[("expectation", APP)]) == Some(1.0)
    });
    let metrics = d.metrics();
    assert_eq!(holds(&d, B1), None, "no holds sample for an unknown bucket:\n{metrics}");
    assert!(sample(&metrics, "mrap_auditor_findings", &[("code", "unreadable-input")]).is_some());

    let (status, body) = d.get("/api/v1/history?expect=app-reads-reports");
    assert_eq!(status, 200);
    let history: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<&str> = history["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"verdict_change"), "{kinds:?}");

    let (code, took) = d.stop();
    assert_eq!(code, Some(0), "exit 0 on SIGTERM");
    assert!(took < Duration::from_secs(10));
}

#[test]
fn history_survives_restart_and_kill_9() {
    let (dir, config) = example("");
    let d = start(&config);
    wait_for("the first cycle", Duration::from_secs(10), || ready(&d));
    set_bucket1_policy(dir.path(), true);
    wait_for("the verdict to flip", Duration::from_secs(5), || holds(&d, B1) == Some(1.0));
    // kill -9 while cycles are running (every 200 ms): the database must stay consistent.
    std::thread::sleep(Duration::from_millis(330));
    d.signal("KILL");
    drop(d);

    let d = start(&config);
    wait_for("a cycle after restart", Duration::from_secs(10), || ready(&d));
    // Drift is measured against the last state seen before the kill: no spurious flip.
    std::thread::sleep(Duration::from_millis(500));
    let metrics = d.metrics();
    assert_eq!(sample(&metrics, "mrap_auditor_verdict_changes_total", &[("expectation", APP)]), None, "{metrics}");
    let (code, _) = d.stop();
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
    wait_for("the first cycle", Duration::from_secs(10), || ready(&d));
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}\n[[expect]]\nname = \"broken\"\n")).unwrap();
    d.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut rejected = false;
    while Instant::now() < deadline && !rejected {
        if let Ok(line) = d.logs.recv_timeout(Duration::from_millis(100)) {
            rejected = line.contains("New configuration rejected");
        }
    }
    assert!(rejected, "a bad configuration is logged and refused");
    assert_eq!(d.get("/healthz").0, 200, "still running");

    let extra = good.replace("name = \"anonymous-cannot-read\"", "name = \"anonymous-cannot-read-2\"");
    let second = &extra[extra.find("# Anonymous").unwrap()..];
    std::fs::write(&config, format!("{good}\n{second}")).unwrap();
    d.signal("HUP");
    wait_for("the new expectation", Duration::from_secs(5), || {
        d.get("/api/v1/report").1.contains("anonymous-cannot-read-2")
    });
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
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
    set_bucket1_policy(dir.path(), true);
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
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn a_down_alertmanager_never_stalls_the_loop() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_dir, config) = example(&format!("\n[alertmanager]\nurl = \"http://127.0.0.1:{port}\"\n"));
    let d = start(&config);
    let cycles = |d: &Daemon| sample(&d.metrics(), "mrap_auditor_cycles_total", &[("outcome", "ok")]).unwrap_or(0.0);
    wait_for("ten cycles", Duration::from_secs(10), || cycles(&d) >= 10.0);
    let (code, _) = d.stop();
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
    wait_for("the first cycle", Duration::from_secs(10), || ready(&d));
    let metrics = d.metrics();
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
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}
