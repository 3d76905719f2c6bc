//! Pre-flight: what a planned change (a Terraform plan, or policy files given by hand) would do
//! to the expectations, before it is applied (DESIGN §12).
//!
//! The flow stays one-directional and the core untouched: [`plan`] turns `terraform show -json`
//! into [`Edit`]s, [`overlay`] applies edits to a copy of the captured [`Snapshot`](crate::snapshot::Snapshot),
//! the ordinary audit runs on the world before and on the planned world, and [`compare`] says what
//! flips. Nothing here evaluates a policy.

use serde::Serialize;

use crate::policy::lint::Severity;
use crate::report::{BucketDecision, Finding, Report, Status, Verdict};
use crate::snapshot::PublicAccessBlock;

pub mod overlay;
pub mod plan;

/// A planned value: known now, or known only after apply (then what depends on it is `unknown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned<T> {
    Known(T),
    /// Why it is not known (e.g. "`policy` of aws_s3_bucket_policy.b1 is known only after apply").
    Unknown(String),
}

/// One change to the world, as a plan or an `--overlay` states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `Known(None)`: the bucket policy is deleted.
    BucketPolicy { bucket: String, policy: Planned<Option<String>> },
    /// By MRAP name or alias; the new policy becomes the Established one (`Known(None)`: none).
    MrapPolicy { mrap: String, policy: Planned<Option<String>> },
    /// `Known(None)`: the endpoint gets the default full-access policy.
    EndpointPolicy { endpoint: String, policy: Planned<Option<String>> },
    /// The endpoint itself is destroyed.
    EndpointDeleted { endpoint: String },
    /// `Known(None)`: the bucket's Block Public Access is removed (all off).
    BucketBpa { bucket: String, bpa: Planned<Option<PublicAccessBlock>> },
    /// `account: None` = the account the plan's provider runs in, taken to be the snapshot's.
    AccountBpa { account: Option<String>, bpa: Planned<Option<PublicAccessBlock>> },
}

/// Where an edit comes from, for the report and for SARIF locations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The plan's resource address (`module.data.aws_s3_bucket_policy.reports`), or the
    /// `--overlay` argument (`bucket-policy:doc-examplebucket1`).
    pub address: String,
    /// The plan file or the overlay's policy file.
    pub file: String,
    /// `create`, `update`, `delete`, `replace` or `overlay`.
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub change: Change,
    pub origin: Origin,
}

/// Something in the input that is not an edit of the audited world but must not be dropped
/// silently (a resource whose identity is known only after apply, an ignored action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub origin: Origin,
    pub severity: Severity,
    pub code: &'static str,
    /// The resource concerned, as findings name it (ARN, endpoint id), or the address.
    pub resource: String,
    pub message: String,
}

/// One applied change, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedChange {
    #[serde(flatten)]
    pub origin: Origin,
    /// `bucket-policy`, `mrap-policy`, `endpoint-policy`, `endpoint`, `bucket-bpa`, `account-bpa`.
    pub kind: &'static str,
    /// As findings name it: the bucket or MRAP ARN, the endpoint id, the account id.
    pub resource: String,
    /// What it does, in a few words (`sets the policy`, `deletes the policy`, `unknown until apply`).
    pub effect: String,
    /// Whether the audited world has the resource (a new bucket or MRAP is reported, not audited).
    pub in_world: bool,
}

/// An expectation whose outcome differs between the world and the planned world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    pub name: String,
    pub mrap: String,
    pub before: Outcome,
    pub after: Outcome,
    /// The buckets whose decision changes.
    pub buckets: Vec<BucketFlip>,
    /// `breaks` (holds → violated), `fixes` (violated → holds), `unknown` (→ unknown), or
    /// `changes` (the verdict moves but the status does not).
    pub effect: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketFlip {
    pub bucket: String,
    pub before: BucketDecision,
    pub after: BucketDecision,
}

/// Access gained or lost between the two worlds (DESIGN §10). The extension point for the
/// access map: [`compare`] leaves it empty and `Preflight::access_changes` `None` until the map
/// is computed for both worlds; then each grant that appears or disappears is one of these.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessChange {
    /// `gained` or `lost`.
    pub direction: &'static str,
    pub mrap: String,
    pub bucket: String,
    pub grant: serde_json::Value,
}

/// The counts the text report leads with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Expectations that hold now and would be violated.
    pub breaks: usize,
    /// Expectations violated now that would hold.
    pub fixes: usize,
    /// Expectations that would become unknown.
    pub unknown: usize,
    /// Places where access widens: (expectation, bucket) decisions that go from deny to allow,
    /// plus, with the access map, grants gained.
    pub widens: usize,
    /// Places where access narrows: decisions from allow to deny, plus grants lost.
    pub narrows: usize,
    /// Findings on policies AWS refuses to save: `terraform apply` would fail on them.
    pub refused: usize,
}

/// The `preflight` object of `check --plan/--overlay --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preflight {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub changes: Vec<AppliedChange>,
    /// Planned resources that could not be matched to the world (an identity known only after
    /// apply): reported as `plan-resource-not-audited` findings too.
    pub unmatched: Vec<Origin>,
    pub flips: Vec<Flip>,
    pub counts: Counts,
    /// `None` until the access map is computed (see [`AccessChange`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_changes: Option<Vec<AccessChange>>,
}

/// The report of the planned world with what the change does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreflightReport {
    #[serde(flatten)]
    pub report: Report,
    pub preflight: Preflight,
}

fn outcome(status: Status, verdict: Verdict) -> Outcome {
    Outcome { status, verdict }
}

/// What flips between the report of the world and that of the planned world. Expectations are
/// matched by name (both reports come from the same configuration).
pub fn compare(before: &Report, after: &Report) -> (Vec<Flip>, Counts) {
    let mut flips = Vec::new();
    let mut counts = Counts::default();
    for a in &after.expectations {
        let Some(b) = before.expectations.iter().find(|b| b.name == a.name) else { continue };
        let buckets: Vec<BucketFlip> = a
            .buckets
            .iter()
            .filter_map(|ab| {
                let bb = b.buckets.iter().find(|bb| bb.bucket == ab.bucket)?;
                (bb.decision != ab.decision).then(|| BucketFlip {
                    bucket: ab.bucket.clone(),
                    before: bb.decision,
                    after: ab.decision,
                })
            })
            .collect();
        for f in &buckets {
            if f.before.denies() && f.after == BucketDecision::Allow {
                counts.widens += 1;
            }
            if f.before == BucketDecision::Allow && f.after.denies() {
                counts.narrows += 1;
            }
        }
        if a.status == b.status && a.verdict == b.verdict && buckets.is_empty() {
            continue;
        }
        let effect = match (b.status, a.status) {
            (Status::Holds, Status::Violated) => "breaks",
            (Status::Violated, Status::Holds) => "fixes",
            (s, Status::Unknown) if s != Status::Unknown => "unknown",
            _ => "changes",
        };
        match effect {
            "breaks" => counts.breaks += 1,
            "fixes" => counts.fixes += 1,
            "unknown" => counts.unknown += 1,
            _ => {}
        }
        flips.push(Flip {
            name: a.name.clone(),
            mrap: a.mrap.clone(),
            before: outcome(b.status, b.verdict),
            after: outcome(a.status, a.verdict),
            buckets,
            effect,
        });
    }
    (flips, counts)
}

impl Note {
    pub fn finding(&self) -> Finding {
        Finding {
            severity: self.severity,
            code: self.code.to_string(),
            resource: self.resource.clone(),
            message: format!("{} ({}): {}", self.origin.address, self.origin.file, self.message),
            fix: None,
        }
    }
}

/// The text the pre-flight report leads with: "this change would break N expectations / widen
/// access in M places", then each flip.
pub fn to_text(p: &Preflight) -> String {
    use std::fmt::Write as _;
    let c = p.counts;
    let plural = |n: usize, one: &str, many: &str| if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") };
    let mut out = format!(
        "this change would break {} / widen access in {}",
        plural(c.breaks, "expectation", "expectations"),
        plural(c.widens, "place", "places")
    );
    let mut extra = Vec::new();
    if c.fixes > 0 {
        extra.push(format!("fix {}", c.fixes));
    }
    if c.unknown > 0 {
        extra.push(format!("make {} unknown", c.unknown));
    }
    if c.narrows > 0 {
        extra.push(format!("narrow access in {}", plural(c.narrows, "place", "places")));
    }
    if !extra.is_empty() {
        let _ = write!(out, " ({})", extra.join(", "));
    }
    out.push('\n');
    if c.refused > 0 {
        let _ = writeln!(
            out,
            "terraform apply would fail: AWS refuses {} (see the findings)",
            plural(c.refused, "policy statement", "policy statements")
        );
    }
    for f in &p.flips {
        let _ = writeln!(
            out,
            "  {:<8} {}  {} ({}) -> {} ({})",
            f.effect.to_uppercase(),
            f.name,
            f.before.status.name(),
            f.before.verdict.name(),
            f.after.status.name(),
            f.after.verdict.name()
        );
        for b in &f.buckets {
            let _ = writeln!(out, "             {:<24} {} -> {}", b.bucket, b.before.name(), b.after.name());
        }
    }
    let _ = writeln!(out, "changes ({}):", p.changes.len());
    for ch in &p.changes {
        let world = if ch.in_world { "" } else { "  [not in the audited world]" };
        let _ = writeln!(
            out,
            "  {:<8} {}  {} {}: {}{world}",
            ch.origin.action, ch.origin.address, ch.kind, ch.resource, ch.effect
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rows: &[(&str, Status, Verdict, &[BucketDecision])]) -> Report {
        let expectations = rows
            .iter()
            .map(|(name, status, verdict, buckets)| {
                serde_json::from_value(serde_json::json!({
                    "name": name, "mrap": "m.mrap", "expect": "allow", "status": status, "verdict": verdict,
                    "failover": "none", "pending_change": false, "principal": "p", "action": "s3:GetObject", "via": "vpce-1",
                    "buckets": buckets.iter().enumerate().map(|(i, d)| serde_json::json!({
                        "bucket": format!("b{i}"), "account": "1", "region": "r", "route": "active",
                        "decision": d, "deciding_layer": null})).collect::<Vec<_>>(),
                }))
                .unwrap()
            })
            .collect();
        Report {
            generated_at: "t".into(),
            source: "snapshot".into(),
            snapshot: None,
            expectations,
            findings: vec![],
            policies: vec![],
            forbids: Vec::new(),
            access: None,
        }
    }

    #[test]
    fn what_flips_and_what_it_counts() {
        use BucketDecision::{Allow, ImplicitDeny, Unknown};
        use Status::{Holds, Violated};
        let before = report(&[
            ("breaks", Holds, Verdict::Allow, &[Allow, Allow]),
            ("fixes", Violated, Verdict::Intermittent, &[Allow, ImplicitDeny]),
            ("unknown", Holds, Verdict::Allow, &[Allow]),
            ("same", Holds, Verdict::Allow, &[Allow]),
        ]);
        let after = report(&[
            ("breaks", Violated, Verdict::Intermittent, &[Allow, ImplicitDeny]),
            ("fixes", Holds, Verdict::Allow, &[Allow, Allow]),
            ("unknown", Status::Unknown, Verdict::Unknown, &[Unknown]),
            ("same", Holds, Verdict::Allow, &[Allow]),
        ]);
        let (flips, counts) = compare(&before, &after);
        let effects: Vec<(&str, &str)> = flips.iter().map(|f| (f.name.as_str(), f.effect)).collect();
        assert_eq!(effects, [("breaks", "breaks"), ("fixes", "fixes"), ("unknown", "unknown")]);
        assert_eq!(counts, Counts { breaks: 1, fixes: 1, unknown: 1, widens: 1, narrows: 1, refused: 0 });
        assert_eq!(flips[0].buckets, [BucketFlip { bucket: "b1".into(), before: Allow, after: ImplicitDeny }]);
    }

    #[test]
    fn lead_line_counts() {
        let p = Preflight {
            plan: None,
            changes: vec![],
            unmatched: vec![],
            flips: vec![],
            counts: Counts { breaks: 1, fixes: 0, unknown: 2, widens: 0, narrows: 1, refused: 0 },
            access_changes: None,
        };
        assert_eq!(
            to_text(&p).lines().next().unwrap(),
            "this change would break 1 expectation / widen access in 0 places (make 2 unknown, narrow access in 1 place)"
        );
    }
}
