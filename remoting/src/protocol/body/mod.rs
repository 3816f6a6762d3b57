//! JSON bodies exchanged with the name server, shaped as Apache's fastjson writes them:
//! keys in alphabetical order, null fields left out, unknown fields ignored on read.

mod admin;
mod client;
mod kv;
mod register;
mod route;
mod topic_config;

pub use admin::{
    ClientConnection, ConsumeStats, ConsumerConnection, ConsumerOffsetSerializeWrapper,
    OffsetWrapper, ProducerConnection, ResetOffsetBody, SubscriptionGroupConfig,
    SubscriptionGroupWrapper, TopicOffset, TopicStatsTable,
};
pub use client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, ConsumerListByGroupResponseBody, HeartbeatData,
    LockBatchRequestBody, LockBatchResponseBody, MessageModel, MessageQueue, ProducerData,
    SubscriptionData,
};
pub use kv::{KvTable, TopicList};
pub use register::{RegisterBrokerBody, RegisterBrokerBodyError};
pub use route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};
pub use topic_config::{
    DataVersion, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType, perm,
};

/// Decodes a body, accepting fastjson's unquoted numeric keys.
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    super::fastjson::from_slice(bytes)
}

/// Encodes a body as compact standard JSON.
pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("serializing to memory cannot fail")
}
