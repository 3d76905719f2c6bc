//! The cells of one path and their answers: callers × action classes × key classes × the
//! classes of every free condition key, each decided by the real path evaluator, then merged
//! into grants.
//!
//! A path's facts ([`PathCells`]) are public so that a test can evaluate *any* concrete request
//! on the same path and check that it gets the answer of the cell it falls in.

use std::collections::{BTreeMap, BTreeSet};

use chrono::SecondsFormat;

mod equivalent;

use super::UnknownAccess;
use super::dims::{self, Class, DimValue, FreeKey};
use crate::audit::{AuditOptions, World, bpa_of, caller_policies, named};
use crate::config::Config;
use crate::eval::{Caller, ContextValue, Decision, NamedPolicy};
use crate::path::{self, BucketFacts, CallerPolicies, Known, MrapFacts, Network, PathDecision, PathRequest};
use crate::policy::{PrincipalEntry, Statement};
use crate::snapshot::{Mrap, Snapshot, VpcEndpoint};

/// The BFS budget of one dimension (product-automaton states).
const MAX_STATES: usize = 4_000;

/// What kind of caller a class stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    Anonymous,
    /// Any signed caller of an account the policies do not name.
    AnyPrincipal,
    Account(String),
    Principal(String),
}

/// One caller class with its representative.
#[derive(Debug, Clone)]
pub struct CallerClass {
    pub label: String,
    pub kind: CallerKind,
    pub caller: Caller,
    /// The configured expectation whose identity policies this principal has.
    pub configured: Option<usize>,
}

/// One door of a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Door {
    MrapEndpoint(String),
    MrapInternet,
    BucketInternet,
    BucketEndpoint(String),
}

impl Door {
    pub fn label(&self) -> String {
        match self {
            Door::MrapEndpoint(e) => format!("mrap:{e}"),
            Door::MrapInternet => "mrap:internet".into(),
            Door::BucketInternet => "bucket:internet".into(),
            Door::BucketEndpoint(e) => format!("bucket:{e}"),
        }
    }

    fn via(&self) -> String {
        match self {
            Door::MrapEndpoint(e) | Door::BucketEndpoint(e) => e.clone(),
            Door::MrapInternet | Door::BucketInternet => "internet".into(),
        }
    }

    fn through_mrap(&self) -> bool {
        matches!(self, Door::MrapEndpoint(_) | Door::MrapInternet)
    }
}

/// One cell: indices into the classes of each dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub caller: usize,
    /// Object action classes first, then bucket action classes.
    pub action: usize,
    /// Always 0 for a bucket action.
    pub key: usize,
    /// `None`: no statement that applies to this caller, action and key tests that condition
    /// key, so every class of it gets the same answer (evaluated once).
    pub free: Vec<Option<usize>>,
}

/// What the explanation of a grant's witness depends on: the class its caller decides like, the
/// names of that caller's own policies (the explanation cites them), the action, the key and the
/// context.
pub(super) type ExplainKey<'g> = (usize, [Option<&'g str>; 3], &'g str, &'g str, &'g BTreeMap<String, String>);

/// A concrete request on a path, for exactness tests.
#[derive(Debug, Clone)]
pub struct Concrete {
    pub caller: Caller,
    pub action: String,
    pub key: String,
    pub context: Vec<(String, DimValue)>,
}

/// The key classes of one caller class. A statement whose `Principal` cannot name the caller
/// never applies to it (IAM: "Policy evaluation logic"), so only the statements that may split
/// its keys: fewer, larger classes than the product over every statement of the path.
struct CallerKeys<'a> {
    statements: Vec<&'a Statement>,
    keys: Vec<Class<String>>,
}

/// Everything needed to decide any request on one path of one bucket.
pub struct PathCells<'a> {
    pub door: Door,
    pub callers: Vec<CallerClass>,
    pub object_actions: Vec<Class<String>>,
    pub bucket_actions: Vec<Class<String>>,
    /// Per caller class: the statements that may apply to it and the key classes they define.
    caller_keys: Vec<CallerKeys<'a>>,
    pub free: Vec<FreeKey>,
    /// Whether every dimension's search finished within its budget.
    pub complete: bool,
    statements: Vec<&'a Statement>,
    key_prefixes: Vec<String>,
    network: Network<'a>,
    mrap: MrapFacts<'a>,
    proposed: Option<Known<Option<NamedPolicy<'a>>>>,
    bucket: BucketFacts<'a>,
    region: &'a str,
    partition: &'a str,
    time: (String, i64),
    policies: Vec<CallerPolicies<'a>>,
    default_policies: CallerPolicies<'a>,
    /// Per caller class, the first class equivalent to it ([`equivalent`]): its cells and
    /// answers are that class's.
    equivalent: Vec<usize>,
}

/// Condition keys the path fixes (derived from the caller, the resource or the cycle).
const DERIVED: &[&str] = &[
    "aws:currenttime",
    "aws:epochtime",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:userid",
    "aws:username",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:resourceaccount",
];

/// Whether the path fixes `key` (so it is not a free dimension), and whether a free key may be
/// absent on this path.
fn fixed(door: &Door, key: &str) -> (bool, bool) {
    if DERIVED.contains(&key) {
        return (true, false);
    }
    let endpoint = matches!(door, Door::MrapEndpoint(_) | Door::BucketEndpoint(_));
    match key {
        "aws:sourcevpce" | "aws:sourcevpc" => (true, false),
        "s3:dataaccesspointarn" | "s3:dataaccesspointaccount" => (true, false),
        // MRAPs require TLS; a request straight to a bucket may use plain HTTP.
        "aws:securetransport" => (door.through_mrap(), false),
        // Present with the caller's public address from the internet, absent through an endpoint.
        "aws:sourceip" => (endpoint, false),
        "aws:vpcsourceip" => (!endpoint, false),
        _ => (false, true),
    }
}

impl<'a> PathCells<'a> {
    /// The key classes of a caller class.
    pub fn keys(&self, caller: usize) -> &[Class<String>] {
        self.caller_keys.get(caller).map_or(&[], |k| k.keys.as_slice())
    }

    /// The number of cells (as [`PathCells::cells`] enumerates them).
    pub fn cell_count(&self) -> usize {
        self.cells().len()
    }

    /// Which free keys the statements that may apply to this caller, action and key test: only
    /// those can change the answer. A statement whose principal, action or resource does not
    /// match never looks at its conditions (IAM: "Policy evaluation logic").
    fn relevant(&self, caller: usize, action: usize, key: usize) -> Vec<bool> {
        let bucket_level = action >= self.object_actions.len();
        let admitted = self.admitted(caller, bucket_level, key);
        let hits = self.action_name(action).map(|a| self.action_hits(caller, a)).unwrap_or_default();
        self.relevant_of(caller, &admitted, &hits)
    }

    /// Combines [`PathCells::admitted`] and [`PathCells::action_hits`] into the free keys tested.
    fn relevant_of(&self, caller: usize, admitted: &[bool], hits: &[bool]) -> Vec<bool> {
        let mut out = vec![false; self.free.len()];
        let statements = self.caller_keys.get(caller).map_or(&[][..], |k| k.statements.as_slice());
        for ((stmt, _), _) in statements.iter().zip(admitted).zip(hits).filter(|((_, a), h)| **a && **h) {
            for c in &stmt.conditions {
                if let Some(slot) =
                    self.free.iter().position(|f| f.key_lower == c.key_lower).and_then(|i| out.get_mut(i))
                {
                    *slot = true;
                }
            }
        }
        out
    }

    /// Per statement of the caller: whether its principal may name the caller and its resource
    /// may match the key (object actions) or the bucket or MRAP (bucket actions). Neither depends
    /// on the action, so [`PathCells::cells`] computes it once per key, not once per action.
    fn admitted(&self, caller: usize, bucket_level: bool, key: usize) -> Vec<bool> {
        let statements = self.caller_keys.get(caller).map_or(&[][..], |k| k.statements.as_slice());
        let Some(class) = self.callers.get(caller) else { return vec![false; statements.len()] };
        let resources: Vec<String> = if bucket_level {
            let mut r = vec![format!("arn:{}:s3:::{}", self.partition, self.bucket.name)];
            if self.door.through_mrap() {
                r.push(self.mrap.arn.to_string());
            }
            r
        } else {
            let key_text = self.keys(caller).get(key).map_or("", |k| k.rep.as_str());
            self.key_prefixes.iter().map(|p| format!("{p}{key_text}")).collect()
        };
        let action =
            if bucket_level { dims::BUCKET_ACTIONS } else { dims::OBJECT_ACTIONS }.first().copied().unwrap_or("");
        let requests: Vec<crate::eval::Request> = resources
            .iter()
            .map(|r| crate::eval::Request::new(class.caller.clone(), action, r, None, crate::eval::Context::new()))
            .collect();
        statements
            .iter()
            .map(|stmt| {
                !requests.is_empty()
                    && !requests.iter().all(|r| crate::eval::statement::resource_matches(stmt, r).is_no())
                    && stmt.principal.as_ref().is_none_or(|clause| {
                        clause.negated
                            || crate::eval::principal::matches(clause, &class.caller, false, stmt.effect).is_some()
                    })
            })
            .collect()
    }

    /// Per statement of the caller: whether its `Action`/`NotAction` matches `action`.
    fn action_hits(&self, caller: usize, action: &str) -> Vec<bool> {
        let statements = self.caller_keys.get(caller).map_or(&[][..], |k| k.statements.as_slice());
        let Some(class) = self.callers.get(caller) else { return vec![false; statements.len()] };
        let probe = crate::eval::Request::new(class.caller.clone(), action, "", None, crate::eval::Context::new());
        statements.iter().map(|stmt| crate::eval::statement::action_matches(stmt, &probe)).collect()
    }

    fn action_name(&self, action: usize) -> Option<&str> {
        let n_object = self.object_actions.len();
        if action < n_object {
            self.object_actions.get(action).map(|c| c.rep.as_str())
        } else {
            self.bucket_actions.get(action - n_object).map(|c| c.rep.as_str())
        }
    }

    /// Every cell, in order: callers × action classes × key classes × the classes of the free
    /// keys that matter for them.
    pub fn cells(&self) -> Vec<Cell> {
        let mut out: Vec<Cell> = Vec::new();
        let n_object = self.object_actions.len();
        let n_actions = n_object + self.bucket_actions.len();
        // Where each caller's cells are in `out`: an equivalent caller's are a copy of them.
        let mut spans: Vec<std::ops::Range<usize>> = Vec::with_capacity(self.callers.len());
        for caller in 0..self.callers.len() {
            let start = out.len();
            if let Some(twin) =
                self.equivalent.get(caller).filter(|&&rep| rep != caller).and_then(|&rep| spans.get(rep))
            {
                let copies: Vec<Cell> =
                    out.get(twin.clone()).unwrap_or(&[]).iter().map(|c| Cell { caller, ..c.clone() }).collect();
                out.extend(copies);
                spans.push(start..out.len());
                continue;
            }
            let anonymous = self.callers.get(caller).is_some_and(|c| c.kind == CallerKind::Anonymous);
            let hits: Vec<Vec<bool>> = (0..n_actions)
                .map(|a| self.action_name(a).map(|name| self.action_hits(caller, name)).unwrap_or_default())
                .collect();
            let bucket_admitted = self.admitted(caller, true, 0);
            for key in 0..self.keys(caller).len().max(1) {
                let object_admitted = self.admitted(caller, false, key);
                for (action, hits) in hits.iter().enumerate() {
                    let object = action < n_object;
                    // Bucket actions have one key class (the bucket itself): they are visited with key 0.
                    if (object && key >= self.keys(caller).len()) || (!object && key > 0) {
                        continue;
                    }
                    let admitted = if object { &object_admitted } else { &bucket_admitted };
                    let relevant = self.relevant_of(caller, admitted, hits);
                    for free in self.free_combinations(&relevant, anonymous) {
                        out.push(Cell { caller, action, key, free });
                    }
                }
            }
            spans.push(start..out.len());
        }
        // The order is callers × action classes × key classes, as documented.
        out.sort_by_key(|c| (c.caller, c.action, c.key));
        out
    }

    /// Every combination of the classes of the relevant free keys (irrelevant ones are `None`).
    fn free_combinations(&self, relevant: &[bool], anonymous: bool) -> Vec<Vec<Option<usize>>> {
        let mut combos: Vec<Vec<Option<usize>>> = vec![Vec::new()];
        for (f, r) in self.free.iter().zip(relevant) {
            let choices: Vec<Option<usize>> = if !r {
                vec![None]
            } else if anonymous && crate::util::is_principal_key(&f.key_lower) {
                // Anonymous callers carry no principal keys.
                vec![f.classes.iter().position(|c| c.rep == DimValue::Absent)]
            } else {
                (0..f.classes.len()).map(Some).collect()
            };
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    choices.iter().map(move |x| {
                        let mut n = c.clone();
                        n.push(*x);
                        n
                    })
                })
                .collect();
        }
        combos
    }

    /// The representative request of a cell.
    pub fn representative(&self, cell: &Cell) -> Option<Concrete> {
        let caller = self.callers.get(cell.caller)?.caller.clone();
        let n_object = self.object_actions.len();
        let (action, key) = if cell.action < n_object {
            (self.object_actions.get(cell.action)?.rep.clone(), self.keys(cell.caller).get(cell.key)?.rep.clone())
        } else {
            (self.bucket_actions.get(cell.action - n_object)?.rep.clone(), String::new())
        };
        let mut context = Vec::new();
        for (f, i) in self.free.iter().zip(&cell.free) {
            // An irrelevant key takes its first class (absent when a request may lack it).
            context.push((f.key.clone(), f.classes.get(i.unwrap_or(0))?.rep.clone()));
        }
        Some(Concrete { caller, action, key, context })
    }

    /// Decides any concrete request on this path with the real path evaluator; `trace` keeps
    /// the explanation. Returns the Established decision and, on an MRAP path with a Proposed
    /// policy, the Proposed one.
    pub fn decide(
        &self,
        request: &Concrete,
        configured: Option<usize>,
        trace: bool,
    ) -> (PathDecision, Option<PathDecision>) {
        let context: Vec<(String, ContextValue)> = request
            .context
            .iter()
            .filter_map(|(k, v)| match v {
                DimValue::Absent => None,
                DimValue::Value(s) => Some((k.clone(), ContextValue::Single(s.clone()))),
            })
            .collect();
        let bucket_action = crate::config::is_bucket_action(&request.action);
        let req = PathRequest {
            caller: &request.caller,
            action: &request.action,
            key: &request.key,
            bucket_action,
            context: &context,
            time: Some((&self.time.0, self.time.1)),
            partition: self.partition,
        };
        let policies = configured.and_then(|i| self.policies.get(i)).unwrap_or(&self.default_policies);
        if self.door.through_mrap() {
            if trace {
                path::decide(&req, &self.network, &self.mrap, &self.bucket, policies, self.proposed.as_ref())
            } else {
                path::decide_untraced(&req, &self.network, &self.mrap, &self.bucket, policies, self.proposed.as_ref())
            }
        } else {
            (path::decide_direct(&req, &self.network, &self.bucket, self.region, policies, trace), None)
        }
    }

    /// The cell a concrete request falls in; `None` when it falls in none (a hole in the
    /// partition) or its caller is inside the zone of trust and not configured.
    pub fn classify(&self, request: &Concrete) -> Option<Cell> {
        let caller = self.classify_caller(&request.caller)?;
        let n_object = self.object_actions.len();
        let bucket_level = crate::config::is_bucket_action(&request.action);
        let sig = dims::action_signature(&self.statements, &request.action);
        let (action, key) = if bucket_level {
            (n_object + self.bucket_actions.iter().position(|c| c.signature == sig)?, 0)
        } else {
            let a = self.object_actions.iter().position(|c| c.signature == sig)?;
            let statements = &self.caller_keys.get(caller)?.statements;
            let ks = dims::key_signature(statements, &self.key_prefixes, &request.key);
            (a, self.keys(caller).iter().position(|c| c.signature == ks)?)
        };
        let relevant = self.relevant(caller, action, key);
        let mut free = Vec::new();
        for (f, r) in self.free.iter().zip(relevant) {
            let value = request
                .context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&f.key))
                .map_or(DimValue::Absent, |(_, v)| v.clone());
            let class = f.classify(&value)?;
            free.push(r.then_some(class));
        }
        Some(Cell { caller, action, key, free })
    }

    fn classify_caller(&self, caller: &Caller) -> Option<usize> {
        let Caller::Iam(iam) = caller else {
            return self.callers.iter().position(|c| c.kind == CallerKind::Anonymous);
        };
        let arn = iam.principal_arn();
        let exact = self.callers.iter().position(|c| match &c.kind {
            CallerKind::Principal(p) => *p == iam.arn || *p == *arn,
            _ => false,
        });
        exact.or_else(|| self.callers.iter().position(|c| c.kind == CallerKind::Account(iam.account.clone()))).or_else(
            || {
                let named = self
                    .callers
                    .iter()
                    .any(|c| c.kind != CallerKind::AnyPrincipal && c.caller.account() == Some(iam.account.as_str()));
                (!named && !self.in_zone(&iam.account))
                    .then(|| self.callers.iter().position(|c| c.kind == CallerKind::AnyPrincipal))
                    .flatten()
            },
        )
    }

    fn in_zone(&self, account: &str) -> bool {
        account == self.mrap.account || account == self.bucket.account
    }
}

/// Collects the constants the statements mention into caller classes.
fn caller_classes(statements: &[&Statement], config: &Config, zone: &[&str], partition: &str) -> Vec<CallerClass> {
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    let mut principals: BTreeSet<String> = BTreeSet::new();
    for s in statements {
        for e in s.principal.iter().flat_map(|p| &p.entries) {
            match e {
                PrincipalEntry::Account(a) => {
                    accounts.insert(a.clone());
                }
                PrincipalEntry::User { arn }
                | PrincipalEntry::AssumedRole { arn }
                | PrincipalEntry::FederatedUser { arn }
                | PrincipalEntry::Role { arn, .. } => {
                    principals.insert(arn.clone());
                }
                _ => {}
            }
        }
        for c in &s.conditions {
            let key = c.key_lower.as_str();
            if key == "aws:principalaccount" {
                accounts.extend(c.raw_values.iter().filter(|v| crate::util::is_account_id(v)).cloned());
            }
            if key == "aws:principalarn" {
                principals.extend(c.raw_values.iter().filter(|v| !v.contains(['*', '?'])).cloned());
            }
        }
    }
    let mut out = vec![CallerClass {
        label: "anonymous".into(),
        kind: CallerKind::Anonymous,
        caller: Caller::Anonymous,
        configured: None,
    }];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (i, exp) in config.expectations.iter().enumerate() {
        if let Caller::Iam(c) = &exp.caller {
            if seen.insert(c.arn.clone()) {
                out.push(CallerClass {
                    label: format!("principal:{}", c.arn),
                    kind: CallerKind::Principal(c.arn.clone()),
                    caller: exp.caller.clone(),
                    configured: Some(i),
                });
            }
        }
    }
    for arn in principals {
        let Ok(caller) = Caller::parse(&arn) else { continue };
        if seen.contains(&arn) || caller.account().is_some_and(|a| zone.contains(&a)) {
            continue;
        }
        if let Some(a) = caller.account() {
            accounts.insert(a.to_string());
        }
        seen.insert(arn.clone());
        out.push(CallerClass {
            label: format!("principal:{arn}"),
            kind: CallerKind::Principal(arn),
            caller,
            configured: None,
        });
    }
    for a in &accounts {
        if zone.contains(&a.as_str()) {
            continue;
        }
        let arn = format!("arn:{partition}:iam::{a}:user/mrap-auditor-any-principal");
        if let Ok(caller) = Caller::parse(&arn) {
            out.push(CallerClass {
                label: format!("account:{a}"),
                kind: CallerKind::Account(a.clone()),
                caller,
                configured: None,
            });
        }
    }
    // An account nobody names: the first free one counting down from 999999999999.
    let mut fresh: u64 = 999_999_999_999;
    while accounts.contains(&fresh.to_string()) || zone.contains(&fresh.to_string().as_str()) {
        fresh -= 1;
    }
    let arn = format!("arn:{partition}:iam::{fresh}:user/mrap-auditor-any-principal");
    if let Ok(caller) = Caller::parse(&arn) {
        out.push(CallerClass {
            label: "any-principal".into(),
            kind: CallerKind::AnyPrincipal,
            caller,
            configured: None,
        });
    }
    out
}

/// The facts of one bucket, shared by its paths.
pub(super) struct BucketInputs<'a> {
    mrap: MrapFacts<'a>,
    proposed: Option<Known<Option<NamedPolicy<'a>>>>,
    bucket: BucketFacts<'a>,
    region: &'a str,
}

fn endpoint_facts<'a>(world: &'a World<'_>, e: &'a VpcEndpoint) -> Network<'a> {
    let policy = world
        .endpoint_policies
        .get(e.id.as_str())
        .or_else(|| world.regional_endpoint_policies.get(e.id.as_str()))
        .map_or(Known::Value(None), named);
    Network::Endpoint(Known::Value(crate::audit::endpoint_facts(&e.id, e, policy)))
}

fn statements_of<'a>(policy: &Known<Option<NamedPolicy<'a>>>) -> Vec<&'a Statement> {
    match policy {
        Known::Value(Some(p)) => p.policy.statements.iter().collect(),
        _ => Vec::new(),
    }
}

/// The statements without repeats (equal by value), in the order of their first appearance.
fn distinct<'a>(statements: Vec<&'a Statement>) -> Vec<&'a Statement> {
    let mut out: Vec<&'a Statement> = Vec::with_capacity(statements.len());
    for s in statements {
        if !out.iter().any(|o| std::ptr::eq(*o, s) || *o == s) {
            out.push(s);
        }
    }
    out
}

/// Builds the cells of one path (without deciding them).
pub(super) fn make_path<'a>(
    world: &'a World<'_>,
    config: &'a Config,
    door: Door,
    network: Network<'a>,
    inputs: &BucketInputs<'a>,
    partition: &'a str,
    time: (String, i64),
) -> PathCells<'a> {
    let mut statements: Vec<&'a Statement> = Vec::new();
    if let Network::Endpoint(Known::Value(e)) = &network {
        statements.extend(statements_of(&e.policy));
    }
    if door.through_mrap() {
        statements.extend(statements_of(&inputs.mrap.policy));
        if let Some(p) = &inputs.proposed {
            statements.extend(statements_of(p));
        }
    }
    statements.extend(statements_of(&inputs.bucket.policy));
    let mut policies = Vec::with_capacity(config.expectations.len());
    // Many expectations name the same policy file: its statements once (a file of one kind is
    // parsed once, so its path and kind say which statements it has).
    let mut files: std::collections::HashSet<(&std::path::Path, crate::policy::PolicyKind)> =
        std::collections::HashSet::new();
    for exp in &config.expectations {
        for f in exp.identity.iter().chain(&exp.boundary).chain(&exp.session) {
            if files.insert((&f.path, f.policy.kind)) {
                statements.extend(f.policy.statements.iter());
            }
        }
        policies.push(caller_policies(config, exp));
    }
    for level in config.organization.scp.iter().chain(&config.organization.rcp) {
        for p in level {
            statements.extend(p.policy.statements.iter());
        }
    }
    // Many expectations name the same identity policy: its statements once, not once per
    // expectation. Every use below (caller classes, key classes, free keys, relevance) asks which
    // statements exist, never how often; with a thousand expectations the copies made the map
    // cost seconds in `check`.
    let statements = distinct(statements);
    let default_policies = CallerPolicies {
        identity: None,
        boundary: None,
        session: None,
        scp: config
            .organization
            .scp
            .iter()
            .map(|l| l.iter().map(|p| NamedPolicy { name: &p.name, policy: &p.policy }).collect())
            .collect(),
        rcp: config
            .organization
            .rcp
            .iter()
            .map(|l| l.iter().map(|p| NamedPolicy { name: &p.name, policy: &p.policy }).collect())
            .collect(),
    };
    let zone = [inputs.mrap.account, inputs.bucket.account];
    let callers = caller_classes(&statements, config, &zone, partition);
    let key_prefixes = if door.through_mrap() {
        vec![format!("{}/object/", inputs.mrap.arn), format!("arn:{partition}:s3:::{}/", inputs.bucket.name)]
    } else {
        vec![format!("arn:{partition}:s3:::{}/", inputs.bucket.name)]
    };
    let mut complete = true;
    let mut caller_keys: Vec<CallerKeys<'a>> = Vec::with_capacity(callers.len());
    // Callers that may be named by the same statements share their key classes.
    let mut cache: Vec<(Vec<*const Statement>, Vec<Class<String>>)> = Vec::new();
    for class in &callers {
        let mine: Vec<&'a Statement> = statements
            .iter()
            .copied()
            .filter(|s| match &s.principal {
                None => true,
                Some(clause) if clause.negated => true,
                Some(clause) => crate::eval::principal::matches(clause, &class.caller, false, s.effect).is_some(),
            })
            .collect();
        let id: Vec<*const Statement> = mine.iter().map(|s| std::ptr::from_ref(*s)).collect();
        let keys = match cache.iter().find(|(k, _)| *k == id) {
            Some((_, keys)) => keys.clone(),
            None => {
                let (keys, done) = dims::key_classes(&mine, &key_prefixes, MAX_STATES);
                complete &= done;
                cache.push((id, keys.clone()));
                keys
            }
        };
        caller_keys.push(CallerKeys { statements: mine, keys });
    }
    let mut free = Vec::new();
    for (key, conditions) in dims::condition_keys(&statements) {
        let (is_fixed, absent) = fixed(&door, &key.to_lowercase());
        if is_fixed {
            continue;
        }
        let (f, done) = FreeKey::new(&key, conditions, absent, MAX_STATES);
        complete &= done;
        free.push(f);
    }
    let _ = world;
    let mut cells = PathCells {
        object_actions: dims::action_classes(&statements, false),
        bucket_actions: dims::action_classes(&statements, true),
        door,
        callers,
        caller_keys,
        free,
        complete,
        statements,
        key_prefixes,
        network,
        mrap: inputs.mrap.clone(),
        proposed: inputs.proposed.clone(),
        bucket: inputs.bucket.clone(),
        region: inputs.region,
        partition,
        time,
        policies,
        default_policies,
        equivalent: Vec::new(),
    };
    cells.equivalent = cells.equivalent_callers();
    cells
}

/// The doors of one bucket of `mrap`, with their cells, for the map and for tests.
pub fn path_cells<'a>(
    world: &'a World<'_>,
    config: &'a Config,
    mrap: &'a Mrap,
    bucket: &'a str,
    mrap_arn: &'a str,
    options: &AuditOptions,
) -> Vec<PathCells<'a>> {
    let Some((doors, inputs, partition, time)) = doors(world, mrap, bucket, mrap_arn, options) else {
        return Vec::new();
    };
    doors
        .into_iter()
        .map(|(door, network)| make_path(world, config, door, network, &inputs, partition, time.clone()))
        .collect()
}

/// The doors of one bucket with their networks, and the facts they share.
pub(super) type Doors<'a> = (Vec<(Door, Network<'a>)>, BucketInputs<'a>, &'a str, (String, i64));

pub(super) fn doors<'a>(
    world: &'a World<'_>,
    mrap: &'a Mrap,
    bucket: &'a str,
    mrap_arn: &'a str,
    options: &AuditOptions,
) -> Option<Doors<'a>> {
    let snapshot: &'a Snapshot = world.snapshot;
    let account = snapshot.account_id()?;
    let region = mrap.regions.iter().find(|r| r.bucket == bucket)?;
    let bucket_account = region.bucket_account_id.as_deref().unwrap_or(account);
    let inputs = BucketInputs {
        mrap: crate::audit::mrap_facts(world, mrap, mrap_arn, account),
        proposed: crate::audit::proposed_policy(world, mrap),
        bucket: BucketFacts {
            name: bucket,
            account: bucket_account,
            policy: world.bucket_policies.get(bucket).map_or(Known::Unknown("not captured".into()), named),
            bpa: bpa_of(snapshot.bucket_bpa.get(bucket)),
            account_bpa: bpa_of(snapshot.account_bpa.get(bucket_account)),
        },
        region: &region.region,
    };
    let time = (options.at.to_rfc3339_opts(SecondsFormat::Secs, true), options.at.timestamp());
    let partition = snapshot.partition();
    let endpoints: Vec<&'a VpcEndpoint> = snapshot.endpoints.values().filter_map(|c| c.value()).flatten().collect();
    let mut out = Vec::new();
    for e in endpoints.iter().filter(|e| e.service_name.as_deref() == Some(crate::s3::MRAP_ENDPOINT_SERVICE)) {
        out.push((Door::MrapEndpoint(e.id.clone()), endpoint_facts(world, e)));
    }
    out.push((Door::MrapInternet, Network::Internet));
    out.push((Door::BucketInternet, Network::Internet));
    let regional = crate::s3::regional_service(&region.region);
    for e in endpoints.iter().filter(|e| e.service_name.as_deref() == Some(regional.as_str())) {
        out.push((Door::BucketEndpoint(e.id.clone()), endpoint_facts(world, e)));
    }
    Some((out, inputs, partition, time))
}

/// The answers of one path: every cell decided, under the Established and the Proposed policy.
pub struct Answers {
    pub established: BTreeMap<Cell, (Decision, String)>,
    pub proposed: BTreeMap<Cell, Decision>,
}

/// A door's cell count and answers, or why it was not decided.
pub(super) type Decided = Result<(usize, Answers), UnknownAccess>;

/// Decides one door within the cell budget.
pub(super) fn decide_door(p: &PathCells<'_>, max: usize) -> Decided {
    let cells = p.cells();
    let count = cells.len();
    if count > max || !p.complete {
        let reason = if p.complete {
            format!("{count} cells exceed the budget of {max} (`[access] max_cells`)")
        } else {
            "the patterns' combinations exceed the search budget".into()
        };
        return Err(UnknownAccess { path: p.door.label(), reason, callers: Vec::new() });
    }
    Ok((count, decide_cells(p, cells)))
}

/// Decides every cell of a path.
pub fn decide_all(p: &PathCells<'_>) -> Answers {
    decide_cells(p, p.cells())
}

/// Decides the given cells of a path. A cell of a caller class equivalent to an earlier one
/// ([`equivalent`]) takes that class's answer for the same action, key and free classes; an
/// unknown answer is decided again, since its reason is shown per caller.
fn decide_cells(p: &PathCells<'_>, cells: Vec<Cell>) -> Answers {
    let mut established: BTreeMap<Cell, (Decision, String)> = BTreeMap::new();
    let mut proposed = BTreeMap::new();
    for cell in cells {
        if let Some(&rep) = p.equivalent.get(cell.caller).filter(|&&rep| rep != cell.caller) {
            let twin = Cell { caller: rep, ..cell.clone() };
            if let Some(answer) = established.get(&twin).filter(|(d, _)| *d != Decision::Unknown).cloned() {
                if let Some(d) = proposed.get(&twin).copied() {
                    proposed.insert(cell.clone(), d);
                }
                established.insert(cell, answer);
                continue;
            }
        }
        let Some(rep) = p.representative(&cell) else { continue };
        let configured = p.callers.get(cell.caller).and_then(|c| c.configured);
        let (e, pr) = p.decide(&rep, configured, false);
        if let Some(pr) = pr {
            proposed.insert(cell.clone(), pr.decision);
        }
        established.insert(cell, (e.decision, e.reason));
    }
    Answers { established, proposed }
}

impl PathCells<'_> {
    /// What the explanation of `g`'s witness depends on; `None` when its caller is none of the
    /// classes.
    pub(super) fn explain_key<'g>(&'g self, g: &'g super::Grant) -> Option<ExplainKey<'g>> {
        let class = self.callers.iter().position(|c| c.caller.display() == g.witness.principal)?;
        let configured = self.callers.get(class)?.configured;
        let policies = configured.and_then(|i| self.policies.get(i)).unwrap_or(&self.default_policies);
        let names = [policies.identity, policies.boundary, policies.session].map(|n| n.map(|n| n.name));
        Some((*self.equivalent.get(class)?, names, &g.witness.action, &g.witness.key, &g.witness.context))
    }

    /// The first caller class equivalent to `caller` ([`equivalent`]), whose answers it takes;
    /// `caller` itself when there is none.
    pub fn equivalent_of(&self, caller: usize) -> usize {
        self.equivalent.get(caller).copied().unwrap_or(caller)
    }

    pub fn bucket_name(&self) -> &str {
        self.bucket.name
    }

    pub fn bucket_account(&self) -> &str {
        self.bucket.account
    }

    /// The MRAP's alias (the last part of its ARN).
    pub fn mrap_alias(&self) -> &str {
        self.mrap.arn.rsplit('/').next().unwrap_or_default()
    }

    /// The resource patterns of the statements that may apply to a caller class, as key globs
    /// (the part after the path's object-ARN prefix), for describing its key classes:
    /// `(text, tokens)`.
    pub fn key_globs(&self, caller: usize) -> Vec<(String, Vec<crate::policy::template::Token>)> {
        let mut out: Vec<(String, Vec<crate::policy::template::Token>)> = Vec::new();
        let statements = self.caller_keys.get(caller).map_or(&[][..], |k| k.statements.as_slice());
        for s in statements {
            for pat in &s.resource.patterns {
                let text = if pat.raw == "*" {
                    Some("*".to_string())
                } else {
                    self.key_prefixes.iter().find_map(|pre| pat.raw.strip_prefix(pre.as_str()).map(str::to_string))
                };
                let Some(text) = text else { continue };
                if out.iter().any(|(t, _)| *t == text) {
                    continue;
                }
                let tokens = crate::policy::template::Template::parse(
                    &text,
                    crate::policy::template::Syntax { wildcards: true, variables: false },
                )
                .tokens;
                out.push((text, tokens));
            }
        }
        out
    }
}

impl Door {
    pub(super) fn via_of(&self) -> String {
        self.via()
    }
}

impl UnknownAccess {
    pub(super) fn new(path: String, reason: String, callers: Vec<String>) -> UnknownAccess {
        UnknownAccess { path, reason, callers }
    }
}
