//! `NamesrvConfig`: Apache's `NamesrvConfig` and `NettyServerConfig` keys that apply here.

use std::path::PathBuf;

fn home_path(rel: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    PathBuf::from(home).join(rel).display().to_string()
}

remoting::properties_config! {
    /// Name-server settings, read from `-c FILE` (Java properties) with Apache's key names.
    pub struct NamesrvConfig {
        /// Port to listen on.
        pub listen_port: u16 = "listenPort", 9876;
        /// Address to bind.
        pub listen_host: String = "listenHost", "0.0.0.0".into();
        /// `ROCKETMQ_HOME`.
        pub rocketmq_home: String = "rocketmqHome", std::env::var("ROCKETMQ_HOME").unwrap_or_default();
        /// Where KV config is persisted.
        pub kv_config_path: String = "kvConfigPath", home_path("namesrv/kvConfig.json");
        /// Where runtime config updates are persisted.
        pub config_store_path: String = "configStorePath", home_path("namesrv/namesrv.properties");
        /// Environment name.
        pub product_env_name: String = "productEnvName", "center".into();
        /// Test-cluster mode (routes fall back to a default topic).
        pub cluster_test: bool = "clusterTest", false;
        /// Send `orderTopicConf` from the `ORDER_TOPIC_CONFIG` KV namespace with routes.
        pub order_message_enable: bool = "orderMessageEnable", false;
        /// How often (ms) brokers that stopped registering are looked for.
        pub scan_not_active_broker_interval: u64 = "scanNotActiveBrokerInterval", 10_000;
        /// A broker silent this long (ms) is dropped.
        pub broker_channel_expired_time: u64 = "brokerChannelExpiredTime", 120_000;
        /// Connections idle this long (s) are closed.
        pub server_channel_max_idle_time_seconds: u64 = "serverChannelMaxIdleTimeSeconds", 120;
        /// Largest accepted frame, bytes.
        pub frame_max_length: usize = "frameMaxLength", remoting::codec::DEFAULT_MAX_FRAME_LEN;
    }
}

/// Keys UPDATE_NAMESRV_CONFIG may not change (Apache's `configBlackList`).
pub const CONFIG_BLACK_LIST: &[&str] = &[
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];
