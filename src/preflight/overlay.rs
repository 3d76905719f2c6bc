//! Applies [`Edit`]s to a copy of the captured world, and reads `--overlay KIND:NAME=FILE`.
//!
//! Edits apply in order, so the last word wins: the plan's edits first (in the order
//! [`super::plan`] gives them), then each `--overlay` in command-line order. Two edits of the same
//! policy are reported (`plan-conflicting-changes`). A change to something the world does not
//! have (a new bucket, an MRAP or endpoint not in the snapshot) is applied where it can be (its
//! policy is still linted) and reported as `plan-resource-not-audited`: no expectation reaches it.

use std::collections::BTreeMap;
use std::path::Path;

use super::{AppliedChange, Change, Edit, Note, Origin, Planned};
use crate::policy::lint::Severity;
use crate::snapshot::{Captured, MrapPolicy, PublicAccessBlock, Snapshot};

/// Why an `--overlay` argument could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OverlayError {
    #[error(
        "`--overlay {0}`: expected KIND:NAME=FILE with KIND one of bucket-policy, mrap-policy, endpoint-policy, bucket-bpa, account-bpa"
    )]
    Syntax(String),
    #[error("`--overlay {arg}`: cannot read `{file}`: {message}")]
    Read { arg: String, file: String, message: String },
    #[error("`--overlay {arg}`: `{file}` is not a Block Public Access configuration: {message}")]
    Bpa { arg: String, file: String, message: String },
}

/// `KIND:NAME=FILE`, parsed but not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlaySpec {
    pub kind: OverlayKind,
    pub name: String,
    pub file: String,
    pub arg: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayKind {
    BucketPolicy,
    MrapPolicy,
    EndpointPolicy,
    BucketBpa,
    AccountBpa,
}

impl OverlayKind {
    pub fn name(self) -> &'static str {
        match self {
            OverlayKind::BucketPolicy => "bucket-policy",
            OverlayKind::MrapPolicy => "mrap-policy",
            OverlayKind::EndpointPolicy => "endpoint-policy",
            OverlayKind::BucketBpa => "bucket-bpa",
            OverlayKind::AccountBpa => "account-bpa",
        }
    }
}

/// Parses `KIND:NAME=FILE` (the clap value parser of `--overlay`).
pub fn parse_overlay(arg: &str) -> Result<OverlaySpec, String> {
    let syntax = || OverlayError::Syntax(arg.to_string()).to_string();
    let (kind, rest) = arg.split_once(':').ok_or_else(syntax)?;
    let (name, file) = rest.split_once('=').ok_or_else(syntax)?;
    let kind = match kind {
        "bucket-policy" => OverlayKind::BucketPolicy,
        "mrap-policy" => OverlayKind::MrapPolicy,
        "endpoint-policy" => OverlayKind::EndpointPolicy,
        "bucket-bpa" => OverlayKind::BucketBpa,
        "account-bpa" => OverlayKind::AccountBpa,
        _ => return Err(syntax()),
    };
    if name.is_empty() || file.is_empty() {
        return Err(syntax());
    }
    Ok(OverlaySpec { kind, name: name.to_string(), file: file.to_string(), arg: arg.to_string() })
}

/// Block Public Access in the AWS CLI's shape (`{"PublicAccessBlockConfiguration": {...}}`, as in
/// a snapshot) or bare (`{"BlockPublicAcls": true, ...}`).
fn read_bpa(text: &str) -> Result<PublicAccessBlock, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let inner = v.get("PublicAccessBlockConfiguration").cloned().unwrap_or(v);
    const KEYS: [&str; 4] = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];
    let Some(obj) = inner.as_object() else { return Err("expected an object".into()) };
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown setting `{k}` (expected {})", KEYS.join(", ")));
    }
    // An overlay is what a `PutPublicAccessBlock` would send, where an omitted setting is off;
    // a captured configuration (the snapshot reader) must have all four instead.
    let mut settings = obj.clone();
    for k in KEYS {
        settings.entry(k).or_insert(serde_json::Value::Bool(false));
    }
    serde_json::from_value(serde_json::Value::Object(settings)).map_err(|e| e.to_string())
}

/// Reads the overlay's file into an edit. A policy file is taken as it is: whether it is a valid
/// policy is the audit's to say (an `invalid-policy` finding, and `unknown`), as for AWS's own.
pub fn load_overlay(spec: &OverlaySpec, base: &Path) -> Result<Edit, OverlayError> {
    let path = base.join(&spec.file);
    let text = std::fs::read_to_string(&path).map_err(|e| OverlayError::Read {
        arg: spec.arg.clone(),
        file: spec.file.clone(),
        message: e.to_string(),
    })?;
    let bpa = || {
        read_bpa(&text).map(|b| Planned::Known(Some(b))).map_err(|message| OverlayError::Bpa {
            arg: spec.arg.clone(),
            file: spec.file.clone(),
            message,
        })
    };
    let name = spec.name.clone();
    let change = match spec.kind {
        OverlayKind::BucketPolicy => Change::BucketPolicy { bucket: name, policy: Planned::Known(Some(text)) },
        OverlayKind::MrapPolicy => Change::MrapPolicy { mrap: name, policy: Planned::Known(Some(text)) },
        OverlayKind::EndpointPolicy => Change::EndpointPolicy { endpoint: name, policy: Planned::Known(Some(text)) },
        OverlayKind::BucketBpa => Change::BucketBpa { bucket: name, bpa: bpa()? },
        OverlayKind::AccountBpa => Change::AccountBpa { account: Some(name), bpa: bpa()? },
    };
    Ok(Edit {
        change,
        origin: Origin {
            address: format!("{}:{}", spec.kind.name(), spec.name),
            file: spec.file.clone(),
            action: "overlay".into(),
        },
    })
}

/// The planned world, what was applied, and what must be reported.
#[derive(Debug)]
pub struct Overlaid {
    pub snapshot: Snapshot,
    pub applied: Vec<AppliedChange>,
    pub notes: Vec<Note>,
}

fn effect_of<T>(p: &Planned<Option<T>>, set: &str, removed: &str) -> String {
    match p {
        Planned::Known(Some(_)) => set.to_string(),
        Planned::Known(None) => removed.to_string(),
        Planned::Unknown(why) => format!("unknown until apply ({why})"),
    }
}

fn captured<T>(p: &Planned<Option<T>>) -> Captured<Option<T>>
where
    T: Clone,
{
    match p {
        Planned::Known(v) => Captured::Value(v.clone()),
        // `Invalid` is the snapshot's "present but unreadable": the audit makes what depends on
        // it unknown and reports it, with this reason.
        Planned::Unknown(why) => Captured::Invalid(why.clone()),
    }
}

/// Applies the edits to a copy of `base`.
pub fn apply(base: &Snapshot, edits: &[Edit]) -> Overlaid {
    let mut s = base.clone();
    let mut applied = Vec::new();
    let mut notes = Vec::new();
    let partition = base.partition().to_string();
    let owner = base.account_id().map(str::to_string);
    let mut last: BTreeMap<(&'static str, String), &Origin> = BTreeMap::new();
    let bucket_in_world = |s: &Snapshot, b: &str| {
        s.mraps.value().is_some_and(|ms| ms.iter().any(|m| m.regions.iter().any(|r| r.bucket == b)))
    };
    for edit in edits {
        let (kind, resource, effect, in_world) = match &edit.change {
            Change::BucketPolicy { bucket, policy } => {
                let in_world = bucket_in_world(&s, bucket);
                s.bucket_policies.insert(bucket.clone(), captured(policy));
                let effect = effect_of(policy, "sets the bucket policy", "deletes the bucket policy");
                ("bucket-policy", format!("arn:{partition}:s3:::{bucket}"), effect, in_world)
            }
            Change::MrapPolicy { mrap, policy } => {
                let found = s.mrap(mrap).map(|m| (m.name.clone(), s.mrap_arn(m).unwrap_or_else(|| m.alias.clone())));
                let effect =
                    effect_of(policy, "sets the MRAP policy (Established after apply)", "deletes the MRAP policy");
                match found {
                    Some((name, arn)) => {
                        let value = match policy {
                            Planned::Known(p) => Captured::Value(MrapPolicy { established: p.clone(), proposed: None }),
                            Planned::Unknown(why) => Captured::Invalid(why.clone()),
                        };
                        s.mrap_policies.insert(name, value);
                        ("mrap-policy", arn, effect, true)
                    }
                    None => ("mrap-policy", mrap.clone(), effect, false),
                }
            }
            Change::EndpointPolicy { endpoint, policy } => {
                let mut found = false;
                for list in s.endpoints.values_mut() {
                    if let Captured::Value(list) = list {
                        for e in list.iter_mut().filter(|e| &e.id == endpoint) {
                            found = true;
                            match policy {
                                Planned::Known(p) => {
                                    e.policy_document = p.clone();
                                    s.endpoint_policy_unknown.remove(endpoint);
                                }
                                Planned::Unknown(why) => {
                                    s.endpoint_policy_unknown.insert(endpoint.clone(), why.clone());
                                }
                            }
                        }
                    }
                }
                let effect = effect_of(
                    policy,
                    "sets the endpoint policy",
                    "removes the endpoint policy (the default full-access policy applies)",
                );
                ("endpoint-policy", endpoint.clone(), effect, found)
            }
            Change::EndpointDeleted { endpoint } => {
                let mut found = false;
                for list in s.endpoints.values_mut() {
                    if let Captured::Value(list) = list {
                        let before = list.len();
                        list.retain(|e| &e.id != endpoint);
                        found |= list.len() != before;
                    }
                }
                s.endpoint_policy_unknown.remove(endpoint);
                ("endpoint", endpoint.clone(), "destroys the endpoint".to_string(), found)
            }
            Change::BucketBpa { bucket, bpa } => {
                let in_world = bucket_in_world(&s, bucket);
                s.bucket_bpa.insert(bucket.clone(), captured(bpa));
                let effect = effect_of(bpa, "sets Block Public Access", "removes Block Public Access");
                ("bucket-bpa", format!("arn:{partition}:s3:::{bucket}"), effect, in_world)
            }
            Change::AccountBpa { account, bpa } => {
                let Some(account) = account.clone().or_else(|| owner.clone()) else {
                    notes.push(Note {
                        origin: edit.origin.clone(),
                        severity: Severity::Warning,
                        code: "plan-resource-not-audited",
                        resource: edit.origin.address.clone(),
                        message: "the account is not named and the snapshot has no readable manifest".into(),
                    });
                    continue;
                };
                let in_world = s.account_bpa.contains_key(&account) || owner.as_deref() == Some(account.as_str());
                s.account_bpa.insert(account.clone(), captured(bpa));
                let effect = effect_of(
                    bpa,
                    "sets the account's Block Public Access",
                    "removes the account's Block Public Access",
                );
                ("account-bpa", account, effect, in_world)
            }
        };
        // Conflicts: an endpoint's policy set twice, any policy set twice.
        let key_kind = if kind == "endpoint" { "endpoint-policy" } else { kind };
        if let Some(prev) = last.insert((key_kind, resource.clone()), &edit.origin) {
            notes.push(Note {
                origin: edit.origin.clone(),
                severity: Severity::Warning,
                code: "plan-conflicting-changes",
                resource: resource.clone(),
                message: format!(
                    "{} also changes this {kind}; the last word wins: {} (Terraform applies `aws_vpc_endpoint_policy` after the endpoint it names; two resources managing one policy undo each other at every apply)",
                    prev.address, edit.origin.address
                ),
            });
        }
        if !in_world {
            notes.push(Note {
                origin: edit.origin.clone(),
                severity: Severity::Warning,
                code: "plan-resource-not-audited",
                resource: resource.clone(),
                message: format!(
                    "the audited world has no such {} (a new resource, or one behind no configured MRAP): no expectation reaches it, so this change is not audited",
                    kind.replace('-', " ")
                ),
            });
        }
        if let Some(why) = unknown_reason(&edit.change) {
            notes.push(Note {
                origin: edit.origin.clone(),
                severity: Severity::Warning,
                code: "plan-value-unknown",
                resource: resource.clone(),
                message: format!("{why}: every verdict that depends on it is unknown"),
            });
        }
        applied.push(AppliedChange { origin: edit.origin.clone(), kind, resource, effect, in_world });
    }
    Overlaid { snapshot: s, applied, notes }
}

/// Why a change's value is not known yet, if it is not.
fn unknown_reason(change: &Change) -> Option<&str> {
    fn why<T>(p: &Planned<T>) -> Option<&str> {
        match p {
            Planned::Unknown(why) => Some(why.as_str()),
            Planned::Known(_) => None,
        }
    }
    match change {
        Change::BucketPolicy { policy, .. }
        | Change::MrapPolicy { policy, .. }
        | Change::EndpointPolicy { policy, .. } => why(policy),
        Change::BucketBpa { bpa, .. } | Change::AccountBpa { bpa, .. } => why(bpa),
        Change::EndpointDeleted { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_arguments() {
        let ok = parse_overlay("bucket-policy:doc-examplebucket1=fixed.json").unwrap();
        assert_eq!(
            (ok.kind, ok.name.as_str(), ok.file.as_str()),
            (OverlayKind::BucketPolicy, "doc-examplebucket1", "fixed.json")
        );
        let e = parse_overlay("endpoint-policy:vpce-0a1b=dir/a=b.json").unwrap();
        assert_eq!((e.name.as_str(), e.file.as_str()), ("vpce-0a1b", "dir/a=b.json"));
        for bad in ["bucket-policy:b1", "bucket:b1=f.json", "bucket-policy:=f.json", "bucket-policy:b1=", "nothing"] {
            assert_eq!(
                parse_overlay(bad).unwrap_err(),
                format!(
                    "`--overlay {bad}`: expected KIND:NAME=FILE with KIND one of bucket-policy, mrap-policy, endpoint-policy, bucket-bpa, account-bpa"
                ),
            );
        }
    }

    #[test]
    fn block_public_access_shapes() {
        let cli =
            read_bpa(r#"{"PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"RestrictPublicBuckets":true}}"#)
                .unwrap();
        assert!(cli.block_public_acls && cli.restrict_public_buckets && !cli.block_public_policy);
        assert!(read_bpa(r#"{"BlockPublicPolicy":true}"#).unwrap().block_public_policy);
        assert!(read_bpa("[1]").is_err());
        assert_eq!(
            read_bpa(r#"{"Version":"2012-10-17"}"#).unwrap_err(),
            "unknown setting `Version` (expected BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets)"
        );
    }
}
