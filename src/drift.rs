//! Drift: what changed from one report to the next.
//!
//! Verdict flips per expectation and per bucket, policy documents that changed (by the hash of
//! their normalised text, so key order and whitespace are not a change), a Proposed MRAP policy
//! that appeared, passive buckets that stopped being failover-ready, inputs that became
//! unreadable, and findings that appeared or went away. Used by `diff` and by the daemon.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::report::{BucketDecision, Failover, Finding, PolicyHash, PolicyRecord, Report, Status, Verdict};

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
    pub from: PolicyHash,
    pub to: PolicyHash,
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
        let change = |change| PolicyChange {
            kind: k.0.clone(),
            resource: k.1.clone(),
            change,
            from: PolicyHash::Absent,
            to: n.hash.clone(),
        };
        match old_map.get(k) {
            None if n.hash.is_present() => out.push(change(PolicyChangeKind::Added)),
            None => {}
            Some(o) if o.hash == PolicyHash::Unreadable => {}
            Some(o) if o.hash != n.hash => {
                let kind = match (&o.hash, &n.hash) {
                    (_, PolicyHash::Unreadable) => PolicyChangeKind::BecameUnreadable,
                    (_, PolicyHash::Absent) => PolicyChangeKind::Removed,
                    (PolicyHash::Absent, _) => PolicyChangeKind::Added,
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
        if !new_map.contains_key(k) && o.hash.is_present() {
            out.push(PolicyChange {
                kind: k.0.clone(),
                resource: k.1.clone(),
                change: PolicyChangeKind::Removed,
                from: o.hash.clone(),
                to: PolicyHash::Absent,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{self, finding};
    use BucketDecision as D;
    use PolicyHash::{Absent, Unreadable};

    const B1: &str = "arn:aws:s3:::b1";
    const MRAP: &str = "arn:aws:s3::1:accesspoint/m.mrap";

    fn sha(h: &str) -> PolicyHash {
        PolicyHash::Sha256(h.into())
    }

    /// The fixture's expectation, holding, with the bucket policy `h1`.
    fn holds() -> Report {
        let mut r = fixture::one_bucket(Status::Holds, Verdict::Allow, D::Allow);
        r.policies = vec![fixture::policy("bucket", B1, sha("h1"), false)];
        r
    }

    fn set(r: &mut Report, status: Status, verdict: Verdict, decision: D) {
        r.expectations[0].status = status;
        r.expectations[0].verdict = verdict;
        r.expectations[0].buckets[0].decision = decision;
    }

    /// An access map of `m.mrap` → `b1` with one grant per `(path, callers)`.
    fn access(grants: &[(&str, &str)]) -> crate::access::AccessMap {
        let grants: Vec<_> = grants
            .iter()
            .map(|(path, callers)| {
                serde_json::json!({
                    "path": path, "callers": callers, "actions": ["s3:GetObject"], "keys": "*",
                    "conditions": [], "public": false, "cross_account": false,
                    "witness": {"principal": "p", "action": "s3:GetObject", "key": "k", "via": "internet", "context": {}}
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "generated_at": "", "source": "snapshot", "complete": true,
            "mraps": [{"mrap": "m.mrap", "buckets": [
                {"bucket": "b1", "account": "1", "route": "active", "grants": grants, "unknown": []}
            ]}]
        }))
        .unwrap()
    }

    /// Every kind of change `compare` reports, as `diff` prints it; `old` and `new` start from
    /// [`holds`].
    #[test]
    fn every_kind_of_change() {
        type Edit = fn(&mut Report);
        let same: Edit = |_| {};
        let cases: &[(&str, Edit, Edit, &[&str])] = &[
            ("nothing changed", same, same, &[]),
            (
                "verdict flips, with its bucket",
                same,
                |r| set(r, Status::Violated, Verdict::Deny, D::ImplicitDeny),
                &["VERDICT   app: allow -> deny (holds -> violated)", "BUCKET    app on b1: allow -> implicit_deny  r"],
            ),
            (
                "status alone changes (the expectation was edited)",
                same,
                |r| r.expectations[0].status = Status::Violated,
                &["VERDICT   app: allow -> allow (holds -> violated)"],
            ),
            (
                "known to unknown",
                same,
                |r| set(r, Status::Unknown, Verdict::Unknown, D::Unknown),
                &["VERDICT   app: allow -> unknown (holds -> unknown)", "BUCKET    app on b1: allow -> unknown  r"],
            ),
            (
                "unknown to known",
                |r| set(r, Status::Unknown, Verdict::Unknown, D::Unknown),
                same,
                &["VERDICT   app: unknown -> allow (unknown -> holds)", "BUCKET    app on b1: unknown -> allow  r"],
            ),
            (
                "a bucket's deciding kind of deny changes, the verdict does not",
                |r| set(r, Status::Violated, Verdict::Deny, D::ImplicitDeny),
                |r| set(r, Status::Violated, Verdict::Deny, D::ExplicitDeny),
                &["BUCKET    app on b1: implicit_deny -> explicit_deny  r"],
            ),
            (
                "a bucket new this cycle is not a change",
                same,
                |r| {
                    let mut b2 = r.expectations[0].buckets[0].clone();
                    b2.bucket = "b2".into();
                    b2.decision = D::ImplicitDeny;
                    r.expectations[0].buckets.push(b2);
                },
                &[],
            ),
            (
                "an expectation new this cycle is not a change",
                same,
                |r| {
                    let mut other = r.expectations[0].clone();
                    other.name = "other".into();
                    other.verdict = Verdict::Deny;
                    r.expectations.push(other);
                },
                &[],
            ),
            (
                "a pending change appears",
                same,
                |r| r.expectations[0].pending_change = true,
                &["PENDING   app: a Proposed MRAP policy would change the verdict"],
            ),
            (
                "a pending change that stays is not new",
                |r| r.expectations[0].pending_change = true,
                |r| r.expectations[0].pending_change = true,
                &[],
            ),
            ("a pending change that goes away is not reported", |r| r.expectations[0].pending_change = true, same, &[]),
            (
                "failover stops being ready",
                |r| r.expectations[0].failover = Failover::Ready,
                |r| r.expectations[0].failover = Failover::NotReady,
                &["FAILOVER  app: ready -> not_ready"],
            ),
            (
                "a passive bucket appears",
                same,
                |r| r.expectations[0].failover = Failover::Ready,
                &["FAILOVER  app: none -> ready"],
            ),
            (
                "a policy changes",
                same,
                |r| r.policies[0].hash = sha("h2"),
                &["POLICY    bucket arn:aws:s3:::b1: Changed"],
            ),
            (
                "a finding appears",
                same,
                |r| r.findings.push(finding("public-policy", B1, "anyone can read")),
                &["NEW       error public-policy arn:aws:s3:::b1: anyone can read"],
            ),
            (
                "a finding is resolved",
                |r| r.findings.push(finding("public-policy", B1, "anyone can read")),
                same,
                &["RESOLVED  error public-policy arn:aws:s3:::b1"],
            ),
            (
                "a reworded finding is the same finding",
                |r| r.findings.push(finding("public-policy", B1, "anyone can read")),
                |r| r.findings.push(finding("public-policy", B1, "anyone at all can read")),
                &[],
            ),
            (
                "the same code on another resource is a new finding and a resolved one",
                |r| r.findings.push(finding("public-policy", B1, "m")),
                |r| r.findings.push(finding("public-policy", "arn:aws:s3:::b2", "m")),
                &["NEW       error public-policy arn:aws:s3:::b2: m", "RESOLVED  error public-policy arn:aws:s3:::b1"],
            ),
            (
                "access gained, after the bucket policy changed",
                |r| r.access = Some(access(&[])),
                |r| {
                    r.access = Some(access(&[("mrap:internet", "anonymous")]));
                    r.policies[0].hash = sha("h2");
                },
                &[
                    "ACCESS    GAINED m.mrap b1: anonymous s3:GetObject keys * via mrap:internet (after: bucket arn:aws:s3:::b1 changed)",
                    "POLICY    bucket arn:aws:s3:::b1: Changed",
                ],
            ),
            (
                "access lost, no policy change to blame",
                |r| r.access = Some(access(&[("bucket:vpce-1", "account:1")])),
                |r| r.access = Some(access(&[])),
                &["ACCESS    lost   m.mrap b1: account:1 s3:GetObject keys * via bucket:vpce-1"],
            ),
            (
                "an access map on one side only compares nothing",
                same,
                |r| r.access = Some(access(&[("mrap:internet", "anonymous")])),
                &[],
            ),
        ];
        for (name, old_edit, new_edit, want) in cases {
            let (mut old, mut new) = (holds(), holds());
            old_edit(&mut old);
            new_edit(&mut new);
            let d = compare(&old, &new);
            let text = to_text(&d);
            let got: Vec<&str> = if d.is_empty() { Vec::new() } else { text.lines().collect() };
            assert_eq!(got, *want, "{name}");
            let flips = want.iter().any(|l| ["ACCESS", "VERDICT", "BUCKET"].iter().any(|p| l.starts_with(p)));
            assert_eq!(d.has_flips(), flips, "{name}: has_flips");
        }
        assert_eq!(to_text(&Drift::default()), "No changes.\n");
    }

    /// Every [`PolicyChangeKind`], and what is not a change, keyed by `(kind, resource)`.
    #[test]
    fn policy_changes() {
        use PolicyChangeKind::*;
        let bucket = |hash: PolicyHash, public: bool| fixture::policy("bucket", B1, hash, public);
        let vpce = fixture::policy("vpce", "vpce-1", Absent, false);
        // (case, old records, new records, the changes as (kind, from, to)).
        type Case =
            (&'static str, Vec<PolicyRecord>, Vec<PolicyRecord>, Vec<(PolicyChangeKind, PolicyHash, PolicyHash)>);
        let cases: Vec<Case> = vec![
            ("unchanged", vec![bucket(sha("h1"), false)], vec![bucket(sha("h1"), false)], vec![]),
            (
                "first seen",
                vec![vpce.clone()],
                vec![vpce.clone(), bucket(sha("h1"), false)],
                vec![(Added, Absent, sha("h1"))],
            ),
            ("first seen without a policy", vec![vpce.clone()], vec![vpce.clone(), bucket(Absent, false)], vec![]),
            (
                "first seen unreadable",
                vec![vpce.clone()],
                vec![vpce.clone(), bucket(Unreadable, false)],
                vec![(Added, Absent, Unreadable)],
            ),
            (
                "a policy is set",
                vec![bucket(Absent, false)],
                vec![bucket(sha("h1"), false)],
                vec![(Added, Absent, sha("h1"))],
            ),
            (
                "a document changes",
                vec![bucket(sha("h1"), false)],
                vec![bucket(sha("h2"), false)],
                vec![(Changed, sha("h1"), sha("h2"))],
            ),
            (
                "changed and public: a change",
                vec![bucket(sha("h1"), false)],
                vec![bucket(sha("h2"), true)],
                vec![(Changed, sha("h1"), sha("h2"))],
            ),
            (
                "the policy is deleted",
                vec![bucket(sha("h1"), false)],
                vec![bucket(Absent, false)],
                vec![(Removed, sha("h1"), Absent)],
            ),
            (
                "the resource is gone",
                vec![bucket(sha("h1"), false), vpce.clone()],
                vec![vpce.clone()],
                vec![(Removed, sha("h1"), Absent)],
            ),
            (
                "a resource without policy is gone",
                vec![bucket(Absent, false), vpce.clone()],
                vec![vpce.clone()],
                vec![],
            ),
            ("a report that saw no policy says nothing", vec![bucket(sha("h1"), false)], vec![], vec![]),
            (
                "becomes public",
                vec![bucket(sha("h1"), false)],
                vec![bucket(sha("h1"), true)],
                vec![(BecamePublic, sha("h1"), sha("h1"))],
            ),
            ("stops being public: not reported", vec![bucket(sha("h1"), true)], vec![bucket(sha("h1"), false)], vec![]),
            (
                "becomes unreadable",
                vec![bucket(sha("h1"), false)],
                vec![bucket(Unreadable, false)],
                vec![(BecameUnreadable, sha("h1"), Unreadable)],
            ),
            (
                "a missing policy becomes unreadable",
                vec![bucket(Absent, false)],
                vec![bucket(Unreadable, false)],
                vec![(BecameUnreadable, Absent, Unreadable)],
            ),
            ("stays unreadable", vec![bucket(Unreadable, false)], vec![bucket(Unreadable, false)], vec![]),
            (
                "readable again, changed: not a change (the baseline keeps the version)",
                vec![bucket(Unreadable, false)],
                vec![bucket(sha("h2"), false)],
                vec![],
            ),
            (
                "the same resource of another kind is another policy",
                vec![fixture::policy("mrap", B1, sha("h1"), false)],
                vec![bucket(sha("h1"), false)],
                vec![(Added, Absent, sha("h1")), (Removed, sha("h1"), Absent)],
            ),
        ];
        for (name, old, new, want) in cases {
            let got: Vec<_> = compare_policies(&old, &new).into_iter().map(|c| (c.change, c.from, c.to)).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    /// Which policy changes explain an access change: the bucket's, the MRAP's on MRAP paths,
    /// the endpoint's on that endpoint's paths.
    #[test]
    fn causes_of_an_access_change() {
        let change = |kind: &str, resource: &str| PolicyChange {
            kind: kind.into(),
            resource: resource.into(),
            change: PolicyChangeKind::Changed,
            from: sha("h1"),
            to: sha("h2"),
        };
        let cases = [
            ("the bucket's policy", "mrap:internet", change("bucket", B1), true),
            ("another bucket's policy", "mrap:internet", change("bucket", "arn:aws:s3:::b10"), false),
            ("the MRAP's policy, on an MRAP path", "mrap:vpce-1", change("mrap", MRAP), true),
            ("the MRAP's Proposed policy, on an MRAP path", "mrap:vpce-1", change("mrap_proposed", MRAP), true),
            ("the MRAP's policy, on a direct path", "bucket:vpce-1", change("mrap", MRAP), false),
            ("the endpoint's policy, through it", "bucket:vpce-1", change("vpce", "vpce-1"), true),
            ("the endpoint's policy, through the MRAP", "mrap:vpce-1", change("vpce", "vpce-1"), true),
            ("another endpoint's policy", "mrap:vpce-1", change("vpce", "vpce-2"), false),
            ("an endpoint's policy, from the internet", "mrap:internet", change("vpce", "vpce-1"), false),
        ];
        for (name, path, policy, explains) in cases {
            let map = access(&[(path, "anonymous")]);
            let mut access_change = crate::access::changes(&access(&[]), &map);
            let c = access_change.pop().unwrap();
            let got = causes(std::slice::from_ref(&policy), &c);
            assert_eq!(!got.is_empty(), explains, "{name}: {got:?}");
        }
    }
}
