//! `mrap-auditor diff OLD NEW`: what changed between two snapshots, and which verdicts flip.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;

use super::common::{self, DEFAULT_CONFIG};
use super::{Exit, Format};
use crate::audit::audit_with_access;
use crate::drift;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor diff snapshots/monday snapshots/tuesday
  mrap-auditor diff before/ after/ --format json | jq .verdict_changes

Both snapshots are audited with the same configuration and the same time.
Exit codes: 0 no verdict or bucket decision flips, 1 flips, 64 bad usage or config.")]
pub struct DiffArgs {
    /// The earlier snapshot directory.
    pub old: PathBuf,
    /// The later snapshot directory.
    pub new: PathBuf,
    /// The configuration file.
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Output: `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Evaluate both as of this time (`aws:CurrentTime`), RFC 3339; default now.
    #[arg(long, value_parser = common::parse_at)]
    pub at: Option<DateTime<Utc>>,
}

pub fn run(args: &DiffArgs) -> Exit {
    let config = match common::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let at = args.at.unwrap_or_else(Utc::now);
    let report = |dir: &PathBuf| {
        common::read_snapshot(&config, Some(dir))
            .map(|c| audit_with_access(&config, &c.snapshot, &common::audit_options(Some(at), &c), None))
    };
    let (old, new) = match (report(&args.old), report(&args.new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let d = drift::compare(&old, &new);
    let out = match args.format {
        Format::Json => serde_json::to_string_pretty(&d).unwrap_or_default() + "\n",
        Format::Text => drift::to_text(&d),
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if d.has_flips() { Exit::Violation } else { Exit::Ok }
}
