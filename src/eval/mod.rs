//! What a policy means for a request: matchers, conditions, variables, and the combination of
//! policy layers into a decision that explains itself.
//!
//! Pure: no I/O, no clock, no async, no AWS SDK type. `aws:CurrentTime` exists only if the
//! request's context gives it.

pub mod arn;
pub mod case;
pub mod condition;
pub mod decision;
pub mod principal;
pub mod render;
pub mod request;
pub mod statement;
pub mod stream;
pub mod tri;
pub mod wildcard;

pub use decision::{
    Decision, Evaluation, Layer, LayerOutcome, LayerTrace, NamedPolicy, PolicySet, decide, evaluate, explain,
};
pub use request::{Caller, Context, ContextValue, Request};
pub use tri::Tri;
