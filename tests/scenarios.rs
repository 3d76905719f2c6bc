//! Scenario snapshots of real fault classes (`tests/fixtures/*/`), each run through the real
//! binary: `check --format json` must give the exit code and (a subset of) the report in the
//! scenario's `expected.json`.
//!
//! Matching: objects recursively by the keys the expectation gives; arrays element by element
//! with equal length; `report.findings` order-free, each listed finding present; a key ending in
//! `_contains` matches the same field without the suffix by substring.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Subset match; returns the first mismatch as a path and message.
fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                if let Some(field) = key.strip_suffix("_contains") {
                    let want = ev.as_str().unwrap_or_default();
                    let got = a.get(field).and_then(Value::as_str).unwrap_or_default();
                    if !got.contains(want) {
                        return Err(format!("{path}.{field}: `{got}` does not contain `{want}`"));
                    }
                    continue;
                }
                let av = a.get(key).ok_or_else(|| format!("{path}.{key}: missing"))?;
                if key == "findings" && path == "report" {
                    let list = av.as_array().cloned().unwrap_or_default();
                    for (i, f) in ev.as_array().cloned().unwrap_or_default().iter().enumerate() {
                        if !list.iter().any(|g| matches(f, g, "").is_ok()) {
                            return Err(format!(
                                "report.findings[{i}]: no finding matches {f}; got {}",
                                serde_json::to_string_pretty(av).unwrap()
                            ));
                        }
                    }
                    continue;
                }
                matches(ev, av, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: {} items expected, {} found: {}",
                    e.len(),
                    a.len(),
                    serde_json::to_string(actual).unwrap()
                ));
            }
            e.iter().zip(a).enumerate().try_for_each(|(i, (ev, av))| matches(ev, av, &format!("{path}[{i}]")))
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, found {a}")),
    }
}

#[test]
fn matcher_is_strict_where_it_should_be() {
    let actual: Value = serde_json::json!({"a": 1, "b": [1, 2], "m": "hello world"});
    assert!(matches(&serde_json::json!({"a": 1}), &actual, "r").is_ok());
    assert!(matches(&serde_json::json!({"a": 2}), &actual, "r").is_err());
    assert!(matches(&serde_json::json!({"b": [1]}), &actual, "r").is_err());
    assert!(matches(&serde_json::json!({"c": 1}), &actual, "r").is_err());
    assert!(matches(&serde_json::json!({"m_contains": "lo wo"}), &actual, "r").is_ok());
    assert!(matches(&serde_json::json!({"m_contains": "bye"}), &actual, "r").is_err());
}

#[test]
fn scenario_fixtures_through_the_binary() {
    let dirs = fixtures();
    assert!(dirs.len() >= 12, "only {} scenario fixtures", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
            .unwrap_or_else(|e| panic!("{name}/expected.json: {e}"));
        assert!(expected["description"].as_str().is_some_and(|d| d.len() > 20), "{name}: describe the fault class");
        let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
            .args(["check", "--format", "json", "--at", "2026-11-22T10:00:00Z", "--config"])
            .arg(dir.join("mrap-auditor.toml"))
            .output()
            .unwrap();
        let code = out.status.code();
        let want_code = expected["exit"].as_i64().map(|c| c as i32);
        if code != want_code {
            failures.push(format!(
                "{name}: exit {code:?}, expected {want_code:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let report: Value = match serde_json::from_slice(&out.stdout) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!(
                    "{name}: stdout is not JSON ({e}); stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        if let Err(m) = matches(&expected["report"], &report, "report") {
            failures.push(format!("{name}: {m}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} scenarios fail:\n{}", failures.len(), dirs.len(), failures.join("\n\n"));
}
