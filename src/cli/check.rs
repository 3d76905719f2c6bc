//! `mrap-auditor check`: one audit cycle, the report on stdout.

use std::io::Write;

use clap::Args;

use super::common::{self, AuditArgs};
use super::{Exit, Format};
use crate::audit::audit_with_access;
use crate::report;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor check                                  # config/mrap-auditor.toml, text
  mrap-auditor check --format json | jq '.expectations[] | {name, status, verdict}'
  mrap-auditor check --snapshot incident-2026-11-22/  # audit another capture with the same config

Exit codes: 0 every expectation holds, 1 one is violated, 2 one is unknown, 64 bad usage or config.")]
pub struct CheckArgs {
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Output: `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &CheckArgs) -> Exit {
    let config = match common::load_config(&args.audit.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let captured = match common::read_snapshot(&config, args.audit.snapshot.as_deref()) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let accepted = match common::load_accepted(&config) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let report = audit_with_access(
        &config,
        &captured.snapshot,
        &common::audit_options(args.audit.at, &captured),
        accepted.as_ref(),
    );
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        Format::Text => report::to_text(&report),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    common::exit_for(&report)
}
