//! The typed policy document: what `parse` produces and what the evaluator reads.
//!
//! Every value is already checked and converted here (patterns split into tokens, CIDRs, dates and
//! base64 decoded), so that evaluation never parses and never fails on the policy side.
//! Semantics live in `eval`; this module is the shape of the IAM policy language
//! (IAM: "IAM JSON policy element reference", "Grammar of the IAM JSON policy language").

use ipnet::IpNet;

use super::json::Pos;
use super::template::Template;

/// Which kind of policy a document is. It decides whether `Principal` is required or forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    Identity,
    Resource,
    Vpce,
    Boundary,
    Session,
    Scp,
    Rcp,
}

impl PolicyKind {
    /// Resource-based policies (bucket, MRAP, endpoint, RCP) name a principal; identity-based ones
    /// (including boundaries, session policies and SCPs) must not.
    pub fn requires_principal(self) -> bool {
        matches!(self, PolicyKind::Resource | PolicyKind::Vpce | PolicyKind::Rcp)
    }

    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity policy",
            PolicyKind::Resource => "resource policy",
            PolicyKind::Vpce => "VPC endpoint policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Session => "session policy",
            PolicyKind::Scp => "service control policy",
            PolicyKind::Rcp => "resource control policy",
        }
    }
}

/// The policy language version. Only `2012-10-17` has policy variables (IAM: "Version").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2012_10_17,
    V2008_10_17,
    /// No `Version` element: treated as 2008-10-17, so `${...}` is literal text.
    Absent,
}

impl Version {
    pub fn has_variables(self) -> bool {
        self == Version::V2012_10_17
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub kind: PolicyKind,
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` array (0 when `Statement` is a single object).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub pos: Pos,
    pub principal: Option<PrincipalClause>,
    pub action: ActionClause,
    pub resource: ResourceClause,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// `Statement[2] (Sid "X")`-style label for explanations.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("statement {} (`{sid}`)", self.index),
            None => format!("statement {}", self.index),
        }
    }
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalClause {
    pub negated: bool,
    pub entries: Vec<PrincipalEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    Everyone,
    /// `{"AWS": "111122223333"}` or `arn:PART:iam::111122223333:root`: delegates to the account.
    Account(String),
    /// `arn:PART:iam::ACCT:user/PATH/NAME`.
    User { arn: String },
    /// `arn:PART:iam::ACCT:role/PATH/NAME`: the role and every session of it.
    Role { arn: String, account: String, name: String },
    /// `arn:PART:sts::ACCT:assumed-role/ROLE/SESSION`: that session only.
    AssumedRole { arn: String },
    /// `arn:PART:sts::ACCT:federated-user/NAME`.
    FederatedUser { arn: String },
    /// A unique id (`AROA...`, `AIDA...`) that AWS shows once the principal was deleted: it never
    /// matches a caller again.
    UniqueId(String),
    /// `{"Service": "s3.amazonaws.com"}` (`*` = any service).
    Service(String),
    /// `{"Federated": ...}`: a web-identity or SAML provider.
    Federated(String),
    /// `{"CanonicalUser": ...}`: S3's canonical user id.
    CanonicalUser(String),
}

/// `Action` or `NotAction`; patterns are lower-cased (actions match case-insensitively).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionClause {
    pub negated: bool,
    pub patterns: Vec<Template>,
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceClause {
    pub negated: bool,
    pub patterns: Vec<ArnPattern>,
}

/// An ARN pattern split into its colon-separated fields: the first five, then the resource part
/// (which may itself contain `:`). `*` alone is one field.
#[derive(Debug, Clone, PartialEq)]
pub struct ArnPattern {
    pub raw: String,
    pub fields: Vec<Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The condition key as written.
    pub key: String,
    /// Lower-cased: condition keys are case-insensitive.
    pub key_lower: String,
    pub values: ConditionValues,
    /// The values as written (numbers and booleans as their text), for explanations.
    pub raw_values: Vec<String>,
    pub pos: Pos,
}

/// An operator such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub set: Option<SetOperator>,
    pub base: BaseOperator,
    pub if_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    ForAllValues,
    ForAnyValue,
}

macro_rules! base_operators {
    ($($name:ident),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum BaseOperator { $($name),* }
        impl BaseOperator {
            pub const ALL: &'static [BaseOperator] = &[$(BaseOperator::$name),*];
            pub fn name(self) -> &'static str {
                match self { $(BaseOperator::$name => stringify!($name)),* }
            }
        }
    };
}

base_operators!(
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
);

/// How a base operator compares one request value with one policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl BaseOperator {
    /// Negated operators match when the request value matches none of the policy values, and
    /// when the key is absent (IAM: "Condition operators").
    pub fn is_negated(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    pub fn comparison(self) -> Comparison {
        use BaseOperator::*;
        match self {
            NumericLessThan | DateLessThan => Comparison::Less,
            NumericLessThanEquals | DateLessThanEquals => Comparison::LessOrEqual,
            NumericGreaterThan | DateGreaterThan => Comparison::Greater,
            NumericGreaterThanEquals | DateGreaterThanEquals => Comparison::GreaterOrEqual,
            _ => Comparison::Equal,
        }
    }

    pub fn ignores_case(self) -> bool {
        matches!(self, BaseOperator::StringEqualsIgnoreCase | BaseOperator::StringNotEqualsIgnoreCase)
    }

    pub fn has_wildcards(self) -> bool {
        use BaseOperator::*;
        matches!(self, StringLike | StringNotLike | ArnEquals | ArnLike | ArnNotEquals | ArnNotLike)
    }
}

impl Operator {
    pub fn name(&self) -> String {
        let prefix = match self.set {
            Some(SetOperator::ForAllValues) => "ForAllValues:",
            Some(SetOperator::ForAnyValue) => "ForAnyValue:",
            None => "",
        };
        let suffix = if self.if_exists { "IfExists" } else { "" };
        format!("{prefix}{}{suffix}", self.base.name())
    }
}

/// A point in time as nanoseconds since the Unix epoch (UTC).
pub type Timestamp = i128;

/// The policy values of one condition, converted for its operator family.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionValues {
    /// `String*`: templates; wildcards only for `StringLike`/`StringNotLike`; lower-cased for
    /// `*IgnoreCase`.
    String(Vec<Template>),
    Numeric(Vec<f64>),
    Date(Vec<Timestamp>),
    Bool(Vec<BoolValue>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<IpNet>),
    Arn(Vec<ArnPattern>),
    /// `Null`: `true` = the key must be absent.
    Null(Vec<bool>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BoolValue {
    Literal(bool),
    /// A policy variable (the condition-operator page allows variables with `Bool`).
    Variable(Template),
}

impl ConditionValues {
    pub fn len(&self) -> usize {
        match self {
            ConditionValues::String(v) => v.len(),
            ConditionValues::Numeric(v) => v.len(),
            ConditionValues::Date(v) => v.len(),
            ConditionValues::Bool(v) => v.len(),
            ConditionValues::Binary(v) => v.len(),
            ConditionValues::Ip(v) => v.len(),
            ConditionValues::Arn(v) => v.len(),
            ConditionValues::Null(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
