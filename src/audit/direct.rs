//! Direct-bucket expectations (DESIGN §10): `bucket = "NAME"` instead of `mrap`, so that
//! "access removed" can be proven on every door, not only the MRAP (seed 000, "Removing
//! access": bucket policies keep serving requests that do not go through the MRAP).

use chrono::SecondsFormat;

use super::world::{World, bpa_of, finding, named};
use super::{AuditOptions, BucketOutcome, caller_policies, failover, status, verdict};
use crate::config::{Config, Expectation, Via};
use crate::path::{self, BucketFacts, EndpointFacts, Known, Network, PathRequest};
use crate::policy::lint::Severity;
use crate::report::{BucketReport, ExpectationReport, Failover, Finding, RouteRole, Status, Verdict};
use crate::snapshot::{Captured, Snapshot};

/// Where a bucket is: (MRAP alias, owner account, region, route) from the MRAP listing, or the
/// snapshot's account with an unknown region when only its policy was captured.
pub(crate) fn locate(snapshot: &Snapshot, bucket: &str) -> Option<(String, String, String, RouteRole)> {
    let account = snapshot.account_id()?;
    for m in snapshot.mraps.value().into_iter().flatten() {
        if let Some(r) = m.regions.iter().find(|r| r.bucket == bucket) {
            let route = match snapshot.mrap_routes.get(&m.name) {
                Some(Captured::Value(routes)) => match routes.iter().find(|x| x.bucket.as_deref() == Some(bucket)) {
                    Some(x) if x.traffic_dial_percentage == 0 => RouteRole::Passive,
                    _ => RouteRole::Active,
                },
                _ => RouteRole::Active,
            };
            let owner = r.bucket_account_id.clone().unwrap_or_else(|| account.to_string());
            return Some((m.alias.clone(), owner, r.region.clone(), route));
        }
    }
    snapshot
        .bucket_policies
        .contains_key(bucket)
        .then(|| (String::new(), account.to_string(), String::new(), RouteRole::Active))
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
    let mut report = ExpectationReport {
        name: exp.name.clone(),
        mrap: String::new(),
        expect: exp.expect,
        status: Status::Unknown,
        verdict: Verdict::Unknown,
        buckets: Vec::new(),
        failover: Failover::None,
        pending_change: false,
        principal: exp.principal.clone(),
        action: exp.action.clone(),
        key: exp.key.clone(),
        via: exp.via.to_string(),
        proposed_verdict: None,
        summary: String::new(),
    };
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
    let network = match &exp.via {
        Via::Internet => Network::Internet,
        Via::Endpoint(id) => match snapshot.endpoint(id) {
            Some((_, e)) => Network::Endpoint(Known::Value(EndpointFacts {
                id,
                vpc_id: &e.vpc_id,
                endpoint_type: e.endpoint_type.as_deref(),
                service_name: e.service_name.as_deref(),
                state: e.state.as_deref(),
                private_dns: e.private_dns_enabled,
                policy: world
                    .endpoint_policies
                    .get(id.as_str())
                    .or_else(|| world.regional_endpoint_policies.get(id.as_str()))
                    .map_or(Known::Value(None), named),
            })),
            None => Network::Endpoint(Known::Unknown(format!(
                "endpoint {id} was not captured (no readable describe-vpc-endpoints file has it)"
            ))),
        },
    };
    // A bucket known only by its policy: take the region from the endpoint's service name.
    let region = if region.is_empty() {
        match &network {
            Network::Endpoint(Known::Value(e)) => e
                .service_name
                .unwrap_or_default()
                .strip_prefix("com.amazonaws.")
                .and_then(|r| r.strip_suffix(".s3"))
                .unwrap_or_default()
                .to_string(),
            _ => region,
        }
    } else {
        region
    };
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
    let request = PathRequest {
        caller: &exp.caller,
        action: &exp.action,
        key: &exp.key,
        bucket_action: exp.is_bucket_action(),
        context: &exp.context,
        time: Some((&now, options.at.timestamp())),
        partition: snapshot.partition(),
    };
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
