//! Property tests for the parser and the evaluator.
//!
//! - The JSON reader and the policy parser never panic, whatever the input.
//! - The `*`/`?` matcher agrees with an escaped, anchored regular expression.
//! - Adding a `Deny` statement never turns a deny into an allow.
//! - Adding an `Allow` statement to an identity policy never turns an allow into a deny.
//! - The order of statements never changes a decision.
//! - A decision known despite an unknown input equals the decision under every concrete value
//!   of that input (sampled, malformed values included): "known" never means "guessed". (An
//!   implicit deny that a Deny may also decide is "denied either way": a value may make it
//!   explicit, never an allow.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use mrap_auditor::eval::{Caller, Context, ContextValue, Decision, NamedPolicy, PolicySet, Request, decide, explain};
use mrap_auditor::policy::template::{Syntax, Template};
use mrap_auditor::policy::{Policy, PolicyKind, parse_policy};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------- arbitrary JSON ----------

fn arb_json() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "StringEquals",
        "ForAnyValue:StringLike",
        "IpAddress",
        "NullIfExists",
        "aws:SourceIp",
        "Allow",
        "Deny",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "2012-10-17",
            "Allow",
            "Deny",
            "*",
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            "10.0.0.0/8",
            "true",
            "${aws:username}",
            "arn:aws:iam::111122223333:root",
            "",
            "2026-01-01T00:00:00Z",
            "s3:*",
            "arn:aws:iam::*:role/x",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

const KINDS: [PolicyKind; 7] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Vpce,
    PolicyKind::Boundary,
    PolicyKind::Session,
    PolicyKind::Scp,
    PolicyKind::Rcp,
];

// ---------- arbitrary valid policies and requests ----------

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";

fn arb_condition() -> impl Strategy<Value = (String, String, Value)> {
    let ops = prop::sample::select(vec![
        "StringEquals",
        "StringNotEquals",
        "StringLike",
        "StringNotLike",
        "StringEqualsIgnoreCase",
        "StringEqualsIfExists",
        "ForAnyValue:StringEquals",
        "ForAllValues:StringLike",
        "ForAllValues:StringNotEquals",
        "Null",
        "Bool",
        "IpAddress",
        "NotIpAddress",
        "ArnLike",
        "ArnNotLike",
        "NumericLessThan",
        "DateGreaterThan",
    ]);
    let keys = prop::sample::select(vec![
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:TagKeys",
        "aws:PrincipalArn",
        "s3:max-keys",
        "aws:CurrentTime",
        "aws:SecureTransport",
    ]);
    (ops, keys, 0u8..4).prop_map(|(op, key, pick)| {
        let value = match op {
            "Null" | "Bool" => json!(if pick % 2 == 0 { "true" } else { "false" }),
            "IpAddress" | "NotIpAddress" => json!(["10.0.0.0/8", "203.0.113.7"][pick as usize % 2]),
            "ArnLike" | "ArnNotLike" => {
                json!(["arn:aws:iam::*:role/app", "arn:aws:iam::111122223333:*"][pick as usize % 2])
            }
            "NumericLessThan" => json!(pick * 5),
            "DateGreaterThan" => json!(["2026-01-01T00:00:00Z", "2030-01-01"][pick as usize % 2]),
            _ => [json!(["vpce-1"]), json!(["vpce-2", "a"]), json!(["a*", "b"]), json!("*")][pick as usize % 4].clone(),
        };
        (op.to_string(), key.to_string(), value)
    })
}

fn arb_statement(with_principal: bool, effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop::sample::select(vec!["Allow", "Deny"]).boxed(),
    };
    let actions =
        prop::sample::select(vec!["s3:GetObject", "s3:Get*", "*", "s3:PutObject", "S3:getobject", "s3:?etObject"]);
    let resources = prop::sample::select(vec![
        "*",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::b",
        "arn:aws:s3:::b/k",
        "arn:aws:s3:::c/*",
        "arn:aws:s3:::*/k",
        "arn:aws:s3:::b/${aws:username}",
    ]);
    let principals = prop::sample::select(vec![
        json!("*"),
        json!({"AWS": ACCOUNT}),
        json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:role/app")}),
        json!({"AWS": format!("arn:aws:iam::{OTHER}:root")}),
        json!({"AWS": format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/s1")}),
    ]);
    (
        effect,
        any::<bool>(),
        prop::collection::vec(actions, 1..3),
        any::<bool>(),
        prop::collection::vec(resources, 1..3),
        principals,
        any::<bool>(),
        prop::collection::vec(arb_condition(), 0..3),
    )
        .prop_map(
            move |(effect, not_action, actions, not_resource, resources, principal, not_principal, conds)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(effect));
                s.insert(if not_action { "NotAction" } else { "Action" }.into(), json!(actions));
                s.insert(if not_resource { "NotResource" } else { "Resource" }.into(), json!(resources));
                if with_principal {
                    let key = if not_principal && effect == "Deny" { "NotPrincipal" } else { "Principal" };
                    s.insert(key.into(), principal);
                }
                if !conds.is_empty() {
                    let mut c = serde_json::Map::new();
                    for (op, key, value) in conds {
                        let block = c.entry(op).or_insert_with(|| json!({}));
                        block[key] = value;
                    }
                    s.insert("Condition".into(), Value::Object(c));
                }
                Value::Object(s)
            },
        )
}

fn policy_json(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn arb_request() -> impl Strategy<Value = Request> {
    let callers = prop::sample::select(vec![
        "anonymous".to_string(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"),
        format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        format!("arn:aws:iam::{OTHER}:user/bob"),
        format!("arn:aws:iam::{ACCOUNT}:root"),
    ]);
    let actions = prop::sample::select(vec!["s3:GetObject", "s3:PutObject", "s3:ListBucket"]);
    let resources = prop::sample::select(vec![
        "arn:aws:s3:::b/k",
        "arn:aws:s3:::b",
        "arn:aws:s3:::c/alice",
        "arn:aws:s3:::b/alice",
    ]);
    let vpce = prop::option::of(prop::sample::select(vec!["vpce-1", "vpce-2"]));
    let ip = prop::option::of(prop::sample::select(vec!["10.1.2.3", "203.0.113.7", "198.51.100.1"]));
    let tags = prop::option::of(prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..3));
    let owner = prop::sample::select(vec![ACCOUNT, OTHER]);
    (callers, actions, resources, vpce, ip, tags, owner).prop_map(
        |(caller, action, resource, vpce, ip, tags, owner)| {
            let mut ctx = Context::new();
            if let Some(v) = vpce {
                ctx.insert("aws:SourceVpce", ContextValue::Single(v.into()));
            }
            if let Some(ip) = ip {
                ctx.insert("aws:SourceIp", ContextValue::Single(ip.into()));
            }
            if let Some(tags) = tags {
                ctx.insert("aws:TagKeys", ContextValue::Multi(tags.into_iter().map(String::from).collect()));
            }
            ctx.insert("aws:CurrentTime", ContextValue::Single("2026-11-22T10:00:00Z".into()));
            ctx.insert("s3:max-keys", ContextValue::Single("7".into()));
            Request::new(Caller::parse(&caller).unwrap(), action, resource, Some(owner), ctx)
        },
    )
}

struct World {
    identity: Policy,
    resource: Policy,
    vpce: Policy,
}

impl World {
    fn set(&self) -> PolicySet<'_> {
        PolicySet {
            identity: vec![NamedPolicy { name: "identity", policy: &self.identity }],
            resource: Some(NamedPolicy { name: "resource", policy: &self.resource }),
            vpce: vec![NamedPolicy { name: "vpce", policy: &self.vpce }],
            ..PolicySet::default()
        }
    }
}

fn parse(value: &Value, kind: PolicyKind) -> Policy {
    parse_policy(&value.to_string(), kind).unwrap_or_else(|e| panic!("generated policy does not parse: {e}\n{value}"))
}

fn is_allow(d: Decision) -> bool {
    d == Decision::Allow
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn json_reader_never_panics(text in ".{0,200}") {
        let _ = mrap_auditor::policy::json::parse(&text);
    }

    #[test]
    fn policy_parser_never_panics_on_arbitrary_json(value in arb_json(), kind in prop::sample::select(KINDS.to_vec())) {
        let _ = parse_policy(&value.to_string(), kind);
        let _ = parse_policy(&serde_json::to_string_pretty(&value).unwrap(), kind);
    }

    #[test]
    fn evaluator_never_panics_on_whatever_parses(value in arb_json(), request in arb_request()) {
        if let Ok(policy) = parse_policy(&value.to_string(), PolicyKind::Resource) {
            let set = PolicySet { resource: Some(NamedPolicy { name: "r", policy: &policy }), ..PolicySet::default() };
            let e = explain(&request, &set);
            prop_assert_eq!(e.decision, decide(&request, &set));
        }
    }

    #[test]
    fn wildcard_matcher_agrees_with_regex(pattern in "[ab*?/:]{0,8}", text in "[ab/:]{0,10}") {
        let template = Template::parse(&pattern, Syntax { wildcards: true, variables: false });
        let mut re = String::from("^");
        for c in pattern.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        let regex = regex::Regex::new(&re).unwrap();
        prop_assert_eq!(mrap_auditor::eval::wildcard::matches(&template.tokens, &text), regex.is_match(&text));
    }

    #[test]
    fn adding_a_deny_never_turns_deny_into_allow(
        id in prop::collection::vec(arb_statement(false, None), 1..4),
        res in prop::collection::vec(arb_statement(true, None), 1..4),
        vpce in prop::collection::vec(arb_statement(true, None), 1..3),
        extra_id in arb_statement(false, Some("Deny")),
        extra_res in arb_statement(true, Some("Deny")),
        request in arb_request(),
    ) {
        let world = World { identity: parse(&policy_json(id.clone()), PolicyKind::Identity), resource: parse(&policy_json(res.clone()), PolicyKind::Resource), vpce: parse(&policy_json(vpce.clone()), PolicyKind::Vpce) };
        let before = decide(&request, &world.set());
        let mut id2 = id.clone(); id2.push(extra_id);
        let mut res2 = res.clone(); res2.push(extra_res);
        let more = World { identity: parse(&policy_json(id2), PolicyKind::Identity), resource: parse(&policy_json(res2), PolicyKind::Resource), vpce: world.vpce.clone() };
        let after = decide(&request, &more.set());
        prop_assert!(is_allow(before) || !is_allow(after), "deny {before:?} became {after:?}");
    }

    #[test]
    fn adding_an_identity_allow_never_turns_allow_into_deny(
        id in prop::collection::vec(arb_statement(false, None), 1..4),
        res in prop::collection::vec(arb_statement(true, None), 1..4),
        vpce in prop::collection::vec(arb_statement(true, None), 1..3),
        extra in arb_statement(false, Some("Allow")),
        request in arb_request(),
    ) {
        let world = World { identity: parse(&policy_json(id.clone()), PolicyKind::Identity), resource: parse(&policy_json(res), PolicyKind::Resource), vpce: parse(&policy_json(vpce), PolicyKind::Vpce) };
        let before = decide(&request, &world.set());
        let mut id2 = id; id2.push(extra);
        let more = World { identity: parse(&policy_json(id2), PolicyKind::Identity), ..world };
        let after = decide(&request, &more.set());
        prop_assert!(!is_allow(before) || is_allow(after), "allow became {after:?}");
    }

    #[test]
    fn a_decision_known_despite_an_unknown_input_holds_for_every_value_of_it(
        id in prop::collection::vec(arb_statement(false, None), 1..4),
        res in prop::collection::vec(arb_statement(true, None), 1..4),
        vpce in prop::collection::vec(arb_statement(true, None), 1..3),
        request in arb_request(),
        key in prop::sample::select(vec![
            "aws:SourceVpce", "aws:SourceIp", "aws:TagKeys", "s3:max-keys", "aws:CurrentTime", "aws:SecureTransport",
        ]),
    ) {
        let world = World { identity: parse(&policy_json(id), PolicyKind::Identity), resource: parse(&policy_json(res), PolicyKind::Resource), vpce: parse(&policy_json(vpce), PolicyKind::Vpce) };
        let mut unknown = request.clone();
        unknown.context.insert(key, ContextValue::Unknown);
        let decision = decide(&unknown, &world.set());
        prop_assume!(decision != Decision::Unknown);
        let singles = [
            "vpce-1", "vpce-2", "a", "b1", "", "10.1.2.3", "203.0.113.7", "2001:db8::1", "7", "0", "100", "-3.5",
            "2026-11-22T10:00:00Z", "2031-01-01", "1000000000000000000000000000000", "true", "false", "TRUE",
            "arn:aws:iam::111122223333:role/app", "not a value of any type %%",
        ];
        let mut values: Vec<ContextValue> = singles.iter().map(|v| ContextValue::Single((*v).to_string())).collect();
        // Not the empty list: an unknown value is a *present* value, and an empty multi-valued
        // key counts as absent (IAM: "Condition operators", Null).
        values.push(ContextValue::Multi(vec!["a".into(), "b".into()]));
        values.push(ContextValue::Multi(vec!["a".into()]));
        for value in values {
            let mut concrete = request.clone();
            concrete.context.insert(key, value.clone());
            let substituted = decide(&concrete, &world.set());
            // An implicit deny with a Deny that may also apply is "denied either way" (stated
            // in its explanation): a value may make it explicit, never an allow.
            let same = substituted == decision
                || (decision == Decision::ImplicitDeny && substituted == Decision::ExplicitDeny);
            prop_assert!(same, "with `{}` = {:?} the decision is {:?}, not the {:?} given for it unknown", key, value, substituted, decision);
        }
    }

    #[test]
    fn statement_order_never_changes_the_decision(
        res in prop::collection::vec(arb_statement(true, None), 1..5),
        id in prop::collection::vec(arb_statement(false, None), 1..4),
        request in arb_request(),
    ) {
        let world = World { identity: parse(&policy_json(id.clone()), PolicyKind::Identity), resource: parse(&policy_json(res.clone()), PolicyKind::Resource), vpce: parse(&policy_json(vec![json!({"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"})]), PolicyKind::Vpce) };
        let mut rev_res = res; rev_res.reverse();
        let mut rev_id = id; rev_id.reverse();
        let reversed = World { identity: parse(&policy_json(rev_id), PolicyKind::Identity), resource: parse(&policy_json(rev_res), PolicyKind::Resource), vpce: world.vpce.clone() };
        prop_assert_eq!(decide(&request, &world.set()), decide(&request, &reversed.set()));
        prop_assert_eq!(explain(&request, &world.set()).decision, decide(&request, &world.set()));
    }
}
