//! `TopicConfig`, `DataVersion` and `TopicConfigSerializeWrapper`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Topic and broker permission bits (`PermName`).
pub mod perm {
    /// Priority (unused by 4.x clients).
    pub const PRIORITY: i32 = 0x8;
    /// Readable.
    pub const READ: i32 = 0x4;
    /// Writable.
    pub const WRITE: i32 = 0x2;
    /// New topics may inherit from this one (`TBW102`).
    pub const INHERIT: i32 = 0x1;

    /// True when `perm` has the read bit.
    pub fn is_readable(perm: i32) -> bool {
        perm & READ != 0
    }

    /// True when `perm` has the write bit.
    pub fn is_writeable(perm: i32) -> bool {
        perm & WRITE != 0
    }

    /// `PermName.perm2String`: e.g. `RW-`.
    pub fn to_string(perm: i32) -> String {
        let mut s = String::with_capacity(3);
        s.push(if is_readable(perm) { 'R' } else { '-' });
        s.push(if is_writeable(perm) { 'W' } else { '-' });
        s.push(if perm & INHERIT != 0 { 'X' } else { '-' });
        s
    }
}

/// How a topic's messages are filtered by tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TopicFilterType {
    /// One tag per message.
    #[default]
    SingleTag,
    /// Several tags per message.
    MultiTag,
}

impl TopicFilterType {
    /// The Java enum name.
    pub fn name(self) -> &'static str {
        match self {
            TopicFilterType::SingleTag => "SINGLE_TAG",
            TopicFilterType::MultiTag => "MULTI_TAG",
        }
    }
}

/// One topic's configuration on a broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    /// Ordered topic.
    pub order: bool,
    /// Permission bits ([`perm`]).
    pub perm: i32,
    /// Number of readable queues.
    pub read_queue_nums: i32,
    /// Tag filter type.
    pub topic_filter_type: TopicFilterType,
    /// Topic name.
    pub topic_name: String,
    /// Topic system flag (unit bits).
    pub topic_sys_flag: i32,
    /// Number of writable queues.
    pub write_queue_nums: i32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            order: false,
            perm: perm::READ | perm::WRITE,
            read_queue_nums: 16,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

impl TopicConfig {
    /// A read-write topic with `queues` read and write queues.
    pub fn new(name: impl Into<String>, queues: i32) -> Self {
        TopicConfig {
            topic_name: name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..Default::default()
        }
    }
}

/// A version stamp of a broker's topic table (`DataVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DataVersion {
    /// Change counter.
    pub counter: i64,
    /// Time of the last change, ms.
    pub timestamp: i64,
}

impl DataVersion {
    /// A version stamped now with counter 0.
    pub fn now() -> Self {
        DataVersion {
            counter: 0,
            timestamp: now_millis(),
        }
    }

    /// Records a change.
    pub fn next(&mut self) {
        self.counter += 1;
        self.timestamp = now_millis();
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A broker's topic table with its version.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    /// Version of the table.
    pub data_version: DataVersion,
    /// Topic name → config.
    pub topic_config_table: BTreeMap<String, TopicConfig>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_config_json_matches_fastjson_shape() {
        let mut w = TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: 3,
                timestamp: 1700000000000,
            },
            ..Default::default()
        };
        w.topic_config_table
            .insert("TopicTest".into(), TopicConfig::new("TopicTest", 4));
        let text = String::from_utf8(super::super::to_json(&w)).unwrap();
        assert_eq!(
            text,
            r#"{"dataVersion":{"counter":3,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}"#
        );
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let text = br#"{"topicName":"A","perm":7,"attributes":{"x":"y"},"readQueueNums":8,"writeQueueNums":8,"newField":[1]}"#;
        let c: TopicConfig = super::super::from_json(text).unwrap();
        assert_eq!(c.perm, 7);
        assert_eq!(c.topic_filter_type, TopicFilterType::SingleTag);
        assert_eq!(perm::to_string(c.perm), "RWX");
    }
}
