//! `BrokerConfig`: Apache's broker keys. Store keys in the same `broker.conf`
//! (`storePathRootDir`, `flushDiskType`, `brokerRole`, ...) go to the store's config.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

use remoting::config::ConfigError;
use store::MessageStoreConfig;

fn local_ip() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    (host.as_str(), 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(|a| matches!(a.ip(), IpAddr::V4(ip) if !ip.is_loopback())))
        .map_or_else(|| Ipv4Addr::LOCALHOST.to_string(), |a| a.ip().to_string())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "broker-a".into())
}

remoting::properties_config! {
    /// Broker settings with Apache's key names and defaults.
    pub struct BrokerConfig {
        /// `ROCKETMQ_HOME`.
        pub rocketmq_home: String = "rocketmqHome", std::env::var("ROCKETMQ_HOME").unwrap_or_default();
        /// Name servers, `host:port` separated by `;`.
        pub namesrv_addr: String = "namesrvAddr", std::env::var("NAMESRV_ADDR").unwrap_or_default();
        /// Address clients reach this broker at.
        pub broker_ip1: String = "brokerIP1", local_ip();
        /// Address slaves reach the HA service at.
        pub broker_ip2: String = "brokerIP2", local_ip();
        /// Broker group name.
        pub broker_name: String = "brokerName", host_name();
        /// Cluster name.
        pub broker_cluster_name: String = "brokerClusterName", "DefaultCluster".into();
        /// 0 = master, > 0 = slave.
        pub broker_id: i64 = "brokerId", 0;
        /// Remoting port.
        pub listen_port: u16 = "listenPort", 10911;
        /// HA port.
        pub ha_listen_port: u16 = "haListenPort", 10912;
        /// Address to bind.
        pub listen_host: String = "listenHost", "0.0.0.0".into();
        /// Broker permission bits (6 = read and write).
        pub broker_permission: i32 = "brokerPermission", 6;
        /// Queues of `TBW102` and of auto-created topics at most.
        pub default_topic_queue_nums: i32 = "defaultTopicQueueNums", 8;
        /// Create unknown topics on first send (through `TBW102`).
        pub auto_create_topic_enable: bool = "autoCreateTopicEnable", true;
        /// Create the cluster-name topic with read/write permission.
        pub cluster_topic_enable: bool = "clusterTopicEnable", true;
        /// Create the broker-name topic with read/write permission.
        pub broker_topic_enable: bool = "brokerTopicEnable", true;
        /// Create unknown consumer groups on first use.
        pub auto_create_subscription_group: bool = "autoCreateSubscriptionGroup", true;
        /// How often (ms) to re-register with the name servers.
        pub register_name_server_period: u64 = "registerNameServerPeriod", 30_000;
        /// Timeout (ms) of a registration call.
        pub register_broker_timeout_mills: u64 = "registerBrokerTimeoutMills", 6_000;
        /// Send REGISTER_BROKER bodies compressed.
        pub compressed_register: bool = "compressedRegister", false;
        /// Hold pulls that find nothing until a message arrives.
        pub long_polling_enable: bool = "longPollingEnable", true;
        /// Hold time (ms) when long polling is off.
        pub short_polling_time_mills: u64 = "shortPollingTimeMills", 1_000;
        /// `MSG_REGION` in send responses.
        pub region_id: String = "regionId", "DefaultRegion".into();
        /// `TRACE_ON` in send responses.
        pub trace_on: bool = "traceOn", true;
        /// Reject transactional (half) messages.
        pub reject_transaction_message: bool = "rejectTransactionMessage", false;
        /// Sends in flight before SYSTEM_BUSY.
        pub send_thread_pool_queue_capacity: usize = "sendThreadPoolQueueCapacity", 10_000;
        /// Pulls in flight before SYSTEM_BUSY.
        pub pull_thread_pool_queue_capacity: usize = "pullThreadPoolQueueCapacity", 100_000;
        /// Client channels silent this long (ms) are dropped.
        pub channel_expired_timeout: u64 = "channelExpiredTimeout", 120_000;
        /// How often (ms) consumer offsets are persisted.
        pub flush_consumer_offset_interval: u64 = "flushConsumerOffsetInterval", 5_000;
        /// QUERY_MESSAGE cap for unique-key queries.
        pub default_query_max_num: i32 = "defaultQueryMaxNum", 32;
        /// Push NOTIFY_CONSUMER_IDS_CHANGED to group members.
        pub notify_consumer_ids_changed_enable: bool = "notifyConsumerIdsChangedEnable", true;
        /// Connections idle this long (s) are closed.
        pub server_channel_max_idle_time_seconds: u64 = "serverChannelMaxIdleTimeSeconds", 120;
        /// Largest accepted frame, bytes.
        pub frame_max_length: usize = "frameMaxLength", remoting::codec::DEFAULT_MAX_FRAME_LEN;
        /// Queue lock lifetime (ms) for orderly consumers.
        pub rebalance_lock_max_live_time: u64 = "rebalanceLockMaxLiveTime", 60_000;
    }
}

impl BrokerConfig {
    /// `brokerIP1:listenPort`.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.listen_port)
    }

    /// `brokerIP2:haListenPort`.
    pub fn ha_server_addr(&self) -> String {
        format!("{}:{}", self.broker_ip2, self.ha_listen_port)
    }

    /// Name-server addresses.
    pub fn namesrv_list(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The whole broker configuration: broker keys and store keys.
#[derive(Debug, Clone)]
pub struct BrokerStartupConfig {
    /// Broker keys.
    pub broker: BrokerConfig,
    /// Store keys.
    pub store: MessageStoreConfig,
}

impl Default for BrokerStartupConfig {
    fn default() -> Self {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        BrokerStartupConfig {
            broker: BrokerConfig::default(),
            store: MessageStoreConfig::with_root(std::path::Path::new(&home).join("store")),
        }
    }
}

impl BrokerStartupConfig {
    /// Applies `broker.conf` pairs; returns the keys neither config knows.
    pub fn apply(&mut self, props: &BTreeMap<String, String>) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        for (k, v) in props {
            let for_broker = self.broker.set(k, v)?;
            let for_store = self.store.set(k, v).map_err(|_| ConfigError::Invalid {
                key: k.clone(),
                value: v.clone(),
            })?;
            if !for_broker && !for_store {
                unknown.push(k.clone());
            }
        }
        Ok(unknown)
    }

    /// Every key with its value: broker keys, then store keys.
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        let mut out = self.broker.to_properties();
        out.extend(store_properties(&self.store));
        out
    }

    /// True when this broker is a slave.
    pub fn is_slave(&self) -> bool {
        self.store.broker_role == store::BrokerRole::Slave
    }
}

/// The store keys of a `broker.conf`, with their values.
pub fn store_properties(s: &MessageStoreConfig) -> Vec<(&'static str, String)> {
    let role = match s.broker_role {
        store::BrokerRole::AsyncMaster => "ASYNC_MASTER",
        store::BrokerRole::SyncMaster => "SYNC_MASTER",
        store::BrokerRole::Slave => "SLAVE",
    };
    let flush = match s.flush_disk_type {
        store::FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
        store::FlushDiskType::SyncFlush => "SYNC_FLUSH",
    };
    vec![
        (
            "storePathRootDir",
            s.store_path_root_dir.display().to_string(),
        ),
        (
            "storePathCommitLog",
            s.commit_log_dir().display().to_string(),
        ),
        ("brokerRole", role.into()),
        ("flushDiskType", flush.into()),
        (
            "mapedFileSizeCommitLog",
            s.mapped_file_size_commit_log.to_string(),
        ),
        (
            "mapedFileSizeConsumeQueue",
            s.mapped_file_size_consume_queue.to_string(),
        ),
        ("maxMessageSize", s.max_message_size.to_string()),
        ("messageIndexEnable", s.message_index_enable.to_string()),
        ("maxHashSlotNum", s.max_hash_slot_num.to_string()),
        ("maxIndexNum", s.max_index_num.to_string()),
        (
            "flushIntervalCommitLog",
            s.flush_interval_commit_log.to_string(),
        ),
        (
            "flushCommitLogLeastPages",
            s.flush_commit_log_least_pages.to_string(),
        ),
        (
            "flushCommitLogThoroughInterval",
            s.flush_commit_log_thorough_interval.to_string(),
        ),
        ("syncFlushTimeout", s.sync_flush_timeout.to_string()),
        ("deleteWhen", s.delete_when.clone()),
        ("fileReservedTime", s.file_reserved_time.to_string()),
        (
            "diskMaxUsedSpaceRatio",
            s.disk_max_used_space_ratio.to_string(),
        ),
        (
            "cleanFileForciblyEnable",
            s.clean_file_forcibly_enable.to_string(),
        ),
        (
            "maxTransferBytesOnMessageInMemory",
            s.max_transfer_bytes_on_message_in_memory.to_string(),
        ),
        (
            "maxTransferCountOnMessageInMemory",
            s.max_transfer_count_on_message_in_memory.to_string(),
        ),
        ("maxMsgsNumBatch", s.max_msgs_num_batch.to_string()),
        ("messageDelayLevel", s.message_delay_level.clone()),
        (
            "transientStorePoolEnable",
            s.is_transient_store_pool_enable().to_string(),
        ),
        (
            "transientStoreBufferSize",
            s.write_buffer_size().to_string(),
        ),
        ("prefaultAheadBytes", s.prefault_ahead_bytes.to_string()),
    ]
}
