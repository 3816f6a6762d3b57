//! The remoting-based admin against the project's real name server (in process) and a stub broker.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use namesrv::{Namesrv, NamesrvConfig};
use remoting::{
    Connection, RemotingCommand, RequestHandler,
    client::{ClientConfig, RemotingClient},
    protocol::{
        RequestCode, ResponseCode,
        body::{
            self, ConsumeStats, DataVersion, MessageQueue, OffsetWrapper, RegisterBrokerBody,
            TopicConfig, TopicRouteData,
        },
        header::{GetConsumeStatsRequestHeader, RegisterBrokerRequestHeader},
    },
    server::{RemotingServer, Router, ServerConfig},
};
use rocketmq_operator::{
    admin::{AdminError, RocketMqAdmin},
    remote_admin::RemotingAdmin,
};

const T: Duration = Duration::from_secs(5);

async fn start_namesrv(dir: &std::path::Path) -> (Namesrv, String) {
    let config = NamesrvConfig {
        listen_port: 0,
        listen_host: "127.0.0.1".into(),
        kv_config_path: dir.join("kvConfig.json").display().to_string(),
        config_store_path: dir.join("namesrv.properties").display().to_string(),
        ..Default::default()
    };
    let srv = Namesrv::start(config).await.unwrap();
    let addr = srv.local_addr().to_string();
    (srv, addr)
}

/// Registers a broker the way a broker does (REGISTER_BROKER with topic configs).
async fn register(
    client: &RemotingClient,
    ns: &str,
    name: &str,
    id: i64,
    addr: &str,
    topics: &[&str],
) {
    let mut b = RegisterBrokerBody::default();
    b.topic_config_serialize_wrapper.data_version = DataVersion {
        counter: 1,
        timestamp: 1_700_000_000_000,
    };
    for t in topics {
        b.topic_config_serialize_wrapper
            .topic_config_table
            .insert(t.to_string(), TopicConfig::new(*t, 4));
    }
    let body = b.encode(false);
    let header = RegisterBrokerRequestHeader {
        broker_name: name.into(),
        broker_addr: addr.into(),
        cluster_name: "sync".into(),
        ha_server_addr: addr.replace(":10911", ":10912"),
        broker_id: id,
        compressed: Some(false),
        body_crc32: Some((crc32fast::hash(&body) & 0x7FFF_FFFF) as i32),
    };
    let req =
        RemotingCommand::request_with_header(RequestCode::RegisterBroker, &header).with_body(body);
    let resp = client.invoke(ns, req, T).await.unwrap();
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
}

async fn topic_perm(client: &RemotingClient, ns: &str, topic: &str) -> i32 {
    let req =
        RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic).with_ext("topic", topic);
    let resp = client.invoke(ns, req, T).await.unwrap();
    let route: TopicRouteData = body::from_json(resp.body.as_deref().unwrap()).unwrap();
    route.queue_datas[0].perm
}

#[tokio::test]
async fn cluster_info_and_write_permission_against_the_real_name_server() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, ns) = start_namesrv(dir.path()).await;
    let client = RemotingClient::new(ClientConfig::default());
    register(
        &client,
        &ns,
        "sync-broker-0",
        0,
        "10.0.0.1:10911",
        &["TopicA", "TopicB"],
    )
    .await;
    register(
        &client,
        &ns,
        "sync-broker-0",
        1,
        "10.0.0.2:10911",
        &["TopicA", "TopicB"],
    )
    .await;
    register(
        &client,
        &ns,
        "sync-broker-1",
        0,
        "10.0.0.3:10911",
        &["TopicA"],
    )
    .await;

    let admin = RemotingAdmin::new(T);
    let view = admin.cluster_info(&ns).await.unwrap();
    assert_eq!(
        view.brokers["sync-broker-0"],
        BTreeMap::from([
            (0, "10.0.0.1:10911".to_string()),
            (1, "10.0.0.2:10911".to_string())
        ])
    );
    assert_eq!(
        view.brokers["sync-broker-1"]
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [0]
    );
    assert!(view.clusters["sync"].contains("sync-broker-1"));

    let before = topic_perm(&client, &ns, "TopicB").await;
    assert_ne!(before & 2, 0, "writable before the wipe");
    let wiped = admin.wipe_write_perm(&ns, "sync-broker-0").await.unwrap();
    assert_eq!(wiped, 2, "TopicA and TopicB on sync-broker-0");
    assert_eq!(
        topic_perm(&client, &ns, "TopicB").await & 2,
        0,
        "read-only after the wipe"
    );

    let restored = admin.add_write_perm(&ns, "sync-broker-0").await.unwrap();
    assert_eq!(restored, 2);
    assert_ne!(topic_perm(&client, &ns, "TopicB").await & 2, 0);
    srv.shutdown().await;
}

#[tokio::test]
async fn unreachable_name_server_is_an_error_not_a_hang() {
    let admin = RemotingAdmin::new(Duration::from_millis(500));
    let err = admin.cluster_info("127.0.0.1:1").await.unwrap_err();
    assert!(matches!(err, AdminError::Unreachable { .. }), "{err:?}");
}

/// A broker that knows three consumer groups: g1 lags 40, g2 lags 5, g3 has no offsets here.
struct StubBroker;

#[async_trait]
impl RequestHandler for StubBroker {
    async fn handle(&self, _conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        if req.code == RequestCode::GetAllSubscriptiongroupConfig.code() {
            let body = br#"{"dataVersion":{"counter":1,"timestamp":1},"subscriptionGroupTable":{"g1":{"groupName":"g1"},"g2":{"groupName":"g2"},"g3":{"groupName":"g3"}}}"#;
            return Some(RemotingCommand::success(&req).with_body(body.to_vec()));
        }
        let h: GetConsumeStatsRequestHeader = req.decode_header().unwrap();
        let lag = match h.consumer_group.as_str() {
            "g1" => vec![(100, 60), (10, 10)],
            "g2" => vec![(5, 0), (3, 7)],
            _ => {
                return Some(RemotingCommand::error(
                    &req,
                    ResponseCode::SubscriptionGroupNotExist,
                    "no such group",
                ));
            }
        };
        let mut stats = ConsumeStats::default();
        for (i, (broker, consumer)) in lag.into_iter().enumerate() {
            stats.offset_table.insert(
                MessageQueue {
                    broker_name: "sync-broker-1".into(),
                    queue_id: i as i32,
                    topic: "TopicA".into(),
                },
                OffsetWrapper {
                    broker_offset: broker,
                    consumer_offset: consumer,
                    ..Default::default()
                },
            );
        }
        Some(RemotingCommand::success(&req).with_body(stats.encode()))
    }
}

#[tokio::test]
async fn backlog_sums_unconsumed_messages_over_groups_and_queues() {
    let router = Router::new().route(
        &[
            RequestCode::GetAllSubscriptiongroupConfig,
            RequestCode::GetConsumeStats,
        ],
        Arc::new(StubBroker),
    );
    let server = RemotingServer::start("127.0.0.1:0", ServerConfig::default(), Arc::new(router))
        .await
        .unwrap();
    let admin = RemotingAdmin::new(T);
    let backlog = admin
        .broker_backlog(&server.local_addr().to_string())
        .await
        .unwrap();
    assert_eq!(backlog, 40 + 5);
    server.shutdown().await;
}
