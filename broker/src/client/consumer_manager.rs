//! `ConsumerManager`: consumer groups, their channels and subscriptions.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use parking_lot::RwLock;
use remoting::protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerConnection, MessageModel, SubscriptionData,
};
use tokio::time::Instant;
use tracing::info;

use super::ClientChannelInfo;

/// One consumer group as seen by this broker.
#[derive(Clone)]
pub struct ConsumerGroupInfo {
    /// Connection id → channel.
    pub channels: HashMap<u64, ClientChannelInfo>,
    /// Topic → subscription.
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    /// Pull or push.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where the group starts.
    pub consume_from_where: ConsumeFromWhere,
}

impl ConsumerGroupInfo {
    /// Client ids, sorted.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .channels
            .values()
            .map(|c| c.client_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// As GET_CONSUMER_CONNECTION_LIST reports it.
    pub fn to_connection(&self) -> ConsumerConnection {
        let mut set: Vec<_> = self
            .channels
            .values()
            .map(ClientChannelInfo::to_connection)
            .collect();
        set.sort();
        ConsumerConnection {
            connection_set: set,
            consume_from_where: Some(self.consume_from_where),
            consume_type: Some(self.consume_type),
            message_model: Some(self.message_model),
            subscription_table: self.subscriptions.clone(),
        }
    }
}

/// What a registration changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// The group's set of channels changed (a member joined).
    pub members_changed: bool,
}

/// Consumer groups.
#[derive(Default)]
pub struct ConsumerManager {
    groups: RwLock<HashMap<String, ConsumerGroupInfo>>,
}

impl ConsumerManager {
    /// Registers or refreshes one client of a group (from a heartbeat).
    pub fn register(
        &self,
        group: &str,
        channel: ClientChannelInfo,
        consume_type: ConsumeType,
        message_model: MessageModel,
        consume_from_where: ConsumeFromWhere,
        subscriptions: &[SubscriptionData],
    ) -> RegisterOutcome {
        let mut groups = self.groups.write();
        let info = groups
            .entry(group.to_owned())
            .or_insert_with(|| ConsumerGroupInfo {
                channels: HashMap::new(),
                subscriptions: BTreeMap::new(),
                consume_type,
                message_model,
                consume_from_where,
            });
        info.consume_type = consume_type;
        info.message_model = message_model;
        info.consume_from_where = consume_from_where;
        let id = channel.conn.id();
        let members_changed = !info.channels.contains_key(&id);
        if members_changed {
            info!(group, client = %channel.client_id, "consumer joined");
        }
        info.channels.insert(id, channel);
        // Keep the newest subscription of each topic; drop topics no longer subscribed.
        let mut next = BTreeMap::new();
        for s in subscriptions {
            let keep = match info.subscriptions.get(&s.topic) {
                Some(old) if old.sub_version > s.sub_version => old.clone(),
                _ => s.clone(),
            };
            next.insert(s.topic.clone(), keep);
        }
        if !next.is_empty() {
            info.subscriptions = next;
        }
        RegisterOutcome { members_changed }
    }

    /// Removes one connection from a group; true when it was a member.
    pub fn unregister(&self, group: &str, conn_id: u64) -> bool {
        let mut groups = self.groups.write();
        let Some(info) = groups.get_mut(group) else {
            return false;
        };
        let removed = info.channels.remove(&conn_id).is_some();
        if info.channels.is_empty() {
            groups.remove(group);
        }
        removed
    }

    /// Removes a connection from every group; returns the groups it left.
    pub fn on_connection_closed(&self, conn_id: u64) -> Vec<String> {
        let mut groups = self.groups.write();
        let mut left = Vec::new();
        groups.retain(|g, info| {
            if info.channels.remove(&conn_id).is_some() {
                left.push(g.clone());
            }
            !info.channels.is_empty()
        });
        left
    }

    /// Drops channels without a heartbeat within `expiry`; returns (group, connection) pairs.
    pub fn scan_expired(&self, expiry: Duration) -> Vec<(String, ClientChannelInfo)> {
        let now = Instant::now();
        let mut groups = self.groups.write();
        let mut expired = Vec::new();
        groups.retain(|g, info| {
            info.channels.retain(|_, c| {
                let alive = now.duration_since(c.last_update) <= expiry;
                if !alive {
                    expired.push((g.clone(), c.clone()));
                }
                alive
            });
            !info.channels.is_empty()
        });
        expired
    }

    /// A group's info.
    pub fn group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.groups.read().get(group).cloned()
    }

    /// A group's subscription to a topic.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.groups
            .read()
            .get(group)?
            .subscriptions
            .get(topic)
            .cloned()
    }

    /// Online groups subscribed to `topic`.
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        self.groups
            .read()
            .iter()
            .filter(|(_, i)| i.subscriptions.contains_key(topic))
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// Every online group name.
    pub fn group_names(&self) -> Vec<String> {
        self.groups.read().keys().cloned().collect()
    }
}
