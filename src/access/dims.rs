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

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
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

/// One glob's NFA, determinised lazily: each distinct state set the search reaches gets an id,
/// and each (set, letter) transition is computed once. The product search then moves by table
/// lookups instead of building a state set per glob per letter (which allocated millions of
/// small vectors on a 5-bucket MRAP and dominated the map's time).
struct LazyDfa<'s> {
    steps: &'s [Step],
    sets: Vec<States>,
    ids: HashMap<States, u32>,
    accepting: Vec<bool>,
    /// `next[id * letters + letter]`, [`LazyDfa::UNSEEN`] until computed.
    next: Vec<u32>,
    letters: usize,
}

impl<'s> LazyDfa<'s> {
    const UNSEEN: u32 = u32::MAX;

    fn new(steps: &'s [Step], start: States, letters: usize) -> (Self, u32) {
        let mut dfa =
            LazyDfa { steps, sets: Vec::new(), ids: HashMap::new(), accepting: Vec::new(), next: Vec::new(), letters };
        let id = dfa.intern(start);
        (dfa, id)
    }

    fn intern(&mut self, set: States) -> u32 {
        if let Some(&id) = self.ids.get(&set) {
            return id;
        }
        let id = u32::try_from(self.sets.len()).unwrap_or(Self::UNSEEN - 1);
        self.accepting.push(set.contains(&self.steps.len()));
        self.ids.insert(set.clone(), id);
        self.sets.push(set);
        self.next.resize(self.sets.len() * self.letters, Self::UNSEEN);
        id
    }

    fn step(&mut self, id: u32, letter: usize, c: char) -> u32 {
        let slot = id as usize * self.letters + letter;
        if let Some(&to) = self.next.get(slot).filter(|&&to| to != Self::UNSEEN) {
            return to;
        }
        let set = self.sets.get(id as usize).map_or_else(Vec::new, |set| advance(self.steps, set, c));
        let to = self.intern(set);
        if let Some(entry) = self.next.get_mut(slot) {
            *entry = to;
        }
        to
    }

    fn accepts(&self, id: u32) -> bool {
        self.accepting.get(id as usize).copied().unwrap_or(false)
    }
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
    let mut dfas = Vec::with_capacity(all.len());
    let mut first: Vec<u32> = Vec::with_capacity(all.len());
    for (s, set) in all.iter().zip(start) {
        let (dfa, id) = LazyDfa::new(s, set, alphabet.len());
        dfas.push(dfa);
        first.push(id);
    }
    // The start state is not marked seen: the empty key is no witness, and a path back to the
    // start yields the shortest non-empty key of its combination.
    let width = dfas.len();
    let mut search = Search { arena: first, parent: vec![(0, '\0')] };
    let mut seen: HashSet<Box<[u32]>> = HashSet::new();
    let mut queue: VecDeque<u32> = VecDeque::from([0]);
    let mut out = Vec::new();
    let mut emitted: HashSet<Vec<bool>> = HashSet::new();
    let mut next: Vec<u32> = Vec::with_capacity(width);
    while let Some(node) = queue.pop_front() {
        for (letter, &c) in alphabet.iter().enumerate() {
            next.clear();
            let state = search.state(node, width);
            next.extend(dfas.iter_mut().zip(state).map(|(dfa, &id)| dfa.step(id, letter, c)));
            if seen.contains(next.as_slice()) {
                continue;
            }
            if seen.len() >= max_states {
                return (out, false);
            }
            let child = search.push(node, c, &next);
            // One witness per combination of accepting globs: the shortest (breadth first).
            let accepts: Vec<bool> = dfas.iter().zip(&next).map(|(dfa, &id)| dfa.accepts(id)).collect();
            if emitted.insert(accepts) {
                out.push(search.text(child));
            }
            seen.insert(next.as_slice().into());
            queue.push_back(child);
        }
    }
    (out, true)
}

/// The nodes of the breadth-first search: each node's product state (`width` ids, flat) and its
/// parent and letter, so that a node's string is spelled only when it becomes a witness.
struct Search {
    arena: Vec<u32>,
    parent: Vec<(u32, char)>,
}

impl Search {
    fn state(&self, node: u32, width: usize) -> &[u32] {
        let from = node as usize * width;
        self.arena.get(from..from + width).unwrap_or_default()
    }

    fn push(&mut self, parent: u32, c: char, state: &[u32]) -> u32 {
        self.arena.extend_from_slice(state);
        self.parent.push((parent, c));
        u32::try_from(self.parent.len() - 1).unwrap_or(u32::MAX)
    }

    /// The letters from the root to `node`.
    fn text(&self, mut node: u32) -> String {
        let mut letters = Vec::new();
        while node != 0 {
            let Some(&(parent, c)) = self.parent.get(node as usize) else { break };
            letters.push(c);
            node = parent;
        }
        letters.iter().rev().collect()
    }
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

    /// Against brute force: every combination of accepting globs that some string of up to five
    /// letters (over the globs' letters and one fresh one) reaches has a witness, and the witness
    /// is as short as the shortest such string.
    #[test]
    fn witnesses_are_the_shortest_of_every_reachable_combination() {
        let cases: &[(&str, &[&str])] = &[
            ("two stars", &["a*", "*b"]),
            ("nested", &["ab*", "a*c", "*bc*"]),
            ("one-char", &["a?", "?a", "a"]),
            ("star and literal", &["*/secret/*", "public/*"]),
            ("duplicates", &["a*", "a*", "b"]),
        ];
        for (name, patterns) in cases {
            let globs: Vec<Vec<Token>> = patterns.iter().map(|p| glob(p)).collect();
            let (witnesses, done) = glob_witnesses(&globs, "", 10_000);
            assert!(done, "{name}");
            let sig = |s: &str| -> Vec<bool> { globs.iter().map(|g| crate::eval::wildcard::matches(g, s)).collect() };
            let mut letters: BTreeSet<char> =
                patterns.iter().flat_map(|p| p.chars()).filter(|c| *c != '*' && *c != '?').collect();
            letters.insert('x');
            let mut shortest: HashMap<Vec<bool>, usize> = HashMap::new();
            let mut layer = vec![String::new()];
            for len in 1..=5 {
                layer = layer.iter().flat_map(|s| letters.iter().map(move |c| format!("{s}{c}"))).collect();
                for s in &layer {
                    shortest.entry(sig(s)).or_insert(len);
                }
            }
            for (combination, len) in &shortest {
                let found = witnesses.iter().find(|w| sig(w) == *combination);
                let found = found.unwrap_or_else(|| panic!("{name}: no witness for {combination:?}"));
                assert_eq!(found.chars().count(), *len, "{name}: {found:?} is not the shortest for {combination:?}");
            }
        }
    }

    #[test]
    fn a_search_over_its_budget_says_so() {
        let globs = vec![glob("a*b*c*d"), glob("*d*c*b*a"), glob("*ab*cd*")];
        let (_, done) = glob_witnesses(&globs, "", 3);
        assert!(!done);
        let (_, done) = glob_witnesses(&globs, "", 100_000);
        assert!(done);
    }

    #[test]
    fn prefix_is_consumed_before_the_search() {
        let globs = vec![glob("arn:aws:s3:::b/reports/*")];
        let (w, _) = glob_witnesses(&globs, "arn:aws:s3:::b/", 1000);
        assert!(w.iter().any(|k| k.starts_with("reports/")));
        assert!(w.iter().any(|k| !k.starts_with("reports/")));
    }
}
