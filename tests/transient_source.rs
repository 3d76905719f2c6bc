//! A passing error never resolves a page (issue "Fail closed everywhere"): the real daemon on a
//! copy of the bundled example, pushing to a fake Alertmanager, while the snapshot directory is
//! moved away for (at least) two cycles and back — as when AWS throttles every read for a while.
//!
//! What must hold: the pushed `MrapAuditorExpectationViolated` alert of the seed fault is never
//! resolved (same `startsAt` throughout), the expectation is `unknown` (never its old verdict)
//! while the source is away, and the history records no verdict flip and no finding resolved
//! and new again — only `became_unknown` and `known_again`.

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

use std::process::Command;
use std::time::Duration;

use support::{APP, B1, Daemon, fake_alertmanager, sample, wait_for};

fn cycles(d: &Daemon) -> f64 {
    support::sum(&d.metrics(), "mrap_auditor_cycles_total")
}

fn unknown(d: &Daemon) -> Option<f64> {
    sample(&d.metrics(), "mrap_auditor_expectation_unknown", &[("expectation", APP)])
}

#[test]
fn a_source_away_for_two_cycles_resolves_no_page_and_churns_no_history() {
    let (am_port, pushes) = fake_alertmanager();
    let (dir, config) =
        support::daemon_example("300ms", &format!("\n[alertmanager]\nurl = \"http://127.0.0.1:{am_port}\"\n"));
    let d = Daemon::start(&config, &[]);
    let mut all = Vec::new();
    let violated_b1 = |body: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["labels"]["alertname"] == "MrapAuditorExpectationViolated" && a["labels"]["bucket"] == B1)
            .cloned()
            .collect()
    };
    let first = pushes.recv_timeout(Duration::from_secs(10)).expect("a first push");
    let fired = violated_b1(&first);
    assert_eq!(fired.len(), 1, "the seed fault pages: {first}");
    let starts_at = fired[0]["startsAt"].clone();
    all.push(first);

    // The source goes away for at least two cycles.
    let snapshot = dir.path().join("snapshots/example");
    let away = dir.path().join("snapshots/away");
    std::fs::rename(&snapshot, &away).unwrap();
    wait_for("the expectation to be unknown", Duration::from_secs(10), || unknown(&d) == Some(1.0));
    let at = cycles(&d);
    wait_for("two cycles without the source", Duration::from_secs(10), || cycles(&d) >= at + 2.0);
    assert_eq!(
        sample(&d.metrics(), "mrap_auditor_expectation_holds", &[("expectation", APP), ("bucket", B1)]),
        None,
        "an unknown bucket has no `holds` sample: no stale verdict is served"
    );
    let (_, report) = d.get("/api/v1/report");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["expectations"][0]["status"], "unknown");

    // Back: known again, still violated.
    std::fs::rename(&away, &snapshot).unwrap();
    wait_for("the expectation to be known again", Duration::from_secs(10), || unknown(&d) == Some(0.0));
    let at = cycles(&d);
    wait_for("one more cycle", Duration::from_secs(10), || cycles(&d) >= at + 1.0);
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(body) = pushes.try_recv() {
        all.push(body);
    }
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));

    assert!(all.len() >= 4, "pushes through the gap: {}", all.len());
    for body in &all {
        let b1 = violated_b1(body);
        assert_eq!(b1.len(), 1, "the violation is in every push, the gap's included: {body}");
        assert_ne!(b1[0]["annotations"]["summary"], "resolved", "never resolved: {body}");
        assert_eq!(b1[0]["startsAt"], starts_at, "the same alert throughout: {body}");
    }

    let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["history", "--format", "json", "--limit", "1000", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = history["events"].as_array().unwrap();
    let kinds = |kind: &str| events.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(kinds("verdict_change"), 0, "no verdict flip: {events:#?}");
    assert_eq!(kinds("decision_change"), 0, "no bucket flip: {events:#?}");
    assert_eq!(kinds("finding_resolved"), 0, "no finding resolved by the gap: {events:#?}");
    assert_eq!(kinds("finding_new"), 0, "no finding new again after it: {events:#?}");
    assert_eq!(kinds("policy_change"), 0, "no policy changed: {events:#?}");
    let about_app = |kind: &str| events.iter().any(|e| e["kind"] == kind && e["expectation"] == APP);
    assert!(about_app("became_unknown"), "{events:#?}");
    let source_gone = events.iter().any(|e| {
        e["kind"] == "became_unknown" && e["detail"].as_str().unwrap_or("").contains("the source cannot be read")
    });
    assert!(source_gone, "the gap's cause is recorded: {events:#?}");
    assert!(about_app("known_again"), "{events:#?}");
    let app = history["current"].as_array().unwrap().iter().find(|s| s["expectation"] == APP).unwrap().clone();
    assert_eq!(app["status"], "violated", "the last known state");
}
