//! A targeted re-read for a change event: only the reads the event calls for ([`Target`]), on
//! top of the last complete snapshot, with the same calls, error handling and concurrency limit
//! as a full capture. A bucket policy event costs one `GetBucketPolicy`; an MRAP policy event one
//! `GetMultiRegionAccessPointPolicy`; an endpoint event one `DescribeVpcEndpoints` page per
//! thousand endpoints of its region.

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use tracing::info;

use super::capture::{self, BucketTarget, Cycle, Slot, Tasks, store};
use super::clients::Clients;
use super::{AwsSettings, CaptureStats};
use crate::events::Target;
use crate::snapshot::{Captured, Snapshot};

pub(super) async fn recapture(
    settings: &AwsSettings,
    clients: &Clients,
    previous: &Snapshot,
    targets: &BTreeSet<Target>,
) -> (Snapshot, CaptureStats) {
    let Some(mraps) = previous.mraps.value().filter(|_| !targets.contains(&Target::Everything)) else {
        return capture::capture(settings, clients).await;
    };
    let started = Instant::now();
    let cycle = Cycle::new(settings, clients);
    let own = settings.account_id.as_str();
    let bucket = |name: &str| {
        mraps.iter().flat_map(|m| &m.regions).find(|r| r.bucket == name).map(|r| BucketTarget {
            bucket: r.bucket.clone(),
            region: settings.bucket_region(&r.region).to_string(),
            owner: r.bucket_account_id.clone().unwrap_or_else(|| own.to_string()),
        })
    };
    let mut tasks = Tasks::default();
    for target in targets {
        match target {
            Target::BucketPolicy(b) => {
                if let Some(t) = bucket(b) {
                    tasks.spawn(Slot::BucketPolicy(t.bucket.clone()), cycle.clone().bucket_policy(t));
                }
            }
            Target::BucketBpa(b) => {
                if let Some(t) = bucket(b) {
                    tasks.spawn(Slot::BucketBpa(t.bucket.clone()), cycle.clone().bucket_bpa(t));
                }
            }
            Target::AccountBpa(a) => tasks.spawn(Slot::AccountBpa(a.clone()), cycle.clone().account_bpa(a.clone())),
            Target::MrapPolicy(name) => {
                tasks.spawn(Slot::MrapPolicy(name.clone()), cycle.clone().mrap_policy(name.clone()))
            }
            Target::MrapRoutes(name) => {
                if let Some(m) = mraps.iter().find(|m| &m.name == name) {
                    let arn = format!("arn:{}:s3::{own}:accesspoint/{}", settings.partition, m.alias);
                    tasks.spawn(Slot::MrapRoutes(name.clone()), cycle.clone().mrap_routes(name.clone(), arn));
                }
            }
            Target::Endpoints(region) => {
                if settings.endpoint_regions.contains(region) {
                    tasks.spawn(Slot::Endpoints(region.clone()), cycle.clone().endpoints(region.clone()));
                }
            }
            Target::Everything => {}
        }
    }
    let mut snapshot = previous.clone();
    if let Captured::Value(m) = &mut snapshot.manifest {
        m.captured_at = Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    let mut errors = Vec::new();
    while let Some((read, error)) = tasks.next().await {
        errors.extend(error);
        store(&mut snapshot, read);
    }
    snapshot.errors = errors;
    let stats = CaptureStats { calls: cycle.calls(), failed_reads: snapshot.errors.len(), elapsed: started.elapsed() };
    info!(
        account = %settings.account_id,
        calls = stats.calls,
        failed_reads = stats.failed_reads,
        targets = targets.len(),
        elapsed_ms = u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
        "AWS targeted re-read finished."
    );
    (snapshot, stats)
}
