//! The access path of one request through a VPC endpoint and a Multi-Region Access Point to one
//! of its buckets (DESIGN §3, reference §7). Pure: everything it needs is in its arguments.
//!
//! The request succeeds only if every layer allows it:
//! 1. structural: the caller is signed (MRAPs refuse anonymous requests), the MRAP is `READY`,
//!    the endpoint is an `Interface` endpoint of `com.amazonaws.s3-global.accesspoint` in state
//!    `available`;
//! 2. the *MRAP request*: endpoint policy, SCP/RCP, identity and the MRAP policy, all on the MRAP
//!    object ARN `arn:aws:s3::O:accesspoint/ALIAS/object/KEY`, owner O;
//! 3. the *bucket request*: endpoint policy, SCP/RCP, identity and the bucket policy on
//!    `arn:aws:s3:::B/KEY`, owner Ob, with `s3:DataAccessPointArn`/`s3:DataAccessPointAccount`;
//! 4. Block Public Access: with `RestrictPublicBuckets` on at any level, a public MRAP or bucket
//!    policy admits only its owner accounts (and AWS services).
//!
//! The request context is the one a request through an interface endpoint really carries:
//! `aws:SourceVpce`, `aws:SourceVpc`, `aws:SecureTransport = true`, a private `aws:VpcSourceIp`
//! whose value is unknown, and **no** `aws:SourceIp` (IAM: "aws:SourceIp": "not present when
//! the requester uses a VPC endpoint").
//!
//! This file composes the layers into a decision; `checks` holds the structural and Block Public
//! Access checks, `direct` the path straight to a bucket, which shares the context and policy
//! steps below.

mod checks;
pub mod direct;
#[cfg(test)]
mod tests;

pub use direct::decide_direct;

use crate::eval::decision::StatementRef;
use crate::eval::{
    Caller, Context, ContextValue, Decision, Evaluation, Layer, LayerOutcome, NamedPolicy, PolicySet, Request, Tri,
    explain,
};
use crate::policy::{Policy, PolicyKind};
use crate::s3::BlockPublicAccess;
use crate::util::push_unique;
use checks::{block_public_access, structural_checks};

/// A value that may not be known, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Known<T> {
    Value(T),
    Unknown(String),
}

impl<T> Known<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Known::Value(v) => Some(v),
            Known::Unknown(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EndpointFacts<'a> {
    pub id: &'a str,
    /// Empty when the description gives no `VpcId`: `aws:SourceVpc` is then unknown.
    pub vpc_id: &'a str,
    /// `None` for a field the description lacks: the check on it is unknown, never failed.
    pub endpoint_type: Option<&'a str>,
    pub service_name: Option<&'a str>,
    pub state: Option<&'a str>,
    /// `PrivateDnsEnabled`; `None` when not described.
    pub private_dns: Option<bool>,
    /// `None`: no policy document, i.e. the default full-access policy.
    pub policy: Known<Option<NamedPolicy<'a>>>,
}

#[derive(Debug, Clone)]
pub enum Network<'a> {
    Endpoint(Known<EndpointFacts<'a>>),
    /// From the internet: `aws:SourceIp` present with an unknown value.
    Internet,
}

#[derive(Debug, Clone)]
pub struct MrapFacts<'a> {
    pub arn: &'a str,
    pub account: &'a str,
    /// `None` when the listing gives no `Status`: the readiness check is unknown.
    pub status: Option<&'a str>,
    /// The MRAP's own Block Public Access (fixed at creation); unknown if the listing had none
    /// (never read as "all off").
    pub bpa: Known<BlockPublicAccess>,
    pub account_bpa: Known<BlockPublicAccess>,
    /// The Established (or, for a what-if, the Proposed) policy; `None` = no MRAP policy.
    pub policy: Known<Option<NamedPolicy<'a>>>,
}

#[derive(Debug, Clone)]
pub struct BucketFacts<'a> {
    pub name: &'a str,
    pub account: &'a str,
    pub policy: Known<Option<NamedPolicy<'a>>>,
    pub bpa: Known<BlockPublicAccess>,
    pub account_bpa: Known<BlockPublicAccess>,
}

/// The caller's own policies and the organization's.
#[derive(Debug, Clone, Default)]
pub struct CallerPolicies<'a> {
    /// `None`: no identity policy configured, assumed to allow everything (stated).
    pub identity: Option<NamedPolicy<'a>>,
    pub boundary: Option<NamedPolicy<'a>>,
    pub session: Option<NamedPolicy<'a>>,
    pub scp: Vec<Vec<NamedPolicy<'a>>>,
    pub rcp: Vec<Vec<NamedPolicy<'a>>>,
}

#[derive(Debug, Clone)]
pub struct PathRequest<'a> {
    pub caller: &'a Caller,
    pub action: &'a str,
    /// Empty for bucket-level actions, which use the MRAP ARN and the bucket ARN themselves.
    pub key: &'a str,
    pub bucket_action: bool,
    /// The expectation's own context; it wins over what the path sets.
    pub context: &'a [(String, ContextValue)],
    /// `aws:CurrentTime` (RFC 3339) and `aws:EpochTime` of the audit cycle.
    pub time: Option<(&'a str, i64)>,
    pub partition: &'a str,
}

/// A layer of the access path, in the order decisions are attributed (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathLayer {
    Structural,
    Vpce,
    Scp,
    Rcp,
    Mrap,
    Bucket,
    Identity,
    BlockPublicAccess,
}

crate::util::wire_names!(PathLayer);

/// One check of the structural or Block Public Access layer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    pub check: String,
    pub result: Tri,
    pub detail: String,
}

/// The decision for one bucket, with everything that explains it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PathDecision {
    pub decision: Decision,
    pub deciding_layer: Option<PathLayer>,
    /// The statement that decided (for an implicit deny: the nearest miss, when there is one).
    pub statement: Option<StatementRef>,
    /// One line for on-call.
    pub reason: String,
    pub structural: Vec<Check>,
    /// The resource each of the two requests names.
    pub mrap_resource: String,
    pub bucket_resource: String,
    pub mrap_request: Evaluation,
    pub bucket_request: Evaluation,
    pub block_public_access: Vec<Check>,
    pub assumptions: Vec<String>,
}

const IDENTITY_ASSUMED: &str = "no identity policy is configured for this expectation: the caller's identity is assumed to allow every action on every resource (DESIGN §3)";
const DEFAULT_ENDPOINT_POLICY: &str = "the endpoint has no policy document: the default policy allows full access (VPC: \"Control access to services with VPC endpoints\")";
const VPC_SOURCE_IP: &str =
    "`aws:VpcSourceIp` is the caller's private address, unknown offline: conditions on it are unknown";
const INTERNET_SOURCE_IP: &str = "from the internet `aws:SourceIp` is the caller's public address, unknown offline: conditions on it are unknown unless the expectation's context gives it";

fn allow_all_policy(kind: PolicyKind, principal: bool) -> Policy {
    let text = if principal {
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#
    } else {
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
    };
    crate::policy::parse_policy(text, kind).unwrap_or(Policy {
        kind,
        version: crate::policy::Version::V2012_10_17,
        id: None,
        statements: Vec::new(),
    })
}

thread_local! {
    static ASSUMED_IDENTITY: Policy = allow_all_policy(PolicyKind::Identity, false);
    static DEFAULT_VPCE: Policy = allow_all_policy(PolicyKind::Vpce, true);
}

/// How a path is evaluated: the two built-in policies (parsed once per thread) and whether the
/// per-statement traces are kept.
#[derive(Clone, Copy)]
struct Evaluator<'p> {
    assumed_identity: &'p Policy,
    default_vpce: &'p Policy,
    trace: bool,
}

impl Evaluator<'_> {
    /// Runs `f` with the thread's built-in policies.
    fn with<R>(trace: bool, f: impl FnOnce(Evaluator<'_>) -> R) -> R {
        ASSUMED_IDENTITY.with(|assumed_identity| {
            DEFAULT_VPCE.with(|default_vpce| f(Evaluator { assumed_identity, default_vpce, trace }))
        })
    }

    /// Runs the evaluator with or without its trace.
    fn evaluate(&self, request: &Request, set: &PolicySet<'_>) -> Evaluation {
        if self.trace { explain(request, set) } else { crate::eval::evaluate(request, set) }
    }

    fn traced(self, trace: bool) -> Self {
        Evaluator { trace, ..self }
    }
}

/// Which decisions of an MRAP path keep their per-statement traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracing {
    /// Neither: the same decisions and deciding layers, with short reasons (the access map).
    None,
    /// The Established decision (and the bucket request both share); the Proposed one only as
    /// a decision (the report, which prints the Established reason alone).
    Established,
    /// Both (`explain`).
    All,
}

/// Decides one bucket under the MRAP's policy and, when given, under its Proposed policy (the
/// bucket request does not depend on the MRAP policy and is evaluated once).
pub fn decide<'a>(
    req: &PathRequest<'_>,
    network: &Network<'_>,
    mrap: &MrapFacts<'a>,
    bucket: &BucketFacts<'_>,
    caller: &CallerPolicies<'_>,
    proposed: Option<&Known<Option<NamedPolicy<'a>>>>,
) -> (PathDecision, Option<PathDecision>) {
    with_mrap_side(req, network, mrap, caller, proposed, Tracing::All, |side| side.decide(bucket))
}

/// [`decide`] without the per-statement traces: the same decisions and deciding layers, with
/// short reasons. The access map evaluates thousands of cells and needs only the answer.
pub fn decide_untraced<'a>(
    req: &PathRequest<'_>,
    network: &Network<'_>,
    mrap: &MrapFacts<'a>,
    bucket: &BucketFacts<'_>,
    caller: &CallerPolicies<'_>,
    proposed: Option<&Known<Option<NamedPolicy<'a>>>>,
) -> (PathDecision, Option<PathDecision>) {
    with_mrap_side(req, network, mrap, caller, proposed, Tracing::None, |side| side.decide(bucket))
}

/// Evaluates everything of an MRAP path that does not depend on the bucket (the network's
/// context, the structural checks, the MRAP request under each MRAP policy) once, and gives it
/// to `f`, which decides any number of the MRAP's buckets with [`MrapSide::decide`]: the MRAP
/// request is the same whichever bucket the MRAP routes to.
pub fn with_mrap_side<'a, R>(
    req: &PathRequest<'_>,
    network: &Network<'_>,
    mrap: &MrapFacts<'a>,
    caller: &CallerPolicies<'_>,
    proposed: Option<&Known<Option<NamedPolicy<'a>>>>,
    tracing: Tracing,
    f: impl FnOnce(&MrapSide<'_, '_>) -> R,
) -> R {
    Evaluator::with(tracing != Tracing::None, |ev| {
        f(&MrapSide::new(req, network, mrap, caller, proposed, ev, tracing == Tracing::All))
    })
}

/// What the network puts into a request: its context and the endpoint policy it passes.
struct NetworkContext<'p> {
    context: Context,
    endpoint_policy: Option<NamedPolicy<'p>>,
    /// The endpoint or its policy could not be read: the filter cannot allow with certainty.
    vpce_unknown: Option<String>,
}

/// The request context a request on `network` carries (module doc), then `path_keys` (what the
/// path itself sets), then the expectation's own context, which wins; and the endpoint policy
/// the request passes through (the default full-access one when the endpoint has none). Shared
/// by the MRAP path and the direct one ([`direct`]).
fn network_context<'p>(
    req: &PathRequest<'_>,
    network: &Network<'p>,
    path_keys: &[(&str, &str)],
    default_vpce: &'p Policy,
    assumptions: &mut Vec<String>,
) -> NetworkContext<'p> {
    let mut context = Context::new();
    context.insert("aws:SecureTransport", ContextValue::Single("true".into()));
    if let Some((now, epoch)) = req.time {
        context.insert("aws:CurrentTime", ContextValue::Single(now.to_string()));
        context.insert("aws:EpochTime", ContextValue::Single(epoch.to_string()));
    }
    let (endpoint_policy, vpce_unknown) = match network {
        Network::Internet => {
            context.insert("aws:SourceIp", ContextValue::Unknown);
            push_unique(assumptions, INTERNET_SOURCE_IP);
            (None, None)
        }
        Network::Endpoint(Known::Unknown(why)) => (None, Some(why.clone())),
        Network::Endpoint(Known::Value(e)) => {
            context.insert("aws:SourceVpce", ContextValue::Single(e.id.to_string()));
            // A request through an interface endpoint always carries its VPC: without the id,
            // the value is unknown, not absent (absent would satisfy a negated operator).
            let vpc = if e.vpc_id.is_empty() { ContextValue::Unknown } else { ContextValue::Single(e.vpc_id.into()) };
            context.insert("aws:SourceVpc", vpc);
            context.insert("aws:VpcSourceIp", ContextValue::Unknown);
            push_unique(assumptions, VPC_SOURCE_IP);
            endpoint_policy(e, default_vpce, assumptions)
        }
    };
    for (key, value) in path_keys {
        context.insert(key, ContextValue::Single((*value).to_string()));
    }
    for (key, value) in req.context {
        context.insert(key, value.clone());
    }
    NetworkContext { context, endpoint_policy, vpce_unknown }
}

/// The endpoint's policy, the default full-access one when it has none (stated), or why it is
/// unknown.
fn endpoint_policy<'p>(
    e: &EndpointFacts<'p>,
    default_vpce: &'p Policy,
    assumptions: &mut Vec<String>,
) -> (Option<NamedPolicy<'p>>, Option<String>) {
    match &e.policy {
        Known::Value(Some(p)) => (Some(*p), None),
        Known::Value(None) => {
            push_unique(assumptions, DEFAULT_ENDPOINT_POLICY);
            (Some(NamedPolicy { name: "default endpoint policy (full access)", policy: default_vpce }), None)
        }
        Known::Unknown(why) => (None, Some(format!("the policy of endpoint {}: {why}", e.id))),
    }
}

/// Every policy of a request but the resource policy: the caller's, the organization's and the
/// endpoint's. Without an identity policy, the assumed allow-all one (stated).
fn shared_policies<'p>(
    caller: &CallerPolicies<'p>,
    endpoint_policy: Option<NamedPolicy<'p>>,
    assumed_identity: &'p Policy,
    assumptions: &mut Vec<String>,
) -> PolicySet<'p> {
    let identity = caller.identity.unwrap_or_else(|| {
        push_unique(assumptions, IDENTITY_ASSUMED);
        NamedPolicy { name: "assumed identity policy (allows everything)", policy: assumed_identity }
    });
    PolicySet {
        identity: vec![identity],
        resource: None,
        vpce: endpoint_policy.into_iter().collect(),
        boundary: caller.boundary.map(|b| vec![b]),
        session: caller.session,
        scp: (!caller.scp.is_empty()).then(|| caller.scp.clone()),
        rcp: (!caller.rcp.is_empty()).then(|| caller.rcp.clone()),
    }
}

/// The resource a request to the bucket names: the bucket for bucket-level actions, else the
/// object.
fn bucket_resource(req: &PathRequest<'_>, bucket: &str) -> String {
    let bucket_arn = format!("arn:{}:s3:::{bucket}", req.partition);
    if req.bucket_action { bucket_arn } else { format!("{bucket_arn}/{}", req.key) }
}

/// A resource policy if it could be read, else why not (`what` names it).
fn resource_policy<'p>(
    policy: &Known<Option<NamedPolicy<'p>>>,
    what: impl FnOnce() -> String,
) -> (Option<NamedPolicy<'p>>, Option<String>) {
    match policy {
        Known::Value(p) => (*p, None),
        Known::Unknown(why) => (None, Some(format!("{}: {why}", what()))),
    }
}

/// The bucket request of an MRAP path, evaluated once: it does not depend on the MRAP policy.
struct BucketRequest<'p> {
    resource: String,
    policy: Option<NamedPolicy<'p>>,
    eval: Evaluation,
    outcome: Option<Outcome>,
}

impl<'p> BucketRequest<'p> {
    fn evaluate(
        req: &PathRequest<'_>,
        bucket: &BucketFacts<'p>,
        net: &NetworkContext<'_>,
        shared: &PolicySet<'_>,
        ev: Evaluator<'_>,
    ) -> BucketRequest<'p> {
        let resource = bucket_resource(req, bucket.name);
        let request =
            Request::new(req.caller.clone(), req.action, &resource, Some(bucket.account), net.context.clone());
        let (policy, unknown) = resource_policy(&bucket.policy, || format!("the bucket policy of {}", bucket.name));
        let eval = ev.evaluate(&request, &PolicySet { resource: policy, ..shared.clone() });
        let outcome = request_outcome(&eval, PathLayer::Bucket, net.vpce_unknown.as_deref(), unknown.as_deref());
        BucketRequest { resource, policy, eval, outcome }
    }
}

/// The MRAP request under one MRAP policy (Established or Proposed).
struct MrapRequestUnder<'p> {
    policy: Option<NamedPolicy<'p>>,
    /// Why the policy could not be read.
    unknown: Option<String>,
    eval: Evaluation,
}

/// Everything of an MRAP path that does not depend on the bucket: see [`with_mrap_side`].
pub struct MrapSide<'r, 'a> {
    req: &'r PathRequest<'r>,
    mrap: &'r MrapFacts<'a>,
    mrap_resource: String,
    net: NetworkContext<'r>,
    structural: Vec<Check>,
    shared: PolicySet<'r>,
    established: MrapRequestUnder<'r>,
    proposed: Option<MrapRequestUnder<'r>>,
    /// What the network and the caller's policies assumed.
    assumptions: Vec<String>,
    ev: Evaluator<'r>,
}

impl<'r, 'a: 'r> MrapSide<'r, 'a> {
    /// The steps that do not depend on the bucket: the context the network gives, the policies
    /// both requests share, and the MRAP request under each MRAP policy (the Proposed one traced
    /// only with `trace_proposed`).
    fn new(
        req: &'r PathRequest<'r>,
        network: &'r Network<'r>,
        mrap: &'r MrapFacts<'a>,
        caller: &'r CallerPolicies<'r>,
        proposed: Option<&'r Known<Option<NamedPolicy<'a>>>>,
        ev: Evaluator<'r>,
        trace_proposed: bool,
    ) -> Self {
        let mut assumptions = Vec::new();
        let structural = structural_checks(req, network, mrap);
        let path_keys = [("s3:DataAccessPointArn", mrap.arn), ("s3:DataAccessPointAccount", mrap.account)];
        let net = network_context(req, network, &path_keys, ev.default_vpce, &mut assumptions);
        let shared = shared_policies(caller, net.endpoint_policy, ev.assumed_identity, &mut assumptions);
        let mrap_resource =
            if req.bucket_action { mrap.arn.to_string() } else { format!("{}/object/{}", mrap.arn, req.key) };
        let request = Request::new(req.caller.clone(), req.action, &mrap_resource, Some(mrap.account), net.context);
        let under = |policy: &'r Known<Option<NamedPolicy<'a>>>, ev: Evaluator<'_>| {
            let (policy, unknown) = resource_policy(policy, || "the MRAP policy".to_string());
            let eval = ev.evaluate(&request, &PolicySet { resource: policy, ..shared.clone() });
            MrapRequestUnder { policy, unknown, eval }
        };
        let established = under(&mrap.policy, ev);
        let proposed = proposed.map(|p| under(p, ev.traced(ev.trace && trace_proposed)));
        let net = NetworkContext { context: request.context, ..net };
        MrapSide { req, mrap, mrap_resource, net, structural, shared, established, proposed, assumptions, ev }
    }

    /// Decides one bucket of the MRAP under the Established policy and, when the side has one,
    /// the Proposed policy: the bucket request once, then the combination under each.
    pub fn decide(&self, bucket: &BucketFacts<'_>) -> (PathDecision, Option<PathDecision>) {
        let bucket_request = BucketRequest::evaluate(self.req, bucket, &self.net, &self.shared, self.ev);
        let established = self.combine(&self.established, bucket, &bucket_request);
        (established, self.proposed.as_ref().map(|p| self.combine(p, bucket, &bucket_request)))
    }

    /// The combination of every layer under one MRAP policy.
    fn combine(
        &self,
        under: &MrapRequestUnder<'_>,
        bucket: &BucketFacts<'_>,
        bucket_request: &BucketRequest<'_>,
    ) -> PathDecision {
        let mrap_eval = &under.eval;
        let bucket_eval = &bucket_request.eval;
        let mut assumptions = self.assumptions.clone();
        for a in mrap_eval.assumptions.iter().chain(&bucket_eval.assumptions) {
            push_unique(&mut assumptions, a);
        }
        let bpa = block_public_access(self.req, self.mrap, bucket, under.policy, bucket_request.policy);

        let mut outcomes: Vec<Outcome> = Vec::new();
        outcomes.extend(self.structural.iter().filter_map(|c| check_outcome(PathLayer::Structural, c)));
        outcomes.extend(request_outcome(
            mrap_eval,
            PathLayer::Mrap,
            self.net.vpce_unknown.as_deref(),
            under.unknown.as_deref(),
        ));
        outcomes.extend(bucket_request.outcome.clone());
        outcomes.extend(bpa.iter().filter_map(|c| check_outcome(PathLayer::BlockPublicAccess, c)));
        let grant = bucket_eval.deciding_statement.clone().or_else(|| mrap_eval.deciding_statement.clone());
        let verdict = verdict(outcomes, grant, "allowed", "the bucket grant");
        PathDecision {
            decision: verdict.decision,
            deciding_layer: verdict.deciding_layer,
            statement: verdict.statement,
            reason: verdict.reason,
            structural: self.structural.clone(),
            mrap_resource: self.mrap_resource.clone(),
            bucket_resource: bucket_request.resource.clone(),
            mrap_request: mrap_eval.clone(),
            bucket_request: bucket_eval.clone(),
            block_public_access: bpa,
            assumptions,
        }
    }
}

/// The decision of a path, its deciding layer and statement, and the line for on-call.
struct Verdict {
    decision: Decision,
    deciding_layer: Option<PathLayer>,
    statement: Option<StatementRef>,
    reason: String,
}

/// Combines every layer's outcome: the first explicit deny in path order, else the first
/// implicit deny, else the first unknown; with none, an allow by `grant` (`allowed; GRANT is
/// STATEMENT`).
fn verdict(mut outcomes: Vec<Outcome>, grant: Option<StatementRef>, allowed: &str, granted_by: &str) -> Verdict {
    // A stable sort: outcomes at one position keep the order they were found in.
    outcomes.sort_by_key(|o| o.position);
    let first = |d: Decision| outcomes.iter().position(|o| o.decision == d);
    let chosen =
        first(Decision::ExplicitDeny).or_else(|| first(Decision::ImplicitDeny)).or_else(|| first(Decision::Unknown));
    match chosen.map(|i| outcomes.swap_remove(i)) {
        Some(o) => {
            Verdict { decision: o.decision, deciding_layer: Some(o.layer), statement: o.statement, reason: o.reason }
        }
        None => {
            let reason = match &grant {
                Some(s) => format!("{allowed}; {granted_by} is {}", statement_label(s)),
                None => allowed.to_string(),
            };
            Verdict { decision: Decision::Allow, deciding_layer: None, statement: grant, reason }
        }
    }
}

/// A structural or Block Public Access check as a layer outcome: a failed check denies, an
/// unknown one makes the decision unknown.
fn check_outcome(layer: PathLayer, c: &Check) -> Option<Outcome> {
    let decision = match c.result {
        Tri::No => Decision::ExplicitDeny,
        Tri::Unknown => Decision::Unknown,
        Tri::Yes => return None,
    };
    Some(Outcome { position: layer as u8, layer, decision, statement: None, reason: c.detail.clone() })
}

fn statement_label(s: &StatementRef) -> String {
    match &s.sid {
        Some(sid) => format!("statement {} (`{sid}`) of {}", s.index, s.policy),
        None => format!("statement {} of {}", s.index, s.policy),
    }
}

/// A layer's outcome, at the position in the path it is attributed to.
#[derive(Clone)]
struct Outcome {
    /// Order of attribution; an identity failure sits where its grant was missing.
    position: u8,
    layer: PathLayer,
    decision: Decision,
    statement: Option<StatementRef>,
    reason: String,
}

/// How one of the two requests came out, attributed to a path layer. `filter_unknown`: the
/// endpoint (a filter) could not be read, so an allow is not certain. `resource_unknown`: the
/// resource policy could not be read, so neither an allow nor a missing grant is certain.
fn request_outcome(
    eval: &Evaluation,
    side: PathLayer,
    filter_unknown: Option<&str>,
    resource_unknown: Option<&str>,
) -> Option<Outcome> {
    let unknown = |layer: PathLayer, why: &str| Outcome {
        position: layer as u8,
        layer,
        decision: Decision::Unknown,
        statement: None,
        reason: format!("cannot be evaluated: {why}"),
    };
    let grant_decided = matches!(eval.deciding_layer, Some(Layer::Resource | Layer::Identity) | None);
    match (eval.decision, resource_unknown, filter_unknown) {
        (Decision::Allow, Some(why), _) => return Some(unknown(side, why)),
        (Decision::Allow, None, Some(why)) => return Some(unknown(PathLayer::Vpce, why)),
        (Decision::Allow, None, None) => return None,
        (Decision::ImplicitDeny | Decision::Unknown, Some(why), _) if grant_decided => return Some(unknown(side, why)),
        _ => {}
    }
    let layer = match eval.deciding_layer {
        Some(Layer::Vpce) => PathLayer::Vpce,
        Some(Layer::Scp) => PathLayer::Scp,
        Some(Layer::Rcp) => PathLayer::Rcp,
        Some(Layer::Resource) | None => side,
        Some(Layer::Boundary | Layer::Session) => PathLayer::Identity,
        // An identity Deny, or a grant the resource policy gave that still needs the identity's.
        Some(Layer::Identity) if eval.decision == Decision::ExplicitDeny || eval.resource_grants.is_yes() => {
            PathLayer::Identity
        }
        Some(Layer::Identity) => side,
    };
    let position = if layer == PathLayer::Identity { side as u8 } else { layer as u8 };
    let which = if side == PathLayer::Mrap { "MRAP request" } else { "bucket request" };
    let (statement, reason) = match &eval.deciding_statement {
        Some(s) if eval.decision == Decision::ExplicitDeny => {
            (Some(s.clone()), format!("{which} denied by {}", statement_label(s)))
        }
        _ => near_miss(eval, which),
    };
    Some(Outcome { position, layer, decision: eval.decision, statement, reason })
}

/// For an implicit deny: the `Allow` that came closest, or the failing layer's summary.
fn near_miss(eval: &Evaluation, which: &str) -> (Option<StatementRef>, String) {
    let failing = eval.deciding_layer;
    let layers = eval.layers.iter().filter(|l| Some(l.layer) == failing || failing.is_none());
    for l in layers {
        if let Some(s) = l.statements.iter().find(|s| s.effect == crate::policy::Effect::Allow && s.applies != Tri::Yes)
        {
            let r = StatementRef { policy: s.policy.clone(), index: s.index, sid: s.sid.clone() };
            return (Some(r), format!("{which}: {}: {}", s.label(), s.reason));
        }
        if l.outcome != LayerOutcome::Allow {
            return (None, format!("{which}: {} {}", l.layer.name(), l.summary));
        }
    }
    (None, format!("{which}: {:?}", eval.decision))
}
