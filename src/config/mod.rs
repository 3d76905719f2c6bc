//! The configuration file (DESIGN §5), read in two stages: a raw TOML shape that refuses unknown
//! keys, then a resolved [`Config`] whose paths are absolute (relative paths resolve against the
//! config file's directory), whose policy files are read and parsed, and whose every value is
//! checked. Each error names the file, the line and the key.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::eval::{Caller, ContextValue};
use crate::policy::{Policy, PolicyKind, parse_policy};
use crate::report::Expect;

mod access;
mod events;
mod raw;

pub use access::{AccessConfig, DEFAULT_MAX_CELLS, Forbid, Zone, is_caller_class, is_path_pattern};
pub use events::EventsConfig;

use raw::{RawAws, RawConfig, RawContextValue, RawDaemon, RawExpect};

/// A configuration error: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

// ---------- resolved ----------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    Snapshot { path: PathBuf },
    Aws,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    pub account_id: String,
    pub endpoint_regions: Vec<String>,
    pub assume_role_arns: BTreeMap<String, String>,
    pub max_concurrency: usize,
    pub call_timeout: Duration,
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    pub interval: Duration,
    pub listen: SocketAddr,
    pub state: PathBuf,
    pub cycle_timeout: Duration,
    pub jitter: f64,
    /// The status page's `<meta http-equiv="refresh">` period (`[daemon] refresh`, default 30 s).
    pub refresh: Duration,
}

/// A policy file read from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    pub path: PathBuf,
    /// The name explanations use: the file name.
    pub name: String,
    /// Shared: a file that a thousand expectations name is parsed once and held once.
    pub policy: std::sync::Arc<Policy>,
}

/// Which way the request comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Endpoint(String),
    Internet,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Via::Endpoint(id) => f.write_str(id),
            Via::Internet => f.write_str("internet"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub name: String,
    /// MRAP alias or name as written; empty for a direct-bucket expectation.
    pub mrap: String,
    /// A direct-bucket expectation (DESIGN §10): the request goes straight to this bucket.
    pub bucket: Option<String>,
    pub principal: String,
    pub caller: Caller,
    pub action: String,
    /// The object key; empty for bucket-level actions such as `s3:ListBucket`.
    pub key: String,
    pub via: Via,
    pub expect: Expect,
    pub identity: Option<PolicyFile>,
    pub boundary: Option<PolicyFile>,
    pub session: Option<PolicyFile>,
    pub context: Vec<(String, ContextValue)>,
    /// Where it is in the config file (1-based lines of `name`, `mrap`, `via`), for later errors.
    pub line: usize,
    pub mrap_line: usize,
    pub via_line: usize,
}

impl Expectation {
    /// Bucket-level actions act on the bucket (and the MRAP ARN itself), not on an object.
    pub fn is_bucket_action(&self) -> bool {
        is_bucket_action(&self.action)
    }
}

pub fn is_bucket_action(action: &str) -> bool {
    action.to_ascii_lowercase().starts_with("s3:listbucket")
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Organization {
    pub scp: Vec<Vec<PolicyFile>>,
    pub rcp: Vec<Vec<PolicyFile>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub file: PathBuf,
    pub source: SourceConfig,
    pub aws: Option<AwsConfig>,
    pub daemon: DaemonConfig,
    pub alertmanager_url: Option<String>,
    pub alertmanager_external_url: Option<String>,
    pub organization: Organization,
    /// `[events]`: the change-event queues (DESIGN §11); `None` = poll only.
    pub events: Option<EventsConfig>,
    pub expectations: Vec<Expectation>,
    pub access: AccessConfig,
    pub forbids: Vec<Forbid>,
}

/// Reads and checks a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: None,
        key: None,
        message: format!("cannot read the configuration: {e}"),
    })?;
    parse(&text, path)
}

/// Parses configuration text; `path` names the file in errors and anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let ctx = Ctx {
        line_starts: line_starts(text),
        file: path,
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        policy_files: RefCell::new(HashMap::new()),
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: e.span().map(|s| ctx.line(&s)),
        key: None,
        message: e.message().trim().to_string(),
    })?;
    ctx.resolve(raw)
}

/// The byte offset where each line of `text` starts, so that a span's line is a binary search
/// rather than a count of newlines from the top (which made loading quadratic in the number of
/// expectations: every expectation records the lines of three of its keys).
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

struct Ctx<'a> {
    line_starts: Vec<usize>,
    file: &'a Path,
    dir: PathBuf,
    /// Policy files already read and parsed, by path and kind: a thousand expectations usually
    /// name a handful of identity policies, and reading and parsing each once per expectation
    /// was a tenth of `check`'s time. Only successes are kept: an error stops the load anyway.
    policy_files: RefCell<HashMap<(PathBuf, PolicyKind), PolicyFile>>,
}

impl Ctx<'_> {
    /// The 1-based line of a span's start.
    fn line(&self, span: &Range<usize>) -> usize {
        self.line_starts.partition_point(|&start| start <= span.start).max(1)
    }

    fn error<T>(&self, span: Option<Range<usize>>, key: &str, message: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError {
            file: self.file.to_path_buf(),
            line: span.map(|s| self.line(&s)),
            key: Some(key.to_string()),
            message: message.into(),
        })
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) }
    }

    fn duration(&self, value: &Spanned<String>, key: &str) -> Result<Duration, ConfigError> {
        match humantime::parse_duration(value.get_ref()) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => self.error(Some(value.span()), key, "must be longer than zero"),
            Err(e) => self.error(
                Some(value.span()),
                key,
                format!("`{}` is not a duration such as `5m` or `30s`: {e}", value.get_ref()),
            ),
        }
    }

    fn policy_file(&self, value: &Spanned<String>, key: &str, kind: PolicyKind) -> Result<PolicyFile, ConfigError> {
        let path = self.path(value.get_ref());
        let cache_key = (path, kind);
        if let Some(known) = self.policy_files.borrow().get(&cache_key) {
            return Ok(known.clone());
        }
        let file = self.read_policy_file(value, key, cache_key.0.clone(), kind)?;
        self.policy_files.borrow_mut().insert(cache_key, file.clone());
        Ok(file)
    }

    fn read_policy_file(
        &self,
        value: &Spanned<String>,
        key: &str,
        path: PathBuf,
        kind: PolicyKind,
    ) -> Result<PolicyFile, ConfigError> {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                return self.error(
                    Some(value.span()),
                    key,
                    format!("cannot read policy file `{}`: {e}", path.display()),
                );
            }
        };
        match parse_policy(&text, kind) {
            Ok(policy) => {
                let name =
                    path.file_name().map_or_else(|| value.get_ref().clone(), |n| n.to_string_lossy().to_string());
                Ok(PolicyFile { path, name, policy: std::sync::Arc::new(policy) })
            }
            Err(e) => self.error(Some(value.span()), key, format!("policy file `{}`: {e}", path.display())),
        }
    }

    fn resolve(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let source = match &raw.source {
            None => {
                return self.error(
                    None,
                    "source",
                    "missing `[source]` (kind = \"snapshot\" with a path, or kind = \"aws\")",
                );
            }
            Some(s) => match s.kind.get_ref().as_str() {
                "snapshot" => match &s.path {
                    Some(p) => SourceConfig::Snapshot { path: self.path(p.get_ref()) },
                    None => {
                        return self.error(
                            Some(s.kind.span()),
                            "source.path",
                            "`kind = \"snapshot\"` needs `path`, the snapshot directory",
                        );
                    }
                },
                "aws" => SourceConfig::Aws,
                other => {
                    return self.error(
                        Some(s.kind.span()),
                        "source.kind",
                        format!("unknown source `{other}`, expected `snapshot` or `aws`"),
                    );
                }
            },
        };
        let aws = raw.aws.as_ref().map(|a| self.aws(a)).transpose()?;
        if source == SourceConfig::Aws && aws.is_none() {
            return self.error(
                raw.source.as_ref().map(|s| s.kind.span()),
                "aws",
                "`kind = \"aws\"` needs an `[aws]` section with `account_id`",
            );
        }
        let daemon = self.daemon(raw.daemon.as_ref())?;
        let alertmanager_url = match &raw.alertmanager {
            None => None,
            Some(a) => {
                let url = a.url.get_ref().trim_end_matches('/');
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return self.error(
                        Some(a.url.span()),
                        "alertmanager.url",
                        format!("`{url}` is not an http(s) URL"),
                    );
                }
                Some(url.to_string())
            }
        };
        let alertmanager_external_url = match raw.alertmanager.as_ref().and_then(|a| a.external_url.as_ref()) {
            None => None,
            Some(u) if u.get_ref().starts_with("http://") || u.get_ref().starts_with("https://") => {
                Some(u.get_ref().clone())
            }
            Some(u) => {
                return self.error(
                    Some(u.span()),
                    "alertmanager.external_url",
                    format!("`{}` is not an http(s) URL", u.get_ref()),
                );
            }
        };
        let mut organization = Organization::default();
        if let Some(org) = &raw.organization {
            organization.scp = self.levels(&org.scp, "organization.scp", PolicyKind::Scp)?;
            organization.rcp = self.levels(&org.rcp, "organization.rcp", PolicyKind::Rcp)?;
        }
        let events = raw.events.as_ref().map(|e| self.events(e)).transpose()?;
        let mut names = HashSet::new();
        let mut expectations = Vec::with_capacity(raw.expect.len());
        for (i, e) in raw.expect.iter().enumerate() {
            let exp = self.expectation(e, i)?;
            if !names.insert(exp.name.clone()) {
                return self.error(
                    Some(e.name.span()),
                    &format!("expect[{i}].name"),
                    format!("duplicate expectation name `{}`", exp.name),
                );
            }
            expectations.push(exp);
        }
        Ok(Config {
            file: self.file.to_path_buf(),
            source,
            aws,
            daemon,
            alertmanager_url,
            alertmanager_external_url,
            organization,
            events,
            expectations,
            access: self.access(raw.access.as_ref())?,
            forbids: self.forbids(&raw.forbid)?,
        })
    }

    fn aws(&self, a: &RawAws) -> Result<AwsConfig, ConfigError> {
        if !crate::util::is_account_id(a.account_id.get_ref()) {
            return self.error(
                Some(a.account_id.span()),
                "aws.account_id",
                format!("`{}` is not a 12-digit account id", a.account_id.get_ref()),
            );
        }
        for (account, role) in &a.assume_role_arns {
            let arn = role.get_ref();
            if !crate::util::is_account_id(account) || !arn.starts_with("arn:") || !arn.contains(":role/") {
                return self.error(
                    Some(role.span()),
                    &format!("aws.assume_role_arns.{account}"),
                    format!("`{account}` = `{arn}`: expected a 12-digit account id and a role ARN"),
                );
            }
        }
        let call_timeout = match &a.call_timeout {
            Some(t) => self.duration(t, "aws.call_timeout")?,
            None => Duration::from_secs(20),
        };
        Ok(AwsConfig {
            account_id: a.account_id.get_ref().clone(),
            endpoint_regions: a.endpoint_regions.clone(),
            assume_role_arns: a.assume_role_arns.iter().map(|(k, v)| (k.clone(), v.get_ref().clone())).collect(),
            max_concurrency: a.max_concurrency.unwrap_or(8).max(1),
            call_timeout,
            endpoint_url: a.endpoint_url.clone(),
            profile: a.profile.clone(),
        })
    }

    fn daemon(&self, d: Option<&RawDaemon>) -> Result<DaemonConfig, ConfigError> {
        let interval = match d.and_then(|d| d.interval.as_ref()) {
            Some(v) => self.duration(v, "daemon.interval")?,
            None => Duration::from_secs(300),
        };
        let listen = match d.and_then(|d| d.listen.as_ref()) {
            Some(v) => match v.get_ref().parse::<SocketAddr>() {
                Ok(a) => a,
                Err(_) => {
                    return self.error(
                        Some(v.span()),
                        "daemon.listen",
                        format!("`{}` is not an address such as `127.0.0.1:9898`", v.get_ref()),
                    );
                }
            },
            None => SocketAddr::from(([127, 0, 0, 1], 9898)),
        };
        let state = self.path(d.and_then(|d| d.state.as_deref()).unwrap_or("state/mrap-auditor.db"));
        let cycle_timeout = match d.and_then(|d| d.cycle_timeout.as_ref()) {
            Some(v) => self.duration(v, "daemon.cycle_timeout")?,
            // Long enough for a slow AWS account, short enough to notice a stuck cycle.
            None => interval.clamp(Duration::from_secs(60), Duration::from_secs(600)),
        };
        let jitter = match d.and_then(|d| d.jitter.as_ref()) {
            Some(j) if !(0.0..=1.0).contains(j.get_ref()) => {
                return self.error(
                    Some(j.span()),
                    "daemon.jitter",
                    format!("`{}` must be between 0 and 1", j.get_ref()),
                );
            }
            Some(j) => *j.get_ref(),
            None => 0.1,
        };
        let refresh = match d.and_then(|d| d.refresh.as_ref()) {
            Some(v) => self.duration(v, "daemon.refresh")?,
            None => Duration::from_secs(30),
        };
        Ok(DaemonConfig { interval, listen, state, cycle_timeout, jitter, refresh })
    }

    fn levels(
        &self,
        levels: &[Vec<Spanned<String>>],
        key: &str,
        kind: PolicyKind,
    ) -> Result<Vec<Vec<PolicyFile>>, ConfigError> {
        levels
            .iter()
            .enumerate()
            .map(|(i, level)| level.iter().map(|p| self.policy_file(p, &format!("{key}[{i}]"), kind)).collect())
            .collect()
    }

    fn expectation(&self, e: &RawExpect, i: usize) -> Result<Expectation, ConfigError> {
        let key = |field: &str| format!("expect[{i}].{field}");
        let name = e.name.get_ref();
        let name_ok =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return self.error(
                Some(e.name.span()),
                &key("name"),
                format!("`{name}`: use letters, digits, `-`, `_` and `.` (it becomes a metric label)"),
            );
        }
        let (mrap, bucket, mrap_span) = match (&e.mrap, &e.bucket) {
            (Some(m), None) => {
                let mrap = m.get_ref();
                if !is_mrap_alias(mrap) && !is_mrap_name(mrap) {
                    return self.error(Some(m.span()), &key("mrap"), format!("`{mrap}` is neither an MRAP alias (like `mfzwi23gnjvgw.mrap` or `name-1a2b3c4d5e.mrap`) nor an MRAP name (3-50 lower-case letters, digits and hyphens)"));
                }
                (mrap.clone(), None, m.span())
            }
            (None, Some(b)) => {
                let name = b.get_ref();
                let ok = (3..=63).contains(&name.len())
                    && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
                if !ok {
                    return self.error(
                        Some(b.span()),
                        &key("bucket"),
                        format!("`{name}` is not an S3 bucket name (3-63 lower-case letters, digits, `-` and `.`)"),
                    );
                }
                (String::new(), Some(name.clone()), b.span())
            }
            (Some(m), Some(_)) => {
                return self.error(
                    Some(m.span()),
                    &key("mrap"),
                    "give either `mrap` (through the MRAP) or `bucket` (straight to the bucket), not both",
                );
            }
            (None, None) => {
                return self.error(
                    Some(e.name.span()),
                    &key("mrap"),
                    "give `mrap` (through the MRAP) or `bucket` (straight to the bucket)",
                );
            }
        };
        let caller = match Caller::parse(e.principal.get_ref()) {
            Ok(c @ (Caller::Anonymous | Caller::Iam(_))) => c,
            Ok(Caller::Service(_)) | Err(_) => {
                return self.error(
                    Some(e.principal.span()),
                    &key("principal"),
                    format!(
                        "`{}` is not an IAM role, user, session or root ARN, or `anonymous`",
                        e.principal.get_ref()
                    ),
                );
            }
        };
        let action = e.action.get_ref();
        let action_ok =
            action.strip_prefix("s3:").is_some_and(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric()));
        if !action_ok {
            return self.error(
                Some(e.action.span()),
                &key("action"),
                format!("`{action}` is not one S3 action such as `s3:GetObject` (no wildcards)"),
            );
        }
        let object_key = e.key.as_ref().map(|k| k.get_ref().clone()).unwrap_or_default();
        if !is_bucket_action(action) && object_key.is_empty() {
            return self.error(
                Some(e.action.span()),
                &key("key"),
                format!("`{action}` acts on an object: give the object `key`"),
            );
        }
        let via = match e.via.get_ref().as_str() {
            "internet" => Via::Internet,
            id if is_endpoint_id(id) => Via::Endpoint(id.to_string()),
            other => {
                return self.error(
                    Some(e.via.span()),
                    &key("via"),
                    format!("`{other}` is neither `internet` nor an endpoint id (`vpce-` and 8 or 17 hex digits)"),
                );
            }
        };
        let expect = match crate::util::from_wire_name::<Expect>(e.expect.get_ref()) {
            Some(expect) => expect,
            None => {
                let other = e.expect.get_ref();
                return self.error(
                    Some(e.expect.span()),
                    &key("expect"),
                    format!("`{other}` must be `allow` or `deny`"),
                );
            }
        };
        let file = |v: &Option<Spanned<String>>, field: &str, kind| {
            v.as_ref().map(|p| self.policy_file(p, &key(field), kind)).transpose()
        };
        let context = e
            .context
            .iter()
            .map(|(k, v)| {
                let value = match v.get_ref() {
                    RawContextValue::One(s) => ContextValue::Single(s.clone()),
                    RawContextValue::Many(list) => ContextValue::Multi(list.clone()),
                };
                (k.clone(), value)
            })
            .collect();
        Ok(Expectation {
            name: name.clone(),
            mrap,
            bucket,
            principal: e.principal.get_ref().clone(),
            caller,
            action: action.clone(),
            key: object_key,
            via,
            expect,
            identity: file(&e.identity_policy, "identity_policy", PolicyKind::Identity)?,
            boundary: file(&e.boundary_policy, "boundary_policy", PolicyKind::Boundary)?,
            session: file(&e.session_policy, "session_policy", PolicyKind::Session)?,
            context,
            line: self.line(&e.name.span()),
            mrap_line: self.line(&mrap_span),
            via_line: self.line(&e.via.span()),
        })
    }
}

/// An alias as `ListMultiRegionAccessPoints` reports it: `[a-z0-9][a-z0-9-]*.mrap`. AWS
/// generates `mfzwi23gnjvgw.mrap`; emulators (moto, LocalStack) list `name-1a2b3c4d5e.mrap`,
/// and a user copies whichever the listing printed. Whether the snapshot has it is checked
/// against the snapshot, not guessed from its shape.
pub fn is_mrap_alias(s: &str) -> bool {
    s.strip_suffix(".mrap").is_some_and(|a| {
        a.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

/// MRAP names: 3-50 characters of lower-case letters, digits and hyphens
/// (S3: "Rules for naming Amazon S3 Multi-Region Access Points").
pub fn is_mrap_name(s: &str) -> bool {
    (3..=50).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `vpce-` followed by 8 or 17 hex digits.
pub fn is_endpoint_id(s: &str) -> bool {
    s.strip_prefix("vpce-").is_some_and(|h| (h.len() == 8 || h.len() == 17) && h.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_a_span_is_its_1_based_line() {
        let ctx = Ctx {
            line_starts: line_starts("a\nbb\n\nc"),
            file: Path::new("f"),
            dir: PathBuf::new(),
            policy_files: RefCell::default(),
        };
        for (offset, line) in [(0, 1), (1, 1), (2, 2), (4, 2), (5, 3), (6, 4), (99, 4)] {
            assert_eq!(ctx.line(&(offset..offset)), line, "offset {offset}");
        }
    }

    const GOOD: &str = r#"
[source]
kind = "snapshot"
path = "snapshots/example"

[[expect]]
name = "app-reads"
mrap = "mfzwi23gnjvgw.mrap"
principal = "arn:aws:iam::123456789012:role/app"
action = "s3:GetObject"
key = "reports/2026.csv"
via = "vpce-0123456789abcdef0"
expect = "allow"
context = { "aws:PrincipalOrgID" = "o-abc123", "aws:TagKeys" = ["a", "b"] }
"#;

    fn err(text: &str) -> String {
        parse(text, Path::new("/etc/mrap/c.toml")).unwrap_err().to_string()
    }

    #[test]
    fn resolves_paths_against_the_config_directory() {
        let c = parse(GOOD, Path::new("/etc/mrap/c.toml")).unwrap();
        assert_eq!(c.source, SourceConfig::Snapshot { path: PathBuf::from("/etc/mrap/snapshots/example") });
        assert_eq!(c.daemon.state, PathBuf::from("/etc/mrap/state/mrap-auditor.db"));
        assert_eq!(c.daemon.interval, Duration::from_secs(300));
        assert_eq!(c.expectations[0].line, 7);
        assert_eq!(c.expectations[0].mrap_line, 8);
        assert_eq!(c.expectations[0].via_line, 12);
        assert_eq!(c.expectations[0].context.len(), 2);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let cases: &[(&str, &str)] = &[
            (
                "[source]\nkind = \"snapshot\"\npath = \"x\"\ncolour = 1\n",
                "/etc/mrap/c.toml line 4: unknown field `colour`, expected `kind` or `path`",
            ),
            (
                &GOOD.replace("vpce-0123456789abcdef0", "vpce-xyz"),
                "/etc/mrap/c.toml line 12, key `expect[0].via`: `vpce-xyz` is neither `internet` nor an endpoint id (`vpce-` and 8 or 17 hex digits)",
            ),
            (
                &GOOD.replace("arn:aws:iam::123456789012:role/app", "arn:aws:iam::1234:role/app"),
                "/etc/mrap/c.toml line 9, key `expect[0].principal`: `arn:aws:iam::1234:role/app` is not an IAM role, user, session or root ARN, or `anonymous`",
            ),
            (
                &format!("{GOOD}{}", &GOOD[GOOD.find("[[expect]]").unwrap()..]),
                "/etc/mrap/c.toml line 16, key `expect[1].name`: duplicate expectation name `app-reads`",
            ),
            (
                &GOOD.replace("expect = \"allow\"", "expect = \"permit\""),
                "/etc/mrap/c.toml line 13, key `expect[0].expect`: `permit` must be `allow` or `deny`",
            ),
            (
                &GOOD.replace("key = \"reports/2026.csv\"\n", ""),
                "/etc/mrap/c.toml line 10, key `expect[0].key`: `s3:GetObject` acts on an object: give the object `key`",
            ),
            (
                &GOOD.replace("mfzwi23gnjvgw.mrap", "My_MRAP"),
                "/etc/mrap/c.toml line 8, key `expect[0].mrap`: `My_MRAP` is neither an MRAP alias (like `mfzwi23gnjvgw.mrap` or `name-1a2b3c4d5e.mrap`) nor an MRAP name (3-50 lower-case letters, digits and hyphens)",
            ),
            (
                &GOOD.replace("s3:GetObject", "s3:Get*"),
                "/etc/mrap/c.toml line 10, key `expect[0].action`: `s3:Get*` is not one S3 action such as `s3:GetObject` (no wildcards)",
            ),
            (
                &format!("{GOOD}identity_policy = \"nope.json\"\n"),
                "/etc/mrap/c.toml line 15, key `expect[0].identity_policy`: cannot read policy file `/etc/mrap/nope.json`: No such file or directory (os error 2)",
            ),
            (
                "[source]\nkind = \"s3\"\n",
                "/etc/mrap/c.toml line 2, key `source.kind`: unknown source `s3`, expected `snapshot` or `aws`",
            ),
            (
                "[source]\nkind = \"aws\"\n",
                "/etc/mrap/c.toml line 2, key `aws`: `kind = \"aws\"` needs an `[aws]` section with `account_id`",
            ),
            (
                "[source]\nkind = \"snapshot\"\npath = \"x\"\n[daemon]\ninterval = \"soon\"\n",
                "/etc/mrap/c.toml line 5, key `daemon.interval`: `soon` is not a duration such as `5m` or `30s`: expected number at 0",
            ),
            ("[source\n", "/etc/mrap/c.toml line 1: unclosed table, expected `]`"),
            (
                "[source]\nkind = \"snapshot\"\npath = \"x\"\n[daemon]\ninterval = \"5m\"\njitter = 1.5\n",
                "/etc/mrap/c.toml line 6, key `daemon.jitter`: `1.5` must be between 0 and 1",
            ),
            (
                "[source]\nkind = \"aws\"\n[aws]\naccount_id = \"123456789012\"\nassume_role_arns = { \"444455556666\" = \"arn:aws:iam::444455556666:user/x\" }\n",
                "/etc/mrap/c.toml line 5, key `aws.assume_role_arns.444455556666`: `444455556666` = `arn:aws:iam::444455556666:user/x`: expected a 12-digit account id and a role ARN",
            ),
            (
                &GOOD.replace("mfzwi23gnjvgw.mrap", "-bad.mrap"),
                "/etc/mrap/c.toml line 8, key `expect[0].mrap`: `-bad.mrap` is neither an MRAP alias (like `mfzwi23gnjvgw.mrap` or `name-1a2b3c4d5e.mrap`) nor an MRAP name (3-50 lower-case letters, digits and hyphens)",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), *want, "config:\n{text}");
        }
    }

    /// A policy file named by many expectations is read once; each use still gets it parsed as
    /// its own kind, and a file wrong for one kind is refused there even when another kind took it.
    #[test]
    fn a_shared_policy_file_is_parsed_once_per_kind() {
        let dir = tempfile::tempdir().unwrap();
        let identity =
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        std::fs::write(dir.path().join("p.json"), identity).unwrap();
        let expect = |name: &str, field: &str| {
            GOOD.split("[[expect]]").nth(1).unwrap().replace("app-reads", name) + &format!("{field} = \"p.json\"\n")
        };
        let text = format!(
            "[source]\nkind = \"snapshot\"\npath = \"s\"\n[[expect]]{}[[expect]]{}[[expect]]{}",
            expect("a", "identity_policy"),
            expect("b", "identity_policy"),
            expect("c", "boundary_policy"),
        );
        let config = parse(&text, &dir.path().join("c.toml")).unwrap();
        let [a, b, c] = &config.expectations[..] else { panic!("three expectations") };
        let direct = |kind| parse_policy(identity, kind).unwrap();
        assert_eq!(*a.identity.as_ref().unwrap().policy, direct(PolicyKind::Identity), "first use");
        assert_eq!(b.identity, a.identity, "second use: the same file, the same policy");
        let held = |e: &Expectation| std::sync::Arc::as_ptr(&e.identity.as_ref().unwrap().policy);
        assert_eq!(held(a), held(b), "second use: held once, not copied");
        assert_eq!(*c.boundary.as_ref().unwrap().policy, direct(PolicyKind::Boundary), "another kind");
        assert_eq!(c.boundary.as_ref().unwrap().name, "p.json");
        // An RCP must name a principal: the file the expectations took is refused as one.
        let with_rcp = format!("{text}[organization]\nrcp = [[\"p.json\"]]\n");
        let e = parse(&with_rcp, &dir.path().join("c.toml")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("organization.rcp[0]"), "{e}");
    }

    #[test]
    fn identifiers() {
        assert!(is_mrap_alias("mfzwi23gnjvgw.mrap"));
        assert!(!is_mrap_alias("MFZ.mrap"));
        assert!(is_mrap_alias("reports-1a2b3c4d5e.mrap"), "the form moto and LocalStack list");
        assert!(!is_mrap_alias("-reports.mrap"));
        assert!(!is_mrap_alias(".mrap"));
        assert!(!is_mrap_alias("re_ports.mrap"));
        assert!(is_mrap_name("reports-global"));
        assert!(!is_mrap_name("ab"));
        assert!(is_endpoint_id("vpce-1a2b3c4d"));
        assert!(is_endpoint_id("vpce-0123456789abcdef0"));
        assert!(!is_endpoint_id("vpce-123"));
    }
}
