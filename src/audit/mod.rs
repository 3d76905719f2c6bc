//! One audit cycle: every expectation over every bucket its MRAP can route to, from one
//! [`Snapshot`], into a [`Report`] of verdicts and findings.
//!
//! Nothing that could not be read is guessed: an input that is missing, an AWS error or
//! unparseable makes what depends on it `unknown` and is itself a finding. Policies are parsed
//! once per cycle and shared by every expectation.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::config::{Config, ConfigError, Expectation, Via};
use crate::eval::NamedPolicy;
use crate::path::{
    self, BucketFacts, CallerPolicies, EndpointFacts, Known, MrapFacts, Network, PathDecision, PathRequest,
};
use crate::policy::lint::Severity;
use crate::report::{
    BucketDecision, BucketReport, Expect, ExpectationReport, Failover, Finding, Report, RouteRole, SnapshotInfo,
    Status, Verdict,
};
use crate::snapshot::{Captured, Mrap, MrapRegion, MrapRoute, Snapshot, VpcEndpoint};

pub(crate) mod direct;
mod world;

use world::finding;
pub use world::{World, normalize_json};
pub(crate) use world::{bpa_of, named};

/// What the report says about where its data came from.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub at: DateTime<Utc>,
    /// `snapshot` or `aws`.
    pub source: String,
    pub snapshot_path: Option<String>,
}

/// One bucket's outcome, with its full explanation.
pub struct BucketOutcome {
    pub report: BucketReport,
    pub established: PathDecision,
    pub proposed: Option<PathDecision>,
}

/// Runs a whole cycle: the expectations only (no access map).
pub fn audit(config: &Config, snapshot: &Snapshot, options: &AuditOptions) -> Report {
    run(config, snapshot, options, &AtomicBool::new(false), None, false).0
}

/// Runs a whole cycle with the access map (DESIGN §10): the map, the `[[forbid]]`s checked
/// against it, and a `new-access` finding for each grant not in `accepted` (an earlier map).
pub fn audit_with_access(
    config: &Config,
    snapshot: &Snapshot,
    options: &AuditOptions,
    accepted: Option<&crate::access::AccessMap>,
) -> Report {
    run(config, snapshot, options, &AtomicBool::new(false), accepted, true).0
}

/// Runs a whole cycle unless `cancel` is set meanwhile: then it stops between expectations and
/// returns `None`. The daemon sets it when a cycle times out, so a timed-out audit does not keep
/// a blocking thread (and the CPU) busy after its result stopped mattering.
pub fn audit_until(
    config: &Config,
    snapshot: &Snapshot,
    options: &AuditOptions,
    cancel: &AtomicBool,
) -> Option<Report> {
    let (report, cancelled) = run(config, snapshot, options, cancel, None, false);
    (!cancelled).then_some(report)
}

/// [`audit_until`] with the access map, as the daemon runs it each cycle.
pub fn audit_with_access_until(
    config: &Config,
    snapshot: &Snapshot,
    options: &AuditOptions,
    cancel: &AtomicBool,
    accepted: Option<&crate::access::AccessMap>,
) -> Option<Report> {
    let (report, cancelled) = run(config, snapshot, options, cancel, accepted, true);
    (!cancelled).then_some(report)
}

fn run(
    config: &Config,
    snapshot: &Snapshot,
    options: &AuditOptions,
    cancel: &AtomicBool,
    accepted: Option<&crate::access::AccessMap>,
    with_access: bool,
) -> (Report, bool) {
    let mut world = World::new(snapshot, config);
    // Expectations are independent: spread them over the cores, keeping their order.
    let shared = &world;
    let results = crate::util::parallel_map(&config.expectations, |exp| {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        // The report carries the Established reason alone: the Proposed decision is evaluated
        // without its trace.
        let (report, _, findings) = evaluate_with(shared, config, exp, options, path::Tracing::Established);
        Some((report, findings))
    });
    let cancelled = cancel.load(Ordering::Relaxed);
    let mut expectations = Vec::with_capacity(results.len());
    for (report, findings) in results.into_iter().flatten() {
        world.findings.extend(findings);
        expectations.push(report);
    }
    let (access, forbids) = if with_access && !cancelled {
        let map = crate::access::build(&world, config, options, None);
        let forbids = crate::access::check_forbids(&config.forbids, &map);
        if let Some(accepted) = accepted {
            world.findings.extend(crate::access::new_access(&map, accepted, snapshot.partition()));
        }
        (Some(map), forbids)
    } else {
        (None, Vec::new())
    };
    let mut findings: Vec<Finding> = world.findings.into_iter().collect();
    findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| a.code.cmp(&b.code)).then_with(|| a.resource.cmp(&b.resource))
    });
    let report = Report {
        generated_at: options.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        source: options.source.clone(),
        snapshot: Some(SnapshotInfo {
            path: options.snapshot_path.clone(),
            account_id: snapshot.account_id().map(str::to_string),
            captured_at: snapshot.manifest.value().and_then(|m| m.captured_at.clone()),
        }),
        expectations,
        findings,
        policies: world.policies,
        forbids,
        access,
    };
    (report, cancelled)
}

/// The caller's own policies of an expectation, and the organization's.
pub(crate) fn caller_policies<'c>(config: &'c Config, exp: &'c Expectation) -> CallerPolicies<'c> {
    let named = |p: &'c crate::config::PolicyFile| NamedPolicy { name: &p.name, policy: &p.policy };
    CallerPolicies {
        identity: exp.identity.as_ref().map(named),
        boundary: exp.boundary.as_ref().map(named),
        session: exp.session.as_ref().map(named),
        scp: config.organization.scp.iter().map(|l| l.iter().map(named).collect()).collect(),
        rcp: config.organization.rcp.iter().map(|l| l.iter().map(named).collect()).collect(),
    }
}

/// Evaluates one expectation: its report line, every bucket's explanation, and its findings.
pub fn evaluate(
    world: &World<'_>,
    config: &Config,
    exp: &Expectation,
    options: &AuditOptions,
) -> (ExpectationReport, Vec<BucketOutcome>, Vec<Finding>) {
    evaluate_with(world, config, exp, options, path::Tracing::All)
}

/// [`evaluate`] with the traces `tracing` keeps.
fn evaluate_with(
    world: &World<'_>,
    config: &Config,
    exp: &Expectation,
    options: &AuditOptions,
    tracing: path::Tracing,
) -> (ExpectationReport, Vec<BucketOutcome>, Vec<Finding>) {
    if let Some(bucket) = &exp.bucket {
        return direct::evaluate_direct(world, config, exp, bucket, options);
    }
    let snapshot = world.snapshot;
    let mut findings = Vec::new();
    let mut report = unknown_report(exp, exp.mrap.clone(), Failover::Unknown);
    let Some((account, mrap)) = find_mrap(snapshot, exp, &mut report, &mut findings) else {
        return (report, Vec::new(), findings);
    };
    let mrap_arn = snapshot.mrap_arn(mrap).unwrap_or_default();
    report.mrap = mrap.alias.clone();
    check_listing(mrap, &mrap_arn, &mut findings);
    let network = mrap_network(world, exp, &mrap.alias, &mut findings);
    let proposed = proposed_policy(world, mrap);
    let now = options.at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let on_path = MrapPath {
        exp,
        request: path_request(exp, &now, options, snapshot.partition()),
        network,
        mrap: mrap_facts(world, mrap, &mrap_arn, account),
        caller: caller_policies(config, exp),
        proposed,
    };
    let routes = readable_routes(snapshot, mrap, &mrap_arn, &mut findings);
    let p = &on_path;
    let outcomes: Vec<BucketOutcome> =
        path::with_mrap_side(&p.request, &p.network, &p.mrap, &p.caller, p.proposed.as_ref(), tracing, |side| {
            mrap.regions.iter().map(|region| p.to_bucket(world, side, region, routes, &mut findings)).collect()
        });
    settle(&mut report, &outcomes, on_path.proposed.is_some());
    (report, outcomes, findings)
}

/// An expectation's report before anything is known: every answer `unknown`.
fn unknown_report(exp: &Expectation, mrap: String, failover: Failover) -> ExpectationReport {
    ExpectationReport {
        name: exp.name.clone(),
        mrap,
        expect: exp.expect,
        status: Status::Unknown,
        verdict: Verdict::Unknown,
        buckets: Vec::new(),
        failover,
        pending_change: false,
        principal: exp.principal.clone(),
        action: exp.action.clone(),
        key: exp.key.clone(),
        via: exp.via.to_string(),
        proposed_verdict: None,
        summary: String::new(),
    }
}

/// The snapshot's account and the expectation's MRAP; `None` when the expectation is unknown,
/// with why in its summary (and a finding when the snapshot provably lacks the MRAP).
fn find_mrap<'s>(
    snapshot: &'s Snapshot,
    exp: &Expectation,
    report: &mut ExpectationReport,
    findings: &mut Vec<Finding>,
) -> Option<(&'s str, &'s Mrap)> {
    let (Some(account), Some(mraps)) = (snapshot.account_id(), snapshot.mraps.value()) else {
        report.summary = "unknown: the snapshot has no readable manifest or MRAP list".into();
        return None;
    };
    let Some(mrap) = mraps.iter().find(|m| m.alias == exp.mrap || m.name == exp.mrap) else {
        report.summary = format!("unknown: the MRAP `{}` is not in the snapshot", exp.mrap);
        findings.push(finding(
            Severity::Error,
            "mrap-not-found",
            &exp.mrap,
            format!("expectation `{}` names the MRAP `{}`, which the snapshot does not have", exp.name, exp.mrap),
            Some("check `mrap` in the configuration against `aws s3control list-multi-region-access-points`".into()),
        ));
        return None;
    };
    Some((account, mrap))
}

/// Findings on the MRAP's own listing: not `READY`, or fields the listing lacks.
fn check_listing(mrap: &Mrap, mrap_arn: &str, findings: &mut Vec<Finding>) {
    match mrap.status.as_deref() {
        Some(status) if !status.eq_ignore_ascii_case("READY") => findings.push(finding(
            Severity::Error,
            "mrap-not-ready",
            mrap_arn,
            format!("the MRAP is `{status}`, not `READY`"),
            None,
        )),
        Some(_) => {}
        None => findings.push(unreadable(
            mrap_arn,
            "the MRAP's `Status` is absent from the listing; every verdict on it is unknown",
        )),
    }
    if mrap.public_access_block.is_none() {
        findings.push(unreadable(
            mrap_arn,
            "the MRAP's `PublicAccessBlock` is absent from the listing; verdicts that depend on it are unknown (never taken as all off)",
        ));
    }
}

/// The way the request comes to the MRAP: the internet, or the expectation's endpoint as the
/// snapshot describes it (with findings on what keeps it from reaching an MRAP).
fn mrap_network<'w>(
    world: &'w World<'_>,
    exp: &'w Expectation,
    alias: &str,
    findings: &mut Vec<Finding>,
) -> Network<'w> {
    let snapshot = world.snapshot;
    match &exp.via {
        Via::Internet => Network::Internet,
        Via::Endpoint(id) => match snapshot.endpoint(id) {
            Some((_, e)) => {
                check_endpoint(id, e, alias, findings);
                let policy = world.endpoint_policies.get(id.as_str()).map_or(Known::Value(None), named);
                Network::Endpoint(Known::Value(endpoint_facts(id, e, policy)))
            }
            None if snapshot.endpoints_complete() => Network::Endpoint(Known::Value(EndpointFacts {
                id,
                vpc_id: "",
                endpoint_type: Some("(none)"),
                service_name: Some("(endpoint not found)"),
                state: Some("deleted or never created"),
                private_dns: None,
                policy: Known::Value(None),
            })),
            None => Network::Endpoint(Known::Unknown(format!(
                "endpoint {id} was not captured (no readable describe-vpc-endpoints file has it)"
            ))),
        },
    }
}

/// The path's view of a described endpoint, with its policy.
pub(crate) fn endpoint_facts<'a>(
    id: &'a str,
    e: &'a VpcEndpoint,
    policy: Known<Option<NamedPolicy<'a>>>,
) -> EndpointFacts<'a> {
    EndpointFacts {
        id,
        vpc_id: &e.vpc_id,
        endpoint_type: e.endpoint_type.as_deref(),
        service_name: e.service_name.as_deref(),
        state: e.state.as_deref(),
        private_dns: e.private_dns_enabled,
        policy,
    }
}

/// Findings on an endpoint that cannot carry requests to an MRAP, lacks fields, or may be
/// bypassed (private DNS off or not described).
fn check_endpoint(id: &str, e: &VpcEndpoint, alias: &str, findings: &mut Vec<Finding>) {
    let wrong = e.service_name.as_deref().is_some_and(|s| s != crate::s3::MRAP_ENDPOINT_SERVICE)
        || e.endpoint_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("Interface"))
        || e.state.as_deref().is_some_and(|s| !s.eq_ignore_ascii_case("available"));
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not described)".into());
    if wrong {
        findings.push(finding(
            Severity::Error,
            "endpoint-cannot-reach-mrap",
            id,
            format!("{id} is a `{}` endpoint of `{}` in state `{}`; requests to an MRAP need an `Interface` endpoint of `{}` in state `available`", show(&e.endpoint_type), show(&e.service_name), show(&e.state), crate::s3::MRAP_ENDPOINT_SERVICE),
            Some(format!("create an interface endpoint for `{}` (S3: Configuring a Multi-Region Access Point for use with AWS PrivateLink)", crate::s3::MRAP_ENDPOINT_SERVICE)),
        ));
    }
    let missing: Vec<&str> = [
        ("VpcEndpointType", e.endpoint_type.is_none()),
        ("ServiceName", e.service_name.is_none()),
        ("State", e.state.is_none()),
        ("VpcId", e.vpc_id.is_empty()),
    ]
    .into_iter()
    .filter_map(|(field, absent)| absent.then_some(field))
    .collect();
    if !missing.is_empty() {
        findings.push(unreadable(
            id,
            &format!(
                "the description of {id} lacks {}; verdicts that need it are unknown",
                missing.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    match e.private_dns_enabled {
        Some(true) => {}
        Some(false) => findings.push(finding(
            Severity::Warning,
            "endpoint-private-dns-disabled",
            id,
            format!("private DNS is disabled on {id}: clients in {} that use the MRAP's ordinary host name (`{}.accesspoint.s3-global.amazonaws.com`) do not go through this endpoint but over the internet path (`mrap:internet`), where its endpoint policy does not apply and bucket policies that require `aws:SourceVpce` deny them", if e.vpc_id.is_empty() { "the VPC" } else { &e.vpc_id }, alias),
            Some(format!("enable private DNS on the endpoint (`aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --private-dns-enabled`), or resolve the MRAP's name to the endpoint with a private hosted zone (S3: Configuring a Multi-Region Access Point for use with AWS PrivateLink: requests go through the endpoint \"if you have private DNS enabled for the endpoint\")")),
        )),
        None => findings.push(finding(
            Severity::Warning,
            "endpoint-private-dns-unknown",
            id,
            format!("the description of {id} does not say whether private DNS is enabled: whether the VPC's clients that use the MRAP's host name go through this endpoint is unknown"),
            Some("capture the endpoint with `aws ec2 describe-vpc-endpoints`, which prints `PrivateDnsEnabled`".into()),
        )),
    }
}

/// The MRAP's Proposed policy, when it has one (`None`: no Proposed policy).
pub(crate) fn proposed_policy<'w>(world: &'w World<'_>, mrap: &Mrap) -> Option<Known<Option<NamedPolicy<'w>>>> {
    world.mrap_proposed.get(mrap.name.as_str()).and_then(|p| p.as_ref()).map(|p| match p {
        Known::Value((name, policy)) => Known::Value(Some(NamedPolicy { name, policy })),
        Known::Unknown(why) => Known::Unknown(why.clone()),
    })
}

/// The MRAP as the path sees it, with its Established policy.
pub(crate) fn mrap_facts<'w>(
    world: &'w World<'_>,
    mrap: &'w Mrap,
    mrap_arn: &'w str,
    account: &'w str,
) -> MrapFacts<'w> {
    let established =
        world.mrap_established.get(mrap.name.as_str()).map_or(Known::Unknown("not captured".into()), named);
    MrapFacts {
        arn: mrap_arn,
        account,
        status: mrap.status.as_deref(),
        bpa: mrap.public_access_block.map_or_else(
            || Known::Unknown("the listing gives no `PublicAccessBlock` for the MRAP".into()),
            |b| Known::Value(b.into()),
        ),
        account_bpa: bpa_of(world.snapshot.account_bpa.get(account)),
        policy: established,
    }
}

/// The request of an expectation at the cycle's time `now` (`options.at`, RFC 3339).
pub(super) fn path_request<'a>(
    exp: &'a Expectation,
    now: &'a str,
    options: &AuditOptions,
    partition: &'a str,
) -> PathRequest<'a> {
    PathRequest {
        caller: &exp.caller,
        action: &exp.action,
        key: &exp.key,
        bucket_action: exp.is_bucket_action(),
        context: &exp.context,
        time: Some((now, options.at.timestamp())),
        partition,
    }
}

/// The MRAP's routes. Absent → every bucket active; unreadable → every bucket active, said so.
fn readable_routes<'s>(
    snapshot: &'s Snapshot,
    mrap: &Mrap,
    mrap_arn: &str,
    findings: &mut Vec<Finding>,
) -> Option<&'s [MrapRoute]> {
    let routes = snapshot.mrap_routes.get(&mrap.name);
    if let Some(problem) = routes.and_then(Captured::problem) {
        findings.push(finding(
            Severity::Warning,
            "routes-unreadable",
            mrap_arn,
            format!("the routes could not be read ({problem}): every bucket is treated as active"),
            None,
        ));
    }
    match routes {
        Some(Captured::Value(list)) => Some(list),
        _ => None,
    }
}

/// A bucket's role in the MRAP's routes: passive when its traffic dial is 0. Its route is the
/// one naming the bucket, or else (when `region` is given) the one naming only its region; a
/// bucket without a route, or without readable routes, is active.
pub(super) fn route_role(routes: Option<&[MrapRoute]>, bucket: &str, region: Option<&str>) -> RouteRole {
    let Some(list) = routes else { return RouteRole::Active };
    let route = list.iter().find(|r| r.bucket.as_deref() == Some(bucket)).or_else(|| {
        region.and_then(|region| list.iter().find(|r| r.bucket.is_none() && r.region.as_deref() == Some(region)))
    });
    match route {
        Some(r) if r.traffic_dial_percentage == 0 => RouteRole::Passive,
        _ => RouteRole::Active,
    }
}

/// What every bucket of one MRAP expectation shares: the request and the path up to the bucket.
struct MrapPath<'a> {
    exp: &'a Expectation,
    request: PathRequest<'a>,
    network: Network<'a>,
    mrap: MrapFacts<'a>,
    caller: CallerPolicies<'a>,
    proposed: Option<Known<Option<NamedPolicy<'a>>>>,
}

impl MrapPath<'_> {
    /// The request decided on one bucket of the MRAP, under the Established policy and the
    /// Proposed one.
    fn to_bucket(
        &self,
        world: &World<'_>,
        side: &path::MrapSide<'_, '_>,
        region: &MrapRegion,
        routes: Option<&[MrapRoute]>,
        findings: &mut Vec<Finding>,
    ) -> BucketOutcome {
        let snapshot = world.snapshot;
        let bucket_account = region.bucket_account_id.as_deref().unwrap_or(self.mrap.account);
        let policy = match world.bucket_policies.get(region.bucket.as_str()) {
            Some(loaded) => named(loaded),
            None => Known::Unknown("not captured".into()),
        };
        if !world.bucket_policies.contains_key(region.bucket.as_str()) {
            findings.push(finding(
                Severity::Error,
                "unreadable-input",
                &format!("arn:{}:s3:::{}", snapshot.partition(), region.bucket),
                "the bucket policy was not captured; every verdict that needs it is unknown",
                None,
            ));
        }
        let bucket = BucketFacts {
            name: &region.bucket,
            account: bucket_account,
            policy,
            bpa: bpa_of(snapshot.bucket_bpa.get(&region.bucket)),
            account_bpa: bpa_of(snapshot.account_bpa.get(bucket_account)),
        };
        let (decision, proposed_decision) = side.decide(&bucket);
        findings.extend(malformed_value_findings(&self.exp.name, &decision));
        let report = BucketReport {
            bucket: region.bucket.clone(),
            account: bucket_account.to_string(),
            region: region.region.clone(),
            route: route_role(routes, &region.bucket, Some(&region.region)),
            decision: decision.decision.into(),
            deciding_layer: decision.deciding_layer,
            statement: decision.statement.clone(),
            reason: decision.reason.clone(),
            proposed_decision: proposed_decision.as_ref().map(|d| d.decision.into()),
        };
        BucketOutcome { report, established: decision, proposed: proposed_decision }
    }
}

/// An `unreadable-input` finding for each request value of the wrong form that `decision` met.
fn malformed_value_findings(expectation: &str, decision: &PathDecision) -> Vec<Finding> {
    malformed_values(decision)
        .into_iter()
        .map(|(statement, c)| {
            finding(
                Severity::Error,
                "unreadable-input",
                &format!("expect.{expectation}.context.{}", c.key),
                format!(
                    "the request value `{}` of `{}` is not of the form `{}` compares ({statement}); every verdict that needs it is unknown",
                    c.malformed.as_deref().unwrap_or_default(),
                    c.key,
                    c.operator
                ),
                Some(format!("give `{}` in the expectation's `context` in the form the operator compares (IAM: Condition operators)", c.key)),
            )
        })
        .collect()
}

/// The expectation's verdict, status, failover and pending change from its buckets' outcomes,
/// and the buckets themselves.
fn settle(report: &mut ExpectationReport, outcomes: &[BucketOutcome], has_proposed: bool) {
    let decisions = |pick: &dyn Fn(&BucketOutcome) -> Option<BucketDecision>, role: RouteRole| -> Vec<BucketDecision> {
        outcomes.iter().filter(|o| o.report.route == role).filter_map(pick).collect()
    };
    let active = decisions(&|o| Some(o.report.decision), RouteRole::Active);
    let passive = decisions(&|o| Some(o.report.decision), RouteRole::Passive);
    report.verdict = verdict(&active);
    report.status = status(report.expect, &active);
    report.failover = failover(report.expect, &passive);
    if has_proposed {
        let proposed_active = decisions(&|o| o.report.proposed_decision, RouteRole::Active);
        let v = verdict(&proposed_active);
        report.proposed_verdict = Some(v);
        report.pending_change = v != Verdict::Unknown && report.verdict != Verdict::Unknown && v != report.verdict;
    }
    report.summary = summary(report, outcomes);
    report.buckets = outcomes.iter().map(|o| o.report.clone()).collect();
}

/// The conditions of a decision that met a request value of the wrong form, with the statement.
fn malformed_values(d: &PathDecision) -> Vec<(String, &crate::eval::condition::ConditionTrace)> {
    [&d.mrap_request, &d.bucket_request]
        .into_iter()
        .flat_map(|e| e.layers.iter())
        .flat_map(|l| l.statements.iter())
        .flat_map(|s| s.conditions.iter().filter(|c| c.malformed.is_some()).map(move |c| (s.label(), c)))
        .collect()
}

/// An `unreadable-input` finding for a field a listing or description lacks.
fn unreadable(resource: &str, message: &str) -> Finding {
    finding(
        Severity::Error,
        "unreadable-input",
        resource,
        message,
        Some("capture the resource again with the AWS CLI (`--output json`), which prints every field".into()),
    )
}

/// Over the active buckets: all allow → allow; none → deny; mixed → intermittent; any unknown →
/// unknown (DESIGN §3).
pub fn verdict(active: &[BucketDecision]) -> Verdict {
    if active.is_empty() || active.contains(&BucketDecision::Unknown) {
        Verdict::Unknown
    } else if active.iter().all(|d| *d == BucketDecision::Allow) {
        Verdict::Allow
    } else if active.iter().all(|d| d.denies()) {
        Verdict::Deny
    } else {
        Verdict::Intermittent
    }
}

/// Violated as soon as a known active decision contradicts the expectation, whatever the
/// unknowns; otherwise unknown if any is unknown; otherwise holds.
pub fn status(expect: Expect, active: &[BucketDecision]) -> Status {
    if active.iter().any(|d| expect.contradicted_by(*d)) {
        Status::Violated
    } else if active.is_empty() || active.contains(&BucketDecision::Unknown) {
        Status::Unknown
    } else {
        Status::Holds
    }
}

/// Whether the passive buckets would give the expected answer after a failover.
pub fn failover(expect: Expect, passive: &[BucketDecision]) -> Failover {
    if passive.is_empty() {
        return Failover::None;
    }
    match status(expect, passive) {
        Status::Violated => Failover::NotReady,
        Status::Unknown => Failover::Unknown,
        Status::Holds => Failover::Ready,
    }
}

fn summary(report: &ExpectationReport, outcomes: &[BucketOutcome]) -> String {
    // The first bucket that does not give the expected answer, unknown ones included.
    match outcomes.iter().find(|o| !report.expect.met_by(o.report.decision)) {
        None => format!("all {} bucket(s) give the expected answer", outcomes.len()),
        Some(o) => format!("{} ({}): {}", o.report.bucket, o.report.decision.name(), o.report.reason),
    }
}

/// Expectations whose MRAP or endpoint the snapshot provably lacks: configuration errors for
/// `check` on a snapshot (the daemon reports them as findings instead).
pub fn missing_references(config: &Config, snapshot: &Snapshot) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (i, exp) in config.expectations.iter().enumerate() {
        let error = |key: &str, line: usize, message: String| ConfigError {
            file: config.file.clone(),
            line: Some(line),
            key: Some(format!("expect[{i}].{key}")),
            message,
        };
        if let Some(bucket) = &exp.bucket {
            if snapshot.mraps.value().is_some() && direct::locate(snapshot, bucket).is_none() {
                errors.push(error(
                    "bucket",
                    exp.mrap_line,
                    format!("the bucket `{bucket}` is in no MRAP of the snapshot and has no captured bucket policy"),
                ));
            }
        } else if let Some(mraps) = snapshot.mraps.value() {
            if !mraps.iter().any(|m| m.alias == exp.mrap || m.name == exp.mrap) {
                let known: Vec<String> = mraps.iter().map(|m| format!("`{}` ({})", m.alias, m.name)).collect();
                errors.push(error(
                    "mrap",
                    exp.mrap_line,
                    format!(
                        "the MRAP `{}` is not in the snapshot; it has {}",
                        exp.mrap,
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                ));
            }
        }
        if let Via::Endpoint(id) = &exp.via {
            if snapshot.endpoints_complete() && snapshot.endpoint(id).is_none() {
                errors.push(error(
                    "via",
                    exp.via_line,
                    format!("the endpoint `{id}` is not in any captured describe-vpc-endpoints file"),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use BucketDecision::*;

    #[test]
    fn a_cancelled_audit_stops_and_returns_nothing() {
        let config =
            crate::config::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/mrap-auditor.toml")))
                .unwrap();
        let snapshot = crate::source::dir::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/snapshots/example"
        )))
        .unwrap();
        let options = AuditOptions { at: Utc::now(), source: "snapshot".into(), snapshot_path: None };
        assert!(audit_until(&config, &snapshot, &options, &AtomicBool::new(true)).is_none());
        let whole = audit_until(&config, &snapshot, &options, &AtomicBool::new(false)).unwrap();
        assert_eq!(whole.expectations.len(), config.expectations.len());
    }

    #[test]
    fn verdict_status_failover_tables() {
        assert_eq!(verdict(&[Allow, Allow]), Verdict::Allow);
        assert_eq!(verdict(&[ImplicitDeny, ExplicitDeny]), Verdict::Deny);
        assert_eq!(verdict(&[Allow, ImplicitDeny]), Verdict::Intermittent);
        assert_eq!(verdict(&[Allow, Unknown]), Verdict::Unknown);
        assert_eq!(verdict(&[]), Verdict::Unknown);
        assert_eq!(status(Expect::Allow, &[Allow, ImplicitDeny]), Status::Violated);
        assert_eq!(
            status(Expect::Allow, &[Unknown, ImplicitDeny]),
            Status::Violated,
            "known contradiction wins over unknowns"
        );
        assert_eq!(status(Expect::Allow, &[Allow, Unknown]), Status::Unknown);
        assert_eq!(
            status(Expect::Deny, &[ExplicitDeny, Allow]),
            Status::Violated,
            "intermittent violates a deny expectation"
        );
        assert_eq!(status(Expect::Deny, &[ExplicitDeny, ImplicitDeny]), Status::Holds);
        assert_eq!(failover(Expect::Allow, &[]), Failover::None);
        assert_eq!(failover(Expect::Allow, &[Allow]), Failover::Ready);
        assert_eq!(failover(Expect::Allow, &[Unknown, Allow]), Failover::Unknown);
        assert_eq!(failover(Expect::Allow, &[Unknown, ExplicitDeny]), Failover::NotReady);
    }
}
