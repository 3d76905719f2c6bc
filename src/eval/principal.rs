//! `Principal` and `NotPrincipal` against the caller (IAM: "AWS JSON policy elements: Principal",
//! "NotPrincipal").
//!
//! A match also says *how* the caller was named, because that changes what a resource-policy
//! grant is worth (IAM: "Policy evaluation logic", same-account table): naming the user or the
//! session grants directly; naming the role still passes through boundary and session policy;
//! naming the account only delegates to the account, whose IAM policies must then allow.

use super::request::{Caller, IamCaller, IamKind};
use crate::policy::{Effect, PrincipalClause, PrincipalEntry};

/// How a statement's principal matched the caller, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grantee {
    /// The caller's account (`"AWS": "ACCT"` or `:root`): delegation, needs an identity allow.
    Account,
    /// The caller's role — its session's role, or the role ARN itself when the caller is given
    /// as the role: limited by boundary and session policy (IAM: "Policy evaluation for
    /// requests within a single account": only grants naming the role session or the IAM user
    /// are not limited by an implicit deny in a boundary or session policy).
    Role,
    /// The caller itself: `*`, its user/session/federated-user ARN, its service, or a
    /// `NotPrincipal` that does not list it.
    Caller,
}

/// Assumption text, stated when a `NotPrincipal` decided.
pub const NOT_PRINCIPAL_ASSUMPTION: &str = "`NotPrincipal` excludes a caller only when every identity in its chain is listed: the account, and also the user, or the role and the session (IAM: NotPrincipal)";

/// Stated when an `Allow` statement uses `NotPrincipal`.
pub const NOT_PRINCIPAL_ALLOW: &str = "`NotPrincipal` with `Allow` is not supported by IAM; read at its most generous it grants everyone except the principals it names, so it never grants a caller it names in any form (IAM: NotPrincipal)";

/// Stated when a `NotPrincipal` statement applied because the caller has a boundary.
pub const NOT_PRINCIPAL_BOUNDARY: &str = "a `Deny` with `NotPrincipal` always denies an IAM principal that has a permissions boundary, whatever `NotPrincipal` lists (IAM: Permissions boundaries)";

/// The best way `clause` names the caller, or `None` when it does not apply to the caller.
/// `boundary_attached`: the caller has a permissions boundary, which makes every `Deny` with
/// `NotPrincipal` apply to it (IAM: "Permissions boundaries for IAM entities", evaluation logic).
///
/// `NotPrincipal` differs by effect. With `Deny` (the only supported use) the statement spares a
/// caller only when every identity of its chain is listed. With `Allow` — "not supported"
/// (IAM: "AWS JSON policy elements: NotPrincipal") — the most generous reading admits everyone
/// except those named, so a caller that any entry names (its account, role, session or itself)
/// is never granted: an auditor must not count on an unsupported grant.
pub fn matches(clause: &PrincipalClause, caller: &Caller, boundary_attached: bool, effect: Effect) -> Option<Grantee> {
    if clause.negated {
        return match effect {
            Effect::Allow => {
                clause.entries.iter().all(|e| entry_matches(e, caller).is_none()).then_some(Grantee::Caller)
            }
            Effect::Deny if boundary_attached && matches!(caller, Caller::Iam(_)) => Some(Grantee::Caller),
            Effect::Deny => (!fully_listed(&clause.entries, caller)).then_some(Grantee::Caller),
        };
    }
    clause.entries.iter().filter_map(|e| entry_matches(e, caller)).max()
}

fn entry_matches(entry: &PrincipalEntry, caller: &Caller) -> Option<Grantee> {
    match (entry, caller) {
        (PrincipalEntry::Everyone, _) => Some(Grantee::Caller),
        (PrincipalEntry::Service(name), Caller::Service(s)) => (name == "*" || name == s).then_some(Grantee::Caller),
        (_, Caller::Iam(c)) => iam_entry_matches(entry, c),
        _ => None,
    }
}

fn iam_entry_matches(entry: &PrincipalEntry, caller: &IamCaller) -> Option<Grantee> {
    match entry {
        PrincipalEntry::Account(account) => (*account == caller.account).then_some(Grantee::Account),
        PrincipalEntry::User { arn } | PrincipalEntry::AssumedRole { arn } | PrincipalEntry::FederatedUser { arn } => {
            (*arn == caller.arn).then_some(Grantee::Caller)
        }
        PrincipalEntry::Role { arn, account, name } => match &caller.kind {
            // Policies store the role by id, so the role's path does not matter for its sessions.
            IamKind::AssumedRole { role, .. } if role == name && *account == caller.account => Some(Grantee::Role),
            // The role itself as the caller: a grant naming the role ARN is still a grant to a
            // role, limited by boundary and session policy, never one to a session or user.
            IamKind::Role { .. } if *arn == caller.arn => Some(Grantee::Role),
            _ => None,
        },
        _ => None,
    }
}

/// Whether every identity in the caller's chain is listed in a `NotPrincipal`.
fn fully_listed(entries: &[PrincipalEntry], caller: &Caller) -> bool {
    if entries.contains(&PrincipalEntry::Everyone) {
        return true;
    }
    let listed = |pred: &dyn Fn(&PrincipalEntry) -> bool| entries.iter().any(pred);
    match caller {
        Caller::Anonymous => false,
        Caller::Service(s) => listed(&|e| matches!(e, PrincipalEntry::Service(n) if n == s || n == "*")),
        Caller::Iam(c) => {
            let account = listed(&|e| matches!(e, PrincipalEntry::Account(a) if *a == c.account));
            let exact = |c: &IamCaller| listed(&|e| iam_entry_matches(e, c) == Some(Grantee::Caller));
            let role = |c: &IamCaller| listed(&|e| iam_entry_matches(e, c) == Some(Grantee::Role));
            match &c.kind {
                IamKind::Root => account,
                IamKind::User { .. } | IamKind::FederatedUser { .. } => account && exact(c),
                IamKind::Role { .. } => account && role(c),
                IamKind::AssumedRole { .. } => account && role(c) && exact(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyKind, parse_policy};

    fn clause(principal: &str, negated: bool) -> PrincipalClause {
        let element = if negated { "NotPrincipal" } else { "Principal" };
        let text =
            format!(r#"{{"Statement":{{"Effect":"Deny","{element}":{principal},"Action":"*","Resource":"*"}}}}"#);
        parse_policy(&text, PolicyKind::Resource).unwrap().statements[0].principal.clone().unwrap()
    }

    fn m(principal: &str, caller: &str) -> Option<Grantee> {
        matches(&clause(principal, false), &Caller::parse(caller).unwrap(), false, Effect::Allow)
    }

    fn not(principal: &str, caller: &str) -> bool {
        matches(&clause(principal, true), &Caller::parse(caller).unwrap(), false, Effect::Deny).is_some()
    }

    fn not_allow(principal: &str, caller: &str) -> bool {
        matches(&clause(principal, true), &Caller::parse(caller).unwrap(), false, Effect::Allow).is_some()
    }

    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/s1";
    const USER: &str = "arn:aws:iam::111122223333:user/ops/alice";
    const ROLE: &str = "arn:aws:iam::111122223333:role/app";

    #[test]
    fn principal_table() {
        use Grantee::*;
        let cases: &[(&str, &str, Option<Grantee>)] = &[
            (r#""*""#, "anonymous", Some(Caller)),
            (r#"{"AWS":"*"}"#, "anonymous", Some(Caller)),
            (r#"{"AWS":"111122223333"}"#, SESSION, Some(Account)),
            (r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, USER, Some(Account)),
            (r#"{"AWS":"111122223333"}"#, "anonymous", None),
            (r#"{"AWS":"444455556666"}"#, USER, None),
            (r#"{"AWS":"arn:aws:iam::111122223333:role/team/app"}"#, SESSION, Some(Role)),
            (r#"{"AWS":"arn:aws:iam::444455556666:role/app"}"#, SESSION, None),
            (r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/app/s1"}"#, SESSION, Some(Caller)),
            (r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/app/s2"}"#, SESSION, None),
            (r#"{"AWS":"arn:aws:iam::111122223333:user/ops/alice"}"#, USER, Some(Caller)),
            (r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, USER, None),
            (r#"{"AWS":["111122223333","arn:aws:iam::111122223333:role/app"]}"#, SESSION, Some(Role)),
            (r#"{"Service":"s3.amazonaws.com"}"#, "s3.amazonaws.com", Some(Caller)),
            (r#"{"Service":"s3.amazonaws.com"}"#, USER, None),
            (r#"{"AWS":"AROAEXAMPLEEXAMPLE12"}"#, SESSION, None),
            (r#"{"CanonicalUser":"79a59df900b949e55d96a1e698fbaced"}"#, USER, None),
            (r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#, ROLE, Some(Role)),
        ];
        for (principal, caller, want) in cases {
            assert_eq!(m(principal, caller), *want, "{principal} vs {caller}");
        }
    }

    #[test]
    fn not_principal_needs_the_whole_chain() {
        let cases: &[(&str, &str, bool)] = &[
            // (NotPrincipal, caller, statement applies)
            (r#"{"AWS":"arn:aws:iam::111122223333:user/ops/alice"}"#, USER, true),
            (r#"{"AWS":["arn:aws:iam::111122223333:user/ops/alice","arn:aws:iam::111122223333:root"]}"#, USER, false),
            (r#"{"AWS":["arn:aws:sts::111122223333:assumed-role/app/s1","111122223333"]}"#, SESSION, true),
            (
                r#"{"AWS":["arn:aws:sts::111122223333:assumed-role/app/s1","arn:aws:iam::111122223333:role/app","111122223333"]}"#,
                SESSION,
                false,
            ),
            (r#"{"AWS":"111122223333"}"#, "arn:aws:iam::111122223333:root", false),
            (r#"{"AWS":"111122223333"}"#, USER, true),
            (r#"{"AWS":"111122223333"}"#, "anonymous", true),
            (r#""*""#, "anonymous", false),
            (r#"{"AWS":["arn:aws:iam::111122223333:role/app","111122223333"]}"#, ROLE, false),
            (r#"{"AWS":"111122223333"}"#, ROLE, true),
        ];
        for (principal, caller, applies) in cases {
            assert_eq!(not(principal, caller), *applies, "NotPrincipal {principal} vs {caller}");
        }
    }

    #[test]
    fn allow_not_principal_never_grants_whom_it_names() {
        let cases: &[(&str, &str, bool)] = &[
            // (NotPrincipal of an Allow, caller, statement grants)
            (r#"{"AWS":"arn:aws:iam::111122223333:user/ops/alice"}"#, USER, false),
            (r#"{"AWS":"111122223333"}"#, USER, false),
            (r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#, SESSION, false),
            (r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/app/s1"}"#, SESSION, false),
            (r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#, ROLE, false),
            (r#"{"AWS":"arn:aws:iam::111122223333:user/ops/alice"}"#, "anonymous", true),
            (r#"{"AWS":"444455556666"}"#, USER, true),
            (r#""*""#, "anonymous", false),
        ];
        for (principal, caller, grants) in cases {
            assert_eq!(not_allow(principal, caller), *grants, "Allow NotPrincipal {principal} vs {caller}");
        }
    }
}
