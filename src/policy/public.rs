//! Whether a bucket or access-point policy is "public" in S3's sense (S3: "Blocking public
//! access to your Amazon S3 storage", "The meaning of public").
//!
//! S3 starts from "public" and looks for a reason to call the policy non-public: every `Allow`
//! statement must be limited to fixed values (no wildcard, no policy variable) of a principal,
//! or of one of a short list of condition keys. A fixed `aws:SourceIp` range broader than /8
//! (IPv4) or /32 (IPv6) outside RFC 1918 still counts as public. `RestrictPublicBuckets` then
//! cuts a public policy down to its owner's account and AWS service principals.

use std::net::IpAddr;

use super::model::{BaseOperator, Condition, ConditionValues, Effect, Policy, PrincipalEntry, Statement};

/// Condition keys whose fixed values make a `Principal: "*"` grant non-public. The principal
/// keys are S3's "AWS principal, user, role, or service principal (e.g. aws:PrincipalOrgID)".
const LIMITING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalservicename",
];

/// Which policy the rules apply to: access-point (and MRAP) policies treat `s3:DataAccessPointArn`
/// grants as public, bucket policies do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyHolder {
    Bucket,
    AccessPoint,
}

/// The first statement that makes the policy public, with why; `None` when it is not public.
pub fn public_statement(policy: &Policy, holder: PolicyHolder) -> Option<(&Statement, String)> {
    policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .find_map(|s| why_public(s, holder).map(|why| (s, why)))
}

pub fn is_public(policy: &Policy, holder: PolicyHolder) -> bool {
    public_statement(policy, holder).is_some()
}

fn why_public(stmt: &Statement, holder: PolicyHolder) -> Option<String> {
    let principal = stmt.principal.as_ref()?;
    if principal.negated {
        return Some("it allows everyone except the listed principals (`NotPrincipal`)".to_string());
    }
    let open = principal.entries.iter().find_map(|e| match e {
        PrincipalEntry::Everyone => Some("`Principal` is `*`"),
        PrincipalEntry::Federated(_) => Some("a `Federated` principal admits any user of that identity provider"),
        PrincipalEntry::Service(s) if s == "*" => Some("`Service` is `*`"),
        _ => None,
    })?;
    if stmt.conditions.iter().any(|c| limits(c, holder)) {
        return None;
    }
    Some(format!("{open} and no condition limits it to fixed accounts, networks or sources"))
}

/// A positive condition with fixed values on a limiting key.
fn limits(cond: &Condition, holder: PolicyHolder) -> bool {
    let op = cond.operator;
    if op.if_exists || op.base.is_negated() || op.base == BaseOperator::Null {
        return false;
    }
    match (&cond.values, cond.key_lower.as_str()) {
        (ConditionValues::Ip(nets), "aws:sourceip") => nets.iter().all(|n| {
            let broad = match n.addr() {
                IpAddr::V4(_) => n.prefix_len() < 8,
                IpAddr::V6(_) => n.prefix_len() < 32,
            };
            !broad || is_rfc1918(n)
        }),
        (_, "s3:dataaccesspointarn") => match holder {
            PolicyHolder::AccessPoint => false,
            // A wildcard for the access point name is fine while the account is fixed.
            PolicyHolder::Bucket => cond.raw_values.iter().all(|v| {
                let fields: Vec<&str> = v.splitn(6, ':').collect();
                fields.len() == 6
                    && fields.iter().take(5).all(|f| !has_wildcard_or_variable(f))
                    && fields.get(4).is_some_and(|a| !a.is_empty())
            }),
        },
        (_, "aws:userid") => cond.raw_values.iter().all(|v| fixed(v) && !v.ends_with(":*")),
        (_, key) if LIMITING_KEYS.contains(&key) => cond.raw_values.iter().all(|v| fixed(v)),
        _ => false,
    }
}

fn fixed(value: &str) -> bool {
    !value.is_empty() && !has_wildcard_or_variable(value)
}

fn has_wildcard_or_variable(value: &str) -> bool {
    value.contains(['*', '?']) || value.contains("${")
}

fn is_rfc1918(net: &ipnet::IpNet) -> bool {
    const PRIVATE: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    PRIVATE.iter().filter_map(|p| p.parse::<ipnet::IpNet>().ok()).any(|p| p.contains(net))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyKind, parse_policy};

    fn public(statement: &str, holder: PolicyHolder) -> bool {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
        is_public(&parse_policy(&text, PolicyKind::Resource).unwrap(), holder)
    }

    const B: PolicyHolder = PolicyHolder::Bucket;

    #[test]
    fn meaning_of_public_table() {
        let cases: &[(&str, bool)] = &[
            (r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#, true),
            (r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"}"#, true),
            (
                r#"{"Effect":"Allow","Principal":{"Federated":"graph.facebook.com"},"Action":"s3:PutObject","Resource":"*"}"#,
                true,
            ),
            (r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}"#, false),
            (
                r#"{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"*"}"#,
                false,
            ),
            (r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#, false),
            (r#"{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}"#, true),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*","Condition":{"StringLike":{"aws:SourceVpc":"vpc-*"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-91237329"}}}"#,
                false,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}"#,
                false,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"${aws:username}"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
                false,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
                false,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"2001:db8::/16"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"s3:DataAccessPointAccount":"123456789012"}}}"#,
                false,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"ArnLike":{"s3:DataAccessPointArn":"arn:aws:s3:us-west-2:123456789012:accesspoint/*"}}}"#,
                false,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"ArnLike":{"s3:DataAccessPointArn":"arn:aws:s3:us-west-2:*:accesspoint/*"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:userid":"AROAEXAMPLE:*"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}"#,
                false,
            ),
            (
                r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:SecureTransport":"true"}}}"#,
                true,
            ),
        ];
        for (statement, want) in cases {
            assert_eq!(public(statement, B), *want, "{statement}");
        }
        let ap = r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"ArnLike":{"s3:DataAccessPointArn":"arn:aws:s3:us-west-2:123456789012:accesspoint/*"}}}"#;
        assert!(
            public(ap, PolicyHolder::AccessPoint),
            "access point policies treat DataAccessPointArn grants as public"
        );
    }
}
