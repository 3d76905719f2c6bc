//! Reading a stream of cases (`eval --jsonl`): one pass over each line, compiled policies cached
//! by their source text.
//!
//! In a stream the same few policies repeat from line to line — a CI pipeline asks many
//! questions of one bucket policy, one endpoint policy, one set of SCPs. Building the JSON tree
//! of every line and compiling its policies again dominated the stream's time, and after the
//! cache, cutting the policies out of the line did (see README "Performance"). [`StreamReader`]
//! reads a line in one pass straight into the case: the request's strings are taken from the
//! line, and each policy is first compared in place with the texts of its kind used last
//! ([`PolicyCache::recent`]), then cut out and looked up by its exact text; only a text never
//! seen is built and compiled.
//!
//! It is an optimisation of the success path only: whenever a line is anything but a well-formed
//! case (bad JSON, an unknown field, a duplicate key, a policy that does not compile, …), it
//! returns what [`parse_case`] returns for the whole line, so errors and their positions are
//! exactly those of the single-case reader. The one difference on success is invisible to the
//! evaluator: a cached policy's statement positions are counted from the start of the policy's
//! own text, not of the line (positions are only used in error messages, which never come from a
//! cached policy).
//!
//! Out of scope: normalising policies (two texts that differ in whitespace are two entries) and
//! sharing the cache between processes.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::case::{self, CaseError, EvalCase, Levels, Named, parse_case};
use super::request::{Caller, Context, ContextValue, Request};
use crate::policy::json::{self, JsonKind, MAX_DEPTH};
use crate::policy::{Policy, PolicyKind};
use crate::util::is_account_id;

/// How many compiled policies the stream keeps, and how much of their source text: a stream of
/// ever new policies must not grow without bound. 1,024 entries hold every policy of a realistic
/// organisation; the byte bound keeps a stream of large (up to 1 MiB) documents near 16 MiB of
/// text plus its compiled form.
pub const DEFAULT_ENTRIES: usize = 1024;
pub const DEFAULT_BYTES: usize = 16 * 1024 * 1024;

/// How many of the texts of one kind used last are compared in place, at the cursor, before a
/// policy is cut out of the line and looked up by hash. A stream repeats a few texts per place
/// (one endpoint policy, a bucket policy per bucket): comparing them where they stand costs
/// neither a pass to find where the value ends nor a hash of it, and a comparison that fails
/// stops at the first differing byte.
const RECENT: usize = 8;

/// A bounded least-recently-used map from (policy kind, source text) to the compiled policy,
/// with the few texts of each kind used last kept apart for [`PolicyCache::recent`].
///
/// Eviction scans for the oldest entry, O(entries) per insertion once full. The alternative, a
/// linked LRU list (or the `lru` crate), is O(1) but costs a dependency or unsafe-free pointer
/// juggling; a scan of 1,024 counters is far cheaper than the parse that precedes every
/// insertion, and a hit — the common case — costs one comparison or one hash lookup either way.
#[derive(Debug)]
pub struct PolicyCache {
    entries: HashMap<PolicyKind, HashMap<Rc<str>, Rc<Entry>>>,
    /// Per kind, the entries used last, most recent first (at most [`RECENT`]); every one of
    /// them is also in `entries`.
    recent: Vec<(PolicyKind, Vec<Rc<Entry>>)>,
    max_entries: usize,
    max_bytes: usize,
    len: usize,
    bytes: usize,
    /// A logical clock: each lookup takes the next value, the entry keeps the last one it saw.
    clock: u64,
    hits: u64,
    misses: u64,
}

#[derive(Debug)]
struct Entry {
    text: Rc<str>,
    policy: Arc<Policy>,
    /// How deep the text nests (see [`Line::skip`]), for the depth limit where it is met again.
    nested: usize,
    last_used: Cell<u64>,
}

/// A policy found by [`PolicyCache::recent`]: the policy, how long its text is, how deep it nests.
pub struct Found {
    pub policy: Arc<Policy>,
    pub len: usize,
    pub nested: usize,
}

impl Default for PolicyCache {
    fn default() -> Self {
        Self::new(DEFAULT_ENTRIES, DEFAULT_BYTES)
    }
}

impl PolicyCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        PolicyCache {
            entries: HashMap::new(),
            recent: Vec::new(),
            max_entries,
            max_bytes,
            len: 0,
            bytes: 0,
            clock: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// Compiled policies held now.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Source bytes held now (the sum of the keys' lengths).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Lookups answered from the cache, and lookups that had to compile.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The recently used policy of `kind` whose text `rest` (the line from the cursor on) starts
    /// with. Such a text is the whole value at the cursor: it compiled once, so it is one
    /// well-formed JSON object or string, and those end where their text ends.
    pub fn recent(&mut self, kind: PolicyKind, rest: &[u8]) -> Option<Found> {
        let list = &mut self.recent.iter_mut().find(|(k, _)| *k == kind)?.1;
        let at = list.iter().position(|e| rest.starts_with(e.text.as_bytes()))?;
        list.get_mut(..=at)?.rotate_right(1);
        let entry = Rc::clone(list.first()?);
        let clock = self.tick();
        entry.last_used.set(clock);
        self.hits += 1;
        Some(Found { policy: Arc::clone(&entry.policy), len: entry.text.len(), nested: entry.nested })
    }

    /// The compiled policy of `text` (which nests `nested` deep), compiling it with `compile` on a
    /// miss. A policy that does not compile is not cached: its error depends on where it stands
    /// in the line.
    pub fn get_or_compile<E>(
        &mut self,
        kind: PolicyKind,
        text: &str,
        nested: usize,
        compile: impl FnOnce() -> Result<Policy, E>,
    ) -> Result<Arc<Policy>, E> {
        let clock = self.tick();
        if let Some(entry) = self.entries.get(&kind).and_then(|m| m.get(text)).map(Rc::clone) {
            entry.last_used.set(clock);
            self.hits += 1;
            self.make_recent(kind, &entry);
            return Ok(Arc::clone(&entry.policy));
        }
        self.misses += 1;
        let policy = Arc::new(compile()?);
        if text.len() > self.max_bytes || self.max_entries == 0 {
            return Ok(policy);
        }
        while self.len >= self.max_entries || self.bytes + text.len() > self.max_bytes {
            if !self.evict_oldest() {
                break;
            }
        }
        let text: Rc<str> = text.into();
        let entry =
            Rc::new(Entry { text: Rc::clone(&text), policy: Arc::clone(&policy), nested, last_used: Cell::new(clock) });
        self.len += 1;
        self.bytes += text.len();
        self.make_recent(kind, &entry);
        self.entries.entry(kind).or_default().insert(text, entry);
        Ok(policy)
    }

    fn make_recent(&mut self, kind: PolicyKind, entry: &Rc<Entry>) {
        if RECENT == 0 {
            return;
        }
        let list = match self.recent.iter().position(|(k, _)| *k == kind) {
            Some(i) => self.recent.get_mut(i).map(|(_, l)| l),
            None => {
                self.recent.push((kind, Vec::with_capacity(RECENT)));
                self.recent.last_mut().map(|(_, l)| l)
            }
        };
        let Some(list) = list else { return };
        list.retain(|e| !Rc::ptr_eq(e, entry));
        list.truncate(RECENT - 1);
        list.insert(0, Rc::clone(entry));
    }

    fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .entries
            .iter()
            .flat_map(|(kind, m)| m.values().map(move |e| (e.last_used.get(), *kind, e)))
            .min_by_key(|(last_used, _, _)| *last_used)
            .map(|(_, kind, e)| (kind, Rc::clone(e)));
        let Some((kind, entry)) = oldest else { return false };
        if let Some(m) = self.entries.get_mut(&kind) {
            m.remove(&entry.text);
        }
        for (_, list) in &mut self.recent {
            list.retain(|e| !Rc::ptr_eq(e, &entry));
        }
        self.len -= 1;
        self.bytes -= entry.text.len();
        true
    }
}

/// Reads the cases of one stream, sharing compiled policies between lines.
#[derive(Debug, Default)]
pub struct StreamReader {
    pub cache: PolicyCache,
    /// Lines the fast path handed to the full reader (for tests and measurements: a well-formed
    /// line must never need it).
    fallbacks: u64,
}

impl StreamReader {
    pub fn new(cache: PolicyCache) -> Self {
        StreamReader { cache, fallbacks: 0 }
    }

    /// Lines read by the full reader so far because the fast path could not take them.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks
    }

    /// The case of one line: the same result as [`parse_case`], policies shared when their text
    /// was seen before.
    pub fn parse(&mut self, text: &str) -> Result<EvalCase, CaseError> {
        if text.len() <= crate::policy::parse::MAX_POLICY_BYTES
            && let Some(case) = fast_case(&mut self.cache, text)
        {
            return Ok(case);
        }
        self.fallbacks += 1;
        parse_case(text)
    }
}

/// The policies of a case, as the fast path collects them.
#[derive(Default)]
struct Policies {
    identity: Vec<Named>,
    resource: Option<Named>,
    vpce: Vec<Named>,
    boundary: Option<Vec<Named>>,
    session: Option<Named>,
    scp: Option<Levels>,
    rcp: Option<Levels>,
}

/// The fast path: one pass over the line, straight into the case, strings borrowed from the line
/// where they hold no escape, each policy looked up by its text. `None` whenever the line is not
/// a well-formed case (the caller then runs the full reader, which says why).
///
/// It accepts strict JSON only: a line it reads is one the full reader reads the same way, and
/// every check of [`case::case_from_json`] is made again (unknown and duplicate members, types,
/// the caller, the action, the account id, the depth limit). A string with an escape, a key with
/// one, and the `expected` block are rare in streams: they are parsed by the full JSON reader.
fn fast_case(cache: &mut PolicyCache, text: &str) -> Option<EvalCase> {
    let mut l = Line { text, at: 0 };
    let (mut name, mut description, mut request, mut policies) = (None, None, None, Policies::default());
    l.ws();
    l.object(case::CASE_FIELDS, |l, key| {
        match key {
            "name" => name = l.nullable_string()?,
            "description" => description = l.nullable_string()?,
            "request" if !l.null() => request = Some(fast_request(l)?),
            "policies" if !l.null() => fast_policies(cache, l, &mut policies)?,
            "expected" => {
                // Not read by the evaluator, but the full reader refuses the line when it is
                // not well-formed JSON.
                let (slice, nested) = l.skip()?;
                if 1 + nested > MAX_DEPTH {
                    return None;
                }
                json::parse(slice).ok()?;
            }
            _ => {}
        }
        Some(())
    })?;
    l.ws();
    l.end()?;
    let Policies { identity, resource, vpce, boundary, session, scp, rcp } = policies;
    Some(EvalCase { name, description, request: request?, identity, resource, vpce, boundary, session, scp, rcp })
}

fn fast_request(l: &mut Line<'_>) -> Option<Request> {
    let (mut principal, mut action, mut resource, mut account) = (None, None, None, None);
    let mut context = Context::new();
    l.object(case::REQUEST_FIELDS, |l, key| {
        if l.null() {
            return Some(());
        }
        match key {
            "principal" => principal = Some(l.string()?),
            "action" => action = Some(l.string()?),
            "resource" => resource = Some(l.string()?),
            "resource_account" => account = Some(l.string()?),
            _ => context = l.context()?,
        }
        Some(())
    })?;
    let caller = Caller::parse(&principal?).ok()?;
    let action = action?;
    if !case::is_one_action(&action) || account.as_deref().is_some_and(|a| !is_account_id(a)) {
        return None;
    }
    Some(Request::new(caller, &action, &resource?, account.as_deref(), context))
}

/// The `policies` object; its members' values sit at depth 2 of the line.
fn fast_policies(cache: &mut PolicyCache, l: &mut Line<'_>, out: &mut Policies) -> Option<()> {
    l.object(case::POLICY_FIELDS, |l, key| {
        if l.null() {
            return Some(());
        }
        match key {
            "identity" => out.identity = list(cache, l, PolicyKind::Identity, key, 2)?,
            "vpce" => out.vpce = list(cache, l, PolicyKind::Vpce, key, 2)?,
            "boundary" => out.boundary = Some(list(cache, l, PolicyKind::Boundary, key, 2)?),
            "resource" => out.resource = Some((key.to_string(), policy(cache, l, PolicyKind::Resource, 2)?)),
            "session" => out.session = Some((key.to_string(), policy(cache, l, PolicyKind::Session, 2)?)),
            "scp" => out.scp = Some(levels(cache, l, PolicyKind::Scp, key)?),
            _ => out.rcp = Some(levels(cache, l, PolicyKind::Rcp, key)?),
        }
        Some(())
    })
}

/// One policy value at nesting `depth`: from the cache, or built and compiled. The depth limit
/// is checked here: parsed alone, the policy would not see the levels above it.
fn policy(cache: &mut PolicyCache, l: &mut Line<'_>, kind: PolicyKind, depth: usize) -> Option<Arc<Policy>> {
    if let Some(found) = cache.recent(kind, l.rest()) {
        if depth + found.nested > MAX_DEPTH {
            return None;
        }
        l.at += found.len;
        return Some(found.policy);
    }
    let (slice, nested) = l.skip()?;
    if depth + nested > MAX_DEPTH {
        return None;
    }
    cache
        .get_or_compile(kind, slice, nested, || {
            let doc = json::parse(slice).map_err(|_| ())?;
            case::policy(&doc, "", kind).map_err(|_| ())
        })
        .ok()
}

/// An array of policies at nesting `depth`, named `name[i]`.
fn list(cache: &mut PolicyCache, l: &mut Line<'_>, kind: PolicyKind, name: &str, depth: usize) -> Option<Vec<Named>> {
    let mut out = Vec::new();
    l.array(|l, i| {
        out.push((format!("{name}[{i}]"), policy(cache, l, kind, depth + 1)?));
        Some(())
    })?;
    Some(out)
}

/// SCP or RCP levels (at depth 2): an array of arrays of policies.
fn levels(cache: &mut PolicyCache, l: &mut Line<'_>, kind: PolicyKind, key: &str) -> Option<Levels> {
    let mut out = Vec::new();
    l.array(|l, i| {
        out.push(list(cache, l, kind, &format!("{key}[{i}]"), 3)?);
        Some(())
    })?;
    Some(out)
}

/// A byte cursor over one line that reads strict JSON. Every method returns `None` (or `false`)
/// at anything it does not take, and the caller gives up on the line.
struct Line<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Line<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// The line from the cursor on.
    fn rest(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.at..).unwrap_or_default()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    fn end(&self) -> Option<()> {
        (self.at == self.text.len()).then_some(())
    }

    /// Takes `word` (`true`, `false`, `null`) when it is next.
    fn word(&mut self, word: &str) -> bool {
        let next = self.text.as_bytes().get(self.at..self.at + word.len());
        next == Some(word.as_bytes()) && {
            self.at += word.len();
            true
        }
    }

    fn null(&mut self) -> bool {
        self.word("null")
    }

    /// An object whose keys are among `fields`, each at most once (the full reader refuses
    /// duplicate keys); `member` reads each value.
    fn object(&mut self, fields: &[&str], mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        let mut seen = 0u64;
        self.members(|l, key| {
            let bit = 1u64.checked_shl(u32::try_from(fields.iter().position(|f| *f == key)?).ok()?)?;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            member(l, key)
        })
    }

    /// The members of an object; keys without escapes only.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.ws();
            let key = self.plain_key()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            member(self, key)?;
            self.ws();
            if self.eat(b',').is_none() {
                return self.eat(b'}');
            }
        }
    }

    /// The items of an array; `item` reads the one at the given index.
    fn array(&mut self, mut item: impl FnMut(&mut Self, usize) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.eat(b']').is_some() {
            return Some(());
        }
        let mut i = 0;
        loop {
            self.ws();
            item(self, i)?;
            i += 1;
            self.ws();
            if self.eat(b',').is_none() {
                return self.eat(b']');
            }
        }
    }

    /// A key without escapes or control characters (anything else goes to the full reader).
    fn plain_key(&mut self) -> Option<&'a str> {
        match self.string()? {
            Cow::Borrowed(key) => Some(key),
            Cow::Owned(_) => None,
        }
    }

    /// A string, borrowed from the line when it holds no escape; one that does is decoded by the
    /// full JSON reader, so that escapes mean exactly what they mean there.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.at;
        self.eat(b'"')?;
        let mut escaped = false;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        if !escaped {
            return self.text.get(start + 1..self.at - 1).map(Cow::Borrowed);
        }
        match json::parse(self.text.get(start..self.at)?).ok()?.kind {
            JsonKind::String(s) => Some(Cow::Owned(s)),
            _ => None,
        }
    }

    /// A string or `null` (an absent text).
    fn nullable_string(&mut self) -> Option<Option<String>> {
        if self.null() { Some(None) } else { self.string().map(|s| Some(s.into_owned())) }
    }

    /// A number, as its source text (the form IAM compares), checked against the JSON grammar.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.at;
        let digits = |l: &mut Self| {
            let from = l.at;
            while let Some(b'0'..=b'9') = l.peek() {
                l.at += 1;
            }
            l.at > from
        };
        let _ = self.eat(b'-');
        if self.eat(b'0').is_none() {
            if !matches!(self.peek(), Some(b'1'..=b'9')) {
                return None;
            }
            digits(self);
        }
        if self.eat(b'.').is_some() && !digits(self) {
            return None;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        self.text.get(start..self.at)
    }

    /// A context scalar as the full reader keeps it: a string, a number's text, `true`/`false`.
    fn scalar(&mut self) -> Option<String> {
        match self.peek()? {
            b'"' => self.string().map(Cow::into_owned),
            b'-' | b'0'..=b'9' => self.number().map(str::to_string),
            _ if self.word("true") => Some("true".to_string()),
            _ if self.word("false") => Some("false".to_string()),
            _ => None,
        }
    }

    /// `request.context`: keys to a scalar or an array of scalars. A duplicate key is refused
    /// as the full reader refuses it; an object of more than [`MAX_CONTEXT_KEYS`] keys is left
    /// to the full reader (whose duplicate check is a hash set).
    fn context(&mut self) -> Option<Context> {
        let mut context = Context::with_capacity(8);
        let mut keys: Vec<&str> = Vec::new();
        self.members(|l, key| {
            if keys.contains(&key) || keys.len() >= MAX_CONTEXT_KEYS {
                return None;
            }
            keys.push(key);
            let value = if l.peek() == Some(b'[') {
                let mut items = Vec::new();
                l.array(|l, _| {
                    items.push(l.scalar()?);
                    Some(())
                })?;
                ContextValue::Multi(items)
            } else {
                ContextValue::Single(l.scalar()?)
            };
            context.insert(key, value);
            Some(())
        })?;
        Some(context)
    }

    /// Moves past one value without building it: its text, and how deep it nests (0 for a
    /// scalar). Only the end of a well-formed value is found reliably, which is all that is
    /// needed: a text it hands out is either in the cache (it compiled once, so it is a whole,
    /// well-formed value, and JSON objects and strings end where their text ends) or parsed by
    /// the full reader before it is used.
    fn skip(&mut self) -> Option<(&'a str, usize)> {
        let start = self.at;
        let bytes = self.text.as_bytes();
        let nested = match self.peek()? {
            b'"' => {
                self.skip_string()?;
                0
            }
            b'{' | b'[' => {
                let (mut depth, mut deepest) = (0usize, 0usize);
                loop {
                    match *bytes.get(self.at)? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            deepest = deepest.max(depth);
                            if deepest > MAX_DEPTH {
                                return None;
                            }
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                break deepest;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while let Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'-' | b'.') = self.peek() {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
                0
            }
        };
        Some((self.text.get(start..self.at)?, nested))
    }

    /// Moves past a string (the cursor on its opening quote).
    fn skip_string(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        self.at += 1;
        loop {
            match *bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => self.at += 2,
                _ => self.at += 1,
            }
        }
    }
}

/// Above this many context keys the fast path's duplicate check (a scan per key) would cost
/// more than it saves; such lines go to the full reader.
const MAX_CONTEXT_KEYS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{decide, explain, render};

    const CASE: &str = r#"{"request":{"principal":"arn:aws:iam::111122223333:role/app","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resource_account":"111122223333","context":{"aws:SourceVpce":"vpce-1"}},"policies":{"identity":[{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}],"resource":{"Statement":[{"Sid":"OnlyVpce","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]},"vpce":[],"scp":[["{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}"]],"rcp":null}}"#;

    fn same(a: &EvalCase, b: &EvalCase) {
        let (ea, eb) = (explain(&a.request, &a.policy_set()), explain(&b.request, &b.policy_set()));
        assert_eq!(render::to_json(&ea), render::to_json(&eb));
        assert_eq!(decide(&a.request, &a.policy_set()), decide(&b.request, &b.policy_set()));
        assert_eq!(a.request, b.request);
        let names = |c: &EvalCase| {
            let mut n: Vec<String> = c.identity.iter().chain(&c.vpce).map(|(n, _)| n.clone()).collect();
            n.extend(c.resource.iter().chain(&c.session).map(|(n, _)| n.clone()));
            n.extend(c.scp.iter().chain(&c.rcp).flatten().flatten().map(|(n, _)| n.clone()));
            n
        };
        assert_eq!(names(a), names(b));
        assert_eq!((&a.name, &a.description), (&b.name, &b.description));
        assert_eq!(a.boundary.as_ref().map(Vec::len), b.boundary.as_ref().map(Vec::len));
    }

    /// A case with every form the fast path reads: texts, an `expected` block, numbers,
    /// booleans and lists in the context, a policy given as a string, a `null` member, levels.
    const FULL: &str = r#"{"name":"n","description":"d","expected":{"decision":"Allow"},"request":{"principal":"arn:aws:iam::111122223333:role/app","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resource_account":"111122223333","context":{"aws:SourceVpce":"vpce-1","n":-12.5e1,"l":["a",true,0]}},"policies":{"identity":[{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}],"resource":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}","boundary":null,"scp":[[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}],[]]}}"#;

    #[test]
    fn well_formed_lines_take_the_fast_path_and_read_as_the_full_reader_reads_them() {
        let lines: &[(&str, &str)] = &[
            ("the bench's shape", CASE),
            ("every form", FULL),
            (
                "escapes in values",
                r#"{"name":"a \"quoted\" \u00e9 name","request":{"principal":"anonymous","action":"s3:Get\u004fbject","resource":"arn:aws:s3:::b/k\ud83d\ude00","context":{"k":"\t"}}}"#,
            ),
            (
                "whitespace everywhere",
                " {\t\"request\" : { \"principal\" : \"anonymous\" , \"action\":\"s3:GetObject\",\r\n\"resource\":\"r\" } , \"policies\" : { \"vpce\" : [ ] , \"rcp\" : [ [ ] ] } }\n",
            ),
            (
                "no policies",
                r#"{"request":{"principal":"anonymous","action":"s3:GetObject","resource":"r","context":{}}}"#,
            ),
        ];
        for (name, text) in lines {
            let mut reader = StreamReader::default();
            let fast = reader.parse(text).unwrap();
            assert_eq!(reader.fallbacks(), 0, "{name}: read by the fast path");
            same(&fast, &parse_case(text).unwrap());
        }
    }

    /// Every one-byte change of a case (deleted, or one of the characters that matter to JSON
    /// put before it): the fast path reads it exactly as the full reader does, the same case or
    /// the same error, with the cache warm so that policies are looked up, not only compiled.
    #[test]
    fn every_one_byte_change_reads_as_the_full_reader_reads_it() {
        let mut reader = StreamReader::default();
        reader.parse(FULL).unwrap();
        let (mut fast_ok, mut errors) = (0, 0);
        for (i, _) in FULL.char_indices() {
            let (before, rest) = FULL.split_at(i);
            let mut edits = vec![format!("{before}{}", rest.get(1..).unwrap_or(""))];
            for c in ["\"", "\\", ",", ":", "{", "}", "[", "]", " ", "0", "n", "\n", "\u{1}", "é"] {
                edits.push(format!("{before}{c}{rest}"));
            }
            for text in edits {
                let before_fallbacks = reader.fallbacks();
                match (reader.parse(&text), parse_case(&text)) {
                    (Ok(fast), Ok(full)) => {
                        same(&fast, &full);
                        fast_ok += u32::from(reader.fallbacks() == before_fallbacks);
                    }
                    (Err(fast), Err(full)) => {
                        assert_eq!(fast.to_string(), full.to_string(), "{text}");
                        errors += 1;
                    }
                    (fast, full) => panic!("{text}: fast {:?}, full {:?}", fast.map(|_| ()), full.map(|_| ())),
                }
            }
        }
        assert!(fast_ok > 500 && errors > 1000, "{fast_ok} read by the fast path, {errors} refused");
    }

    #[test]
    fn a_repeated_policy_is_compiled_once_and_decides_the_same() {
        let mut reader = StreamReader::default();
        let first = reader.parse(CASE).unwrap();
        assert_eq!(reader.cache.stats(), (0, 3));
        let second = reader.parse(&format!("  {CASE}\n")).unwrap();
        assert_eq!(reader.cache.stats(), (3, 3), "the second line's three policies come from the cache");
        assert!(Arc::ptr_eq(&first.identity[0].1, &second.identity[0].1));
        same(&first, &parse_case(CASE).unwrap());
        same(&second, &parse_case(CASE).unwrap());
    }

    #[test]
    fn errors_are_those_of_the_full_reader() {
        let cases: &[(&str, &str)] = &[
            ("duplicate key", r#"{"request":{},"request":{}}"#),
            ("unknown field", &CASE.replace("\"vpce\":[]", "\"vcpe\":[]")),
            (
                "bad policy",
                &CASE.replace("\"Effect\":\"Allow\",\"Action\":\"s3:*\"", "\"Effect\":\"Permit\",\"Action\":\"s3:*\""),
            ),
            ("missing comma", &CASE.replace("},\"policies\"", "} \"policies\"")),
            ("trailing text", &format!("{CASE} x")),
            ("not an object", "[1]"),
            ("empty", ""),
            ("deep", &format!(r#"{{"request":{{}},"expected":{}1{}}}"#, "[".repeat(70), "]".repeat(70))),
            (
                "deep policy",
                &CASE.replace(
                    "\"rcp\":null",
                    &format!(r#""rcp":[[{{"Statement":[],"Id":{}1{}}}]]"#, "[".repeat(62), "]".repeat(62)),
                ),
            ),
        ];
        let mut reader = StreamReader::default();
        // Warm the cache with the good policies first: a cached policy must not hide an error
        // elsewhere in the line.
        reader.parse(CASE).unwrap();
        for (name, text) in cases {
            let full = parse_case(text).map(|_| ()).map_err(|e| e.to_string());
            let fast = reader.parse(text).map(|_| ()).map_err(|e| e.to_string());
            assert!(full.is_err(), "{name}: the full reader refuses it");
            assert_eq!(fast, full, "{name}");
        }
    }

    #[test]
    fn null_members_escaped_keys_and_string_policies_read_as_the_full_reader_reads_them() {
        // An escaped key is left to the full reader (which decodes it to `request`).
        let escaped = CASE.replace("\"request\"", "\"requ\\u0065st\"");
        let texts = [
            escaped.as_str(),
            r#"{"request":{"principal":"anonymous","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},"policies":null,"name":null}"#,
            r#"{"name":"n","description":"d","expected":{"decision":"Allow"},"request":{"principal":"anonymous","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},"policies":{"resource":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}","boundary":[],"session":null}}"#,
            CASE,
        ];
        let mut reader = StreamReader::default();
        for text in texts {
            let (fast, full) = (reader.parse(text).unwrap(), parse_case(text).unwrap());
            same(&fast, &full);
            assert_eq!((fast.name, fast.description), (full.name, full.description));
            assert_eq!(fast.boundary.map(|b| b.len()), full.boundary.map(|b| b.len()));
        }
    }

    #[test]
    fn more_texts_of_one_kind_than_are_compared_in_place_still_come_from_the_cache() {
        // 3 × RECENT identity policies in turn: most lines miss the in-place comparison and find
        // their policy by hash; every answer is the full reader's.
        let texts: Vec<String> = (0..3 * RECENT)
            .map(|i| {
                let identity = r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#;
                CASE.replace(identity, &identity.replace("{", &format!(r#"{{"Sid":"S{i}","#)))
            })
            .collect();
        let mut reader = StreamReader::default();
        for round in 0..3 {
            for text in &texts {
                same(&reader.parse(text).unwrap(), &parse_case(text).unwrap());
            }
            let (hits, misses) = reader.cache.stats();
            assert_eq!(misses, 2 + texts.len() as u64, "round {round}: each identity policy compiled once");
            assert_eq!(hits + misses, 3 * texts.len() as u64 * (round + 1), "round {round}");
        }
        assert_eq!(reader.fallbacks(), 0);
    }

    fn policy(i: usize) -> Policy {
        crate::policy::parse_policy(
            &format!(r#"{{"Statement":{{"Sid":"S{i}","Effect":"Allow","Action":"*","Resource":"*"}}}}"#),
            PolicyKind::Identity,
        )
        .unwrap()
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_least_recently_used() {
        let mut cache = PolicyCache::new(3, 1 << 20);
        let get = |cache: &mut PolicyCache, i: usize| {
            cache.get_or_compile(PolicyKind::Identity, &format!("p{i}"), 0, || Ok::<_, ()>(policy(i))).unwrap()
        };
        for i in 0..3 {
            get(&mut cache, i);
        }
        get(&mut cache, 0); // 0 is now the most recently used, 1 the least
        get(&mut cache, 3); // evicts 1
        assert_eq!(cache.len(), 3);
        let (hits, misses) = cache.stats();
        get(&mut cache, 0);
        get(&mut cache, 2);
        assert_eq!(cache.stats(), (hits + 2, misses), "0 and 2 are still cached");
        get(&mut cache, 1);
        assert_eq!(cache.stats(), (hits + 2, misses + 1), "1 was evicted");
        for i in 10..1000 {
            get(&mut cache, i);
            assert!(cache.len() <= 3);
        }
    }

    #[test]
    fn the_byte_bound_holds_and_kinds_do_not_share_entries() {
        let mut cache = PolicyCache::new(100, 10);
        let mut get = |kind, text: &str| cache.get_or_compile(kind, text, 0, || Ok::<_, ()>(policy(0))).unwrap();
        get(PolicyKind::Identity, "aaaa");
        get(PolicyKind::Resource, "aaaa");
        get(PolicyKind::Identity, "bbbb");
        get(PolicyKind::Identity, "this text is longer than the whole bound");
        assert_eq!(cache.stats(), (0, 4), "the same text of another kind is another policy");
        assert!(cache.bytes() <= 10 && cache.len() == 2, "{} bytes, {} entries", cache.bytes(), cache.len());
        let failed = cache.get_or_compile(PolicyKind::Identity, "bad", 0, || Err::<Policy, _>("no"));
        assert_eq!(failed.map(|_| ()), Err("no"));
        assert_eq!(cache.len(), 2, "a policy that does not compile is not cached");
    }
}
