//! One audit cycle of 1,000 expectations over an MRAP of 5 buckets (goal: under 100 ms).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "benchmarks")]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mrap_auditor::audit::{AuditOptions, audit};
use mrap_auditor::config;
use mrap_auditor::snapshot::{
    Captured, EndpointScope, Manifest, Mrap, MrapPolicy, MrapRegion, MrapRoute, PublicAccessBlock, Snapshot,
    VpcEndpoint,
};

const BUCKETS: usize = 5;
const EXPECTATIONS: usize = 1000;

fn world() -> (config::Config, Snapshot) {
    let account = "123456789012";
    let mut s = Snapshot::empty();
    s.manifest = Captured::Value(Manifest { account_id: account.into(), partition: "aws".into(), captured_at: None });
    let buckets: Vec<String> = (0..BUCKETS).map(|i| format!("data-bucket-{i}")).collect();
    s.mraps = Captured::Value(vec![Mrap {
        name: "data".into(),
        alias: "mfzwi23gnjvgw.mrap".into(),
        created_at: None,
        public_access_block: Some(PublicAccessBlock::default()),
        status: Some("READY".into()),
        regions: buckets
            .iter()
            .enumerate()
            .map(|(i, b)| MrapRegion { bucket: b.clone(), region: format!("region-{i}"), bucket_account_id: None })
            .collect(),
    }]);
    let mrap_arn = format!("arn:aws:s3::{account}:accesspoint/mfzwi23gnjvgw.mrap");
    let mrap_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Vpce","Effect":"Allow","Principal":{{"AWS":"{account}"}},"Action":["s3:GetObject","s3:PutObject"],"Resource":"{mrap_arn}/object/*","Condition":{{"StringEquals":{{"aws:SourceVpce":"vpce-0a1b2c3d4e5f60718"}}}}}},
           {{"Sid":"DenyOther","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"{mrap_arn}/object/*","Condition":{{"StringNotEquals":{{"aws:PrincipalAccount":"{account}"}}}}}}]}}"#
    );
    s.mrap_policies.insert(
        "data".into(),
        Captured::Value(MrapPolicy {
            established: Some(mrap_policy.clone()),
            proposed: Some(mrap_policy.replace("s3:PutObject", "s3:DeleteObject")),
        }),
    );
    s.mrap_routes.insert(
        "data".into(),
        Captured::Value(
            buckets
                .iter()
                .enumerate()
                .map(|(i, b)| MrapRoute {
                    bucket: Some(b.clone()),
                    region: None,
                    traffic_dial_percentage: if i == 4 { 0 } else { 100 },
                })
                .collect(),
        ),
    );
    s.account_bpa.insert(account.into(), Captured::Value(None));
    for b in &buckets {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Delegate","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{b}/*","Condition":{{"StringEquals":{{"s3:DataAccessPointAccount":"{account}"}}}}}},
               {{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{b}","arn:aws:s3:::{b}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
        );
        s.bucket_policies.insert(b.clone(), Captured::Value(Some(policy)));
        s.bucket_bpa.insert(b.clone(), Captured::Value(None));
    }
    s.endpoints.insert(
        EndpointScope { account: None, region: "us-east-1".into() },
        Captured::Value(vec![VpcEndpoint {
            id: "vpce-0a1b2c3d4e5f60718".into(),
            endpoint_type: Some("Interface".into()),
            vpc_id: "vpc-1".into(),
            service_name: Some("com.amazonaws.s3-global.accesspoint".into()),
            state: Some("available".into()),
            private_dns_enabled: Some(true),
            policy_document: Some(format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["{mrap_arn}/object/*","arn:aws:s3:::data-bucket-*/*"]}}]}}"#)),
            owner_id: None,
        }]),
    );
    let mut text = String::from("[source]\nkind = \"snapshot\"\npath = \"unused\"\n");
    for i in 0..EXPECTATIONS {
        let action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"][i % 3];
        let expect = if action == "s3:DeleteObject" { "deny" } else { "allow" };
        text.push_str(&format!(
            "[[expect]]\nname = \"e{i}\"\nmrap = \"mfzwi23gnjvgw.mrap\"\nprincipal = \"arn:aws:sts::{account}:assumed-role/role-{}/s\"\naction = \"{action}\"\nkey = \"team-{}/file-{i}.csv\"\nvia = \"vpce-0a1b2c3d4e5f60718\"\nexpect = \"{expect}\"\n",
            i % 50,
            i % 7
        ));
    }
    (config::parse(&text, std::path::Path::new("/bench/mrap-auditor.toml")).unwrap(), s)
}

fn benches(c: &mut Criterion) {
    let (config, snapshot) = world();
    let options = AuditOptions {
        at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
        source: "snapshot".into(),
        snapshot_path: None,
    };
    let report = audit(&config, &snapshot, &options);
    assert_eq!(report.expectations.len(), EXPECTATIONS);
    assert_eq!(report.expectations[0].buckets.len(), BUCKETS);
    let mut group = c.benchmark_group("audit");
    group.sample_size(20);
    group
        .bench_function("1000 expectations x 5 buckets", |b| b.iter(|| black_box(audit(&config, &snapshot, &options))));
    group.finish();
}

criterion_group!(audit_benches, benches);
criterion_main!(audit_benches);
