//! Drift: what changed from one report to the next.
//!
//! Verdict flips per expectation and per bucket, policy documents that changed (by the hash of
//! their normalised text, so key order and whitespace are not a change), a Proposed MRAP policy
//! that appeared, passive buckets that stopped being failover-ready, inputs that became
//! unreadable, and findings that appeared or went away. Used by `diff` and by the daemon.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::report::{BucketDecision, Failover, Finding, PolicyRecord, Report, Status, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictChange {
    pub expectation: String,
    pub mrap: String,
    pub from: Verdict,
    pub to: Verdict,
    pub status_from: Status,
    pub status_to: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionChange {
    pub expectation: String,
    pub bucket: String,
    pub from: BucketDecision,
    pub to: BucketDecision,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyChangeKind {
    Added,
    Removed,
    Changed,
    BecamePublic,
    BecameUnreadable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyChange {
    pub kind: String,
    pub resource: String,
    pub change: PolicyChangeKind,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailoverChange {
    pub expectation: String,
    pub from: Failover,
    pub to: Failover,
}

/// An expectation or resource whose state became unknown, or known again. Not a verdict change:
/// the daemon compares verdicts with the last *known* state (see [`crate::baseline`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownChange {
    pub expectation: Option<String>,
    /// The MRAP of an expectation, or the resource (ARN, endpoint id, `source`).
    pub subject: String,
    /// The status before (`became_unknown`) or after (`known_again`), for an expectation.
    pub status: Option<Status>,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Drift {
    pub verdict_changes: Vec<VerdictChange>,
    pub decision_changes: Vec<DecisionChange>,
    pub policy_changes: Vec<PolicyChange>,
    /// Expectations whose MRAP gained a Proposed policy that changes their verdict.
    pub pending_changes: Vec<String>,
    pub failover_changes: Vec<FailoverChange>,
    pub new_findings: Vec<Finding>,
    pub resolved_findings: Vec<Finding>,
    /// Grants gained or lost between the two access maps (DESIGN §10), each with the policy
    /// changes that caused it.
    pub access_changes: Vec<crate::access::AccessChange>,
    /// Daemon only: what could not be read this cycle although it could the cycle before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub became_unknown: Vec<KnownChange>,
    /// Daemon only: what can be read again (compared with its last known state, not with
    /// "unknown").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_again: Vec<KnownChange>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        *self == Drift::default()
    }

    /// Whether any verdict, bucket decision or grant of the access map flipped (the exit code
    /// of `diff`).
    pub fn has_flips(&self) -> bool {
        !self.verdict_changes.is_empty() || !self.decision_changes.is_empty() || !self.access_changes.is_empty()
    }
}

/// Compares two reports of the same configuration.
pub fn compare(old: &Report, new: &Report) -> Drift {
    let mut drift = Drift::default();
    let old_exps: BTreeMap<&str, _> = old.expectations.iter().map(|e| (e.name.as_str(), e)).collect();
    for e in &new.expectations {
        let Some(before) = old_exps.get(e.name.as_str()) else { continue };
        if before.verdict != e.verdict || before.status != e.status {
            drift.verdict_changes.push(VerdictChange {
                expectation: e.name.clone(),
                mrap: e.mrap.clone(),
                from: before.verdict,
                to: e.verdict,
                status_from: before.status,
                status_to: e.status,
            });
        }
        let old_buckets: BTreeMap<&str, _> = before.buckets.iter().map(|b| (b.bucket.as_str(), b)).collect();
        for b in &e.buckets {
            if let Some(ob) = old_buckets.get(b.bucket.as_str()) {
                if ob.decision != b.decision {
                    drift.decision_changes.push(DecisionChange {
                        expectation: e.name.clone(),
                        bucket: b.bucket.clone(),
                        from: ob.decision,
                        to: b.decision,
                        reason: b.reason.clone(),
                    });
                }
            }
        }
        if e.pending_change && !before.pending_change {
            drift.pending_changes.push(e.name.clone());
        }
        if before.failover != e.failover {
            drift.failover_changes.push(FailoverChange {
                expectation: e.name.clone(),
                from: before.failover,
                to: e.failover,
            });
        }
    }
    drift.policy_changes = compare_policies(&old.policies, &new.policies);
    if let (Some(a), Some(b)) = (&old.access, &new.access) {
        drift.access_changes = crate::access::changes(a, b);
        for c in &mut drift.access_changes {
            c.cause = causes(&drift.policy_changes, c);
        }
    }
    let old_findings: BTreeSet<_> = old.findings.iter().map(finding_key).collect();
    let new_findings: BTreeSet<_> = new.findings.iter().map(finding_key).collect();
    drift.new_findings = new.findings.iter().filter(|f| !old_findings.contains(&finding_key(f))).cloned().collect();
    drift.resolved_findings =
        old.findings.iter().filter(|f| !new_findings.contains(&finding_key(f))).cloned().collect();
    drift
}

/// The policy changes that can explain an access change: the bucket's policy, the MRAP's
/// (mrap paths), the endpoint's (endpoint paths).
fn causes(policies: &[PolicyChange], c: &crate::access::AccessChange) -> Vec<String> {
    let door = c.grant.path.split_once(':').map_or("", |(_, d)| d);
    let through_mrap = c.grant.path.starts_with("mrap:");
    policies
        .iter()
        .filter(|p| match p.kind.as_str() {
            "bucket" => p.resource.ends_with(&format!(":::{}", c.bucket)),
            "mrap" | "mrap_proposed" => through_mrap && p.resource.ends_with(&format!("/{}", c.mrap)),
            "vpce" => p.resource == door,
            _ => false,
        })
        .map(|p| format!("{} {} {:?}", p.kind, p.resource, p.change).to_lowercase())
        .collect()
}

/// Findings are the same finding when code and resource match: messages carry details (counts,
/// reasons) that change without the finding changing, and keying by them made every reworded
/// message a "resolved" and a "new" finding.
pub fn finding_key(f: &Finding) -> (String, String) {
    (f.code.clone(), f.resource.clone())
}

/// The hash recorded for a policy that could not be read this cycle.
pub const UNREADABLE: &str = "unreadable";

/// Policy changes. A policy that could not be read is reported once as such, and is not a
/// change of document (nor is its return); a report that saw no policy at all (the source was
/// unavailable) says nothing about removals.
fn compare_policies(old: &[PolicyRecord], new: &[PolicyRecord]) -> Vec<PolicyChange> {
    if new.is_empty() {
        return Vec::new();
    }
    let key = |p: &PolicyRecord| (p.kind.clone(), p.resource.clone());
    let old_map: BTreeMap<_, _> = old.iter().map(|p| (key(p), p)).collect();
    let new_map: BTreeMap<_, _> = new.iter().map(|p| (key(p), p)).collect();
    let mut out = Vec::new();
    for (k, n) in &new_map {
        let change =
            |change| PolicyChange { kind: k.0.clone(), resource: k.1.clone(), change, from: None, to: n.hash.clone() };
        match old_map.get(k) {
            None if n.hash.is_some() => out.push(change(PolicyChangeKind::Added)),
            None => {}
            Some(o) if o.hash.as_deref() == Some(UNREADABLE) => {}
            Some(o) if o.hash != n.hash => {
                let kind = match (&o.hash, &n.hash) {
                    (_, Some(h)) if h == UNREADABLE => PolicyChangeKind::BecameUnreadable,
                    (Some(_), None) => PolicyChangeKind::Removed,
                    (None, Some(_)) => PolicyChangeKind::Added,
                    _ => PolicyChangeKind::Changed,
                };
                out.push(PolicyChange { from: o.hash.clone(), ..change(kind) });
            }
            Some(o) if n.public && !o.public => {
                out.push(PolicyChange { from: o.hash.clone(), ..change(PolicyChangeKind::BecamePublic) })
            }
            Some(_) => {}
        }
    }
    for (k, o) in &old_map {
        if !new_map.contains_key(k) && o.hash.is_some() {
            out.push(PolicyChange {
                kind: k.0.clone(),
                resource: k.1.clone(),
                change: PolicyChangeKind::Removed,
                from: o.hash.clone(),
                to: None,
            });
        }
    }
    out
}

/// Text for `diff` and logs.
pub fn to_text(drift: &Drift) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if drift.is_empty() {
        out.push_str("No changes.\n");
        return out;
    }
    for c in &drift.access_changes {
        let _ = writeln!(
            out,
            "ACCESS    {} {} {}: {} {} keys {} via {}{}",
            if c.direction == "gained" { "GAINED" } else { "lost  " },
            c.mrap,
            c.bucket,
            c.grant.callers,
            c.grant.actions.join(","),
            c.grant.keys,
            c.grant.path,
            if c.cause.is_empty() { String::new() } else { format!(" (after: {})", c.cause.join("; ")) }
        );
    }
    for v in &drift.verdict_changes {
        let _ = writeln!(
            out,
            "VERDICT   {}: {} -> {} ({} -> {})",
            v.expectation,
            v.from.name(),
            v.to.name(),
            v.status_from.name(),
            v.status_to.name()
        );
    }
    for d in &drift.decision_changes {
        let _ = writeln!(
            out,
            "BUCKET    {} on {}: {} -> {}  {}",
            d.expectation,
            d.bucket,
            d.from.name(),
            d.to.name(),
            d.reason
        );
    }
    for p in &drift.policy_changes {
        let _ = writeln!(out, "POLICY    {} {}: {:?}", p.kind, p.resource, p.change);
    }
    for e in &drift.pending_changes {
        let _ = writeln!(out, "PENDING   {e}: a Proposed MRAP policy would change the verdict");
    }
    for f in &drift.failover_changes {
        let _ = writeln!(out, "FAILOVER  {}: {} -> {}", f.expectation, f.from.name(), f.to.name());
    }
    for f in &drift.new_findings {
        let _ = writeln!(out, "NEW       {} {} {}: {}", f.severity.name(), f.code, f.resource, f.message);
    }
    for f in &drift.resolved_findings {
        let _ = writeln!(out, "RESOLVED  {} {} {}", f.severity.name(), f.code, f.resource);
    }
    for k in &drift.became_unknown {
        let _ = writeln!(out, "UNKNOWN   {} {}: {}", k.expectation.as_deref().unwrap_or("-"), k.subject, k.detail);
    }
    for k in &drift.known_again {
        let _ = writeln!(out, "KNOWN     {} {}: {}", k.expectation.as_deref().unwrap_or("-"), k.subject, k.detail);
    }
    out
}
