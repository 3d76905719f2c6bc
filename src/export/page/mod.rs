//! The status page, on-call's first screen: `/` (every MRAP's path drawn for its most urgent
//! expectation, freshness, findings, recent changes), `/expectations/NAME` (one expectation in
//! depth: its picture, the `explain` text per bucket, its verdict timeline, the command that
//! reproduces it) and `/access` (the access map, public and cross-account first).
//!
//! Rendered on the server with maud, which escapes every interpolated string: policy-derived
//! text (Sids, keys, ARNs, reasons) can never become markup. No script and no external asset:
//! the page reloads itself with `<meta http-equiv="refresh">` (`[daemon] refresh`) and works
//! offline. It leaves the JSON interfaces (`/api/v1/*`) to `http.rs`.

mod access;
pub mod layout;
pub mod svg;

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use tracing::error;

use super::http::Shared;
use crate::access::AccessMap;
use crate::audit::AuditOptions;
use crate::config::Config;
use crate::history::{Event, History};
use crate::report::{ExpectationReport, Report};
use crate::snapshot::Snapshot;

/// What the page shows of the last cycle besides its report; written by the daemon.
#[derive(Debug, Clone)]
pub struct CycleInfo {
    /// `ok`, `degraded`, `failed` or `timeout` (the `cycles_total` outcome).
    pub outcome: String,
    pub duration: Duration,
    pub ended: DateTime<Utc>,
    /// Failed reads of the source during the cycle.
    pub source_errors: usize,
    /// The accepted access map of `[access] accepted`, when it was readable.
    pub accepted: Option<Arc<AccessMap>>,
    /// What the report was computed from, so `/expectations/NAME` can show the full `explain`
    /// text of that very cycle (re-evaluating one expectation is cheap; keeping every
    /// explanation of every cycle is not).
    pub input: Option<Arc<AuditInput>>,
}

#[derive(Debug)]
pub struct AuditInput {
    pub config: Arc<Config>,
    pub snapshot: Arc<Snapshot>,
    pub options: AuditOptions,
}

/// The style: one column under 720 px (a phone), the pictures scale with the width.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:0;color:#1f2328;background:#fff;line-height:1.45}
header{background:#24292f;color:#fff;padding:.6em 1em;display:flex;flex-wrap:wrap;gap:.4em 1.4em;align-items:baseline}
header h1{font-size:1.15em;margin:0}header a{color:#fff}
main{padding:0 1em 2em;max-width:1100px}
.fresh{display:flex;flex-wrap:wrap;gap:.5em;margin:.8em 0}
.pill{border:2px solid currentColor;border-radius:1em;padding:.1em .7em;font-weight:600}
.ok,.allow,.holds{color:#116329}.degraded,.implicit_deny,.intermittent{color:#8a4600}
.failed,.timeout,.explicit_deny,.violated,.deny{color:#a40e26}.unknown{color:#5b3a9e}.stale{color:#a40e26}
svg.path{width:100%;height:auto;max-width:1000px;display:block;border:1px solid #d0d7de;border-radius:6px;margin:.4em 0}
svg.timeline{width:100%;height:auto;max-width:900px;display:block}
svg .label{font:600 14px sans-serif;fill:#1f2328}svg .sub{font:12px sans-serif}svg .col{font:600 13px sans-serif;fill:#57606a}
svg .badge-text{font:700 12px sans-serif}svg .door-text{font:12px sans-serif}
svg a:focus rect.box,svg a:hover rect.box{stroke-width:4;stroke:#0969da}
a:focus{outline:3px solid #0969da;outline-offset:2px}
table{border-collapse:collapse;width:100%;margin:.4em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
tr.new{background:#fff8c5}tr.new td:first-child::before{content:'NEW ';font-weight:700;color:#8a4600}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap;border-radius:6px}
code{background:#f6f8fa;padding:0 .2em}
details{margin:.3em 0}summary{cursor:pointer;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1em;font-size:.9em;margin:.2em 0 .6em}
.choose a{margin-right:.6em}.choose a[aria-current]{font-weight:700}
.empty{color:#57606a}
@media (max-width:720px){header{font-size:.9em}main{padding:0 .5em 1em}td,th{padding:3px 4px;font-size:.9em}
 table.wide thead{display:none}table.wide tr{display:block;border:1px solid #d0d7de;margin:.4em 0}
 table.wide td{display:block;border:none}table.wide td[data-label]::before{content:attr(data-label) ': ';font-weight:600;color:#57606a}
 .picture svg.path{min-width:680px}}
.picture{overflow-x:auto}
";

/// The frame of every page: head with the refresh, the header with links, freshness.
fn frame(s: &Shared, title: &str, body: Markup) -> Html<String> {
    let refresh = s.refresh.read().unwrap_or_else(PoisonError::into_inner).as_secs().max(1);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(refresh);
                title { (title) " · mrap-auditor" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "mrap-auditor" }
                    nav { a href="/" { "status" } " · " a href="/access" { "access map" } " · " a href="/metrics" { "metrics" } " · " a href="/api/v1/report" { "report (JSON)" } }
                }
                main {
                    (freshness(s, refresh))
                    (body)
                }
            }
        }
    };
    Html(page.into_string())
}

/// The age of the report, the source state, the last cycle's duration, readiness.
fn freshness(s: &Shared, refresh: u64) -> Markup {
    let cycle = s.cycle.read().unwrap_or_else(PoisonError::into_inner).clone();
    let report = s.current_report();
    let now = Utc::now();
    let interval = *s.interval.read().unwrap_or_else(PoisonError::into_inner);
    html! {
        section.fresh aria-label="freshness" {
            @match &report {
                Some(r) => {
                    @let age = DateTime::parse_from_rfc3339(&r.generated_at).ok().map(|t| (now - t.with_timezone(&Utc)).num_seconds().max(0));
                    @let stale = age.is_some_and(|a| u64::try_from(a).unwrap_or(0) > interval.as_secs() * 3);
                    span.pill.(if stale { "stale" } else { "ok" }) #report-age data-age-seconds=[age] {
                        "report " (age.map_or("of unknown age".to_string(), |a| format!("{} old", human(a)))) @if stale { " — STALE" }
                    }
                }
                None => { span.pill.unknown #report-age { "no report yet" } }
            }
            @match &cycle {
                Some(c) => {
                    @let state = source_state(&c.outcome);
                    span.pill.(state) #source-state data-state=(state) { "source " (state) @if c.source_errors > 0 { " (" (c.source_errors) " failed reads)" } }
                    span.pill #cycle-duration data-seconds=(format!("{:.3}", c.duration.as_secs_f64())) title=(format!("ended {}", c.ended.to_rfc3339())) { "last cycle " (format!("{:.2}", c.duration.as_secs_f64())) " s" }
                }
                None => { span.pill.unknown #source-state data-state="unknown" { "no cycle yet" } }
            }
            @match s.readiness() {
                Ok(()) => { span.pill.ok #readiness { "ready" } }
                Err(why) => { span.pill.failed #readiness { "not ready: " (why) } }
            }
            span.pill { "reloads every " (refresh) " s" }
        }
    }
}

/// The source state on-call reads: ok, degraded (some reads failed, some verdicts unknown) or
/// failed (the cycle could not run; every verdict is unknown).
fn source_state(outcome: &str) -> &'static str {
    match outcome {
        "ok" => "ok",
        "degraded" => "degraded",
        _ => "failed",
    }
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// The legend: colour, mark, pattern and word together.
fn legend() -> Markup {
    use layout::Tone;
    html! {
        div.legend aria-label="legend" {
            @for t in [Tone::Allow, Tone::ImplicitDeny, Tone::ExplicitDeny, Tone::Unknown, Tone::NotReached] {
                span.(t.name()) { (t.mark()) " " (t.label()) }
            }
            span { "— solid: active route · long dashes: passive route · dots: not reached · badge: the layer where the request dies" }
        }
    }
}

/// The recent events, or why they could not be read (logged and counted: an unreadable history
/// is never shown as "none recorded").
async fn recent_events(s: &Shared, expectation: Option<String>, limit: usize) -> Result<Vec<Event>, String> {
    let path = s.history_path.clone();
    let read = tokio::task::spawn_blocking(move || {
        History::open_read_only(&path).and_then(|h| h.events(expectation.as_deref(), None, limit))
    })
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

/// The recent changes, and the history's own problems.
fn changes_section(s: &Shared, events: &Result<Vec<Event>, String>) -> Markup {
    html! {
        @if let Some(problem) = s.history_problem() {
            p.failed { b { "The history could not be written:" } " " (problem) }
        }
        (events_table(events))
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    /// The expectation whose decisions colour the pictures (default: each MRAP's most urgent).
    pub expect: Option<String>,
}

/// `/`: every MRAP drawn, then the expectations, the findings and the recent changes.
pub async fn status(State(s): State<Arc<Shared>>, Query(q): Query<StatusQuery>) -> Html<String> {
    let events = recent_events(&s, None, 20).await;
    let Some(r) = s.current_report() else {
        return frame(
            &s,
            "status",
            html! { p.empty { "No audit cycle has completed yet." } h2 { "Recent changes" } (changes_section(&s, &events)) },
        );
    };
    let body = html! {
        @for mrap in layout::mraps(&r) {
            @let chosen = q.expect.as_deref().and_then(|n| r.expectations.iter().find(|e| e.name == n && e.mrap == mrap));
            @let selected = chosen.or_else(|| layout::default_expectation(&r, &mrap));
            section.mrap {
                h2 { "MRAP " code { (mrap) } }
                (chooser(&r, &mrap, selected))
                @if let Some(e) = selected { p { (headline(e)) } }
                div.picture { (svg::path_picture(&layout::picture(&r, &mrap, selected), &selected.map_or("/".to_string(), |e| expectation_href(&e.name)))) }
                (legend())
            }
        }
        h2 { "Expectations" }
        (expectations_table(&r))
        (findings_table(&r))
        h2 { "Recent changes" }
        (changes_section(&s, &events))
    };
    frame(&s, "status", body)
}

/// Links choosing which expectation colours the picture of `mrap`.
fn chooser(r: &Report, mrap: &str, selected: Option<&ExpectationReport>) -> Markup {
    html! {
        p.choose {
            "Coloured by: "
            @for e in r.expectations.iter().filter(|e| e.mrap == mrap) {
                @let current = selected.is_some_and(|s| s.name == e.name);
                a href=(format!("/?expect={}", url_escape(&e.name))) aria-current=[current.then_some("true")] class=(e.status.name()) {
                    (e.name) " (" (e.status.name()) ")"
                }
            }
        }
    }
}

fn headline(e: &ExpectationReport) -> Markup {
    html! {
        strong.(e.status.name()) { (e.status.name().to_uppercase()) } " "
        a href=(expectation_href(&e.name)) { (e.name) } ": "
        (e.principal) " " (e.action) " " code { (e.key) } " via " (e.via) " — expect " (layout::expect_name(e)) ", verdict "
        strong.(e.verdict.name()) { (e.verdict.name()) } ". " (e.summary)
    }
}

fn expectation_href(name: &str) -> String {
    format!("/expectations/{}", url_escape(name))
}

/// Percent-encodes a path segment or query value (names may hold any character).
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn expectations_table(r: &Report) -> Markup {
    html! {
        table.wide {
            thead { tr { th { "expectation" } th { "status" } th { "expect" } th { "verdict" } th { "MRAP" } th { "buckets" } th { "failover" } th { "pending change" } } }
            tbody {
                @for e in &r.expectations {
                    tr.(e.status.name()) data-expectation=(e.name) {
                        td data-label="expectation" { a href=(expectation_href(&e.name)) { (e.name) } }
                        td.(e.status.name()) data-label="status" { (e.status.name()) }
                        td data-label="expect" { (layout::expect_name(e)) }
                        td.(e.verdict.name()) data-label="verdict" { (e.verdict.name()) }
                        td data-label="MRAP" { (e.mrap) }
                        td data-label="buckets" {
                            @for b in &e.buckets {
                                div { (b.bucket) " (" (b.route.name()) "): " strong.(b.decision.name()) { (b.decision.name()) }
                                    @if let Some(l) = b.deciding_layer { " at " (l.name()) } }
                            }
                        }
                        td data-label="failover" { (e.failover.name()) }
                        td data-label="pending change" { @if e.pending_change { "yes" } @else { "no" } }
                    }
                }
            }
        }
    }
}

fn findings_table(r: &Report) -> Markup {
    html! {
        @if !r.findings.is_empty() {
            h2 { "Findings" }
            table.wide {
                thead { tr { th { "severity" } th { "code" } th { "resource" } th { "message" } } }
                tbody {
                    @for f in &r.findings {
                        tr { td data-label="severity" { (f.severity.name()) } td data-label="code" { (f.code) } td data-label="resource" { (f.resource) } td data-label="message" { (f.message) @if let Some(fix) = &f.fix { br; small { "fix: " (fix) } } } }
                    }
                }
            }
        }
    }
}

fn events_table(events: &Result<Vec<Event>, String>) -> Markup {
    html! {
        @match events {
            Err(why) => { p.failed { b { "The history could not be read:" } " " (why) } }
            Ok(events) if events.is_empty() => { p.empty { "None recorded." } }
            Ok(events) => {
                table.wide {
                    thead { tr { th { "time" } th { "kind" } th { "expectation" } th { "subject" } th { "change" } th { "detail" } th { "changed by" } } }
                    tbody {
                        @for ev in events {
                            tr {
                                td data-label="time" { (ev.ts) } td data-label="kind" { (ev.kind) } td data-label="expectation" { (ev.expectation.as_deref().unwrap_or("")) } td data-label="subject" { (ev.subject) }
                                td data-label="change" { (ev.from.as_deref().unwrap_or("")) " → " (ev.to.as_deref().unwrap_or("")) } td data-label="detail" { (ev.detail) } td data-label="changed by" { (ev.changed_by_text()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Quotes a word for a POSIX shell.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The `explain` text of each bucket of `name`, re-evaluated on the cycle's own input.
fn explain_texts(input: &AuditInput, name: &str) -> Option<Vec<(String, String)>> {
    let exp = input.config.expectations.iter().find(|e| e.name == name)?;
    let world = crate::audit::World::new(&input.snapshot, &input.config);
    let (_, outcomes, _) = crate::audit::evaluate(&world, &input.config, exp, &input.options);
    Some(
        outcomes
            .iter()
            .map(|o| {
                let mut text = String::new();
                crate::cli::explain::bucket_text(&mut text, &o.report, &o.established);
                (o.report.bucket.clone(), text)
            })
            .collect(),
    )
}

/// `/expectations/NAME`: one expectation in depth.
pub async fn expectation(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let Some(r) = s.current_report() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            frame(&s, "expectation", html! { p.empty { "No audit cycle has completed yet." } }),
        )
            .into_response();
    };
    let Some(e) = r.expectations.iter().find(|e| e.name == name).cloned() else {
        let body = html! { p { "No expectation " code { (name) } " in the last report." } p { a href="/" { "Back to the status page" } } };
        return (StatusCode::NOT_FOUND, frame(&s, "unknown expectation", body)).into_response();
    };
    let events = recent_events(&s, Some(name.clone()), 500).await;
    let cycle = s.cycle.read().unwrap_or_else(PoisonError::into_inner).clone();
    let input = cycle.as_ref().and_then(|c| c.input.clone());
    let explains = match input.clone() {
        Some(input) => {
            let n = name.clone();
            tokio::task::spawn_blocking(move || explain_texts(&input, &n)).await.ok().flatten()
        }
        None => None,
    };
    let command = match &input {
        Some(i) => format!(
            "mrap-auditor explain --config {} --expect {}",
            shell_quote(&i.config.file.display().to_string()),
            shell_quote(&e.name)
        ),
        None => format!("mrap-auditor explain --expect {}", shell_quote(&e.name)),
    };
    let body = html! {
        h2 { "Expectation " code { (e.name) } }
        p { (headline(&e)) }
        @if e.mrap.is_empty() {
            p { "A direct-bucket expectation: the request goes straight to the bucket, not through an MRAP." }
        } @else {
            div.picture { (svg::path_picture(&layout::picture(&r, &e.mrap, Some(&e)), "")) }
            (legend())
        }
        h3 { "Verdict over time" }
        @match &events {
            Ok(ev) => { (svg::timeline(ev, Utc::now())) }
            Err(why) => { p.failed { b { "The history could not be read:" } " " (why) } }
        }
        h3 { "Reproduce it on a terminal" }
        pre #command { code { (command) } }
        h3 { "Why, per bucket" }
        @for b in &e.buckets {
            @let text = explains.as_ref().and_then(|x| x.iter().find(|(n, _)| *n == b.bucket)).map(|(_, t)| t.as_str());
            details id=(format!("bucket-{}", b.bucket)) open[b.decision != crate::report::BucketDecision::Allow] {
                summary { (b.bucket) " (" (b.route.name()) "): " span.(b.decision.name()) { (b.decision.name()) } @if let Some(l) = b.deciding_layer { " at " (l.name()) } }
                @match text {
                    Some(t) => { pre { (t) } }
                    None => { p { (b.reason) } p.empty { "The full explanation is not available for this cycle; run the command above." } }
                }
            }
        }
        h3 { "Changes" }
        (changes_section(&s, &events.map(|mut v| { v.truncate(50); v })))
    };
    frame(&s, &e.name, body).into_response()
}

/// `/access`: the access map.
pub async fn access_map(State(s): State<Arc<Shared>>) -> Html<String> {
    let report = s.current_report();
    let cycle = s.cycle.read().unwrap_or_else(PoisonError::into_inner).clone();
    let accepted = cycle.and_then(|c| c.accepted.clone());
    let body = match report.as_ref().and_then(|r| r.access.as_ref()) {
        Some(map) => access::view(map, accepted.as_deref()),
        None => html! { p.empty { "No access map yet: no cycle has computed one." } },
    };
    frame(&s, "access map", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("app-reads"), "app-reads");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm)"), "'$(rm)'");
    }

    #[test]
    fn escapes_urls() {
        assert_eq!(url_escape("a-b_c.d"), "a-b_c.d");
        assert_eq!(url_escape("a b/<x>"), "a%20b%2F%3Cx%3E");
    }

    #[test]
    fn source_states() {
        assert_eq!(source_state("ok"), "ok");
        assert_eq!(source_state("degraded"), "degraded");
        assert_eq!(source_state("timeout"), "failed");
        assert_eq!(source_state("failed"), "failed");
    }
}
