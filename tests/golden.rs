//! The golden corpus: `tests/golden/*.json`, each an array of DESIGN §7 cases with `name`,
//! `description` (the documented AWS rule) and `expected`. Every case runs through the library
//! (with its explanation) and, as one `--jsonl` stream, through the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mrap_auditor::eval::case::{Expected, case_from_json, expected_from_json};
use mrap_auditor::eval::{Decision, explain};
use mrap_auditor::policy::json::{self, JsonKind};

struct Golden {
    file: String,
    name: String,
    /// The case's own JSON text (one line), for the binary.
    line: String,
    doc: json::Json,
    expected: Expected,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn load() -> Vec<Golden> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/golden exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = json::parse(&text).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let values: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let JsonKind::Array(items) = doc.kind else { panic!("{file}: not an array") };
        assert_eq!(items.len(), values.len());
        for (item, value) in items.into_iter().zip(values) {
            let name = value["name"].as_str().unwrap_or_else(|| panic!("{file}: a case has no name")).to_string();
            let description = value["description"].as_str().unwrap_or_default();
            assert!(description.len() > 20, "{file}/{name}: the description must name the AWS rule");
            assert!(names.insert(name.clone()), "{file}/{name}: duplicate case name");
            let expected = expected_from_json(&item)
                .unwrap_or_else(|e| panic!("{file}/{name}: bad expected block: {e}"))
                .unwrap_or_else(|| panic!("{file}/{name}: no expected block"));
            out.push(Golden { file: file.clone(), name, line: value.to_string(), doc: item, expected });
        }
    }
    out
}

#[test]
fn golden_cases_through_the_library() {
    let cases = load();
    assert!(cases.len() >= 150, "only {} golden cases", cases.len());
    let mut failures = Vec::new();
    for g in &cases {
        let label = format!("{}/{}", g.file, g.name);
        let parsed = case_from_json(&g.doc);
        match (&g.expected, parsed) {
            (Expected::Error(want), Err(e)) => {
                if !e.to_string().contains(want.as_str()) {
                    failures.push(format!("{label}: error `{e}` does not contain `{want}`"));
                }
            }
            (Expected::Error(want), Ok(_)) => {
                failures.push(format!("{label}: expected an error containing `{want}`, the case parsed"))
            }
            (Expected::Outcome { .. }, Err(e)) => failures.push(format!("{label}: case does not parse: {e}")),
            (Expected::Outcome { decision, deciding_layer, deciding_statement }, Ok(case)) => {
                let ev = explain(&case.request, &case.policy_set());
                let mut wrong = Vec::new();
                if ev.decision != *decision {
                    wrong.push(format!("decision {:?}", ev.decision));
                }
                if deciding_layer.is_some() && ev.deciding_layer != *deciding_layer {
                    wrong.push(format!("deciding layer {:?}", ev.deciding_layer));
                }
                if let Some(sid) = deciding_statement {
                    let got = ev.deciding_statement.as_ref().and_then(|s| s.sid.as_deref());
                    if got != Some(sid.as_str()) {
                        wrong.push(format!("deciding statement {got:?}"));
                    }
                }
                if !wrong.is_empty() {
                    failures.push(format!(
                        "{label}: expected {}, got {}\n{}",
                        g.expected,
                        wrong.join(", "),
                        mrap_auditor::eval::render::to_text(&ev, 4)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} golden cases fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn golden_cases_through_the_binary_jsonl() {
    let cases = load();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["eval", "--jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for g in &cases {
        input.push_str(&g.line);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let lines: Vec<serde_json::Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), cases.len(), "one output line per case");
    let any_error = cases.iter().any(|g| matches!(g.expected, Expected::Error(_)));
    assert_eq!(output.status.code(), Some(if any_error { 64 } else { 0 }));
    for (g, out) in cases.iter().zip(&lines) {
        match &g.expected {
            Expected::Error(want) => {
                let msg =
                    out["error"].as_str().unwrap_or_else(|| panic!("{}: expected an error line, got {out}", g.name));
                assert!(msg.contains(want.as_str()), "{}: `{msg}` lacks `{want}`", g.name);
            }
            Expected::Outcome { decision, .. } => {
                let want = match decision {
                    Decision::Allow => "Allow",
                    Decision::ImplicitDeny => "ImplicitDeny",
                    Decision::ExplicitDeny => "ExplicitDeny",
                    Decision::Unknown => "Unknown",
                };
                assert_eq!(out["decision"], want, "{}/{}", g.file, g.name);
            }
        }
    }
}

/// The policy cache of `eval --jsonl` changes nothing: the corpus three times over (so that the
/// second and third passes come from the cache, interleaved with new lines), with explanations,
/// through the real binary, gives byte for byte what the uncached single-case reader gives.
#[test]
fn a_repeated_policy_stream_gives_the_uncached_output() {
    use mrap_auditor::eval::case::parse_case;
    use mrap_auditor::eval::render;
    let cases = load();
    let mut lines: Vec<&str> = Vec::new();
    for pass in 0..3 {
        // Another order each pass: a cached policy meets other neighbours.
        let mut order: Vec<&Golden> = cases.iter().collect();
        if pass == 1 {
            order.reverse();
        } else if pass == 2 {
            order.sort_by_key(|g| g.line.len());
        }
        lines.extend(order.iter().map(|g| g.line.as_str()));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["eval", "--jsonl", "--explain", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let got: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(got.len(), lines.len(), "one output line per case");
    for (i, (line, got)) in lines.iter().zip(&got).enumerate() {
        let want = match parse_case(line) {
            Ok(case) => serde_json::to_string(&render::to_json(&explain(&case.request, &case.policy_set()))).unwrap(),
            Err(e) => format!("{{\"error\":{}}}", serde_json::Value::String(format!("line {}: {e}", i + 1))),
        };
        assert_eq!(got, &want, "line {}", i + 1);
    }
}
