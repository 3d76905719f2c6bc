//! The dimensions of the request space on one path, and their classes (the stratified
//! abstraction of IAM Access Analyzer: Backes et al., CAV 2020).
//!
//! Each dimension (action, key, one free condition key) is split into classes on which every
//! statement on the path gives the same answer. Candidates are generated from the constants the
//! policies mention — glob patterns through a product automaton searched breadth-first for the
//! shortest string of each reachable combination, CIDRs and thresholds through their boundaries —
//! and then *classified by the real matcher* ([`statement::action_matches`],
//! [`statement::resource_matches`], [`condition::evaluate`]): the signature that decides a class
//! is what the evaluator sees, never the generator's approximation. [`classify_key`] and friends
//! let a test put any concrete value into its class.
//!
//! Left out: values whose meaning depends on another key (policy variables in condition values
//! are resolved against an otherwise empty request), multi-valued keys (one value per request).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use crate::eval::condition;
use crate::eval::statement;
use crate::eval::{Caller, Context, ContextValue, Request, Tri};
use crate::policy::template::Token;
use crate::policy::{BaseOperator, Condition, ConditionValues, Statement};

/// A class of one dimension: a representative and the signature that defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct Class<V> {
    pub rep: V,
    pub signature: Vec<Tri>,
    /// Every catalogue member of the class (actions only).
    pub members: Vec<String>,
}

/// Adds `rep` to `classes` unless a class with its signature exists.
fn add_class<V>(classes: &mut Vec<Class<V>>, rep: V, signature: Vec<Tri>, member: Option<String>) {
    if let Some(c) = classes.iter_mut().find(|c| c.signature == signature) {
        c.members.extend(member);
        return;
    }
    classes.push(Class { rep, signature, members: member.into_iter().collect() });
}

/// The S3 actions an MRAP or a bucket serves on objects (S3: "Multi-Region Access Point
/// restrictions and limitations", supported API operations), in the order grants list them.
pub const OBJECT_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:GetObjectVersion",
    "s3:DeleteObjectVersion",
    "s3:GetObjectAcl",
    "s3:PutObjectAcl",
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:GetObjectAttributes",
    "s3:GetObjectLegalHold",
    "s3:PutObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:PutObjectRetention",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:RestoreObject",
];

/// Bucket-level read actions (they name the bucket, or the MRAP, itself).
pub const BUCKET_ACTIONS: &[&str] = &["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"];

fn probe(action: &str, resource: &str, context: Context) -> Request {
    Request::new(Caller::Anonymous, action, resource, None, context)
}

/// The action signature: whether each statement's `Action`/`NotAction` matches.
pub fn action_signature(statements: &[&Statement], action: &str) -> Vec<Tri> {
    let request = probe(action, "", Context::new());
    statements.iter().map(|s| Tri::from(statement::action_matches(s, &request))).collect()
}

/// Action classes over the catalogue and the concrete S3 actions the statements name.
pub fn action_classes(statements: &[&Statement], bucket_level: bool) -> Vec<Class<String>> {
    let catalogue = if bucket_level { BUCKET_ACTIONS } else { OBJECT_ACTIONS };
    let mut names: Vec<String> = catalogue.iter().map(|a| a.to_string()).collect();
    for s in statements {
        for p in &s.action.patterns {
            let concrete = p.tokens.iter().all(|t| matches!(t, Token::Lit(_)));
            let lower = p.raw.to_ascii_lowercase();
            if concrete
                && lower.starts_with("s3:")
                && crate::config::is_bucket_action(&lower) == bucket_level
                && !names.iter().any(|n| n.eq_ignore_ascii_case(&lower))
            {
                names.push(p.raw.clone());
            }
        }
    }
    let mut classes = Vec::new();
    for name in names {
        let sig = action_signature(statements, &name);
        add_class(&mut classes, name.clone(), sig, Some(name));
    }
    classes
}

/// The key signature: whether each statement's `Resource`/`NotResource` matches each of the
/// path's object ARNs for `key`.
pub fn key_signature(statements: &[&Statement], prefixes: &[String], key: &str) -> Vec<Tri> {
    let mut sig = Vec::with_capacity(statements.len() * prefixes.len());
    for prefix in prefixes {
        let request = probe("s3:GetObject", &format!("{prefix}{key}"), Context::new());
        sig.extend(statements.iter().map(|s| statement::resource_matches(s, &request)));
    }
    sig
}

/// The glob of a template for candidate generation: variables may be anything.
fn glob_of(tokens: &[Token]) -> Vec<Token> {
    tokens.iter().map(|t| if let Token::Var(_) = t { Token::Star } else { t.clone() }).collect()
}

/// Flattens an ARN pattern's fields back into one glob (`:` between fields).
fn arn_glob(fields: &[crate::policy::template::Template]) -> Vec<Token> {
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(Token::Lit(":".into()));
        }
        out.extend(glob_of(&f.tokens));
    }
    out
}

/// A glob as a sequence of single-character steps, for the automaton.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Char(char),
    Any,
    Star,
}

fn steps(tokens: &[Token]) -> Vec<Step> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Token::Lit(s) => out.extend(s.chars().map(Step::Char)),
            Token::One => out.push(Step::Any),
            Token::Star | Token::Var(_) => out.push(Step::Star),
        }
    }
    out
}

/// The NFA state set of one glob: positions in its steps (sorted, no duplicates; usually one to
/// three, so a vector beats a tree), closed over `*` (which may match nothing). Position
/// `steps.len()` accepts.
type States = Vec<usize>;

fn closure(steps: &[Step], set: &mut States) {
    let mut i = 0;
    while let Some(&p) = set.get(i) {
        if let Some(Step::Star) = steps.get(p) {
            if !set.contains(&(p + 1)) {
                set.push(p + 1);
            }
        }
        i += 1;
    }
    set.sort_unstable();
    set.dedup();
}

fn advance(steps: &[Step], set: &States, c: char) -> States {
    let mut next = Vec::with_capacity(set.len() + 1);
    for &p in set {
        match steps.get(p) {
            Some(Step::Char(x)) if *x == c => next.push(p + 1),
            Some(Step::Any) => next.push(p + 1),
            Some(Step::Star) => next.push(p),
            _ => {}
        }
    }
    closure(steps, &mut next);
    next
}

/// Shortest strings (after `prefix`) for every reachable combination of the globs: a
/// breadth-first search of their product automaton. Characters no glob names behave alike, so
/// the alphabet is the globs' own characters plus one fresh character. Returns the strings and
/// whether the search finished within `max_states`.
pub fn glob_witnesses(globs: &[Vec<Token>], prefix: &str, max_states: usize) -> (Vec<String>, bool) {
    let mut all: Vec<Vec<Step>> = Vec::with_capacity(globs.len());
    let mut start: Vec<States> = Vec::with_capacity(globs.len());
    for g in globs {
        let s = steps(g);
        let mut set: States = vec![0];
        closure(&s, &mut set);
        for c in prefix.chars() {
            set = advance(&s, &set, c);
        }
        // A glob the prefix already ruled out can never match: it splits nothing.
        if !set.is_empty() && !all.contains(&s) {
            all.push(s);
            start.push(set);
        }
    }
    // Only characters a live glob can still read matter; every other one behaves like a fresh one.
    let mut named: BTreeSet<char> = BTreeSet::new();
    for (s, set) in all.iter().zip(&start) {
        let from = set.first().copied().unwrap_or(0);
        for step in s.iter().skip(from) {
            if let Step::Char(c) = step {
                named.insert(*c);
            }
        }
    }
    // Characters no glob names behave alike: one fresh letter stands for all of them, and it
    // comes first so that witnesses read like keys (`x`, `reports/x`), not punctuation.
    let fresh = ['x', 'q', 'z', 'k', '0', '_'].into_iter().find(|c| !named.contains(c)).unwrap_or('~');
    let mut alphabet: Vec<char> = vec![fresh];
    alphabet.extend(named.iter().copied().filter(|c| c.is_ascii_alphanumeric()));
    alphabet.extend(named.iter().copied().filter(|c| !c.is_ascii_alphanumeric()));
    let mut seen: HashMap<Vec<States>, ()> = HashMap::new();
    let mut queue: VecDeque<(Vec<States>, String)> = VecDeque::new();
    let mut out = Vec::new();
    let mut emitted: std::collections::HashSet<Vec<bool>> = std::collections::HashSet::new();
    queue.push_back((start, String::new()));
    let mut complete = true;
    while let Some((state, text)) = queue.pop_front() {
        for &c in &alphabet {
            let next: Vec<States> = all.iter().zip(&state).map(|(s, set)| advance(s, set, c)).collect();
            if seen.contains_key(&next) {
                continue;
            }
            if seen.len() >= max_states {
                complete = false;
                break;
            }
            let mut t = text.clone();
            t.push(c);
            // One witness per combination of accepting globs: the shortest (breadth first).
            let accepts: Vec<bool> = all.iter().zip(&next).map(|(s, set)| set.contains(&s.len())).collect();
            if emitted.insert(accepts) {
                out.push(t.clone());
            }
            seen.insert(next.clone(), ());
            queue.push_back((next, t));
        }
        if !complete {
            break;
        }
    }
    (out, complete)
}

/// Key classes of one path: every reachable combination of the resource patterns.
pub fn key_classes(statements: &[&Statement], prefixes: &[String], max_states: usize) -> (Vec<Class<String>>, bool) {
    let globs: Vec<Vec<Token>> =
        statements.iter().flat_map(|s| s.resource.patterns.iter().map(|p| arn_glob(&p.fields))).collect();
    let mut complete = true;
    let mut candidates = Vec::new();
    for prefix in prefixes {
        let (c, done) = glob_witnesses(&globs, prefix, max_states);
        complete &= done;
        candidates.extend(c);
    }
    let mut classes = Vec::new();
    for key in candidates {
        let sig = key_signature(statements, prefixes, &key);
        add_class(&mut classes, key, sig, None);
    }
    // Shortest first within a class is already guaranteed; order classes by key for stability.
    (classes, complete)
}

/// How a free condition key is set in one cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DimValue {
    Absent,
    Value(String),
}

/// A condition key the path does not fix: one dimension of the map.
#[derive(Debug, Clone)]
pub struct FreeKey {
    /// As first written in a policy.
    pub key: String,
    pub key_lower: String,
    pub conditions: Vec<Condition>,
    pub classes: Vec<Class<DimValue>>,
}

/// The signature of one value of a free key: each condition on it.
pub fn value_signature(conditions: &[Condition], key: &str, value: &DimValue) -> Vec<Tri> {
    let mut context = Context::new();
    if let DimValue::Value(v) = value {
        context.insert(key, ContextValue::Single(v.clone()));
    }
    let request = probe("s3:GetObject", "", context);
    conditions.iter().map(|c| condition::evaluate(c, &request)).collect()
}

fn ip_neighbours(net: &ipnet::IpNet) -> Vec<String> {
    let mut out = vec![net.network().to_string(), net.broadcast().to_string()];
    let step = |ip: IpAddr, up: bool| -> Option<IpAddr> {
        match ip {
            IpAddr::V4(v) => {
                let n = u32::from(v);
                let m = if up { n.checked_add(1)? } else { n.checked_sub(1)? };
                Some(IpAddr::V4(m.into()))
            }
            IpAddr::V6(v) => {
                let n = u128::from(v);
                let m = if up { n.checked_add(1)? } else { n.checked_sub(1)? };
                Some(IpAddr::V6(m.into()))
            }
        }
    };
    out.extend(step(net.network(), false).map(|i| i.to_string()));
    out.extend(step(net.broadcast(), true).map(|i| i.to_string()));
    out
}

/// Candidate values of a free key from the constants its conditions mention.
fn candidates(conditions: &[Condition], max_states: usize) -> (Vec<String>, bool) {
    let mut out: Vec<String> = Vec::new();
    let mut globs: Vec<Vec<Token>> = Vec::new();
    let mut complete = true;
    for c in conditions {
        match &c.values {
            ConditionValues::String(ts) => {
                for t in ts {
                    globs.push(glob_of(&t.tokens));
                    if c.operator.base.ignores_case() {
                        out.push(t.raw.to_uppercase());
                    }
                }
            }
            ConditionValues::Arn(ps) => globs.extend(ps.iter().map(|p| arn_glob(&p.fields))),
            ConditionValues::Numeric(ns) => {
                for n in ns {
                    out.extend([n - 1.0, *n, n + 1.0, n - 0.5, n + 0.5].iter().map(|v| format!("{v}")));
                }
            }
            ConditionValues::Date(ds) => {
                for d in ds {
                    let secs = (d / 1_000_000_000) as i64;
                    for s in [secs - 1, secs, secs + 1] {
                        if let Some(t) = chrono::DateTime::from_timestamp(s, 0) {
                            out.push(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                        }
                    }
                }
            }
            ConditionValues::Bool(_) => out.extend(["true".to_string(), "false".to_string()]),
            ConditionValues::Ip(nets) => {
                for n in nets {
                    out.extend(ip_neighbours(n));
                }
                out.push("198.51.100.77".into());
                out.push("2001:db8::77".into());
            }
            ConditionValues::Binary(_) | ConditionValues::Null(_) => {}
        }
        out.extend(c.raw_values.iter().cloned());
    }
    if !globs.is_empty() {
        let (w, done) = glob_witnesses(&globs, "", max_states);
        complete &= done;
        out.extend(w);
    }
    if out.is_empty() {
        out.push("mrap-auditor-other".into());
    }
    (out, complete)
}

impl FreeKey {
    /// Builds the classes of one free key; `absent`: whether a request may lack the key.
    pub fn new(key: &str, conditions: Vec<Condition>, absent: bool, max_states: usize) -> (FreeKey, bool) {
        let key_lower = key.to_lowercase();
        let (values, complete) = candidates(&conditions, max_states);
        let mut classes = Vec::new();
        if absent {
            let sig = value_signature(&conditions, key, &DimValue::Absent);
            add_class(&mut classes, DimValue::Absent, sig, None);
        }
        for v in values {
            let value = DimValue::Value(v);
            let sig = value_signature(&conditions, key, &value);
            add_class(&mut classes, value, sig, None);
        }
        (FreeKey { key: key.to_string(), key_lower, conditions, classes }, complete)
    }

    /// The class a concrete value falls in, if any (a test of exactness).
    pub fn classify(&self, value: &DimValue) -> Option<usize> {
        let sig = value_signature(&self.conditions, &self.key, value);
        self.classes.iter().position(|c| c.signature == sig)
    }

    /// How a grant states this key's class.
    pub fn describe(&self, class: usize) -> String {
        let Some(c) = self.classes.get(class) else { return format!("{} (any)", self.key) };
        match &c.rep {
            DimValue::Absent => format!("{} absent", self.key),
            DimValue::Value(v) => {
                let ip: Option<IpAddr> = v.parse().ok();
                let ips: Vec<String> = self
                    .conditions
                    .iter()
                    .filter_map(|c| match &c.values {
                        ConditionValues::Ip(n) => Some(n),
                        _ => None,
                    })
                    .flatten()
                    .filter(|n| ip.is_some_and(|ip| n.contains(&ip)))
                    .map(|n| n.to_string())
                    .collect();
                let is_ip = self.conditions.iter().any(|c| matches!(c.values, ConditionValues::Ip(_)));
                if is_ip {
                    return if ips.is_empty() {
                        format!("{} outside every CIDR the policies name", self.key)
                    } else {
                        format!("{} in {}", self.key, ips.join(" and "))
                    };
                }
                let boolean = self.conditions.iter().any(|c| matches!(c.values, ConditionValues::Bool(_)));
                let like = self.conditions.iter().find_map(|c| match &c.values {
                    ConditionValues::String(ts) if c.operator.base.has_wildcards() => {
                        ts.iter().find(|t| t.raw == *v && t.raw.contains(['*', '?'])).map(|t| t.raw.clone())
                    }
                    _ => None,
                });
                if let Some(pattern) = like {
                    return format!("{} like {pattern}", self.key);
                }
                let named = self.conditions.iter().any(|c| c.raw_values.iter().any(|r| r == v));
                if named || boolean {
                    format!("{} = {v}", self.key)
                } else {
                    let mut all: Vec<&str> =
                        self.conditions.iter().flat_map(|c| c.raw_values.iter().map(String::as_str)).collect();
                    all.sort_unstable();
                    all.dedup();
                    format!("{} = {v} (a value matching none of {})", self.key, all.join(", "))
                }
            }
        }
    }
}

/// Condition keys every statement of the path tests, with their conditions.
pub fn condition_keys(statements: &[&Statement]) -> Vec<(String, Vec<Condition>)> {
    let mut out: Vec<(String, Vec<Condition>)> = Vec::new();
    for s in statements {
        for c in &s.conditions {
            match out.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&c.key)) {
                Some((_, list)) => list.push(c.clone()),
                None => out.push((c.key.clone(), vec![c.clone()])),
            }
        }
    }
    out
}

/// Whether a base operator is one whose classes the generator covers.
pub fn modelled(op: BaseOperator) -> bool {
    !matches!(op, BaseOperator::BinaryEquals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::template::{Syntax, Template};

    fn glob(s: &str) -> Vec<Token> {
        Template::parse(s, Syntax { wildcards: true, variables: false }).tokens
    }

    #[test]
    fn product_automaton_finds_every_combination() {
        let globs = vec![glob("a*"), glob("*b")];
        let (w, done) = glob_witnesses(&globs, "", 1000);
        assert!(done);
        let sig =
            |s: &str| (crate::eval::wildcard::matches(&globs[0], s), crate::eval::wildcard::matches(&globs[1], s));
        let found: BTreeSet<(bool, bool)> = w.iter().map(|s| sig(s)).collect();
        assert_eq!(found.len(), 4, "{w:?}");
    }

    #[test]
    fn prefix_is_consumed_before_the_search() {
        let globs = vec![glob("arn:aws:s3:::b/reports/*")];
        let (w, _) = glob_witnesses(&globs, "arn:aws:s3:::b/", 1000);
        assert!(w.iter().any(|k| k.starts_with("reports/")));
        assert!(w.iter().any(|k| !k.starts_with("reports/")));
    }
}
