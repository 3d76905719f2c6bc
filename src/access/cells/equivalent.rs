//! Caller classes that every statement of a path treats alike, so that the map decides a cell
//! once for all of them. With a thousand expectations over fifty roles of one account, the
//! roles' classes differ only in their names, which no statement of the path mentions; deciding
//! each of them separately was half of `check`'s time.
//!
//! Two caller classes are equivalent when nothing the evaluator reads about the caller differs:
//! the kind of IAM identity, its account and partition, its identity, boundary and session
//! policies, how each statement's `Principal` or `NotPrincipal` names it (with and without a
//! boundary), and what each condition of the path answers on what the caller itself supplies
//! (its derived keys: `aws:PrincipalArn`, `aws:username`, …). A path whose statements use
//! policy variables is never grouped: a variable can bring the caller's name into a resource or
//! a condition value.

use super::{CallerClass, CallerKind, PathCells};
use crate::eval::principal::{self, Grantee};
use crate::eval::{Caller, Context, NamedPolicy, Request, Tri, condition};
use crate::policy::{ConditionValues, Policy, Statement};

/// What the evaluator can see of one caller class on a path.
#[derive(PartialEq)]
struct Signature<'a> {
    partition: &'a str,
    account: &'a str,
    kind: std::mem::Discriminant<crate::eval::request::IamKind>,
    policies: [Option<&'a Policy>; 3],
    /// Per statement with a principal clause: the match without and with a boundary.
    principals: Vec<[Option<Grantee>; 2]>,
    /// Per condition of the path: its answer on the caller's own keys alone.
    conditions: Vec<Tri>,
}

impl PathCells<'_> {
    /// For each caller class, the first class equivalent to it (itself when there is none).
    pub(super) fn equivalent_callers(&self) -> Vec<usize> {
        if self.statements.iter().any(|s| uses_variables(s)) {
            return (0..self.callers.len()).collect();
        }
        let mut seen: Vec<(Signature<'_>, usize)> = Vec::new();
        let mut first = Vec::with_capacity(self.callers.len());
        for (i, class) in self.callers.iter().enumerate() {
            let rep = match self.signature(class) {
                None => i,
                Some(signature) => match seen.iter().find(|(s, _)| *s == signature) {
                    Some((_, rep)) => *rep,
                    None => {
                        seen.push((signature, i));
                        i
                    }
                },
            };
            first.push(rep);
        }
        first
    }

    /// `None` for a class that is not one named IAM principal (anonymous, an account, anyone):
    /// those are few and always decided on their own.
    fn signature<'s>(&'s self, class: &'s CallerClass) -> Option<Signature<'s>> {
        let (CallerKind::Principal(_), Caller::Iam(iam)) = (&class.kind, &class.caller) else { return None };
        let policies = class.configured.and_then(|i| self.policies.get(i)).unwrap_or(&self.default_policies);
        let policy = |p: Option<NamedPolicy<'s>>| p.map(|n| n.policy);
        // With no context, the request's keys are those the caller supplies itself.
        let bare = Request::new(class.caller.clone(), "", "", None, Context::new());
        Some(Signature {
            partition: &iam.partition,
            account: &iam.account,
            kind: std::mem::discriminant(&iam.kind),
            policies: [policy(policies.identity), policy(policies.boundary), policy(policies.session)],
            principals: self
                .statements
                .iter()
                .filter_map(|s| {
                    let clause = s.principal.as_ref()?;
                    Some([false, true].map(|boundary| principal::matches(clause, &class.caller, boundary, s.effect)))
                })
                .collect(),
            conditions: self
                .statements
                .iter()
                .flat_map(|s| &s.conditions)
                .map(|c| condition::evaluate(c, &bare))
                .collect(),
        })
    }
}

/// Whether a statement uses a policy variable anywhere (action, resource, condition values).
fn uses_variables(s: &Statement) -> bool {
    let arn_variables = |p: &crate::policy::ArnPattern| p.fields.iter().any(|f| f.has_variables());
    s.action.patterns.iter().any(|t| t.has_variables())
        || s.resource.patterns.iter().any(arn_variables)
        || s.conditions.iter().any(|c| match &c.values {
            ConditionValues::String(v) => v.iter().any(|t| t.has_variables()),
            ConditionValues::Arn(v) => v.iter().any(arn_variables),
            _ => false,
        })
}
