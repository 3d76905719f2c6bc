//! `mrap-auditor explain`: the full per-layer reasoning for one expectation.

use std::fmt::Write as _;
use std::io::Write;

use clap::Args;

use super::common::{self, AuditArgs};
use super::{Exit, Format, error};
use crate::audit::{World, evaluate};
use crate::eval::{Tri, render};
use crate::path::PathDecision;
use crate::report::{BucketReport, Status};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor explain --expect app-reads-reports
  mrap-auditor explain --expect app-reads-reports --bucket doc-examplebucket1
  mrap-auditor explain --expect app-reads-reports --format json | jq '.buckets[0].explanation.bucket_request'

Exit codes: as `check`, for this expectation.")]
pub struct ExplainArgs {
    /// The expectation's name.
    #[arg(long = "expect", value_name = "NAME")]
    pub expectation: String,
    /// Only this bucket.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Output: `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub audit: AuditArgs,
}

pub fn run(args: &ExplainArgs) -> Exit {
    let config = match common::load_config(&args.audit.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Some(exp) = config.expectations.iter().find(|e| e.name == args.expectation) else {
        let names: Vec<&str> = config.expectations.iter().map(|e| e.name.as_str()).collect();
        error(format_args!(
            "no expectation `{}` in {}; it has: {}",
            args.expectation,
            config.file.display(),
            names.join(", ")
        ));
        return Exit::Usage;
    };
    let captured = match common::read_snapshot(&config, args.audit.snapshot.as_deref()) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let world = World::new(&captured.snapshot, &config);
    let (report, outcomes, findings) = evaluate(&world, &config, exp, &common::audit_options(args.audit.at, &captured));
    let selected: Vec<_> =
        outcomes.iter().filter(|o| args.bucket.as_ref().is_none_or(|b| &o.report.bucket == b)).collect();
    if let (Some(b), true) = (&args.bucket, selected.is_empty()) {
        let names: Vec<&str> = outcomes.iter().map(|o| o.report.bucket.as_str()).collect();
        error(format_args!("the MRAP `{}` has no bucket `{b}`; it has: {}", report.mrap, names.join(", ")));
        return Exit::Usage;
    }
    let out = match args.format {
        Format::Json => {
            let buckets: Vec<serde_json::Value> = selected
                .iter()
                .map(|o| serde_json::json!({"bucket": o.report, "explanation": o.established, "proposed": o.proposed}))
                .collect();
            let v = serde_json::json!({"expectation": report, "buckets": buckets, "findings": findings});
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        Format::Text => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "expectation {}: expect {}, verdict {} ({})",
                report.name,
                exp.expect.name(),
                report.verdict.name(),
                report.status.name().to_uppercase()
            );
            let _ = writeln!(
                out,
                "  {} {} `{}` through {} to the MRAP {}",
                report.principal, report.action, report.key, report.via, report.mrap
            );
            let _ = writeln!(
                out,
                "  failover: {}; pending change: {}",
                report.failover.name(),
                if report.pending_change { "YES" } else { "no" }
            );
            if outcomes.is_empty() {
                let _ = writeln!(out, "  {}", report.summary);
            }
            for o in &selected {
                out.push('\n');
                bucket_text(&mut out, &o.report, &o.established);
                if let Some(p) = &o.proposed {
                    let _ = writeln!(
                        out,
                        "  with the Proposed MRAP policy: {} {}",
                        crate::report::BucketDecision::from(p.decision).name(),
                        p.reason
                    );
                }
            }
            for f in &findings {
                let _ = writeln!(out, "\nfinding: {} {} {}: {}", f.severity.name(), f.code, f.resource, f.message);
            }
            out
        }
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    match report.status {
        Status::Holds => Exit::Ok,
        Status::Violated => Exit::Violation,
        Status::Unknown => Exit::Unknown,
    }
}

/// The text `explain` prints for one bucket (also shown by the status page).
pub fn bucket_text(out: &mut String, b: &BucketReport, d: &PathDecision) {
    let layer = b.deciding_layer.map_or(String::new(), |l| format!(" at {}", l.name()));
    let _ = writeln!(
        out,
        "bucket {} ({}, {}, {}): {}{layer}",
        b.bucket,
        b.account,
        b.region,
        b.route.name(),
        b.decision.name()
    );
    let _ = writeln!(out, "  why: {}", d.reason);
    let _ = writeln!(out, "  structural:");
    for c in &d.structural {
        let _ = writeln!(out, "    {:<8} {}: {}", mark(c.result), c.check, c.detail);
    }
    let _ = writeln!(out, "  MRAP request on {}:", d.mrap_resource);
    out.push_str(&render::to_text(&d.mrap_request, 4));
    let _ = writeln!(out, "  bucket request on {}:", d.bucket_resource);
    out.push_str(&render::to_text(&d.bucket_request, 4));
    if d.block_public_access.is_empty() {
        let _ = writeln!(out, "  block public access: no public policy applies to this caller");
    } else {
        let _ = writeln!(out, "  block public access:");
        for c in &d.block_public_access {
            let _ = writeln!(out, "    {:<8} {}: {}", mark(c.result), c.check, c.detail);
        }
    }
    if !d.assumptions.is_empty() {
        let _ = writeln!(out, "  assumptions:");
        for a in &d.assumptions {
            let _ = writeln!(out, "    - {a}");
        }
    }
}

fn mark(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "ok",
        Tri::No => "FAIL",
        Tri::Unknown => "unknown",
    }
}
