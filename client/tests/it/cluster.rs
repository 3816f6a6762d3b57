//! A name server and one broker started in-process on free ports, with their data in a
//! temporary directory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker::{Broker, BrokerStartupConfig};
use client::admin::Admin;
use client::consumer::PullConsumer;
use client::{ClientConfig, MessageExt, MessageQueue};
use namesrv::{Namesrv, NamesrvConfig};
use remoting::protocol::body::TopicConfig;

/// A running name server + broker.
pub struct Cluster {
    pub namesrv: Option<Namesrv>,
    pub broker: Option<Broker>,
    pub ns_addr: String,
    pub broker_addr: String,
    pub dir: tempfile::TempDir,
}

pub const BROKER_NAME: &str = "broker-a";
pub const CLUSTER: &str = "DefaultCluster";

impl Cluster {
    pub async fn start() -> Cluster {
        Self::start_with(&[]).await
    }

    /// A cluster whose broker gets `extra` broker.conf keys on top of the defaults.
    pub async fn start_with(extra: &[(&str, &str)]) -> Cluster {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let ns_cfg = NamesrvConfig {
            listen_port: 0,
            listen_host: "127.0.0.1".into(),
            kv_config_path: dir.path().join("kv.json").display().to_string(),
            config_store_path: dir.path().join("namesrv.properties").display().to_string(),
            ..Default::default()
        };
        let namesrv = Namesrv::start(ns_cfg).await.unwrap();
        let ns_addr = namesrv.local_addr().to_string();
        let broker = Self::start_broker(&ns_addr, dir.path(), BROKER_NAME, extra).await;
        let broker_addr = format!("127.0.0.1:{}", broker.local_addr().port());
        let c = Cluster {
            namesrv: Some(namesrv),
            broker: Some(broker),
            ns_addr,
            broker_addr,
            dir,
        };
        c.wait_route("TBW102").await;
        c
    }

    /// Starts another broker of the same cluster, registered with this name server.
    pub async fn add_broker(&self, name: &str) -> Broker {
        Self::start_broker(&self.ns_addr, &self.dir.path().join(name), name, &[]).await
    }

    async fn start_broker(
        ns_addr: &str,
        dir: &std::path::Path,
        name: &str,
        extra: &[(&str, &str)],
    ) -> Broker {
        let mut cfg = BrokerStartupConfig::default();
        let props: BTreeMap<String, String> = [
            ("brokerName", name),
            ("brokerClusterName", CLUSTER),
            ("brokerIP1", "127.0.0.1"),
            ("listenPort", "0"),
            ("namesrvAddr", ns_addr),
            ("flushDiskType", "ASYNC_FLUSH"),
            ("mappedFileSizeCommitLog", "67108864"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        cfg.apply(&props).unwrap();
        cfg.store.store_path_root_dir = dir.join("store");
        Broker::start(cfg).await.unwrap()
    }

    /// Client settings pointing at this cluster, with short intervals.
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new(self.ns_addr.clone());
        c.client_ip = "127.0.0.1".into();
        c.persist_consumer_offset_interval = Duration::from_millis(500);
        c
    }

    pub fn admin(&self) -> Admin {
        Admin::new(self.client())
    }

    /// Waits (bounded) until the name server routes `topic`.
    pub async fn wait_route(&self, topic: &str) {
        let admin = self.admin();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if admin.topic_route(topic).await.is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "no route for {topic}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a topic with `queues` read/write queues and waits for its route.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        self.admin()
            .create_topic(&self.broker_addr, &TopicConfig::new(topic, queues))
            .await
            .unwrap();
        self.wait_route(topic).await;
    }

    pub async fn shutdown(mut self) {
        if let Some(b) = self.broker.take() {
            b.shutdown().await;
        }
        if let Some(n) = self.namesrv.take() {
            n.shutdown().await;
        }
    }

    /// Every message of `topic` (all queues, from offset 0) via a pull consumer.
    pub async fn pull_all(&self, topic: &str) -> Vec<MessageExt> {
        let pc = PullConsumer::start(self.client(), "it_reader");
        let mut out = Vec::new();
        for mq in pc.fetch_subscribe_message_queues(topic).await.unwrap() {
            out.extend(pull_queue(&pc, &mq).await);
        }
        pc.shutdown();
        out
    }
}

pub async fn pull_queue(pc: &PullConsumer, mq: &MessageQueue) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let r = pc.pull(mq, "*", offset, 32).await.unwrap();
        if r.messages.is_empty() {
            return out;
        }
        offset = r.next_begin_offset;
        out.extend(r.messages);
    }
}

/// A record of consumed messages shared with listeners, with a notification per change.
#[derive(Clone, Default)]
pub struct Received {
    pub log: Arc<Mutex<Vec<(String, MessageExt)>>>,
    pub changed: Arc<tokio::sync::Notify>,
}

impl Received {
    pub fn push(&self, who: &str, m: &MessageExt) {
        self.log.lock().unwrap().push((who.to_owned(), m.clone()));
        self.changed.notify_waiters();
    }

    pub fn len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Waits until `pred` holds on the log, or panics after `limit`.
    pub async fn wait_until<F: Fn(&[(String, MessageExt)]) -> bool>(
        &self,
        limit: Duration,
        what: &str,
        pred: F,
    ) {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if pred(&self.log.lock().unwrap()) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what} ({} consumed)",
                self.len()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
        }
    }
}

/// Waits (bounded) until `cond` is true, polling.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
