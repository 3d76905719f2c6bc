//! `mrap-auditor eval` as a user runs it: exit codes, messages, stdin, `--jsonl`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

const ALLOW_CASE: &str = r#"{"request":{"principal":"arn:aws:iam::111122223333:user/a","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resource_account":"111122223333"},"policies":{"identity":[{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]}}"#;

#[test]
fn the_shipped_example_shows_the_seed_fault() {
    let o = run(&["eval", "config/examples/seed-bucket-policy.json"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["decision"], "ImplicitDeny");
    assert_eq!(v["deciding_layer"], "resource");
    let text = stdout(&o);
    assert!(text.contains("does not match `Resource` [`arn:aws:s3:::doc-examplebucket1`"), "{text}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "decision", "decision comes first");
}

#[test]
fn text_format_reads_at_a_glance() {
    let o = run(&["eval", "--format", "text", "config/examples/seed-bucket-policy.json"], None);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("decision: ImplicitDeny (deciding layer: resource)"), "{text}");
    assert!(text.contains("statement 0 (`Public-read`) of resource [Allow, does not apply]"), "{text}");
}

#[test]
fn reads_standard_input() {
    for args in [&["eval"][..], &["eval", "-"][..]] {
        let o = run(args, Some(ALLOW_CASE));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("\"decision\": \"Allow\""));
    }
}

#[test]
fn bad_input_exits_64_with_the_place() {
    let o = run(&["eval", "-"], Some("{\"request\": {\"principal\": \"anonymous\" \"action\": 1}}"));
    assert_eq!(o.status.code(), Some(64));
    assert_eq!(
        stderr(&o).trim(),
        "error: <stdin>: invalid JSON: line 1 column 39: missing `,` after the value of `\"principal\"`"
    );
    assert!(stdout(&o).is_empty());

    let seed_mrap = r#"{"request":{"principal":"arn:aws:iam::123456789012:role/app","action":"s3:GetObject","resource":"arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/k"},
"policies":{"resource":"{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Sid\": \"Open-read-MRAP-policy\" \"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": [ \"s3:GetObject\" ], \"Resource\": \"arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*\", }] }"}}"#;
    let o = run(&["eval", "-"], Some(seed_mrap));
    assert_eq!(o.status.code(), Some(64));
    assert_eq!(
        stderr(&o).trim(),
        "error: <stdin>: policies.resource: invalid JSON: line 1 column 76: missing `,` after the value of `\"Sid\"`; line 1 column 221: trailing `,` before `}`"
    );

    let o = run(&["eval", "does/not/exist.json"], None);
    assert_eq!(o.status.code(), Some(64));
    assert!(stderr(&o).starts_with("error: cannot read `does/not/exist.json`"), "{}", stderr(&o));

    let o = run(&["eval", "tests/golden/actions.json"], None);
    assert_eq!(o.status.code(), Some(64));
    assert!(stderr(&o).contains("holds an array"), "{}", stderr(&o));
}

#[test]
fn jsonl_keeps_order_and_survives_bad_lines() {
    let input = format!("{ALLOW_CASE}\n\nnot json\n{ALLOW_CASE}\n");
    let o = run(&["eval", "--jsonl", "-"], Some(&input));
    assert_eq!(o.status.code(), Some(64), "a bad line makes the exit 64");
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "one output line per input line, blank lines included: {lines:?}");
    assert_eq!(lines[0], r#"{"decision":"Allow"}"#);
    assert_eq!(lines[1], r#"{"error":"empty line"}"#);
    assert!(lines[2].starts_with(r#"{"error":"line 3: invalid JSON: line 1 column 1"#), "{}", lines[2]);
    assert_eq!(lines[3], r#"{"decision":"Allow"}"#);

    // Whitespace-only lines are empty too, and answered in place.
    let input = format!("  \n{ALLOW_CASE}\n\t\n");
    let o = run(&["eval", "--jsonl", "-"], Some(&input));
    assert_eq!(o.status.code(), Some(64));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, vec![r#"{"error":"empty line"}"#, r#"{"decision":"Allow"}"#, r#"{"error":"empty line"}"#]);

    let o = run(&["eval", "--jsonl", "--explain", "-"], Some(ALLOW_CASE));
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["decision"], "Allow");
    assert!(v["explanation"].is_array());
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    let o = run(&["eval", "--no-such-flag"], None);
    assert_eq!(o.status.code(), Some(64));
    let o = run(&["frobnicate"], None);
    assert_eq!(o.status.code(), Some(64));
    let o = run(&["eval", "--help"], None);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Examples:"));
}

#[test]
fn jsonl_answers_are_the_same_with_and_without_the_policy_cache() {
    // The same case ten times, a bad line in between: the cached lines answer as the first.
    let mut input = String::new();
    for i in 0..10 {
        input.push_str(ALLOW_CASE.trim());
        input.push('\n');
        if i == 4 {
            input.push_str("{\"request\": 1}\n");
        }
    }
    let cached = run(&["eval", "--jsonl", "--explain", "-"], Some(&input));
    let uncached = run(&["eval", "--jsonl", "--explain", "--no-policy-cache", "-"], Some(&input));
    assert_eq!(cached.status.code(), Some(64));
    assert_eq!(stdout(&cached), stdout(&uncached));
    assert_eq!(stdout(&cached).lines().count(), 11);
}
