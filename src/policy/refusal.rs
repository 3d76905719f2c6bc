//! Endpoint policies AWS refuses to save: `ModifyVpcEndpoint` (and so `terraform apply`) fails
//! on them, so a pre-flight must catch them before the plan is applied.
//!
//! The rules are the "Considerations" of PrivateLink's page *Control access to VPC endpoints
//! using endpoint policies*
//! (<https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html>):
//! - "It must contain a Principal element" ([`missing_principal`], on the raw text: such a policy
//!   does not parse as an endpoint policy at all);
//! - "You can't use wildcard characters (* or ?) or numeric condition operators with global
//!   context keys that reference system-generated identifiers (for example, aws:PrincipalAccount
//!   or aws:SourceVpc)" (`endpoint-policy-system-id-wildcard`);
//! - "When you use a string condition operator, you must use at least six consecutive characters
//!   before or after each wildcard character" (`endpoint-policy-short-wildcard`);
//! - "the account portion of the ARN can include an account ID or a wildcard character, but not
//!   both" (`endpoint-policy-partial-account-wildcard`).
//!
//! A policy saved before AWS enforced the wildcard rules (mid-2024) may still be in force; on a
//! captured world the lints then say that any change to it will be refused until it is fixed.
//!
//! The size limit (20,480 characters) and the bucket-policy rules are elsewhere (fail-closed
//! lints). Statement-level only: these rules say nothing about what the policy allows.

use super::lint::{Lint, Severity};
use super::model::{BaseOperator, Policy, Statement};

/// The page every lint here cites.
pub const ENDPOINT_POLICY_PAGE: &str = "PrivateLink: \"Control access to VPC endpoints using endpoint policies\", Considerations (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html)";

/// The codes of the lints for what AWS refuses to save: a plan with one fails at apply.
pub const CODES: &[&str] = &[
    "endpoint-policy-without-principal",
    "endpoint-policy-system-id-wildcard",
    "endpoint-policy-short-wildcard",
    "endpoint-policy-partial-account-wildcard",
];

/// Global condition keys whose values are identifiers AWS generates (account, organization, VPC
/// and endpoint ids). The page names `aws:PrincipalAccount` and `aws:SourceVpc` "for example";
/// `aws:ResourceOrgID` is the key AWS's `NO_WILDCARD` error was first reported on. The others are
/// the same kind of identifier; `aws:PrincipalOrgPaths` is left out because AWS's own examples
/// use wildcards in organization paths.
pub const SYSTEM_ID_KEYS: &[&str] = &[
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:vpceaccount",
    "aws:vpceorgid",
];

/// The shortest run of literal characters a wildcard must have on one side.
const MIN_LITERAL_RUN: usize = 6;

fn is_numeric(op: BaseOperator) -> bool {
    use BaseOperator::*;
    matches!(
        op,
        NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals
    )
}

fn is_string(op: BaseOperator) -> bool {
    use BaseOperator::*;
    matches!(
        op,
        StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike
    )
}

/// A value with the policy-variable escapes `${*}`, `${?}` and `${$}` turned into one literal
/// character each, so that they do not count as wildcards.
fn unescaped(value: &str) -> String {
    value.replace("${*}", "_").replace("${?}", "_").replace("${$}", "_")
}

/// Whether every `*` and `?` has at least six literal characters right before or right after it.
pub fn wildcards_well_anchored(value: &str) -> bool {
    let chars: Vec<char> = unescaped(value).chars().collect();
    let wild = |c: char| c == '*' || c == '?';
    chars.iter().enumerate().filter(|(_, c)| wild(**c)).all(|(i, _)| {
        let before = chars.iter().take(i).rev().take_while(|c| !wild(**c)).count();
        let after = chars.iter().skip(i + 1).take_while(|c| !wild(**c)).count();
        before >= MIN_LITERAL_RUN || after >= MIN_LITERAL_RUN
    })
}

/// An ARN whose account field mixes digits and a wildcard (`1111*`).
fn partial_account_wildcard(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    let has_wild = account.contains(['*', '?']);
    let has_digit = account.chars().any(|c| c.is_ascii_digit());
    (has_wild && has_digit).then(|| account.to_string())
}

/// The statement-level rules, for an endpoint policy that parsed.
pub fn endpoint_refusals(policy: &Policy) -> Vec<Lint> {
    let mut out = Vec::new();
    for stmt in &policy.statements {
        statement_refusals(stmt, &mut out);
    }
    out
}

fn refusal(stmt: &Statement, code: &'static str, message: String, fix: &str) -> Lint {
    Lint {
        severity: Severity::Error,
        code,
        statement: Some(stmt.index),
        sid: stmt.sid.clone(),
        message: format!(
            "{message}; AWS refuses to save an endpoint policy like this: `ModifyVpcEndpoint`, and so `terraform apply`, fails ({ENDPOINT_POLICY_PAGE})"
        ),
        fix: fix.to_string(),
    }
}

fn statement_refusals(stmt: &Statement, out: &mut Vec<Lint>) {
    for cond in &stmt.conditions {
        let op = cond.operator.name();
        if SYSTEM_ID_KEYS.contains(&cond.key_lower.as_str()) {
            if is_numeric(cond.operator.base) {
                out.push(refusal(
                    stmt,
                    "endpoint-policy-system-id-wildcard",
                    format!(
                        "{} tests `{}`, a system-generated identifier, with the numeric operator `{op}`",
                        stmt.label(),
                        cond.key
                    ),
                    "compare the identifier as a string, with `StringEquals` and the full id",
                ));
            } else if let Some(v) = cond.raw_values.iter().find(|v| unescaped(v).contains(['*', '?'])) {
                out.push(refusal(
                    stmt,
                    "endpoint-policy-system-id-wildcard",
                    format!(
                        "{} tests `{}`, a system-generated identifier, with the wildcard value `{v}` (`{op}`)",
                        stmt.label(),
                        cond.key
                    ),
                    "list the full identifiers with `StringEquals` (or `ForAnyValue:StringEquals`)",
                ));
            }
            continue;
        }
        if is_string(cond.operator.base) && cond.operator.base.has_wildcards() {
            if let Some(v) = cond.raw_values.iter().find(|v| !wildcards_well_anchored(v)) {
                out.push(refusal(
                    stmt,
                    "endpoint-policy-short-wildcard",
                    format!("{}: the value `{v}` of `{}` (`{op}`) has a wildcard without six consecutive characters before or after it", stmt.label(), cond.key),
                    "write at least six literal characters next to each `*` or `?`, or list the values with `StringEquals`",
                ));
            }
        }
        if matches!(
            cond.operator.base,
            BaseOperator::ArnEquals | BaseOperator::ArnLike | BaseOperator::ArnNotEquals | BaseOperator::ArnNotLike
        ) {
            if let Some((v, account)) = cond.raw_values.iter().find_map(|v| partial_account_wildcard(v).map(|a| (v, a)))
            {
                out.push(refusal(
                    stmt,
                    "endpoint-policy-partial-account-wildcard",
                    format!(
                        "{}: the ARN `{v}` of `{}` has the account `{account}`, an account id and a wildcard at once",
                        stmt.label(),
                        cond.key
                    ),
                    "use a full account id or `*` alone in the account field",
                ));
            }
        }
    }
    if let Some((raw, account)) =
        stmt.resource.patterns.iter().find_map(|p| partial_account_wildcard(&p.raw).map(|a| (&p.raw, a)))
    {
        out.push(refusal(
            stmt,
            "endpoint-policy-partial-account-wildcard",
            format!(
                "{}: the resource `{raw}` has the account `{account}`, an account id and a wildcard at once",
                stmt.label()
            ),
            "use a full account id or `*` alone in the account field",
        ));
    }
}

/// The statements (index, Sid) of an endpoint policy text that have neither `Principal` nor
/// `NotPrincipal`. Read from the raw JSON because the parser refuses such a policy outright;
/// `None` when the text is not a JSON policy at all (the parser reports that).
pub fn missing_principal(text: &str) -> Option<Vec<Lint>> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let statements = match doc.get("Statement")? {
        serde_json::Value::Array(items) => items.iter().collect::<Vec<_>>(),
        one @ serde_json::Value::Object(_) => vec![one],
        _ => return None,
    };
    let lints: Vec<Lint> = statements
        .iter()
        .enumerate()
        .filter_map(|(index, s)| {
            let s = s.as_object()?;
            if s.contains_key("Principal") || s.contains_key("NotPrincipal") {
                return None;
            }
            let sid = s.get("Sid").and_then(|v| v.as_str()).map(str::to_string);
            let label = match &sid {
                Some(sid) => format!("statement {index} (`{sid}`)"),
                None => format!("statement {index}"),
            };
            Some(Lint {
                severity: Severity::Error,
                code: "endpoint-policy-without-principal",
                statement: Some(index),
                sid,
                message: format!("{label} has no `Principal`; an endpoint policy must contain a Principal element, and AWS refuses to save one without it: `ModifyVpcEndpoint`, and so `terraform apply`, fails ({ENDPOINT_POLICY_PAGE})"),
                fix: "add `\"Principal\": \"*\"` (and limit callers with `aws:PrincipalArn` or `aws:PrincipalAccount` conditions)".to_string(),
            })
        })
        .collect();
    Some(lints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyKind, parse_policy};

    fn codes(condition: &str) -> Vec<&'static str> {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{condition}}}]}}"#
        );
        let p = parse_policy(&text, PolicyKind::Vpce).unwrap();
        endpoint_refusals(&p).into_iter().map(|l| l.code).collect()
    }

    #[test]
    fn system_generated_id_keys() {
        let cases: &[(&str, &[&str])] = &[
            (r#"{"StringLike":{"aws:PrincipalAccount":"1111*"}}"#, &["endpoint-policy-system-id-wildcard"]),
            (r#"{"StringEquals":{"aws:SourceVpc":"vpc-?bc"}}"#, &["endpoint-policy-system-id-wildcard"]),
            (r#"{"NumericEquals":{"aws:PrincipalAccount":"111122223333"}}"#, &["endpoint-policy-system-id-wildcard"]),
            (r#"{"StringLike":{"aws:ResourceOrgID":"o-??????z???"}}"#, &["endpoint-policy-system-id-wildcard"]),
            (r#"{"StringEquals":{"aws:PrincipalAccount":["111122223333","444455556666"]}}"#, &[]),
            (r#"{"StringEquals":{"aws:SourceVpc":"vpc-1a2b3c4d"}}"#, &[]),
            (r#"{"StringLike":{"aws:PrincipalOrgPaths":"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}"#, &[]),
        ];
        for (cond, want) in cases {
            assert_eq!(codes(cond), *want, "{cond}");
        }
    }

    #[test]
    fn six_characters_around_each_wildcard() {
        let cases: &[(&str, &[&str])] = &[
            (r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app-*"}}"#, &[]),
            (r#"{"StringLike":{"aws:PrincipalTag/team":"*-reports"}}"#, &[]),
            (r#"{"StringLike":{"aws:PrincipalTag/team":"ab*"}}"#, &["endpoint-policy-short-wildcard"]),
            (r#"{"StringNotLike":{"s3:prefix":"home/*"}}"#, &["endpoint-policy-short-wildcard"]),
            (r#"{"StringLike":{"aws:PrincipalTag/team":"*"}}"#, &["endpoint-policy-short-wildcard"]),
            (r#"{"StringLike":{"aws:PrincipalTag/team":"abcdef*?ghijkl"}}"#, &[]),
            (r#"{"StringLike":{"aws:PrincipalTag/team":"abc*defgh?jk"}}"#, &["endpoint-policy-short-wildcard"]),
            (r#"{"StringEquals":{"aws:PrincipalTag/team":"a*"}}"#, &[]),
            (r#"{"StringLike":{"aws:PrincipalTag/team":"x${*}y"}}"#, &[]),
        ];
        for (cond, want) in cases {
            assert_eq!(codes(cond), *want, "{cond}");
        }
    }

    #[test]
    fn account_field_mixing_an_id_and_a_wildcard() {
        assert_eq!(
            codes(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::1111*:role/app"}}"#),
            ["endpoint-policy-partial-account-wildcard"]
        );
        assert_eq!(codes(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}}"#), [] as [&str; 0]);
        let p = parse_policy(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3::1234*:accesspoint/x.mrap/object/*"}]}"#,
            PolicyKind::Vpce,
        )
        .unwrap();
        assert_eq!(endpoint_refusals(&p)[0].code, "endpoint-policy-partial-account-wildcard");
    }

    #[test]
    fn principal_is_required() {
        let without = r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        let lints = missing_principal(without).unwrap();
        assert_eq!(lints.len(), 1);
        assert_eq!(lints[0].code, "endpoint-policy-without-principal");
        assert!(lints[0].message.starts_with("statement 0 (`A`) has no `Principal`"), "{}", lints[0].message);
        let with =
            r#"{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}}"#;
        assert_eq!(missing_principal(with).unwrap(), vec![]);
        assert!(missing_principal("{not json").is_none());
    }
}
