//! The pull consumer: offsets, filtering and long polling.

use std::time::{Duration, Instant};

use client::api::PullStatus;
use client::consumer::PullConsumer;
use client::{Message, Producer, ProducerConfig};

use crate::cluster::{Cluster, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_consumer_reads_filters_commits_and_long_polls() {
    let c = Cluster::start().await;
    c.create_topic("PullT", 1).await;
    let p = Producer::start(
        c.client(),
        ProducerConfig {
            group: "pg_pull".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for i in 0..6 {
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        p.send(Message::new("PullT", format!("m{i}")).with_tags(tag))
            .await
            .unwrap();
    }
    let pc = PullConsumer::start(c.client(), "cg_pull");
    let mqs = pc.fetch_subscribe_message_queues("PullT").await.unwrap();
    assert_eq!(mqs.len(), 1);
    let mq = &mqs[0];
    assert_eq!(pc.min_offset(mq).await.unwrap(), 0);
    // the consume queue is written asynchronously after the commit log
    eventually(Duration::from_secs(5), "max offset 6", || async {
        pc.max_offset(mq).await.unwrap() == 6
    })
    .await;

    let r = pc.pull(mq, "even", 0, 32).await.unwrap();
    assert_eq!(r.status, PullStatus::Found);
    let bodies: Vec<_> = r
        .messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(bodies, ["m0", "m2", "m4"]);
    assert_eq!(r.next_begin_offset, 6);
    let r = pc.pull(mq, "*", 6, 32).await.unwrap();
    assert_eq!(r.status, PullStatus::NoNewMsg);
    let r = pc.pull(mq, "*", 100, 32).await.unwrap();
    assert_eq!(r.status, PullStatus::OffsetIllegal);
    // Apache's rule: past the end of a queue that still starts at 0, go back to 0.
    assert_eq!(r.next_begin_offset, 0);
    assert_eq!(r.max_offset, 6);

    pc.update_consume_offset(mq, 4).await.unwrap();
    assert_eq!(pc.fetch_consume_offset(mq).await.unwrap(), Some(4));

    // long polling: the broker holds the pull until a message arrives
    let waiting = {
        let (pc, mq) = (&pc, mq.clone());
        async move {
            let started = Instant::now();
            let r = pc
                .pull_block_if_not_found(&mq, "*", 6, 32, Duration::from_secs(20))
                .await
                .unwrap();
            (r, started.elapsed())
        }
    };
    let send_later = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        p.send(Message::new("PullT", "late")).await.unwrap();
    };
    let ((r, waited), ()) = tokio::join!(waiting, send_later);
    assert_eq!(r.status, PullStatus::Found);
    assert_eq!(&r.messages[0].body[..], b"late");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(10),
        "{waited:?}"
    );

    pc.shutdown();
    p.shutdown().await;
    c.shutdown().await;
}
