//! The live AWS source against SDK-level mocks (`aws-smithy-mocks`): no network, no AWS.
//!
//! The real SDK clients run (serialization, signing, retries, timeouts, error parsing); only the
//! HTTP exchange is replaced. Answers are modeled outputs, or raw HTTP responses with AWS's own
//! error bodies so that error codes and request ids are parsed as in production. A recording HTTP
//! client around the mock sees every request: its region (host), its credentials (the access key
//! in `Authorization`), and how many were in flight; it also plays STS for `AssumeRole` and can
//! hang a request to prove the timeout.
//!
//! What this cannot prove, and tests/aws_moto.rs does against an emulator: the XML the real
//! services send for success responses, and the request shapes a server accepts.

#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, IdentityCache, SharedCredentialsProvider, SharedInterceptor};
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use mrap_auditor::snapshot::{AwsError, Captured, EndpointScope, MrapPolicy, PublicAccessBlock, Snapshot};
use mrap_auditor::source::aws::{AwsSettings, AwsSource, CaptureStats};
use mrap_auditor::source::dir;

const OWN: &str = "111111111111";
const OTHER: &str = "222222222222";
const OTHER_ROLE: &str = "arn:aws:iam::222222222222:role/mrap-auditor-bucket-reader";
const AUDITOR_KEY: &str = "AKIDAUDITOR";
const ROLE_KEY: &str = "ASIAROLE222222222222";
const REPORTS_ALIAS: &str = "mfzwi23gnjvgw.mrap";
const ARCHIVE_ALIAS: &str = "a1b2c3d4e5f6g.mrap";
const MRAP_SERVICE: &str = "com.amazonaws.s3-global.accesspoint";

// ---------- the recording HTTP client ----------

#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    /// The access key id the request was signed with.
    key: String,
}

#[derive(Debug, Default)]
struct Wire {
    seen: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    sts_calls: AtomicUsize,
    /// Requests whose URI contains this never get an answer.
    hang: Mutex<Option<String>>,
    /// Requests whose URI contains this panic (a bug in a read).
    panic_on: Mutex<Option<String>>,
    /// Every answer waits this long (to observe concurrency).
    delay: Mutex<Option<Duration>>,
}

impl Wire {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn matching(&self, needle: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.uri.contains(needle)).collect()
    }
}

#[derive(Debug, Clone)]
struct Recorder {
    inner: SharedHttpClient,
    wire: Arc<Wire>,
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    wire: Arc<Wire>,
}

impl HttpClient for Recorder {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
            wire: self.wire.clone(),
        })
    }
}

const STS_RESPONSE: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAROLE222222222222</AccessKeyId>
      <SecretAccessKey>role-secret</SecretAccessKey>
      <SessionToken>role-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::222222222222:assumed-role/mrap-auditor-bucket-reader/mrap-auditor</Arn>
      <AssumedRoleId>AROAEXAMPLE:mrap-auditor</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>sts-request-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let uri = request.uri().to_string();
        let auth = request.headers().get("authorization").unwrap_or_default();
        let key = auth.split("Credential=").nth(1).and_then(|c| c.split('/').next()).unwrap_or_default().to_string();
        self.wire.seen.lock().unwrap().push(Seen { uri: uri.clone(), key });
        if uri.contains("://sts.") {
            self.wire.sts_calls.fetch_add(1, Ordering::SeqCst);
            let response = HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(STS_RESPONSE));
            return HttpConnectorFuture::ready(Ok(response));
        }
        if self.wire.panic_on.lock().unwrap().as_deref().is_some_and(|h| uri.contains(h)) {
            panic!("a read panics (test)");
        }
        if self.wire.hang.lock().unwrap().as_deref().is_some_and(|h| uri.contains(h)) {
            return HttpConnectorFuture::new(std::future::pending());
        }
        let delay = *self.wire.delay.lock().unwrap();
        let wire = self.wire.clone();
        let answer = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let now = wire.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            wire.max_in_flight.fetch_max(now, Ordering::SeqCst);
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let response = answer.await;
            wire.in_flight.fetch_sub(1, Ordering::SeqCst);
            response
        })
    }
}

// ---------- AWS's answers ----------

fn response(status: u16, body: String, request_id: &str) -> HttpResponse {
    let mut r = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    r.headers_mut().insert("x-amz-request-id", request_id.to_string());
    r
}

/// An S3 error response (REST-XML, unwrapped).
fn s3_error(status: u16, code: &str, request_id: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{code} (mock)</Message><RequestId>{request_id}</RequestId></Error>"
    );
    response(status, body, request_id)
}

/// An S3 Control error response (REST-XML, wrapped).
fn s3control_error(status: u16, code: &str, request_id: &str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse><Error><Code>{code}</Code><Message>{code} (mock)</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    );
    response(status, body, request_id)
}

/// An EC2 error response (query protocol; the SDK reads the request id from the header).
fn ec2_error(status: u16, code: &str, request_id: &str) -> HttpResponse {
    let body = format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{code} (mock)</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
    );
    let mut r = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    r.headers_mut().insert("x-amzn-requestid", request_id.to_string());
    r
}

fn policy(sid: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111111111111:root"}},"Action":"s3:GetObject","Resource":"*"}}]}}"#
    )
}

fn endpoint(id: &str, service: &str, kind: aws_sdk_ec2::types::VpcEndpointType) -> aws_sdk_ec2::types::VpcEndpoint {
    aws_sdk_ec2::types::VpcEndpoint::builder()
        .vpc_endpoint_id(id)
        .vpc_endpoint_type(kind)
        .vpc_id("vpc-0a1b2c3d")
        .service_name(service)
        .state(aws_sdk_ec2::types::State::from("available"))
        .policy_document(policy("Endpoint"))
        .owner_id(OWN)
        .build()
}

fn mrap_report(
    name: &str,
    alias: &str,
    buckets: &[(&str, &str, &str)],
) -> aws_sdk_s3control::types::MultiRegionAccessPointReport {
    use aws_sdk_s3control::types::{
        MultiRegionAccessPointReport, MultiRegionAccessPointStatus, PublicAccessBlockConfiguration, RegionReport,
    };
    let mut b = MultiRegionAccessPointReport::builder()
        .name(name)
        .alias(alias)
        .status(MultiRegionAccessPointStatus::Ready)
        .public_access_block(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        );
    for (bucket, region, account) in buckets {
        b = b.regions(RegionReport::builder().bucket(*bucket).region(*region).bucket_account_id(*account).build());
    }
    b.build()
}

fn all_on() -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    }
}

/// The default world: two MRAPs over two pages, three buckets (archive-euw1 in another account, reports-use1 shared
/// by both MRAPs), endpoints over two pages, and the "none" answers.
fn world() -> Vec<Rule> {
    use aws_sdk_ec2::types::VpcEndpointType::{Gateway, Interface};
    let mut rules = Vec::new();

    // EC2: two pages in us-east-1.
    rules.push(
        mock!(aws_sdk_ec2::Client::describe_vpc_endpoints).match_requests(|r| r.next_token().is_none()).then_output(
            || {
                aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput::builder()
                    .vpc_endpoints(endpoint("vpce-0a1b2c3d4e5f60718", MRAP_SERVICE, Interface))
                    .vpc_endpoints(endpoint("vpce-0aaaaaaaaaaaaaaa1", "com.amazonaws.us-east-1.s3", Gateway))
                    .next_token("endpoints-page-2")
                    .build()
            },
        ),
    );
    rules.push(
        mock!(aws_sdk_ec2::Client::describe_vpc_endpoints)
            .match_requests(|r| r.next_token() == Some("endpoints-page-2"))
            .then_output(|| {
                aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput::builder()
                    .vpc_endpoints(endpoint("vpce-0bbbbbbbbbbbbbbb2", "com.amazonaws.us-east-1.s3", Interface))
                    .vpc_endpoints(endpoint("vpce-0ccccccccccccccc3", "com.amazonaws.us-east-1.sqs", Interface))
                    .build()
            }),
    );

    // S3 Control: the listing over two pages.
    rules.push(
        mock!(aws_sdk_s3control::Client::list_multi_region_access_points)
            .match_requests(|r| r.account_id() == Some(OWN) && r.next_token().is_none())
            .then_output(|| {
                aws_sdk_s3control::operation::list_multi_region_access_points::ListMultiRegionAccessPointsOutput::builder()
                    .access_points(mrap_report(
                        "reports",
                        REPORTS_ALIAS,
                        &[("reports-use1", "us-east-1", OWN), ("reports-usw2", "us-west-2", OWN)],
                    ))
                    .next_token("mraps-page-2")
                    .build()
            }),
    );
    rules.push(
        mock!(aws_sdk_s3control::Client::list_multi_region_access_points)
            .match_requests(|r| r.next_token() == Some("mraps-page-2"))
            .then_output(|| {
                aws_sdk_s3control::operation::list_multi_region_access_points::ListMultiRegionAccessPointsOutput::builder()
                    .access_points(mrap_report(
                        "archive",
                        ARCHIVE_ALIAS,
                        &[("archive-euw1", "eu-west-1", OTHER), ("reports-use1", "us-east-1", OWN)],
                    ))
                    .build()
            }),
    );
    rules.push(mock!(aws_sdk_s3control::Client::get_multi_region_access_point_policy).then_compute_output(|r| {
        use aws_sdk_s3control::types::{
            EstablishedMultiRegionAccessPointPolicy, MultiRegionAccessPointPolicyDocument,
            ProposedMultiRegionAccessPointPolicy,
        };
        let name = r.name().unwrap_or_default();
        let mut doc = MultiRegionAccessPointPolicyDocument::builder()
            .established(EstablishedMultiRegionAccessPointPolicy::builder().policy(policy(&format!("{name}-e"))).build());
        if name == "reports" {
            doc = doc.proposed(ProposedMultiRegionAccessPointPolicy::builder().policy(policy("reports-p")).build());
        }
        aws_sdk_s3control::operation::get_multi_region_access_point_policy::GetMultiRegionAccessPointPolicyOutput::builder()
            .policy(doc.build())
            .build()
    }));
    rules.push(mock!(aws_sdk_s3control::Client::get_multi_region_access_point_routes).then_compute_output(|r| {
        use aws_sdk_s3control::types::MultiRegionAccessPointRoute;
        let route = |bucket: &str, region: &str, dial| {
            MultiRegionAccessPointRoute::builder().bucket(bucket).region(region).traffic_dial_percentage(dial).build().unwrap()
        };
        let routes = if r.mrap().unwrap_or_default().ends_with(REPORTS_ALIAS) {
            vec![route("reports-use1", "us-east-1", 100), route("reports-usw2", "us-west-2", 0)]
        } else {
            vec![route("archive-euw1", "eu-west-1", 100), route("reports-use1", "us-east-1", 100)]
        };
        aws_sdk_s3control::operation::get_multi_region_access_point_routes::GetMultiRegionAccessPointRoutesOutput::builder()
            .set_mrap(r.mrap().map(str::to_string))
            .set_routes(Some(routes))
            .build()
    }));
    // Account Block Public Access: none in the MRAP account, all on in the bucket owner's.
    rules.push(
        mock!(aws_sdk_s3control::Client::get_public_access_block)
            .match_requests(|r| r.account_id() == Some(OWN))
            .then_http_response(|| s3control_error(404, "NoSuchPublicAccessBlockConfiguration", "bpa-own")),
    );
    rules.push(
        mock!(aws_sdk_s3control::Client::get_public_access_block)
            .match_requests(|r| r.account_id() == Some(OTHER))
            .then_output(|| {
                aws_sdk_s3control::operation::get_public_access_block::GetPublicAccessBlockOutput::builder()
                    .public_access_block_configuration(
                        aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .ignore_public_acls(true)
                            .block_public_policy(true)
                            .restrict_public_buckets(true)
                            .build(),
                    )
                    .build()
            }),
    );

    // S3: reports-usw2 has no bucket policy and no Block Public Access.
    rules.push(
        mock!(aws_sdk_s3::Client::get_bucket_policy)
            .match_requests(|r| r.bucket() == Some("reports-usw2"))
            .then_http_response(|| s3_error(404, "NoSuchBucketPolicy", "policy-b2")),
    );
    rules.push(mock!(aws_sdk_s3::Client::get_bucket_policy).then_compute_output(|r| {
        aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput::builder()
            .policy(policy(r.bucket().unwrap_or_default()))
            .build()
    }));
    rules.push(
        mock!(aws_sdk_s3::Client::get_public_access_block)
            .match_requests(|r| r.bucket() == Some("reports-usw2"))
            .then_http_response(|| s3_error(404, "NoSuchPublicAccessBlockConfiguration", "bpa-b2")),
    );
    rules.push(mock!(aws_sdk_s3::Client::get_public_access_block).then_output(|| {
        aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput::builder()
            .public_access_block_configuration(
                aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .build()
    }));
    rules
}

// ---------- the source under test ----------

fn settings() -> AwsSettings {
    AwsSettings {
        account_id: OWN.into(),
        partition: "aws".into(),
        endpoint_regions: vec!["us-east-1".into()],
        named_endpoints: BTreeSet::from(["vpce-0bbbbbbbbbbbbbbb2".to_string()]),
        assume_role_arns: BTreeMap::from([(OTHER.to_string(), OTHER_ROLE.to_string())]),
        max_concurrency: 8,
        call_timeout: Duration::from_secs(5),
        emulator_url: None,
    }
}

fn base_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(AUDITOR_KEY, "auditor-secret", None, None, "test"))
}

/// An SDK configuration as aws-config builds one, around the recording mock HTTP client, with
/// millisecond retry back-off so that three attempts take no time.
fn sdk_config(wire: &Arc<Wire>, credentials: SharedCredentialsProvider) -> SdkConfig {
    let http = SharedHttpClient::new(Recorder { inner: create_mock_http_client(), wire: wire.clone() });
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .identity_cache(IdentityCache::lazy().build())
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .time_source(SharedTimeSource::new(SystemTimeSource::new()))
        .build()
}

struct Run {
    snapshot: Snapshot,
    stats: CaptureStats,
    wire: Arc<Wire>,
}

/// A source whose mocks answer with `first`, then the default world's rules.
async fn source_with(
    settings: AwsSettings,
    first: Vec<Rule>,
    wire: &Arc<Wire>,
    credentials: SharedCredentialsProvider,
) -> AwsSource {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in first.iter().chain(world().iter()) {
        interceptor = interceptor.with_rule(rule);
    }
    AwsSource::new(settings, sdk_config(wire, credentials)).await.with_interceptor(SharedInterceptor::new(interceptor))
}

/// Captures once: `first` rules win over the default world's.
async fn capture_with(
    settings: AwsSettings,
    first: Vec<Rule>,
    wire: Arc<Wire>,
    credentials: SharedCredentialsProvider,
) -> Run {
    let source = source_with(settings, first, &wire, credentials).await;
    let (snapshot, stats) = source.capture_with_stats().await;
    Run { snapshot, stats, wire }
}

async fn capture(first: Vec<Rule>) -> Run {
    capture_with(settings(), first, Arc::new(Wire::default()), base_credentials()).await
}

fn aws_error<T: std::fmt::Debug>(c: Option<&Captured<T>>) -> AwsError {
    match c {
        Some(Captured::AwsError(e)) => e.clone(),
        other => panic!("expected an AWS error, got {other:?}"),
    }
}

// ---------- the tests ----------

#[tokio::test]
async fn reads_every_page_every_policy_and_the_none_answers() {
    let run = capture(Vec::new()).await;
    let s = &run.snapshot;
    assert_eq!(s.errors, vec![], "nothing failed");

    let manifest = s.manifest.value().unwrap();
    assert_eq!((manifest.account_id.as_str(), manifest.partition.as_str()), (OWN, "aws"));
    assert!(manifest.captured_at.as_deref().is_some_and(|t| t.ends_with('Z')));

    // Both listing pages; reports-use1 is in both MRAPs but read once.
    let mraps = s.mraps.value().unwrap();
    assert_eq!(mraps.iter().map(|m| m.alias.as_str()).collect::<Vec<_>>(), [REPORTS_ALIAS, ARCHIVE_ALIAS]);
    assert_eq!(mraps[1].regions[0].bucket_account_id.as_deref(), Some(OTHER));
    assert_eq!(mraps[0].public_access_block, Some(all_on()));
    assert_eq!(mraps[0].status.as_deref(), Some("READY"));

    // Both endpoint pages; kept: the MRAP endpoint and the one an expectation names.
    let scope = EndpointScope { account: None, region: "us-east-1".into() };
    let endpoints = s.endpoints[&scope].value().unwrap();
    let ids: Vec<&str> = endpoints.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["vpce-0a1b2c3d4e5f60718", "vpce-0bbbbbbbbbbbbbbb2"]);
    assert_eq!(endpoints[0].state.as_deref(), Some("available"));
    assert_eq!(endpoints[0].endpoint_type.as_deref(), Some("Interface"));
    assert!(endpoints[0].policy_document.as_deref().is_some_and(|p| p.contains("Endpoint")));

    // Established and Proposed; an MRAP without a Proposed policy has none.
    assert_eq!(
        s.mrap_policies["reports"],
        Captured::Value(MrapPolicy { established: Some(policy("reports-e")), proposed: Some(policy("reports-p")) })
    );
    assert_eq!(s.mrap_policies["archive"].value().unwrap().proposed, None);
    let routes = s.mrap_routes["reports"].value().unwrap();
    assert_eq!(routes.iter().map(|r| r.traffic_dial_percentage).collect::<Vec<_>>(), [100, 0]);

    // The "none" answers are values, not errors.
    assert_eq!(s.account_bpa[OWN], Captured::Value(None));
    assert_eq!(s.account_bpa[OTHER], Captured::Value(Some(all_on())));
    assert_eq!(s.bucket_policies["reports-usw2"], Captured::Value(None));
    assert_eq!(s.bucket_bpa["reports-usw2"], Captured::Value(None));
    assert_eq!(s.bucket_policies["reports-use1"], Captured::Value(Some(policy("reports-use1"))));
    assert_eq!(s.bucket_policies.len(), 3);

    // The README's count: Σ endpoint pages + listing pages + 2 per MRAP + 1 per account + 2 per bucket.
    let (endpoint_pages, listing_pages, mraps, accounts, buckets) = (2, 2, 2, 2, 3);
    assert_eq!(run.stats.calls, endpoint_pages + listing_pages + 2 * mraps + accounts + 2 * buckets);
    assert_eq!(run.wire.seen().len(), run.stats.calls + 1, "the calls plus one STS AssumeRole, no retries");
}

#[tokio::test]
async fn calls_go_to_the_right_regions_with_the_account_host_prefix() {
    let run = capture(Vec::new()).await;
    let hosts: Vec<String> = run.wire.seen().iter().map(|s| s.uri.clone()).collect();
    let control: Vec<&String> = hosts.iter().filter(|u| u.contains("s3-control")).collect();
    assert!(!control.is_empty());
    for uri in &control {
        // The MRAP APIs and account Block Public Access in us-west-2; routes from us-east-1 first.
        let region = if uri.ends_with("/routes") { "us-east-1" } else { "us-west-2" };
        assert!(uri.contains(&format!(".s3-control.{region}.amazonaws.com")), "{uri}");
        assert!(uri.starts_with(&format!("https://{OWN}.")) || uri.starts_with(&format!("https://{OTHER}.")), "{uri}");
    }
    // Each bucket in its own region (virtual-hosted style, as against AWS).
    for (bucket, region) in
        [("reports-use1", "us-east-1"), ("reports-usw2", "us-west-2"), ("archive-euw1", "eu-west-1")]
    {
        let calls = run.wire.matching(&format!("https://{bucket}.s3."));
        assert_eq!(calls.len(), 2, "policy and Block Public Access of {bucket}");
        for c in calls {
            assert!(c.uri.contains(&format!(".s3.{region}.amazonaws.com")), "{bucket}: {}", c.uri);
        }
    }
    assert_eq!(run.wire.matching("ec2.us-east-1.amazonaws.com").len(), 2);
}

#[tokio::test]
async fn a_cross_account_bucket_is_read_with_the_assumed_role() {
    let run = capture(Vec::new()).await;
    let theirs = run.wire.matching("https://archive-euw1.s3.");
    assert_eq!(theirs.len(), 2);
    assert!(theirs.iter().all(|s| s.key == ROLE_KEY), "{theirs:?}");
    let other_account_bpa = run.wire.matching(&format!("https://{OTHER}.s3-control"));
    assert_eq!(other_account_bpa.len(), 1);
    assert_eq!(other_account_bpa[0].key, ROLE_KEY);
    // Everything of the MRAP account is read with the auditor's own credentials.
    for s in run.wire.seen().iter().filter(|s| !s.uri.contains("://sts.")) {
        let theirs = s.uri.contains("https://archive-euw1.") || s.uri.contains(OTHER);
        assert_eq!(s.key, if theirs { ROLE_KEY } else { AUDITOR_KEY }, "{}", s.uri);
    }
    // One role session for the three calls (the SDK's identity cache).
    assert_eq!(run.wire.sts_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_role_session_outlives_the_cycle() {
    let wire = Arc::new(Wire::default());
    let source = source_with(settings(), Vec::new(), &wire, base_credentials()).await;
    for _ in 0..3 {
        assert_eq!(source.capture().await.errors, vec![]);
    }
    assert_eq!(wire.sts_calls.load(Ordering::SeqCst), 1, "one AssumeRole for three cycles");
}

#[tokio::test]
async fn each_error_marks_only_its_resource_with_code_and_request_id() {
    // (name, rule, slot, api, code, request id)
    type Case = (&'static str, Rule, &'static str, &'static str, &'static str, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (
            "bucket policy AccessDenied",
            mock!(aws_sdk_s3::Client::get_bucket_policy)
                .match_requests(|r| r.bucket() == Some("reports-use1"))
                .then_http_response(|| s3_error(403, "AccessDenied", "req-denied")),
            "policy:reports-use1",
            "GetBucketPolicy",
            "AccessDenied",
            Some("req-denied"),
        ),
        (
            "bucket policy SlowDown after the SDK's retries",
            mock!(aws_sdk_s3::Client::get_bucket_policy)
                .match_requests(|r| r.bucket() == Some("reports-use1"))
                .then_http_response(|| s3_error(503, "SlowDown", "req-slow")),
            "policy:reports-use1",
            "GetBucketPolicy",
            "SlowDown",
            Some("req-slow"),
        ),
        (
            "bucket Block Public Access InternalError",
            mock!(aws_sdk_s3::Client::get_public_access_block)
                .match_requests(|r| r.bucket() == Some("archive-euw1"))
                .then_http_response(|| s3_error(500, "InternalError", "req-500")),
            "bpa:archive-euw1",
            "GetBucketPublicAccessBlock",
            "InternalError",
            Some("req-500"),
        ),
        (
            "MRAP policy ThrottlingException",
            mock!(aws_sdk_s3control::Client::get_multi_region_access_point_policy)
                .match_requests(|r| r.name() == Some("reports"))
                .then_http_response(|| s3control_error(400, "ThrottlingException", "req-throttle")),
            "mrap-policy:reports",
            "GetMultiRegionAccessPointPolicy",
            "ThrottlingException",
            Some("req-throttle"),
        ),
        (
            "account Block Public Access AccessDenied",
            mock!(aws_sdk_s3control::Client::get_public_access_block)
                .match_requests(|r| r.account_id() == Some(OTHER))
                .then_http_response(|| s3control_error(403, "AccessDenied", "req-acct")),
            "account-bpa:222222222222",
            "GetPublicAccessBlock",
            "AccessDenied",
            Some("req-acct"),
        ),
        (
            "endpoints RequestLimitExceeded",
            mock!(aws_sdk_ec2::Client::describe_vpc_endpoints)
                .then_http_response(|| ec2_error(503, "RequestLimitExceeded", "req-ec2")),
            "endpoints:us-east-1",
            "DescribeVpcEndpoints",
            "RequestLimitExceeded",
            Some("req-ec2"),
        ),
        (
            "endpoints UnauthorizedOperation",
            mock!(aws_sdk_ec2::Client::describe_vpc_endpoints)
                .then_http_response(|| ec2_error(403, "UnauthorizedOperation", "req-ec2-denied")),
            "endpoints:us-east-1",
            "DescribeVpcEndpoints",
            "UnauthorizedOperation",
            Some("req-ec2-denied"),
        ),
        (
            "bucket policy 503 without a body",
            mock!(aws_sdk_s3::Client::get_bucket_policy)
                .match_requests(|r| r.bucket() == Some("reports-usw2"))
                .then_http_response(|| HttpResponse::new(StatusCode::try_from(503).unwrap(), SdkBody::empty())),
            "policy:reports-usw2",
            "GetBucketPolicy",
            "ServiceUnavailable",
            None,
        ),
        (
            "an unexpected 4xx",
            mock!(aws_sdk_s3::Client::get_bucket_policy)
                .match_requests(|r| r.bucket() == Some("archive-euw1"))
                .then_http_response(|| s3_error(400, "InvalidRequest", "req-400")),
            "policy:archive-euw1",
            "GetBucketPolicy",
            "InvalidRequest",
            Some("req-400"),
        ),
    ];
    for (name, rule, slot, api, code, request_id) in cases {
        let run = capture(vec![rule]).await;
        let s = &run.snapshot;
        let (kind, resource) = slot.split_once(':').unwrap();
        let got = match kind {
            "policy" => aws_error(s.bucket_policies.get(resource)),
            "bpa" => aws_error(s.bucket_bpa.get(resource)),
            "mrap-policy" => aws_error(s.mrap_policies.get(resource)),
            "account-bpa" => aws_error(s.account_bpa.get(resource)),
            "endpoints" => aws_error(s.endpoints.get(&EndpointScope { account: None, region: resource.into() })),
            _ => unreachable!(),
        };
        assert_eq!(got.code, code, "{name}");
        assert_eq!(s.errors.len(), 1, "{name}: exactly one failed read: {:?}", s.errors);
        let e = &s.errors[0];
        assert_eq!((e.api.as_str(), e.code.as_str(), e.resource.as_str()), (api, code, resource), "{name}");
        assert_eq!(e.request_id.as_deref(), request_id, "{name}");
        // Everything else was still read.
        assert!(s.mraps.value().is_some(), "{name}");
        let readable = s.bucket_policies.values().filter(|c| matches!(c, Captured::Value(_))).count();
        assert_eq!(readable, if kind == "policy" { 2 } else { 3 }, "{name}");
    }
}

#[tokio::test]
async fn a_503_then_ok_is_retried_by_the_sdk() {
    let flaky = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .match_requests(|r| r.bucket() == Some("reports-use1"))
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(|| {
            aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput::builder()
                .policy(policy("reports-use1"))
                .build()
        })
        .build();
    let run = capture(vec![flaky]).await;
    assert_eq!(run.snapshot.errors, vec![]);
    assert_eq!(run.snapshot.bucket_policies["reports-use1"], Captured::Value(Some(policy("reports-use1"))));
    assert_eq!(
        run.wire.matching("https://reports-use1.s3.us-east-1.amazonaws.com/?policy").len(),
        3,
        "two 503s, then the answer"
    );
}

#[tokio::test]
async fn a_503_forever_is_unknown_after_three_attempts() {
    let down = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .match_requests(|r| r.bucket() == Some("reports-use1"))
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let run = capture(vec![down]).await;
    assert_eq!(aws_error(run.snapshot.bucket_policies.get("reports-use1")).code, "ServiceUnavailable");
    assert_eq!(run.wire.matching("https://reports-use1.s3.us-east-1.amazonaws.com/?policy").len(), 3);
    assert_eq!(run.snapshot.errors.len(), 1);
}

#[tokio::test]
async fn a_slow_call_hits_the_timeout_and_the_rest_is_read() {
    let wire = Arc::new(Wire::default());
    *wire.hang.lock().unwrap() = Some("https://reports-usw2.s3.".to_string());
    let settings = AwsSettings { call_timeout: Duration::from_millis(300), ..settings() };
    let started = Instant::now();
    let run = capture_with(settings, Vec::new(), wire, base_credentials()).await;
    let elapsed = started.elapsed();
    let s = &run.snapshot;
    assert_eq!(aws_error(s.bucket_policies.get("reports-usw2")).code, "Timeout");
    assert_eq!(aws_error(s.bucket_bpa.get("reports-usw2")).code, "Timeout");
    assert_eq!(s.bucket_policies["reports-use1"], Captured::Value(Some(policy("reports-use1"))));
    let codes: Vec<(&str, &str)> = s.errors.iter().map(|e| (e.api.as_str(), e.code.as_str())).collect();
    assert_eq!(codes, [("GetBucketPolicy", "Timeout"), ("GetBucketPublicAccessBlock", "Timeout")]);
    assert!(elapsed < Duration::from_secs(3), "the timeout bounds the cycle: {elapsed:?}");
}

#[tokio::test]
async fn routes_fall_back_to_the_next_serving_region() {
    let us_east_1_down = mock!(aws_sdk_s3control::Client::get_multi_region_access_point_routes)
        .match_requests(|r| r.mrap().is_some_and(|m| m.ends_with(REPORTS_ALIAS)))
        .sequence()
        .http_response(|| s3control_error(503, "ServiceUnavailable", "routes-1"))
        .times(3)
        .output(|| {
            use aws_sdk_s3control::types::MultiRegionAccessPointRoute;
            aws_sdk_s3control::operation::get_multi_region_access_point_routes::GetMultiRegionAccessPointRoutesOutput::builder()
                .routes(MultiRegionAccessPointRoute::builder().bucket("reports-use1").traffic_dial_percentage(100).build().unwrap())
                .build()
        })
        .build();
    let run = capture(vec![us_east_1_down]).await;
    assert_eq!(run.snapshot.errors, vec![], "the routes were read from us-west-2");
    assert_eq!(run.snapshot.mrap_routes["reports"].value().unwrap().len(), 1);
    let reports_routes: Vec<String> =
        run.wire.matching("/routes").into_iter().filter(|s| s.uri.contains(REPORTS_ALIAS)).map(|s| s.uri).collect();
    assert_eq!(reports_routes.len(), 4, "{reports_routes:?}");
    assert!(reports_routes[..3].iter().all(|u| u.contains(".s3-control.us-east-1.")), "{reports_routes:?}");
    assert!(reports_routes[3].contains(".s3-control.us-west-2."), "{reports_routes:?}");
    // The ARN sent is the MRAP's, with no region.
    assert!(
        reports_routes[0].contains(&format!("arn%3Aaws%3As3%3A%3A{OWN}%3Aaccesspoint/{REPORTS_ALIAS}")),
        "{}",
        reports_routes[0]
    );
}

#[tokio::test]
async fn routes_refused_in_one_region_are_not_asked_elsewhere() {
    let denied = mock!(aws_sdk_s3control::Client::get_multi_region_access_point_routes)
        .match_requests(|r| r.mrap().is_some_and(|m| m.ends_with(REPORTS_ALIAS)))
        .then_http_response(|| s3control_error(403, "AccessDenied", "routes-denied"));
    let run = capture(vec![denied]).await;
    assert_eq!(aws_error(run.snapshot.mrap_routes.get("reports")).code, "AccessDenied");
    assert!(run.snapshot.mrap_routes["archive"].value().is_some());
    let asked = run.wire.matching(REPORTS_ALIAS).into_iter().filter(|s| s.uri.contains("/routes")).count();
    assert_eq!(asked, 1);
}

#[tokio::test]
async fn every_routes_region_failing_names_them_all() {
    let down = mock!(aws_sdk_s3control::Client::get_multi_region_access_point_routes)
        .match_requests(|r| r.mrap().is_some_and(|m| m.ends_with(REPORTS_ALIAS)))
        .then_http_response(|| s3control_error(503, "ServiceUnavailable", "routes-down"));
    let run = capture(vec![down]).await;
    let e = &run.snapshot.errors[0];
    assert_eq!((e.api.as_str(), e.code.as_str()), ("GetMultiRegionAccessPointRoutes", "ServiceUnavailable"));
    assert!(
        e.message.ends_with(
            "(regions tried: us-east-1: ServiceUnavailable, us-west-2: ServiceUnavailable, ap-southeast-2: ServiceUnavailable, ap-northeast-1: ServiceUnavailable, eu-west-1: ServiceUnavailable)"
        ),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_failed_listing_leaves_the_mraps_unknown_and_the_rest_read() {
    let denied = mock!(aws_sdk_s3control::Client::list_multi_region_access_points)
        .then_http_response(|| s3control_error(403, "AccessDenied", "list-denied"));
    let run = capture(vec![denied]).await;
    let s = &run.snapshot;
    assert_eq!(aws_error(Some(&s.mraps)).code, "AccessDenied");
    assert!(s.bucket_policies.is_empty() && s.mrap_policies.is_empty());
    assert!(s.endpoints_complete());
    assert_eq!(s.account_bpa[OWN], Captured::Value(None));
    assert_eq!(s.errors.len(), 1);
}

#[tokio::test]
async fn missing_credentials_make_every_read_unknown() {
    #[derive(Debug)]
    struct NoCredentials;
    impl aws_sdk_s3::config::ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            aws_credential_types::provider::future::ProvideCredentials::ready(Err(
                aws_credential_types::provider::error::CredentialsError::not_loaded("no credentials in this test"),
            ))
        }
    }
    // No mocks: nothing may reach the wire (the mock interceptor would answer even so).
    let wire = Arc::new(Wire::default());
    let settings = AwsSettings { assume_role_arns: BTreeMap::new(), ..settings() };
    let source = AwsSource::new(settings, sdk_config(&wire, SharedCredentialsProvider::new(NoCredentials))).await;
    let s = &source.capture().await;
    assert_eq!(wire.seen().len(), 0);
    assert_eq!(aws_error(Some(&s.mraps)).code, "CredentialsUnavailable");
    assert!(s.errors.iter().all(|e| e.code == "CredentialsUnavailable"), "{:?}", s.errors);
    assert_eq!(s.errors.len(), 3, "endpoints, the listing, the account's Block Public Access");
    assert!(s.errors[0].message.contains("no credentials in this test"), "{}", s.errors[0].message);
}

#[tokio::test]
async fn concurrency_is_bounded_by_max_concurrency() {
    let wire = Arc::new(Wire::default());
    *wire.delay.lock().unwrap() = Some(Duration::from_millis(40));
    let settings = AwsSettings { max_concurrency: 2, ..settings() };
    let run = capture_with(settings, Vec::new(), wire, base_credentials()).await;
    assert_eq!(run.snapshot.errors, vec![]);
    assert_eq!(run.wire.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_live_capture_round_trips_through_the_snapshot_directory() {
    let run = capture(vec![
        mock!(aws_sdk_s3::Client::get_bucket_policy)
            .match_requests(|r| r.bucket() == Some("reports-use1"))
            .then_http_response(|| s3_error(403, "AccessDenied", "req-denied")),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    dir::write(&run.snapshot, dir.path()).unwrap();
    let back = dir::read(dir.path()).unwrap();
    assert_eq!(back.errors.len(), 1);
    assert_eq!(back.errors[0].code, "AccessDenied");
    let mut original = run.snapshot.clone();
    original.errors.clear();
    let mut back = back;
    back.errors.clear();
    assert_eq!(back, original);
    // The AWS CLI's own shapes.
    let text = std::fs::read_to_string(dir.path().join("s3/get-bucket-policy/reports-use1.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["Error"]["Code"], "AccessDenied");
    let text = std::fs::read_to_string(dir.path().join("s3control/get-multi-region-access-point-policy/reports.json"))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["Policy"]["Proposed"]["Policy"], policy("reports-p"));
}

#[tokio::test]
async fn a_read_that_panics_is_recorded_and_the_others_go_on() {
    let wire = Arc::new(Wire::default());
    *wire.panic_on.lock().unwrap() = Some("https://reports-usw2.s3.us-west-2.amazonaws.com/?policy".to_string());
    let run = capture_with(settings(), Vec::new(), wire, base_credentials()).await;
    let s = &run.snapshot;
    assert_eq!(aws_error(s.bucket_policies.get("reports-usw2")).code, "InternalError");
    assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    assert_eq!((s.errors[0].api.as_str(), s.errors[0].resource.as_str()), ("GetBucketPolicy", "reports-usw2"));
    assert!(s.errors[0].message.starts_with("the read stopped unexpectedly"), "{}", s.errors[0].message);
    assert_eq!(s.bucket_bpa["reports-usw2"], Captured::Value(None));
    assert_eq!(s.bucket_policies.len(), 3);
}

// ---------- change events: targeted re-reads and the Proposed policy ----------

/// `PutMultiRegionAccessPointPolicy` is asynchronous: the first read shows the new document as
/// Proposed, so does the second; the third shows it Established. The watch re-reads only that
/// policy (one call each) and settles exactly when AWS applied it.
#[tokio::test]
async fn a_proposed_mrap_policy_is_watched_until_it_is_established() {
    use mrap_auditor::events::Target;
    use mrap_auditor::events::pending::PendingPolicies;

    let reads = Arc::new(AtomicUsize::new(0));
    let counter = reads.clone();
    let rule = mock!(aws_sdk_s3control::Client::get_multi_region_access_point_policy)
        .match_requests(|r| r.name() == Some("reports"))
        .then_compute_output(move |_| {
            use aws_sdk_s3control::types::{
                EstablishedMultiRegionAccessPointPolicy, MultiRegionAccessPointPolicyDocument,
                ProposedMultiRegionAccessPointPolicy,
            };
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let doc = if n < 3 {
                MultiRegionAccessPointPolicyDocument::builder()
                    .established(EstablishedMultiRegionAccessPointPolicy::builder().policy(policy("old")).build())
                    .proposed(ProposedMultiRegionAccessPointPolicy::builder().policy(policy("new")).build())
            } else {
                MultiRegionAccessPointPolicyDocument::builder()
                    .established(EstablishedMultiRegionAccessPointPolicy::builder().policy(policy("new")).build())
            };
            aws_sdk_s3control::operation::get_multi_region_access_point_policy::GetMultiRegionAccessPointPolicyOutput::builder()
                .policy(doc.build())
                .build()
        });
    let wire = Arc::new(Wire::default());
    let source = source_with(settings(), vec![rule], &wire, base_credentials()).await;
    let t0 = chrono::Utc::now();
    let (mut snapshot, _) = source.capture_with_stats().await;
    let mut pending = PendingPolicies::default();
    assert!(pending.observe(&snapshot, t0, &BTreeMap::new()).is_empty());
    assert_eq!(pending.ages(t0).len(), 1, "the Proposed policy of `reports` is watched");
    assert_eq!(reads.load(Ordering::SeqCst), 1);

    let targets = BTreeSet::from([Target::MrapPolicy("reports".to_string())]);
    let mut settled = Vec::new();
    let mut at = t0;
    for _ in 0..2 {
        // The watch says when to look again (2 s, then 4 s): the re-read is due then, not before.
        let due_at = pending.next_due().unwrap();
        assert!(pending.take_due(at).is_empty() || at >= due_at);
        at = due_at;
        assert_eq!(pending.take_due(at), ["reports"]);
        let (next, stats) = source.recapture(&snapshot, &targets).await;
        assert_eq!(stats.calls, 1, "one GetMultiRegionAccessPointPolicy per re-read, nothing else");
        snapshot = next;
        settled.extend(pending.observe(&snapshot, at, &BTreeMap::new()));
    }
    assert_eq!(reads.load(Ordering::SeqCst), 3, "Proposed now, Established two reads later");
    assert_eq!(settled.len(), 1);
    assert!(settled[0].applied, "{:?}", settled[0]);
    assert_eq!(settled[0].mrap, "reports");
    assert_eq!((settled[0].at - settled[0].proposed_since).num_seconds(), 6, "2 s then 4 s of backoff");
    assert!(pending.is_empty());
    let policy = snapshot.mrap_policies["reports"].value().unwrap();
    assert_eq!((policy.established.as_deref(), policy.proposed.as_deref()), (Some(policy_text("new").as_str()), None));
    // The rest of the world is the full capture's, untouched by the re-reads.
    assert!(snapshot.bucket_policies.contains_key("archive-euw1"));
}

fn policy_text(sid: &str) -> String {
    policy(sid)
}

/// A bucket policy event re-reads that bucket's policy only: one call, in the bucket's region,
/// with its owner's credentials; every other piece of the snapshot is the previous one.
#[tokio::test]
async fn a_targeted_re_read_calls_only_what_the_event_touched() {
    use mrap_auditor::events::Target;

    let wire = Arc::new(Wire::default());
    let source = source_with(settings(), vec![], &wire, base_credentials()).await;
    let (snapshot, full) = source.capture_with_stats().await;
    let before = wire.seen().len();
    for (targets, calls, needle) in [
        (vec![Target::BucketPolicy("archive-euw1".into())], 1, "archive-euw1"),
        (vec![Target::BucketBpa("reports-use1".into())], 1, "reports-use1"),
        (vec![Target::AccountBpa(OWN.into())], 1, "s3-control"),
        (vec![Target::MrapRoutes("reports".into())], 1, "routes"),
        (vec![Target::Endpoints("us-east-1".into())], 2, "ec2."),
        (vec![Target::BucketPolicy("not-a-bucket-of-ours".into())], 0, ""),
    ] {
        let targets: BTreeSet<Target> = targets.into_iter().collect();
        let (next, stats) = source.recapture(&snapshot, &targets).await;
        assert_eq!(stats.calls, calls, "{targets:?}");
        assert!(next.errors.is_empty(), "{:?}", next.errors);
        assert_eq!(next.mraps, snapshot.mraps, "the listing is the previous one");
        assert_eq!(next.bucket_policies, snapshot.bucket_policies);
        if !needle.is_empty() {
            assert!(wire.seen()[before..].iter().any(|s| s.uri.contains(needle)), "{needle}");
        }
    }
    let archive: Vec<Seen> = wire.seen()[before..].iter().filter(|s| s.uri.contains("archive-euw1")).cloned().collect();
    assert!(archive.iter().all(|s| s.uri.contains("eu-west-1") && s.key == ROLE_KEY), "{archive:?}");
    // `Everything` (an MRAP created or deleted) is a full capture.
    let (_, stats) = source.recapture(&snapshot, &BTreeSet::from([Target::Everything])).await;
    assert_eq!(stats.calls, full.calls);
}
