//! The outcome of a send.

use remoting::protocol::body::MessageQueue;

use crate::api::SendResponse;

/// How well the broker stored a message (Apache `SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored.
    SendOk,
    /// Stored, but the flush to disk timed out.
    FlushDiskTimeout,
    /// Stored, but the replication to the slave timed out.
    FlushSlaveTimeout,
    /// Stored, but there is no slave to replicate to.
    SlaveNotAvailable,
}

impl SendStatus {
    /// The status of a send response code (0, 10, 11, 12).
    pub fn from_code(code: i32) -> SendStatus {
        match code {
            10 => SendStatus::FlushDiskTimeout,
            11 => SendStatus::SlaveNotAvailable,
            12 => SendStatus::FlushSlaveTimeout,
            _ => SendStatus::SendOk,
        }
    }

    /// Apache's name, e.g. `SEND_OK`.
    pub fn name(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

/// A stored message (Apache `SendResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// Status.
    pub status: SendStatus,
    /// The client id (`UNIQ_KEY`); for a batch the ids joined with `,`.
    pub msg_id: String,
    /// The broker's offset message id(s).
    pub offset_msg_id: String,
    /// The queue written.
    pub queue: MessageQueue,
    /// Queue offset (of the first message of a batch).
    pub queue_offset: i64,
    /// Transaction id, if the broker set one.
    pub transaction_id: Option<String>,
    /// `MSG_REGION` of the broker.
    pub region_id: Option<String>,
}

impl SendResult {
    pub(crate) fn from_response(resp: SendResponse, mq: &MessageQueue, uniq: &str) -> Self {
        SendResult {
            status: SendStatus::from_code(resp.code),
            msg_id: uniq.to_owned(),
            offset_msg_id: resp.header.msg_id,
            queue: MessageQueue {
                topic: mq.topic.clone(),
                broker_name: mq.broker_name.clone(),
                queue_id: resp.header.queue_id,
            },
            queue_offset: resp.header.queue_offset,
            transaction_id: resp.header.transaction_id,
            region_id: resp.region_id,
        }
    }
}
