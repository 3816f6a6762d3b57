//! Every `mqadmin` subcommand run once against the cluster, output checked; `mqbench`
//! producer and consumer runs.

use std::time::Duration;

use client::consumer::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, MessageListener, PushConsumer, PushConsumerConfig,
};
use client::{Producer, ProducerConfig};
use serde_json::Value;

use crate::cluster::{BROKER_NAME, CLUSTER, Cluster, Received, eventually};

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn tool(bin: &str, ns: &str, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(bin)
        .args(args)
        .arg("-n")
        .arg(ns)
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn admin(ns: &str, args: &[&str]) -> String {
    let r = tool(env!("CARGO_BIN_EXE_mqadmin"), ns, args).await;
    assert!(r.ok, "mqadmin {args:?} failed: {}", r.stderr);
    r.stdout
}

async fn admin_json(ns: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&admin(ns, &a).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mqadmin_subcommand() {
    let c = Cluster::start().await;
    let ns = c.ns_addr.as_str();
    let b = c.broker_addr.as_str();

    let out = admin(
        ns,
        &[
            "updateTopic",
            "-c",
            CLUSTER,
            "-t",
            "AdmTopic",
            "-r",
            "4",
            "-w",
            "4",
        ],
    )
    .await;
    assert!(
        out.contains(&format!("create topic to {b} success.")),
        "{out}"
    );
    c.wait_route("AdmTopic").await;

    assert!(
        admin(ns, &["topicList"])
            .await
            .lines()
            .any(|l| l == "AdmTopic")
    );
    let out = admin(ns, &["topicList", "-c"]).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with(CLUSTER) && l.trim_end().ends_with("AdmTopic")),
        "{out}"
    );

    let route = admin_json(ns, &["topicRoute", "-t", "AdmTopic"]).await;
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 4);
    assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], b);
    let out = admin(ns, &["topicRoute", "-t", "AdmTopic", "-l"]).await;
    assert!(
        out.starts_with("#ClusterName") && out.contains(BROKER_NAME) && out.contains("RW"),
        "{out}"
    );

    let out = admin(ns, &["clusterList"]).await;
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.starts_with(CLUSTER) && row.contains(BROKER_NAME) && row.contains(b),
        "{out}"
    );

    let sent = admin_json(
        ns,
        &[
            "sendMessage",
            "-t",
            "AdmTopic",
            "-p",
            "hello admin",
            "-k",
            "key1",
            "-c",
            "TagX",
        ],
    )
    .await;
    let sent = &sent[0];
    assert_eq!(sent["Send Result"], "SEND_OK");
    let offset_id = sent["OffsetMsgId"].as_str().unwrap().to_owned();
    let uniq = sent["MsgId"].as_str().unwrap().to_owned();
    let qid = sent["QID"].as_i64().unwrap().to_string();

    // A send is acknowledged before the broker dispatches it to its consume queue (as in
    // Apache RocketMQ), so the queue's max offset may lag the SEND_OK briefly.
    let total = |status: &Value| -> i64 {
        status
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Max Offset"].as_i64().unwrap())
            .sum()
    };
    eventually(
        Duration::from_secs(10),
        "the message in the consume queue",
        || async { total(&admin_json(ns, &["topicStatus", "-t", "AdmTopic"]).await) > 0 },
    )
    .await;
    let status = admin_json(ns, &["topicStatus", "-t", "AdmTopic"]).await;
    assert_eq!(total(&status), 1);
    assert_eq!(status.as_array().unwrap().len(), 4);

    let out = admin(ns, &["queryMsgById", "-i", &offset_id]).await;
    assert!(
        out.contains("Message Body:       hello admin")
            && out.contains("Tags:               [TagX]"),
        "{out}"
    );
    // The index is built after the consume queue (as in Apache): a query by key right after
    // a send may come too early, so wait until the message is findable.
    let by_uniq = [
        "queryMsgByUniqueKey",
        "-i",
        &uniq,
        "-t",
        "AdmTopic",
        "--json",
    ];
    let mqadmin = env!("CARGO_BIN_EXE_mqadmin");
    eventually(
        Duration::from_secs(10),
        "the message to be indexed",
        || async { tool(mqadmin, ns, &by_uniq).await.ok },
    )
    .await;
    let m = admin_json(ns, &["queryMsgByUniqueKey", "-i", &uniq, "-t", "AdmTopic"]).await;
    assert_eq!(m["body"], "hello admin");
    assert_eq!(m["offsetMsgId"], offset_id.as_str());
    let keyed = admin_json(ns, &["queryMsgByKey", "-t", "AdmTopic", "-k", "key1"]).await;
    assert_eq!(keyed[0]["Message ID"], uniq.as_str());
    let m = admin_json(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            "AdmTopic",
            "-b",
            BROKER_NAME,
            "-i",
            &qid,
            "-o",
            "0",
        ],
    )
    .await;
    assert_eq!(m["keys"], "key1");
    let consumed = admin_json(ns, &["consumeMessage", "-t", "AdmTopic"]).await;
    assert_eq!(consumed.as_array().unwrap().len(), 1);
    assert_eq!(consumed[0]["Body"], "hello admin");

    let out = admin(
        ns,
        &["updateSubGroup", "-c", CLUSTER, "-g", "AdmGroup", "-r", "3"],
    )
    .await;
    assert!(
        out.contains(&format!("create subscription group to {b} success."))
            && out.contains("\"retryMaxTimes\":3"),
        "{out}"
    );
    let groups = admin_json(ns, &["consumerProgress"]).await;
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["Group"] == "AdmGroup"),
        "{groups}"
    );

    // a live consumer and producer for the connection and progress commands
    let rx = Received::default();
    let rx2 = rx.clone();
    let consumer = PushConsumer::builder(
        c.client(),
        PushConsumerConfig {
            group: "AdmGroup".into(),
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            broker_suspend_max: Duration::from_secs(1),
            ..Default::default()
        },
    )
    .subscribe("AdmTopic", "*")
    .listener(MessageListener::concurrently(move |msgs, _| {
        msgs.iter().for_each(|m| rx2.push("c", m));
        ConsumeConcurrentlyStatus::ConsumeSuccess
    }))
    .start()
    .await
    .unwrap();
    rx.wait_until(Duration::from_secs(10), "first delivery", |l| l.len() == 1)
        .await;
    let conn = admin_json(ns, &["consumerConnection", "-g", "AdmGroup"]).await;
    assert_eq!(
        conn["connectionSet"][0]["clientId"],
        consumer.instance().client_id()
    );
    let out = admin(ns, &["consumerConnection", "-g", "AdmGroup"]).await;
    assert!(
        out.contains("Below is subscription:") && out.contains("MessageModel: CLUSTERING"),
        "{out}"
    );
    eventually(Duration::from_secs(10), "offset committed", || async {
        let p = admin_json(
            ns,
            &["consumerProgress", "-g", "AdmGroup", "-t", "AdmTopic"],
        )
        .await;
        p["diffTotal"] == 0 && p["queues"].as_array().unwrap().len() == 4
    })
    .await;

    let producer = Producer::start(
        c.client(),
        ProducerConfig {
            group: "pg_adm".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    producer
        .send(client::Message::new("AdmTopic", "second"))
        .await
        .unwrap();
    rx.wait_until(Duration::from_secs(10), "second delivery", |l| l.len() == 2)
        .await;
    let pc = admin_json(
        ns,
        &["producerConnection", "-g", "pg_adm", "-t", "AdmTopic"],
    )
    .await;
    assert_eq!(pc[0]["ClientId"], producer.instance().client_id());

    // rewinding to the beginning makes the live consumer see both messages again
    let reset = admin_json(
        ns,
        &[
            "resetOffsetByTime",
            "-g",
            "AdmGroup",
            "-t",
            "AdmTopic",
            "-s",
            "0",
        ],
    )
    .await;
    assert_eq!(reset.as_array().unwrap().len(), 4);
    assert!(
        reset.as_array().unwrap().iter().all(|r| r["offset"] == 0),
        "{reset}"
    );
    rx.wait_until(Duration::from_secs(15), "redelivery after reset", |l| {
        l.len() >= 4
    })
    .await;

    // queryMsgById -g -d: the broker relays the stored message to that consumer's listener
    let client_id = consumer.instance().client_id().to_owned();
    let direct = admin_json(
        ns,
        &[
            "queryMsgById",
            "-i",
            &offset_id,
            "-g",
            "AdmGroup",
            "-d",
            &client_id,
        ],
    )
    .await;
    assert_eq!(direct["consumeResult"], "CR_SUCCESS", "{direct}");
    let hello = |l: &[(String, client::MessageExt)]| {
        l.iter()
            .filter(|(_, m)| &m.body[..] == b"hello admin")
            .count()
    };
    rx.wait_until(Duration::from_secs(5), "direct consumption", |l| {
        hello(l) >= 3
    })
    .await;

    let st = admin_json(ns, &["brokerStatus", "-b", b]).await;
    assert_eq!(st[b]["brokerVersionDesc"], "V4_9_8");
    let out = admin(ns, &["brokerStatus", "-c", CLUSTER]).await;
    assert!(out.contains("msgPutTotalTodayNow"), "{out}");
    let out = admin(ns, &["getBrokerConfig", "-b", b]).await;
    assert!(
        out.starts_with(&format!("============{b}============"))
            && out.contains("brokerName")
            && out.contains("= broker-a"),
        "{out}"
    );
    let out = admin(
        ns,
        &[
            "updateBrokerConfig",
            "-b",
            b,
            "-k",
            "defaultQueryMaxNum",
            "-v",
            "40",
        ],
    )
    .await;
    assert!(out.contains("update broker config success"), "{out}");
    let cfg = admin_json(ns, &["getBrokerConfig", "-c", CLUSTER]).await;
    assert_eq!(cfg[b]["defaultQueryMaxNum"], "40");

    let out = admin(ns, &["wipeWritePerm", "-b", BROKER_NAME]).await;
    assert!(
        out.contains(&format!(
            "wipe write perm of broker[{BROKER_NAME}] in name server[{ns}] OK"
        )),
        "{out}"
    );
    let route = admin_json(ns, &["topicRoute", "-t", "AdmTopic"]).await;
    assert_eq!(route["queueDatas"][0]["perm"], 4);
    let out = admin(ns, &["addWritePerm", "-b", BROKER_NAME]).await;
    assert!(
        out.contains("add write perm of broker") && out.contains("OK"),
        "{out}"
    );
    let route = admin_json(ns, &["topicRoute", "-t", "AdmTopic"]).await;
    assert_eq!(route["queueDatas"][0]["perm"], 6);

    let kv = c.admin();
    assert!(
        admin(ns, &["updateKvConfig", "-s", "NS1", "-k", "k1", "-v", "v1"])
            .await
            .contains("success")
    );
    assert_eq!(
        kv.get_kv_config("NS1", "k1").await.unwrap().as_deref(),
        Some("v1")
    );
    assert!(
        admin(ns, &["deleteKvConfig", "-s", "NS1", "-k", "k1"])
            .await
            .contains("success")
    );
    assert_eq!(kv.get_kv_config("NS1", "k1").await.unwrap(), None);

    let cfg = admin_json(ns, &["getNamesrvConfig"]).await;
    assert_eq!(cfg[ns]["orderMessageEnable"], "false");
    assert!(
        admin(
            ns,
            &[
                "updateNamesrvConfig",
                "-k",
                "orderMessageEnable",
                "-v",
                "true"
            ]
        )
        .await
        .contains("success")
    );
    let out = admin(ns, &["getNamesrvConfig"]).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("orderMessageEnable") && l.ends_with("= true")),
        "{out}"
    );

    consumer.shutdown().await;
    producer.shutdown().await;
    let out = admin(ns, &["deleteSubGroup", "-b", b, "-g", "AdmGroup"]).await;
    assert!(
        out.contains(&format!(
            "delete subscription group [AdmGroup] from broker [{b}] success."
        )),
        "{out}"
    );
    let out = admin(ns, &["deleteTopic", "-t", "AdmTopic", "-c", CLUSTER]).await;
    assert!(
        out.contains("delete topic [AdmTopic] from NameServer success."),
        "{out}"
    );

    // failures: one line, non-zero exit
    let r = tool(
        env!("CARGO_BIN_EXE_mqadmin"),
        ns,
        &["topicRoute", "-t", "AdmTopic"],
    )
    .await;
    assert!(!r.ok);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("TOPIC_NOT_EXIST"), "{}", r.stderr);
    let r = tool(env!("CARGO_BIN_EXE_mqadmin"), "127.0.0.1:1", &["topicList"]).await;
    assert!(!r.ok);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("mqadmin: connect to 127.0.0.1:1 failed"),
        "{}",
        r.stderr
    );
    let r = tool(
        env!("CARGO_BIN_EXE_mqadmin"),
        ns,
        &["updateTopic", "--help"],
    )
    .await;
    assert!(
        r.ok && r.stdout.contains("--readQueueNums") && r.stdout.contains("-c, --clusterName"),
        "{}",
        r.stdout
    );

    c.shutdown().await;
}

async fn bench(ns: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let r = tool(env!("CARGO_BIN_EXE_mqbench"), ns, &a).await;
    assert!(r.ok, "mqbench {args:?} failed: {}", r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqbench_producer_and_consumer() {
    let c = Cluster::start().await;
    let ns = c.ns_addr.as_str();
    c.create_topic("BenchT", 4).await;
    let sync = bench(
        ns,
        &[
            "producer",
            "-t",
            "BenchT",
            "-w",
            "4",
            "-s",
            "1024",
            "-q",
            "2000",
            "--duration",
            "0",
            "-k",
            "true",
            "-l",
            "3",
        ],
    )
    .await;
    assert_eq!(sync["sent"], 2000);
    assert_eq!(sync["failed"], 0);
    assert_eq!(sync["latency"]["count"], 2000);
    assert!(sync["latency"]["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(
        sync["latency"]["p999_ms"].as_f64().unwrap() >= sync["latency"]["p50_ms"].as_f64().unwrap()
    );
    let asy = bench(
        ns,
        &[
            "producer",
            "-t",
            "BenchT",
            "-w",
            "2",
            "-q",
            "500",
            "--duration",
            "0",
            "--mode",
            "async",
        ],
    )
    .await;
    assert_eq!(asy["sent"], 500);
    let batch = bench(
        ns,
        &[
            "producer",
            "-t",
            "BenchT",
            "-w",
            "2",
            "-q",
            "400",
            "--duration",
            "0",
            "-b",
            "10",
        ],
    )
    .await;
    assert_eq!(batch["sent"], 400);
    assert_eq!(batch["latency"]["count"], 40, "one sample per batch");
    let one = bench(
        ns,
        &[
            "producer",
            "-t",
            "BenchT",
            "-w",
            "2",
            "-q",
            "100",
            "--duration",
            "0",
            "--mode",
            "oneway",
        ],
    )
    .await;
    assert_eq!(one["sent"], 100);

    let total = 2000 + 500 + 400 + 100;
    let cons = bench(
        ns,
        &[
            "consumer",
            "-t",
            "BenchT",
            "--from",
            "first",
            "--count",
            &total.to_string(),
            "--duration",
            "60",
        ],
    )
    .await;
    assert!(cons["received"].as_u64().unwrap() >= total, "{cons}");
    assert!(cons["e2e_latency"]["count"].as_u64().unwrap() >= total);
    assert!(cons["e2e_latency"]["p50_ms"].as_f64().is_some());

    // human output: per-interval lines, then the summary with percentiles
    let r = tool(
        env!("CARGO_BIN_EXE_mqbench"),
        ns,
        &[
            "producer",
            "-t",
            "BenchT",
            "-w",
            "1",
            "--duration",
            "2",
            "--reportInterval",
            "500",
        ],
    )
    .await;
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("Send TPS:"))
            .count()
            >= 2,
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("[Complete] Send Total:") && r.stdout.contains("p999"),
        "{}",
        r.stdout
    );

    let r = tool(
        env!("CARGO_BIN_EXE_mqbench"),
        "127.0.0.1:1",
        &["producer", "-q", "1"],
    )
    .await;
    assert!(!r.ok && r.stderr.lines().count() == 1, "{}", r.stderr);
    c.shutdown().await;
}
