//! From JSON text to a checked [`Policy`], or every problem with its place.
//!
//! Nothing unknown is silently ignored: an unknown element, operator or principal type, a value
//! of the wrong type, `Action` together with `NotAction`, a malformed CIDR or date: each is a
//! problem naming the JSON path (`Statement[1].Condition.StringEquals`) and the line and column.
//! Problems are collected, not stopped at, so a user fixes a policy in one pass.

use std::fmt;

use super::json::{self, Json, JsonKind, Member, Pos, SyntaxError};
use super::model::*;
use super::template::{Syntax, Template};
use super::values::{convert_values, parse_operator};
use crate::util::is_account_id;

/// Why a policy could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid JSON: {}", join(.0))]
    Syntax(Vec<SyntaxError>),
    #[error("invalid policy: {}", join(.0))]
    Invalid(Vec<Problem>),
    /// Refused before parsing: see [`MAX_POLICY_BYTES`].
    #[error("the policy document is {size} bytes, more than the {limit} bytes this auditor reads")]
    TooLarge { size: usize, limit: usize },
}

/// The largest policy document read at all. AWS's own limits are far lower (20 KB for a bucket
/// policy, 20,480 characters for an endpoint policy; lint `policy-exceeds-aws-limit`), so a
/// bigger document is not a policy AWS holds, and reading it would only cost memory and time.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

impl PolicyError {
    /// The position of the first problem.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            PolicyError::Syntax(e) => e.first().map(|e| e.pos),
            PolicyError::Invalid(p) => p.first().map(|p| p.pos),
            PolicyError::TooLarge { .. } => None,
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A structural problem: where (JSON path and position) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub path: String,
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.pos, self.message)
        } else {
            write!(f, "{} ({}): {}", self.path, self.pos, self.message)
        }
    }
}

/// Parses policy text, e.g. the `Policy` string of `GetBucketPolicy`.
pub fn parse_policy(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge { size: text.len(), limit: MAX_POLICY_BYTES });
    }
    let doc = json::parse(text).map_err(PolicyError::Syntax)?;
    policy_from_json(&doc, kind)
}

/// Reads a policy from an already parsed JSON value (positions stay those of the enclosing file).
pub fn policy_from_json(doc: &Json, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let mut reader = Reader { problems: Vec::new(), version: Version::Absent, kind };
    let policy = reader.policy(doc);
    match policy {
        Some(policy) if reader.problems.is_empty() => Ok(policy),
        _ => Err(PolicyError::Invalid(reader.problems)),
    }
}

const POLICY_ELEMENTS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

struct Reader {
    problems: Vec<Problem>,
    version: Version,
    kind: PolicyKind,
}

impl Reader {
    fn problem(&mut self, path: &str, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem { path: path.to_string(), pos, message: message.into() });
    }

    fn members<'j>(&mut self, value: &'j Json, path: &str, what: &str) -> Option<&'j [Member]> {
        match &value.kind {
            JsonKind::Object(members) => Some(members),
            _ => {
                self.problem(path, value.pos, format!("{what} must be an object, found {}", value.type_name()));
                None
            }
        }
    }

    fn unknown_elements(&mut self, members: &[Member], known: &[&str], path: &str, what: &str) {
        for m in members {
            if !known.contains(&m.key.as_str()) {
                let hint = known
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(&m.key))
                    .map(|k| format!(" (did you mean `{k}`? element names are case-sensitive)"))
                    .unwrap_or_default();
                self.problem(&child(path, &m.key), m.key_pos, format!("unknown {what} element `{}`{hint}", m.key));
            }
        }
    }

    fn string<'j>(&mut self, value: &'j Json, path: &str, what: &str) -> Option<&'j str> {
        match &value.kind {
            JsonKind::String(s) => Some(s),
            _ => {
                self.problem(path, value.pos, format!("{what} must be a string, found {}", value.type_name()));
                None
            }
        }
    }

    /// A string or a non-empty array of strings, with each string's position.
    fn strings<'j>(&mut self, value: &'j Json, path: &str, what: &str) -> Option<Vec<(&'j str, Pos)>> {
        match &value.kind {
            JsonKind::String(s) => Some(vec![(s.as_str(), value.pos)]),
            JsonKind::Array(items) if items.is_empty() => {
                self.problem(path, value.pos, format!("{what} must not be an empty array"));
                None
            }
            JsonKind::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match &item.kind {
                        JsonKind::String(s) => out.push((s.as_str(), item.pos)),
                        _ => self.problem(
                            &format!("{path}[{i}]"),
                            item.pos,
                            format!("{what} must be strings, found {}", item.type_name()),
                        ),
                    }
                }
                (out.len() == items.len()).then_some(out)
            }
            _ => {
                self.problem(
                    path,
                    value.pos,
                    format!("{what} must be a string or an array of strings, found {}", value.type_name()),
                );
                None
            }
        }
    }

    fn policy(&mut self, doc: &Json) -> Option<Policy> {
        let members = self.members(doc, "", "a policy")?;
        self.unknown_elements(members, POLICY_ELEMENTS, "", "policy");
        if let Some(m) = find(members, "Version") {
            self.version = match self.string(&m.value, "Version", "`Version`") {
                Some("2012-10-17") => Version::V2012_10_17,
                Some("2008-10-17") => Version::V2008_10_17,
                Some(other) => {
                    self.problem(
                        "Version",
                        m.value.pos,
                        format!("unknown Version `{other}`, expected `2012-10-17` or `2008-10-17`"),
                    );
                    Version::Absent
                }
                None => Version::Absent,
            };
        }
        let id = find(members, "Id").and_then(|m| self.string(&m.value, "Id", "`Id`")).map(str::to_string);
        let Some(statement) = find(members, "Statement") else {
            self.problem("", doc.pos, "missing `Statement`");
            return None;
        };
        let statements = match &statement.value.kind {
            JsonKind::Object(_) => self.statement(&statement.value, 0, "Statement").into_iter().collect(),
            JsonKind::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.statement(item, i, &format!("Statement[{i}]")))
                .collect(),
            _ => {
                let found = statement.value.type_name();
                self.problem(
                    "Statement",
                    statement.value.pos,
                    format!("`Statement` must be an object or an array, found {found}"),
                );
                Vec::new()
            }
        };
        Some(Policy { kind: self.kind, version: self.version, id, statements })
    }

    fn statement(&mut self, value: &Json, index: usize, path: &str) -> Option<Statement> {
        let members = self.members(value, path, "a statement")?;
        self.unknown_elements(members, STATEMENT_ELEMENTS, path, "statement");
        let before = self.problems.len();

        let sid =
            find(members, "Sid").and_then(|m| self.string(&m.value, &child(path, "Sid"), "`Sid`")).map(str::to_string);
        let effect = match find(members, "Effect") {
            None => {
                self.problem(path, value.pos, "missing `Effect`");
                None
            }
            Some(m) => match self.string(&m.value, &child(path, "Effect"), "`Effect`") {
                Some("Allow") => Some(Effect::Allow),
                Some("Deny") => Some(Effect::Deny),
                Some(other) => {
                    self.problem(
                        &child(path, "Effect"),
                        m.value.pos,
                        format!("unknown Effect `{other}`, expected `Allow` or `Deny`"),
                    );
                    None
                }
                None => None,
            },
        };
        let principal = self.principal(members, path, value.pos);
        let action = self.action(members, path, value.pos);
        let resource = self.resource(members, path, value.pos);
        let conditions = match find(members, "Condition") {
            Some(m) => self.conditions(&m.value, &child(path, "Condition")),
            None => Vec::new(),
        };
        if self.problems.len() > before {
            return None;
        }
        Some(Statement {
            index,
            sid,
            effect: effect?,
            pos: value.pos,
            principal,
            action: action?,
            resource: resource?,
            conditions,
        })
    }

    /// Exactly one of `positive` / `negative` must be present.
    fn one_of<'j>(
        &mut self,
        members: &'j [Member],
        positive: &str,
        negative: &str,
        path: &str,
        pos: Pos,
        required: bool,
    ) -> Option<(&'j Member, bool)> {
        match (find(members, positive), find(members, negative)) {
            (Some(_), Some(n)) => {
                self.problem(
                    &child(path, negative),
                    n.key_pos,
                    format!("`{positive}` and `{negative}` cannot be used together"),
                );
                None
            }
            (Some(p), None) => Some((p, false)),
            (None, Some(n)) => Some((n, true)),
            (None, None) => {
                if required {
                    self.problem(path, pos, format!("missing `{positive}` (or `{negative}`)"));
                }
                None
            }
        }
    }

    fn action(&mut self, members: &[Member], path: &str, pos: Pos) -> Option<ActionClause> {
        let (member, negated) = self.one_of(members, "Action", "NotAction", path, pos, true)?;
        let path = child(path, &member.key);
        let values = self.strings(&member.value, &path, &format!("`{}`", member.key))?;
        let mut patterns = Vec::with_capacity(values.len());
        for (raw, at) in values {
            let valid = raw == "*"
                || raw.split_once(':').is_some_and(|(service, name)| !service.is_empty() && !name.is_empty());
            if !valid {
                self.problem(
                    &path,
                    at,
                    format!("action `{raw}` must be `*` or `service:action` (e.g. `s3:GetObject`)"),
                );
                continue;
            }
            // Actions are case-insensitive: compare lower-cased pattern and request action.
            let mut pattern = Template::parse(&raw.to_lowercase(), Syntax { wildcards: true, variables: false });
            pattern.raw = raw.to_string(); // as written, for messages
            patterns.push(pattern);
        }
        Some(ActionClause { negated, patterns })
    }

    fn resource(&mut self, members: &[Member], path: &str, pos: Pos) -> Option<ResourceClause> {
        let (member, negated) = self.one_of(members, "Resource", "NotResource", path, pos, true)?;
        let path = child(path, &member.key);
        let values = self.strings(&member.value, &path, &format!("`{}`", member.key))?;
        let mut patterns = Vec::with_capacity(values.len());
        for (raw, at) in values {
            if raw != "*" && !raw.starts_with("arn:") {
                self.problem(&path, at, format!("resource `{raw}` must be an ARN (`arn:...`) or `*`"));
                continue;
            }
            patterns.push(arn_pattern(raw, self.version.has_variables()));
        }
        Some(ResourceClause { negated, patterns })
    }

    fn principal(&mut self, members: &[Member], path: &str, pos: Pos) -> Option<PrincipalClause> {
        let required = self.kind.requires_principal();
        let (member, negated) = self.one_of(members, "Principal", "NotPrincipal", path, pos, required)?;
        let path = child(path, &member.key);
        if !required {
            let kind = self.kind.name();
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            self.problem(&path, member.key_pos, format!("`{}` is not allowed in {article} {kind}", member.key));
            return None;
        }
        let mut entries = Vec::new();
        match &member.value.kind {
            JsonKind::String(s) if s == "*" => entries.push(PrincipalEntry::Everyone),
            JsonKind::Object(map) => {
                for m in map {
                    let entry_path = child(&path, &m.key);
                    let Some(values) = self.strings(&m.value, &entry_path, &format!("`{}` principals", m.key)) else {
                        continue;
                    };
                    for (raw, at) in values {
                        let entry = match m.key.as_str() {
                            "AWS" => aws_principal(raw),
                            "Service" if !raw.is_empty() => Ok(PrincipalEntry::Service(raw.to_string())),
                            "Federated" if !raw.is_empty() => Ok(PrincipalEntry::Federated(raw.to_string())),
                            "CanonicalUser" if !raw.is_empty() => Ok(PrincipalEntry::CanonicalUser(raw.to_string())),
                            "Service" | "Federated" | "CanonicalUser" => Err("must not be empty".to_string()),
                            other => Err(format!(
                                "unknown principal type `{other}`, expected `AWS`, `Service`, `Federated` or `CanonicalUser`"
                            )),
                        };
                        match entry {
                            Ok(e) => entries.push(e),
                            Err(message) => self.problem(&entry_path, at, message),
                        }
                    }
                }
                if map.is_empty() {
                    self.problem(&path, member.value.pos, format!("`{}` must not be empty", member.key));
                }
            }
            _ => {
                let found = match &member.value.kind {
                    JsonKind::String(s) => format!("`{s}`"),
                    _ => member.value.type_name().to_string(),
                };
                self.problem(
                    &path,
                    member.value.pos,
                    format!("`{}` must be `*` or an object such as {{\"AWS\": \"...\"}}, found {found}", member.key),
                );
            }
        }
        Some(PrincipalClause { negated, entries })
    }

    fn conditions(&mut self, value: &Json, path: &str) -> Vec<Condition> {
        let Some(blocks) = self.members(value, path, "`Condition`") else { return Vec::new() };
        let mut out = Vec::new();
        for block in blocks {
            let op_path = child(path, &block.key);
            let operator = match parse_operator(&block.key) {
                Ok(op) => op,
                Err(message) => {
                    self.problem(&op_path, block.key_pos, message);
                    continue;
                }
            };
            let Some(keys) = self.members(&block.value, &op_path, &format!("the `{}` block", block.key)) else {
                continue;
            };
            if keys.is_empty() {
                self.problem(&op_path, block.value.pos, format!("the `{}` block has no condition key", block.key));
            }
            for k in keys {
                let key_path = child(&op_path, &k.key);
                if k.key.is_empty() {
                    self.problem(&key_path, k.key_pos, "empty condition key");
                    continue;
                }
                let Some(raw_values) = self.condition_values(&k.value, &key_path) else { continue };
                match convert_values(operator.base, &raw_values, self.version) {
                    Ok(values) => out.push(Condition {
                        operator,
                        key: k.key.clone(),
                        key_lower: k.key.to_lowercase(),
                        values,
                        raw_values: raw_values.into_iter().map(|(s, _)| s).collect(),
                        pos: k.key_pos,
                    }),
                    Err((i, message)) => {
                        let at = raw_values.get(i).map_or(k.value.pos, |(_, p)| *p);
                        self.problem(&key_path, at, message);
                    }
                }
            }
        }
        out
    }

    /// Condition values: a string, number or boolean, or a non-empty array of them; numbers and
    /// booleans are kept as their text (IAM compares `"10"` and `10` alike).
    fn condition_values(&mut self, value: &Json, path: &str) -> Option<Vec<(String, Pos)>> {
        fn scalar(v: &Json) -> Option<String> {
            match &v.kind {
                JsonKind::String(s) => Some(s.clone()),
                JsonKind::Number(n) => Some(n.clone()),
                JsonKind::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }
        match &value.kind {
            JsonKind::Array(items) if items.is_empty() => {
                self.problem(path, value.pos, "condition values must not be an empty array");
                None
            }
            JsonKind::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match scalar(item) {
                        Some(s) => out.push((s, item.pos)),
                        None => self.problem(
                            &format!("{path}[{i}]"),
                            item.pos,
                            format!(
                                "a condition value must be a string, number or boolean, found {}",
                                item.type_name()
                            ),
                        ),
                    }
                }
                (out.len() == items.len()).then_some(out)
            }
            _ => match scalar(value) {
                Some(s) => Some(vec![(s, value.pos)]),
                None => {
                    self.problem(
                        path,
                        value.pos,
                        format!(
                            "a condition value must be a string, number, boolean or array, found {}",
                            value.type_name()
                        ),
                    );
                    None
                }
            },
        }
    }
}

fn find<'j>(members: &'j [Member], key: &str) -> Option<&'j Member> {
    members.iter().find(|m| m.key == key)
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Splits an ARN pattern into its five fixed fields and the resource part. Variables are only
/// substituted in the resource part (IAM: "Policy variables", "Resource element").
pub fn arn_pattern(raw: &str, variables: bool) -> ArnPattern {
    let fields = raw
        .splitn(6, ':')
        .enumerate()
        .map(|(i, field)| Template::parse(field, Syntax { wildcards: true, variables: variables && i == 5 }))
        .collect();
    ArnPattern { raw: raw.to_string(), fields }
}

/// Reads one `{"AWS": ...}` principal value.
fn aws_principal(raw: &str) -> Result<PrincipalEntry, String> {
    if raw == "*" {
        return Ok(PrincipalEntry::Everyone);
    }
    if is_account_id(raw) {
        return Ok(PrincipalEntry::Account(raw.to_string()));
    }
    if raw.starts_with("arn:") {
        if raw.contains(['*', '?']) {
            return Err(format!(
                "wildcards are not allowed in principal ARN `{raw}`: use `*` alone, or a condition on `aws:PrincipalArn`"
            ));
        }
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        let [_, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(format!("principal `{raw}` is not a valid ARN"));
        };
        if partition.is_empty() || !region.is_empty() || !is_account_id(account) {
            return Err(format!("principal `{raw}` is not a valid IAM or STS ARN"));
        }
        return match (*service, resource.split_once('/')) {
            ("iam", None) if *resource == "root" => Ok(PrincipalEntry::Account((*account).to_string())),
            ("iam", Some(("user", rest))) if !rest.is_empty() => Ok(PrincipalEntry::User { arn: raw.to_string() }),
            ("iam", Some(("role", rest))) if !rest.is_empty() => Ok(PrincipalEntry::Role {
                arn: raw.to_string(),
                account: (*account).to_string(),
                name: rest.rsplit('/').next().unwrap_or(rest).to_string(),
            }),
            ("sts", Some(("assumed-role", rest))) if rest.split('/').count() == 2 => {
                Ok(PrincipalEntry::AssumedRole { arn: raw.to_string() })
            }
            ("sts", Some(("federated-user", rest))) if !rest.is_empty() => {
                Ok(PrincipalEntry::FederatedUser { arn: raw.to_string() })
            }
            _ => Err(format!(
                "`{raw}` cannot be a principal: expected an account, user, role, assumed-role session or federated user"
            )),
        };
    }
    if is_unique_id(raw) {
        return Ok(PrincipalEntry::UniqueId(raw.to_string()));
    }
    Err(format!("invalid AWS principal `{raw}`: expected `*`, a 12-digit account id or an IAM/STS ARN"))
}

/// Unique ids as AWS prints them for deleted principals (`AROA...` roles, `AIDA...` users).
fn is_unique_id(s: &str) -> bool {
    ["AROA", "AIDA", "AIPA", "ANPA", "AGPA", "ASIA", "AKIA"].iter().any(|p| s.starts_with(p))
        && s.len() >= 16
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, kind: PolicyKind) -> String {
        match parse_policy(text, kind) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    }

    const ID: PolicyKind = PolicyKind::Identity;
    const RES: PolicyKind = PolicyKind::Resource;

    #[test]
    fn structural_errors_name_path_and_position() {
        let cases: &[(&str, PolicyKind, &str)] = &[
            (
                r#"{"Statement":{"Effect":"Alow","Action":"s3:*","Resource":"*"}}"#,
                ID,
                "invalid policy: Statement.Effect (line 1 column 24): unknown Effect `Alow`, expected `Allow` or `Deny`",
            ),
            (
                r#"{"Statement":[{"Action":"s3:*","Resource":"*"}]}"#,
                ID,
                "invalid policy: Statement[0] (line 1 column 15): missing `Effect`",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}]}"#,
                ID,
                "invalid policy: Statement[0].NotAction (line 1 column 49): `Action` and `NotAction` cannot be used together",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"aws:SourceVpce":"v"}}}]}"#,
                ID,
                "invalid policy: Statement[0].Condition.StringEqual (line 1 column 77): unknown condition operator `StringEqual` (did you mean `StringEquals`?)",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
                ID,
                "invalid policy: Statement[0].Principal (line 1 column 33): `Principal` is not allowed in an identity policy",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
                RES,
                "invalid policy: Statement[0] (line 1 column 15): missing `Principal` (or `NotPrincipal`)",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:role/x"},"Action":"s3:*","Resource":"*"}]}"#,
                RES,
                "invalid policy: Statement[0].Principal.AWS (line 1 column 52): wildcards are not allowed in principal ARN `arn:aws:iam::*:role/x`: use `*` alone, or a condition on `aws:PrincipalArn`",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.300/8"}}}]}"#,
                ID,
                "invalid policy: Statement[0].Condition.IpAddress.aws:SourceIp (line 1 column 105): `10.0.0.300/8` is not an IP address or CIDR block (e.g. `203.0.113.0/24`)",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"k":"true"}}}]}"#,
                ID,
                "invalid policy: Statement[0].Condition.NullIfExists (line 1 column 77): `IfExists` cannot be used with the `Null` operator",
            ),
            (
                r#"{"Statement":[{"effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
                ID,
                "invalid policy: Statement[0].effect (line 1 column 16): unknown statement element `effect` (did you mean `Effect`? element names are case-sensitive); Statement[0] (line 1 column 15): missing `Effect`",
            ),
            (
                r#"{"Version":"2012-10-18","Statement":[]}"#,
                ID,
                "invalid policy: Version (line 1 column 12): unknown Version `2012-10-18`, expected `2012-10-17` or `2008-10-17`",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"bucket"}]}"#,
                ID,
                "invalid policy: Statement[0].Action (line 1 column 42): action `GetObject` must be `*` or `service:action` (e.g. `s3:GetObject`); Statement[0].Resource (line 1 column 65): resource `bucket` must be an ARN (`arn:...`) or `*`",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
                ID,
                "invalid policy: Statement[0].Action (line 1 column 42): `Action` must not be an empty array",
            ),
            (r#"[]"#, ID, "invalid policy: line 1 column 1: a policy must be an object, found an array"),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}]}"#,
                ID,
                "invalid policy: Statement[0].Condition.NumericLessThan.s3:max-keys (line 1 column 110): `ten` is not a number",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}]}"#,
                ID,
                "invalid policy: Statement[0].Condition.DateLessThan.aws:CurrentTime (line 1 column 111): `tomorrow` is not an ISO 8601 date (e.g. `2026-01-01T00:00:00Z`) or epoch seconds",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"BinaryEquals":{"k":"%%%"}}}]}"#,
                ID,
                "invalid policy: Statement[0].Condition.BinaryEquals.k (line 1 column 97): `%%%` is not base64",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"Group":"x"},"Action":"s3:*","Resource":"*"}]}"#,
                RES,
                "invalid policy: Statement[0].Principal.Group (line 1 column 54): unknown principal type `Group`, expected `AWS`, `Service`, `Federated` or `CanonicalUser`",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::111122223333:root","Action":"s3:*","Resource":"*"}]}"#,
                RES,
                "invalid policy: Statement[0].Principal (line 1 column 45): `Principal` must be `*` or an object such as {\"AWS\": \"...\"}, found `arn:aws:iam::111122223333:root`",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":null}}}]}"#,
                ID,
                "invalid policy: Statement[0].Condition.StringEquals.k (line 1 column 97): a condition value must be a string, number, boolean or array, found null",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}]}"#,
                ID,
                "invalid policy: Statement[0].Extra (line 1 column 64): unknown statement element `Extra`",
            ),
            (r#"{"Version":"2012-10-17"}"#, ID, "invalid policy: line 1 column 1: missing `Statement`"),
        ];
        for (text, kind, want) in cases {
            assert_eq!(problems(text, *kind), *want, "policy {text}");
        }
    }

    #[test]
    fn reads_every_principal_form() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{
            "AWS":["*","111122223333","arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/a/b",
                   "arn:aws:iam::111122223333:role/path/r","arn:aws:sts::111122223333:assumed-role/r/s",
                   "arn:aws-cn:sts::111122223333:federated-user/f","AROAEXAMPLEEXAMPLE12"],
            "Service":"s3.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df9"},
            "Action":"s3:*","Resource":"*"}]}"#;
        let p = parse_policy(text, RES).unwrap();
        let clause = p.statements[0].principal.as_ref().unwrap();
        assert!(clause.negated);
        assert_eq!(clause.entries.len(), 11);
        assert_eq!(clause.entries[2], PrincipalEntry::Account("111122223333".into()));
        assert!(matches!(&clause.entries[4], PrincipalEntry::Role { name, .. } if name == "r"));
    }

    #[test]
    fn statement_may_be_an_object_and_values_may_be_scalars() {
        let p = parse_policy(
            r#"{"Statement":{"Sid":"One","Effect":"Allow","Action":"S3:GetObject","Resource":"arn:aws:s3:::b/*",
                "Condition":{"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true},
                "ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*","b"]}}}}"#,
            ID,
        )
        .unwrap();
        let s = &p.statements[0];
        assert_eq!(s.sid.as_deref(), Some("One"));
        assert_eq!(p.version, Version::Absent);
        assert_eq!(s.action.patterns[0].raw, "S3:GetObject");
        assert_eq!(s.action.patterns[0].tokens, vec![crate::policy::template::Token::Lit("s3:getobject".into())]);
        assert_eq!(s.conditions.len(), 3);
        assert_eq!(s.conditions[0].raw_values, vec!["10".to_string()]);
        assert_eq!(s.conditions[2].operator.name(), "ForAnyValue:StringLikeIfExists");
    }

    #[test]
    fn variables_only_in_2012_policies_and_resource_part() {
        let p = parse_policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}}"#,
            ID,
        )
        .unwrap();
        assert!(p.statements[0].resource.patterns[0].fields[5].has_variables());
        let p = parse_policy(
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}}"#,
            ID,
        )
        .unwrap();
        assert!(!p.statements[0].resource.patterns[0].fields[5].has_variables());
    }
}
