//! One TCP connection carrying remoting frames both ways.
//!
//! A reader task decodes frames: responses complete the pending request with the same
//! opaque, requests go to a [`RequestHandler`] on their own task (so a long-polled request
//! never blocks the connection). A writer task sends queued commands in batches with
//! vectored writes, so bodies (e.g. mapped message records) are never copied. The same
//! machinery serves both ends, which is what lets a server push requests to its clients.

use std::collections::HashMap;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Buf, Bytes};
use futures::{FutureExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::codec::{RemotingCodec, encode_header};
use crate::command::RemotingCommand;
use crate::error::RemotingError;
use crate::protocol::ResponseCode;

/// Handles requests that arrive on a connection.
#[async_trait]
pub trait RequestHandler: Send + Sync + 'static {
    /// Processes one request. `None` sends no response (oneway requests never get one,
    /// whatever this returns; a handler may also answer later with [`Connection::send`]).
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand>;

    /// Called once when the connection has closed.
    fn on_close(&self, _conn: &Connection) {}
}

/// A handler that answers every request with `REQUEST_CODE_NOT_SUPPORTED`.
pub struct NotSupportedHandler;

#[async_trait]
impl RequestHandler for NotSupportedHandler {
    async fn handle(
        &self,
        _conn: &Connection,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(RemotingCommand::not_supported(&request))
    }
}

/// Per-connection settings.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Frames longer than this close the connection.
    pub max_frame_len: usize,
    /// Close after this long with no reads or writes; `None` never.
    pub idle_timeout: Option<Duration>,
    /// Commands that may wait in the send queue before senders wait.
    pub send_queue: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_frame_len: crate::codec::DEFAULT_MAX_FRAME_LEN,
            idle_timeout: None,
            send_queue: 4096,
        }
    }
}

/// A cheap, clonable handle to a live connection.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    peer: SocketAddr,
    tx: mpsc::Sender<RemotingCommand>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closed: CancellationToken,
    started: Instant,
    last_activity_ms: AtomicU64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

impl Connection {
    /// Starts the reader and writer tasks of `stream` and returns its handle.
    pub fn spawn(
        stream: TcpStream,
        handler: Arc<dyn RequestHandler>,
        config: ConnectionConfig,
    ) -> Connection {
        let _ = stream.set_nodelay(true);
        let peer = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::channel(config.send_queue.max(1));
        let conn = Connection {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                peer,
                tx,
                pending: Mutex::new(HashMap::new()),
                next_opaque: AtomicI32::new(0),
                closed: CancellationToken::new(),
                started: Instant::now(),
                last_activity_ms: AtomicU64::new(0),
            }),
        };
        tokio::spawn(write_loop(conn.clone(), wr, rx));
        let frames = FramedRead::new(rd, RemotingCodec::new(config.max_frame_len));
        tokio::spawn(read_loop(
            conn.clone(),
            frames,
            handler,
            config.idle_timeout,
        ));
        conn
    }

    /// A process-unique id of this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    /// True once the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Completes when the connection has closed.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }

    /// Queues a command (typically a response) for sending as it is.
    pub async fn send(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        self.inner
            .tx
            .send(cmd)
            .await
            .map_err(|_| self.closed_error())
    }

    /// Sends a request and waits up to `timeout` for its response. The opaque is assigned here.
    pub async fn request(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        cmd.opaque = opaque;
        cmd.flag &= !crate::command::FLAG_RESPONSE;
        let (done_tx, done_rx) = oneshot::channel();
        self.inner
            .pending
            .lock()
            .expect("pending lock")
            .insert(opaque, done_tx);
        let result = async {
            self.send(cmd).await?;
            tokio::select! {
                r = done_rx => r.map_err(|_| self.closed_error()),
                _ = tokio::time::sleep(timeout) => Err(RemotingError::Timeout {
                    addr: self.inner.peer.to_string(),
                    millis: timeout.as_millis(),
                }),
            }
        }
        .await;
        self.inner
            .pending
            .lock()
            .expect("pending lock")
            .remove(&opaque);
        result
    }

    /// Sends a request with the oneway flag; no response is expected.
    pub async fn send_oneway(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        let mut cmd = cmd.oneway();
        cmd.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        self.send(cmd).await
    }

    fn closed_error(&self) -> RemotingError {
        RemotingError::ConnectionClosed(self.inner.peer.to_string())
    }

    fn touch(&self) {
        let ms = self.inner.started.elapsed().as_millis() as u64;
        self.inner.last_activity_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = self.inner.last_activity_ms.load(Ordering::Relaxed);
        self.inner
            .started
            .elapsed()
            .saturating_sub(Duration::from_millis(last))
    }
}

async fn read_loop(
    conn: Connection,
    mut frames: FramedRead<tokio::net::tcp::OwnedReadHalf, RemotingCodec>,
    handler: Arc<dyn RequestHandler>,
    idle_timeout: Option<Duration>,
) {
    let peer = conn.peer_addr();
    loop {
        let next = tokio::select! {
            _ = conn.inner.closed.cancelled() => break,
            next = next_frame(&mut frames, idle_timeout) => next,
        };
        match next {
            Some(Ok(Some(cmd))) => {
                conn.touch();
                if cmd.is_response() {
                    let waiter = conn
                        .inner
                        .pending
                        .lock()
                        .expect("pending lock")
                        .remove(&cmd.opaque);
                    match waiter {
                        Some(w) => {
                            let _ = w.send(cmd);
                        }
                        None => {
                            debug!(%peer, opaque = cmd.opaque, "response with no pending request")
                        }
                    }
                } else {
                    tokio::spawn(dispatch(conn.clone(), handler.clone(), cmd));
                }
            }
            Some(Ok(None)) => break,
            Some(Err(e)) => {
                warn!(%peer, error = %e, "closing connection after a bad frame");
                break;
            }
            None => {
                if conn.idle_for() >= idle_timeout.unwrap_or(Duration::MAX) {
                    info!(%peer, "closing idle connection");
                    break;
                }
            }
        }
    }
    conn.close();
    conn.inner.pending.lock().expect("pending lock").clear();
    handler.on_close(&conn);
}

/// The next frame; `None` when the idle timeout elapsed first, `Ok(None)` at end of stream.
async fn next_frame(
    frames: &mut FramedRead<tokio::net::tcp::OwnedReadHalf, RemotingCodec>,
    idle_timeout: Option<Duration>,
) -> Option<Result<Option<RemotingCommand>, crate::error::FrameError>> {
    let read = async { frames.next().await.transpose() };
    match idle_timeout {
        Some(t) => tokio::time::timeout(t, read).await.ok(),
        None => Some(read.await),
    }
}

async fn dispatch(conn: Connection, handler: Arc<dyn RequestHandler>, request: RemotingCommand) {
    let oneway = request.is_oneway();
    let fallback = RemotingCommand::error(&request, ResponseCode::SystemError, "");
    let code = request.code;
    let response = match AssertUnwindSafe(handler.handle(&conn, request))
        .catch_unwind()
        .await
    {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            warn!(peer = %conn.peer_addr(), code, panic = %what, "request processor panicked");
            Some(fallback.with_remark(format!("processor failed: {what}")))
        }
    };
    if let (false, Some(resp)) = (oneway, response) {
        let _ = conn.send(resp).await;
    }
}

async fn write_loop(
    conn: Connection,
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<RemotingCommand>,
) {
    let mut parts: Vec<Bytes> = Vec::with_capacity(64);
    loop {
        let first = tokio::select! {
            _ = conn.inner.closed.cancelled() => break,
            c = rx.recv() => match c { Some(c) => c, None => break },
        };
        push_parts(&mut parts, first);
        while parts.len() < 256 {
            match rx.try_recv() {
                Ok(c) => push_parts(&mut parts, c),
                Err(_) => break,
            }
        }
        if let Err(e) = write_all_vectored(&mut wr, &mut parts).await {
            debug!(peer = %conn.peer_addr(), error = %e, "write failed");
            break;
        }
        conn.touch();
    }
    conn.close();
    let _ = wr.shutdown().await;
}

fn push_parts(parts: &mut Vec<Bytes>, cmd: RemotingCommand) {
    parts.push(encode_header(&cmd));
    parts.extend(
        cmd.body
            .into_iter()
            .chain(cmd.body_segments)
            .filter(|b| !b.is_empty()),
    );
}

async fn write_all_vectored(
    wr: &mut OwnedWriteHalf,
    parts: &mut Vec<Bytes>,
) -> std::io::Result<()> {
    let mut idx = 0;
    while idx < parts.len() {
        let slices: Vec<IoSlice<'_>> = parts[idx..]
            .iter()
            .take(512)
            .map(|b| IoSlice::new(b))
            .collect();
        let mut n = wr.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let len = parts[idx].len();
            if n >= len {
                n -= len;
                idx += 1;
            } else {
                parts[idx].advance(n);
                n = 0;
            }
        }
    }
    parts.clear();
    Ok(())
}
