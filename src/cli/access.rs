//! `mrap-auditor access`: the access map (DESIGN §10) — who can reach each bucket, by which
//! door, without being asked.

use std::io::Write;

use clap::Args;

use super::common::{self, AuditArgs};
use super::{Exit, Format, error};
use crate::access::{self, AccessMap};
use crate::audit::World;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor access                                  # every bucket of every MRAP, every door
  mrap-auditor access --mrap mfzwi23gnjvgw.mrap --explain   # with the statements that admit each grant
  mrap-auditor access --format json > accepted-access.json  # accept today's map ([access] accepted)
  mrap-auditor access --format json | jq '.mraps[].buckets[].grants[] | select(.public)'

Exit codes: 0 mapped, 1 a [[forbid]] is violated, 2 part of the map is unknown, 64 bad usage or config.")]
pub struct AccessArgs {
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Only this MRAP (alias or name).
    #[arg(long, value_name = "M")]
    pub mrap: Option<String>,
    /// Output: `text` for people, `json` for scripts (and for `[access] accepted`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Text: under each grant, the statements that admit its witness on each layer.
    #[arg(long)]
    pub explain: bool,
}

pub fn run(args: &AccessArgs) -> Exit {
    let config = match common::load_config(&args.audit.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let captured = match common::read_snapshot(&config, args.audit.snapshot.as_deref()) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if let (Some(m), Some(list)) = (&args.mrap, captured.snapshot.mraps.value()) {
        if !list.iter().any(|x| &x.alias == m || &x.name == m) {
            let known: Vec<String> = list.iter().map(|x| format!("`{}` ({})", x.alias, x.name)).collect();
            error(format_args!("the MRAP `{m}` is not in the snapshot; it has {}", known.join(", ")));
            return Exit::Usage;
        }
    }
    let world = World::new(&captured.snapshot, &config);
    let options = common::audit_options(args.audit.at, &captured);
    let map = access::build(&world, &config, &options, args.mrap.as_deref());
    let forbids = access::check_forbids(&config.forbids, &map);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&map).unwrap_or_default() + "\n",
        Format::Text => {
            let mut t = if args.explain { explained(&map) } else { access::to_text(&map) };
            for f in &forbids {
                t.push_str(&format!("forbid {}: {}\n", f.name, status_name(f.status)));
            }
            t
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    exit_for(&map, &forbids)
}

fn status_name(s: crate::report::Status) -> &'static str {
    match s {
        crate::report::Status::Holds => "holds",
        crate::report::Status::Violated => "VIOLATED",
        crate::report::Status::Unknown => "unknown",
    }
}

/// The text map with each grant's explanation under it.
fn explained(map: &AccessMap) -> String {
    let plain = access::to_text(map);
    let mut grants = map.grants().map(|(_, _, g)| g);
    let mut out = String::new();
    for line in plain.lines() {
        out.push_str(line);
        out.push('\n');
        // Grant lines are the only ones indented by six spaces.
        if line.starts_with("      ") && !line.starts_with("       ") {
            if let Some(g) = grants.next() {
                for why in &g.admitted_by {
                    out.push_str(&format!("          because {why}\n"));
                }
                out.push_str(&format!(
                    "          witness: {} {} key `{}` via {}\n",
                    g.witness.principal, g.witness.action, g.witness.key, g.witness.via
                ));
            }
        }
    }
    out
}

/// 1 a forbid is violated, else 2 part of the map is unknown, else 0.
pub fn exit_for(map: &AccessMap, forbids: &[access::ForbidReport]) -> Exit {
    if forbids.iter().any(|f| f.status == crate::report::Status::Violated) {
        Exit::Violation
    } else if map.has_unknown() {
        Exit::Unknown
    } else {
        Exit::Ok
    }
}
