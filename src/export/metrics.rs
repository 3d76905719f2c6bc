//! Prometheus metrics (DESIGN §8), on a registry of our own.
//!
//! One struct holds every metric; each field's doc is its HELP text. Gauges that describe the
//! current state are `reset()` and refilled each cycle, so a fixed finding or an expectation that
//! became unknown leaves no stale sample behind: an unknown expectation has
//! `expectation_unknown 1` and no `expectation_holds` sample. Labels come from bounded sets
//! (configured expectations, their MRAPs' buckets, verdicts, severities), never from a request.
//!
//! A scrape sees one cycle whole: the refill holds the write side of a lock that rendering
//! takes for reading, so `/metrics` never catches the moment between `reset()` and the refill
//! (an empty `expectation_holds` would look like "every expectation unknown").

use std::sync::{PoisonError, RwLock};

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::drift::Drift;
use crate::report::{BucketDecision, Report, Status};
use crate::snapshot::SourceError;

const PREFIX: &str = "mrap_auditor";

/// Every metric the daemon exports.
pub struct Metrics {
    registry: Registry,
    /// Written while a cycle's gauges are reset and refilled, read while rendering: a scrape
    /// sees the set before or after a cycle, never half of it.
    consistency: RwLock<()>,
    /// 1 when the bucket's decision matches the expectation, 0 when it does not; absent when unknown.
    pub expectation_holds: IntGaugeVec,
    /// 1 when the expectation could not be evaluated.
    pub expectation_unknown: IntGaugeVec,
    /// 1 for the current decision of each bucket under each expectation.
    pub access_verdict: IntGaugeVec,
    /// 1 when the MRAP's Proposed policy would change the expectation's verdict.
    pub pending_change: IntGaugeVec,
    /// 1 when a bucket or MRAP policy is public (S3's meaning of public).
    pub policy_public: IntGaugeVec,
    /// Policy documents that changed (normalised: layout and key order do not count).
    pub policy_changes_total: IntCounterVec,
    /// Expectation verdicts that flipped.
    pub verdict_changes_total: IntCounterVec,
    /// Current findings by severity and code.
    pub findings: IntGaugeVec,
    /// Duration of one audit cycle (capture, evaluation, history, export).
    pub poll_duration_seconds: Histogram,
    /// Unix time at the end of the last complete cycle.
    pub last_success_timestamp_seconds: Gauge,
    /// AWS or snapshot read errors by API and error code.
    pub source_errors_total: IntCounterVec,
    /// Always 1; the version label says which build runs.
    pub build_info: IntGaugeVec,
    /// Cycles by outcome: `ok`, `degraded` (some input unreadable), `failed`, `timeout`.
    pub cycles_total: IntCounterVec,
    /// The configured time between audit cycles (rules compare the last success with it).
    pub interval_seconds: Gauge,
    /// Alerts the Alertmanager push could not deliver after its retries.
    pub alert_push_failures_total: IntCounter,
    /// Change events received from the queues, by CloudTrail `eventSource` service and
    /// `eventName` (`other` for names the auditor does not follow).
    pub events_received_total: IntCounterVec,
    /// Change events dropped without a cycle: `malformed`, `unknown_event`, `failed_call`,
    /// `not_used` (no configured MRAP uses what the event touched).
    pub events_dropped_total: IntCounterVec,
    /// From the CloudTrail `eventTime` of a change to the verdict published (CloudTrail's and
    /// EventBridge's own delivery delay included).
    pub event_lag_seconds: Histogram,
    /// From a change event received to the verdict published (the auditor's own share).
    pub event_processing_seconds: Histogram,
    /// Event queues that could not be read (or whose messages could not be deleted).
    pub queue_errors_total: IntCounterVec,
    /// How long the MRAP's Proposed policy has waited for AWS to apply it.
    pub pending_change_age_seconds: GaugeVec,
    /// Grants of the access map by path kind and caller kind (DESIGN §10).
    pub access_grants: IntGaugeVec,
    /// Grants gained or lost from one cycle to the next.
    pub access_changes_total: IntCounterVec,
    /// 1 when a `[[forbid]]` is violated, 0 when it holds; absent when unknown.
    pub forbid_violated: IntGaugeVec,
    /// The daemon's own failures that are logged and shown, by kind: `history_write`,
    /// `history_read`, `history_lock`, `report_serialize`, `metrics_encode`, `state_lock`.
    pub internal_errors_total: IntCounterVec,
}

/// Why the metrics could not be rendered (answered with HTTP 500, never an empty page).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot encode the metrics: {0}")]
    Encode(#[from] prometheus::Error),
    #[error("the encoded metrics are not UTF-8: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
}

/// Why metrics could not be set up (a bug: names are constants).
#[derive(Debug, thiserror::Error)]
#[error("cannot register metric: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace(PREFIX)
}

impl Metrics {
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, MetricsError> {
            let g = IntGaugeVec::new(opts(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, MetricsError> {
            let c = IntCounterVec::new(opts(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let expectation_holds = gauge(
            "expectation_holds",
            "1 when the bucket's decision matches the expectation, 0 when it does not; absent when unknown.",
            &["expectation", "mrap", "bucket", "route"],
        )?;
        let expectation_unknown =
            gauge("expectation_unknown", "1 when the expectation could not be evaluated.", &["expectation", "mrap"])?;
        let access_verdict = gauge(
            "access_verdict",
            "1 for the current decision of each bucket under each expectation.",
            &["expectation", "mrap", "bucket", "route", "verdict"],
        )?;
        let pending_change = gauge(
            "pending_change",
            "1 when the MRAP's Proposed policy would change the expectation's verdict.",
            &["expectation", "mrap"],
        )?;
        let policy_public = gauge("policy_public", "1 when a bucket or MRAP policy is public.", &["kind", "resource"])?;
        let policy_changes_total = counter(
            "policy_changes_total",
            "Policy documents that changed (normalised: layout and key order do not count).",
            &["kind", "resource"],
        )?;
        let verdict_changes_total =
            counter("verdict_changes_total", "Expectation verdicts that flipped.", &["expectation", "from", "to"])?;
        let findings = gauge("findings", "Current findings by severity and code.", &["severity", "code"])?;
        let poll_duration_seconds = Histogram::with_opts(
            HistogramOpts::new("poll_duration_seconds", "Duration of one audit cycle.")
                .namespace(PREFIX)
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0]),
        )?;
        registry.register(Box::new(poll_duration_seconds.clone()))?;
        let last_success_timestamp_seconds = Gauge::with_opts(opts(
            "last_success_timestamp_seconds",
            "Unix time at the end of the last complete cycle.",
        ))?;
        registry.register(Box::new(last_success_timestamp_seconds.clone()))?;
        let source_errors_total =
            counter("source_errors_total", "AWS or snapshot read errors by API and error code.", &["api", "code"])?;
        let build_info = gauge("build_info", "Always 1; the version label says which build runs.", &["version"])?;
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let cycles_total = counter("cycles_total", "Audit cycles by outcome.", &["outcome"])?;
        let interval_seconds = Gauge::with_opts(opts("interval_seconds", "The configured time between audit cycles."))?;
        registry.register(Box::new(interval_seconds.clone()))?;
        let alert_push_failures_total = IntCounter::with_opts(opts(
            "alert_push_failures_total",
            "Alert batches the Alertmanager push could not deliver after its retries.",
        ))?;
        registry.register(Box::new(alert_push_failures_total.clone()))?;
        let events_received_total = counter(
            "events_received_total",
            "Change events received from the queues, by CloudTrail service and event name.",
            &["source", "event"],
        )?;
        let events_dropped_total =
            counter("events_dropped_total", "Change events dropped without a cycle, by reason.", &["reason"])?;
        let lag_buckets = vec![0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0];
        let event_lag_seconds = Histogram::with_opts(
            HistogramOpts::new("event_lag_seconds", "From a change's CloudTrail eventTime to the verdict published.")
                .namespace(PREFIX)
                .buckets(lag_buckets.clone()),
        )?;
        registry.register(Box::new(event_lag_seconds.clone()))?;
        let event_processing_seconds = Histogram::with_opts(
            HistogramOpts::new("event_processing_seconds", "From a change event received to the verdict published.")
                .namespace(PREFIX)
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )?;
        registry.register(Box::new(event_processing_seconds.clone()))?;
        let queue_errors_total = counter(
            "queue_errors_total",
            "Event queue reads or deletes that failed, by region and error code.",
            &["region", "code"],
        )?;
        let pending_change_age_seconds = GaugeVec::new(
            opts("pending_change_age_seconds", "How long the MRAP's Proposed policy has waited for AWS to apply it."),
            &["mrap"],
        )?;
        registry.register(Box::new(pending_change_age_seconds.clone()))?;
        let access_grants = gauge(
            "access_grants",
            "Grants of the access map by path kind and caller kind (DESIGN §10).",
            &["mrap", "bucket", "path_kind", "callers_kind"],
        )?;
        let access_changes_total = counter(
            "access_changes_total",
            "Grants of the access map gained or lost from one cycle to the next.",
            &["mrap", "bucket", "direction"],
        )?;
        let forbid_violated = gauge(
            "forbid_violated",
            "1 when a [[forbid]] is violated by a grant of the access map, 0 when it holds; absent when unknown.",
            &["forbid", "mrap"],
        )?;
        let internal_errors_total = counter(
            "internal_errors_total",
            "The daemon's own failures that are logged and shown, by kind.",
            &["kind"],
        )?;
        Ok(Metrics {
            registry,
            consistency: RwLock::new(()),
            expectation_holds,
            expectation_unknown,
            access_verdict,
            pending_change,
            policy_public,
            policy_changes_total,
            verdict_changes_total,
            findings,
            poll_duration_seconds,
            last_success_timestamp_seconds,
            source_errors_total,
            build_info,
            cycles_total,
            interval_seconds,
            alert_push_failures_total,
            events_received_total,
            events_dropped_total,
            event_lag_seconds,
            event_processing_seconds,
            queue_errors_total,
            pending_change_age_seconds,
            access_grants,
            access_changes_total,
            forbid_violated,
            internal_errors_total,
        })
    }

    /// Counts one of the daemon's own failures (the caller logs it with its cause).
    pub fn internal_error(&self, kind: &str) {
        self.internal_errors_total.with_label_values(&[kind]).inc();
    }

    /// Recomputes the current-state gauges from a report and counts what changed.
    pub fn observe(&self, report: &Report, drift: Option<&Drift>, errors: &[SourceError]) {
        // A poisoned lock guards nothing broken (it holds `()`): go on.
        let _whole = self.consistency.write().unwrap_or_else(PoisonError::into_inner);
        for g in [&self.expectation_holds, &self.expectation_unknown, &self.access_verdict, &self.pending_change] {
            g.reset();
        }
        self.policy_public.reset();
        self.findings.reset();
        self.access_grants.reset();
        self.forbid_violated.reset();
        if let Some(map) = &report.access {
            for m in &map.mraps {
                for b in &m.buckets {
                    // Every kind of this bucket is set, 0 included, so a closed door reads 0.
                    for path_kind in ["mrap_endpoint", "mrap_internet", "bucket_internet", "bucket_endpoint"] {
                        for callers_kind in
                            ["anonymous", "any_principal", "other_account", "owner_account", "org", "principal"]
                        {
                            let n = b
                                .grants
                                .iter()
                                .filter(|g| g.path_kind() == path_kind && g.callers_kind(&b.account) == callers_kind)
                                .count();
                            self.access_grants
                                .with_label_values(&[&m.mrap, &b.bucket, path_kind, callers_kind])
                                .set(n as i64);
                        }
                    }
                }
            }
        }
        let mraps: Vec<&str> = report.access.iter().flat_map(|m| m.mraps.iter().map(|x| x.mrap.as_str())).collect();
        for f in report.forbids.iter().filter(|f| f.status != Status::Unknown) {
            for m in &mraps {
                let violated = f.grants.iter().any(|g| g.mrap == *m);
                self.forbid_violated.with_label_values(&[f.name.as_str(), m]).set(i64::from(violated));
            }
        }
        for e in &report.expectations {
            let unknown = e.status == Status::Unknown;
            self.expectation_unknown.with_label_values(&[&e.name, &e.mrap]).set(i64::from(unknown));
            self.pending_change.with_label_values(&[&e.name, &e.mrap]).set(i64::from(e.pending_change));
            for b in &e.buckets {
                let route = b.route.name();
                self.access_verdict.with_label_values(&[&e.name, &e.mrap, &b.bucket, route, b.decision.name()]).set(1);
                if b.decision == BucketDecision::Unknown {
                    continue;
                }
                let holds = e.expect.met_by(b.decision);
                self.expectation_holds.with_label_values(&[&e.name, &e.mrap, &b.bucket, route]).set(i64::from(holds));
            }
        }
        for p in &report.policies {
            if p.public {
                self.policy_public.with_label_values(&[&p.kind, &p.resource]).set(1);
            }
        }
        for f in &report.findings {
            self.findings.with_label_values(&[f.severity.name(), &f.code]).inc();
        }
        for e in errors {
            self.source_errors_total.with_label_values(&[&e.api, &e.code]).inc();
        }
        if let Some(d) = drift {
            for v in &d.verdict_changes {
                if v.from != v.to {
                    self.verdict_changes_total.with_label_values(&[&v.expectation, v.from.name(), v.to.name()]).inc();
                }
            }
            // A policy that could not be read did not change; its document did not either.
            for p in d.policy_changes.iter().filter(|p| p.change != crate::drift::PolicyChangeKind::BecameUnreadable) {
                self.policy_changes_total.with_label_values(&[&p.kind, &p.resource]).inc();
            }
            for c in &d.access_changes {
                self.access_changes_total.with_label_values(&[&c.mrap, &c.bucket, &c.direction]).inc();
            }
        }
    }

    /// The text exposition format, of one whole cycle.
    pub fn render(&self) -> Result<String, RenderError> {
        let families = {
            let _whole = self.consistency.read().unwrap_or_else(PoisonError::into_inner);
            self.registry.gather()
        };
        let mut buf = Vec::new();
        TextEncoder::new().encode(&families, &mut buf)?;
        Ok(String::from_utf8(buf)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Expect;
    use crate::report::{BucketReport, ExpectationReport, Failover, RouteRole, Verdict};

    fn report(n: usize) -> Report {
        let expectation = |i: usize| ExpectationReport {
            name: format!("e{i}"),
            mrap: "m.mrap".into(),
            expect: Expect::Allow,
            status: Status::Holds,
            verdict: Verdict::Allow,
            buckets: (0..4)
                .map(|b| BucketReport {
                    bucket: format!("b{b}"),
                    account: "1".into(),
                    region: "us-east-1".into(),
                    route: RouteRole::Active,
                    decision: BucketDecision::Allow,
                    deciding_layer: None,
                    statement: None,
                    reason: String::new(),
                    proposed_decision: None,
                })
                .collect(),
            failover: Failover::None,
            pending_change: false,
            principal: "p".into(),
            action: "a".into(),
            key: "k".into(),
            via: "v".into(),
            proposed_verdict: None,
            summary: String::new(),
        };
        Report {
            generated_at: String::new(),
            source: "snapshot".into(),
            snapshot: None,
            expectations: (0..n).map(expectation).collect(),
            findings: vec![],
            policies: vec![],
            forbids: Vec::new(),
            access: None,
        }
    }

    #[test]
    fn a_scrape_never_sees_half_a_cycle() {
        let metrics = std::sync::Arc::new(Metrics::new().unwrap());
        let full = report(100);
        metrics.observe(&full, None, &[]);
        let writer = {
            let metrics = metrics.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    metrics.observe(&full, None, &[]);
                }
            })
        };
        let mut scrapes = 0;
        while !writer.is_finished() || scrapes < 50 {
            let text = metrics.render().unwrap();
            let holds = text.lines().filter(|l| l.starts_with("mrap_auditor_expectation_holds{")).count();
            assert_eq!(holds, 400, "a scrape saw {holds} of 400 samples: half a cycle");
            scrapes += 1;
        }
        writer.join().unwrap();
    }
}
