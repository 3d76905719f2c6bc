//! Sources turn the world into a [`Snapshot`]: a snapshot directory (`dir`), or live AWS
//! (`aws`, cargo feature `aws`). Both produce the same `Snapshot`, so the evaluation is identical
//! whichever ran. A source only fails as a whole when it cannot start (no directory, no AWS
//! configuration); every failed read inside a cycle is recorded in the snapshot instead.
//!
//! Capturing through [`Source`] is async (tokio, features `runtime` or `aws`); without either, the
//! one-shot commands read a snapshot directory with [`dir::read`] directly.

use std::path::PathBuf;

use crate::config::{Config, SourceConfig};
#[cfg(any(feature = "runtime", feature = "aws"))]
use crate::snapshot::Snapshot;

#[cfg(feature = "aws")]
pub mod aws;
pub mod dir;

/// Why a source could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceSetupError {
    #[error(transparent)]
    Dir(#[from] dir::DirError),
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Aws(#[from] aws::AwsSetupError),
    #[error("{0}")]
    Unavailable(String),
}

impl SourceSetupError {
    /// What a build without the `aws` feature answers when asked for live AWS.
    #[cfg(not(feature = "aws"))]
    pub fn no_live_source() -> SourceSetupError {
        SourceSetupError::Unavailable(
            "this build has no live AWS source (it was built without the `aws` cargo feature)".to_string(),
        )
    }
}

/// The configured source of snapshots.
#[derive(Debug)]
pub enum Source {
    Dir(PathBuf),
    /// Boxed: it holds SDK configuration, far larger than a path.
    #[cfg(feature = "aws")]
    Aws(Box<aws::AwsSource>),
}

impl Source {
    /// The source a configuration names; `dir_override` replaces a snapshot directory.
    pub async fn from_config(config: &Config, dir_override: Option<PathBuf>) -> Result<Source, SourceSetupError> {
        match (dir_override, &config.source) {
            (Some(dir), _) => Ok(Source::Dir(dir)),
            (None, SourceConfig::Snapshot { path }) => Ok(Source::Dir(path.clone())),
            (None, SourceConfig::Aws) => Source::live(config).await,
        }
    }

    /// The live AWS source of the configuration's `[aws]` section, whatever `[source] kind` says
    /// (`mrap-auditor snapshot` captures live AWS even when `check` audits a directory).
    #[cfg(feature = "aws")]
    pub async fn live(config: &Config) -> Result<Source, SourceSetupError> {
        Ok(Source::Aws(Box::new(aws::AwsSource::from_config(config).await?)))
    }

    /// Without the `aws` feature there is no live source.
    #[cfg(not(feature = "aws"))]
    pub async fn live(_config: &Config) -> Result<Source, SourceSetupError> {
        Err(SourceSetupError::no_live_source())
    }

    /// Captures one snapshot.
    #[cfg(any(feature = "runtime", feature = "aws"))]
    pub async fn capture(&self) -> Result<Snapshot, SourceSetupError> {
        match self {
            Source::Dir(path) => {
                let path = path.clone();
                // Small files, but still blocking I/O: keep it off the async workers.
                tokio::task::spawn_blocking(move || dir::read(&path))
                    .await
                    .map_err(|e| SourceSetupError::Unavailable(format!("the snapshot reader stopped: {e}")))?
                    .map_err(SourceSetupError::from)
            }
            #[cfg(feature = "aws")]
            Source::Aws(source) => Ok(source.capture().await),
        }
    }

    /// Re-reads what a change event touched, on top of `previous` (the last complete snapshot),
    /// and says how many AWS calls that took. The live source reads only the `targets`; a
    /// snapshot directory is small and local, so it is read whole.
    #[cfg(any(feature = "runtime", feature = "aws"))]
    pub async fn recapture(
        &self,
        previous: &Snapshot,
        targets: &std::collections::BTreeSet<crate::events::Target>,
    ) -> Result<(Snapshot, usize), SourceSetupError> {
        match self {
            Source::Dir(_) => {
                let _ = (previous, targets);
                Ok((self.capture().await?, 0))
            }
            #[cfg(feature = "aws")]
            Source::Aws(source) => {
                let (snapshot, stats) = source.recapture(previous, targets).await;
                Ok((snapshot, stats.calls))
            }
        }
    }

    /// `snapshot` or `aws`, as reports and metrics name it.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Dir(_) => "snapshot",
            #[cfg(feature = "aws")]
            Source::Aws(_) => "aws",
        }
    }

    /// Where it reads from, for reports and logs.
    pub fn location(&self) -> String {
        match self {
            Source::Dir(path) => path.display().to_string(),
            #[cfg(feature = "aws")]
            Source::Aws(source) => source.location(),
        }
    }
}
