//! The HTTP interface: `/metrics`, `/healthz` (the process is alive), `/readyz` (a cycle has
//! completed and the last one is recent), `/api/v1/report`, `/api/v1/history`, and the status
//! page (`/`, `/expectations/NAME`, `/access`, rendered by [`super::page`]).

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::metrics::Metrics;
use super::page::{self, CycleInfo};
use crate::history::History;
use crate::report::Report;

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
    /// The status page's reload period (`[daemon] refresh`; it can change on reload).
    pub refresh: RwLock<Duration>,
    /// The last cycle's outcome, duration and input, for the status page.
    pub cycle: RwLock<Option<Arc<CycleInfo>>>,
}

impl Shared {
    pub fn current_report(&self) -> Option<Arc<Report>> {
        self.report.read().ok().and_then(|r| r.clone())
    }

    /// Ready once a cycle has completed and the last one is not older than three intervals.
    pub fn readiness(&self) -> Result<(), String> {
        let last = self.last_cycle.read().ok().and_then(|l| *l);
        let interval = self.interval.read().map(|i| *i).unwrap_or(Duration::from_secs(300));
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
        .route("/", get(page::status))
        .route("/expectations/{name}", get(page::expectation))
        .route("/access", get(page::access_map))
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], s.metrics.render()).into_response()
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
        Ok(Err(e)) => json_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
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
            refresh: RwLock::new(Duration::from_secs(30)),
            cycle: RwLock::new(None),
        }
    }

    #[test]
    fn readiness_needs_a_recent_cycle() {
        assert_eq!(shared(None).readiness(), Err("no audit cycle has completed yet".to_string()));
        assert_eq!(shared(Some(Utc::now() - chrono::Duration::seconds(100))).readiness(), Ok(()));
        let stale = shared(Some(Utc::now() - chrono::Duration::seconds(200))).readiness().unwrap_err();
        assert!(stale.contains("more than three intervals"), "{stale}");
    }
}
