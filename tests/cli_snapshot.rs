//! `mrap-auditor snapshot` through the binary, without AWS: usage errors, and a capture whose every
//! read fails (nothing listens at the endpoint) still writing the whole directory with `{"Error"}`
//! files and exiting 2. The capture of a working world is in tests/aws_moto.rs.

#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::root;

fn auditor(args: &[&str]) -> Output {
    support::auditor_hermetic_aws(args, &[("AWS_MAX_ATTEMPTS", "1")])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn live_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("live.toml");
    let config = format!(
        "[source]\nkind = \"aws\"\n\n[aws]\naccount_id = \"123456789012\"\nendpoint_regions = [\"us-east-1\"]\nendpoint_url = \"{url}\"\ncall_timeout = \"5s\"\n"
    );
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn help_has_examples_and_exit_codes() {
    let out = auditor(&["snapshot", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mrap-auditor snapshot --config config/live.toml --out snapshots/2026-11-22"), "{text}");
    assert!(text.contains("Exit codes: 0 everything was read, 2 a read failed"), "{text}");
}

#[test]
fn usage_errors_exit_64() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();

    let no_out = auditor(&["snapshot", "--config", "config/mrap-auditor.toml"]);
    assert_eq!(no_out.status.code(), Some(64), "{}", stderr(&no_out));

    // The bundled example audits a directory and has no `[aws]` section.
    let no_aws = auditor(&["snapshot", "--config", "config/mrap-auditor.toml", "--out", out_dir]);
    assert_eq!(no_aws.status.code(), Some(64));
    assert!(
        stderr(&no_aws)
            .contains("the configuration has no `[aws]` section (the live source needs at least `account_id`)"),
        "{}",
        stderr(&no_aws)
    );
    assert!(!Path::new(out_dir).exists());

    std::fs::create_dir(out_dir).unwrap();
    std::fs::write(Path::new(out_dir).join("manifest.json"), "{}").unwrap();
    let config = live_config(dir.path(), "http://127.0.0.1:9");
    let not_empty = auditor(&["snapshot", "--config", config.to_str().unwrap(), "--out", out_dir]);
    assert_eq!(not_empty.status.code(), Some(64));
    assert!(
        stderr(&not_empty).ends_with("exists and is not empty; choose a new directory\n"),
        "{}",
        stderr(&not_empty)
    );
}

#[test]
fn every_read_failing_still_writes_the_directory_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = live_config(dir.path(), &format!("http://127.0.0.1:{}", closed_port()));
    let out_dir = dir.path().join("capture");
    let out = auditor(&["snapshot", "--config", config.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 read(s) failed"), "{}", stderr(&out));
    assert!(stderr(&out).contains("AWS read failed; what depends on it is unknown this cycle."), "{}", stderr(&out));

    let read = |f: &str| -> Value { serde_json::from_str(&std::fs::read_to_string(out_dir.join(f)).unwrap()).unwrap() };
    assert_eq!(read("manifest.json")["account_id"], "123456789012");
    for file in [
        "s3control/list-multi-region-access-points.json",
        "s3control/get-public-access-block/123456789012.json",
        "ec2/describe-vpc-endpoints/us-east-1.json",
    ] {
        assert_eq!(read(file)["Error"]["Code"], "NetworkError", "{file}");
    }
    // No half-written temporary directory is left beside it.
    let left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(left.iter().all(|n| !n.contains("partial")), "{left:?}");

    // Audited offline, what could not be read is unknown, never "holds".
    let example = std::fs::read_to_string(root().join("config/mrap-auditor.toml")).unwrap();
    let expectations = &example[example.find("[[expect]]").unwrap()..];
    let identity = root().join("config/policies/app-identity.json");
    let offline = dir.path().join("offline.toml");
    std::fs::write(
        &offline,
        format!(
            "[source]\nkind = \"snapshot\"\npath = \"capture\"\n\n{}",
            expectations.replace("policies/app-identity.json", identity.to_str().unwrap())
        ),
    )
    .unwrap();
    let check = auditor(&["check", "--config", offline.to_str().unwrap(), "--format", "json"]);
    assert_eq!(check.status.code(), Some(2), "{}", stderr(&check));
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert!(report["expectations"].as_array().unwrap().iter().all(|e| e["status"] == "unknown"), "{report}");
}
