//! One capture of the live source: the concurrent reads, bounded by a semaphore, each turned
//! into its piece of the [`Snapshot`] or into a recorded failure. A read that panics is recorded
//! like any failed read; the others go on.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use chrono::{SecondsFormat, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::clients::Clients;
use super::errors::{CallError, Failure, classify};
use super::{
    AwsApi, AwsSettings, CaptureStats, DESCRIBE_VPC_ENDPOINTS, ENDPOINTS_PAGE_SIZE, GET_ACCOUNT_BPA, GET_BUCKET_BPA,
    GET_BUCKET_POLICY, GET_MRAP_POLICY, GET_MRAP_ROUTES, LIST_MRAPS, MRAPS_PAGE_SIZE, convert,
};
use crate::s3::MRAP_ENDPOINT_SERVICE;
use crate::snapshot::{
    AwsError, Captured, EndpointScope, Manifest, Mrap, MrapPolicy, MrapRoute, PublicAccessBlock, Snapshot, SourceError,
    VpcEndpoint,
};

/// Captures one snapshot, and says how many calls it took.
///
/// The reads run concurrently, at most `max_concurrency` calls at a time: the endpoints of
/// every region, the MRAP listing and the MRAP account's Block Public Access first; as soon as
/// the listing is in, each MRAP's policy and routes, each bucket's policy and Block Public
/// Access, and each other bucket-owner account's Block Public Access.
pub(super) async fn capture(settings: &AwsSettings, clients: &Clients) -> (Snapshot, CaptureStats) {
    let started = Instant::now();
    let cycle = Cycle::new(settings, clients);
    let mut snapshot = Snapshot::empty();
    snapshot.manifest = Captured::Value(Manifest {
        account_id: settings.account_id.clone(),
        partition: settings.partition.clone(),
        captured_at: Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
    });
    let mut tasks = Tasks::default();
    for region in &settings.endpoint_regions {
        tasks.spawn(Slot::Endpoints(region.clone()), cycle.clone().endpoints(region.clone()));
    }
    tasks.spawn(Slot::Mraps, cycle.clone().mraps());
    let own = settings.account_id.clone();
    tasks.spawn(Slot::AccountBpa(own.clone()), cycle.clone().account_bpa(own));

    let mut errors = Vec::new();
    while let Some((read, error)) = tasks.next().await {
        if let Read::Mraps(Captured::Value(mraps)) = &read {
            spawn_mrap_reads(&cycle, &mut tasks, mraps);
        }
        errors.extend(error);
        store(&mut snapshot, read);
    }
    errors.sort_by(|a: &SourceError, b| (&a.api, &a.resource, &a.code).cmp(&(&b.api, &b.resource, &b.code)));
    snapshot.errors = errors;
    let stats = CaptureStats {
        calls: cycle.calls.load(Ordering::Relaxed),
        failed_reads: snapshot.errors.len(),
        elapsed: started.elapsed(),
    };
    info!(
        account = %settings.account_id,
        calls = stats.calls,
        failed_reads = stats.failed_reads,
        elapsed_ms = u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
        "AWS capture finished."
    );
    (snapshot, stats)
}

/// The reads that need the MRAP listing.
fn spawn_mrap_reads(cycle: &Arc<Cycle>, tasks: &mut Tasks, mraps: &[Mrap]) {
    let settings = &cycle.settings;
    let own = settings.account_id.as_str();
    // A bucket may serve several MRAPs: read it once.
    let mut buckets: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for m in mraps {
        tasks.spawn(Slot::MrapPolicy(m.name.clone()), cycle.clone().mrap_policy(m.name.clone()));
        let arn = format!("arn:{}:s3::{own}:accesspoint/{}", settings.partition, m.alias);
        tasks.spawn(Slot::MrapRoutes(m.name.clone()), cycle.clone().mrap_routes(m.name.clone(), arn));
        for r in &m.regions {
            let owner = r.bucket_account_id.as_deref().unwrap_or(own);
            buckets.entry(r.bucket.as_str()).or_insert((settings.bucket_region(&r.region), owner));
        }
    }
    let mut other_owners = BTreeSet::new();
    for (bucket, (region, owner)) in buckets {
        let target = BucketTarget { bucket: bucket.to_string(), region: region.to_string(), owner: owner.to_string() };
        tasks.spawn(Slot::BucketPolicy(target.bucket.clone()), cycle.clone().bucket_policy(target.clone()));
        tasks.spawn(Slot::BucketBpa(target.bucket.clone()), cycle.clone().bucket_bpa(target));
        if owner != own {
            other_owners.insert(owner.to_string());
        }
    }
    for owner in other_owners {
        tasks.spawn(Slot::AccountBpa(owner.clone()), cycle.clone().account_bpa(owner));
    }
}

/// What one task read.
pub(super) enum Read {
    Endpoints { region: String, endpoints: Captured<Vec<VpcEndpoint>> },
    Mraps(Captured<Vec<Mrap>>),
    MrapPolicy { name: String, policy: Captured<MrapPolicy> },
    MrapRoutes { name: String, routes: Captured<Vec<MrapRoute>> },
    AccountBpa { account: String, bpa: Captured<Option<PublicAccessBlock>> },
    BucketPolicy { bucket: String, policy: Captured<Option<String>> },
    BucketBpa { bucket: String, bpa: Captured<Option<PublicAccessBlock>> },
}

/// What a task was reading: lets a task that stopped without an answer still be recorded where
/// its answer would have gone.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    Endpoints(String),
    Mraps,
    MrapPolicy(String),
    MrapRoutes(String),
    AccountBpa(String),
    BucketPolicy(String),
    BucketBpa(String),
}

impl Slot {
    fn api(&self) -> &'static AwsApi {
        match self {
            Slot::Endpoints(_) => &DESCRIBE_VPC_ENDPOINTS,
            Slot::Mraps => &LIST_MRAPS,
            Slot::MrapPolicy(_) => &GET_MRAP_POLICY,
            Slot::MrapRoutes(_) => &GET_MRAP_ROUTES,
            Slot::AccountBpa(_) => &GET_ACCOUNT_BPA,
            Slot::BucketPolicy(_) => &GET_BUCKET_POLICY,
            Slot::BucketBpa(_) => &GET_BUCKET_BPA,
        }
    }

    fn resource(&self) -> &str {
        match self {
            Slot::Mraps => "mraps",
            Slot::Endpoints(s)
            | Slot::MrapPolicy(s)
            | Slot::MrapRoutes(s)
            | Slot::AccountBpa(s)
            | Slot::BucketPolicy(s)
            | Slot::BucketBpa(s) => s,
        }
    }

    /// The read this slot stands for, holding `problem` (an AWS error, or an unreadable answer).
    fn failed(self, e: Captured<()>) -> Read {
        match self {
            Slot::Endpoints(region) => Read::Endpoints { region, endpoints: e.map(|()| Vec::new()) },
            Slot::Mraps => Read::Mraps(e.map(|()| Vec::new())),
            Slot::MrapPolicy(name) => Read::MrapPolicy { name, policy: e.map(|()| MrapPolicy::default()) },
            Slot::MrapRoutes(name) => Read::MrapRoutes { name, routes: e.map(|()| Vec::new()) },
            Slot::AccountBpa(account) => Read::AccountBpa { account, bpa: e.map(|()| None) },
            Slot::BucketPolicy(bucket) => Read::BucketPolicy { bucket, policy: e.map(|()| None) },
            Slot::BucketBpa(bucket) => Read::BucketBpa { bucket, bpa: e.map(|()| None) },
        }
    }
}

pub(super) fn store(snapshot: &mut Snapshot, read: Read) {
    match read {
        Read::Endpoints { region, endpoints } => {
            snapshot.endpoints.insert(EndpointScope { account: None, region }, endpoints);
        }
        Read::Mraps(mraps) => snapshot.mraps = mraps,
        Read::MrapPolicy { name, policy } => {
            snapshot.mrap_policies.insert(name, policy);
        }
        Read::MrapRoutes { name, routes } => {
            snapshot.mrap_routes.insert(name, routes);
        }
        Read::AccountBpa { account, bpa } => {
            snapshot.account_bpa.insert(account, bpa);
        }
        Read::BucketPolicy { bucket, policy } => {
            snapshot.bucket_policies.insert(bucket, policy);
        }
        Read::BucketBpa { bucket, bpa } => {
            snapshot.bucket_bpa.insert(bucket, bpa);
        }
    }
}

pub(super) type TaskOutput = (Read, Option<SourceError>);

/// The capture's running reads. Dropping it (a daemon cycle timing out) aborts them all.
#[derive(Default)]
pub(super) struct Tasks {
    set: JoinSet<TaskOutput>,
    slots: HashMap<tokio::task::Id, Slot>,
}

impl Tasks {
    pub(super) fn spawn(&mut self, slot: Slot, read: impl Future<Output = TaskOutput> + Send + 'static) {
        let handle = self.set.spawn(read);
        self.slots.insert(handle.id(), slot);
    }

    /// The next finished read; a read that panicked is recorded as an `InternalError`.
    pub(super) async fn next(&mut self) -> Option<TaskOutput> {
        loop {
            match self.set.join_next_with_id().await? {
                Ok((id, output)) => {
                    self.slots.remove(&id);
                    return Some(output);
                }
                Err(e) => {
                    let Some(slot) = self.slots.remove(&e.id()) else { continue };
                    let error = CallError {
                        failure: Failure::Unexpected,
                        code: "InternalError".to_string(),
                        message: format!("the read stopped unexpectedly: {e}"),
                        request_id: None,
                    };
                    return Some(fail(slot, error));
                }
            }
        }
    }
}

/// A bucket to read, in its region, with its owner's credentials.
#[derive(Debug, Clone)]
pub(super) struct BucketTarget {
    pub(super) bucket: String,
    pub(super) region: String,
    pub(super) owner: String,
}

/// One capture's shared state.
pub(super) struct Cycle {
    pub(super) settings: AwsSettings,
    clients: Clients,
    /// Bounds the calls in flight to `[aws] max_concurrency`: AWS throttles per account and API,
    /// and a few hundred buckets must not become a few hundred simultaneous requests.
    permits: Semaphore,
    /// Calls made, for `CaptureStats` (and the README's call count, which the tests check).
    calls: AtomicUsize,
    /// Clients built once per capture, by account and region.
    cache: Mutex<ClientCache>,
}

type AccountRegion = (String, String);

#[derive(Default)]
pub(super) struct ClientCache {
    s3: HashMap<AccountRegion, aws_sdk_s3::Client>,
    s3control: HashMap<AccountRegion, aws_sdk_s3control::Client>,
    ec2: HashMap<AccountRegion, aws_sdk_ec2::Client>,
}

impl Cycle {
    pub(super) fn new(settings: &AwsSettings, clients: &Clients) -> Arc<Cycle> {
        Arc::new(Cycle {
            settings: settings.clone(),
            clients: clients.clone(),
            permits: Semaphore::new(settings.max_concurrency),
            calls: AtomicUsize::new(0),
            cache: Mutex::new(ClientCache::default()),
        })
    }

    /// Calls made so far.
    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, ClientCache> {
        // A poisoned lock only means another read panicked; the clients are still good.
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn s3(&self, account: &str, region: &str) -> aws_sdk_s3::Client {
        let key = (account.to_string(), region.to_string());
        self.cache().s3.entry(key).or_insert_with(|| self.clients.s3(account, region)).clone()
    }

    fn s3control(&self, account: &str, region: &str) -> aws_sdk_s3control::Client {
        let key = (account.to_string(), region.to_string());
        self.cache().s3control.entry(key).or_insert_with(|| self.clients.s3control(account, region)).clone()
    }

    fn ec2(&self, account: &str, region: &str) -> aws_sdk_ec2::Client {
        let key = (account.to_string(), region.to_string());
        self.cache().ec2.entry(key).or_insert_with(|| self.clients.ec2(account, region)).clone()
    }

    /// One API call: waits for a permit, counts the call, classifies a failure.
    async fn call<T, E>(
        &self,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T, CallError>
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let Ok(_permit) = self.permits.acquire().await else {
            return Err(CallError {
                failure: Failure::Unexpected,
                code: "InternalError".to_string(),
                message: "the capture's call limiter was closed".to_string(),
                request_id: None,
            });
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        request.await.map_err(|e| classify(&e))
    }

    /// `DescribeVpcEndpoints`, every page, in one region: the MRAP endpoints and the named ones.
    pub(super) async fn endpoints(self: Arc<Self>, region: String) -> TaskOutput {
        let client = self.ec2(&self.settings.account_id, &region);
        let mut kept = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = HashSet::new();
        loop {
            let request =
                client.describe_vpc_endpoints().max_results(ENDPOINTS_PAGE_SIZE).set_next_token(token.clone()).send();
            let page = match self.call(request).await {
                Ok(page) => page,
                Err(e) => return fail(Slot::Endpoints(region), e),
            };
            kept.extend(page.vpc_endpoints().iter().filter_map(convert::endpoint).filter(|e| {
                e.service_name.as_deref() == Some(MRAP_ENDPOINT_SERVICE)
                    || self.settings.named_endpoints.contains(&e.id)
            }));
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            match &token {
                None => break,
                Some(t) if !seen.insert(t.clone()) => return fail(Slot::Endpoints(region), pagination_loop()),
                Some(_) => {}
            }
        }
        kept.sort_by(|a, b| a.id.cmp(&b.id));
        (Read::Endpoints { region, endpoints: Captured::Value(kept) }, None)
    }

    /// `ListMultiRegionAccessPoints`, every page (the listing carries each MRAP's status, Block
    /// Public Access and buckets, so `GetMultiRegionAccessPoint` would only repeat it).
    pub(super) async fn mraps(self: Arc<Self>) -> TaskOutput {
        let account = &self.settings.account_id;
        let client = self.s3control(account, self.settings.control_region());
        let mut mraps = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = HashSet::new();
        loop {
            let request = client
                .list_multi_region_access_points()
                .account_id(account)
                .max_results(MRAPS_PAGE_SIZE)
                .set_next_token(token.clone())
                .send();
            let page = match self.call(request).await {
                Ok(page) => page,
                Err(e) => return fail(Slot::Mraps, e),
            };
            for report in page.access_points() {
                match convert::mrap(report) {
                    Ok(m) => mraps.push(m),
                    Err(reason) => return invalid(Slot::Mraps, reason),
                }
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            match &token {
                None => break,
                Some(t) if !seen.insert(t.clone()) => return fail(Slot::Mraps, pagination_loop()),
                Some(_) => {}
            }
        }
        (Read::Mraps(Captured::Value(mraps)), None)
    }

    /// `GetMultiRegionAccessPointPolicy`: the Established and the Proposed policy.
    pub(super) async fn mrap_policy(self: Arc<Self>, name: String) -> TaskOutput {
        let account = &self.settings.account_id;
        let client = self.s3control(account, self.settings.control_region());
        let request = client.get_multi_region_access_point_policy().account_id(account).name(&name).send();
        match self.call(request).await {
            Ok(out) => {
                let doc = out.policy();
                let policy = MrapPolicy {
                    established: doc.and_then(|d| d.established()).and_then(|p| p.policy()).map(str::to_string),
                    proposed: doc.and_then(|d| d.proposed()).and_then(|p| p.policy()).map(str::to_string),
                };
                (Read::MrapPolicy { name, policy: Captured::Value(policy) }, None)
            }
            Err(e) => fail(Slot::MrapPolicy(name), e),
        }
    }

    /// `GetMultiRegionAccessPointRoutes`, from the first of the five serving regions that
    /// answers. A refusal or another 4xx would be the same in every region: it ends the search.
    pub(super) async fn mrap_routes(self: Arc<Self>, name: String, arn: String) -> TaskOutput {
        let account = &self.settings.account_id;
        let mut tried: Vec<String> = Vec::new();
        let mut last = None;
        for region in self.settings.routes_regions() {
            let client = self.s3control(account, region);
            let request = client.get_multi_region_access_point_routes().account_id(account).mrap(&arn).send();
            match self.call(request).await {
                Ok(out) => {
                    let routes: Result<Vec<MrapRoute>, String> = out.routes().iter().map(convert::route).collect();
                    return match routes {
                        Ok(routes) => (Read::MrapRoutes { name, routes: Captured::Value(routes) }, None),
                        Err(reason) => invalid(Slot::MrapRoutes(name), reason),
                    };
                }
                Err(e) => {
                    debug!(mrap = %name, region, code = %e.code, "Routes not read in this region.");
                    tried.push(format!("{region}: {}", e.code));
                    let next = e.failure.another_region_may_answer();
                    last = Some(e);
                    if !next {
                        break;
                    }
                }
            }
        }
        let Some(mut e) = last else {
            return invalid(Slot::MrapRoutes(name), "no region serves the routes API".to_string());
        };
        if tried.len() > 1 {
            e.message = format!("{} (regions tried: {})", e.message, tried.join(", "));
        }
        fail(Slot::MrapRoutes(name), e)
    }

    /// S3 Control `GetPublicAccessBlock` for one account, with that account's credentials.
    pub(super) async fn account_bpa(self: Arc<Self>, account: String) -> TaskOutput {
        let client = self.s3control(&account, self.settings.control_region());
        let request = client.get_public_access_block().account_id(&account).send();
        match self.call(request).await {
            Ok(out) => {
                let bpa = match out.public_access_block_configuration().map(convert::account_bpa) {
                    Some(Ok(b)) => Captured::Value(Some(b)),
                    Some(Err(why)) => Captured::Invalid(why),
                    None => Captured::Invalid("the response has no `PublicAccessBlockConfiguration`".into()),
                };
                (Read::AccountBpa { account, bpa }, None)
            }
            Err(e) if GET_ACCOUNT_BPA.none_code == Some(e.code.as_str()) => {
                (Read::AccountBpa { account, bpa: Captured::Value(None) }, None)
            }
            Err(e) => fail(Slot::AccountBpa(account), e),
        }
    }

    /// `GetBucketPolicy` in the bucket's region, as its owner (`ExpectedBucketOwner`).
    pub(super) async fn bucket_policy(self: Arc<Self>, t: BucketTarget) -> TaskOutput {
        let client = self.s3(&t.owner, &t.region);
        let request = client.get_bucket_policy().bucket(&t.bucket).expected_bucket_owner(&t.owner).send();
        match self.call(request).await {
            Ok(out) => {
                let policy = out.policy().map(str::to_string);
                (Read::BucketPolicy { bucket: t.bucket, policy: Captured::Value(policy) }, None)
            }
            Err(e) if GET_BUCKET_POLICY.none_code == Some(e.code.as_str()) => {
                (Read::BucketPolicy { bucket: t.bucket, policy: Captured::Value(None) }, None)
            }
            Err(e) => fail(Slot::BucketPolicy(t.bucket), e),
        }
    }

    /// S3 `GetPublicAccessBlock` in the bucket's region, as its owner.
    pub(super) async fn bucket_bpa(self: Arc<Self>, t: BucketTarget) -> TaskOutput {
        let client = self.s3(&t.owner, &t.region);
        let request = client.get_public_access_block().bucket(&t.bucket).expected_bucket_owner(&t.owner).send();
        match self.call(request).await {
            Ok(out) => {
                let bpa = match out.public_access_block_configuration().map(convert::bucket_bpa) {
                    Some(Ok(b)) => Captured::Value(Some(b)),
                    Some(Err(why)) => Captured::Invalid(why),
                    None => Captured::Invalid("the response has no `PublicAccessBlockConfiguration`".into()),
                };
                (Read::BucketBpa { bucket: t.bucket, bpa }, None)
            }
            Err(e) if GET_BUCKET_BPA.none_code == Some(e.code.as_str()) => {
                (Read::BucketBpa { bucket: t.bucket, bpa: Captured::Value(None) }, None)
            }
            Err(e) => fail(Slot::BucketBpa(t.bucket), e),
        }
    }
}

fn pagination_loop() -> CallError {
    CallError {
        failure: Failure::Unexpected,
        code: "PaginationLoop".to_string(),
        message: "AWS returned a `NextToken` it had already returned".to_string(),
        request_id: None,
    }
}

/// Logs a failed read once, with what an operator needs to find it in CloudTrail.
fn failed(api: &AwsApi, resource: &str, e: CallError) -> (AwsError, SourceError) {
    warn!(
        api = %api.name,
        resource = %resource,
        code = %e.code,
        request_id = e.request_id.as_deref().unwrap_or("-"),
        failure = ?e.failure,
        message = %e.message,
        "AWS read failed; what depends on it is unknown this cycle."
    );
    let aws_error = AwsError { code: e.code.clone(), message: e.message.clone() };
    let source_error = SourceError {
        api: api.name.to_string(),
        code: e.code,
        resource: resource.to_string(),
        message: e.message,
        request_id: e.request_id,
    };
    (aws_error, source_error)
}

fn fail(slot: Slot, e: CallError) -> TaskOutput {
    let (aws_error, source_error) = failed(slot.api(), slot.resource(), e);
    (slot.failed(Captured::AwsError(aws_error)), Some(source_error))
}

/// A response the audit cannot use: unreadable (like a bad snapshot file), and recorded like any
/// failed read.
fn invalid(slot: Slot, reason: String) -> TaskOutput {
    let e = CallError {
        failure: Failure::Unexpected,
        code: "InvalidResponse".to_string(),
        message: reason.clone(),
        request_id: None,
    };
    let (_, source_error) = failed(slot.api(), slot.resource(), e);
    (slot.failed(Captured::Invalid(reason)), Some(source_error))
}
