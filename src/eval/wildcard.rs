//! `*` / `?` matching of templates against request strings, and policy-variable substitution.
//!
//! `*` matches any run of characters (including none, `/` and `:`), `?` exactly one character
//! (IAM: "Action", "Resource", "String condition operators"). The matcher keeps one backtrack
//! point, so it runs in O(pattern × text) at worst and never recurses.

use std::borrow::Cow;

use super::request::{Request, Value};
use crate::policy::template::{Template, Token};

/// The result of substituting a template's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'t> {
    Tokens(Cow<'t, [Token]>),
    /// A variable's key is absent (or multi-valued) and has no default: the element containing it
    /// does not match (IAM: "Policy variables": "any attempt to match it fails").
    Unresolvable(String),
    /// A variable's key is present with a value unknown offline.
    Unknown(String),
}

/// Substitutes `${...}` variables from the request. Substituted text is literal: a `*` in a
/// user name is not a wildcard. With `fold_case`, substituted values are lower-cased (the
/// template itself was lower-cased when parsed for an `IgnoreCase` operator).
pub fn resolve<'t>(template: &'t Template, request: &Request, fold_case: bool) -> Resolved<'t> {
    if !template.has_variables() {
        return Resolved::Tokens(Cow::Borrowed(&template.tokens));
    }
    let mut out: Vec<Token> = Vec::with_capacity(template.tokens.len());
    for token in &template.tokens {
        let Token::Var(var) = token else {
            out.push(token.clone());
            continue;
        };
        let text = match request.lookup(&var.key_lower).map(|(v, _)| v) {
            Some(Value::Single(s)) => s.into_owned(),
            Some(Value::Multi(items)) if items.len() == 1 => items.first().cloned().unwrap_or_default(),
            Some(Value::Unknown) => return Resolved::Unknown(var.key.clone()),
            // Multi-valued keys cannot be policy variables (IAM: "Single-valued vs. multivalued
            // context keys"); absent keys fall back to the default.
            Some(Value::Multi(_)) | None => match &var.default {
                Some(default) => default.clone(),
                None => return Resolved::Unresolvable(var.key.clone()),
            },
        };
        let text = if fold_case { text.to_lowercase() } else { text };
        match out.last_mut() {
            Some(Token::Lit(prev)) => prev.push_str(&text),
            _ if text.is_empty() => {}
            _ => out.push(Token::Lit(text)),
        }
    }
    Resolved::Tokens(Cow::Owned(out))
}

/// Whether `tokens` (without variables) match all of `text`.
pub fn matches(tokens: &[Token], text: &str) -> bool {
    let mut p = 0usize; // token index
    let mut t = 0usize; // byte offset in text
    // The last `*` seen: its token index and the text offset it currently stops at.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let advanced = match tokens.get(p) {
            Some(Token::Lit(lit)) if text.get(t..).is_some_and(|rest| rest.starts_with(lit.as_str())) => {
                t += lit.len();
                true
            }
            Some(Token::One) => match text.get(t..).and_then(|rest| rest.chars().next()) {
                Some(c) => {
                    t += c.len_utf8();
                    true
                }
                None => false,
            },
            Some(Token::Star) => {
                star = Some((p, t));
                true
            }
            None if t == text.len() => return true,
            _ => false,
        };
        if advanced {
            p += 1;
            continue;
        }
        // Mismatch: let the last `*` swallow one more character and retry from after it.
        match star {
            Some((sp, st)) => match text.get(st..).and_then(|rest| rest.chars().next()) {
                Some(c) => {
                    let next = st + c.len_utf8();
                    star = Some((sp, next));
                    p = sp + 1;
                    t = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Exact equality of a variable-free literal template with `text`.
pub fn equals(tokens: &[Token], text: &str) -> bool {
    match tokens {
        [] => text.is_empty(),
        [Token::Lit(s)] => s == text,
        // Wildcards are literal in `StringEquals`; a template parsed without wildcards has none,
        // but a resolved one may hold several literal pieces.
        _ => {
            let mut rest = text;
            for token in tokens {
                let Token::Lit(s) = token else { return false };
                match rest.strip_prefix(s.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                }
            }
            rest.is_empty()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::request::{Caller, Context, ContextValue};
    use crate::policy::template::Syntax;

    fn glob(pattern: &str, text: &str) -> bool {
        matches(&Template::parse(pattern, Syntax { wildcards: true, variables: false }).tokens, text)
    }

    macro_rules! matches_case {
        ($($pat:expr, $text:expr => $want:expr;)*) => {$(
            assert_eq!(glob($pat, $text), $want, "pattern {:?} text {:?}", $pat, $text);
        )*};
    }

    #[test]
    fn glob_table() {
        matches_case! {
            "", "" => true;
            "", "a" => false;
            "*", "" => true;
            "*", "anything/at:all" => true;
            "s3:get*", "s3:getobject" => true;
            "s3:get*", "s3:putobject" => false;
            "s3:*object", "s3:getobject" => true;
            "s3:?etobject", "s3:getobject" => true;
            "s3:?etobject", "s3:etobject" => false;
            "a*b*c", "aXXbYYc" => true;
            "a*b*c", "aXXbYY" => false;
            "a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" => false;
            "*.csv", "reports/2026.csv" => true;
            "?", "é" => true;
            "??", "é" => false;
            "é*", "éa" => true;
            "arn:aws:s3:::b/*", "arn:aws:s3:::b" => false;
            "abc", "ABC" => false;
        }
    }

    #[test]
    fn variables_resolve_from_context_and_defaults() {
        let caller = Caller::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let ctx = Context::new().with("aws:PrincipalTag/team", ContextValue::Single("Blue".into()));
        let req = Request::new(caller, "s3:GetObject", "x", None, ctx);
        let syntax = Syntax { wildcards: true, variables: true };
        let t = Template::parse("home/${aws:username}/${aws:principaltag/team}/*", syntax);
        let Resolved::Tokens(tokens) = resolve(&t, &req, false) else { panic!() };
        assert!(matches(&tokens, "home/alice/Blue/file"));
        let Resolved::Tokens(folded) = resolve(&t, &req, true) else { panic!() };
        assert!(matches(&folded, "home/alice/blue/file"));
        let t = Template::parse("${aws:userid, 'anonymous'}", syntax);
        let Resolved::Tokens(tokens) = resolve(&t, &req, false) else { panic!() };
        assert!(equals(&tokens, "anonymous"));
        let t = Template::parse("${s3:prefix}", syntax);
        assert_eq!(resolve(&t, &req, false), Resolved::Unresolvable("s3:prefix".into()));
    }

    #[test]
    fn substituted_text_is_literal() {
        let caller = Caller::parse("arn:aws:iam::111122223333:user/a").unwrap();
        let ctx = Context::new().with("k", ContextValue::Single("*".into()));
        let req = Request::new(caller, "s3:GetObject", "x", None, ctx);
        let t = Template::parse("x${k}", Syntax { wildcards: true, variables: true });
        let Resolved::Tokens(tokens) = resolve(&t, &req, false) else { panic!() };
        assert!(matches(&tokens, "x*"));
        assert!(!matches(&tokens, "xyz"));
    }
}
