//! Alerts: every verdict change and new finding as a structured log event, and, optionally, the
//! current alerts pushed to an Alertmanager (`POST /api/v2/alerts`).
//!
//! The push runs in its own task fed by a `watch` channel: the audit loop only replaces the
//! latest batch and never waits, so a down Alertmanager cannot stall it. A batch that arrives
//! while an older one is being retried replaces it and is delivered. Firing alerts are re-sent
//! each cycle with an `endsAt` three intervals ahead (so they do not lapse between cycles); an
//! alert that stopped firing is sent once more with `endsAt` = now (resolved).
//!
//! A passing error never resolves a page: an alert about an expectation (or one of its buckets)
//! that has become unknown keeps firing — same `startsAt`, same text, `endsAt` moved ahead —
//! until a cycle that *knows* shows it no longer applies. Otherwise every throttled AWS read
//! would resolve the page and re-fire it a cycle later.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::drift::Drift;
use crate::report::{BucketDecision, Failover, Report, RouteRole, Status};

/// One alert in Alertmanager's v2 API shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
}

/// The alerts a report raises, keyed by their label set.
pub fn alerts_for(report: &Report) -> BTreeMap<BTreeMap<String, String>, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for e in &report.expectations {
        if e.status == Status::Violated {
            for b in e.buckets.iter().filter(|b| b.route == RouteRole::Active && e.expect.contradicted_by(b.decision)) {
                let l = labels(&[
                    ("alertname", "MrapAuditorExpectationViolated"),
                    ("expectation", &e.name),
                    ("mrap", &e.mrap),
                    ("bucket", &b.bucket),
                    ("severity", "critical"),
                ]);
                let a = annotations(
                    format!(
                        "{} is violated: expected {}, got {} on {}",
                        e.name,
                        e.expect.name(),
                        b.decision.name(),
                        b.bucket
                    ),
                    format!(
                        "{} through {} to {} lands on {} ({}): {}",
                        e.principal, e.via, e.mrap, b.bucket, b.region, b.reason
                    ),
                );
                out.insert(l, a);
            }
        }
        if e.status == Status::Unknown {
            let l = labels(&[
                ("alertname", "MrapAuditorExpectationUnknown"),
                ("expectation", &e.name),
                ("mrap", &e.mrap),
                ("severity", "warning"),
            ]);
            out.insert(l, annotations(format!("{} cannot be evaluated", e.name), e.summary.clone()));
        }
        // A Proposed policy that would change a verdict that holds now would break it; one that
        // changes a violated verdict may be the fix (the rules draw the same line).
        if e.pending_change && e.status == Status::Holds {
            let l = labels(&[
                ("alertname", "MrapAuditorPendingChange"),
                ("expectation", &e.name),
                ("mrap", &e.mrap),
                ("severity", "warning"),
            ]);
            let to = e.proposed_verdict.map_or("unknown", |v| v.name());
            out.insert(
                l,
                annotations(format!("the Proposed policy of {} would make {} {to}", e.mrap, e.name), e.summary.clone()),
            );
        }
        if e.failover == Failover::NotReady {
            for b in e.buckets.iter().filter(|b| b.route == RouteRole::Passive && e.expect.contradicted_by(b.decision))
            {
                let l = labels(&[
                    ("alertname", "MrapAuditorFailoverNotReady"),
                    ("expectation", &e.name),
                    ("mrap", &e.mrap),
                    ("bucket", &b.bucket),
                    ("severity", "warning"),
                ]);
                out.insert(
                    l,
                    annotations(format!("failover to {} would break {}", b.bucket, e.name), b.reason.clone()),
                );
            }
        }
    }
    out
}

fn annotations(summary: String, description: String) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("summary".to_string(), summary);
    a.insert("description".to_string(), description);
    a
}

/// An alert's labels (its identity in Alertmanager) or annotations.
type Labels = BTreeMap<String, String>;

/// Tracks what is firing to build each push: firing alerts, plus those that just resolved.
#[derive(Debug, Default)]
pub struct AlertBook {
    /// Label set → when it started firing, and the annotations it was last sent with.
    firing: BTreeMap<Labels, (DateTime<Utc>, Labels)>,
}

/// Whether the report cannot tell if a firing alert still applies: its expectation is unknown,
/// or the bucket it names has an unknown decision. (An alert about an expectation that is no
/// longer configured does resolve.)
fn undecided(report: &Report, labels: &BTreeMap<String, String>) -> bool {
    let Some(e) = labels.get("expectation").and_then(|n| report.expectations.iter().find(|e| &e.name == n)) else {
        return false;
    };
    if labels.get("alertname").map(String::as_str) == Some("MrapAuditorExpectationUnknown") {
        return false;
    }
    e.status == Status::Unknown
        || labels
            .get("bucket")
            .is_some_and(|b| e.buckets.iter().any(|x| &x.bucket == b && x.decision == BucketDecision::Unknown))
}

impl AlertBook {
    pub fn batch(
        &mut self,
        report: &Report,
        now: DateTime<Utc>,
        interval: Duration,
        generator_url: &str,
    ) -> Vec<Alert> {
        let current = alerts_for(report);
        let horizon = now + chrono::Duration::from_std(interval * 3).unwrap_or_else(|_| chrono::Duration::hours(1));
        let mut batch = Vec::new();
        for (l, a) in &current {
            let entry = self.firing.entry(l.clone()).or_insert_with(|| (now, a.clone()));
            entry.1 = a.clone();
            batch.push(Alert {
                labels: l.clone(),
                annotations: a.clone(),
                starts_at: rfc3339(entry.0),
                ends_at: rfc3339(horizon),
                generator_url: generator_url.to_string(),
            });
        }
        let gone: Vec<_> = self.firing.keys().filter(|l| !current.contains_key(*l)).cloned().collect();
        for l in gone {
            if undecided(report, &l) {
                // Not known to be over: keep it firing as it was.
                if let Some((starts, a)) = self.firing.get(&l) {
                    batch.push(Alert {
                        labels: l.clone(),
                        annotations: a.clone(),
                        starts_at: rfc3339(*starts),
                        ends_at: rfc3339(horizon),
                        generator_url: generator_url.to_string(),
                    });
                }
                continue;
            }
            if let Some((starts, _)) = self.firing.remove(&l) {
                let a = annotations("resolved".into(), "the verdict returned to what is expected".into());
                batch.push(Alert {
                    labels: l,
                    annotations: a,
                    starts_at: rfc3339(starts),
                    ends_at: rfc3339(now),
                    generator_url: generator_url.to_string(),
                });
            }
        }
        batch
    }
}

/// Logs every verdict change and new finding as a structured event.
pub fn log_drift(drift: &Drift) {
    for v in &drift.verdict_changes {
        warn!(expectation = %v.expectation, mrap = %v.mrap, from = v.from.name(), to = v.to.name(), status = v.status_to.name(), "Verdict changed.");
    }
    for d in &drift.decision_changes {
        warn!(expectation = %d.expectation, bucket = %d.bucket, from = d.from.name(), to = d.to.name(), reason = %d.reason, "Bucket decision changed.");
    }
    for p in &drift.policy_changes {
        info!(kind = %p.kind, resource = %p.resource, change = ?p.change, "Policy changed.");
    }
    for e in &drift.pending_changes {
        warn!(expectation = %e, "A Proposed MRAP policy would change the verdict.");
    }
    for f in &drift.failover_changes {
        warn!(expectation = %f.expectation, from = f.from.name(), to = f.to.name(), "Failover readiness changed.");
    }
    for f in &drift.new_findings {
        warn!(severity = f.severity.name(), code = %f.code, resource = %f.resource, message = %f.message, "New finding.");
    }
    for f in &drift.resolved_findings {
        info!(severity = f.severity.name(), code = %f.code, resource = %f.resource, "Finding resolved.");
    }
    for k in &drift.became_unknown {
        warn!(expectation = k.expectation.as_deref().unwrap_or("-"), subject = %k.subject, detail = %k.detail, "Became unknown.");
    }
    for k in &drift.known_again {
        info!(expectation = k.expectation.as_deref().unwrap_or("-"), subject = %k.subject, detail = %k.detail, "Known again.");
    }
}

/// Pushes the latest batch to an Alertmanager, with retries and backoff.
pub async fn push_loop(url: String, batches: watch::Receiver<Vec<Alert>>, failures: prometheus::IntCounter) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "Alertmanager client could not be built; alerts are logged only.");
            return;
        }
    };
    push_with(&client, &format!("{url}/api/v2/alerts"), batches, failures, Duration::from_millis(500)).await;
}

/// The delivery loop: each batch is posted with up to five attempts; a batch that arrives during
/// the retries replaces the one being retried and is delivered next (marking it seen in the
/// retry and then waiting for the *next* change lost it: a resolution could wait a whole cycle).
async fn push_with(
    client: &reqwest::Client,
    endpoint: &str,
    mut batches: watch::Receiver<Vec<Alert>>,
    failures: prometheus::IntCounter,
    first_delay: Duration,
) {
    let mut pending: Option<Vec<Alert>> = None;
    loop {
        let batch = match pending.take() {
            Some(b) => b,
            None => {
                if batches.changed().await.is_err() {
                    return;
                }
                batches.borrow_and_update().clone()
            }
        };
        if batch.is_empty() {
            continue;
        }
        let mut delay = first_delay;
        for attempt in 1..=5u32 {
            match client.post(endpoint).json(&batch).send().await {
                Ok(r) if r.status().is_success() => {
                    info!(alerts = batch.len(), "Alerts pushed to Alertmanager.");
                    break;
                }
                Ok(r) => warn!(status = %r.status(), attempt, "Alertmanager refused the alerts."),
                Err(e) => warn!(error = %e, attempt, "Alertmanager unreachable."),
            }
            if attempt == 5 {
                failures.inc();
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                changed = batches.changed() => {
                    if changed.is_err() { return; }
                    // The newer batch supersedes this one: deliver it next.
                    pending = Some(batches.borrow_and_update().clone());
                    break;
                }
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Verdict, fixture};

    fn report(decision: BucketDecision) -> Report {
        let status = if decision == BucketDecision::Allow { Status::Holds } else { Status::Violated };
        fixture::one_bucket(status, Verdict::Intermittent, decision)
    }

    fn report_with(decision: BucketDecision, status: Status) -> Report {
        let mut r = report(decision);
        r.expectations[0].status = status;
        r
    }

    #[test]
    fn an_unknown_cycle_keeps_a_violation_firing() {
        let mut book = AlertBook::default();
        let t = Utc::now();
        let i = Duration::from_secs(60);
        let fired = book.batch(&report(BucketDecision::ImplicitDeny), t, i, "http://x/");
        let violated: Vec<_> =
            fired.iter().filter(|a| a.labels["alertname"] == "MrapAuditorExpectationViolated").collect();
        assert_eq!(violated.len(), 1);
        for k in 1..=2 {
            let later = t + chrono::Duration::seconds(60 * k);
            let gap = book.batch(&report_with(BucketDecision::Unknown, Status::Unknown), later, i, "http://x/");
            let kept = gap.iter().find(|a| a.labels["alertname"] == "MrapAuditorExpectationViolated").unwrap();
            assert_eq!(kept.starts_at, violated[0].starts_at, "same startsAt");
            assert_eq!(kept.annotations, violated[0].annotations, "same text, not `resolved`");
            assert_eq!(kept.ends_at, rfc3339(later + chrono::Duration::seconds(180)), "endsAt moved ahead");
        }
        // A cycle that knows it holds resolves it.
        let known = book.batch(&report(BucketDecision::Allow), t + chrono::Duration::seconds(180), i, "http://x/");
        let resolved = known.iter().find(|a| a.labels["alertname"] == "MrapAuditorExpectationViolated").unwrap();
        assert_eq!(resolved.annotations["summary"], "resolved");
        assert_eq!(resolved.starts_at, violated[0].starts_at);
    }

    /// A fake Alertmanager: answers 500 to the first `fail` posts, records every body.
    async fn fake_alertmanager(fail: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let (b, n) = (bodies.clone(), seen.clone());
        let app = axum::Router::new().route(
            "/api/v2/alerts",
            axum::routing::post(move |body: String| {
                let (b, n) = (b.clone(), n.clone());
                async move {
                    b.lock().unwrap().push(body);
                    if n.fetch_add(1, Ordering::SeqCst) < fail {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/api/v2/alerts"), bodies)
    }

    fn alert(summary: &str) -> Alert {
        Alert {
            labels: labels(&[("alertname", "A")]),
            annotations: annotations(summary.into(), String::new()),
            starts_at: String::new(),
            ends_at: String::new(),
            generator_url: String::new(),
        }
    }

    #[tokio::test]
    async fn a_batch_arriving_during_retries_replaces_the_old_and_is_delivered() {
        // The first post fails; while its retry waits, a newer batch (the resolution) arrives.
        let (endpoint, bodies) = fake_alertmanager(1).await;
        let (tx, rx) = watch::channel(Vec::new());
        let failures = prometheus::IntCounter::new("f", "f").unwrap();
        let client = reqwest::Client::new();
        let task = tokio::spawn({
            let failures = failures.clone();
            async move { push_with(&client, &endpoint, rx, failures, Duration::from_secs(3600)).await }
        });
        tx.send_replace(vec![alert("firing")]);
        let wait = |n: usize| {
            let bodies = bodies.clone();
            async move {
                for _ in 0..500 {
                    if bodies.lock().unwrap().len() >= n {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                panic!("fewer than {n} posts");
            }
        };
        wait(1).await;
        tx.send_replace(vec![alert("resolved")]);
        wait(2).await;
        let got = bodies.lock().unwrap().clone();
        assert!(got[0].contains("firing"));
        assert!(got[1].contains("resolved"), "the newer batch is delivered, not skipped: {got:?}");
        assert_eq!(got.len(), 2, "the superseded batch is not retried");
        assert_eq!(failures.get(), 0);
        drop(tx);
        task.await.unwrap();
    }

    #[test]
    fn fires_then_resolves_once() {
        let mut book = AlertBook::default();
        let t = Utc::now();
        let first = book.batch(&report(BucketDecision::ImplicitDeny), t, Duration::from_secs(60), "http://x/");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].labels["alertname"], "MrapAuditorExpectationViolated");
        assert_eq!(first[0].labels["bucket"], "b1");
        let again = book.batch(
            &report(BucketDecision::ImplicitDeny),
            t + chrono::Duration::seconds(60),
            Duration::from_secs(60),
            "http://x/",
        );
        assert_eq!(again[0].starts_at, first[0].starts_at, "the start time is kept");
        let resolved = book.batch(
            &report(BucketDecision::Allow),
            t + chrono::Duration::seconds(120),
            Duration::from_secs(60),
            "http://x/",
        );
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].ends_at, rfc3339(t + chrono::Duration::seconds(120)));
        assert!(book.batch(&report(BucketDecision::Allow), t, Duration::from_secs(60), "http://x/").is_empty());
    }
}
