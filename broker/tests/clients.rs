//! Heartbeats, group membership pushes, channel expiry, relayed admin calls, queue locks and
//! back-pressure.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use remoting::client::{ClientConfig, RemotingClient};
use remoting::message::{Properties, properties};
use remoting::protocol::body::{
    self, ConsumeFromWhere, ConsumeType, ConsumerConnection, ConsumerData,
    ConsumerListByGroupResponseBody, HeartbeatData, LockBatchRequestBody, LockBatchResponseBody,
    MessageModel, MessageQueue, SubscriptionData,
};
use remoting::protocol::{RequestCode, ResponseCode};
use remoting::{Connection, RemotingCommand, RequestHandler};
use tokio::sync::mpsc;

/// A consumer-side handler: records broker pushes and answers GET_CONSUMER_RUNNING_INFO.
struct ClientSide(mpsc::UnboundedSender<RemotingCommand>);

#[async_trait]
impl RequestHandler for ClientSide {
    async fn handle(&self, _c: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let _ = self.0.send(req.clone());
        Some(RemotingCommand::success(&req).with_body(&b"{\"running\":true}"[..]))
    }
}

fn heartbeat(client_id: &str, group: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            consume_type: ConsumeType::ConsumePassively,
            group_name: group.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![SubscriptionData::tag("HB", "TagA || TagB", 1)],
            unit_mode: false,
        }],
        producer_data_set: vec![],
    };
    RemotingCommand::new_request(RequestCode::HeartBeat).with_body(body::to_json(&data))
}

fn consumer(tx: &mpsc::UnboundedSender<RemotingCommand>) -> RemotingClient {
    RemotingClient::with_handler(ClientConfig::default(), Arc::new(ClientSide(tx.clone())))
}

async fn members(c: &Cluster, group: &str) -> Vec<String> {
    let r = c
        .call(
            RemotingCommand::new_request(RequestCode::GetConsumerListByGroup)
                .with_ext("consumerGroup", group),
        )
        .await;
    if r.code != 0 {
        return vec![];
    }
    body::from_json::<ConsumerListByGroupResponseBody>(r.body.as_deref().unwrap())
        .unwrap()
        .consumer_id_list
}

#[tokio::test]
async fn membership_changes_are_pushed_to_the_group() {
    let c = Cluster::start().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = consumer(&tx);
    assert_eq!(
        a.invoke(&c.broker_addr, heartbeat("ip@a", "HBG"), T)
            .await
            .unwrap()
            .code,
        0
    );
    let n = rx.recv().await.unwrap();
    assert_eq!(n.code, RequestCode::NotifyConsumerIdsChanged.code());
    assert_eq!(n.ext("consumerGroup"), Some("HBG"));
    let b = consumer(&tx);
    b.invoke(&c.broker_addr, heartbeat("ip@b", "HBG"), T)
        .await
        .unwrap();
    // Both members are told about the join.
    for _ in 0..2 {
        assert_eq!(
            rx.recv().await.unwrap().code,
            RequestCode::NotifyConsumerIdsChanged.code()
        );
    }
    assert_eq!(members(&c, "HBG").await, ["ip@a", "ip@b"]);
    // A repeated heartbeat is not a change.
    a.invoke(&c.broker_addr, heartbeat("ip@a", "HBG"), T)
        .await
        .unwrap();
    assert!(rx.try_recv().is_err());

    let conns: ConsumerConnection = body::from_json(
        c.call(
            RemotingCommand::new_request(RequestCode::GetConsumerConnectionList)
                .with_ext("consumerGroup", "HBG"),
        )
        .await
        .body
        .as_deref()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(conns.connection_set.len(), 2);
    assert_eq!(conns.subscription_table["HB"].sub_string, "TagA || TagB");
    assert_eq!(conns.message_model, Some(MessageModel::Clustering));

    // A member leaving (connection closed) is pushed to the rest.
    b.close(&c.broker_addr);
    assert_eq!(
        rx.recv().await.unwrap().code,
        RequestCode::NotifyConsumerIdsChanged.code()
    );
    assert_eq!(members(&c, "HBG").await, ["ip@a"]);
    // The retry topic of the group exists.
    assert!(
        c.broker
            .as_ref()
            .unwrap()
            .context()
            .topics
            .get("%RETRY%HBG")
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn silent_consumers_expire_after_the_channel_timeout() {
    let c = Cluster::start_with(|cfg| cfg.broker.server_channel_max_idle_time_seconds = 3600).await;
    let (tx, _rx) = mpsc::unbounded_channel();
    let a = consumer(&tx);
    a.invoke(&c.broker_addr, heartbeat("ip@quiet", "EXP"), T)
        .await
        .unwrap();
    assert_eq!(members(&c, "EXP").await, ["ip@quiet"]);
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(members(&c, "EXP").await, ["ip@quiet"], "still within 120 s");
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert!(
        members(&c, "EXP").await.is_empty(),
        "expired after 120 s without heartbeats"
    );
}

#[tokio::test]
async fn running_info_is_relayed_to_the_client() {
    let c = Cluster::start().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = consumer(&tx);
    a.invoke(&c.broker_addr, heartbeat("ip@r", "RG"), T)
        .await
        .unwrap();
    rx.recv().await.unwrap(); // the join notification
    let r = c
        .call(
            RemotingCommand::new_request(RequestCode::GetConsumerRunningInfo)
                .with_ext("consumerGroup", "RG")
                .with_ext("clientId", "ip@r"),
        )
        .await;
    assert_eq!(r.code, 0);
    assert_eq!(r.body.as_deref(), Some(&b"{\"running\":true}"[..]));
    let relayed = rx.recv().await.unwrap();
    assert_eq!(relayed.code, RequestCode::GetConsumerRunningInfo.code());
    let r = c
        .call(
            RemotingCommand::new_request(RequestCode::GetConsumerRunningInfo)
                .with_ext("consumerGroup", "RG")
                .with_ext("clientId", "ip@nobody"),
        )
        .await;
    assert_eq!(r.code, ResponseCode::SystemError.code());
    assert!(r.remark.unwrap().contains("not online"));
}

#[tokio::test]
async fn queue_locks_are_exclusive_per_group() {
    let c = Cluster::start().await;
    let mq = |q| MessageQueue {
        broker_name: "broker-t".into(),
        queue_id: q,
        topic: "L".into(),
    };
    let lock = |client: &str, qs: &[i32]| {
        let b = LockBatchRequestBody {
            client_id: client.into(),
            consumer_group: "LG".into(),
            mq_set: qs.iter().map(|q| mq(*q)).collect(),
        };
        RemotingCommand::new_request(RequestCode::LockBatchMq).with_body(body::to_json(&b))
    };
    let got = |r: RemotingCommand| {
        body::from_json::<LockBatchResponseBody>(r.body.as_deref().unwrap())
            .unwrap()
            .lock_ok_mq_set
    };
    assert_eq!(got(c.call(lock("c1", &[0, 1])).await).len(), 2);
    assert_eq!(
        got(c.call(lock("c2", &[1, 2])).await)
            .into_iter()
            .collect::<Vec<_>>(),
        [mq(2)]
    );
    let unlock = {
        let b = LockBatchRequestBody {
            client_id: "c1".into(),
            consumer_group: "LG".into(),
            mq_set: [mq(1)].into(),
        };
        RemotingCommand::new_request(RequestCode::UnlockBatchMq).with_body(body::to_json(&b))
    };
    assert_eq!(c.call(unlock).await.code, 0);
    assert_eq!(
        got(c.call(lock("c2", &[1])).await)
            .into_iter()
            .collect::<Vec<_>>(),
        [mq(1)]
    );
}

#[tokio::test]
async fn full_send_queue_answers_system_busy() {
    let c = Cluster::start_with(|cfg| cfg.broker.send_thread_pool_queue_capacity = 2).await;
    let ctx = c.broker.as_ref().unwrap().context().clone();
    let held = ctx.send_permits.acquire_many(2).await.unwrap();
    let r = c.send("Busy", 0, b"x", None, None).await;
    assert_eq!(r.code, ResponseCode::SystemBusy.code());
    assert!(r.remark.unwrap().starts_with("[OVERLOAD]"));
    drop(held);
    assert_eq!(c.send("Busy", 0, b"x", None, None).await.code, 0);
}

#[tokio::test]
async fn unique_key_and_offset_id_both_resolve() {
    let c = Cluster::start().await;
    let mut p = Properties::new();
    p.insert(properties::UNIQ_KEY, "AC110001000018B4AAC2000000000042");
    let r = c.call(send_request("Ids", 0, b"by-uniq", &p)).await;
    assert_eq!(r.code, 0);
    c.dispatched().await;
    let q = RemotingCommand::new_request(RequestCode::QueryMessage)
        .with_ext("topic", "Ids")
        .with_ext("key", "AC110001000018B4AAC2000000000042")
        .with_ext("maxNum", 1)
        .with_ext("beginTimestamp", 0)
        .with_ext("endTimestamp", i64::MAX)
        .with_ext("_UNIQUE_KEY_QUERY", "true");
    let found = c.call(q).await;
    assert_eq!(found.code, 0);
    assert_eq!(
        &remoting::message::decode_records(found.body.as_ref().unwrap()).unwrap()[0].body[..],
        b"by-uniq"
    );
    let (_, offset) =
        remoting::message::msg_id::parse_offset_msg_id(r.ext("msgId").unwrap()).unwrap();
    let viewed = c
        .call(RemotingCommand::new_request(RequestCode::ViewMessageById).with_ext("offset", offset))
        .await;
    assert_eq!(
        &remoting::message::decode_records(viewed.body.as_ref().unwrap()).unwrap()[0].body[..],
        b"by-uniq"
    );
}
