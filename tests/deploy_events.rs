//! `deploy/events/` (change events, DESIGN §11): the CloudFormation template passes `cfn-lint`
//! (installed by scripts/install-cfn-lint.sh; a missing cfn-lint fails in CI and is a notice
//! elsewhere), and the template, the Terraform module and the StackSet example agree with the
//! auditor: exactly the event names it follows, a queue only the rule can send to, a visibility
//! timeout longer than a cycle, the regions that matter, and the queue the IAM policy names.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use mrap_auditor::events::mapping::EVENT_NAMES;
use serde_json::Value;

const TEMPLATE: &str = "deploy/events/mrap-auditor-events.yaml";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn template() -> Value {
    serde_norway::from_str(&read(TEMPLATE)).unwrap()
}

fn followed() -> BTreeSet<String> {
    EVENT_NAMES.iter().map(|s| s.to_string()).collect()
}

fn cfn_lint() -> Option<PathBuf> {
    let venv = root().join("target/cfn-lint-venv/bin/cfn-lint");
    let found = if venv.is_file() {
        Some(venv)
    } else {
        std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join("cfn-lint")).find(|p| p.is_file()))
    };
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("cfn-lint is needed in CI: run scripts/install-cfn-lint.sh");
        }
        eprintln!("SKIPPED cfn-lint: not installed (scripts/install-cfn-lint.sh)");
    }
    found
}

fn lint(lint: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(lint).arg(file).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn cfn_lint_accepts_the_template_and_catches_a_broken_one() {
    let Some(cfn_lint) = cfn_lint() else { return };
    let (ok, output) = lint(&cfn_lint, &root().join(TEMPLATE));
    assert!(ok, "cfn-lint {TEMPLATE}:\n{output}");
    // The check can fail: a misspelt property is an error.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, read(TEMPLATE).replace("VisibilityTimeout: 660", "VisibilityTimeOut: 660")).unwrap();
    let (ok, output) = lint(&cfn_lint, &broken);
    assert!(!ok, "cfn-lint accepted a misspelt property:\n{output}");
    assert!(output.contains("VisibilityTimeOut"), "{output}");
}

#[test]
fn the_rule_forwards_exactly_the_events_the_auditor_follows_to_its_queue() {
    let t = template();
    let resources = &t["Resources"];
    let rule = &resources["ChangeEventRule"]["Properties"];
    let pattern = &rule["EventPattern"];
    assert_eq!(pattern["detail-type"], serde_json::json!(["AWS API Call via CloudTrail"]));
    assert_eq!(pattern["source"], serde_json::json!(["aws.s3", "aws.ec2"]));
    assert_eq!(pattern["detail"]["eventSource"], serde_json::json!(["s3.amazonaws.com", "ec2.amazonaws.com"]));
    let names: BTreeSet<String> =
        pattern["detail"]["eventName"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(names, followed());
    assert_eq!(rule["Targets"][0]["Arn"]["Fn::GetAtt"], serde_json::json!(["EventQueue", "Arn"]));

    // Only the rule may send: EventBridge's service principal, on the condition of its ARN.
    let statements = resources["EventQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"].as_array().unwrap();
    let send = statements.iter().find(|s| s["Action"] == "sqs:SendMessage").unwrap();
    assert_eq!(send["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(
        send["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"],
        serde_json::json!(["ChangeEventRule", "Arn"])
    );
    // A message being handled stays invisible for longer than the longest cycle (10 minutes).
    let queue = &resources["EventQueue"]["Properties"];
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() > 600, "{queue:?}");
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"],
        serde_json::json!(["DeadLetterQueue", "Arn"])
    );
}

#[test]
fn the_terraform_module_is_the_templates_twin() {
    let main = read("deploy/events/terraform/main.tf");
    let block = &main[main.find("event_names = [").unwrap()..];
    let block = &block[..block.find(']').unwrap()];
    let re = regex::Regex::new(r#""([A-Za-z]+)""#).unwrap();
    let names: BTreeSet<String> = re.captures_iter(block).map(|c| c[1].to_string()).collect();
    assert_eq!(names, followed());
    for needle in [
        r#""detail-type" = ["AWS API Call via CloudTrail"]"#,
        r#"source        = ["aws.s3", "aws.ec2"]"#,
        r#"identifiers = ["events.amazonaws.com"]"#,
        r#"variable = "aws:SourceArn""#,
        "visibility_timeout_seconds = 660",
    ] {
        assert!(main.contains(needle), "deploy/events/terraform/main.tf lacks `{needle}`");
    }
    let variables = read("deploy/events/terraform/variables.tf");
    assert!(variables.contains(r#"default     = "mrap-auditor-events""#));
    // `terraform fmt` where Terraform is installed (it is not a registry package: optional).
    if let Some(tf) = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("terraform")).find(|p| p.is_file()))
    {
        let out = Command::new(tf)
            .args(["fmt", "-check", "-recursive"])
            .arg(root().join("deploy/events/terraform"))
            .output()
            .unwrap();
        assert!(out.status.success(), "terraform fmt -check: {}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn the_stackset_example_covers_the_regions_that_matter() {
    let script = read("deploy/events/stackset-example.sh");
    let ok = Command::new("bash").arg("-n").arg(root().join("deploy/events/stackset-example.sh")).status().unwrap();
    assert!(ok.success());
    assert!(script.contains("--template-body file://deploy/events/mrap-auditor-events.yaml"));
    #[cfg(feature = "aws")]
    for region in mrap_auditor::source::aws::ROUTES_REGIONS {
        assert!(script.contains(region), "routes region {region} (SubmitMultiRegionAccessPointRoutes is logged there)");
    }
    assert!(script.contains("us-west-2"), "MRAP management is logged in us-west-2");
}

#[test]
fn the_iam_policy_names_the_templates_queue() {
    let t = template();
    let name = t["Parameters"]["QueueName"]["Default"].as_str().unwrap();
    let policy: Value = serde_json::from_str(&read("deploy/iam/mrap-auditor-read-only.json")).unwrap();
    let sqs = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"].as_array().is_some_and(|a| a.iter().any(|x| x.as_str().unwrap().starts_with("sqs:"))))
        .unwrap();
    assert_eq!(sqs["Resource"], format!("arn:aws:sqs:*:*:{name}"));
}
