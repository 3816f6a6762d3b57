//! Broker registration and routes over TCP, shaped as Apache's name server shapes them.

mod common;

use common::*;
use remoting::RemotingCommand;
use remoting::protocol::body::{self, ClusterInfo, KvTable, TopicList, TopicRouteData};
use remoting::protocol::{RequestCode, ResponseCode, SerializeType};

#[tokio::test]
async fn master_and_slave_register_and_route_matches_apache_shape() {
    let ns = start().await;
    let master = FakeBroker::new("broker-a", 0, "192.168.0.1:10911", &[("TopicTest", 4)]);
    let slave = FakeBroker::new("broker-a", 1, "192.168.0.2:10911", &[("TopicTest", 4)]);

    let r = master.register(&ns.addr).await;
    assert_eq!(r.code, 0);
    assert_eq!(r.ext("masterAddr"), None, "a master gets no master address");
    let r = slave.register(&ns.addr).await;
    assert_eq!(r.code, 0);
    assert_eq!(r.ext("masterAddr"), Some("192.168.0.1:10911"));
    assert_eq!(r.ext("haServerAddr"), Some("192.168.0.1:10912"));

    // C++ 2.x (version 333) gets fastjson's unquoted broker-id keys, byte for byte.
    let old = call(&ns.addr, route_request("TopicTest", 333)).await;
    assert_eq!(old.code, 0);
    assert_eq!(
        std::str::from_utf8(old.body.as_deref().unwrap()).unwrap(),
        r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.1:10911",1:"192.168.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );
    // 4.9.4+ clients get standard JSON.
    let new = call(&ns.addr, route_request("TopicTest", 409)).await;
    assert!(
        std::str::from_utf8(new.body.as_deref().unwrap())
            .unwrap()
            .contains(r#"{"0":"192.168.0.1:10911","1":"#)
    );
    let asked = call(
        &ns.addr,
        route_request("TopicTest", 333).with_ext("acceptStandardJsonOnly", "true"),
    )
    .await;
    assert_eq!(asked.body, new.body);

    let info = ClusterInfo::from_json(
        call(
            &ns.addr,
            RemotingCommand::new_request(RequestCode::GetBrokerClusterInfo),
        )
        .await
        .body
        .as_deref()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(info.broker_addr_table["broker-a"].broker_addrs.len(), 2);
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
}

#[tokio::test]
async fn slaves_topics_do_not_create_queue_data() {
    let ns = start().await;
    let slave = FakeBroker::new("broker-b", 1, "10.0.0.2:10911", &[("OnlyOnSlave", 4)]);
    slave.register(&ns.addr).await;
    let r = call(&ns.addr, route_request("OnlyOnSlave", 409)).await;
    assert_eq!(r.code, ResponseCode::TopicNotExist.code());
}

#[tokio::test]
async fn unknown_topic_is_topic_not_exist_with_remark() {
    let ns = start().await;
    let r = call(&ns.addr, route_request("Nope", 409)).await;
    assert_eq!(r.code, ResponseCode::TopicNotExist.code());
    assert!(
        r.remark
            .unwrap()
            .starts_with("No topic route info in name server for the topic: Nope")
    );
}

#[tokio::test]
async fn compressed_register_body_and_crc_check() {
    let ns = start().await;
    let b = FakeBroker::new("broker-c", 0, "10.0.0.3:10911", &[("Zipped", 8)]);
    let r = b.client.invoke(&ns.addr, b.request(true), T).await.unwrap();
    assert_eq!(r.code, 0);
    let route: TopicRouteData = body::from_json(
        call(&ns.addr, route_request("Zipped", 409))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 8);

    let mut bad = b.request(false);
    bad.ext_fields.insert("bodyCrc32".into(), "12345".into());
    let r = b.client.invoke(&ns.addr, bad, T).await.unwrap();
    assert_eq!(r.code, ResponseCode::SystemError.code());
    assert_eq!(r.remark.as_deref(), Some("crc32 not match"));
}

#[tokio::test]
async fn unregister_of_last_broker_removes_cluster_entry_and_topics() {
    let ns = start().await;
    let m = FakeBroker::new("broker-a", 0, "10.0.0.1:10911", &[("T1", 4)]);
    let s = FakeBroker::new("broker-a", 1, "10.0.0.2:10911", &[("T1", 4)]);
    m.register(&ns.addr).await;
    s.register(&ns.addr).await;
    let unreg = |b: &FakeBroker| {
        RemotingCommand::new_request(RequestCode::UnregisterBroker)
            .with_ext("brokerName", &b.name)
            .with_ext("brokerAddr", &b.addr)
            .with_ext("clusterName", &b.cluster)
            .with_ext("brokerId", b.id)
    };
    assert_eq!(call(&ns.addr, unreg(&s)).await.code, 0);
    assert_eq!(
        call(&ns.addr, route_request("T1", 409)).await.code,
        0,
        "master still serves T1"
    );
    assert_eq!(call(&ns.addr, unreg(&m)).await.code, 0);
    assert_eq!(
        call(&ns.addr, route_request("T1", 409)).await.code,
        ResponseCode::TopicNotExist.code()
    );
    let info = ClusterInfo::from_json(
        call(
            &ns.addr,
            RemotingCommand::new_request(RequestCode::GetBrokerClusterInfo),
        )
        .await
        .body
        .as_deref()
        .unwrap(),
    )
    .unwrap();
    assert!(info.broker_addr_table.is_empty());
    assert!(info.cluster_addr_table.is_empty());
}

#[tokio::test]
async fn closing_the_broker_connection_removes_its_routes_at_once() {
    let ns = start().await;
    let b = FakeBroker::new("broker-x", 0, "10.0.0.9:10911", &[("Gone", 4)]);
    b.register(&ns.addr).await;
    assert_eq!(call(&ns.addr, route_request("Gone", 409)).await.code, 0);
    let conn = b.client.connection(&ns.addr).await.unwrap();
    conn.close();
    drop(b);
    // The server notices the close asynchronously; wait for that event via the route table.
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if ns.srv.routes.topic_route("Gone").is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "route still present after close"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        call(&ns.addr, route_request("Gone", 409)).await.code,
        ResponseCode::TopicNotExist.code()
    );
}

#[tokio::test(start_paused = true)]
async fn silent_broker_expires_after_configured_time() {
    let ns = start_with(|c| {
        c.scan_not_active_broker_interval = 1_000;
        c.broker_channel_expired_time = 30_000;
        c.server_channel_max_idle_time_seconds = 3_600;
    })
    .await;
    let b = FakeBroker::new("broker-e", 0, "10.0.0.5:10911", &[("Exp", 4)]);
    b.register(&ns.addr).await;
    tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    assert!(
        ns.srv.routes.topic_route("Exp").is_some(),
        "still alive within the expiry"
    );
    b.register(&ns.addr).await; // heartbeat resets the clock
    tokio::time::sleep(std::time::Duration::from_secs(25)).await;
    assert!(
        ns.srv.routes.topic_route("Exp").is_some(),
        "re-registration kept it alive"
    );
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    assert!(
        ns.srv.routes.topic_route("Exp").is_none(),
        "expired after 30 s of silence"
    );
}

#[tokio::test]
async fn wipe_and_add_write_perm() {
    let ns = start().await;
    let b = FakeBroker::new("broker-w", 0, "10.0.0.7:10911", &[("W1", 4), ("W2", 4)]);
    b.register(&ns.addr).await;
    let wipe = RemotingCommand::new_request(RequestCode::WipeWritePermOfBroker)
        .with_ext("brokerName", "broker-w");
    let r = call(&ns.addr, wipe).await;
    assert_eq!(r.ext("wipeTopicCount"), Some("2"));
    let route: TopicRouteData = body::from_json(
        call(&ns.addr, route_request("W1", 409))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(route.queue_datas[0].perm, 4, "read only");
    let add = RemotingCommand::new_request(RequestCode::AddWritePermOfBroker)
        .with_ext("brokerName", "broker-w");
    assert_eq!(call(&ns.addr, add).await.ext("addTopicCount"), Some("2"));
    let route: TopicRouteData = body::from_json(
        call(&ns.addr, route_request("W1", 409))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(route.queue_datas[0].perm, 6);
}

#[tokio::test]
async fn topic_lists_and_delete_topic() {
    let ns = start().await;
    let mut a = FakeBroker::new("broker-a", 0, "10.0.0.1:10911", &[("A1", 4), ("Shared", 4)]);
    a.cluster = "C1".into();
    let mut b = FakeBroker::new("broker-b", 0, "10.0.0.2:10911", &[("B1", 4), ("Shared", 4)]);
    b.cluster = "C2".into();
    a.register(&ns.addr).await;
    b.register(&ns.addr).await;
    let list = |r: RemotingCommand| {
        body::from_json::<TopicList>(r.body.as_deref().unwrap())
            .unwrap()
            .topic_list
    };

    let all = list(
        call(
            &ns.addr,
            RemotingCommand::new_request(RequestCode::GetAllTopicListFromNameserver),
        )
        .await,
    );
    assert_eq!(all.into_iter().collect::<Vec<_>>(), ["A1", "B1", "Shared"]);
    let c1 = list(
        call(
            &ns.addr,
            RemotingCommand::new_request(RequestCode::GetTopicsByCluster).with_ext("cluster", "C1"),
        )
        .await,
    );
    assert_eq!(c1.into_iter().collect::<Vec<_>>(), ["A1", "Shared"]);
    let sys = list(
        call(
            &ns.addr,
            RemotingCommand::new_request(RequestCode::GetSystemTopicListFromNs),
        )
        .await,
    );
    assert!(sys.contains("C1") && sys.contains("broker-b"));
    for code in [
        RequestCode::GetUnitTopicList,
        RequestCode::GetHasUnitSubTopicList,
        RequestCode::GetHasUnitSubUnunitTopicList,
    ] {
        assert!(list(call(&ns.addr, RemotingCommand::new_request(code)).await).is_empty());
    }

    let del = RemotingCommand::new_request(RequestCode::DeleteTopicInNamesrv)
        .with_ext("topic", "Shared")
        .with_ext("clusterName", "C1");
    assert_eq!(call(&ns.addr, del).await.code, 0);
    let route: TopicRouteData = body::from_json(
        call(&ns.addr, route_request("Shared", 409))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].broker_name, "broker-b");
    let del =
        RemotingCommand::new_request(RequestCode::DeleteTopicInNamesrv).with_ext("topic", "Shared");
    call(&ns.addr, del).await;
    assert_eq!(
        call(&ns.addr, route_request("Shared", 409)).await.code,
        ResponseCode::TopicNotExist.code()
    );
}

#[tokio::test]
async fn query_data_version() {
    let ns = start().await;
    let b = FakeBroker::new("broker-q", 0, "10.0.0.8:10911", &[("Q", 4)]);
    b.register(&ns.addr).await;
    let q = |v: &remoting::protocol::body::DataVersion| {
        RemotingCommand::new_request(RequestCode::QueryDataVersion)
            .with_ext("brokerName", "broker-q")
            .with_ext("brokerAddr", "10.0.0.8:10911")
            .with_ext("clusterName", "DefaultCluster")
            .with_ext("brokerId", 0)
            .with_body(body::to_json(v))
    };
    let same = b.body.topic_config_serialize_wrapper.data_version;
    let r = call(&ns.addr, q(&same)).await;
    assert_eq!(r.ext("changed"), Some("false"));
    let mut newer = same;
    newer.next();
    let r = call(&ns.addr, q(&newer)).await;
    assert_eq!(r.ext("changed"), Some("true"));
    let stored: remoting::protocol::body::DataVersion =
        body::from_json(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(stored, same);
}

#[tokio::test]
async fn order_topic_conf_from_kv_when_enabled() {
    let ns = start_with(|c| c.order_message_enable = true).await;
    let b = FakeBroker::new("broker-o", 0, "10.0.0.6:10911", &[("Ordered", 4)]);
    b.register(&ns.addr).await;
    let put = RemotingCommand::new_request(RequestCode::PutKvConfig)
        .with_ext("namespace", "ORDER_TOPIC_CONFIG")
        .with_ext("key", "Ordered")
        .with_ext("value", "broker-o:4");
    assert_eq!(call(&ns.addr, put).await.code, 0);
    let route: TopicRouteData = body::from_json(
        call(&ns.addr, route_request("Ordered", 333))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(route.order_topic_conf.as_deref(), Some("broker-o:4"));
    // The registering broker gets the namespace back as a KVTable.
    let r = b.register(&ns.addr).await;
    let kv: KvTable = body::from_json(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(kv.table["Ordered"], "broker-o:4");
}

#[tokio::test]
async fn missing_required_header_field_is_named() {
    let ns = start().await;
    let r = call(
        &ns.addr,
        RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic),
    )
    .await;
    assert_eq!(r.code, ResponseCode::SystemError.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("the custom field <topic> is null")
    );
    let r = call(
        &ns.addr,
        RemotingCommand::new_request(RequestCode::RegisterBroker).with_ext("brokerName", "x"),
    )
    .await;
    assert_eq!(r.code, ResponseCode::SystemError.code());
    assert!(r.remark.unwrap().contains("<brokerAddr>"));
}

#[tokio::test]
async fn binary_header_request_gets_binary_response() {
    let ns = start().await;
    let mut req = route_request("Nope", 409);
    req.serialize_type = SerializeType::RocketMq;
    let r = call(&ns.addr, req).await;
    assert_eq!(r.serialize_type, SerializeType::RocketMq);
    assert_eq!(r.code, ResponseCode::TopicNotExist.code());
}

#[tokio::test]
async fn cached_routes_follow_every_change() {
    let ns = start().await;
    let b = FakeBroker::new("broker-c", 0, "10.0.0.4:10911", &[("Cached", 4)]);
    b.register(&ns.addr).await;
    let route =
        |r: RemotingCommand| body::from_json::<TopicRouteData>(r.body.as_deref().unwrap()).unwrap();
    // Asked twice (the second answer may come from the cache): the same route.
    let first = route(call(&ns.addr, route_request("Cached", 333)).await);
    assert_eq!(
        route(call(&ns.addr, route_request("Cached", 333)).await),
        first
    );
    // A change is visible on the very next request.
    let wipe = RemotingCommand::new_request(RequestCode::WipeWritePermOfBroker)
        .with_ext("brokerName", "broker-c");
    call(&ns.addr, wipe).await;
    assert_eq!(
        route(call(&ns.addr, route_request("Cached", 333)).await).queue_datas[0].perm,
        4
    );
    let slave = FakeBroker::new("broker-c", 1, "10.0.0.5:10911", &[("Cached", 4)]);
    slave.register(&ns.addr).await;
    assert_eq!(
        route(call(&ns.addr, route_request("Cached", 333)).await).broker_datas[0]
            .broker_addrs
            .len(),
        2
    );
    let del =
        RemotingCommand::new_request(RequestCode::DeleteTopicInNamesrv).with_ext("topic", "Cached");
    call(&ns.addr, del).await;
    assert_eq!(
        call(&ns.addr, route_request("Cached", 333)).await.code,
        ResponseCode::TopicNotExist.code()
    );
}
