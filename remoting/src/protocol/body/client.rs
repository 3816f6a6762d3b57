//! Bodies clients send to brokers: heartbeats, queue locks, consumer lists.
//!
//! Heartbeats are parsed leniently: C++ 2.x writes enums as ordinals and `subVersion` as a
//! string, Java and Go write enum names and numbers; missing sets are empty.

use std::collections::BTreeSet;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

macro_rules! java_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $java:literal $(| $alias:literal)*,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v,)* }

        impl $name {
            const ALL: &'static [$name] = &[$($name::$v,)*];

            /// The Java enum name.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $java,)* }
            }

            /// Parses a Java name (or alias) or an ordinal.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($java $(| $alias)* => Some($name::$v),)*
                    other => other.parse::<usize>().ok().and_then(|i| Self::ALL.get(i).copied()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = serde_json::Value::deserialize(d)?;
                let text = match &v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    other => return Err(de::Error::custom(format!("bad {}: {other}", stringify!($name)))),
                };
                $name::parse(&text).ok_or_else(|| de::Error::custom(format!("unknown {} {text}", stringify!($name))))
            }
        }
    };
}

java_enum! {
    /// Pull (actively) or push (passively) consumer.
    pub enum ConsumeType {
        /// Pull consumer.
        ConsumeActively = "CONSUME_ACTIVELY" | "PULL",
        /// Push consumer.
        ConsumePassively = "CONSUME_PASSIVELY" | "PUSH",
    }
}

java_enum! {
    /// How a group shares messages.
    pub enum MessageModel {
        /// Every instance gets every message.
        Broadcasting = "BROADCASTING",
        /// Each message goes to one instance of the group.
        Clustering = "CLUSTERING",
    }
}

java_enum! {
    /// Where a new consumer group starts.
    pub enum ConsumeFromWhere {
        /// From the end.
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        /// Deprecated.
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        /// Deprecated.
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        /// Deprecated.
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        /// From the beginning.
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        /// From a timestamp.
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
}

fn i64_from_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| de::Error::custom("subVersion out of range")),
        serde_json::Value::String(s) => s.trim().parse().map_err(de::Error::custom),
        serde_json::Value::Null => Ok(0),
        other => Err(de::Error::custom(format!("bad number {other}"))),
    }
}

fn default_expression_type() -> String {
    "TAG".into()
}

/// A consumer's subscription to one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    /// Class filter mode.
    pub class_filter_mode: bool,
    /// Hash codes of the tags.
    pub code_set: BTreeSet<i32>,
    /// `TAG` or `SQL92`.
    pub expression_type: String,
    /// The expression, e.g. `TagA || TagB` or `*`.
    pub sub_string: String,
    /// Version (a timestamp).
    #[serde(deserialize_with = "i64_from_number_or_string")]
    pub sub_version: i64,
    /// Tags.
    pub tags_set: BTreeSet<String>,
    /// Topic.
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        SubscriptionData {
            class_filter_mode: false,
            code_set: BTreeSet::new(),
            expression_type: default_expression_type(),
            sub_string: "*".into(),
            sub_version: 0,
            tags_set: BTreeSet::new(),
            topic: String::new(),
        }
    }
}

impl SubscriptionData {
    /// Builds a TAG subscription as `FilterAPI.buildSubscriptionData`: split on `||`,
    /// trim, drop empty parts; empty or `*` subscribes to everything.
    pub fn tag(topic: &str, expression: &str, sub_version: i64) -> Self {
        let mut s = SubscriptionData {
            topic: topic.into(),
            sub_version,
            ..Default::default()
        };
        let expr = expression.trim();
        if expr.is_empty() || expr == "*" {
            s.sub_string = "*".into();
            return s;
        }
        s.sub_string = expr.into();
        for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
            s.code_set
                .insert(crate::message::tags::java_string_hash_code(tag));
            s.tags_set.insert(tag.to_owned());
        }
        s
    }

    /// True for `*` (every tag).
    pub fn is_all(&self) -> bool {
        self.sub_string == "*"
    }
}

/// One consumer group in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    /// Where to start.
    #[serde(default = "default_from_where")]
    pub consume_from_where: ConsumeFromWhere,
    /// Pull or push.
    #[serde(default = "default_consume_type")]
    pub consume_type: ConsumeType,
    /// Group name.
    pub group_name: String,
    /// Clustering or broadcasting.
    #[serde(default = "default_model")]
    pub message_model: MessageModel,
    /// Subscriptions.
    #[serde(default)]
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Unit mode.
    #[serde(default)]
    pub unit_mode: bool,
}

fn default_from_where() -> ConsumeFromWhere {
    ConsumeFromWhere::ConsumeFromLastOffset
}
fn default_consume_type() -> ConsumeType {
    ConsumeType::ConsumePassively
}
fn default_model() -> MessageModel {
    MessageModel::Clustering
}

/// One producer group in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    /// Group name.
    pub group_name: String,
}

/// HEART_BEAT body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HeartbeatData {
    /// Client id (`ip@instance`).
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Consumer groups of the client.
    #[serde(rename = "consumerDataSet")]
    pub consumer_data_set: Vec<ConsumerData>,
    /// Producer groups of the client.
    #[serde(rename = "producerDataSet")]
    pub producer_data_set: Vec<ProducerData>,
}

/// A message queue: topic, broker group and queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    /// Broker group.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Topic.
    pub topic: String,
}

/// LOCK_BATCH_MQ and UNLOCK_BATCH_MQ body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    /// Client id.
    pub client_id: String,
    /// Consumer group.
    pub consumer_group: String,
    /// Queues.
    pub mq_set: BTreeSet<MessageQueue>,
}

/// LOCK_BATCH_MQ response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    /// Queues now locked by the requester.
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

/// GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListByGroupResponseBody {
    /// Client ids.
    pub consumer_id_list: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_heartbeat_sample_parses() {
        let text = br#"{"clientID":"192.168.0.3@12345","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000123,"tagsSet":["TagA","TagB"],"topic":"TopicTest"}],"unitMode":false}],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}]}"#;
        let h: HeartbeatData = serde_json::from_slice(text).unwrap();
        assert_eq!(h.client_id, "192.168.0.3@12345");
        let c = &h.consumer_data_set[0];
        assert_eq!(c.message_model, MessageModel::Clustering);
        let s = &c.subscription_data_set[0];
        assert_eq!(s.sub_version, 1700000000123);
        assert_eq!(
            *s,
            SubscriptionData::tag("TopicTest", "TagA || TagB", 1700000000123)
        );
    }

    #[test]
    fn cpp_heartbeat_with_ordinals_and_string_version_parses() {
        let text = b"{\"clientID\":\"10.0.0.1@7#1\",\"consumerDataSet\":[{\"consumeFromWhere\":4,\"consumeType\":1,\"groupName\":\"g\",\"messageModel\":0,\"subscriptionDataSet\":[{\"codeSet\":[],\"subString\":\"*\",\"subVersion\":\"1700000000999\",\"tagsSet\":[],\"topic\":\"T\"}]}]}\n";
        let h: HeartbeatData = serde_json::from_slice(text).unwrap();
        let c = &h.consumer_data_set[0];
        assert_eq!(
            c.consume_from_where,
            ConsumeFromWhere::ConsumeFromFirstOffset
        );
        assert_eq!(c.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(c.message_model, MessageModel::Broadcasting);
        assert_eq!(c.subscription_data_set[0].sub_version, 1700000000999);
        assert_eq!(c.subscription_data_set[0].expression_type, "TAG");
        assert!(h.producer_data_set.is_empty());
    }

    #[test]
    fn lock_response_shape() {
        let mut b = LockBatchResponseBody::default();
        b.lock_ok_mq_set.insert(MessageQueue {
            broker_name: "broker-a".into(),
            queue_id: 0,
            topic: "TopicTest".into(),
        });
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&b).unwrap()).unwrap(),
            r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}]}"#
        );
    }

    #[test]
    fn tag_subscription_parsing() {
        let s = SubscriptionData::tag("T", " TagA ||  || TagB ", 1);
        assert_eq!(
            s.tags_set.iter().map(String::as_str).collect::<Vec<_>>(),
            ["TagA", "TagB"]
        );
        assert!(s.code_set.contains(&2598919));
        assert!(SubscriptionData::tag("T", "", 1).is_all());
    }
}
