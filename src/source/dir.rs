//! The snapshot directory (DESIGN §4): read it into a [`Snapshot`], and write one back.
//!
//! Files hold exactly what the AWS CLI prints with `--output json`, so a user can capture a
//! snapshot by hand. An absent file is "not captured"; `{"Error": {"Code", "Message"}}` is an AWS
//! error response; a file that cannot be read or parsed is attached to its resource as
//! unreadable. Only a missing directory stops the read: one bad file never hides the others.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::snapshot::{
    AwsError, Captured, EndpointScope, Manifest, Mrap, MrapPolicy, MrapRoute, PublicAccessBlock, Snapshot, SourceError,
    VpcEndpoint,
};

/// Why a snapshot directory could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("snapshot directory `{path}` does not exist or is not a directory")]
    Missing { path: PathBuf },
    #[error("cannot write `{path}`: {source}")]
    Write { path: PathBuf, source: io::Error },
}

pub const MANIFEST: &str = "manifest.json";
pub const LIST_MRAPS: &str = "s3control/list-multi-region-access-points.json";
pub const MRAP_POLICY_DIR: &str = "s3control/get-multi-region-access-point-policy";
pub const MRAP_ROUTES_DIR: &str = "s3control/get-multi-region-access-point-routes";
pub const ACCOUNT_BPA_DIR: &str = "s3control/get-public-access-block";
pub const BUCKET_POLICY_DIR: &str = "s3/get-bucket-policy";
pub const BUCKET_BPA_DIR: &str = "s3/get-public-access-block";
pub const ENDPOINTS_DIR: &str = "ec2/describe-vpc-endpoints";

/// Error codes that are answers, not failures (reference §2).
const NO_BUCKET_POLICY: &str = "NoSuchBucketPolicy";
const NO_PUBLIC_ACCESS_BLOCK: &str = "NoSuchPublicAccessBlockConfiguration";

// ---- the AWS CLI shapes ----

#[derive(Deserialize, Serialize)]
struct ListMrapsOutput {
    #[serde(rename = "AccessPoints", default)]
    access_points: Vec<Mrap>,
    #[serde(rename = "NextToken", default, skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
struct PolicyText {
    #[serde(rename = "Policy", default, skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct MrapPolicyState {
    #[serde(rename = "Established", default, skip_serializing_if = "Option::is_none")]
    established: Option<PolicyText>,
    #[serde(rename = "Proposed", default, skip_serializing_if = "Option::is_none")]
    proposed: Option<PolicyText>,
}

#[derive(Deserialize, Serialize)]
struct MrapPolicyOutput {
    #[serde(rename = "Policy")]
    policy: MrapPolicyState,
}

#[derive(Deserialize, Serialize)]
struct RoutesOutput {
    #[serde(rename = "Mrap", default, skip_serializing_if = "Option::is_none")]
    mrap: Option<String>,
    #[serde(rename = "Routes", default)]
    routes: Vec<MrapRoute>,
}

#[derive(Deserialize, Serialize)]
struct BpaOutput {
    #[serde(rename = "PublicAccessBlockConfiguration")]
    configuration: PublicAccessBlock,
}

#[derive(Deserialize, Serialize)]
struct BucketPolicyOutput {
    #[serde(rename = "Policy")]
    policy: String,
}

#[derive(Deserialize, Serialize)]
struct EndpointsOutput {
    #[serde(rename = "VpcEndpoints", default)]
    vpc_endpoints: Vec<VpcEndpoint>,
}

#[derive(Serialize)]
struct ErrorFile<'a> {
    #[serde(rename = "Error")]
    error: &'a AwsError,
}

// ---- reading ----

/// Records what could not be read, with the AWS API the file stands for.
fn note_errors<T>(errors: &mut Vec<SourceError>, api: &str, resource: &str, c: &Captured<T>) {
    let (code, message) = match c {
        Captured::AwsError(e) => (e.code.clone(), e.message.clone()),
        Captured::Invalid(reason) => ("InvalidSnapshotFile".to_string(), reason.clone()),
        Captured::Value(_) | Captured::NotCaptured => return,
    };
    tracing::warn!(api, code = %code, resource, message = %message, "Snapshot file records a failed read.");
    errors.push(SourceError { api: api.into(), code, resource: resource.into(), message, request_id: None });
}

/// One file's content: absent, an AWS error, unreadable, or parsed.
fn read_file<T: DeserializeOwned>(path: &Path) -> Captured<T> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Captured::NotCaptured,
        Err(e) => return Captured::Invalid(format!("`{}`: {e}", path.display())),
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return Captured::Invalid(format!("`{}`: invalid JSON: {e}", path.display())),
    };
    if let Some(error) = value.get("Error") {
        return match serde_json::from_value::<AwsError>(error.clone()) {
            Ok(e) => Captured::AwsError(e),
            Err(e) => Captured::Invalid(format!("`{}`: malformed `Error` object: {e}", path.display())),
        };
    }
    match serde_json::from_value::<T>(value) {
        Ok(v) => Captured::Value(v),
        Err(e) => Captured::Invalid(format!("`{}`: not the AWS CLI's shape: {e}", path.display())),
    }
}

/// `NoSuchX` answers mean "none configured".
fn answer_none<T>(c: Captured<T>, none_code: &str) -> Captured<Option<T>> {
    match c {
        Captured::AwsError(e) if e.code == none_code => Captured::Value(None),
        other => other.map(Some),
    }
}

/// `DIR/*.json` files, by file stem, sorted.
fn json_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
        .collect();
    out.sort();
    out
}

/// Reads a snapshot directory.
pub fn read(dir: &Path) -> Result<Snapshot, DirError> {
    if !dir.is_dir() {
        return Err(DirError::Missing { path: dir.to_path_buf() });
    }
    let mut snapshot = Snapshot::empty();
    snapshot.manifest = read_file::<Manifest>(&dir.join(MANIFEST));
    snapshot.mraps = read_file::<ListMrapsOutput>(&dir.join(LIST_MRAPS)).map(|o| o.access_points);
    for (name, path) in json_files(&dir.join(MRAP_POLICY_DIR)) {
        let policy = read_file::<MrapPolicyOutput>(&path).map(|o| MrapPolicy {
            established: o.policy.established.and_then(|p| p.policy),
            proposed: o.policy.proposed.and_then(|p| p.policy),
        });
        snapshot.mrap_policies.insert(name, policy);
    }
    for (name, path) in json_files(&dir.join(MRAP_ROUTES_DIR)) {
        snapshot.mrap_routes.insert(name, read_file::<RoutesOutput>(&path).map(|o| o.routes));
    }
    for (account, path) in json_files(&dir.join(ACCOUNT_BPA_DIR)) {
        let bpa = answer_none(read_file::<BpaOutput>(&path).map(|o| o.configuration), NO_PUBLIC_ACCESS_BLOCK);
        snapshot.account_bpa.insert(account, bpa);
    }
    for (bucket, path) in json_files(&dir.join(BUCKET_POLICY_DIR)) {
        let policy = answer_none(read_file::<BucketPolicyOutput>(&path).map(|o| o.policy), NO_BUCKET_POLICY);
        snapshot.bucket_policies.insert(bucket, policy);
    }
    for (bucket, path) in json_files(&dir.join(BUCKET_BPA_DIR)) {
        let bpa = answer_none(read_file::<BpaOutput>(&path).map(|o| o.configuration), NO_PUBLIC_ACCESS_BLOCK);
        snapshot.bucket_bpa.insert(bucket, bpa);
    }
    let endpoints = dir.join(ENDPOINTS_DIR);
    let mut errors = Vec::new();
    for (region, path) in json_files(&endpoints) {
        let scope = EndpointScope { account: None, region };
        snapshot.endpoints.insert(scope, read_file::<EndpointsOutput>(&path).map(|o| o.vpc_endpoints));
    }
    if let Ok(entries) = fs::read_dir(&endpoints) {
        let mut accounts: Vec<PathBuf> =
            entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
        accounts.sort();
        for account_dir in accounts {
            let Some(account) = account_dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
            for (region, path) in json_files(&account_dir) {
                let scope = EndpointScope { account: Some(account.clone()), region };
                snapshot.endpoints.insert(scope, read_file::<EndpointsOutput>(&path).map(|o| o.vpc_endpoints));
            }
        }
    }
    note_errors(&mut errors, "ListMultiRegionAccessPoints", "mraps", &snapshot.mraps);
    for (name, c) in &snapshot.mrap_policies {
        note_errors(&mut errors, "GetMultiRegionAccessPointPolicy", name, c);
    }
    for (name, c) in &snapshot.mrap_routes {
        note_errors(&mut errors, "GetMultiRegionAccessPointRoutes", name, c);
    }
    for (account, c) in &snapshot.account_bpa {
        note_errors(&mut errors, "GetPublicAccessBlock", account, c);
    }
    for (bucket, c) in &snapshot.bucket_policies {
        note_errors(&mut errors, "GetBucketPolicy", bucket, c);
    }
    for (bucket, c) in &snapshot.bucket_bpa {
        note_errors(&mut errors, "GetBucketPublicAccessBlock", bucket, c);
    }
    for (scope, c) in &snapshot.endpoints {
        note_errors(&mut errors, "DescribeVpcEndpoints", &scope.region, c);
    }
    note_errors(&mut errors, "Manifest", "manifest.json", &snapshot.manifest);
    snapshot.errors = errors;
    Ok(snapshot)
}

// ---- writing ----

struct Writer<'a> {
    root: &'a Path,
}

impl Writer<'_> {
    fn json<T: Serialize>(&self, relative: &str, value: &T) -> Result<(), DirError> {
        let path = self.root.join(relative);
        let fail = |source| DirError::Write { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut text = serde_json::to_string_pretty(value).map_err(|e| fail(io::Error::other(e)))?;
        text.push('\n');
        fs::write(&path, text).map_err(fail)
    }

    /// Writes a captured value, its AWS error, or nothing when it was not captured.
    fn captured<T, S: Serialize>(
        &self,
        relative: &str,
        c: &Captured<T>,
        shape: impl FnOnce(&T) -> S,
    ) -> Result<(), DirError> {
        match c {
            Captured::Value(v) => self.json(relative, &shape(v)),
            Captured::NotCaptured => Ok(()),
            Captured::AwsError(e) => self.json(relative, &ErrorFile { error: e }),
            // The unreadable content itself is gone; keep the reason as an error record.
            Captured::Invalid(reason) => self
                .json(relative, &ErrorFile { error: &AwsError { code: "Unreadable".into(), message: reason.clone() } }),
        }
    }

    /// Like `captured`, for values where "none" is recorded as the `NoSuchX` answer.
    fn optional<T, S: Serialize>(
        &self,
        relative: &str,
        c: &Captured<Option<T>>,
        none_code: &str,
        none_message: &str,
        shape: impl FnOnce(&T) -> S,
    ) -> Result<(), DirError> {
        match c {
            Captured::Value(None) => self.json(
                relative,
                &ErrorFile { error: &AwsError { code: none_code.into(), message: none_message.into() } },
            ),
            Captured::Value(Some(v)) => self.json(relative, &shape(v)),
            Captured::NotCaptured => Ok(()),
            Captured::AwsError(e) => self.json(relative, &ErrorFile { error: e }),
            Captured::Invalid(reason) => self
                .json(relative, &ErrorFile { error: &AwsError { code: "Unreadable".into(), message: reason.clone() } }),
        }
    }
}

/// Writes a snapshot in the DESIGN §4 layout (used by `mrap-auditor snapshot`).
pub fn write(snapshot: &Snapshot, dir: &Path) -> Result<(), DirError> {
    let w = Writer { root: dir };
    fs::create_dir_all(dir).map_err(|source| DirError::Write { path: dir.to_path_buf(), source })?;
    w.captured(MANIFEST, &snapshot.manifest, Clone::clone)?;
    w.captured(LIST_MRAPS, &snapshot.mraps, |m| ListMrapsOutput { access_points: m.clone(), next_token: None })?;
    for (name, policy) in &snapshot.mrap_policies {
        w.captured(&format!("{MRAP_POLICY_DIR}/{name}.json"), policy, |p| MrapPolicyOutput {
            policy: MrapPolicyState {
                established: p.established.clone().map(|t| PolicyText { policy: Some(t) }),
                proposed: p.proposed.clone().map(|t| PolicyText { policy: Some(t) }),
            },
        })?;
    }
    let arns: BTreeMap<&str, String> = snapshot
        .mraps
        .value()
        .map(|ms| ms.iter().filter_map(|m| Some((m.name.as_str(), snapshot.mrap_arn(m)?))).collect())
        .unwrap_or_default();
    for (name, routes) in &snapshot.mrap_routes {
        w.captured(&format!("{MRAP_ROUTES_DIR}/{name}.json"), routes, |r| RoutesOutput {
            mrap: arns.get(name.as_str()).cloned(),
            routes: r.clone(),
        })?;
    }
    for (account, bpa) in &snapshot.account_bpa {
        let message = "The public access block configuration was not found";
        w.optional(&format!("{ACCOUNT_BPA_DIR}/{account}.json"), bpa, NO_PUBLIC_ACCESS_BLOCK, message, |c| {
            BpaOutput { configuration: *c }
        })?;
    }
    for (bucket, policy) in &snapshot.bucket_policies {
        let message = "The bucket policy does not exist";
        w.optional(&format!("{BUCKET_POLICY_DIR}/{bucket}.json"), policy, NO_BUCKET_POLICY, message, |p| {
            BucketPolicyOutput { policy: p.clone() }
        })?;
    }
    for (bucket, bpa) in &snapshot.bucket_bpa {
        let message = "The public access block configuration was not found";
        w.optional(&format!("{BUCKET_BPA_DIR}/{bucket}.json"), bpa, NO_PUBLIC_ACCESS_BLOCK, message, |c| BpaOutput {
            configuration: *c,
        })?;
    }
    for (scope, endpoints) in &snapshot.endpoints {
        let relative = match &scope.account {
            Some(account) => format!("{ENDPOINTS_DIR}/{account}/{}.json", scope.region),
            None => format!("{ENDPOINTS_DIR}/{}.json", scope.region),
        };
        w.captured(&relative, endpoints, |e| EndpointsOutput { vpc_endpoints: e.clone() })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        let mut s = Snapshot::empty();
        s.manifest = Captured::Value(Manifest {
            account_id: "123456789012".into(),
            partition: "aws".into(),
            captured_at: Some("2026-11-22T10:00:00Z".into()),
        });
        s.mraps = Captured::Value(vec![Mrap {
            name: "reports".into(),
            alias: "mfzwi23gnjvgw.mrap".into(),
            created_at: None,
            public_access_block: Some(PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            }),
            status: Some("READY".into()),
            regions: vec![crate::snapshot::MrapRegion {
                bucket: "b1".into(),
                region: "us-east-1".into(),
                bucket_account_id: Some("123456789012".into()),
            }],
        }]);
        s.mrap_policies.insert(
            "reports".into(),
            Captured::Value(MrapPolicy { established: Some("{}".into()), proposed: Some("{\"a\":1}".into()) }),
        );
        s.mrap_routes.insert(
            "reports".into(),
            Captured::Value(vec![MrapRoute {
                bucket: Some("b1".into()),
                region: Some("us-east-1".into()),
                traffic_dial_percentage: 100,
            }]),
        );
        s.account_bpa.insert("123456789012".into(), Captured::Value(None));
        s.bucket_policies.insert("b1".into(), Captured::Value(Some("{\"Version\":\"2012-10-17\"}".into())));
        s.bucket_policies.insert("b2".into(), Captured::Value(None));
        s.bucket_policies.insert(
            "b3".into(),
            Captured::AwsError(AwsError { code: "AccessDenied".into(), message: "Access Denied".into() }),
        );
        s.bucket_bpa.insert("b1".into(), Captured::Value(Some(PublicAccessBlock::default())));
        s.endpoints.insert(
            EndpointScope { account: None, region: "us-east-1".into() },
            Captured::Value(vec![VpcEndpoint {
                id: "vpce-0123456789abcdef0".into(),
                endpoint_type: Some("Interface".into()),
                vpc_id: "vpc-1".into(),
                service_name: Some("com.amazonaws.s3-global.accesspoint".into()),
                state: Some("available".into()),
                private_dns_enabled: Some(true),
                policy_document: Some("{}".into()),
                owner_id: Some("123456789012".into()),
            }]),
        );
        s.endpoints.insert(
            EndpointScope { account: Some("444455556666".into()), region: "eu-west-1".into() },
            Captured::Value(vec![]),
        );
        s
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let original = sample();
        write(&original, dir.path()).unwrap();
        let mut back = read(dir.path()).unwrap();
        assert_eq!(back.errors.len(), 1, "the AccessDenied file is a source error");
        assert_eq!(back.errors[0].api, "GetBucketPolicy");
        back.errors.clear();
        assert_eq!(back, original);
        let policy = fs::read_to_string(dir.path().join("s3/get-bucket-policy/b2.json")).unwrap();
        assert!(policy.contains("NoSuchBucketPolicy"));
    }

    #[test]
    fn bad_files_are_attached_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        write(&sample(), dir.path()).unwrap();
        fs::write(dir.path().join("s3/get-bucket-policy/b1.json"), "{not json").unwrap();
        fs::write(dir.path().join(LIST_MRAPS), "{\"AccessPoints\": 3}").unwrap();
        let s = read(dir.path()).unwrap();
        assert!(matches!(&s.bucket_policies["b1"], Captured::Invalid(m) if m.contains("invalid JSON")));
        assert!(matches!(&s.mraps, Captured::Invalid(m) if m.contains("not the AWS CLI's shape")));
        assert!(matches!(&s.bucket_policies["b3"], Captured::AwsError(e) if e.code == "AccessDenied"));
        assert_eq!(s.bucket_policies["b2"], Captured::Value(None));
        assert!(!s.bucket_bpa.contains_key("b9"));
        // A Block Public Access configuration without one of its four settings is unreadable,
        // never "that setting is off".
        fs::write(
            dir.path().join("s3/get-public-access-block/b1.json"),
            r#"{"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true}}"#,
        )
        .unwrap();
        let s = read(dir.path()).unwrap();
        assert!(
            matches!(&s.bucket_bpa["b1"], Captured::Invalid(m) if m.contains("missing field `RestrictPublicBuckets`")),
            "{:?}",
            s.bucket_bpa["b1"]
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let e = read(Path::new("/no/such/snapshot")).unwrap_err();
        assert_eq!(e.to_string(), "snapshot directory `/no/such/snapshot` does not exist or is not a directory");
    }
}
