//! Prometheus metrics (DESIGN §8), on a registry of our own.
//!
//! Every metric is declared once, in the `metrics!` table below: its name, type, labels and HELP
//! text (the field's doc comment), as crates.io's `src/metrics/macros.rs` does. The table makes
//! the [`Metrics`] struct, registers each metric, and lists them all in [`DEFINITIONS`], which
//! the README's metrics table is tested against. No metric is created anywhere else.
//!
//! Gauges that describe the current state are `reset()` and refilled each cycle, so a fixed
//! finding or an expectation that became unknown leaves no stale sample behind: an unknown
//! expectation has `expectation_unknown 1` and no `expectation_holds` sample. Labels come from
//! bounded sets (configured expectations, their MRAPs' buckets, verdicts, severities), never from
//! a request.
//!
//! A scrape sees one cycle whole: the refill holds the write side of a lock that rendering
//! takes for reading, so `/metrics` never catches the moment between `reset()` and the refill
//! (an empty `expectation_holds` would look like "every expectation unknown").

use std::sync::{PoisonError, RwLock};

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::drift::Drift;
use crate::report::{BucketDecision, Report, Status};
use crate::snapshot::SourceError;

/// The namespace of every metric name: `mrap_auditor_` + the field's name.
pub const PREFIX: &str = "mrap_auditor";

/// A Prometheus metric type (what `# TYPE` says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    /// The name `# TYPE` and the README use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric as the `metrics!` table declares it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Definition {
    /// Without the [`PREFIX`]: the field's name.
    pub name: &'static str,
    pub kind: Kind,
    /// Label names, in the order `with_label_values` takes their values.
    pub labels: &'static [&'static str],
    /// The field's doc comment: its lines, each with its leading space, joined.
    doc: &'static str,
    /// Histogram bucket bounds in seconds; empty for gauges and counters.
    pub buckets: &'static [f64],
}

impl Definition {
    /// `mrap_auditor_NAME`, as Prometheus sees it.
    pub fn full_name(&self) -> String {
        format!("{PREFIX}_{}", self.name)
    }

    /// The HELP text: the field's doc comment.
    pub fn help(&self) -> &'static str {
        self.doc.trim()
    }

    fn opts(&self) -> Opts {
        Opts::new(self.name, self.help()).namespace(PREFIX)
    }

    /// What the metric type takes: labels (a vector type) or not, buckets (a histogram) or not.
    fn check(&self, labels: bool, buckets: bool) -> Result<(), prometheus::Error> {
        let wrong = |why: &str| Err(prometheus::Error::Msg(format!("metric `{}` {why}", self.name)));
        match (labels, buckets) {
            (false, _) if !self.labels.is_empty() => wrong("has labels: declare it with a vector type"),
            (true, _) if self.labels.is_empty() => wrong("has no labels: declare it with a scalar type"),
            (_, true) if self.buckets.is_empty() => wrong("is a histogram without buckets"),
            (_, false) if !self.buckets.is_empty() => wrong("has buckets but is not a histogram"),
            _ => Ok(()),
        }
    }
}

/// A metric type the `metrics!` table can declare: its `# TYPE`, and how its definition builds it.
trait Metric: Collector + Clone + 'static {
    const KIND: Kind;
    fn build(definition: &Definition) -> Result<Self, prometheus::Error>;
}

impl Metric for IntGaugeVec {
    const KIND: Kind = Kind::Gauge;
    fn build(d: &Definition) -> Result<Self, prometheus::Error> {
        d.check(true, false)?;
        IntGaugeVec::new(d.opts(), d.labels)
    }
}

impl Metric for GaugeVec {
    const KIND: Kind = Kind::Gauge;
    fn build(d: &Definition) -> Result<Self, prometheus::Error> {
        d.check(true, false)?;
        GaugeVec::new(d.opts(), d.labels)
    }
}

impl Metric for Gauge {
    const KIND: Kind = Kind::Gauge;
    fn build(d: &Definition) -> Result<Self, prometheus::Error> {
        d.check(false, false)?;
        Gauge::with_opts(d.opts())
    }
}

impl Metric for IntCounterVec {
    const KIND: Kind = Kind::Counter;
    fn build(d: &Definition) -> Result<Self, prometheus::Error> {
        d.check(true, false)?;
        IntCounterVec::new(d.opts(), d.labels)
    }
}

impl Metric for IntCounter {
    const KIND: Kind = Kind::Counter;
    fn build(d: &Definition) -> Result<Self, prometheus::Error> {
        d.check(false, false)?;
        IntCounter::with_opts(d.opts())
    }
}

impl Metric for Histogram {
    const KIND: Kind = Kind::Histogram;
    fn build(d: &Definition) -> Result<Self, prometheus::Error> {
        d.check(false, true)?;
        Histogram::with_opts(HistogramOpts::new(d.name, d.help()).namespace(PREFIX).buckets(d.buckets.to_vec()))
    }
}

/// Declares the [`Metrics`] struct, its registration and [`DEFINITIONS`] from one table. Each
/// entry is a field: its doc comment is the HELP text, its type the metric type, the bracket its
/// label names; a histogram adds `buckets BOUNDS`.
macro_rules! metrics {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $field_vis:vis $metric:ident: $ty:ty [$($label:literal),* $(,)?] $(buckets $buckets:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            registry: Registry,
            /// Written while a cycle's gauges are reset and refilled, read while rendering: a
            /// scrape sees the set before or after a cycle, never half of it.
            consistency: RwLock<()>,
            $(
                $(#[doc = $doc])+
                $field_vis $metric: $ty,
            )*
        }

        /// Every metric of [`Metrics`], in the order the table declares them.
        pub const DEFINITIONS: &[Definition] =
            &[$(metrics!(@definition $metric, $ty, [$($label),*], [$($doc),+], $($buckets)?)),*];

        impl $name {
            /// Builds every metric of the table and registers it on a registry of its own.
            fn register() -> Result<$name, MetricsError> {
                let registry = Registry::new();
                $(
                    let $metric = <$ty as Metric>::build(
                        &metrics!(@definition $metric, $ty, [$($label),*], [$($doc),+], $($buckets)?),
                    )?;
                    registry.register(Box::new($metric.clone()))?;
                )*
                Ok($name { registry, consistency: RwLock::new(()), $($metric,)* })
            }
        }
    };
    (@definition $metric:ident, $ty:ty, [$($label:literal),*], [$($doc:literal),+], $($buckets:expr)?) => {
        Definition {
            name: stringify!($metric),
            kind: <$ty as Metric>::KIND,
            labels: &[$($label),*],
            doc: concat!($($doc),+),
            buckets: metrics!(@buckets $($buckets)?),
        }
    };
    (@buckets) => { &[] };
    (@buckets $buckets:expr) => { $buckets };
}

/// Bounds of the cycle histogram: a cycle on a snapshot takes milliseconds, a live one seconds to
/// minutes.
const CYCLE_SECONDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
/// Bounds of the event-processing histogram (the auditor's own share: debounce and one cycle).
const PROCESSING_SECONDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Bounds of the event-lag histogram: CloudTrail delivers within seconds to about 15 minutes.
const LAG_SECONDS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0];

metrics! {
    /// Every metric the daemon exports (the README's metrics table lists the same, in this order).
    pub struct Metrics {
        /// 1 when the bucket gives the expected answer, 0 when it does not; absent when unknown.
        pub expectation_holds: IntGaugeVec["expectation", "mrap", "bucket", "route"],
        /// 1 when the expectation could not be evaluated.
        pub expectation_unknown: IntGaugeVec["expectation", "mrap"],
        /// 1 for the bucket's current decision under the expectation: `allow`, `implicit_deny`,
        /// `explicit_deny` or `unknown`.
        pub access_verdict: IntGaugeVec["expectation", "mrap", "bucket", "route", "verdict"],
        /// 1 when the MRAP's Proposed policy would change the expectation's verdict.
        pub pending_change: IntGaugeVec["expectation", "mrap"],
        /// 1 when a bucket or MRAP policy is public (S3's meaning of public).
        pub policy_public: IntGaugeVec["kind", "resource"],
        /// Policy documents that changed (normalised: layout and key order do not count).
        pub policy_changes_total: IntCounterVec["kind", "resource"],
        /// Expectation verdicts that flipped from one known verdict to another.
        pub verdict_changes_total: IntCounterVec["expectation", "from", "to"],
        /// Current findings by severity and code.
        pub findings: IntGaugeVec["severity", "code"],
        /// Duration of one audit cycle (capture, evaluation, history, export).
        pub poll_duration_seconds: Histogram[] buckets CYCLE_SECONDS,
        /// Unix time at the end of the last complete cycle.
        pub last_success_timestamp_seconds: Gauge[],
        /// AWS or snapshot read errors by API and error code.
        pub source_errors_total: IntCounterVec["api", "code"],
        /// Always 1; the `version` label says which build runs.
        pub build_info: IntGaugeVec["version"],
        /// Audit cycles by outcome: `ok`, `degraded` (some input unreadable), `failed`, `timeout`.
        pub cycles_total: IntCounterVec["outcome"],
        /// Alert batches Alertmanager did not accept after the push's retries.
        pub alert_push_failures_total: IntCounter[],
        /// The configured time between audit cycles (the stall alert compares the last success
        /// with it).
        pub interval_seconds: Gauge[],
        /// Change events received from the queues, by CloudTrail service (`s3`, `ec2`) and
        /// `eventName` (`other` for one the auditor does not follow).
        pub events_received_total: IntCounterVec["source", "event"],
        /// Change events that triggered no cycle: `malformed`, `unknown_event`, `failed_call` (AWS
        /// refused the call), `not_used` (no configured MRAP uses what it touched).
        pub events_dropped_total: IntCounterVec["reason"],
        /// From a change's CloudTrail `eventTime` to its verdict published (CloudTrail's and
        /// EventBridge's delivery included).
        pub event_lag_seconds: Histogram[] buckets LAG_SECONDS,
        /// From a change event received to its verdict published (the auditor's own share,
        /// `debounce` included).
        pub event_processing_seconds: Histogram[] buckets PROCESSING_SECONDS,
        /// Event-queue reads or deletes that failed, by region and error code.
        pub queue_errors_total: IntCounterVec["region", "code"],
        /// How long the MRAP's Proposed policy has waited for AWS to apply it.
        pub pending_change_age_seconds: GaugeVec["mrap"],
        /// Grants of the access map by door and caller (`path_kind`: `mrap_endpoint`,
        /// `mrap_internet`, `bucket_internet`, `bucket_endpoint`; `callers_kind`: `anonymous`,
        /// `any_principal`, `other_account`, `owner_account`, `org`, `principal`).
        pub access_grants: IntGaugeVec["mrap", "bucket", "path_kind", "callers_kind"],
        /// Grants of the access map `gained` or `lost` from one cycle to the next.
        pub access_changes_total: IntCounterVec["mrap", "bucket", "direction"],
        /// 1 when a `[[forbid]]` is violated by a grant of the access map, 0 when it holds; absent
        /// when unknown.
        pub forbid_violated: IntGaugeVec["forbid", "mrap"],
        /// The daemon's own failures, logged and shown: `history_write`, `history_read`,
        /// `history_lock`, `report_serialize`, `metrics_encode`.
        pub internal_errors_total: IntCounterVec["kind"],
    }
}

/// Why the metrics could not be rendered (answered with HTTP 500, never an empty page).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot encode the metrics: {0}")]
    Encode(#[from] prometheus::Error),
    #[error("the encoded metrics are not UTF-8: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
}

/// Why metrics could not be set up (a bug in the table: the unit tests build it).
#[derive(Debug, thiserror::Error)]
#[error("cannot register metric: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    /// Every metric of the table, registered, with `build_info` set.
    pub fn new() -> Result<Metrics, MetricsError> {
        let metrics = Metrics::register()?;
        metrics.build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Ok(metrics)
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
    use crate::report::{BucketReport, ExpectationReport, Verdict, fixture};

    /// `n` holding expectations `e0…`, each over four allowing buckets `b0…b3`.
    fn report(n: usize) -> Report {
        let mut r = fixture::one_bucket(Status::Holds, Verdict::Allow, BucketDecision::Allow);
        let template = r.expectations.remove(0);
        let bucket = template.buckets.first().cloned().unwrap();
        let buckets: Vec<BucketReport> =
            (0..4).map(|b| BucketReport { bucket: format!("b{b}"), ..bucket.clone() }).collect();
        r.expectations = (0..n)
            .map(|i| ExpectationReport { name: format!("e{i}"), buckets: buckets.clone(), ..template.clone() })
            .collect();
        r
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

    /// The README's metrics table (README.md, "### Metrics"), row by row: the name in backticks,
    /// the type, the label names joined by ", ", and the meaning, which is the HELP text.
    fn readme_rows() -> Vec<[String; 4]> {
        let readme = include_str!("../../README.md");
        let section = readme.split("\n### Metrics\n").nth(1).expect("README.md has a `### Metrics` section");
        section
            .lines()
            .skip_while(|l| !l.starts_with("| `mrap_auditor_"))
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                let cells: Vec<String> = l.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
                cells.try_into().unwrap_or_else(|c: Vec<String>| panic!("{} cells, not 4, in the row {l:?}", c.len()))
            })
            .collect()
    }

    fn row(d: &Definition) -> [String; 4] {
        [format!("`{}`", d.full_name()), d.kind.name().to_string(), d.labels.join(", "), d.help().to_string()]
    }

    #[test]
    fn the_readme_table_is_the_definitions() {
        let defined: Vec<[String; 4]> = DEFINITIONS.iter().map(row).collect();
        let readme = readme_rows();
        for r in &defined {
            assert!(
                readme.contains(r),
                "README.md's metrics table lacks this row (or has it otherwise):\n| {} |",
                r.join(" | ")
            );
        }
        for r in &readme {
            assert!(
                defined.contains(r),
                "README.md's metrics table has a row the table here does not define:\n| {} |",
                r.join(" | ")
            );
        }
        assert_eq!(readme, defined, "the README lists the metrics in the order they are declared here");
    }

    /// DESIGN §8 is a contract (alert rules, dashboards and users' queries name these): each name
    /// keeps its type and its labels, in this order.
    #[test]
    fn design_section_8_names_types_and_labels_stay() {
        let contract: &[(&str, Kind, &[&str])] = &[
            ("expectation_holds", Kind::Gauge, &["expectation", "mrap", "bucket", "route"]),
            ("expectation_unknown", Kind::Gauge, &["expectation", "mrap"]),
            ("access_verdict", Kind::Gauge, &["expectation", "mrap", "bucket", "route", "verdict"]),
            ("pending_change", Kind::Gauge, &["expectation", "mrap"]),
            ("policy_public", Kind::Gauge, &["kind", "resource"]),
            ("policy_changes_total", Kind::Counter, &["kind", "resource"]),
            ("verdict_changes_total", Kind::Counter, &["expectation", "from", "to"]),
            ("findings", Kind::Gauge, &["severity", "code"]),
            ("poll_duration_seconds", Kind::Histogram, &[]),
            ("last_success_timestamp_seconds", Kind::Gauge, &[]),
            ("source_errors_total", Kind::Counter, &["api", "code"]),
            ("build_info", Kind::Gauge, &["version"]),
        ];
        for (name, kind, labels) in contract {
            let d = DEFINITIONS.iter().find(|d| d.name == *name).unwrap_or_else(|| panic!("`{name}` is gone"));
            assert_eq!((d.kind, d.labels), (*kind, *labels), "{name}");
        }
    }

    #[test]
    fn the_exposition_says_the_definitions_help_and_type() {
        let metrics = Metrics::new().unwrap();
        metrics.observe(&report(1), None, &[]);
        metrics.poll_duration_seconds.observe(0.1);
        let text = metrics.render().unwrap();
        let mut seen = 0;
        for d in DEFINITIONS {
            let name = d.full_name();
            // A vector without samples is not exposed; every one that is must say its definition.
            let Some(help) = text.lines().find_map(|l| l.strip_prefix(&format!("# HELP {name} "))) else { continue };
            assert_eq!(help, d.help(), "{name}");
            assert!(text.contains(&format!("# TYPE {name} {}\n", d.kind.name())), "{name}");
            seen += 1;
        }
        assert!(seen >= 10, "only {seen} metrics exposed:\n{text}");
    }

    #[test]
    fn a_declaration_that_does_not_fit_its_type_is_refused() {
        let d = |labels: &'static [&'static str], buckets: &'static [f64]| Definition {
            name: "x",
            kind: Kind::Gauge,
            labels,
            doc: " x.",
            buckets,
        };
        let cases: &[(&str, Result<(), prometheus::Error>, &str)] = &[
            (
                "scalar with labels",
                Gauge::build(&d(&["a"], &[])).map(drop),
                "metric `x` has labels: declare it with a vector type",
            ),
            (
                "vector without labels",
                IntGaugeVec::build(&d(&[], &[])).map(drop),
                "metric `x` has no labels: declare it with a scalar type",
            ),
            (
                "histogram without buckets",
                Histogram::build(&d(&[], &[])).map(drop),
                "metric `x` is a histogram without buckets",
            ),
            (
                "gauge with buckets",
                Gauge::build(&d(&[], &[1.0])).map(drop),
                "metric `x` has buckets but is not a histogram",
            ),
        ];
        for (case, result, message) in cases {
            let e = result.as_ref().expect_err(case);
            assert_eq!(e.to_string(), format!("Error: {message}"), "{case}");
        }
        assert!(Histogram::build(&d(&[], &[1.0])).is_ok());
    }
}
