//! The audit report: the `check --format json` contract (DESIGN §6) and its text rendering.
//!
//! Field names are a contract: fields may be added, never renamed. Additions over DESIGN §6 are
//! marked "extension" below.
//!
//! The report's vocabulary (what an expectation expects, statuses, verdicts, decisions) is defined
//! here and the configuration imports it: the config is one way to fill a report, not its owner.
//! Each enum's wire name is its serde name, read by `name()` and `Display` ([`wire_names!`]).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::eval::decision::StatementRef;
use crate::path::PathLayer;
use crate::policy::lint::Severity;
use crate::util::wire_names;

/// What an expectation says about the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Allow,
    Deny,
}

impl Expect {
    /// Whether `decision` is a *known* answer other than the expected one: a deny (implicit or
    /// explicit) when `allow` is expected, an allow when `deny` is. An unknown decision
    /// contradicts nothing — it is not yet an answer — so the question "violated?" can be
    /// settled by the known decisions alone, whatever the unknowns (DESIGN §6 `status`).
    pub fn contradicted_by(self, decision: BucketDecision) -> bool {
        match self {
            Expect::Allow => decision.denies(),
            Expect::Deny => decision == BucketDecision::Allow,
        }
    }

    /// Whether `decision` is the expected answer. Unknown meets nothing; for a known decision this
    /// is `!contradicted_by`.
    pub fn met_by(self, decision: BucketDecision) -> bool {
        match self {
            Expect::Allow => decision == BucketDecision::Allow,
            Expect::Deny => decision.denies(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub generated_at: String,
    /// `snapshot` or `aws`.
    pub source: String,
    /// Extension: what was audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotInfo>,
    pub expectations: Vec<ExpectationReport>,
    pub findings: Vec<Finding>,
    /// Extension: every policy document seen, normalised and hashed (for drift and history).
    #[serde(default)]
    pub policies: Vec<PolicyRecord>,
    /// DESIGN §10: each `[[forbid]]` checked against the access map.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbids: Vec<crate::access::ForbidReport>,
    /// Extension (DESIGN §10): the cycle's access map, kept with the report in the history so
    /// that access drift survives restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<crate::access::AccessMap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Holds,
    Violated,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Deny,
    Intermittent,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failover {
    Ready,
    NotReady,
    Unknown,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteRole {
    Active,
    Passive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketDecision {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
    Unknown,
}

impl BucketDecision {
    /// An implicit or an explicit deny.
    pub fn denies(self) -> bool {
        matches!(self, BucketDecision::ImplicitDeny | BucketDecision::ExplicitDeny)
    }
}

impl From<crate::eval::Decision> for BucketDecision {
    fn from(d: crate::eval::Decision) -> BucketDecision {
        match d {
            crate::eval::Decision::Allow => BucketDecision::Allow,
            crate::eval::Decision::ImplicitDeny => BucketDecision::ImplicitDeny,
            crate::eval::Decision::ExplicitDeny => BucketDecision::ExplicitDeny,
            crate::eval::Decision::Unknown => BucketDecision::Unknown,
        }
    }
}

wire_names!(Expect, Status, Verdict, Failover, RouteRole, BucketDecision);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationReport {
    pub name: String,
    pub mrap: String,
    pub expect: Expect,
    pub status: Status,
    pub verdict: Verdict,
    pub buckets: Vec<BucketReport>,
    pub failover: Failover,
    pub pending_change: bool,
    /// Extension: the request.
    pub principal: String,
    pub action: String,
    #[serde(default)]
    pub key: String,
    pub via: String,
    /// Extension: the verdict under the MRAP's Proposed policy, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_verdict: Option<Verdict>,
    /// Extension: one line saying why, for people.
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketReport {
    pub bucket: String,
    pub account: String,
    pub region: String,
    pub route: RouteRole,
    pub decision: BucketDecision,
    pub deciding_layer: Option<PathLayer>,
    /// Extension: the deciding statement (for an implicit deny: the nearest miss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementRef>,
    /// Extension: why, in one line.
    #[serde(default)]
    pub reason: String,
    /// Extension: the decision under the MRAP's Proposed policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_decision: Option<BucketDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    pub resource: String,
    pub message: String,
    /// Extension: how to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// A policy document as seen in this report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// `bucket`, `mrap`, `mrap_proposed` or `vpce`.
    pub kind: String,
    /// ARN or endpoint id.
    pub resource: String,
    /// SHA-256 of the normalised document (key order and whitespace do not count); `null` when
    /// there is no policy; `unreadable` when it could not be read.
    #[serde(default)]
    pub hash: PolicyHash,
    pub public: bool,
    /// The normalised document, for history; not part of the JSON report.
    #[serde(skip)]
    pub normalized: Option<String>,
}

/// What a report knows of a policy document's version. On the wire (the report JSON and the
/// history database) it is what it always was: `null`, `"unreadable"`, or the hash as a string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyHash {
    /// There is no policy (AWS's default applies).
    #[default]
    Absent,
    /// The policy could not be read this cycle: its version is unknown, which is neither a new
    /// version nor its removal.
    Unreadable,
    /// The lower-case hex SHA-256 of the normalised document; of the raw text, prefixed `raw:`,
    /// when the document is not JSON.
    Sha256(String),
}

/// The wire form of [`PolicyHash::Unreadable`]; no SHA-256 hex string can be it.
const UNREADABLE: &str = "unreadable";

impl PolicyHash {
    /// The wire form: `None` for an absent policy.
    pub fn as_wire(&self) -> Option<&str> {
        match self {
            PolicyHash::Absent => None,
            PolicyHash::Unreadable => Some(UNREADABLE),
            PolicyHash::Sha256(h) => Some(h),
        }
    }

    /// The inverse of [`PolicyHash::as_wire`].
    pub fn from_wire(wire: Option<String>) -> PolicyHash {
        match wire {
            None => PolicyHash::Absent,
            Some(h) if h == UNREADABLE => PolicyHash::Unreadable,
            Some(h) => PolicyHash::Sha256(h),
        }
    }

    /// There is a policy, whether or not it could be read.
    pub fn is_present(&self) -> bool {
        *self != PolicyHash::Absent
    }
}

impl Serialize for PolicyHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_wire().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PolicyHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<String>::deserialize(deserializer).map(PolicyHash::from_wire)
    }
}

impl Report {
    /// The exit code of `check`: 1 if any expectation is violated, else 2 if any is unknown.
    pub fn worst_status(&self) -> Status {
        let forbid = |s: Status| self.forbids.iter().any(|f| f.status == s);
        if self.expectations.iter().any(|e| e.status == Status::Violated) || forbid(Status::Violated) {
            Status::Violated
        } else if self.expectations.iter().any(|e| e.status == Status::Unknown) || forbid(Status::Unknown) {
            Status::Unknown
        } else {
            Status::Holds
        }
    }
}

/// The text form: one line per expectation, its buckets beneath, then the findings.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    let what = report.snapshot.as_ref().map_or(String::new(), |s| {
        let mut parts = Vec::new();
        if let Some(p) = &s.path {
            parts.push(p.clone());
        }
        if let Some(a) = &s.account_id {
            parts.push(format!("account {a}"));
        }
        if let Some(c) = &s.captured_at {
            parts.push(format!("captured {c}"));
        }
        format!(" ({})", parts.join(", "))
    });
    let _ = writeln!(out, "mrap-auditor check at {}: {} source{what}", report.generated_at, report.source);
    let _ = writeln!(out);
    for e in &report.expectations {
        let status = e.status.name().to_ascii_uppercase();
        let _ = writeln!(
            out,
            "{status:<9} {}  expect {}, got {}  ({} via {})",
            e.name,
            e.expect.name(),
            e.verdict.name(),
            e.mrap,
            e.via
        );
        for b in &e.buckets {
            let layer = b.deciding_layer.map_or("-", PathLayer::name);
            let _ = writeln!(
                out,
                "    {:<24} {:<14} {:<8} {:<14} {:<20} {}",
                b.bucket,
                b.region,
                b.route.name(),
                b.decision.name(),
                layer,
                b.reason
            );
        }
        let mut notes = Vec::new();
        if e.failover != Failover::None {
            notes.push(format!("failover: {}", e.failover.name()));
        }
        if e.pending_change {
            notes.push(format!(
                "PENDING CHANGE: the Proposed MRAP policy makes the verdict {}",
                e.proposed_verdict.map_or("unknown", Verdict::name)
            ));
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "    {}", notes.join("; "));
        }
    }
    if report.expectations.is_empty() {
        let _ = writeln!(out, "no expectations configured");
    }
    for f in &report.forbids {
        let status = f.status.name().to_ascii_uppercase();
        let _ = writeln!(out, "FORBID {status:<9} {}  ({} grant(s) match)", f.name, f.grants.len());
        for g in &f.grants {
            let _ = writeln!(
                out,
                "    {}  {}  {}  {}  keys {}",
                g.bucket,
                g.grant.path,
                g.grant.callers,
                g.grant.actions.join(","),
                g.grant.keys
            );
        }
    }
    let _ = writeln!(out);
    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.");
    } else {
        let _ = writeln!(out, "Findings ({}):", report.findings.len());
        for f in &report.findings {
            let _ = writeln!(out, "  {:<8} {:<34} {}", f.severity.name(), f.code, f.resource);
            let _ = writeln!(out, "           {}", f.message);
            if let Some(fix) = &f.fix {
                let _ = writeln!(out, "           fix: {fix}");
            }
        }
    }
    let counts = [Status::Holds, Status::Violated, Status::Unknown]
        .map(|s| report.expectations.iter().filter(|e| e.status == s).count());
    let _ = writeln!(out);
    let _ = writeln!(out, "{} holds, {} violated, {} unknown", counts[0], counts[1], counts[2]);
    out
}

/// Reports for unit tests, built one way for every module that needs one.
#[cfg(test)]
pub(crate) mod fixture {
    use super::*;

    /// An error finding without a fix.
    pub(crate) fn finding(code: &str, resource: &str, message: &str) -> Finding {
        Finding {
            severity: crate::policy::lint::Severity::Error,
            code: code.into(),
            resource: resource.into(),
            message: message.into(),
            fix: None,
        }
    }

    /// A report of one expectation `app` (expect `allow`, `p` doing `a` on `k` via `v` to
    /// `m.mrap`) with one active bucket `b1`, no findings, no policies.
    pub(crate) fn one_bucket(status: Status, verdict: Verdict, decision: BucketDecision) -> Report {
        Report {
            generated_at: String::new(),
            source: "snapshot".into(),
            snapshot: None,
            expectations: vec![ExpectationReport {
                name: "app".into(),
                mrap: "m.mrap".into(),
                expect: Expect::Allow,
                status,
                verdict,
                buckets: vec![BucketReport {
                    bucket: "b1".into(),
                    account: "1".into(),
                    region: "us-east-1".into(),
                    route: RouteRole::Active,
                    decision,
                    deciding_layer: None,
                    statement: None,
                    reason: "r".into(),
                    proposed_decision: None,
                }],
                failover: Failover::None,
                pending_change: false,
                principal: "p".into(),
                action: "a".into(),
                key: "k".into(),
                via: "v".into(),
                proposed_verdict: None,
                summary: "s".into(),
            }],
            findings: vec![],
            policies: vec![],
            forbids: Vec::new(),
            access: None,
        }
    }

    /// A policy record of `kind` for `resource`.
    pub(crate) fn policy(kind: &str, resource: &str, hash: PolicyHash, public: bool) -> PolicyRecord {
        PolicyRecord { kind: kind.into(), resource: resource.into(), hash, public, normalized: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BucketDecision::{Allow, ExplicitDeny, ImplicitDeny, Unknown};

    #[test]
    fn expect_against_each_decision() {
        // (expect, decision, contradicted_by, met_by)
        let cases = [
            ("allow / allow", Expect::Allow, Allow, false, true),
            ("allow / implicit deny", Expect::Allow, ImplicitDeny, true, false),
            ("allow / explicit deny", Expect::Allow, ExplicitDeny, true, false),
            ("allow / unknown: neither", Expect::Allow, Unknown, false, false),
            ("deny / allow", Expect::Deny, Allow, true, false),
            ("deny / implicit deny", Expect::Deny, ImplicitDeny, false, true),
            ("deny / explicit deny", Expect::Deny, ExplicitDeny, false, true),
            ("deny / unknown: neither", Expect::Deny, Unknown, false, false),
        ];
        for (name, expect, decision, contradicted, met) in cases {
            assert_eq!(expect.contradicted_by(decision), contradicted, "{name}: contradicted_by");
            assert_eq!(expect.met_by(decision), met, "{name}: met_by");
        }
    }

    /// `name()` and `Display` are the serde names, for every variant of every report enum.
    #[test]
    fn wire_names_are_the_json_names() {
        fn check<T: Serialize + std::fmt::Display + Copy>(name: &str, values: &[T], names: fn(T) -> &'static str) {
            for v in values {
                let json = serde_json::to_value(v).unwrap();
                assert_eq!(json, names(*v), "{name}");
                assert_eq!(v.to_string(), names(*v), "{name}: Display");
                assert!(!names(*v).is_empty(), "{name}");
            }
        }
        check("expect", &[Expect::Allow, Expect::Deny], Expect::name);
        check("status", &[Status::Holds, Status::Violated, Status::Unknown], Status::name);
        check("verdict", &[Verdict::Allow, Verdict::Deny, Verdict::Intermittent, Verdict::Unknown], Verdict::name);
        check("failover", &[Failover::Ready, Failover::NotReady, Failover::Unknown, Failover::None], Failover::name);
        check("route", &[RouteRole::Active, RouteRole::Passive], RouteRole::name);
        check("decision", &[Allow, ImplicitDeny, ExplicitDeny, Unknown], BucketDecision::name);
        check("severity", &[Severity::Info, Severity::Warning, Severity::Error], Severity::name);
        use PathLayer as L;
        let layers = [L::Structural, L::Vpce, L::Scp, L::Rcp, L::Mrap, L::Bucket, L::Identity, L::BlockPublicAccess];
        check("layer", &layers, PathLayer::name);
        assert_eq!(Failover::NotReady.name(), "not_ready");
        assert_eq!(PathLayer::BlockPublicAccess.name(), "block_public_access");
        assert_eq!(crate::util::from_wire_name::<Expect>("deny"), Some(Expect::Deny));
    }

    #[test]
    fn policy_hash_wire_form_round_trips() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let cases = [
            ("no policy", PolicyHash::Absent, serde_json::json!(null)),
            ("could not be read", PolicyHash::Unreadable, serde_json::json!("unreadable")),
            ("a document", PolicyHash::Sha256(hex.into()), serde_json::json!(hex)),
            (
                "not JSON: hashed as text",
                PolicyHash::Sha256(format!("raw:{hex}")),
                serde_json::json!(format!("raw:{hex}")),
            ),
        ];
        for (name, hash, wire) in cases {
            let record = fixture::policy("bucket", "arn:aws:s3:::b", hash.clone(), false);
            let json = serde_json::to_value(&record).unwrap();
            assert_eq!(json["hash"], wire, "{name}: the wire form");
            let back: PolicyRecord = serde_json::from_value(json).unwrap();
            assert_eq!(back.hash, hash, "{name}: read back");
            assert_eq!(PolicyHash::from_wire(hash.as_wire().map(str::to_string)), hash, "{name}: as_wire");
        }
        let without: PolicyRecord =
            serde_json::from_str(r#"{"kind":"vpce","resource":"vpce-1","public":false}"#).unwrap();
        assert_eq!(without.hash, PolicyHash::Absent, "a record written without `hash` has no policy");
    }
}
