//! Access drift in the daemon (DESIGN §10): the real binary on a copy of the bundled example
//! computes the map every cycle, exports `access_grants` and `forbid_violated`, counts a grant
//! gained when a bucket policy opens a door, records it in the history (across a restart) and
//! does not count it again after the restart.

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

use support::{Daemon, sample, set_bucket1_policy, wait_for};

const FORBID: &str = "\n[[forbid]]\nname = \"nothing-anonymous\"\ncallers = [\"anonymous\"]\n";

#[test]
fn the_daemon_watches_the_access_map() {
    let (dir, config) = support::daemon_example("200ms", FORBID);
    let d = Daemon::start(&config, &[]);
    let grants = |d: &Daemon, bucket: &str, path: &str, callers: &str| {
        sample(
            &d.metrics(),
            "mrap_auditor_access_grants",
            &[("bucket", bucket), ("path_kind", path), ("callers_kind", callers)],
        )
    };
    wait_for("the first map", Duration::from_secs(20), || {
        grants(&d, "doc-examplebucket2", "bucket_internet", "anonymous") == Some(1.0)
    });
    assert_eq!(grants(&d, "doc-examplebucket1", "bucket_internet", "anonymous"), Some(0.0), "bucket 1 grants nothing");
    let m = d.metrics();
    assert_eq!(sample(&m, "mrap_auditor_forbid_violated", &[("forbid", "nothing-anonymous")]), Some(1.0));

    // Fixing bucket 1's `/*` also opens its direct door to the world: access gained.
    set_bucket1_policy(dir.path(), true);
    wait_for("access gained on bucket 1", Duration::from_secs(20), || {
        sample(
            &d.metrics(),
            "mrap_auditor_access_changes_total",
            &[("bucket", "doc-examplebucket1"), ("direction", "gained")],
        )
        .is_some_and(|v| v >= 1.0)
    });
    assert_eq!(grants(&d, "doc-examplebucket1", "bucket_internet", "anonymous"), Some(1.0));
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));

    let history = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["history", "--format", "json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    let gained: Vec<&serde_json::Value> =
        v["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "access_gained").collect();
    assert!(!gained.is_empty(), "{v}");
    let subjects: Vec<&str> = gained.iter().filter_map(|e| e["subject"].as_str()).collect();
    assert!(subjects.iter().any(|s| s.contains("doc-examplebucket1 bucket:internet anonymous")), "{subjects:?}");
    assert!(
        gained.iter().any(|e| e["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("bucket arn:aws:s3:::doc-examplebucket1 changed")),
        "the event names the policy change that caused it: {gained:?}"
    );

    // After a restart the map is compared with the one kept in the history: nothing new.
    let d = Daemon::start(&config, &[]);
    wait_for("a cycle after the restart", Duration::from_secs(20), || {
        grants(&d, "doc-examplebucket1", "bucket_internet", "anonymous") == Some(1.0)
    });
    std::thread::sleep(Duration::from_millis(800));
    let m = d.metrics();
    assert_eq!(
        sample(&m, "mrap_auditor_access_changes_total", &[("bucket", "doc-examplebucket1"), ("direction", "gained")]),
        None,
        "no access change counted after the restart"
    );
    let _ = d.stop();
}
