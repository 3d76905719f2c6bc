//! Change events (DESIGN §11): CloudTrail management events that EventBridge forwards to an SQS
//! queue per region, so that the daemon sees a policy change within seconds instead of at the
//! next poll, and knows who made it.
//!
//! `envelope` parses a message, `mapping` says which reads it calls for, `pending` watches a
//! Proposed MRAP policy until AWS applies it — all pure. `queue` (features `runtime` and `aws`)
//! long-polls SQS.
//! The daemon ties them to its cycle loop; the full poll every `interval` stays the ground truth.

pub mod envelope;
pub mod mapping;
pub mod pending;
#[cfg(all(feature = "runtime", feature = "aws"))]
pub mod queue;

pub use envelope::{Attribution, ChangeEvent, SEEN_BY_POLL};
pub use mapping::{Dropped, Known, Target};
