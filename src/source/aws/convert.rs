//! SDK output types → the snapshot's AWS-shaped types, field by field as the AWS CLI prints them,
//! so a live capture and a hand-made snapshot directory are the same data.
//!
//! A response that lacks what the audit needs (an MRAP without a name, a route without a traffic
//! dial in 0..=100) is refused here with a reason, and becomes an unreadable input — never a guess.

use aws_sdk_s3control::primitives::DateTimeFormat;

use crate::snapshot::{Mrap, MrapRegion, MrapRoute, PublicAccessBlock, VpcEndpoint};

/// An MRAP of `ListMultiRegionAccessPoints`.
pub fn mrap(report: &aws_sdk_s3control::types::MultiRegionAccessPointReport) -> Result<Mrap, String> {
    let (Some(name), Some(alias)) = (report.name(), report.alias()) else {
        return Err("an access point in the listing has no `Name` or `Alias`".to_string());
    };
    let mut regions = Vec::with_capacity(report.regions().len());
    for r in report.regions() {
        let Some(bucket) = r.bucket() else {
            return Err(format!("a region of MRAP `{name}` has no `Bucket`"));
        };
        regions.push(MrapRegion {
            bucket: bucket.to_string(),
            region: r.region().unwrap_or_default().to_string(),
            bucket_account_id: r.bucket_account_id().map(str::to_string),
        });
    }
    Ok(Mrap {
        name: name.to_string(),
        alias: alias.to_string(),
        created_at: report.created_at().and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
        // A configuration that lacks a setting is as good as none: unknown (the audit says so).
        public_access_block: report.public_access_block().and_then(|c| account_bpa(c).ok()),
        status: report.status().map(|s| s.as_str().to_string()),
        regions,
    })
}

/// A route of `GetMultiRegionAccessPointRoutes`.
pub fn route(r: &aws_sdk_s3control::types::MultiRegionAccessPointRoute) -> Result<MrapRoute, String> {
    let dial = r.traffic_dial_percentage();
    let Ok(traffic_dial_percentage) = u8::try_from(dial) else {
        return Err(format!("route to `{}` has `TrafficDialPercentage` {dial}", r.bucket().unwrap_or("?")));
    };
    if traffic_dial_percentage > 100 {
        return Err(format!("route to `{}` has `TrafficDialPercentage` {dial}", r.bucket().unwrap_or("?")));
    }
    Ok(MrapRoute {
        bucket: r.bucket().map(str::to_string),
        region: r.region().map(str::to_string),
        traffic_dial_percentage,
    })
}

/// The four settings of a Block Public Access configuration; one the response lacks makes it
/// unreadable (AWS returns all four), never "off".
fn bpa(settings: [(&str, Option<bool>); 4]) -> Result<PublicAccessBlock, String> {
    let missing: Vec<&str> = settings.iter().filter(|(_, v)| v.is_none()).map(|(n, _)| *n).collect();
    if !missing.is_empty() {
        return Err(format!("the Block Public Access configuration lacks `{}`", missing.join("`, `")));
    }
    let [a, b, c, d] = settings.map(|(_, v)| v.unwrap_or(false));
    Ok(PublicAccessBlock {
        block_public_acls: a,
        ignore_public_acls: b,
        block_public_policy: c,
        restrict_public_buckets: d,
    })
}

/// Account Block Public Access (S3 Control).
pub fn account_bpa(c: &aws_sdk_s3control::types::PublicAccessBlockConfiguration) -> Result<PublicAccessBlock, String> {
    bpa([
        ("BlockPublicAcls", c.block_public_acls()),
        ("IgnorePublicAcls", c.ignore_public_acls()),
        ("BlockPublicPolicy", c.block_public_policy()),
        ("RestrictPublicBuckets", c.restrict_public_buckets()),
    ])
}

/// Bucket Block Public Access (S3).
pub fn bucket_bpa(c: &aws_sdk_s3::types::PublicAccessBlockConfiguration) -> Result<PublicAccessBlock, String> {
    bpa([
        ("BlockPublicAcls", c.block_public_acls()),
        ("IgnorePublicAcls", c.ignore_public_acls()),
        ("BlockPublicPolicy", c.block_public_policy()),
        ("RestrictPublicBuckets", c.restrict_public_buckets()),
    ])
}

/// A VPC endpoint of `DescribeVpcEndpoints`; `None` without an id (nothing could name it).
pub fn endpoint(e: &aws_sdk_ec2::types::VpcEndpoint) -> Option<VpcEndpoint> {
    Some(VpcEndpoint {
        id: e.vpc_endpoint_id()?.to_string(),
        endpoint_type: e.vpc_endpoint_type().map(|t| t.as_str().to_string()),
        vpc_id: e.vpc_id().unwrap_or_default().to_string(),
        service_name: e.service_name().map(str::to_string),
        state: e.state().map(|s| s.as_str().to_string()),
        private_dns_enabled: e.private_dns_enabled(),
        policy_document: e.policy_document().map(str::to_string),
        owner_id: e.owner_id().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3control::types::{MultiRegionAccessPointReport, MultiRegionAccessPointRoute, RegionReport};

    #[test]
    fn route_dials_outside_0_to_100_are_refused() {
        let r =
            |dial| MultiRegionAccessPointRoute::builder().bucket("b").traffic_dial_percentage(dial).build().unwrap();
        assert_eq!(route(&r(100)).unwrap().traffic_dial_percentage, 100);
        assert_eq!(route(&r(0)).unwrap().traffic_dial_percentage, 0);
        assert_eq!(route(&r(101)).unwrap_err(), "route to `b` has `TrafficDialPercentage` 101");
        assert_eq!(route(&r(-1)).unwrap_err(), "route to `b` has `TrafficDialPercentage` -1");
    }

    #[test]
    fn a_block_public_access_setting_the_response_lacks_is_unreadable_not_off() {
        use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
        let full = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(false)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        assert!(account_bpa(&full).unwrap().restrict_public_buckets);
        let partial = PublicAccessBlockConfiguration::builder().block_public_acls(true).build();
        assert_eq!(
            account_bpa(&partial).unwrap_err(),
            "the Block Public Access configuration lacks `IgnorePublicAcls`, `BlockPublicPolicy`, `RestrictPublicBuckets`"
        );
    }

    #[test]
    fn an_mrap_without_alias_is_refused() {
        let m = MultiRegionAccessPointReport::builder().name("reports").build();
        assert_eq!(mrap(&m).unwrap_err(), "an access point in the listing has no `Name` or `Alias`");
        let m = MultiRegionAccessPointReport::builder()
            .name("reports")
            .alias("mfzwi23gnjvgw.mrap")
            .regions(RegionReport::builder().bucket("b1").region("us-east-1").build())
            .build();
        let m = mrap(&m).unwrap();
        assert_eq!(m.regions[0].bucket, "b1");
        assert_eq!(m.regions[0].bucket_account_id, None);
        assert_eq!(m.status, None, "an absent status stays absent, never `\"\"`");
        assert_eq!(m.public_access_block, None, "an absent Block Public Access stays absent, never all off");
    }
}
