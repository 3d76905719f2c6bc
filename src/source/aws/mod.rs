//! The live AWS source (cargo feature `aws`, DESIGN §2): reads VPC endpoints, Multi-Region Access
//! Points with their Established and Proposed policies and routes, account and bucket Block Public
//! Access and bucket policies with the AWS SDK, into the same [`Snapshot`] the directory source
//! reads, so the evaluation is identical whichever source ran.
//!
//! Every failed read becomes an unknown for what depends on it, a [`SourceError`] (the daemon's
//! `source_errors_total{api,code}`) and one WARN line naming the API, resource, code and AWS request
//! id; one failing bucket never stops the others. Nothing from an older cycle is reused
//! (reference §2). What it leaves out: evaluation, and retries beyond the SDK's standard strategy.
//!
//! The API table, the settings and the source are here; the concurrent capture, the clients,
//! the error classifier and the SDK-to-snapshot conversions are the submodules.

mod capture;
mod clients;
mod convert;
mod errors;
mod targeted;

pub use errors::{CallError, Failure, classify};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{SharedCredentialsProvider, SharedInterceptor};

use self::clients::Clients;
use crate::config::{AwsConfig, Config, Via};
use crate::snapshot::Snapshot;

// ---------- the APIs, in one table ----------

/// One AWS API the live source calls, and the IAM action that allows it. `deploy/iam/` holds
/// exactly these actions (tests/aws_iam.rs checks it): IAM action names differ from API names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsApi {
    /// The name in logs and `source_errors_total{api}`; the same names the snapshot directory
    /// reader uses, so a metric means the same whichever source ran.
    pub name: &'static str,
    /// The SDK service (`ec2`, `s3`, `s3control`, `sts`, `sqs`).
    pub service: &'static str,
    /// The operation's name in the service's API reference.
    pub operation: &'static str,
    /// The IAM action that authorizes it.
    pub iam_action: &'static str,
    /// Called with the auditor's own credentials (`deploy/iam/mrap-auditor-read-only.json`).
    pub by_auditor: bool,
    /// Called with the role assumed in a bucket-owner account
    /// (`deploy/iam/cross-account-bucket-reader.json`).
    pub by_bucket_owner_role: bool,
    /// The error code that is an answer, "none configured", not a failure (reference §2).
    pub none_code: Option<&'static str>,
}

pub const DESCRIBE_VPC_ENDPOINTS: AwsApi = AwsApi {
    name: "DescribeVpcEndpoints",
    service: "ec2",
    operation: "DescribeVpcEndpoints",
    iam_action: "ec2:DescribeVpcEndpoints",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};
pub const LIST_MRAPS: AwsApi = AwsApi {
    name: "ListMultiRegionAccessPoints",
    service: "s3control",
    operation: "ListMultiRegionAccessPoints",
    iam_action: "s3:ListMultiRegionAccessPoints",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};
pub const GET_MRAP_POLICY: AwsApi = AwsApi {
    name: "GetMultiRegionAccessPointPolicy",
    service: "s3control",
    operation: "GetMultiRegionAccessPointPolicy",
    iam_action: "s3:GetMultiRegionAccessPointPolicy",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};
pub const GET_MRAP_ROUTES: AwsApi = AwsApi {
    name: "GetMultiRegionAccessPointRoutes",
    service: "s3control",
    operation: "GetMultiRegionAccessPointRoutes",
    iam_action: "s3:GetMultiRegionAccessPointRoutes",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};
/// Account Block Public Access: S3 Control's `GetPublicAccessBlock`.
pub const GET_ACCOUNT_BPA: AwsApi = AwsApi {
    name: "GetPublicAccessBlock",
    service: "s3control",
    operation: "GetPublicAccessBlock",
    iam_action: "s3:GetAccountPublicAccessBlock",
    by_auditor: true,
    by_bucket_owner_role: true,
    none_code: Some("NoSuchPublicAccessBlockConfiguration"),
};
pub const GET_BUCKET_POLICY: AwsApi = AwsApi {
    name: "GetBucketPolicy",
    service: "s3",
    operation: "GetBucketPolicy",
    iam_action: "s3:GetBucketPolicy",
    by_auditor: true,
    by_bucket_owner_role: true,
    none_code: Some("NoSuchBucketPolicy"),
};
/// Bucket Block Public Access: S3's `GetPublicAccessBlock`.
pub const GET_BUCKET_BPA: AwsApi = AwsApi {
    name: "GetBucketPublicAccessBlock",
    service: "s3",
    operation: "GetPublicAccessBlock",
    iam_action: "s3:GetBucketPublicAccessBlock",
    by_auditor: true,
    by_bucket_owner_role: true,
    none_code: Some("NoSuchPublicAccessBlockConfiguration"),
};
/// Made by aws-config's `AssumeRoleProvider` for `[aws] assume_role_arns`, once per role session
/// (about an hour), not per cycle. Its failure shows on the calls that needed the role, as
/// `CredentialsUnavailable`.
pub const ASSUME_ROLE: AwsApi = AwsApi {
    name: "AssumeRole",
    service: "sts",
    operation: "AssumeRole",
    iam_action: "sts:AssumeRole",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};

/// `[events]`: the change-event queue's long poll (DESIGN §11).
pub const RECEIVE_MESSAGE: AwsApi = AwsApi {
    name: "ReceiveMessage",
    service: "sqs",
    operation: "ReceiveMessage",
    iam_action: "sqs:ReceiveMessage",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};
/// `[events]`: a handled message is deleted with `DeleteMessageBatch`, which the IAM action
/// `sqs:DeleteMessage` authorizes (SQS has no separate batch action).
pub const DELETE_MESSAGE: AwsApi = AwsApi {
    name: "DeleteMessageBatch",
    service: "sqs",
    operation: "DeleteMessageBatch",
    iam_action: "sqs:DeleteMessage",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};
/// `[events]`: checks each queue at start-up (and says how many messages wait).
pub const GET_QUEUE_ATTRIBUTES: AwsApi = AwsApi {
    name: "GetQueueAttributes",
    service: "sqs",
    operation: "GetQueueAttributes",
    iam_action: "sqs:GetQueueAttributes",
    by_auditor: true,
    by_bucket_owner_role: false,
    none_code: None,
};

/// Every API the live source (and the change-event queues) call.
pub const API_CALLS: &[AwsApi] = &[
    DESCRIBE_VPC_ENDPOINTS,
    LIST_MRAPS,
    GET_MRAP_POLICY,
    GET_MRAP_ROUTES,
    GET_ACCOUNT_BPA,
    GET_BUCKET_POLICY,
    GET_BUCKET_BPA,
    ASSUME_ROLE,
    RECEIVE_MESSAGE,
    DELETE_MESSAGE,
    GET_QUEUE_ATTRIBUTES,
];

/// The regions that serve `GetMultiRegionAccessPointRoutes`, tried in this order (S3 API
/// reference: "GetMultiRegionAccessPointRoutes").
pub const ROUTES_REGIONS: &[&str] = &["us-east-1", "us-west-2", "ap-southeast-2", "ap-northeast-1", "eu-west-1"];

/// `DescribeVpcEndpoints` page size (its maximum).
pub const ENDPOINTS_PAGE_SIZE: i32 = 1000;
/// `ListMultiRegionAccessPoints` page size (its maximum).
pub const MRAPS_PAGE_SIZE: i32 = 100;

/// The partition of a region: the second field of every ARN built from it (reference §1).
pub fn partition_of(region: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
    ];
    PREFIXES.iter().find(|(prefix, _)| region.starts_with(prefix)).map_or("aws", |(_, partition)| partition)
}

// ---------- settings ----------

/// Why the live source cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("the configuration has no `[aws]` section (the live source needs at least `account_id`)")]
    NoAwsSection,
    #[error(
        "`[aws] endpoint_regions` is empty and no default region is configured (AWS_REGION or the profile's `region`)"
    )]
    NoRegion,
    #[error("`[aws] endpoint_url` = `{0}` is not an http:// or https:// URL")]
    EndpointUrl(String),
}

/// The resolved `[aws]` settings of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// The account that owns the MRAPs (and, usually, the endpoints).
    pub account_id: String,
    /// `aws`, `aws-cn`, ...: from the first endpoint region.
    pub partition: String,
    /// Where `DescribeVpcEndpoints` runs.
    pub endpoint_regions: Vec<String>,
    /// Endpoints that expectations name (`via`): kept whatever their service, so that a wrong
    /// endpoint is reported as wrong rather than as missing.
    pub named_endpoints: BTreeSet<String>,
    /// The role to assume for each account's calls; other accounts use the default credentials.
    pub assume_role_arns: BTreeMap<String, String>,
    /// Most AWS calls in flight at once.
    pub max_concurrency: usize,
    /// Longest one call may take, the SDK's retries included.
    pub call_timeout: Duration,
    /// An emulator's URL (tests only): S3 then uses path-style addressing and S3 Control drops
    /// its `ACCOUNT.` host prefix, which no emulator on 127.0.0.1 can serve.
    pub emulator_url: Option<String>,
}

impl AwsSettings {
    /// Settings from a configuration's `[aws]` section; `default_region` (the SDK's) stands in
    /// for an empty `endpoint_regions`.
    pub fn from_config(config: &Config, default_region: Option<&str>) -> Result<AwsSettings, AwsSetupError> {
        let aws: &AwsConfig = config.aws.as_ref().ok_or(AwsSetupError::NoAwsSection)?;
        let endpoint_regions = if aws.endpoint_regions.is_empty() {
            vec![default_region.ok_or(AwsSetupError::NoRegion)?.to_string()]
        } else {
            aws.endpoint_regions.clone()
        };
        if let Some(url) = &aws.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(AwsSetupError::EndpointUrl(url.clone()));
            }
        }
        let named_endpoints = config
            .expectations
            .iter()
            .filter_map(|e| match &e.via {
                Via::Endpoint(id) => Some(id.clone()),
                Via::Internet => None,
            })
            .collect();
        Ok(AwsSettings {
            account_id: aws.account_id.clone(),
            partition: partition_of(endpoint_regions.first().map_or("", String::as_str)).to_string(),
            endpoint_regions,
            named_endpoints,
            assume_role_arns: aws.assume_role_arns.clone(),
            max_concurrency: aws.max_concurrency.max(1),
            call_timeout: aws.call_timeout,
            emulator_url: aws.endpoint_url.clone(),
        })
    }

    /// Where the S3 Control MRAP APIs are served: us-west-2 in the `aws` partition.
    pub fn control_region(&self) -> &'static str {
        match self.partition.as_str() {
            "aws-cn" => "cn-northwest-1",
            "aws-us-gov" => "us-gov-west-1",
            _ => "us-west-2",
        }
    }

    /// The regions to ask for routes, in order.
    pub fn routes_regions(&self) -> Vec<&'static str> {
        if self.partition == "aws" { ROUTES_REGIONS.to_vec() } else { vec![self.control_region()] }
    }

    /// The region for a bucket the MRAP listing gives none for: S3's default. A wrong guess is
    /// answered with `PermanentRedirect`, an error, never with another bucket's data.
    fn bucket_region<'a>(&self, listed: &'a str) -> &'a str {
        if listed.is_empty() { "us-east-1" } else { listed }
    }
}

// ---------- the source ----------

/// The live AWS source.
pub struct AwsSource {
    settings: AwsSettings,
    clients: Clients,
}

impl fmt::Debug for AwsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSource").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// What one capture cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureStats {
    /// API calls made (pages and regions tried included; the SDK's retries not).
    pub calls: usize,
    /// Reads that failed (`Snapshot::errors`).
    pub failed_reads: usize,
    pub elapsed: Duration,
}

impl AwsSource {
    /// The source of a configuration's `[aws]` section, with aws-config's default credential
    /// chain (environment, profile, SSO, web identity, container and instance metadata), the
    /// `[aws] profile` when set, and `[aws] endpoint_url` or `AWS_ENDPOINT_URL*` for an emulator.
    pub async fn from_config(config: &Config) -> Result<AwsSource, AwsSetupError> {
        let aws = config.aws.as_ref().ok_or(AwsSetupError::NoAwsSection)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &aws.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &aws.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let base = loader.load().await;
        let mut settings = AwsSettings::from_config(config, base.region().map(Region::as_ref))?;
        if settings.emulator_url.is_none() {
            settings.emulator_url = std::env::var("AWS_ENDPOINT_URL_S3_CONTROL")
                .ok()
                .or_else(|| base.endpoint_url().map(str::to_string))
                .filter(|u| !u.is_empty());
        }
        Ok(AwsSource::new(settings, base).await)
    }

    /// A source over a ready SDK configuration (its credentials, HTTP client, retry policy):
    /// what `from_config` builds, and what the tests build around a mock HTTP client.
    pub async fn new(settings: AwsSettings, base: SdkConfig) -> AwsSource {
        // The per-call timeout covers the SDK's retries; connect/read timeouts stay the SDK's.
        let mut timeouts = TimeoutConfig::builder().operation_timeout(settings.call_timeout);
        if let Some(t) = base.timeout_config() {
            timeouts = timeouts.take_unset_from(t.to_builder());
        }
        let base = base.into_builder().timeout_config(timeouts.build()).build();
        let mut roles = BTreeMap::new();
        for (account, role_arn) in &settings.assume_role_arns {
            let mut provider = AssumeRoleProvider::builder(role_arn).session_name("mrap-auditor").configure(&base);
            if base.region().is_none() {
                provider = provider.region(Region::new(settings.control_region()));
            }
            roles.insert(account.clone(), SharedCredentialsProvider::new(provider.build().await));
        }
        let s3control_url = settings.emulator_url.clone();
        let path_style = settings.emulator_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        AwsSource { settings, clients: Clients { base, roles, interceptors: Vec::new(), s3control_url, path_style } }
    }

    /// Adds an interceptor to every client (the tests' `aws-smithy-mocks` responses).
    pub fn with_interceptor(mut self, interceptor: SharedInterceptor) -> AwsSource {
        self.clients.interceptors.push(interceptor);
        self
    }

    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// Where it reads from, for reports and logs.
    pub fn location(&self) -> String {
        format!("aws account {}", self.settings.account_id)
    }

    /// Captures one snapshot. Never fails as a whole: each failed read is in `Snapshot::errors`.
    pub async fn capture(&self) -> Snapshot {
        self.capture_with_stats().await.0
    }

    /// Captures one snapshot, and says how many calls it took.
    ///
    /// The reads run concurrently, at most `max_concurrency` calls at a time: the endpoints of
    /// every region, the MRAP listing and the MRAP account's Block Public Access first; as soon as
    /// the listing is in, each MRAP's policy and routes, each bucket's policy and Block Public
    /// Access, and each other bucket-owner account's Block Public Access.
    pub async fn capture_with_stats(&self) -> (Snapshot, CaptureStats) {
        capture::capture(&self.settings, &self.clients).await
    }

    /// Re-reads only `targets` (what a change event touched) on top of `previous`, the last
    /// complete snapshot: a handful of calls instead of a full capture. The result's `errors` are
    /// this re-read's only. `Target::Everything`, or a `previous` without an MRAP listing, is a
    /// full capture.
    pub async fn recapture(
        &self,
        previous: &Snapshot,
        targets: &std::collections::BTreeSet<crate::events::Target>,
    ) -> (Snapshot, CaptureStats) {
        targeted::recapture(&self.settings, &self.clients, previous, targets).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn partitions() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("", "aws"),
        ] {
            assert_eq!(partition_of(region), partition, "{region}");
        }
    }

    fn settings(aws: &str, default_region: Option<&str>) -> Result<AwsSettings, AwsSetupError> {
        let text = format!(
            "[source]\nkind = \"aws\"\n\n[aws]\n{aws}\n\n[[expect]]\nname = \"e\"\nmrap = \"mfzwi23gnjvgw.mrap\"\nprincipal = \"anonymous\"\naction = \"s3:GetObject\"\nkey = \"k\"\nvia = \"vpce-0a1b2c3d4e5f60718\"\nexpect = \"deny\"\n"
        );
        let config = crate::config::parse(&text, std::path::Path::new("/etc/mrap/live.toml")).unwrap();
        AwsSettings::from_config(&config, default_region)
    }

    #[test]
    fn settings_from_the_aws_section() {
        let s = settings("account_id = \"123456789012\"\nendpoint_regions = [\"cn-north-1\"]", None).unwrap();
        assert_eq!((s.partition.as_str(), s.control_region()), ("aws-cn", "cn-northwest-1"));
        assert_eq!(s.routes_regions(), ["cn-northwest-1"]);
        assert_eq!(s.named_endpoints, BTreeSet::from(["vpce-0a1b2c3d4e5f60718".to_string()]));
        assert_eq!((s.max_concurrency, s.call_timeout), (8, Duration::from_secs(20)));

        let s = settings("account_id = \"123456789012\"", Some("eu-west-1")).unwrap();
        assert_eq!(s.endpoint_regions, ["eu-west-1"], "the SDK's region stands in");
        assert_eq!((s.partition.as_str(), s.control_region()), ("aws", "us-west-2"));
        assert_eq!(s.routes_regions(), ROUTES_REGIONS);

        let e = settings("account_id = \"123456789012\"", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`[aws] endpoint_regions` is empty and no default region is configured (AWS_REGION or the profile's `region`)"
        );
        let e = settings("account_id = \"123456789012\"\nendpoint_url = \"localhost:4566\"", Some("us-east-1"))
            .unwrap_err();
        assert_eq!(e.to_string(), "`[aws] endpoint_url` = `localhost:4566` is not an http:// or https:// URL");
    }

    #[test]
    fn every_api_has_one_caller_and_an_s3_ec2_sts_or_sqs_action() {
        for api in API_CALLS {
            assert!(api.by_auditor || api.by_bucket_owner_role, "{}", api.name);
            let service = api.iam_action.split(':').next().unwrap_or_default();
            assert!(["s3", "ec2", "sts", "sqs"].contains(&service), "{}", api.iam_action);
        }
        let names: HashSet<&str> = API_CALLS.iter().map(|a| a.name).collect();
        assert_eq!(names.len(), API_CALLS.len(), "API names are metric labels: unique");
    }
}
