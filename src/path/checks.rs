//! The checks of the access path that are not policy evaluations: the structural ones (a signed
//! caller, a ready MRAP, an endpoint that reaches it) and Block Public Access on public policies
//! (S3: "The meaning of public"). Each is a [`Check`] with its detail; `path` turns a failed or
//! unknown one into the layer's outcome. The direct path ([`super::direct`]) reuses the field,
//! state and public-policy checks.

use super::{BucketFacts, Check, EndpointFacts, Known, MrapFacts, Network, PathRequest};
use crate::eval::{NamedPolicy, Tri};
use crate::policy::public::{PolicyHolder, is_public};
use crate::s3::{BlockPublicAccess, MRAP_ENDPOINT_SERVICE};

/// The checks that do not depend on any policy: a signed caller, a ready MRAP and, through an
/// endpoint, an endpoint that reaches MRAPs.
pub(super) fn structural_checks(req: &PathRequest<'_>, network: &Network<'_>, mrap: &MrapFacts<'_>) -> Vec<Check> {
    let signed = !req.caller.is_anonymous();
    let mut checks = vec![Check {
        check: "caller is signed".into(),
        result: Tri::from(signed),
        detail: if signed {
            "the caller signs its requests (SigV4A)".into()
        } else {
            "Multi-Region Access Points refuse anonymous requests: only SigV4A-signed requests are served (S3: Multi-Region Access Point restrictions)".into()
        },
    }];
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
    match network {
        Network::Internet => {}
        Network::Endpoint(Known::Unknown(why)) => {
            checks.push(Check { check: "endpoint".into(), result: Tri::Unknown, detail: why.clone() })
        }
        Network::Endpoint(Known::Value(e)) => checks.extend(mrap_endpoint_checks(e, mrap)),
    }
    checks
}

/// An endpoint reaches MRAPs if it is an `available` `Interface` endpoint of
/// [`MRAP_ENDPOINT_SERVICE`]; its private DNS says which clients take it.
fn mrap_endpoint_checks(e: &EndpointFacts<'_>, mrap: &MrapFacts<'_>) -> [Check; 4] {
    let missing = |field: &str| format!("the description of {} gives no `{field}`: unknown", e.id);
    let service = field_check("endpoint service", e.service_name, &missing("ServiceName"), |service| {
        let ok = service == MRAP_ENDPOINT_SERVICE;
        let detail = if ok {
            format!("{} is an endpoint of `{MRAP_ENDPOINT_SERVICE}`", e.id)
        } else {
            format!(
                "{} is an endpoint of `{service}`, which cannot reach Multi-Region Access Points: only `{MRAP_ENDPOINT_SERVICE}` can",
                e.id
            )
        };
        (ok, detail)
    });
    let kind = field_check("endpoint type", e.endpoint_type, &missing("VpcEndpointType"), |kind| {
        let interface = kind.eq_ignore_ascii_case("Interface");
        let detail = format!(
            "{} is of type `{kind}`{}",
            e.id,
            if interface { "" } else { "; only interface endpoints reach MRAPs" }
        );
        (interface, detail)
    });
    [service, kind, state_check(e, &missing("State")), private_dns_check(e, mrap)]
}

/// An endpoint carries traffic only when `available`.
pub(super) fn state_check(e: &EndpointFacts<'_>, missing: &str) -> Check {
    field_check("endpoint state", e.state, missing, |state| {
        let available = state.eq_ignore_ascii_case("available");
        let detail =
            format!("{} is `{state}`{}", e.id, if available { "" } else { ", not `available`: it carries no traffic" });
        (available, detail)
    })
}

/// A check on one described field: unknown when the field is absent, else `judge`'s verdict.
pub(super) fn field_check(
    name: &str,
    value: Option<&str>,
    missing: &str,
    judge: impl FnOnce(&str) -> (bool, String),
) -> Check {
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

/// Block Public Access of the MRAP path: each resource admits only its own owner's account: the
/// MRAP its owner's, the bucket its owner's ("restricts access to an access point or bucket with
/// a public policy to ... the bucket owner's account and access point owner's account"). The
/// MRAP's and its account's settings pass through to the bucket (an access point's setting acts
/// "as though the underlying bucket has this setting enabled").
pub(super) fn block_public_access(
    req: &PathRequest<'_>,
    mrap: &MrapFacts<'_>,
    bucket: &BucketFacts<'_>,
    mrap_policy: Option<NamedPolicy<'_>>,
    bucket_policy: Option<NamedPolicy<'_>>,
) -> Vec<Check> {
    let mrap_levels = [&mrap.bpa, &mrap.account_bpa];
    let bucket_levels = [&mrap.bpa, &mrap.account_bpa, &bucket.bpa, &bucket.account_bpa];
    let none_on = |what: &str| format!("the {what} policy is public, and no level turns on RestrictPublicBuckets");
    let mrap_check = PublicPolicy { what: "MRAP", holder: PolicyHolder::AccessPoint, owner: mrap.account }.check(
        req,
        mrap_policy,
        &mrap_levels,
        || none_on("MRAP"),
    );
    let bucket_check = PublicPolicy { what: "bucket", holder: PolicyHolder::Bucket, owner: bucket.account }.check(
        req,
        bucket_policy,
        &bucket_levels,
        || none_on("bucket"),
    );
    mrap_check.into_iter().chain(bucket_check).collect()
}

/// A resource whose policy Block Public Access may restrict (S3: "The meaning of public").
pub(super) struct PublicPolicy<'o> {
    /// `MRAP` or `bucket`, for the check's name and detail.
    pub(super) what: &'static str,
    pub(super) holder: PolicyHolder,
    pub(super) owner: &'o str,
}

impl PublicPolicy<'_> {
    /// Nothing to check unless the policy is public and the caller is outside the owner's
    /// account. Then `RestrictPublicBuckets` on at any level that could be read stops the
    /// policy's grants; with none on but a level unread, the check is unknown; `none_on` is the
    /// detail when every level was read and none turns it on.
    pub(super) fn check(
        &self,
        req: &PathRequest<'_>,
        policy: Option<NamedPolicy<'_>>,
        levels: &[&Known<BlockPublicAccess>],
        none_on: impl FnOnce() -> String,
    ) -> Option<Check> {
        let p = policy?;
        if req.caller.account() == Some(self.owner) || !is_public(p.policy, self.holder) {
            return None;
        }
        let what = self.what;
        let restrict = levels.iter().any(|l| l.value().is_some_and(|b| b.restrict_public_buckets));
        let any_unknown = levels.iter().any(|l| l.value().is_none());
        let (result, detail) = if restrict {
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
            (Tri::Yes, none_on())
        };
        Some(Check { check: format!("{what} public policy"), result, detail })
    }
}
