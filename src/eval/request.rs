//! The request being authorised: caller, action, resource and request context.
//!
//! Context keys are case-insensitive (IAM: "Policy variables", "Key names are case-insensitive")
//! and stored lower-cased. Keys AWS always derives from the caller (`aws:PrincipalArn`,
//! `aws:PrincipalAccount`, ...) are answered from the caller when the context does not give them,
//! so a case need not repeat what its principal already says.

use std::borrow::Cow;
use std::collections::HashMap;

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An unsigned request. It has no identity policy and matches only `*` principals.
    Anonymous,
    Iam(IamCaller),
    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    Service(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamCaller {
    pub arn: String,
    pub partition: String,
    pub account: String,
    pub kind: IamKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamKind {
    /// The account's root user (`arn:PART:iam::ACCT:root`).
    Root,
    User {
        name: String,
    },
    /// A role ARN used as the caller (tests and what-if questions; real requests come from sessions).
    Role {
        name: String,
    },
    /// `arn:PART:sts::ACCT:assumed-role/ROLE/SESSION`.
    AssumedRole {
        role: String,
        session: String,
    },
    /// `arn:PART:sts::ACCT:federated-user/NAME` (a `GetFederationToken` session).
    FederatedUser {
        name: String,
    },
}

/// Why a principal string is not a caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("principal `{0}` is not `anonymous`, an IAM user/role/root ARN, an STS session ARN or a service principal")]
pub struct CallerError(pub String);

impl Caller {
    /// Reads `anonymous`, an IAM or STS ARN, or a service principal (`*.amazonaws.com`).
    pub fn parse(text: &str) -> Result<Caller, CallerError> {
        if text == "anonymous" {
            return Ok(Caller::Anonymous);
        }
        if !text.starts_with("arn:") {
            let service = text.ends_with(".amazonaws.com") || text.ends_with(".amazonaws.com.cn");
            return if service && !text.contains([':', '/', '*']) {
                Ok(Caller::Service(text.to_string()))
            } else {
                Err(CallerError(text.to_string()))
            };
        }
        let err = || CallerError(text.to_string());
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        let [_, partition, service, region, account, resource] = parts.as_slice() else { return Err(err()) };
        if partition.is_empty()
            || !region.is_empty()
            || !crate::util::is_account_id(account)
            || text.contains(['*', '?'])
        {
            return Err(err());
        }
        let last = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
        let kind = match (*service, resource.split_once('/')) {
            ("iam", None) if *resource == "root" => IamKind::Root,
            ("iam", Some(("user", path))) if !path.is_empty() => IamKind::User { name: last(path) },
            ("iam", Some(("role", path))) if !path.is_empty() => IamKind::Role { name: last(path) },
            ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                Some((role, session)) if !role.is_empty() && !session.is_empty() && !session.contains('/') => {
                    IamKind::AssumedRole { role: role.to_string(), session: session.to_string() }
                }
                _ => return Err(err()),
            },
            ("sts", Some(("federated-user", name))) if !name.is_empty() => {
                IamKind::FederatedUser { name: name.to_string() }
            }
            _ => return Err(err()),
        };
        Ok(Caller::Iam(IamCaller {
            arn: text.to_string(),
            partition: (*partition).to_string(),
            account: (*account).to_string(),
            kind,
        }))
    }

    pub fn account(&self) -> Option<&str> {
        match self {
            Caller::Iam(c) => Some(&c.account),
            _ => None,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Caller::Anonymous)
    }

    /// The text a user wrote for this caller.
    pub fn display(&self) -> &str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Iam(c) => &c.arn,
            Caller::Service(s) => s,
        }
    }
}

impl IamCaller {
    /// `aws:PrincipalArn`: for a role session this is the role's ARN, not the session's. The
    /// session ARN does not carry the role's path, so the derived role ARN has none.
    pub fn principal_arn(&self) -> Cow<'_, str> {
        match &self.kind {
            IamKind::AssumedRole { role, .. } => {
                Cow::Owned(format!("arn:{}:iam::{}:role/{role}", self.partition, self.account))
            }
            _ => Cow::Borrowed(&self.arn),
        }
    }

    /// `aws:PrincipalType` (IAM: "AWS global condition context keys").
    pub fn principal_type(&self) -> &'static str {
        match self.kind {
            IamKind::Root => "Account",
            IamKind::User { .. } => "User",
            IamKind::Role { .. } | IamKind::AssumedRole { .. } => "AssumedRole",
            IamKind::FederatedUser { .. } => "FederatedUser",
        }
    }

    pub fn is_session(&self) -> bool {
        matches!(self.kind, IamKind::AssumedRole { .. } | IamKind::FederatedUser { .. } | IamKind::Role { .. })
    }
}

/// A context value. `Unknown` is a key that is present but whose value nobody can know offline
/// (e.g. `aws:SourceIp` for a request from the internet): decisions that depend on it are unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
    Unknown,
}

/// A borrowed view of a context value, possibly derived from the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Single(Cow<'a, str>),
    Multi(&'a [String]),
    Unknown,
}

impl Value<'_> {
    /// The values as a list (a single value is a list of one).
    pub fn items(&self) -> Vec<&str> {
        match self {
            Value::Single(s) => vec![s.as_ref()],
            Value::Multi(v) => v.iter().map(String::as_str).collect(),
            Value::Unknown => Vec::new(),
        }
    }

    pub fn is_multi(&self) -> bool {
        matches!(self, Value::Multi(v) if v.len() > 1)
    }
}

/// Where a looked-up value came from, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Context,
    /// Derived from the caller or the resource account.
    Derived,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Lower-cased key → (key as given, value).
    entries: HashMap<String, (String, ContextValue)>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// An empty context with room for `keys` keys without growing (the stream reader's: a
    /// request's context holds a handful).
    pub fn with_capacity(keys: usize) -> Context {
        Context { entries: HashMap::with_capacity(keys) }
    }

    /// Sets a key; a later value for the same key (in any case) replaces the earlier one.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        self.entries.insert(key.to_lowercase(), (key.to_string(), value));
    }

    pub fn with(mut self, key: &str, value: ContextValue) -> Context {
        self.insert(key, value);
        self
    }

    pub fn get(&self, key_lower: &str) -> Option<&ContextValue> {
        self.entries.get(key_lower).map(|(_, v)| v)
    }

    pub fn contains(&self, key_lower: &str) -> bool {
        self.entries.contains_key(key_lower)
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.remove(&key.to_lowercase());
    }

    /// Entries sorted by key, for stable output.
    pub fn sorted(&self) -> Vec<(&str, &ContextValue)> {
        let mut v: Vec<_> = self.entries.values().map(|(k, v)| (k.as_str(), v)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub caller: Caller,
    pub action: String,
    /// Lower-cased once: actions match case-insensitively.
    pub action_lower: String,
    pub resource: String,
    /// The account that owns the resource; decides "same account" and `aws:ResourceAccount`.
    pub resource_account: Option<String>,
    pub context: Context,
}

impl Request {
    pub fn new(
        caller: Caller,
        action: &str,
        resource: &str,
        resource_account: Option<&str>,
        context: Context,
    ) -> Request {
        Request {
            caller,
            action: action.to_string(),
            action_lower: action.to_lowercase(),
            resource: resource.to_string(),
            resource_account: resource_account.map(str::to_string),
            context,
        }
    }

    /// Whether caller and resource are in the same account (IAM: "Cross-account policy
    /// evaluation logic"). Without a known resource account, the resource is taken to be the
    /// caller's (an assumption the explanation states).
    pub fn same_account(&self) -> bool {
        match (self.caller.account(), self.resource_account.as_deref()) {
            (Some(caller), Some(owner)) => caller == owner,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Looks up a lower-cased key: the context first, then what AWS derives from the caller.
    /// An empty list counts as absent.
    pub fn lookup(&self, key_lower: &str) -> Option<(Value<'_>, Origin)> {
        if let Some(value) = self.context.get(key_lower) {
            return match value {
                ContextValue::Single(s) => Some((Value::Single(Cow::Borrowed(s)), Origin::Context)),
                ContextValue::Multi(v) if v.is_empty() => None,
                ContextValue::Multi(v) => Some((Value::Multi(v), Origin::Context)),
                ContextValue::Unknown => Some((Value::Unknown, Origin::Context)),
            };
        }
        self.derived(key_lower).map(|v| (Value::Single(v), Origin::Derived))
    }

    fn derived(&self, key_lower: &str) -> Option<Cow<'_, str>> {
        if key_lower == "aws:resourceaccount" {
            return self.resource_account.as_deref().map(Cow::Borrowed);
        }
        match &self.caller {
            Caller::Anonymous => None,
            Caller::Service(name) => match key_lower {
                "aws:principalisawsservice" => Some(Cow::Borrowed("true")),
                "aws:principalservicename" => Some(Cow::Borrowed(name)),
                _ => None,
            },
            Caller::Iam(c) => match key_lower {
                "aws:principalarn" => Some(c.principal_arn()),
                "aws:principalaccount" => Some(Cow::Borrowed(&c.account)),
                "aws:principaltype" => Some(Cow::Borrowed(c.principal_type())),
                "aws:principalisawsservice" => Some(Cow::Borrowed("false")),
                "aws:username" => match &c.kind {
                    IamKind::User { name } => Some(Cow::Borrowed(name)),
                    _ => None,
                },
                "aws:userid" => match &c.kind {
                    IamKind::Root => Some(Cow::Borrowed(&c.account)),
                    IamKind::FederatedUser { name } => Some(Cow::Owned(format!("{}:{name}", c.account))),
                    _ => None,
                },
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_callers() {
        let role = Caller::parse("arn:aws:sts::111122223333:assumed-role/app/i-0abc").unwrap();
        let Caller::Iam(c) = &role else { panic!() };
        assert_eq!(c.principal_arn(), "arn:aws:iam::111122223333:role/app");
        assert_eq!(c.principal_type(), "AssumedRole");
        assert_eq!(Caller::parse("anonymous").unwrap(), Caller::Anonymous);
        assert_eq!(Caller::parse("s3.amazonaws.com").unwrap(), Caller::Service("s3.amazonaws.com".into()));
        let user = Caller::parse("arn:aws-cn:iam::111122223333:user/ops/alice").unwrap();
        assert!(
            matches!(user, Caller::Iam(IamCaller { kind: IamKind::User { ref name }, ref partition, .. }) if name == "alice" && partition == "aws-cn")
        );
        for bad in [
            "",
            "bob",
            "arn:aws:iam::1234:user/x",
            "arn:aws:iam::111122223333:group/g",
            "arn:aws:iam::*:root",
            "arn:aws:sts::111122223333:assumed-role/r",
            "arn:aws:s3:::bucket",
            "arn:aws:iam:us-east-1:111122223333:user/x",
        ] {
            assert!(Caller::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn derived_keys_and_case_insensitive_context() {
        let caller = Caller::parse("arn:aws:iam::111122223333:user/ops/alice").unwrap();
        let ctx = Context::new()
            .with("AWS:SourceVpce", ContextValue::Single("vpce-1".into()))
            .with("aws:TagKeys", ContextValue::Multi(vec![]));
        let req = Request::new(caller, "S3:GetObject", "arn:aws:s3:::b/k", Some("444455556666"), ctx);
        assert_eq!(req.action_lower, "s3:getobject");
        assert_eq!(req.lookup("aws:sourcevpce").map(|v| v.1), Some(Origin::Context));
        assert_eq!(req.lookup("aws:username").map(|v| v.0), Some(Value::Single("alice".into())));
        assert_eq!(req.lookup("aws:resourceaccount").map(|v| v.0), Some(Value::Single("444455556666".into())));
        assert!(req.lookup("aws:tagkeys").is_none(), "an empty list counts as absent");
        assert!(req.lookup("aws:userid").is_none());
        assert!(!req.same_account());
    }
}
