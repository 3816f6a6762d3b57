//! The remoting client: reuses one connection per address, with per-request timeouts,
//! oneway sends, and a handler for requests the server initiates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;

use crate::command::RemotingCommand;
use crate::connection::{Connection, ConnectionConfig, NotSupportedHandler, RequestHandler};
use crate::error::RemotingError;

/// Client settings (`NettyClientConfig`).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Connect timeout (default 3 s).
    pub connect_timeout: Duration,
    /// Frames longer than this close the connection.
    pub max_frame_len: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(3),
            max_frame_len: crate::codec::DEFAULT_MAX_FRAME_LEN,
        }
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Connection>>>;

/// A client that keeps one connection per `host:port`.
pub struct RemotingClient {
    config: ClientConfig,
    handler: Arc<dyn RequestHandler>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl RemotingClient {
    /// A client whose connections answer server-initiated requests with
    /// `REQUEST_CODE_NOT_SUPPORTED`.
    pub fn new(config: ClientConfig) -> Self {
        Self::with_handler(config, Arc::new(NotSupportedHandler))
    }

    /// A client whose connections pass server-initiated requests to `handler`.
    pub fn with_handler(config: ClientConfig, handler: Arc<dyn RequestHandler>) -> Self {
        RemotingClient {
            config,
            handler,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The open connection to `addr`, connecting if there is none.
    pub async fn connection(&self, addr: &str) -> Result<Connection, RemotingError> {
        let slot = self
            .slots
            .lock()
            .expect("slots lock")
            .entry(addr.to_owned())
            .or_default()
            .clone();
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let stream = tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| RemotingError::ConnectTimeout(addr.to_owned()))?
            .map_err(|source| RemotingError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        let conn = Connection::spawn(
            stream,
            self.handler.clone(),
            ConnectionConfig {
                max_frame_len: self.config.max_frame_len,
                ..Default::default()
            },
        );
        *guard = Some(conn.clone());
        Ok(conn)
    }

    /// Sends `request` to `addr` and waits up to `timeout` for the response.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let conn = self.connection(addr).await?;
        conn.request(request, timeout).await
    }

    /// Sends `request` to `addr` as a oneway request.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.connection(addr).await?.send_oneway(request).await
    }

    /// Closes the connection to `addr`, if any.
    pub fn close(&self, addr: &str) {
        if let Some(slot) = self.slots.lock().expect("slots lock").remove(addr)
            && let Ok(guard) = slot.try_lock()
            && let Some(c) = guard.as_ref()
        {
            c.close();
        }
    }
}

impl Drop for RemotingClient {
    fn drop(&mut self) {
        for slot in self.slots.lock().expect("slots lock").values() {
            if let Ok(guard) = slot.try_lock()
                && let Some(c) = guard.as_ref()
            {
                c.close();
            }
        }
    }
}
