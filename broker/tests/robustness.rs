//! Bad input never takes the broker down; restarts (graceful and SIGKILL) keep topics,
//! subscription groups, consumer offsets and messages.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use remoting::RemotingCommand;
use remoting::protocol::body::{
    self, SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
};
use remoting::protocol::{RequestCode, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn closed_without_reply(addr: &str, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(T, s.read(&mut buf))
        .await
        .expect("server reacted")
        .unwrap_or(0);
    assert_eq!(n, 0, "the bad connection is closed without a reply");
}

async fn send_ok(c: &Cluster, i: usize) -> i32 {
    c.send("Sturdy", 0, format!("m{i}").as_bytes(), None, None)
        .await
        .code
}

#[tokio::test]
async fn garbage_truncated_oversize_and_unknown_requests_leave_the_broker_serving() {
    let c = Cluster::start().await;
    let good = remoting::client::RemotingClient::new(Default::default());
    assert_eq!(send_ok(&c, 0).await, 0);

    closed_without_reply(
        &c.broker_addr,
        b"\x16\x03\x01garbage that is not a frame at all",
    )
    .await;
    closed_without_reply(&c.broker_addr, &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]).await; // 2 GiB frame
    closed_without_reply(
        &c.broker_addr,
        &[0, 0, 0, 8, 0, 0, 0, 40, b'{', b'"', b'c', b'o'],
    )
    .await; // header > frame
    closed_without_reply(
        &c.broker_addr,
        &[0, 0, 0, 8, 0, 0, 0, 4, b'n', b'o', b'p', b'e'],
    )
    .await; // not JSON

    // A truncated frame, then the peer vanishes.
    let mut s = TcpStream::connect(&c.broker_addr).await.unwrap();
    s.write_all(&[0, 0, 1, 0, 0, 0, 0, 50, b'{']).await.unwrap();
    drop(s);

    // Unknown code and a send with a malformed batch body get error responses, not closes.
    let r = good
        .invoke(&c.broker_addr, RemotingCommand::new_request(4242), T)
        .await
        .unwrap();
    assert_eq!(r.code, ResponseCode::RequestCodeNotSupported.code());
    let mut batch = send_request("Sturdy", 0, &[0, 0, 0, 99, 1, 2], &Default::default());
    batch.code = RequestCode::SendBatchMessage.code();
    let r = good.invoke(&c.broker_addr, batch, T).await.unwrap();
    assert_eq!(r.code, ResponseCode::MessageIllegal.code());
    let r = good
        .invoke(
            &c.broker_addr,
            RemotingCommand::new_request(RequestCode::PullMessage).with_ext("topic", "Sturdy"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, ResponseCode::SystemError.code());
    assert!(
        r.remark.unwrap().contains("<consumerGroup>"),
        "names the missing field"
    );
    let r = good
        .invoke(
            &c.broker_addr,
            RemotingCommand::new_request(RequestCode::HeartBeat).with_body(&b"{not json"[..]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, ResponseCode::SystemError.code());

    // Everything still works, for this client and a fresh one.
    for i in 1..20 {
        assert_eq!(send_ok(&c, i).await, 0);
    }
    c.dispatched().await;
    let (r, msgs) = c.pull("G", "Sturdy", 0, 0, "*", 0).await;
    assert_eq!(r.code, 0);
    assert_eq!(msgs.len(), 20);
}

#[tokio::test]
async fn graceful_restart_keeps_topics_groups_offsets_and_messages() {
    let mut c = Cluster::start().await;
    for i in 0..5 {
        assert_eq!(
            c.send("Keep", 0, format!("m{i}").as_bytes(), None, None)
                .await
                .code,
            0
        );
    }
    let group = SubscriptionGroupConfig {
        group_name: "KeepGroup".into(),
        retry_max_times: 3,
        ..Default::default()
    };
    let r = c
        .call(
            RemotingCommand::new_request(RequestCode::UpdateAndCreateSubscriptiongroup)
                .with_body(body::to_json(&group)),
        )
        .await;
    assert_eq!(r.code, 0);
    let upd = RemotingCommand::new_request(RequestCode::UpdateConsumerOffset)
        .with_ext("consumerGroup", "KeepGroup")
        .with_ext("topic", "Keep")
        .with_ext("queueId", 0)
        .with_ext("commitOffset", 3);
    assert_eq!(c.call(upd).await.code, 0);

    c.restart().await;

    let topics: TopicConfigSerializeWrapper = body::from_json(
        c.call(RemotingCommand::new_request(RequestCode::GetAllTopicConfig))
            .await
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert!(topics.topic_config_table.contains_key("Keep"));
    let groups: SubscriptionGroupWrapper = body::from_json(
        c.call(RemotingCommand::new_request(
            RequestCode::GetAllSubscriptiongroupConfig,
        ))
        .await
        .body
        .as_deref()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        groups.subscription_group_table["KeepGroup"].retry_max_times,
        3
    );
    let q = RemotingCommand::new_request(RequestCode::QueryConsumerOffset)
        .with_ext("consumerGroup", "KeepGroup")
        .with_ext("topic", "Keep")
        .with_ext("queueId", 0);
    assert_eq!(c.call(q).await.ext("offset"), Some("3"));
    let (_, msgs) = c.pull("KeepGroup", "Keep", 0, 3, "*", 0).await;
    assert_eq!(
        msgs.iter().map(|m| m.body.clone()).collect::<Vec<_>>(),
        vec![&b"m3"[..], &b"m4"[..]]
    );
    assert!(
        !c.broker
            .as_ref()
            .unwrap()
            .context()
            .store
            .recovery_report()
            .abnormal,
        "clean shutdown"
    );
}

/// Starts the real `mqbroker` binary and returns it with the port it printed.
fn spawn_broker(dir: &std::path::Path, port: u16) -> std::process::Child {
    let conf = dir.join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "brokerName=broker-k\nbrokerIP1=127.0.0.1\nlistenHost=127.0.0.1\nlistenPort={port}\nstorePathRootDir={}\nmapedFileSizeCommitLog=16777216\nmapedFileSizeConsumeQueue=60000\nmaxHashSlotNum=1000\nmaxIndexNum=4000\nflushConsumerOffsetInterval=1000\n",
            dir.join("store").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
        .args(["-n", "127.0.0.1:1", "-c"])
        .arg(&conf)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The broker prints its boot line once it is listening.
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("boot success"), "{line}");
    child
}

#[tokio::test]
async fn sigkill_keeps_messages_and_persisted_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let client = remoting::client::RemotingClient::new(Default::default());
    let mut child = spawn_broker(dir.path(), port);
    for i in 0..50 {
        let r = client
            .invoke(
                &addr,
                send_request("Crash", 0, format!("m{i}").as_bytes(), &Default::default()),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, 0);
    }
    let upd = RemotingCommand::new_request(RequestCode::UpdateConsumerOffset)
        .with_ext("consumerGroup", "CrashGroup")
        .with_ext("topic", "Crash")
        .with_ext("queueId", 0)
        .with_ext("commitOffset", 20);
    assert_eq!(client.invoke(&addr, upd, T).await.unwrap().code, 0);
    // Offsets reach disk on the flushConsumerOffsetInterval (1 s here): wait for the file.
    let offsets = dir.path().join("store/config/consumerOffset.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&offsets).is_ok_and(|t| t.contains("Crash@CrashGroup")) {
        assert!(Instant::now() < deadline, "offsets never persisted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        dir.path().join("store/abort").exists(),
        "a killed broker leaves its abort file"
    );

    client.close(&addr);
    let mut child = spawn_broker(dir.path(), port);
    let q = RemotingCommand::new_request(RequestCode::QueryConsumerOffset)
        .with_ext("consumerGroup", "CrashGroup")
        .with_ext("topic", "Crash")
        .with_ext("queueId", 0);
    assert_eq!(
        client.invoke(&addr, q, T).await.unwrap().ext("offset"),
        Some("20")
    );
    let r = client
        .invoke(&addr, pull_request("CrashGroup", "Crash", 0, 0, "*", 0), T)
        .await
        .unwrap();
    assert_eq!(r.code, 0);
    let mut got = remoting::message::decode_records(r.body.as_ref().unwrap()).unwrap();
    let mut next: i64 = r.ext("nextBeginOffset").unwrap().parse().unwrap();
    while next < 50 {
        let r = client
            .invoke(
                &addr,
                pull_request("CrashGroup", "Crash", 0, next, "*", 0),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, 0);
        got.extend(remoting::message::decode_records(r.body.as_ref().unwrap()).unwrap());
        next = r.ext("nextBeginOffset").unwrap().parse().unwrap();
    }
    assert_eq!(got.len(), 50);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(&m.body[..], format!("m{i}").as_bytes());
        assert_eq!(m.queue_offset, i as i64);
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    child.wait().unwrap();
    assert!(
        !dir.path().join("store/abort").exists(),
        "SIGTERM shuts down cleanly"
    );
}
