//! `ProducerManager`: producer groups and their channels.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::RwLock;
use remoting::protocol::body::ProducerConnection;
use tokio::time::Instant;

use super::ClientChannelInfo;

/// Producer groups.
#[derive(Default)]
pub struct ProducerManager {
    groups: RwLock<HashMap<String, HashMap<u64, ClientChannelInfo>>>,
}

impl ProducerManager {
    /// Registers or refreshes a producer channel.
    pub fn register(&self, group: &str, channel: ClientChannelInfo) {
        self.groups
            .write()
            .entry(group.to_owned())
            .or_default()
            .insert(channel.conn.id(), channel);
    }

    /// Removes a connection from one group.
    pub fn unregister(&self, group: &str, conn_id: u64) {
        let mut groups = self.groups.write();
        if let Some(g) = groups.get_mut(group) {
            g.remove(&conn_id);
            if g.is_empty() {
                groups.remove(group);
            }
        }
    }

    /// Removes a connection from every group.
    pub fn on_connection_closed(&self, conn_id: u64) {
        self.groups.write().retain(|_, g| {
            g.remove(&conn_id);
            !g.is_empty()
        });
    }

    /// Drops channels without a heartbeat within `expiry`; returns them.
    pub fn scan_expired(&self, expiry: Duration) -> Vec<ClientChannelInfo> {
        let now = Instant::now();
        let mut expired = Vec::new();
        self.groups.write().retain(|_, g| {
            g.retain(|_, c| {
                let alive = now.duration_since(c.last_update) <= expiry;
                if !alive {
                    expired.push(c.clone());
                }
                alive
            });
            !g.is_empty()
        });
        expired
    }

    /// GET_PRODUCER_CONNECTION_LIST.
    pub fn connections(&self, group: &str) -> Option<ProducerConnection> {
        let groups = self.groups.read();
        let g = groups.get(group)?;
        let mut set: Vec<_> = g.values().map(ClientChannelInfo::to_connection).collect();
        set.sort();
        Some(ProducerConnection {
            connection_set: set,
        })
    }

    /// One live channel of a group (for transaction checks).
    pub fn any_channel(&self, group: &str) -> Option<ClientChannelInfo> {
        self.groups
            .read()
            .get(group)?
            .values()
            .find(|c| !c.conn.is_closed())
            .cloned()
    }
}
