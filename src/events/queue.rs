//! The SQS side of change events (cargo feature `aws`): one long-polling task per configured
//! queue (`ReceiveMessage` with 20 s waits, at most `[aws] max_concurrency` receives in flight),
//! handing each batch of messages to the daemon and deleting a message only once the daemon
//! acknowledges it — after the cycle it triggered is recorded, or at once for a message that is
//! dropped. A message whose acknowledgement never comes (the daemon stopped mid-cycle) is not
//! deleted: SQS delivers it again after its visibility timeout (at least once, nothing lost).
//!
//! A queue that cannot be read is logged, counted in `queue_errors_total{region, code}` and
//! reported to the daemon (a warning finding); the poll keeps running and stays the ground truth.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use prometheus::IntCounterVec;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::source::aws::classify;

/// SQS's longest long-poll wait.
pub const WAIT_SECONDS: i32 = 20;
/// SQS's largest batch.
pub const MAX_MESSAGES: i32 = 10;

/// One received message, waiting for the daemon's verdict on it.
#[derive(Debug)]
pub struct QueueMessage {
    pub region: String,
    pub body: String,
    pub message_id: String,
    /// When this process received it (the start of `event_processing_seconds`).
    pub received: Instant,
    ack: oneshot::Sender<()>,
}

impl QueueMessage {
    /// The daemon is done with it: the queue task deletes it.
    pub fn ack(self) {
        let _ = self.ack.send(());
    }
}

/// What the queue tasks tell the daemon.
#[derive(Debug)]
pub enum QueueSignal {
    Messages(Vec<QueueMessage>),
    /// A queue could not be read (after the SDK's retries).
    Failed {
        region: String,
        api: &'static str,
        code: String,
        message: String,
    },
    /// A queue that had failed answered again.
    Recovered {
        region: String,
    },
}

/// Starts one polling task per `[events] queues` entry; they stop when `tasks` is dropped.
pub async fn start(
    config: &Config,
    signals: mpsc::Sender<QueueSignal>,
    queue_errors: IntCounterVec,
    visibility: Duration,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let Some(events) = &config.events else { return tasks };
    let base = sdk_config(config).await;
    let permits = Arc::new(Semaphore::new(config.aws.as_ref().map_or(8, |a| a.max_concurrency.max(1))));
    for (region, url) in &events.queues {
        let client = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&base).region(Region::new(region.clone())).build(),
        );
        let poller = Poller {
            client,
            region: region.clone(),
            url: url.clone(),
            signals: signals.clone(),
            queue_errors: queue_errors.clone(),
            permits: permits.clone(),
            visibility: i32::try_from(visibility.as_secs()).unwrap_or(43_200).clamp(1, 43_200),
        };
        tasks.spawn(poller.run());
    }
    tasks
}

/// The SDK configuration for SQS: the default credential chain, `[aws] profile`, and
/// `[aws] endpoint_url` (an emulator) when set.
async fn sdk_config(config: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(aws) = &config.aws {
        if let Some(profile) = &aws.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &aws.endpoint_url {
            loader = loader.endpoint_url(url);
        }
    }
    loader.load().await
}

struct Poller {
    client: aws_sdk_sqs::Client,
    region: String,
    url: String,
    signals: mpsc::Sender<QueueSignal>,
    queue_errors: IntCounterVec,
    /// Bounds the receives in flight across every queue.
    permits: Arc<Semaphore>,
    /// Seconds a received message stays invisible: longer than a cycle, so that it is not
    /// delivered twice while its cycle runs.
    visibility: i32,
}

impl Poller {
    async fn failed(&self, api: &'static str, code: String, message: String) {
        warn!(region = %self.region, queue = %self.url, api, code = %code, message = %message, "Event queue could not be read; the poll stays the ground truth.");
        self.queue_errors.with_label_values(&[&self.region, &code]).inc();
        let _ = self.signals.send(QueueSignal::Failed { region: self.region.clone(), api, code, message }).await;
    }

    async fn run(self) {
        let mut backoff = Duration::from_secs(1);
        let mut failing = false;
        let mut checked = false;
        loop {
            if !checked {
                // GetQueueAttributes once: a wrong URL or a missing permission shows at start-up.
                let attributes = self
                    .client
                    .get_queue_attributes()
                    .queue_url(&self.url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    .send()
                    .await;
                match attributes {
                    Ok(out) => {
                        let waiting = out
                            .attributes()
                            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
                            .cloned()
                            .unwrap_or_default();
                        info!(region = %self.region, queue = %self.url, waiting = %waiting, "Listening for change events.");
                        checked = true;
                    }
                    Err(e) => {
                        let e = classify(&e);
                        self.failed("GetQueueAttributes", e.code, e.message).await;
                        failing = true;
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        continue;
                    }
                }
            }
            let received = {
                let Ok(_permit) = self.permits.acquire().await else { return };
                self.client
                    .receive_message()
                    .queue_url(&self.url)
                    .wait_time_seconds(WAIT_SECONDS)
                    .max_number_of_messages(MAX_MESSAGES)
                    .visibility_timeout(self.visibility)
                    .send()
                    .await
            };
            let out = match received {
                Ok(out) => out,
                Err(e) => {
                    let e = classify(&e);
                    self.failed("ReceiveMessage", e.code, e.message).await;
                    failing = true;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            backoff = Duration::from_secs(1);
            if failing {
                failing = false;
                info!(region = %self.region, queue = %self.url, "Event queue readable again.");
                let _ = self.signals.send(QueueSignal::Recovered { region: self.region.clone() }).await;
            }
            let mut batch = Vec::new();
            let mut pending = Vec::new();
            for m in out.messages() {
                let Some(handle) = m.receipt_handle() else { continue };
                let (ack, acked) = oneshot::channel();
                batch.push(QueueMessage {
                    region: self.region.clone(),
                    body: m.body().unwrap_or_default().to_string(),
                    message_id: m.message_id().unwrap_or_default().to_string(),
                    received: Instant::now(),
                    ack,
                });
                pending.push((handle.to_string(), acked));
            }
            if batch.is_empty() {
                continue;
            }
            debug!(region = %self.region, messages = batch.len(), "Change events received.");
            if self.signals.send(QueueSignal::Messages(batch)).await.is_err() {
                return; // the daemon stopped: nothing is deleted
            }
            let mut done = BTreeMap::new();
            for (i, (handle, acked)) in pending.into_iter().enumerate() {
                if acked.await.is_ok() {
                    done.insert(i, handle);
                }
            }
            self.delete(done).await;
        }
    }

    /// `DeleteMessageBatch` (IAM action `sqs:DeleteMessage`) of the acknowledged messages.
    async fn delete(&self, handles: BTreeMap<usize, String>) {
        if handles.is_empty() {
            return;
        }
        let mut request = self.client.delete_message_batch().queue_url(&self.url);
        for (i, handle) in &handles {
            match aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .receipt_handle(handle)
                .build()
            {
                Ok(entry) => request = request.entries(entry),
                Err(e) => warn!(error = %e, "A message to delete could not be named."),
            }
        }
        match request.send().await {
            Ok(out) => {
                for f in out.failed() {
                    self.failed(
                        "DeleteMessageBatch",
                        f.code().to_string(),
                        f.message().unwrap_or_default().to_string(),
                    )
                    .await;
                }
            }
            Err(e) => {
                let e = classify(&e);
                self.failed("DeleteMessageBatch", e.code, e.message).await;
            }
        }
    }
}
