//! The access map (DESIGN §10): for every bucket of every MRAP, every caller that can reach it,
//! by which path, for which actions and keys, under which conditions — without being asked.
//!
//! Pure: built from the cycle's [`World`] (the snapshot with its policies parsed) and the
//! configuration. Each path is partitioned into cells ([`dims`]), the **real path evaluator**
//! ([`crate::path::decide_untraced`], [`crate::path::decide_direct`], the code `check` uses)
//! decides one representative per cell, and cells with the same answer are merged into grants
//! ([`cells`]). A cell that depends on an unknown input is reported under `unknown`, never as
//! denied; a path over the cell budget makes the map `"complete": false`.
//!
//! Zone of trust (IAM Access Analyzer's external-access model): principals of the owner
//! accounts appear only as the configured principals, with their configured identity policies;
//! every other caller is mapped with its identity assumed to allow (stated on every grant).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod build;
mod cells;
pub mod dims;
pub mod forbid;
mod render;

pub use build::build;
pub use cells::{Answers, CallerClass, CallerKind, Cell, Concrete, Door, PathCells, decide_all, path_cells};
pub use forbid::{ForbidReport, check_forbids};
pub use render::to_text;

/// The whole map (`access --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessMap {
    pub generated_at: String,
    pub source: String,
    /// False when a path had more cells than the budget (it is then listed under `unknown`).
    pub complete: bool,
    pub mraps: Vec<MrapAccess>,
    /// Extension: cells the evaluator decided.
    #[serde(default)]
    pub cells_evaluated: u64,
    /// Extension: the assumption every grant relies on.
    #[serde(default)]
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MrapAccess {
    pub mrap: String,
    pub buckets: Vec<BucketAccess>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketAccess {
    pub bucket: String,
    pub account: String,
    /// `active` or `passive`.
    pub route: String,
    pub grants: Vec<Grant>,
    pub unknown: Vec<UnknownAccess>,
    /// Extension: grants the MRAP's Proposed policy would add (mrap paths only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Grant>,
}

/// Access that exists: a set of cells with the same answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    /// `mrap:ENDPOINT`, `mrap:internet`, `bucket:internet`, `bucket:ENDPOINT`.
    pub path: String,
    /// A caller class: `anonymous`, `any-principal`, `account:ID`, `principal:ARN`, `org:o-…`,
    /// `outside-org:o-…`.
    pub callers: String,
    pub actions: Vec<String>,
    /// `*`, or the key classes (`reports/*`, `a* except a/secret/*`, joined by ` | `).
    pub keys: String,
    /// The condition keys the grant depends on, one line each.
    pub conditions: Vec<String>,
    pub public: bool,
    pub cross_account: bool,
    pub witness: Witness,
    /// Extension: the statements that admit the witness, per layer (`explain --grant`).
    #[serde(default)]
    pub admitted_by: Vec<String>,
}

impl Grant {
    /// What identifies a grant across cycles and in an accepted map: everything but the witness
    /// and the explanation (which may change with unrelated statements).
    pub fn identity(&self) -> GrantId {
        (self.path.clone(), self.callers.clone(), self.actions.clone(), self.keys.clone(), self.conditions.clone())
    }

    /// The path kind for metrics: `mrap_endpoint`, `mrap_internet`, `bucket_internet`,
    /// `bucket_endpoint`.
    pub fn path_kind(&self) -> &'static str {
        match self.path.split_once(':') {
            Some(("mrap", "internet")) => "mrap_internet",
            Some(("mrap", _)) => "mrap_endpoint",
            Some(("bucket", "internet")) => "bucket_internet",
            _ => "bucket_endpoint",
        }
    }

    /// The caller kind for metrics (a bounded set, DESIGN §10).
    pub fn callers_kind(&self, owner: &str) -> &'static str {
        match self.callers.split_once(':') {
            None if self.callers == "anonymous" => "anonymous",
            None => "any_principal",
            Some(("account", id)) if id == owner => "owner_account",
            Some(("account", _)) => "other_account",
            Some(("org" | "outside-org", _)) => "org",
            _ => "principal",
        }
    }
}

/// A concrete request the evaluator allows (an `[[expect]]` with `expect = "allow"` holds).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Witness {
    pub principal: String,
    pub action: String,
    pub key: String,
    /// An endpoint id or `internet`.
    pub via: String,
    /// Set on a direct path (straight to the bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Set on an MRAP path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrap: Option<String>,
    pub context: BTreeMap<String, String>,
}

/// Cells whose answer cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnknownAccess {
    pub path: String,
    pub reason: String,
    /// Extension: the caller classes concerned.
    #[serde(default)]
    pub callers: Vec<String>,
}

impl AccessMap {
    /// Every grant with its MRAP and bucket.
    pub fn grants(&self) -> impl Iterator<Item = (&MrapAccess, &BucketAccess, &Grant)> {
        self.mraps.iter().flat_map(|m| m.buckets.iter().flat_map(move |b| b.grants.iter().map(move |g| (m, b, g))))
    }

    /// Whether any bucket has cells that could not be decided.
    pub fn has_unknown(&self) -> bool {
        !self.complete || self.mraps.iter().any(|m| m.buckets.iter().any(|b| !b.unknown.is_empty()))
    }
}

/// What identifies a grant: path, callers, actions, keys, conditions.
type GrantId = (String, String, Vec<String>, String, Vec<String>);

/// Grants of `new` not in `old` (`gained`) and of `old` not in `new` (`lost`), per MRAP and
/// bucket (DESIGN §10 "Access drift").
pub fn changes(old: &AccessMap, new: &AccessMap) -> Vec<AccessChange> {
    let index = |m: &AccessMap| -> BTreeMap<(String, String, GrantId), Grant> {
        m.grants().map(|(mr, b, g)| ((mr.mrap.clone(), b.bucket.clone(), g.identity()), g.clone())).collect()
    };
    let (a, b) = (index(old), index(new));
    let mut out = Vec::new();
    for ((mrap, bucket, id), g) in &b {
        if !a.contains_key(&(mrap.clone(), bucket.clone(), id.clone())) {
            out.push(AccessChange {
                direction: "gained".into(),
                mrap: mrap.clone(),
                bucket: bucket.clone(),
                grant: g.clone(),
                cause: Vec::new(),
            });
        }
    }
    for ((mrap, bucket, id), g) in &a {
        if !b.contains_key(&(mrap.clone(), bucket.clone(), id.clone())) {
            out.push(AccessChange {
                direction: "lost".into(),
                mrap: mrap.clone(),
                bucket: bucket.clone(),
                grant: g.clone(),
                cause: Vec::new(),
            });
        }
    }
    out
}

/// One grant gained or lost between two maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessChange {
    /// `gained` or `lost`.
    pub direction: String,
    pub mrap: String,
    pub bucket: String,
    pub grant: Grant,
    /// The policy changes of the same cycle that can explain it (`bucket arn:... changed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cause: Vec<String>,
}

/// A `new-access` finding for each grant of `map` not in `accepted` (DESIGN §10 "Accepted
/// access"): the team accepted an earlier map and is told of every widening.
pub fn new_access(map: &AccessMap, accepted: &AccessMap, partition: &str) -> Vec<crate::report::Finding> {
    changes(accepted, map)
        .into_iter()
        .filter(|c| c.direction == "gained")
        .map(|c| crate::report::Finding {
            severity: crate::policy::lint::Severity::Warning,
            code: "new-access".into(),
            resource: format!("arn:{partition}:s3:::{}", c.bucket),
            message: format!(
                "{} can now {} keys {} of {} via {}{}, which the accepted access map does not have",
                c.grant.callers,
                c.grant.actions.join(", "),
                c.grant.keys,
                c.bucket,
                c.grant.path,
                if c.grant.conditions.is_empty() { String::new() } else { format!(" when {}", c.grant.conditions.join(" and ")) }
            ),
            fix: Some("if this access is intended, accept the current map (`mrap-auditor access --format json > FILE`); otherwise narrow the policy that admits it (`mrap-auditor access --explain`)".into()),
        })
        .collect()
}

/// Reads an accepted map: a file an earlier `access --format json` wrote.
pub fn read_accepted(path: &std::path::Path) -> Result<AccessMap, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("`{}` is not an access map (`mrap-auditor access --format json`): {e}", path.display()))
}
