//! Whole-process benchmarks: the binary as a user runs it, start-up, file reading and printing
//! included — what the criterion benchmarks (`eval`, `audit`), which time library calls, cannot see
//! (config loading was quadratic in the number of expectations and they never showed it).
//!
//! - `check` on generated worlds of N expectations × 5 buckets, N = 1,000 … 10,000: the curve (time
//!   per N) and a check that it grows linearly;
//! - `eval --jsonl` on a stream of AWS-style cases (the same few policies repeating from line to
//!   line, as a CI pipeline sends them), side by side with `@cloud-copilot/iam-simulate` on the same
//!   stream, whole process against whole process, in one run: the ratio, and whether both give the
//!   same decisions.
//!
//! `scripts/bench.sh` runs it on the release binary (`MRAP_AUDITOR_BIN`) and installs
//! iam-simulate from npm into `target/iam-simulate` (`scripts/install-iam-simulate.sh`). Under
//! `cargo test` (no `--bench` argument) it runs a small smoke version on the debug binary and
//! without node, so CI keeps the generators and the measurement code working.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "benchmarks")]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";
const OTHER_ACCOUNT: &str = "444455556666";
const ALIAS: &str = "mfzwi23gnjvgw.mrap";
const VPCE: &str = "vpce-0a1b2c3d4e5f60718";
const BUCKETS: usize = 5;
const ORG: &str = "o-a1b2c3d4e5";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    // `-- --bench eval` or `-- --bench check` runs one part only; both by default.
    let parts: Vec<&str> = args.iter().map(String::as_str).filter(|a| ["check", "eval"].contains(a)).collect();
    let run = |part: &str| parts.is_empty() || parts.contains(&part);
    let bin = std::env::var_os("MRAP_AUDITOR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mrap-auditor")));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/bench-process");
    std::fs::create_dir_all(&work).unwrap();
    println!("binary: {} ({:.1} MB)", bin.display(), megabytes(&bin));
    match (full, run("check"), run("eval")) {
        (true, check, eval) => {
            if check {
                check_curve(&bin, &work, &[1_000, 2_000, 5_000, 10_000], 11);
            }
            if eval {
                eval_side_by_side(&bin, &work, root, 20_000, 15, 3);
            }
        }
        (false, _, _) => {
            check_curve(&bin, &work, &[20, 40], 2);
            eval_smoke(&bin, &work);
        }
    }
}

/// The machine's 1, 5 and 15 minute load averages: the figures mean little without them on a
/// shared machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn megabytes(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0)
}

/// Runs `command` `runs` times; the sorted wall-clock durations. `check` exits 1 on the
/// generated worlds (they hold a violation on purpose), so the expected exit code is given.
fn time_runs(runs: usize, expected_exit: i32, mut command: impl FnMut() -> Command) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut c = command();
            let start = Instant::now();
            let status = c.stdout(Stdio::null()).stderr(Stdio::inherit()).status().unwrap();
            let elapsed = start.elapsed();
            assert_eq!(status.code(), Some(expected_exit), "{c:?}");
            elapsed
        })
        .collect();
    times.sort();
    times
}

fn median(times: &[Duration]) -> Duration {
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---- check on N expectations × 5 buckets ------------------------------------------------------

/// Writes a snapshot directory (DESIGN §4) and a config of `n` expectations over one MRAP of five
/// buckets, one of them passive, with a Proposed MRAP policy; bucket 3's policy lacks `/*`, so
/// the reads are intermittent and `check` exits 1.
fn write_world(dir: &Path, n: usize) -> PathBuf {
    let snap = dir.join("snapshot");
    let write = |rel: &str, text: String| {
        let path = snap.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let buckets: Vec<String> = (0..BUCKETS).map(|i| format!("data-bucket-{i}")).collect();
    let regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "eu-central-1"];
    write("manifest.json", format!(r#"{{"account_id": "{ACCOUNT}", "partition": "aws"}}"#));
    let region_list: Vec<String> = buckets
        .iter()
        .zip(regions)
        .map(|(b, r)| format!(r#"{{"Bucket": "{b}", "Region": "{r}", "BucketAccountId": "{ACCOUNT}"}}"#))
        .collect();
    write(
        "s3control/list-multi-region-access-points.json",
        format!(
            r#"{{"AccessPoints": [{{"Name": "data", "Alias": "{ALIAS}", "Status": "READY",
              "PublicAccessBlock": {{"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}},
              "Regions": [{}]}}]}}"#,
            region_list.join(", ")
        ),
    );
    let mrap_arn = format!("arn:aws:s3::{ACCOUNT}:accesspoint/{ALIAS}");
    let mrap_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Vpce","Effect":"Allow","Principal":{{"AWS":"{ACCOUNT}"}},"Action":["s3:GetObject","s3:PutObject"],"Resource":"{mrap_arn}/object/*","Condition":{{"StringEquals":{{"aws:SourceVpce":"{VPCE}"}}}}}},{{"Sid":"DenyOther","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"{mrap_arn}/object/*","Condition":{{"StringNotEquals":{{"aws:PrincipalAccount":"{ACCOUNT}"}}}}}}]}}"#
    );
    let proposed = mrap_policy.replace("s3:PutObject", "s3:DeleteObject");
    write(
        "s3control/get-multi-region-access-point-policy/data.json",
        serde_json::json!({"Policy": {"Established": {"Policy": mrap_policy}, "Proposed": {"Policy": proposed}}})
            .to_string(),
    );
    let routes: Vec<String> = buckets
        .iter()
        .zip(regions)
        .enumerate()
        .map(|(i, (b, r))| {
            format!(
                r#"{{"Bucket": "{b}", "Region": "{r}", "TrafficDialPercentage": {}}}"#,
                if i == 4 { 0 } else { 100 }
            )
        })
        .collect();
    write(
        "s3control/get-multi-region-access-point-routes/data.json",
        format!(r#"{{"Mrap": "{mrap_arn}", "Routes": [{}]}}"#, routes.join(", ")),
    );
    let no_bpa = r#"{"Error": {"Code": "NoSuchPublicAccessBlockConfiguration", "Message": "not found"}}"#;
    write(&format!("s3control/get-public-access-block/{ACCOUNT}.json"), no_bpa.to_string());
    for (i, b) in buckets.iter().enumerate() {
        let objects = if i == 3 { format!("arn:aws:s3:::{b}") } else { format!("arn:aws:s3:::{b}/*") };
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Delegate","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":"{objects}","Condition":{{"StringEquals":{{"s3:DataAccessPointAccount":"{ACCOUNT}"}}}}}},{{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{b}","arn:aws:s3:::{b}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
        );
        write(&format!("s3/get-bucket-policy/{b}.json"), serde_json::json!({ "Policy": policy }).to_string());
        write(&format!("s3/get-public-access-block/{b}.json"), no_bpa.to_string());
    }
    let endpoint_policy = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["{mrap_arn}/object/*","arn:aws:s3:::data-bucket-*/*"]}}]}}"#
    );
    write(
        "ec2/describe-vpc-endpoints/us-east-1.json",
        serde_json::json!({"VpcEndpoints": [{
            "VpcEndpointId": VPCE, "VpcEndpointType": "Interface", "VpcId": "vpc-0c0ffee0c0ffee000",
            "ServiceName": "com.amazonaws.s3-global.accesspoint", "State": "available",
            "PrivateDnsEnabled": true, "OwnerId": ACCOUNT, "PolicyDocument": endpoint_policy}]})
        .to_string(),
    );
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    for t in 0..7 {
        std::fs::write(
            dir.join(format!("policies/team-{t}.json")),
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"{mrap_arn}/object/team-{t}/*"}}]}}"#
            ),
        )
        .unwrap();
    }
    let mut text = String::from("[source]\nkind = \"snapshot\"\npath = \"snapshot\"\n\n");
    for i in 0..n {
        let action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"][i % 3];
        let expect = if action == "s3:DeleteObject" { "deny" } else { "allow" };
        let team = i % 7;
        writeln!(
            text,
            "[[expect]]\nname = \"e{i}\"\nmrap = \"{ALIAS}\"\nprincipal = \"arn:aws:sts::{ACCOUNT}:assumed-role/role-{}/s\"\n\
             action = \"{action}\"\nkey = \"team-{team}/file-{i}.csv\"\nvia = \"{VPCE}\"\nexpect = \"{expect}\"\n\
             identity_policy = \"policies/team-{team}.json\"\n",
            i % 50
        )
        .unwrap();
    }
    let config = dir.join("mrap-auditor.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// `check` on each world size; prints time per N and fails if the cost per expectation at the
/// largest N is more than twice that at the smallest (quadratic growth gives ×10 over this range).
fn check_curve(bin: &Path, work: &Path, sizes: &[usize], runs: usize) {
    println!("\n== check: N expectations x {BUCKETS} buckets, {runs} runs each (wall clock, median / min)");
    println!("{:>8}  {:>10}  {:>10}  {:>18}", "N", "median ms", "min ms", "µs per expectation");
    let mut per_expectation = Vec::new();
    for &n in sizes {
        let dir = work.join(format!("world-{n}"));
        let config = write_world(&dir, n);
        let times = time_runs(runs, 1, || {
            let mut c = Command::new(bin);
            c.args(["check", "--at", "2026-11-22T10:00:00Z", "--config"]).arg(&config);
            c
        });
        let per = ms(median(&times)) * 1e3 / n as f64;
        per_expectation.push(per);
        println!("{n:>8}  {:>10.1}  {:>10.1}  {per:>18.1}", ms(median(&times)), ms(times[0]));
    }
    let (first, last) = (per_expectation[0], per_expectation[per_expectation.len() - 1]);
    let growth = last / first;
    println!(
        "cost per expectation, largest N / smallest N: {growth:.2} (1 = linear; quadratic would be ~{:.0})",
        sizes[sizes.len() - 1] as f64 / sizes[0] as f64
    );
    assert!(growth < 2.0, "check grows faster than linearly: {per_expectation:?}");
}

// ---- eval --jsonl on AWS-style cases, beside iam-simulate --------------------------------------

/// A small deterministic generator (splitmix64): the same stream on every run and machine.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// The policies of the stream: three identity policies, a bucket policy per bucket, an endpoint
/// policy, an SCP and an RCP level — what an MRAP set-up in one organisation holds.
fn stream_policies() -> (Vec<String>, Vec<String>, String, String, String) {
    let identity = vec![
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadWriteData","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::data-bucket-*/*"}]}"#.to_string(),
        format!(r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"ReadReports","Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::data-bucket-1/reports/*","arn:aws:s3:::data-bucket-2/reports/*"],"Condition":{{"StringEquals":{{"aws:SourceVpce":"{VPCE}"}}}}}}]}}"#),
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"NoDelete","Effect":"Deny","Action":["s3:DeleteObject","s3:DeleteObjectVersion"],"Resource":"*"}]}"#.to_string(),
    ];
    let buckets = (0..BUCKETS)
        .map(|i| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::data-bucket-{i}/*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{ORG}"}}}}}},{{"Sid":"PartnerWrite","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER_ACCOUNT}:root"}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::data-bucket-{i}/incoming/*"}},{{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::data-bucket-{i}","arn:aws:s3:::data-bucket-{i}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}},{{"Sid":"OnlyThroughVpce","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::data-bucket-{i}/*","Condition":{{"StringNotEquals":{{"aws:SourceVpce":["{VPCE}","vpce-1111aaaa2222bbbb3"]}},"StringNotEqualsIfExists":{{"aws:PrincipalAccount":"{OTHER_ACCOUNT}"}}}}}}]}}"#
            )
        })
        .collect();
    let vpce = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DataOnly","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:PutObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::data-bucket-*/*"}]}"#.to_string();
    let scp = r#"{"Version":"2012-10-17","Statement":[{"Sid":"FullAWSAccess","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"DenyBucketDeletion","Effect":"Deny","Action":["s3:DeleteBucket","s3:PutBucketPolicy"],"Resource":"*"}]}"#.to_string();
    let rcp = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"RCPFullAWSAccess","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}},{{"Sid":"EnforceOrg","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{{"StringNotEqualsIfExists":{{"aws:PrincipalOrgID":"{ORG}"}},"StringNotEquals":{{"aws:PrincipalAccount":"{OTHER_ACCOUNT}"}},"BoolIfExists":{{"aws:PrincipalIsAWSService":"false"}}}}}}]}}"#
    );
    (identity, buckets, vpce, scp, rcp)
}

/// `count` cases, one JSON object per line (DESIGN §7), in the subset both evaluators support:
/// identity, bucket, endpoint, SCP and RCP policies, same- and cross-account callers, the
/// context keys an MRAP request through an endpoint carries.
fn write_stream(path: &Path, count: usize) {
    let (identity, buckets, vpce, scp, rcp) = stream_policies();
    let mut mix = Mix(12);
    let mut out = String::new();
    for _ in 0..count {
        let bucket = (mix.next() % BUCKETS as u64) as usize;
        let cross = mix.next() % 4 == 0;
        let account = if cross { OTHER_ACCOUNT } else { ACCOUNT };
        let role = mix.pick(&["app", "reporting", "ingest", "admin"]);
        let action = mix.pick(&["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion"]);
        let key =
            format!("{}/{:04}.csv", mix.pick(&["reports", "incoming", "raw", "reports/2026"]), mix.next() % 10_000);
        let vpce_id = mix.pick(&[VPCE, VPCE, "vpce-1111aaaa2222bbbb3", "vpce-9999ffff0000eeee1"]);
        let secure = if mix.next() % 10 == 0 { "false" } else { "true" };
        let org = if cross { "o-zz9y8x7w6v" } else { ORG };
        let case = serde_json::json!({
            "request": {
                "principal": format!("arn:aws:iam::{account}:role/{role}"),
                "action": action,
                "resource": format!("arn:aws:s3:::data-bucket-{bucket}/{key}"),
                "resource_account": ACCOUNT,
                "context": {
                    "aws:SourceVpce": vpce_id, "aws:SecureTransport": secure, "aws:PrincipalOrgID": org,
                    "aws:PrincipalAccount": account, "aws:PrincipalArn": format!("arn:aws:iam::{account}:role/{role}"),
                },
            },
            "policies": {
                "identity": [raw(mix.pick::<String>(&identity))],
                "resource": raw(&buckets[bucket]),
                "vpce": [raw(&vpce)],
                "scp": [[raw(&scp)]],
                "rcp": [[raw(&rcp)]],
            },
        });
        out.push_str(&case.to_string());
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

fn raw(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn decisions(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["decision"].as_str().map_or_else(|| format!("error: {}", v["error"]), str::to_string)
        })
        .collect()
}

fn run_eval(bin: &Path, stream: &Path) -> String {
    let out = Command::new(bin).args(["eval", "--jsonl"]).arg(stream).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn eval_smoke(bin: &Path, work: &Path) {
    let stream = work.join("smoke.jsonl");
    write_stream(&stream, 200);
    let d = decisions(&run_eval(bin, &stream));
    assert_eq!(d.len(), 200);
    for want in ["Allow", "ImplicitDeny", "ExplicitDeny"] {
        assert!(d.iter().any(|x| x == want), "the stream exercises {want}: {d:?}");
    }
    println!("eval --jsonl smoke: 200 cases evaluated");
}

fn eval_side_by_side(bin: &Path, work: &Path, root: &Path, count: usize, runs: usize, node_runs: usize) {
    let stream = work.join("aws-style.jsonl");
    write_stream(&stream, count);
    println!(
        "\n== eval --jsonl: {count} AWS-style cases ({:.1} MB), whole process against whole process",
        megabytes(&stream)
    );
    println!("load average before the runs: {}", load_average());
    let ours = decisions(&run_eval(bin, &stream));
    let times = time_runs(runs, 0, || {
        let mut c = Command::new(bin);
        c.args(["eval", "--jsonl"]).arg(&stream);
        c
    });
    let ours_per_s = count as f64 / median(&times).as_secs_f64();
    println!(
        "mrap-auditor   {runs:>2} runs: median {:>8.1} ms, min {:>8.1} ms  → {:>9.0} cases/s",
        ms(median(&times)),
        ms(times[0]),
        ours_per_s
    );
    let uncached = Command::new(bin).args(["eval", "--jsonl", "--no-policy-cache"]).arg(&stream).output().unwrap();
    assert_eq!(decisions(&String::from_utf8(uncached.stdout).unwrap()), ours, "the policy cache changes no answer");
    let uncached_times = time_runs(runs, 0, || {
        let mut c = Command::new(bin);
        c.args(["eval", "--jsonl", "--no-policy-cache"]).arg(&stream);
        c
    });
    println!(
        "  (--no-policy-cache: median {:>8.1} ms → {:>9.0} cases/s; the cache is {:.1}x faster)",
        ms(median(&uncached_times)),
        count as f64 / median(&uncached_times).as_secs_f64(),
        median(&uncached_times).as_secs_f64() / median(&times).as_secs_f64()
    );
    let install = root.join("scripts/install-iam-simulate.sh");
    let status = Command::new(&install).status().unwrap();
    assert!(status.success(), "{} failed", install.display());
    let module = root.join("target/iam-simulate/node_modules/@cloud-copilot/iam-simulate/dist/esm/index.js");
    let adapter = root.join("benches/iam_simulate_jsonl.mjs");
    let node = || {
        let mut c = Command::new("node");
        c.arg(&adapter).arg(&module).arg(&stream);
        c
    };
    let theirs_out = node().output().unwrap();
    assert!(theirs_out.status.success(), "{}", String::from_utf8_lossy(&theirs_out.stderr));
    let theirs = decisions(&String::from_utf8(theirs_out.stdout).unwrap());
    let node_times = time_runs(node_runs, 0, node);
    let theirs_per_s = count as f64 / median(&node_times).as_secs_f64();
    println!(
        "iam-simulate   {node_runs:>2} runs: median {:>8.1} ms, min {:>8.1} ms  → {:>9.0} cases/s",
        ms(median(&node_times)),
        ms(node_times[0]),
        theirs_per_s
    );
    let ratio = ours_per_s / theirs_per_s;
    println!(
        "ratio (median against median): {ratio:.0}x — the goal (issue 12) is at least 100x: {}",
        if ratio >= 100.0 { "met" } else { "NOT met" }
    );
    println!("load average after the runs: {}", load_average());
    assert_eq!(ours.len(), theirs.len());
    let differ: Vec<usize> = (0..ours.len()).filter(|&i| ours[i] != theirs[i]).collect();
    let mut counts = std::collections::BTreeMap::new();
    for d in &ours {
        *counts.entry(d.as_str()).or_insert(0usize) += 1;
    }
    println!("decisions: {counts:?}; the two evaluators differ on {} of {count} cases", differ.len());
    for &i in differ.iter().take(5) {
        println!("  line {}: mrap-auditor {}, iam-simulate {}", i + 1, ours[i], theirs[i]);
    }
}
