//! Lints: faults in a policy that the evaluator would faithfully obey, each with a fix.
//!
//! They are the fault classes of the seed page and their kin: object actions granted on a
//! bucket ARN without `/*`; ARNs that can never match (upper-case placeholder bucket names, an
//! MRAP ARN with a region or another account); a `Deny` on `aws:SourceIp` that every request
//! through an interface endpoint hits; grants to buckets outside the MRAP; public policies.

use super::model::{BaseOperator, Effect, Policy, Statement};
use super::public::{PolicyHolder, public_statement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

crate::util::wire_names!(Severity);

/// One lint on one statement (or on the whole policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    pub severity: Severity,
    pub code: &'static str,
    pub statement: Option<usize>,
    pub sid: Option<String>,
    pub message: String,
    pub fix: String,
}

/// What kind of policy is linted, and what the world around it looks like.
#[derive(Debug, Clone)]
pub struct LintTarget<'a> {
    pub holder: Holder<'a>,
    pub partition: &'a str,
    /// The account that owns the MRAPs.
    pub mrap_account: Option<&'a str>,
    /// Aliases of the known MRAPs.
    pub mraps: &'a [&'a str],
    /// Buckets behind the known MRAPs.
    pub buckets: &'a [&'a str],
    /// Whether requests reach this policy through an interface endpoint (no `aws:SourceIp`).
    pub through_endpoint: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    Bucket(&'a str),
    Mrap(&'a str),
    Endpoint(&'a str),
}

/// Runs every lint on a policy.
pub fn lint(policy: &Policy, target: &LintTarget<'_>) -> Vec<Lint> {
    let mut out = Vec::new();
    for stmt in &policy.statements {
        let mut push = |severity, code, message: String, fix: String| {
            out.push(Lint { severity, code, statement: Some(stmt.index), sid: stmt.sid.clone(), message, fix });
        };
        object_action_on_bucket_arn(stmt, &mut push);
        impossible_arns(stmt, target, &mut push);
        foreign_buckets(stmt, target, &mut push);
        if target.through_endpoint {
            source_ip_through_endpoint(stmt, &mut push);
        }
        if stmt.effect == Effect::Allow && stmt.principal.as_ref().is_some_and(|p| p.negated) {
            // IAM ("AWS JSON policy elements: NotPrincipal"): "NotPrincipal must be used with
            // Effect Deny. Using it with Effect Allow is not supported."
            push(
                Severity::Error,
                "notprincipal-with-allow",
                format!(
                    "{} uses `NotPrincipal` with `Allow`, which IAM does not support; at best it grants everyone except the listed principals, anonymous callers included, and the auditor never counts it as a grant to a listed one",
                    stmt.label()
                ),
                "use `\"Effect\": \"Deny\"` with `\"Principal\": \"*\"` and a condition `ArnNotEquals` on `aws:PrincipalArn` listing the principals to spare, and grant the ones that need access with `Principal` (IAM: NotPrincipal)".to_string(),
            );
        }
    }
    let mut sids: Vec<&str> = policy.statements.iter().filter_map(|s| s.sid.as_deref()).collect();
    sids.sort_unstable();
    for pair in sids.windows(2) {
        if let [a, b] = pair {
            if a == b {
                out.push(Lint {
                    severity: Severity::Warning,
                    code: "duplicate-sid",
                    statement: None,
                    sid: Some((*a).to_string()),
                    message: format!("the Sid `{a}` is used by more than one statement"),
                    fix: "give every statement its own Sid (S3 rejects duplicates when the policy is next saved)"
                        .to_string(),
                });
            }
        }
    }
    if let Holder::Endpoint(_) = target.holder {
        // What AWS refuses to save (PrivateLink's endpoint-policy considerations).
        out.extend(super::refusal::endpoint_refusals(policy));
    }
    let holder = match target.holder {
        Holder::Bucket(_) => Some(PolicyHolder::Bucket),
        Holder::Mrap(_) => Some(PolicyHolder::AccessPoint),
        Holder::Endpoint(_) => None,
    };
    if let Some(holder) = holder {
        if let Some((stmt, why)) = public_statement(policy, holder) {
            out.push(Lint {
                severity: Severity::Warning,
                code: "public-policy",
                statement: Some(stmt.index),
                sid: stmt.sid.clone(),
                message: format!("the policy is public: {} grants access because {why}", stmt.label()),
                fix: "limit the grant to fixed principals or to a fixed `aws:SourceVpce`/`s3:DataAccessPointArn`; with Block Public Access's RestrictPublicBuckets, cross-account access through a public policy stops working".to_string(),
            });
        }
    }
    out
}

/// AWS's own size limit for a bucket policy: "Bucket policies are limited to 20 KB in size"
/// (S3: "Bucket policies and user policies"), taken as 20 × 1024 bytes.
pub const BUCKET_POLICY_LIMIT_BYTES: usize = 20 * 1024;
/// "The size of an endpoint policy cannot exceed 20,480 characters, including white space"
/// (VPC: "Control access to VPC endpoints using endpoint policies").
pub const ENDPOINT_POLICY_LIMIT_CHARS: usize = 20_480;

/// A policy document larger than AWS accepts for its holder: AWS would refuse to save it, so what
/// the snapshot holds is not what is in force (or the capture is wrong). `None` within limits and
/// for holders without a documented limit.
pub fn size_lint(text: &str, holder: Holder<'_>) -> Option<Lint> {
    let (size, limit, unit, page) = match holder {
        Holder::Bucket(_) => (text.len(), BUCKET_POLICY_LIMIT_BYTES, "bytes", "S3: Bucket policies and user policies"),
        Holder::Endpoint(_) => (
            text.chars().count(),
            ENDPOINT_POLICY_LIMIT_CHARS,
            "characters",
            "VPC: Control access to VPC endpoints using endpoint policies",
        ),
        Holder::Mrap(_) => return None,
    };
    (size > limit).then(|| Lint {
        severity: Severity::Error,
        code: "policy-exceeds-aws-limit",
        statement: None,
        sid: None,
        message: format!("the document is {size} {unit}, more than AWS accepts ({limit} {unit}; {page})"),
        fix: "shorten the policy (merge statements, use wildcards or conditions on `aws:PrincipalOrgID`); AWS refuses to save a larger one, so check that the capture is what is in force".to_string(),
    })
}

/// Actions that only make sense on objects (`arn:aws:s3:::bucket/key`).
fn is_object_action(pattern: &str) -> bool {
    const OBJECT: &[&str] = &[
        "s3:getobject",
        "s3:putobject",
        "s3:deleteobject",
        "s3:abortmultipartupload",
        "s3:restoreobject",
        "s3:listmultipartuploadparts",
        "s3:replicateobject",
    ];
    // `s3:GetObject*` is object-only; `s3:Get*` also covers bucket actions.
    let p = pattern.strip_suffix('*').unwrap_or(pattern);
    !p.contains(['*', '?']) && OBJECT.iter().any(|o| p.starts_with(o))
}

type Push<'p> = dyn FnMut(Severity, &'static str, String, String) + 'p;

fn object_action_on_bucket_arn(stmt: &Statement, push: &mut Push<'_>) {
    if stmt.action.negated || stmt.resource.negated {
        return;
    }
    let all_object = stmt.action.patterns.iter().all(|p| is_object_action(&p.raw.to_lowercase()));
    if !all_object {
        return;
    }
    let raws: Vec<&str> = stmt.resource.patterns.iter().map(|p| p.raw.as_str()).collect();
    for raw in &raws {
        let fields: Vec<&str> = raw.splitn(6, ':').collect();
        let [_, _, "s3", region, account, resource] = fields.as_slice() else { continue };
        let bucket_arn = region.is_empty() && account.is_empty() && !resource.contains('/') && !resource.ends_with('*');
        let mrap_arn = region.is_empty()
            && resource.starts_with("accesspoint/")
            && !resource.contains("/object/")
            && !resource.ends_with('*');
        let with_objects = if bucket_arn { format!("{raw}/*") } else { format!("{raw}/object/*") };
        if !(bucket_arn || mrap_arn) || raws.iter().any(|r| r.starts_with(&format!("{raw}/"))) {
            continue;
        }
        let actions: Vec<&str> = stmt.action.patterns.iter().map(|p| p.raw.as_str()).collect();
        let (severity, effect) = match stmt.effect {
            Effect::Allow => (Severity::Error, "grants"),
            Effect::Deny => (Severity::Warning, "denies"),
        };
        let what = if bucket_arn { "a bucket ARN" } else { "an MRAP ARN" };
        push(
            severity,
            "object-action-on-bucket-arn",
            format!(
                "{} {effect} {} on `{raw}`, {what} that matches no object, so it {} nothing",
                stmt.label(),
                actions.join(", "),
                if stmt.effect == Effect::Allow { "grants" } else { "denies" }
            ),
            format!("use `{with_objects}` (or add it next to `{raw}`)"),
        );
    }
}

/// S3 bucket names: 3-63 characters of lower-case letters, digits, `.` and `-`, starting and
/// ending with a letter or digit (S3: "Bucket naming rules").
pub fn bucket_name_problem(name: &str) -> Option<String> {
    if name.contains(['*', '?', '$']) {
        return None;
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!("`{name}` has upper-case letters, and S3 bucket names are lower-case"));
    }
    if !(3..=63).contains(&name.len()) {
        return Some(format!("`{name}` is not 3 to 63 characters long"));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-') {
        return Some(format!("`{name}` has characters other than lower-case letters, digits, `.` and `-`"));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) || name.contains("..") {
        return Some(format!("`{name}` must start and end with a letter or digit and have no `..`"));
    }
    None
}

fn impossible_arns(stmt: &Statement, target: &LintTarget<'_>, push: &mut Push<'_>) {
    for pattern in &stmt.resource.patterns {
        let raw = pattern.raw.as_str();
        let fields: Vec<&str> = raw.splitn(6, ':').collect();
        let [_, partition, "s3", region, account, resource] = fields.as_slice() else { continue };
        if !partition.contains(['*', '?']) && *partition != target.partition {
            push(
                Severity::Error,
                "arn-never-matches",
                format!("{}: `{raw}` is in partition `{partition}`, not `{}`", stmt.label(), target.partition),
                format!("use `arn:{}:...`", target.partition),
            );
        }
        if region.is_empty() && account.is_empty() {
            let bucket = resource.split('/').next().unwrap_or("");
            if let Some(problem) = bucket_name_problem(bucket) {
                push(
                    Severity::Error,
                    "arn-never-matches",
                    format!("{}: `{raw}` can never match a bucket: {problem}", stmt.label()),
                    format!("name the real bucket, e.g. `{}`", raw.replacen(bucket, &bucket.to_lowercase(), 1)),
                );
            }
            continue;
        }
        let Some(alias) = resource.strip_prefix("accesspoint/").map(|r| r.split('/').next().unwrap_or("")) else {
            continue;
        };
        if !alias.ends_with(".mrap") {
            continue;
        }
        if !region.is_empty() {
            push(
                Severity::Error,
                "arn-never-matches",
                format!(
                    "{}: `{raw}` has the region `{region}`, but Multi-Region Access Point ARNs have none",
                    stmt.label()
                ),
                format!("use `{}`", raw.replacen(&format!(":{region}:"), "::", 1)),
            );
        }
        if let Some(owner) = target.mrap_account {
            let known = target.mraps.contains(&alias);
            if known && !account.contains(['*', '?']) && *account != owner {
                push(
                    Severity::Error,
                    "arn-never-matches",
                    format!("{}: `{raw}` names account {account}, but `{alias}` belongs to {owner}", stmt.label()),
                    format!("use account {owner}"),
                );
            }
            if !known && !alias.contains(['*', '?']) && *account == owner {
                push(
                    Severity::Warning,
                    "unknown-mrap",
                    format!("{}: `{raw}` names the MRAP `{alias}`, which is not in the snapshot", stmt.label()),
                    "check the alias (aws s3control list-multi-region-access-points)".to_string(),
                );
            }
        }
    }
}

fn foreign_buckets(stmt: &Statement, target: &LintTarget<'_>, push: &mut Push<'_>) {
    if stmt.effect != Effect::Allow || stmt.resource.negated || target.buckets.is_empty() {
        return;
    }
    for pattern in &stmt.resource.patterns {
        let fields: Vec<&str> = pattern.raw.splitn(6, ':').collect();
        let [_, _, "s3", "", "", resource] = fields.as_slice() else { continue };
        let bucket = resource.split('/').next().unwrap_or("");
        if bucket.contains(['*', '?', '$']) || bucket_name_problem(bucket).is_some() {
            continue;
        }
        match target.holder {
            Holder::Bucket(own) if bucket != own => push(
                Severity::Error,
                "bucket-not-in-mrap",
                format!("{}: the bucket policy of `{own}` grants on `{}`, another bucket", stmt.label(), pattern.raw),
                format!("a bucket policy can only grant on `arn:{}:s3:::{own}` and its objects", target.partition),
            ),
            Holder::Endpoint(id) if !target.buckets.contains(&bucket) => push(
                Severity::Warning,
                "bucket-not-in-mrap",
                format!(
                    "{}: the endpoint policy of {id} grants on `{}`, which is not a bucket of any MRAP",
                    stmt.label(),
                    pattern.raw
                ),
                format!("list the MRAP's buckets: {}", target.buckets.join(", ")),
            ),
            Holder::Mrap(alias) => push(
                Severity::Warning,
                "bucket-arn-in-mrap-policy",
                format!(
                    "{}: the MRAP policy of `{alias}` names the bucket ARN `{}`, which an MRAP policy never matches",
                    stmt.label(),
                    pattern.raw
                ),
                "MRAP policies grant on `arn:aws:s3::ACCOUNT:accesspoint/ALIAS/object/*`".to_string(),
            ),
            _ => {}
        }
    }
}

fn source_ip_through_endpoint(stmt: &Statement, push: &mut Push<'_>) {
    for cond in &stmt.conditions {
        if cond.key_lower != "aws:sourceip" {
            continue;
        }
        match (stmt.effect, cond.operator.base) {
            (Effect::Deny, BaseOperator::NotIpAddress) => push(
                Severity::Error,
                "source-ip-deny-through-endpoint",
                format!(
                    "{} denies when `aws:SourceIp` is not in {:?}; requests through an interface VPC endpoint carry no `aws:SourceIp`, so it denies every one of them",
                    stmt.label(),
                    cond.raw_values
                ),
                "exempt the endpoint (e.g. `StringNotEquals` on `aws:SourceVpce`) or test `aws:VpcSourceIp` for private addresses".to_string(),
            ),
            (Effect::Allow, BaseOperator::IpAddress) if !cond.operator.if_exists => push(
                Severity::Warning,
                "source-ip-allow-through-endpoint",
                format!("{} allows only when `aws:SourceIp` is in {:?}; requests through an interface VPC endpoint carry no `aws:SourceIp`, so it never allows them", stmt.label(), cond.raw_values),
                "grant endpoint traffic on `aws:SourceVpce` (or `aws:VpcSourceIp`)".to_string(),
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyKind, parse_policy};

    fn codes(policy: &str, holder: Holder<'_>) -> Vec<String> {
        let p = parse_policy(policy, PolicyKind::Resource).unwrap();
        let target = LintTarget {
            holder,
            partition: "aws",
            mrap_account: Some("123456789012"),
            mraps: &["mfzwi23gnjvgw.mrap"],
            buckets: &["doc-examplebucket1", "doc-examplebucket2"],
            through_endpoint: true,
        };
        lint(&p, &target).into_iter().map(|l| format!("{} {}: {}", l.severity.name(), l.code, l.message)).collect()
    }

    #[test]
    fn the_seed_bucket_policy() {
        let seed = r#"{ "Version":"2012-10-17", "Statement": [ { "Sid": "Public-read", "Effect":"Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": [ "arn:aws:s3:::doc-examplebucket1", "arn:aws:s3:::doc-examplebucket2/*"] }] }"#;
        let got = codes(seed, Holder::Bucket("doc-examplebucket1"));
        assert_eq!(got, vec![
            "error object-action-on-bucket-arn: statement 0 (`Public-read`) grants s3:GetObject on `arn:aws:s3:::doc-examplebucket1`, a bucket ARN that matches no object, so it grants nothing".to_string(),
            "error bucket-not-in-mrap: statement 0 (`Public-read`): the bucket policy of `doc-examplebucket1` grants on `arn:aws:s3:::doc-examplebucket2/*`, another bucket".to_string(),
            "warning public-policy: the policy is public: statement 0 (`Public-read`) grants access because `Principal` is `*` and no condition limits it to fixed accounts, networks or sources".to_string(),
        ]);
    }

    #[test]
    fn placeholder_bucket_names_and_mrap_arns() {
        let vpce = r#"{ "Version": "2012-10-17", "Statement": [ { "Sid": "Read", "Principal": "*", "Action": [ "s3:GetObject" ], "Effect": "Allow", "Resource": [ "arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*", "arn:aws:s3:::other-bucket/*", "arn:aws:s3:us-east-1:123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*", "arn:aws:s3::999999999999:accesspoint/mfzwi23gnjvgw.mrap/object/*" ] }] }"#;
        let got = codes(vpce, Holder::Endpoint("vpce-1a2b3c4d"));
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(got[0].starts_with("error arn-never-matches: statement 0 (`Read`): `arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*` can never match a bucket: `DOC-EXAMPLE-BUCKET1` has upper-case letters"));
        assert!(got[1].contains("has the region `us-east-1`"));
        assert!(got[2].contains("names account 999999999999, but `mfzwi23gnjvgw.mrap` belongs to 123456789012"));
        assert!(got[3].starts_with("warning bucket-not-in-mrap"), "{}", got[3]);
    }

    #[test]
    fn source_ip_deny_through_the_endpoint() {
        let p = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OfficeOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::doc-examplebucket1/*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
        let got = codes(p, Holder::Bucket("doc-examplebucket1"));
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with(
            "error source-ip-deny-through-endpoint: statement 0 (`OfficeOnly`) denies when `aws:SourceIp` is not in"
        ));
    }

    #[test]
    fn object_actions() {
        for a in ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:getobject", "s3:DeleteObject*"] {
            assert!(is_object_action(&a.to_lowercase()), "{a}");
        }
        for a in ["s3:*", "s3:Get*", "s3:ListBucket", "*", "s3:GetBucketPolicy"] {
            assert!(!is_object_action(&a.to_lowercase()), "{a}");
        }
        assert_eq!(bucket_name_problem("doc-examplebucket1"), None);
        assert!(bucket_name_problem("my_bucket").is_some());
        assert!(bucket_name_problem("-abc").is_some());
    }
}
