//! Where a new consumer group starts once retention has removed a queue's oldest messages:
//! CONSUME_FROM_FIRST_OFFSET, CONSUME_FROM_TIMESTAMP and CONSUME_FROM_LAST_OFFSET differ only
//! then (while the first message is stored, the broker starts every new group at 0, as Apache).

use std::time::Duration;

use client::consumer::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, MessageListener, MessageModel, PushConsumer,
    PushConsumerConfig,
};
use client::{Message, Producer, ProducerConfig};

use crate::cluster::{Cluster, Received, eventually};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn consumer(
    c: &Cluster,
    group: &str,
    from: ConsumeFromWhere,
    ts: i64,
    rx: &Received,
) -> PushConsumer {
    let cfg = PushConsumerConfig {
        group: group.into(),
        message_model: MessageModel::Clustering,
        consume_from_where: from,
        consume_timestamp: ts,
        rebalance_interval: Duration::from_secs(2),
        pull_delay_on_exception: Duration::from_millis(200),
        broker_suspend_max: Duration::from_secs(2),
        offset_store_dir: c.dir.path().join("offsets"),
        ..Default::default()
    };
    let mut client = c.client();
    client.instance_name = group.into();
    let (rx, who) = (rx.clone(), group.to_owned());
    PushConsumer::builder(client, cfg)
        .subscribe("From", "*")
        .listener(MessageListener::concurrently(move |msgs, _| {
            for m in msgs {
                rx.push(&who, m);
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }))
        .start()
        .await
        .unwrap()
}

fn bodies(rx: &Received) -> Vec<String> {
    let mut v: Vec<String> = rx
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    v.sort();
    v
}

async fn send_all(p: &Producer, prefix: &str, n: usize, size: usize) {
    for i in 0..n {
        let mut body = format!("{prefix}-{i:03}-").into_bytes();
        body.resize(size, b'.');
        p.send(Message::new("From", body)).await.unwrap();
    }
}

#[tokio::test]
async fn new_groups_start_where_consume_from_where_says() {
    // 64 KiB commit-log files and 20-unit consume-queue files, so retention can remove a prefix.
    let c = Cluster::start_with(&[
        ("mappedFileSizeCommitLog", "65536"),
        ("mappedFileSizeConsumeQueue", "400"),
    ])
    .await;
    c.create_topic("From", 1).await;
    let p = Producer::start(
        c.client(),
        ProducerConfig {
            group: "pg_from".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    send_all(&p, "old", 150, 1000).await; // ~150 KB: several commit-log files
    send_all(&p, "mid", 10, 100).await;
    let ts = now_ms() + 1;
    while now_ms() <= ts {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    send_all(&p, "new", 10, 100).await;

    let store = c.broker.as_ref().unwrap().context().store.clone();
    store
        .wait_dispatched(store.get_max_phy_offset() as u64)
        .await;
    store.run_clean(true, true);
    let min = store.get_min_offset_in_queue("From", 0);
    assert!(
        min > 0,
        "retention removed the oldest messages (min offset {min})"
    );
    let max = store.get_max_offset_in_queue("From", 0);
    let stored = (max - min) as usize;

    let (first, by_time, last) = (
        Received::default(),
        Received::default(),
        Received::default(),
    );
    let _f = consumer(
        &c,
        "cg_first",
        ConsumeFromWhere::ConsumeFromFirstOffset,
        0,
        &first,
    )
    .await;
    let _t = consumer(
        &c,
        "cg_time",
        ConsumeFromWhere::ConsumeFromTimestamp,
        ts,
        &by_time,
    )
    .await;
    let l = consumer(
        &c,
        "cg_last",
        ConsumeFromWhere::ConsumeFromLastOffset,
        0,
        &last,
    )
    .await;

    first
        .wait_until(Duration::from_secs(20), "every stored message", |log| {
            log.len() >= stored
        })
        .await;
    by_time
        .wait_until(
            Duration::from_secs(20),
            "the messages after the timestamp",
            |log| log.len() >= 10,
        )
        .await;
    // LAST starts at the end: wait until it owns the queue, then only what comes after arrives.
    eventually(
        Duration::from_secs(20),
        "cg_last owns the queue",
        || async { l.assigned_queues().iter().any(|q| q.topic == "From") },
    )
    .await;
    send_all(&p, "later", 5, 100).await;
    last.wait_until(Duration::from_secs(20), "the later messages", |log| {
        log.len() >= 5
    })
    .await;
    first
        .wait_until(Duration::from_secs(20), "the later messages too", |log| {
            log.len() >= stored + 5
        })
        .await;

    let f = bodies(&first);
    assert_eq!(
        f.len(),
        stored + 5,
        "FIRST: from the new minimum, each message once"
    );
    assert!(
        f.iter().all(|b| !b.starts_with(&format!("old-{:03}-", 0))),
        "the deleted head is not delivered"
    );
    assert!(f.iter().any(|b| b.starts_with("mid-")) && f.iter().any(|b| b.starts_with("new-")));
    let t = bodies(&by_time);
    assert!(
        t.iter()
            .all(|b| b.starts_with("new-") || b.starts_with("later-")),
        "TIMESTAMP: nothing stored before it: {t:?}"
    );
    assert_eq!(t.iter().filter(|b| b.starts_with("new-")).count(), 10);
    let la = bodies(&last);
    assert!(
        la.iter().all(|b| b.starts_with("later-")),
        "LAST: only what came after start: {la:?}"
    );
    assert_eq!(la.len(), 5);
}
