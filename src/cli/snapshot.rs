//! `mrap-auditor snapshot`: capture live AWS into a snapshot directory (DESIGN §4), to audit,
//! diff or attach to an incident offline. It uses the configuration's `[aws]` section whatever
//! `[source] kind` says; the directory is written whole or not at all. Feature `aws`; a build
//! without it says so.

#[cfg(feature = "aws")]
use std::fs;
#[cfg(feature = "aws")]
use std::path::Path;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use super::common::DEFAULT_CONFIG;
#[cfg(feature = "aws")]
use super::{common, error};
#[cfg(feature = "aws")]
use crate::snapshot::Snapshot;
#[cfg(feature = "aws")]
use crate::source::{Source, dir};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor snapshot --config config/live.toml --out snapshots/2026-11-22
  mrap-auditor check --config config/live.toml --snapshot snapshots/2026-11-22
  mrap-auditor diff snapshots/2026-11-21 snapshots/2026-11-22 --config config/live.toml
  AWS_PROFILE=audit mrap-auditor snapshot --config config/live.toml --out incident-4711/

The configuration needs an `[aws]` section (account_id, endpoint_regions; see README: Running
against AWS). Every file is the AWS CLI's own JSON; a read that failed is written as
{\"Error\": {\"Code\": ..., \"Message\": ...}} and makes the exit code 2.

Exit codes: 0 everything was read, 2 a read failed (the directory is still written), 64 bad usage
or config, or OUT exists and is not empty.")]
pub struct SnapshotArgs {
    /// The configuration file (its `[aws]` section).
    #[arg(long, short, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The directory to create; it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Without the `aws` feature there is nothing live to capture.
#[cfg(not(feature = "aws"))]
pub fn run(_args: &SnapshotArgs) -> Exit {
    super::not_built("snapshot", "aws")
}

#[cfg(feature = "aws")]
pub fn run(args: &SnapshotArgs) -> Exit {
    let config = match common::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if let Err(why) = check_out(&args.out) {
        error(why);
        return Exit::Usage;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            error(format_args!("cannot start the I/O runtime: {e}"));
            return Exit::Unknown;
        }
    };
    let captured = runtime.block_on(async {
        let source = Source::live(&config).await?;
        source.capture().await
    });
    let snapshot = match captured {
        Ok(s) => s,
        Err(e) => {
            error(format_args!("{}: {e}", config.file.display()));
            return Exit::Usage;
        }
    };
    if let Err(e) = write_whole(&snapshot, &args.out) {
        error(e);
        return Exit::Unknown;
    }
    summary(&snapshot, &args.out);
    if snapshot.errors.is_empty() { Exit::Ok } else { Exit::Unknown }
}

/// OUT must be new or empty: files of an older capture left beside a new one would mix two
/// points in time into one snapshot.
#[cfg(feature = "aws")]
fn check_out(out: &Path) -> Result<(), String> {
    match fs::read_dir(out) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(format!("`{}` exists and is not empty; choose a new directory", out.display())),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("`{}`: {e}", out.display())),
    }
}

/// Writes into a sibling temporary directory, then renames it: a capture interrupted half-way
/// never leaves a directory that looks complete.
#[cfg(feature = "aws")]
fn write_whole(snapshot: &Snapshot, out: &Path) -> Result<(), String> {
    let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "snapshot".into());
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    let partial = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    let written = dir::write(snapshot, &partial).map_err(|e| e.to_string()).and_then(|()| {
        if out.exists() {
            fs::remove_dir(out).map_err(|e| format!("cannot replace the empty `{}`: {e}", out.display()))?;
        }
        fs::rename(&partial, out).map_err(|e| format!("cannot move the capture to `{}`: {e}", out.display()))
    });
    if written.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    written
}

#[cfg(feature = "aws")]
fn summary(snapshot: &Snapshot, out: &Path) {
    let mraps = snapshot.mraps.value().map_or(0, Vec::len);
    let endpoints: usize = snapshot.endpoints.values().filter_map(|c| c.value()).map(Vec::len).sum();
    eprintln!(
        "wrote {}: {mraps} MRAP(s), {} bucket(s), {endpoints} endpoint(s); {} read(s) failed",
        out.display(),
        snapshot.bucket_policies.len(),
        snapshot.errors.len()
    );
    for e in &snapshot.errors {
        eprintln!(
            "  {} {} {}: {} (request id {})",
            e.api,
            e.resource,
            e.code,
            e.message,
            e.request_id.as_deref().unwrap_or("-")
        );
    }
}

#[cfg(all(test, feature = "aws"))]
mod tests {
    use super::*;

    #[test]
    fn out_must_be_new_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_out(&dir.path().join("new")).is_ok());
        assert!(check_out(dir.path()).is_ok());
        fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        let e = check_out(dir.path()).unwrap_err();
        assert!(e.ends_with("exists and is not empty; choose a new directory"), "{e}");
    }

    #[test]
    fn a_snapshot_is_written_whole_into_an_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("empty");
        fs::create_dir(&out).unwrap();
        let mut s = Snapshot::empty();
        s.bucket_policies.insert("b1".into(), crate::snapshot::Captured::Value(None));
        write_whole(&s, &out).unwrap();
        assert!(out.join("s3/get-bucket-policy/b1.json").is_file());
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("empty")]);
    }
}
