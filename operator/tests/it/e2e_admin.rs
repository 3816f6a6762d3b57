//! The operator's admin against the project's real name server and broker, in process: the
//! broker registers, the drain backlog follows committed consumer offsets, and wiping write
//! permission makes the broker's topics read-only in the name server's routes.

use std::time::Duration;

use broker::{Broker, BrokerStartupConfig};
use namesrv::{Namesrv, NamesrvConfig};
use remoting::{
    RemotingCommand,
    client::{ClientConfig, RemotingClient},
    protocol::{
        RequestCode,
        body::{self, SubscriptionGroupConfig, TopicRouteData},
        header::{SendMessageRequestHeader, UpdateConsumerOffsetRequestHeader},
    },
};
use rocketmq_operator::{admin::RocketMqAdmin, remote_admin::RemotingAdmin};

const T: Duration = Duration::from_secs(5);

async fn ok(client: &RemotingClient, addr: &str, req: RemotingCommand) -> RemotingCommand {
    let resp = client.invoke(addr, req, T).await.unwrap();
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    resp
}

/// Backlog once it reaches `want` (or the last value after 5 s).
async fn backlog_settles(admin: &RemotingAdmin, addr: &str, want: u64) -> u64 {
    let mut last = u64::MAX;
    for _ in 0..50 {
        last = admin.broker_backlog(addr).await.unwrap();
        if last == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test]
async fn drain_signals_from_a_real_broker_and_name_server() {
    let dir = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(NamesrvConfig {
        listen_port: 0,
        listen_host: "127.0.0.1".into(),
        kv_config_path: dir.path().join("kv.json").display().to_string(),
        config_store_path: dir.path().join("ns.properties").display().to_string(),
        ..Default::default()
    })
    .await
    .unwrap();
    let ns_addr = ns.local_addr().to_string();

    let mut cfg = BrokerStartupConfig::default();
    let props = [
        ("brokerClusterName", "sync".to_string()),
        ("brokerName", "sync-broker-0".to_string()),
        ("brokerId", "0".to_string()),
        ("brokerIP1", "127.0.0.1".to_string()),
        ("brokerIP2", "127.0.0.1".to_string()),
        ("listenHost", "127.0.0.1".to_string()),
        ("listenPort", "0".to_string()),
        ("haListenPort", "0".to_string()),
        ("namesrvAddr", ns_addr.clone()),
        (
            "storePathRootDir",
            dir.path().join("store").display().to_string(),
        ),
        ("brokerRole", "SYNC_MASTER".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert!(cfg.apply(&props).unwrap().is_empty());
    let broker = Broker::start(cfg).await.unwrap();
    let b_addr = broker.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default());
    let admin = RemotingAdmin::new(T);

    // the broker registers with the name server as master of its group
    let mut registered = false;
    for _ in 0..50 {
        let view = admin.cluster_info(&ns_addr).await.unwrap();
        if view
            .brokers
            .get("sync-broker-0")
            .is_some_and(|m| m.contains_key(&0))
        {
            registered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(registered, "broker never registered");

    // 5 messages on queue 0 of a new topic, a consumer group that has consumed 2
    for i in 0..5 {
        let h = SendMessageRequestHeader {
            producer_group: "p".into(),
            topic: "Orders".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000 + i,
            flag: 0,
            properties: None,
            reconsume_times: None,
            unit_mode: None,
            batch: None,
            max_reconsume_times: None,
            bname: None,
        };
        let req = RemotingCommand::request_with_header(RequestCode::SendMessage, &h)
            .with_body(format!("m{i}").into_bytes());
        ok(&client, &b_addr, req).await;
    }
    let group = SubscriptionGroupConfig {
        group_name: "g1".into(),
        ..Default::default()
    };
    let req = RemotingCommand::new_request(RequestCode::UpdateAndCreateSubscriptiongroup)
        .with_body(body::to_json(&group));
    ok(&client, &b_addr, req).await;
    let commit = |offset: i64| {
        RemotingCommand::request_with_header(
            RequestCode::UpdateConsumerOffset,
            &UpdateConsumerOffsetRequestHeader {
                consumer_group: "g1".into(),
                topic: "Orders".into(),
                queue_id: 0,
                commit_offset: offset,
            },
        )
    };
    ok(&client, &b_addr, commit(2)).await;
    // the consume queue is built asynchronously after the put: poll
    assert_eq!(backlog_settles(&admin, &b_addr, 3).await, 3);
    ok(&client, &b_addr, commit(5)).await;
    assert_eq!(backlog_settles(&admin, &b_addr, 0).await, 0);

    // wiping write permission on the name server makes the group's topics read-only
    let mut wiped = 0;
    for _ in 0..50 {
        wiped = admin
            .wipe_write_perm(&ns_addr, "sync-broker-0")
            .await
            .unwrap();
        if wiped > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // wait for the topic to be registered
    }
    assert!(wiped > 0);
    let req =
        RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic).with_ext("topic", "Orders");
    let route: TopicRouteData =
        body::from_json(ok(&client, &ns_addr, req).await.body.as_deref().unwrap()).unwrap();
    assert!(
        route.queue_datas.iter().all(|q| q.perm & 2 == 0),
        "{route:?}"
    );

    broker.shutdown().await;
    ns.shutdown().await;
}
