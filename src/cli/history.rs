//! `mrap-auditor history`: what changed and since when, from the daemon's state database
//! (feature `runtime`, which has the SQLite reader; a build without it says so).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::common::DEFAULT_CONFIG;
use super::{Exit, Format};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor history                              # the last 50 changes
  mrap-auditor history --expect app-reads-reports --since 7d
  mrap-auditor history --since 24h --format json | jq '.events[] | select(.kind == \"verdict_change\")'
  mrap-auditor history --format json | jq '.events[] | {ts, kind, subject, by: .changed_by.actor}'

Each change says who made it when a CloudTrail change event (`[events]`) triggered the cycle that
saw it: `[changed by ARN at TIME (EventName from IP, request ID)]`; a change only the periodic poll
saw says `[actor unknown (seen by poll)]`.

It reads the state database the daemon writes (`[daemon] state`), read-only, while it runs.")]
pub struct HistoryArgs {
    /// The configuration file.
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Only this expectation.
    #[arg(long = "expect", value_name = "NAME")]
    pub expectation: Option<String>,
    /// Only changes this recent, e.g. `24h`, `7d`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// At most this many events.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Output: `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Without the `runtime` feature there is no history database to read.
#[cfg(not(feature = "runtime"))]
pub fn run(_args: &HistoryArgs) -> Exit {
    super::not_built("history", "runtime")
}

#[cfg(feature = "runtime")]
pub fn run(args: &HistoryArgs) -> Exit {
    use std::fmt::Write as _;
    use std::io::Write;

    use chrono::Utc;

    use super::common;
    use super::error;
    use crate::history::History;

    let config = match common::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let path = &config.daemon.state;
    if !path.exists() {
        error(format_args!("no history at `{}` yet: `mrap-auditor run` creates it", path.display()));
        return Exit::Usage;
    }
    let history = match History::open_read_only(path) {
        Ok(h) => h,
        Err(e) => {
            error(e);
            return Exit::Unknown;
        }
    };
    let since = args.since.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| Utc::now() - d);
    let events = match history.events(args.expectation.as_deref(), since, args.limit) {
        Ok(e) => e,
        Err(e) => {
            error(e);
            return Exit::Unknown;
        }
    };
    let names: Vec<&str> = match &args.expectation {
        Some(n) => vec![n.as_str()],
        None => config.expectations.iter().map(|e| e.name.as_str()).collect(),
    };
    // The last known state; a report this build cannot read is said, not shown as "never audited".
    let current = match history.last_report() {
        Ok(r) => r,
        Err(e) => {
            error(&e);
            None
        }
    };
    let mut states = Vec::new();
    for name in names {
        let verdict = current
            .as_ref()
            .and_then(|r| r.expectations.iter().find(|e| e.name == name))
            .map(|e| (e.verdict.name(), e.status.name()));
        let since = match history.verdict_since(name) {
            Ok(s) => s,
            Err(e) => {
                error(&e);
                None
            }
        };
        states.push(serde_json::json!({"expectation": name, "verdict": verdict.map(|v| v.0), "status": verdict.map(|v| v.1), "since": since}));
    }
    let out = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(&serde_json::json!({"current": states, "events": events})).unwrap_or_default()
                + "\n"
        }
        Format::Text => {
            let mut out = String::new();
            for s in &states {
                let _ = writeln!(
                    out,
                    "{}: {} ({}) since {}",
                    s["expectation"].as_str().unwrap_or(""),
                    s["verdict"].as_str().unwrap_or("never audited"),
                    s["status"].as_str().unwrap_or("-"),
                    s["since"].as_str().unwrap_or("-")
                );
            }
            out.push('\n');
            if events.is_empty() {
                out.push_str("No changes recorded in this window.\n");
            }
            for e in &events {
                let change = match (&e.from, &e.to) {
                    (None, None) => String::new(),
                    (f, t) => format!("{} -> {}", f.as_deref().unwrap_or("-"), t.as_deref().unwrap_or("-")),
                };
                // Who made it: the CloudTrail event of the cycle that saw it (DESIGN §11).
                let by = if e.kind == "first_seen" { String::new() } else { format!("  [{}]", e.changed_by_text()) };
                let _ = writeln!(
                    out,
                    "{}  {:<16} {:<24} {:<40} {change}  {}{by}",
                    e.ts,
                    e.kind,
                    e.expectation.as_deref().unwrap_or("-"),
                    e.subject,
                    e.detail
                );
            }
            out
        }
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Exit::Ok
}
