//! ARN matching for `Resource`/`NotResource` and the `Arn*` condition operators.
//!
//! An ARN has six colon-separated fields; the last (the resource part) may itself contain `:`.
//! Wildcards match inside one field, except that a `*` that is the last character of a field may
//! expand across `:` into the following fields (IAM: "Resource", "Using wildcards in resource
//! ARNs"; "ARN condition operators": "each of the six colon-delimited components of the ARN is
//! checked separately"). So `arn:aws:iam::*` matches every IAM ARN, while
//! `arn:aws:someservice:*:111122223333:finance/*` does not match
//! `arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt`.

use super::request::Request;
use super::tri::Tri;
use super::wildcard::{self, Resolved};
use crate::policy::ArnPattern;
use crate::policy::template::Token;

/// Whether `pattern` matches `arn` (variables substituted from `request`).
pub fn matches(pattern: &ArnPattern, arn: &str, request: &Request) -> Tri {
    // Most patterns hold no variable (a pattern has at most six fields): match them in place,
    // without substituting into new token lists (the hot path of every statement's `Resource`).
    if pattern.fields.len() <= 6 && pattern.fields.iter().all(|f| !f.has_variables()) {
        let mut fields: [&[Token]; 6] = [&[]; 6];
        for (slot, field) in fields.iter_mut().zip(&pattern.fields) {
            *slot = &field.tokens;
        }
        return Tri::from(matches_fields(fields.get(..pattern.fields.len()).unwrap_or(&[]), arn));
    }
    let mut fields: Vec<std::borrow::Cow<'_, [Token]>> = Vec::with_capacity(pattern.fields.len());
    for field in &pattern.fields {
        match wildcard::resolve(field, request, false) {
            Resolved::Tokens(tokens) => fields.push(tokens),
            Resolved::Unresolvable(_) => return Tri::No,
            Resolved::Unknown(_) => return Tri::Unknown,
        }
    }
    let fields: Vec<&[Token]> = fields.iter().map(|f| f.as_ref()).collect();
    Tri::from(matches_fields(&fields, arn))
}

/// The matcher on variable-free fields.
pub fn matches_fields(pattern: &[&[Token]], arn: &str) -> bool {
    if let [only] = pattern {
        if only.first() == Some(&Token::Star) && only.len() == 1 {
            return true;
        }
    }
    let mut value: [&str; 6] = [""; 6];
    let mut n = 0;
    for (slot, part) in value.iter_mut().zip(arn.splitn(6, ':')) {
        *slot = part;
        n += 1;
    }
    align(pattern, value.get(..n).unwrap_or(&[]))
}

/// Matches pattern fields against value fields from the left. The last value field is the
/// remainder (it may hold `:`). A field ending in `*` may also swallow whole following fields.
fn align(pattern: &[&[Token]], value: &[&str]) -> bool {
    let (Some((field, pattern_rest)), Some((first, value_rest))) = (pattern.split_first(), value.split_first()) else {
        return pattern.is_empty() && value.is_empty();
    };
    if !wildcard::matches(field, first) {
        return false;
    }
    if align(pattern_rest, value_rest) {
        return true;
    }
    let trailing_star = field.last() == Some(&Token::Star);
    if !trailing_star {
        return false;
    }
    if pattern_rest.is_empty() {
        // The trailing `*` of the last pattern field swallows the rest of the value.
        return true;
    }
    (1..value_rest.len()).any(|skip| value_rest.get(skip..).is_some_and(|rest| align(pattern_rest, rest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::request::{Caller, Context};
    use crate::policy::parse::arn_pattern;

    fn arn_match(pattern: &str, arn: &str) -> bool {
        let req = Request::new(Caller::Anonymous, "s3:GetObject", arn, None, Context::new());
        matches(&arn_pattern(pattern, true), arn, &req) == Tri::Yes
    }

    macro_rules! arn_case {
        ($($pat:expr, $arn:expr => $want:expr;)*) => {$(
            assert_eq!(arn_match($pat, $arn), $want, "pattern {:?} arn {:?}", $pat, $arn);
        )*};
    }

    #[test]
    fn arn_table() {
        arn_case! {
            "*", "arn:aws:s3:::b/k" => true;
            "*", "not-an-arn" => true;
            "arn:aws:s3:::b/*", "arn:aws:s3:::b/k/deep/key.csv" => true;
            "arn:aws:s3:::b", "arn:aws:s3:::b/k" => false;
            "arn:aws:s3:::b*", "arn:aws:s3:::b/k" => true;
            "arn:aws:s3:::DOC-EXAMPLE-BUCKET1/*", "arn:aws:s3:::doc-example-bucket1/k" => false;
            "arn:aws:s3:::b?/*", "arn:aws:s3:::b1/k" => true;
            "arn:aws:s3:::*", "arn:aws:s3:::b/k" => true;
            "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*",
                "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/reports/2026.csv" => true;
            "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*",
                "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap" => false;
            "arn:aws:iam::*", "arn:aws:iam::111122223333:role/x" => true;
            "arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:role/x" => true;
            "arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:user/x" => false;
            "arn:aws:ec2:us-east-1*:instance/i-1", "arn:aws:ec2:us-east-1:111122223333:instance/i-1" => true;
            "arn:aws:someservice:*:111122223333:finance/*",
                "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt" => false;
            "arn:aws:someservice:*:111122223333:finance/*",
                "arn:aws:someservice:us-east-2:111122223333:finance/document.txt" => true;
            "arn:aws:logs:us-east-1:111122223333:log-group:/app:*",
                "arn:aws:logs:us-east-1:111122223333:log-group:/app:log-stream:x" => true;
            "arn:aws:s3:::b/*", "arn:aws-cn:s3:::b/k" => false;
            "arn:*:s3:::b/*", "arn:aws-cn:s3:::b/k" => true;
            "arn:aws:s3:::b/k", "arn:aws:s3:::b/k" => true;
            "arn:aws:s3:::b/k", "arn:aws:s3:::b/K" => false;
            "arn:aws:sqs:us-east-2:111122223333", "arn:aws:sqs:us-east-2:111122223333:queue" => false;
        }
    }
}
