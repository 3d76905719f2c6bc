//! mrap-auditor: proves who can reach S3 data through a Multi-Region Access Point over AWS
//! PrivateLink, and raises the alarm when that changes.
//!
//! Data flows one way: config → source → snapshot → audit (pure core) → report → drift/history
//! → export. The core (`policy`, `eval`) does no I/O.
//!
//! Cargo features (both on by default): `runtime` is the daemon (`daemon`, `export`, `history`:
//! tokio, axum, SQLite, Prometheus, the Alertmanager client); `aws` is the live AWS source
//! (`source::aws`, the SDK). Without them the crate is the core and the one-shot commands on
//! snapshot directories, and its dependency tree holds none of those crates.

pub mod access;
pub mod audit;
pub mod baseline;
pub mod cli;
pub mod config;
#[cfg(feature = "runtime")]
pub mod daemon;
pub mod drift;
pub mod eval;
pub mod events;
#[cfg(feature = "runtime")]
pub mod export;
#[cfg(feature = "runtime")]
pub mod history;
pub mod path;
pub mod policy;
pub mod preflight;
pub mod render;
pub mod report;
pub mod s3;
pub mod snapshot;
pub mod source;
pub mod util;
