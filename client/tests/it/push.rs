//! Push consumers: clustering and broadcasting with two and three instances, orderly
//! consumption across a rebalance, restart from committed offsets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use client::consumer::{
    AllocateByCircle, ConsumeConcurrentlyStatus, ConsumeFromWhere, ConsumeOrderlyStatus,
    MessageListener, MessageModel, PushConsumer, PushConsumerConfig,
};
use client::producer::SelectByHash;
use client::{Message, MessageQueue, Producer, ProducerConfig};

use crate::cluster::{Cluster, Received, eventually};

fn consumer_config(group: &str, model: MessageModel, dir: &std::path::Path) -> PushConsumerConfig {
    PushConsumerConfig {
        group: group.into(),
        message_model: model,
        consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
        rebalance_interval: Duration::from_secs(2),
        pull_delay_on_exception: Duration::from_millis(200),
        broker_suspend_max: Duration::from_secs(2),
        offset_store_dir: dir.join("offsets"),
        ..Default::default()
    }
}

async fn start_concurrent(
    c: &Cluster,
    cfg: PushConsumerConfig,
    topic: &str,
    name: &str,
    rx: &Received,
) -> PushConsumer {
    let mut client = c.client();
    client.instance_name = name.into();
    let (rx, who) = (rx.clone(), name.to_owned());
    PushConsumer::builder(client, cfg)
        .subscribe(topic, "*")
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

async fn producer(c: &Cluster) -> Producer {
    Producer::start(
        c.client(),
        ProducerConfig {
            group: "pg_push".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Waits until the instances own disjoint queue sets covering all `total` queues.
async fn wait_balanced(consumers: &[&PushConsumer], total: usize) {
    eventually(Duration::from_secs(20), "a stable assignment", || async {
        let sets: Vec<BTreeSet<MessageQueue>> = consumers
            .iter()
            .map(|c| {
                c.assigned_queues()
                    .into_iter()
                    .filter(|q| !q.topic.starts_with("%RETRY%"))
                    .collect()
            })
            .collect();
        let sum: usize = sets.iter().map(BTreeSet::len).sum();
        let union: BTreeSet<_> = sets.iter().flatten().collect();
        sets.iter().all(|s| !s.is_empty()) && sum == total && union.len() == total
    })
    .await;
}

async fn clustering_exactly_once(instances: usize, circle: bool) {
    let c = Cluster::start().await;
    let topic = format!("Clu{instances}");
    c.create_topic(&topic, 6).await;
    let rx = Received::default();
    let mut cs = Vec::new();
    for i in 0..instances {
        let mut cfg = consumer_config("cg_clu", MessageModel::Clustering, c.dir.path());
        if circle {
            cfg.allocate = Arc::new(AllocateByCircle);
        }
        cs.push(start_concurrent(&c, cfg, &topic, &format!("c{i}"), &rx).await);
    }
    // a second group must see every message too
    let other = Received::default();
    let o = start_concurrent(
        &c,
        consumer_config("cg_other", MessageModel::Clustering, c.dir.path()),
        &topic,
        "o",
        &other,
    )
    .await;
    wait_balanced(&cs.iter().collect::<Vec<_>>(), 6).await;

    let p = producer(&c).await;
    let n = 120;
    for i in 0..n {
        p.send(Message::new(&topic, format!("m{i}"))).await.unwrap();
    }
    rx.wait_until(Duration::from_secs(20), "all messages", |l| l.len() >= n)
        .await;
    other
        .wait_until(Duration::from_secs(20), "all messages (other group)", |l| {
            l.len() >= n
        })
        .await;
    // give duplicates a chance to show up before judging
    let p2 = p.send(Message::new(&topic, "fence")).await.unwrap();
    rx.wait_until(Duration::from_secs(10), "fence", |l| {
        l.iter().any(|(_, m)| &m.body[..] == b"fence")
    })
    .await;
    let log = rx.log.lock().unwrap().clone();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_instance: BTreeMap<String, usize> = BTreeMap::new();
    for (who, m) in &log {
        *count
            .entry(String::from_utf8_lossy(&m.body).into_owned())
            .or_default() += 1;
        *per_instance.entry(who.clone()).or_default() += 1;
    }
    assert_eq!(count.len(), n + 1);
    assert!(
        count.values().all(|&k| k == 1),
        "duplicates: {:?}",
        count.iter().filter(|e| *e.1 > 1).collect::<Vec<_>>()
    );
    assert_eq!(
        per_instance.len(),
        instances,
        "every instance consumes its share: {per_instance:?}"
    );
    assert_eq!(p2.queue.topic, topic);

    for cons in &cs {
        cons.shutdown().await;
    }
    o.shutdown().await;
    p.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clustering_two_instances_each_message_once() {
    clustering_exactly_once(2, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clustering_three_instances_by_circle_each_message_once() {
    clustering_exactly_once(3, true).await;
}

async fn broadcasting_to_all(instances: usize) {
    let c = Cluster::start().await;
    let topic = format!("Bro{instances}");
    c.create_topic(&topic, 4).await;
    let rx = Received::default();
    let mut cs = Vec::new();
    for i in 0..instances {
        let cfg = consumer_config("cg_bro", MessageModel::Broadcasting, c.dir.path());
        cs.push(start_concurrent(&c, cfg, &topic, &format!("b{i}"), &rx).await);
    }
    for cons in &cs {
        eventually(Duration::from_secs(10), "all queues assigned", || async {
            cons.assigned_queues().len() == 4
        })
        .await;
    }
    let p = producer(&c).await;
    let n = 40;
    for i in 0..n {
        p.send(Message::new(&topic, format!("m{i}"))).await.unwrap();
    }
    rx.wait_until(
        Duration::from_secs(20),
        "every instance has every message",
        |l| l.len() >= n * instances,
    )
    .await;
    let log = rx.log.lock().unwrap().clone();
    for i in 0..instances {
        let got: BTreeSet<String> = log
            .iter()
            .filter(|(w, _)| *w == format!("b{i}"))
            .map(|(_, m)| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        assert_eq!(got.len(), n, "instance b{i}");
    }
    assert_eq!(log.len(), n * instances, "no duplicates");
    for cons in &cs {
        cons.shutdown().await;
    }
    // offsets were written to each instance's local file
    let files: Vec<_> = std::fs::read_dir(c.dir.path().join("offsets"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), instances);
    p.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_two_instances_all_get_everything() {
    broadcasting_to_all(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_three_instances_all_get_everything() {
    broadcasting_to_all(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_keeps_queue_order_across_a_rebalance() {
    let c = Cluster::start().await;
    c.create_topic("Ordered", 4).await;
    let rx = Received::default();
    let start_orderly = |name: &str| {
        let mut client = c.client();
        client.instance_name = name.into();
        let (rx, who) = (rx.clone(), name.to_owned());
        PushConsumer::builder(
            client,
            consumer_config("cg_ord", MessageModel::Clustering, c.dir.path()),
        )
        .subscribe("Ordered", "*")
        .listener(MessageListener::orderly(move |msgs, _| {
            for m in msgs {
                rx.push(&who, m);
            }
            std::thread::sleep(Duration::from_millis(2));
            ConsumeOrderlyStatus::Success
        }))
        .start()
    };
    let a = start_orderly("a").await.unwrap();
    eventually(Duration::from_secs(10), "a owns all queues", || async {
        a.assigned_queues()
            .iter()
            .filter(|q| q.topic == "Ordered")
            .count()
            == 4
    })
    .await;

    let p = producer(&c).await;
    let keys = 8;
    let per_key = 40;
    let send_half = |from: usize, to: usize| {
        let p = p.clone();
        async move {
            for seq in from..to {
                for k in 0..keys {
                    let key = format!("key{k}");
                    p.send_with_selector(
                        Message::new("Ordered", format!("{key}:{seq}")),
                        &SelectByHash,
                        key.as_str(),
                    )
                    .await
                    .unwrap();
                }
            }
        }
    };
    let consumed = |n: usize| {
        move |l: &[(String, client::MessageExt)]| {
            let distinct: BTreeSet<_> = l.iter().map(|(_, m)| m.body.clone()).collect();
            distinct.len() >= n
        }
    };
    send_half(0, per_key / 2).await;
    // a has consumed from every queue before b joins (its blocking listener can otherwise
    // starve some queues' loops long enough for them all to move to b untouched)
    rx.wait_until(
        Duration::from_secs(30),
        "first half by a",
        consumed(keys * per_key / 2),
    )
    .await;
    // a second instance joins while messages are flowing: queues move from a to b
    let b = start_orderly("b").await.unwrap();
    send_half(per_key / 2, per_key * 3 / 4).await;
    wait_balanced(&[&a, &b], 4).await;
    // after the move, b must consume its queues from where a left them
    send_half(per_key * 3 / 4, per_key).await;
    rx.wait_until(
        Duration::from_secs(30),
        "all ordered messages",
        consumed(keys * per_key),
    )
    .await;

    let log = rx.log.lock().unwrap().clone();
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (who, m) in &log {
        let body = String::from_utf8_lossy(&m.body).into_owned();
        let (key, seq) = body.split_once(':').unwrap();
        let seq: i64 = seq.parse().unwrap();
        let prev = last.insert(key.to_owned(), seq).unwrap_or(-1);
        assert!(seq > prev, "{key}: {seq} consumed after {prev} (by {who})");
        owners
            .entry(key.to_owned())
            .or_default()
            .insert(who.clone());
    }
    let who: BTreeSet<_> = owners.values().flatten().collect();
    assert_eq!(who.len(), 2, "the rebalance moved work to b: {owners:?}");
    assert!(
        owners.values().any(|o| o.len() == 2),
        "some key was consumed by a, then by b: {owners:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
    p.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_consumer_resumes_from_committed_offsets() {
    let c = Cluster::start().await;
    c.create_topic("Resume", 2).await;
    let p = producer(&c).await;
    for i in 0..20 {
        p.send(Message::new("Resume", format!("first-{i}")))
            .await
            .unwrap();
    }
    let rx = Received::default();
    let cfg = consumer_config("cg_resume", MessageModel::Clustering, c.dir.path());
    let first = start_concurrent(&c, cfg.clone(), "Resume", "r1", &rx).await;
    rx.wait_until(Duration::from_secs(15), "first batch", |l| l.len() >= 20)
        .await;
    first.shutdown().await;
    drop(first);

    for i in 0..10 {
        p.send(Message::new("Resume", format!("second-{i}")))
            .await
            .unwrap();
    }
    let rx2 = Received::default();
    let second = start_concurrent(&c, cfg, "Resume", "r2", &rx2).await;
    rx2.wait_until(Duration::from_secs(15), "second batch", |l| l.len() >= 10)
        .await;
    let fence = p.send(Message::new("Resume", "fence")).await.unwrap();
    rx2.wait_until(Duration::from_secs(10), "fence", |l| {
        l.iter().any(|(_, m)| &m.body[..] == b"fence")
    })
    .await;
    let bodies: Vec<String> = rx2
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert!(
        bodies.iter().all(|b| !b.starts_with("first-")),
        "already committed messages came back: {bodies:?}"
    );
    assert_eq!(bodies.len(), 11);
    assert_eq!(fence.queue.topic, "Resume");
    second.shutdown().await;
    p.shutdown().await;
    c.shutdown().await;
}

struct Gated {
    open: tokio::sync::watch::Receiver<bool>,
    rx: Received,
}

#[async_trait::async_trait]
impl client::consumer::MessageListenerConcurrently for Gated {
    async fn consume_message(
        &self,
        msgs: &[client::MessageExt],
        _ctx: &client::consumer::ConsumeContext,
    ) -> ConsumeConcurrentlyStatus {
        let mut open = self.open.clone();
        let _ = open.wait_for(|o| *o).await;
        msgs.iter().for_each(|m| self.rx.push("g", m));
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_control_caps_cached_messages_per_queue() {
    let c = Cluster::start().await;
    c.create_topic("Flow", 1).await;
    let p = producer(&c).await;
    for i in 0..200 {
        p.send(Message::new("Flow", format!("m{i}"))).await.unwrap();
    }
    let (gate, open) = tokio::sync::watch::channel(false);
    let rx = Received::default();
    let mut cfg = consumer_config("cg_flow", MessageModel::Clustering, c.dir.path());
    cfg.pull_threshold_for_queue = 10;
    cfg.pull_batch_size = 5;
    let consumer = PushConsumer::builder(c.client(), cfg)
        .subscribe("Flow", "*")
        .listener(MessageListener::Concurrently(Arc::new(Gated {
            open,
            rx: rx.clone(),
        })))
        .start()
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "the cache to fill", || async {
        consumer.cached_message_count() >= 10
    })
    .await;
    // Nothing is consumed while the gate is shut: the pulls must stop at the threshold.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cached = consumer.cached_message_count();
    assert!(
        (10..15).contains(&cached),
        "cached {cached} with a threshold of 10"
    );
    assert_eq!(rx.len(), 0);
    gate.send(true).unwrap();
    rx.wait_until(Duration::from_secs(20), "all 200 after opening", |l| {
        l.len() >= 200
    })
    .await;
    consumer.shutdown().await;
    p.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_route_refresh_and_rebalance_pick_up_new_queues() {
    let c = Cluster::start().await;
    c.create_topic("Grows", 2).await;
    let mut client = c.client();
    client.poll_name_server_interval = Duration::from_millis(300);
    let rx = Received::default();
    let rx2 = rx.clone();
    let consumer = PushConsumer::builder(
        client,
        consumer_config("cg_grow", MessageModel::Clustering, c.dir.path()),
    )
    .subscribe("Grows", "*")
    .listener(MessageListener::concurrently(move |msgs, _| {
        msgs.iter().for_each(|m| rx2.push("g", m));
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }))
    .start()
    .await
    .unwrap();
    let grows = |n: usize| {
        let consumer = &consumer;
        move || async move {
            consumer
                .assigned_queues()
                .iter()
                .filter(|q| q.topic == "Grows")
                .count()
                == n
        }
    };
    eventually(Duration::from_secs(10), "2 queues", grows(2)).await;
    // The topic grows on the broker; no notification reaches the consumer, only the
    // periodic route refresh and rebalance can find the new queues.
    c.create_topic("Grows", 4).await;
    eventually(Duration::from_secs(15), "4 queues", grows(4)).await;
    let p = producer(&c).await;
    let queues = p.fetch_publish_queues("Grows").await.unwrap();
    p.send_to_queue(Message::new("Grows", "to-q3"), &queues[3])
        .await
        .unwrap();
    rx.wait_until(Duration::from_secs(10), "message in the new queue", |l| {
        l.iter().any(|(_, m)| m.queue_id == 3)
    })
    .await;
    consumer.shutdown().await;
    p.shutdown().await;
    c.shutdown().await;
}
