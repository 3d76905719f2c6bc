//! `/access`: the access map (DESIGN §10) for people: grants grouped by bucket and door, public
//! and cross-account first, those not in the accepted baseline (`[access] accepted`) marked NEW,
//! each with its witness request. Undecidable parts are listed, never hidden.

use std::collections::BTreeSet;

use maud::{Markup, html};

use crate::access::{AccessMap, BucketAccess, Grant, changes};

/// The identities of the grants of `map` that `accepted` does not have, per MRAP and bucket.
fn new_grants(map: &AccessMap, accepted: Option<&AccessMap>) -> BTreeSet<(String, String, String)> {
    let Some(accepted) = accepted else { return BTreeSet::new() };
    changes(accepted, map)
        .into_iter()
        .filter(|c| c.direction == "gained")
        .map(|c| (c.mrap, c.bucket, format!("{:?}", c.grant.identity())))
        .collect()
}

/// Public grants first, then cross-account, then the rest; stable otherwise.
fn rank(g: &Grant) -> u8 {
    match (g.public, g.cross_account) {
        (true, _) => 0,
        (false, true) => 1,
        _ => 2,
    }
}

fn witness(g: &Grant) -> String {
    let w = &g.witness;
    let target = match (&w.bucket, &w.mrap) {
        (Some(b), _) => format!("bucket {b}"),
        (None, Some(m)) => format!("MRAP {m}"),
        (None, None) => "?".into(),
    };
    let context: Vec<String> = w.context.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{} {} key `{}` via {} to {}{}",
        w.principal,
        w.action,
        w.key,
        w.via,
        target,
        if context.is_empty() { String::new() } else { format!(" with {}", context.join(", ")) }
    )
}

/// The doors of a bucket that have grants, the internet ones first.
fn doors_of(b: &BucketAccess) -> Vec<&str> {
    let mut doors: Vec<&str> = b.grants.iter().map(|g| g.path.as_str()).collect();
    doors.sort_by_key(|p| (!p.ends_with(":internet"), *p));
    doors.dedup();
    doors
}

/// The grants of one door, public and cross-account first.
fn grants_of<'a>(b: &'a BucketAccess, door: &str) -> Vec<&'a Grant> {
    let mut grants: Vec<&Grant> = b.grants.iter().filter(|g| g.path == door).collect();
    grants.sort_by_key(|g| rank(g));
    grants
}

pub fn view(map: &AccessMap, accepted: Option<&AccessMap>) -> Markup {
    let new = new_grants(map, accepted);
    html! {
        h2 { "Access map" }
        p {
            "Who can reach each bucket, by which door. "
            @if accepted.is_some() { "Grants not in the accepted map are marked NEW. " } @else { "No accepted map is configured (" code { "[access] accepted" } "), so nothing is marked new. " }
            @if !map.complete { strong.unknown { "The map is incomplete: some paths had more cells than the budget." } }
        }
        @let all: Vec<&Grant> = map.grants().map(|(_, _, g)| g).collect();
        p #access-summary {
            strong { (all.len()) " grant(s)" } ": "
            strong.explicit_deny { (all.iter().filter(|g| g.public).count()) " public" } ", "
            strong.implicit_deny { (all.iter().filter(|g| g.cross_account).count()) " cross-account" }
            @if accepted.is_some() { ", " strong { (new.len()) " new since the accepted map" } }
            @if map.has_unknown() { ", " strong.unknown { "some parts unknown" } }
        }
        @for a in &map.assumptions { p { small { (a) } } }
        @for m in &map.mraps {
            section.mrap {
                h3 { "MRAP " code { (m.mrap) } }
                @for b in &m.buckets {
                    h4 #(format!("access-{}", b.bucket)) { "Bucket " code { (b.bucket) } " (" (b.account) ", " (b.route) ")" }
                    @if b.grants.is_empty() { p.empty { "No grant: every request is denied." } }
                    @for door in doors_of(b) {
                        @let grants = grants_of(b, door);
                        details open {
                            summary { "door " code { (door) } ": " (grants.len()) " grant(s)"
                                @if grants.iter().any(|g| g.public) { " — " strong.explicit_deny { "⚠ PUBLIC" } } }
                            table.wide.grants data-door=(door) {
                                thead { tr { th { "callers" } th { "actions" } th { "keys" } th { "conditions" } th { "kind" } th { "witness" } } }
                                tbody {
                                    @for g in grants {
                                        @let is_new = new.contains(&(m.mrap.clone(), b.bucket.clone(), format!("{:?}", g.identity())));
                                        tr.new[is_new] data-public=(g.public) data-cross-account=(g.cross_account) {
                                            td data-label="callers" { (g.callers) }
                                            td data-label="actions" { (g.actions.join(", ")) }
                                            td data-label="keys" { code { (g.keys) } }
                                            td data-label="conditions" { @for c in &g.conditions { div { (c) } } @if g.conditions.is_empty() { "none" } }
                                            td data-label="kind" { @if g.public { strong.explicit_deny { "public" } " " } @if g.cross_account { strong.implicit_deny { "cross-account" } } @if !g.public && !g.cross_account { "same account" } }
                                            td data-label="witness" { code { (witness(g)) }
                                                @if !g.admitted_by.is_empty() { details { summary { "admitted by" } ul { @for a in &g.admitted_by { li { (a) } } } } } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !b.unknown.is_empty() {
                        details open {
                            summary.unknown { "? " (b.unknown.len()) " part(s) could not be decided" }
                            ul { @for u in &b.unknown { li { code { (u.path) } ": " (u.reason) @if !u.callers.is_empty() { " (" (u.callers.join(", ")) ")" } } } }
                        }
                    }
                    @if !b.pending.is_empty() {
                        p.implicit_deny { (b.pending.len()) " grant(s) would be added by the MRAP's Proposed policy." }
                    }
                }
            }
        }
    }
}
