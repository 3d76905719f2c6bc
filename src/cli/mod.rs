//! The command line (DESIGN §6): argument parsing, logging set-up and dispatch. Each command
//! lives in its own file; exit codes are one enum, [`Exit`].

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod access;
mod check;
mod common;
mod diff;
mod eval;
pub mod explain;
mod history;
mod run;
mod snapshot;

/// The documented exit codes (DESIGN §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: evaluated, or every expectation holds.
    Ok = 0,
    /// An expectation is violated (or, for `diff`, a verdict flips).
    Violation = 1,
    /// An expectation could not be evaluated (or a live capture failed).
    Unknown = 2,
    /// Bad usage, configuration or input.
    Usage = 64,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

const EXAMPLES: &str = "\
Examples:
  mrap-auditor check                                   # audit the configured MRAPs once
  mrap-auditor access                                  # who can reach each bucket, by which door
  mrap-auditor explain --expect app-reads-reports      # why, layer by layer
  mrap-auditor diff snapshots/old snapshots/new        # what a change does to the verdicts
  mrap-auditor eval config/examples/seed-bucket-policy.json
  mrap-auditor eval --format text case.json
  cat cases.jsonl | mrap-auditor eval --jsonl -

Exit codes: 0 success, 1 violation, 2 unknown, 64 bad usage or input.";

#[derive(Debug, Parser)]
#[command(
    name = "mrap-auditor",
    version,
    about = "Proves who can reach S3 data through a Multi-Region Access Point over AWS PrivateLink",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log filter (`info`, `debug`, `mrap_auditor=debug`, ...).
    #[arg(long, global = true, env = "MRAP_AUDITOR_LOG", default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Output format of the one-shot commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: audit every interval, serve metrics and the report, push alerts (feature
    /// `runtime`).
    Run(run::RunArgs),
    /// Who can reach each bucket of each MRAP, by which door, without being asked (the access map).
    Access(access::AccessArgs),
    /// Run one audit cycle and print the report.
    Check(check::CheckArgs),
    /// Explain one expectation layer by layer, for every bucket of its MRAP.
    Explain(explain::ExplainArgs),
    /// Compare two snapshots: what changed, and which verdicts flip.
    Diff(diff::DiffArgs),
    /// Evaluate one generic IAM request against its policies (DESIGN §7).
    Eval(eval::EvalArgs),
    /// Show what changed and since when, from the daemon's history (feature `runtime`).
    History(history::HistoryArgs),
    /// Capture live AWS into a snapshot directory (DESIGN §4; feature `aws`).
    Snapshot(snapshot::SnapshotArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            let _ = e.print();
            return code.into();
        }
    };
    init_logging(cli.log_format, &cli.log_level);
    let exit = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Access(args) => access::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::History(args) => history::run(&args),
        Command::Snapshot(args) => snapshot::run(&args),
    };
    exit.into()
}

/// Logs on stderr through tracing-subscriber (features `runtime` or `aws`, whose daemon and
/// live capture log as they go).
#[cfg(any(feature = "runtime", feature = "aws"))]
fn init_logging(format: LogFormat, level: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The core alone logs nothing: what a one-shot command has to say is in its output and exit
/// code (a failed read recorded in a snapshot is an `unreadable-input` finding), so it needs no
/// subscriber.
#[cfg(not(any(feature = "runtime", feature = "aws")))]
fn init_logging(_format: LogFormat, _level: &str) {}

/// A command this build was made without: said plainly, exit 64 like any other unusable request.
#[cfg(not(all(feature = "runtime", feature = "aws")))]
pub(crate) fn not_built(command: &str, feature: &str) -> Exit {
    error(format_args!(
        "`{command}` is not in this build: it needs the `{feature}` cargo feature (on by default; \
         build without `--no-default-features`)"
    ));
    Exit::Usage
}

/// Prints a user-facing error on stderr: one line, `error: ...`.
pub(crate) fn error(message: impl std::fmt::Display) {
    eprintln!("error: {message}");
}
