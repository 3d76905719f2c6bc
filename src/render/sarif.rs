//! SARIF 2.1.0 (OASIS, errata 01) for code scanning: one rule per finding code and per
//! expectation status, one result per finding and per expectation.
//!
//! Levels: findings keep their severity (`error`, `warning`, `info` → `note`); an expectation
//! `violated` is `error`, `unknown` is `warning` (the auditor could not see what it needs),
//! `holds` is a `pass` result with level `none`. Locations: a finding on a planned resource points
//! at the plan (or overlay file) with the resource address as its logical location; other
//! findings at the snapshot file that holds the resource; expectations at the configuration file.

use serde_json::{Value, json};

use super::RenderContext;
use crate::policy::lint::Severity;
use crate::report::{ExpectationReport, Finding, Report, Status};

const INFORMATION_URI: &str = "https://github.com/mrap-auditor/mrap-auditor";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn status_rule(s: Status) -> (&'static str, &'static str, &'static str) {
    match s {
        Status::Violated => {
            ("expectation-violated", "error", "A bucket the MRAP routes to answers differently from the expectation")
        }
        Status::Unknown => (
            "expectation-unknown",
            "warning",
            "An input the expectation needs could not be read, parsed or known before apply",
        ),
        Status::Holds => ("expectation-holds", "none", "Every active bucket gives the expected answer"),
    }
}

/// The title of a finding code's rule (code scanning shows it as the alert's title).
fn describe(code: &str) -> &'static str {
    match code {
        "object-action-on-bucket-arn" => {
            "Object actions granted or denied on a bucket or MRAP ARN without `/*`: they match no object"
        }
        "arn-never-matches" => {
            "An ARN that can never match (placeholder bucket name, MRAP ARN with a region or another account)"
        }
        "source-ip-deny-through-endpoint" => {
            "A Deny on `aws:SourceIp` that every request through an interface endpoint hits"
        }
        "source-ip-allow-through-endpoint" => {
            "An Allow on `aws:SourceIp` that no request through an interface endpoint meets"
        }
        "bucket-not-in-mrap" => "A grant on a bucket outside the policy's own bucket or the MRAP",
        "bucket-arn-in-mrap-policy" => "A bucket ARN in an MRAP policy, which MRAP requests never match",
        "public-policy" => "A public bucket or MRAP policy",
        "invalid-policy" => "A policy document that is not valid: what depends on it is unknown",
        "unreadable-input" => "An input that could not be read or is not known: what depends on it is unknown",
        "endpoint-cannot-reach-mrap" => "An endpoint that cannot reach a Multi-Region Access Point",
        "mrap-not-ready" => "A Multi-Region Access Point that is not READY",
        "mrap-not-found" => "An expectation names an MRAP the world does not have",
        "routes-unreadable" => "The MRAP's routes could not be read: every bucket is treated as active",
        "endpoint-policy-without-principal" => "AWS refuses this endpoint policy: it has no Principal element",
        "endpoint-policy-system-id-wildcard" => {
            "AWS refuses this endpoint policy: a wildcard or numeric operator on a system-generated identifier key"
        }
        "endpoint-policy-short-wildcard" => {
            "AWS refuses this endpoint policy: a wildcard without six consecutive characters before or after it"
        }
        "endpoint-policy-partial-account-wildcard" => {
            "AWS refuses this endpoint policy: an ARN account field with an account id and a wildcard"
        }
        "plan-resource-not-audited" => {
            "A planned change no expectation reaches (a new resource, or one known only after apply)"
        }
        "plan-value-unknown" => "A planned value known only after apply: what depends on it is unknown",
        "plan-conflicting-changes" => "Two planned resources change the same policy",
        "plan-delete-keeps-policy" => "Destroying this resource leaves its policy in force",
        _ => "A finding of mrap-auditor",
    }
}

/// A relative or absolute path as a SARIF `uri-reference` (spaces and `%` escaped).
fn uri(path: &str) -> String {
    path.replace('%', "%25").replace(' ', "%20")
}

fn physical(file: &str) -> Value {
    json!({"physicalLocation": {"artifactLocation": {"uri": uri(file)}, "region": {"startLine": 1}}})
}

fn location(file: &str, logical: &str, kind: &str) -> Value {
    let mut l = physical(file);
    if let Some(obj) = l.as_object_mut() {
        obj.insert("logicalLocations".into(), json!([{"fullyQualifiedName": logical, "kind": kind}]));
    }
    l
}

/// Where a finding's resource lives: the plan resource that changes it, or the snapshot file.
fn finding_location(f: &Finding, report: &Report, ctx: &RenderContext<'_>) -> Value {
    if let Some(ch) = ctx
        .preflight
        .and_then(|p| p.changes.iter().rev().find(|c| c.resource == f.resource || c.origin.address == f.resource))
    {
        return location(&ch.origin.file, &ch.origin.address, "resource");
    }
    if let Some(o) = ctx.preflight.and_then(|p| p.unmatched.iter().find(|o| o.address == f.resource)) {
        return location(&o.file, &o.address, "resource");
    }
    let snapshot_dir = (report.source == "snapshot").then(|| report.snapshot.as_ref()?.path.clone()).flatten();
    let Some(dir) = snapshot_dir else {
        return location(ctx.config, &f.resource, "resource");
    };
    let dir = dir.trim_end_matches('/');
    let file = if let Some(bucket) = f.resource.split_once(":s3:::").map(|(_, b)| b) {
        let bucket = bucket.split('/').next().unwrap_or(bucket);
        if f.message.contains("Block Public Access") {
            format!("{dir}/s3/get-public-access-block/{bucket}.json")
        } else {
            format!("{dir}/s3/get-bucket-policy/{bucket}.json")
        }
    } else if f.resource.contains(":accesspoint/") {
        format!("{dir}/s3control/list-multi-region-access-points.json")
    } else {
        format!("{dir}/manifest.json")
    };
    location(&file, &f.resource, "resource")
}

fn expectation_message(e: &ExpectationReport) -> String {
    let mut m = format!(
        "{} {}: expect {}, got {} ({} via {})",
        e.status.name(),
        e.name,
        e.expect.name(),
        e.verdict.name(),
        e.mrap,
        e.via
    );
    if !e.summary.is_empty() {
        m.push_str(": ");
        m.push_str(&e.summary);
    }
    m
}

/// The SARIF log of a report.
pub fn to_sarif(report: &Report, ctx: &RenderContext<'_>) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let mut rule_index = |id: &str, level: &str, text: &str, help: Option<&str>| -> usize {
        if let Some(i) = ids.iter().position(|r| r == id) {
            return i;
        }
        let mut rule = json!({
            "id": id,
            "name": id,
            "shortDescription": {"text": text},
            "defaultConfiguration": {"level": level},
        });
        if let (Some(help), Some(obj)) = (help, rule.as_object_mut()) {
            obj.insert("help".into(), json!({"text": help}));
        }
        rules.push(rule);
        ids.push(id.to_string());
        ids.len() - 1
    };
    let mut results = Vec::new();
    for e in &report.expectations {
        let (id, lvl, text) = status_rule(e.status);
        let index = rule_index(id, lvl, text, None);
        let mut result = json!({
            "ruleId": id,
            "ruleIndex": index,
            "level": lvl,
            "message": {"text": expectation_message(e)},
            "locations": [location(ctx.config, &e.name, "expectation")],
            "partialFingerprints": {"expectation": e.name},
        });
        if e.status == Status::Holds {
            if let Some(obj) = result.as_object_mut() {
                obj.insert("kind".into(), json!("pass"));
            }
        }
        results.push(result);
    }
    for f in &report.findings {
        let index = rule_index(&f.code, level(f.severity), describe(&f.code), f.fix.as_deref());
        let mut text = f.message.clone();
        if let Some(fix) = &f.fix {
            text.push_str(&format!(" (fix: {fix})"));
        }
        results.push(json!({
            "ruleId": f.code,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": {"text": text},
            "locations": [finding_location(f, report, ctx)],
            "partialFingerprints": {"finding": format!("{}|{}", f.code, f.resource)},
        }));
    }
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mrap-auditor",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "invocations": [{"executionSuccessful": true, "endTimeUtc": report.generated_at}],
            "results": results,
        }],
    })
}
