//! `mrap-auditor check`: one audit cycle, the report on stdout; with `--plan` or `--overlay`, a
//! pre-flight: the same audit on the world as the change would leave it, and what flips.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::common::{self, AuditArgs};
use super::{Exit, error};
use crate::audit::{AuditOptions, audit_with_access};
use crate::config::Config;
use crate::preflight::overlay::{self, OverlaySpec};
use crate::preflight::{self, Edit, Note, Preflight, PreflightReport, plan};
use crate::render::{RenderContext, junit, sarif};
use crate::report::{self, Report};
use crate::snapshot::Snapshot;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor check                                  # config/mrap-auditor.toml, text
  mrap-auditor check --format json | jq '.expectations[] | {name, status, verdict}'
  mrap-auditor check --snapshot incident-2026-11-22/  # audit another capture with the same config
  terraform plan -out tfplan && terraform show -json tfplan > plan.json
  mrap-auditor check --plan plan.json                 # pre-flight: what the plan would break
  mrap-auditor check --plan plan.json --format sarif > mrap-auditor.sarif
  mrap-auditor check --format junit > mrap-auditor.xml
  mrap-auditor check --overlay bucket-policy:doc-examplebucket1=fixed.json \\
                     --overlay endpoint-policy:vpce-0a1b2c3d4e5f60718=vpce.json

Overlay kinds: bucket-policy:BUCKET, mrap-policy:NAME (becomes the Established policy),
endpoint-policy:vpce-ID, bucket-bpa:BUCKET, account-bpa:ACCOUNT (a policy document, or Block
Public Access as `aws s3api get-public-access-block` prints it). The plan applies first, then
each --overlay in order: the last word wins.

Exit codes: 0 every expectation holds, 1 one is violated, 2 one is unknown, 64 bad usage or config;
with --plan/--overlay, those of the planned world.")]
pub struct CheckArgs {
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Output: `text` for people, `json` for scripts, `sarif` for code scanning, `junit` for CI
    /// test reports.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Pre-flight a Terraform plan: the output of `terraform show -json PLAN`.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Pre-flight a policy or Block Public Access file by hand: KIND:NAME=FILE (repeatable).
    #[arg(long, value_name = "KIND:NAME=FILE", value_parser = overlay::parse_overlay)]
    pub overlay: Vec<OverlaySpec>,
}

/// Output of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Sarif,
    Junit,
}

pub fn run(args: &CheckArgs) -> Exit {
    let config = match common::load_config(&args.audit.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    // Read the change before the world: a bad plan is a usage error, whatever the source says.
    let edits = match read_change(args) {
        Ok(e) => e,
        Err(e) => return e,
    };
    let captured = match common::read_snapshot(&config, args.audit.snapshot.as_deref()) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let accepted = match common::load_accepted(&config) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let options = common::audit_options(args.audit.at, &captured);
    let config_path = args.audit.config.display().to_string();
    let (report, pre) = match edits {
        None => (audit_with_access(&config, &captured.snapshot, &options, accepted.as_ref()), None),
        Some((edits, notes)) => {
            let (report, pre) = preflight_run(&config, &captured.snapshot, &options, &edits, notes);
            let pre = Preflight { plan: args.plan.as_ref().map(|p| p.display().to_string()), ..pre };
            (report, Some(pre))
        }
    };
    let ctx = RenderContext { config: &config_path, preflight: pre.as_ref() };
    let text = match args.format {
        CheckFormat::Json => {
            match &pre {
                Some(p) => {
                    serde_json::to_string_pretty(&PreflightReport { report: report.clone(), preflight: p.clone() })
                }
                None => serde_json::to_string_pretty(&report),
            }
            .unwrap_or_default()
                + "\n"
        }
        CheckFormat::Text => match &pre {
            Some(p) => format!("{}\n{}", preflight::to_text(p), report::to_text(&report)),
            None => report::to_text(&report),
        },
        CheckFormat::Sarif => serde_json::to_string_pretty(&sarif::to_sarif(&report, &ctx)).unwrap_or_default() + "\n",
        CheckFormat::Junit => junit::to_junit(&report, &ctx),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    let exit = common::exit_for(&report);
    // The process ends here: freeing a thousand expectations' reports, policies and snapshot one
    // allocation at a time cost a tenth of `check`'s run time, for memory the OS takes back.
    std::mem::forget((report, pre, text, config, captured));
    exit
}

/// The plan's and the overlays' edits, or `None` without either.
/// The edits of a change, and what could not be turned into edits.
type ReadChange = (Vec<Edit>, Vec<Note>);

fn read_change(args: &CheckArgs) -> Result<Option<ReadChange>, Exit> {
    if args.plan.is_none() && args.overlay.is_empty() {
        return Ok(None);
    }
    let mut edits = Vec::new();
    let mut notes = Vec::new();
    if let Some(path) = &args.plan {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            error(format_args!("{file}: cannot read the plan: {e}"));
            Exit::Usage
        })?;
        let read = plan::read_plan(&text, &file).map_err(|e| {
            error(e);
            Exit::Usage
        })?;
        edits.extend(read.edits);
        notes.extend(read.notes);
    }
    for spec in &args.overlay {
        edits.push(overlay::load_overlay(spec, Path::new(".")).map_err(|e| {
            error(e);
            Exit::Usage
        })?);
    }
    Ok(Some((edits, notes)))
}

/// Audits the world and the planned world, and says what flips. The report is the planned
/// world's, with the pre-flight's notes as findings.
pub fn preflight_run(
    config: &Config,
    world: &Snapshot,
    options: &AuditOptions,
    edits: &[Edit],
    mut notes: Vec<Note>,
) -> (Report, Preflight) {
    let unmatched = notes.iter().map(|n| n.origin.clone()).collect();
    let overlaid = overlay::apply(world, edits);
    let before = audit_with_access(config, world, options, None);
    let mut after = audit_with_access(config, &overlaid.snapshot, options, None);
    notes.extend(overlaid.notes);
    after.findings.extend(notes.iter().map(Note::finding));
    for f in after
        .findings
        .iter_mut()
        .filter(|f| f.code == "unreadable-input" && f.message.contains("known only after apply"))
    {
        f.fix = Some("the plan does not know this value yet (it refers to something created in the same apply): audit again once it is applied, or plan with the value itself".into());
    }
    after.findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| a.code.cmp(&b.code)).then_with(|| a.resource.cmp(&b.resource))
    });
    after.findings.dedup();
    let (flips, mut counts) = preflight::compare(&before, &after);
    counts.refused = after.findings.iter().filter(|f| crate::policy::refusal::CODES.contains(&f.code.as_str())).count();
    // What the change widens or narrows on the access map (DESIGN §10, §12).
    let access_changes = match (&before.access, &after.access) {
        (Some(a), Some(b)) => {
            let changes: Vec<preflight::AccessChange> = crate::access::changes(a, b)
                .into_iter()
                .map(|c| preflight::AccessChange {
                    direction: if c.direction == "gained" { "gained" } else { "lost" },
                    mrap: c.mrap,
                    bucket: c.bucket,
                    grant: serde_json::to_value(&c.grant).unwrap_or_default(),
                })
                .collect();
            counts.widens += changes.iter().filter(|c| c.direction == "gained").count();
            counts.narrows += changes.iter().filter(|c| c.direction == "lost").count();
            Some(changes)
        }
        _ => None,
    };
    let pre = Preflight { plan: None, changes: overlaid.applied, unmatched, flips, counts, access_changes };
    (after, pre)
}
