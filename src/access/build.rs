//! The whole access map: every MRAP's buckets, each bucket's doors built and decided on every
//! core, their answers merged into grants (and Proposed-only grants into `pending`), and each
//! grant's witness explained. The cells of one door are [`super::cells`]' job.

use std::collections::{BTreeMap, BTreeSet};

use chrono::SecondsFormat;

use super::cells::{Cell, Concrete, Decided, PathCells, decide_door, doors, make_path};
use super::dims::DimValue;
use super::{AccessMap, BucketAccess, Grant, MrapAccess};
use crate::audit::{AuditOptions, World};
use crate::config::{Config, Zone};
use crate::eval::{Caller, Decision};

/// Builds the whole map; `only`: one MRAP (alias or name).
pub fn build(world: &World<'_>, config: &Config, options: &AuditOptions, only: Option<&str>) -> AccessMap {
    let snapshot = world.snapshot;
    let mut map = AccessMap {
        generated_at: options.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        source: options.source.clone(),
        complete: true,
        mraps: Vec::new(),
        cells_evaluated: 0,
        assumptions: vec![
            "the zone of trust is the MRAP's and each bucket's owner account: their principals appear only as the configured principals".into(),
            "a caller outside the zone is assumed to have an identity policy that allows everything: the map is what the resource side admits (endpoint, SCP/RCP as configured, MRAP, bucket, Block Public Access)".into(),
        ],
    };
    if let Zone::Organization(org) = &config.access.zone {
        map.assumptions
            .push(format!("callers whose `aws:PrincipalOrgID` is {org} are inside the zone of trust and not listed"));
    }
    let Some(mraps) = snapshot.mraps.value() else {
        map.complete = false;
        return map;
    };
    for mrap in mraps.iter().filter(|m| only.is_none_or(|o| m.alias == o || m.name == o)) {
        let arn = snapshot.mrap_arn(mrap).unwrap_or_default();
        let mut entry = MrapAccess { mrap: mrap.alias.clone(), buckets: Vec::new() };
        for region in &mrap.regions {
            let route = crate::audit::direct::locate(snapshot, &region.bucket)
                .map_or("active", |l| if l.3 == crate::report::RouteRole::Passive { "passive" } else { "active" });
            let mut bucket = BucketAccess {
                bucket: region.bucket.clone(),
                account: region
                    .bucket_account_id
                    .clone()
                    .unwrap_or_else(|| snapshot.account_id().unwrap_or_default().to_string()),
                route: route.into(),
                grants: Vec::new(),
                unknown: Vec::new(),
                pending: Vec::new(),
            };
            let Some((doors, inputs, partition, time)) = doors(world, mrap, &region.bucket, &arn, options) else {
                map.complete = false;
                continue;
            };
            // Doors are independent: build and decide them on every core (the evaluator is pure).
            let inputs = &inputs;
            let built: Vec<(PathCells<'_>, Decided)> = std::thread::scope(|scope| {
                let handles: Vec<_> = doors
                    .into_iter()
                    .map(|(door, network)| {
                        let max = config.access.max_cells;
                        let time = time.clone();
                        scope.spawn(move || {
                            let p = make_path(world, config, door, network, inputs, partition, time);
                            let decided = decide_door(&p, max);
                            (p, decided)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
            });
            for (p, result) in built {
                let p = &p;
                let answers = match result {
                    Ok((_, answers)) => answers,
                    Err(unknown) => {
                        map.complete = false;
                        bucket.unknown.push(unknown);
                        continue;
                    }
                };
                map.cells_evaluated += answers.established.len() as u64;
                let est: BTreeMap<Cell, Decision> =
                    answers.established.iter().map(|(c, (d, _))| (c.clone(), *d)).collect();
                let grants = super::render::merge(p, &est, &config.access.zone);
                bucket.unknown.extend(super::render::unknowns(p, &answers.established));
                if !answers.proposed.is_empty() {
                    let proposed = super::render::merge(p, &answers.proposed, &config.access.zone);
                    let ids: BTreeSet<_> = grants.iter().map(Grant::identity).collect();
                    bucket.pending.extend(proposed.into_iter().filter(|g| !ids.contains(&g.identity())));
                }
                bucket.grants.extend(grants.into_iter().map(|g| explain_grant(p, g)));
            }
            bucket.grants.sort_by(|a, b| {
                (!a.public, !a.cross_account, &a.path, &a.callers).cmp(&(
                    !b.public,
                    !b.cross_account,
                    &b.path,
                    &b.callers,
                ))
            });
            entry.buckets.push(bucket);
        }
        map.mraps.push(entry);
    }
    map
}

fn request_is_anonymous(g: &Grant) -> bool {
    g.witness.principal == "anonymous"
}

/// Fills `admitted_by`: the statements that admit the witness, per layer.
fn explain_grant(p: &PathCells<'_>, mut g: Grant) -> Grant {
    let configured = p.callers.iter().find(|c| c.caller.display() == g.witness.principal).and_then(|c| c.configured);
    let Ok(caller) = Caller::parse(&g.witness.principal) else { return g };
    let request = Concrete {
        caller,
        action: g.witness.action.clone(),
        key: g.witness.key.clone(),
        context: g.witness.context.iter().map(|(k, v)| (k.clone(), DimValue::Value(v.clone()))).collect(),
    };
    let (d, _) = p.decide(&request, configured, true);
    let mut why = Vec::new();
    for (side, eval) in [("MRAP request", &d.mrap_request), ("bucket request", &d.bucket_request)] {
        for layer in &eval.layers {
            for s in &layer.statements {
                if s.effect == crate::policy::Effect::Allow && s.applies == crate::eval::Tri::Yes {
                    why.push(format!("{side}: {}: {}", layer.layer.name(), s.label()));
                }
            }
        }
    }
    for a in d.assumptions.iter().filter(|_| !request_is_anonymous(&g)) {
        if a.starts_with("no identity policy") {
            why.push("identity: assumed to allow (outside the zone of trust, or no identity policy configured)".into());
            break;
        }
    }
    g.admitted_by = why;
    g
}
