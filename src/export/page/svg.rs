//! The pictures of the status page, as server-rendered SVG (no script, no external asset, so the
//! page works offline and behind a proxy): the access path of one MRAP for one expectation, and
//! the timeline strip of an expectation's verdicts.
//!
//! Every string that comes from a policy, a snapshot or the configuration goes through maud's
//! escaping; nothing here builds markup by hand. Colours are never the only signal: each box and
//! edge also carries a text label, a fill pattern and a `<title>` tooltip, and each bucket links
//! to its explanation so the details are keyboard-reachable.

use maud::{Markup, html};

use super::layout::{MrapPicture, Segment, Tone};
use crate::history::Event;

const WIDTH: i32 = 1000;
const COL_ENDPOINT: i32 = 10;
const COL_MRAP: i32 = 360;
const COL_BUCKET: i32 = 720;
/// Endpoint and MRAP boxes; buckets get the rest of the width.
const BOX_W: i32 = 232;
const BUCKET_W: i32 = WIDTH - COL_BUCKET - 10;
/// The patterned strip at the left of a box: the pattern is a second signal besides the colour,
/// and keeping it off the text keeps the text readable.
const STRIP: i32 = 14;
const BOX_H: i32 = 56;
const DOOR_H: i32 = 34;
const SLOT_GAP: i32 = 28;
const TOP: i32 = 40;

/// The fill patterns: hatching for explicit deny, horizontal lines for implicit deny, dots for
/// unknown, none for allow (a grey-scale print still tells them apart).
pub fn defs() -> Markup {
    html! {
        defs {
            pattern #pat-explicit_deny patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)" {
                rect width="8" height="8" fill="#fde7e9" {}
                line x1="0" y1="0" x2="0" y2="8" stroke="#b3261e" stroke-width="2" {}
            }
            pattern #pat-implicit_deny patternUnits="userSpaceOnUse" width="8" height="8" {
                rect width="8" height="8" fill="#fff1e0" {}
                line x1="0" y1="4" x2="8" y2="4" stroke="#9a4d00" stroke-width="1.5" {}
            }
            pattern #pat-unknown patternUnits="userSpaceOnUse" width="8" height="8" {
                rect width="8" height="8" fill="#f1ecfb" {}
                circle cx="4" cy="4" r="1.5" fill="#5b3a9e" {}
            }
            pattern #pat-allow patternUnits="userSpaceOnUse" width="8" height="8" {
                rect width="8" height="8" fill="#e6f4ea" {}
            }
            pattern #pat-not_reached patternUnits="userSpaceOnUse" width="8" height="8" {
                rect width="8" height="8" fill="#f3f4f6" {}
            }
        }
    }
}

/// The height of the path picture, from its slots.
fn height(p: &MrapPicture) -> i32 {
    let buckets: i32 = p.buckets.iter().map(|b| slot_height(b.doors.len())).sum();
    let endpoints = i32::try_from(p.endpoints.len()).unwrap_or(1).max(1) * (BOX_H + SLOT_GAP);
    TOP + buckets.max(endpoints).max(BOX_H + SLOT_GAP)
}

fn slot_height(doors: usize) -> i32 {
    BOX_H + SLOT_GAP + i32::try_from(doors).unwrap_or(0) * (DOOR_H + 8)
}

/// A box: a white rectangle with the tone's pattern in a strip at its left, a label line and a
/// decision line.
fn node(class: &str, (x, y, w): (i32, i32, i32), tone: Tone, label: &str, sub: &str, tip: &str) -> Markup {
    let chars = usize::try_from((w - STRIP - 16) / 8).unwrap_or(20);
    let sub_chars = usize::try_from((w - STRIP - 16) / 7).unwrap_or(24);
    html! {
        rect class=(format!("box {class}")) x=(x) y=(y) width=(w) height=(BOX_H) rx="6"
            fill="#ffffff" stroke=(tone.colour()) stroke-width="2" {}
        rect x=(x + 1) y=(y + 1) width=(STRIP) height=(BOX_H - 2) rx="5" fill=(format!("url(#pat-{})", tone.name())) {}
        text x=(x + STRIP + 8) y=(y + 22) class="label" { (truncate(label, chars)) }
        text x=(x + STRIP + 8) y=(y + 42) class="sub" fill=(tone.colour()) { (truncate(&format!("{} {sub}", tone.mark()), sub_chars)) }
        title { (tip) }
    }
}

/// An edge from `(x1, y1)` to `(x2, y2)`, with its badge when it is where the request dies.
fn edge(seg: &Segment, from: &str, to: &str, (x1, y1): (i32, i32), (x2, y2): (i32, i32), passive: bool) -> Markup {
    let dash = match (seg.tone, passive) {
        (Tone::NotReached, _) => "2 5",
        (_, true) => "10 5",
        _ => "none",
    };
    // The badge sits at three fifths of the edge, towards where the request dies.
    let (mx, my) = (x1 + (x2 - x1) * 3 / 5, y1 + (y2 - y1) * 3 / 5);
    html! {
        g class="edge" data-from=(from) data-to=(to) data-decision=(seg.tone.name())
            data-layer=[seg.layer.map(|l| l.name())] data-route=(if passive { "passive" } else { "active" }) {
            title { (seg.tip) }
            line x1=(x1) y1=(y1) x2=(x2) y2=(y2) stroke=(seg.tone.colour()) stroke-width="3" stroke-dasharray=(dash) {}
            @if let Some(layer) = seg.layer {
                @let bw = 24 + 8 * i32::try_from(layer.name().len()).unwrap_or(10);
                g class="badge" data-layer=(layer.name()) {
                    rect x=(mx - bw / 2) y=(my - 12) width=(bw) height="24" rx="12" fill="#ffffff" stroke=(seg.tone.colour()) stroke-width="2" {}
                    text x=(mx) y=(my + 4) text-anchor="middle" class="badge-text" fill=(seg.tone.colour()) {
                        (seg.tone.mark()) " " (layer.name())
                    }
                }
            } @else if passive {
                text x=(mx) y=(my - 6) text-anchor="middle" class="sub" { "passive" }
            }
        }
    }
}

/// The access path of one MRAP: endpoints on the left, the MRAP in the middle, its buckets on
/// the right with their direct doors below each one.
pub fn path_picture(p: &MrapPicture, link_base: &str) -> Markup {
    let h = height(p);
    let mrap_y = TOP + (h - TOP - SLOT_GAP) / 2 - BOX_H / 2;
    let mrap_in = (COL_MRAP, mrap_y + BOX_H / 2);
    let mrap_out = (COL_MRAP + BOX_W, mrap_y + BOX_H / 2);
    let mut bucket_y = Vec::with_capacity(p.buckets.len());
    let mut y = TOP;
    for b in &p.buckets {
        bucket_y.push(y);
        y += slot_height(b.doors.len());
    }
    let title = format!("Access path of {} for {}", p.mrap, p.expectation.as_deref().unwrap_or("no expectation"));
    html! {
        svg class="path" xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title)
            viewBox=(format!("0 0 {WIDTH} {h}")) data-mrap=(p.mrap) data-expectation=[p.expectation.as_deref()] {
            title { (title) }
            (defs())
            text x=(COL_ENDPOINT) y="20" class="col" { "Entry (VPC endpoints, internet)" }
            text x=(COL_MRAP) y="20" class="col" { "Multi-Region Access Point" }
            text x=(COL_BUCKET) y="20" class="col" { "Buckets (and their direct doors)" }
            @for (i, e) in p.endpoints.iter().enumerate() {
                @let ey = TOP + i32::try_from(i).unwrap_or(0) * (BOX_H + SLOT_GAP);
                @if e.selected {
                    (edge(&p.entry, &e.id, &p.mrap, (COL_ENDPOINT + BOX_W, ey + BOX_H / 2), mrap_in, false))
                } @else {
                    line x1=(COL_ENDPOINT + BOX_W) y1=(ey + BOX_H / 2) x2=(mrap_in.0) y2=(mrap_in.1) stroke="#8c959f" stroke-width="1.5" stroke-dasharray="2 5" {}
                }
                g class="node endpoint" data-endpoint=(e.id) data-decision=(e.tone.name()) {
                    (node("endpoint", (COL_ENDPOINT, ey, BOX_W), e.tone, &e.id, &e.sub, &e.tip))
                }
            }
            g class="node mrap" data-mrap=(p.mrap) data-decision=(p.mrap_tone.name()) {
                (node("mrap", (COL_MRAP, mrap_y, BOX_W), p.mrap_tone, &p.mrap, &p.mrap_sub, &p.mrap_tip))
            }
            @for (b, by) in p.buckets.iter().zip(bucket_y.iter().copied()) {
                (edge(&b.segment, &p.mrap, &b.bucket, mrap_out, (COL_BUCKET, by + BOX_H / 2), b.passive))
                a href=(format!("{link_base}#bucket-{}", b.bucket)) aria-label=(format!("bucket {}: {}", b.bucket, b.tone.label())) {
                    g class="node bucket" data-bucket=(b.bucket) data-decision=(b.tone.name())
                        data-layer=[b.layer.map(|l| l.name())] data-route=(if b.passive { "passive" } else { "active" }) {
                        (node("bucket", (COL_BUCKET, by, BUCKET_W), b.tone, &b.bucket, &b.sub, &b.tip))
                    }
                }
                @for (j, d) in b.doors.iter().enumerate() {
                    @let dy = by + BOX_H + 8 + i32::try_from(j).unwrap_or(0) * (DOOR_H + 8);
                    g class="node door" data-bucket=(b.bucket) data-path=(d.path) data-door=(d.tone.name()) {
                        title { (d.tip) }
                        line x1=(COL_BUCKET + 12) y1=(dy - 8) x2=(COL_BUCKET + 12) y2=(dy + DOOR_H / 2) stroke=(d.tone.colour()) stroke-width="2" {}
                        rect x=(COL_BUCKET + 24) y=(dy) width=(BUCKET_W - 24) height=(DOOR_H) rx="4"
                            fill="#ffffff" stroke=(d.tone.colour()) stroke-width="1.5" {}
                        rect x=(COL_BUCKET + 25) y=(dy + 1) width=(STRIP) height=(DOOR_H - 2) rx="3" fill=(format!("url(#pat-{})", d.tone.pattern())) {}
                        text x=(COL_BUCKET + 24 + STRIP + 8) y=(dy + 22) class="door-text" fill=(d.tone.colour()) {
                            (truncate(&format!("{} door {}: {}", d.tone.mark(), d.path, d.tone.label()), 30))
                        }
                    }
                }
            }
        }
    }
}

/// Keeps labels inside their boxes; the full text is in the tooltip.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max - 1).chain(['…']).collect() }
}

/// The verdict of an expectation over time, from its `first_seen` and `verdict_change` events
/// (newest first, as the history returns them), with decision changes as ticks.
pub fn timeline(events: &[Event], now: chrono::DateTime<chrono::Utc>) -> Markup {
    let parse = |ts: &str| chrono::DateTime::parse_from_rfc3339(ts).ok().map(|t| t.with_timezone(&chrono::Utc));
    let mut verdicts: Vec<(chrono::DateTime<chrono::Utc>, &str)> = events
        .iter()
        .filter(|e| e.kind == "first_seen" || e.kind == "verdict_change")
        .filter_map(|e| Some((parse(&e.ts)?, e.to.as_deref()?)))
        .collect();
    verdicts.sort_by_key(|(t, _)| *t);
    let ticks: Vec<(chrono::DateTime<chrono::Utc>, &Event)> =
        events.iter().filter(|e| e.kind == "decision_change").filter_map(|e| Some((parse(&e.ts)?, e))).collect();
    let Some(start) = verdicts.first().map(|(t, _)| *t) else {
        return html! { p.empty { "No verdict recorded yet for this expectation." } };
    };
    let span = (now - start).num_milliseconds().max(1) as f64;
    let x = |t: chrono::DateTime<chrono::Utc>| 10.0 + 880.0 * ((t - start).num_milliseconds().max(0) as f64 / span);
    html! {
        svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 900 70"
            aria-label="Verdict over time" {
            title { "Verdict over time" }
            (defs())
            @for (i, (t, v)) in verdicts.iter().enumerate() {
                @let end = verdicts.get(i + 1).map_or(now, |(n, _)| *n);
                @let tone = Tone::of_verdict(v);
                @let (x1, x2) = (x(*t), x(end).max(x(*t) + 2.0));
                g class="span" data-verdict=(v) {
                    title { (v) " from " (t.to_rfc3339()) " to " (end.to_rfc3339()) }
                    rect x=(format!("{x1:.1}")) y="10" width=(format!("{:.1}", x2 - x1)) height="30"
                        fill="#ffffff" stroke=(tone.colour()) stroke-width="1.5" {}
                    rect x=(format!("{:.1}", x1 + 1.0)) y="33" width=(format!("{:.1}", (x2 - x1 - 2.0).max(1.0))) height="6"
                        fill=(format!("url(#pat-{})", tone.name())) {}
                    @if x2 - x1 > 60.0 {
                        text x=(format!("{:.1}", x1 + 6.0)) y="27" class="sub" fill=(tone.colour()) { (tone.mark()) " " (v) }
                    }
                }
            }
            @for (t, e) in &ticks {
                g class="tick" {
                    title { (e.subject) ": " (e.from.as_deref().unwrap_or("")) " → " (e.to.as_deref().unwrap_or("")) " at " (e.ts) }
                    line x1=(format!("{:.1}", x(*t))) y1="6" x2=(format!("{:.1}", x(*t))) y2="44" stroke="#24292f" stroke-width="2" {}
                }
            }
            text x="10" y="62" class="sub" { (start.format("%Y-%m-%d %H:%M UTC")) }
            text x="890" y="62" text-anchor="end" class="sub" { "now" }
        }
    }
}
