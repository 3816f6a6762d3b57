//! The push consumer (Apache `DefaultMQPushConsumer`): long-polling pulls per assigned
//! queue, rebalancing on NOTIFY_CONSUMER_IDS_CHANGED and every 20 s, concurrent or orderly
//! listeners, flow control per queue, and periodic offset commits.

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
        let mqs: Vec<_> = inner.pqs.lock().unwrap().keys().cloned().collect();
        inner.offsets.persist_all(&mqs, false).await;
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

impl Inner {
    fn is_clustering(&self) -> bool {
        self.config.message_model == MessageModel::Clustering
    }

    fn orderly_clustering(&self) -> bool {
        self.listener.is_orderly() && self.is_clustering()
    }

    fn lock_body(&self, mqs: BTreeSet<MessageQueue>) -> LockBatchRequestBody {
        LockBatchRequestBody {
            client_id: self.instance.client_id().to_owned(),
            consumer_group: self.config.group.clone(),
            mq_set: mqs,
        }
    }

    async fn lock(&self, mq: &MessageQueue) -> bool {
        let Ok(addr) = self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
        else {
            return false;
        };
        let body = self.lock_body([mq.clone()].into());
        match self.instance.api().lock_batch_mq(&addr, &body).await {
            Ok(locked) => locked.contains(mq),
            Err(e) => {
                debug!(?mq, error = %e, "lock failed");
                false
            }
        }
    }

    async fn unlock(&self, mq: &MessageQueue) {
        if let Some(addr) = self.instance.master_addr(&mq.broker_name) {
            let body = self.lock_body([mq.clone()].into());
            if let Err(e) = self.instance.api().unlock_batch_mq(&addr, &body).await {
                debug!(?mq, error = %e, "unlock failed");
            }
        }
    }

    async fn lock_all(&self) {
        let pqs: Vec<_> = self
            .pqs
            .lock()
            .unwrap()
            .iter()
            .map(|(m, p)| (m.clone(), p.clone()))
            .collect();
        let mut by_broker: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for (mq, _) in &pqs {
            by_broker
                .entry(mq.broker_name.clone())
                .or_default()
                .insert(mq.clone());
        }
        for (broker, mqs) in by_broker {
            let Some(addr) = self.instance.master_addr(&broker) else {
                continue;
            };
            match self
                .instance
                .api()
                .lock_batch_mq(&addr, &self.lock_body(mqs.clone()))
                .await
            {
                Ok(locked) => {
                    for (mq, pq) in &pqs {
                        if mqs.contains(mq) {
                            pq.set_locked(locked.contains(mq));
                        }
                    }
                }
                Err(e) => debug!(%broker, error = %e, "lock renewal failed"),
            }
        }
    }

    async fn do_rebalance(&self) {
        if self.stop.is_cancelled() {
            return;
        }
        let subs: Vec<String> = self.subscriptions.lock().unwrap().keys().cloned().collect();
        let mut retry_soon = false;
        for topic in subs {
            let mqs = match self.instance.find_subscribe_queues(&topic).await {
                Ok(q) => q,
                Err(e) => {
                    debug!(%topic, error = %e, "no queues to rebalance");
                    continue;
                }
            };
            let mine: BTreeSet<MessageQueue> = match self.config.message_model {
                MessageModel::Broadcasting => mqs.iter().cloned().collect(),
                MessageModel::Clustering => {
                    let Some(addr) = self.instance.any_broker_addr_of(&topic) else {
                        continue;
                    };
                    let mut cids = match self
                        .instance
                        .api()
                        .get_consumer_id_list(&addr, &self.config.group)
                        .await
                    {
                        Ok(c) => c,
                        Err(e) => {
                            debug!(%topic, error = %e, "no consumer list");
                            continue;
                        }
                    };
                    cids.sort();
                    let mut all = mqs.to_vec();
                    all.sort();
                    self.config
                        .allocate
                        .allocate(self.instance.client_id(), &all, &cids)
                        .into_iter()
                        .collect()
                }
            };
            retry_soon |= self.update_process_queues(&topic, &mine).await;
        }
        if retry_soon && !self.stop.is_cancelled() {
            let weak = self.weak.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Some(i) = weak.upgrade() {
                    i.rebalance.notify_one();
                }
            });
        }
    }

    /// Drops queues no longer ours and starts the new ones; true when something must be
    /// retried soon (a lock not yet granted or a queue still busy).
    async fn update_process_queues(&self, topic: &str, mine: &BTreeSet<MessageQueue>) -> bool {
        let mut retry = false;
        let current: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .pqs
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m.topic == topic)
            .map(|(m, p)| (m.clone(), p.clone()))
            .collect();
        for (mq, pq) in &current {
            if !mine.contains(mq) {
                pq.set_dropped();
                if self.remove_unnecessary(mq, pq).await {
                    self.pqs.lock().unwrap().remove(mq);
                    info!(?mq, "queue released");
                } else {
                    retry = true;
                }
            }
        }
        for mq in mine {
            let existing = self.pqs.lock().unwrap().get(mq).cloned();
            if let Some(pq) = existing {
                if !pq.is_dropped() {
                    continue;
                }
                // Dropped earlier but ours again: start over with a fresh queue.
                self.pqs.lock().unwrap().remove(mq);
            }
            if self.orderly_clustering() && !self.lock(mq).await {
                debug!(?mq, "queue lock not granted yet");
                retry = true;
                continue;
            }
            self.offsets.remove_offset(mq);
            let offset = self.compute_pull_from_where(mq).await;
            if offset < 0 {
                warn!(?mq, "cannot compute the start offset; will retry");
                retry = true;
                continue;
            }
            let pq = Arc::new(ProcessQueue::default());
            if self.orderly_clustering() {
                pq.set_locked(true);
            }
            self.offsets.update_offset(mq, offset, false);
            self.pqs.lock().unwrap().insert(mq.clone(), pq.clone());
            info!(?mq, offset, "queue assigned");
            if let Some(me) = self.weak.upgrade() {
                tokio::spawn(pull_loop(me.clone(), mq.clone(), pq.clone(), offset));
                if self.listener.is_orderly() {
                    tokio::spawn(orderly_loop(me, mq.clone(), pq));
                }
            }
        }
        retry
    }

    async fn remove_unnecessary(&self, mq: &MessageQueue, pq: &Arc<ProcessQueue>) -> bool {
        if self.orderly_clustering() {
            let Ok(_guard) =
                tokio::time::timeout(Duration::from_secs(1), pq.consume_lock.lock()).await
            else {
                return false;
            };
            let _ = self.offsets.persist(mq).await;
            self.offsets.remove_offset(mq);
            self.unlock(mq).await;
            return true;
        }
        let _ = self.offsets.persist(mq).await;
        self.offsets.remove_offset(mq);
        true
    }

    async fn compute_pull_from_where(&self, mq: &MessageQueue) -> i64 {
        let last = self.offsets.read_offset(mq, ReadOffsetType::Store).await;
        if last >= 0 {
            return last;
        }
        if last != OFFSET_NONE {
            return -1;
        }
        let retry = mq.topic.starts_with("%RETRY%");
        let api = self.instance.api();
        let Ok(addr) = self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
        else {
            return -1;
        };
        match self.config.consume_from_where {
            ConsumeFromWhere::ConsumeFromFirstOffset | ConsumeFromWhere::ConsumeFromMinOffset => 0,
            ConsumeFromWhere::ConsumeFromTimestamp if !retry => api
                .search_offset(&addr, mq, self.config.consume_timestamp)
                .await
                .unwrap_or(-1),
            ConsumeFromWhere::ConsumeFromTimestamp => {
                api.get_max_offset(&addr, mq).await.unwrap_or(-1)
            }
            _ if retry => 0,
            _ => api.get_max_offset(&addr, mq).await.unwrap_or(-1),
        }
    }

    async fn shutdown(&self) {
        if self.shut.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop.cancel();
        let pqs: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .pqs
            .lock()
            .unwrap()
            .iter()
            .map(|(m, p)| (m.clone(), p.clone()))
            .collect();
        let slots = self.config.consume_thread_max.max(1) as u32;
        let _all = tokio::time::timeout(
            Duration::from_secs(10),
            self.consume_slots.acquire_many(slots),
        )
        .await;
        // Listener calls in flight have finished and recorded their offsets: now drop.
        for (_, pq) in &pqs {
            pq.set_dropped();
        }
        for (_, pq) in &pqs {
            let _ = tokio::time::timeout(Duration::from_secs(2), pq.consume_lock.lock()).await;
        }
        let mqs: Vec<MessageQueue> = pqs.iter().map(|(m, _)| m.clone()).collect();
        self.offsets.persist_all(&mqs, true).await;
        if self.orderly_clustering() {
            for mq in &mqs {
                self.unlock(mq).await;
            }
        }
        self.instance
            .unregister(None, Some(&self.config.group))
            .await;
        self.instance.shutdown();
        info!(group = %self.config.group, "push consumer stopped");
    }

    fn reset_retry_topic(&self, msgs: &mut [MessageExt]) {
        let rt = retry_topic(&self.config.group);
        for m in msgs {
            if m.topic == rt
                && let Some(t) = m.properties.get(properties::RETRY_TOPIC)
            {
                m.topic = t.to_owned();
            }
        }
    }

    async fn send_back(&self, mq: &MessageQueue, msg: &MessageExt) -> Result<()> {
        let addr = self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.config.group.clone(),
            delay_level: 0,
            origin_msg_id: Some(msg.msg_id()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(self.config.max_reconsume_times),
            bname: None,
        };
        self.instance
            .api()
            .consumer_send_msg_back(&addr, header)
            .await
    }
}

async fn pull_loop(inner: Arc<Inner>, mq: MessageQueue, pq: Arc<ProcessQueue>, mut offset: i64) {
    let cfg = &inner.config;
    loop {
        if pq.is_dropped() || inner.stop.is_cancelled() {
            return;
        }
        if pq.count() >= cfg.pull_threshold_for_queue {
            let freed = pq.space_freed.notified();
            tokio::select! {
                _ = freed => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = inner.stop.cancelled() => return,
            }
            continue;
        }
        let Some(sub) = inner.subscriptions.lock().unwrap().get(&mq.topic).cloned() else {
            return;
        };
        let addr = match inner
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                debug!(?mq, error = %e, "no broker address");
                if pause(&inner, cfg.pull_delay_on_exception).await {
                    return;
                }
                continue;
            }
        };
        let mut sys_flag = pull_sys_flag::SUSPEND;
        let mut commit_offset = 0;
        if inner.is_clustering() {
            let o = inner.offsets.read_offset(&mq, ReadOffsetType::Memory).await;
            if o > 0 {
                commit_offset = o;
                sys_flag |= pull_sys_flag::COMMIT_OFFSET;
            }
        }
        if cfg.post_subscription_when_pull {
            sys_flag |= pull_sys_flag::SUBSCRIPTION;
        }
        let header = PullMessageRequestHeader {
            consumer_group: cfg.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: cfg.pull_batch_size,
            sys_flag,
            commit_offset,
            suspend_timeout_millis: cfg.broker_suspend_max.as_millis() as i64,
            subscription: Some(sub.sub_string.clone()),
            sub_version: sub.sub_version,
            expression_type: Some(sub.expression_type.clone()),
            bname: None,
        };
        let result = tokio::select! {
            r = inner.instance.api().pull_message(&addr, header, cfg.pull_timeout) => r,
            _ = inner.stop.cancelled() => return,
        };
        if pq.is_dropped() {
            return;
        }
        match result {
            Ok(r) => {
                offset = r.next_begin_offset;
                match r.status {
                    PullStatus::Found => {
                        let mut msgs = filter_by_tags(r.messages, &sub);
                        if msgs.is_empty() {
                            if pq.count() == 0 {
                                inner.offsets.update_offset(&mq, offset, true);
                            }
                            continue;
                        }
                        inner.reset_retry_topic(&mut msgs);
                        pq.put(&msgs);
                        if let MessageListener::Concurrently(_) = inner.listener {
                            dispatch_concurrently(&inner, &mq, &pq, msgs);
                        }
                    }
                    PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                        if pq.count() == 0 {
                            inner.offsets.update_offset(&mq, offset, true);
                        }
                    }
                    PullStatus::OffsetIllegal => {
                        warn!(?mq, next = offset, "pull offset illegal; moving on");
                        inner.offsets.update_offset(&mq, offset, false);
                        let _ = inner.offsets.persist(&mq).await;
                    }
                }
            }
            Err(e) => {
                debug!(?mq, error = %e, "pull failed");
                if pause(&inner, cfg.pull_delay_on_exception).await {
                    return;
                }
            }
        }
        if !cfg.pull_interval.is_zero() && pause(&inner, cfg.pull_interval).await {
            return;
        }
    }
}

/// Sleeps unless stopped; true when stopped.
async fn pause(inner: &Inner, d: Duration) -> bool {
    tokio::select! {
        _ = inner.stop.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

fn dispatch_concurrently(
    inner: &Arc<Inner>,
    mq: &MessageQueue,
    pq: &Arc<ProcessQueue>,
    msgs: Vec<MessageExt>,
) {
    let size = inner.config.consume_message_batch_max_size.max(1);
    for chunk in msgs.chunks(size) {
        let (inner, mq, pq, chunk) = (inner.clone(), mq.clone(), pq.clone(), chunk.to_vec());
        tokio::spawn(async move { consume_concurrently(inner, mq, pq, chunk).await });
    }
}

async fn consume_concurrently(
    inner: Arc<Inner>,
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    msgs: Vec<MessageExt>,
) {
    let Ok(_permit) = inner.consume_slots.clone().acquire_owned().await else {
        return;
    };
    if pq.is_dropped() {
        return;
    }
    let MessageListener::Concurrently(listener) = &inner.listener else {
        return;
    };
    let ctx = ConsumeContext { queue: mq.clone() };
    let status = std::panic::AssertUnwindSafe(listener.consume_message(&msgs, &ctx))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            warn!(?mq, "listener panicked; messages will be consumed again");
            ConsumeConcurrentlyStatus::ReconsumeLater
        });
    let mut done = msgs.clone();
    if status == ConsumeConcurrentlyStatus::ReconsumeLater {
        if inner.is_clustering() {
            let mut failed = Vec::new();
            for m in &msgs {
                if let Err(e) = inner.send_back(&mq, m).await {
                    debug!(error = %e, "send back failed; consuming again locally");
                    failed.push(m.clone());
                }
            }
            done.retain(|m| !failed.iter().any(|f| f.queue_offset == m.queue_offset));
            if !failed.is_empty() {
                let (inner2, mq2, pq2) = (inner.clone(), mq.clone(), pq.clone());
                tokio::spawn(async move {
                    if !pause(&inner2, Duration::from_secs(5)).await {
                        dispatch_concurrently(&inner2, &mq2, &pq2, failed);
                    }
                });
            }
        } else {
            warn!(
                ?mq,
                count = msgs.len(),
                "broadcast messages failed and are dropped"
            );
        }
    }
    if let Some(next) = pq.remove(&done)
        && !pq.is_dropped()
    {
        inner.offsets.update_offset(&mq, next, true);
    }
}

async fn orderly_loop(inner: Arc<Inner>, mq: MessageQueue, pq: Arc<ProcessQueue>) {
    let MessageListener::Orderly(listener) = inner.listener.clone() else {
        return;
    };
    let ctx = ConsumeContext { queue: mq.clone() };
    loop {
        if pq.is_dropped() || inner.stop.is_cancelled() {
            return;
        }
        if pq.count() == 0 {
            tokio::select! {
                _ = pq.messages_added.notified() => {}
                _ = inner.stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        if inner.is_clustering() && !pq.is_locked() {
            let ok = inner.lock(&mq).await;
            pq.set_locked(ok);
            if !ok {
                if pause(&inner, Duration::from_millis(100)).await {
                    return;
                }
                continue;
            }
        }
        let guard = pq.consume_lock.lock().await;
        if pq.is_dropped() {
            return;
        }
        let msgs = pq.take(inner.config.consume_message_batch_max_size.max(1));
        if msgs.is_empty() {
            continue;
        }
        let status = std::panic::AssertUnwindSafe(listener.consume_message(&msgs, &ctx))
            .catch_unwind()
            .await
            .unwrap_or(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment);
        match status {
            ConsumeOrderlyStatus::Success => {
                if let Some(next) = pq.commit() {
                    inner.offsets.update_offset(&mq, next, false);
                }
                drop(guard);
            }
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => {
                pq.rollback();
                drop(guard);
                if pause(&inner, inner.config.suspend_current_queue_time).await {
                    return;
                }
            }
        }
    }
}

#[async_trait]
impl ConsumerHandle for Inner {
    fn group(&self) -> String {
        self.config.group.clone()
    }

    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.config.consume_from_where,
            consume_type: ConsumeType::ConsumePassively,
            group_name: self.config.group.clone(),
            message_model: self.config.message_model,
            subscription_data_set: self
                .subscriptions
                .lock()
                .unwrap()
                .values()
                .cloned()
                .collect(),
            unit_mode: false,
        }
    }

    fn subscribed_topics(&self) -> Vec<String> {
        self.subscriptions.lock().unwrap().keys().cloned().collect()
    }

    fn rebalance_now(&self) {
        self.rebalance.notify_one();
    }

    async fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        for (mq, offset) in offsets.iter().filter(|(m, _)| m.topic == topic) {
            let pq = self.pqs.lock().unwrap().remove(mq);
            if let Some(pq) = pq {
                pq.set_dropped();
                let _ = pq.consume_lock.lock().await;
            }
            self.offsets.update_offset(mq, *offset, false);
            if let Err(e) = self.offsets.persist(mq).await {
                warn!(?mq, error = %e, "cannot store the reset offset");
            }
            if self.orderly_clustering() {
                self.unlock(mq).await;
            }
        }
        info!(%topic, queues = offsets.len(), "offsets reset");
        self.rebalance.notify_one();
    }

    async fn consume_directly(&self, message: MessageExt, broker_name: &str) -> serde_json::Value {
        let ctx = ConsumeContext {
            queue: MessageQueue {
                topic: message.topic.clone(),
                broker_name: broker_name.to_owned(),
                queue_id: message.queue_id,
            },
        };
        let started = std::time::Instant::now();
        let msgs = [message];
        let (result, order) = match &self.listener {
            MessageListener::Concurrently(l) => {
                let r = std::panic::AssertUnwindSafe(l.consume_message(&msgs, &ctx))
                    .catch_unwind()
                    .await;
                let name = match r {
                    Ok(ConsumeConcurrentlyStatus::ConsumeSuccess) => "CR_SUCCESS",
                    Ok(ConsumeConcurrentlyStatus::ReconsumeLater) => "CR_LATER",
                    Err(_) => "CR_THROW_EXCEPTION",
                };
                (name, false)
            }
            MessageListener::Orderly(l) => {
                let r = std::panic::AssertUnwindSafe(l.consume_message(&msgs, &ctx))
                    .catch_unwind()
                    .await;
                let name = match r {
                    Ok(ConsumeOrderlyStatus::Success) => "CR_SUCCESS",
                    Ok(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment) => "CR_LATER",
                    Err(_) => "CR_THROW_EXCEPTION",
                };
                (name, true)
            }
        };
        serde_json::json!({
            "autoCommit": true,
            "consumeResult": result,
            "order": order,
            "spentTimeMills": started.elapsed().as_millis() as i64,
        })
    }

    fn running_info(&self) -> serde_json::Value {
        let subs: Vec<_> = self
            .subscriptions
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect();
        let mqs: Vec<_> = self.pqs.lock().unwrap().keys().cloned().collect();
        serde_json::json!({
            "properties": {
                "consumerGroup": self.config.group,
                "messageModel": self.config.message_model.name(),
                "consumeType": "CONSUME_PASSIVELY",
                "consumeOrderly": self.listener.is_orderly().to_string(),
                "allocateMessageQueueStrategy": self.config.allocate.name(),
            },
            "subscriptionSet": subs,
            "assignedQueues": mqs,
        })
    }
}
