//! Admin bodies: subscription groups, consumer offsets, stats, connections.

use std::collections::{BTreeMap, HashMap};

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use super::DataVersion;
use super::client::{ConsumeFromWhere, ConsumeType, MessageModel, MessageQueue, SubscriptionData};
use crate::protocol::fastjson;

/// A consumer group's settings on a broker (`SubscriptionGroupConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    /// Slave to read from when consumption is slow.
    pub broker_id: i64,
    /// Broadcast consumers allowed.
    pub consume_broadcast_enable: bool,
    /// Consumption allowed.
    pub consume_enable: bool,
    /// New groups start from the minimum offset.
    pub consume_from_min_enable: bool,
    /// Group name.
    pub group_name: String,
    /// Push NOTIFY_CONSUMER_IDS_CHANGED on membership changes.
    pub notify_consumer_ids_changed_enable: bool,
    /// Retries before a message goes to the DLQ.
    pub retry_max_times: i32,
    /// Queues of `%RETRY%<group>`.
    pub retry_queue_nums: i32,
    /// Broker id to suggest when consumption is slow.
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            group_name: String::new(),
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

/// `subscriptionGroup.json` and GET_ALL_SUBSCRIPTIONGROUP_CONFIG body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    /// Version.
    pub data_version: DataVersion,
    /// Group name → config.
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// `consumerOffset.json` and GET_ALL_CONSUMER_OFFSET body: `topic@group` → queueId → offset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetSerializeWrapper {
    /// `topic@group` → queueId → offset.
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

fn mq_map<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<MessageQueue, V>, D::Error> {
    let raw: HashMap<String, V> = HashMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            serde_json::from_str::<MessageQueue>(&k)
                .map(|mq| (mq, v))
                .map_err(D::Error::custom)
        })
        .collect()
}

/// `{<fields>"offsetTable":{<queue object>:<value>,...}}`, as fastjson writes these bodies.
fn offset_table_body<V: Serialize>(
    leading_fields: &str,
    table: &BTreeMap<MessageQueue, V>,
) -> Vec<u8> {
    let mut out = format!("{{{leading_fields}\"offsetTable\":").into_bytes();
    fastjson::write_object_key_map(&mut out, table);
    out.push(b'}');
    out
}

/// One queue's offsets in a consume-stats answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// Broker's max offset.
    pub broker_offset: i64,
    /// Group's committed offset.
    pub consumer_offset: i64,
    /// Store time of the last consumed message, ms.
    pub last_timestamp: i64,
}

/// GET_CONSUME_STATS body.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    /// Consume TPS.
    pub consume_tps: f64,
    /// Per queue offsets.
    #[serde(deserialize_with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl ConsumeStats {
    /// Encodes as fastjson does (queue objects as map keys).
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            format!("{{\"consumeTps\":{},\"offsetTable\":", self.consume_tps).into_bytes();
        fastjson::write_object_key_map(&mut out, &self.offset_table);
        out.push(b'}');
        out
    }

    /// Decodes either form.
    pub fn decode(bytes: &[u8]) -> serde_json::Result<Self> {
        fastjson::from_slice(bytes)
    }

    /// Messages not yet consumed.
    pub fn diff_total(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| (o.broker_offset - o.consumer_offset).max(0))
            .sum()
    }
}

/// One queue's offsets in topic stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Store time of the last message, ms.
    pub last_update_timestamp: i64,
    /// Max offset.
    pub max_offset: i64,
    /// Min offset.
    pub min_offset: i64,
}

/// GET_TOPIC_STATS_INFO body.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    /// Per queue offsets.
    #[serde(deserialize_with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

impl TopicStatsTable {
    /// Encodes as fastjson does (queue objects as map keys).
    pub fn encode(&self) -> Vec<u8> {
        offset_table_body("", &self.offset_table)
    }

    /// Decodes either form.
    pub fn decode(bytes: &[u8]) -> serde_json::Result<Self> {
        fastjson::from_slice(bytes)
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET answer and RESET_CONSUMER_CLIENT_OFFSET body.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    /// Queue → new offset.
    #[serde(deserialize_with = "mq_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ResetOffsetBody {
    /// Encodes as fastjson does.
    pub fn encode(&self) -> Vec<u8> {
        offset_table_body("", &self.offset_table)
    }

    /// Decodes either form.
    pub fn decode(bytes: &[u8]) -> serde_json::Result<Self> {
        fastjson::from_slice(bytes)
    }
}

/// One client connection (`Connection` in admin bodies).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientConnection {
    /// Peer address.
    pub client_addr: String,
    /// Client id.
    pub client_id: String,
    /// Client language name.
    pub language: String,
    /// Client version ordinal.
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnection {
    /// Connections of the group.
    #[serde(default)]
    pub connection_set: Vec<ClientConnection>,
    /// Where the group starts.
    pub consume_from_where: Option<ConsumeFromWhere>,
    /// Pull or push.
    pub consume_type: Option<ConsumeType>,
    /// Clustering or broadcasting.
    pub message_model: Option<MessageModel>,
    /// Topic → subscription.
    #[serde(default)]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// GET_PRODUCER_CONNECTION_LIST body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    /// Connections of the group.
    pub connection_set: Vec<ClientConnection>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_stats_fastjson_round_trip() {
        let mut s = ConsumeStats {
            consume_tps: 1.5,
            ..Default::default()
        };
        let mq = MessageQueue {
            broker_name: "b".into(),
            queue_id: 1,
            topic: "t".into(),
        };
        s.offset_table.insert(
            mq,
            OffsetWrapper {
                broker_offset: 10,
                consumer_offset: 4,
                last_timestamp: 9,
            },
        );
        let text = String::from_utf8(s.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":1,"topic":"t"}:{"brokerOffset":10,"consumerOffset":4,"lastTimestamp":9}}}"#
        );
        let back = ConsumeStats::decode(text.as_bytes()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.diff_total(), 6);
    }

    #[test]
    fn consumer_offsets_read_fastjson_integer_keys() {
        let text = br#"{"offsetTable":{"T@g":{0:12,1:5}}}"#;
        let w: ConsumerOffsetSerializeWrapper = fastjson::from_slice(text).unwrap();
        assert_eq!(w.offset_table["T@g"][&1], 5);
    }
}
