//! Reads: pull by queue offset, lookups by commit-log offset, key queries, offsets by time,
//! and raw commit-log ranges for replication.

use bytes::Bytes;
use remoting::message::{MessageExt, RawRecord, decode_record_bytes, parse_record, properties};

use crate::config::BrokerRole;
use crate::consume_queue::{CQ_UNIT_SIZE, CqUnit};
use crate::results::{GetMessageResult, GetMessageStatus, MessageFilter, QueryMessageResult};
use crate::store::MessageStore;

fn total_physical_memory() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages > 0 && size > 0 {
        pages as u64 * size as u64
    } else {
        u64::MAX
    }
}

impl MessageStore {
    fn next_offset_correction(&self, old: i64, new: i64) -> i64 {
        if self.config.broker_role == BrokerRole::Slave && !self.config.offset_check_in_slave {
            old
        } else {
            new
        }
    }

    /// Reads up to `max_msgs` messages of `topic`/`queue_id` from queue offset `offset`,
    /// skipping those `filter` rejects. The records are zero-copy slices of the commit log.
    /// Statuses and next offsets follow Apache `DefaultMessageStore.getMessage`.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msgs: usize,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult {
        use GetMessageStatus::*;
        let max_phy = self.commit_log.max_offset() as i64;
        let Some(cq) = self.find_consume_queue(topic, queue_id) else {
            return GetMessageResult::empty(
                NoMatchedLogicQueue,
                self.next_offset_correction(offset, 0),
                0,
                0,
            );
        };
        let min = cq.min_offset_in_queue();
        let max = cq.max_offset_in_queue();
        if max == 0 {
            return GetMessageResult::empty(
                NoMessageInQueue,
                self.next_offset_correction(offset, 0),
                min,
                max,
            );
        }
        if offset < min {
            return GetMessageResult::empty(
                OffsetTooSmall,
                self.next_offset_correction(offset, min),
                min,
                max,
            );
        }
        if offset == max {
            return GetMessageResult::empty(
                OffsetOverflowOne,
                self.next_offset_correction(offset, offset),
                min,
                max,
            );
        }
        if offset > max {
            let next = if min == 0 { min } else { max };
            return GetMessageResult::empty(
                OffsetOverflowBadly,
                self.next_offset_correction(offset, next),
                min,
                max,
            );
        }
        let Some(units) = cq.units_from(offset) else {
            let next = cq.roll_next_file(offset);
            return GetMessageResult::empty(
                OffsetFoundNull,
                self.next_offset_correction(offset, next),
                min,
                max,
            );
        };
        let mut res = GetMessageResult::empty(NoMatchedMessage, offset, min, max);
        let max_filter = (16000usize).max(max_msgs * CQ_UNIT_SIZE);
        let file_size = self.config.mapped_file_size_commit_log as i64;
        let mut next_phy_file_start = i64::MIN;
        let mut max_phy_pulling = 0i64;
        let mut i = 0usize;
        while i + CQ_UNIT_SIZE <= units.len() && i < max_filter {
            let u = CqUnit::decode(&units[i..i + CQ_UNIT_SIZE]);
            if u.size == i32::MAX {
                // Filler unit (a gap in the queue): nothing to read.
                i += CQ_UNIT_SIZE;
                continue;
            }
            max_phy_pulling = u.commit_log_offset;
            if next_phy_file_start != i64::MIN && u.commit_log_offset < next_phy_file_start {
                i += CQ_UNIT_SIZE;
                continue;
            }
            if self.is_batch_full(
                u.size as usize,
                max_msgs,
                res.buffer_total_size,
                res.messages.len(),
            ) {
                break;
            }
            if let Some(f) = filter
                && !f.is_matched_by_consume_queue(u.tags_code)
            {
                if res.messages.is_empty() {
                    res.status = NoMatchedMessage;
                }
                i += CQ_UNIT_SIZE;
                continue;
            }
            let Some(rec) = (u.size > 0 && u.size != i32::MAX)
                .then(|| {
                    self.commit_log
                        .get_bytes(u.commit_log_offset, u.size as usize)
                })
                .flatten()
            else {
                if res.messages.is_empty() {
                    res.status = MessageWasRemoving;
                }
                next_phy_file_start = u
                    .commit_log_offset
                    .saturating_add(file_size - u.commit_log_offset.rem_euclid(file_size));
                i += CQ_UNIT_SIZE;
                continue;
            };
            if let Some(f) = filter
                && !f.is_matched_by_commit_log(&rec)
            {
                if res.messages.is_empty() {
                    res.status = NoMatchedMessage;
                }
                i += CQ_UNIT_SIZE;
                continue;
            }
            res.buffer_total_size += rec.len();
            res.messages.push(rec);
            res.queue_offsets.push(offset + (i / CQ_UNIT_SIZE) as i64);
            res.status = Found;
            next_phy_file_start = i64::MIN;
            i += CQ_UNIT_SIZE;
        }
        res.next_begin_offset = offset + (i / CQ_UNIT_SIZE) as i64;
        let behind = (max_phy - max_phy_pulling).max(0) as u64;
        res.suggest_pulling_from_slave = behind > total_physical_memory() / 100 * 40;
        res
    }

    fn is_batch_full(
        &self,
        size: usize,
        max_msgs: usize,
        total_bytes: usize,
        count: usize,
    ) -> bool {
        if total_bytes == 0 || count == 0 {
            return false;
        }
        max_msgs <= count
            || total_bytes + size > self.config.max_transfer_bytes_on_message_in_memory
            || count >= self.config.max_transfer_count_on_message_in_memory
    }

    /// Smallest queue offset of a queue (0 if it does not exist).
    pub fn get_min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.find_consume_queue(topic, queue_id)
            .map(|q| q.min_offset_in_queue())
            .unwrap_or(0)
    }

    /// Next queue offset to be written (0 if the queue does not exist).
    pub fn get_max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.find_consume_queue(topic, queue_id)
            .map(|q| q.max_offset_in_queue())
            .unwrap_or(0)
    }

    /// Commit-log offset of the message at queue offset `cq_offset` (0 if none).
    pub fn get_commit_log_offset_in_queue(
        &self,
        topic: &str,
        queue_id: i32,
        cq_offset: i64,
    ) -> i64 {
        self.find_consume_queue(topic, queue_id)
            .and_then(|q| q.get_unit(cq_offset))
            .map(|u| u.commit_log_offset)
            .unwrap_or(0)
    }

    /// Store time of the message at queue offset `cq_offset` (-1 if none).
    pub fn get_message_store_timestamp(&self, topic: &str, queue_id: i32, cq_offset: i64) -> i64 {
        self.find_consume_queue(topic, queue_id)
            .and_then(|q| q.get_unit(cq_offset))
            .map(|u| {
                self.commit_log
                    .store_timestamp_at(u.commit_log_offset, u.size as usize)
            })
            .unwrap_or(-1)
    }

    /// Store time of the oldest message of a queue (-1 if none).
    pub fn get_earliest_message_time(&self, topic: &str, queue_id: i32) -> i64 {
        let min = self.get_min_offset_in_queue(topic, queue_id);
        self.get_message_store_timestamp(topic, queue_id, min)
    }

    /// Store time of the oldest message in the commit log (-1 if empty).
    pub fn get_earliest_message_time_store(&self) -> i64 {
        let min = self.commit_log.min_offset() as i64;
        match self.commit_log.get_record(min) {
            Some(r) => match parse_record(&r, false) {
                Ok(RawRecord::Message(v)) => v.store_timestamp,
                _ => -1,
            },
            None => -1,
        }
    }

    /// The queue offset of the first message stored at or after `timestamp` (ms); the max
    /// offset if every message is older, the min offset if every message is newer. Binary
    /// search over the whole queue, so file boundaries do not matter.
    pub fn get_offset_in_queue_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
        let Some(cq) = self.find_consume_queue(topic, queue_id) else {
            return 0;
        };
        let (mut lo, mut hi) = (cq.min_offset_in_queue(), cq.max_offset_in_queue());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ts = cq
                .get_unit(mid)
                .map(|u| {
                    self.commit_log
                        .store_timestamp_at(u.commit_log_offset, u.size as usize)
                })
                .unwrap_or(-1);
            if ts < timestamp {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Smallest commit-log offset.
    pub fn get_min_phy_offset(&self) -> i64 {
        self.commit_log.min_offset() as i64
    }

    /// Offset just past the last readable commit-log byte (with the write buffer, the
    /// committed offset).
    pub fn get_max_phy_offset(&self) -> i64 {
        self.commit_log.max_offset() as i64
    }

    /// Offset just past the last appended commit-log byte, readable or still in the write
    /// buffer.
    pub fn get_appended_phy_offset(&self) -> i64 {
        self.commit_log.write_offset() as i64
    }

    /// True while the dispatcher retries a record it could not write to a consume queue or
    /// the index (a full disk); nothing after it is dispatched until it succeeds.
    pub fn dispatch_failing(&self) -> bool {
        self.dispatch_failing
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Commit-log offset flushed to disk.
    pub fn get_flushed_phy_offset(&self) -> i64 {
        self.commit_log.files().flushed_where() as i64
    }

    /// The raw record at commit-log `offset` (zero-copy).
    pub fn select_one_message_by_offset(&self, offset: i64) -> Option<Bytes> {
        self.commit_log.get_record(offset)
    }

    /// The raw `size` bytes at commit-log `offset` (zero-copy).
    pub fn select_one_message_by_offset_and_size(&self, offset: i64, size: usize) -> Option<Bytes> {
        self.commit_log.get_bytes(offset, size)
    }

    /// The decoded message at commit-log `offset`.
    pub fn look_message_by_offset(&self, offset: i64) -> Option<MessageExt> {
        let rec = self.commit_log.get_record(offset)?;
        decode_record_bytes(&rec).ok().map(|(m, _)| m)
    }

    /// Messages of `topic` with `key` (a `KEYS` entry or the `UNIQ_KEY`) stored within
    /// `[begin, end]` ms, at most `max_num` (capped at `maxMsgsNumBatch`). Index hits are
    /// verified against the stored records, so hash collisions are filtered out.
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        let mut res = QueryMessageResult::default();
        let Some(idx) = &self.index else {
            return res;
        };
        let max = max_num.min(self.config.max_msgs_num_batch);
        // Ask for more than needed: some hits may be collisions.
        let offsets = idx.query(topic, key, max * 4 + 16, begin, end);
        res.index_last_update_phyoffset = idx.end_phy_offset();
        for off in offsets {
            if res.messages.len() >= max {
                break;
            }
            let Some(rec) = self.commit_log.get_record(off) else {
                continue;
            };
            let Ok(RawRecord::Message(v)) = parse_record(&rec, false) else {
                continue;
            };
            let matches = v.topic == topic
                && (properties::find(v.properties, properties::UNIQ_KEY) == Some(key)
                    || properties::find(v.properties, properties::KEYS)
                        .is_some_and(|ks| properties::split_keys(ks).any(|k| k == key)));
            if matches {
                res.index_last_update_timestamp =
                    res.index_last_update_timestamp.max(v.store_timestamp);
                res.offsets.push(off);
                res.messages.push(rec);
            }
        }
        res
    }

    /// Raw commit-log bytes from `offset` to the end of the written part of its file (what a
    /// master sends to a slave). None when `offset` is not readable.
    pub fn get_commit_log_data(&self, offset: i64) -> Option<Bytes> {
        self.commit_log.get_data(offset)
    }

    /// Appends raw commit-log bytes received from a master at `start_offset` (slave). Returns
    /// false when `start_offset` is not the current end of the log. The dispatcher builds
    /// consume queues and the index from complete records.
    pub fn append_to_commit_log(
        &self,
        start_offset: i64,
        data: &[u8],
    ) -> crate::error::Result<bool> {
        if start_offset < 0 {
            return Ok(false);
        }
        let ok = self.commit_log.append_raw(start_offset as u64, data)?;
        if ok {
            self.put_signal.notify();
        }
        Ok(ok)
    }
}
