//! Every producer mode against the broker.

use std::collections::BTreeSet;
use std::time::Duration;

use client::producer::SelectByHash;
use client::{ClientError, Message, Producer, ProducerConfig, SendStatus};
use remoting::message::properties;

use crate::cluster::{BROKER_NAME, Cluster, eventually};

fn producer_config(group: &str) -> ProducerConfig {
    ProducerConfig {
        group: group.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_send_mode_stores_what_was_sent() {
    let c = Cluster::start().await;
    c.create_topic("ProdModes", 4).await;
    let p = Producer::start(c.client(), producer_config("pg_modes"))
        .await
        .unwrap();

    // sync
    let r = p
        .send(
            Message::new("ProdModes", "sync-0")
                .with_tags("TagA")
                .with_keys(["k-sync"]),
        )
        .await
        .unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    assert_eq!(r.queue.broker_name, BROKER_NAME);
    assert_eq!(r.msg_id.len(), 32);
    assert_eq!(r.offset_msg_id.len(), 32);

    // async with callback
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..5 {
        let tx = tx.clone();
        p.send_with_callback(Message::new("ProdModes", format!("async-{i}")), move |r| {
            let _ = tx.send(r);
        });
    }
    for _ in 0..5 {
        assert_eq!(rx.recv().await.unwrap().unwrap().status, SendStatus::SendOk);
    }

    // oneway
    for i in 0..3 {
        p.send_oneway(Message::new("ProdModes", format!("oneway-{i}")))
            .await
            .unwrap();
    }

    // to a chosen queue
    let queues = p.fetch_publish_queues("ProdModes").await.unwrap();
    assert_eq!(queues.len(), 4);
    let r = p
        .send_to_queue(Message::new("ProdModes", "queue-3"), &queues[3])
        .await
        .unwrap();
    assert_eq!(r.queue.queue_id, 3);

    // selector by sharding key: one key, one queue
    let mut seen = BTreeSet::new();
    for i in 0..6 {
        let r = p
            .send_with_selector(
                Message::new("ProdModes", format!("order-{i}")),
                &SelectByHash,
                "order-42",
            )
            .await
            .unwrap();
        seen.insert(r.queue.queue_id);
    }
    assert_eq!(seen.len(), 1, "one sharding key must map to one queue");

    // batch: consecutive offsets in one queue
    let batch: Vec<_> = (0..4)
        .map(|i| Message::new("ProdModes", format!("batch-{i}")).with_keys([format!("bk{i}")]))
        .collect();
    let r = p.send_batch(batch).await.unwrap();
    assert_eq!(r.msg_id.split(',').count(), 4);
    assert_eq!(r.offset_msg_id.split(',').count(), 4);

    // large body is compressed on the wire and comes back intact
    let big = "x".repeat(10_000);
    p.send(Message::new("ProdModes", big.clone()))
        .await
        .unwrap();

    // everything is stored (oneway sends have no answer: wait for them)
    let expect = 1 + 5 + 3 + 1 + 6 + 4 + 1;
    eventually(Duration::from_secs(5), "all messages stored", || async {
        c.pull_all("ProdModes").await.len() == expect
    })
    .await;
    let all = c.pull_all("ProdModes").await;
    let bodies: BTreeSet<String> = all
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    for want in [
        "sync-0", "async-4", "oneway-2", "queue-3", "order-5", "batch-3",
    ] {
        assert!(bodies.contains(want), "{want} missing");
    }
    assert!(bodies.contains(&big), "compressed body must be inflated");
    let sync = all.iter().find(|m| &m.body[..] == b"sync-0").unwrap();
    assert_eq!(sync.tags(), Some("TagA"));
    assert_eq!(sync.keys(), Some("k-sync"));
    assert_eq!(
        sync.properties.get(properties::UNIQ_KEY).map(str::len),
        Some(32)
    );
    let q3: Vec<_> = all.iter().filter(|m| &m.body[..] == b"queue-3").collect();
    assert_eq!(q3[0].queue_id, 3);
    let mut batch: Vec<_> = all
        .iter()
        .filter(|m| m.body.starts_with(b"batch-"))
        .collect();
    batch.sort_by_key(|m| m.queue_offset);
    assert!(
        batch
            .windows(2)
            .all(|w| w[0].queue_id == w[1].queue_id && w[1].queue_offset == w[0].queue_offset + 1)
    );
    assert_eq!(batch[0].queue_offset, r.queue_offset);
    assert_eq!(batch[2].keys(), Some("bk2"));

    p.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_is_auto_created_and_bad_input_is_refused() {
    let c = Cluster::start().await;
    let p = Producer::start(c.client(), producer_config("pg_auto"))
        .await
        .unwrap();
    let r = p.send(Message::new("AutoCreated", "hello")).await.unwrap();
    assert_eq!(r.status, SendStatus::SendOk);
    c.wait_route("AutoCreated").await;

    let e = p.send(Message::new("bad topic!", "x")).await.unwrap_err();
    assert!(matches!(e, ClientError::Invalid(_)), "{e}");
    let e = p.send(Message::new("AutoCreated", "")).await.unwrap_err();
    assert!(matches!(e, ClientError::Invalid(_)), "{e}");

    // a forbidden system topic: the broker's code and remark come back typed
    let e = p
        .send(Message::new("SCHEDULE_TOPIC_XXXX", "x"))
        .await
        .unwrap_err();
    assert_eq!(e.response_code(), Some(16), "{e}");
    p.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_name_server_is_a_transport_error() {
    let mut cfg = client::ClientConfig::new("127.0.0.1:1");
    cfg.request_timeout = Duration::from_millis(500);
    let p = Producer::start(cfg, producer_config("pg_none"))
        .await
        .unwrap();
    let e = p.send(Message::new("T", "x")).await.unwrap_err();
    assert!(e.is_transport(), "{e}");
}
