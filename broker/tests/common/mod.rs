//! An in-process name server and broker on ephemeral ports, and a client to drive them.

#![allow(dead_code)]

use std::time::Duration;

use broker::{Broker, BrokerStartupConfig};
use bytes::Bytes;
use namesrv::{Namesrv, NamesrvConfig};
use remoting::RemotingCommand;
use remoting::client::{ClientConfig, RemotingClient};
use remoting::message::{MessageExt, Properties, decode_records, properties};
use remoting::protocol::RequestCode;
use remoting::protocol::header::{
    PullMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2, pull_sys_flag,
};

pub const T: Duration = Duration::from_secs(10);

pub struct Cluster {
    pub ns: Namesrv,
    pub broker: Option<Broker>,
    pub dir: tempfile::TempDir,
    pub client: RemotingClient,
    pub broker_addr: String,
}

pub fn broker_config(dir: &std::path::Path, ns: &str) -> BrokerStartupConfig {
    let mut c = BrokerStartupConfig::default();
    let props = [
        ("brokerName", "broker-t"),
        ("brokerIP1", "127.0.0.1"),
        ("brokerIP2", "127.0.0.1"),
        ("listenHost", "127.0.0.1"),
        ("listenPort", "0"),
        ("mapedFileSizeCommitLog", "16777216"),
        ("mapedFileSizeConsumeQueue", "60000"),
        ("maxHashSlotNum", "1000"),
        ("maxIndexNum", "4000"),
    ];
    let map = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    c.apply(&map).unwrap();
    c.store.store_path_root_dir = dir.join("store");
    c.broker.namesrv_addr = ns.into();
    c
}

impl Cluster {
    pub async fn start() -> Cluster {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut BrokerStartupConfig)) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ns = Namesrv::start(NamesrvConfig {
            listen_port: 0,
            listen_host: "127.0.0.1".into(),
            kv_config_path: dir.path().join("kv.json").display().to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut config = broker_config(dir.path(), &ns.local_addr().to_string());
        f(&mut config);
        let broker = Broker::start(config).await.unwrap();
        let broker_addr = broker.local_addr().to_string();
        Cluster {
            ns,
            broker: Some(broker),
            dir,
            client: RemotingClient::new(ClientConfig::default()),
            broker_addr,
        }
    }

    /// Graceful restart on the same store and port-0 (a new port).
    pub async fn restart(&mut self) {
        self.broker.take().unwrap().shutdown().await;
        let config = broker_config(self.dir.path(), &self.ns.local_addr().to_string());
        let b = Broker::start(config).await.unwrap();
        self.broker_addr = b.local_addr().to_string();
        self.broker = Some(b);
    }

    /// Waits until everything appended so far is in the consume queues and the index.
    pub async fn dispatched(&self) {
        let store = &self.broker.as_ref().unwrap().context().store;
        store
            .wait_dispatched(store.get_max_phy_offset() as u64)
            .await;
    }

    pub async fn call(&self, cmd: RemotingCommand) -> RemotingCommand {
        self.client.invoke(&self.broker_addr, cmd, T).await.unwrap()
    }

    pub async fn send(
        &self,
        topic: &str,
        queue_id: i32,
        body: &[u8],
        tags: Option<&str>,
        keys: Option<&str>,
    ) -> RemotingCommand {
        let mut p = Properties::new();
        if let Some(t) = tags {
            p.insert(properties::TAGS, t);
        }
        if let Some(k) = keys {
            p.insert(properties::KEYS, k);
        }
        self.call(send_request(topic, queue_id, body, &p)).await
    }

    pub async fn pull(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        sub: &str,
        suspend_ms: i64,
    ) -> (RemotingCommand, Vec<MessageExt>) {
        let r = self
            .client
            .invoke(
                &self.broker_addr,
                pull_request(group, topic, queue_id, offset, sub, suspend_ms),
                T + Duration::from_millis(suspend_ms as u64),
            )
            .await
            .unwrap();
        let msgs = match &r.body {
            Some(b) if r.code == 0 => decode_records(b).unwrap(),
            _ => Vec::new(),
        };
        (r, msgs)
    }
}

pub fn send_request(
    topic: &str,
    queue_id: i32,
    body: &[u8],
    props: &Properties,
) -> RemotingCommand {
    let h = SendMessageRequestHeader {
        producer_group: "PG_TEST".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: broker::context::now_millis(),
        flag: 0,
        properties: Some(properties::encode(props)),
        ..Default::default()
    };
    RemotingCommand::request_with_header(
        RequestCode::SendMessageV2,
        &SendMessageRequestHeaderV2::from_v1(h),
    )
    .with_body(Bytes::copy_from_slice(body))
}

pub fn pull_request(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    sub: &str,
    suspend_ms: i64,
) -> RemotingCommand {
    let mut flag = pull_sys_flag::SUBSCRIPTION;
    if suspend_ms > 0 {
        flag |= pull_sys_flag::SUSPEND;
    }
    RemotingCommand::request_with_header(
        RequestCode::PullMessage,
        &PullMessageRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: flag,
            commit_offset: 0,
            suspend_timeout_millis: suspend_ms,
            subscription: Some(sub.into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            bname: None,
        },
    )
}
