//! Reads `terraform show -json PLAN` (HashiCorp's "JSON Output Format", `format_version` 1.x)
//! into [`Edit`]s of the audited world. Pure: text in, edits and notes out.
//!
//! What is read, per resource type (the AWS provider's argument names):
//! - `aws_s3_bucket_policy`: `bucket`, `policy`;
//! - `aws_s3control_multi_region_access_point_policy`: `details[0].name`, `details[0].policy`
//!   (after apply it becomes the Established policy). Its delete changes nothing in AWS (S3
//!   Control has no delete for MRAP policies; the provider's delete is a no-op): reported;
//! - `aws_vpc_endpoint`: `id`, `policy`; `aws_vpc_endpoint_policy`: `vpc_endpoint_id`, `policy`.
//!   Both can set the same endpoint's policy: `aws_vpc_endpoint_policy` refers to the endpoint,
//!   so Terraform applies it after the endpoint, and it wins; between two of the same kind the
//!   plan's last word wins. Either way the overlay reports the conflict;
//! - `aws_s3_bucket_public_access_block`: `bucket` and the four settings;
//!   `aws_s3_account_public_access_block`: `account_id` (absent = the provider's account) and
//!   the four settings.
//!
//! `resource_changes[]` is the primary source: `change.actions` (`create`, `update`, `delete`,
//! or a replacement), `change.after`, and `change.after_unknown` (a `true` at or above an
//! attribute means it is known only after apply). Resources of `planned_values` (root module and
//! every `child_modules`, recursively) that `resource_changes` lacks are read from their
//! `values` (where an absent or null attribute is taken as known only after apply). Unknown properties are
//! ignored, and a `format_version` other than 1.x is refused, as the format's compatibility
//! promise asks.

use serde_json::Value;

use super::{Change, Edit, Note, Origin, Planned};
use crate::policy::lint::Severity;
use crate::snapshot::PublicAccessBlock;

/// Why a plan could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("{file}: not JSON: {message}")]
    NotJson { file: String, message: String },
    #[error(
        "{file}: not the output of `terraform show -json PLAN`: {why} (convert a saved plan with `terraform show -json tfplan > plan.json`)"
    )]
    NotAPlan { file: String, why: String },
    #[error("{file}: `format_version` {version} is not supported: this reader understands the JSON output format 1.x")]
    UnsupportedFormat { file: String, version: String },
}

/// The edits a plan makes to the audited world, and what it could not turn into edits.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanRead {
    pub edits: Vec<Edit>,
    pub notes: Vec<Note>,
}

const TYPES: &[&str] = &[
    "aws_s3_bucket_policy",
    "aws_s3control_multi_region_access_point_policy",
    "aws_vpc_endpoint",
    "aws_vpc_endpoint_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_account_public_access_block",
];

/// One resource as the plan describes it, whichever part of the plan it came from.
struct Resource<'a> {
    address: String,
    rtype: &'a str,
    action: Action,
    /// The values after apply (`null` for a delete).
    after: &'a Value,
    /// `after_unknown`, or `None` when unknown values are those absent from `after`
    /// (`planned_values`).
    after_unknown: Option<&'a Value>,
    before: &'a Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Update,
    Delete,
    Replace,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Replace => "replace",
        }
    }

    /// `change.actions`: `["no-op"]`, `["read"]` and `["forget"]` change nothing in AWS.
    fn of(actions: &Value) -> Option<Action> {
        let list: Vec<&str> = actions.as_array()?.iter().filter_map(Value::as_str).collect();
        match list.as_slice() {
            ["create"] => Some(Action::Create),
            ["update"] => Some(Action::Update),
            ["delete"] => Some(Action::Delete),
            ["delete", "create"] | ["create", "delete"] => Some(Action::Replace),
            _ => None,
        }
    }
}

/// A path step into a resource's values.
#[derive(Clone, Copy)]
enum Step<'s> {
    Key(&'s str),
    Index(usize),
}

fn step<'v>(v: &'v Value, s: Step<'_>) -> Option<&'v Value> {
    match s {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(i),
    }
}

impl Resource<'_> {
    fn origin(&self, file: &str) -> Origin {
        Origin { address: self.address.clone(), file: file.to_string(), action: self.action.name().to_string() }
    }

    /// Whether the value at `path` is known only after apply.
    fn unknown(&self, path: &[Step<'_>]) -> bool {
        match self.after_unknown {
            Some(u) => {
                let mut at = u;
                if at == &Value::Bool(true) {
                    return true;
                }
                for s in path {
                    match step(at, *s) {
                        Some(Value::Bool(true)) => return true,
                        Some(next) => at = next,
                        None => return false,
                    }
                }
                false
            }
            // `planned_values` omits an unknown attribute and writes an unknown element of a
            // list or block as `null` (Terraform's `jsonplan` "omitUnknowns"): absent or null
            // is unknown here, fail closed.
            None => {
                let mut at = self.after;
                for s in path {
                    match step(at, *s) {
                        Some(Value::Null) | None => return true,
                        Some(next) => at = next,
                    }
                }
                false
            }
        }
    }

    fn value(&self, path: &[Step<'_>]) -> Option<&Value> {
        path.iter().try_fold(self.after, |at, s| step(at, *s))
    }

    /// A string attribute after apply: `Known(Some)`, `Known(None)` when null or absent, or
    /// `Unknown`.
    fn string(&self, path: &[Step<'_>], what: &str) -> Planned<Option<String>> {
        if self.unknown(path) {
            return Planned::Unknown(format!("`{what}` of {} is known only after apply", self.address));
        }
        Planned::Known(self.value(path).and_then(Value::as_str).map(str::to_string))
    }

    /// An identity attribute (bucket name, endpoint id), from `after`, or from `before` for a
    /// delete.
    fn identity(&self, path: &[Step<'_>]) -> Option<String> {
        let from = if self.action == Action::Delete { self.before } else { self.after };
        if self.action != Action::Delete && self.unknown(path) {
            return None;
        }
        path.iter().try_fold(from, |at, s| step(at, *s)).and_then(Value::as_str).map(str::to_string)
    }

    fn before_identity(&self, key: &str) -> Option<String> {
        self.before.get(key).and_then(Value::as_str).map(str::to_string)
    }

    fn bpa(&self) -> Planned<Option<PublicAccessBlock>> {
        if self.action == Action::Delete {
            return Planned::Known(None);
        }
        let keys = ["block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"];
        if let Some(k) = keys.iter().find(|k| self.unknown(&[Step::Key(k)])) {
            return Planned::Unknown(format!("`{k}` of {} is known only after apply", self.address));
        }
        let flag = |k: &str| self.after.get(k).and_then(Value::as_bool).unwrap_or(false);
        Planned::Known(Some(PublicAccessBlock {
            block_public_acls: flag("block_public_acls"),
            ignore_public_acls: flag("ignore_public_acls"),
            block_public_policy: flag("block_public_policy"),
            restrict_public_buckets: flag("restrict_public_buckets"),
        }))
    }
}

fn not_a_plan(file: &str, why: &str) -> PlanError {
    PlanError::NotAPlan { file: file.to_string(), why: why.to_string() }
}

/// Reads a plan's JSON text. `file` names it in errors, notes and origins.
pub fn read_plan(text: &str, file: &str) -> Result<PlanRead, PlanError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| PlanError::NotJson {
        file: file.to_string(),
        message: format!("line {} column {}: {e}", e.line(), e.column()),
    })?;
    let Some(version) = doc.get("format_version").and_then(Value::as_str) else {
        return Err(not_a_plan(file, "it has no `format_version`"));
    };
    if version.split('.').next() != Some("1") {
        return Err(PlanError::UnsupportedFormat { file: file.to_string(), version: version.to_string() });
    }
    if doc.get("resource_changes").is_none() && doc.get("planned_values").is_none() {
        return Err(not_a_plan(
            file,
            "it has neither `resource_changes` nor `planned_values` (the JSON of a state, not of a plan?)",
        ));
    }
    let null = &Value::Null;
    let mut resources = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for rc in doc.get("resource_changes").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        let Some(address) = rc.get("address").and_then(Value::as_str) else { continue };
        seen.insert(address.to_string());
        let rtype = rc.get("type").and_then(Value::as_str).unwrap_or("");
        if !TYPES.contains(&rtype) || rc.get("mode").and_then(Value::as_str).is_some_and(|m| m != "managed") {
            continue;
        }
        let change = rc.get("change").unwrap_or(null);
        let Some(action) = change.get("actions").and_then(Action::of) else { continue };
        resources.push(Resource {
            address: address.to_string(),
            rtype,
            action,
            after: change.get("after").unwrap_or(null),
            after_unknown: Some(change.get("after_unknown").unwrap_or(null)),
            before: change.get("before").unwrap_or(null),
        });
    }
    let mut modules: Vec<&Value> = doc.get("planned_values").and_then(|p| p.get("root_module")).into_iter().collect();
    while let Some(module) = modules.pop() {
        for r in module.get("resources").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            let Some(address) = r.get("address").and_then(Value::as_str) else { continue };
            let rtype = r.get("type").and_then(Value::as_str).unwrap_or("");
            if seen.contains(address)
                || !TYPES.contains(&rtype)
                || r.get("mode").and_then(Value::as_str).is_some_and(|m| m != "managed")
            {
                continue;
            }
            resources.push(Resource {
                address: address.to_string(),
                rtype,
                action: Action::Update,
                after: r.get("values").unwrap_or(null),
                after_unknown: None,
                before: null,
            });
        }
        modules.extend(module.get("child_modules").and_then(Value::as_array).map_or(&[][..], Vec::as_slice));
    }

    let mut out = PlanRead::default();
    // `aws_vpc_endpoint_policy` is applied after the endpoint it names: read it last.
    resources.sort_by_key(|r| r.rtype == "aws_vpc_endpoint_policy");
    for r in &resources {
        read_resource(r, file, &mut out);
    }
    Ok(out)
}

fn unmatched(r: &Resource<'_>, file: &str, what: &str) -> Note {
    Note {
        origin: r.origin(file),
        severity: Severity::Warning,
        code: "plan-resource-not-audited",
        resource: r.address.clone(),
        message: format!(
            "{what} is known only after apply, so this change cannot be matched to the audited world; audit again once it is applied"
        ),
    }
}

/// A required policy that the plan gives as null is not "no policy" (only a delete is): unknown.
fn required(r: &Resource<'_>, p: Planned<Option<String>>, what: &str) -> Planned<Option<String>> {
    match p {
        Planned::Known(None) => Planned::Unknown(format!("`{what}` of {} is null in the plan", r.address)),
        other => other,
    }
}

/// An empty endpoint policy is no policy: the AWS provider then calls `ModifyVpcEndpoint` with
/// `ResetPolicy`, which restores the default full-access policy.
fn endpoint_policy(p: Planned<Option<String>>) -> Planned<Option<String>> {
    match p {
        Planned::Known(Some(text)) if text.trim().is_empty() => Planned::Known(None),
        other => other,
    }
}

fn read_resource(r: &Resource<'_>, file: &str, out: &mut PlanRead) {
    let origin = r.origin(file);
    let deleted = r.action == Action::Delete;
    let mut push = |change| out.edits.push(Edit { change, origin: origin.clone() });
    match r.rtype {
        "aws_s3_bucket_policy" => {
            let Some(bucket) = r.identity(&[Step::Key("bucket")]) else {
                out.notes.push(unmatched(r, file, "the bucket name"));
                return;
            };
            let policy = if deleted {
                Planned::Known(None)
            } else {
                required(r, r.string(&[Step::Key("policy")], "policy"), "policy")
            };
            push(Change::BucketPolicy { bucket, policy });
        }
        "aws_s3control_multi_region_access_point_policy" => {
            let name = [Step::Key("details"), Step::Index(0), Step::Key("name")];
            let Some(mrap) = r.identity(&name) else {
                out.notes.push(unmatched(r, file, "the MRAP name (`details[0].name`)"));
                return;
            };
            if deleted {
                // S3 Control has no API to delete an MRAP policy, and the AWS provider's delete
                // of this resource is a no-op (`schema.NoopContext`): the policy stays.
                out.notes.push(Note {
                    origin: r.origin(file),
                    severity: Severity::Warning,
                    code: "plan-delete-keeps-policy",
                    resource: mrap,
                    message: "destroying this resource only removes it from the Terraform state: S3 has no API to delete a Multi-Region Access Point policy, so the current policy stays in force".into(),
                });
                return;
            }
            let path = [Step::Key("details"), Step::Index(0), Step::Key("policy")];
            let policy = required(r, r.string(&path, "details[0].policy"), "details[0].policy");
            push(Change::MrapPolicy { mrap, policy });
        }
        "aws_vpc_endpoint" => {
            if matches!(r.action, Action::Delete | Action::Replace) {
                if let Some(old) = r.before_identity("id") {
                    push(Change::EndpointDeleted { endpoint: old });
                }
            }
            if deleted {
                return;
            }
            let Some(endpoint) = r.identity(&[Step::Key("id")]) else {
                out.notes.push(unmatched(r, file, "the new endpoint's id"));
                return;
            };
            push(Change::EndpointPolicy {
                endpoint,
                policy: endpoint_policy(r.string(&[Step::Key("policy")], "policy")),
            });
        }
        "aws_vpc_endpoint_policy" => {
            let Some(endpoint) = r.identity(&[Step::Key("vpc_endpoint_id")]) else {
                out.notes.push(unmatched(r, file, "`vpc_endpoint_id`"));
                return;
            };
            // The provider's delete resets the endpoint to the default policy (`ResetPolicy`).
            let policy = if deleted {
                Planned::Known(None)
            } else {
                endpoint_policy(r.string(&[Step::Key("policy")], "policy"))
            };
            push(Change::EndpointPolicy { endpoint, policy });
        }
        "aws_s3_bucket_public_access_block" => {
            let Some(bucket) = r.identity(&[Step::Key("bucket")]) else {
                out.notes.push(unmatched(r, file, "the bucket name"));
                return;
            };
            push(Change::BucketBpa { bucket, bpa: r.bpa() });
        }
        "aws_s3_account_public_access_block" => {
            // `account_id` is optional: absent (or computed) = the provider's own account.
            let account = r.identity(&[Step::Key("account_id")]);
            push(Change::AccountBpa { account, bpa: r.bpa() });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(changes: &str) -> PlanRead {
        read_plan(&format!(r#"{{"format_version":"1.2","resource_changes":[{changes}]}}"#), "plan.json").unwrap()
    }

    #[test]
    fn refuses_what_is_not_a_plan() {
        let err = |t: &str| read_plan(t, "p.json").unwrap_err().to_string();
        assert!(err("{").starts_with("p.json: not JSON: line 1 column 1"), "{}", err("{"));
        assert_eq!(
            err(r#"{"format_version":"2.0","resource_changes":[]}"#),
            "p.json: `format_version` 2.0 is not supported: this reader understands the JSON output format 1.x"
        );
        assert!(err(r#"{"format_version":"1.0","values":{}}"#).contains("the JSON of a state"));
        assert!(err(r#"{"resource_changes":[]}"#).contains("no `format_version`"));
    }

    #[test]
    fn unknown_after_apply_and_deletes() {
        let r = plan(
            r#"{"address":"aws_s3_bucket_policy.a","mode":"managed","type":"aws_s3_bucket_policy","name":"a",
                "change":{"actions":["update"],"before":{"bucket":"b1","policy":"{}"},"after":{"bucket":"b1"},"after_unknown":{"policy":true}}},
               {"address":"aws_s3_bucket_policy.b","mode":"managed","type":"aws_s3_bucket_policy","name":"b",
                "change":{"actions":["delete"],"before":{"bucket":"b2","policy":"{}"},"after":null,"after_unknown":{}}},
               {"address":"aws_s3_bucket_policy.c","mode":"managed","type":"aws_s3_bucket_policy","name":"c",
                "change":{"actions":["create"],"before":null,"after":{"policy":"{}"},"after_unknown":{"bucket":true}}},
               {"address":"aws_s3_bucket_policy.d","mode":"managed","type":"aws_s3_bucket_policy","name":"d",
                "change":{"actions":["no-op"],"before":{"bucket":"b4"},"after":{"bucket":"b4"},"after_unknown":{}}}"#,
        );
        assert_eq!(r.edits.len(), 2);
        assert_eq!(
            r.edits[0].change,
            Change::BucketPolicy {
                bucket: "b1".into(),
                policy: Planned::Unknown("`policy` of aws_s3_bucket_policy.a is known only after apply".into())
            }
        );
        assert_eq!(r.edits[1].change, Change::BucketPolicy { bucket: "b2".into(), policy: Planned::Known(None) });
        assert_eq!(r.edits[1].origin.action, "delete");
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.notes[0].origin.address, "aws_s3_bucket_policy.c");
    }

    #[test]
    fn mrap_policy_deletes_keep_the_policy_and_empty_endpoint_policies_reset() {
        let r = plan(
            r#"{"address":"aws_s3control_multi_region_access_point_policy.p","mode":"managed","type":"aws_s3control_multi_region_access_point_policy","name":"p",
                "change":{"actions":["delete"],"before":{"details":[{"name":"doc-example-mrap","policy":"{}"}]},"after":null,"after_unknown":{}}},
               {"address":"aws_vpc_endpoint_policy.e","mode":"managed","type":"aws_vpc_endpoint_policy","name":"e",
                "change":{"actions":["update"],"before":{},"after":{"vpc_endpoint_id":"vpce-1","policy":""},"after_unknown":{}}}"#,
        );
        assert_eq!(r.notes.len(), 1);
        assert_eq!((r.notes[0].code, r.notes[0].resource.as_str()), ("plan-delete-keeps-policy", "doc-example-mrap"));
        assert_eq!(r.edits.len(), 1);
        assert_eq!(
            r.edits[0].change,
            Change::EndpointPolicy { endpoint: "vpce-1".into(), policy: Planned::Known(None) }
        );
    }

    #[test]
    fn a_null_required_policy_is_unknown_not_deleted() {
        let r = plan(
            r#"{"address":"aws_s3_bucket_policy.a","mode":"managed","type":"aws_s3_bucket_policy","name":"a",
                "change":{"actions":["update"],"before":{"bucket":"b1"},"after":{"bucket":"b1","policy":null},"after_unknown":{}}}"#,
        );
        assert_eq!(
            r.edits[0].change,
            Change::BucketPolicy {
                bucket: "b1".into(),
                policy: Planned::Unknown("`policy` of aws_s3_bucket_policy.a is null in the plan".into())
            }
        );
    }

    #[test]
    fn endpoint_policy_resource_wins_over_the_endpoint() {
        let r = plan(
            r#"{"address":"aws_vpc_endpoint_policy.p","mode":"managed","type":"aws_vpc_endpoint_policy","name":"p",
                "change":{"actions":["update"],"before":{},"after":{"vpc_endpoint_id":"vpce-1","policy":"second"},"after_unknown":{}}},
               {"address":"aws_vpc_endpoint.e","mode":"managed","type":"aws_vpc_endpoint","name":"e",
                "change":{"actions":["update"],"before":{"id":"vpce-1"},"after":{"id":"vpce-1","policy":"first"},"after_unknown":{}}}"#,
        );
        let order: Vec<&str> = r.edits.iter().map(|e| e.origin.address.as_str()).collect();
        assert_eq!(order, ["aws_vpc_endpoint.e", "aws_vpc_endpoint_policy.p"]);
    }
}
