//! Unit tests of the access path: which layer each decision is attributed to, every structural
//! check, Block Public Access at each level, and the direct path. Each case changes one thing
//! of a path on which every layer allows, and names the layer and statement that must decide.

use super::*;
use crate::policy::parse_policy;
use crate::s3::MRAP_ENDPOINT_SERVICE;

const CALLER: &str = "arn:aws:iam::444455556666:role/app";
const OWNER_CALLER: &str = "arn:aws:iam::111122223333:role/app";
const OWNER: &str = "111122223333";
const MRAP_ARN: &str = "arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap";
const BUCKET: &str = "bucket-1";

const ALLOW_ALL_ENDPOINT: &str =
    r#"{"Statement":[{"Sid":"EndpointAllows","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
const MRAP_GRANT: &str = r#"{"Statement":[{"Sid":"MrapGrant","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/app"},"Action":"s3:GetObject","Resource":"arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap/object/*"}]}"#;
const BUCKET_GRANT: &str = r#"{"Statement":[{"Sid":"BucketGrant","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/app"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-1/*"}]}"#;
const PUBLIC_MRAP: &str = r#"{"Statement":[{"Sid":"PublicMrapGrant","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap/object/*"}]}"#;
const PUBLIC_BUCKET: &str = r#"{"Statement":[{"Sid":"PublicBucketGrant","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-1/*"}]}"#;

/// How the request reaches the MRAP.
#[derive(Clone, Copy)]
enum Net {
    Endpoint,
    /// The endpoint's description could not be read.
    UnreadableEndpoint,
    Internet,
}

/// A policy document as captured.
#[derive(Clone, Copy)]
enum Doc {
    Absent,
    Text(&'static str),
    Unreadable,
}

/// One level of Block Public Access.
#[derive(Clone, Copy)]
enum Level {
    Off,
    Restrict,
    Unread,
}

/// One path; [`Fixture::allowing`] is a path on which every layer allows.
#[derive(Clone)]
struct Fixture {
    caller: &'static str,
    net: Net,
    vpc_id: &'static str,
    endpoint_type: Option<&'static str>,
    service: Option<&'static str>,
    state: Option<&'static str>,
    private_dns: Option<bool>,
    endpoint_policy: Doc,
    mrap_status: Option<&'static str>,
    mrap_policy: Doc,
    proposed: Option<Doc>,
    bucket_policy: Doc,
    identity: Option<&'static str>,
    scp: Option<&'static str>,
    rcp: Option<&'static str>,
    /// The MRAP's, its account's, the bucket's and the bucket account's Block Public Access.
    bpa: [Level; 4],
    context: Vec<(String, ContextValue)>,
}

impl Fixture {
    fn allowing() -> Fixture {
        Fixture {
            caller: CALLER,
            net: Net::Endpoint,
            vpc_id: "vpc-1",
            endpoint_type: Some("Interface"),
            service: Some(MRAP_ENDPOINT_SERVICE),
            state: Some("available"),
            private_dns: Some(true),
            endpoint_policy: Doc::Text(ALLOW_ALL_ENDPOINT),
            mrap_status: Some("READY"),
            mrap_policy: Doc::Text(MRAP_GRANT),
            proposed: None,
            bucket_policy: Doc::Text(BUCKET_GRANT),
            identity: None,
            scp: None,
            rcp: None,
            bpa: [Level::Off; 4],
            context: Vec::new(),
        }
    }

    /// A path straight to the bucket through a regional gateway endpoint of its region.
    fn direct() -> Fixture {
        Fixture { endpoint_type: Some("Gateway"), service: Some("com.amazonaws.us-east-1.s3"), ..Fixture::allowing() }
    }
}

fn named<'a>(p: &'a Option<Policy>, name: &'a str) -> Option<NamedPolicy<'a>> {
    p.as_ref().map(|policy| NamedPolicy { name, policy })
}

fn parse(text: &str, kind: PolicyKind) -> Policy {
    parse_policy(text, kind).unwrap()
}

/// Parses a document; `name` is its explanation name.
fn doc<'a>(doc: Doc, parsed: &'a Option<Policy>, name: &'a str) -> Known<Option<NamedPolicy<'a>>> {
    match doc {
        Doc::Absent => Known::Value(None),
        Doc::Text(_) => Known::Value(parsed.as_ref().map(|policy| NamedPolicy { name, policy })),
        Doc::Unreadable => Known::Unknown("not captured".into()),
    }
}

fn text(doc: Doc, kind: PolicyKind) -> Option<Policy> {
    match doc {
        Doc::Text(t) => Some(parse(t, kind)),
        Doc::Absent | Doc::Unreadable => None,
    }
}

fn level(l: Level) -> Known<BlockPublicAccess> {
    match l {
        Level::Off => Known::Value(BlockPublicAccess::default()),
        Level::Restrict => Known::Value(BlockPublicAccess { restrict_public_buckets: true, ..Default::default() }),
        Level::Unread => Known::Unknown("not captured".into()),
    }
}

/// Which path to decide.
enum Route {
    Mrap { trace: bool },
    Direct,
}

/// Decides the fixture's path: the Established decision and, when the fixture has one, the
/// Proposed.
fn run(f: &Fixture, route: Route) -> (PathDecision, Option<PathDecision>) {
    let caller = Caller::parse(f.caller).unwrap();
    let endpoint_policy = text(f.endpoint_policy, PolicyKind::Vpce);
    let mrap_policy = text(f.mrap_policy, PolicyKind::Resource);
    let proposed_policy = f.proposed.and_then(|d| text(d, PolicyKind::Resource));
    let bucket_policy = text(f.bucket_policy, PolicyKind::Resource);
    let identity = f.identity.map(|t| parse(t, PolicyKind::Identity));
    let scp = f.scp.map(|t| parse(t, PolicyKind::Scp));
    let rcp = f.rcp.map(|t| parse(t, PolicyKind::Rcp));
    let endpoint = EndpointFacts {
        id: "vpce-1",
        vpc_id: f.vpc_id,
        endpoint_type: f.endpoint_type,
        service_name: f.service,
        state: f.state,
        private_dns: f.private_dns,
        policy: doc(f.endpoint_policy, &endpoint_policy, "endpoint policy of vpce-1"),
    };
    let network = match f.net {
        Net::Endpoint => Network::Endpoint(Known::Value(endpoint)),
        Net::UnreadableEndpoint => Network::Endpoint(Known::Unknown("the endpoint description: not captured".into())),
        Net::Internet => Network::Internet,
    };
    let [mrap_bpa, mrap_account_bpa, bucket_bpa, bucket_account_bpa] = f.bpa.map(level);
    let mrap = MrapFacts {
        arn: MRAP_ARN,
        account: OWNER,
        status: f.mrap_status,
        bpa: mrap_bpa,
        account_bpa: mrap_account_bpa,
        policy: doc(f.mrap_policy, &mrap_policy, "MRAP policy"),
    };
    let bucket = BucketFacts {
        name: BUCKET,
        account: OWNER,
        policy: doc(f.bucket_policy, &bucket_policy, "bucket policy of bucket-1"),
        bpa: bucket_bpa,
        account_bpa: bucket_account_bpa,
    };
    let policies = CallerPolicies {
        identity: named(&identity, "identity policy"),
        boundary: None,
        session: None,
        scp: named(&scp, "scp").map(|p| vec![vec![p]]).unwrap_or_default(),
        rcp: named(&rcp, "rcp").map(|p| vec![vec![p]]).unwrap_or_default(),
    };
    let req = PathRequest {
        caller: &caller,
        action: "s3:GetObject",
        key: "data/report.csv",
        bucket_action: false,
        context: &f.context,
        time: Some(("2026-01-01T00:00:00Z", 1_767_225_600)),
        partition: "aws",
    };
    let proposed = f.proposed.map(|d| doc(d, &proposed_policy, "Proposed MRAP policy"));
    match route {
        Route::Mrap { trace: true } => decide(&req, &network, &mrap, &bucket, &policies, proposed.as_ref()),
        Route::Mrap { trace: false } => decide_untraced(&req, &network, &mrap, &bucket, &policies, proposed.as_ref()),
        Route::Direct => (decide_direct(&req, &network, &bucket, "us-east-1", &policies, true), None),
    }
}

fn sid(d: &PathDecision) -> Option<&str> {
    d.statement.as_ref().and_then(|s| s.sid.as_deref())
}

// Policies the cases swap in, named by what they do.
const ENDPOINT_DENIES_MRAP_ARN: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"DenyMrapArn","Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:s3::*:accesspoint/*"}]}"#;
const ENDPOINT_DENIES_BUCKET_ARN: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"DenyBucketArn","Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:s3:::bucket-1/*"}]}"#;
const ENDPOINT_ONLY_BUCKET: &str = r#"{"Statement":[{"Sid":"OnlyBucket","Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:s3:::bucket-1/*"}]}"#;
const ENDPOINT_ONLY_MRAP: &str = r#"{"Statement":[{"Sid":"OnlyMrap","Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:s3::111122223333:accesspoint/*"}]}"#;
const MRAP_DENY: &str =
    r#"{"Statement":[{"Sid":"MrapDeny","Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
const MRAP_PUT_ONLY: &str =
    r#"{"Statement":[{"Sid":"MrapPutOnly","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}"#;
const MRAP_VIA_ENDPOINT: &str = r#"{"Statement":[{"Sid":"ViaEndpoint","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}"#;
const MRAP_BY_PRIVATE_IP: &str = r#"{"Statement":[{"Sid":"ByPrivateAddress","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:VpcSourceIp":"10.0.0.0/8"}}}]}"#;
const MRAP_BY_PUBLIC_IP: &str = r#"{"Statement":[{"Sid":"ByPublicAddress","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;
const MRAP_OTHER_PRINCIPAL: &str = r#"{"Statement":[{"Sid":"MrapOtherPrincipal","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"s3:GetObject","Resource":"*"}]}"#;
const IDENTITY_OTHER_ENDPOINT: &str = r#"{"Statement":[{"Sid":"IdentityOtherEndpoint","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-other"}}}]}"#;
const BUCKET_DENY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"BucketDeny","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-1/*"}]}"#;
const BUCKET_OTHER_PRINCIPAL: &str = r#"{"Statement":[{"Sid":"OtherPrincipal","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-1/*"}]}"#;
const PIN_VPC: &str = r#"{"Statement":[{"Sid":"Grant","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-1/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}},{"Sid":"PinVpc","Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}}]}"#;
const VIA_MRAP: &str = r#"{"Statement":[{"Sid":"ViaMrap","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-1/*","Condition":{"StringEquals":{"s3:DataAccessPointArn":"arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap","s3:DataAccessPointAccount":"111122223333"}}}]}"#;
const IDENTITY_DENY: &str = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"IdentityDeny","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#;
const IDENTITY_PUT_ONLY: &str =
    r#"{"Statement":[{"Sid":"IdentityPutOnly","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#;
const IDENTITY_GET: &str =
    r#"{"Statement":[{"Sid":"IdentityGet","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const SCP_DENY: &str = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"ScpDeny","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#;
const RCP_DENY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Sid":"RcpDeny","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#;
const PROPOSED_DENY: &str =
    r#"{"Statement":[{"Sid":"ProposedDeny","Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;

/// A case: its name, what it changes, then the decision, the deciding layer, the deciding
/// statement's Sid and a part of the reason.
type Case = (&'static str, fn(&mut Fixture), Decision, Option<PathLayer>, Option<&'static str>, &'static str);

/// Rows `name, change => decision, layer, statement, reason;`: a macro so that each case stays
/// on one line (rustfmt leaves macro input alone), as in `eval::wildcard`'s tests.
macro_rules! cases {
    ($($name:literal, $change:expr => $decision:expr, $layer:expr, $statement:expr, $reason:expr;)*) => {
        [$(($name, $change, $decision, $layer, $statement, $reason)),*]
    };
}

fn check_cases(cases: &[Case], base: fn() -> Fixture, direct: bool) {
    for (name, change, decision, layer, statement, reason) in cases {
        let mut f = base();
        change(&mut f);
        let route = if direct { Route::Direct } else { Route::Mrap { trace: true } };
        let (d, _) = run(&f, route);
        assert_eq!(d.decision, *decision, "{name}: decision ({})", d.reason);
        assert_eq!(d.deciding_layer, *layer, "{name}: deciding layer ({})", d.reason);
        assert_eq!(sid(&d), *statement, "{name}: deciding statement ({})", d.reason);
        assert!(d.reason.contains(reason), "{name}: reason `{}` lacks `{reason}`", d.reason);
        if !direct {
            // The untraced path (the access map's) decides alike.
            let (u, _) = run(&f, Route::Mrap { trace: false });
            assert_eq!((u.decision, u.deciding_layer), (d.decision, d.deciding_layer), "{name}: untraced");
        }
    }
}

#[test]
fn each_layer_is_attributed() {
    use Decision::{Allow, ExplicitDeny as Deny, ImplicitDeny as NoGrant, Unknown};
    use PathLayer::*;
    let cases: &[Case] = &cases![
        "every layer allows", |_| {} => Allow, None, Some("BucketGrant"), "allowed; the bucket grant is statement 0 (`BucketGrant`) of bucket policy of bucket-1";
        "endpoint policy denies the MRAP ARN", |f| f.endpoint_policy = Doc::Text(ENDPOINT_DENIES_MRAP_ARN) => Deny, Some(Vpce), Some("DenyMrapArn"), "MRAP request denied by statement 1 (`DenyMrapArn`) of endpoint policy of vpce-1";
        "endpoint policy denies the bucket ARN", |f| f.endpoint_policy = Doc::Text(ENDPOINT_DENIES_BUCKET_ARN) => Deny, Some(Vpce), Some("DenyBucketArn"), "bucket request denied by statement 1";
        "endpoint policy grants only the bucket ARN", |f| f.endpoint_policy = Doc::Text(ENDPOINT_ONLY_BUCKET) => NoGrant, Some(Vpce), Some("OnlyBucket"), "MRAP request";
        "endpoint policy grants only the MRAP ARN", |f| f.endpoint_policy = Doc::Text(ENDPOINT_ONLY_MRAP) => NoGrant, Some(Vpce), Some("OnlyMrap"), "bucket request";
        "endpoint policy unreadable", |f| f.endpoint_policy = Doc::Unreadable => Unknown, Some(Vpce), None, "cannot be evaluated: the policy of endpoint vpce-1";
        "no endpoint policy: the default allows", |f| f.endpoint_policy = Doc::Absent => Allow, None, Some("BucketGrant"), "allowed";
        "MRAP policy denies", |f| f.mrap_policy = Doc::Text(MRAP_DENY) => Deny, Some(Mrap), Some("MrapDeny"), "MRAP request denied by statement 0 (`MrapDeny`) of MRAP policy";
        "MRAP policy grants another action", |f| f.mrap_policy = Doc::Text(MRAP_PUT_ONLY) => NoGrant, Some(Mrap), None, "MRAP request";
        "MRAP policy grants another principal", |f| f.mrap_policy = Doc::Text(MRAP_OTHER_PRINCIPAL) => NoGrant, Some(Mrap), Some("MrapOtherPrincipal"), "MRAP request";
        "no MRAP policy, caller in another account", |f| f.mrap_policy = Doc::Absent => NoGrant, Some(Mrap), None, "MRAP request";
        "MRAP policy unreadable", |f| f.mrap_policy = Doc::Unreadable => Unknown, Some(Mrap), None, "cannot be evaluated: the MRAP policy";
        "bucket policy denies", |f| f.bucket_policy = Doc::Text(BUCKET_DENY) => Deny, Some(Bucket), Some("BucketDeny"), "bucket request denied by statement 1 (`BucketDeny`) of bucket policy of bucket-1";
        "bucket policy grants another principal", |f| f.bucket_policy = Doc::Text(BUCKET_OTHER_PRINCIPAL) => NoGrant, Some(Bucket), Some("OtherPrincipal"), "bucket request";
        "no bucket policy, caller in another account", |f| f.bucket_policy = Doc::Absent => NoGrant, Some(Bucket), None, "bucket request";
        "bucket policy unreadable", |f| f.bucket_policy = Doc::Unreadable => Unknown, Some(Bucket), None, "cannot be evaluated: the bucket policy of bucket-1";
        "an explicit deny beats an earlier missing grant", |f| { f.mrap_policy = Doc::Absent; f.bucket_policy = Doc::Text(BUCKET_DENY) } => Deny, Some(Bucket), Some("BucketDeny"), "bucket request denied";
        "of two denies the first in path order decides", |f| { f.mrap_policy = Doc::Text(MRAP_DENY); f.bucket_policy = Doc::Text(BUCKET_DENY) } => Deny, Some(Mrap), Some("MrapDeny"), "MRAP request";
        "a missing grant beats an unknown", |f| { f.endpoint_policy = Doc::Unreadable; f.bucket_policy = Doc::Absent } => NoGrant, Some(Bucket), None, "bucket request";
        "identity policy denies", |f| f.identity = Some(IDENTITY_DENY) => Deny, Some(Identity), Some("IdentityDeny"), "MRAP request denied by statement 1 (`IdentityDeny`) of identity policy";
        "identity policy grants another action", |f| f.identity = Some(IDENTITY_PUT_ONLY) => NoGrant, Some(Identity), None, "MRAP request";
        "identity policy grants through another endpoint", |f| f.identity = Some(IDENTITY_OTHER_ENDPOINT) => NoGrant, Some(Identity), Some("IdentityOtherEndpoint"), "MRAP request";
        "identity policy allows", |f| f.identity = Some(IDENTITY_GET) => Allow, None, Some("BucketGrant"), "allowed";
        "SCP denies", |f| f.scp = Some(SCP_DENY) => Deny, Some(Scp), Some("ScpDeny"), "denied by statement 1 (`ScpDeny`) of scp";
        "RCP denies", |f| f.rcp = Some(RCP_DENY) => Deny, Some(Rcp), Some("RcpDeny"), "denied by statement 1 (`RcpDeny`) of rcp";
        "bucket policy pins the VPC, endpoint in it", |f| f.bucket_policy = Doc::Text(PIN_VPC) => Allow, None, Some("Grant"), "allowed";
        "bucket policy pins the VPC, endpoint in another", |f| { f.bucket_policy = Doc::Text(PIN_VPC); f.vpc_id = "vpc-2" } => Deny, Some(Bucket), Some("PinVpc"), "bucket request denied";
        "bucket policy pins the VPC, endpoint's VPC not described", |f| { f.bucket_policy = Doc::Text(PIN_VPC); f.vpc_id = "" } => Unknown, Some(Bucket), None, "bucket request";
        "the expectation's context wins over the path's", |f| { f.bucket_policy = Doc::Text(PIN_VPC); f.context = vec![("aws:SourceVpc".into(), ContextValue::Single("vpc-9".into()))] } => Deny, Some(Bucket), Some("PinVpc"), "bucket request denied";
        "bucket policy requires the MRAP as data access point", |f| f.bucket_policy = Doc::Text(VIA_MRAP) => Allow, None, Some("ViaMrap"), "allowed";
        "MRAP policy requires the endpoint", |f| f.mrap_policy = Doc::Text(MRAP_VIA_ENDPOINT) => Allow, None, Some("BucketGrant"), "allowed";
        "a condition on the private source address is unknown", |f| f.mrap_policy = Doc::Text(MRAP_BY_PRIVATE_IP) => Unknown, Some(Mrap), Some("ByPrivateAddress"), "MRAP request";
        "no aws:SourceIp through an endpoint", |f| f.mrap_policy = Doc::Text(MRAP_BY_PUBLIC_IP) => NoGrant, Some(Mrap), Some("ByPublicAddress"), "MRAP request";
    ];
    check_cases(cases, Fixture::allowing, false);
}

#[test]
fn block_public_access_at_each_level() {
    use Decision::{Allow, ExplicitDeny as Deny, Unknown};
    use Level::{Off, Restrict, Unread};
    use PathLayer::BlockPublicAccess as Bpa;
    let cases: &[Case] = &cases![
        "public bucket policy, no level restricts", |f| f.bucket_policy = Doc::Text(PUBLIC_BUCKET) => Allow, None, Some("PublicBucketGrant"), "allowed";
        "public bucket policy, RestrictPublicBuckets on the bucket", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Off, Off, Restrict, Off] } => Deny, Some(Bpa), None, "the bucket policy is public and RestrictPublicBuckets is on";
        "public bucket policy, RestrictPublicBuckets on the bucket's account", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Off, Off, Off, Restrict] } => Deny, Some(Bpa), None, "the bucket policy is public and RestrictPublicBuckets is on";
        "public bucket policy, the MRAP's RestrictPublicBuckets passes through", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Restrict, Off, Off, Off] } => Deny, Some(Bpa), None, "the bucket policy is public and RestrictPublicBuckets is on";
        "public bucket policy, the MRAP account's RestrictPublicBuckets passes through", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Off, Restrict, Off, Off] } => Deny, Some(Bpa), None, "the bucket policy is public and RestrictPublicBuckets is on";
        "public bucket policy, a level unread", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Off, Off, Unread, Off] } => Unknown, Some(Bpa), None, "the bucket policy is public and a Block Public Access setting could not be read";
        "public bucket policy, restricted and a level unread", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Off, Unread, Restrict, Off] } => Deny, Some(Bpa), None, "RestrictPublicBuckets is on";
        "public bucket policy, caller in the owner's account", |f| { f.caller = OWNER_CALLER; f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Restrict; 4] } => Allow, None, Some("PublicBucketGrant"), "allowed";
        "public MRAP policy, RestrictPublicBuckets on the MRAP", |f| { f.mrap_policy = Doc::Text(PUBLIC_MRAP); f.bpa = [Restrict, Off, Off, Off] } => Deny, Some(Bpa), None, "the MRAP policy is public and RestrictPublicBuckets is on";
        "public MRAP policy, RestrictPublicBuckets on the MRAP's account", |f| { f.mrap_policy = Doc::Text(PUBLIC_MRAP); f.bpa = [Off, Restrict, Off, Off] } => Deny, Some(Bpa), None, "the MRAP policy is public";
        "public MRAP policy, the bucket's settings do not reach it", |f| { f.mrap_policy = Doc::Text(PUBLIC_MRAP); f.bpa = [Off, Off, Restrict, Restrict] } => Allow, None, Some("BucketGrant"), "allowed";
        "public MRAP policy, the MRAP's level unread", |f| { f.mrap_policy = Doc::Text(PUBLIC_MRAP); f.bpa = [Unread, Off, Off, Off] } => Unknown, Some(Bpa), None, "the MRAP policy is public and a Block Public Access setting could not be read";
        "policies not public, every level unread", |f| f.bpa = [Unread; 4] => Allow, None, Some("BucketGrant"), "allowed";
        "a public policy restricted, and a policy layer denies first", |f| { f.bucket_policy = Doc::Text(BUCKET_DENY); f.bpa = [Restrict; 4] } => Deny, Some(PathLayer::Bucket), Some("BucketDeny"), "bucket request denied";
    ];
    check_cases(cases, Fixture::allowing, false);
}

/// A structural case: its name, what it changes, the check it concerns and its result.
type StructuralCase = (&'static str, fn(&mut Fixture), &'static str, Tri);

macro_rules! structural_cases {
    ($($name:literal, $change:expr => $check:literal, $result:expr;)*) => {
        [$(($name, $change, $check, $result)),*]
    };
}

#[test]
fn each_structural_check() {
    use Tri::{No, Unknown, Yes};
    let cases: &[StructuralCase] = &structural_cases![
        "signed caller", |_| {} => "caller is signed", Yes;
        "anonymous caller", |f| f.caller = "anonymous" => "caller is signed", No;
        "MRAP ready", |_| {} => "MRAP is ready", Yes;
        "MRAP status in lower case", |f| f.mrap_status = Some("ready") => "MRAP is ready", Yes;
        "MRAP inconsistent across regions", |f| f.mrap_status = Some("INCONSISTENT_ACROSS_REGIONS") => "MRAP is ready", No;
        "MRAP being created", |f| f.mrap_status = Some("CREATING") => "MRAP is ready", No;
        "MRAP status not listed", |f| f.mrap_status = None => "MRAP is ready", Unknown;
        "endpoint of the MRAP service", |_| {} => "endpoint service", Yes;
        "endpoint of a regional S3 service", |f| f.service = Some("com.amazonaws.us-east-1.s3") => "endpoint service", No;
        "endpoint service not described", |f| f.service = None => "endpoint service", Unknown;
        "interface endpoint in lower case", |f| f.endpoint_type = Some("interface") => "endpoint type", Yes;
        "gateway endpoint", |f| f.endpoint_type = Some("Gateway") => "endpoint type", No;
        "endpoint type not described", |f| f.endpoint_type = None => "endpoint type", Unknown;
        "endpoint available", |_| {} => "endpoint state", Yes;
        "endpoint pending acceptance", |f| f.state = Some("pendingAcceptance") => "endpoint state", No;
        "endpoint deleted", |f| f.state = Some("deleted") => "endpoint state", No;
        "endpoint state not described", |f| f.state = None => "endpoint state", Unknown;
        "endpoint description unreadable", |f| f.net = Net::UnreadableEndpoint => "endpoint", Unknown;
        // Private DNS says which clients take the path; it never denies.
        "private DNS enabled", |_| {} => "endpoint private DNS", Yes;
        "private DNS disabled", |f| f.private_dns = Some(false) => "endpoint private DNS", Yes;
        "private DNS not described", |f| f.private_dns = None => "endpoint private DNS", Yes;
    ];
    for (name, change, check, result) in cases {
        let mut f = Fixture::allowing();
        change(&mut f);
        let (d, _) = run(&f, Route::Mrap { trace: true });
        let c = d.structural.iter().find(|c| c.check == *check).unwrap_or_else(|| panic!("{name}: no check `{check}`"));
        assert_eq!(c.result, *result, "{name}: {}", c.detail);
        let expected = match result {
            Yes => Decision::Allow,
            No => Decision::ExplicitDeny,
            Unknown => Decision::Unknown,
        };
        assert_eq!(d.decision, expected, "{name}: decision ({})", d.reason);
        if *result == Yes {
            assert_eq!(d.deciding_layer, None, "{name}");
        } else {
            assert_eq!(d.deciding_layer, Some(PathLayer::Structural), "{name}");
            assert_eq!(d.reason, c.detail, "{name}: the failing check is the reason");
            assert_eq!(d.statement, None, "{name}");
        }
    }
}

#[test]
fn structural_details() {
    type DetailCase = (&'static str, fn(&mut Fixture), &'static str, &'static str);
    let cases: &[DetailCase] = &structural_cases![
        "private DNS off names the host name and the internet path", |f| f.private_dns = Some(false) => "endpoint private DNS", "(`mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com`) resolve its public addresses and take the `mrap:internet` path";
        "a wrong service names the right one", |f| f.service = Some("com.amazonaws.us-east-1.s3") => "endpoint service", "only `com.amazonaws.s3-global.accesspoint` can";
        "a missing field names it", |f| f.state = None => "endpoint state", "the description of vpce-1 gives no `State`: unknown";
        "a status not ready is quoted", |f| f.mrap_status = Some("CREATING") => "MRAP is ready", "the MRAP status is `CREATING`, not `READY`";
        "anonymous callers are refused by MRAPs", |f| f.caller = "anonymous" => "caller is signed", "Multi-Region Access Points refuse anonymous requests";
    ];
    for (name, change, check, detail) in cases {
        let mut f = Fixture::allowing();
        change(&mut f);
        let (d, _) = run(&f, Route::Mrap { trace: true });
        let c = d.structural.iter().find(|c| c.check == *check).unwrap();
        assert!(c.detail.contains(detail), "{name}: `{}`", c.detail);
    }
}

#[test]
fn the_first_structural_failure_decides() {
    let f = Fixture { caller: "anonymous", state: Some("pendingAcceptance"), ..Fixture::allowing() };
    let (d, _) = run(&f, Route::Mrap { trace: true });
    assert_eq!(d.deciding_layer, Some(PathLayer::Structural));
    assert!(d.reason.contains("refuse anonymous requests"), "{}", d.reason);
}

#[test]
fn what_each_network_checks_and_assumes() {
    let all = [
        "caller is signed",
        "MRAP is ready",
        "endpoint service",
        "endpoint type",
        "endpoint state",
        "endpoint private DNS",
    ];
    let cases: &[(&str, Net, &[&str], &[&str])] = &[
        ("through the endpoint", Net::Endpoint, &all, &[VPC_SOURCE_IP]),
        ("from the internet", Net::Internet, &["caller is signed", "MRAP is ready"], &[INTERNET_SOURCE_IP]),
        ("unreadable endpoint", Net::UnreadableEndpoint, &["caller is signed", "MRAP is ready", "endpoint"], &[]),
    ];
    for (name, net, checks, assumed) in cases {
        let f = Fixture { net: *net, ..Fixture::allowing() };
        let (d, _) = run(&f, Route::Mrap { trace: true });
        let names: Vec<&str> = d.structural.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(names, *checks, "{name}");
        for a in *assumed {
            assert!(d.assumptions.iter().any(|x| x == a), "{name}: assumptions {:?}", d.assumptions);
        }
        assert!(d.assumptions.iter().any(|x| x == IDENTITY_ASSUMED), "{name}: the identity is assumed");
    }
    // From the internet `aws:SourceIp` is present with an unknown value.
    let f = Fixture { net: Net::Internet, mrap_policy: Doc::Text(MRAP_BY_PUBLIC_IP), ..Fixture::allowing() };
    let (d, _) = run(&f, Route::Mrap { trace: true });
    assert_eq!((d.decision, d.deciding_layer), (Decision::Unknown, Some(PathLayer::Mrap)), "{}", d.reason);
}

#[test]
fn resources_of_the_two_requests() {
    let (d, _) = run(&Fixture::allowing(), Route::Mrap { trace: true });
    assert_eq!(d.mrap_resource, format!("{MRAP_ARN}/object/data/report.csv"));
    assert_eq!(d.bucket_resource, "arn:aws:s3:::bucket-1/data/report.csv");
    assert_eq!(d.mrap_request.decision, Decision::Allow);
    assert_eq!(d.bucket_request.decision, Decision::Allow);
}

#[test]
fn proposed_policy_is_decided_beside_the_established() {
    let cases: &[(&str, Doc, Decision, Option<&str>)] = &[
        ("a proposed deny", Doc::Text(PROPOSED_DENY), Decision::ExplicitDeny, Some("ProposedDeny")),
        ("a proposed grant", Doc::Text(MRAP_GRANT), Decision::Allow, Some("BucketGrant")),
        ("an unreadable proposal", Doc::Unreadable, Decision::Unknown, None),
    ];
    for (name, proposed, decision, statement) in cases {
        let f = Fixture { mrap_policy: Doc::Absent, proposed: Some(*proposed), ..Fixture::allowing() };
        let (established, proposed) = run(&f, Route::Mrap { trace: true });
        assert_eq!(established.decision, Decision::ImplicitDeny, "{name}: established");
        let p = proposed.unwrap();
        assert_eq!(p.decision, *decision, "{name}: proposed ({})", p.reason);
        assert_eq!(sid(&p), *statement, "{name}");
        assert_eq!(p.bucket_request, established.bucket_request, "{name}: the bucket request is shared");
    }
}

#[test]
fn direct_path() {
    use Decision::{Allow, ExplicitDeny as Deny, ImplicitDeny as NoGrant, Unknown};
    use Level::{Off, Restrict, Unread};
    use PathLayer::*;
    let cases: &[Case] = &cases![
        "straight through a gateway endpoint of the region", |_| {} => Allow, None, Some("BucketGrant"), "allowed straight to the bucket; the grant is statement 0 (`BucketGrant`)";
        "straight through an interface endpoint of the region", |f| f.endpoint_type = Some("Interface") => Allow, None, Some("BucketGrant"), "allowed straight to the bucket";
        "from the internet, anonymous, public policy", |f| { f.net = Net::Internet; f.caller = "anonymous"; f.bucket_policy = Doc::Text(PUBLIC_BUCKET) } => Allow, None, Some("PublicBucketGrant"), "allowed straight to the bucket";
        "endpoint of another region", |f| f.service = Some("com.amazonaws.eu-west-1.s3") => Deny, Some(Structural), None, "does not reach a bucket of us-east-1 directly: only `com.amazonaws.us-east-1.s3` does";
        "the MRAP endpoint does not reach buckets directly", |f| f.service = Some(MRAP_ENDPOINT_SERVICE) => Deny, Some(Structural), None, "only `com.amazonaws.us-east-1.s3` does";
        "endpoint service not described", |f| f.service = None => Unknown, Some(Structural), None, "the description of vpce-1 gives no `ServiceName`";
        "endpoint pending acceptance", |f| f.state = Some("pendingAcceptance") => Deny, Some(Structural), None, "not `available`";
        "endpoint state not described", |f| f.state = None => Unknown, Some(Structural), None, "the description of vpce-1 gives no `State`";
        "endpoint description unreadable", |f| f.net = Net::UnreadableEndpoint => Unknown, Some(Structural), None, "the endpoint description: not captured";
        "no data access point keys straight to the bucket", |f| f.bucket_policy = Doc::Text(VIA_MRAP) => NoGrant, Some(Bucket), Some("ViaMrap"), "bucket request";
        "endpoint policy denies the bucket", |f| f.endpoint_policy = Doc::Text(ENDPOINT_DENIES_BUCKET_ARN) => Deny, Some(Vpce), Some("DenyBucketArn"), "bucket request denied";
        "endpoint policy unreadable", |f| f.endpoint_policy = Doc::Unreadable => Unknown, Some(Vpce), None, "the policy of endpoint vpce-1";
        "bucket policy denies", |f| f.bucket_policy = Doc::Text(BUCKET_DENY) => Deny, Some(Bucket), Some("BucketDeny"), "bucket request denied";
        "bucket policy unreadable", |f| f.bucket_policy = Doc::Unreadable => Unknown, Some(Bucket), None, "the bucket policy of bucket-1";
        "identity policy denies", |f| f.identity = Some(IDENTITY_DENY) => Deny, Some(Identity), Some("IdentityDeny"), "bucket request denied";
        "the MRAP policy plays no part", |f| f.mrap_policy = Doc::Text(MRAP_DENY) => Allow, None, Some("BucketGrant"), "allowed straight to the bucket";
        "public policy, RestrictPublicBuckets on the bucket", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Off, Off, Restrict, Off] } => Deny, Some(BlockPublicAccess), None, "the bucket policy is public and RestrictPublicBuckets is on";
        "public policy, the MRAP's settings do not apply", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Restrict, Restrict, Off, Off] } => Allow, None, Some("PublicBucketGrant"), "allowed straight to the bucket";
        "public policy, the account's level unread", |f| { f.bucket_policy = Doc::Text(PUBLIC_BUCKET); f.bpa = [Off, Off, Off, Unread] } => Unknown, Some(BlockPublicAccess), None, "could not be read";
        "public policy, no level restricts", |f| f.bucket_policy = Doc::Text(PUBLIC_BUCKET) => Allow, None, Some("PublicBucketGrant"), "allowed straight to the bucket";
        // The request context is the MRAP path's (one helper): a missing VPC id is unknown, not absent.
        "bucket policy pins the VPC, endpoint in another", |f| { f.bucket_policy = Doc::Text(PIN_VPC); f.vpc_id = "vpc-2" } => Deny, Some(Bucket), Some("PinVpc"), "bucket request denied";
        "bucket policy pins the VPC, endpoint's VPC not described", |f| { f.bucket_policy = Doc::Text(PIN_VPC); f.vpc_id = "" } => Unknown, Some(Bucket), None, "bucket request";
    ];
    check_cases(cases, Fixture::direct, true);
}

#[test]
fn direct_path_checks_only_service_and_state() {
    let (d, _) = run(&Fixture::direct(), Route::Direct);
    let names: Vec<&str> = d.structural.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(names, ["endpoint service", "endpoint state"]);
    assert_eq!(d.mrap_resource, "");
    assert_eq!(d.bucket_resource, "arn:aws:s3:::bucket-1/data/report.csv");
}
