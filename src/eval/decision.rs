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

fn run(request: &Request, set: &PolicySet<'_>, tracer: &mut Option<Tracer>) -> Evaluation {
    // SCPs, boundaries, session and identity policies belong to IAM principals only.
    let caller_account_policies = matches!(request.caller, Caller::Iam(_));
    let mut deny = Tri::No;
    // Failing filters in report order, with the first unknown one.
    let mut gates: Vec<(Layer, Tri)> = Vec::new();
    let mut deny_layers: Vec<(Layer, Tri)> = Vec::new();

    match &set.scp {
        Some(levels) if caller_account_policies => {
            for (i, level) in levels.iter().enumerate() {
                let s = layer(Layer::Scp, Some(i), level, request, set, tracer);
                deny = deny.or(s.deny);
                deny_layers.push((Layer::Scp, s.deny));
                gates.push((Layer::Scp, s.allow));
            }
        }
        Some(_) => {
            not_applied(Layer::Scp, "SCPs apply only to principals of an AWS account, not to this caller", tracer)
        }
        None => {}
    }
    if let Some(levels) = &set.rcp {
        for (i, level) in levels.iter().enumerate() {
            let s = layer(Layer::Rcp, Some(i), level, request, set, tracer);
            deny = deny.or(s.deny);
            deny_layers.push((Layer::Rcp, s.deny));
            gates.push((Layer::Rcp, s.allow));
        }
    }
    for (i, policy) in set.vpce.iter().enumerate() {
        let s = layer(Layer::Vpce, Some(i), std::slice::from_ref(policy), request, set, tracer);
        deny = deny.or(s.deny);
        deny_layers.push((Layer::Vpce, s.deny));
        gates.push((Layer::Vpce, s.allow));
    }
    let iam = caller_account_policies;
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
    for (kind, s) in [(Layer::Boundary, boundary), (Layer::Session, session)] {
        if let Some(s) = s {
            deny = deny.or(s.deny);
            deny_layers.push((kind, s.deny));
        }
    }
    deny = deny.or(identity.deny).or(resource.deny);
    deny_layers.push((Layer::Identity, identity.deny));
    deny_layers.push((Layer::Resource, resource.deny));

    // The grant.
    let note = |tracer: &mut Option<Tracer>, text: &str| {
        if let Some(t) = tracer {
            push_unique(&mut t.assumptions, text);
        }
    };
    let boundary_ok = boundary.map_or(Tri::Yes, |s| s.allow);
    let session_ok = match (&session, &request.caller) {
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
        Caller::Iam(_) => identity.allow,
        _ => Tri::No,
    };
    // An account grant only delegates to the account: the identity path must allow anyway.
    let [_by_account, by_role, by_caller] = resource.by_grantee;
    let resource_any = resource.allow;
    let identity_path = identity_allow.and(boundary_ok).and(session_ok);
    let grant = match &request.caller {
        Caller::Iam(_) if request.same_account() => {
            if request.resource_account.is_none() {
                note(tracer, UNKNOWN_RESOURCE_ACCOUNT);
            }
            by_caller.or(by_role.and(boundary_ok).and(session_ok)).or(identity_path)
        }
        Caller::Iam(_) => resource_any.and(identity_path),
        Caller::Anonymous | Caller::Service(_) => by_caller,
    };

    let gate = Tri::all(gates.iter().map(|(_, t)| *t));
    let allow = gate.and(grant);
    let decision = match (deny, allow) {
        (Tri::Yes, _) => Decision::ExplicitDeny,
        (Tri::No, Tri::Yes) => Decision::Allow,
        (_, Tri::No) => Decision::ImplicitDeny,
        _ => Decision::Unknown,
    };

    let deciding_layer = match decision {
        Decision::Allow => None,
        Decision::ExplicitDeny => deny_layers.iter().find(|(_, t)| t.is_yes()).map(|(l, _)| *l),
        Decision::ImplicitDeny => gates
            .iter()
            .find(|(_, t)| t.is_no())
            .map(|(l, _)| *l)
            .or_else(|| Some(missing_grant(request, set, identity_allow, resource_any, by_role, boundary_ok))),
        Decision::Unknown => deny_layers
            .iter()
            .find(|(_, t)| *t == Tri::Unknown)
            .or_else(|| gates.iter().find(|(_, t)| *t == Tri::Unknown))
            .map(|(l, _)| *l)
            .or(Some(if resource_any == Tri::Unknown { Layer::Resource } else { Layer::Identity })),
    };
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
        resource_grants: resource_any,
        identity_grants: identity_allow,
        layers: Vec::new(),
        assumptions: Vec::new(),
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
