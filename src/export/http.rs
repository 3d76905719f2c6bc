//! The HTTP interface: `/metrics`, `/healthz` (the process is alive), `/readyz` (a cycle has
//! completed and the last one is recent), `/api/v1/report`, `/api/v1/history`, and `/`, a small
//! server-rendered status page.

use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracing::error;

use super::metrics::Metrics;
use crate::history::History;
use crate::report::{Report, Status};

/// What the HTTP handlers read; written by the audit loop.
pub struct Shared {
    pub metrics: Metrics,
    /// The last published report (a cycle's report is published whole, never half-built).
    pub report: RwLock<Option<Arc<Report>>>,
    /// End of the last complete cycle.
    pub last_cycle: RwLock<Option<DateTime<Utc>>>,
    /// The current interval (it can change on reload).
    pub interval: RwLock<Duration>,
    pub history_path: PathBuf,
    /// Why the last cycle's history write failed (`None` once a write succeeds): the status
    /// page shows it instead of a history that silently stopped.
    pub history_error: RwLock<Option<String>>,
}

impl Shared {
    /// The published report. The locks hold plain values written whole, so a poisoned one (a
    /// panic elsewhere while holding it) still holds a consistent value: read it, never "none".
    pub fn current_report(&self) -> Option<Arc<Report>> {
        self.report.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn history_problem(&self) -> Option<String> {
        self.history_error.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Ready once a cycle has completed and the last one is not older than three intervals.
    pub fn readiness(&self) -> Result<(), String> {
        let last = *self.last_cycle.read().unwrap_or_else(PoisonError::into_inner);
        let interval = *self.interval.read().unwrap_or_else(PoisonError::into_inner);
        match last {
            None => Err("no audit cycle has completed yet".into()),
            Some(t) => {
                let age = (Utc::now() - t).to_std().unwrap_or_default();
                if age > interval * 3 {
                    Err(format!("the last completed cycle is {}s old, more than three intervals", age.as_secs()))
                } else {
                    Ok(())
                }
            }
        }
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/report", get(report))
        .route("/api/v1/history", get(history))
        .with_state(shared)
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(shared)).with_graceful_shutdown(shutdown).await
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    match s.metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        // An empty 200 would read as "no series": every alert on absence would misfire.
        Err(e) => {
            s.metrics.internal_error("metrics_encode");
            error!(error = %e, "The metrics could not be rendered.");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot render the metrics: {e}\n")).into_response()
        }
    }
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    match s.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")).into_response(),
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

async fn report(State(s): State<Arc<Shared>>) -> Response {
    match s.current_report() {
        Some(r) => axum::Json(r.as_ref().clone()).into_response(),
        None => json_error(StatusCode::SERVICE_UNAVAILABLE, "no audit cycle has completed yet"),
    }
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    expect: Option<String>,
    /// A duration such as `24h`.
    since: Option<String>,
    limit: Option<usize>,
}

async fn history(State(s): State<Arc<Shared>>, Query(q): Query<HistoryQuery>) -> Response {
    let since = match q.since.as_deref().map(humantime::parse_duration).transpose() {
        Ok(d) => d.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| Utc::now() - d),
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("`since`: {e}")),
    };
    let limit = q.limit.unwrap_or(200).min(10_000);
    let path = s.history_path.clone();
    let events = tokio::task::spawn_blocking(move || {
        History::open_read_only(&path).and_then(|h| h.events(q.expect.as_deref(), since, limit))
    })
    .await;
    match events {
        Ok(Ok(events)) => axum::Json(serde_json::json!({ "events": events })).into_response(),
        Ok(Err(e)) => {
            s.metrics.internal_error("history_read");
            error!(error = %e, "The history could not be read for /api/v1/history.");
            json_error(StatusCode::SERVICE_UNAVAILABLE, &format!("the history could not be read: {e}"))
        }
        Err(e) => {
            s.metrics.internal_error("history_read");
            error!(error = %e, "The history reader stopped.");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the history reader stopped: {e}"))
        }
    }
}

/// The recent events for the status page, or why they could not be read (logged and counted).
async fn recent_events(s: &Shared) -> Result<Vec<crate::history::Event>, String> {
    let path = s.history_path.clone();
    let read =
        tokio::task::spawn_blocking(move || History::open_read_only(&path).and_then(|h| h.events(None, None, 20)))
            .await;
    let failure = match read {
        Ok(Ok(events)) => return Ok(events),
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("the history reader stopped: {e}"),
    };
    s.metrics.internal_error("history_read");
    error!(error = %failure, "The history could not be read for the status page.");
    Err(failure)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn status_page(State(s): State<Arc<Shared>>) -> Html<String> {
    let recent = recent_events(&s).await;
    let mut page = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"30\">\
         <title>mrap-auditor</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.holds{background:#dfd}.violated{background:#fdd}\
         .unknown{background:#ffd}small{color:#666}.error{color:#a00}</style></head><body><h1>mrap-auditor</h1>",
    );
    match s.readiness() {
        Ok(()) => page.push_str("<p>Ready.</p>"),
        Err(why) => {
            let _ = write!(page, "<p><b>Not ready:</b> {}</p>", escape(&why));
        }
    }
    if let Some(r) = s.current_report() {
        let _ = write!(
            page,
            "<p><small>Report of {} from the {} source.</small></p>",
            escape(&r.generated_at),
            escape(&r.source)
        );
        page.push_str("<h2>Expectations</h2><table><tr><th>expectation</th><th>status</th><th>expect</th><th>verdict</th><th>MRAP</th><th>buckets</th><th>failover</th><th>pending change</th></tr>");
        for e in &r.expectations {
            let class = match e.status {
                Status::Holds => "holds",
                Status::Violated => "violated",
                Status::Unknown => "unknown",
            };
            let buckets: Vec<String> = e
                .buckets
                .iter()
                .map(|b| {
                    let layer = b.deciding_layer.map(|l| format!(" at {}", l.name())).unwrap_or_default();
                    format!(
                        "{} ({}): <b>{}</b>{layer}<br><small>{}</small>",
                        escape(&b.bucket),
                        b.route.name(),
                        b.decision.name(),
                        escape(&b.reason)
                    )
                })
                .collect();
            let expect = match e.expect {
                crate::config::Expect::Allow => "allow",
                crate::config::Expect::Deny => "deny",
            };
            let _ = write!(
                page,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{expect}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.name),
                e.status.name(),
                e.verdict.name(),
                escape(&e.mrap),
                buckets.join("<br>"),
                e.failover.name(),
                if e.pending_change { "yes" } else { "no" },
            );
        }
        page.push_str("</table>");
        if !r.findings.is_empty() {
            page.push_str(
                "<h2>Findings</h2><table><tr><th>severity</th><th>code</th><th>resource</th><th>message</th></tr>",
            );
            for f in &r.findings {
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    f.severity.name(),
                    escape(&f.code),
                    escape(&f.resource),
                    escape(&f.message)
                );
            }
            page.push_str("</table>");
        }
    } else {
        page.push_str("<p>No audit cycle has completed yet.</p>");
    }
    page.push_str("<h2>Recent changes</h2>");
    if let Some(problem) = s.history_problem() {
        let _ = write!(page, "<p class=\"error\"><b>The history could not be written:</b> {}</p>", escape(&problem));
    }
    match recent {
        Err(why) => {
            let _ = write!(page, "<p class=\"error\"><b>The history could not be read:</b> {}</p>", escape(&why));
        }
        Ok(events) if events.is_empty() => page.push_str("<p>None recorded.</p>"),
        Ok(events) => {
            page.push_str("<table><tr><th>time</th><th>kind</th><th>expectation</th><th>subject</th><th>change</th><th>detail</th><th>changed by</th></tr>");
            for ev in &events {
                let change = format!("{} → {}", ev.from.as_deref().unwrap_or(""), ev.to.as_deref().unwrap_or(""));
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&ev.ts),
                    escape(&ev.kind),
                    escape(ev.expectation.as_deref().unwrap_or("")),
                    escape(&ev.subject),
                    escape(&change),
                    escape(&ev.detail),
                    escape(&ev.changed_by_text())
                );
            }
            page.push_str("</table>");
        }
    }
    page.push_str("<p><small><a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/report\">report</a> · <a href=\"/api/v1/history\">history</a></small></p></body></html>");
    Html(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(last: Option<DateTime<Utc>>) -> Shared {
        Shared {
            metrics: Metrics::new().unwrap(),
            report: RwLock::new(None),
            last_cycle: RwLock::new(last),
            interval: RwLock::new(Duration::from_secs(60)),
            history_path: PathBuf::from("/nonexistent"),
            history_error: RwLock::new(None),
        }
    }

    #[tokio::test]
    async fn an_unreadable_history_is_shown_and_counted_not_none_recorded() {
        let s = Arc::new(shared(None));
        let Html(page) = status_page(State(s.clone())).await;
        assert!(page.contains("The history could not be read:"), "{page}");
        assert!(!page.contains("None recorded"), "{page}");
        let r = history(State(s.clone()), Query(HistoryQuery { expect: None, since: None, limit: None })).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let text = s.metrics.render().unwrap();
        assert!(text.contains("mrap_auditor_internal_errors_total{kind=\"history_read\"} 2"), "{text}");
        *s.history_error.write().unwrap() = Some("disk full".into());
        let Html(page) = status_page(State(s)).await;
        assert!(page.contains("The history could not be written:</b> disk full"), "{page}");
    }

    #[test]
    fn readiness_needs_a_recent_cycle() {
        assert_eq!(shared(None).readiness(), Err("no audit cycle has completed yet".to_string()));
        assert_eq!(shared(Some(Utc::now() - chrono::Duration::seconds(100))).readiness(), Ok(()));
        let stale = shared(Some(Utc::now() - chrono::Duration::seconds(200))).readiness().unwrap_err();
        assert!(stale.contains("more than three intervals"), "{stale}");
    }

    #[test]
    fn escapes_html() {
        assert_eq!(escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    }
}
