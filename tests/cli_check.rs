//! `check`, `explain` and `diff` on the bundled example, as a user runs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{example_copy, root, set_bucket1_policy};

const AT: &str = "2026-11-22T10:00:00Z";

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mrap-auditor")).args(args).current_dir(dir).output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_in(&root(), args)
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn check_on_a_fresh_clone_reports_the_seed_fault() {
    let o = run(&["check", "--at", AT]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let out = text(&o);
    assert!(out.contains("VIOLATED  app-reads-reports  expect allow, got intermittent"), "{out}");
    assert!(out.contains("doc-examplebucket1       us-east-1      active   implicit_deny  bucket"), "{out}");
    assert!(out.contains("does not match `Resource` [`arn:aws:s3:::doc-examplebucket1`]"), "{out}");
    assert!(out.contains("error    object-action-on-bucket-arn"), "{out}");
    assert!(out.contains("fix: use `arn:aws:s3:::doc-examplebucket1/*`"), "{out}");
    assert!(out.contains("HOLDS     anonymous-cannot-read"), "{out}");
}

#[test]
fn json_report_keeps_the_contract() {
    let o = run(&["check", "--format", "json", "--at", AT]);
    assert_eq!(o.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["generated_at"], AT);
    assert_eq!(r["source"], "snapshot");
    let e = &r["expectations"][0];
    for key in ["name", "mrap", "expect", "status", "verdict", "buckets", "failover", "pending_change"] {
        assert!(e.get(key).is_some(), "expectation lacks `{key}`");
    }
    assert_eq!(e["status"], "violated");
    assert_eq!(e["verdict"], "intermittent");
    assert_eq!(e["failover"], "none");
    assert_eq!(e["pending_change"], false);
    let b = &e["buckets"][0];
    for key in ["bucket", "account", "region", "route", "decision", "deciding_layer"] {
        assert!(b.get(key).is_some(), "bucket lacks `{key}`");
    }
    assert_eq!(b["decision"], "implicit_deny");
    assert_eq!(b["deciding_layer"], "bucket");
    assert_eq!(e["buckets"][1]["decision"], "allow");
    assert_eq!(e["buckets"][1]["deciding_layer"], Value::Null);
    let f = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "object-action-on-bucket-arn").unwrap();
    assert_eq!(f["severity"], "error");
    assert_eq!(f["resource"], "arn:aws:s3:::doc-examplebucket1");
}

#[test]
fn corrected_policy_holds_and_relative_paths_follow_the_config() {
    let dir = example_copy();
    set_bucket1_policy(dir.path(), true);
    // Run from elsewhere: paths in the config resolve against the config's directory.
    let config = dir.path().join("mrap-auditor.toml");
    let o = run_in(&std::env::temp_dir(), &["check", "--at", AT, "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o), err(&o));
    assert!(text(&o).contains("HOLDS     app-reads-reports  expect allow, got allow"));
}

#[test]
fn unreadable_input_is_unknown_never_holds() {
    let dir = example_copy();
    let snap = dir.path().join("snapshots/example");
    set_bucket1_policy(dir.path(), true);
    std::fs::write(snap.join("s3/get-bucket-policy/doc-examplebucket2.json"), "{ \"Policy\": ").unwrap();
    let config = dir.path().join("mrap-auditor.toml");
    let o = run(&["check", "--format", "json", "--at", AT, "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["expectations"][0]["status"], "unknown");
    assert_eq!(r["expectations"][0]["buckets"][1]["decision"], "unknown");
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "unreadable-input" && f["resource"] == "arn:aws:s3:::doc-examplebucket2")
    );
    // The anonymous expectation does not need the bucket policy to be denied: it still holds.
    assert_eq!(r["expectations"][1]["status"], "holds");
}

#[test]
fn configuration_errors_exit_64_naming_file_line_and_key() {
    let dir = example_copy();
    let config = dir.path().join("mrap-auditor.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let cases = [
        (
            original.replace("expect = \"deny\"", "expect = \"deny\"\ncolour = \"blue\""),
            "line 35: unknown field `colour`",
        ),
        (
            original.replace(
                "mrap = \"mfzwi23gnjvgw.mrap\"\nprincipal = \"anonymous\"",
                "mrap = \"nosuchmrap.mrap\"\nprincipal = \"anonymous\"",
            ),
            "line 29, key `expect[1].mrap`: the MRAP `nosuchmrap.mrap` is not in the snapshot",
        ),
        (
            original.replacen("via = \"vpce-0a1b2c3d4e5f60718\"", "via = \"vpce-0a1b2c3d4e5f60719\"", 1),
            "line 22, key `expect[0].via`: the endpoint `vpce-0a1b2c3d4e5f60719` is not in any captured describe-vpc-endpoints file",
        ),
        (original.replace("path = \"snapshots/example\"", "path = \"snapshots/nope\""), "does not exist"),
        (
            original.replace("name = \"anonymous-cannot-read\"", "name = \"app-reads-reports\""),
            "duplicate expectation name `app-reads-reports`",
        ),
    ];
    for (body, want) in cases {
        std::fs::write(&config, body).unwrap();
        let o = run(&["check", "--config", config.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(64), "{want}: {}", err(&o));
        assert!(err(&o).contains(want), "expected `{want}` in: {}", err(&o));
        assert!(err(&o).contains("mrap-auditor.toml"), "names the file: {}", err(&o));
    }
    let o = run(&["check", "--config", "no/such/config.toml"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("cannot read the configuration"), "{}", err(&o));
}

#[test]
fn explain_shows_every_layer() {
    let o = run(&["explain", "--expect", "app-reads-reports", "--bucket", "doc-examplebucket1", "--at", AT]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let out = text(&o);
    for want in [
        "bucket doc-examplebucket1 (123456789012, us-east-1, active): implicit_deny at bucket",
        "structural:",
        "MRAP request on arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/reports/2026/summary.csv:",
        "bucket request on arn:aws:s3:::doc-examplebucket1/reports/2026/summary.csv:",
        "statement 0 (`ReadThroughTheMrapOnly`) of app-identity.json [Allow, does not apply]",
        "block public access:",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
    let o = run(&["explain", "--expect", "app-reads-reports", "--format", "json", "--at", AT]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["buckets"].as_array().unwrap().len(), 2);
    assert_eq!(v["buckets"][0]["explanation"]["bucket_request"]["decision"], "ImplicitDeny");

    let o = run(&["explain", "--expect", "nope"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("no expectation `nope`"), "{}", err(&o));
    let o = run(&["explain", "--expect", "app-reads-reports", "--bucket", "nope"]);
    assert_eq!(o.status.code(), Some(64));
}

#[test]
fn diff_reports_flips_and_ignores_layout() {
    let dir = example_copy();
    let old = root().join("config/snapshots/example");
    let new = dir.path().join("snapshots/example");
    let config = root().join("config/mrap-auditor.toml");
    let args = |o: &Path, n: &Path| -> Vec<String> {
        vec![
            "diff".into(),
            o.display().to_string(),
            n.display().to_string(),
            "--config".into(),
            config.display().to_string(),
            "--at".into(),
            AT.into(),
        ]
    };
    // Same content, re-laid-out and keys reordered: no change.
    let file = new.join("s3/get-bucket-policy/doc-examplebucket2.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let policy: Value = serde_json::from_str(v["Policy"].as_str().unwrap()).unwrap();
    let relaid = serde_json::json!({"Policy": serde_json::to_string_pretty(&serde_json::json!({"Statement": policy["Statement"], "Version": policy["Version"]})).unwrap()});
    std::fs::write(&file, serde_json::to_string(&relaid).unwrap()).unwrap();
    let o = run(&args(&old, &new).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o), err(&o));
    assert_eq!(text(&o).trim(), "No changes.");

    set_bucket1_policy(dir.path(), true);
    let o = run(&args(&old, &new).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let out = text(&o);
    assert!(out.contains("VERDICT   app-reads-reports: intermittent -> allow (violated -> holds)"), "{out}");
    assert!(out.contains("BUCKET    app-reads-reports on doc-examplebucket1: implicit_deny -> allow"), "{out}");
    assert!(out.contains("POLICY    bucket arn:aws:s3:::doc-examplebucket1: Changed"), "{out}");
    assert!(out.contains("RESOLVED  error object-action-on-bucket-arn arn:aws:s3:::doc-examplebucket1"), "{out}");
}
