//! `deploy/iam/` against the live source's own table of calls (`API_CALLS`): every API the source
//! calls is allowed by the policy meant for its caller, and nothing more is. The policies are
//! also run through the project's own evaluator, so the resources they name match what the calls
//! touch, and writes stay denied.

#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use mrap_auditor::eval::case::parse_case;
use mrap_auditor::eval::{Decision, decide};
use mrap_auditor::source::aws::API_CALLS;

const AUDITOR: &str = "deploy/iam/mrap-auditor-read-only.json";
const READER: &str = "deploy/iam/cross-account-bucket-reader.json";
const TRUST: &str = "deploy/iam/cross-account-bucket-reader-trust.json";

fn load(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The actions a policy allows, checking that it only allows, and names actions exactly.
fn allowed_actions(relative: &str) -> BTreeSet<String> {
    let policy = load(relative);
    let mut actions = BTreeSet::new();
    for stmt in policy["Statement"].as_array().unwrap() {
        assert_eq!(stmt["Effect"], "Allow", "{relative}: only Allow statements");
        assert!(stmt.get("NotAction").is_none() && stmt.get("NotResource").is_none(), "{relative}");
        let list = match &stmt["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
            other => panic!("{relative}: Action {other}"),
        };
        for a in list {
            assert!(!a.contains('*') && !a.contains('?'), "{relative}: `{a}` is a wildcard: name each action");
            actions.insert(a);
        }
    }
    actions
}

#[test]
fn the_auditor_policy_allows_exactly_the_auditors_calls() {
    let calls: BTreeSet<String> = API_CALLS.iter().filter(|a| a.by_auditor).map(|a| a.iam_action.to_string()).collect();
    assert_eq!(allowed_actions(AUDITOR), calls);
}

#[test]
fn the_bucket_reader_policy_allows_exactly_the_bucket_owner_calls() {
    let calls: BTreeSet<String> =
        API_CALLS.iter().filter(|a| a.by_bucket_owner_role).map(|a| a.iam_action.to_string()).collect();
    assert_eq!(allowed_actions(READER), calls);
}

fn decision(
    identity: &Value,
    resource: Option<&Value>,
    principal: &str,
    action: &str,
    arn: &str,
    context: Value,
) -> Decision {
    // `*` (calls without a resource type) belongs to the caller's own account.
    let account = arn.split(':').nth(4).filter(|a| !a.is_empty()).or_else(|| principal.split(':').nth(4)).unwrap();
    let mut policies = json!({ "identity": [identity] });
    if let Some(r) = resource {
        policies["resource"] = r.clone();
    }
    let case = json!({
        "request": {
            "principal": principal,
            "action": action,
            "resource": arn,
            "resource_account": account,
            "context": context,
        },
        "policies": policies,
    });
    let case = parse_case(&case.to_string()).unwrap_or_else(|e| panic!("{action} on {arn}: {e}"));
    decide(&case.request, &case.policy_set())
}

/// The trust policy example. It has no `Resource` (it applies to its role); the evaluator's
/// resource-policy grammar wants one, so each statement gets the role's own ARN.
fn trust_policy(role: &str) -> Value {
    let mut trust = load(TRUST);
    for stmt in trust["Statement"].as_array_mut().unwrap() {
        assert!(stmt.get("Resource").is_none());
        stmt["Resource"] = json!(role);
    }
    trust
}

const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/mrap-auditor/mrap-auditor";

/// A resource each call touches, by IAM action (every call must be listed).
fn resource_of(action: &str) -> &'static str {
    match action {
        "ec2:DescribeVpcEndpoints" | "s3:ListMultiRegionAccessPoints" | "s3:GetAccountPublicAccessBlock" => "*",
        "s3:GetMultiRegionAccessPointPolicy" | "s3:GetMultiRegionAccessPointRoutes" => {
            "arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap"
        }
        "s3:GetBucketPolicy" | "s3:GetBucketPublicAccessBlock" => "arn:aws:s3:::doc-examplebucket1",
        "sts:AssumeRole" => "arn:aws:iam::444455556666:role/mrap-auditor-bucket-reader",
        // The queue deploy/events/ creates in each region.
        "sqs:ReceiveMessage" | "sqs:DeleteMessage" | "sqs:GetQueueAttributes" => {
            "arn:aws:sqs:us-west-2:111122223333:mrap-auditor-events"
        }
        other => panic!("no representative resource for `{other}`: add one here"),
    }
}

#[test]
fn the_policies_allow_each_call_on_what_it_touches() {
    let auditor = load(AUDITOR);
    let reader = load(READER);
    for api in API_CALLS {
        let arn = resource_of(api.iam_action);
        if api.by_auditor {
            // Assuming a role of another account also needs that role's trust policy.
            let trust = (api.iam_action == "sts:AssumeRole").then(|| trust_policy(arn));
            let context = json!({ "sts:RoleSessionName": "mrap-auditor" });
            let d = decision(&auditor, trust.as_ref(), SESSION, api.iam_action, arn, context);
            assert_eq!(d, Decision::Allow, "auditor: {} on {arn}", api.iam_action);
        }
        if api.by_bucket_owner_role {
            let principal = "arn:aws:sts::444455556666:assumed-role/mrap-auditor-bucket-reader/mrap-auditor";
            let arn = arn.replace("111122223333", "444455556666");
            let d = decision(&reader, None, principal, api.iam_action, &arn, json!({}));
            assert_eq!(d, Decision::Allow, "reader: {} on {arn}", api.iam_action);
        }
    }
}

#[test]
fn the_policies_allow_no_write_and_no_data_access() {
    let auditor = load(AUDITOR);
    let reader = load(READER);
    for (action, arn) in [
        ("s3:GetObject", "arn:aws:s3:::doc-examplebucket1/reports/2026/summary.csv"),
        ("s3:ListBucket", "arn:aws:s3:::doc-examplebucket1"),
        ("s3:PutBucketPolicy", "arn:aws:s3:::doc-examplebucket1"),
        ("s3:DeleteBucketPolicy", "arn:aws:s3:::doc-examplebucket1"),
        ("s3:PutBucketPublicAccessBlock", "arn:aws:s3:::doc-examplebucket1"),
        ("s3:PutAccountPublicAccessBlock", "*"),
        ("s3:PutMultiRegionAccessPointPolicy", "arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap"),
        ("s3:SubmitMultiRegionAccessPointRoutes", "arn:aws:s3::111122223333:accesspoint/mfzwi23gnjvgw.mrap"),
        ("ec2:ModifyVpcEndpoint", "arn:aws:ec2:us-east-1:111122223333:vpc-endpoint/vpce-0a1b2c3d4e5f60718"),
        ("sts:AssumeRole", "arn:aws:iam::444455556666:role/admin"),
        ("sqs:SendMessage", "arn:aws:sqs:us-west-2:111122223333:mrap-auditor-events"),
        ("sqs:PurgeQueue", "arn:aws:sqs:us-west-2:111122223333:mrap-auditor-events"),
        ("sqs:ReceiveMessage", "arn:aws:sqs:us-west-2:111122223333:someone-elses-queue"),
    ] {
        for (name, policy) in [("auditor", &auditor), ("reader", &reader)] {
            let d = decision(policy, None, SESSION, action, arn, json!({}));
            assert_eq!(d, Decision::ImplicitDeny, "{name}: {action} on {arn}");
        }
    }
}

#[test]
fn the_trust_policy_admits_the_auditors_session_only() {
    let auditor = load(AUDITOR);
    let role = resource_of("sts:AssumeRole");
    let trust = trust_policy(role);
    let assume = |principal: &str, session: &str| {
        decision(&auditor, Some(&trust), principal, "sts:AssumeRole", role, json!({ "sts:RoleSessionName": session }))
    };
    let auditor_session = "arn:aws:sts::111122223333:assumed-role/mrap-auditor/mrap-auditor";
    assert_eq!(assume(auditor_session, "mrap-auditor"), Decision::Allow);
    assert_eq!(assume(auditor_session, "someone-else"), Decision::ImplicitDeny);
    assert_eq!(
        assume("arn:aws:sts::111122223333:assumed-role/other/mrap-auditor", "mrap-auditor"),
        Decision::ImplicitDeny
    );
}
