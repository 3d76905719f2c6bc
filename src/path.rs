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

pub mod direct;

pub use direct::decide_direct;

use crate::eval::decision::StatementRef;
use crate::eval::{
    Caller, Context, ContextValue, Decision, Evaluation, Layer, LayerOutcome, NamedPolicy, PolicySet, Request, Tri,
    explain,
};
use crate::policy::public::{PolicyHolder, is_public};
use crate::snapshot::PublicAccessBlock;
use crate::util::push_unique;

/// The interface endpoint service that reaches Multi-Region Access Points.
pub const MRAP_ENDPOINT_SERVICE: &str = "com.amazonaws.s3-global.accesspoint";

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
    pub bpa: Known<PublicAccessBlock>,
    pub account_bpa: Known<PublicAccessBlock>,
    /// The Established (or, for a what-if, the Proposed) policy; `None` = no MRAP policy.
    pub policy: Known<Option<NamedPolicy<'a>>>,
}

#[derive(Debug, Clone)]
pub struct BucketFacts<'a> {
    pub name: &'a str,
    pub account: &'a str,
    pub policy: Known<Option<NamedPolicy<'a>>>,
    pub bpa: Known<PublicAccessBlock>,
    pub account_bpa: Known<PublicAccessBlock>,
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

fn allow_all_policy(kind: crate::policy::PolicyKind, principal: bool) -> crate::policy::Policy {
    let text = if principal {
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#
    } else {
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
    };
    crate::policy::parse_policy(text, kind).unwrap_or(crate::policy::Policy {
        kind,
        version: crate::policy::Version::V2012_10_17,
        id: None,
        statements: Vec::new(),
    })
}

thread_local! {
    static ASSUMED_IDENTITY: crate::policy::Policy = allow_all_policy(crate::policy::PolicyKind::Identity, false);
    static DEFAULT_VPCE: crate::policy::Policy = allow_all_policy(crate::policy::PolicyKind::Vpce, true);
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
    ASSUMED_IDENTITY.with(|identity| {
        DEFAULT_VPCE.with(|vpce| decide_with(req, network, mrap, bucket, caller, proposed, identity, vpce, true))
    })
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
    ASSUMED_IDENTITY.with(|identity| {
        DEFAULT_VPCE.with(|vpce| decide_with(req, network, mrap, bucket, caller, proposed, identity, vpce, false))
    })
}

/// Runs the evaluator with or without its trace.
fn evaluation(trace: bool, request: &Request, set: &PolicySet<'_>) -> Evaluation {
    if trace { explain(request, set) } else { crate::eval::evaluate(request, set) }
}

#[expect(clippy::too_many_arguments, reason = "the path's inputs, the two built-in policies and the trace switch")]
fn decide_with<'a>(
    req: &PathRequest<'_>,
    network: &Network<'_>,
    mrap: &MrapFacts<'a>,
    bucket: &BucketFacts<'_>,
    caller: &CallerPolicies<'_>,
    proposed: Option<&Known<Option<NamedPolicy<'a>>>>,
    assumed_identity: &crate::policy::Policy,
    default_vpce: &crate::policy::Policy,
    trace: bool,
) -> (PathDecision, Option<PathDecision>) {
    let mut assumptions = Vec::new();
    let structural = structural_checks(req, network, mrap);

    // The base context of a request on this network.
    let mut context = Context::new();
    context.insert("aws:SecureTransport", ContextValue::Single("true".into()));
    if let Some((now, epoch)) = req.time {
        context.insert("aws:CurrentTime", ContextValue::Single(now.to_string()));
        context.insert("aws:EpochTime", ContextValue::Single(epoch.to_string()));
    }
    // Inputs that could not be read: the layer they feed cannot allow with certainty.
    let mut vpce_unknown: Option<String> = None;
    let endpoint_policy: Option<NamedPolicy<'_>> = match network {
        Network::Internet => {
            context.insert("aws:SourceIp", ContextValue::Unknown);
            push_unique(&mut assumptions, INTERNET_SOURCE_IP);
            None
        }
        Network::Endpoint(Known::Unknown(why)) => {
            vpce_unknown = Some(why.clone());
            None
        }
        Network::Endpoint(Known::Value(e)) => {
            context.insert("aws:SourceVpce", ContextValue::Single(e.id.to_string()));
            // A request through an interface endpoint always carries its VPC: without the id,
            // the value is unknown, not absent (absent would satisfy a negated operator).
            if e.vpc_id.is_empty() {
                context.insert("aws:SourceVpc", ContextValue::Unknown);
            } else {
                context.insert("aws:SourceVpc", ContextValue::Single(e.vpc_id.to_string()));
            }
            context.insert("aws:VpcSourceIp", ContextValue::Unknown);
            push_unique(&mut assumptions, VPC_SOURCE_IP);
            match &e.policy {
                Known::Value(Some(p)) => Some(*p),
                Known::Value(None) => {
                    push_unique(&mut assumptions, DEFAULT_ENDPOINT_POLICY);
                    Some(NamedPolicy { name: "default endpoint policy (full access)", policy: default_vpce })
                }
                Known::Unknown(why) => {
                    vpce_unknown = Some(format!("the policy of endpoint {}: {why}", e.id));
                    None
                }
            }
        }
    };
    context.insert("s3:DataAccessPointArn", ContextValue::Single(mrap.arn.to_string()));
    context.insert("s3:DataAccessPointAccount", ContextValue::Single(mrap.account.to_string()));
    for (key, value) in req.context {
        context.insert(key, value.clone());
    }

    let identity = caller.identity.unwrap_or_else(|| {
        push_unique(&mut assumptions, IDENTITY_ASSUMED);
        NamedPolicy { name: "assumed identity policy (allows everything)", policy: assumed_identity }
    });
    let base = PolicySet {
        identity: vec![identity],
        resource: None,
        vpce: endpoint_policy.into_iter().collect(),
        boundary: caller.boundary.map(|b| vec![b]),
        session: caller.session,
        scp: (!caller.scp.is_empty()).then(|| caller.scp.clone()),
        rcp: (!caller.rcp.is_empty()).then(|| caller.rcp.clone()),
    };

    // The bucket request does not depend on the MRAP policy: evaluate it once.
    let bucket_arn = format!("arn:{}:s3:::{}", req.partition, bucket.name);
    let bucket_resource = if req.bucket_action { bucket_arn } else { format!("{bucket_arn}/{}", req.key) };
    let bucket_request =
        Request::new(req.caller.clone(), req.action, &bucket_resource, Some(bucket.account), context.clone());
    let (bucket_policy, bucket_unknown) = match &bucket.policy {
        Known::Value(p) => (*p, None),
        Known::Unknown(why) => (None, Some(format!("the bucket policy of {}: {why}", bucket.name))),
    };
    let bucket_eval = evaluation(trace, &bucket_request, &PolicySet { resource: bucket_policy, ..base.clone() });
    let bucket_outcome =
        request_outcome(&bucket_eval, PathLayer::Bucket, vpce_unknown.as_deref(), bucket_unknown.as_deref());

    let mrap_resource =
        if req.bucket_action { mrap.arn.to_string() } else { format!("{}/object/{}", mrap.arn, req.key) };
    let mrap_request = Request::new(req.caller.clone(), req.action, &mrap_resource, Some(mrap.account), context);
    // The MRAP request, and the combination, under one MRAP policy (Established or Proposed).
    let finish = |policy: &Known<Option<NamedPolicy<'a>>>| -> PathDecision {
        let (mrap_policy, mrap_unknown) = match policy {
            Known::Value(p) => (*p, None),
            Known::Unknown(why) => (None, Some(format!("the MRAP policy: {why}"))),
        };
        let mrap_eval = evaluation(trace, &mrap_request, &PolicySet { resource: mrap_policy, ..base.clone() });
        let mut assumptions = assumptions.clone();
        for a in mrap_eval.assumptions.iter().chain(&bucket_eval.assumptions) {
            push_unique(&mut assumptions, a);
        }
        let bpa = block_public_access(req, mrap, bucket, mrap_policy, bucket_policy);

        // Every layer's outcome at its position; the decision is the first failure in order.
        let check_outcome = |layer: PathLayer, c: &Check| {
            let decision = match c.result {
                Tri::No => Decision::ExplicitDeny,
                Tri::Unknown => Decision::Unknown,
                Tri::Yes => return None,
            };
            Some(Outcome { position: layer as u8, layer, decision, statement: None, reason: c.detail.clone() })
        };
        let mut outcomes: Vec<Outcome> = Vec::new();
        outcomes.extend(structural.iter().filter_map(|c| check_outcome(PathLayer::Structural, c)));
        outcomes.extend(request_outcome(&mrap_eval, PathLayer::Mrap, vpce_unknown.as_deref(), mrap_unknown.as_deref()));
        outcomes.extend(bucket_outcome.clone());
        outcomes.extend(bpa.iter().filter_map(|c| check_outcome(PathLayer::BlockPublicAccess, c)));
        outcomes.sort_by_key(|o| o.position);
        let pick = |d: Decision| outcomes.iter().find(|o| o.decision == d);
        let chosen =
            pick(Decision::ExplicitDeny).or_else(|| pick(Decision::ImplicitDeny)).or_else(|| pick(Decision::Unknown));
        let (decision, deciding_layer, statement, reason) = match chosen {
            Some(o) => (o.decision, Some(o.layer), o.statement.clone(), o.reason.clone()),
            None => {
                let s = bucket_eval.deciding_statement.clone().or_else(|| mrap_eval.deciding_statement.clone());
                let reason = match &s {
                    Some(s) => format!("allowed; the bucket grant is {}", statement_label(s)),
                    None => "allowed".to_string(),
                };
                (Decision::Allow, None, s, reason)
            }
        };
        PathDecision {
            decision,
            deciding_layer,
            statement,
            reason,
            structural: structural.clone(),
            mrap_resource: mrap_resource.clone(),
            bucket_resource: bucket_resource.clone(),
            mrap_request: mrap_eval,
            bucket_request: bucket_eval.clone(),
            block_public_access: bpa,
            assumptions,
        }
    };
    (finish(&mrap.policy), proposed.map(finish))
}

fn statement_label(s: &StatementRef) -> String {
    match &s.sid {
        Some(sid) => format!("statement {} (`{sid}`) of {}", s.index, s.policy),
        None => format!("statement {} of {}", s.index, s.policy),
    }
}

fn structural_checks(req: &PathRequest<'_>, network: &Network<'_>, mrap: &MrapFacts<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let signed = !req.caller.is_anonymous();
    checks.push(Check {
        check: "caller is signed".into(),
        result: Tri::from(signed),
        detail: if signed {
            "the caller signs its requests (SigV4A)".into()
        } else {
            "Multi-Region Access Points refuse anonymous requests: only SigV4A-signed requests are served (S3: Multi-Region Access Point restrictions)".into()
        },
    });
    checks.push(field_check(
        "MRAP is ready",
        mrap.status,
        "the listing gives no `Status` for the MRAP: whether it serves requests is unknown",
        |status| {
            let ready = status.eq_ignore_ascii_case("READY");
            let detail = format!(
                "the MRAP status is `{status}`{}",
                if ready { "" } else { ", not `READY`: it serves no requests" }
            );
            (ready, detail)
        },
    ));
    if let Network::Endpoint(endpoint) = network {
        match endpoint {
            Known::Unknown(why) => {
                checks.push(Check { check: "endpoint".into(), result: Tri::Unknown, detail: why.clone() })
            }
            Known::Value(e) => {
                let missing = |field: &str| format!("the description of {} gives no `{field}`: unknown", e.id);
                checks.push(field_check("endpoint service", e.service_name, &missing("ServiceName"), |service| {
                    let ok = service == MRAP_ENDPOINT_SERVICE;
                    let detail = if ok {
                        format!("{} is an endpoint of `{MRAP_ENDPOINT_SERVICE}`", e.id)
                    } else {
                        format!("{} is an endpoint of `{service}`, which cannot reach Multi-Region Access Points: only `{MRAP_ENDPOINT_SERVICE}` can", e.id)
                    };
                    (ok, detail)
                }));
                checks.push(field_check("endpoint type", e.endpoint_type, &missing("VpcEndpointType"), |kind| {
                    let interface = kind.eq_ignore_ascii_case("Interface");
                    let detail = format!(
                        "{} is of type `{kind}`{}",
                        e.id,
                        if interface { "" } else { "; only interface endpoints reach MRAPs" }
                    );
                    (interface, detail)
                }));
                checks.push(field_check("endpoint state", e.state, &missing("State"), |state| {
                    let available = state.eq_ignore_ascii_case("available");
                    let detail = format!(
                        "{} is `{state}`{}",
                        e.id,
                        if available { "" } else { ", not `available`: it carries no traffic" }
                    );
                    (available, detail)
                }));
                checks.push(private_dns_check(e, mrap));
            }
        }
    }
    checks
}

/// A check on one described field: unknown when the field is absent, else `judge`'s verdict.
fn field_check(name: &str, value: Option<&str>, missing: &str, judge: impl FnOnce(&str) -> (bool, String)) -> Check {
    match value {
        None => Check { check: name.into(), result: Tri::Unknown, detail: missing.to_string() },
        Some(v) => {
            let (ok, detail) = judge(v);
            Check { check: name.into(), result: Tri::from(ok), detail }
        }
    }
}

/// Private DNS decides *which* clients take this path, not whether the path allows: with it
/// off, requests to the MRAP's ordinary host name resolve its public addresses and leave the
/// VPC (the `mrap:internet` path, DESIGN §10), while a client that reaches the endpoint by its
/// own DNS names or a private hosted zone still goes through it. So the check never denies; it
/// says who the decision is about (seed: "all Multi-Region Access Point requests in the VPC
/// route through this endpoint if you have private DNS enabled for the endpoint").
fn private_dns_check(e: &EndpointFacts<'_>, mrap: &MrapFacts<'_>) -> Check {
    let alias = mrap.arn.rsplit('/').next().unwrap_or("ALIAS");
    let detail = match e.private_dns {
        Some(true) => {
            format!("private DNS is enabled on {}: the VPC's requests to the MRAP's host name go through it", e.id)
        }
        Some(false) => format!(
            "private DNS is disabled on {}: clients that use the MRAP's ordinary host name (`{alias}.accesspoint.s3-global.amazonaws.com`) resolve its public addresses and take the `mrap:internet` path, not this endpoint; this decision is about clients that address the endpoint itself (its endpoint-specific DNS names or a private hosted zone)",
            e.id
        ),
        None => format!(
            "the description of {} gives no `PrivateDnsEnabled`: which clients take this path is unknown; this decision is about requests that do go through the endpoint",
            e.id
        ),
    };
    Check { check: "endpoint private DNS".into(), result: Tri::Yes, detail }
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

fn block_public_access(
    req: &PathRequest<'_>,
    mrap: &MrapFacts<'_>,
    bucket: &BucketFacts<'_>,
    mrap_policy: Option<NamedPolicy<'_>>,
    bucket_policy: Option<NamedPolicy<'_>>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    // Each resource admits only its own owner's account: the MRAP its owner's, the bucket its
    // owner's ("restricts access to an access point or bucket with a public policy to ... the
    // bucket owner's account and access point owner's account"). The MRAP's and its account's
    // settings pass through to the bucket (an access point's setting acts "as though the
    // underlying bucket has this setting enabled").
    let mrap_levels = vec![mrap.bpa.clone(), mrap.account_bpa.clone()];
    let mut bucket_levels = mrap_levels.clone();
    bucket_levels.extend([bucket.bpa.clone(), bucket.account_bpa.clone()]);
    let caller_account = req.caller.account();
    let sides = [
        ("MRAP", mrap_policy, PolicyHolder::AccessPoint, mrap.account, mrap_levels),
        ("bucket", bucket_policy, PolicyHolder::Bucket, bucket.account, bucket_levels),
    ];
    for (what, policy, holder, owner, levels) in sides {
        let Some(p) = policy else { continue };
        if caller_account == Some(owner) || !is_public(p.policy, holder) {
            continue;
        }
        let restrict_known = levels.iter().any(|l| l.value().is_some_and(|b| b.restrict_public_buckets));
        let any_unknown = levels.iter().any(|l| l.value().is_none());
        let (result, detail) = if restrict_known {
            (
                Tri::No,
                format!(
                    "the {what} policy is public and RestrictPublicBuckets is on: only the owner account and AWS services get access through it; the caller is outside"
                ),
            )
        } else if any_unknown {
            (
                Tri::Unknown,
                format!(
                    "the {what} policy is public and a Block Public Access setting could not be read: RestrictPublicBuckets may block this caller"
                ),
            )
        } else {
            (Tri::Yes, format!("the {what} policy is public, and no level turns on RestrictPublicBuckets"))
        };
        checks.push(Check { check: format!("{what} public policy"), result, detail });
    }
    checks
}
