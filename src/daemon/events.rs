//! The daemon's side of change events (DESIGN §11): turning a burst of queue messages into one
//! targeted cycle, and the state that outlives a cycle — the last complete snapshot (what a
//! targeted re-read builds on), the Proposed MRAP policies being watched, the queues that cannot
//! be read, and who made each expectation's last change (the alerts' `changed_by`).
//!
//! What it leaves to the loop in `daemon.rs`: when cycles run, and publishing them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::config::Config;
use crate::events::envelope::{self, ChangeEvent};
use crate::events::mapping::{self, Dropped, Known, Target};
use crate::events::pending::PendingPolicies;
use crate::events::{Attribution, SEEN_BY_POLL};
use crate::export::metrics::Metrics;
use crate::history::Cause;
use crate::policy::lint::Severity;
use crate::report::Finding;
use crate::snapshot::Snapshot;

/// A message the daemon holds until its cycle is recorded.
#[cfg(feature = "aws")]
pub(super) type Message = crate::events::queue::QueueMessage;

/// Without the `aws` feature there is no queue: nothing is ever received.
#[cfg(not(feature = "aws"))]
#[derive(Debug)]
pub(super) struct Message {
    pub region: String,
    pub body: String,
    pub message_id: String,
    pub received: Instant,
}

#[cfg(not(feature = "aws"))]
impl Message {
    pub fn ack(self) {}
}

#[cfg(feature = "aws")]
pub(super) use crate::events::queue::QueueSignal;

/// Without the `aws` feature there is no queue: the signals never come.
#[cfg(not(feature = "aws"))]
#[derive(Debug)]
#[expect(dead_code, reason = "without the aws feature no queue sends a signal; the loop still names them")]
pub(super) enum QueueSignal {
    Messages(Vec<Message>),
    Failed { region: String, api: &'static str, code: String, message: String },
    Recovered { region: String },
}

/// Starts the queue pollers of `[events]`; they stop when the returned set is dropped.
#[cfg(feature = "aws")]
pub(super) async fn start_queues(
    config: &Config,
    signals: tokio::sync::mpsc::Sender<QueueSignal>,
    queue_errors: prometheus::IntCounterVec,
) -> tokio::task::JoinSet<()> {
    // Invisible for longer than any cycle, so a message is not handled twice while its cycle runs.
    let visibility = config.daemon.cycle_timeout + std::time::Duration::from_secs(60);
    crate::events::queue::start(config, signals, queue_errors, visibility).await
}

#[cfg(not(feature = "aws"))]
pub(super) async fn start_queues(
    config: &Config,
    _signals: tokio::sync::mpsc::Sender<QueueSignal>,
    _queue_errors: prometheus::IntCounterVec,
) -> tokio::task::JoinSet<()> {
    if config.events.is_some() {
        warn!("`[events]` needs the live AWS source (the `aws` cargo feature); only the poll runs.");
    }
    tokio::task::JoinSet::new()
}

/// What triggered a cycle.
#[derive(Debug, Default)]
pub(super) struct Trigger {
    /// The reads to do again; empty = the full poll.
    pub targets: BTreeSet<Target>,
    /// The events, with the resources each touched.
    pub events: Vec<(ChangeEvent, Vec<String>)>,
    /// The messages to delete once the cycle is recorded.
    pub messages: Vec<Message>,
    /// When the first message of the burst was received.
    pub received: Option<Instant>,
    /// The `PutMultiRegionAccessPointPolicy` callers of this burst, by MRAP name.
    pub proposals: BTreeMap<String, Attribution>,
    /// Re-audit the last snapshot without reading anything (a queue started or stopped failing:
    /// its finding shows at once, not an interval later).
    pub refresh: bool,
}

impl Trigger {
    pub fn is_poll(&self) -> bool {
        self.targets.is_empty() && !self.refresh
    }

    pub fn cause(&self) -> Cause {
        Cause { events: self.events.iter().map(|(e, r)| (r.clone(), e.attribution.clone())).collect() }
    }
}

/// The change-event state of the daemon.
#[derive(Debug, Default)]
pub(super) struct EventState {
    /// The last snapshot read in full or re-read on top of one: what targeted re-reads build on.
    pub snapshot: Option<Snapshot>,
    pub pending: PendingPolicies,
    /// Region → why its queue cannot be read (a warning finding while it lasts).
    pub queue_failures: BTreeMap<String, String>,
    /// Expectation → who made its last verdict change, for the alerts' annotations.
    pub last_change: BTreeMap<String, String>,
}

impl EventState {
    /// Parses and maps a burst of messages into one trigger. Messages that call for no read are
    /// logged, counted and acknowledged (deleted) at once: a bad message never loops.
    pub fn trigger(&self, config: &Config, metrics: &Metrics, messages: Vec<Message>) -> Trigger {
        let known = self.snapshot.as_ref().map(|s| Known::new(s, config)).unwrap_or_default();
        let mut trigger = Trigger { received: messages.iter().map(|m| m.received).min(), ..Trigger::default() };
        for m in messages {
            let event = match envelope::parse(&m.body) {
                Ok(e) => e,
                Err(e) => {
                    warn!(region = %m.region, message_id = %m.message_id, error = %e, "Change event dropped: malformed message.");
                    metrics.events_dropped_total.with_label_values(&[Dropped::Malformed.reason()]).inc();
                    m.ack();
                    continue;
                }
            };
            // Bounded labels: a message may carry anything.
            let service = match event.event_source.as_str() {
                "s3.amazonaws.com" => "s3",
                "ec2.amazonaws.com" => "ec2",
                _ => "other",
            };
            let name = if mapping::EVENT_NAMES.contains(&event.event_name.as_str()) {
                event.event_name.as_str()
            } else {
                "other"
            };
            metrics.events_received_total.with_label_values(&[service, name]).inc();
            // Without a snapshot yet (the first cycle has not run), every known event is a full read.
            let mapped = if self.snapshot.is_none() && name != "other" && event.error_code.is_none() {
                Ok(BTreeSet::from([Target::Everything]))
            } else {
                mapping::map(&event, &known)
            };
            match mapped {
                Ok(targets) => {
                    info!(
                        region = %m.region,
                        event = %event.event_name,
                        actor = %event.attribution.actor,
                        event_time = %event.attribution.event_time,
                        targets = targets.len(),
                        "Change event received."
                    );
                    let mut resources: Vec<String> = targets.iter().map(|t| t.resource().to_string()).collect();
                    for t in &targets {
                        if let (Target::MrapPolicy(n), "PutMultiRegionAccessPointPolicy") =
                            (t, event.event_name.as_str())
                        {
                            trigger.proposals.insert(n.clone(), event.attribution.clone());
                        }
                    }
                    // An MRAP policy's history subject is its ARN, which carries the alias.
                    for t in &targets {
                        if let Target::MrapPolicy(n) | Target::MrapRoutes(n) = t {
                            resources.extend(known.mraps.iter().filter(|(name, _)| name == n).map(|(_, a)| a.clone()));
                        }
                    }
                    trigger.targets.extend(targets);
                    trigger.events.push((event, resources));
                    trigger.messages.push(m);
                }
                Err(reason) => {
                    info!(region = %m.region, message_id = %m.message_id, event = %event.event_name, reason = reason.reason(), "Change event dropped.");
                    metrics.events_dropped_total.with_label_values(&[reason.reason()]).inc();
                    m.ack();
                }
            }
        }
        trigger
    }

    /// Warning findings for the queues that cannot be read: the poll stays the ground truth, so
    /// they make no verdict unknown, but they say the verdicts may be up to an interval late.
    pub fn queue_findings(&self) -> Vec<Finding> {
        self.queue_failures
            .iter()
            .map(|(region, why)| Finding {
                severity: Severity::Warning,
                code: "event-queue-unreadable".into(),
                resource: region.clone(),
                message: format!(
                    "the change-event queue of {region} cannot be read ({why}): changes are seen at the next poll only"
                ),
                fix: Some("check `[events] queues` and the auditor's sqs:ReceiveMessage permission".into()),
            })
            .collect()
    }

    /// Remembers who changed each expectation's verdict (the alerts show it).
    pub fn remember_changes(&mut self, changed: &[String], trigger: &Trigger) {
        let by = trigger.events.last().map_or_else(|| SEEN_BY_POLL.to_string(), |(e, _)| e.attribution.describe());
        for name in changed {
            self.last_change.insert(name.clone(), by.clone());
        }
    }

    /// Observes the event latencies of a published trigger.
    pub fn observe_latency(metrics: &Metrics, trigger: &Trigger, published: DateTime<Utc>) {
        for (e, _) in &trigger.events {
            let lag = (published - e.event_time).num_milliseconds().max(0) as f64 / 1000.0;
            metrics.event_lag_seconds.observe(lag);
        }
        if let Some(received) = trigger.received {
            let processing = received.elapsed().as_secs_f64();
            for _ in &trigger.events {
                metrics.event_processing_seconds.observe(processing);
            }
        }
    }
}
