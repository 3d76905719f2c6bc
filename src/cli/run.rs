//! `mrap-auditor run`: the daemon, with SIGTERM/SIGINT for shutdown and SIGHUP for reload
//! (feature `runtime`; a build without it says so).

use std::path::PathBuf;

use clap::Args;
#[cfg(feature = "runtime")]
use tracing::error;

use super::Exit;
use super::common::DEFAULT_CONFIG;
#[cfg(feature = "runtime")]
use super::{common, error as print_error};
#[cfg(feature = "runtime")]
use crate::daemon;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor run                                   # config/mrap-auditor.toml
  mrap-auditor run --config /etc/mrap-auditor/mrap-auditor.toml --log-format json
  curl -s localhost:9898/metrics | grep mrap_auditor_expectation
  kill -HUP $(pidof mrap-auditor)                    # reload the configuration
  open http://127.0.0.1:9898/                        # status page: each MRAP's path drawn
  open http://127.0.0.1:9898/expectations/app-reads-reports   # one expectation in depth
  open http://127.0.0.1:9898/access                  # the access map
  curl -s localhost:9898/metrics | grep -E 'mrap_auditor_event_(lag|processing)_seconds_(sum|count)'
  mrap-auditor history --since 1h                    # each change with who made it

Change events: with an `[events]` section, e.g.
  [events]
  queues = { \"us-west-2\" = \"https://sqs.us-west-2.amazonaws.com/111122223333/mrap-auditor-events\" }
  debounce = \"2s\"
the daemon long-polls those SQS queues (filled by deploy/events/), re-audits what each CloudTrail
event touched within a second, and records who made the change. The poll still runs every interval.

Endpoints: /metrics /healthz /readyz /api/v1/report /api/v1/history, and the status page:
/ (?expect=NAME colours the picture by NAME), /expectations/NAME, /access; it reloads every
`[daemon] refresh` (default 30s).
Exit codes: 0 after SIGTERM/SIGINT, 64 bad configuration, 2 cannot start (port, state database).")]
pub struct RunArgs {
    /// The configuration file.
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// Without the `runtime` feature there is no daemon.
#[cfg(not(feature = "runtime"))]
pub fn run(_args: &RunArgs) -> Exit {
    super::not_built("run", "runtime")
}

#[cfg(feature = "runtime")]
pub fn run(args: &RunArgs) -> Exit {
    let config = match common::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            print_error(format_args!("cannot start the runtime: {e}"));
            return Exit::Unknown;
        }
    };
    runtime.block_on(async {
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
        let signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                print_error(format_args!("cannot install signal handlers: {e}"));
                return Exit::Unknown;
            }
        };
        let Signals { mut hangup, shutdown } = signals;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                // A reload already queued is enough.
                let _ = reload_tx.try_send(());
            }
        });
        match daemon::run(args.config.clone(), config, shutdown, reload_rx).await {
            Ok(()) => Exit::Ok,
            Err(e) => {
                error!(error = %e, "The daemon could not start.");
                print_error(&e);
                Exit::Unknown
            }
        }
    })
}

/// SIGHUP as a stream, and SIGTERM/SIGINT as one future.
#[cfg(feature = "runtime")]
struct Signals {
    hangup: tokio::signal::unix::Signal,
    shutdown: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

#[cfg(feature = "runtime")]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let hangup = signal(SignalKind::hangup())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let shutdown = Box::pin(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received."),
                _ = interrupt.recv() => tracing::info!("SIGINT received."),
            }
        });
        Ok(Signals { hangup, shutdown })
    }
}
