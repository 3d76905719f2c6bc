//! What several commands share: loading the configuration, capturing from the source, exit codes.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Exit, error};
use crate::audit::{AuditOptions, missing_references};
use crate::config::{self, Config, SourceConfig};
use crate::report::{Report, Status};
use crate::snapshot::Snapshot;
use crate::source::{Source, SourceSetupError, dir};

/// Default configuration path (DESIGN §6).
pub const DEFAULT_CONFIG: &str = "config/mrap-auditor.toml";

/// What a one-shot audit reads: the configuration, optionally another snapshot, and the time.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The configuration file.
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Audit this snapshot directory instead of the configured source.
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    /// Evaluate as of this time (`aws:CurrentTime`), RFC 3339; default now.
    #[arg(long, value_parser = parse_at)]
    pub at: Option<DateTime<Utc>>,
}

pub fn load_config(path: &Path) -> Result<Config, Exit> {
    config::load(path).map_err(|e| {
        error(e);
        Exit::Usage
    })
}

/// A captured snapshot and where it came from.
pub struct Captured {
    pub snapshot: Snapshot,
    /// `snapshot` or `aws`.
    pub label: &'static str,
    pub location: String,
}

/// Captures from the configured source (or the snapshot directory `dir_override` instead) and,
/// for a snapshot directory, checks that what the expectations name is in it.
pub fn read_snapshot(config: &Config, dir_override: Option<&Path>) -> Result<Captured, Exit> {
    let directory = match (dir_override, &config.source) {
        (Some(dir), _) => Some(dir.to_path_buf()),
        (None, SourceConfig::Snapshot { path }) => Some(path.clone()),
        (None, SourceConfig::Aws) => None,
    };
    let captured = match &directory {
        // A one-shot read of a few local files: no async runtime to start.
        Some(dir) => dir::read(dir).map_err(SourceSetupError::from).map(|snapshot| {
            let source = Source::Dir(dir.clone());
            Captured { snapshot, label: source.label(), location: source.location() }
        }),
        None => capture_live(config),
    };
    let captured = captured.map_err(|e| {
        error(format_args!("{}: {e}", config.file.display()));
        Exit::Usage
    })?;
    if directory.is_some() {
        let missing = missing_references(config, &captured.snapshot);
        if !missing.is_empty() {
            for e in &missing {
                error(e);
            }
            return Err(Exit::Usage);
        }
    }
    Ok(captured)
}

/// One capture of live AWS, on a runtime of its own (the SDK is async).
#[cfg(feature = "aws")]
fn capture_live(config: &Config) -> Result<Captured, SourceSetupError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SourceSetupError::Unavailable(format!("cannot start the I/O runtime: {e}")))?;
    runtime.block_on(async {
        let source = Source::live(config).await?;
        let snapshot = source.capture().await?;
        Ok(Captured { snapshot, label: source.label(), location: source.location() })
    })
}

#[cfg(not(feature = "aws"))]
fn capture_live(_config: &Config) -> Result<Captured, SourceSetupError> {
    Err(SourceSetupError::no_live_source())
}

pub fn audit_options(at: Option<DateTime<Utc>>, captured: &Captured) -> AuditOptions {
    AuditOptions {
        at: at.unwrap_or_else(Utc::now),
        source: captured.label.into(),
        snapshot_path: Some(captured.location.clone()),
    }
}

/// `--at`: an RFC 3339 time.
pub fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("`{s}` is not an RFC 3339 time such as 2026-11-22T10:00:00Z: {e}"))
}

/// 1 if any expectation is violated, else 2 if any is unknown, else 0.
pub fn exit_for(report: &Report) -> Exit {
    match report.worst_status() {
        Status::Violated => Exit::Violation,
        Status::Unknown => Exit::Unknown,
        Status::Holds => Exit::Ok,
    }
}

/// Reads `[access] accepted` (an earlier `access --format json`), if configured.
pub fn load_accepted(config: &Config) -> Result<Option<crate::access::AccessMap>, Exit> {
    let Some(path) = &config.access.accepted else { return Ok(None) };
    crate::access::read_accepted(path).map(Some).map_err(|e| {
        error(format_args!("{}: `[access] accepted`: {e}", config.file.display()));
        Exit::Usage
    })
}
