//! The generic evaluation case of `mrap-auditor eval` (DESIGN §7) and of the golden tests.
//!
//! A case is one request and the policies that apply to it. Unknown fields are refused (a typo
//! such as `"resouce"` must not silently drop a policy); every error names the field's JSON path
//! and position in the case file.

use std::fmt;
use std::sync::Arc;

use super::decision::{Decision, Layer, NamedPolicy, PolicySet};
use super::request::{Caller, Context, ContextValue, Request};
use crate::policy::json::{self, Json, JsonKind, Member, Pos, SyntaxError};
use crate::policy::{Policy, PolicyError, PolicyKind, policy_from_json};

/// Why a case could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CaseError {
    #[error("invalid JSON: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Syntax(Vec<SyntaxError>),
    #[error("{path} ({pos}): {message}")]
    Field { path: String, pos: Pos, message: String },
    #[error("{path}: {source}")]
    Policy { path: String, source: PolicyError },
    #[error("the case is {size} bytes, more than the {limit} bytes read (the bound of one policy document)")]
    TooLarge { size: usize, limit: usize },
}

/// A compiled policy and the name it has in explanations (`identity[0]`, `resource`, `scp[1][0]`).
/// Shared: in a stream the same compiled policy serves every line that repeats its text
/// (see [`super::stream`]).
pub type Named = (String, Arc<Policy>);

/// SCP or RCP levels, root first; each level is a list of named policies.
pub type Levels = Vec<Vec<Named>>;

/// A parsed case. Policies are held here; [`EvalCase::policy_set`] lends them to the evaluator.
#[derive(Debug, Clone)]
pub struct EvalCase {
    pub name: Option<String>,
    pub description: Option<String>,
    pub request: Request,
    pub identity: Vec<Named>,
    pub resource: Option<Named>,
    pub vpce: Vec<Named>,
    pub boundary: Option<Vec<Named>>,
    pub session: Option<Named>,
    pub scp: Option<Levels>,
    pub rcp: Option<Levels>,
}

/// What a golden case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Outcome {
        decision: Decision,
        deciding_layer: Option<Layer>,
        deciding_statement: Option<String>,
    },
    /// The case must be refused with a message containing this text.
    Error(String),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Outcome { decision, deciding_layer, deciding_statement } => {
                write!(f, "{decision:?}")?;
                if let Some(l) = deciding_layer {
                    write!(f, " at {}", l.name())?;
                }
                if let Some(s) = deciding_statement {
                    write!(f, " by `{s}`")?;
                }
                Ok(())
            }
            Expected::Error(e) => write!(f, "error containing `{e}`"),
        }
    }
}

fn named(list: &[Named]) -> Vec<NamedPolicy<'_>> {
    list.iter().map(|(name, policy)| NamedPolicy { name, policy }).collect()
}

impl EvalCase {
    pub fn policy_set(&self) -> PolicySet<'_> {
        fn one(p: &Option<Named>) -> Option<NamedPolicy<'_>> {
            p.as_ref().map(|(name, policy)| NamedPolicy { name, policy })
        }
        PolicySet {
            identity: named(&self.identity),
            resource: one(&self.resource),
            vpce: named(&self.vpce),
            boundary: self.boundary.as_deref().map(named),
            session: one(&self.session),
            scp: self.scp.as_ref().map(|levels| levels.iter().map(|l| named(l)).collect()),
            rcp: self.rcp.as_ref().map(|levels| levels.iter().map(|l| named(l)).collect()),
        }
    }
}

/// Parses a case from its JSON text.
pub fn parse_case(text: &str) -> Result<EvalCase, CaseError> {
    // A case holds a handful of policies, each limited by AWS to a few KB: a case above the bound
    // of one policy document holds no policy AWS would, and reading it costs memory and time.
    let limit = crate::policy::parse::MAX_POLICY_BYTES;
    if text.len() > limit {
        return Err(CaseError::TooLarge { size: text.len(), limit });
    }
    let doc = json::parse(text).map_err(CaseError::Syntax)?;
    case_from_json(&doc)
}

pub(super) const CASE_FIELDS: &[&str] = &["name", "description", "request", "policies", "expected"];
pub(super) const REQUEST_FIELDS: &[&str] = &["principal", "action", "resource", "resource_account", "context"];
pub(super) const POLICY_FIELDS: &[&str] = &["identity", "resource", "vpce", "boundary", "session", "scp", "rcp"];
const EXPECTED_FIELDS: &[&str] = &["decision", "deciding_layer", "deciding_statement", "error"];

fn field_error(path: &str, pos: Pos, message: impl Into<String>) -> CaseError {
    CaseError::Field { path: path.to_string(), pos, message: message.into() }
}

fn object<'j>(value: &'j Json, path: &str, known: &[&str]) -> Result<&'j [Member], CaseError> {
    let JsonKind::Object(members) = &value.kind else {
        return Err(field_error(path, value.pos, format!("must be an object, found {}", value.type_name())));
    };
    if let Some(m) = members.iter().find(|m| !known.contains(&m.key.as_str())) {
        let expected = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        return Err(field_error(
            &child(path, &m.key),
            m.key_pos,
            format!("unknown field `{}`, expected one of {expected}", m.key),
        ));
    }
    Ok(members)
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn get<'j>(members: &'j [Member], key: &str) -> Option<&'j Json> {
    members.iter().find(|m| m.key == key).map(|m| &m.value).filter(|v| v.kind != JsonKind::Null)
}

fn string<'j>(value: &'j Json, path: &str) -> Result<&'j str, CaseError> {
    match &value.kind {
        JsonKind::String(s) => Ok(s),
        _ => Err(field_error(path, value.pos, format!("must be a string, found {}", value.type_name()))),
    }
}

fn required<'j>(members: &'j [Member], key: &str, path: &str, pos: Pos) -> Result<&'j Json, CaseError> {
    get(members, key).ok_or_else(|| field_error(path, pos, format!("missing `{key}`")))
}

/// Reads a case from parsed JSON (for files holding several cases).
pub fn case_from_json(doc: &Json) -> Result<EvalCase, CaseError> {
    let top = object(doc, "", CASE_FIELDS)?;
    let text = |key: &str| -> Result<Option<String>, CaseError> {
        get(top, key).map(|v| string(v, key).map(str::to_string)).transpose()
    };
    let name = text("name")?;
    let description = text("description")?;
    let request = request(required(top, "request", "", doc.pos)?)?;
    let mut case = EvalCase {
        name,
        description,
        request,
        identity: Vec::new(),
        resource: None,
        vpce: Vec::new(),
        boundary: None,
        session: None,
        scp: None,
        rcp: None,
    };
    let Some(policies) = get(top, "policies") else { return Ok(case) };
    let p = object(policies, "policies", POLICY_FIELDS)?;
    let list = |key: &str, kind: PolicyKind| -> Result<Option<Vec<Named>>, CaseError> {
        get(p, key).map(|v| policy_list(v, &format!("policies.{key}"), kind, key)).transpose()
    };
    let single = |key: &str, kind: PolicyKind| -> Result<Option<Named>, CaseError> {
        get(p, key)
            .map(|v| policy(v, &format!("policies.{key}"), kind).map(|pol| (key.to_string(), Arc::new(pol))))
            .transpose()
    };
    let levels = |key: &str, kind: PolicyKind| -> Result<Option<Levels>, CaseError> {
        let Some(v) = get(p, key) else { return Ok(None) };
        let path = format!("policies.{key}");
        let JsonKind::Array(items) = &v.kind else {
            return Err(field_error(
                &path,
                v.pos,
                format!("must be an array of levels (arrays of policies), found {}", v.type_name()),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, level)| policy_list(level, &format!("{path}[{i}]"), kind, &format!("{key}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    case.identity = list("identity", PolicyKind::Identity)?.unwrap_or_default();
    case.resource = single("resource", PolicyKind::Resource)?;
    case.vpce = list("vpce", PolicyKind::Vpce)?.unwrap_or_default();
    case.boundary = list("boundary", PolicyKind::Boundary)?;
    case.session = single("session", PolicyKind::Session)?;
    case.scp = levels("scp", PolicyKind::Scp)?;
    case.rcp = levels("rcp", PolicyKind::Rcp)?;
    Ok(case)
}

/// A request names one action: no wildcard, not empty.
pub(super) fn is_one_action(action: &str) -> bool {
    !action.is_empty() && !action.contains(['*', '?'])
}

fn request(value: &Json) -> Result<Request, CaseError> {
    let r = object(value, "request", REQUEST_FIELDS)?;
    let principal = required(r, "principal", "request", value.pos)?;
    let caller = Caller::parse(string(principal, "request.principal")?)
        .map_err(|e| field_error("request.principal", principal.pos, e.to_string()))?;
    let action_value = required(r, "action", "request", value.pos)?;
    let action = string(action_value, "request.action")?;
    if !is_one_action(action) {
        return Err(field_error(
            "request.action",
            action_value.pos,
            "must be one action such as `s3:GetObject` (no wildcards)",
        ));
    }
    let resource = string(required(r, "resource", "request", value.pos)?, "request.resource")?;
    let resource_account = match get(r, "resource_account") {
        Some(v) => {
            let account = string(v, "request.resource_account")?;
            if !crate::util::is_account_id(account) {
                return Err(field_error(
                    "request.resource_account",
                    v.pos,
                    format!("`{account}` is not a 12-digit account id"),
                ));
            }
            Some(account)
        }
        None => None,
    };
    let mut context = Context::new();
    if let Some(ctx) = get(r, "context") {
        let JsonKind::Object(entries) = &ctx.kind else {
            return Err(field_error(
                "request.context",
                ctx.pos,
                format!("must be an object, found {}", ctx.type_name()),
            ));
        };
        for e in entries {
            let path = format!("request.context.{}", e.key);
            let scalar = |v: &Json| match &v.kind {
                JsonKind::String(s) => Some(s.clone()),
                JsonKind::Number(n) => Some(n.clone()),
                JsonKind::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            let value = match &e.value.kind {
                JsonKind::Array(items) => ContextValue::Multi(
                    items
                        .iter()
                        .map(|i| scalar(i).ok_or_else(|| field_error(&path, i.pos, "list items must be strings")))
                        .collect::<Result<_, _>>()?,
                ),
                _ => ContextValue::Single(
                    scalar(&e.value)
                        .ok_or_else(|| field_error(&path, e.value.pos, "must be a string or an array of strings"))?,
                ),
            };
            context.insert(&e.key, value);
        }
    }
    Ok(Request::new(caller, action, resource, resource_account, context))
}

/// A policy given as a JSON object, or as a string holding policy text (as AWS APIs return it).
pub(super) fn policy(value: &Json, path: &str, kind: PolicyKind) -> Result<Policy, CaseError> {
    let result = match &value.kind {
        JsonKind::String(text) => crate::policy::parse_policy(text, kind),
        _ => policy_from_json(value, kind),
    };
    result.map_err(|source| CaseError::Policy { path: path.to_string(), source })
}

fn policy_list(value: &Json, path: &str, kind: PolicyKind, name: &str) -> Result<Vec<Named>, CaseError> {
    let JsonKind::Array(items) = &value.kind else {
        return Err(field_error(path, value.pos, format!("must be an array of policies, found {}", value.type_name())));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| policy(item, &format!("{path}[{i}]"), kind).map(|p| (format!("{name}[{i}]"), Arc::new(p))))
        .collect()
}

/// Reads the `expected` block of a golden case.
pub fn expected_from_json(doc: &Json) -> Result<Option<Expected>, CaseError> {
    let JsonKind::Object(top) = &doc.kind else { return Ok(None) };
    let Some(value) = get(top, "expected") else { return Ok(None) };
    let e = object(value, "expected", EXPECTED_FIELDS)?;
    if let Some(err) = get(e, "error") {
        return Ok(Some(Expected::Error(string(err, "expected.error")?.to_string())));
    }
    let decision_value = required(e, "decision", "expected", value.pos)?;
    let decision = match string(decision_value, "expected.decision")? {
        "Allow" => Decision::Allow,
        "ImplicitDeny" => Decision::ImplicitDeny,
        "ExplicitDeny" => Decision::ExplicitDeny,
        // A decision that depends on a value of the wrong form (fail closed, never guessed).
        "Unknown" => Decision::Unknown,
        other => {
            return Err(field_error("expected.decision", decision_value.pos, format!("unknown decision `{other}`")));
        }
    };
    let deciding_layer = match get(e, "deciding_layer") {
        None => None,
        Some(v) => {
            let name = string(v, "expected.deciding_layer")?;
            let all = [
                Layer::Scp,
                Layer::Rcp,
                Layer::Vpce,
                Layer::Boundary,
                Layer::Session,
                Layer::Identity,
                Layer::Resource,
            ];
            Some(
                all.into_iter()
                    .find(|l| l.name() == name)
                    .ok_or_else(|| field_error("expected.deciding_layer", v.pos, format!("unknown layer `{name}`")))?,
            )
        }
    };
    let deciding_statement = get(e, "deciding_statement")
        .map(|v| string(v, "expected.deciding_statement").map(str::to_string))
        .transpose()?;
    Ok(Some(Expected::Outcome { decision, deciding_layer, deciding_statement }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"request":{"principal":"x","action":"s3:GetObject","resource":"r"}}"#,
                "request.principal (line 1 column 25): principal `x` is not `anonymous`, an IAM user/role/root ARN, an STS session ARN or a service principal",
            ),
            (
                r#"{"request":{"principal":"anonymous","action":"s3:GetObject","resouce":"r"}}"#,
                "request.resouce (line 1 column 61): unknown field `resouce`, expected one of `principal`, `action`, `resource`, `resource_account`, `context`",
            ),
            (
                r#"{"request":{"principal":"anonymous","action":"s3:GetObject"}}"#,
                "request (line 1 column 12): missing `resource`",
            ),
            (
                r#"{"request":{"principal":"anonymous","action":"s3:Get*","resource":"r"}}"#,
                "request.action (line 1 column 46): must be one action such as `s3:GetObject` (no wildcards)",
            ),
            (
                r#"{"request":{"principal":"anonymous","action":"s3:GetObject","resource":"r"},"policies":{"identity":[{"Statement":{"Effect":"Allow","Action":"s3:*"}}]}}"#,
                "policies.identity[0]: invalid policy: Statement (line 1 column 114): missing `Resource` (or `NotResource`)",
            ),
            (
                r#"{"request":{"principal":"anonymous","action":"s3:GetObject","resource":"r","resource_account":"12"}}"#,
                "request.resource_account (line 1 column 95): `12` is not a 12-digit account id",
            ),
            (
                r#"{"request":{"principal":"anonymous","action":"s3:GetObject","resource":"r"},"policies":{"scp":[{}]}}"#,
                "policies.scp[0] (line 1 column 96): must be an array of policies, found an object",
            ),
            ("{", "invalid JSON: line 1 column 2: expected a member name in `\"`, found the end of the document"),
        ];
        for (text, want) in cases {
            assert_eq!(parse_case(text).map(|_| ()).unwrap_err().to_string(), *want, "case {text}");
        }
    }

    #[test]
    fn reads_a_full_case() {
        let text = r#"{"name":"n","request":{"principal":"arn:aws:iam::111122223333:role/app","action":"s3:GetObject",
            "resource":"arn:aws:s3:::b/k","resource_account":"111122223333","context":{"aws:TagKeys":["a","b"],"n":5}},
            "policies":{"identity":[{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}],"resource":null,
            "vpce":[],"boundary":null,"session":"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}",
            "scp":[[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}]]},
            "expected":{"decision":"Allow"}}"#;
        let case = parse_case(text).unwrap();
        assert_eq!(case.identity.len(), 1);
        assert!(case.resource.is_none() && case.boundary.is_none() && case.session.is_some());
        assert_eq!(case.scp.as_ref().map(Vec::len), Some(1));
        assert_eq!(case.request.context.get("n"), Some(&ContextValue::Single("5".into())));
        let doc = json::parse(text).unwrap();
        assert_eq!(
            expected_from_json(&doc).unwrap(),
            Some(Expected::Outcome { decision: Decision::Allow, deciding_layer: None, deciding_statement: None })
        );
    }
}
