//! The captured state of the world: what a source read from AWS (live or from a snapshot
//! directory), in AWS's own shapes, before any evaluation.
//!
//! Every piece is a [`Captured`]: read, not captured, an AWS error, or unreadable. "Not captured"
//! and errors are never guessed away: the audit turns what depends on them into `unknown`.
//! Errors that *are* answers (`NoSuchBucketPolicy`, `NoSuchPublicAccessBlockConfiguration`) are
//! resolved by the source into "none" (reference §2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::s3::BlockPublicAccess;

/// One piece of captured state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured<T> {
    /// The value as AWS returned it.
    Value(T),
    /// Nobody captured it (no file): unknown.
    NotCaptured,
    /// AWS answered with an error that means "cannot know" (AccessDenied, throttling, ...).
    AwsError(AwsError),
    /// It was captured but cannot be read (bad JSON, wrong shape).
    Invalid(String),
}

impl<T> Captured<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Captured::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Why the value is missing, for findings and explanations; `None` when it is present.
    pub fn problem(&self) -> Option<String> {
        match self {
            Captured::Value(_) => None,
            Captured::NotCaptured => Some("not captured".to_string()),
            Captured::AwsError(e) => Some(format!("AWS error {}: {}", e.code, e.message)),
            Captured::Invalid(reason) => Some(format!("unreadable: {reason}")),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Captured<U> {
        match self {
            Captured::Value(v) => Captured::Value(f(v)),
            Captured::NotCaptured => Captured::NotCaptured,
            Captured::AwsError(e) => Captured::AwsError(e),
            Captured::Invalid(r) => Captured::Invalid(r),
        }
    }
}

/// An AWS error response as the AWS CLI prints it: `{"Error": {"Code": ..., "Message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsError {
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message", default)]
    pub message: String,
}

/// `manifest.json`. Extra fields are kept out, not refused: a newer writer may add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The account that owns the MRAPs.
    pub account_id: String,
    #[serde(default = "default_partition")]
    pub partition: String,
    #[serde(default)]
    pub captured_at: Option<String>,
}

fn default_partition() -> String {
    "aws".to_string()
}

/// The four Block Public Access settings in the shape the AWS CLI prints them
/// (`PublicAccessBlockConfiguration`, and an MRAP's `PublicAccessBlock`). The core reasons about
/// [`BlockPublicAccess`], converted from this at the edge ([`From`]), so the snapshot format and
/// the evaluation change independently.
///
/// Each is required when read from a snapshot: the AWS CLI prints all four, and a configuration
/// that lacks one is unreadable (so what depends on it is unknown), never "that one is off".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    #[serde(rename = "BlockPublicAcls")]
    pub block_public_acls: bool,
    #[serde(rename = "IgnorePublicAcls")]
    pub ignore_public_acls: bool,
    #[serde(rename = "BlockPublicPolicy")]
    pub block_public_policy: bool,
    #[serde(rename = "RestrictPublicBuckets")]
    pub restrict_public_buckets: bool,
}

impl From<PublicAccessBlock> for BlockPublicAccess {
    fn from(p: PublicAccessBlock) -> BlockPublicAccess {
        BlockPublicAccess {
            block_public_acls: p.block_public_acls,
            ignore_public_acls: p.ignore_public_acls,
            block_public_policy: p.block_public_policy,
            restrict_public_buckets: p.restrict_public_buckets,
        }
    }
}

/// One bucket of an MRAP (`Regions[]` of `ListMultiRegionAccessPoints`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrapRegion {
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Region", default)]
    pub region: String,
    /// The bucket's owner; absent = the MRAP's owner.
    #[serde(rename = "BucketAccountId", default, skip_serializing_if = "Option::is_none")]
    pub bucket_account_id: Option<String>,
}

/// A Multi-Region Access Point as `ListMultiRegionAccessPoints` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mrap {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Alias")]
    pub alias: String,
    #[serde(rename = "CreatedAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The MRAP's own Block Public Access, fixed at creation.
    #[serde(rename = "PublicAccessBlock", default, skip_serializing_if = "Option::is_none")]
    pub public_access_block: Option<PublicAccessBlock>,
    /// `READY`, `INCONSISTENT_ACROSS_REGIONS`, ...; `None` when the listing gives none, which
    /// makes every verdict on this MRAP unknown (never an empty status that reads as "not ready").
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "Regions", default)]
    pub regions: Vec<MrapRegion>,
}

/// `GetMultiRegionAccessPointPolicy`: the policy text of each state (either may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MrapPolicy {
    pub established: Option<String>,
    pub proposed: Option<String>,
}

/// One route of `GetMultiRegionAccessPointRoutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrapRoute {
    #[serde(rename = "Bucket", default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(rename = "Region", default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// 100 = active, 0 = passive (standby for failover).
    #[serde(rename = "TrafficDialPercentage")]
    pub traffic_dial_percentage: u8,
}

/// A VPC endpoint as `DescribeVpcEndpoints` reports it (only the fields the audit needs; the
/// directory reader keeps the rest of each object untouched when it writes back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    #[serde(rename = "VpcEndpointId")]
    pub id: String,
    #[serde(rename = "VpcEndpointType", default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<String>,
    #[serde(rename = "VpcId", default)]
    pub vpc_id: String,
    #[serde(rename = "ServiceName", default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `available`, `pendingAcceptance`, ...; `None` when the description gives none (unknown,
    /// never read as "not available").
    #[serde(rename = "State", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Whether the VPC's requests to the service's ordinary names resolve to this endpoint
    /// (seed: MRAP requests in the VPC go through the endpoint "if you have private DNS enabled
    /// for the endpoint"); `None` when the description does not say.
    #[serde(rename = "PrivateDnsEnabled", default, skip_serializing_if = "Option::is_none")]
    pub private_dns_enabled: Option<bool>,
    /// The endpoint policy text; absent = the default full-access policy.
    #[serde(rename = "PolicyDocument", default, skip_serializing_if = "Option::is_none")]
    pub policy_document: Option<String>,
    #[serde(rename = "OwnerId", default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

/// Where a set of endpoints was read from: a region of the snapshot's account, or another
/// account's region (`ec2/describe-vpc-endpoints/ACCOUNT/REGION.json`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointScope {
    pub account: Option<String>,
    pub region: String,
}

/// One failed read, for logs and `source_errors_total{api,code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The AWS API (`GetBucketPolicy`, `DescribeVpcEndpoints`, ...).
    pub api: String,
    /// The AWS error code (`AccessDenied`, `SlowDown`, `Timeout`, ...), or `InvalidSnapshotFile`.
    pub code: String,
    /// The bucket, MRAP, account or region concerned.
    pub resource: String,
    pub message: String,
    /// AWS's request id, when there was a response.
    pub request_id: Option<String>,
}

/// Everything a source captured in one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub manifest: Captured<Manifest>,
    pub mraps: Captured<Vec<Mrap>>,
    /// By MRAP name.
    pub mrap_policies: BTreeMap<String, Captured<MrapPolicy>>,
    /// By MRAP name.
    pub mrap_routes: BTreeMap<String, Captured<Vec<MrapRoute>>>,
    /// Account Block Public Access by account id; `Value(None)` = not configured (all off).
    pub account_bpa: BTreeMap<String, Captured<Option<PublicAccessBlock>>>,
    /// Bucket policy text by bucket; `Value(None)` = no bucket policy.
    pub bucket_policies: BTreeMap<String, Captured<Option<String>>>,
    /// Bucket Block Public Access by bucket; `Value(None)` = not configured.
    pub bucket_bpa: BTreeMap<String, Captured<Option<PublicAccessBlock>>>,
    pub endpoints: BTreeMap<EndpointScope, Captured<Vec<VpcEndpoint>>>,
    /// Endpoints whose policy is not known (by id, with why): a pre-flight overlay whose planned
    /// policy is known only after apply. Sources never set it; an endpoint's policy is otherwise
    /// part of its `DescribeVpcEndpoints` entry.
    pub endpoint_policy_unknown: BTreeMap<String, String>,
    /// Every read that failed (answers such as `NoSuchBucketPolicy` are not failures).
    pub errors: Vec<SourceError>,
}

impl Snapshot {
    /// A snapshot with nothing captured.
    pub fn empty() -> Snapshot {
        Snapshot {
            manifest: Captured::NotCaptured,
            mraps: Captured::NotCaptured,
            mrap_policies: BTreeMap::new(),
            mrap_routes: BTreeMap::new(),
            account_bpa: BTreeMap::new(),
            bucket_policies: BTreeMap::new(),
            bucket_bpa: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            endpoint_policy_unknown: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    pub fn account_id(&self) -> Option<&str> {
        self.manifest.value().map(|m| m.account_id.as_str())
    }

    pub fn partition(&self) -> &str {
        self.manifest.value().map_or("aws", |m| m.partition.as_str())
    }

    /// Finds an MRAP by alias or name.
    pub fn mrap(&self, alias_or_name: &str) -> Option<&Mrap> {
        self.mraps.value()?.iter().find(|m| m.alias == alias_or_name || m.name == alias_or_name)
    }

    /// Finds an endpoint by id in every captured scope.
    pub fn endpoint(&self, id: &str) -> Option<(&EndpointScope, &VpcEndpoint)> {
        self.endpoints.iter().find_map(|(scope, c)| c.value()?.iter().find(|e| e.id == id).map(|e| (scope, e)))
    }

    /// Whether every endpoint file was read without error (so an id found nowhere is absent).
    pub fn endpoints_complete(&self) -> bool {
        !self.endpoints.is_empty() && self.endpoints.values().all(|c| matches!(c, Captured::Value(_)))
    }

    /// The ARN of an MRAP: `arn:PARTITION:s3::ACCOUNT:accesspoint/ALIAS` (no region).
    pub fn mrap_arn(&self, mrap: &Mrap) -> Option<String> {
        Some(format!("arn:{}:s3::{}:accesspoint/{}", self.partition(), self.account_id()?, mrap.alias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each setting of the CLI's shape lands on the same setting of the core's model.
    #[test]
    fn block_public_access_converts_setting_by_setting() {
        let on = |i: usize| PublicAccessBlock {
            block_public_acls: i == 0,
            ignore_public_acls: i == 1,
            block_public_policy: i == 2,
            restrict_public_buckets: i == 3,
        };
        type Setting = fn(&BlockPublicAccess) -> bool;
        let cases: &[(&str, usize, Setting)] = &[
            ("BlockPublicAcls", 0, |b| b.block_public_acls),
            ("IgnorePublicAcls", 1, |b| b.ignore_public_acls),
            ("BlockPublicPolicy", 2, |b| b.block_public_policy),
            ("RestrictPublicBuckets", 3, |b| b.restrict_public_buckets),
        ];
        for (name, i, setting) in cases {
            let core = BlockPublicAccess::from(on(*i));
            assert!(setting(&core), "{name} is on");
            let others = [
                core.block_public_acls,
                core.ignore_public_acls,
                core.block_public_policy,
                core.restrict_public_buckets,
            ];
            assert_eq!(others.iter().filter(|b| **b).count(), 1, "{name} alone is on");
        }
    }
}
