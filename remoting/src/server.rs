//! The remoting server: accepts connections and routes requests by code.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::command::RemotingCommand;
use crate::connection::{Connection, ConnectionConfig, RequestHandler};

/// Server settings (`NettyServerConfig`).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Frames longer than this close the connection (default 16 MiB).
    pub max_frame_len: usize,
    /// `serverChannelMaxIdleTimeSeconds`: close connections idle this long (default 120 s).
    pub idle_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame_len: crate::codec::DEFAULT_MAX_FRAME_LEN,
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Routes requests to processors by request code; unknown codes get
/// `REQUEST_CODE_NOT_SUPPORTED`.
#[derive(Default, Clone)]
pub struct Router {
    routes: HashMap<i32, Arc<dyn RequestHandler>>,
    close_hooks: Vec<Arc<dyn RequestHandler>>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes each of `codes` to `processor`; its `on_close` is called for every closed
    /// connection.
    pub fn route(
        mut self,
        codes: &[crate::protocol::RequestCode],
        processor: Arc<dyn RequestHandler>,
    ) -> Self {
        for c in codes {
            self.routes.insert(c.code(), processor.clone());
        }
        if !self.close_hooks.iter().any(|h| Arc::ptr_eq(h, &processor)) {
            self.close_hooks.push(processor);
        }
        self
    }
}

#[async_trait]
impl RequestHandler for Router {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        match self.routes.get(&request.code) {
            Some(p) => p.handle(conn, request).await,
            None => {
                debug!(code = request.code, peer = %conn.peer_addr(), "request code not supported");
                Some(RemotingCommand::not_supported(&request))
            }
        }
    }

    fn on_close(&self, conn: &Connection) {
        for h in &self.close_hooks {
            h.on_close(conn);
        }
    }
}

/// A running server.
pub struct RemotingServer {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    accept_task: JoinHandle<()>,
    connections: Arc<Mutex<HashMap<u64, Connection>>>,
}

impl RemotingServer {
    /// Binds `addr` and starts accepting connections, each served by `handler`.
    pub async fn start(
        addr: &str,
        config: ServerConfig,
        handler: Arc<dyn RequestHandler>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let connections: Arc<Mutex<HashMap<u64, Connection>>> = Arc::default();
        let conn_config = ConnectionConfig {
            max_frame_len: config.max_frame_len,
            idle_timeout: Some(config.idle_timeout),
            ..Default::default()
        };
        let accept_task = tokio::spawn(accept_loop(
            listener,
            handler,
            conn_config,
            shutdown.clone(),
            connections.clone(),
        ));
        info!(%local_addr, "remoting server listening");
        Ok(RemotingServer {
            local_addr,
            shutdown,
            accept_task,
            connections,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The number of open connections.
    pub fn connection_count(&self) -> usize {
        self.connections.lock().expect("connections lock").len()
    }

    /// Stops accepting, closes every connection and waits for the accept loop to end.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.accept_task.await;
        for c in self
            .connections
            .lock()
            .expect("connections lock")
            .drain()
            .map(|(_, c)| c)
        {
            c.close();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    handler: Arc<dyn RequestHandler>,
    config: ConnectionConfig,
    shutdown: CancellationToken,
    connections: Arc<Mutex<HashMap<u64, Connection>>>,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                debug!(%peer, "connection accepted");
                let conn = Connection::spawn(stream, handler.clone(), config.clone());
                connections
                    .lock()
                    .expect("connections lock")
                    .insert(conn.id(), conn.clone());
                let registry = connections.clone();
                tokio::spawn(async move {
                    conn.closed().await;
                    registry
                        .lock()
                        .expect("connections lock")
                        .remove(&conn.id());
                });
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Completes on SIGTERM or SIGINT (what the server binaries wait for before a graceful stop).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
