//! The other doors: a request straight to a bucket, not through the Multi-Region Access Point
//! (DESIGN §10 paths `bucket:internet` and `bucket:ENDPOINT`). Pure, like the MRAP path.
//!
//! AWS keeps serving these requests whatever the MRAP policy says (S3: "Configuring a
//! Multi-Region Access Point for use with AWS PrivateLink", "Removing access": the bucket
//! policies keep allowing requests that do not go through the MRAP). The layers are the bucket
//! half of the MRAP path:
//! 1. structural: through an endpoint, it must be a regional S3 endpoint
//!    (`com.amazonaws.REGION.s3`, gateway or interface) of the bucket's region, `available`
//!    (gateway endpoints reach buckets of their own region only: VPC "Gateway endpoints for
//!    Amazon S3"). Anonymous callers are served (only MRAPs require signed requests);
//! 2. the endpoint policy, SCP/RCP, identity and the bucket policy on `arn:aws:s3:::B/KEY`,
//!    owner Ob, **without** `s3:DataAccessPointArn`/`s3:DataAccessPointAccount`;
//! 3. Block Public Access of the bucket and of its owner's account only (the MRAP's settings
//!    apply to requests through the MRAP).
//!
//! Left out: ordinary (single-Region) access points, ACLs and Object Ownership (stated as
//! assumptions by the evaluator).

use super::{
    ASSUMED_IDENTITY, BucketFacts, CallerPolicies, Check, DEFAULT_ENDPOINT_POLICY, DEFAULT_VPCE, IDENTITY_ASSUMED,
    INTERNET_SOURCE_IP, Known, Network, Outcome, PathDecision, PathLayer, PathRequest, VPC_SOURCE_IP, evaluation,
    request_outcome, statement_label,
};
use crate::eval::{Context, ContextValue, Decision, Evaluation, NamedPolicy, PolicySet, Request, Tri};
use crate::policy::public::{PolicyHolder, is_public};
use crate::util::push_unique;

/// The service name of a regional S3 endpoint (`com.amazonaws.us-east-1.s3`).
pub fn regional_service(region: &str) -> String {
    format!("com.amazonaws.{region}.s3")
}

/// Whether an endpoint service is a regional S3 service (any region).
pub fn is_regional_s3_service(service: &str) -> bool {
    service.strip_prefix("com.amazonaws.").and_then(|r| r.strip_suffix(".s3")).is_some_and(|r| !r.contains('.'))
}

/// Decides one request straight to `bucket` (in `region`) over `network`; `trace` keeps the
/// per-statement explanation.
pub fn decide_direct(
    req: &PathRequest<'_>,
    network: &Network<'_>,
    bucket: &BucketFacts<'_>,
    region: &str,
    caller: &CallerPolicies<'_>,
    trace: bool,
) -> PathDecision {
    ASSUMED_IDENTITY.with(|assumed| {
        DEFAULT_VPCE
            .with(|default_vpce| decide_with(req, network, bucket, region, caller, trace, assumed, default_vpce))
    })
}

#[expect(clippy::too_many_arguments, reason = "the path's inputs, the trace switch and the two built-in policies")]
fn decide_with(
    req: &PathRequest<'_>,
    network: &Network<'_>,
    bucket: &BucketFacts<'_>,
    region: &str,
    caller: &CallerPolicies<'_>,
    trace: bool,
    assumed_identity: &crate::policy::Policy,
    default_vpce: &crate::policy::Policy,
) -> PathDecision {
    let mut assumptions = Vec::new();
    let mut structural = Vec::new();
    let mut context = Context::new();
    context.insert("aws:SecureTransport", ContextValue::Single("true".into()));
    if let Some((now, epoch)) = req.time {
        context.insert("aws:CurrentTime", ContextValue::Single(now.to_string()));
        context.insert("aws:EpochTime", ContextValue::Single(epoch.to_string()));
    }
    let mut vpce_unknown: Option<String> = None;
    let endpoint_policy: Option<NamedPolicy<'_>> = match network {
        Network::Internet => {
            context.insert("aws:SourceIp", ContextValue::Unknown);
            push_unique(&mut assumptions, INTERNET_SOURCE_IP);
            None
        }
        Network::Endpoint(Known::Unknown(why)) => {
            structural.push(Check { check: "endpoint".into(), result: Tri::Unknown, detail: why.clone() });
            vpce_unknown = Some(why.clone());
            None
        }
        Network::Endpoint(Known::Value(e)) => {
            let wanted = regional_service(region);
            // A field the description lacks makes its check unknown, never failed.
            structural.push(match e.service_name {
                None => Check {
                    check: "endpoint service".into(),
                    result: Tri::Unknown,
                    detail: format!("the description of {} gives no `ServiceName`", e.id),
                },
                Some(service) if service == wanted => Check {
                    check: "endpoint service".into(),
                    result: Tri::Yes,
                    detail: format!("{} is an endpoint of `{wanted}`", e.id),
                },
                Some(service) => Check {
                    check: "endpoint service".into(),
                    result: Tri::No,
                    detail: format!(
                        "{} is an endpoint of `{service}`, which does not reach a bucket of {region} directly: only `{wanted}` does",
                        e.id
                    ),
                },
            });
            structural.push(match e.state {
                None => Check {
                    check: "endpoint state".into(),
                    result: Tri::Unknown,
                    detail: format!("the description of {} gives no `State`", e.id),
                },
                Some(state) => {
                    let available = state.eq_ignore_ascii_case("available");
                    Check {
                        check: "endpoint state".into(),
                        result: Tri::from(available),
                        detail: format!(
                            "{} is `{state}`{}",
                            e.id,
                            if available { "" } else { ", not `available`: it carries no traffic" }
                        ),
                    }
                }
            });
            context.insert("aws:SourceVpce", ContextValue::Single(e.id.to_string()));
            if !e.vpc_id.is_empty() {
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
    for (key, value) in req.context {
        context.insert(key, value.clone());
    }
    let identity = caller.identity.unwrap_or_else(|| {
        push_unique(&mut assumptions, IDENTITY_ASSUMED);
        NamedPolicy { name: "assumed identity policy (allows everything)", policy: assumed_identity }
    });
    let bucket_arn = format!("arn:{}:s3:::{}", req.partition, bucket.name);
    let bucket_resource = if req.bucket_action { bucket_arn } else { format!("{bucket_arn}/{}", req.key) };
    let request = Request::new(req.caller.clone(), req.action, &bucket_resource, Some(bucket.account), context);
    let (bucket_policy, bucket_unknown) = match &bucket.policy {
        Known::Value(p) => (*p, None),
        Known::Unknown(why) => (None, Some(format!("the bucket policy of {}: {why}", bucket.name))),
    };
    let set = PolicySet {
        identity: vec![identity],
        resource: bucket_policy,
        vpce: endpoint_policy.into_iter().collect(),
        boundary: caller.boundary.map(|b| vec![b]),
        session: caller.session,
        scp: (!caller.scp.is_empty()).then(|| caller.scp.clone()),
        rcp: (!caller.rcp.is_empty()).then(|| caller.rcp.clone()),
    };
    let bucket_eval = evaluation(trace, &request, &set);
    for a in &bucket_eval.assumptions {
        push_unique(&mut assumptions, a);
    }
    let bpa = block_public_access(req, bucket, bucket_policy);

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
    outcomes.extend(request_outcome(
        &bucket_eval,
        PathLayer::Bucket,
        vpce_unknown.as_deref(),
        bucket_unknown.as_deref(),
    ));
    outcomes.extend(bpa.iter().filter_map(|c| check_outcome(PathLayer::BlockPublicAccess, c)));
    outcomes.sort_by_key(|o| o.position);
    let pick = |d: Decision| outcomes.iter().find(|o| o.decision == d);
    let chosen =
        pick(Decision::ExplicitDeny).or_else(|| pick(Decision::ImplicitDeny)).or_else(|| pick(Decision::Unknown));
    let (decision, deciding_layer, statement, reason) = match chosen {
        Some(o) => (o.decision, Some(o.layer), o.statement.clone(), o.reason.clone()),
        None => {
            let s = bucket_eval.deciding_statement.clone();
            let reason = match &s {
                Some(s) => format!("allowed straight to the bucket; the grant is {}", statement_label(s)),
                None => "allowed straight to the bucket".to_string(),
            };
            (Decision::Allow, None, s, reason)
        }
    };
    PathDecision {
        decision,
        deciding_layer,
        statement,
        reason,
        structural,
        mrap_resource: String::new(),
        bucket_resource,
        mrap_request: not_through_mrap(),
        bucket_request: bucket_eval,
        block_public_access: bpa,
        assumptions,
    }
}

/// The MRAP half of a direct request: not made. It allows so that it never decides.
fn not_through_mrap() -> Evaluation {
    Evaluation {
        decision: Decision::Allow,
        deciding_layer: None,
        deciding_statement: None,
        resource_grants: Tri::No,
        identity_grants: Tri::No,
        layers: Vec::new(),
        assumptions: vec!["the request goes straight to the bucket, not through the MRAP".to_string()],
    }
}

/// RestrictPublicBuckets of the bucket or its owner's account stops the grants of a public
/// bucket policy to callers outside the owner's account (S3: "The meaning of public").
fn block_public_access(
    req: &PathRequest<'_>,
    bucket: &BucketFacts<'_>,
    bucket_policy: Option<NamedPolicy<'_>>,
) -> Vec<Check> {
    let Some(p) = bucket_policy else { return Vec::new() };
    if req.caller.account() == Some(bucket.account) || !is_public(p.policy, PolicyHolder::Bucket) {
        return Vec::new();
    }
    let levels = [&bucket.bpa, &bucket.account_bpa];
    let restrict = levels.iter().any(|l| l.value().is_some_and(|b| b.restrict_public_buckets));
    let unknown = levels.iter().any(|l| l.value().is_none());
    let (result, detail) = if restrict {
        (Tri::No, "the bucket policy is public and RestrictPublicBuckets is on: only the owner account and AWS services get access through it; the caller is outside".to_string())
    } else if unknown {
        (Tri::Unknown, "the bucket policy is public and a Block Public Access setting could not be read: RestrictPublicBuckets may block this caller".to_string())
    } else {
        (
            Tri::Yes,
            "the bucket policy is public, and neither the bucket nor its account turns on RestrictPublicBuckets"
                .to_string(),
        )
    };
    vec![Check { check: "bucket public policy".into(), result, detail }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_services() {
        assert!(is_regional_s3_service("com.amazonaws.us-east-1.s3"));
        assert!(!is_regional_s3_service("com.amazonaws.s3-global.accesspoint"));
        assert!(!is_regional_s3_service("com.amazonaws.us-east-1.s3express"));
        assert_eq!(regional_service("eu-west-1"), "com.amazonaws.eu-west-1.s3");
    }
}
