//! End to end against moto, a local AWS emulator: the seed page's world (two buckets, their
//! policies, an MRAP with its policy, a VPC with the interface endpoint and its policy) is created
//! with the SDK; then, through the real binary, `mrap-auditor snapshot` captures it, and `check`
//! on that directory gives the same report as `check` on the live source. The directory has the
//! shape of the hand-written bundled example, and the verdicts are the bundled example's.
//!
//! moto runs through tests/support/moto_server.py (one documented fix to its S3 Control XML) on a
//! free port, started and stopped by this test. Every call goes through a role assumed with moto's
//! STS (aws-config's `AssumeRoleProvider`, as for a bucket-owner account). moto does not serve
//! `GetMultiRegionAccessPointRoutes`: the routes are an error, so every bucket is treated as
//! active (what the seed's routes say anyway) with a `routes-unreadable` finding. Without moto
//! the test fails in CI (`CI` set) and prints a skip notice elsewhere; scripts/test.sh installs it.

#![cfg(all(feature = "aws", feature = "runtime"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use serde_json::Value;
use support::root;

const ACCOUNT: &str = "123456789012"; // moto's default account, also the seed's
const AT: &str = "2026-11-22T10:00:00Z";
const MRAP_NAME: &str = "doc-example-mrap";
const SEED_ALIAS: &str = "mfzwi23gnjvgw.mrap";
const MRAP_SERVICE: &str = "com.amazonaws.s3-global.accesspoint";

// ---------- moto ----------

/// The moto server; killed when dropped, so also when the test fails.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python that can import moto's server: `MRAP_AUDITOR_PYTHON`, the venv scripts/test.sh
/// makes, or `python3`.
fn python() -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("MRAP_AUDITOR_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(root().join("target/moto-venv/bin/python3"));
    candidates.push(PathBuf::from("python3"));
    let mut tried = Vec::new();
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import moto, moto.server, flask, flask_cors"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(python);
        }
        tried.push(python.display().to_string());
    }
    Err(format!("no Python with moto[server] (tried {}); run scripts/install-moto.sh", tried.join(", ")))
}

/// Starts moto, or says why it cannot: a failure in CI, a notice elsewhere.
fn start_moto() -> Option<Moto> {
    let python = match python() {
        Ok(p) => p,
        Err(why) => {
            if std::env::var_os("CI").is_some() {
                panic!("moto is needed for the live-source end-to-end test in CI: {why}");
            }
            eprintln!("SKIPPED aws_moto: {why}");
            return None;
        }
    };
    let mut child = Command::new(python)
        .arg(root().join("tests/support/moto_server.py"))
        .arg("0")
        .stdin(Stdio::piped()) // moto stops when this closes, even if this test is killed
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Guarded from here on: a start-up that fails or times out still kills moto.
    let mut moto = Moto { child, url: String::new() };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = line.strip_prefix("PORT ") {
                let _ = tx.send(port.trim().to_string());
                break;
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(60)).expect("moto did not start within 60 s");
    moto.url = format!("http://127.0.0.1:{port}");
    Some(moto)
}

// ---------- the world ----------

/// S3 Control with the account id kept out of the host name (`ACCOUNT.127.0.0.1` resolves nowhere).
#[derive(Debug)]
struct Fixed(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for Fixed {
    fn resolve_endpoint<'a>(
        &'a self,
        _: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        let e = aws_sdk_s3control::config::endpoint::Endpoint::builder().url(self.0.clone()).build();
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(e))
    }
}

fn sdk(url: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "moto",
        )))
        .endpoint_url(url)
        .build()
}

fn seed_policy(bucket_resource: &str) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Public-read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": ["{bucket_resource}"]}}]}}"#
    )
}

struct World {
    alias: String,
    endpoint: String,
}

/// The seed page's world: doc-examplebucket1 (whose policy misses `/*`) and doc-examplebucket2,
/// the MRAP over both with the page's open MRAP policy, and the interface endpoint with the
/// page's endpoint policy; plus a gateway endpoint that no expectation names (not captured).
async fn create_world(url: &str) -> World {
    use aws_sdk_s3control::types::{
        CreateMultiRegionAccessPointInput, PublicAccessBlockConfiguration, PutMultiRegionAccessPointPolicyInput,
        Region as MrapRegion,
    };
    let east = sdk(url, "us-east-1");
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&east).force_path_style(true).build());
    let west = sdk(url, "us-west-2");
    let s3_west =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&west).force_path_style(true).build());
    s3.create_bucket().bucket("doc-examplebucket1").send().await.unwrap();
    s3_west
        .create_bucket()
        .bucket("doc-examplebucket2")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_policy()
        .bucket("doc-examplebucket1")
        .policy(seed_policy("arn:aws:s3:::doc-examplebucket1"))
        .send()
        .await
        .unwrap();
    s3_west
        .put_bucket_policy()
        .bucket("doc-examplebucket2")
        .policy(seed_policy("arn:aws:s3:::doc-examplebucket2/*"))
        .send()
        .await
        .unwrap();

    let control = aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::from(&sdk(url, "us-west-2"))
            .endpoint_resolver(Fixed(url.to_string()))
            .build(),
    );
    let off = PublicAccessBlockConfiguration::builder()
        .block_public_acls(false)
        .ignore_public_acls(false)
        .block_public_policy(false)
        .restrict_public_buckets(false)
        .build();
    control
        .create_multi_region_access_point()
        .account_id(ACCOUNT)
        .client_token("create-doc-example-mrap")
        .details(
            CreateMultiRegionAccessPointInput::builder()
                .name(MRAP_NAME)
                .public_access_block(off)
                .regions(MrapRegion::builder().bucket("doc-examplebucket1").build().unwrap())
                .regions(MrapRegion::builder().bucket("doc-examplebucket2").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let listed = control.list_multi_region_access_points().account_id(ACCOUNT).send().await.unwrap();
    let alias = listed.access_points()[0].alias().unwrap().to_string();
    let mrap_policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Open-read-MRAP-policy", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3::{ACCOUNT}:accesspoint/{alias}/object/*"}}]}}"#
    );
    control
        .put_multi_region_access_point_policy()
        .account_id(ACCOUNT)
        .client_token("put-doc-example-mrap-policy")
        .details(PutMultiRegionAccessPointPolicyInput::builder().name(MRAP_NAME).policy(mrap_policy).build().unwrap())
        .send()
        .await
        .unwrap();

    let ec2 = aws_sdk_ec2::Client::new(&east);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let endpoint_policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Read-buckets-and-MRAP-VPCE-policy", "Principal": "*", "Action": ["s3:GetObject"], "Effect": "Allow", "Resource": ["arn:aws:s3:::doc-examplebucket1/*", "arn:aws:s3:::doc-examplebucket2/*", "arn:aws:s3::{ACCOUNT}:accesspoint/{alias}/object/*"]}}]}}"#
    );
    let created = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc_id)
        .service_name(MRAP_SERVICE)
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
        .policy_document(endpoint_policy)
        .send()
        .await
        .unwrap();
    let endpoint = created.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap().to_string();
    ec2.create_vpc_endpoint()
        .vpc_id(&vpc_id)
        .service_name("com.amazonaws.us-east-1.s3")
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway)
        .send()
        .await
        .unwrap();
    World { alias, endpoint }
}

/// The bundled example's configuration, pointed at moto's world (its alias and endpoint id).
fn write_config(dir: &Path, url: &str, world: &World) -> PathBuf {
    let example = std::fs::read_to_string(root().join("config/mrap-auditor.toml")).unwrap();
    let expectations = &example[example.find("[[expect]]").unwrap()..];
    // moto's aliases (`NAME-HEX.mrap`) are not AWS's shape: the expectations name the MRAP.
    let expectations = expectations
        .replace(&format!("mrap = \"{SEED_ALIAS}\""), &format!("mrap = \"{MRAP_NAME}\""))
        .replace("vpce-0a1b2c3d4e5f60718", &world.endpoint);
    // Every call for the account goes through a role assumed with moto's STS: aws-config's
    // AssumeRoleProvider against a real STS wire format (moto does not check the trust policy).
    let role = format!(
        "assume_role_arns = {{ \"{ACCOUNT}\" = \"arn:aws:iam::{ACCOUNT}:role/mrap-auditor-bucket-reader\" }}\n"
    );
    let config = format!(
        "[source]\nkind = \"aws\"\n\n[aws]\naccount_id = \"{ACCOUNT}\"\nendpoint_regions = [\"us-east-1\"]\nendpoint_url = \"{url}\"\ncall_timeout = \"15s\"\n{role}\n{expectations}"
    );
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    let identity = std::fs::read_to_string(root().join("config/policies/app-identity.json")).unwrap();
    std::fs::write(dir.join("policies/app-identity.json"), identity.replace(SEED_ALIAS, &world.alias)).unwrap();
    let path = dir.join("live.toml");
    std::fs::write(&path, config).unwrap();
    path
}

// ---------- running the binary ----------

fn auditor(args: &[&str]) -> Output {
    support::auditor_hermetic_aws(args, &[])
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    })
}

/// Relative paths of every file under `dir`.
fn files(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// Every key path of `ours` exists in `theirs` with the same JSON type (arrays: by their first
/// element): the capture is the AWS CLI's shape, a subset of what the CLI prints.
fn same_shape(ours: &Value, theirs: &Value, at: &str) -> Result<(), String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let Some(w) = b.get(k) else { return Err(format!("{at}.{k}: not in the hand-written file")) };
                same_shape(v, w, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => same_shape(x, y, &format!("{at}[0]")),
            _ => Ok(()),
        },
        (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => Ok(()),
        (a, b) => Err(format!("{at}: {a} where the hand-written file has {b}")),
    }
}

#[test]
fn moto_world_through_snapshot_and_check_matches_the_live_source_and_the_seed() {
    let Some(moto) = start_moto() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let world = runtime.block_on(create_world(&moto.url));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &moto.url, &world);
    let config = config.to_str().unwrap();
    let captured = dir.path().join("captured");
    let captured_str = captured.to_str().unwrap();

    // 1. `snapshot`: everything but the routes (moto lacks the API) is read; exit 2 says so.
    let logs = "info,aws_config::sts=debug";
    let out = auditor(&["--log-level", logs, "snapshot", "--config", config, "--out", captured_str]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // The role was assumed through moto's STS (aws-config's own debug line says so).
    assert!(stderr.contains("obtained assumed credentials"), "{stderr}");
    // README's count: 1 region + 1 listing page + 2 per MRAP + 1 account + 2 per bucket.
    assert!(stderr.contains("calls=9 failed_reads=1"), "{stderr}");
    assert!(stderr.contains("1 read(s) failed"), "{stderr}");
    assert!(stderr.contains(&format!("GetMultiRegionAccessPointRoutes {MRAP_NAME}")), "{stderr}");

    // 2. The directory has the hand-written example's files and shapes.
    let example = root().join("config/snapshots/example");
    assert_eq!(files(&captured), files(&example));
    for file in files(&example) {
        let ours: Value = serde_json::from_str(&std::fs::read_to_string(captured.join(&file)).unwrap()).unwrap();
        let theirs: Value = serde_json::from_str(&std::fs::read_to_string(example.join(&file)).unwrap()).unwrap();
        if file.contains("get-multi-region-access-point-routes") {
            assert!(ours["Error"]["Code"].is_string(), "{file}: {ours}");
            continue;
        }
        same_shape(&ours, &theirs, &file).unwrap();
    }
    let endpoints: Value = serde_json::from_str(
        &std::fs::read_to_string(captured.join("ec2/describe-vpc-endpoints/us-east-1.json")).unwrap(),
    )
    .unwrap();
    let ids: Vec<&str> =
        endpoints["VpcEndpoints"].as_array().unwrap().iter().map(|e| e["VpcEndpointId"].as_str().unwrap()).collect();
    assert_eq!(ids, [world.endpoint.as_str()], "the gateway endpoint is not the MRAP's and no expectation names it");

    // 3. `check` on the capture and on the live source: the same report.
    let offline = auditor(&["check", "--config", config, "--snapshot", captured_str, "--format", "json", "--at", AT]);
    let live = auditor(&["check", "--config", config, "--format", "json", "--at", AT]);
    assert_eq!(offline.status.code(), Some(1), "{}", String::from_utf8_lossy(&offline.stderr));
    assert_eq!(live.status.code(), Some(1), "{}", String::from_utf8_lossy(&live.stderr));
    let (offline, live) = (json_of(&offline), json_of(&live));
    assert_eq!(live["source"], "aws");
    assert_eq!(offline["expectations"], live["expectations"]);
    assert_eq!(offline["findings"], live["findings"]);
    let codes: BTreeSet<&str> =
        live["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains("routes-unreadable"), "{codes:?}");
    assert!(codes.contains("object-action-on-bucket-arn"), "the seed's fault is found: {codes:?}");

    // 4. The verdicts are the bundled (hand-written) example's, bucket by bucket.
    let seed = json_of(&auditor(&["check", "--format", "json", "--at", AT]));
    let verdicts = |report: &Value| -> Vec<Value> {
        report["expectations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let buckets: Vec<Value> = e["buckets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| serde_json::json!([b["bucket"], b["route"], b["decision"], b["deciding_layer"]]))
                    .collect();
                serde_json::json!([e["name"], e["status"], e["verdict"], e["failover"], buckets])
            })
            .collect()
    };
    assert_eq!(verdicts(&live), verdicts(&seed));

    // 5. A pre-flight on the live source: the plan that gives bucket 1 its `/*` is laid over
    //    what is read from AWS, and the expectation would hold.
    let plan = root().join("tests/fixtures/plans/fix-seed-bucket-policy.json");
    let pre = auditor(&["check", "--config", config, "--plan", plan.to_str().unwrap(), "--format", "json", "--at", AT]);
    assert_eq!(pre.status.code(), Some(0), "{}", String::from_utf8_lossy(&pre.stderr));
    let pre = json_of(&pre);
    assert_eq!(pre["source"], "aws");
    assert_eq!(pre["preflight"]["flips"][0]["effect"], "fixes", "{pre:#}");
    drop(moto);
}

// ---------- change events through moto's SQS ----------

/// A CloudTrail `PutBucketPolicy` record in its EventBridge envelope, as EventBridge delivers it
/// to SQS (EventBridge: "AWS service events delivered via AWS CloudTrail"; the record as the S3
/// User Guide's "CloudTrail log file entries" show it). `eventTime` has milliseconds so that the
/// test can measure the lag below a second (CloudTrail itself writes whole seconds).
fn put_bucket_policy_event(bucket: &str, event_time: &str) -> String {
    serde_json::json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": ACCOUNT, "time": event_time, "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice",
                "arn": "arn:aws:sts::123456789012:assumed-role/admin/alice", "accountId": ACCOUNT},
            "eventTime": event_time, "eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "[aws-cli/2.15.0]",
            "requestParameters": {"bucketName": bucket, "bucketPolicy": {"Version": "2012-10-17"}, "policy": [""],
                "Host": format!("{bucket}.s3.us-east-1.amazonaws.com")},
            "responseElements": null, "requestID": "9QF3XKQG8TV0YF2B", "eventID": "e1", "readOnly": false,
            "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ACCOUNT,
            "eventCategory": "Management"
        }
    })
    .to_string()
}

fn log_lines(d: &support::Daemon, into: &mut Vec<Value>) {
    while let Ok(line) = d.logs.try_recv() {
        into.push(serde_json::from_str(&line).unwrap_or_default());
    }
}

#[test]
fn a_bucket_policy_change_event_flips_the_verdict_within_seconds_and_names_the_actor() {
    use support::{B1, sample, wait_for};
    let Some(moto) = start_moto() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let world = runtime.block_on(create_world(&moto.url));
    let sqs = aws_sdk_sqs::Client::new(&sdk(&moto.url, "us-east-1"));
    let queue = runtime.block_on(sqs.create_queue().queue_name("mrap-auditor-events").send()).unwrap();
    let queue = queue.queue_url().unwrap().to_string();
    let missing = format!("{}/{ACCOUNT}/no-such-queue", moto.url);

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &moto.url, &world);
    let (am_port, pushes) = support::fake_alertmanager();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[daemon]\ninterval = \"1h\"\njitter = 0.0\nlisten = \"127.0.0.1:0\"\nstate = \"state/history.db\"\n\n\
         [events]\nqueues = {{ \"us-east-1\" = \"{queue}\", \"us-west-2\" = \"{missing}\" }}\ndebounce = \"50ms\"\n\n\
         [alertmanager]\nurl = \"http://127.0.0.1:{am_port}\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    let d = support::Daemon::start_hermetic_aws(&config, &[]);
    let holds = |d: &support::Daemon| {
        sample(&d.metrics(), "mrap_auditor_expectation_holds", &[("expectation", support::APP), ("bucket", B1)])
    };
    wait_for("the first (full) cycle", Duration::from_secs(60), || holds(&d) == Some(0.0));

    // The queue that does not exist is an error, counted, and a warning finding; nothing else.
    wait_for("the missing queue's error", Duration::from_secs(20), || {
        sample(&d.metrics(), "mrap_auditor_queue_errors_total", &[("region", "us-west-2")]).is_some_and(|v| v >= 1.0)
    });
    // ... published at once as a warning finding, not an hour later at the next poll.
    wait_for("the queue's finding", Duration::from_secs(5), || {
        d.get("/api/v1/report").1.contains("\"event-queue-unreadable\"")
    });
    assert_eq!(
        sample(&d.metrics(), "mrap_auditor_findings", &[("severity", "warning"), ("code", "event-queue-unreadable")]),
        Some(1.0)
    );

    // Someone fixes bucket 1's policy; CloudTrail → EventBridge → SQS delivers the event.
    runtime.block_on(async {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk(&moto.url, "us-east-1")).force_path_style(true).build(),
        );
        s3.put_bucket_policy()
            .bucket(B1)
            .policy(seed_policy("arn:aws:s3:::doc-examplebucket1/*"))
            .send()
            .await
            .unwrap();
    });
    let sent = std::time::Instant::now();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    runtime
        .block_on(sqs.send_message().queue_url(&queue).message_body(put_bucket_policy_event(B1, &now)).send())
        .unwrap();
    wait_for("the verdict to flip on the event", Duration::from_secs(5), || holds(&d) == Some(1.0));
    let flipped = sent.elapsed();

    let metrics = d.metrics();
    assert_eq!(
        sample(&metrics, "mrap_auditor_events_received_total", &[("source", "s3"), ("event", "PutBucketPolicy")]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(sample(&metrics, "mrap_auditor_event_lag_seconds_count", &[]), Some(1.0));
    let lag = sample(&metrics, "mrap_auditor_event_lag_seconds_sum", &[]).unwrap();
    let processing = sample(&metrics, "mrap_auditor_event_processing_seconds_sum", &[]).unwrap();
    assert!(processing < 1.0, "message received to verdict published: {processing} s");
    assert!(lag < 2.0, "eventTime to verdict published: {lag} s");
    eprintln!("event_lag_seconds {lag:.3}, event_processing_seconds {processing:.3}, enqueue to flip {flipped:?}");

    // One GetBucketPolicy for the event, not a full capture.
    let mut logs = Vec::new();
    wait_for("the event cycle's log line", Duration::from_secs(5), || {
        log_lines(&d, &mut logs);
        logs.iter().any(|v| v["fields"]["message"] == "Change events audited.")
    });
    let audited = logs.iter().find(|v| v["fields"]["message"] == "Change events audited.").unwrap();
    assert_eq!(audited["fields"]["calls"], 1, "{audited}");
    assert_eq!(audited["fields"]["recorded"], true, "{audited}");

    // The queue is drained: the message was deleted once the cycle was recorded.
    let waiting = || {
        let out = runtime
            .block_on(
                sqs.get_queue_attributes()
                    .queue_url(&queue)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                    .send(),
            )
            .unwrap();
        let get = |k: aws_sdk_sqs::types::QueueAttributeName| {
            out.attributes().and_then(|a| a.get(&k)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        };
        get(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            + get(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    };
    wait_for("the queue to be drained", Duration::from_secs(5), || waiting() == 0);

    // The history names the actor, for the policy change and for the verdict change it caused.
    let out = auditor(&["history", "--config", config.to_str().unwrap(), "--format", "json"]);
    let history = json_of(&out);
    let events = history["events"].as_array().unwrap();
    let alice = "arn:aws:sts::123456789012:assumed-role/admin/alice";
    for kind in ["policy_change", "verdict_change", "decision_change"] {
        let e = events.iter().find(|e| e["kind"] == kind).unwrap_or_else(|| panic!("no {kind}: {history}"));
        assert_eq!(e["changed_by"]["actor"], alice, "{e}");
        assert_eq!(e["changed_by"]["event_name"], "PutBucketPolicy");
        assert_eq!(e["changed_by"]["source_ip"], "198.51.100.7");
        assert_eq!(e["changed_by"]["request_id"], "9QF3XKQG8TV0YF2B");
    }
    let text = auditor(&["history", "--config", config.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("[changed by {alice} at ")), "{text}");
    let (_, page) = d.get("/");
    assert!(page.contains(&format!("changed by {alice}")), "{page}");
    let (_, api) = d.get("/api/v1/history");
    assert!(api.contains(alice), "{api}");
    let (_, report) = d.get("/api/v1/report");
    let report: Value = serde_json::from_str(&report).unwrap();
    let codes: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"event-queue-unreadable"), "{codes:?}");
    assert_eq!(report["expectations"][0]["status"], "holds", "a queue error alone changes no verdict");

    // Malformed, unknown and unrelated events: logged, counted, deleted; no cycle, no loop.
    for body in [
        "this is not an EventBridge event".to_string(),
        put_bucket_policy_event(B1, &now).replace("\"PutBucketPolicy\"", "\"GetBucketPolicy\""),
        put_bucket_policy_event("someone-elses-bucket", &now),
    ] {
        runtime.block_on(sqs.send_message().queue_url(&queue).message_body(body).send()).unwrap();
    }
    wait_for("three drops", Duration::from_secs(10), || {
        let m = d.metrics();
        ["malformed", "unknown_event", "not_used"]
            .iter()
            .all(|r| sample(&m, "mrap_auditor_events_dropped_total", &[("reason", r)]) == Some(1.0))
    });
    wait_for("the queue to be drained again", Duration::from_secs(5), || waiting() == 0);
    log_lines(&d, &mut logs);
    let cycles = logs.iter().filter(|v| v["fields"]["message"] == "Change events audited.").count();
    assert_eq!(cycles, 1, "dropped events trigger no cycle");

    // Bob breaks it again: the pushed alert says who, at once.
    runtime.block_on(async {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk(&moto.url, "us-east-1")).force_path_style(true).build(),
        );
        s3.put_bucket_policy().bucket(B1).policy(seed_policy("arn:aws:s3:::doc-examplebucket1")).send().await.unwrap();
    });
    let bob = put_bucket_policy_event(B1, &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .replace("arn:aws:sts::123456789012:assumed-role/admin/alice", "arn:aws:iam::123456789012:user/bob");
    runtime.block_on(sqs.send_message().queue_url(&queue).message_body(bob).send()).unwrap();
    wait_for("the verdict to break on the event", Duration::from_secs(5), || holds(&d) == Some(0.0));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut annotated = None;
    while annotated.is_none() && std::time::Instant::now() < deadline {
        let Ok(body) = pushes.recv_timeout(Duration::from_millis(200)) else { continue };
        let v: Value = serde_json::from_str(&body).unwrap();
        annotated = v.as_array().unwrap().iter().find_map(|a| {
            let by = a["annotations"]["changed_by"].as_str()?;
            (a["labels"]["alertname"] == "MrapAuditorExpectationViolated" && by.contains("user/bob"))
                .then(|| by.to_string())
        });
    }
    let annotated = annotated.expect("a violation alert with the actor");
    assert!(annotated.starts_with("changed by arn:aws:iam::123456789012:user/bob at "), "{annotated}");

    // Dave replaces the MRAP policy (S3 Control, logged in us-west-2): one
    // GetMultiRegionAccessPointPolicy, and bucket 2 now denies too.
    let deny = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Closed", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3::{ACCOUNT}:accesspoint/{}/object/*"}}]}}"#,
        world.alias
    );
    runtime.block_on(async {
        let control = aws_sdk_s3control::Client::from_conf(
            aws_sdk_s3control::config::Builder::from(&sdk(&moto.url, "us-west-2"))
                .endpoint_resolver(Fixed(moto.url.clone()))
                .build(),
        );
        control
            .put_multi_region_access_point_policy()
            .account_id(ACCOUNT)
            .client_token("dave")
            .details(
                aws_sdk_s3control::types::PutMultiRegionAccessPointPolicyInput::builder()
                    .name(MRAP_NAME)
                    .policy(deny.clone())
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let when = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let dave = serde_json::json!({
        "version": "0", "id": "2", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": ACCOUNT, "time": when, "region": "us-west-2", "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/dave", "accountId": ACCOUNT},
            "eventTime": when, "eventSource": "s3.amazonaws.com", "eventName": "PutMultiRegionAccessPointPolicy",
            "awsRegion": "us-west-2", "sourceIPAddress": "203.0.113.9",
            "requestParameters": {"PutMultiRegionAccessPointPolicyRequest": {
                "xmlns": "http://awss3control.amazonaws.com/doc/2018-08-20/", "ClientToken": "dave",
                "Details": {"Name": MRAP_NAME, "Policy": deny}}, "x-amz-account-id": ACCOUNT},
            "responseElements": {"requestTokenARN": format!("arn:aws:s3:us-west-2:{ACCOUNT}:async-request/mrap/put-policy/dave")},
            "requestID": "DAVE1", "eventID": "e2", "readOnly": false, "eventType": "AwsApiCall",
            "managementEvent": true, "recipientAccountId": ACCOUNT, "eventCategory": "Management"
        }
    });
    runtime.block_on(sqs.send_message().queue_url(&queue).message_body(dave.to_string()).send()).unwrap();
    let holds2 = |d: &support::Daemon| {
        sample(
            &d.metrics(),
            "mrap_auditor_expectation_holds",
            &[("expectation", support::APP), ("bucket", "doc-examplebucket2")],
        )
    };
    wait_for("bucket 2 to deny through the closed MRAP", Duration::from_secs(5), || holds2(&d) == Some(0.0));
    wait_for("the MRAP event's log line", Duration::from_secs(5), || {
        log_lines(&d, &mut logs);
        logs.iter().filter(|v| v["fields"]["message"] == "Change events audited.").count() == 3
    });
    let last = logs.iter().rev().find(|v| v["fields"]["message"] == "Change events audited.").unwrap();
    assert_eq!(last["fields"]["calls"], 1, "one GetMultiRegionAccessPointPolicy: {last}");
    let history = json_of(&auditor(&["history", "--config", config.to_str().unwrap(), "--format", "json"]));
    let mrap_change = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "policy_change" && e["subject"].as_str().unwrap().starts_with("mrap "))
        .unwrap_or_else(|| panic!("no MRAP policy change: {history}"));
    assert_eq!(mrap_change["changed_by"]["actor"], "arn:aws:iam::123456789012:user/dave", "{mrap_change}");
    assert_eq!(mrap_change["changed_by"]["request_id"], "DAVE1");
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));

    // At least once: a message whose cycle was never recorded is not deleted. With a long
    // debounce, the daemon is stopped after receiving an event and before auditing it; the
    // message stays in flight (SQS delivers it again after its visibility timeout).
    let text = std::fs::read_to_string(&config).unwrap().replace("debounce = \"50ms\"", "debounce = \"30s\"");
    std::fs::write(&config, text).unwrap();
    let d = support::Daemon::start_hermetic_aws(&config, &[]);
    wait_for("the full cycle after the restart", Duration::from_secs(60), || holds(&d) == Some(0.0));
    let events_before =
        json_of(&auditor(&["history", "--config", config.to_str().unwrap(), "--format", "json"]))["events"]
            .as_array()
            .unwrap()
            .len();
    let carol = put_bucket_policy_event(B1, &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .replace("arn:aws:sts::123456789012:assumed-role/admin/alice", "arn:aws:iam::123456789012:user/carol");
    runtime.block_on(sqs.send_message().queue_url(&queue).message_body(carol).send()).unwrap();
    let in_flight = || {
        let out = runtime
            .block_on(
                sqs.get_queue_attributes()
                    .queue_url(&queue)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    .send(),
            )
            .unwrap();
        out.attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    wait_for("the daemon to receive the event", Duration::from_secs(10), || in_flight() == 1);
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    assert_eq!(in_flight(), 1, "not deleted: its cycle never ran");
    assert_eq!(waiting(), 1, "still in the queue");
    let after = json_of(&auditor(&["history", "--config", config.to_str().unwrap(), "--format", "json"]));
    // Nothing of it was recorded. Under load another event may land meanwhile (a cycle that
    // overran its timeout is a `became_unknown`), so the check is on carol's change itself.
    let events = after["events"].as_array().unwrap();
    let new: Vec<&serde_json::Value> = events.iter().skip(events_before).collect();
    assert!(
        events.len() >= events_before
            && new.iter().all(|e| !e.to_string().contains("user/carol") && e["kind"] != "policy_change"),
        "nothing of it was recorded: {new:?}"
    );
    drop(moto);
}
