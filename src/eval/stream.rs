//! Reading a stream of cases (`eval --jsonl`): compiled policies cached by their source text.
//!
//! In a stream the same few policies repeat from line to line — a CI pipeline asks many
//! questions of one bucket policy, one endpoint policy, one set of SCPs. Building the JSON tree
//! of every policy of every line and compiling it again dominated the stream's time (see README
//! "Performance"). [`StreamReader`] splits a case line into its members without building a tree,
//! looks each policy up by its exact text, and builds and compiles only the ones it has not seen.
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

use std::collections::HashMap;
use std::sync::Arc;

use super::case::{self, CaseError, EvalCase, Levels, Named, parse_case};
use crate::policy::json::{self, MAX_DEPTH};
use crate::policy::{Policy, PolicyKind};

/// How many compiled policies the stream keeps, and how much of their source text: a stream of
/// ever new policies must not grow without bound. 1,024 entries hold every policy of a realistic
/// organisation; the byte bound keeps a stream of large (up to 1 MiB) documents near 16 MiB of
/// text plus its compiled form.
pub const DEFAULT_ENTRIES: usize = 1024;
pub const DEFAULT_BYTES: usize = 16 * 1024 * 1024;

/// A bounded least-recently-used map from (policy kind, source text) to the compiled policy.
///
/// Eviction scans for the oldest entry, O(entries) per insertion once full. The alternative, a
/// linked LRU list (or the `lru` crate), is O(1) but costs a dependency or unsafe-free pointer
/// juggling; a scan of 1,024 counters is far cheaper than the parse that precedes every
/// insertion, and a hit — the common case — costs one hash lookup either way.
#[derive(Debug)]
pub struct PolicyCache {
    entries: HashMap<PolicyKind, HashMap<Box<str>, Slot>>,
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
struct Slot {
    policy: Arc<Policy>,
    last_used: u64,
}

impl Default for PolicyCache {
    fn default() -> Self {
        Self::new(DEFAULT_ENTRIES, DEFAULT_BYTES)
    }
}

impl PolicyCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        PolicyCache { entries: HashMap::new(), max_entries, max_bytes, len: 0, bytes: 0, clock: 0, hits: 0, misses: 0 }
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

    /// The compiled policy of `text`, compiling it with `compile` on a miss. A policy that does not
    /// compile is not cached: its error depends on where it stands in the line.
    pub fn get_or_compile<E>(
        &mut self,
        kind: PolicyKind,
        text: &str,
        compile: impl FnOnce() -> Result<Policy, E>,
    ) -> Result<Arc<Policy>, E> {
        self.clock += 1;
        let clock = self.clock;
        if let Some(slot) = self.entries.get_mut(&kind).and_then(|m| m.get_mut(text)) {
            slot.last_used = clock;
            self.hits += 1;
            return Ok(Arc::clone(&slot.policy));
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
        let slot = Slot { policy: Arc::clone(&policy), last_used: clock };
        self.entries.entry(kind).or_default().insert(text.into(), slot);
        self.len += 1;
        self.bytes += text.len();
        Ok(policy)
    }

    fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .entries
            .iter()
            .flat_map(|(kind, m)| m.iter().map(move |(text, slot)| (slot.last_used, *kind, text)))
            .min_by_key(|(last_used, _, _)| *last_used)
            .map(|(_, kind, text)| (kind, text.clone()));
        let Some((kind, text)) = oldest else { return false };
        if let Some(m) = self.entries.get_mut(&kind) {
            m.remove(&text);
        }
        self.len -= 1;
        self.bytes -= text.len();
        true
    }
}

/// Reads the cases of one stream, sharing compiled policies between lines.
#[derive(Debug, Default)]
pub struct StreamReader {
    pub cache: PolicyCache,
}

impl StreamReader {
    pub fn new(cache: PolicyCache) -> Self {
        StreamReader { cache }
    }

    /// The case of one line: the same result as [`parse_case`], policies shared when their text
    /// was seen before.
    pub fn parse(&mut self, text: &str) -> Result<EvalCase, CaseError> {
        match self.split(text) {
            Some(case) => Ok(case),
            None => parse_case(text),
        }
    }

    /// The fast path; `None` whenever the line is not a well-formed case (the caller then runs
    /// the full reader, which says why).
    fn split(&mut self, text: &str) -> Option<EvalCase> {
        if text.len() > crate::policy::parse::MAX_POLICY_BYTES {
            return None;
        }
        let top = members(text, 0)?;
        if !unique_known(&top, case::CASE_FIELDS) {
            return None;
        }
        let field = |key: &str| top.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).filter(|v| *v != "null");
        let small = |slice: &str| json::parse(slice).ok();
        let text_field = |key: &str| -> Option<Option<String>> {
            match field(key) {
                None => Some(None),
                Some(slice) => Some(Some(case::string(&small(slice)?, key).ok()?.to_string())),
            }
        };
        let name = text_field("name")?;
        let description = text_field("description")?;
        if let Some(expected) = field("expected") {
            small(expected)?;
        }
        let request = case::request(&small(field("request")?)?).ok()?;
        let mut case = EvalCase {
            name,
            description,
            request,
            identity: Vec::new(),
            resource: None,
            vpce: Vec::new(),
            boundary: None,
            session: None,
            scp: None,
            rcp: None,
        };
        let Some(policies) = field("policies") else { return Some(case) };
        let p = members(policies, 1)?;
        if !unique_known(&p, case::POLICY_FIELDS) {
            return None;
        }
        for (key, slice) in p {
            if slice == "null" {
                continue;
            }
            match key {
                "identity" => case.identity = self.list(slice, PolicyKind::Identity, key, 2)?,
                "vpce" => case.vpce = self.list(slice, PolicyKind::Vpce, key, 2)?,
                "boundary" => case.boundary = Some(self.list(slice, PolicyKind::Boundary, key, 2)?),
                "resource" => case.resource = Some((key.to_string(), self.policy(slice, PolicyKind::Resource)?)),
                "session" => case.session = Some((key.to_string(), self.policy(slice, PolicyKind::Session)?)),
                "scp" => case.scp = Some(self.levels(slice, PolicyKind::Scp, key)?),
                "rcp" => case.rcp = Some(self.levels(slice, PolicyKind::Rcp, key)?),
                _ => return None,
            }
        }
        Some(case)
    }

    /// One policy value: from the cache, or built and compiled. Its nesting in the line was
    /// checked against the depth limit where its text was cut out ([`Scan::value`]): parsed
    /// alone, the policy would not see the levels above it.
    fn policy(&mut self, slice: &str, kind: PolicyKind) -> Option<Arc<Policy>> {
        self.cache
            .get_or_compile(kind, slice, || {
                let doc = json::parse(slice).map_err(|_| ())?;
                case::policy(&doc, "", kind).map_err(|_| ())
            })
            .ok()
    }

    fn list(&mut self, slice: &str, kind: PolicyKind, name: &str, depth: usize) -> Option<Vec<Named>> {
        items(slice, depth)?
            .into_iter()
            .enumerate()
            .map(|(i, item)| Some((format!("{name}[{i}]"), self.policy(item, kind)?)))
            .collect()
    }

    fn levels(&mut self, slice: &str, kind: PolicyKind, key: &str) -> Option<Levels> {
        items(slice, 2)?
            .into_iter()
            .enumerate()
            .map(|(i, level)| self.list(level, kind, &format!("{key}[{i}]"), 3))
            .collect()
    }
}

/// Every key of `members` is one of `known`, and none appears twice (the full reader refuses
/// duplicate keys).
fn unique_known(members: &[(&str, &str)], known: &[&str]) -> bool {
    members
        .iter()
        .enumerate()
        .all(|(i, (k, _))| known.contains(k) && members.iter().skip(i + 1).all(|(other, _)| other != k))
}

/// The members of the JSON object `text` (surrounding whitespace allowed), as (key, value text),
/// when it is one and its keys are plain (no escapes); `None` otherwise. `depth` is the object's
/// nesting in the line, for the depth limit.
fn members(text: &str, depth: usize) -> Option<Vec<(&str, &str)>> {
    let mut s = Scan { text, at: 0 };
    s.ws();
    s.eat(b'{')?;
    let mut out = Vec::new();
    s.ws();
    if s.eat(b'}').is_none() {
        loop {
            s.ws();
            let key = s.plain_key()?;
            s.ws();
            s.eat(b':')?;
            s.ws();
            out.push((key, s.value(depth + 1)?));
            s.ws();
            if s.eat(b',').is_none() {
                s.eat(b'}')?;
                break;
            }
        }
    }
    s.ws();
    s.end()?;
    Some(out)
}

/// The items of the JSON array `text`, as value texts; `None` when it is not an array.
fn items(text: &str, depth: usize) -> Option<Vec<&str>> {
    let mut s = Scan { text, at: 0 };
    s.ws();
    s.eat(b'[')?;
    let mut out = Vec::new();
    s.ws();
    if s.eat(b']').is_none() {
        loop {
            s.ws();
            out.push(s.value(depth + 1)?);
            s.ws();
            if s.eat(b',').is_none() {
                s.eat(b']')?;
                break;
            }
        }
    }
    s.ws();
    s.end()?;
    Some(out)
}

/// A byte cursor that finds where values end without building them. It only has to find the
/// boundaries of well-formed JSON: every value it hands out is parsed by the full reader before
/// it is trusted (or was, when its text is in the cache).
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
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

    /// A key without escapes or control characters (anything else goes to the full reader).
    fn plain_key(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let key = self.text.get(start..self.at)?;
        self.at += 1;
        Some(key)
    }

    /// The text of the value at the cursor, which sits at nesting `depth` of the line.
    fn value(&mut self, depth: usize) -> Option<&'a str> {
        let start = self.at;
        let nested = self.skip(0)?;
        if depth + nested > MAX_DEPTH {
            return None;
        }
        self.text.get(start..self.at)
    }

    /// Moves past one value; how deep it nests below `level`.
    fn skip(&mut self, level: usize) -> Option<usize> {
        if level > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => {
                self.at += 1;
                loop {
                    match self.peek()? {
                        b'"' => break,
                        b'\\' => self.at += 2,
                        0..=0x1f => return None,
                        _ => self.at += 1,
                    }
                }
                self.at += 1;
                Some(0)
            }
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.at += 1;
                self.ws();
                let mut deepest = 0;
                if self.eat(close).is_some() {
                    return Some(1);
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        self.skip(level + 1)?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    deepest = deepest.max(self.skip(level + 1)?);
                    self.ws();
                    if self.eat(b',').is_none() {
                        self.eat(close)?;
                        return Some(deepest + 1);
                    }
                }
            }
            _ => {
                let start = self.at;
                while let Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'-' | b'.') = self.peek() {
                    self.at += 1;
                }
                (self.at > start).then_some(0)
            }
        }
    }
}

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
            cache.get_or_compile(PolicyKind::Identity, &format!("p{i}"), || Ok::<_, ()>(policy(i))).unwrap()
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
        let mut get = |kind, text: &str| cache.get_or_compile(kind, text, || Ok::<_, ()>(policy(0))).unwrap();
        get(PolicyKind::Identity, "aaaa");
        get(PolicyKind::Resource, "aaaa");
        get(PolicyKind::Identity, "bbbb");
        get(PolicyKind::Identity, "this text is longer than the whole bound");
        assert_eq!(cache.stats(), (0, 4), "the same text of another kind is another policy");
        assert!(cache.bytes() <= 10 && cache.len() == 2, "{} bytes, {} entries", cache.bytes(), cache.len());
        let failed = cache.get_or_compile(PolicyKind::Identity, "bad", || Err::<Policy, _>("no"));
        assert_eq!(failed.map(|_| ()), Err("no"));
        assert_eq!(cache.len(), 2, "a policy that does not compile is not cached");
    }
}
