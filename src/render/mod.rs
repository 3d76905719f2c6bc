//! Renderings of a [`Report`](crate::report::Report) for CI systems: SARIF 2.1.0 for code
//! scanning, JUnit XML for test reports. Both render any report, a pre-flight's or not; the text
//! and JSON forms are in `crate::report`.

pub mod junit;
pub mod sarif;

use crate::preflight::Preflight;

/// What a rendering may point at besides the report itself.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// The configuration file, where the expectations are written.
    pub config: &'a str,
    /// The pre-flight, when the report is of a planned world: findings on a planned resource
    /// point at the plan's resource address.
    pub preflight: Option<&'a Preflight>,
}
