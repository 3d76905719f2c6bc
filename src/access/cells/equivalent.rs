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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

    use std::path::{Path, PathBuf};

    use super::super::{PathCells, decide_all, path_cells};
    use crate::audit::{AuditOptions, World};

    fn fixtures() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/fixtures"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("expected-access.json").is_file())
            .map(|p| p.join("mrap-auditor.toml"))
            .collect();
        dirs.sort();
        dirs.push(root.join("config/mrap-auditor.toml"));
        dirs
    }

    /// Every path of a fixture's map, with `f` run on each.
    fn each_path(config_path: &Path, mut f: impl FnMut(&mut PathCells<'_>)) {
        let config = crate::config::load(config_path).unwrap();
        let crate::config::SourceConfig::Snapshot { path } = &config.source else { panic!("snapshot fixtures only") };
        let snapshot = crate::source::dir::read(path).unwrap();
        let world = World::new(&snapshot, &config);
        let options = AuditOptions {
            at: "2026-11-22T10:00:00Z".parse().unwrap(),
            source: "snapshot".into(),
            snapshot_path: None,
        };
        for mrap in snapshot.mraps.value().unwrap() {
            let arn = snapshot.mrap_arn(mrap).unwrap();
            for region in &mrap.regions {
                for mut p in path_cells(&world, &config, mrap, &region.bucket, &arn, &options) {
                    f(&mut p);
                }
            }
        }
    }

    #[test]
    fn grouped_callers_get_the_answers_each_would_get_alone() {
        let mut grouped_somewhere = false;
        for config in fixtures() {
            each_path(&config, |p| {
                grouped_somewhere |= p.equivalent.iter().enumerate().any(|(i, rep)| *rep != i);
                let grouped = decide_all(p);
                p.equivalent = (0..p.callers.len()).collect();
                let alone = decide_all(p);
                let decisions = |a: &super::super::Answers| {
                    a.established.iter().map(|(c, (d, _))| (c.clone(), *d)).collect::<Vec<_>>()
                };
                assert_eq!(decisions(&grouped), decisions(&alone), "{}: {}", config.display(), p.door.label());
                assert_eq!(grouped.proposed, alone.proposed, "{}: {}", config.display(), p.door.label());
            });
        }
        assert!(grouped_somewhere, "no fixture groups any caller: the test proves nothing");
    }

    #[test]
    fn a_statement_that_names_a_caller_or_tests_its_arn_keeps_it_apart() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        each_path(&root.join("tests/fixtures/access-equivalent-callers/mrap-auditor.toml"), |p| {
            let rep_of = |name: &str| {
                let i = p.callers.iter().position(|c| c.label.contains(name)).unwrap();
                p.callers[p.equivalent[i]].label.clone()
            };
            // The same kind, account and identity policy, named by nothing: one class.
            assert!(rep_of("role/app2/").contains("role/app/"), "{}", p.door.label());
            assert!(rep_of("role/team-a-web/").contains("role/team-a-etl/"), "{}", p.door.label());
            // Bucket 2 names the auditor role and tests aws:PrincipalArn against team-a-*.
            if p.bucket_name() == "doc-examplebucket2" {
                assert!(rep_of("role/auditor/").contains("role/auditor/"), "{}", p.door.label());
                assert!(rep_of("role/team-b/").contains("role/team-b/"), "{}", p.door.label());
            }
            // A user is not a role session, whatever names it.
            assert!(rep_of("user/alice").contains("user/alice"), "{}", p.door.label());
        });
    }
}
