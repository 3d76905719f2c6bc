//! `mrap-auditor check`: one audit cycle, the report on stdout.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;

use super::common::{self, DEFAULT_CONFIG};
use super::{Exit, Format};
use crate::audit::audit;
use crate::report;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor check                                  # config/mrap-auditor.toml, text
  mrap-auditor check --format json | jq '.expectations[] | {name, status, verdict}'
  mrap-auditor check --snapshot incident-2026-11-22/  # audit another capture with the same config

Exit codes: 0 every expectation holds, 1 one is violated, 2 one is unknown, 64 bad usage or config.")]
pub struct CheckArgs {
    /// The configuration file.
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Audit this snapshot directory instead of the configured source.
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    /// Evaluate as of this time (`aws:CurrentTime`), RFC 3339; default now.
    #[arg(long, value_parser = common::parse_at)]
    pub at: Option<DateTime<Utc>>,
}

pub fn run(args: &CheckArgs) -> Exit {
    let config = match common::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let captured = match common::read_snapshot(&config, args.snapshot.as_deref()) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let report = audit(&config, &captured.snapshot, &common::audit_options(args.at, &captured));
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        Format::Text => report::to_text(&report),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    common::exit_for(&report)
}
