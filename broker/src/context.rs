//! `BrokerContext`: everything the processors share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use store::MessageStore;
use tokio::sync::{Notify, Semaphore};

use crate::client::{ConsumerManager, ProducerManager, RebalanceLockManager};
use crate::config::BrokerConfig;
use crate::consumer_offset::ConsumerOffsetManager;
use crate::long_polling::PullRequestHoldService;
use crate::namesrv_api::BrokerIdentity;
use crate::subscription_group::SubscriptionGroupManager;
use crate::topic_config::TopicConfigManager;

/// Message counters for runtime info and stats.
#[derive(Default)]
pub struct BrokerStats {
    /// Messages stored since start.
    pub put_messages: AtomicU64,
    /// Messages returned by pulls since start.
    pub get_messages: AtomicU64,
    /// Sends refused.
    pub put_failures: AtomicU64,
}

impl BrokerStats {
    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// State shared by the broker's processors and services.
pub struct BrokerContext {
    /// Broker keys (UPDATE_BROKER_CONFIG changes them at runtime).
    pub config: RwLock<BrokerConfig>,
    /// True when this broker is a slave.
    pub is_slave: bool,
    /// The message store.
    pub store: Arc<MessageStore>,
    /// Topics.
    pub topics: TopicConfigManager,
    /// Consumer groups' settings.
    pub groups: SubscriptionGroupManager,
    /// Consumer offsets.
    pub offsets: ConsumerOffsetManager,
    /// Online consumers.
    pub consumers: ConsumerManager,
    /// Online producers.
    pub producers: ProducerManager,
    /// Orderly-consumer queue locks.
    pub locks: RebalanceLockManager,
    /// Long-polled pulls.
    pub holds: Arc<PullRequestHoldService>,
    /// STOREHOST of stored messages (`brokerIP1:listenPort`).
    pub store_host: SocketAddr,
    /// Registration identity.
    pub identity: BrokerIdentity,
    /// Start time, ms.
    pub boot_timestamp: i64,
    /// Sends in flight (SYSTEM_BUSY when exhausted).
    pub send_permits: Semaphore,
    /// Wakes the registration task (topics changed).
    pub register_now: Notify,
    /// Counters.
    pub stats: BrokerStats,
}

impl BrokerContext {
    /// Asks for an immediate re-registration with the name servers.
    pub fn topics_changed(&self) {
        self.register_now.notify_one();
    }

    /// Broker permission bits.
    pub fn broker_permission(&self) -> i32 {
        self.config.read().broker_permission
    }
}

/// Milliseconds since the epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
