//! Whether one statement applies to a request: action, resource, principal, then conditions
//! (AND across all of them; IAM: "Condition": several operators and keys are AND-ed).

use super::arn;
use super::condition::{self, ConditionTrace};
use super::principal::{self, Grantee};
use super::request::Request;
use super::tri::Tri;
use super::wildcard;
use crate::policy::{Effect, Statement};

/// The outcome for one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applies {
    pub applies: Tri,
    /// How the principal element named the caller; `None` for identity-based policies.
    pub grantee: Option<Grantee>,
}

pub fn action_matches(stmt: &Statement, request: &Request) -> bool {
    let any = stmt.action.patterns.iter().any(|p| wildcard::matches(&p.tokens, &request.action_lower));
    any != stmt.action.negated
}

pub fn resource_matches(stmt: &Statement, request: &Request) -> Tri {
    let any = Tri::any(stmt.resource.patterns.iter().map(|p| arn::matches(p, &request.resource, request)));
    if stmt.resource.negated { any.negate() } else { any }
}

/// Evaluates a statement; cheapest checks first. `boundary_attached`: see [`principal::matches`].
pub fn evaluate(stmt: &Statement, request: &Request, boundary_attached: bool) -> Applies {
    let no = Applies { applies: Tri::No, grantee: None };
    if !action_matches(stmt, request) {
        return no;
    }
    let grantee = match &stmt.principal {
        None => None,
        Some(clause) => match principal::matches(clause, &request.caller, boundary_attached, stmt.effect) {
            Some(g) => Some(g),
            None => return no,
        },
    };
    let resource = resource_matches(stmt, request);
    if resource.is_no() {
        return no;
    }
    let mut applies = resource;
    for cond in &stmt.conditions {
        applies = applies.and(condition::evaluate(cond, request));
        if applies.is_no() {
            return no;
        }
    }
    Applies { applies, grantee }
}

/// One statement in an explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatementTrace {
    /// Which policy, e.g. `bucket policy of doc-examplebucket1` or `identity[0]`.
    pub policy: String,
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    pub applies: Tri,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grantee: Option<Grantee>,
    pub reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionTrace>,
}

impl StatementTrace {
    /// `statement 2 (`Sid`) of <policy>`.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("statement {} (`{sid}`) of {}", self.index, self.policy),
            None => format!("statement {} of {}", self.index, self.policy),
        }
    }
}

/// Explains a statement whose action matched: which element decided, with the conditions.
/// Returns `None` for statements about other actions (noise in an explanation).
pub fn trace(
    stmt: &Statement,
    request: &Request,
    boundary_attached: bool,
    policy: &str,
    assumptions: &mut Vec<String>,
) -> Option<StatementTrace> {
    if !action_matches(stmt, request) {
        return None;
    }
    // Each element is matched once, and the outcome is what [`evaluate`] gives (it stops at the
    // first element that fails; the trace goes on to say which one did).
    let mut conditions = Vec::new();
    let mut grantee = None;
    let principal_ok = match &stmt.principal {
        None => true,
        Some(clause) => {
            grantee = principal::matches(clause, &request.caller, boundary_attached, stmt.effect);
            let applies = grantee.is_some();
            if clause.negated && stmt.effect == crate::policy::Effect::Allow {
                crate::util::push_unique(assumptions, principal::NOT_PRINCIPAL_ALLOW);
            } else if clause.negated && boundary_attached && applies {
                crate::util::push_unique(assumptions, principal::NOT_PRINCIPAL_BOUNDARY);
            } else if clause.negated {
                crate::util::push_unique(assumptions, principal::NOT_PRINCIPAL_ASSUMPTION);
            }
            applies
        }
    };
    let resource = resource_matches(stmt, request);
    let reason = if !principal_ok {
        let element = if stmt.principal.as_ref().is_some_and(|c| c.negated) {
            if stmt.effect == crate::policy::Effect::Allow {
                "an `Allow` never grants whom its `NotPrincipal` names, and it names"
            } else {
                "`NotPrincipal` lists"
            }
        } else {
            "`Principal` does not name"
        };
        format!("{element} the caller `{}`", request.caller.display())
    } else if resource.is_no() {
        let patterns: Vec<String> = stmt.resource.patterns.iter().map(|p| format!("`{}`", p.raw)).collect();
        if stmt.resource.negated {
            format!("`{}` is excluded by `NotResource` [{}]", request.resource, patterns.join(", "))
        } else {
            format!("`{}` does not match `Resource` [{}]", request.resource, patterns.join(", "))
        }
    } else {
        conditions = stmt.conditions.iter().map(|c| condition::trace(c, request, assumptions)).collect();
        let failed = conditions.iter().find(|c| c.result == Tri::No);
        let unknown = conditions.iter().find(|c| c.result == Tri::Unknown);
        if let Some(first) = failed {
            format!("condition not met: {}", first.reason)
        } else if resource == Tri::Unknown {
            "the resource pattern depends on a value unknown offline".to_string()
        } else if let Some(first) = unknown {
            format!("condition unknown: {}", first.reason)
        } else if stmt.conditions.is_empty() {
            "action, resource and principal match".to_string()
        } else {
            "action, resource and principal match, and every condition is met".to_string()
        }
    };
    let applies =
        if principal_ok { conditions.iter().fold(resource, |applies, c| applies.and(c.result)) } else { Tri::No };
    let outcome = if applies.is_no() { Applies { applies, grantee: None } } else { Applies { applies, grantee } };
    Some(StatementTrace {
        policy: policy.to_string(),
        index: stmt.index,
        sid: stmt.sid.clone(),
        effect: stmt.effect,
        applies: outcome.applies,
        grantee: outcome.grantee,
        reason,
        conditions,
    })
}
