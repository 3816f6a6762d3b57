//! A name server on an ephemeral port and a fake broker that registers with it.

#![allow(dead_code)]

use std::time::Duration;

use namesrv::{Namesrv, NamesrvConfig};
use remoting::RemotingCommand;
use remoting::client::{ClientConfig, RemotingClient};
use remoting::protocol::RequestCode;
use remoting::protocol::body::{DataVersion, RegisterBrokerBody, TopicConfig};
use remoting::protocol::header::RegisterBrokerRequestHeader;

pub const T: Duration = Duration::from_secs(5);

pub struct TestNamesrv {
    pub srv: Namesrv,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

pub fn config_in(dir: &std::path::Path) -> NamesrvConfig {
    NamesrvConfig {
        listen_port: 0,
        listen_host: "127.0.0.1".into(),
        kv_config_path: dir.join("kvConfig.json").display().to_string(),
        config_store_path: dir.join("namesrv.properties").display().to_string(),
        ..Default::default()
    }
}

pub async fn start_with(f: impl FnOnce(&mut NamesrvConfig)) -> TestNamesrv {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    f(&mut config);
    let srv = Namesrv::start(config).await.unwrap();
    let addr = srv.local_addr().to_string();
    TestNamesrv { srv, addr, dir }
}

pub async fn start() -> TestNamesrv {
    start_with(|_| {}).await
}

/// A broker that speaks REGISTER_BROKER like Apache's broker does.
pub struct FakeBroker {
    pub client: RemotingClient,
    pub cluster: String,
    pub name: String,
    pub id: i64,
    pub addr: String,
    pub ha_addr: String,
    pub body: RegisterBrokerBody,
}

impl FakeBroker {
    pub fn new(name: &str, id: i64, addr: &str, topics: &[(&str, i32)]) -> Self {
        let mut body = RegisterBrokerBody::default();
        body.topic_config_serialize_wrapper.data_version = DataVersion {
            counter: 1,
            timestamp: 1700000000000,
        };
        for (t, q) in topics {
            body.topic_config_serialize_wrapper
                .topic_config_table
                .insert(t.to_string(), TopicConfig::new(*t, *q));
        }
        let host = addr.rsplit_once(':').unwrap().0;
        FakeBroker {
            client: RemotingClient::new(ClientConfig::default()),
            cluster: "DefaultCluster".into(),
            name: name.into(),
            id,
            addr: addr.into(),
            ha_addr: format!("{host}:10912"),
            body,
        }
    }

    pub fn request(&self, compressed: bool) -> RemotingCommand {
        let body = self.body.encode(compressed);
        let header = RegisterBrokerRequestHeader {
            broker_name: self.name.clone(),
            broker_addr: self.addr.clone(),
            cluster_name: self.cluster.clone(),
            ha_server_addr: self.ha_addr.clone(),
            broker_id: self.id,
            compressed: Some(compressed),
            body_crc32: Some((crc32fast::hash(&body) & 0x7FFF_FFFF) as i32),
        };
        RemotingCommand::request_with_header(RequestCode::RegisterBroker, &header).with_body(body)
    }

    pub async fn register(&self, ns: &str) -> RemotingCommand {
        self.client
            .invoke(ns, self.request(false), T)
            .await
            .unwrap()
    }
}

pub async fn call(ns: &str, cmd: RemotingCommand) -> RemotingCommand {
    RemotingClient::new(ClientConfig::default())
        .invoke(ns, cmd, T)
        .await
        .unwrap()
}

pub fn route_request(topic: &str, version: i32) -> RemotingCommand {
    let mut r =
        RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic).with_ext("topic", topic);
    r.version = version;
    r
}
