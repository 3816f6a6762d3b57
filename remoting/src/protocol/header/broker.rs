//! Headers of the broker requests that clients and admin tools send.

use super::{CommandHeader, HeaderError};
use crate::command::ExtFields;

crate::command_header! {
    /// SEND_MESSAGE (V1, long keys). SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE use
    /// [`SendMessageRequestHeaderV2`]; both decode into this one.
    pub struct SendMessageRequestHeader {
        /// Producer group.
        pub producer_group: String = "producerGroup",
        /// Topic.
        pub topic: String = "topic",
        /// Topic to inherit from when auto-creating (`TBW102`).
        pub default_topic: String = "defaultTopic",
        /// Queues for an auto-created topic.
        pub default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        /// Queue; < 0 lets the broker choose.
        pub queue_id: i32 = "queueId",
        /// Message sysflag.
        pub sys_flag: i32 = "sysFlag",
        /// Born timestamp, ms.
        pub born_timestamp: i64 = "bornTimestamp",
        /// User flag.
        pub flag: i32 = "flag",
        /// Properties string.
        pub properties: Option<String> = "properties",
        /// Times re-consumed.
        pub reconsume_times: Option<i32> = "reconsumeTimes",
        /// Unit mode.
        pub unit_mode: Option<bool> = "unitMode",
        /// Batch send.
        pub batch: Option<bool> = "batch",
        /// Max re-consume times (retry topics).
        pub max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        /// Broker name.
        pub bname: Option<String> = "bname",
    }

    /// SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE: the same fields under one-letter keys.
    pub struct SendMessageRequestHeaderV2 {
        /// producerGroup.
        pub a: String = "a",
        /// topic.
        pub b: String = "b",
        /// defaultTopic.
        pub c: String = "c",
        /// defaultTopicQueueNums.
        pub d: i32 = "d",
        /// queueId.
        pub e: i32 = "e",
        /// sysFlag.
        pub f: i32 = "f",
        /// bornTimestamp.
        pub g: i64 = "g",
        /// flag.
        pub h: i32 = "h",
        /// properties.
        pub i: Option<String> = "i",
        /// reconsumeTimes.
        pub j: Option<i32> = "j",
        /// unitMode.
        pub k: Option<bool> = "k",
        /// maxReconsumeTimes.
        pub l: Option<i32> = "l",
        /// batch.
        pub m: Option<bool> = "m",
        /// bname.
        pub n: Option<String> = "n",
    }

    /// Send response.
    pub struct SendMessageResponseHeader {
        /// Offset message id (ids joined with `,` for a batch).
        pub msg_id: String = "msgId",
        /// Queue written.
        pub queue_id: i32 = "queueId",
        /// Queue offset (of the first message of a batch).
        pub queue_offset: i64 = "queueOffset",
        /// Transaction id.
        pub transaction_id: Option<String> = "transactionId",
    }

    /// PULL_MESSAGE request.
    pub struct PullMessageRequestHeader {
        /// Consumer group.
        pub consumer_group: String = "consumerGroup",
        /// Topic.
        pub topic: String = "topic",
        /// Queue.
        pub queue_id: i32 = "queueId",
        /// Queue offset to start from.
        pub queue_offset: i64 = "queueOffset",
        /// Most messages to return.
        pub max_msg_nums: i32 = "maxMsgNums",
        /// Pull sysflag (commit offset, suspend, subscription, class filter, lite pull).
        pub sys_flag: i32 = "sysFlag",
        /// Consumer offset to commit.
        pub commit_offset: i64 = "commitOffset",
        /// Long-polling hold time, ms.
        pub suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// Subscription expression.
        pub subscription: Option<String> = "subscription",
        /// Subscription version.
        pub sub_version: i64 = "subVersion",
        /// `TAG` or `SQL92`.
        pub expression_type: Option<String> = "expressionType",
        /// Broker name.
        pub bname: Option<String> = "bname",
    }

    /// PULL_MESSAGE response.
    pub struct PullMessageResponseHeader {
        /// Broker id to pull from next.
        pub suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        /// Queue offset to pull from next.
        pub next_begin_offset: i64 = "nextBeginOffset",
        /// Smallest queue offset.
        pub min_offset: i64 = "minOffset",
        /// Next queue offset to be written.
        pub max_offset: i64 = "maxOffset",
    }

    /// QUERY_CONSUMER_OFFSET request.
    pub struct QueryConsumerOffsetRequestHeader {
        /// Consumer group.
        pub consumer_group: String = "consumerGroup",
        /// Topic.
        pub topic: String = "topic",
        /// Queue.
        pub queue_id: i32 = "queueId",
    }

    /// UPDATE_CONSUMER_OFFSET request.
    pub struct UpdateConsumerOffsetRequestHeader {
        /// Consumer group.
        pub consumer_group: String = "consumerGroup",
        /// Topic.
        pub topic: String = "topic",
        /// Queue.
        pub queue_id: i32 = "queueId",
        /// Offset to store.
        pub commit_offset: i64 = "commitOffset",
    }

    /// GET_MAX_OFFSET, GET_MIN_OFFSET, GET_EARLIEST_MSG_STORETIME request.
    pub struct TopicQueueRequestHeader {
        /// Topic.
        pub topic: String = "topic",
        /// Queue.
        pub queue_id: i32 = "queueId",
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP request.
    pub struct SearchOffsetRequestHeader {
        /// Topic.
        pub topic: String = "topic",
        /// Queue.
        pub queue_id: i32 = "queueId",
        /// Store time, ms.
        pub timestamp: i64 = "timestamp",
    }

    /// Responses carrying one offset (QUERY_CONSUMER_OFFSET, GET_MAX/MIN_OFFSET,
    /// SEARCH_OFFSET_BY_TIMESTAMP).
    pub struct OffsetResponseHeader {
        /// The offset.
        pub offset: i64 = "offset",
    }

    /// GET_EARLIEST_MSG_STORETIME response.
    pub struct TimestampResponseHeader {
        /// Store time, ms.
        pub timestamp: i64 = "timestamp",
    }

    /// VIEW_MESSAGE_BY_ID request.
    pub struct ViewMessageRequestHeader {
        /// Commit-log offset.
        pub offset: i64 = "offset",
    }

    /// QUERY_MESSAGE request.
    pub struct QueryMessageRequestHeader {
        /// Topic.
        pub topic: String = "topic",
        /// Key (a `KEYS` word or a `UNIQ_KEY`).
        pub key: String = "key",
        /// Most messages.
        pub max_num: i32 = "maxNum",
        /// From, ms.
        pub begin_timestamp: i64 = "beginTimestamp",
        /// To, ms.
        pub end_timestamp: i64 = "endTimestamp",
    }

    /// QUERY_MESSAGE response.
    pub struct QueryMessageResponseHeader {
        /// Newest index update time.
        pub index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        /// Newest indexed commit-log offset.
        pub index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }

    /// GET_CONSUMER_LIST_BY_GROUP, GET_CONSUMER_CONNECTION_LIST and NOTIFY_CONSUMER_IDS_CHANGED.
    pub struct ConsumerGroupRequestHeader {
        /// Consumer group.
        pub consumer_group: String = "consumerGroup",
    }

    /// GET_PRODUCER_CONNECTION_LIST request.
    pub struct ProducerGroupRequestHeader {
        /// Producer group.
        pub producer_group: String = "producerGroup",
    }

    /// UNREGISTER_CLIENT request.
    pub struct UnregisterClientRequestHeader {
        /// Client id.
        pub client_id: String = "clientID",
        /// Producer group leaving.
        pub producer_group: Option<String> = "producerGroup",
        /// Consumer group leaving.
        pub consumer_group: Option<String> = "consumerGroup",
    }

    /// UPDATE_AND_CREATE_TOPIC request.
    pub struct CreateTopicRequestHeader {
        /// Topic.
        pub topic: String = "topic",
        /// Default topic.
        pub default_topic: String = "defaultTopic",
        /// Readable queues.
        pub read_queue_nums: i32 = "readQueueNums",
        /// Writable queues.
        pub write_queue_nums: i32 = "writeQueueNums",
        /// Permission bits.
        pub perm: i32 = "perm",
        /// `SINGLE_TAG` or `MULTI_TAG`.
        pub topic_filter_type: String = "topicFilterType",
        /// Topic sysflag.
        pub topic_sys_flag: Option<i32> = "topicSysFlag",
        /// Ordered topic.
        pub order: bool = "order",
    }

    /// DELETE_TOPIC_IN_BROKER and GET_TOPIC_STATS_INFO request.
    pub struct TopicRequestHeader {
        /// Topic.
        pub topic: String = "topic",
    }

    /// DELETE_SUBSCRIPTIONGROUP request.
    pub struct DeleteSubscriptionGroupRequestHeader {
        /// Group.
        pub group_name: String = "groupName",
        /// Also drop its consumer offsets.
        pub remove_offset: Option<bool> = "removeOffset",
    }

    /// GET_CONSUME_STATS request.
    pub struct GetConsumeStatsRequestHeader {
        /// Consumer group.
        pub consumer_group: String = "consumerGroup",
        /// Only this topic, if given.
        pub topic: Option<String> = "topic",
    }

    /// GET_CONSUMER_RUNNING_INFO request (admin → broker → client).
    pub struct GetConsumerRunningInfoRequestHeader {
        /// Consumer group.
        pub consumer_group: String = "consumerGroup",
        /// Client id.
        pub client_id: String = "clientId",
        /// Include a stack dump.
        pub jstack_enable: Option<bool> = "jstackEnable",
    }

    /// CONSUME_MESSAGE_DIRECTLY request (admin → broker → client).
    pub struct ConsumeMessageDirectlyRequestHeader {
        /// Consumer group.
        pub consumer_group: String = "consumerGroup",
        /// Client id.
        pub client_id: Option<String> = "clientId",
        /// Message id (offset id).
        pub msg_id: Option<String> = "msgId",
        /// Broker name.
        pub broker_name: Option<String> = "brokerName",
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET / RESET_CONSUMER_CLIENT_OFFSET request.
    pub struct ResetOffsetRequestHeader {
        /// Topic.
        pub topic: String = "topic",
        /// Consumer group.
        pub group: String = "group",
        /// Reset to the first message stored at or after this time, ms.
        pub timestamp: i64 = "timestamp",
        /// Reset even forward.
        pub is_force: bool = "isForce",
    }
}

impl SendMessageRequestHeaderV2 {
    /// The same header under the V1 long keys.
    pub fn into_v1(self) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: self.a,
            topic: self.b,
            default_topic: self.c,
            default_topic_queue_nums: self.d,
            queue_id: self.e,
            sys_flag: self.f,
            born_timestamp: self.g,
            flag: self.h,
            properties: self.i,
            reconsume_times: self.j,
            unit_mode: self.k,
            max_reconsume_times: self.l,
            batch: self.m,
            bname: self.n,
        }
    }

    /// The same header under the V2 one-letter keys.
    pub fn from_v1(h: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            a: h.producer_group,
            b: h.topic,
            c: h.default_topic,
            d: h.default_topic_queue_nums,
            e: h.queue_id,
            f: h.sys_flag,
            g: h.born_timestamp,
            h: h.flag,
            i: h.properties,
            j: h.reconsume_times,
            k: h.unit_mode,
            l: h.max_reconsume_times,
            m: h.batch,
            n: h.bname,
        }
    }
}

/// Decodes a send header in whichever form the request code implies: the V2 short keys
/// for SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE, the V1 long keys otherwise.
pub fn decode_send_header(
    code: i32,
    ext: &ExtFields,
) -> Result<SendMessageRequestHeader, HeaderError> {
    use crate::protocol::RequestCode;
    if code == RequestCode::SendMessageV2.code() || code == RequestCode::SendBatchMessage.code() {
        SendMessageRequestHeaderV2::read_from(ext).map(SendMessageRequestHeaderV2::into_v1)
    } else {
        SendMessageRequestHeader::read_from(ext)
    }
}

/// PullSysFlag bits.
pub mod pull_sys_flag {
    /// Commit `commitOffset`.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// Long polling allowed.
    pub const SUSPEND: i32 = 0x2;
    /// Use the request's subscription.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Class filter.
    pub const CLASS_FILTER: i32 = 0x8;
    /// Lite pull.
    pub const LITE_PULL: i32 = 0x10;
}
