//! The daemon's change-event machinery that needs no queue, through the real binary on a copy of
//! the bundled example: a Proposed MRAP policy is re-read with backoff (not at the next poll,
//! which is an hour away) until it is Established, with `pending_change_age_seconds` meanwhile
//! and a `policy_applied` event in the history; a change only the poll saw says so.

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

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{APP, B1, Daemon, sample, set_bucket1_policy, wait_for};

const MRAP: &str = "doc-example-mrap";
const POLICY_FILE: &str = "snapshots/example/s3control/get-multi-region-access-point-policy/doc-example-mrap.json";

/// The MRAP policy file with `established` and, optionally, `proposed` policy texts.
fn write_mrap_policy(dir: &Path, established: &str, proposed: Option<&str>) {
    let mut policy = serde_json::json!({"Established": {"Policy": established}});
    if let Some(p) = proposed {
        policy["Proposed"] = serde_json::json!({"Policy": p});
    }
    let file = dir.join(POLICY_FILE);
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, serde_json::json!({"Policy": policy}).to_string()).unwrap();
    std::fs::rename(tmp, file).unwrap();
}

fn established(dir: &Path) -> String {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(POLICY_FILE)).unwrap()).unwrap();
    v["Policy"]["Established"]["Policy"].as_str().unwrap().to_string()
}

fn history(config: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["history", "--config"])
        .arg(config)
        .args(extra)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_proposed_mrap_policy_is_watched_until_aws_applies_it() {
    let (dir, config) = support::daemon_example("1h", "");
    let old = established(dir.path());
    let new = old.replace("Open-read-MRAP-policy", "Deny-everyone").replace("\"Allow\"", "\"Deny\"");
    write_mrap_policy(dir.path(), &old, Some(&new));
    let d = Daemon::start(&config, &[]);
    wait_for("the Proposed policy to be watched", Duration::from_secs(10), || {
        sample(&d.metrics(), "mrap_auditor_pending_change_age_seconds", &[("mrap", MRAP)]).is_some()
    });
    // The watch re-reads (2 s after the first sight, then 4 s): the age grows between re-reads.
    wait_for("a re-read", Duration::from_secs(10), || {
        sample(&d.metrics(), "mrap_auditor_pending_change_age_seconds", &[("mrap", MRAP)]).is_some_and(|a| a >= 1.5)
    });
    assert_eq!(
        sample(&d.metrics(), "mrap_auditor_pending_change", &[("expectation", APP)]),
        Some(1.0),
        "`pending_change` as before: the Deny would turn `intermittent` into `deny`"
    );
    // AWS applies it: Established is now the proposal, and no Proposed is left.
    let applied_at = Instant::now();
    write_mrap_policy(dir.path(), &new, None);
    wait_for("the application to be recorded", Duration::from_secs(15), || {
        history(&config, &["--format", "json"]).contains("\"policy_applied\"")
    });
    assert!(applied_at.elapsed() < Duration::from_secs(15), "seen by the watch, not by the hourly poll");
    let text = history(&config, &[]);
    let line = text.lines().find(|l| l.contains("policy_applied")).unwrap();
    assert!(line.contains(MRAP) && line.contains("AWS applied the Proposed MRAP policy after"), "{line}");
    assert!(line.contains("actor unknown (seen by poll)"), "no event named the caller: {line}");
    assert_eq!(sample(&d.metrics(), "mrap_auditor_pending_change_age_seconds", &[("mrap", MRAP)]), None);
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn a_change_only_the_poll_saw_has_no_actor() {
    let (dir, config) = support::daemon_example("200ms", "");
    let d = Daemon::start(&config, &[]);
    let holds = || sample(&d.metrics(), "mrap_auditor_expectation_holds", &[("expectation", APP), ("bucket", B1)]);
    wait_for("the first cycle", Duration::from_secs(10), || holds() == Some(0.0));
    set_bucket1_policy(dir.path(), true);
    wait_for("the flip", Duration::from_secs(10), || holds() == Some(1.0));
    let json: serde_json::Value = serde_json::from_str(&history(&config, &["--format", "json"])).unwrap();
    let change = json["events"].as_array().unwrap().iter().find(|e| e["kind"] == "verdict_change").unwrap();
    assert_eq!(change["changed_by"], serde_json::Value::Null);
    let text = history(&config, &["--expect", APP]);
    assert!(
        text.lines().any(|l| l.contains("verdict_change") && l.ends_with("[actor unknown (seen by poll)]")),
        "{text}"
    );
    let (_, page) = d.get("/");
    assert!(page.contains("actor unknown (seen by poll)"), "{page}");
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}
