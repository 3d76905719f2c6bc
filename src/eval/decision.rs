//! Combining the policy layers into one decision (IAM: "Policy evaluation logic",
//! "Cross-account policy evaluation logic"; VPC: "Control access to services with VPC endpoints").
//!
//! 1. An explicit `Deny` in any applicable policy wins.
//! 2. SCP levels (caller's account), RCP levels (resource's account), VPC endpoint policies, the
//!    permissions boundary and the session policy are filters: each present one must allow; none
//!    of them grants.
//! 3. The grant. Same account: identity policy **or** resource policy — where a resource-policy
//!    grant that names the caller itself (user, session, `*`) is not limited by identity,
//!    boundary or session policy, one that names its role still is by boundary and session
//!    policy, and one that names the account only delegates to IAM. Cross account: identity
//!    **and** resource policy. Anonymous callers: only a resource policy naming `*`.
//!
//! Every result is three-valued (see [`Tri`]): an unknown input gives [`Decision::Unknown`]
//! instead of a guess.

use super::principal::Grantee;
use super::request::{Caller, IamKind, Request};
use super::statement::{self, StatementTrace};
use super::tri::Tri;
use crate::policy::{Effect, Policy};
use crate::util::push_unique;

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Decision {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
    /// An input the decision needs is unknown (never produced from a fully known request).
    Unknown,
}

/// A policy layer, in the order the explanation reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Scp,
    Rcp,
    Vpce,
    Boundary,
    Session,
    Identity,
    Resource,
}

crate::util::wire_names!(Decision, Layer);

/// A policy with the name it has in explanations (`identity[0]`, `bucket policy of b1`, ...).
#[derive(Debug, Clone, Copy)]
pub struct NamedPolicy<'a> {
    pub name: &'a str,
    pub policy: &'a Policy,
}

/// The policies that apply to one request. `None` = that kind of policy is not applied.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    pub identity: Vec<NamedPolicy<'a>>,
    pub resource: Option<NamedPolicy<'a>>,
    pub vpce: Vec<NamedPolicy<'a>>,
    pub boundary: Option<Vec<NamedPolicy<'a>>>,
    pub session: Option<NamedPolicy<'a>>,
    pub scp: Option<Vec<Vec<NamedPolicy<'a>>>>,
    pub rcp: Option<Vec<Vec<NamedPolicy<'a>>>>,
}

/// How one layer came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerOutcome {
    Allow,
    ExplicitDeny,
    /// No statement allows (for identity/resource: no grant from this policy).
    NoAllow,
    Unknown,
    NotApplied,
}

/// One layer of an explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerTrace {
    pub layer: Layer,
    /// The SCP/RCP level or the endpoint policy's index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<usize>,
    pub outcome: LayerOutcome,
    pub summary: String,
    pub statements: Vec<StatementTrace>,
}

/// A statement named as the reason for a decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatementRef {
    pub policy: String,
    pub index: usize,
    pub sid: Option<String>,
}

/// A decision with its reasons.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub decision: Decision,
    pub deciding_layer: Option<Layer>,
    pub deciding_statement: Option<StatementRef>,
    /// Whether the resource policy grants (needed by the access path to tell a missing identity
    /// grant from a missing resource grant).
    #[serde(skip)]
    pub resource_grants: Tri,
    #[serde(skip)]
    pub identity_grants: Tri,
    pub layers: Vec<LayerTrace>,
    pub assumptions: Vec<String>,
}

/// What one set of policies says, before combination.
#[derive(Debug, Clone, Copy)]
struct Scan {
    deny: Tri,
    allow: Tri,
    /// Allows by how the principal was named: [account, role, caller].
    by_grantee: [Tri; 3],
}

impl Scan {
    const EMPTY: Scan = Scan { deny: Tri::No, allow: Tri::No, by_grantee: [Tri::No; 3] };

    fn outcome(&self) -> LayerOutcome {
        match (self.deny, self.allow) {
            (Tri::Yes, _) => LayerOutcome::ExplicitDeny,
            (Tri::Unknown, _) | (Tri::No, Tri::Unknown) => LayerOutcome::Unknown,
            (Tri::No, Tri::Yes) => LayerOutcome::Allow,
            (Tri::No, Tri::No) => LayerOutcome::NoAllow,
        }
    }
}

/// Collects explanations when asked to; costs nothing otherwise.
struct Tracer {
    layers: Vec<LayerTrace>,
    assumptions: Vec<String>,
}

fn scan(
    policies: &[NamedPolicy<'_>],
    request: &Request,
    boundary_attached: bool,
    tracer: &mut Option<Tracer>,
    into: &mut Vec<StatementTrace>,
) -> Scan {
    let mut result = Scan::EMPTY;
    for named in policies {
        for stmt in &named.policy.statements {
            let outcome = match tracer {
                Some(t) => {
                    let trace = statement::trace(stmt, request, boundary_attached, named.name, &mut t.assumptions);
                    let outcome = statement::Applies {
                        applies: trace.as_ref().map_or(Tri::No, |t| t.applies),
                        grantee: trace.as_ref().and_then(|t| t.grantee),
                    };
                    into.extend(trace);
                    outcome
                }
                None => statement::evaluate(stmt, request, boundary_attached),
            };
            if outcome.applies.is_no() {
                continue;
            }
            match stmt.effect {
                Effect::Deny => result.deny = result.deny.or(outcome.applies),
                Effect::Allow => {
                    result.allow = result.allow.or(outcome.applies);
                    let slot = match outcome.grantee {
                        Some(Grantee::Account) => 0,
                        Some(Grantee::Role) => 1,
                        Some(Grantee::Caller) | None => 2,
                    };
                    if let Some(s) = result.by_grantee.get_mut(slot) {
                        *s = s.or(outcome.applies);
                    }
                }
            }
        }
    }
    result
}

/// Scans one layer and records its trace.
fn layer(
    kind: Layer,
    level: Option<usize>,
    policies: &[NamedPolicy<'_>],
    request: &Request,
    set: &PolicySet<'_>,
    tracer: &mut Option<Tracer>,
) -> Scan {
    let mut statements = Vec::new();
    let result = scan(policies, request, set.boundary.is_some(), tracer, &mut statements);
    if let Some(t) = tracer {
        let summary = summarize(kind, &result, &statements, policies.is_empty(), request);
        t.layers.push(LayerTrace { layer: kind, level, outcome: result.outcome(), summary, statements });
    }
    result
}

fn not_applied(kind: Layer, summary: &str, tracer: &mut Option<Tracer>) {
    if let Some(t) = tracer {
        t.layers.push(LayerTrace {
            layer: kind,
            level: None,
            outcome: LayerOutcome::NotApplied,
            summary: summary.to_string(),
            statements: Vec::new(),
        });
    }
}

fn summarize(kind: Layer, scan: &Scan, statements: &[StatementTrace], empty: bool, request: &Request) -> String {
    let pick = |effect: Effect, applies: Tri| {
        statements.iter().find(|s| s.effect == effect && s.applies == applies).map(StatementTrace::label)
    };
    match scan.outcome() {
        LayerOutcome::ExplicitDeny => format!("denies: {}", pick(Effect::Deny, Tri::Yes).unwrap_or_default()),
        LayerOutcome::Allow => format!("allows: {}", pick(Effect::Allow, Tri::Yes).unwrap_or_default()),
        LayerOutcome::Unknown => {
            let which =
                pick(Effect::Deny, Tri::Unknown).or_else(|| pick(Effect::Allow, Tri::Unknown)).unwrap_or_default();
            format!("unknown: {which} depends on a value unknown offline")
        }
        LayerOutcome::NoAllow if empty && kind == Layer::Identity => {
            "no identity policy: nothing granted by the caller's identity".to_string()
        }
        LayerOutcome::NoAllow => format!("no statement allows `{}` on `{}`", request.action, request.resource),
        LayerOutcome::NotApplied => String::new(),
    }
}

pub const ROOT_ASSUMPTION: &str =
    "the account root user is allowed everything by its own account (it has no identity policies)";
pub const UNKNOWN_RESOURCE_ACCOUNT: &str =
    "the resource account is not given: the resource is taken to be in the caller's account";

/// The decision only (the hot path: no explanation is built).
pub fn decide(request: &Request, set: &PolicySet<'_>) -> Decision {
    run(request, set, &mut None).decision
}

/// The decision with its explanation.
pub fn explain(request: &Request, set: &PolicySet<'_>) -> Evaluation {
    let mut tracer = Some(Tracer { layers: Vec::new(), assumptions: Vec::new() });
    let mut evaluation = run(request, set, &mut tracer);
    if let Some(t) = tracer {
        evaluation.deciding_statement = deciding_statement(&evaluation, &t.layers);
        evaluation.layers = t.layers;
        evaluation.assumptions = t.assumptions;
    }
    evaluation
}

/// The decision and its deciding layer without the trace (no statement lists, no assumptions):
/// what the access map calls once per cell, where the trace would cost more than the decision.
pub fn evaluate(request: &Request, set: &PolicySet<'_>) -> Evaluation {
    run(request, set, &mut None)
}

/// The steps of one evaluation: scan the filters, scan the policies that can grant, combine
/// the denies, find the grant, then name the layer that decided.
fn run(request: &Request, set: &PolicySet<'_>, tracer: &mut Option<Tracer>) -> Evaluation {
    let mut scanned = Scanned::default();
    scan_filters(request, set, tracer, &mut scanned);
    let principal = scan_principal(request, set, tracer);
    principal.record_denies(&mut scanned);
    let deny = scanned.denies.iter().fold(Tri::No, |d, (_, t)| d.or(*t));
    let grant = grant(request, &principal, tracer);
    let gate = Tri::all(scanned.gates.iter().map(|(_, t)| *t));
    let decision = match (deny, gate.and(grant.allow)) {
        (Tri::Yes, _) => Decision::ExplicitDeny,
        (Tri::No, Tri::Yes) => Decision::Allow,
        (_, Tri::No) => Decision::ImplicitDeny,
        _ => Decision::Unknown,
    };
    let deciding_layer = deciding_layer(decision, &scanned, request, set, &grant);
    if decision == Decision::ImplicitDeny && deny == Tri::Unknown {
        note(
            tracer,
            "a Deny statement may also apply, depending on a value unknown offline; the request is denied either way",
        );
    }
    Evaluation {
        decision,
        deciding_layer,
        deciding_statement: None,
        resource_grants: grant.resource_any,
        identity_grants: grant.identity_allow,
        layers: Vec::new(),
        assumptions: Vec::new(),
    }
}

/// What the scans found, per layer in report order.
#[derive(Default)]
struct Scanned {
    /// Whether each filter (SCP level, RCP level, endpoint policy) allows: each must.
    gates: Vec<(Layer, Tri)>,
    /// Whether each scanned layer denies; the first that does decides an explicit deny.
    denies: Vec<(Layer, Tri)>,
}

/// SCPs (the caller's account, IAM principals only), RCPs (the resource's account) and the
/// endpoint policies: filters, each of which must allow and none of which grants.
fn scan_filters(request: &Request, set: &PolicySet<'_>, tracer: &mut Option<Tracer>, scanned: &mut Scanned) {
    let mut filter = |kind: Layer, level: usize, policies: &[NamedPolicy<'_>], tracer: &mut Option<Tracer>| {
        let s = layer(kind, Some(level), policies, request, set, tracer);
        scanned.denies.push((kind, s.deny));
        scanned.gates.push((kind, s.allow));
    };
    match &set.scp {
        Some(levels) if matches!(request.caller, Caller::Iam(_)) => {
            for (i, level) in levels.iter().enumerate() {
                filter(Layer::Scp, i, level, tracer);
            }
        }
        Some(_) => {
            not_applied(Layer::Scp, "SCPs apply only to principals of an AWS account, not to this caller", tracer)
        }
        None => {}
    }
    for (i, level) in set.rcp.iter().flatten().enumerate() {
        filter(Layer::Rcp, i, level, tracer);
    }
    for (i, policy) in set.vpce.iter().enumerate() {
        filter(Layer::Vpce, i, std::slice::from_ref(policy), tracer);
    }
}

/// The layers of the caller and the resource: boundary and session policy (IAM principals
/// only, and only when given), identity policies (IAM principals only) and the resource policy.
struct PrincipalScans {
    boundary: Option<Scan>,
    session: Option<Scan>,
    identity: Scan,
    resource: Scan,
}

impl PrincipalScans {
    fn record_denies(&self, scanned: &mut Scanned) {
        for (kind, s) in [(Layer::Boundary, self.boundary), (Layer::Session, self.session)] {
            if let Some(s) = s {
                scanned.denies.push((kind, s.deny));
            }
        }
        scanned.denies.push((Layer::Identity, self.identity.deny));
        scanned.denies.push((Layer::Resource, self.resource.deny));
    }
}

fn scan_principal(request: &Request, set: &PolicySet<'_>, tracer: &mut Option<Tracer>) -> PrincipalScans {
    // Boundaries, session and identity policies belong to IAM principals only.
    let iam = matches!(request.caller, Caller::Iam(_));
    let boundary = match &set.boundary {
        Some(b) if iam => Some(layer(Layer::Boundary, None, b, request, set, tracer)),
        Some(_) => {
            not_applied(Layer::Boundary, "a permissions boundary applies only to IAM users and roles", tracer);
            None
        }
        None => None,
    };
    let session = match &set.session {
        Some(p) if iam => Some(layer(Layer::Session, None, std::slice::from_ref(p), request, set, tracer)),
        Some(_) => {
            not_applied(Layer::Session, "a session policy applies only to IAM sessions", tracer);
            None
        }
        None => None,
    };
    let identity = if iam {
        layer(Layer::Identity, None, &set.identity, request, set, tracer)
    } else {
        not_applied(Layer::Identity, "this caller has no identity-based policies", tracer);
        Scan::EMPTY
    };
    let resource = match &set.resource {
        Some(p) => layer(Layer::Resource, None, std::slice::from_ref(p), request, set, tracer),
        None => {
            not_applied(Layer::Resource, "no resource policy", tracer);
            Scan::EMPTY
        }
    };
    PrincipalScans { boundary, session, identity, resource }
}

/// What the grant step found.
struct Grant {
    /// Whether the request is granted (before the filters).
    allow: Tri,
    /// Whether the identity side allows (the root user always does).
    identity_allow: Tri,
    /// Whether the resource policy allows, however it names the principal.
    resource_any: Tri,
    /// Whether the resource policy allows by naming the caller's role.
    by_role: Tri,
    boundary_ok: Tri,
}

/// The grant (module doc, step 3).
fn grant(request: &Request, p: &PrincipalScans, tracer: &mut Option<Tracer>) -> Grant {
    let boundary_ok = p.boundary.map_or(Tri::Yes, |s| s.allow);
    let session_ok = match (&p.session, &request.caller) {
        (Some(s), _) => s.allow,
        // A federated-user session without a session policy has no permissions of its own
        // (IAM: "Policy evaluation logic", session policies step).
        (None, Caller::Iam(c)) if matches!(c.kind, IamKind::FederatedUser { .. }) => Tri::No,
        (None, _) => Tri::Yes,
    };
    let identity_allow = match &request.caller {
        Caller::Iam(c) if c.kind == IamKind::Root => {
            note(tracer, ROOT_ASSUMPTION);
            Tri::Yes
        }
        Caller::Iam(_) => p.identity.allow,
        _ => Tri::No,
    };
    // An account grant only delegates to the account: the identity path must allow anyway.
    let [_by_account, by_role, by_caller] = p.resource.by_grantee;
    let resource_any = p.resource.allow;
    let identity_path = identity_allow.and(boundary_ok).and(session_ok);
    let allow = match &request.caller {
        Caller::Iam(_) if request.same_account() => {
            if request.resource_account.is_none() {
                note(tracer, UNKNOWN_RESOURCE_ACCOUNT);
            }
            by_caller.or(by_role.and(boundary_ok).and(session_ok)).or(identity_path)
        }
        Caller::Iam(_) => resource_any.and(identity_path),
        Caller::Anonymous | Caller::Service(_) => by_caller,
    };
    Grant { allow, identity_allow, resource_any, by_role, boundary_ok }
}

/// Records an assumption when tracing.
fn note(tracer: &mut Option<Tracer>, text: &str) {
    if let Some(t) = tracer {
        push_unique(&mut t.assumptions, text);
    }
}

/// The layer that decided: the first that denies, the first filter that does not allow (else
/// the layer lacking the grant), or the first unknown one.
fn deciding_layer(
    decision: Decision,
    scanned: &Scanned,
    request: &Request,
    set: &PolicySet<'_>,
    grant: &Grant,
) -> Option<Layer> {
    match decision {
        Decision::Allow => None,
        Decision::ExplicitDeny => scanned.denies.iter().find(|(_, t)| t.is_yes()).map(|(l, _)| *l),
        Decision::ImplicitDeny => scanned.gates.iter().find(|(_, t)| t.is_no()).map(|(l, _)| *l).or_else(|| {
            Some(missing_grant(
                request,
                set,
                grant.identity_allow,
                grant.resource_any,
                grant.by_role,
                grant.boundary_ok,
            ))
        }),
        Decision::Unknown => scanned
            .denies
            .iter()
            .find(|(_, t)| *t == Tri::Unknown)
            .or_else(|| scanned.gates.iter().find(|(_, t)| *t == Tri::Unknown))
            .map(|(l, _)| *l)
            .or(Some(if grant.resource_any == Tri::Unknown { Layer::Resource } else { Layer::Identity })),
    }
}

/// Which layer lacks the grant when every filter passed.
fn missing_grant(
    request: &Request,
    set: &PolicySet<'_>,
    identity: Tri,
    resource: Tri,
    by_role: Tri,
    boundary: Tri,
) -> Layer {
    match &request.caller {
        Caller::Iam(_) if request.same_account() => {
            if identity.or(by_role).is_no() {
                if resource.is_yes() || set.resource.is_none() { Layer::Identity } else { Layer::Resource }
            } else if boundary.is_no() {
                Layer::Boundary
            } else {
                Layer::Session
            }
        }
        Caller::Iam(_) => {
            if identity.is_no() {
                Layer::Identity
            } else if resource.is_no() {
                Layer::Resource
            } else if boundary.is_no() {
                Layer::Boundary
            } else {
                Layer::Session
            }
        }
        _ => Layer::Resource,
    }
}

fn deciding_statement(evaluation: &Evaluation, layers: &[LayerTrace]) -> Option<StatementRef> {
    let (layer, effect, applies) = match evaluation.decision {
        Decision::ExplicitDeny => (evaluation.deciding_layer?, Effect::Deny, Tri::Yes),
        // The resource policy's grant when it gave one (needed cross-account, and the more
        // specific reason), else the identity policy's.
        Decision::Allow => {
            let granting = if evaluation.resource_grants.is_yes()
                && layers.iter().any(|l| l.layer == Layer::Resource && l.outcome == LayerOutcome::Allow)
            {
                Layer::Resource
            } else {
                Layer::Identity
            };
            (granting, Effect::Allow, Tri::Yes)
        }
        Decision::Unknown => (evaluation.deciding_layer?, Effect::Deny, Tri::Unknown),
        Decision::ImplicitDeny => return None,
    };
    layers
        .iter()
        .filter(|l| l.layer == layer)
        .flat_map(|l| l.statements.iter())
        .find(|s| s.effect == effect && s.applies == applies)
        .map(|s| StatementRef { policy: s.policy.clone(), index: s.index, sid: s.sid.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::ContextValue;
    use crate::eval::request::Context;
    use crate::policy::{PolicyKind, parse_policy};

    const ROLE: &str = "arn:aws:iam::111122223333:role/app";
    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/s1";
    const OTHER_ACCOUNT: &str = "arn:aws:iam::444455556666:role/app";

    const ID_ALLOW: &str =
        r#"{"Statement":[{"Sid":"IdAllow","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    const ID_DENY: &str = r#"{"Statement":[{"Sid":"IdAllow","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"IdDeny","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#;
    const ID_DENY_MAYBE: &str = r#"{"Statement":[{"Sid":"IdAllow","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"IdDenyMaybe","Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;
    const ID_ONLY_DENY_MAYBE: &str = r#"{"Statement":[{"Sid":"IdDenyMaybe","Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;
    const ID_ALLOW_MAYBE: &str = r#"{"Statement":[{"Sid":"IdAllowMaybe","Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;
    const PUT_ONLY: &str =
        r#"{"Statement":[{"Sid":"PutOnly","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#;
    const ALLOW_ALL: &str = r#"{"Statement":[{"Sid":"AllowAll","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const SCP_DENY: &str = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"ScpDeny","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    const RES_CALLER: &str = r#"{"Statement":[{"Sid":"ResCaller","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"s3:GetObject","Resource":"*"}]}"#;
    const RES_ACCOUNT: &str = r#"{"Statement":[{"Sid":"ResAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"*"}]}"#;
    const RES_PUBLIC: &str = r#"{"Statement":[{"Sid":"ResPublic","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
    const RES_DENY: &str = r#"{"Statement":[{"Sid":"ResPublic","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"ResDeny","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
    const RES_MAYBE: &str = r#"{"Statement":[{"Sid":"ResMaybe","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;
    const PRINCIPAL_ALLOW_ALL: &str =
        r#"{"Statement":[{"Sid":"FilterAllows","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
    const PRINCIPAL_PUT_ONLY: &str = r#"{"Statement":[{"Sid":"FilterPutOnly","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}"#;
    const PRINCIPAL_DENY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"FilterDeny","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
    const PRINCIPAL_MAYBE: &str = r#"{"Statement":[{"Sid":"FilterMaybe","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;

    /// One request and its policies; `aws:SourceIp` is present with an unknown value.
    #[derive(Clone, Copy)]
    struct Spec {
        caller: &'static str,
        resource_account: Option<&'static str>,
        identity: Option<&'static str>,
        resource: Option<&'static str>,
        vpce: Option<&'static str>,
        boundary: Option<&'static str>,
        session: Option<&'static str>,
        scp: Option<&'static str>,
        rcp: Option<&'static str>,
    }

    const SPEC: Spec = Spec {
        caller: ROLE,
        resource_account: Some("111122223333"),
        identity: None,
        resource: None,
        vpce: None,
        boundary: None,
        session: None,
        scp: None,
        rcp: None,
    };

    fn parsed(text: Option<&str>, kind: PolicyKind) -> Option<Policy> {
        text.map(|t| parse_policy(t, kind).unwrap())
    }

    /// Runs `f` with the spec's request and policy set.
    fn with_set<R>(s: &Spec, f: impl FnOnce(&Request, &PolicySet<'_>) -> R) -> R {
        let policies = [
            ("identity", parsed(s.identity, PolicyKind::Identity)),
            ("resource", parsed(s.resource, PolicyKind::Resource)),
            ("vpce", parsed(s.vpce, PolicyKind::Vpce)),
            ("boundary", parsed(s.boundary, PolicyKind::Boundary)),
            ("session", parsed(s.session, PolicyKind::Session)),
            ("scp", parsed(s.scp, PolicyKind::Scp)),
            ("rcp", parsed(s.rcp, PolicyKind::Rcp)),
        ];
        let named = |i: usize| {
            let (name, p) = &policies[i];
            p.as_ref().map(|policy| NamedPolicy { name, policy })
        };
        let set = PolicySet {
            identity: named(0).into_iter().collect(),
            resource: named(1),
            vpce: named(2).into_iter().collect(),
            boundary: named(3).map(|p| vec![p]),
            session: named(4),
            scp: named(5).map(|p| vec![vec![p]]),
            rcp: named(6).map(|p| vec![vec![p]]),
        };
        let context = Context::new().with("aws:SourceIp", ContextValue::Unknown);
        let caller = Caller::parse(s.caller).unwrap();
        let request = Request::new(caller, "s3:GetObject", "arn:aws:s3:::bucket-1/key", s.resource_account, context);
        f(&request, &set)
    }

    /// A case: the spec, then the decision, its layer, the deciding statement's Sid and an
    /// assumption the explanation must state.
    type Case = (&'static str, Spec, Decision, Option<Layer>, Option<&'static str>, Option<&'static str>);

    /// Rows `name, spec => decision, layer, statement, assumption;`: a macro so that each case
    /// stays on one line (rustfmt leaves macro input alone).
    macro_rules! decision_cases {
        ($($name:literal, $spec:expr => $decision:expr, $layer:expr, $statement:expr, $assumption:expr;)*) => {
            [$(($name, $spec, $decision, $layer, $statement, $assumption)),*]
        };
    }

    #[test]
    fn decisions_and_what_decided_them() {
        use Decision::{Allow, ExplicitDeny as Deny, ImplicitDeny as NoGrant, Unknown};
        use Layer::*;
        let cases: &[Case] = &decision_cases![
            // The grant.
            "same account: identity allows", Spec { identity: Some(ID_ALLOW), ..SPEC } => Allow, None, Some("IdAllow"), None;
            "same account: a resource grant naming the caller needs no identity", Spec { resource: Some(RES_CALLER), ..SPEC } => Allow, None, Some("ResCaller"), None;
            "same account: a grant to the account delegates to IAM", Spec { resource: Some(RES_ACCOUNT), ..SPEC } => NoGrant, Some(Identity), None, None;
            "same account: nothing grants", SPEC => NoGrant, Some(Identity), None, None;
            "cross account: a resource grant without identity", Spec { caller: OTHER_ACCOUNT, resource: Some(RES_PUBLIC), ..SPEC } => NoGrant, Some(Identity), None, None;
            "cross account: identity without a resource grant", Spec { caller: OTHER_ACCOUNT, identity: Some(ID_ALLOW), ..SPEC } => NoGrant, Some(Resource), None, None;
            "cross account: both grant, the resource grant is named", Spec { caller: OTHER_ACCOUNT, identity: Some(ID_ALLOW), resource: Some(RES_PUBLIC), ..SPEC } => Allow, None, Some("ResPublic"), None;
            "the account's root needs no identity policy", Spec { caller: "arn:aws:iam::111122223333:root", ..SPEC } => Allow, None, None, Some(ROOT_ASSUMPTION);
            "anonymous: a public resource policy grants", Spec { caller: "anonymous", resource: Some(RES_PUBLIC), ..SPEC } => Allow, None, Some("ResPublic"), None;
            "anonymous: a grant to an account does not", Spec { caller: "anonymous", resource: Some(RES_ACCOUNT), ..SPEC } => NoGrant, Some(Resource), None, None;
            "an unknown resource account is the caller's", Spec { resource_account: None, identity: Some(ID_ALLOW), ..SPEC } => Allow, None, Some("IdAllow"), Some(UNKNOWN_RESOURCE_ACCOUNT);
            // An explicit deny beats any allow.
            "an identity deny beats a resource grant", Spec { identity: Some(ID_DENY), resource: Some(RES_CALLER), ..SPEC } => Deny, Some(Identity), Some("IdDeny"), None;
            "a resource deny beats an identity grant", Spec { identity: Some(ID_ALLOW), resource: Some(RES_DENY), ..SPEC } => Deny, Some(Resource), Some("ResDeny"), None;
            "an SCP deny beats everything", Spec { identity: Some(ID_ALLOW), scp: Some(SCP_DENY), ..SPEC } => Deny, Some(Scp), Some("ScpDeny"), None;
            "an RCP deny", Spec { identity: Some(ID_ALLOW), rcp: Some(PRINCIPAL_DENY), ..SPEC } => Deny, Some(Rcp), Some("FilterDeny"), None;
            "an endpoint policy deny", Spec { identity: Some(ID_ALLOW), vpce: Some(PRINCIPAL_DENY), ..SPEC } => Deny, Some(Vpce), Some("FilterDeny"), None;
            "a boundary deny", Spec { identity: Some(ID_ALLOW), boundary: Some(ID_DENY), ..SPEC } => Deny, Some(Boundary), Some("IdDeny"), None;
            "the first denying layer in order is named", Spec { identity: Some(ID_DENY), resource: Some(RES_DENY), scp: Some(SCP_DENY), ..SPEC } => Deny, Some(Scp), Some("ScpDeny"), None;
            // Filters must allow; none grants.
            "an SCP without an allow", Spec { identity: Some(ID_ALLOW), scp: Some(PUT_ONLY), ..SPEC } => NoGrant, Some(Scp), None, None;
            "an SCP that allows grants nothing", Spec { scp: Some(ALLOW_ALL), ..SPEC } => NoGrant, Some(Identity), None, None;
            "SCPs do not apply to a service", Spec { caller: "cloudtrail.amazonaws.com", resource: Some(RES_PUBLIC), scp: Some(SCP_DENY), ..SPEC } => Allow, None, Some("ResPublic"), None;
            "an RCP without an allow", Spec { identity: Some(ID_ALLOW), rcp: Some(PRINCIPAL_PUT_ONLY), ..SPEC } => NoGrant, Some(Rcp), None, None;
            "an endpoint policy without an allow", Spec { identity: Some(ID_ALLOW), vpce: Some(PRINCIPAL_PUT_ONLY), ..SPEC } => NoGrant, Some(Vpce), None, None;
            "an endpoint policy that allows", Spec { identity: Some(ID_ALLOW), vpce: Some(PRINCIPAL_ALLOW_ALL), ..SPEC } => Allow, None, Some("IdAllow"), None;
            "a boundary without an allow", Spec { identity: Some(ID_ALLOW), boundary: Some(PUT_ONLY), ..SPEC } => NoGrant, Some(Boundary), None, None;
            "a session policy without an allow", Spec { caller: SESSION, identity: Some(ID_ALLOW), session: Some(PUT_ONLY), ..SPEC } => NoGrant, Some(Session), None, None;
            "a federated user without a session policy", Spec { caller: "arn:aws:sts::111122223333:federated-user/bob", identity: Some(ID_ALLOW), ..SPEC } => NoGrant, Some(Session), None, None;
            "a grant naming the role is still bounded", Spec { caller: SESSION, resource: Some(RES_CALLER), boundary: Some(PUT_ONLY), ..SPEC } => NoGrant, Some(Boundary), None, None;
            // Unknown propagates; a known answer does not wait for it.
            "an unknown deny makes an allow unknown", Spec { identity: Some(ID_DENY_MAYBE), ..SPEC } => Unknown, Some(Identity), Some("IdDenyMaybe"), None;
            "an unknown deny does not matter without a grant", Spec { identity: Some(ID_ONLY_DENY_MAYBE), ..SPEC } => NoGrant, Some(Identity), None, Some("the request is denied either way");
            "an unknown identity grant", Spec { identity: Some(ID_ALLOW_MAYBE), ..SPEC } => Unknown, Some(Identity), None, None;
            "an unknown resource grant", Spec { resource: Some(RES_MAYBE), ..SPEC } => Unknown, Some(Resource), None, None;
            "an unknown filter", Spec { identity: Some(ID_ALLOW), vpce: Some(PRINCIPAL_MAYBE), ..SPEC } => Unknown, Some(Vpce), None, None;
            "a known deny beats an unknown filter", Spec { identity: Some(ID_DENY), vpce: Some(PRINCIPAL_MAYBE), ..SPEC } => Deny, Some(Identity), Some("IdDeny"), None;
            "a failing filter beats an unknown grant", Spec { identity: Some(ID_ALLOW_MAYBE), scp: Some(PUT_ONLY), ..SPEC } => NoGrant, Some(Scp), None, None;
        ];
        for (name, spec, decision, layer, statement, assumption) in cases {
            with_set(spec, |request, set| {
                let e = explain(request, set);
                assert_eq!(e.decision, *decision, "{name}: decision ({:?})", e.layers);
                assert_eq!(e.deciding_layer, *layer, "{name}: deciding layer");
                assert_eq!(
                    e.deciding_statement.as_ref().and_then(|s| s.sid.as_deref()),
                    *statement,
                    "{name}: statement"
                );
                if let Some(a) = assumption {
                    assert!(e.assumptions.iter().any(|x| x.contains(a)), "{name}: assumptions {:?}", e.assumptions);
                }
                // The untraced forms agree.
                assert_eq!(decide(request, set), e.decision, "{name}: decide");
                let u = evaluate(request, set);
                assert_eq!((u.decision, u.deciding_layer), (e.decision, e.deciding_layer), "{name}: evaluate");
                assert!(u.layers.is_empty() && u.assumptions.is_empty(), "{name}: no trace untraced");
            });
        }
    }

    #[test]
    fn layers_are_reported_in_order_with_what_was_not_applied() {
        use Layer::*;
        use LayerOutcome::{Allow, ExplicitDeny, NoAllow, NotApplied, Unknown};
        macro_rules! layer_cases {
            ($($name:literal, $spec:expr => $layers:expr;)*) => { [$(($name, $spec, &$layers[..])),*] };
        }
        type LayerCase = (&'static str, Spec, &'static [(Layer, LayerOutcome)]);
        let cases: &[LayerCase] = &layer_cases![
            "an IAM caller", Spec { identity: Some(ID_ALLOW), scp: Some(ALLOW_ALL), ..SPEC } => [(Scp, Allow), (Identity, Allow), (Resource, NotApplied)];
            "a service", Spec { caller: "cloudtrail.amazonaws.com", scp: Some(ALLOW_ALL), boundary: Some(ALLOW_ALL), session: Some(ALLOW_ALL), resource: Some(RES_PUBLIC), ..SPEC } => [(Scp, NotApplied), (Boundary, NotApplied), (Session, NotApplied), (Identity, NotApplied), (Resource, Allow)];
            "every filter", Spec { identity: Some(ID_DENY), vpce: Some(PRINCIPAL_PUT_ONLY), rcp: Some(PRINCIPAL_MAYBE), ..SPEC } => [(Rcp, Unknown), (Vpce, NoAllow), (Identity, ExplicitDeny), (Resource, NotApplied)];
        ];
        for (name, spec, expected) in cases {
            with_set(spec, |request, set| {
                let e = explain(request, set);
                let got: Vec<(Layer, LayerOutcome)> = e.layers.iter().map(|l| (l.layer, l.outcome)).collect();
                assert_eq!(got, *expected, "{name}");
            });
        }
    }
}
