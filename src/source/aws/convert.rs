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
        public_access_block: report.public_access_block().map(|c| PublicAccessBlock {
            block_public_acls: c.block_public_acls().unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
            block_public_policy: c.block_public_policy().unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
        }),
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

/// Account Block Public Access (S3 Control). Unset settings are off, as in AWS.
pub fn account_bpa(c: &aws_sdk_s3control::types::PublicAccessBlockConfiguration) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.block_public_acls().unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
        block_public_policy: c.block_public_policy().unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
    }
}

/// Bucket Block Public Access (S3). Unset settings are off, as in AWS.
pub fn bucket_bpa(c: &aws_sdk_s3::types::PublicAccessBlockConfiguration) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.block_public_acls().unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
        block_public_policy: c.block_public_policy().unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
    }
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
