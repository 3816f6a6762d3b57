//! Status and result types returned to the broker.

use bytes::Bytes;

/// Outcome of a put (Apache `PutMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMessageStatus {
    /// Stored (and flushed, for SYNC_FLUSH).
    PutOk,
    /// Stored, but the group commit did not finish within `syncFlushTimeout`.
    FlushDiskTimeout,
    /// Stored, but replication to the slave timed out (not produced by the store itself).
    FlushSlaveTimeout,
    /// Stored, but no slave is available (not produced by the store itself).
    SlaveNotAvailable,
    /// The store refuses writes (slave role, shut down, or disk full).
    ServiceNotAvailable,
    /// A new commit-log file could not be created.
    CreateMappedFileFailed,
    /// The message is invalid: body over `maxMessageSize`, topic over 127 bytes, and so on.
    MessageIllegal,
    /// The properties string is longer than 32767 bytes.
    PropertiesSizeExceeded,
    /// The put lock was held too long.
    OsPageCacheBusy,
    /// Anything else.
    UnknownError,
}

/// Where a put landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessageResult {
    /// Commit-log offset of the first record.
    pub wrote_offset: i64,
    /// Bytes written (all records of a batch).
    pub wrote_bytes: usize,
    /// Offset message ids, joined with `,` for a batch.
    pub msg_id: String,
    /// Store timestamp assigned under the put lock.
    pub store_timestamp: i64,
    /// Queue offset of the first message.
    pub logics_offset: i64,
    /// Number of messages written.
    pub msg_num: usize,
}

/// Result of a put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutMessageResult {
    /// Status.
    pub status: PutMessageStatus,
    /// Present when the message was written (also for FlushDiskTimeout).
    pub append: Option<AppendMessageResult>,
}

impl PutMessageResult {
    /// A failed put.
    pub fn failed(status: PutMessageStatus) -> Self {
        Self {
            status,
            append: None,
        }
    }

    /// True when the message is in the commit log.
    pub fn is_stored(&self) -> bool {
        self.append.is_some()
    }
}

/// Outcome of a get (Apache `GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    /// Messages returned.
    Found,
    /// Entries were scanned but the filter rejected them all.
    NoMatchedMessage,
    /// The commit-log record is gone (file deleted or rolled).
    MessageWasRemoving,
    /// The consume-queue slot could not be read.
    OffsetFoundNull,
    /// Offset > max offset.
    OffsetOverflowBadly,
    /// Offset == max offset (nothing new; long polling waits here).
    OffsetOverflowOne,
    /// Offset < min offset.
    OffsetTooSmall,
    /// No such consume queue.
    NoMatchedLogicQueue,
    /// The queue is empty.
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// Apache's name (used as the pull response remark).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Found => "FOUND",
            Self::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            Self::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            Self::OffsetFoundNull => "OFFSET_FOUND_NULL",
            Self::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            Self::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            Self::OffsetTooSmall => "OFFSET_TOO_SMALL",
            Self::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            Self::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// Result of a get: the raw records as zero-copy slices of the mapped commit log.
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    /// Status.
    pub status: GetMessageStatus,
    /// Queue offset to pull from next.
    pub next_begin_offset: i64,
    /// Smallest queue offset.
    pub min_offset: i64,
    /// Next queue offset to be written.
    pub max_offset: i64,
    /// Records, each exactly as stored (write them to the socket back to back).
    pub messages: Vec<Bytes>,
    /// Queue offset of each record in `messages`.
    pub queue_offsets: Vec<i64>,
    /// Sum of the record sizes.
    pub buffer_total_size: usize,
    /// True when the reader is far behind the writer (suggest pulling from a slave).
    pub suggest_pulling_from_slave: bool,
}

impl GetMessageResult {
    pub(crate) fn empty(status: GetMessageStatus, next: i64, min: i64, max: i64) -> Self {
        Self {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
            buffer_total_size: 0,
            suggest_pulling_from_slave: false,
        }
    }
}

/// Result of a key query.
#[derive(Debug, Clone, Default)]
pub struct QueryMessageResult {
    /// Matching records (raw, zero-copy).
    pub messages: Vec<Bytes>,
    /// Commit-log offsets of `messages`.
    pub offsets: Vec<i64>,
    /// Newest index update time seen.
    pub index_last_update_timestamp: i64,
    /// Newest indexed commit-log offset.
    pub index_last_update_phyoffset: i64,
}

/// Filters used by [`crate::MessageStore::get_message`] (the broker's tag / SQL92 filter).
pub trait MessageFilter: Send + Sync {
    /// Decides on the consume-queue unit alone (tags hash code).
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool;
    /// Decides on the full record (e.g. SQL92 on properties); default accepts.
    fn is_matched_by_commit_log(&self, _record: &[u8]) -> bool {
        true
    }
}

/// Any `Fn(tags_code) -> bool` closure is a consume-queue-only filter.
impl<F: Fn(i64) -> bool + Send + Sync> MessageFilter for F {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        self(tags_code)
    }
}

/// A filter accepting messages whose tags hash code is in a set (Apache TAG filtering; an
/// empty set accepts everything, like `*`).
#[derive(Debug, Clone, Default)]
pub struct TagsFilter {
    /// Accepted `(int)` hash codes.
    pub codes: Vec<i32>,
}

impl MessageFilter for TagsFilter {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        self.codes.is_empty() || self.codes.contains(&(tags_code as i32))
    }
}

/// What the dispatcher tells listeners when a queue grows (long polling hangs on this).
#[derive(Debug, Clone)]
pub struct ArrivalEvent<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Queue id.
    pub queue_id: i32,
    /// New max offset of the queue (queue offset of the message + 1).
    pub max_offset: i64,
    /// Tags code of the message.
    pub tags_code: i64,
    /// Store timestamp of the message.
    pub store_timestamp: i64,
    /// Encoded properties of the message.
    pub properties: &'a str,
}
