//! What leaves the process: Prometheus metrics, the HTTP interface and its status page, alerts
//! and their logs.

pub mod alerts;
pub mod http;
pub mod metrics;
pub mod page;
