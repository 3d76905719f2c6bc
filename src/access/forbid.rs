//! `[[forbid]]` (DESIGN §10): access that must never exist, checked against the map — IAM
//! Access Analyzer's CheckAccessNotGranted and CheckNoPublicAccess, over the whole chain.

use serde::{Deserialize, Serialize};

use super::{AccessMap, Grant};
use crate::config::Forbid;
use crate::eval::wildcard;
use crate::policy::template::{Syntax, Template};
use crate::report::Status;

/// One forbid's outcome (`check --format json` `forbids[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForbidReport {
    pub name: String,
    pub status: Status,
    /// The grants that violate it, with their MRAP and bucket.
    pub grants: Vec<ForbiddenGrant>,
    /// Extension: why it is unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForbiddenGrant {
    pub mrap: String,
    pub bucket: String,
    #[serde(flatten)]
    pub grant: Grant,
}

/// Whether a grant's callers fall in a forbidden caller class. `owner`: the bucket's account.
pub fn caller_matches(class: &str, grant: &Grant, owner: &str) -> bool {
    let account = grant.witness.principal.split(':').nth(4).filter(|a| !a.is_empty());
    let org_condition = grant
        .conditions
        .iter()
        .find_map(|c| c.strip_prefix("aws:PrincipalOrgID = ").or_else(|| c.strip_prefix("aws:principalorgid = ")));
    match class.split_once(':') {
        None if class == "anonymous" => grant.callers == "anonymous",
        None if class == "any-principal" => {
            grant.callers == "any-principal" || grant.callers.starts_with("outside-org:")
        }
        None if class == "any-other-account" => grant.callers != "anonymous" && account.is_some_and(|a| a != owner),
        Some(("account", id)) => account == Some(id),
        Some(("principal", arn)) => grant.witness.principal == arn || grant.callers == format!("principal:{arn}"),
        Some(("org", org)) => {
            grant.callers == format!("org:{org}")
                || org_condition.is_some_and(|o| o.split_whitespace().next() == Some(org))
        }
        Some(("outside-org", org)) => {
            let inside = grant.callers == format!("org:{org}")
                || org_condition.is_some_and(|o| o.split_whitespace().next() == Some(org));
            !inside && (grant.callers == "anonymous" || account.is_some_and(|a| a != owner))
        }
        _ => false,
    }
}

fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once(':') {
        _ if pattern == "*" => true,
        Some((kind, "*")) => path.split_once(':').is_some_and(|(k, _)| k == kind),
        _ => pattern == path,
    }
}

fn action_matches(pattern: &str, action: &str) -> bool {
    let t = Template::parse(&pattern.to_ascii_lowercase(), Syntax { wildcards: true, variables: false });
    wildcard::matches(&t.tokens, &action.to_ascii_lowercase())
}

/// Checks every forbid against the map: `violated` when a grant matches, `unknown` when none
/// does but the map has cells it could not decide (or is incomplete), `holds` otherwise.
pub fn check_forbids(forbids: &[Forbid], map: &AccessMap) -> Vec<ForbidReport> {
    forbids
        .iter()
        .map(|f| {
            let mut grants = Vec::new();
            let mut unknown = Vec::new();
            for m in &map.mraps {
                if f.mrap != "*" && f.mrap != m.mrap {
                    continue;
                }
                for b in &m.buckets {
                    for g in &b.grants {
                        let callers = f.callers.iter().any(|c| caller_matches(c, g, &b.account));
                        let paths = f.paths.is_empty() || f.paths.iter().any(|p| path_matches(p, &g.path));
                        let actions = f.actions.is_empty()
                            || g.actions.iter().any(|a| f.actions.iter().any(|p| action_matches(p, a)));
                        if callers && paths && actions {
                            let mut grant = g.clone();
                            if !f.actions.is_empty() {
                                grant.actions.retain(|a| f.actions.iter().any(|p| action_matches(p, a)));
                            }
                            grants.push(ForbiddenGrant { mrap: m.mrap.clone(), bucket: b.bucket.clone(), grant });
                        }
                    }
                    for u in &b.unknown {
                        if f.paths.is_empty() || f.paths.iter().any(|p| path_matches(p, &u.path)) {
                            unknown.push(format!("{} {}: {}", b.bucket, u.path, u.reason));
                        }
                    }
                }
            }
            let status = if !grants.is_empty() {
                Status::Violated
            } else if !unknown.is_empty() || !map.complete {
                Status::Unknown
            } else {
                Status::Holds
            };
            ForbidReport { name: f.name.clone(), status, grants, unknown }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Witness;

    fn grant(callers: &str, principal: &str, conditions: &[&str]) -> Grant {
        Grant {
            path: "bucket:internet".into(),
            callers: callers.into(),
            actions: vec!["s3:GetObject".into()],
            keys: "*".into(),
            conditions: conditions.iter().map(|c| c.to_string()).collect(),
            public: false,
            cross_account: true,
            witness: Witness {
                principal: principal.into(),
                action: "s3:GetObject".into(),
                key: "x".into(),
                via: "internet".into(),
                bucket: Some("b".into()),
                mrap: None,
                context: Default::default(),
            },
            admitted_by: Vec::new(),
        }
    }

    #[test]
    fn caller_classes_match_grants() {
        let owner = "123456789012";
        let anon = grant("anonymous", "anonymous", &[]);
        let any = grant("any-principal", "arn:aws:iam::999999999999:user/x", &[]);
        let other = grant("account:444455556666", "arn:aws:iam::444455556666:user/x", &[]);
        let own = grant("principal:arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/app", &[]);
        let org = grant("org:o-abc123", "arn:aws:iam::999999999999:user/x", &["aws:PrincipalOrgID = o-abc123"]);
        let cases: &[(&str, &Grant, bool)] = &[
            ("anonymous", &anon, true),
            ("anonymous", &any, false),
            ("any-principal", &any, true),
            ("any-principal", &other, false),
            ("any-other-account", &other, true),
            ("any-other-account", &any, true),
            ("any-other-account", &own, false),
            ("any-other-account", &anon, false),
            ("account:444455556666", &other, true),
            ("account:444455556666", &any, false),
            ("principal:arn:aws:iam::123456789012:role/app", &own, true),
            ("org:o-abc123", &org, true),
            ("org:o-abc123", &any, false),
            ("outside-org:o-abc123", &org, false),
            ("outside-org:o-abc123", &any, true),
            ("outside-org:o-abc123", &anon, true),
            ("outside-org:o-abc123", &own, false),
        ];
        for (class, g, want) in cases {
            assert_eq!(caller_matches(class, g, owner), *want, "{class} vs {}", g.callers);
        }
    }

    #[test]
    fn paths_and_actions() {
        assert!(path_matches("mrap:*", "mrap:vpce-1a2b3c4d"));
        assert!(!path_matches("mrap:*", "bucket:internet"));
        assert!(path_matches("*", "bucket:vpce-1a2b3c4d"));
        assert!(path_matches("bucket:internet", "bucket:internet"));
        assert!(action_matches("s3:Get*", "s3:GetObjectVersion"));
        assert!(!action_matches("s3:Put*", "s3:GetObject"));
    }
}
