//! Route bodies: `QueueData`, `BrokerData`, `TopicRouteData`, `ClusterInfo`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::protocol::fastjson;

/// Fields whose maps have `Long` keys in Java (written unquoted by fastjson).
const LONG_KEY_FIELDS: &[&str] = &["brokerAddrs"];

/// One broker group's queues of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    /// Broker group name.
    pub broker_name: String,
    /// Permission bits.
    pub perm: i32,
    /// Readable queues.
    pub read_queue_nums: i32,
    /// Topic system flag (`topicSynFlag` before 4.9.0).
    #[serde(alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
    /// Writable queues.
    pub write_queue_nums: i32,
}

/// A broker group: its cluster, name and the address of each broker id (0 = master).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// brokerId → `ip:port`.
    pub broker_addrs: BTreeMap<i64, String>,
    /// Broker group name.
    pub broker_name: String,
    /// Cluster name.
    pub cluster: String,
}

impl BrokerData {
    /// The master's address, if a master is registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }
}

/// What GET_ROUTEINFO_BY_TOPIC returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    /// Broker groups that hold the topic.
    pub broker_datas: Vec<BrokerData>,
    /// Filter servers per broker address (always present, usually empty).
    pub filter_server_table: HashMap<String, Vec<String>>,
    /// Ordered-topic configuration (`brokerA:4;brokerB:4`), when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// The topic's queues per broker group.
    pub queue_datas: Vec<QueueData>,
}

impl TopicRouteData {
    /// Encodes as the Java name server does: fastjson's unquoted broker-id keys unless
    /// `standard` (request version ≥ 4.9.4, or `acceptStandardJsonOnly`).
    pub fn encode(&self, standard: bool) -> Vec<u8> {
        fastjson::to_vec(self, LONG_KEY_FIELDS, standard)
    }
}

/// What GET_BROKER_CLUSTER_INFO returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker group name → broker data.
    pub broker_addr_table: HashMap<String, BrokerData>,
    /// Cluster name → broker group names.
    pub cluster_addr_table: HashMap<String, BTreeSet<String>>,
}

impl ClusterInfo {
    /// Encodes with fastjson's unquoted broker-id keys, as the Java name server always does.
    pub fn encode(&self) -> Vec<u8> {
        fastjson::to_vec(self, LONG_KEY_FIELDS, false)
    }

    /// Decodes either form.
    pub fn from_json(bytes: &[u8]) -> serde_json::Result<Self> {
        fastjson::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_route() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([
                    (0, "192.168.0.1:10911".to_string()),
                    (1, "192.168.0.2:10911".to_string()),
                ]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
            ..Default::default()
        }
    }

    // Both expected texts are fastjson 1.2.69 output quoted in the protocol digest.
    #[test]
    fn route_default_fastjson_form() {
        let text = String::from_utf8(sample_route().encode(false)).unwrap();
        assert_eq!(
            text,
            r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.1:10911",1:"192.168.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
    }

    #[test]
    fn route_standard_form() {
        let text = String::from_utf8(sample_route().encode(true)).unwrap();
        assert_eq!(
            text,
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.1:10911","1":"192.168.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
    }

    #[test]
    fn route_decodes_both_forms_and_old_field_name() {
        let r = sample_route();
        let a: TopicRouteData = fastjson::from_slice(&r.encode(false)).unwrap();
        let b: TopicRouteData = fastjson::from_slice(&r.encode(true)).unwrap();
        assert_eq!(a, r);
        assert_eq!(b, r);
        let old = br#"{"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":1,"writeQueueNums":1,"topicSynFlag":2}]}"#;
        let o: TopicRouteData = fastjson::from_slice(old).unwrap();
        assert_eq!(o.queue_datas[0].topic_sys_flag, 2);
    }

    #[test]
    fn cluster_info_fastjson_form() {
        let info = ClusterInfo {
            broker_addr_table: HashMap::from([(
                "broker-a".to_string(),
                sample_route().broker_datas[0].clone(),
            )]),
            cluster_addr_table: HashMap::from([(
                "DefaultCluster".to_string(),
                BTreeSet::from(["broker-a".to_string()]),
            )]),
        };
        let text = String::from_utf8(info.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"192.168.0.1:10911",1:"192.168.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#
        );
        assert_eq!(ClusterInfo::from_json(text.as_bytes()).unwrap(), info);
    }
}
