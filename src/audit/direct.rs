//! Direct-bucket expectations (DESIGN §10): `bucket = "NAME"` instead of `mrap`, so that
//! "access removed" can be proven on every door, not only the MRAP (seed 000, "Removing
//! access": bucket policies keep serving requests that do not go through the MRAP).

use chrono::SecondsFormat;

use super::world::{World, bpa_of, finding, named};
use super::{
    AuditOptions, BucketOutcome, caller_policies, endpoint_facts, failover, path_request, route_role, status,
    unknown_report, verdict,
};
use crate::config::{Config, Expectation, Via};
use crate::path::{self, BucketFacts, Known, Network};
use crate::policy::lint::Severity;
use crate::report::{BucketReport, ExpectationReport, Failover, Finding, RouteRole};
use crate::snapshot::{Captured, Snapshot};

/// Where a bucket is: (MRAP alias, owner account, region, route) from the MRAP listing, or the
/// snapshot's account with an unknown region when only its policy was captured.
pub(crate) fn locate(snapshot: &Snapshot, bucket: &str) -> Option<(String, String, String, RouteRole)> {
    let account = snapshot.account_id()?;
    for m in snapshot.mraps.value().into_iter().flatten() {
        if let Some(r) = m.regions.iter().find(|r| r.bucket == bucket) {
            let routes = match snapshot.mrap_routes.get(&m.name) {
                Some(Captured::Value(routes)) => Some(routes.as_slice()),
                _ => None,
            };
            // By the bucket's own route only: a straight request names no MRAP region.
            let route = route_role(routes, bucket, None);
            let owner = r.bucket_account_id.clone().unwrap_or_else(|| account.to_string());
            return Some((m.alias.clone(), owner, r.region.clone(), route));
        }
    }
    snapshot
        .bucket_policies
        .contains_key(bucket)
        .then(|| (String::new(), account.to_string(), String::new(), RouteRole::Active))
}

/// The way a straight request comes: the internet, or the expectation's endpoint (an MRAP
/// endpoint or a regional S3 one) as the snapshot describes it.
fn direct_network<'w>(world: &'w World<'_>, exp: &'w Expectation) -> Network<'w> {
    match &exp.via {
        Via::Internet => Network::Internet,
        Via::Endpoint(id) => match world.snapshot.endpoint(id) {
            Some((_, e)) => {
                let policy = world
                    .endpoint_policies
                    .get(id.as_str())
                    .or_else(|| world.regional_endpoint_policies.get(id.as_str()))
                    .map_or(Known::Value(None), named);
                Network::Endpoint(Known::Value(endpoint_facts(id, e, policy)))
            }
            None => Network::Endpoint(Known::Unknown(format!(
                "endpoint {id} was not captured (no readable describe-vpc-endpoints file has it)"
            ))),
        },
    }
}

/// For a bucket known only by its policy: the region of the endpoint's service name
/// (`com.amazonaws.REGION.s3`), empty when it has none; `None` without a described endpoint.
fn region_of_endpoint(network: &Network<'_>) -> Option<String> {
    match network {
        Network::Endpoint(Known::Value(e)) => Some(
            e.service_name
                .unwrap_or_default()
                .strip_prefix("com.amazonaws.")
                .and_then(|r| r.strip_suffix(".s3"))
                .unwrap_or_default()
                .to_string(),
        ),
        _ => None,
    }
}

/// Evaluates an expectation straight to `bucket`.
pub(super) fn evaluate_direct(
    world: &World<'_>,
    config: &Config,
    exp: &Expectation,
    bucket: &str,
    options: &AuditOptions,
) -> (ExpectationReport, Vec<BucketOutcome>, Vec<Finding>) {
    let snapshot = world.snapshot;
    let mut findings = Vec::new();
    let mut report = unknown_report(exp, String::new(), Failover::None);
    let Some((mrap_alias, account, region, route)) = locate(snapshot, bucket) else {
        report.summary = format!("unknown: the bucket `{bucket}` is not in the snapshot");
        findings.push(finding(
            Severity::Error,
            "bucket-not-found",
            bucket,
            format!("expectation `{}` names the bucket `{bucket}`, which the snapshot does not have", exp.name),
            None,
        ));
        return (report, Vec::new(), findings);
    };
    report.mrap = mrap_alias;
    let network = direct_network(world, exp);
    let region = if region.is_empty() { region_of_endpoint(&network).unwrap_or(region) } else { region };
    let policy = match world.bucket_policies.get(bucket) {
        Some(loaded) => named(loaded),
        None => Known::Unknown("not captured".into()),
    };
    let facts = BucketFacts {
        name: bucket,
        account: &account,
        policy,
        bpa: bpa_of(snapshot.bucket_bpa.get(bucket)),
        account_bpa: bpa_of(snapshot.account_bpa.get(&account)),
    };
    let caller = caller_policies(config, exp);
    let now = options.at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let request = path_request(exp, &now, options, snapshot.partition());
    let decision = path::decide_direct(&request, &network, &facts, &region, &caller, true);
    let bucket_report = BucketReport {
        bucket: bucket.to_string(),
        account: account.clone(),
        region,
        route,
        decision: decision.decision.into(),
        deciding_layer: decision.deciding_layer,
        statement: decision.statement.clone(),
        reason: decision.reason.clone(),
        proposed_decision: None,
    };
    let decisions = [bucket_report.decision];
    report.verdict = verdict(&decisions);
    report.status = status(exp.expect, &decisions);
    report.failover = failover(exp.expect, &[]);
    report.summary = format!("straight to {bucket} ({}): {}", bucket_report.decision.name(), bucket_report.reason);
    report.buckets = vec![bucket_report.clone()];
    (report, vec![BucketOutcome { report: bucket_report, established: decision, proposed: None }], findings)
}
