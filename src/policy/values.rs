//! Condition operators and condition values: from their written form to the typed form the
//! evaluator compares (IAM: "Condition operators"). Numbers are integers or decimals, dates any
//! W3C profile of ISO 8601 or epoch seconds, IP addresses CIDR blocks (a bare address is /32 or
//! /128), binary values base64; variables only where IAM substitutes them (strings, ARNs, Bool).

use base64::Engine as _;

use super::json::Pos;
use super::model::*;
use super::template::{Syntax, Template};

/// Parses an operator name such as `ForAnyValue:StringLikeIfExists`.
pub fn parse_operator(name: &str) -> Result<Operator, String> {
    let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Some(SetOperator::ForAllValues), rest)
    } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Some(SetOperator::ForAnyValue), rest)
    } else {
        (None, name)
    };
    let (base_name, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let Some(base) = BaseOperator::ALL.iter().copied().find(|op| op.name() == base_name) else {
        return Err(format!("unknown condition operator `{name}`{}", operator_hint(rest)));
    };
    if base == BaseOperator::Null && if_exists {
        return Err("`IfExists` cannot be used with the `Null` operator".to_string());
    }
    Ok(Operator { set, base, if_exists })
}

/// "did you mean" for a misspelt operator: same letters in another case, or one edit away.
fn operator_hint(name: &str) -> String {
    let base = name.strip_suffix("IfExists").unwrap_or(name);
    BaseOperator::ALL
        .iter()
        .map(|op| op.name())
        .find(|known| known.eq_ignore_ascii_case(base) || edit_distance(known, base) <= 2)
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let value = (prev + usize::from(ca != *cb)).min(above.saturating_add(1)).min(left.saturating_add(1));
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Converts the written values for the operator's family; on failure, the index of the bad value.
pub(crate) fn convert_values(
    base: BaseOperator,
    raw: &[(String, Pos)],
    version: Version,
) -> Result<ConditionValues, (usize, String)> {
    use BaseOperator::*;
    let variables = version.has_variables();
    let each = |f: &dyn Fn(&str) -> Result<(), String>| -> Result<(), (usize, String)> {
        raw.iter().enumerate().try_for_each(|(i, (s, _))| f(s).map_err(|m| (i, m)))
    };
    Ok(match base {
        StringEquals
        | StringNotEquals
        | StringEqualsIgnoreCase
        | StringNotEqualsIgnoreCase
        | StringLike
        | StringNotLike => {
            let syntax = Syntax { wildcards: base.has_wildcards(), variables };
            ConditionValues::String(
                raw.iter()
                    .map(|(s, _)| {
                        let t = Template::parse(s, syntax);
                        if base.ignores_case() { t.to_lowercase() } else { t }
                    })
                    .collect(),
            )
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            each(&|s| parse_number(s).map(|_| ()).ok_or_else(|| format!("`{s}` is not a number")))?;
            ConditionValues::Numeric(raw.iter().filter_map(|(s, _)| parse_number(s)).collect())
        }
        DateEquals | DateNotEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
            each(&|s| {
                parse_date(s).map(|_| ()).ok_or_else(|| {
                    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && s.len() > 20 {
                        format!("`{s}` is out of range for epoch seconds")
                    } else {
                        format!("`{s}` is not an ISO 8601 date (e.g. `2026-01-01T00:00:00Z`) or epoch seconds")
                    }
                })
            })?;
            ConditionValues::Date(raw.iter().filter_map(|(s, _)| parse_date(s)).collect())
        }
        Bool => {
            let mut out = Vec::with_capacity(raw.len());
            for (i, (s, _)) in raw.iter().enumerate() {
                let t = Template::parse(s, Syntax { wildcards: false, variables });
                if t.has_variables() {
                    out.push(BoolValue::Variable(t));
                } else {
                    out.push(BoolValue::Literal(parse_bool(s).ok_or((i, format!("`{s}` is not `true` or `false`")))?));
                }
            }
            ConditionValues::Bool(out)
        }
        BinaryEquals => {
            each(&|s| decode_base64(s).map(|_| ()).ok_or_else(|| format!("`{s}` is not base64")))?;
            ConditionValues::Binary(raw.iter().filter_map(|(s, _)| decode_base64(s)).collect())
        }
        IpAddress | NotIpAddress => {
            each(&|s| {
                parse_cidr(s)
                    .map(|_| ())
                    .ok_or_else(|| format!("`{s}` is not an IP address or CIDR block (e.g. `203.0.113.0/24`)"))
            })?;
            ConditionValues::Ip(raw.iter().filter_map(|(s, _)| parse_cidr(s)).collect())
        }
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
            // Variables may appear anywhere in an ARN condition value, unlike in `Resource`.
            ConditionValues::Arn(
                raw.iter()
                    .map(|(s, _)| ArnPattern {
                        raw: s.clone(),
                        fields: s
                            .splitn(6, ':')
                            .map(|f| Template::parse(f, Syntax { wildcards: true, variables }))
                            .collect(),
                    })
                    .collect(),
            )
        }
        Null => {
            let mut out = Vec::with_capacity(raw.len());
            for (i, (s, _)) in raw.iter().enumerate() {
                out.push(parse_bool(s).ok_or((i, format!("`Null` takes `true` or `false`, found `{s}`")))?);
            }
            ConditionValues::Null(out)
        }
    })
}

/// An integer or decimal (IAM: "Numeric condition operators"); no `inf`/`nan`.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let plain = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if !plain {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

/// A CIDR block, or a bare address meaning `/32` (IPv4) or `/128` (IPv6)
/// (IAM: "IP address condition operators").
pub fn parse_cidr(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    if s.contains('/') {
        s.parse::<ipnet::IpNet>().ok()
    } else {
        s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from)
    }
}

/// A date in one of the W3C profiles of ISO 8601 (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
/// `YYYY-MM-DDThh:mm[:ss[.s]]TZD`) or epoch seconds (IAM: "Date condition operators").
/// A time without a zone is read as UTC.
pub fn parse_date(s: &str) -> Option<Timestamp> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && s.len() != 4 && s.len() != 7 {
        // Epoch seconds, possibly with a fraction.
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let secs: i128 = whole.parse().ok()?;
        let mut nanos: i128 = 0;
        if !frac.is_empty() {
            let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
            nanos = digits.parse().ok()?;
        }
        // 30 or more digits overflow i128 nanoseconds: that is no date, not a wrapped one.
        return secs.checked_mul(1_000_000_000)?.checked_add(nanos);
    }
    let nanos = |dt: DateTime<chrono::Utc>| -> Option<Timestamp> {
        Some(i128::from(dt.timestamp()) * 1_000_000_000 + i128::from(dt.timestamp_subsec_nanos()))
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return nanos(dt.with_timezone(&chrono::Utc));
    }
    // `hh:mm` without seconds, with a zone.
    for fmt in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return nanos(dt.with_timezone(&chrono::Utc));
        }
    }
    let naive_utc = |s: &str| -> Option<NaiveDateTime> {
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(dt);
            }
        }
        None
    };
    if let Some(dt) = naive_utc(s.strip_suffix('Z').unwrap_or(s)) {
        return nanos(dt.and_utc());
    }
    let date = match s.len() {
        4 => NaiveDate::from_ymd_opt(s.parse().ok()?, 1, 1),
        7 => {
            let (y, m) = s.split_once('-')?;
            NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
        }
        _ => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
    }?;
    nanos(date.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let day = 86_400_000_000_000i128;
        let cases: &[(&str, Option<i128>)] = &[
            ("1970-01-02", Some(day)),
            ("1970-01-02T00:00:00Z", Some(day)),
            ("1970-01-02T01:00:00+01:00", Some(day)),
            ("1970-01-02T00:00Z", Some(day)),
            ("1970-01-02T00:00:00.5Z", Some(day + 500_000_000)),
            ("1970-01-02T00:00:00", Some(day)),
            ("86400", Some(day)),
            ("86400.25", Some(day + 250_000_000)),
            ("1970", Some(0)),
            ("1970-02", Some(31 * day)),
            ("yesterday", None),
            ("2026-13-01", None),
            ("1000000000000000000000000000000", None),
            ("99999999999999999999999999999999999999", None),
            ("999999999999999999999999999999999999999999", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_date(text), *want, "date {text}");
        }
    }

    #[test]
    fn numbers_cidrs_bools() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-1.5e2"), Some(-150.0));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_cidr("203.0.113.7").map(|n| n.prefix_len()), Some(32));
        assert_eq!(parse_cidr("2001:DB8::1").map(|n| n.prefix_len()), Some(128));
        assert_eq!(parse_cidr("2001:DB8:1234:5678::/64").map(|n| n.prefix_len()), Some(64));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn edit_distance_works() {
        assert_eq!(edit_distance("StringEquals", "StringEqual"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
