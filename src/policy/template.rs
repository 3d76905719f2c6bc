//! Strings with wildcards and policy variables, as written in a policy, split into tokens once.
//!
//! `*` and `?` are wildcards only where the element allows them (Action, Resource, `*Like`
//! operators); `${key}` is a variable only in a `2012-10-17` policy, and `${*}`, `${?}`, `${$}`
//! always stand for the literal character (IAM: "Policy variables", "Special characters").
//! Matching the tokens against a request is `eval::wildcard`'s job; this module is syntax only.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${key}` or `${key, 'default'}`.
    Var(Variable),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The key as written, for explanations.
    pub key: String,
    /// Lower-cased: context keys are case-insensitive (IAM: "Policy variables").
    pub key_lower: String,
    pub default: Option<String>,
}

/// A parsed string. `raw` is kept for messages and for the normalised policy text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub raw: String,
    pub tokens: Vec<Token>,
}

/// How to read a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    pub wildcards: bool,
    pub variables: bool,
}

impl Template {
    pub fn parse(raw: &str, syntax: Syntax) -> Template {
        let mut tokens: Vec<Token> = Vec::new();
        let mut lit = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if syntax.variables && rest.starts_with("${") {
                if let Some((token, used)) = parse_variable(rest) {
                    match token {
                        Token::Lit(s) => lit.push_str(&s),
                        other => {
                            flush(&mut lit, &mut tokens);
                            tokens.push(other);
                        }
                    }
                    rest = rest.get(used..).unwrap_or("");
                    continue;
                }
            }
            match c {
                '*' if syntax.wildcards => {
                    flush(&mut lit, &mut tokens);
                    // `**` matches what `*` matches; one token keeps matching linear.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' if syntax.wildcards => {
                    flush(&mut lit, &mut tokens);
                    tokens.push(Token::One);
                }
                _ => lit.push(c),
            }
            rest = rest.get(c.len_utf8()..).unwrap_or("");
        }
        flush(&mut lit, &mut tokens);
        Template { raw: raw.to_string(), tokens }
    }

    /// A template that is one literal string.
    pub fn literal(text: &str) -> Template {
        Template {
            raw: text.to_string(),
            tokens: if text.is_empty() { Vec::new() } else { vec![Token::Lit(text.to_string())] },
        }
    }

    pub fn has_variables(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t, Token::Var(_)))
    }

    pub fn has_wildcards(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t, Token::Star | Token::One))
    }

    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.tokens.iter().filter_map(|t| match t {
            Token::Var(v) => Some(v),
            _ => None,
        })
    }

    /// The text when the template is only literal text.
    pub fn as_literal(&self) -> Option<&str> {
        match self.tokens.as_slice() {
            [] => Some(""),
            [Token::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether the last token is `*` (a trailing `*` may cross `:` in an ARN, see `eval::arn`).
    pub fn ends_with_star(&self) -> bool {
        self.tokens.last() == Some(&Token::Star)
    }

    /// The same template with every literal lower-cased, for case-insensitive matching.
    pub fn to_lowercase(&self) -> Template {
        let tokens = self
            .tokens
            .iter()
            .map(|t| match t {
                Token::Lit(s) => Token::Lit(s.to_lowercase()),
                Token::Var(v) => {
                    Token::Var(Variable { default: v.default.as_ref().map(|d| d.to_lowercase()), ..v.clone() })
                }
                other => other.clone(),
            })
            .collect();
        Template { raw: self.raw.clone(), tokens }
    }
}

fn flush(lit: &mut String, tokens: &mut Vec<Token>) {
    if !lit.is_empty() {
        match tokens.last_mut() {
            Some(Token::Lit(prev)) => prev.push_str(lit),
            _ => tokens.push(Token::Lit(lit.clone())),
        }
        lit.clear();
    }
}

/// Reads `${...}` at the start of `text`. Returns the token and the bytes used, or `None` when
/// the text is not a well-formed variable (then it is literal text, as IAM treats it).
fn parse_variable(text: &str) -> Option<(Token, usize)> {
    let body_end = text.find('}')?;
    let body = text.get(2..body_end)?;
    let used = body_end + 1;
    match body {
        "*" => return Some((Token::Lit("*".into()), used)),
        "?" => return Some((Token::Lit("?".into()), used)),
        "$" => return Some((Token::Lit("$".into()), used)),
        _ => {}
    }
    let (key, default) = match body.split_once(',') {
        None => (body.trim(), None),
        Some((key, default)) => {
            let default = default.trim();
            let inner = default.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(inner.to_string()))
        }
    };
    let valid_key = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '-' | '_' | '.' | '@' | '+' | '='));
    if !valid_key {
        return None;
    }
    Some((Token::Var(Variable { key: key.to_string(), key_lower: key.to_ascii_lowercase(), default }), used))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Syntax = Syntax { wildcards: true, variables: true };
    const PLAIN: Syntax = Syntax { wildcards: false, variables: false };

    fn lit(s: &str) -> Token {
        Token::Lit(s.into())
    }

    fn var(key: &str, default: Option<&str>) -> Token {
        Token::Var(Variable { key: key.into(), key_lower: key.to_ascii_lowercase(), default: default.map(Into::into) })
    }

    #[test]
    fn tokens() {
        let cases: Vec<(&str, Syntax, Vec<Token>)> = vec![
            ("abc", ALL, vec![lit("abc")]),
            ("a*b?c", ALL, vec![lit("a"), Token::Star, lit("b"), Token::One, lit("c")]),
            ("a**b", ALL, vec![lit("a"), Token::Star, lit("b")]),
            ("a*b", PLAIN, vec![lit("a*b")]),
            ("home/${aws:username}/*", ALL, vec![lit("home/"), var("aws:username", None), lit("/"), Token::Star]),
            ("${aws:userid, 'anonymous'}", ALL, vec![var("aws:userid", Some("anonymous"))]),
            ("a${*}b${?}${$}", ALL, vec![lit("a*b?$")]),
            ("${aws:username}", PLAIN, vec![lit("${aws:username}")]),
            ("${not closed", ALL, vec![lit("${not closed")]),
            ("${bad key}", ALL, vec![lit("${bad key}")]),
            ("${aws:PrincipalTag/team,'x'}", ALL, vec![var("aws:PrincipalTag/team", Some("x"))]),
            ("", ALL, vec![]),
        ];
        for (raw, syntax, want) in cases {
            assert_eq!(Template::parse(raw, syntax).tokens, want, "template {raw:?}");
        }
    }

    #[test]
    fn helpers() {
        let t = Template::parse("arn:aws:s3:::b/*", ALL);
        assert!(t.ends_with_star() && t.has_wildcards() && !t.has_variables());
        assert_eq!(Template::parse("x", ALL).as_literal(), Some("x"));
        assert_eq!(Template::parse("A*", ALL).to_lowercase().tokens, vec![lit("a"), Token::Star]);
    }
}
