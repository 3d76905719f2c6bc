//! mrap-auditor: proves who can reach S3 data through a Multi-Region Access Point over AWS
//! PrivateLink, and raises the alarm when that changes.
//!
//! Data flows one way: config → source → snapshot → audit (pure core) → report → drift/history
//! → export. The core (`policy`, `eval`) does no I/O.

pub mod access;
pub mod audit;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod drift;
pub mod eval;
pub mod events;
pub mod export;
pub mod history;
pub mod path;
pub mod policy;
pub mod preflight;
pub mod render;
pub mod report;
pub mod s3;
pub mod snapshot;
pub mod source;
