//! `mqadmin` command line: Apache's subcommand names and short flags.

use clap::{Args, Parser, Subcommand};

/// RocketMQ admin tool (Apache `mqadmin` subcommands and flags).
#[derive(Debug, Parser)]
#[command(name = "mqadmin", version, about)]
pub struct Cli {
    /// Name server address list, e.g. `127.0.0.1:9876;127.0.0.2:9876` (or NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr", global = true, env = "NAMESRV_ADDR")]
    pub namesrv: Option<String>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Request timeout in milliseconds.
    #[arg(long = "timeoutMillis", global = true, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Broker selection shared by several commands: one broker address or a whole cluster.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// Broker address (`ip:port`).
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker: Option<String>,
    /// Cluster name (every master of it).
    #[arg(short = 'c', long = "clusterName")]
    pub cluster: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List clusters and their brokers.
    #[command(name = "clusterList")]
    ClusterList {
        /// Only this cluster.
        #[arg(short = 'c', long = "clusterName")]
        cluster: Option<String>,
        /// Print more stats (today's in/out totals).
        #[arg(short = 'm', long = "moreStats")]
        more: bool,
    },
    /// List all topics.
    #[command(name = "topicList")]
    TopicList {
        /// Show the cluster of each topic.
        #[arg(short = 'c', long = "clusterModel")]
        cluster_model: bool,
    },
    /// Show a topic's route.
    #[command(name = "topicRoute")]
    TopicRoute {
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Print a table instead of the route JSON.
        #[arg(short = 'l', long = "list")]
        list: bool,
    },
    /// Show min/max offsets of a topic's queues.
    #[command(name = "topicStatus")]
    TopicStatus {
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// Create or update a topic.
    #[command(name = "updateTopic")]
    UpdateTopic {
        #[command(flatten)]
        target: Target,
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Read queues.
        #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
        read: i32,
        /// Write queues.
        #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
        write: i32,
        /// Permission (2 W, 4 R, 6 RW).
        #[arg(short = 'p', long = "perm", default_value_t = 6)]
        perm: i32,
        /// Ordered topic.
        #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
        order: bool,
        /// Unit topic.
        #[arg(short = 'u', long = "unit", default_value_t = false, action = clap::ArgAction::Set)]
        unit: bool,
        /// Has unit subscriptions.
        #[arg(short = 's', long = "hasUnitSub", default_value_t = false, action = clap::ArgAction::Set)]
        has_unit_sub: bool,
    },
    /// Delete a topic from a cluster's brokers and the name servers.
    #[command(name = "deleteTopic")]
    DeleteTopic {
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Cluster.
        #[arg(short = 'c', long = "clusterName")]
        cluster: String,
    },
    /// Create or update a subscription (consumer) group.
    #[command(name = "updateSubGroup")]
    UpdateSubGroup {
        #[command(flatten)]
        target: Target,
        /// Group.
        #[arg(short = 'g', long = "groupName")]
        group: String,
        /// Consumption enabled.
        #[arg(short = 's', long = "consumeEnable", action = clap::ArgAction::Set)]
        consume_enable: Option<bool>,
        /// New groups start from the min offset.
        #[arg(short = 'm', long = "consumeFromMinEnable", action = clap::ArgAction::Set)]
        from_min: Option<bool>,
        /// Broadcast consumption allowed.
        #[arg(short = 'd', long = "consumeBroadcastEnable", action = clap::ArgAction::Set)]
        broadcast: Option<bool>,
        /// Retry queues.
        #[arg(short = 'q', long = "retryQueueNums")]
        retry_queues: Option<i32>,
        /// Retries before the DLQ.
        #[arg(short = 'r', long = "retryMaxTimes")]
        retry_max: Option<i32>,
        /// Broker id to consume from.
        #[arg(short = 'i', long = "brokerId")]
        broker_id: Option<i64>,
        /// Broker id when consumption is slow.
        #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
        slow_broker: Option<i64>,
        /// Notify consumers when the group changes.
        #[arg(short = 'a', long = "notifyConsumerIdsChanged", action = clap::ArgAction::Set)]
        notify: Option<bool>,
    },
    /// Delete a subscription group.
    #[command(name = "deleteSubGroup")]
    DeleteSubGroup {
        #[command(flatten)]
        target: Target,
        /// Group.
        #[arg(short = 'g', long = "groupName")]
        group: String,
        /// Also remove its offsets.
        #[arg(short = 'r', long = "removeOffset", default_value_t = false, action = clap::ArgAction::Set)]
        remove_offset: bool,
    },
    /// Show a broker's runtime stats.
    #[command(name = "brokerStatus")]
    BrokerStatus {
        #[command(flatten)]
        target: Target,
    },
    /// Show a broker's configuration.
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig {
        #[command(flatten)]
        target: Target,
    },
    /// Change a broker configuration key at runtime.
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig {
        #[command(flatten)]
        target: Target,
        /// Key.
        #[arg(short = 'k', long = "key")]
        key: String,
        /// Value.
        #[arg(short = 'v', long = "value")]
        value: String,
    },
    /// Show a consumer group's progress (or every group's summary without -g).
    #[command(name = "consumerProgress")]
    ConsumerProgress {
        /// Group.
        #[arg(short = 'g', long = "groupName")]
        group: Option<String>,
        /// Only this topic.
        #[arg(short = 't', long = "topicName")]
        topic: Option<String>,
    },
    /// Show a consumer group's connections and subscriptions.
    #[command(name = "consumerConnection")]
    ConsumerConnection {
        /// Group.
        #[arg(short = 'g', long = "consumerGroup")]
        group: String,
        /// Ask this broker.
        #[arg(short = 'b', long = "brokerAddr")]
        broker: Option<String>,
    },
    /// Show a producer group's connections.
    #[command(name = "producerConnection")]
    ProducerConnection {
        /// Group.
        #[arg(short = 'g', long = "producerGroup")]
        group: String,
        /// Topic it sends to.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// Show a message by its offset message id.
    #[command(name = "queryMsgById")]
    QueryMsgById {
        /// Offset message id (or a unique key with -t).
        #[arg(short = 'i', long = "msgId")]
        msg_id: String,
        /// Topic (for unique-key fallback).
        #[arg(short = 't', long = "topic")]
        topic: Option<String>,
        /// Consumer group: with -d, let that consumer consume the message again.
        #[arg(short = 'g', long = "consumerGroup", requires = "client_id")]
        group: Option<String>,
        /// The consumer's client id (with -g).
        #[arg(short = 'd', long = "clientId", requires = "group")]
        client_id: Option<String>,
    },
    /// Find messages by key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey {
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Key.
        #[arg(short = 'k', long = "msgKey")]
        key: String,
        /// From, ms.
        #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
        begin: i64,
        /// To, ms.
        #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
        end: i64,
        /// Most results.
        #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
        max: i32,
    },
    /// Show the message at a queue offset.
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset {
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Broker name.
        #[arg(short = 'b', long = "brokerName")]
        broker: String,
        /// Queue id.
        #[arg(short = 'i', long = "queueId")]
        queue: i32,
        /// Queue offset.
        #[arg(short = 'o', long = "offset")]
        offset: i64,
    },
    /// Show a message by its unique key (client message id).
    #[command(name = "queryMsgByUniqueKey")]
    QueryMsgByUniqueKey {
        /// Unique key.
        #[arg(short = 'i', long = "msgId")]
        msg_id: String,
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Print every match (up to 32).
        #[arg(short = 'a', long = "showAll")]
        all: bool,
    },
    /// Send one message.
    #[command(name = "sendMessage")]
    SendMessage {
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Body (UTF-8).
        #[arg(short = 'p', long = "body")]
        body: String,
        /// Keys.
        #[arg(short = 'k', long = "key")]
        keys: Option<String>,
        /// Tags.
        #[arg(short = 'c', long = "tags")]
        tags: Option<String>,
        /// Broker name.
        #[arg(short = 'b', long = "broker")]
        broker: Option<String>,
        /// Queue id (with -b).
        #[arg(short = 'i', long = "qid")]
        qid: Option<i32>,
    },
    /// Read messages of a topic.
    #[command(name = "consumeMessage")]
    ConsumeMessage {
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Broker name.
        #[arg(short = 'b', long = "brokerName")]
        broker: Option<String>,
        /// Queue id.
        #[arg(short = 'i', long = "queueId")]
        queue: Option<i32>,
        /// Start offset (default: the queue's min offset).
        #[arg(short = 'o', long = "offset")]
        offset: Option<i64>,
        /// Consumer group.
        #[arg(short = 'g', long = "consumerGroup", default_value = "TOOLS_CONSUMER")]
        group: String,
        /// Only messages stored at or after, ms.
        #[arg(short = 's', long = "beginTimestamp")]
        begin: Option<i64>,
        /// Only messages stored before, ms.
        #[arg(short = 'e', long = "endTimestamp")]
        end: Option<i64>,
        /// Most messages.
        #[arg(short = 'c', long = "MessageNumber", default_value_t = 128)]
        count: usize,
    },
    /// Move a group's offsets to a point in time.
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime {
        /// Group.
        #[arg(short = 'g', long = "group")]
        group: String,
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// now | milliseconds | yyyy-MM-dd#HH:mm:ss:SSS
        #[arg(short = 's', long = "timestamp")]
        timestamp: String,
        /// Also move offsets forward.
        #[arg(short = 'f', long = "force", default_value_t = true, action = clap::ArgAction::Set)]
        force: bool,
    },
    /// Remove write permission of a broker on the name servers.
    #[command(name = "wipeWritePerm")]
    WipeWritePerm {
        /// Broker name.
        #[arg(short = 'b', long = "brokerName")]
        broker: String,
    },
    /// Restore write permission of a broker on the name servers.
    #[command(name = "addWritePerm")]
    AddWritePerm {
        /// Broker name.
        #[arg(short = 'b', long = "brokerName")]
        broker: String,
    },
    /// Set a KV config entry on the name servers.
    #[command(name = "updateKvConfig")]
    UpdateKvConfig {
        /// Namespace.
        #[arg(short = 's', long = "namespace")]
        namespace: String,
        /// Key.
        #[arg(short = 'k', long = "key")]
        key: String,
        /// Value.
        #[arg(short = 'v', long = "value")]
        value: String,
    },
    /// Delete a KV config entry on the name servers.
    #[command(name = "deleteKvConfig")]
    DeleteKvConfig {
        /// Namespace.
        #[arg(short = 's', long = "namespace")]
        namespace: String,
        /// Key.
        #[arg(short = 'k', long = "key")]
        key: String,
    },
    /// Show the name servers' configuration.
    #[command(name = "getNamesrvConfig")]
    GetNamesrvConfig,
    /// Change a name-server configuration key.
    #[command(name = "updateNamesrvConfig")]
    UpdateNamesrvConfig {
        /// Key.
        #[arg(short = 'k', long = "key")]
        key: String,
        /// Value.
        #[arg(short = 'v', long = "value")]
        value: String,
    },
}
