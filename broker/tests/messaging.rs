//! Send, pull, long polling, offsets and queries through the broker's wire protocol.

mod common;

use std::time::{Duration, Instant};

use common::*;
use remoting::RemotingCommand;
use remoting::protocol::body::{self, ConsumeStats, TopicConfigSerializeWrapper, TopicStatsTable};
use remoting::protocol::{RequestCode, ResponseCode};

#[tokio::test]
async fn send_then_pull_returns_the_messages_with_tags_and_keys() {
    let c = Cluster::start().await;
    for i in 0..10 {
        let r = c
            .send(
                "TopicA",
                0,
                format!("body-{i}").as_bytes(),
                Some(if i % 2 == 0 { "TagA" } else { "TagB" }),
                Some(&format!("k{i}")),
            )
            .await;
        assert_eq!(r.code, 0, "{:?}", r.remark);
        assert_eq!(r.ext("queueOffset"), Some(i.to_string().as_str()));
        assert_eq!(r.ext("MSG_REGION"), Some("DefaultRegion"));
        assert_eq!(r.ext("msgId").map(str::len), Some(32));
    }
    c.dispatched().await;
    let (r, msgs) = c.pull("G1", "TopicA", 0, 0, "*", 0).await;
    assert_eq!(r.code, 0);
    assert_eq!(r.ext("nextBeginOffset"), Some("10"));
    assert_eq!(r.ext("maxOffset"), Some("10"));
    assert_eq!(msgs.len(), 10);
    assert_eq!(&msgs[3].body[..], b"body-3");
    assert_eq!(msgs[3].keys(), Some("k3"));
    assert_eq!(msgs[3].properties.get("CLUSTER"), Some("DefaultCluster"));
    assert_eq!(msgs[3].store_host.to_string(), c.broker_addr);

    let (r, tagged) = c.pull("G1", "TopicA", 0, 0, "TagB", 0).await;
    assert_eq!(r.code, 0);
    assert!(tagged.iter().all(|m| m.tags() == Some("TagB")));
    assert_eq!(tagged.len(), 5);

    let (r, _) = c.pull("G1", "TopicA", 0, 10, "*", 0).await;
    assert_eq!(r.code, ResponseCode::PullNotFound.code());
    let (r, _) = c.pull("G1", "TopicA", 0, 99, "*", 0).await;
    assert_eq!(r.code, ResponseCode::PullOffsetMoved.code());
    // Apache's getMessage: past the end with a min offset of 0, restart from the min.
    assert_eq!(r.ext("nextBeginOffset"), Some("0"));
}

#[tokio::test]
async fn long_poll_wakes_when_a_matching_message_arrives() {
    let c = Cluster::start().await;
    c.send("LP", 0, b"first", Some("TagA"), None).await;
    c.dispatched().await;
    let waiter = {
        let req = pull_request("G", "LP", 0, 1, "TagB", 20_000);
        let client = remoting::client::RemotingClient::new(Default::default());
        let addr = c.broker_addr.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = client
                .invoke(&addr, req, Duration::from_secs(30))
                .await
                .unwrap();
            (r, t.elapsed())
        })
    };
    // Not woken by a message with another tag...
    tokio::task::yield_now().await;
    c.send("LP", 0, b"other", Some("TagA"), None).await;
    c.dispatched().await;
    tokio::task::yield_now().await;
    assert!(
        !waiter.is_finished(),
        "a TagA arrival must not wake a TagB pull"
    );
    // ...but by one that matches.
    c.send("LP", 0, b"wanted", Some("TagB"), None).await;
    let (r, waited) = waiter.await.unwrap();
    assert_eq!(r.code, 0);
    let msgs = remoting::message::decode_records(r.body.as_ref().unwrap()).unwrap();
    assert!(msgs.iter().any(|m| &m.body[..] == b"wanted"));
    assert!(
        waited < Duration::from_secs(10),
        "woke on arrival, not at the 20 s timeout"
    );
}

// Real time: a paused clock auto-advances whenever the runtime waits for the store's
// threads or the socket, which fired the connections' idle timeout.
#[tokio::test]
async fn long_poll_times_out_with_pull_not_found() {
    let c = Cluster::start().await;
    c.send("LPT", 0, b"x", None, None).await;
    c.dispatched().await;
    let hold = Duration::from_millis(400);
    let t = Instant::now();
    let r = c
        .client
        .invoke(
            &c.broker_addr,
            pull_request("G", "LPT", 0, 1, "*", hold.as_millis() as i64),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(t.elapsed() >= hold, "answered before the hold ended");
    assert_eq!(r.code, ResponseCode::PullNotFound.code());
    assert_eq!(r.ext("nextBeginOffset"), Some("1"));
}

#[tokio::test]
async fn consumer_offsets_commit_and_query() {
    let c = Cluster::start().await;
    c.send("Off", 0, b"a", None, None).await;
    let q = |g: &str| {
        RemotingCommand::new_request(RequestCode::QueryConsumerOffset)
            .with_ext("consumerGroup", g)
            .with_ext("topic", "Off")
            .with_ext("queueId", 0)
    };
    // A group that never committed starts at 0 while the queue still holds its first message.
    assert_eq!(c.call(q("New")).await.ext("offset"), Some("0"));
    let upd = RemotingCommand::new_request(RequestCode::UpdateConsumerOffset)
        .with_ext("consumerGroup", "G")
        .with_ext("topic", "Off")
        .with_ext("queueId", 0)
        .with_ext("commitOffset", 1);
    assert_eq!(c.call(upd).await.code, 0);
    c.dispatched().await;
    assert_eq!(c.call(q("G")).await.ext("offset"), Some("1"));
    let stats = ConsumeStats::decode(
        c.call(
            RemotingCommand::new_request(RequestCode::GetConsumeStats)
                .with_ext("consumerGroup", "G"),
        )
        .await
        .body
        .as_deref()
        .unwrap(),
    )
    .unwrap();
    let w = stats
        .offset_table
        .iter()
        .find(|(mq, _)| mq.topic == "Off" && mq.queue_id == 0)
        .unwrap()
        .1;
    assert_eq!((w.broker_offset, w.consumer_offset), (1, 1));
}

#[tokio::test]
async fn offset_carried_by_a_pull_never_takes_a_group_back() {
    use remoting::protocol::header::pull_sys_flag;
    let c = Cluster::start().await;
    for body in [b"a", b"b", b"c"] {
        c.send("PC", 0, body, None, None).await;
    }
    c.dispatched().await;
    let pull = |commit: i64| {
        pull_request("G", "PC", 0, 3, "*", 0)
            .with_ext(
                "sysFlag",
                pull_sys_flag::SUBSCRIPTION | pull_sys_flag::COMMIT_OFFSET,
            )
            .with_ext("commitOffset", commit)
    };
    let update = |offset: i64| {
        RemotingCommand::new_request(RequestCode::UpdateConsumerOffset)
            .with_ext("consumerGroup", "G")
            .with_ext("topic", "PC")
            .with_ext("queueId", 0)
            .with_ext("commitOffset", offset)
    };
    let committed = || async {
        let q = RemotingCommand::new_request(RequestCode::QueryConsumerOffset)
            .with_ext("consumerGroup", "G")
            .with_ext("topic", "PC")
            .with_ext("queueId", 0);
        c.call(q).await.ext("offset").map(str::to_owned)
    };
    // A pull's offset moves the group forward...
    assert_eq!(
        c.call(pull(2)).await.code,
        ResponseCode::PullNotFound.code()
    );
    assert_eq!(committed().await.as_deref(), Some("2"));
    // ...but a stale one (sent before the consumer's final commit, served after it) does not
    // take it back.
    assert_eq!(c.call(update(3)).await.code, 0);
    c.call(pull(1)).await;
    assert_eq!(committed().await.as_deref(), Some("3"));
    // An explicit update (a reset) still may.
    assert_eq!(c.call(update(1)).await.code, 0);
    assert_eq!(committed().await.as_deref(), Some("1"));
}

#[tokio::test]
async fn offsets_and_times_lookups_and_queries_by_key_and_id() {
    let c = Cluster::start().await;
    let before = broker::context::now_millis();
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = c
            .send(
                "Q",
                1,
                format!("m{i}").as_bytes(),
                None,
                Some(&format!("order-{i} common")),
            )
            .await;
        ids.push(r.ext("msgId").unwrap().to_owned());
    }
    c.dispatched().await;
    let tq = |code: RequestCode| {
        RemotingCommand::new_request(code)
            .with_ext("topic", "Q")
            .with_ext("queueId", 1)
    };
    assert_eq!(
        c.call(tq(RequestCode::GetMaxOffset)).await.ext("offset"),
        Some("5")
    );
    assert_eq!(
        c.call(tq(RequestCode::GetMinOffset)).await.ext("offset"),
        Some("0")
    );
    let earliest: i64 = c
        .call(tq(RequestCode::GetEarliestMsgStoretime))
        .await
        .ext("timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!(earliest >= before);
    assert_eq!(
        c.call(tq(RequestCode::SearchOffsetByTimestamp).with_ext("timestamp", before - 1000))
            .await
            .ext("offset"),
        Some("0")
    );

    let (_, offset) = remoting::message::msg_id::parse_offset_msg_id(&ids[2]).unwrap();
    let r = c
        .call(RemotingCommand::new_request(RequestCode::ViewMessageById).with_ext("offset", offset))
        .await;
    let m = remoting::message::decode_records(r.body.as_ref().unwrap()).unwrap();
    assert_eq!(&m[0].body[..], b"m2");

    let key = |k: &str| {
        RemotingCommand::new_request(RequestCode::QueryMessage)
            .with_ext("topic", "Q")
            .with_ext("key", k)
            .with_ext("maxNum", 32)
            .with_ext("beginTimestamp", 0)
            .with_ext("endTimestamp", i64::MAX)
    };
    let r = c.call(key("order-3")).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let m = remoting::message::decode_records(r.body.as_ref().unwrap()).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(&m[0].body[..], b"m3");
    let r = c.call(key("common")).await;
    assert_eq!(
        remoting::message::decode_records(r.body.as_ref().unwrap())
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        c.call(key("absent")).await.code,
        ResponseCode::QueryNotFound.code()
    );
}

#[tokio::test]
async fn topic_admin_permissions_and_errors() {
    let c = Cluster::start().await;
    let create = RemotingCommand::new_request(RequestCode::UpdateAndCreateTopic)
        .with_ext("topic", "Admin")
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", 2)
        .with_ext("writeQueueNums", 2)
        .with_ext("perm", 4)
        .with_ext("topicFilterType", "SINGLE_TAG")
        .with_ext("order", "false");
    assert_eq!(c.call(create).await.code, 0);
    let all: TopicConfigSerializeWrapper = body::from_json(
        c.call(RemotingCommand::new_request(RequestCode::GetAllTopicConfig))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(all.topic_config_table["Admin"].read_queue_nums, 2);
    // Read-only topic: sends refused.
    assert_eq!(
        c.send("Admin", 0, b"x", None, None).await.code,
        ResponseCode::NoPermission.code()
    );
    // Forbidden system topic, illegal name, bad queue id.
    assert_eq!(
        c.send("SCHEDULE_TOPIC_XXXX", 0, b"x", None, None)
            .await
            .code,
        ResponseCode::NoPermission.code()
    );
    assert_eq!(
        c.send("bad topic!", 0, b"x", None, None).await.code,
        ResponseCode::SystemError.code()
    );
    c.send("Q4", 0, b"x", None, None).await;
    c.dispatched().await;
    let r = c.send("Q4", 99, b"x", None, None).await;
    assert_eq!(r.code, ResponseCode::SystemError.code());
    assert!(r.remark.unwrap().contains("queueId[99] is illegal"));
    // Unknown topic without auto-create.
    let c2 = Cluster::start_with(|cfg| cfg.broker.auto_create_topic_enable = false).await;
    assert_eq!(
        c2.send("Nope", 0, b"x", None, None).await.code,
        ResponseCode::TopicNotExist.code()
    );
    let (r, _) = c2.pull("G", "Nope", 0, 0, "*", 0).await;
    assert_eq!(r.code, ResponseCode::TopicNotExist.code());

    let stats = TopicStatsTable::decode(
        c.call(
            RemotingCommand::new_request(RequestCode::GetTopicStatsInfo).with_ext("topic", "Q4"),
        )
        .await
        .body
        .as_deref()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stats
            .offset_table
            .values()
            .map(|o| o.max_offset)
            .sum::<i64>(),
        1
    );
    let del =
        RemotingCommand::new_request(RequestCode::DeleteTopicInBroker).with_ext("topic", "Admin");
    assert_eq!(c.call(del).await.code, 0);
    let all: TopicConfigSerializeWrapper = body::from_json(
        c.call(RemotingCommand::new_request(RequestCode::GetAllTopicConfig))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert!(!all.topic_config_table.contains_key("Admin"));
}

#[tokio::test]
async fn oversize_message_is_message_illegal_and_nothing_is_stored() {
    let c = Cluster::start().await;
    let big = vec![7u8; 4 * 1024 * 1024 + 1];
    let r = c.send("Big", 0, &big, None, None).await;
    assert_eq!(r.code, ResponseCode::MessageIllegal.code());
    let ok = c.send("Big", 0, b"small", None, None).await;
    assert_eq!(ok.code, 0);
    assert_eq!(
        ok.ext("queueOffset"),
        Some("0"),
        "the refused message took no offset"
    );
}

#[tokio::test]
async fn broker_registers_with_the_name_server_and_routes_its_topics() {
    let c = Cluster::start().await;
    c.send("Routed", 0, b"x", None, None).await;
    // Auto-creation triggers an immediate re-registration: wait for the route to appear.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.ns.routes.topic_route("Routed").is_none() {
        assert!(Instant::now() < deadline, "route never registered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let route = c.ns.routes.topic_route("Routed").unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs[&0], c.broker_addr);
}
