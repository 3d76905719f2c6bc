//! Renderings of an [`Evaluation`]: the DESIGN §7 JSON object and readable text.
//!
//! The explanation is data first (see `decision`); these are two views of the same data.

use std::fmt::Write as _;

use super::decision::{Evaluation, LayerOutcome, LayerTrace};
use super::tri::Tri;

/// The `eval` output object: `decision` and `explanation` (per-layer traces), plus the deciding
/// layer and statement and the assumptions relied on.
pub fn to_json(evaluation: &Evaluation) -> serde_json::Value {
    serde_json::json!({
        "decision": evaluation.decision,
        "deciding_layer": evaluation.deciding_layer,
        "deciding_statement": evaluation.deciding_statement,
        "explanation": evaluation.layers,
        "assumptions": evaluation.assumptions,
    })
}

fn layer_title(l: &LayerTrace) -> String {
    match l.level {
        Some(level) => format!("{}[{level}]", l.layer.name()),
        None => l.layer.name().to_string(),
    }
}

fn outcome_word(o: LayerOutcome) -> &'static str {
    match o {
        LayerOutcome::Allow => "allow",
        LayerOutcome::ExplicitDeny => "DENY",
        LayerOutcome::NoAllow => "no allow",
        LayerOutcome::Unknown => "unknown",
        LayerOutcome::NotApplied => "not applied",
    }
}

fn tri_word(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "applies",
        Tri::No => "does not apply",
        Tri::Unknown => "unknown",
    }
}

/// Readable text, indented by `indent` spaces.
pub fn to_text(evaluation: &Evaluation, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let _ = write!(out, "{pad}decision: {:?}", evaluation.decision);
    if let Some(layer) = evaluation.deciding_layer {
        let _ = write!(out, " (deciding layer: {}", layer.name());
        if let Some(s) = &evaluation.deciding_statement {
            let _ = write!(out, ", statement {}", s.index);
            if let Some(sid) = &s.sid {
                let _ = write!(out, " `{sid}`");
            }
            let _ = write!(out, " of {}", s.policy);
        }
        out.push(')');
    }
    out.push('\n');
    for l in &evaluation.layers {
        let _ = writeln!(out, "{pad}  {:<12} {:<12} {}", layer_title(l), outcome_word(l.outcome), l.summary);
        for s in &l.statements {
            let effect = match s.effect {
                crate::policy::Effect::Allow => "Allow",
                crate::policy::Effect::Deny => "Deny",
            };
            let _ = writeln!(out, "{pad}      - {} [{effect}, {}]: {}", s.label(), tri_word(s.applies), s.reason);
            for c in &s.conditions {
                let mark = match c.result {
                    Tri::Yes => "met",
                    Tri::No => "not met",
                    Tri::Unknown => "unknown",
                };
                let _ = writeln!(out, "{pad}          {mark}: {}", c.reason);
            }
        }
    }
    if !evaluation.assumptions.is_empty() {
        let _ = writeln!(out, "{pad}  assumptions:");
        for a in &evaluation.assumptions {
            let _ = writeln!(out, "{pad}    - {a}");
        }
    }
    out
}
