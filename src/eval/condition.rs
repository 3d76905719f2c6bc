//! Condition operators against the request context (IAM: "Condition operators",
//! "Creating a condition with multiple keys or values", "Single-valued vs. multivalued context keys").
//!
//! One condition is one (operator, key, values) triple. Several values are OR-ed: for a negated
//! operator the request value must match *none* of them. A missing key: positive operators are
//! false, negated ones true, `...IfExists` true, `ForAllValues` true, `ForAnyValue` false; `Null`
//! tests presence. A multi-valued key under an operator without a set prefix is treated like
//! `ForAnyValue` for positive operators and "no value matches" for negated ones — an assumption,
//! stated in the explanation.

use std::net::IpAddr;

use super::arn;
use super::request::{Origin, Request, Value};
use super::tri::Tri;
use super::wildcard::{self, Resolved};
use crate::policy::values::{decode_base64, parse_bool, parse_cidr, parse_date, parse_number};
use crate::policy::{BaseOperator, BoolValue, Comparison, Condition, ConditionValues, SetOperator};
use crate::util::push_unique;

/// Why a condition came out as it did; the data behind one line of an explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConditionTrace {
    pub operator: String,
    pub key: String,
    pub policy_values: Vec<String>,
    /// The request's values; `None` when the key is absent.
    pub request_values: Option<Vec<String>>,
    pub result: Tri,
    pub reason: String,
    /// The request value that is not of the form the operator compares (the condition is then
    /// unknown, never a mismatch); `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malformed: Option<String>,
}

/// Assumptions a condition relied on, reported once per explanation.
pub const MULTI_VALUE_ASSUMPTION: &str = "a multi-valued context key under an operator without `ForAnyValue:`/`ForAllValues:` matches when any value matches (negated operators: when no value matches)";

/// Evaluates one condition.
pub fn evaluate(cond: &Condition, request: &Request) -> Tri {
    let op = cond.operator;
    let found = request.lookup(&cond.key_lower);
    if let ConditionValues::Null(wants_absent) = &cond.values {
        let absent = found.is_none();
        return Tri::from(wants_absent.contains(&absent));
    }
    let Some((value, _)) = found else {
        return Tri::from(absent_result(cond));
    };
    let items = match &value {
        Value::Unknown => return Tri::Unknown,
        v => v.items(),
    };
    // Whether one request value matches one of the policy values (before negation).
    let per_item = |item: &str| -> Tri { any_policy_value(cond, item, request) };
    let negated = op.base.is_negated();
    let satisfied = |item: &str| if negated { per_item(item).negate() } else { per_item(item) };
    let result = match op.set {
        Some(SetOperator::ForAnyValue) => Tri::any(items.iter().map(|i| satisfied(i))),
        Some(SetOperator::ForAllValues) => Tri::all(items.iter().map(|i| satisfied(i))),
        // Single-valued use: positive → any value matches; negated → no value matches.
        None if negated => Tri::all(items.iter().map(|i| satisfied(i))),
        None => Tri::any(items.iter().map(|i| satisfied(i))),
    };
    // An unresolvable variable makes the whole condition fail, negated or not.
    if unresolvable_variable(cond, request) { Tri::No } else { result }
}

/// The rule for a key that is not in the request.
fn absent_result(cond: &Condition) -> bool {
    let op = cond.operator;
    if op.if_exists {
        return true;
    }
    match op.set {
        Some(SetOperator::ForAllValues) => true,
        Some(SetOperator::ForAnyValue) => false,
        None => op.base.is_negated(),
    }
}

fn absent_rule(cond: &Condition) -> &'static str {
    let op = cond.operator;
    if op.if_exists {
        "`...IfExists` is true when the key is missing"
    } else {
        match op.set {
            Some(SetOperator::ForAllValues) => "`ForAllValues` is true when the key is missing",
            Some(SetOperator::ForAnyValue) => "`ForAnyValue` is false when the key is missing",
            None if op.base.is_negated() => "a negated operator is true when the key is missing",
            None => "a positive operator is false when the key is missing",
        }
    }
}

fn unresolvable_variable(cond: &Condition, request: &Request) -> bool {
    let templates: Box<dyn Iterator<Item = &crate::policy::template::Template>> = match &cond.values {
        ConditionValues::String(v) => Box::new(v.iter()),
        ConditionValues::Arn(v) => Box::new(v.iter().flat_map(|a| a.fields.iter())),
        ConditionValues::Bool(v) => Box::new(v.iter().filter_map(|b| match b {
            BoolValue::Variable(t) => Some(t),
            BoolValue::Literal(_) => None,
        })),
        _ => return false,
    };
    templates
        .filter(|t| t.has_variables())
        .any(|t| matches!(wildcard::resolve(t, request, false), Resolved::Unresolvable(_)))
}

/// OR over the policy values: does `item` match at least one?
fn any_policy_value(cond: &Condition, item: &str, request: &Request) -> Tri {
    match &cond.values {
        ConditionValues::String(templates) => {
            let fold = cond.operator.base.ignores_case();
            let item_folded;
            let item = if fold {
                item_folded = item.to_lowercase();
                item_folded.as_str()
            } else {
                item
            };
            let like = cond.operator.base.has_wildcards();
            Tri::any(templates.iter().map(|t| match wildcard::resolve(t, request, fold) {
                Resolved::Tokens(tokens) => {
                    Tri::from(if like { wildcard::matches(&tokens, item) } else { wildcard::equals(&tokens, item) })
                }
                Resolved::Unresolvable(_) => Tri::No,
                Resolved::Unknown(_) => Tri::Unknown,
            }))
        }
        // A request value of the wrong form is not "no match" — that would make the negated
        // operator match — but unknown: what AWS does with it is not documented.
        ConditionValues::Numeric(numbers) => match parse_number(item) {
            Some(n) => Tri::from(numbers.iter().any(|&p| compare(cond.operator.base.comparison(), n, p))),
            None => Tri::Unknown,
        },
        ConditionValues::Date(dates) => match parse_date(item) {
            Some(d) => Tri::from(dates.iter().any(|&p| compare(cond.operator.base.comparison(), d, p))),
            None => Tri::Unknown,
        },
        ConditionValues::Bool(values) => {
            let Some(b) = parse_bool(item) else { return Tri::Unknown };
            Tri::any(values.iter().map(|v| match v {
                BoolValue::Literal(p) => Tri::from(*p == b),
                BoolValue::Variable(t) => match wildcard::resolve(t, request, false) {
                    Resolved::Tokens(tokens) => {
                        let text: String = tokens
                            .iter()
                            .filter_map(|tok| match tok {
                                crate::policy::template::Token::Lit(s) => Some(s.as_str()),
                                _ => None,
                            })
                            .collect();
                        Tri::from(parse_bool(&text) == Some(b))
                    }
                    Resolved::Unresolvable(_) => Tri::No,
                    Resolved::Unknown(_) => Tri::Unknown,
                },
            }))
        }
        ConditionValues::Binary(values) => {
            // Request values are base64 text like the policy's; text that does not decode is
            // unknown, not compared as raw bytes.
            match decode_base64(item) {
                Some(bytes) => Tri::from(values.contains(&bytes)),
                None => Tri::Unknown,
            }
        }
        ConditionValues::Ip(nets) => match item.trim().parse::<IpAddr>() {
            Ok(ip) => Tri::from(nets.iter().any(|n| n.contains(&ip))),
            // A CIDR as the request value: contained when the whole block is.
            Err(_) => match parse_cidr(item) {
                Some(block) => Tri::from(nets.iter().any(|n| n.contains(&block))),
                None => Tri::Unknown,
            },
        },
        ConditionValues::Arn(patterns) => Tri::any(patterns.iter().map(|p| arn::matches(p, item, request))),
        ConditionValues::Null(_) => Tri::No,
    }
}

fn compare<T: PartialOrd>(how: Comparison, request: T, policy: T) -> bool {
    match how {
        Comparison::Equal => request == policy,
        Comparison::Less => request < policy,
        Comparison::LessOrEqual => request <= policy,
        Comparison::Greater => request > policy,
        Comparison::GreaterOrEqual => request >= policy,
    }
}

/// Evaluates and explains one condition. The result is [`evaluate`]'s; only the words are added.
pub fn trace(cond: &Condition, request: &Request, assumptions: &mut Vec<String>) -> ConditionTrace {
    let result = evaluate(cond, request);
    let op = cond.operator.name();
    let found = request.lookup(&cond.key_lower);
    let policy_list = format_list(&cond.raw_values);
    let mut malformed_value = None;
    let (request_values, reason) = match found {
        None => {
            let reason = if cond.operator.base == BaseOperator::Null {
                format!("`{}` is absent from the request, so `Null` = {}", cond.key, policy_list)
            } else {
                format!("`{}` is absent from the request: {}", cond.key, absent_rule(cond))
            };
            (None, reason)
        }
        Some((Value::Unknown, _)) => (
            Some(Vec::new()),
            format!("`{}` is present but its value cannot be known offline, so `{op}` is unknown", cond.key),
        ),
        Some((value, origin)) => {
            let items: Vec<String> = value.items().into_iter().map(str::to_string).collect();
            if value.is_multi() && cond.operator.set.is_none() && cond.operator.base != BaseOperator::Null {
                push_unique(assumptions, MULTI_VALUE_ASSUMPTION);
            }
            let shown = if items.len() == 1 { format!("`{}`", items.join("")) } else { format_list(&items) };
            let derived = if origin == Origin::Derived { " (derived from the caller)" } else { "" };
            let verdict = match result {
                Tri::Yes => "satisfies",
                Tri::No => "does not satisfy",
                Tri::Unknown => "may or may not satisfy",
            };
            let malformed = items.iter().find(|i| !well_formed(cond, i));
            let reason = if let (Some(bad), Tri::Unknown) = (malformed, result) {
                malformed_value = Some(bad.clone());
                format!(
                    "`{}` = `{bad}`{derived} is not a valid {} value, so `{op}` is unknown (never taken as a mismatch)",
                    cond.key,
                    value_family(cond)
                )
            } else if cond.operator.base == BaseOperator::Null {
                format!("`{}` is present{derived}, so `Null` = {policy_list} is {}", cond.key, result == Tri::Yes)
            } else if unresolvable_variable(cond, request) {
                format!(
                    "a policy variable in {policy_list} has no value in the request and no default, so the condition fails"
                )
            } else {
                format!("`{}` = {shown}{derived} {verdict} `{op}` {policy_list}", cond.key)
            };
            (Some(items), reason)
        }
    };
    ConditionTrace {
        operator: op,
        key: cond.key.clone(),
        policy_values: cond.raw_values.clone(),
        request_values,
        result,
        reason,
        malformed: malformed_value,
    }
}

/// Whether a request value has the form the operator's family compares.
fn well_formed(cond: &Condition, item: &str) -> bool {
    match &cond.values {
        ConditionValues::Numeric(_) => parse_number(item).is_some(),
        ConditionValues::Date(_) => parse_date(item).is_some(),
        ConditionValues::Bool(_) => parse_bool(item).is_some(),
        ConditionValues::Binary(_) => decode_base64(item).is_some(),
        ConditionValues::Ip(_) => item.trim().parse::<IpAddr>().is_ok() || parse_cidr(item).is_some(),
        _ => true,
    }
}

fn value_family(cond: &Condition) -> &'static str {
    match &cond.values {
        ConditionValues::Numeric(_) => "numeric",
        ConditionValues::Date(_) => "date",
        ConditionValues::Bool(_) => "boolean",
        ConditionValues::Binary(_) => "base64 binary",
        ConditionValues::Ip(_) => "IP address",
        _ => "",
    }
}

fn format_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("`{s}`")).collect();
    format!("[{}]", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::request::{Caller, Context, ContextValue};
    use crate::policy::{PolicyKind, parse_policy};

    fn cond(operator: &str, key: &str, values: &str) -> Condition {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{operator}":{{"{key}":{values}}}}}}}}}"#
        );
        let policy = parse_policy(&text, PolicyKind::Identity).unwrap_or_else(|e| panic!("{text}: {e}"));
        policy.statements[0].conditions[0].clone()
    }

    fn request(context: &[(&str, &str)]) -> Request {
        let mut ctx = Context::new();
        for (k, v) in context {
            if let Some(list) = v.strip_prefix('[') {
                let items =
                    list.trim_end_matches(']').split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
                ctx.insert(k, ContextValue::Multi(items));
            } else if *v == "?" {
                ctx.insert(k, ContextValue::Unknown);
            } else {
                ctx.insert(k, ContextValue::Single((*v).to_string()));
            }
        }
        Request::new(
            Caller::parse("arn:aws:iam::111122223333:user/alice").unwrap(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Some("111122223333"),
            ctx,
        )
    }

    /// One line per case: operator, key, policy values (JSON), request context, expected result.
    macro_rules! cond_case {
        ($($op:expr, $key:expr, $vals:expr, [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            let c = cond($op, $key, $vals);
            let ctx: &[(&str, &str)] = &[$(($k, $v)),*];
            assert_eq!(evaluate(&c, &request(ctx)), $want, "{} {} {} with {:?}", $op, $key, $vals, ctx);
        )*};
    }

    use Tri::{No, Unknown, Yes};

    #[test]
    fn string_operators() {
        cond_case! {
            "StringEquals", "aws:SourceVpce", r#""vpce-1""#, ["aws:SourceVpce" => "vpce-1"] => Yes;
            "StringEquals", "aws:SourceVpce", r#""vpce-1""#, ["aws:SourceVpce" => "VPCE-1"] => No;
            "StringEquals", "AWS:SOURCEVPCE", r#""vpce-1""#, ["aws:sourcevpce" => "vpce-1"] => Yes;
            "StringEquals", "aws:SourceVpce", r#"["vpce-1","vpce-2"]"#, ["aws:SourceVpce" => "vpce-2"] => Yes;
            "StringEquals", "aws:SourceVpce", r#""vpce-1""#, [] => No;
            "StringEquals", "k", r#""a*""#, ["k" => "abc"] => No;
            "StringEquals", "k", r#""a*""#, ["k" => "a*"] => Yes;
            "StringNotEquals", "aws:SourceVpce", r#""vpce-1""#, ["aws:SourceVpce" => "vpce-2"] => Yes;
            "StringNotEquals", "aws:SourceVpce", r#"["vpce-1","vpce-2"]"#, ["aws:SourceVpce" => "vpce-2"] => No;
            "StringNotEquals", "aws:SourceVpce", r#""vpce-1""#, [] => Yes;
            "StringEqualsIgnoreCase", "k", r#""ABC""#, ["k" => "abc"] => Yes;
            "StringNotEqualsIgnoreCase", "k", r#""ABC""#, ["k" => "aBc"] => No;
            "StringNotEqualsIgnoreCase", "k", r#""ABC""#, ["k" => "abd"] => Yes;
            "StringLike", "s3:prefix", r#""home/*""#, ["s3:prefix" => "home/alice/x"] => Yes;
            "StringLike", "s3:prefix", r#""home/?""#, ["s3:prefix" => "home/ab"] => No;
            "StringLike", "s3:prefix", r#""home/*""#, ["s3:prefix" => "Home/x"] => No;
            "StringNotLike", "s3:prefix", r#"["a*","b*"]"#, ["s3:prefix" => "c"] => Yes;
            "StringNotLike", "s3:prefix", r#"["a*","b*"]"#, ["s3:prefix" => "b1"] => No;
            "StringLike", "s3:prefix", r#""home/${aws:username}/*""#, ["s3:prefix" => "home/alice/x"] => Yes;
            "StringLike", "s3:prefix", r#""home/${aws:username}/*""#, ["s3:prefix" => "home/bob/x"] => No;
            "StringEquals", "k", r#""${missing}""#, ["k" => ""] => No;
            "StringNotEquals", "k", r#""${missing}""#, ["k" => "x"] => No;
            "StringEquals", "k", r#""${missing, 'dflt'}""#, ["k" => "dflt"] => Yes;
            "StringEquals", "k", r#""v""#, ["k" => "?"] => Unknown;
            "StringEqualsIfExists", "k", r#""v""#, [] => Yes;
            "StringEqualsIfExists", "k", r#""v""#, ["k" => "w"] => No;
            "StringNotEqualsIfExists", "k", r#""v""#, ["k" => "v"] => No;
        }
    }

    #[test]
    fn numeric_date_bool_binary_ip_arn_null() {
        cond_case! {
            "NumericEquals", "s3:max-keys", "10", ["s3:max-keys" => "10"] => Yes;
            "NumericEquals", "s3:max-keys", "10", ["s3:max-keys" => "10.0"] => Yes;
            "NumericNotEquals", "s3:max-keys", "10", ["s3:max-keys" => "10"] => No;
            "NumericLessThan", "s3:max-keys", "10", ["s3:max-keys" => "9"] => Yes;
            "NumericLessThan", "s3:max-keys", "10", ["s3:max-keys" => "10"] => No;
            "NumericLessThanEquals", "s3:max-keys", r#""10""#, ["s3:max-keys" => "10"] => Yes;
            "NumericGreaterThan", "s3:max-keys", "10", ["s3:max-keys" => "10.5"] => Yes;
            "NumericGreaterThanEquals", "s3:max-keys", "10", ["s3:max-keys" => "9.99"] => No;
            "NumericLessThan", "s3:max-keys", "10", ["s3:max-keys" => "abc"] => Unknown;
            "NumericNotEquals", "s3:max-keys", "10", ["s3:max-keys" => "abc"] => Unknown;
            "DateNotEquals", "aws:EpochTime", "86400", ["aws:EpochTime" => "1000000000000000000000000000000"] => Unknown;
            "DateLessThan", "aws:CurrentTime", r#""2026-12-01T00:00:00Z""#, ["aws:CurrentTime" => "soon"] => Unknown;
            "Bool", "aws:SecureTransport", "false", ["aws:SecureTransport" => "yes"] => Unknown;
            "NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, ["aws:SourceIp" => "not-an-ip"] => Unknown;
            "BinaryEquals", "k", r#""QmluYXJ5""#, ["k" => "%%%"] => Unknown;
            "NumericLessThan", "s3:max-keys", "10", [] => No;
            "DateLessThan", "aws:CurrentTime", r#""2026-12-01T00:00:00Z""#, ["aws:CurrentTime" => "2026-11-22T10:00:00Z"] => Yes;
            "DateGreaterThan", "aws:CurrentTime", r#""2026-12-01T00:00:00Z""#, ["aws:CurrentTime" => "2026-11-22T10:00:00Z"] => No;
            "DateEquals", "aws:EpochTime", r#""1970-01-02T00:00:00Z""#, ["aws:EpochTime" => "86400"] => Yes;
            "DateNotEquals", "aws:EpochTime", "86400", ["aws:EpochTime" => "86401"] => Yes;
            "DateLessThanEquals", "aws:TokenIssueTime", r#""2026-01-01""#, ["aws:TokenIssueTime" => "2026-01-01T00:00:00Z"] => Yes;
            "DateGreaterThanEquals", "aws:CurrentTime", r#""2026-01-01""#, [] => No;
            "Bool", "aws:SecureTransport", r#""false""#, ["aws:SecureTransport" => "false"] => Yes;
            "Bool", "aws:SecureTransport", "false", ["aws:SecureTransport" => "true"] => No;
            "Bool", "aws:SecureTransport", "true", ["aws:SecureTransport" => "TRUE"] => Yes;
            "Bool", "aws:SecureTransport", "false", [] => No;
            "BoolIfExists", "aws:MultiFactorAuthPresent", "false", [] => Yes;
            "BinaryEquals", "k", r#""QmluYXJ5VmFsdWVJbkJhc2U2NA==""#, ["k" => "QmluYXJ5VmFsdWVJbkJhc2U2NA=="] => Yes;
            "BinaryEquals", "k", r#""QmluYXJ5VmFsdWVJbkJhc2U2NA==""#, ["k" => "QmluYXJ5"] => No;
            "IpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, ["aws:SourceIp" => "203.0.113.77"] => Yes;
            "IpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, ["aws:SourceIp" => "203.0.114.1"] => No;
            "IpAddress", "aws:SourceIp", r#""203.0.113.9""#, ["aws:SourceIp" => "203.0.113.9"] => Yes;
            "IpAddress", "aws:SourceIp", r#"["203.0.113.0/24","2001:DB8:1234:5678::/64"]"#, ["aws:SourceIp" => "2001:db8:1234:5678::1"] => Yes;
            "IpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, [] => No;
            "NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, [] => Yes;
            "NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, ["aws:SourceIp" => "198.51.100.1"] => Yes;
            "NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, ["aws:SourceIp" => "203.0.113.1"] => No;
            "NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, ["aws:SourceIp" => "?"] => Unknown;
            "ArnLike", "aws:PrincipalArn", r#""arn:aws:iam::*:user/alice""#, [] => Yes;
            "ArnLike", "aws:PrincipalArn", r#""arn:aws:iam::*:role/app""#, [] => No;
            "ArnEquals", "aws:PrincipalArn", r#""arn:aws:iam::111122223333:user/alice""#, [] => Yes;
            "ArnNotLike", "aws:PrincipalArn", r#""arn:aws:iam::111122223333:user/*""#, [] => No;
            "ArnNotEquals", "aws:SourceArn", r#""arn:aws:sns:us-east-1:111122223333:t""#, [] => Yes;
            "ArnLike", "aws:SourceArn", r#""arn:aws:someservice:*:111122223333:finance/*""#,
                ["aws:SourceArn" => "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"] => No;
            "StringLike", "aws:SourceArn", r#""arn:aws:someservice:*:111122223333:finance/*""#,
                ["aws:SourceArn" => "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"] => Yes;
            "Null", "aws:TokenIssueTime", r#""true""#, [] => Yes;
            "Null", "aws:TokenIssueTime", "true", ["aws:TokenIssueTime" => "2026-01-01T00:00:00Z"] => No;
            "Null", "aws:TokenIssueTime", "false", ["aws:TokenIssueTime" => "?"] => Yes;
            "Null", "aws:TagKeys", "true", ["aws:TagKeys" => "[]"] => Yes;
        }
    }

    #[test]
    fn set_operators() {
        cond_case! {
            "ForAllValues:StringEquals", "aws:TagKeys", r#"["a","b"]"#, ["aws:TagKeys" => "[a,b]"] => Yes;
            "ForAllValues:StringEquals", "aws:TagKeys", r#"["a","b"]"#, ["aws:TagKeys" => "[a,c]"] => No;
            "ForAllValues:StringEquals", "aws:TagKeys", r#"["a","b"]"#, [] => Yes;
            "ForAllValues:StringEquals", "aws:TagKeys", r#"["a","b"]"#, ["aws:TagKeys" => "[]"] => Yes;
            "ForAnyValue:StringEquals", "aws:TagKeys", r#"["a","b"]"#, ["aws:TagKeys" => "[c,b]"] => Yes;
            "ForAnyValue:StringEquals", "aws:TagKeys", r#"["a","b"]"#, ["aws:TagKeys" => "[c,d]"] => No;
            "ForAnyValue:StringEquals", "aws:TagKeys", r#"["a","b"]"#, [] => No;
            "ForAnyValue:StringNotEquals", "aws:TagKeys", r#""a""#, ["aws:TagKeys" => "[a,b]"] => Yes;
            "ForAllValues:StringNotEquals", "aws:TagKeys", r#""a""#, ["aws:TagKeys" => "[a,b]"] => No;
            "ForAllValues:StringNotEquals", "aws:TagKeys", r#""a""#, ["aws:TagKeys" => "[b,c]"] => Yes;
            "ForAllValues:StringLike", "aws:TagKeys", r#""Created*""#, ["aws:TagKeys" => "[CreatedBy,CreatedAt]"] => Yes;
            "ForAnyValue:StringEqualsIfExists", "aws:TagKeys", r#""a""#, [] => Yes;
            "StringEquals", "aws:TagKeys", r#""a""#, ["aws:TagKeys" => "[b,a]"] => Yes;
            "StringNotEquals", "aws:TagKeys", r#""a""#, ["aws:TagKeys" => "[b,a]"] => No;
            "StringNotEquals", "aws:TagKeys", r#""a""#, ["aws:TagKeys" => "[b,c]"] => Yes;
        }
    }

    #[test]
    fn traces_say_why() {
        let mut notes = Vec::new();
        let c = cond("NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#);
        let t = trace(&c, &request(&[]), &mut notes);
        assert_eq!(t.result, Yes);
        assert_eq!(
            t.reason,
            "`aws:SourceIp` is absent from the request: a negated operator is true when the key is missing"
        );
        let c = cond("StringEquals", "aws:SourceVpce", r#"["vpce-1"]"#);
        let t = trace(&c, &request(&[("aws:SourceVpce", "vpce-2")]), &mut notes);
        assert_eq!(t.reason, "`aws:SourceVpce` = `vpce-2` does not satisfy `StringEquals` [`vpce-1`]");
        let c = cond("StringEquals", "aws:PrincipalAccount", r#""111122223333""#);
        let t = trace(&c, &request(&[]), &mut notes);
        assert_eq!(
            t.reason,
            "`aws:PrincipalAccount` = `111122223333` (derived from the caller) satisfies `StringEquals` [`111122223333`]"
        );
        assert!(notes.is_empty());
        let c = cond("StringEquals", "aws:TagKeys", r#""a""#);
        trace(&c, &request(&[("aws:TagKeys", "[a,b]")]), &mut notes);
        assert_eq!(notes, vec![MULTI_VALUE_ASSUMPTION.to_string()]);
    }
}
