//! What several commands share: loading the configuration, reading the source, exit codes.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Exit, error};
use crate::audit::{AuditOptions, missing_references};
use crate::config::{self, Config, SourceConfig};
use crate::report::{Report, Status};
use crate::snapshot::Snapshot;
use crate::source::dir;

/// Default configuration path (DESIGN §6).
pub const DEFAULT_CONFIG: &str = "config/mrap-auditor.toml";

pub fn load_config(path: &Path) -> Result<Config, Exit> {
    config::load(path).map_err(|e| {
        error(e);
        Exit::Usage
    })
}

/// Reads the configured snapshot directory (or `dir` instead of it) and checks that what the
/// expectations name is in it.
pub fn read_snapshot(config: &Config, dir_override: Option<&Path>) -> Result<(Snapshot, PathBuf), Exit> {
    let path = match (dir_override, &config.source) {
        (Some(d), _) => d.to_path_buf(),
        (None, SourceConfig::Snapshot { path }) => path.clone(),
        (None, SourceConfig::Aws) => {
            error(format_args!(
                "{}: `[source] kind = \"aws\"` is read by the live source; give a snapshot directory with `--snapshot DIR`",
                config.file.display()
            ));
            return Err(Exit::Usage);
        }
    };
    let snapshot = dir::read(&path).map_err(|e| {
        error(format_args!("{}: {e}", config.file.display()));
        Exit::Usage
    })?;
    let missing = missing_references(config, &snapshot);
    if !missing.is_empty() {
        for e in &missing {
            error(e);
        }
        return Err(Exit::Usage);
    }
    Ok((snapshot, path))
}

pub fn audit_options(at: Option<DateTime<Utc>>, snapshot_path: &Path) -> AuditOptions {
    AuditOptions {
        at: at.unwrap_or_else(Utc::now),
        source: "snapshot".into(),
        snapshot_path: Some(snapshot_path.display().to_string()),
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
