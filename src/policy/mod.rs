//! The IAM policy language: a positioned JSON reader, the typed document model and its parser.
//!
//! Syntax only: what a policy *says*. What it *means* for a request is `crate::eval`.

pub mod json;
pub mod lint;
pub mod model;
pub mod parse;
pub mod public;
pub mod refusal;
pub mod template;
pub mod values;

pub use model::*;
pub use parse::{PolicyError, Problem, parse_policy, policy_from_json};
