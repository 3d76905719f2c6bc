//! A small JSON reader that keeps the line and column of every value and key.
//!
//! Policies are JSON, but a policy error must say *where*: `line:column` for a syntax error and
//! the same position for a structural one (an unknown `Effect` two screens down a bucket policy).
//! `serde_json::Value` drops positions, so policies are read with this reader instead. It also
//! recovers from the two faults people (and AWS's own documentation, see the seed page) make most:
//! a missing `,` between members and a trailing `,` before `}` or `]`. Both are still errors, but
//! every one of them is reported, not only the first.
//!
//! Out of scope: streaming, numbers as numbers (they are kept as their source text, which is what
//! IAM compares), documents larger than memory.

use std::fmt;

/// Where something is in the source text; both counted from 1, columns in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

/// A JSON value with the position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub struct Json {
    pub pos: Pos,
    pub kind: JsonKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonKind {
    Null,
    Bool(bool),
    /// The number's source text, already checked against the JSON grammar.
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in source order; duplicate keys are a syntax error (see [`parse`]).
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_pos: Pos,
    pub value: Json,
}

impl Json {
    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            JsonKind::Null => "null",
            JsonKind::Bool(_) => "a boolean",
            JsonKind::Number(_) => "a number",
            JsonKind::String(_) => "a string",
            JsonKind::Array(_) => "an array",
            JsonKind::Object(_) => "an object",
        }
    }
}

/// One syntax problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Nesting deeper than this is refused: policies nest five levels, and the limit keeps a hostile
/// document from exhausting the stack.
pub const MAX_DEPTH: usize = 64;
/// After this many problems the rest of the document is not worth reading.
const MAX_ERRORS: usize = 8;

/// Parses one JSON document. Duplicate object keys are refused: IAM would keep only one of them,
/// and which one is not documented.
pub fn parse(text: &str) -> Result<Json, Vec<SyntaxError>> {
    let mut reader = Reader { text: text.as_bytes(), src: text, at: 0, line: 1, column: 1, errors: Vec::new() };
    reader.skip_ws();
    let value = reader.value(0);
    reader.skip_ws();
    if let Some(value) = value {
        if reader.at < reader.text.len() && reader.errors.is_empty() {
            reader.error_here("unexpected text after the end of the document");
        }
        if reader.errors.is_empty() {
            return Ok(value);
        }
    }
    if reader.errors.is_empty() {
        reader.error_here("empty document");
    }
    Err(reader.errors)
}

struct Reader<'a> {
    text: &'a [u8],
    src: &'a str,
    at: usize,
    line: u32,
    /// Counted as the cursor moves, so that a position costs nothing even on a one-line policy.
    column: u32,
    errors: Vec<SyntaxError>,
}

impl Reader<'_> {
    fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    fn error_at(&mut self, pos: Pos, message: impl Into<String>) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(SyntaxError { pos, message: message.into() });
        }
    }

    fn error_here(&mut self, message: impl Into<String>) {
        let pos = self.pos();
        self.error_at(pos, message);
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn bump(&mut self) {
        if let Some(&b) = self.text.get(self.at) {
            self.at += 1;
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                // Count characters, not bytes: skip UTF-8 continuation bytes.
                self.column = self.column.saturating_add(1);
            }
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.bump();
        }
    }

    fn give_up(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    /// Describes what is at the cursor, for "expected X, found Y" messages.
    fn found(&self) -> String {
        match self.src.get(self.at..).and_then(|s| s.chars().next()) {
            None => "the end of the document".to_string(),
            Some(c) => format!("`{c}`"),
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            self.error_here(format!("nesting deeper than {MAX_DEPTH} levels"));
            return None;
        }
        let pos = self.pos();
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => JsonKind::String(self.string()?),
            Some(b't') => self.literal("true", JsonKind::Bool(true))?,
            Some(b'f') => self.literal("false", JsonKind::Bool(false))?,
            Some(b'n') => self.literal("null", JsonKind::Null)?,
            Some(b'-' | b'0'..=b'9') => JsonKind::Number(self.number()?),
            _ => {
                let found = self.found();
                self.error_here(format!("expected a value, found {found}"));
                return None;
            }
        };
        Some(Json { pos, kind })
    }

    fn literal(&mut self, word: &str, kind: JsonKind) -> Option<JsonKind> {
        if self.text.get(self.at..self.at + word.len()) == Some(word.as_bytes()) {
            for _ in 0..word.len() {
                self.bump();
            }
            Some(kind)
        } else {
            let found = self.found();
            self.error_here(format!("expected a value, found {found}"));
            None
        }
    }

    fn number(&mut self) -> Option<String> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => self.bump(),
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.bump();
                }
            }
            _ => {
                self.error_here("invalid number: expected a digit");
                return None;
            }
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                self.error_here("invalid number: expected a digit after `.`");
                return None;
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.bump();
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump();
            if let Some(b'+' | b'-') = self.peek() {
                self.bump();
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                self.error_here("invalid number: expected a digit in the exponent");
                return None;
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.bump();
            }
        }
        self.src.get(start..self.at).map(str::to_string)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.src.get(self.at..self.at + 4)?;
        let value = u32::from_str_radix(digits, 16).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        for _ in 0..4 {
            self.bump();
        }
        Some(value)
    }

    fn string(&mut self) -> Option<String> {
        let open = self.pos();
        self.bump(); // the opening quote
        let mut out = String::new();
        loop {
            let Some(b) = self.peek() else {
                self.error_at(open, "string is not closed (missing `\"`)");
                return None;
            };
            match b {
                b'"' => {
                    self.bump();
                    return Some(out);
                }
                b'\\' => {
                    let escape_pos = self.pos();
                    self.bump();
                    let Some(e) = self.peek() else { continue };
                    self.bump();
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => match self.unicode_escape() {
                            Some(c) => out.push(c),
                            None => {
                                self.error_at(escape_pos, "invalid `\\u` escape");
                                return None;
                            }
                        },
                        _ => {
                            self.error_at(escape_pos, format!("invalid escape `\\{}`", char::from(e)));
                            return None;
                        }
                    }
                }
                b'\n' | b'\r' => {
                    self.error_at(open, "string is not closed before the end of the line (missing `\"`)");
                    return None;
                }
                0..=0x1f => {
                    self.error_here("control character inside a string");
                    return None;
                }
                _ => {
                    // Copy one whole UTF-8 character; the input is a `str`, so it is well formed.
                    let rest = self.src.get(self.at..).unwrap_or("");
                    let c = rest.chars().next()?;
                    out.push(c);
                    for _ in 0..c.len_utf8() {
                        self.bump();
                    }
                }
            }
        }
    }

    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if self.text.get(self.at..self.at + 2) != Some(b"\\u") {
                return None;
            }
            self.bump();
            self.bump();
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return None;
            }
            char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        } else {
            char::from_u32(first)
        }
    }

    fn array(&mut self, depth: usize) -> Option<JsonKind> {
        let open = self.pos();
        self.bump();
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.bump();
            return Some(JsonKind::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    let comma = self.pos();
                    self.bump();
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.error_at(comma, "trailing `,` before `]`");
                        self.bump();
                        return Some(JsonKind::Array(items));
                    }
                }
                Some(b']') => {
                    self.bump();
                    return Some(JsonKind::Array(items));
                }
                Some(b'"' | b'{' | b'[' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') if !self.give_up() => {
                    self.error_here("missing `,` between array items");
                }
                _ => {
                    let found = self.found();
                    self.error_here(format!("expected `,` or `]` in the array opened at {open}, found {found}"));
                    return None;
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<JsonKind> {
        let open = self.pos();
        self.bump();
        let mut members: Vec<Member> = Vec::new();
        // Keys seen so far: a set keeps the duplicate check linear in the number of members
        // (a scan of `members` per key was quadratic on a hostile object with many keys).
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.bump();
            return Some(JsonKind::Object(members));
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos();
            if self.peek() != Some(b'"') {
                let found = self.found();
                self.error_here(format!("expected a member name in `\"`, found {found}"));
                return None;
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() == Some(b':') {
                self.bump();
            } else {
                let found = self.found();
                self.error_here(format!("expected `:` after `\"{key}\"`, found {found}"));
                return None;
            }
            self.skip_ws();
            let value = self.value(depth + 1)?;
            if !seen.insert(key.clone()) {
                self.error_at(key_pos, format!("duplicate key `{key}`"));
            }
            members.push(Member { key, key_pos, value });
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    let comma = self.pos();
                    self.bump();
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.error_at(comma, "trailing `,` before `}`");
                        self.bump();
                        return Some(JsonKind::Object(members));
                    }
                }
                Some(b'}') => {
                    self.bump();
                    return Some(JsonKind::Object(members));
                }
                Some(b'"') if !self.give_up() => {
                    let after = members.last().map(|m| m.key.clone()).unwrap_or_default();
                    self.error_here(format!("missing `,` after the value of `\"{after}\"`"));
                }
                _ => {
                    let found = self.found();
                    self.error_here(format!("expected `,` or `}}` in the object opened at {open}, found {found}"));
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse(text).err().unwrap_or_default().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_values_with_positions() {
        let doc = parse("{\n  \"a\": [1, -2.5e3, true, null],\n  \"b\": \"x\\u00e9\\ud83d\\ude00\"\n}").unwrap();
        let JsonKind::Object(members) = doc.kind else { panic!() };
        assert_eq!(members[0].key_pos, Pos { line: 2, column: 3 });
        assert_eq!(members[1].value.kind, JsonKind::String("xé😀".into()));
        let JsonKind::Array(items) = &members[0].value.kind else { panic!() };
        assert_eq!(items[1].kind, JsonKind::Number("-2.5e3".into()));
        assert_eq!(items[1].pos, Pos { line: 2, column: 12 });
    }

    #[test]
    fn seed_mrap_policy_reports_missing_and_trailing_comma() {
        // The MRAP policy as printed on the AWS page (seed 000): a missing comma after "Sid" and
        // a trailing comma after "Resource".
        let seed = r#"{ "Version": "2012-10-17", "Statement": [ { "Sid": "Open-read-MRAP-policy" "Effect": "Allow", "Principal": "*", "Action": [ "s3:GetObject" ], "Resource": "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*", }] }"#;
        assert_eq!(
            errors(seed),
            vec![
                "line 1 column 76: missing `,` after the value of `\"Sid\"`".to_string(),
                "line 1 column 221: trailing `,` before `}`".to_string(),
            ]
        );
    }

    #[test]
    fn syntax_errors_name_the_place() {
        let cases: &[(&str, &str)] = &[
            ("", "line 1 column 1: expected a value, found the end of the document"),
            ("{", "line 1 column 2: expected a member name in `\"`, found the end of the document"),
            ("{\"a\" 1}", "line 1 column 6: expected `:` after `\"a\"`, found `1`"),
            ("[1 2]", "line 1 column 4: missing `,` between array items"),
            ("[1,]", "line 1 column 3: trailing `,` before `]`"),
            ("{\"a\":1,\"a\":2}", "line 1 column 8: duplicate key `a`"),
            ("\"abc", "line 1 column 1: string is not closed (missing `\"`)"),
            ("01", "line 1 column 2: unexpected text after the end of the document"),
            ("[\"\\x\"]", "line 1 column 3: invalid escape `\\x`"),
            ("{} x", "line 1 column 4: unexpected text after the end of the document"),
            ("tru", "line 1 column 1: expected a value, found `t`"),
            ("\n\n  [1.]", "line 3 column 6: invalid number: expected a digit after `.`"),
        ];
        for (text, want) in cases {
            assert_eq!(errors(text).first().map(String::as_str), Some(*want), "input {text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let text = "[".repeat(10_000);
        assert!(errors(&text)[0].contains("nesting deeper than 64 levels"));
    }

    #[test]
    fn many_keys_are_checked_in_linear_time() {
        // 200,000 distinct keys: quadratic checking would take minutes; this takes milliseconds.
        let body: Vec<String> = (0..200_000).map(|i| format!("\"k{i}\":1")).collect();
        let text = format!("{{{}}}", body.join(","));
        let started = std::time::Instant::now();
        assert!(parse(&text).is_ok());
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
        let dup = format!("{{{},\"k7\":2}}", body.join(","));
        assert!(errors(&dup)[0].contains("duplicate key `k7`"));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let errs = errors("{\"é\": 1 \"b\": 2}");
        assert_eq!(errs[0], "line 1 column 9: missing `,` after the value of `\"é\"`");
    }
}
