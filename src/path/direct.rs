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

use super::checks::{PublicPolicy, field_check, state_check};
use super::{
    BucketFacts, CallerPolicies, Check, Evaluator, Known, Network, PathDecision, PathLayer, PathRequest,
    bucket_resource, check_outcome, network_context, request_outcome, resource_policy, shared_policies, verdict,
};
use crate::eval::{Decision, Evaluation, NamedPolicy, PolicySet, Request, Tri};
use crate::policy::public::PolicyHolder;
use crate::s3::regional_service;
use crate::util::push_unique;

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
    Evaluator::with(trace, |ev| decide_with(req, network, bucket, region, caller, ev))
}

/// The steps of the direct path: the structural checks, the one request to the bucket (the
/// context and shared policies as on the MRAP path, without the access point's keys), Block
/// Public Access, and their combination.
fn decide_with(
    req: &PathRequest<'_>,
    network: &Network<'_>,
    bucket: &BucketFacts<'_>,
    region: &str,
    caller: &CallerPolicies<'_>,
    ev: Evaluator<'_>,
) -> PathDecision {
    let mut assumptions = Vec::new();
    let structural = structural_checks(network, region);
    let net = network_context(req, network, &[], ev.default_vpce, &mut assumptions);
    let shared = shared_policies(caller, net.endpoint_policy, ev.assumed_identity, &mut assumptions);
    let bucket_resource = bucket_resource(req, bucket.name);
    let (bucket_policy, bucket_unknown) =
        resource_policy(&bucket.policy, || format!("the bucket policy of {}", bucket.name));
    let request = Request::new(req.caller.clone(), req.action, &bucket_resource, Some(bucket.account), net.context);
    let bucket_eval = ev.evaluate(&request, &PolicySet { resource: bucket_policy, ..shared });
    for a in &bucket_eval.assumptions {
        push_unique(&mut assumptions, a);
    }
    let bpa = block_public_access(req, bucket, bucket_policy);

    let mut outcomes = Vec::new();
    outcomes.extend(structural.iter().filter_map(|c| check_outcome(PathLayer::Structural, c)));
    let vpce_unknown = net.vpce_unknown.as_deref();
    outcomes.extend(request_outcome(&bucket_eval, PathLayer::Bucket, vpce_unknown, bucket_unknown.as_deref()));
    outcomes.extend(bpa.iter().filter_map(|c| check_outcome(PathLayer::BlockPublicAccess, c)));
    let verdict =
        verdict(outcomes, bucket_eval.deciding_statement.clone(), "allowed straight to the bucket", "the grant");
    PathDecision {
        decision: verdict.decision,
        deciding_layer: verdict.deciding_layer,
        statement: verdict.statement,
        reason: verdict.reason,
        structural,
        mrap_resource: String::new(),
        bucket_resource,
        mrap_request: not_through_mrap(),
        bucket_request: bucket_eval,
        block_public_access: bpa,
        assumptions,
    }
}

/// Through an endpoint, it must be an `available` regional S3 endpoint of the bucket's region
/// (gateway or interface: both reach the bucket). A field the description lacks makes its
/// check unknown, never failed.
fn structural_checks(network: &Network<'_>, region: &str) -> Vec<Check> {
    let e = match network {
        Network::Internet => return Vec::new(),
        Network::Endpoint(Known::Unknown(why)) => {
            return vec![Check { check: "endpoint".into(), result: Tri::Unknown, detail: why.clone() }];
        }
        Network::Endpoint(Known::Value(e)) => e,
    };
    let wanted = regional_service(region);
    let missing = |field: &str| format!("the description of {} gives no `{field}`", e.id);
    let service = field_check("endpoint service", e.service_name, &missing("ServiceName"), |service| {
        if service == wanted {
            (true, format!("{} is an endpoint of `{wanted}`", e.id))
        } else {
            (
                false,
                format!(
                    "{} is an endpoint of `{service}`, which does not reach a bucket of {region} directly: only `{wanted}` does",
                    e.id
                ),
            )
        }
    });
    vec![service, state_check(e, &missing("State"))]
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
/// bucket policy to callers outside the owner's account (S3: "The meaning of public"); the MRAP's
/// settings apply only to requests through it.
fn block_public_access(
    req: &PathRequest<'_>,
    bucket: &BucketFacts<'_>,
    bucket_policy: Option<NamedPolicy<'_>>,
) -> Vec<Check> {
    let none_on =
        || "the bucket policy is public, and neither the bucket nor its account turns on RestrictPublicBuckets".into();
    PublicPolicy { what: "bucket", holder: PolicyHolder::Bucket, owner: bucket.account }
        .check(req, bucket_policy, &[&bucket.bpa, &bucket.account_bpa], none_on)
        .into_iter()
        .collect()
}
