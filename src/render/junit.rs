//! JUnit XML for CI test reports: a `testsuite` per MRAP, a `testcase` per expectation and
//! bucket, and a `findings` suite with a `testcase` per finding.
//!
//! An active bucket that contradicts the expectation is a `failure`; an unknown decision is an
//! `error` (fail closed: a CI report must not look green on what could not be read); a passive
//! bucket that would not serve the expected answer after a failover is `skipped` with why, as it
//! does not make the expectation violated. An expectation with no bucket (its MRAP could not be
//! found or read) is one `error` test case. Findings of severity `error` are failures (an endpoint
//! policy AWS would refuse, a grant that matches nothing), the others pass with their message in
//! `system-out`.

use std::fmt::Write as _;

use super::RenderContext;
use crate::policy::lint::Severity;
use crate::report::{BucketDecision, BucketReport, ExpectationReport, Report, RouteRole, Status};

/// XML text and attribute escaping.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

enum Outcome {
    Pass,
    /// The failure's `type` and message.
    Failure(&'static str, String),
    Error(String),
    Skipped(String),
}

struct Case {
    name: String,
    classname: String,
    outcome: Outcome,
    out: String,
}

fn bucket_case(e: &ExpectationReport, b: &BucketReport) -> Case {
    let expect = e.expect.name();
    let layer = b.deciding_layer.map_or("-", crate::path::PathLayer::name);
    let what = format!(
        "expect {expect}, got {} on {} ({}, {}; deciding layer {layer}): {}",
        b.decision.name(),
        b.bucket,
        b.region,
        b.route.name(),
        b.reason
    );
    let outcome = if b.decision == BucketDecision::Unknown {
        Outcome::Error(what.clone())
    } else if e.expect.contradicted_by(b.decision) {
        match b.route {
            RouteRole::Active => Outcome::Failure("violated", what.clone()),
            RouteRole::Passive => Outcome::Skipped(format!("passive bucket, failover not ready: {what}")),
        }
    } else {
        Outcome::Pass
    };
    Case { name: format!("{} / {}", e.name, b.bucket), classname: format!("{}.{}", e.mrap, e.name), outcome, out: what }
}

fn write_case(xml: &mut String, c: &Case) {
    let _ = write!(xml, "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"", esc(&c.name), esc(&c.classname));
    let body = match &c.outcome {
        Outcome::Pass => String::new(),
        Outcome::Failure(kind, m) => {
            format!("      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n", esc(m), esc(m))
        }
        Outcome::Error(m) => format!("      <error message=\"{}\" type=\"unknown\">{}</error>\n", esc(m), esc(m)),
        Outcome::Skipped(m) => format!("      <skipped message=\"{}\"/>\n", esc(m)),
    };
    let _ = writeln!(xml, ">");
    xml.push_str(&body);
    let _ = writeln!(xml, "      <system-out>{}</system-out>", esc(&c.out));
    let _ = writeln!(xml, "    </testcase>");
}

fn write_suite(xml: &mut String, name: &str, cases: &[Case], timestamp: &str) {
    let count = |f: fn(&Outcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let failures = count(|o| matches!(o, Outcome::Failure(..)));
    let errors = count(|o| matches!(o, Outcome::Error(_)));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\" timestamp=\"{}\">",
        esc(name),
        cases.len(),
        esc(timestamp.trim_end_matches('Z'))
    );
    for c in cases {
        write_case(xml, c);
    }
    let _ = writeln!(xml, "  </testsuite>");
}

/// The JUnit XML of a report.
pub fn to_junit(report: &Report, ctx: &RenderContext<'_>) -> String {
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();
    for e in &report.expectations {
        let cases: Vec<Case> = if e.buckets.is_empty() {
            let why =
                if e.summary.is_empty() { format!("{} is {}", e.name, e.status.name()) } else { e.summary.clone() };
            vec![Case {
                name: e.name.clone(),
                classname: format!("{}.{}", e.mrap, e.name),
                outcome: match e.status {
                    Status::Violated => Outcome::Failure("violated", why.clone()),
                    Status::Unknown => Outcome::Error(why.clone()),
                    Status::Holds => Outcome::Pass,
                },
                out: why,
            }]
        } else {
            e.buckets.iter().map(|b| bucket_case(e, b)).collect()
        };
        match suites.iter_mut().find(|(m, _)| *m == e.mrap) {
            Some((_, list)) => list.extend(cases),
            None => suites.push((e.mrap.clone(), cases)),
        }
    }
    let findings: Vec<Case> = report
        .findings
        .iter()
        .map(|f| {
            let mut text = format!("{}: {}", f.resource, f.message);
            if let Some(fix) = &f.fix {
                let _ = write!(text, " (fix: {fix})");
            }
            Case {
                name: format!("{} {}", f.code, f.resource),
                classname: format!("findings.{}", f.code),
                outcome: if f.severity == Severity::Error {
                    Outcome::Failure("finding", text.clone())
                } else {
                    Outcome::Pass
                },
                out: format!("{}: {text}", f.severity.name()),
            }
        })
        .collect();
    suites.push(("findings".to_string(), findings));

    let all: Vec<&Case> = suites.iter().flat_map(|(_, c)| c.iter()).collect();
    let failures = all.iter().filter(|c| matches!(c.outcome, Outcome::Failure(..))).count();
    let errors = all.iter().filter(|c| matches!(c.outcome, Outcome::Error(_))).count();
    let skipped = all.iter().filter(|c| matches!(c.outcome, Outcome::Skipped(_))).count();
    let name = match ctx.preflight.and_then(|p| p.plan.as_deref()) {
        Some(plan) => format!("mrap-auditor pre-flight of {plan}"),
        None => format!("mrap-auditor check of {}", ctx.config),
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\">",
        esc(&name),
        all.len()
    );
    for (suite, cases) in &suites {
        write_suite(&mut xml, suite, cases, &report.generated_at);
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(esc(r#"a<b & "c" 'd'>"#), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
        assert_eq!(esc("x\u{1}y\n"), "x\u{FFFD}y\n");
    }
}
