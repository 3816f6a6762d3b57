//! `TopicConfigManager`: the broker's topics, persisted in `config/topics.json`.

use std::path::PathBuf;

use parking_lot::RwLock;
use remoting::protocol::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper, perm};
use tracing::{info, warn};

use crate::config::BrokerConfig;
use crate::persist;

/// The topic new topics inherit from.
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// Scheduled (delayed) messages.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Self test.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Benchmark topic.
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// Offset-moved events.
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// Transaction half messages.
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Transaction op messages.
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages checked too often.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Retry-topic prefix.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Dead-letter-topic prefix.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// System-topic prefix.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// Topics clients may not send to.
pub const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    SCHEDULE_TOPIC,
    TRANS_HALF_TOPIC,
    TRANS_OP_HALF_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
];

/// Why a topic name is refused.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if topic.trim().is_empty() {
        return Err("The specified topic is blank.".into());
    }
    if topic.len() > 127 {
        return Err("The specified topic is longer than topic max length 127.".into());
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"%|_-".contains(&b))
    {
        return Err(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

/// The `%RETRY%` topic of a group.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// The `%DLQ%` topic of a group.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// The broker's topic table.
pub struct TopicConfigManager {
    path: PathBuf,
    inner: RwLock<TopicConfigSerializeWrapper>,
    system_topics: Vec<String>,
}

impl TopicConfigManager {
    /// Loads `topics.json` from `config_dir` and adds the system topics.
    pub fn load(config_dir: PathBuf, bc: &BrokerConfig) -> Self {
        let path = config_dir.join("topics.json");
        let mut wrapper: TopicConfigSerializeWrapper =
            persist::load(&path).unwrap_or_else(|| TopicConfigSerializeWrapper {
                data_version: DataVersion::now(),
                ..Default::default()
            });
        let mut system = Vec::new();
        let mut add = |name: &str, queues: i32, perm: i32| {
            system.push(name.to_owned());
            let mut tc = TopicConfig::new(name, queues);
            tc.perm = perm;
            wrapper
                .topic_config_table
                .entry(name.to_owned())
                .or_insert(tc);
        };
        let rw = perm::READ | perm::WRITE;
        add(SELF_TEST_TOPIC, 1, rw);
        if bc.auto_create_topic_enable {
            add(
                AUTO_CREATE_TOPIC_KEY_TOPIC,
                bc.default_topic_queue_nums,
                rw | perm::INHERIT,
            );
        }
        add(BENCHMARK_TOPIC, 1024, rw);
        let cluster_perm = if bc.cluster_topic_enable {
            rw | perm::INHERIT
        } else {
            perm::INHERIT
        };
        add(&bc.broker_cluster_name, 16, cluster_perm);
        let broker_perm = if bc.broker_topic_enable {
            rw | perm::INHERIT
        } else {
            perm::INHERIT
        };
        add(&bc.broker_name, 1, broker_perm);
        add(OFFSET_MOVED_EVENT, 1, rw);
        add(SCHEDULE_TOPIC, 18, rw);
        add(&format!("{}_REPLY_TOPIC", bc.broker_cluster_name), 1, rw);
        info!(
            topics = wrapper.topic_config_table.len(),
            "topic configs loaded"
        );
        TopicConfigManager {
            path,
            inner: RwLock::new(wrapper),
            system_topics: system,
        }
    }

    /// One topic's config.
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.inner.read().topic_config_table.get(topic).cloned()
    }

    /// True for a topic created by the broker itself (or with the system prefix).
    pub fn is_system_topic(&self, topic: &str) -> bool {
        self.system_topics.iter().any(|t| t == topic)
            || topic.starts_with(SYSTEM_TOPIC_PREFIX)
            || NOT_ALLOWED_SEND_TOPICS.contains(&topic)
    }

    /// A copy of the table with its version (GET_ALL_TOPIC_CONFIG and registration).
    pub fn snapshot(&self) -> TopicConfigSerializeWrapper {
        self.inner.read().clone()
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        self.inner.read().data_version
    }

    /// Creates or replaces a topic; bumps the version and persists.
    pub fn update(&self, tc: TopicConfig) {
        let mut w = self.inner.write();
        info!(topic = %tc.topic_name, queues = tc.write_queue_nums, perm = tc.perm, "topic config updated");
        w.topic_config_table.insert(tc.topic_name.clone(), tc);
        w.data_version.next();
        self.persist(&w);
    }

    /// Removes a topic; true when it existed.
    pub fn delete(&self, topic: &str) -> bool {
        let mut w = self.inner.write();
        let existed = w.topic_config_table.remove(topic).is_some();
        if existed {
            w.data_version.next();
            self.persist(&w);
            info!(topic, "topic config deleted");
        }
        existed
    }

    /// Auto-creates `topic` on a send (Apache `createTopicInSendMessageMethod`): inherits from
    /// `default_topic` when that topic has the inherit bit. Returns the new config, if any.
    pub fn create_in_send(
        &self,
        topic: &str,
        default_topic: &str,
        queue_nums: i32,
        topic_sys_flag: i32,
        auto_create: bool,
    ) -> Option<TopicConfig> {
        if let Some(tc) = self.get(topic) {
            return Some(tc);
        }
        let default = self.get(default_topic)?;
        if default_topic == AUTO_CREATE_TOPIC_KEY_TOPIC && !auto_create {
            return None;
        }
        if default.perm & perm::INHERIT == 0 {
            warn!(
                topic,
                default_topic, "default topic has no inherit permission; not creating"
            );
            return None;
        }
        let queues = queue_nums.min(default.write_queue_nums).max(1);
        let tc = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: default.perm & !perm::INHERIT,
            topic_filter_type: default.topic_filter_type,
            topic_sys_flag,
            order: false,
        };
        let mut w = self.inner.write();
        let tc = w
            .topic_config_table
            .entry(topic.to_owned())
            .or_insert(tc)
            .clone();
        w.data_version.next();
        self.persist(&w);
        info!(topic, queues, "topic auto-created on send");
        Some(tc)
    }

    /// Creates a retry or DLQ topic with `queues` queues (`createTopicInSendMessageBackMethod`).
    pub fn create_internal(&self, topic: &str, queues: i32, perm: i32) -> (TopicConfig, bool) {
        if let Some(tc) = self.get(topic) {
            return (tc, false);
        }
        let mut tc = TopicConfig::new(topic, queues);
        tc.perm = perm;
        let mut w = self.inner.write();
        w.topic_config_table.insert(topic.to_owned(), tc.clone());
        w.data_version.next();
        self.persist(&w);
        info!(topic, queues, "internal topic created");
        (tc, true)
    }

    /// Persists now.
    pub fn flush(&self) {
        self.persist(&self.inner.read());
    }

    fn persist(&self, w: &TopicConfigSerializeWrapper) {
        if let Err(e) = persist::store(&self.path, w) {
            warn!(path = %self.path.display(), error = %e, "cannot persist topics.json");
        }
    }
}
