//! The last *known* state of every expectation and resource, which the daemon measures drift
//! against, so that a passing error neither flips a verdict nor resolves a finding.
//!
//! A cycle that cannot read an input (the snapshot directory briefly unreadable, an AWS call
//! throttled, a cycle that timed out) publishes `unknown` for what depends on it: stale verdicts
//! are never served as current. But drift and history compare with the baseline, in which
//! everything the cycle could not know keeps its last known state:
//! - an expectation that becomes unknown is a `became_unknown` event, not a verdict change, and
//!   the next cycle that knows is compared with the verdict before the gap (`known_again`, and a
//!   verdict change only if it really changed);
//! - a finding is resolved only by a cycle that could read its resource;
//! - a policy that could not be read keeps its last known version.
//!
//! Out of scope: the published report, metrics and alerts (they say what the current cycle
//! knows; alerts have their own keep-firing rule in `export::alerts`).

use std::collections::{BTreeMap, BTreeSet};

use crate::drift::{self, Drift, KnownChange};
use crate::report::{BucketDecision, Finding, PolicyHash, Report, Status};

/// The finding of an input that could not be read.
pub const UNREADABLE_INPUT: &str = "unreadable-input";
/// Findings of a cycle that produced nothing it read (the daemon adds them).
pub const CYCLE_FAILURES: &[&str] = &["cycle-timeout", "audit-failed"];
/// The resource of the `unreadable-input` finding for the MRAP listing: without it, nothing of
/// the cycle could be read.
const LISTING: &str = "s3control:ListMultiRegionAccessPoints";
const MANIFEST: &str = "manifest.json";

/// Findings that describe the cycle's reading rather than the world: they appear as
/// `became_unknown` / `known_again`, never as new or resolved findings.
fn is_reading_finding(f: &Finding) -> bool {
    f.code == UNREADABLE_INPUT || CYCLE_FAILURES.contains(&f.code.as_str())
}

/// What a report could read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readable {
    /// Nothing: the cycle failed, or the MRAP listing or manifest could not be read.
    nothing: bool,
    /// Resources with an `unreadable-input` finding.
    unreadable: BTreeSet<String>,
}

impl Readable {
    pub fn of(report: &Report) -> Readable {
        let nothing = report.findings.iter().any(|f| {
            CYCLE_FAILURES.contains(&f.code.as_str())
                || (f.code == UNREADABLE_INPUT && (f.resource == LISTING || f.resource == MANIFEST))
        });
        let unreadable =
            report.findings.iter().filter(|f| f.code == UNREADABLE_INPUT).map(|f| f.resource.clone()).collect();
        Readable { nothing, unreadable }
    }

    /// Whether the report's cycle could read this resource (ARN, endpoint id, ...).
    pub fn could_read(&self, resource: &str) -> bool {
        !self.nothing && !self.unreadable.contains(resource)
    }

    pub fn read_nothing(&self) -> bool {
        self.nothing
    }
}

/// The new baseline: `new`, where everything it could not know keeps `baseline`'s last known
/// state.
pub fn advance(baseline: &Report, new: &Report) -> Report {
    let readable = Readable::of(new);
    let mut merged = new.clone();
    let known: BTreeMap<&str, _> = baseline.expectations.iter().map(|e| (e.name.as_str(), e)).collect();
    for e in &mut merged.expectations {
        let Some(before) = known.get(e.name.as_str()) else { continue };
        if e.status == Status::Unknown && before.status != Status::Unknown {
            *e = (*before).clone();
            continue;
        }
        // A known verdict with some buckets unknown: those keep their last known decision.
        for b in &mut e.buckets {
            if b.decision != BucketDecision::Unknown {
                continue;
            }
            if let Some(ob) = before.buckets.iter().find(|ob| ob.bucket == b.bucket) {
                if ob.decision != BucketDecision::Unknown {
                    *b = ob.clone();
                }
            }
        }
    }
    let present: BTreeSet<(String, String)> = merged.findings.iter().map(drift::finding_key).collect();
    for f in &baseline.findings {
        if !is_reading_finding(f) && !readable.could_read(&f.resource) && !present.contains(&drift::finding_key(f)) {
            merged.findings.push(f.clone());
        }
    }
    let policy_key = |p: &crate::report::PolicyRecord| (p.kind.clone(), p.resource.clone());
    let old_policies: BTreeMap<_, _> = baseline.policies.iter().map(|p| (policy_key(p), p)).collect();
    for p in &mut merged.policies {
        if p.hash == PolicyHash::Unreadable {
            if let Some(o) = old_policies.get(&policy_key(p)) {
                *p = (*o).clone();
            }
        }
    }
    // A cycle without an access map (it could not run) keeps the last map: access gained
    // meanwhile is then measured against it (DESIGN §10 "Access drift").
    if merged.access.is_none() {
        merged.access = baseline.access.clone();
    }
    if readable.read_nothing() {
        let seen: BTreeSet<_> = merged.policies.iter().map(policy_key).collect();
        merged.policies.extend(baseline.policies.iter().filter(|p| !seen.contains(&policy_key(p))).cloned());
    }
    merged
}

/// Drift of one daemon cycle: verdict, decision, policy and finding changes against the
/// last known state (`baseline`), plus what became unknown or known again since the `previous`
/// published report. Returns the drift and the new baseline.
pub fn drift(previous: &Report, baseline: &Report, new: &Report) -> (Drift, Report) {
    let next = advance(baseline, new);
    let mut d = drift::compare(baseline, &next);
    // Known to known only: a verdict that is unknown on either side is a gap, not a change.
    d.verdict_changes.retain(|v| v.status_from != Status::Unknown && v.status_to != Status::Unknown);
    d.decision_changes.retain(|c| c.from != BucketDecision::Unknown && c.to != BucketDecision::Unknown);
    d.failover_changes
        .retain(|f| f.from != crate::report::Failover::Unknown && f.to != crate::report::Failover::Unknown);
    d.new_findings.retain(|f| !is_reading_finding(f));
    d.resolved_findings.retain(|f| !is_reading_finding(f));
    transitions(previous, new, &mut d);
    (d, next)
}

/// `became_unknown` / `known_again`: expectations whose status left or reached `unknown`, and
/// inputs (and whole cycles) that stopped or started being readable, since `previous`.
fn transitions(previous: &Report, new: &Report, d: &mut Drift) {
    let before: BTreeMap<&str, _> = previous.expectations.iter().map(|e| (e.name.as_str(), e)).collect();
    for e in &new.expectations {
        let Some(b) = before.get(e.name.as_str()) else { continue };
        let change = |status: Status, detail: String| KnownChange {
            expectation: Some(e.name.clone()),
            subject: e.mrap.clone(),
            status: Some(status),
            detail,
        };
        match (b.status == Status::Unknown, e.status == Status::Unknown) {
            (false, true) => d.became_unknown.push(change(b.status, format!("was {}: {}", b.status.name(), e.summary))),
            (true, false) => d.known_again.push(change(e.status, format!("now {}: {}", e.status.name(), e.summary))),
            _ => {}
        }
    }
    let reading = |r: &Report| -> BTreeMap<(String, String), Finding> {
        r.findings.iter().filter(|f| is_reading_finding(f)).map(|f| (drift::finding_key(f), f.clone())).collect()
    };
    let (old, now) = (reading(previous), reading(new));
    for (k, f) in &now {
        if !old.contains_key(k) {
            d.became_unknown.push(KnownChange {
                expectation: None,
                subject: f.resource.clone(),
                status: None,
                detail: format!("{}: {}", f.code, f.message),
            });
        }
    }
    for (k, f) in &old {
        if !now.contains_key(k) {
            d.known_again.push(KnownChange {
                expectation: None,
                subject: f.resource.clone(),
                status: None,
                detail: format!("{} no more: it could be read", f.code),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::finding;
    use crate::report::{Verdict, fixture};

    fn report(status: Status, findings: Vec<Finding>, hash: Option<&str>) -> Report {
        let (decision, verdict) = match status {
            Status::Holds => (BucketDecision::Allow, Verdict::Allow),
            Status::Violated => (BucketDecision::ImplicitDeny, Verdict::Deny),
            Status::Unknown => (BucketDecision::Unknown, Verdict::Unknown),
        };
        let mut r = fixture::one_bucket(status, verdict, decision);
        r.findings = findings;
        r.policies =
            hash.map(|h| fixture::policy("bucket", B1, PolicyHash::Sha256(h.into()), false)).into_iter().collect();
        r
    }

    const SEED: &str = "object-action-on-bucket-arn";
    const B1: &str = "arn:aws:s3:::b1";

    #[test]
    fn a_gap_is_not_a_flip_and_resolves_nothing() {
        let known = report(Status::Violated, vec![finding(SEED, B1, "statement 0 ...")], Some("h1"));
        let gap = report(Status::Unknown, vec![finding(UNREADABLE_INPUT, LISTING, "the list: not captured")], None);

        let (d, base) = drift(&known, &known, &gap);
        assert!(d.verdict_changes.is_empty() && d.decision_changes.is_empty(), "{d:?}");
        assert!(d.resolved_findings.is_empty() && d.new_findings.is_empty(), "{d:?}");
        assert!(d.policy_changes.is_empty(), "{d:?}");
        assert_eq!(d.became_unknown.len(), 2, "the expectation and the listing: {d:?}");
        assert_eq!(base.expectations[0].status, Status::Violated, "the baseline keeps the last known verdict");
        assert!(base.findings.iter().any(|f| f.code == SEED), "the seed finding is kept");

        // A second unknown cycle: nothing at all.
        let (d2, base2) = drift(&gap, &base, &gap);
        assert!(d2.is_empty(), "{d2:?}");

        // Known again, unchanged: known_again events only; the reworded message is the same finding.
        let back = report(Status::Violated, vec![finding(SEED, B1, "statement 0 (reworded)")], Some("h1"));
        let (d3, _) = drift(&gap, &base2, &back);
        assert!(d3.verdict_changes.is_empty() && d3.new_findings.is_empty() && d3.resolved_findings.is_empty());
        assert!(d3.policy_changes.is_empty(), "{d3:?}");
        assert!(d3.became_unknown.is_empty());
        assert_eq!(d3.known_again.len(), 2, "{d3:?}");
    }

    #[test]
    fn a_real_change_after_a_gap_is_measured_from_the_last_known_state() {
        let known = report(Status::Violated, vec![finding(SEED, B1, "m")], Some("h1"));
        let gap = report(Status::Unknown, vec![finding("cycle-timeout", "src", "timed out")], None);
        let (_, base) = drift(&known, &known, &gap);
        let fixed = report(Status::Holds, vec![], Some("h2"));
        let (d, _) = drift(&gap, &base, &fixed);
        assert_eq!(d.verdict_changes.len(), 1);
        assert_eq!(d.verdict_changes[0].status_from, Status::Violated);
        assert_eq!(d.verdict_changes[0].status_to, Status::Holds);
        assert_eq!(d.resolved_findings.len(), 1, "the fix resolves the seed finding");
        assert_eq!(d.policy_changes.len(), 1, "the policy changed from its last known version");
    }

    #[test]
    fn a_finding_is_resolved_only_by_a_cycle_that_read_its_resource() {
        let known = report(Status::Violated, vec![finding(SEED, B1, "m")], Some("h1"));
        let unreadable_bucket =
            report(Status::Unknown, vec![finding(UNREADABLE_INPUT, B1, "the bucket policy: AccessDenied")], None);
        let (d, base) = drift(&known, &known, &unreadable_bucket);
        assert!(d.resolved_findings.is_empty(), "{d:?}");
        assert!(base.findings.iter().any(|f| f.code == SEED));
        let other = report(Status::Holds, vec![], Some("h1"));
        let (d, _) = drift(&unreadable_bucket, &base, &other);
        assert_eq!(d.resolved_findings.len(), 1, "read again and gone: resolved");
    }
}
