//! From decided cells to grants a person can read, and the map as text.
//!
//! Merging: per caller and free-key combination, the action classes with the same set of
//! allowed key classes form one grant; then a free key whose every class gives the same grant is
//! dropped from its conditions. A grant's witness is one of its cells' representatives, so the
//! evaluator allows it by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::cells::{CallerKind, Cell, PathCells};
use super::dims::DimValue;
use super::{AccessMap, Grant, UnknownAccess, Witness};
use crate::config::Zone;
use crate::eval::Decision;

/// One grant before rendering: which classes, and one cell as witness.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    caller: usize,
    bucket_level: bool,
    keys: BTreeSet<usize>,
    actions: BTreeSet<usize>,
    /// `None`: any class of that free key.
    free: Vec<Option<usize>>,
    witness: Cell,
}

/// Per action class, the key classes it is allowed on.
type AllowedKeys = BTreeMap<usize, BTreeSet<usize>>;

/// Merges the allowed cells into grants.
pub(super) fn merge(p: &PathCells<'_>, answers: &BTreeMap<Cell, Decision>, zone: &Zone) -> Vec<Grant> {
    let n_object = p.object_actions.len();
    // (caller, free combination) → action → allowed keys.
    let mut per: BTreeMap<(usize, Vec<Option<usize>>), AllowedKeys> = BTreeMap::new();
    for (cell, d) in answers {
        if *d == Decision::Allow {
            per.entry((cell.caller, cell.free.clone())).or_default().entry(cell.action).or_default().insert(cell.key);
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    for ((caller, free), actions) in per {
        let mut by_keys: BTreeMap<(bool, BTreeSet<usize>), BTreeSet<usize>> = BTreeMap::new();
        for (action, keys) in actions {
            by_keys.entry((action >= n_object, keys)).or_default().insert(action);
        }
        for ((bucket_level, keys), actions) in by_keys {
            let first_action = actions.iter().next().copied().unwrap_or_default();
            let first_key = keys.iter().next().copied().unwrap_or_default();
            let witness = Cell { caller, action: first_action, key: first_key, free: free.clone() };
            groups.push(Group { caller, bucket_level, keys, actions, free: free.clone(), witness });
        }
    }
    // Drop a free key from a grant when every class of it gives the same grant.
    for d in 0..p.free.len() {
        let Some(key) = p.free.get(d) else { continue };
        let mut merged: BTreeMap<Group, BTreeSet<usize>> = BTreeMap::new();
        let mut witnesses: BTreeMap<Group, Cell> = BTreeMap::new();
        for g in groups {
            let value = g.free.get(d).copied().flatten();
            let mut k = g.clone();
            if let Some(slot) = k.free.get_mut(d) {
                *slot = None;
            }
            k.witness = Cell { caller: 0, action: 0, key: 0, free: Vec::new() };
            witnesses.entry(k.clone()).or_insert(g.witness.clone());
            let set = merged.entry(k).or_default();
            match value {
                Some(v) => {
                    set.insert(v);
                }
                None => set.extend(0..key.classes.len()),
            }
        }
        groups = Vec::new();
        for (mut k, values) in merged {
            let anonymous = p.callers.get(k.caller).is_some_and(|c| c.kind == CallerKind::Anonymous);
            let possible: BTreeSet<usize> = (0..key.classes.len())
                .filter(|i| {
                    !anonymous
                        || !crate::util::is_principal_key(&key.key_lower)
                        || key.classes.get(*i).is_some_and(|c| c.rep == DimValue::Absent)
                })
                .collect();
            let witness = witnesses.get(&k).cloned().unwrap_or(k.witness.clone());
            if values.is_superset(&possible) {
                k.witness = witness;
                groups.push(k);
            } else {
                for v in values {
                    let mut g = k.clone();
                    if let Some(slot) = g.free.get_mut(d) {
                        *slot = Some(v);
                    }
                    let mut w = witness.clone();
                    if let Some(slot) = w.free.get_mut(d) {
                        *slot = Some(v);
                    }
                    g.witness = w;
                    groups.push(g);
                }
            }
        }
    }
    groups.into_iter().filter_map(|g| render(p, &g, zone)).collect()
}

fn render(p: &PathCells<'_>, g: &Group, zone: &Zone) -> Option<Grant> {
    let class = p.callers.get(g.caller)?;
    let n_object = p.object_actions.len();
    let mut actions: Vec<String> = Vec::new();
    for a in &g.actions {
        let c = if *a < n_object { p.object_actions.get(*a) } else { p.bucket_actions.get(a - n_object) };
        actions.extend(c.map(|c| c.members.clone()).unwrap_or_default());
    }
    let keys = if g.bucket_level {
        "(the bucket itself)".to_string()
    } else if g.keys.len() == p.keys(g.caller).len() {
        "*".to_string()
    } else {
        describe_keys(p, g.caller, &g.keys)
    };
    let mut conditions = Vec::new();
    let mut org: Option<String> = None;
    for (f, v) in p.free.iter().zip(&g.free) {
        if let Some(v) = v {
            conditions.push(f.describe(*v));
            if f.key_lower == "aws:principalorgid" {
                org = f.classes.get(*v).map(|c| match &c.rep {
                    DimValue::Value(s) => s.clone(),
                    DimValue::Absent => String::new(),
                });
            }
        }
    }
    // Inside an organization zone of trust: not mapped.
    if let (Zone::Organization(z), Some(o)) = (zone, &org) {
        if z == o && class.kind != CallerKind::Anonymous && class.configured.is_none() {
            return None;
        }
    }
    let orgs: Vec<String> = p
        .free
        .iter()
        .filter(|f| f.key_lower == "aws:principalorgid")
        .flat_map(|f| f.conditions.iter().flat_map(|c| c.raw_values.clone()))
        .collect();
    let callers = match (&class.kind, &org) {
        (CallerKind::AnyPrincipal, Some(o)) if orgs.contains(o) => format!("org:{o}"),
        (CallerKind::AnyPrincipal, Some(_)) if orgs.len() == 1 => format!("outside-org:{}", orgs.join(",")),
        _ => class.label.clone(),
    };
    let rep = p.representative(&g.witness)?;
    let door = &p.door;
    let through_mrap = door.label().starts_with("mrap:");
    let witness = Witness {
        principal: rep.caller.display().to_string(),
        action: rep.action.clone(),
        key: rep.key.clone(),
        via: door.via_of(),
        bucket: (!through_mrap).then(|| p_bucket(p)),
        mrap: through_mrap.then(|| p_mrap(p)),
        context: rep
            .context
            .iter()
            .filter_map(|(k, v)| match v {
                DimValue::Value(s) => Some((k.clone(), s.clone())),
                DimValue::Absent => None,
            })
            .collect(),
    };
    let cross_account = rep.caller.account() != Some(p_bucket_account(p));
    // Limited to one organization is not public (S3: "The meaning of public": a fixed
    // `aws:PrincipalOrgID` value makes a statement non-public).
    let public =
        class.kind == CallerKind::Anonymous || (class.kind == CallerKind::AnyPrincipal && !callers.starts_with("org:"));
    Some(Grant {
        path: door.label(),
        callers,
        actions,
        keys,
        conditions,
        public,
        cross_account,
        witness,
        admitted_by: Vec::new(),
    })
}

fn p_bucket(p: &PathCells<'_>) -> String {
    p.bucket_name().to_string()
}

fn p_mrap(p: &PathCells<'_>) -> String {
    p.mrap_alias().to_string()
}

fn p_bucket_account<'a>(p: &'a PathCells<'_>) -> &'a str {
    p.bucket_account()
}

/// `reports/*, shared/* except */secret/*`: the allowed key classes as the union of some key
/// globs minus others, found greedily; when no such form is exact, each class by the globs it
/// matches (`a/* & a/b/*`), joined by ` | `. Exact either way: only classes are described.
fn describe_keys(p: &PathCells<'_>, caller: usize, allowed: &BTreeSet<usize>) -> String {
    let globs = p.key_globs(caller);
    let keys = p.keys(caller);
    let classes_of = |g: &[crate::policy::template::Token]| -> BTreeSet<usize> {
        (0..keys.len()).filter(|k| keys.get(*k).is_some_and(|c| crate::eval::wildcard::matches(g, &c.rep))).collect()
    };
    let sets: Vec<(String, BTreeSet<usize>)> = globs.iter().map(|(t, g)| (t.clone(), classes_of(g))).collect();
    // Union: globs that cover allowed classes, fewest disallowed ones first.
    let mut order: Vec<&(String, BTreeSet<usize>)> = sets.iter().filter(|(_, c)| !c.is_disjoint(allowed)).collect();
    order
        .sort_by_key(|(t, c)| (c.difference(allowed).count(), usize::MAX - c.intersection(allowed).count(), t.clone()));
    let mut union: BTreeSet<usize> = BTreeSet::new();
    let mut include: Vec<&str> = Vec::new();
    for (t, c) in &order {
        if allowed.is_subset(&union) {
            break;
        }
        if !c.intersection(allowed).all(|k| union.contains(k)) {
            union.extend(c.iter().copied());
            include.push(t);
        }
    }
    if allowed.is_subset(&union) {
        let extra: BTreeSet<usize> = union.difference(allowed).copied().collect();
        let mut except: Vec<&str> = Vec::new();
        let mut removed: BTreeSet<usize> = BTreeSet::new();
        for (t, c) in &sets {
            let inside: BTreeSet<usize> = c.intersection(&union).copied().collect();
            if !inside.is_empty() && inside.is_subset(&extra) && !inside.is_subset(&removed) {
                removed.extend(inside);
                except.push(t);
            }
        }
        if removed == extra {
            let mut s = include.join(", ");
            if !except.is_empty() {
                let _ = write!(s, " except {}", except.join(", "));
            }
            return s;
        }
    }
    let mut parts: Vec<String> = Vec::new();
    for k in allowed {
        let pos: Vec<&str> = sets.iter().filter(|(t, c)| c.contains(k) && t != "*").map(|(t, _)| t.as_str()).collect();
        let s = if pos.is_empty() { "*".to_string() } else { pos.join(" & ") };
        if !parts.contains(&s) {
            parts.push(s);
        }
    }
    parts.join(" | ")
}

/// Unknown cells, grouped by reason.
pub(super) fn unknowns(p: &PathCells<'_>, answers: &BTreeMap<Cell, (Decision, String)>) -> Vec<UnknownAccess> {
    let mut by_reason: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (cell, (d, reason)) in answers {
        if *d == Decision::Unknown {
            let label = p.callers.get(cell.caller).map(|c| c.label.clone()).unwrap_or_default();
            by_reason.entry(reason.clone()).or_default().insert(label);
        }
    }
    by_reason
        .into_iter()
        .map(|(reason, callers)| UnknownAccess::new(p.door.label(), reason, callers.into_iter().collect()))
        .collect()
}

/// One line per grant, grouped by bucket and path; public and cross-account grants first.
pub fn to_text(map: &AccessMap) -> String {
    let mut out = String::new();
    for m in &map.mraps {
        let _ = writeln!(out, "MRAP {}", m.mrap);
        for b in &m.buckets {
            let _ = writeln!(out, "  bucket {} (account {}, {})", b.bucket, b.account, b.route);
            if b.grants.is_empty() && b.unknown.is_empty() {
                let _ = writeln!(out, "    no grants: no mapped caller reaches it by any door");
            }
            let mut paths: Vec<&str> = b.grants.iter().map(|g| g.path.as_str()).collect();
            paths.dedup();
            let mut seen = BTreeSet::new();
            for path in paths.into_iter().filter(|p| seen.insert(*p)) {
                let _ = writeln!(out, "    {path}");
                for g in b.grants.iter().filter(|g| g.path == path) {
                    let mut tags = Vec::new();
                    if g.public {
                        tags.push("PUBLIC");
                    }
                    if g.cross_account {
                        tags.push("cross-account");
                    }
                    let _ = write!(out, "      {:<28} {}  keys {}", g.callers, g.actions.join(","), g.keys);
                    if !g.conditions.is_empty() {
                        let _ = write!(out, "  when {}", g.conditions.join(" and "));
                    }
                    if !tags.is_empty() {
                        let _ = write!(out, "  [{}]", tags.join(", "));
                    }
                    out.push('\n');
                }
            }
            for g in &b.pending {
                let _ = writeln!(
                    out,
                    "    PENDING (Proposed MRAP policy) {} {} {} keys {}",
                    g.path,
                    g.callers,
                    g.actions.join(","),
                    g.keys
                );
            }
            for u in &b.unknown {
                let _ = writeln!(out, "    UNKNOWN {}: {}", u.path, u.reason);
            }
        }
    }
    let _ = writeln!(
        out,
        "{} cells evaluated{}",
        map.cells_evaluated,
        if map.complete { "" } else { "; INCOMPLETE: some paths exceeded the budget (see UNKNOWN)" }
    );
    out
}
