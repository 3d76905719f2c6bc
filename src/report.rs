//! The audit report: the `check --format json` contract (DESIGN §6) and its text rendering.
//!
//! Field names are a contract: fields may be added, never renamed. Additions over DESIGN §6 are
//! marked "extension" below.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::config::Expect;
use crate::eval::decision::StatementRef;
use crate::path::PathLayer;
use crate::policy::lint::Severity;

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

macro_rules! names {
    ($($t:ty { $($v:ident => $n:expr),* })*) => {$(
        impl $t {
            pub fn name(self) -> &'static str {
                match self { $(<$t>::$v => $n),* }
            }
        }
    )*};
}

names! {
    Status { Holds => "holds", Violated => "violated", Unknown => "unknown" }
    Verdict { Allow => "allow", Deny => "deny", Intermittent => "intermittent", Unknown => "unknown" }
    Failover { Ready => "ready", NotReady => "not_ready", Unknown => "unknown", None => "none" }
    RouteRole { Active => "active", Passive => "passive" }
    BucketDecision { Allow => "allow", ImplicitDeny => "implicit_deny", ExplicitDeny => "explicit_deny", Unknown => "unknown" }
}

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
    pub hash: Option<String>,
    pub public: bool,
    /// The normalised document, for history; not part of the JSON report.
    #[serde(skip)]
    pub normalized: Option<String>,
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
        let status = match e.status {
            Status::Holds => "HOLDS",
            Status::Violated => "VIOLATED",
            Status::Unknown => "UNKNOWN",
        };
        let _ = writeln!(
            out,
            "{status:<9} {}  expect {}, got {}  ({} via {})",
            e.name,
            e.expect_name(),
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
        let label = match f.status {
            Status::Holds => "FORBID HOLDS    ",
            Status::Violated => "FORBID VIOLATED ",
            Status::Unknown => "FORBID UNKNOWN  ",
        };
        let _ = writeln!(out, "{label} {}  ({} grant(s) match)", f.name, f.grants.len());
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

impl ExpectationReport {
    fn expect_name(&self) -> &'static str {
        match self.expect {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
        }
    }
}
