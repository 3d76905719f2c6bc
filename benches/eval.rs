//! Decisions per second: the golden corpus, one simple request, and a large policy
//! (100 statements × 10 conditions). Figures go into the README's performance section.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "benchmarks")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mrap_auditor::eval::case::{EvalCase, case_from_json, parse_case};
use mrap_auditor::eval::{decide, explain};
use mrap_auditor::policy::json::{self, JsonKind};

fn golden_cases() -> Vec<EvalCase> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let JsonKind::Array(items) = json::parse(&text).unwrap().kind else { panic!() };
        cases.extend(items.iter().filter_map(|i| case_from_json(i).ok()));
    }
    cases
}

const SIMPLE: &str = r#"{
  "request": {"principal": "arn:aws:sts::123456789012:assumed-role/app/i-1", "action": "s3:GetObject",
              "resource": "arn:aws:s3:::doc-examplebucket1/reports/2026.csv", "resource_account": "123456789012",
              "context": {"aws:SourceVpce": "vpce-1a2b3c4d", "aws:SecureTransport": "true"}},
  "policies": {
    "identity": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3::123456789012:accesspoint/*"}]}],
    "resource": {"Version": "2012-10-17", "Statement": [
      {"Sid": "DelegateToMrap", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::doc-examplebucket1/*",
       "Condition": {"StringEquals": {"s3:DataAccessPointAccount": "123456789012"}}},
      {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::doc-examplebucket1/*",
       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
    "vpce": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
      "Resource": ["arn:aws:s3:::doc-examplebucket1/*", "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*"]}]}]
  }
}"#;

/// 100 Allow statements of 10 conditions each; the last condition of each fails, so every
/// condition of every statement is evaluated.
fn large_case() -> String {
    let mut statements = Vec::new();
    for i in 0..100 {
        statements.push(format!(
            r#"{{"Sid": "S{i}", "Effect": "Allow", "Principal": "*", "Action": ["s3:Get*", "s3:List*"], "Resource": "arn:aws:s3:::bucket-{i}*/*",
              "Condition": {{
                "StringEquals": {{"aws:SourceVpce": ["vpce-{i}", "vpce-1a2b3c4d"]}},
                "StringLike": {{"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
                "StringNotEquals": {{"aws:PrincipalAccount": "999999999999"}},
                "NotIpAddress": {{"aws:SourceIp": ["198.51.100.0/24", "2001:db8::/32"]}},
                "NumericLessThanEquals": {{"s3:max-keys": "1000"}},
                "DateLessThan": {{"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
                "Bool": {{"aws:SecureTransport": "true"}},
                "ArnLike": {{"s3:DataAccessPointArn": "arn:aws:s3::123456789012:accesspoint/*"}},
                "ForAnyValue:StringLike": {{"aws:TagKeys": ["team-*", "env"]}},
                "StringEqualsIgnoreCase": {{"aws:PrincipalTag/team": "never-{i}"}}
              }}}}"#
        ));
    }
    format!(
        r#"{{"request": {{"principal": "arn:aws:sts::123456789012:assumed-role/app/i-1", "action": "s3:GetObject",
             "resource": "arn:aws:s3:::bucket-7/key.csv", "resource_account": "444455556666",
             "context": {{"aws:SourceVpce": "vpce-1a2b3c4d", "aws:SecureTransport": "true", "s3:max-keys": "10",
                          "aws:CurrentTime": "2026-11-22T10:00:00Z", "aws:TagKeys": ["team-a", "cost"],
                          "aws:PrincipalTag/team": "blue",
                          "s3:DataAccessPointArn": "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"}}}},
           "policies": {{"identity": [{{"Statement": {{"Effect": "Allow", "Action": "*", "Resource": "*"}}}}],
                         "resource": {{"Version": "2012-10-17", "Statement": [{}]}}}}}}"#,
        statements.join(",")
    )
}

fn benches(c: &mut Criterion) {
    let golden = golden_cases();
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(golden.len() as u64));
    group.bench_function("golden corpus (per case)", |b| {
        b.iter(|| {
            for case in &golden {
                black_box(decide(&case.request, &case.policy_set()));
            }
        })
    });
    let simple = parse_case(SIMPLE).unwrap();
    group.throughput(Throughput::Elements(1));
    group.bench_function("simple request", |b| b.iter(|| black_box(decide(&simple.request, &simple.policy_set()))));
    let large = parse_case(&large_case()).unwrap();
    group.bench_function("large policy 100x10", |b| b.iter(|| black_box(decide(&large.request, &large.policy_set()))));
    group.finish();

    let mut group = c.benchmark_group("explain");
    group.throughput(Throughput::Elements(1));
    group.bench_function("simple request", |b| b.iter(|| black_box(explain(&simple.request, &simple.policy_set()))));
    group.finish();

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("simple case (JSON to request + policies)", |b| {
        b.iter(|| black_box(parse_case(SIMPLE).unwrap()))
    });
    let large_text = large_case();
    group.throughput(Throughput::Bytes(large_text.len() as u64));
    group.bench_function("large policy 100x10", |b| b.iter(|| black_box(parse_case(&large_text).unwrap())));
    group.finish();
}

criterion_group!(name = eval; config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)); targets = benches);
criterion_main!(eval);
