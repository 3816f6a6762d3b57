//! Who is connected: producer and consumer groups, their channels and subscriptions, and
//! the queue locks orderly consumers hold.

mod consumer_manager;
mod producer_manager;
mod rebalance_lock;

pub use consumer_manager::{ConsumerGroupInfo, ConsumerManager};
pub use producer_manager::ProducerManager;
pub use rebalance_lock::RebalanceLockManager;

use remoting::Connection;
use remoting::protocol::LanguageCode;
use remoting::protocol::body::ClientConnection;
use tokio::time::Instant;

/// One client connection of a group.
#[derive(Clone)]
pub struct ClientChannelInfo {
    /// The connection.
    pub conn: Connection,
    /// Client id.
    pub client_id: String,
    /// Client language.
    pub language: LanguageCode,
    /// Client version ordinal.
    pub version: i32,
    /// Last heartbeat.
    pub last_update: Instant,
}

impl ClientChannelInfo {
    /// As reported in connection lists.
    pub fn to_connection(&self) -> ClientConnection {
        ClientConnection {
            client_addr: self.conn.peer_addr().to_string(),
            client_id: self.client_id.clone(),
            language: self.language.name().to_owned(),
            version: self.version,
        }
    }
}
