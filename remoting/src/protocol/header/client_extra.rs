//! Headers only clients send that the broker issue did not need to declare.

crate::command_header! {
    /// CONSUMER_SEND_MSG_BACK request: give a consumed message back for a later retry.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log offset of the message.
        pub offset: i64 = "offset",
        /// Consumer group.
        pub group: String = "group",
        /// Delay level; 0 lets the broker choose, < 0 sends it to the DLQ.
        pub delay_level: i32 = "delayLevel",
        /// Id of the original message.
        pub origin_msg_id: Option<String> = "originMsgId",
        /// Topic of the original message.
        pub origin_topic: Option<String> = "originTopic",
        /// Unit mode.
        pub unit_mode: bool = "unitMode",
        /// Retries before the DLQ.
        pub max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        /// Broker name.
        pub bname: Option<String> = "bname",
    }

    /// END_TRANSACTION request (transaction support fills it in).
    pub struct EndTransactionRequestHeader {
        /// Producer group of the half message.
        pub producer_group: String = "producerGroup",
        /// Queue offset of the half message.
        pub tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Commit-log offset of the half message.
        pub commit_log_offset: i64 = "commitLogOffset",
        /// 0 unknown, 8 commit, 12 rollback.
        pub commit_or_rollback: i32 = "commitOrRollback",
        /// True when answering a check.
        pub from_transaction_check: bool = "fromTransactionCheck",
        /// Message id (UNIQ_KEY).
        pub msg_id: String = "msgId",
        /// Transaction id.
        pub transaction_id: Option<String> = "transactionId",
    }
}
