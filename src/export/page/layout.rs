//! What the path picture shows, computed from the report and the access map (pure data, no
//! markup): which boxes, which edges, their decisions, and where the request dies.
//!
//! The request of an expectation crosses the layers of DESIGN §3 in order. The layers evaluated
//! before the MRAP routes it (`structural`, `vpce`, `scp`, `rcp`, `mrap`) are drawn on the edge
//! from the endpoint to the MRAP; the layers of the bucket side (`bucket`, `identity`,
//! `block_public_access`) on the edge from the MRAP to the bucket. The endpoint policy is also
//! evaluated against the bucket ARN (AWS: "Configuring a Multi-Region Access Point for use with
//! AWS PrivateLink"), so a `vpce` failure of one bucket only is drawn on that bucket's edge.

use crate::access::{AccessMap, Grant};
use crate::path::PathLayer;
use crate::report::{BucketDecision, BucketReport, ExpectationReport, Report, RouteRole, Verdict};

/// The decision a box or an edge shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
    Unknown,
    /// The request never gets there (it died earlier), or it is not on this request's path.
    NotReached,
}

impl Tone {
    pub fn of(d: BucketDecision) -> Tone {
        match d {
            BucketDecision::Allow => Tone::Allow,
            BucketDecision::ImplicitDeny => Tone::ImplicitDeny,
            BucketDecision::ExplicitDeny => Tone::ExplicitDeny,
            BucketDecision::Unknown => Tone::Unknown,
        }
    }

    /// A verdict's tone on the timeline (`intermittent` reads as a partial deny).
    pub fn of_verdict(v: &str) -> Tone {
        match v {
            "allow" => Tone::Allow,
            "deny" => Tone::ExplicitDeny,
            "intermittent" => Tone::ImplicitDeny,
            _ => Tone::Unknown,
        }
    }

    /// The name used in `data-decision` and in pattern ids (the report's decision names).
    pub fn name(self) -> &'static str {
        match self {
            Tone::Allow => "allow",
            Tone::ImplicitDeny => "implicit_deny",
            Tone::ExplicitDeny => "explicit_deny",
            Tone::Unknown => "unknown",
            Tone::NotReached => "not_reached",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tone::Allow => "allow",
            Tone::ImplicitDeny => "implicit deny",
            Tone::ExplicitDeny => "explicit deny",
            Tone::Unknown => "unknown",
            Tone::NotReached => "not reached",
        }
    }

    /// A shape that says the same as the colour.
    pub fn mark(self) -> &'static str {
        match self {
            Tone::Allow => "✓",
            Tone::ImplicitDeny => "✕",
            Tone::ExplicitDeny => "⊘",
            Tone::Unknown => "?",
            Tone::NotReached => "–",
        }
    }

    /// Stroke and text colours: each has a contrast of at least 4.5:1 on white and on its
    /// pattern's light fill (WCAG AA for text).
    pub fn colour(self) -> &'static str {
        match self {
            Tone::Allow => "#116329",
            Tone::ImplicitDeny => "#8a4600",
            Tone::ExplicitDeny => "#a40e26",
            Tone::Unknown => "#5b3a9e",
            Tone::NotReached => "#57606a",
        }
    }
}

/// How a direct door of a bucket stands in the access map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorTone {
    /// A grant admits anonymous or any-principal callers (a public policy).
    Public,
    /// Grants exist, none public.
    Open,
    /// Cells of this door could not be decided.
    Unknown,
}

impl DoorTone {
    pub fn name(self) -> &'static str {
        match self {
            DoorTone::Public => "public",
            DoorTone::Open => "open",
            DoorTone::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DoorTone::Public => "PUBLIC",
            DoorTone::Open => "open",
            DoorTone::Unknown => "unknown",
        }
    }

    pub fn mark(self) -> &'static str {
        match self {
            DoorTone::Public => "⚠",
            DoorTone::Open => "↗",
            DoorTone::Unknown => "?",
        }
    }

    pub fn pattern(self) -> &'static str {
        match self {
            DoorTone::Public => "explicit_deny",
            DoorTone::Open => "implicit_deny",
            DoorTone::Unknown => "unknown",
        }
    }

    pub fn colour(self) -> &'static str {
        match self {
            DoorTone::Public => Tone::ExplicitDeny.colour(),
            DoorTone::Open => Tone::ImplicitDeny.colour(),
            DoorTone::Unknown => Tone::Unknown.colour(),
        }
    }
}

/// One edge's decision, the layer marked on it when the request dies there, and its tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub tone: Tone,
    pub layer: Option<PathLayer>,
    pub tip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointBox {
    pub id: String,
    /// On the selected expectation's path.
    pub selected: bool,
    pub tone: Tone,
    pub sub: String,
    pub tip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorBox {
    pub path: String,
    pub tone: DoorTone,
    pub tip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketBox {
    pub bucket: String,
    pub passive: bool,
    pub tone: Tone,
    pub layer: Option<PathLayer>,
    pub sub: String,
    pub tip: String,
    /// The edge from the MRAP to this bucket.
    pub segment: Segment,
    pub doors: Vec<DoorBox>,
}

/// Everything the picture of one MRAP shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrapPicture {
    pub mrap: String,
    pub expectation: Option<String>,
    pub endpoints: Vec<EndpointBox>,
    pub mrap_tone: Tone,
    pub mrap_sub: String,
    pub mrap_tip: String,
    /// The edge from the selected endpoint to the MRAP.
    pub entry: Segment,
    pub buckets: Vec<BucketBox>,
}

/// Whether a layer is decided before the MRAP routes the request.
fn before_routing(l: PathLayer) -> bool {
    matches!(l, PathLayer::Structural | PathLayer::Vpce | PathLayer::Scp | PathLayer::Rcp | PathLayer::Mrap)
}

/// The statement and reason of a bucket's decision, for a tooltip.
fn why(b: &BucketReport) -> String {
    let layer = b.deciding_layer.map(|l| format!(" at the {} layer", l.name())).unwrap_or_default();
    let statement = b
        .statement
        .as_ref()
        .map(|s| {
            format!(
                "; statement {}{} of {}",
                s.index,
                s.sid.as_ref().map(|i| format!(" ({i})")).unwrap_or_default(),
                s.policy
            )
        })
        .unwrap_or_default();
    format!("{} {}{layer}{statement}: {}", b.bucket, Tone::of(b.decision).label(), b.reason)
}

/// The expectations of an MRAP, worst first (violated, unknown, holds), so that the default
/// picture is of the one that needs attention.
pub fn default_expectation<'a>(report: &'a Report, mrap: &str) -> Option<&'a ExpectationReport> {
    let rank = |e: &ExpectationReport| match e.status {
        crate::report::Status::Violated => 0,
        crate::report::Status::Unknown => 1,
        crate::report::Status::Holds => 2,
    };
    report.expectations.iter().filter(|e| e.mrap == mrap).min_by_key(|e| rank(e))
}

/// The MRAPs the page draws: those of the expectations, then those of the access map only.
pub fn mraps(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let names = report.expectations.iter().map(|e| e.mrap.clone());
    let mapped = report.access.iter().flat_map(|a| a.mraps.iter().map(|m| m.mrap.clone()));
    // A direct-bucket expectation (`bucket = …`) has no MRAP: it is not drawn here.
    for m in names.chain(mapped).filter(|m| !m.is_empty()) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

fn grants_text(grants: &[&Grant]) -> String {
    grants
        .iter()
        .map(|g| {
            format!(
                "{} can {} keys {} (witness: {} via {})",
                g.callers,
                g.actions.join(", "),
                g.keys,
                g.witness.principal,
                g.witness.via
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The doors straight to `bucket` (not through the MRAP) from the access map: bucket policies
/// keep serving requests that do not go through the MRAP (AWS: "Configuring a Multi-Region Access
/// Point for use with AWS PrivateLink", "Removing access"), so the MRAP is not the only door.
fn doors(access: Option<&AccessMap>, mrap: &str, bucket: &str) -> Vec<DoorBox> {
    let Some(b) = access
        .and_then(|a| a.mraps.iter().find(|m| m.mrap == mrap))
        .and_then(|m| m.buckets.iter().find(|b| b.bucket == bucket))
    else {
        return Vec::new();
    };
    let mut paths: Vec<&str> = b
        .grants
        .iter()
        .map(|g| g.path.as_str())
        .chain(b.unknown.iter().map(|u| u.path.as_str()))
        .filter(|p| p.starts_with("bucket:"))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            let grants: Vec<&Grant> = b.grants.iter().filter(|g| g.path == path).collect();
            let unknown = b.unknown.iter().filter(|u| u.path == path).count();
            let tone = if grants.iter().any(|g| g.public) {
                DoorTone::Public
            } else if !grants.is_empty() {
                DoorTone::Open
            } else {
                DoorTone::Unknown
            };
            let mut tip = format!("{path} to {bucket}, not through the MRAP: {} grant(s)", grants.len());
            if !grants.is_empty() {
                tip.push_str(": ");
                tip.push_str(&grants_text(&grants));
            }
            if unknown > 0 {
                tip.push_str(&format!("; {unknown} part(s) unknown"));
            }
            DoorBox { path: path.to_string(), tone, tip }
        })
        .collect()
}

/// The picture of `mrap` for `selected` (an expectation of that MRAP, or none: then only the
/// shape is drawn, in neutral tones).
pub fn picture(report: &Report, mrap: &str, selected: Option<&ExpectationReport>) -> MrapPicture {
    let access = report.access.as_ref();
    // Endpoints: those the MRAP's expectations name, then those of the access map's MRAP paths.
    let mut ids: Vec<String> = report.expectations.iter().filter(|e| e.mrap == mrap).map(|e| e.via.clone()).collect();
    if let Some(m) = access.and_then(|a| a.mraps.iter().find(|m| m.mrap == mrap)) {
        for b in &m.buckets {
            for p in b.grants.iter().map(|g| &g.path).chain(b.unknown.iter().map(|u| &u.path)) {
                if let Some(e) = p.strip_prefix("mrap:") {
                    ids.push(e.to_string());
                }
            }
        }
    }
    let mut seen = Vec::new();
    ids.retain(|i| {
        if seen.contains(i) {
            false
        } else {
            seen.push(i.clone());
            true
        }
    });

    // The entry edge: allowed when any active bucket gets past the layers before routing.
    let considered: Vec<&BucketReport> = selected
        .map(|e| {
            let active: Vec<&BucketReport> = e.buckets.iter().filter(|b| b.route == RouteRole::Active).collect();
            if active.is_empty() { e.buckets.iter().collect() } else { active }
        })
        .unwrap_or_default();
    let passes = |b: &BucketReport| b.deciding_layer.is_none_or(|l| !before_routing(l));
    let entry = match (selected, considered.iter().find(|b| !passes(b))) {
        (None, _) => Segment { tone: Tone::NotReached, layer: None, tip: "no expectation selected".into() },
        (Some(_), Some(first)) if !considered.iter().any(|b| passes(b)) => {
            Segment { tone: Tone::of(first.decision), layer: first.deciding_layer, tip: why(first) }
        }
        (Some(e), _) if considered.is_empty() => {
            Segment { tone: Tone::Unknown, layer: None, tip: format!("no bucket could be evaluated: {}", e.summary) }
        }
        (Some(e), _) => Segment {
            tone: Tone::Allow,
            layer: None,
            tip: format!(
                "{} {} through {}: passes the endpoint, organization and MRAP layers",
                e.principal, e.action, e.via
            ),
        },
    };
    let endpoints = ids
        .into_iter()
        .map(|id| {
            let on_path = selected.is_some_and(|e| e.via == id);
            let (tone, sub, tip) = if on_path {
                (entry.tone, format!("this request: {}", entry.tone.label()), entry.tip.clone())
            } else {
                (
                    Tone::NotReached,
                    "not on this request's path".to_string(),
                    format!("{id}: another route to the MRAP (see the access map)"),
                )
            };
            EndpointBox { id, selected: on_path, tone, sub, tip }
        })
        .collect();

    let mut buckets: Vec<BucketBox> = Vec::new();
    if let Some(e) = selected {
        for b in &e.buckets {
            let tone = Tone::of(b.decision);
            let segment = match b.deciding_layer {
                Some(l) if before_routing(l) && entry.tone != Tone::Allow => Segment {
                    tone: Tone::NotReached,
                    layer: None,
                    tip: format!("not reached: the request dies at the {} layer before the MRAP routes it", l.name()),
                },
                Some(l) => Segment { tone, layer: Some(l), tip: why(b) },
                None => Segment { tone, layer: None, tip: why(b) },
            };
            let route = b.route.name();
            let layer = b.deciding_layer.map(|l| format!(" at {}", l.name())).unwrap_or_default();
            buckets.push(BucketBox {
                bucket: b.bucket.clone(),
                passive: b.route == RouteRole::Passive,
                tone,
                layer: b.deciding_layer,
                sub: format!("{}{layer} ({route})", tone.label()),
                tip: format!("{} ({route}, {} {}): {}", b.bucket, b.account, b.region, why(b)),
                segment,
                doors: doors(access, mrap, &b.bucket),
            });
        }
    } else if let Some(m) = access.and_then(|a| a.mraps.iter().find(|m| m.mrap == mrap)) {
        for b in &m.buckets {
            let passive = b.route == "passive";
            buckets.push(BucketBox {
                bucket: b.bucket.clone(),
                passive,
                tone: Tone::NotReached,
                layer: None,
                sub: format!("{} ({})", b.account, b.route),
                tip: format!("{} ({}): no expectation names this MRAP", b.bucket, b.route),
                segment: Segment { tone: Tone::NotReached, layer: None, tip: "no expectation selected".into() },
                doors: doors(access, mrap, &b.bucket),
            });
        }
    }

    let (mrap_tone, mrap_sub) = match selected {
        None => (Tone::NotReached, "no expectation".to_string()),
        Some(e) => {
            let tone = match e.verdict {
                Verdict::Allow => Tone::Allow,
                Verdict::Unknown => Tone::Unknown,
                _ if entry.tone != Tone::Allow => entry.tone,
                Verdict::Deny => Tone::ImplicitDeny,
                Verdict::Intermittent => Tone::ImplicitDeny,
            };
            (tone, format!("{} ({})", e.verdict.name(), e.status.name()))
        }
    };
    let mrap_tip = match selected {
        Some(e) => format!(
            "{}: expect {}, verdict {}, status {} — {}",
            e.name,
            expect_name(e),
            e.verdict.name(),
            e.status.name(),
            e.summary
        ),
        None => format!("{mrap}: no expectation names it"),
    };
    MrapPicture {
        mrap: mrap.to_string(),
        expectation: selected.map(|e| e.name.clone()),
        endpoints,
        mrap_tone,
        mrap_sub,
        mrap_tip,
        entry,
        buckets,
    }
}

pub fn expect_name(e: &ExpectationReport) -> &'static str {
    e.expect.name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Failover, Status};

    fn bucket(name: &str, route: RouteRole, decision: BucketDecision, layer: Option<PathLayer>) -> BucketReport {
        BucketReport {
            bucket: name.into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            route,
            decision,
            deciding_layer: layer,
            statement: None,
            reason: format!("{name} reason"),
            proposed_decision: None,
        }
    }

    fn report(buckets: Vec<BucketReport>, verdict: Verdict) -> Report {
        let e = ExpectationReport {
            name: "e".into(),
            mrap: "m.mrap".into(),
            expect: crate::report::Expect::Allow,
            status: if verdict == Verdict::Allow { Status::Holds } else { Status::Violated },
            verdict,
            buckets,
            failover: Failover::None,
            pending_change: false,
            principal: "arn:aws:iam::111122223333:role/app".into(),
            action: "s3:GetObject".into(),
            key: "k".into(),
            via: "vpce-1".into(),
            proposed_verdict: None,
            summary: String::new(),
        };
        Report {
            generated_at: "2026-11-22T10:00:00Z".into(),
            source: "snapshot".into(),
            snapshot: None,
            expectations: vec![e],
            findings: vec![],
            policies: vec![],
            forbids: vec![],
            access: None,
        }
    }

    /// (case, buckets, verdict, entry edge tone and layer, per bucket: edge tone and layer).
    #[test]
    fn where_the_request_dies() {
        use BucketDecision::*;
        use PathLayer::*;
        use RouteRole::*;
        type Case =
            (&'static str, Vec<BucketReport>, Verdict, (Tone, Option<PathLayer>), Vec<(Tone, Option<PathLayer>)>);
        let cases: Vec<Case> = vec![
            (
                "all allow",
                vec![bucket("a", Active, Allow, None)],
                Verdict::Allow,
                (Tone::Allow, None),
                vec![(Tone::Allow, None)],
            ),
            (
                "seed: one bucket denies at the bucket layer",
                vec![bucket("a", Active, ImplicitDeny, Some(Bucket)), bucket("b", Active, Allow, None)],
                Verdict::Intermittent,
                (Tone::Allow, None),
                vec![(Tone::ImplicitDeny, Some(Bucket)), (Tone::Allow, None)],
            ),
            (
                "structural: dies before routing, buckets not reached",
                vec![
                    bucket("a", Active, ExplicitDeny, Some(Structural)),
                    bucket("b", Active, ExplicitDeny, Some(Structural)),
                ],
                Verdict::Deny,
                (Tone::ExplicitDeny, Some(Structural)),
                vec![(Tone::NotReached, None), (Tone::NotReached, None)],
            ),
            (
                "endpoint policy refuses one bucket's ARN only: on that bucket's edge",
                vec![bucket("a", Active, ImplicitDeny, Some(Vpce)), bucket("b", Active, Allow, None)],
                Verdict::Intermittent,
                (Tone::Allow, None),
                vec![(Tone::ImplicitDeny, Some(Vpce)), (Tone::Allow, None)],
            ),
            (
                "passive bucket denies: its edge marked, the entry decided by the active one",
                vec![bucket("a", Active, Allow, None), bucket("p", Passive, ExplicitDeny, Some(Mrap))],
                Verdict::Allow,
                (Tone::Allow, None),
                vec![(Tone::Allow, None), (Tone::ExplicitDeny, Some(Mrap))],
            ),
            (
                "unknown bucket",
                vec![bucket("a", Active, Unknown, Some(Bucket))],
                Verdict::Unknown,
                (Tone::Allow, None),
                vec![(Tone::Unknown, Some(Bucket))],
            ),
            (
                "MRAP policy denies every bucket",
                vec![bucket("a", Active, ImplicitDeny, Some(Mrap))],
                Verdict::Deny,
                (Tone::ImplicitDeny, Some(Mrap)),
                vec![(Tone::NotReached, None)],
            ),
        ];
        for (name, buckets, verdict, entry, edges) in cases {
            let r = report(buckets, verdict);
            let p = picture(&r, "m.mrap", r.expectations.first());
            assert_eq!((p.entry.tone, p.entry.layer), entry, "{name}: entry edge");
            let got: Vec<(Tone, Option<PathLayer>)> =
                p.buckets.iter().map(|b| (b.segment.tone, b.segment.layer)).collect();
            assert_eq!(got, edges, "{name}: bucket edges");
            assert_eq!(p.endpoints.len(), 1, "{name}");
            assert!(p.endpoints.iter().all(|e| e.selected && e.tone == p.entry.tone), "{name}: endpoint box");
            for (b, r) in p.buckets.iter().zip(&r.expectations[0].buckets) {
                assert_eq!(
                    (b.tone, b.layer, b.passive),
                    (Tone::of(r.decision), r.deciding_layer, r.route == Passive),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn most_urgent_expectation_is_the_default() {
        let mut r = report(vec![bucket("a", RouteRole::Active, BucketDecision::Allow, None)], Verdict::Allow);
        let mut violated = r.expectations[0].clone();
        violated.name = "bad".into();
        violated.status = Status::Violated;
        r.expectations.push(violated);
        assert_eq!(default_expectation(&r, "m.mrap").map(|e| e.name.as_str()), Some("bad"));
        assert_eq!(default_expectation(&r, "other.mrap"), None);
    }

    /// WCAG relative luminance and contrast ratio.
    fn contrast(a: &str, b: &str) -> f64 {
        let lum = |hex: &str| {
            let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
            let c = |s: u32| {
                let x = f64::from((v >> s) & 0xff) / 255.0;
                if x <= 0.03928 { x / 12.92 } else { ((x + 0.055) / 1.055).powf(2.4) }
            };
            0.2126 * c(16) + 0.7152 * c(8) + 0.0722 * c(0)
        };
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn text_colours_meet_wcag_aa_on_white_and_on_the_highlight() {
        for t in [Tone::Allow, Tone::ImplicitDeny, Tone::ExplicitDeny, Tone::Unknown, Tone::NotReached] {
            // White: boxes and page; #fff8c5: a NEW row of the access map; #f6f8fa: code.
            for bg in ["#ffffff", "#fff8c5", "#f6f8fa"] {
                let ratio = contrast(t.colour(), bg);
                assert!(ratio >= 4.5, "{} on {bg}: {ratio:.2}", t.name());
            }
        }
        assert!(contrast("#ffffff", "#24292f") >= 4.5, "header");
        assert!(contrast("#0969da", "#ffffff") >= 3.0, "focus ring (non-text: 3:1)");
    }
}
