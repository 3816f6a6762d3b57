//! The push consumer (Apache `DefaultMQPushConsumer`): long-polling pulls per assigned
//! queue, rebalancing on NOTIFY_CONSUMER_IDS_CHANGED and every 20 s, concurrent or orderly
//! listeners, flow control per queue, and periodic offset commits.

mod consume;
mod handle;
mod queues;

use consume::*;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::FutureExt;
use remoting::message::{MessageExt, properties};
use remoting::protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, LockBatchRequestBody, MessageModel, MessageQueue,
    SubscriptionData,
};
use remoting::protocol::header::{
    ConsumerSendMsgBackRequestHeader, PullMessageRequestHeader, pull_sys_flag,
};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::allocate::{AllocateAveragely, AllocateStrategy};
use super::listener::{
    ConsumeConcurrentlyStatus, ConsumeContext, ConsumeOrderlyStatus, MessageListener,
};
use super::offset_store::{
    LocalFileOffsetStore, OFFSET_NONE, OffsetStore, ReadOffsetType, RemoteOffsetStore,
};
use super::process_queue::ProcessQueue;
use super::{filter_by_tags, retry_topic};
use crate::api::PullStatus;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, ConsumerHandle};

/// Push consumer settings (Apache `DefaultMQPushConsumer` fields).
#[derive(Clone)]
pub struct PushConsumerConfig {
    /// Consumer group.
    pub group: String,
    /// Clustering (each message once per group) or broadcasting (every instance).
    pub message_model: MessageModel,
    /// Where a group with no stored offset starts.
    pub consume_from_where: ConsumeFromWhere,
    /// Start time (ms) for [`ConsumeFromWhere::ConsumeFromTimestamp`].
    pub consume_timestamp: i64,
    /// Queue allocation strategy (clustering).
    pub allocate: Arc<dyn AllocateStrategy>,
    /// Listener calls running at once (concurrent listeners).
    pub consume_thread_max: usize,
    /// Messages asked for per pull.
    pub pull_batch_size: i32,
    /// Messages per listener call.
    pub consume_message_batch_max_size: usize,
    /// Flow control: no pulls while a queue has this many cached messages.
    pub pull_threshold_for_queue: usize,
    /// Pause between pulls of a queue.
    pub pull_interval: Duration,
    /// Periodic rebalance interval (Apache: 20 s).
    pub rebalance_interval: Duration,
    /// How long the broker may hold a pull with no message (Apache: 15 s).
    pub broker_suspend_max: Duration,
    /// Timeout of a long-polled pull (Apache: 30 s).
    pub pull_timeout: Duration,
    /// Pause after a failed pull (Apache: 3 s).
    pub pull_delay_on_exception: Duration,
    /// Retries through the broker before a message goes to the DLQ.
    pub max_reconsume_times: i32,
    /// Orderly: pause of a queue after `SuspendCurrentQueueAMoment`.
    pub suspend_current_queue_time: Duration,
    /// Send the subscription with each pull (independent of heartbeat timing).
    pub post_subscription_when_pull: bool,
    /// Broadcasting: directory of the local offset files.
    pub offset_store_dir: PathBuf,
}

impl Default for PushConsumerConfig {
    fn default() -> Self {
        PushConsumerConfig {
            group: "DEFAULT_CONSUMER".into(),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp: now_ms() - 30 * 60 * 1000,
            allocate: Arc::new(AllocateAveragely),
            consume_thread_max: 20,
            pull_batch_size: 32,
            consume_message_batch_max_size: 1,
            pull_threshold_for_queue: 1000,
            pull_interval: Duration::ZERO,
            rebalance_interval: Duration::from_secs(20),
            broker_suspend_max: Duration::from_secs(15),
            pull_timeout: Duration::from_secs(30),
            pull_delay_on_exception: Duration::from_secs(3),
            max_reconsume_times: 16,
            suspend_current_queue_time: Duration::from_secs(1),
            post_subscription_when_pull: true,
            offset_store_dir: LocalFileOffsetStore::default_dir(),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Collects subscriptions and the listener, then starts a [`PushConsumer`].
pub struct PushConsumerBuilder {
    client: ClientConfig,
    config: PushConsumerConfig,
    subscriptions: Vec<(String, String)>,
    listener: Option<MessageListener>,
}

impl PushConsumerBuilder {
    /// Subscribes to `topic` with a tag expression (`*`, `TagA || TagB`).
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions.push((topic.into(), expression.into()));
        self
    }

    /// Sets the listener.
    pub fn listener(mut self, listener: MessageListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Starts consuming.
    pub async fn start(self) -> Result<PushConsumer> {
        PushConsumer::start(self).await
    }
}

/// A started push consumer.
pub struct PushConsumer {
    inner: Arc<Inner>,
}

struct Inner {
    config: PushConsumerConfig,
    instance: Arc<ClientInstance>,
    subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
    listener: MessageListener,
    offsets: Box<dyn OffsetStore>,
    pqs: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    rebalance: Notify,
    stop: CancellationToken,
    consume_slots: Arc<Semaphore>,
    weak: Weak<Inner>,
    shut: AtomicBool,
    /// Serialises rebalances, periodic offset commits, offset resets and shutdown: a
    /// rebalance running during shutdown would restart the dropped queues from the broker's
    /// stale offsets, and a periodic commit of old offsets finishing after a reset or the
    /// final commit would overwrite them.
    housekeeping: tokio::sync::Mutex<()>,
}

impl PushConsumer {
    /// A builder for a consumer with the given client and consumer settings.
    pub fn builder(client: ClientConfig, config: PushConsumerConfig) -> PushConsumerBuilder {
        PushConsumerBuilder {
            client,
            config,
            subscriptions: Vec::new(),
            listener: None,
        }
    }

    async fn start(b: PushConsumerBuilder) -> Result<PushConsumer> {
        let listener = b
            .listener
            .ok_or_else(|| ClientError::Invalid("a push consumer needs a listener".into()))?;
        if b.subscriptions.is_empty() {
            return Err(ClientError::Invalid(
                "a push consumer needs a subscription".into(),
            ));
        }
        let config = b.config;
        let instance = ClientInstance::new(b.client);
        let offsets: Box<dyn OffsetStore> = match config.message_model {
            MessageModel::Clustering => Box::new(RemoteOffsetStore::new(
                instance.clone(),
                config.group.clone(),
            )),
            MessageModel::Broadcasting => Box::new(LocalFileOffsetStore::new(
                config.offset_store_dir.clone(),
                instance.client_id(),
                &config.group,
            )),
        };
        offsets.load().await?;
        let version = now_ms();
        let mut subs = BTreeMap::new();
        for (topic, expr) in &b.subscriptions {
            subs.insert(topic.clone(), SubscriptionData::tag(topic, expr, version));
        }
        if config.message_model == MessageModel::Clustering {
            let rt = retry_topic(&config.group);
            subs.insert(rt.clone(), SubscriptionData::tag(&rt, "*", version));
        }
        let threads = config.consume_thread_max.max(1);
        let inner = Arc::new_cyclic(|weak| Inner {
            consume_slots: Arc::new(Semaphore::new(threads)),
            config,
            instance: instance.clone(),
            subscriptions: Mutex::new(subs),
            listener,
            offsets,
            pqs: Mutex::default(),
            rebalance: Notify::new(),
            stop: CancellationToken::new(),
            weak: weak.clone(),
            shut: AtomicBool::new(false),
            housekeeping: tokio::sync::Mutex::new(()),
        });
        let handle: Weak<dyn ConsumerHandle> =
            Arc::downgrade(&(inner.clone() as Arc<dyn ConsumerHandle>));
        instance.register_consumer(handle)?;
        instance.start();
        for topic in inner.subscribed_topics() {
            if let Err(e) = instance.update_route(&topic).await {
                warn!(%topic, error = %e, "no route yet");
            }
        }
        instance.send_heartbeat_to_all().await;
        tokio::spawn(rebalance_loop(inner.clone()));
        tokio::spawn(persist_loop(inner.clone()));
        if inner.listener.is_orderly() && inner.config.message_model == MessageModel::Clustering {
            tokio::spawn(lock_loop(inner.clone()));
        }
        info!(group = %inner.config.group, client = %instance.client_id(), "push consumer started");
        Ok(PushConsumer { inner })
    }

    /// The client instance.
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    /// The queues currently assigned to this consumer.
    pub fn assigned_queues(&self) -> BTreeSet<MessageQueue> {
        self.inner.pqs.lock().unwrap().keys().cloned().collect()
    }

    /// Messages pulled but not yet consumed, over all assigned queues.
    pub fn cached_message_count(&self) -> usize {
        self.inner
            .pqs
            .lock()
            .unwrap()
            .values()
            .map(|pq| pq.count())
            .sum()
    }

    /// The in-memory offsets.
    pub fn offsets(&self) -> BTreeMap<MessageQueue, i64> {
        self.inner.offsets.offsets()
    }

    /// Runs one rebalance now and waits for it.
    pub async fn rebalance(&self) {
        self.inner.do_rebalance().await;
    }

    /// Stops pulling, waits for running listener calls, commits offsets, releases queue
    /// locks and unregisters from the brokers.
    pub async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        self.inner.stop.cancel();
        self.inner.instance.shutdown();
    }
}

async fn rebalance_loop(inner: Arc<Inner>) {
    loop {
        inner.do_rebalance().await;
        tokio::select! {
            _ = inner.stop.cancelled() => return,
            _ = inner.rebalance.notified() => {}
            _ = tokio::time::sleep(inner.config.rebalance_interval) => {}
        }
    }
}

async fn persist_loop(inner: Arc<Inner>) {
    let every = inner.instance.config().persist_consumer_offset_interval;
    loop {
        tokio::select! {
            _ = inner.stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let _g = inner.housekeeping.lock().await;
        if inner.stop.is_cancelled() {
            return;
        }
        let mqs: Vec<_> = inner.pqs.lock().unwrap().keys().cloned().collect();
        // Waiting for the answers keeps this commit ordered before a later final one.
        inner.offsets.persist_all(&mqs, true).await;
    }
}

async fn lock_loop(inner: Arc<Inner>) {
    loop {
        tokio::select! {
            _ = inner.stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(20)) => {}
        }
        inner.lock_all().await;
    }
}
