//! The snapshot of one cycle with its policies parsed once, linted once, and recorded (hash of
//! the normalised document) for drift and history. Shared read-only by every expectation.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use crate::config::{Config, Via};
use crate::eval::NamedPolicy;
use crate::path::Known;
use crate::policy::lint::{self, Holder, LintTarget, Severity};
use crate::policy::public::{PolicyHolder, is_public};
use crate::policy::{Policy, PolicyKind, parse_policy};
use crate::report::{Finding, PolicyHash, PolicyRecord};
use crate::s3::{self, BlockPublicAccess};
use crate::snapshot::{Captured, Mrap, PublicAccessBlock, Snapshot, VpcEndpoint};

/// A parsed policy with its explanation name.
pub(crate) type Loaded = Known<Option<(String, Policy)>>;

/// The snapshot with its policies parsed, shared by every expectation of a cycle.
pub struct World<'s> {
    pub(crate) snapshot: &'s Snapshot,
    pub(crate) mrap_established: HashMap<&'s str, Loaded>,
    pub(crate) mrap_proposed: HashMap<&'s str, Option<Known<(String, Policy)>>>,
    pub(crate) bucket_policies: HashMap<&'s str, Loaded>,
    pub(crate) endpoint_policies: HashMap<&'s str, Loaded>,
    /// Policies of regional S3 endpoints (`com.amazonaws.REGION.s3`) no expectation names: the
    /// access map's `bucket:ENDPOINT` doors. Parsed, not linted or recorded.
    pub(crate) regional_endpoint_policies: HashMap<&'s str, Loaded>,
    pub(super) findings: BTreeSet<Finding>,
    pub(super) policies: Vec<PolicyRecord>,
}

pub(super) fn finding(
    severity: Severity,
    code: &str,
    resource: &str,
    message: impl Into<String>,
    fix: Option<String>,
) -> Finding {
    Finding { severity, code: code.to_string(), resource: resource.to_string(), message: message.into(), fix }
}

/// Canonical JSON: sorted keys, no whitespace. Policies that differ only in layout hash alike.
pub fn normalize_json(text: &str) -> Option<String> {
    fn canonical(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                serde_json::Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&map[k.as_str()]))).collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    serde_json::from_str::<serde_json::Value>(text).ok().map(|v| canonical(&v).to_string())
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What the lints of one cycle know about the snapshot: its partition and MRAP owner, the MRAPs
/// and the buckets behind them, and whether any expectation goes through an endpoint.
struct LintScope<'s> {
    partition: &'s str,
    mrap_account: Option<&'s str>,
    mraps: &'s [Mrap],
    aliases: Vec<&'s str>,
    buckets: Vec<&'s str>,
    through_endpoint: bool,
}

impl<'s> LintScope<'s> {
    fn of(snapshot: &'s Snapshot, config: &Config) -> LintScope<'s> {
        let mraps: &[Mrap] = snapshot.mraps.value().map_or(&[], Vec::as_slice);
        let mut buckets: Vec<&str> = mraps.iter().flat_map(|m| m.regions.iter().map(|r| r.bucket.as_str())).collect();
        buckets.sort_unstable();
        buckets.dedup();
        LintScope {
            partition: snapshot.partition(),
            mrap_account: snapshot.account_id(),
            mraps,
            aliases: mraps.iter().map(|m| m.alias.as_str()).collect(),
            buckets,
            through_endpoint: config.expectations.iter().any(|e| matches!(e.via, Via::Endpoint(_))),
        }
    }

    fn target<'t>(&'t self, holder: Holder<'t>) -> LintTarget<'t> {
        LintTarget {
            holder,
            partition: self.partition,
            mrap_account: self.mrap_account,
            mraps: &self.aliases,
            buckets: &self.buckets,
            through_endpoint: self.through_endpoint,
        }
    }
}

impl<'s> World<'s> {
    /// Parses every policy of the snapshot and lints it.
    pub fn new(snapshot: &'s Snapshot, config: &Config) -> World<'s> {
        let mut w = World {
            snapshot,
            mrap_established: HashMap::new(),
            mrap_proposed: HashMap::new(),
            bucket_policies: HashMap::new(),
            endpoint_policies: HashMap::new(),
            regional_endpoint_policies: HashMap::new(),
            findings: BTreeSet::new(),
            policies: Vec::new(),
        };
        let scope = LintScope::of(snapshot, config);
        w.note_unreadable_lists();
        for m in scope.mraps {
            w.load_mrap_policies(m, &scope);
        }
        for (bucket, captured) in &snapshot.bucket_policies {
            w.load_bucket_policy(bucket, captured, &scope);
        }
        let named: BTreeSet<&str> = config
            .expectations
            .iter()
            .filter_map(|e| match &e.via {
                Via::Endpoint(id) => Some(id.as_str()),
                Via::Internet => None,
            })
            .collect();
        for (scope_of, captured) in &snapshot.endpoints {
            match captured {
                Captured::Value(list) => {
                    for e in list {
                        w.load_endpoint_policy(e, &named, &scope);
                    }
                }
                other => {
                    let what = match &scope_of.account {
                        Some(a) => format!("ec2:DescribeVpcEndpoints {a}/{}", scope_of.region),
                        None => format!("ec2:DescribeVpcEndpoints {}", scope_of.region),
                    };
                    w.unreadable(&what, "the VPC endpoints", &other.problem().unwrap_or_default());
                }
            }
        }
        w.note_unreadable_bpa();
        w
    }

    /// The manifest and the MRAP listing: without them every expectation is unknown.
    fn note_unreadable_lists(&mut self) {
        let snapshot = self.snapshot;
        if let Some(problem) = snapshot.manifest.problem() {
            self.findings.insert(finding(
                Severity::Error,
                "unreadable-input",
                "manifest.json",
                format!("the snapshot's manifest (its account and partition): {problem}; every expectation is unknown"),
                None,
            ));
        }
        if let Some(problem) = snapshot.mraps.problem() {
            self.findings.insert(finding(
                Severity::Error,
                "unreadable-input",
                "s3control:ListMultiRegionAccessPoints",
                format!("the list of Multi-Region Access Points: {problem}; every expectation is unknown"),
                None,
            ));
        }
    }

    /// The Established and Proposed policies of one MRAP.
    fn load_mrap_policies(&mut self, m: &'s Mrap, scope: &LintScope<'s>) {
        let snapshot = self.snapshot;
        let arn = snapshot.mrap_arn(m).unwrap_or_else(|| m.alias.clone());
        let captured = snapshot.mrap_policies.get(&m.name).cloned().unwrap_or(Captured::NotCaptured);
        let p = match captured {
            Captured::Value(p) => p,
            other => {
                let why = other.problem().unwrap_or_default();
                self.unreadable(&arn, "the MRAP policy", &why);
                self.unreadable_record("mrap", &arn);
                self.mrap_established.insert(m.name.as_str(), Known::Unknown(why));
                return;
            }
        };
        let t = scope.target(Holder::Mrap(&m.alias));
        let lint_as = Some((&t, PolicyHolder::AccessPoint));
        let name = format!("MRAP policy of {}", m.alias);
        let established = self.load(p.established.as_deref(), &name, PolicyKind::Resource, &arn, "mrap", lint_as);
        self.mrap_established.insert(m.name.as_str(), established);
        let proposed = p.proposed.as_deref().map(|text| {
            let name = format!("Proposed MRAP policy of {}", m.alias);
            match self.load(Some(text), &name, PolicyKind::Resource, &arn, "mrap_proposed", lint_as) {
                Known::Value(Some(p)) => Known::Value(p),
                Known::Value(None) => Known::Unknown("empty".into()),
                Known::Unknown(why) => Known::Unknown(why),
            }
        });
        self.mrap_proposed.insert(m.name.as_str(), proposed);
    }

    fn load_bucket_policy(&mut self, bucket: &'s str, captured: &Captured<Option<String>>, scope: &LintScope<'s>) {
        let arn = format!("arn:{}:s3:::{bucket}", scope.partition);
        let t = scope.target(Holder::Bucket(bucket));
        let loaded = match captured {
            Captured::Value(text) => {
                let name = format!("bucket policy of {bucket}");
                self.load(
                    text.as_deref(),
                    &name,
                    PolicyKind::Resource,
                    &arn,
                    "bucket",
                    Some((&t, PolicyHolder::Bucket)),
                )
            }
            other => {
                let why = other.problem().unwrap_or_default();
                self.unreadable(&arn, "the bucket policy", &why);
                self.unreadable_record("bucket", &arn);
                Known::Unknown(why)
            }
        };
        self.bucket_policies.insert(bucket, loaded);
    }

    /// The policy of one described endpoint: parsed, linted and recorded when it reaches MRAPs
    /// or an expectation names it; only parsed when it is a regional S3 endpoint (a door of
    /// the access map); else ignored.
    fn load_endpoint_policy(&mut self, e: &'s VpcEndpoint, named: &BTreeSet<&str>, scope: &LintScope<'s>) {
        if e.service_name.as_deref() != Some(s3::MRAP_ENDPOINT_SERVICE) && !named.contains(e.id.as_str()) {
            if e.service_name.as_deref().is_some_and(s3::is_regional_s3_service) {
                let loaded = match e.policy_document.as_deref().map(|t| parse_policy(t, PolicyKind::Vpce)) {
                    None => Known::Value(None),
                    Some(Ok(p)) => Known::Value(Some((format!("endpoint policy of {}", e.id), p))),
                    Some(Err(err)) => Known::Unknown(format!("endpoint policy of {} is invalid: {err}", e.id)),
                };
                self.regional_endpoint_policies.insert(e.id.as_str(), loaded);
            }
            return;
        }
        let name = format!("endpoint policy of {}", e.id);
        if let Some(why) = self.snapshot.endpoint_policy_unknown.get(&e.id) {
            self.unreadable(&e.id, &format!("the {name}"), why);
            self.unreadable_record("vpce", &e.id);
            self.endpoint_policies.insert(e.id.as_str(), Known::Unknown(why.clone()));
            return;
        }
        let t = scope.target(Holder::Endpoint(&e.id));
        let lint_as = Some((&t, PolicyHolder::Bucket));
        let loaded = self.load(e.policy_document.as_deref(), &name, PolicyKind::Vpce, &e.id, "vpce", lint_as);
        self.endpoint_policies.insert(e.id.as_str(), loaded);
    }

    /// Account and bucket Block Public Access that could not be read.
    fn note_unreadable_bpa(&mut self) {
        let snapshot = self.snapshot;
        for (account, bpa) in &snapshot.account_bpa {
            if let Some(problem) = bpa.problem() {
                self.unreadable(account, "the account's Block Public Access", &problem);
            }
        }
        let partition = snapshot.partition();
        for (bucket, bpa) in &snapshot.bucket_bpa {
            if let Some(problem) = bpa.problem() {
                self.unreadable(
                    &format!("arn:{partition}:s3:::{bucket}"),
                    "the bucket's Block Public Access",
                    &problem,
                );
            }
        }
    }

    fn unreadable(&mut self, resource: &str, what: &str, why: &str) {
        self.findings.insert(finding(
            Severity::Error,
            "unreadable-input",
            resource,
            format!("{what} could not be read ({why}); every verdict that needs it is unknown"),
            Some("check the auditor's permissions and the capture (see README: IAM policy)".to_string()),
        ));
    }

    fn unreadable_record(&mut self, kind: &str, resource: &str) {
        self.policies.push(PolicyRecord {
            kind: kind.into(),
            resource: resource.into(),
            hash: PolicyHash::Unreadable,
            public: false,
            normalized: None,
        });
    }

    /// Parses, records and lints one policy text (`None` = no policy).
    fn load(
        &mut self,
        text: Option<&str>,
        name: &str,
        kind: PolicyKind,
        resource: &str,
        record_kind: &str,
        lint_as: Option<(&LintTarget<'_>, PolicyHolder)>,
    ) -> Loaded {
        let Some(text) = text else {
            self.policies.push(PolicyRecord {
                kind: record_kind.into(),
                resource: resource.into(),
                hash: PolicyHash::Absent,
                public: false,
                normalized: None,
            });
            return Known::Value(None);
        };
        if kind == PolicyKind::Vpce {
            // AWS refuses an endpoint policy without `Principal`; the parser below refuses it too,
            // but this finding says why AWS would (PrivateLink's endpoint-policy considerations).
            for l in crate::policy::refusal::missing_principal(text).unwrap_or_default() {
                self.findings.insert(finding(
                    l.severity,
                    l.code,
                    resource,
                    format!("{name}: {}", l.message),
                    Some(l.fix),
                ));
            }
        }
        let normalized = normalize_json(text);
        let hash = PolicyHash::Sha256(normalized.as_deref().map_or_else(|| format!("raw:{}", sha256(text)), sha256));
        match parse_policy(text, kind) {
            Ok(policy) => {
                let public = lint_as.is_some_and(|(_, holder)| kind != PolicyKind::Vpce && is_public(&policy, holder));
                self.policies.push(PolicyRecord {
                    kind: record_kind.into(),
                    resource: resource.into(),
                    hash,
                    public,
                    normalized,
                });
                if let Some((target, _)) = lint_as {
                    for l in lint::lint(&policy, target).into_iter().chain(lint::size_lint(text, target.holder)) {
                        self.findings.insert(finding(
                            l.severity,
                            l.code,
                            resource,
                            format!("{name}: {}", l.message),
                            Some(l.fix),
                        ));
                    }
                }
                Known::Value(Some((name.to_string(), policy)))
            }
            Err(e) => {
                self.policies.push(PolicyRecord {
                    kind: record_kind.into(),
                    resource: resource.into(),
                    hash,
                    public: false,
                    normalized,
                });
                self.findings.insert(finding(
                    Severity::Error,
                    "invalid-policy",
                    resource,
                    format!("{name} is not a valid policy: {e}"),
                    Some("fix the policy document at the position given; until then every verdict that needs it is unknown".into()),
                ));
                Known::Unknown(format!("{name} is invalid: {e}"))
            }
        }
    }
}

pub(crate) fn named(loaded: &Loaded) -> Known<Option<NamedPolicy<'_>>> {
    match loaded {
        Known::Value(Some((name, policy))) => Known::Value(Some(NamedPolicy { name, policy })),
        Known::Value(None) => Known::Value(None),
        Known::Unknown(why) => Known::Unknown(why.clone()),
    }
}

/// A captured account or bucket Block Public Access in the core's model: no configuration is
/// every setting off; a configuration that was not read is unknown.
pub(crate) fn bpa_of(c: Option<&Captured<Option<PublicAccessBlock>>>) -> Known<BlockPublicAccess> {
    match c {
        Some(Captured::Value(v)) => Known::Value(v.map(BlockPublicAccess::from).unwrap_or_default()),
        Some(other) => Known::Unknown(other.problem().unwrap_or_default()),
        None => Known::Unknown("not captured".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_ignores_layout_and_key_order() {
        let a = normalize_json(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}"#);
        let b = normalize_json(
            "{\n  \"Statement\": [ {\"Action\": \"*\", \"Effect\": \"Allow\"} ],\n  \"Version\": \"2012-10-17\"\n}",
        );
        assert_eq!(a, b);
        assert!(normalize_json("{bad").is_none());
    }
}
