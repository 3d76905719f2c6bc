//! Fail closed, through the real binary: documents too large to be policies are refused, the
//! explanation says which path clients take when private DNS is off, and an alias in the
//! emulators' form is accepted while an MRAP the snapshot lacks is still a configuration error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::{copy_dir, root};

const AT: &str = "2026-11-22T10:00:00Z";

fn auditor(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_string();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn fixture_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("tests/fixtures").join(name), dir.path());
    dir
}

/// A syntactically valid policy of more than 1 MiB: one statement per prefix.
fn huge_policy(bucket: &str) -> String {
    let statements: Vec<String> = (0..12_000)
        .map(|i| {
            format!(
                r#"{{"Sid":"P{i}","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/p{i}/*"}}"#
            )
        })
        .collect();
    let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","));
    assert!(text.len() > 1024 * 1024, "{}", text.len());
    text
}

#[test]
fn a_policy_above_one_mib_is_refused_and_what_needs_it_is_unknown() {
    let dir = fixture_copy("seed-corrected");
    let file = dir.path().join("snapshot/s3/get-bucket-policy/doc-examplebucket1.json");
    std::fs::write(&file, serde_json::json!({ "Policy": huge_policy("doc-examplebucket1") }).to_string()).unwrap();
    let config = dir.path().join("mrap-auditor.toml");
    let o = auditor(&["check", "--format", "json", "--at", AT, "--config", config.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let app = r["expectations"].as_array().unwrap().iter().find(|e| e["name"] == "app-reads-reports").unwrap();
    assert_eq!(app["status"], "unknown");
    assert_eq!(app["buckets"][0]["decision"], "unknown");
    let f = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "invalid-policy").unwrap();
    assert_eq!(f["resource"], "arn:aws:s3:::doc-examplebucket1");
    assert!(f["message"].as_str().unwrap().contains("more than the 1048576 bytes this auditor reads"), "{f}");
}

#[test]
fn an_eval_case_with_a_policy_above_one_mib_is_bad_input() {
    let policy = huge_policy("b");
    let case = format!(
        r#"{{"request":{{"principal":"anonymous","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"}},"policies":{{"resource":{policy}}}}}"#
    );
    let o = auditor(&["eval", "-"], Some(&case));
    assert_eq!(o.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("the case is"), "{stderr}");
    assert!(stderr.contains("more than the 1048576 bytes read"), "{stderr}");
}

#[test]
fn explain_says_which_path_clients_take_without_private_dns() {
    let config = root().join("tests/fixtures/endpoint-private-dns-disabled/mrap-auditor.toml");
    let o =
        auditor(&["explain", "--at", AT, "--expect", "app-reads-reports", "--config", config.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("endpoint private DNS: private DNS is disabled on vpce-0a1b2c3d4e5f60718"), "{out}");
    assert!(out.contains("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"), "{out}");
    assert!(out.contains("take the `mrap:internet` path"), "{out}");
}

#[test]
fn an_emulator_alias_is_accepted_but_a_missing_mrap_is_still_an_error() {
    let dir = fixture_copy("emulator-alias");
    let config = dir.path().join("mrap-auditor.toml");
    let o = auditor(&["check", "--at", AT, "--config", config.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text =
        std::fs::read_to_string(&config).unwrap().replace("doc-example-mrap-1a2b3c4d5e.mrap", "other-9f8e7d6c5b.mrap");
    std::fs::write(&config, text).unwrap();
    let o = auditor(&["check", "--at", AT, "--config", config.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("the MRAP `other-9f8e7d6c5b.mrap` is not in the snapshot"), "{stderr}");
    assert!(stderr.contains("line 9"), "the error names the line: {stderr}");
}
