//! The access map (DESIGN §10) through the real binary: the fault-class fixtures
//! (`tests/fixtures/access-*/expected-access.json`), the bundled example's golden text, witness
//! soundness for every fixture (each witness, turned into an `[[expect]]`, is allowed by
//! `check`), `[[forbid]]`, accepted access and direct-bucket expectations.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::root;

const AT: &str = "2026-11-22T10:00:00Z";

fn auditor(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(args)
        .args(["--at", AT, "--config"])
        .arg(config)
        .output()
        .unwrap()
}

fn access_json(config: &Path) -> (Option<i32>, Value) {
    let out = auditor(&["access", "--format", "json"], config);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", config.display(), String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

/// Subset match: objects by the expected keys, arrays element by element with equal length.
fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().try_for_each(|(k, ev)| {
            let av = a.get(k).ok_or_else(|| format!("{path}.{k}: missing"))?;
            matches(ev, av, &format!("{path}.{k}"))
        }),
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            e.iter().zip(a).enumerate().try_for_each(|(i, (ev, av))| matches(ev, av, &format!("{path}[{i}]")))
        }
        (Value::Array(_), Value::Array(a)) => {
            Err(format!("{path}: length differs: {}", serde_json::to_string(a).unwrap()))
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, found {a}")),
    }
}

#[test]
fn fault_class_fixtures_through_the_binary() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected-access.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 6, "only {} access fixtures", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected-access.json")).unwrap()).unwrap();
        assert!(expected["description"].as_str().is_some_and(|d| d.len() > 40), "{name}: describe the fault class");
        let (code, map) = access_json(&dir.join("mrap-auditor.toml"));
        if code != expected["exit"].as_i64().map(|c| c as i32) {
            failures.push(format!("{name}: exit {code:?}, expected {}", expected["exit"]));
        }
        if let Err(m) = matches(&expected["access"], &map, "access") {
            failures.push(format!("{name}: {m}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bundled_example_golden_text_and_public_bucket2() {
    let config = root().join("config/mrap-auditor.toml");
    let out = auditor(&["access"], &config);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let want = std::fs::read_to_string(root().join("tests/access/example.txt")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want, "golden text (tests/access/example.txt)");

    // The seed's Public-read policy: bucket 2 is readable by anyone, straight from its endpoint.
    let (_, map) = access_json(&config);
    let b2 = &map["mraps"][0]["buckets"][1];
    assert_eq!(b2["bucket"], "doc-examplebucket2");
    let public = b2["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["path"] == "bucket:internet" && g["callers"] == "anonymous")
        .unwrap();
    assert_eq!(public["public"], true);
    assert_eq!(public["cross_account"], true);
    assert_eq!(public["keys"], "*");
    assert_eq!(public["witness"]["bucket"], "doc-examplebucket2");
    assert_eq!(public["witness"]["via"], "internet");
    assert!(public["admitted_by"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("Public-read")));
    assert_eq!(
        map["mraps"][0]["buckets"][0]["grants"].as_array().unwrap().len(),
        0,
        "bucket 1's policy grants nothing"
    );
}

/// Every fixture directory with a configuration, and the bundled example.
fn all_configs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path().join("mrap-auditor.toml"))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out.push(root().join("config/mrap-auditor.toml"));
    out
}

fn absolute(dir: &Path, v: &toml::Value) -> toml::Value {
    match v {
        toml::Value::String(s) => toml::Value::String(dir.join(s).to_string_lossy().to_string()),
        toml::Value::Array(a) => toml::Value::Array(a.iter().map(|x| absolute(dir, x)).collect()),
        other => other.clone(),
    }
}

/// Each witness as an `[[expect]]` of a configuration beside the original (same source,
/// organization and identity policies): `check` must allow it on the witness's bucket.
#[test]
fn every_witness_is_allowed_by_check() {
    let mut failures = Vec::new();
    let mut witnesses = 0;
    for config in all_configs() {
        let dir = config.parent().unwrap().to_path_buf();
        let original: toml::Table = toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        let (_, map) = access_json(&config);
        let mut table = toml::Table::new();
        let mut source = original["source"].as_table().unwrap().clone();
        if let Some(p) = source.get("path").cloned() {
            source.insert("path".into(), absolute(&dir, &p));
        }
        table.insert("source".into(), toml::Value::Table(source));
        if let Some(org) = original.get("organization").and_then(|o| o.as_table()) {
            let org: toml::Table = org.iter().map(|(k, v)| (k.clone(), absolute(&dir, v))).collect();
            table.insert("organization".into(), toml::Value::Table(org));
        }
        let configured: Vec<toml::Table> = original
            .get("expect")
            .and_then(|e| e.as_array())
            .map(|a| a.iter().filter_map(|e| e.as_table().cloned()).collect())
            .unwrap_or_default();
        let mut expects = Vec::new();
        let mut targets = Vec::new();
        for m in map["mraps"].as_array().unwrap() {
            for b in m["buckets"].as_array().unwrap() {
                for g in b["grants"].as_array().unwrap() {
                    let w = &g["witness"];
                    let mut e = toml::Table::new();
                    let name = format!("w{}", expects.len());
                    e.insert("name".into(), name.clone().into());
                    match w["bucket"].as_str() {
                        Some(bucket) => e.insert("bucket".into(), bucket.into()),
                        None => e.insert("mrap".into(), w["mrap"].as_str().unwrap().into()),
                    };
                    for k in ["principal", "action", "via"] {
                        e.insert(k.into(), w[k].as_str().unwrap().into());
                    }
                    if !w["key"].as_str().unwrap().is_empty() {
                        e.insert("key".into(), w["key"].as_str().unwrap().into());
                    }
                    e.insert("expect".into(), "allow".into());
                    let context: toml::Table = w["context"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().into()))
                        .collect();
                    if !context.is_empty() {
                        e.insert("context".into(), toml::Value::Table(context));
                    }
                    if let Some(c) = configured
                        .iter()
                        .find(|c| c.get("principal").and_then(|p| p.as_str()) == w["principal"].as_str())
                    {
                        for k in ["identity_policy", "boundary_policy", "session_policy"] {
                            if let Some(v) = c.get(k) {
                                e.insert(k.into(), absolute(&dir, v));
                            }
                        }
                    }
                    expects.push(toml::Value::Table(e));
                    targets.push((
                        name,
                        b["bucket"].as_str().unwrap().to_string(),
                        g["path"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }
        if expects.is_empty() {
            continue;
        }
        witnesses += expects.len();
        table.insert("expect".into(), toml::Value::Array(expects));
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("witnesses.toml");
        std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
        let out = auditor(&["check", "--format", "json"], &path);
        let report: Value = match serde_json::from_slice(&out.stdout) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!(
                    "{}: check failed ({e}): {}",
                    config.display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        for (name, bucket, path) in targets {
            let exp = report["expectations"].as_array().unwrap().iter().find(|e| e["name"] == name.as_str()).unwrap();
            let decision = exp["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["bucket"] == bucket.as_str())
                .map(|b| b["decision"].clone());
            if decision != Some(Value::from("allow")) {
                failures.push(format!(
                    "{}: witness {name} ({bucket} via {path}) got {decision:?}: {}",
                    config.display(),
                    exp["summary"]
                ));
            }
        }
    }
    assert!(witnesses >= 40, "only {witnesses} witnesses checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn write_config(dir: &Path, fixture: &str, extra: &str) -> PathBuf {
    let original = std::fs::read_to_string(root().join(fixture).join("mrap-auditor.toml")).unwrap();
    let text = original
        .replace("path = \"snapshot\"", &format!("path = \"{}\"", root().join(fixture).join("snapshot").display()))
        .replace(
            "path = \"snapshots/example\"",
            &format!("path = \"{}\"", root().join("config/snapshots/example").display()),
        )
        .replace("\"policies/", &format!("\"{}/policies/", root().join(fixture).display()))
        .replace("state = \"../state/mrap-auditor.db\"", "state = \"state.db\"");
    let path = dir.join("c.toml");
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

#[test]
fn check_reports_forbids_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        "config",
        "[[forbid]]\nname = \"nothing-public\"\ncallers = [\"anonymous\"]\nactions = [\"s3:Get*\"]\n\n[[forbid]]\nname = \"no-writes\"\ncallers = [\"anonymous\", \"any-principal\"]\nactions = [\"s3:PutObject\"]\n",
    );
    let out = auditor(&["check", "--format", "json"], &config);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let forbids = report["forbids"].as_array().unwrap();
    assert_eq!(forbids[0]["name"], "nothing-public");
    assert_eq!(forbids[0]["status"], "violated");
    assert_eq!(forbids[0]["grants"][0]["bucket"], "doc-examplebucket2");
    assert_eq!(forbids[0]["grants"][0]["path"], "bucket:internet");
    assert_eq!(forbids[1]["status"], "holds");
    let text = auditor(&["check"], &config);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("FORBID VIOLATED  nothing-public"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

#[test]
fn accepted_access_turns_widening_into_new_access_findings() {
    let tmp = tempfile::tempdir().unwrap();
    // Accept the narrowed fixture's map, then audit the same configuration against a snapshot
    // whose bucket 2 also grants account 999988887777.
    let accepted = tmp.path().join("accepted.json");
    let (_, map) = access_json(&root().join("tests/fixtures/access-direct-door-after-mrap-narrowed/mrap-auditor.toml"));
    let _ = map;
    let (_, base) = access_json(&root().join("tests/fixtures/access-proposed-widens/mrap-auditor.toml"));
    std::fs::write(&accepted, serde_json::to_string(&base).unwrap()).unwrap();
    let config = write_config(
        tmp.path(),
        "tests/fixtures/access-cross-account-grant-added",
        &format!("[access]\naccepted = \"{}\"\n", accepted.display()),
    );
    let out = auditor(&["check", "--format", "json"], &config);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new: Vec<&Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "new-access").collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["resource"], "arn:aws:s3:::doc-examplebucket2");
    assert!(new[0]["message"].as_str().unwrap().contains("account:999988887777"), "{}", new[0]["message"]);

    // Accepting today's map silences it.
    let (_, today) = access_json(&config);
    std::fs::write(&accepted, serde_json::to_string(&today).unwrap()).unwrap();
    let out = auditor(&["check", "--format", "json"], &config);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!report["findings"].as_array().unwrap().iter().any(|f| f["code"] == "new-access"));

    // An unreadable accepted file is a usage error, not silence.
    std::fs::write(&accepted, "{not json").unwrap();
    let out = auditor(&["check"], &config);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not an access map"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn direct_bucket_expectations_prove_every_door() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = r#"
[[expect]]
name = "bucket2-not-public"
bucket = "doc-examplebucket2"
principal = "anonymous"
action = "s3:GetObject"
key = "reports/2026/summary.csv"
via = "internet"
expect = "deny"

[[expect]]
name = "bucket1-closed-directly"
bucket = "doc-examplebucket1"
principal = "anonymous"
action = "s3:GetObject"
key = "reports/2026/summary.csv"
via = "internet"
expect = "deny"
"#;
    let config = write_config(tmp.path(), "config", extra);
    let out = auditor(&["check", "--format", "json"], &config);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let find = |n: &str| report["expectations"].as_array().unwrap().iter().find(|e| e["name"] == n).unwrap().clone();
    let b2 = find("bucket2-not-public");
    assert_eq!(b2["status"], "violated");
    assert_eq!(b2["verdict"], "allow");
    assert_eq!(b2["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(b2["buckets"][0]["bucket"], "doc-examplebucket2");
    assert_eq!(b2["mrap"], "mfzwi23gnjvgw.mrap");
    let b1 = find("bucket1-closed-directly");
    assert_eq!(b1["status"], "holds");
    assert_eq!(b1["buckets"][0]["deciding_layer"], "bucket");

    // `mrap` and `bucket` together, or an unknown bucket, are configuration errors.
    let both = write_config(
        tmp.path(),
        "config",
        &extra.replacen(
            "bucket = \"doc-examplebucket2\"",
            "bucket = \"doc-examplebucket2\"\nmrap = \"mfzwi23gnjvgw.mrap\"",
            1,
        ),
    );
    let out = auditor(&["check"], &both);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("give either `mrap` (through the MRAP) or `bucket`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unknown = write_config(tmp.path(), "config", &extra.replace("doc-examplebucket2", "no-such-bucket"));
    let out = auditor(&["check"], &unknown);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the bucket `no-such-bucket` is in no MRAP"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn access_usage_errors() {
    let config = root().join("config/mrap-auditor.toml");
    let out = auditor(&["access", "--mrap", "nope.mrap"], &config);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the MRAP `nope.mrap` is not in the snapshot"));
    let out = auditor(&["access", "--mrap", "doc-example-mrap", "--explain"], &config);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "because bucket request: resource: statement 0 (`Public-read`) of bucket policy of doc-examplebucket2"
        ),
        "{text}"
    );
    assert!(text.contains("witness: anonymous s3:GetObject"), "{text}");
}

#[test]
fn an_organization_zone_of_trust_hides_its_own_principals() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = "tests/fixtures/access-org-condition";
    let plain = write_config(tmp.path(), fixture, "");
    let (_, map) = access_json(&plain);
    let callers = |m: &Value| -> Vec<String> {
        m["mraps"][0]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["grants"].as_array().unwrap().iter().map(|g| g["callers"].as_str().unwrap().to_string()))
            .collect()
    };
    assert!(callers(&map).iter().any(|c| c == "org:o-abc123"));
    let zoned = write_config(tmp.path(), fixture, "[access]\nzone_of_trust = \"organization:o-abc123\"\n");
    let (code, map) = access_json(&zoned);
    assert_eq!(code, Some(0));
    assert!(!callers(&map).iter().any(|c| c == "org:o-abc123"), "{:?}", callers(&map));
    assert!(callers(&map).iter().any(|c| c.starts_with("principal:")), "configured principals stay");
    let bad = write_config(tmp.path(), fixture, "[access]\nzone_of_trust = \"everyone\"\n");
    let out = auditor(&["access"], &bad);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("key `access.zone_of_trust`: `everyone` must be `account` or `organization:o-...`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
