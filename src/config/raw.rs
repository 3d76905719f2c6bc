//! The configuration file's raw TOML shape (DESIGN §5): what serde reads, refusing unknown keys,
//! with the spans that let errors name the line. It only describes; `super` checks and resolves.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) source: Option<RawSource>,
    pub(super) aws: Option<RawAws>,
    pub(super) daemon: Option<RawDaemon>,
    pub(super) alertmanager: Option<RawAlertmanager>,
    pub(super) organization: Option<RawOrganization>,
    pub(super) events: Option<RawEvents>,
    #[serde(default)]
    pub(super) expect: Vec<RawExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvents {
    /// The SQS queue that EventBridge fills with CloudTrail events, per region (DESIGN §11).
    pub(super) queues: Option<Spanned<BTreeMap<String, String>>>,
    /// How long to gather more events after the first before re-auditing (default "2s").
    pub(super) debounce: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    /// `snapshot` (a directory, DESIGN §4) or `aws` (live).
    pub(super) kind: Spanned<String>,
    /// The snapshot directory (kind = "snapshot").
    pub(super) path: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAws {
    /// The account that owns the MRAPs.
    pub(super) account_id: Spanned<String>,
    /// Regions to look for VPC endpoints in.
    #[serde(default)]
    pub(super) endpoint_regions: Vec<String>,
    /// Role to assume per bucket-owner account (cross-account buckets).
    #[serde(default)]
    pub(super) assume_role_arns: BTreeMap<String, Spanned<String>>,
    /// Most AWS calls in flight at once (default 8).
    pub(super) max_concurrency: Option<usize>,
    /// Timeout of one AWS call (default "20s").
    pub(super) call_timeout: Option<Spanned<String>>,
    /// An emulator's URL (tests only; also `AWS_ENDPOINT_URL`).
    pub(super) endpoint_url: Option<String>,
    /// Named profile of the shared config files (default: the default credential chain).
    pub(super) profile: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    /// Time between audit cycles (default "5m").
    pub(super) interval: Option<Spanned<String>>,
    /// HTTP listen address (default 127.0.0.1:9898).
    pub(super) listen: Option<Spanned<String>>,
    /// SQLite state database (default state/mrap-auditor.db).
    pub(super) state: Option<String>,
    /// Longest a cycle may run (default: the interval, at least 1m and at most 10m).
    pub(super) cycle_timeout: Option<Spanned<String>>,
    /// Random delay added to each interval, as a fraction of it (default 0.1).
    pub(super) jitter: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlertmanager {
    /// Base URL of an Alertmanager, e.g. http://alertmanager:9093.
    pub(super) url: Spanned<String>,
    /// How Alertmanager links back to this auditor (`generatorURL`); default: the bound address.
    pub(super) external_url: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrganization {
    /// SCP files, one list per level from the root down.
    #[serde(default)]
    pub(super) scp: Vec<Vec<Spanned<String>>>,
    /// RCP files, one list per level from the root down.
    #[serde(default)]
    pub(super) rcp: Vec<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    pub(super) name: Spanned<String>,
    pub(super) mrap: Spanned<String>,
    pub(super) principal: Spanned<String>,
    pub(super) action: Spanned<String>,
    #[serde(default)]
    pub(super) key: Option<Spanned<String>>,
    pub(super) via: Spanned<String>,
    pub(super) expect: Spanned<String>,
    pub(super) identity_policy: Option<Spanned<String>>,
    pub(super) boundary_policy: Option<Spanned<String>>,
    pub(super) session_policy: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) context: BTreeMap<String, Spanned<RawContextValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawContextValue {
    One(String),
    Many(Vec<String>),
}
