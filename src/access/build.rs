//! The whole access map: every MRAP's buckets, each bucket's doors built and decided on every
//! core, their answers merged into grants (and Proposed-only grants into `pending`), and each
//! grant's witness explained. The cells of one door are [`super::cells`]' job.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::SecondsFormat;

use super::cells::{Cell, Concrete, Decided, Door, Doors, ExplainKey, PathCells, decide_door, doors, make_path};
use super::dims::DimValue;
use super::{AccessMap, BucketAccess, Grant, MrapAccess, UnknownAccess};
use crate::audit::{AuditOptions, World};
use crate::config::{Config, Zone};
use crate::eval::{Caller, Decision};
use crate::path::Network;

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
        // Every door of every bucket is one job: they are independent (the evaluator is pure)
        // and run on every core together, each merging and explaining its own grants.
        let buckets: Vec<(BucketAccess, Option<Doors<'_>>)> = mrap
            .regions
            .iter()
            .map(|region| (bucket_entry(snapshot, region), doors(world, mrap, &region.bucket, &arn, options)))
            .collect();
        let jobs: Vec<(usize, &Door, &Network<'_>)> = buckets
            .iter()
            .enumerate()
            .flat_map(|(b, (_, d))| d.iter().flat_map(move |d| d.0.iter().map(move |(door, net)| (b, door, net))))
            .collect();
        let results = crate::util::parallel_map(&jobs, |&(b, door, network)| {
            let (_, inputs, partition, time) = buckets.get(b)?.1.as_ref()?;
            let p = make_path(world, config, door.clone(), network.clone(), inputs, partition, time.clone());
            Some((b, door_access(&p, decide_door(&p, config.access.max_cells), &config.access.zone)))
        });
        // A bucket whose doors could not be built is left out, and the map is incomplete.
        map.complete &= buckets.iter().all(|(_, d)| d.is_some());
        let mut buckets: Vec<Option<BucketAccess>> =
            buckets.into_iter().map(|(bucket, d)| d.is_some().then_some(bucket)).collect();
        for (b, door) in results.into_iter().flatten() {
            let Some(Some(bucket)) = buckets.get_mut(b) else { continue };
            map.complete &= door.unknown.is_none();
            map.cells_evaluated += door.cells;
            bucket.unknown.extend(door.unknown);
            bucket.unknown.extend(door.unknowns);
            bucket.pending.extend(door.pending);
            bucket.grants.extend(door.grants);
        }
        for bucket in buckets.iter_mut().flatten() {
            bucket.grants.sort_by(|a, b| {
                (!a.public, !a.cross_account, &a.path, &a.callers).cmp(&(
                    !b.public,
                    !b.cross_account,
                    &b.path,
                    &b.callers,
                ))
            });
        }
        entry.buckets = buckets.into_iter().flatten().collect();
        map.mraps.push(entry);
    }
    map
}

/// A bucket of the map before its doors are decided.
fn bucket_entry(snapshot: &crate::snapshot::Snapshot, region: &crate::snapshot::MrapRegion) -> BucketAccess {
    let route = crate::audit::direct::locate(snapshot, &region.bucket)
        .map_or("active", |l| if l.3 == crate::report::RouteRole::Passive { "passive" } else { "active" });
    BucketAccess {
        bucket: region.bucket.clone(),
        account: region
            .bucket_account_id
            .clone()
            .unwrap_or_else(|| snapshot.account_id().unwrap_or_default().to_string()),
        route: route.into(),
        grants: Vec::new(),
        unknown: Vec::new(),
        pending: Vec::new(),
    }
}

/// What one door adds to its bucket.
struct DoorAccess {
    cells: u64,
    /// Why the door could not be decided at all.
    unknown: Option<UnknownAccess>,
    /// Cells whose answer is unknown, by reason.
    unknowns: Vec<UnknownAccess>,
    grants: Vec<Grant>,
    pending: Vec<Grant>,
}

/// A decided door's grants (explained), unknown cells and Proposed-only grants.
fn door_access(p: &PathCells<'_>, decided: Decided, zone: &Zone) -> DoorAccess {
    let answers = match decided {
        Ok((_, answers)) => answers,
        Err(unknown) => {
            return DoorAccess {
                cells: 0,
                unknown: Some(unknown),
                unknowns: Vec::new(),
                grants: Vec::new(),
                pending: Vec::new(),
            };
        }
    };
    let est: BTreeMap<Cell, Decision> = answers.established.iter().map(|(c, (d, _))| (c.clone(), *d)).collect();
    let grants = super::render::merge(p, &est, zone);
    let mut pending = Vec::new();
    if !answers.proposed.is_empty() {
        let ids: BTreeSet<_> = grants.iter().map(Grant::identity).collect();
        let proposed = super::render::merge(p, &answers.proposed, zone);
        pending.extend(proposed.into_iter().filter(|g| !ids.contains(&g.identity())));
    }
    DoorAccess {
        cells: answers.established.len() as u64,
        unknown: None,
        unknowns: super::render::unknowns(p, &answers.established),
        grants: explain_grants(p, grants),
        pending,
    }
}

fn request_is_anonymous(g: &Grant) -> bool {
    g.witness.principal == "anonymous"
}

/// [`explain_grant`] for every grant of a door, each distinct explanation built once:
/// equivalent callers share a grant's explanation.
fn explain_grants(p: &PathCells<'_>, grants: Vec<Grant>) -> Vec<Grant> {
    let mut known: HashMap<ExplainKey<'_>, Vec<String>> = HashMap::new();
    let mut out = Vec::with_capacity(grants.len());
    for g in &grants {
        let key = p.explain_key(g);
        let cached = key.as_ref().and_then(|k| known.get(k)).cloned();
        let explained = match cached {
            Some(why) => Grant { admitted_by: why, ..g.clone() },
            None => {
                let e = explain_grant(p, g.clone());
                if let Some(k) = key {
                    known.insert(k, e.admitted_by.clone());
                }
                e
            }
        };
        out.push(explained);
    }
    out
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
