//! S3 and PrivateLink facts the core reasons about: the Block Public Access settings of one
//! level and the names of the endpoint services that reach S3. Pure data, no I/O.
//!
//! Why a module of its own: these facts are shared by the access path (`path`), the audit and
//! the sources (`source::aws`, `source::dir`), which must not depend on each other. The path
//! needs the settings as *meanings* (which setting is on); a source reads them in the shape
//! the AWS CLI prints (`snapshot::PublicAccessBlock`, a serde type) and converts at the edge,
//! so a change to the snapshot format never reaches the evaluation. A source uses the service
//! names to select which endpoints to capture, the path to check an endpoint: both import them
//! from here, neither from the other.
//!
//! Left out: the evaluation of Block Public Access itself (it lives in `path`, next to the
//! layers it is attributed among) and ACLs (the auditor does not evaluate them).

/// The interface endpoint service that reaches Multi-Region Access Points (S3: "Configuring a
/// Multi-Region Access Point for use with AWS PrivateLink").
pub const MRAP_ENDPOINT_SERVICE: &str = "com.amazonaws.s3-global.accesspoint";

/// The service name of a regional S3 endpoint (`com.amazonaws.us-east-1.s3`), gateway or
/// interface: the endpoints that reach a bucket of that region directly (VPC: "Gateway
/// endpoints for Amazon S3").
pub fn regional_service(region: &str) -> String {
    format!("com.amazonaws.{region}.s3")
}

/// Whether an endpoint service is a regional S3 service (any region; not `s3express`, not the
/// MRAP service).
pub fn is_regional_s3_service(service: &str) -> bool {
    service.strip_prefix("com.amazonaws.").and_then(|r| r.strip_suffix(".s3")).is_some_and(|r| !r.contains('.'))
}

/// The four Block Public Access settings of one level: an account, a bucket or a Multi-Region
/// Access Point (S3: "Blocking public access to your Amazon S3 storage"). A level that has no
/// configuration has every setting off ([`BlockPublicAccess::default`]); a configuration that
/// could not be read is not a value of this type at all (the path holds it as unknown).
///
/// The access path reasons only about `restrict_public_buckets`, which limits what a public
/// policy grants; the other three settings act when a policy or an ACL is *written* or on ACLs,
/// which the auditor does not evaluate, and are kept so the model is the whole configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockPublicAccess {
    /// `BlockPublicAcls`: refuses requests that would set a public ACL.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`: public ACLs grant nothing.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`: refuses a policy that would make the resource public.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`: a public policy grants only to the owner's account and to AWS
    /// services ("restricts access to an access point or bucket with a public policy to only
    /// AWS service principals and authorized users within the bucket owner's account and
    /// access point owner's account").
    pub restrict_public_buckets: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_services() {
        let cases: &[(&str, &str, bool)] = &[
            ("a region's S3 service", "com.amazonaws.us-east-1.s3", true),
            ("another region", "com.amazonaws.eu-west-1.s3", true),
            ("the MRAP service", MRAP_ENDPOINT_SERVICE, false),
            ("S3 Express", "com.amazonaws.us-east-1.s3express", false),
            ("no region", "com.amazonaws.s3", false),
            ("another service", "com.amazonaws.us-east-1.ec2", false),
            ("another vendor", "com.example.us-east-1.s3", false),
        ];
        for (name, service, regional) in cases {
            assert_eq!(is_regional_s3_service(service), *regional, "{name}: {service}");
        }
        assert_eq!(regional_service("eu-west-1"), "com.amazonaws.eu-west-1.s3");
        assert!(is_regional_s3_service(&regional_service("ap-south-2")));
    }

    #[test]
    fn no_configuration_is_all_off() {
        let off = BlockPublicAccess::default();
        assert!(
            !off.block_public_acls
                && !off.ignore_public_acls
                && !off.block_public_policy
                && !off.restrict_public_buckets
        );
    }
}
