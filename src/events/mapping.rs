//! Which resources a CloudTrail event touches, in the terms of the reads that see them again
//! ([`Target`]), and whether any MRAP of the configuration uses them at all.
//!
//! Pure: the event, plus what the last snapshot and the configuration know ([`Known`]). The
//! request shapes are CloudTrail's: S3 calls carry `requestParameters.bucketName`; S3 Control MRAP
//! calls carry the request body (`Details.Name`) or the MRAP's ARN (`mrap`); EC2 calls carry
//! `VpcEndpointId` inside `…Request` objects. Rather than trust one nesting, the mapper looks at
//! every string of `requestParameters` (and `responseElements`, where `CreateVpcEndpoint` returns
//! the new id) and keeps those that name a known resource.

use std::collections::BTreeSet;

use serde_json::Value;

use super::envelope::ChangeEvent;
use crate::config::{Config, Via};
use crate::s3::MRAP_ENDPOINT_SERVICE;
use crate::snapshot::Snapshot;

/// One read to do again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `GetBucketPolicy` of a bucket.
    BucketPolicy(String),
    /// S3 `GetPublicAccessBlock` of a bucket.
    BucketBpa(String),
    /// S3 Control `GetPublicAccessBlock` of an account.
    AccountBpa(String),
    /// `GetMultiRegionAccessPointPolicy` of an MRAP (by name).
    MrapPolicy(String),
    /// `GetMultiRegionAccessPointRoutes` of an MRAP (by name).
    MrapRoutes(String),
    /// `DescribeVpcEndpoints` in a region.
    Endpoints(String),
    /// The MRAP listing changed (an MRAP created or deleted): everything it names.
    Everything,
}

impl Target {
    /// The resource it concerns, as history subjects name it (bucket, MRAP, account, region).
    pub fn resource(&self) -> &str {
        match self {
            Target::BucketPolicy(s)
            | Target::BucketBpa(s)
            | Target::AccountBpa(s)
            | Target::MrapPolicy(s)
            | Target::MrapRoutes(s)
            | Target::Endpoints(s) => s,
            Target::Everything => "*",
        }
    }
}

/// Why an event is dropped without a cycle: the `reason` of `events_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Not a CloudTrail event, or a record without what the auditor needs.
    Malformed,
    /// An API call the auditor does not follow.
    UnknownEvent,
    /// AWS refused the call (`errorCode`): nothing changed.
    FailedCall,
    /// The call touched resources no configured MRAP uses.
    NotUsed,
}

impl Dropped {
    pub fn reason(self) -> &'static str {
        match self {
            Dropped::Malformed => "malformed",
            Dropped::UnknownEvent => "unknown_event",
            Dropped::FailedCall => "failed_call",
            Dropped::NotUsed => "not_used",
        }
    }
}

/// The event names the auditor follows (the EventBridge rules in `deploy/events/` match exactly
/// these). Account Block Public Access is S3 Control's `PutPublicAccessBlock`; CloudTrail may
/// record it as `PutAccountPublicAccessBlock`, so both spellings are followed.
pub const EVENT_NAMES: &[&str] = &[
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutPublicAccessBlock",
    "DeletePublicAccessBlock",
    "PutAccountPublicAccessBlock",
    "DeleteAccountPublicAccessBlock",
    "PutMultiRegionAccessPointPolicy",
    "SubmitMultiRegionAccessPointRoutes",
    "CreateMultiRegionAccessPoint",
    "DeleteMultiRegionAccessPoint",
    "CreateVpcEndpoint",
    "ModifyVpcEndpoint",
    "DeleteVpcEndpoints",
];

/// What the auditor knows of the world: the resources events are matched against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Buckets of the MRAPs.
    pub buckets: BTreeSet<String>,
    /// MRAPs (name, alias) of the snapshot.
    pub mraps: Vec<(String, String)>,
    /// MRAP names or aliases that expectations name (maybe not created yet).
    pub configured_mraps: BTreeSet<String>,
    /// Endpoints of the snapshot and those expectations name.
    pub endpoints: BTreeSet<String>,
    /// Where the auditor reads endpoints.
    pub endpoint_regions: BTreeSet<String>,
    /// The MRAP owner and every bucket owner.
    pub accounts: BTreeSet<String>,
}

impl Known {
    pub fn new(snapshot: &Snapshot, config: &Config) -> Known {
        let mut k = Known::default();
        let own =
            snapshot.account_id().map(str::to_string).or_else(|| config.aws.as_ref().map(|a| a.account_id.clone()));
        k.accounts.extend(own.clone());
        for m in snapshot.mraps.value().map(Vec::as_slice).unwrap_or_default() {
            k.mraps.push((m.name.clone(), m.alias.clone()));
            for r in &m.regions {
                k.buckets.insert(r.bucket.clone());
                k.accounts.extend(r.bucket_account_id.clone());
            }
        }
        for (scope, endpoints) in &snapshot.endpoints {
            k.endpoint_regions.insert(scope.region.clone());
            for e in endpoints.value().map(Vec::as_slice).unwrap_or_default() {
                k.endpoints.insert(e.id.clone());
            }
        }
        if let Some(aws) = &config.aws {
            k.endpoint_regions.extend(aws.endpoint_regions.iter().cloned());
        }
        for e in &config.expectations {
            k.configured_mraps.insert(e.mrap.clone());
            if let Via::Endpoint(id) = &e.via {
                k.endpoints.insert(id.clone());
            }
        }
        k
    }

    /// The MRAP name a string refers to: its name, alias, or an ARN ending in the alias.
    fn mrap_name(&self, s: &str) -> Option<&str> {
        let last = s.rsplit('/').next().unwrap_or(s);
        self.mraps.iter().find(|(name, alias)| name == last || alias == last).map(|(name, _)| name.as_str())
    }
}

/// Every string value under `v` (bounded depth: CloudTrail records are shallow).
fn strings<'a>(v: &'a Value, depth: usize, out: &mut Vec<&'a str>) {
    if depth > 8 {
        return;
    }
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, depth + 1, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, depth + 1, out)),
        _ => {}
    }
}

/// The reads an event calls for, or why it calls for none.
pub fn map(event: &ChangeEvent, known: &Known) -> Result<BTreeSet<Target>, Dropped> {
    if !EVENT_NAMES.contains(&event.event_name.as_str()) {
        return Err(Dropped::UnknownEvent);
    }
    if event.error_code.is_some() {
        return Err(Dropped::FailedCall);
    }
    let mut values = Vec::new();
    strings(&event.request_parameters, 0, &mut values);
    strings(&event.response_elements, 0, &mut values);
    let bucket = || {
        event
            .request_parameters
            .get("bucketName")
            .and_then(Value::as_str)
            .or_else(|| values.iter().copied().find(|s| known.buckets.contains(*s)))
    };
    let known_bucket = || bucket().filter(|b| known.buckets.contains(*b)).map(str::to_string);
    let account = || {
        event.account.clone().or_else(|| {
            ["x-amz-account-id", "accountId", "AccountId"]
                .iter()
                .find_map(|k| event.request_parameters.get(*k).and_then(Value::as_str).map(str::to_string))
        })
    };
    let mrap = || values.iter().find_map(|s| known.mrap_name(s)).map(str::to_string);
    let mut targets = BTreeSet::new();
    match event.event_name.as_str() {
        "PutBucketPolicy" | "DeleteBucketPolicy" => targets.extend(known_bucket().map(Target::BucketPolicy)),
        "PutBucketPublicAccessBlock" | "DeleteBucketPublicAccessBlock" => {
            targets.extend(known_bucket().map(Target::BucketBpa))
        }
        // S3's bucket-level call and S3 Control's account-level one share a name.
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" if bucket().is_some() => {
            targets.extend(known_bucket().map(Target::BucketBpa))
        }
        "PutPublicAccessBlock"
        | "DeletePublicAccessBlock"
        | "PutAccountPublicAccessBlock"
        | "DeleteAccountPublicAccessBlock" => {
            targets.extend(account().filter(|a| known.accounts.contains(a)).map(Target::AccountBpa))
        }
        "PutMultiRegionAccessPointPolicy" => targets.extend(mrap().map(Target::MrapPolicy)),
        "SubmitMultiRegionAccessPointRoutes" => targets.extend(mrap().map(Target::MrapRoutes)),
        "CreateMultiRegionAccessPoint" | "DeleteMultiRegionAccessPoint" => {
            let configured = values.iter().any(|s| {
                let last = s.rsplit('/').next().unwrap_or(s);
                known.configured_mraps.contains(last) || known.mrap_name(s).is_some()
            });
            if configured {
                targets.insert(Target::Everything);
            }
        }
        "CreateVpcEndpoint" | "ModifyVpcEndpoint" | "DeleteVpcEndpoints" => {
            let ours = values.iter().any(|s| known.endpoints.contains(*s))
                || (event.event_name == "CreateVpcEndpoint" && values.contains(&MRAP_ENDPOINT_SERVICE));
            if ours && known.endpoint_regions.contains(&event.aws_region) {
                targets.insert(Target::Endpoints(event.aws_region.clone()));
            }
        }
        _ => return Err(Dropped::UnknownEvent),
    }
    if targets.is_empty() { Err(Dropped::NotUsed) } else { Ok(targets) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::envelope::parse;

    fn known() -> Known {
        Known {
            buckets: ["doc-examplebucket1", "doc-examplebucket2"].map(String::from).into(),
            mraps: vec![("doc-example-mrap".into(), "mfzwi23gnjvgw.mrap".into())],
            configured_mraps: ["mfzwi23gnjvgw.mrap".to_string()].into(),
            endpoints: ["vpce-0a1b2c3d4e5f60718".to_string()].into(),
            endpoint_regions: ["us-east-1".to_string()].into(),
            accounts: ["123456789012".to_string()].into(),
        }
    }

    /// A CloudTrail event in its EventBridge envelope, shaped as AWS documents it.
    fn event(name: &str, region: &str, parameters: &str, response: &str) -> ChangeEvent {
        let body = format!(
            r#"{{"version": "0", "id": "1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
                "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "{region}", "resources": [],
                "detail": {{"eventVersion": "1.09", "userIdentity": {{"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"}},
                  "eventTime": "2026-11-22T10:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "{name}",
                  "awsRegion": "{region}", "sourceIPAddress": "198.51.100.7", "requestParameters": {parameters},
                  "responseElements": {response}, "requestID": "R1", "eventID": "E1", "recipientAccountId": "123456789012"}}}}"#
        );
        parse(&body).unwrap()
    }

    fn targets(list: &[Target]) -> Result<BTreeSet<Target>, Dropped> {
        Ok(list.iter().cloned().collect())
    }

    #[test]
    fn maps_each_followed_event_to_its_reads() {
        use Target::*;
        let b1 = || "doc-examplebucket1".to_string();
        let mrap = || "doc-example-mrap".to_string();
        for (name, region, parameters, response, expected) in [
            (
                "PutBucketPolicy",
                "us-east-1",
                r#"{"bucketName": "doc-examplebucket1", "bucketPolicy": {}}"#,
                "null",
                targets(&[BucketPolicy(b1())]),
            ),
            (
                "DeleteBucketPolicy",
                "us-east-1",
                r#"{"bucketName": "doc-examplebucket1"}"#,
                "null",
                targets(&[BucketPolicy(b1())]),
            ),
            (
                "PutBucketPolicy",
                "us-east-1",
                r#"{"bucketName": "someone-elses-bucket"}"#,
                "null",
                Err(Dropped::NotUsed),
            ),
            (
                "PutBucketPublicAccessBlock",
                "us-east-1",
                r#"{"bucketName": "doc-examplebucket1", "PublicAccessBlockConfiguration": {}}"#,
                "null",
                targets(&[BucketBpa(b1())]),
            ),
            (
                "DeleteBucketPublicAccessBlock",
                "us-east-1",
                r#"{"bucketName": "doc-examplebucket1"}"#,
                "null",
                targets(&[BucketBpa(b1())]),
            ),
            (
                "PutPublicAccessBlock",
                "us-east-1",
                r#"{"bucketName": "doc-examplebucket1"}"#,
                "null",
                targets(&[BucketBpa(b1())]),
            ),
            (
                "PutPublicAccessBlock",
                "us-east-1",
                r#"{"PublicAccessBlockConfiguration": {"BlockPublicPolicy": true}}"#,
                "null",
                targets(&[AccountBpa("123456789012".into())]),
            ),
            (
                "DeleteAccountPublicAccessBlock",
                "us-east-1",
                "{}",
                "null",
                targets(&[AccountBpa("123456789012".into())]),
            ),
            // S3 Control request bodies, logged in us-west-2.
            (
                "PutMultiRegionAccessPointPolicy",
                "us-west-2",
                r#"{"PutMultiRegionAccessPointPolicyRequest": {"ClientToken": "t", "Details": {"Name": "doc-example-mrap", "Policy": "{}"}}}"#,
                r#"{"requestTokenARN": "arn:aws:s3:us-west-2:123456789012:async-request/mrap/put-policy/t"}"#,
                targets(&[MrapPolicy(mrap())]),
            ),
            (
                "PutMultiRegionAccessPointPolicy",
                "us-west-2",
                r#"{"PutMultiRegionAccessPointPolicyRequest": {"Details": {"Name": "other-mrap"}}}"#,
                "null",
                Err(Dropped::NotUsed),
            ),
            (
                "SubmitMultiRegionAccessPointRoutes",
                "ap-southeast-2",
                r#"{"mrap": "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap", "SubmitMultiRegionAccessPointRoutesRequest": {}}"#,
                "null",
                targets(&[MrapRoutes(mrap())]),
            ),
            (
                "CreateMultiRegionAccessPoint",
                "us-west-2",
                r#"{"CreateMultiRegionAccessPointRequest": {"Details": {"Name": "mfzwi23gnjvgw.mrap"}}}"#,
                "null",
                targets(&[Everything]),
            ),
            (
                "DeleteMultiRegionAccessPoint",
                "us-west-2",
                r#"{"DeleteMultiRegionAccessPointRequest": {"Details": {"Name": "doc-example-mrap"}}}"#,
                "null",
                targets(&[Everything]),
            ),
            (
                "CreateMultiRegionAccessPoint",
                "us-west-2",
                r#"{"CreateMultiRegionAccessPointRequest": {"Details": {"Name": "unrelated"}}}"#,
                "null",
                Err(Dropped::NotUsed),
            ),
            // EC2: the endpoint's region.
            (
                "ModifyVpcEndpoint",
                "us-east-1",
                r#"{"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0a1b2c3d4e5f60718", "PolicyDocument": "{}"}}"#,
                "null",
                targets(&[Endpoints("us-east-1".into())]),
            ),
            (
                "DeleteVpcEndpoints",
                "us-east-1",
                r#"{"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"tag": 1, "content": "vpce-0a1b2c3d4e5f60718"}}}"#,
                "null",
                targets(&[Endpoints("us-east-1".into())]),
            ),
            (
                "CreateVpcEndpoint",
                "us-east-1",
                r#"{"CreateVpcEndpointRequest": {"ServiceName": "com.amazonaws.s3-global.accesspoint", "VpcId": "vpc-1"}}"#,
                r#"{"CreateVpcEndpointResponse": {"vpcEndpoint": {"vpcEndpointId": "vpce-0ffffffffffffffff"}}}"#,
                targets(&[Endpoints("us-east-1".into())]),
            ),
            (
                "CreateVpcEndpoint",
                "us-east-1",
                r#"{"CreateVpcEndpointRequest": {"ServiceName": "com.amazonaws.us-east-1.s3"}}"#,
                "null",
                Err(Dropped::NotUsed),
            ),
            (
                "ModifyVpcEndpoint",
                "eu-west-1",
                r#"{"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0a1b2c3d4e5f60718"}}"#,
                "null",
                Err(Dropped::NotUsed),
            ),
            (
                "GetBucketPolicy",
                "us-east-1",
                r#"{"bucketName": "doc-examplebucket1"}"#,
                "null",
                Err(Dropped::UnknownEvent),
            ),
        ] {
            assert_eq!(map(&event(name, region, parameters, response), &known()), expected, "{name} {parameters}");
        }
    }

    #[test]
    fn a_refused_call_changed_nothing() {
        let mut e = event("PutBucketPolicy", "us-east-1", r#"{"bucketName": "doc-examplebucket1"}"#, "null");
        e.error_code = Some("AccessDenied".into());
        assert_eq!(map(&e, &known()), Err(Dropped::FailedCall));
    }

    #[test]
    fn known_world_from_the_bundled_example() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let config = crate::config::load(&dir.join("mrap-auditor.toml")).unwrap();
        let snapshot = crate::source::dir::read(&dir.join("snapshots/example")).unwrap();
        let k = Known::new(&snapshot, &config);
        assert!(k.buckets.contains("doc-examplebucket1") && k.buckets.contains("doc-examplebucket2"));
        assert!(k.endpoints.contains("vpce-0a1b2c3d4e5f60718"));
        assert_eq!(k.accounts, ["123456789012".to_string()].into());
    }
}
