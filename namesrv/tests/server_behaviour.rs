//! Name-server behaviour a client sees: KV config persistence, config get/update, unknown
//! codes, bad frames, and the exact bytes of a real C++ client.

mod common;

use common::*;
use remoting::RemotingCommand;
use remoting::protocol::body::{self, KvTable};
use remoting::protocol::{RequestCode, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn kv(code: RequestCode, ns: &str, key: &str) -> RemotingCommand {
    RemotingCommand::new_request(code)
        .with_ext("namespace", ns)
        .with_ext("key", key)
}

#[tokio::test]
async fn kv_config_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = namesrv::Namesrv::start(config_in(dir.path()))
        .await
        .unwrap();
    let addr = first.local_addr().to_string();
    for (k, v) in [("a", "1"), ("b", "два")] {
        let put = kv(RequestCode::PutKvConfig, "NS", k).with_ext("value", v);
        assert_eq!(call(&addr, put).await.code, 0);
    }
    call(
        &addr,
        kv(RequestCode::PutKvConfig, "NS", "c").with_ext("value", "3"),
    )
    .await;
    assert_eq!(
        call(&addr, kv(RequestCode::DeleteKvConfig, "NS", "c"))
            .await
            .code,
        0
    );
    first.shutdown().await;

    let second = namesrv::Namesrv::start(config_in(dir.path()))
        .await
        .unwrap();
    let addr = second.local_addr().to_string();
    let r = call(&addr, kv(RequestCode::GetKvConfig, "NS", "b")).await;
    assert_eq!(r.code, 0);
    assert_eq!(r.ext("value"), Some("два"));
    let r = call(&addr, kv(RequestCode::GetKvConfig, "NS", "c")).await;
    assert_eq!(r.code, ResponseCode::QueryNotFound.code());
    let list =
        RemotingCommand::new_request(RequestCode::GetKvlistByNamespace).with_ext("namespace", "NS");
    let t: KvTable = body::from_json(call(&addr, list).await.body.as_deref().unwrap()).unwrap();
    assert_eq!(t.table.len(), 2);
    let list = RemotingCommand::new_request(RequestCode::GetKvlistByNamespace)
        .with_ext("namespace", "Empty");
    assert_eq!(
        call(&addr, list).await.code,
        ResponseCode::QueryNotFound.code()
    );
}

#[tokio::test]
async fn get_and_update_namesrv_config() {
    let ns = start().await;
    let r = call(
        &ns.addr,
        RemotingCommand::new_request(RequestCode::GetNamesrvConfig),
    )
    .await;
    let text = String::from_utf8(r.body.unwrap().to_vec()).unwrap();
    assert!(text.contains("orderMessageEnable=false\n"), "{text}");

    let upd = RemotingCommand::new_request(RequestCode::UpdateNamesrvConfig)
        .with_body("orderMessageEnable=true\n");
    assert_eq!(call(&ns.addr, upd).await.code, 0);
    let r = call(
        &ns.addr,
        RemotingCommand::new_request(RequestCode::GetNamesrvConfig),
    )
    .await;
    assert!(
        String::from_utf8_lossy(r.body.as_deref().unwrap()).contains("orderMessageEnable=true\n")
    );
    let persisted = std::fs::read_to_string(ns.dir.path().join("namesrv.properties")).unwrap();
    assert!(persisted.contains("orderMessageEnable=true"));

    let forbidden = RemotingCommand::new_request(RequestCode::UpdateNamesrvConfig)
        .with_body("kvConfigPath=/etc/x\n");
    let r = call(&ns.addr, forbidden).await;
    assert_eq!(r.code, ResponseCode::NoPermission.code());
    let bad = RemotingCommand::new_request(RequestCode::UpdateNamesrvConfig)
        .with_body("listenPort=abc\n");
    assert_eq!(
        call(&ns.addr, bad).await.code,
        ResponseCode::SystemError.code()
    );
}

#[tokio::test]
async fn unknown_code_is_request_code_not_supported() {
    let ns = start().await;
    let r = call(
        &ns.addr,
        RemotingCommand::new_request(RequestCode::SendMessage),
    )
    .await;
    assert_eq!(r.code, ResponseCode::RequestCodeNotSupported.code());
    let r = call(&ns.addr, RemotingCommand::new_request(31337)).await;
    assert_eq!(r.code, ResponseCode::RequestCodeNotSupported.code());
    assert_eq!(
        r.remark.as_deref(),
        Some(" request type 31337 not supported")
    );
}

#[tokio::test]
async fn malformed_frame_closes_only_that_connection() {
    let ns = start().await;
    let b = FakeBroker::new("broker-a", 0, "10.0.0.1:10911", &[("Keep", 4)]);
    b.register(&ns.addr).await;
    let mut raw = TcpStream::connect(&ns.addr).await.unwrap();
    raw.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        .await
        .unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        raw.read(&mut buf).await.unwrap_or(0),
        0,
        "bad connection closed"
    );
    // The broker's own connection and routes are untouched.
    assert_eq!(b.register(&ns.addr).await.code, 0);
    assert_eq!(call(&ns.addr, route_request("Keep", 409)).await.code, 0);
}

/// The exact bytes the Apache C++ client 2.x sends for GET_ROUTEINFO_BY_TOPIC (captured).
#[tokio::test]
async fn captured_cpp_client_frame_gets_a_json_answer() {
    let ns = start().await;
    let b = FakeBroker::new("broker-a", 0, "127.0.0.1:10911", &[("TopicDbg", 4)]);
    b.register(&ns.addr).await;
    let header = "{\"code\":105,\"extFields\":{\"AccessKey\":\"\",\"OnsChannel\":\"ALIYUN\",\"Signature\":\"i7zev+pFknVi1Qq3m8JK/8cqtns=\",\"topic\":\"TopicDbg\"},\"flag\":0,\"language\":\"CPP\",\"opaque\":0,\"remark\":\"\",\"version\":333}\n";
    let mut frame = 193u32.to_be_bytes().to_vec();
    frame.extend_from_slice(&189u32.to_be_bytes());
    frame.extend_from_slice(header.as_bytes());
    let mut raw = TcpStream::connect(&ns.addr).await.unwrap();
    raw.write_all(&frame).await.unwrap();

    let total = raw.read_u32().await.unwrap() as usize;
    let mut rest = vec![0u8; total];
    raw.read_exact(&mut rest).await.unwrap();
    assert_eq!(rest[0], 0, "C++ clients only read JSON headers");
    let hlen = u32::from_be_bytes([0, rest[1], rest[2], rest[3]]) as usize;
    let header: serde_json::Value = serde_json::from_slice(&rest[4..4 + hlen]).unwrap();
    assert_eq!(header["code"], 0);
    assert_eq!(header["flag"], 1);
    assert_eq!(header["opaque"], 0);
    let body = std::str::from_utf8(&rest[4 + hlen..]).unwrap();
    assert!(
        body.contains(r#""brokerAddrs":{0:"127.0.0.1:10911"}"#),
        "{body}"
    );
}
