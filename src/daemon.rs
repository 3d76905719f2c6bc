//! The daemon: an audit every `interval` (with jitter, one cycle at a time, each bounded by a
//! timeout), drift against the previous report (kept in the history across restarts), metrics,
//! alerts and HTTP.
//!
//! Shutdown is an argument (mini-redis style): `main` passes SIGTERM/SIGINT, tests pass a
//! oneshot. A cycle in progress at shutdown is abandoned before it is published — a half-built
//! report is never exported — and the history, written one transaction per cycle, stays
//! consistent. A reload request (SIGHUP) re-reads the configuration; a bad one is logged and the
//! old one kept. A cycle that cannot read its source, or that times out, publishes a report in
//! which every expectation is `unknown`: stale verdicts are never served as current. A timed-out
//! audit is cancelled (it stops between expectations), not left running on the blocking pool.
//!
//! Drift and history are measured against the last *known* state ([`crate::baseline`]): a gap
//! is a `became_unknown` / `known_again` event, never a verdict flip or a finding resolved and
//! found again; pushed alerts keep firing through it (`export::alerts`).
//!
//! Change events (`[events]`, DESIGN §11) are a second trigger into the same loop: a burst of
//! queue messages (gathered for `debounce`) becomes one cycle that re-reads only what the events
//! touched, on top of the last snapshot; its messages are deleted once the cycle is recorded. A
//! Proposed MRAP policy is re-read with backoff until AWS applies it. The poll still runs every
//! `interval` and stays the ground truth.

mod events;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use self::events::{EventState, Message, QueueSignal, Trigger};
use crate::audit::{AuditOptions, audit, audit_until};
use crate::baseline;
use crate::config::{self, Config};
use crate::drift::Drift;
use crate::events::Target;
use crate::export::alerts::{self, Alert, AlertBook};
use crate::export::http::{self, Shared};
use crate::export::metrics::{Metrics, MetricsError};
use crate::history::{History, HistoryError};
use crate::policy::lint::Severity;
use crate::report::{Finding, Report, Status};
use crate::snapshot::{Snapshot, SourceError};
use crate::source::{Source, SourceSetupError};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: std::net::SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Source(#[from] SourceSetupError),
}

/// Everything the loop keeps between cycles.
struct Daemon {
    config_path: PathBuf,
    config: Arc<Config>,
    source: Arc<Source>,
    shared: Arc<Shared>,
    /// The history database; SQLite calls are blocking, so they run on the blocking pool.
    history: Arc<Mutex<History>>,
    /// The last published report: what became unknown or known again is measured against it.
    previous: Option<Report>,
    /// The last known state of every expectation and resource: verdict, policy and finding
    /// changes are measured against it (and it is what the history keeps across restarts).
    baseline: Option<Report>,
    alerts: AlertBook,
    /// The `generatorURL` of pushed alerts: `[alertmanager] external_url`, or the bound address.
    generator_url: String,
    /// Latest alert batch for the Alertmanager task; replacing it never blocks the loop.
    alert_tx: Option<watch::Sender<Vec<Alert>>>,
    /// Change events: the last snapshot, the watched Proposed policies, the failing queues.
    events: EventState,
}

/// Runs until `shutdown` completes; `reload` asks for the configuration to be read again.
pub async fn run(
    config_path: PathBuf,
    config: Config,
    shutdown: impl Future<Output = ()>,
    mut reload: mpsc::Receiver<()>,
) -> Result<(), DaemonError> {
    let state_path = config.daemon.state.clone();
    let history = {
        let path = state_path.clone();
        tokio::task::spawn_blocking(move || History::open(&path))
            .await
            .map_err(|e| DaemonError::Source(SourceSetupError::Unavailable(e.to_string())))??
    };
    let metrics = Metrics::new()?;
    let previous = match history.last_report() {
        Ok(p) => p,
        // Drift restarts from the first cycle; said and counted, not silently "no report".
        Err(e) => {
            metrics.internal_error("history_read");
            error!(error = %e, "The last recorded report cannot be read; drift starts afresh.");
            None
        }
    };
    if previous.is_some() {
        info!(state = %state_path.display(), "Resuming from the last recorded report.");
    }
    let shared = Arc::new(Shared {
        metrics,
        report: RwLock::new(None),
        last_cycle: RwLock::new(None),
        interval: RwLock::new(config.daemon.interval),
        history_path: state_path,
        history_error: RwLock::new(None),
    });
    let address = config.daemon.listen;
    let listener =
        tokio::net::TcpListener::bind(address).await.map_err(|source| DaemonError::Listen { address, source })?;
    let local = listener.local_addr().map_err(|source| DaemonError::Listen { address, source })?;
    info!(address = %local, "Listening.");
    shared.metrics.interval_seconds.set(config.daemon.interval.as_secs_f64());
    let generator_url = config.alertmanager_external_url.clone().unwrap_or_else(|| format!("http://{local}/"));
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, shared.clone(), async {
        let _ = http_stopped.await;
    }));
    let (alert_tx, alert_task) = match &config.alertmanager_url {
        Some(url) => {
            let (tx, rx) = watch::channel(Vec::new());
            let failures = shared.metrics.alert_push_failures_total.clone();
            (Some(tx), Some(tokio::spawn(alerts::push_loop(url.clone(), rx, failures))))
        }
        None => (None, None),
    };
    let source = Arc::new(Source::from_config(&config, None).await?);
    // The queue pollers hand their messages over this channel; bounded, so a daemon busy with a
    // long cycle makes them wait instead of piling messages up. `_signal_tx` keeps it open when
    // no queue is configured, so that the loop's branch simply never fires.
    let (signal_tx, mut signals) = mpsc::channel::<QueueSignal>(64);
    let _queues = events::start_queues(&config, signal_tx.clone(), shared.metrics.queue_errors_total.clone()).await;
    let _signal_tx = signal_tx;
    let mut daemon = Daemon {
        config_path,
        config: Arc::new(config),
        source,
        shared,
        history: Arc::new(Mutex::new(history)),
        baseline: previous.clone(),
        previous,
        alerts: AlertBook::default(),
        generator_url,
        alert_tx,
        events: EventState::default(),
    };

    tokio::pin!(shutdown);
    let mut next = tokio::time::Instant::now();
    loop {
        let pending = daemon.events.pending.next_due().map(|t| {
            let wait = (t - Utc::now()).to_std().unwrap_or_default();
            tokio::time::Instant::now() + wait
        });
        let trigger = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(()) = reload.recv() => { daemon.reload().await; continue; }
            // Before the events: a steady stream of them never delays the poll, the ground truth.
            () = tokio::time::sleep_until(next) => {
                next = tokio::time::Instant::now() + with_jitter(daemon.config.daemon.interval, daemon.config.daemon.jitter);
                Trigger::default()
            }
            Some(signal) = signals.recv() => {
                let debounce = daemon.config.events.as_ref().map_or(Duration::ZERO, |e| e.debounce);
                let (messages, queues_changed) = tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    m = daemon.gather(signal, &mut signals, debounce) => m,
                };
                let mut trigger = daemon.events.trigger(&daemon.config, &daemon.shared.metrics, messages);
                // A queue that started or stopped failing: its finding is published now.
                trigger.refresh = queues_changed && daemon.events.snapshot.is_some();
                if trigger.is_poll() {
                    continue; // nothing to re-read: every message was dropped (and deleted)
                }
                trigger
            }
            () = tokio::time::sleep_until(pending.unwrap_or(next)), if pending.is_some() => {
                let due = daemon.events.pending.take_due(Utc::now());
                if due.is_empty() {
                    continue;
                }
                Trigger { targets: due.into_iter().map(Target::MrapPolicy).collect(), ..Trigger::default() }
            }
        };
        let poll = trigger.is_poll();
        let timeout = daemon.config.daemon.cycle_timeout;
        tokio::select! {
            biased;
            () = &mut shutdown => {
                info!("Shutting down during a cycle: the cycle is abandoned, nothing of it is published.");
                break;
            }
            () = daemon.cycle(timeout, trigger) => {}
        }
        if poll {
            next =
                tokio::time::Instant::now() + with_jitter(daemon.config.daemon.interval, daemon.config.daemon.jitter);
        }
    }

    info!("Shutting down.");
    let _ = stop_http.send(());
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Err(e))) => warn!(error = %e, "HTTP server stopped with an error."),
        Err(_) => warn!("HTTP server did not stop within 5 s; leaving it."),
        _ => {}
    }
    if let Some(task) = alert_task {
        task.abort();
    }
    // The history closes (and checkpoints its WAL) when the last handle drops.
    drop(daemon);
    info!("Stopped.");
    Ok(())
}

/// Records one cycle; also through a poisoned lock, saying so (`true`). An earlier writer that
/// panicked mid-cycle left no half transaction (SQLite rolled it back when the transaction
/// dropped), so the database is as the last complete cycle left it: write on, clear the poison,
/// and let the caller log and count it — never a silent `Ok` that writes nothing.
fn record_locked(
    history: &Mutex<History>,
    at: DateTime<Utc>,
    report: &Report,
    drift: Option<&Drift>,
    cause: &crate::history::Cause,
    settled: &[crate::events::pending::Settled],
) -> (Result<(), HistoryError>, bool) {
    let (mut h, poisoned) = match history.lock() {
        Ok(h) => (h, false),
        Err(p) => (p.into_inner(), true),
    };
    // The changes with who made them (the cycle's change events), then the Proposed MRAP
    // policies that AWS applied (or that went away) this cycle.
    let result = h.record_caused(at, report, drift, cause).and_then(|()| {
        settled.iter().try_for_each(|s| {
            let kind = if s.applied { "policy_applied" } else { "proposal_withdrawn" };
            h.record_event(at, kind, &s.mrap, &s.describe(), s.attribution.as_ref())
        })
    });
    drop(h);
    if poisoned {
        history.clear_poison();
    }
    (result, poisoned)
}

/// The interval plus up to `fraction` of it, so that many auditors do not poll AWS in step.
fn with_jitter(interval: Duration, fraction: f64) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let random = f64::from(nanos % 10_000) / 10_000.0;
    interval + interval.mul_f64(fraction * random)
}

impl Daemon {
    async fn reload(&mut self) {
        let path = self.config_path.clone();
        let loaded = match tokio::task::spawn_blocking(move || config::load(&path)).await {
            Ok(r) => r,
            Err(e) => {
                error!(error = %e, "Configuration reload failed; keeping the previous configuration.");
                return;
            }
        };
        let new = match loaded {
            Ok(c) => c,
            Err(e) => {
                error!(error = %e, "New configuration rejected; keeping the previous one.");
                return;
            }
        };
        let source = match Source::from_config(&new, None).await {
            Ok(s) => s,
            Err(e) => {
                error!(error = %e, "New configuration's source cannot start; keeping the previous configuration.");
                return;
            }
        };
        let old = &self.config.daemon;
        if new.daemon.listen != old.listen
            || new.daemon.state != old.state
            || new.alertmanager_url != self.config.alertmanager_url
            || new.events.as_ref().map(|e| &e.queues) != self.config.events.as_ref().map(|e| &e.queues)
        {
            warn!("`listen`, `state`, `[alertmanager]` and `[events] queues` take effect at the next restart.");
        }
        *self.shared.interval.write().unwrap_or_else(PoisonError::into_inner) = new.daemon.interval;
        self.shared.metrics.interval_seconds.set(new.daemon.interval.as_secs_f64());
        info!(expectations = new.expectations.len(), interval = ?new.daemon.interval, "Configuration reloaded.");
        self.config = Arc::new(new);
        self.source = Arc::new(source);
    }

    /// Gathers a burst of queue messages: the first signal's, and every other that arrives within
    /// `debounce`. Queue failures and recoveries that arrive meanwhile are noted; the flag says
    /// whether a queue started or stopped failing.
    async fn gather(
        &mut self,
        first: QueueSignal,
        signals: &mut mpsc::Receiver<QueueSignal>,
        debounce: Duration,
    ) -> (Vec<Message>, bool) {
        let mut messages = Vec::new();
        let mut changed = self.on_signal(first, &mut messages);
        if messages.is_empty() {
            return (messages, changed);
        }
        let deadline = tokio::time::Instant::now() + debounce;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                s = signals.recv() => match s {
                    Some(s) => changed |= self.on_signal(s, &mut messages),
                    None => break,
                },
            }
        }
        (messages, changed)
    }

    /// Notes one signal; `true` when a queue started or stopped failing.
    fn on_signal(&mut self, signal: QueueSignal, messages: &mut Vec<Message>) -> bool {
        match signal {
            QueueSignal::Messages(m) => {
                messages.extend(m);
                false
            }
            QueueSignal::Failed { region, api, code, message: _ } => {
                // A queue that cannot be read is a source error (and a warning finding), never a
                // reason to trust or distrust a verdict: the poll decides those.
                self.shared.metrics.source_errors_total.with_label_values(&[api, &code]).inc();
                self.events.queue_failures.insert(region, format!("{api}: {code}")).is_none()
            }
            QueueSignal::Recovered { region } => self.events.queue_failures.remove(&region).is_some(),
        }
    }

    /// Captures (in full, or only the trigger's targets), audits, records and publishes one
    /// cycle; then deletes the messages that triggered it.
    async fn cycle(&mut self, timeout: Duration, trigger: Trigger) {
        let started = Instant::now();
        let at = Utc::now();
        let config = self.config.clone();
        let source = self.source.clone();
        let previous = if trigger.is_poll() { None } else { self.events.snapshot.clone() };
        let targets = trigger.targets.clone();
        // Set when the cycle times out: the audit stops between expectations.
        let cancel = Arc::new(AtomicBool::new(false));
        let work = {
            let cancel = cancel.clone();
            async move {
                let read = match &previous {
                    Some(p) => source.recapture(p, &targets).await.map(|(s, calls)| (s, Some(calls))),
                    None => source.capture().await.map(|s| (s, None)),
                };
                let (snapshot, readable, calls) = match read {
                    Ok((s, calls)) => (s, true, calls),
                    Err(e) => {
                        error!(source = %source.location(), error = %e, "The source cannot be read; every expectation is unknown this cycle.");
                        let mut s = Snapshot::empty();
                        s.errors.push(SourceError {
                            api: "Source".into(),
                            code: "SourceUnavailable".into(),
                            resource: source.location(),
                            message: e.to_string(),
                            request_id: None,
                        });
                        (s, false, None)
                    }
                };
                let options =
                    AuditOptions { at, source: source.label().into(), snapshot_path: Some(source.location()) };
                tokio::task::spawn_blocking(move || {
                    audit_until(&config, &snapshot, &options, &cancel).map(|report| (report, snapshot, readable, calls))
                })
                .await
            }
        };
        let mut calls = None;
        let (mut report, errors, outcome) = match tokio::time::timeout(timeout, work).await {
            Ok(Ok(Some((mut report, snapshot, readable, c)))) => {
                calls = c;
                let errors = snapshot.errors.clone();
                // The source as a whole could not be read: say why, as a finding of its own.
                for e in errors.iter().filter(|e| e.code == "SourceUnavailable") {
                    report.findings.insert(
                        0,
                        Finding {
                            severity: Severity::Error,
                            code: baseline::UNREADABLE_INPUT.into(),
                            resource: e.resource.clone(),
                            message: format!("the source cannot be read: {}; every expectation is unknown", e.message),
                            fix: None,
                        },
                    );
                }
                let degraded = !errors.is_empty() || report.expectations.iter().any(|e| e.status == Status::Unknown);
                // What targeted re-reads build on; a source that could not be read leaves nothing
                // to build on, so the next event reads everything.
                self.events.snapshot = readable.then_some(snapshot);
                (report, errors, if degraded { "degraded" } else { "ok" })
            }
            Ok(Ok(None)) => {
                error!("The audit was cancelled; every expectation is unknown this cycle.");
                (self.unknown_report(at, "audit-failed", "the audit was cancelled"), Vec::new(), "failed")
            }
            Ok(Err(e)) => {
                error!(error = %e, "The audit stopped unexpectedly; every expectation is unknown this cycle.");
                (self.unknown_report(at, "audit-failed", &e.to_string()), Vec::new(), "failed")
            }
            Err(_) => {
                cancel.store(true, Ordering::Relaxed);
                error!(timeout = ?timeout, "The cycle timed out and its audit was cancelled; every expectation is unknown this cycle.");
                let why = format!("the audit cycle did not finish within {timeout:?}");
                (self.unknown_report(at, "cycle-timeout", &why), Vec::new(), "timeout")
            }
        };
        report.findings.extend(self.events.queue_findings());
        // Against the last known state, not the last (possibly unknown) report.
        let (drift, baseline): (Option<Drift>, Report) = match (&self.previous, &self.baseline) {
            (Some(p), Some(b)) => {
                let (d, next) = baseline::drift(p, b, &report);
                (Some(d), next)
            }
            _ => (None, report.clone()),
        };
        if let Some(d) = &drift {
            alerts::log_drift(d);
        }
        // A Proposed MRAP policy, seen by an event or by the poll, is watched until AWS applies it.
        let settled = match &self.events.snapshot {
            Some(s) if outcome == "ok" || outcome == "degraded" => {
                self.events.pending.observe(s, at, &trigger.proposals)
            }
            _ => Vec::new(),
        };
        for s in &settled {
            info!(mrap = %s.mrap, applied = s.applied, "{}", s.describe());
        }

        // History: one transaction; a failure is logged, counted and shown, and the cycle still
        // publishes.
        let history = self.history.clone();
        let metrics = &self.shared.metrics;
        let (to_store, drift_store, cause) = (baseline.clone(), drift.clone(), trigger.cause());
        let stored = tokio::task::spawn_blocking(move || {
            record_locked(&history, at, &to_store, drift_store.as_ref(), &cause, &settled)
        })
        .await;
        let problem = match stored {
            Ok((Ok(()), false)) => None,
            Ok((result, true)) => {
                metrics.internal_error("history_lock");
                error!(
                    "The history lock was poisoned by an earlier failure; the database was kept as the last complete cycle left it."
                );
                result.err().map(|e| e.to_string())
            }
            Ok((Err(e), false)) => Some(e.to_string()),
            Err(e) => Some(format!("the history writer stopped: {e}")),
        };
        if let Some(why) = &problem {
            let kind = if why.contains("cannot be serialised") { "report_serialize" } else { "history_write" };
            metrics.internal_error(kind);
            error!(error = %why, "The history could not be written.");
        }
        let recorded = problem.is_none();
        *self.shared.history_error.write().unwrap_or_else(PoisonError::into_inner) = problem;
        if let Some(d) = &drift {
            let changed: Vec<String> = d.verdict_changes.iter().map(|v| v.expectation.clone()).collect();
            self.events.remember_changes(&changed, &trigger);
        }

        metrics.observe(&report, drift.as_ref(), &errors);
        metrics.poll_duration_seconds.observe(started.elapsed().as_secs_f64());
        metrics.cycles_total.with_label_values(&[outcome]).inc();
        let complete = outcome == "ok" || outcome == "degraded";
        if complete {
            let now = Utc::now();
            metrics.last_success_timestamp_seconds.set(now.timestamp_millis() as f64 / 1000.0);
            *self.shared.last_cycle.write().unwrap_or_else(PoisonError::into_inner) = Some(now);
        }
        metrics.pending_change_age_seconds.reset();
        for (mrap, age) in self.events.pending.ages(Utc::now()) {
            metrics.pending_change_age_seconds.with_label_values(&[&mrap]).set(age);
        }
        if let Some(tx) = &self.alert_tx {
            let mut batch = self.alerts.batch(&report, at, self.config.daemon.interval, &self.generator_url);
            // Who made the change: the first question on call (DESIGN §11).
            for alert in &mut batch {
                if let Some(by) = alert.labels.get("expectation").and_then(|e| self.events.last_change.get(e)) {
                    alert.annotations.insert("changed_by".to_string(), by.clone());
                }
            }
            tx.send_replace(batch);
        }
        let count = |s: Status| report.expectations.iter().filter(|e| e.status == s).count();
        info!(
            outcome,
            holds = count(Status::Holds),
            violated = count(Status::Violated),
            unknown = count(Status::Unknown),
            findings = report.findings.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "Audit cycle complete."
        );
        *self.shared.report.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(report.clone()));
        self.previous = Some(report);
        self.baseline = Some(baseline);
        if !trigger.events.is_empty() {
            let published = Utc::now();
            EventState::observe_latency(metrics, &trigger, published);
            let lag_ms = trigger.events.iter().map(|(e, _)| (published - e.event_time).num_milliseconds()).max();
            info!(
                events = trigger.events.len(),
                targets = trigger.targets.len(),
                calls = calls.unwrap_or(0),
                processing_ms = trigger.received.map_or(0, |r| r.elapsed().as_millis() as u64),
                lag_ms = lag_ms.unwrap_or(0),
                recorded,
                "Change events audited."
            );
        }
        // At least once: a message is deleted only once its cycle is recorded; otherwise SQS
        // delivers it again after its visibility timeout.
        if recorded {
            for m in trigger.messages {
                m.ack();
            }
        } else if !trigger.messages.is_empty() {
            warn!(
                messages = trigger.messages.len(),
                "Change events not deleted: their cycle was not recorded; SQS delivers them again."
            );
        }
    }

    /// A report in which every expectation is unknown, for a cycle that could not run.
    fn unknown_report(&self, at: DateTime<Utc>, code: &str, why: &str) -> Report {
        let options =
            AuditOptions { at, source: self.source.label().into(), snapshot_path: Some(self.source.location()) };
        let mut report = audit(&self.config, &Snapshot::empty(), &options);
        report.findings.insert(
            0,
            Finding {
                severity: Severity::Error,
                code: code.into(),
                resource: self.source.location(),
                message: why.into(),
                fix: None,
            },
        );
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_history_lock_is_written_through_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let history = Arc::new(Mutex::new(History::open(&dir.path().join("h.db")).unwrap()));
        let poisoner = history.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.lock().unwrap();
            panic!("a writer fails while holding the lock");
        })
        .join();
        assert!(history.is_poisoned());
        let report = Report {
            generated_at: String::new(),
            source: "snapshot".into(),
            snapshot: None,
            expectations: vec![],
            findings: vec![],
            policies: vec![],
        };
        let (result, poisoned) =
            record_locked(&history, Utc::now(), &report, None, &crate::history::Cause::default(), &[]);
        assert!(result.is_ok(), "{result:?}");
        assert!(poisoned, "the caller is told, to log and count it");
        assert!(!history.is_poisoned(), "the next cycle writes normally");
        assert!(history.lock().unwrap().last_report().unwrap().is_some(), "the cycle was recorded");
        let (_, again) = record_locked(&history, Utc::now(), &report, None, &crate::history::Cause::default(), &[]);
        assert!(!again);
    }
}
