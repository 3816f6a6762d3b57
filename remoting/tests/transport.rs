//! Client and server over loopback TCP.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use remoting::client::{ClientConfig, RemotingClient};
use remoting::server::{RemotingServer, Router, ServerConfig};
use remoting::{
    Connection, RemotingCommand, RemotingError, RequestCode, RequestHandler, ResponseCode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const T: Duration = Duration::from_secs(5);

/// Echoes the `topic` ext field back; SEND_MESSAGE never answers; PULL_MESSAGE panics.
struct Echo {
    seen: mpsc::UnboundedSender<RemotingCommand>,
}

#[async_trait]
impl RequestHandler for Echo {
    async fn handle(&self, _conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let _ = self.seen.send(req.clone());
        match req.request_code() {
            Some(RequestCode::SendMessage) => None,
            Some(RequestCode::PullMessage) => panic!("boom"),
            _ => Some(
                RemotingCommand::success(&req).with_ext("topic", req.ext("topic").unwrap_or("-")),
            ),
        }
    }
}

async fn start(config: ServerConfig) -> (RemotingServer, mpsc::UnboundedReceiver<RemotingCommand>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let echo = Arc::new(Echo { seen: tx });
    let router = Router::new().route(
        &[
            RequestCode::GetRouteinfoByTopic,
            RequestCode::SendMessage,
            RequestCode::PullMessage,
            RequestCode::HeartBeat,
        ],
        echo,
    );
    (
        RemotingServer::start("127.0.0.1:0", config, Arc::new(router))
            .await
            .unwrap(),
        rx,
    )
}

fn route_request(topic: &str) -> RemotingCommand {
    RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic).with_ext("topic", topic)
}

#[tokio::test]
async fn request_response_and_connection_reuse() {
    let (server, _seen) = start(ServerConfig::default()).await;
    let addr = server.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default());
    for i in 0..20 {
        let resp = client
            .invoke(&addr, route_request(&format!("T{i}")), T)
            .await
            .unwrap();
        assert_eq!(resp.code, 0);
        assert_eq!(resp.ext("topic"), Some(format!("T{i}").as_str()));
    }
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test]
async fn concurrent_requests_on_one_connection_get_their_own_responses() {
    let (server, _seen) = start(ServerConfig::default()).await;
    let addr = server.local_addr().to_string();
    let client = Arc::new(RemotingClient::new(ClientConfig::default()));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (client, addr) = (client.clone(), addr.clone());
            tokio::spawn(async move {
                let r = client
                    .invoke(&addr, route_request(&format!("t{i}")), T)
                    .await
                    .unwrap();
                assert_eq!(r.ext("topic"), Some(format!("t{i}").as_str()));
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn unknown_code_gets_request_code_not_supported() {
    let (server, _seen) = start(ServerConfig::default()).await;
    let client = RemotingClient::new(ClientConfig::default());
    let resp = client
        .invoke(
            &server.local_addr().to_string(),
            RemotingCommand::new_request(9999),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::RequestCodeNotSupported.code());
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
}

#[tokio::test]
async fn request_timeout_and_oneway() {
    let (server, mut seen) = start(ServerConfig::default()).await;
    let addr = server.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default());
    let err = client
        .invoke(
            &addr,
            RemotingCommand::new_request(RequestCode::SendMessage),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RemotingError::Timeout { .. }), "{err}");
    assert_eq!(
        seen.recv().await.unwrap().code,
        RequestCode::SendMessage.code()
    );

    client
        .invoke_oneway(&addr, route_request("ow"))
        .await
        .unwrap();
    let got = seen.recv().await.unwrap();
    assert!(got.is_oneway());
    // The oneway request got no response: the next request's response is its own.
    let r = client
        .invoke(&addr, route_request("after"), T)
        .await
        .unwrap();
    assert_eq!(r.ext("topic"), Some("after"));
}

#[tokio::test]
async fn processor_panic_becomes_system_error() {
    let (server, _seen) = start(ServerConfig::default()).await;
    let client = RemotingClient::new(ClientConfig::default());
    let resp = client
        .invoke(
            &server.local_addr().to_string(),
            RemotingCommand::new_request(RequestCode::PullMessage),
            T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SystemError.code());
    assert!(resp.remark.unwrap().contains("boom"));
}

#[tokio::test]
async fn malformed_frame_closes_only_that_connection() {
    let (server, _seen) = start(ServerConfig {
        max_frame_len: 1 << 20,
        ..Default::default()
    })
    .await;
    let addr = server.local_addr().to_string();
    let good = RemotingClient::new(ClientConfig::default());
    assert_eq!(
        good.invoke(&addr, route_request("a"), T)
            .await
            .unwrap()
            .code,
        0
    );

    for garbage in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), // length field far too large
        vec![0, 0, 0, 6, 0, 0, 0, 2, b'{', b'{'],      // bad JSON
        vec![0, 0, 0, 6, 9, 0, 0, 2, b'{', b'}'],      // unknown serialize type
    ] {
        let mut raw = TcpStream::connect(&addr).await.unwrap();
        raw.write_all(&garbage).await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(T, raw.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0, "server closes the bad connection without a reply");
    }
    // A truncated frame followed by a close: nothing to answer, nothing breaks.
    let mut raw = TcpStream::connect(&addr).await.unwrap();
    raw.write_all(&[0, 0, 0, 50, 0, 0, 0, 10, b'{'])
        .await
        .unwrap();
    drop(raw);

    assert_eq!(
        good.invoke(&addr, route_request("b"), T)
            .await
            .unwrap()
            .ext("topic"),
        Some("b")
    );
}

/// The server pushes a request to a connected client and gets the client's answer.
#[tokio::test]
async fn server_push_to_client_handler() {
    struct ClientSide;
    #[async_trait]
    impl RequestHandler for ClientSide {
        async fn handle(&self, _c: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
            Some(RemotingCommand::success(&req).with_ext("clientId", "c-1"))
        }
    }
    struct Capture(mpsc::UnboundedSender<Connection>);
    #[async_trait]
    impl RequestHandler for Capture {
        async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
            let _ = self.0.send(conn.clone());
            Some(RemotingCommand::success(&req))
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let router = Router::new().route(&[RequestCode::HeartBeat], Arc::new(Capture(tx)));
    let server = RemotingServer::start("127.0.0.1:0", ServerConfig::default(), Arc::new(router))
        .await
        .unwrap();
    let client = RemotingClient::with_handler(ClientConfig::default(), Arc::new(ClientSide));
    let addr = server.local_addr().to_string();
    client
        .invoke(
            &addr,
            RemotingCommand::new_request(RequestCode::HeartBeat),
            T,
        )
        .await
        .unwrap();
    let conn_to_client = rx.recv().await.unwrap();
    let answer = conn_to_client
        .request(
            RemotingCommand::new_request(RequestCode::GetConsumerRunningInfo),
            T,
        )
        .await
        .unwrap();
    assert_eq!(answer.ext("clientId"), Some("c-1"));
}

#[tokio::test(start_paused = true)]
async fn idle_connections_are_closed() {
    let (server, _seen) = start(ServerConfig {
        idle_timeout: Duration::from_secs(120),
        ..Default::default()
    })
    .await;
    let client = RemotingClient::new(ClientConfig::default());
    let addr = server.local_addr().to_string();
    let conn = client.connection(&addr).await.unwrap();
    client.invoke(&addr, route_request("x"), T).await.unwrap();
    tokio::time::timeout(Duration::from_secs(600), conn.closed())
        .await
        .expect("server closed the idle connection");
    assert!(conn.is_closed());
}

#[tokio::test]
async fn connect_error_names_the_address() {
    let client = RemotingClient::new(ClientConfig::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let err = client
        .invoke(&addr, route_request("x"), T)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&addr), "{err}");
}
