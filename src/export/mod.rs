//! What leaves the process: Prometheus metrics, the HTTP interface, alerts and their logs.

pub mod alerts;
pub mod http;
pub mod metrics;
