//! Headers of the name-server requests.

crate::command_header! {
    /// REGISTER_BROKER request.
    pub struct RegisterBrokerRequestHeader {
        /// Broker group name, e.g. `broker-a`.
        pub broker_name: String = "brokerName",
        /// `ip:listenPort` of the registering broker.
        pub broker_addr: String = "brokerAddr",
        /// Cluster name.
        pub cluster_name: String = "clusterName",
        /// `ip:haListenPort`.
        pub ha_server_addr: String = "haServerAddr",
        /// 0 for a master, > 0 for a slave.
        pub broker_id: i64 = "brokerId",
        /// Whether the body is the compressed form.
        pub compressed: Option<bool> = "compressed",
        /// CRC32 of the body & 0x7FFFFFFF; 0 skips the check.
        pub body_crc32: Option<i32> = "bodyCrc32",
    }

    /// REGISTER_BROKER response.
    pub struct RegisterBrokerResponseHeader {
        /// The master's HA address (for slaves).
        pub ha_server_addr: Option<String> = "haServerAddr",
        /// The master's address (for slaves).
        pub master_addr: Option<String> = "masterAddr",
    }

    /// UNREGISTER_BROKER request.
    pub struct UnRegisterBrokerRequestHeader {
        /// Broker group name.
        pub broker_name: String = "brokerName",
        /// Broker address.
        pub broker_addr: String = "brokerAddr",
        /// Cluster name.
        pub cluster_name: String = "clusterName",
        /// Broker id.
        pub broker_id: i64 = "brokerId",
    }

    /// GET_ROUTEINFO_BY_TOPIC request.
    pub struct GetRouteInfoRequestHeader {
        /// Topic.
        pub topic: String = "topic",
        /// Ask for standard JSON (quoted map keys), 4.9.4+.
        pub accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
    }

    /// PUT_KV_CONFIG request.
    pub struct PutKvConfigRequestHeader {
        /// Namespace.
        pub namespace: String = "namespace",
        /// Key.
        pub key: String = "key",
        /// Value.
        pub value: String = "value",
    }

    /// GET_KV_CONFIG and DELETE_KV_CONFIG request.
    pub struct KvConfigKeyRequestHeader {
        /// Namespace.
        pub namespace: String = "namespace",
        /// Key.
        pub key: String = "key",
    }

    /// GET_KV_CONFIG response.
    pub struct GetKvConfigResponseHeader {
        /// The value.
        pub value: Option<String> = "value",
    }

    /// GET_KVLIST_BY_NAMESPACE request.
    pub struct GetKvListByNamespaceRequestHeader {
        /// Namespace.
        pub namespace: String = "namespace",
    }

    /// QUERY_DATA_VERSION request.
    pub struct QueryDataVersionRequestHeader {
        /// Broker group name.
        pub broker_name: String = "brokerName",
        /// Broker address.
        pub broker_addr: String = "brokerAddr",
        /// Cluster name.
        pub cluster_name: String = "clusterName",
        /// Broker id.
        pub broker_id: i64 = "brokerId",
    }

    /// QUERY_DATA_VERSION response.
    pub struct QueryDataVersionResponseHeader {
        /// Whether the broker's data version differs from the stored one.
        pub changed: bool = "changed",
    }

    /// WIPE_WRITE_PERM_OF_BROKER and ADD_WRITE_PERM_OF_BROKER request.
    pub struct BrokerNameRequestHeader {
        /// Broker group name.
        pub broker_name: String = "brokerName",
    }

    /// WIPE_WRITE_PERM_OF_BROKER response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        /// Number of topics whose write permission was removed.
        pub wipe_topic_count: i32 = "wipeTopicCount",
    }

    /// ADD_WRITE_PERM_OF_BROKER response.
    pub struct AddWritePermOfBrokerResponseHeader {
        /// Number of topics whose write permission was added.
        pub add_topic_count: i32 = "addTopicCount",
    }

    /// GET_TOPICS_BY_CLUSTER request.
    pub struct GetTopicsByClusterRequestHeader {
        /// Cluster name.
        pub cluster: String = "cluster",
    }

    /// DELETE_TOPIC_IN_NAMESRV request.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        /// Topic.
        pub topic: String = "topic",
        /// Only remove the topic from this cluster's brokers, if given.
        pub cluster_name: Option<String> = "clusterName",
    }
}
