//! The producer (Apache `DefaultMQProducer`): sync, async (callback) and oneway sends, to a
//! chosen queue or through a selector, batches, retries across brokers with the latency
//! fault strategy, and auto-creation through the default topic's route.

mod fault;
mod result;
mod selector;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use remoting::message::{properties, sysflag};
use remoting::protocol::body::MessageQueue;
use remoting::protocol::header::SendMessageRequestHeader;
use tracing::debug;

pub use fault::{FaultStrategy, not_available_duration};
pub use result::{SendResult, SendStatus};
pub use selector::{MessageQueueSelector, SelectByHash};

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::{Message, encode_batch};
use crate::route::TopicPublishInfo;

/// Response codes after which a send is retried on another broker
/// (Apache `DefaultMQProducer.retryResponseCodes`).
pub const RETRY_RESPONSE_CODES: [i32; 6] = [17, 14, 1, 16, 204, 205];

/// Producer settings (Apache `DefaultMQProducer` fields).
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Producer group.
    pub group: String,
    /// Timeout of one send attempt.
    pub send_timeout: Duration,
    /// Extra attempts of a sync or async send after a failure.
    pub retry_times_when_send_failed: u32,
    /// Also retry when the broker stored the message but not as well as asked
    /// (flush or slave timeout).
    pub retry_another_broker_when_not_store_ok: bool,
    /// Largest body accepted, bytes.
    pub max_message_size: usize,
    /// Bodies at least this large are zlib-compressed.
    pub compress_msg_body_over_howmuch: usize,
    /// Queues per broker of an auto-created topic.
    pub default_topic_queue_nums: i32,
    /// Topic whose route is used to auto-create topics.
    pub create_topic_key: String,
    /// Avoid slow or failing brokers for a while.
    pub send_latency_fault_enable: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            group: "DEFAULT_PRODUCER".into(),
            send_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            max_message_size: 4 * 1024 * 1024,
            compress_msg_body_over_howmuch: 4096,
            default_topic_queue_nums: 4,
            create_topic_key: "TBW102".into(),
            send_latency_fault_enable: true,
        }
    }
}

/// How a send waits for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Oneway,
}

/// A started producer. Cheap to clone; clones share the instance.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    config: ProducerConfig,
    instance: Arc<ClientInstance>,
    fault: FaultStrategy,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Producer {
    /// Starts a producer on a new client instance.
    pub async fn start(client: ClientConfig, config: ProducerConfig) -> Result<Producer> {
        let instance = ClientInstance::new(client);
        Self::start_on(instance, config).await
    }

    /// Starts a producer on an existing client instance.
    pub async fn start_on(
        instance: Arc<ClientInstance>,
        config: ProducerConfig,
    ) -> Result<Producer> {
        if config.group.is_empty() {
            return Err(ClientError::Invalid("producer group is empty".into()));
        }
        instance.register_producer(&config.group);
        instance.start();
        Ok(Producer {
            inner: Arc::new(Inner {
                fault: FaultStrategy::new(config.send_latency_fault_enable),
                config,
                instance,
            }),
        })
    }

    /// The client instance.
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    /// The settings.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// The writable queues of `topic`.
    pub async fn fetch_publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        Ok(self.publish_info(topic).await?.queues.clone())
    }

    async fn publish_info(&self, topic: &str) -> Result<Arc<TopicPublishInfo>> {
        let c = &self.inner.config;
        self.inner
            .instance
            .find_publish_info(topic, &c.create_topic_key, c.default_topic_queue_nums)
            .await
    }

    fn check(&self, msg: &Message) -> Result<()> {
        if msg.topic.is_empty() || msg.topic.len() > 127 {
            return Err(ClientError::Invalid(format!("bad topic {:?}", msg.topic)));
        }
        if !msg
            .topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"%|_-".contains(&b))
        {
            return Err(ClientError::Invalid(format!(
                "topic {:?} has characters outside [%|a-zA-Z0-9_-]",
                msg.topic
            )));
        }
        if msg.body.is_empty() {
            return Err(ClientError::Invalid("message body is empty".into()));
        }
        if msg.body.len() > self.inner.config.max_message_size {
            return Err(ClientError::Invalid(format!(
                "message body of {} bytes exceeds the maximum of {}",
                msg.body.len(),
                self.inner.config.max_message_size
            )));
        }
        Ok(())
    }

    /// Sends and waits for the broker's answer, retrying on other brokers after failures.
    pub async fn send(&self, msg: Message) -> Result<SendResult> {
        self.send_default(msg, Mode::Sync)
            .await
            .map(|r| r.expect("sync send has a result"))
    }

    /// Sends without waiting for any answer (no retries).
    pub async fn send_oneway(&self, msg: Message) -> Result<()> {
        self.send_default(msg, Mode::Oneway).await.map(drop)
    }

    /// Sends in the background and calls `callback` with the outcome (Apache's async send,
    /// with the same retries as a sync send).
    pub fn send_with_callback<F>(&self, msg: Message, callback: F)
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let this = self.clone();
        tokio::spawn(async move { callback(this.send(msg).await) });
    }

    /// Sends to the given queue (no retries on other queues).
    pub async fn send_to_queue(&self, mut msg: Message, mq: &MessageQueue) -> Result<SendResult> {
        self.check(&msg)?;
        if mq.topic != msg.topic {
            return Err(ClientError::Invalid(format!(
                "queue topic {} differs from message topic {}",
                mq.topic, msg.topic
            )));
        }
        msg.ensure_unique_key();
        let (body, flag) = self.prepare_body(&msg);
        let r = self
            .send_kernel(&msg, body, flag, mq, false, Mode::Sync)
            .await?;
        Ok(r.expect("sync send has a result"))
    }

    /// Sends to the queue `selector` picks among the topic's writable queues (ordered
    /// messages: the same sharding key always lands on the same queue).
    pub async fn send_with_selector<S, A>(
        &self,
        msg: Message,
        selector: &S,
        arg: &A,
    ) -> Result<SendResult>
    where
        S: MessageQueueSelector<A> + ?Sized,
        A: ?Sized,
    {
        self.check(&msg)?;
        let info = self.publish_info(&msg.topic).await?;
        let mq = selector
            .select(&info.queues, &msg, arg)
            .ok_or_else(|| ClientError::Invalid("selector returned no queue".into()))?;
        self.send_to_queue(msg, &mq).await
    }

    /// Sends several messages of one topic as one SEND_BATCH_MESSAGE; they get consecutive
    /// offsets in one queue.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult> {
        let first = msgs
            .first()
            .ok_or_else(|| ClientError::Invalid("empty batch".into()))?;
        let topic = first.topic.clone();
        let mut msgs = msgs;
        let mut ids = Vec::with_capacity(msgs.len());
        for m in &mut msgs {
            self.check(m)?;
            if m.topic != topic {
                return Err(ClientError::Invalid(
                    "a batch must have a single topic".into(),
                ));
            }
            if m.topic.starts_with("%RETRY%") {
                return Err(ClientError::Invalid(
                    "retry topics cannot be batched".into(),
                ));
            }
            if m.properties.get(properties::DELAY).is_some() {
                return Err(ClientError::Invalid(
                    "delayed messages cannot be batched".into(),
                ));
            }
            ids.push(m.ensure_unique_key());
        }
        let body = encode_batch(&msgs);
        if body.len() > self.inner.config.max_message_size {
            return Err(ClientError::Invalid(format!(
                "batch of {} bytes exceeds the maximum of {}",
                body.len(),
                self.inner.config.max_message_size
            )));
        }
        let mut batch = Message::new(topic, body.clone());
        batch.properties.insert(properties::WAIT, "true");
        batch.properties.insert(properties::UNIQ_KEY, ids.join(","));
        let mut r = self.send_loop(&batch, body, 0, true).await?;
        r.msg_id = ids.join(",");
        Ok(r)
    }

    /// Extension point for transactional producers: a sync send with extra message sysflag
    /// bits (e.g. `sysflag::TRANSACTION_PREPARED_TYPE` for a half message); the caller sets
    /// `TRAN_MSG` / `PGROUP` properties and later sends END_TRANSACTION to
    /// [`SendResult::queue`]'s broker.
    pub async fn send_with_sys_flag(&self, mut msg: Message, sys_flag: i32) -> Result<SendResult> {
        self.check(&msg)?;
        msg.ensure_unique_key();
        let (body, flag) = self.prepare_body(&msg);
        self.send_loop(&msg, body, flag | sys_flag, false).await
    }

    async fn send_default(&self, mut msg: Message, mode: Mode) -> Result<Option<SendResult>> {
        self.check(&msg)?;
        msg.ensure_unique_key();
        let (body, flag) = self.prepare_body(&msg);
        if mode == Mode::Oneway {
            let info = self.publish_info(&msg.topic).await?;
            let mq = self
                .inner
                .fault
                .select(&info, None, Instant::now())
                .ok_or_else(|| ClientError::NoRoute(msg.topic.clone()))?;
            return self.send_kernel(&msg, body, flag, &mq, false, mode).await;
        }
        self.send_loop(&msg, body, flag, false).await.map(Some)
    }

    async fn send_loop(
        &self,
        msg: &Message,
        body: Bytes,
        flag: i32,
        batch: bool,
    ) -> Result<SendResult> {
        let info = self.publish_info(&msg.topic).await?;
        let attempts = 1 + self.inner.config.retry_times_when_send_failed;
        let mut last_broker: Option<String> = None;
        let mut last_err = None;
        for attempt in 0..attempts {
            let Some(mq) = self
                .inner
                .fault
                .select(&info, last_broker.as_deref(), Instant::now())
            else {
                break;
            };
            last_broker = Some(mq.broker_name.clone());
            let started = Instant::now();
            match self
                .send_kernel(msg, body.clone(), flag, &mq, batch, Mode::Sync)
                .await
            {
                Ok(Some(r)) => {
                    self.inner.fault.update(
                        &mq.broker_name,
                        started.elapsed(),
                        false,
                        Instant::now(),
                    );
                    if r.status != SendStatus::SendOk
                        && self.inner.config.retry_another_broker_when_not_store_ok
                        && attempt + 1 < attempts
                    {
                        continue;
                    }
                    return Ok(r);
                }
                Ok(None) => unreachable!("sync send returns a result"),
                Err(e) => {
                    let retry = match &e {
                        ClientError::Remoting(_) | ClientError::NoBrokerAddr(_) => {
                            self.inner.fault.update(
                                &mq.broker_name,
                                started.elapsed(),
                                true,
                                Instant::now(),
                            );
                            true
                        }
                        ClientError::Broker { code, .. } => {
                            self.inner.fault.update(
                                &mq.broker_name,
                                started.elapsed(),
                                true,
                                Instant::now(),
                            );
                            RETRY_RESPONSE_CODES.contains(code)
                        }
                        _ => false,
                    };
                    debug!(attempt, broker = %mq.broker_name, error = %e, "send attempt failed");
                    if !retry {
                        return Err(e);
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| ClientError::NoRoute(msg.topic.clone())))
    }

    /// The body to send and the sysflag: zlib-compressed above the threshold.
    fn prepare_body(&self, msg: &Message) -> (Bytes, i32) {
        if msg.body.len() < self.inner.config.compress_msg_body_over_howmuch {
            return (msg.body.clone(), 0);
        }
        use std::io::Write;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
        if enc.write_all(&msg.body).is_ok()
            && let Ok(out) = enc.finish()
            && out.len() < msg.body.len()
        {
            return (Bytes::from(out), sysflag::COMPRESSED | 0x300);
        }
        (msg.body.clone(), 0)
    }

    async fn send_kernel(
        &self,
        msg: &Message,
        body: Bytes,
        sys_flag: i32,
        mq: &MessageQueue,
        batch: bool,
        mode: Mode,
    ) -> Result<Option<SendResult>> {
        let instance = &self.inner.instance;
        let addr = instance
            .find_master_addr(&mq.broker_name, &msg.topic)
            .await?;
        let mut props = msg.properties.clone();
        if batch {
            props.remove(properties::UNIQ_KEY);
        }
        let retry = msg.topic.starts_with("%RETRY%");
        let header = SendMessageRequestHeader {
            producer_group: self.inner.config.group.clone(),
            topic: msg.topic.clone(),
            default_topic: self.inner.config.create_topic_key.clone(),
            default_topic_queue_nums: self.inner.config.default_topic_queue_nums,
            queue_id: mq.queue_id,
            sys_flag,
            born_timestamp: now_ms(),
            flag: msg.flag,
            properties: Some(properties::encode(&props)),
            reconsume_times: Some(
                props
                    .get(properties::RECONSUME_TIME)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            ),
            unit_mode: Some(false),
            batch: Some(batch),
            max_reconsume_times: if retry {
                props
                    .get(properties::MAX_RECONSUME_TIMES)
                    .and_then(|v| v.parse().ok())
            } else {
                None
            },
            bname: Some(mq.broker_name.clone()),
        };
        let api = instance.api();
        if mode == Mode::Oneway {
            api.send_message_oneway(&addr, header, body).await?;
            return Ok(None);
        }
        let resp = api
            .send_message(&addr, header, body, self.inner.config.send_timeout)
            .await?;
        Ok(Some(SendResult::from_response(
            resp,
            mq,
            msg.unique_key().unwrap_or_default(),
        )))
    }

    /// Unregisters the group from the brokers and stops the instance.
    pub async fn shutdown(&self) {
        let i = &self.inner.instance;
        i.unregister(Some(&self.inner.config.group), None).await;
        i.shutdown();
    }
}
