//! The commit log: every message record appended to one stream of mapped files.
//!
//! Records are encoded outside the put lock; under it the store timestamp, the physical
//! offset and the per-queue logical offset are patched in and the bytes are copied to the
//! mapping. A record that does not fit in the current file (with 8 bytes to spare) makes the
//! writer put a BLANK filler there and move to the next file.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use remoting::message::{self, BLANK_MAGIC_CODE, MessageExt, RawRecord, msg_id, record, sysflag};

use crate::config::MessageStoreConfig;
use crate::error::{Result, StoreError};
use crate::mapped_file::{BlockAllocation, MappedFile, OS_PAGE_SIZE};
use crate::mapped_file_queue::MappedFileQueue;
use crate::results::{AppendMessageResult, PutMessageStatus};
use crate::write_buffer::WriteBuffer;

/// Maps a failure to fault in commit-log pages (a full disk) to the put status Apache uses
/// when the disk is full.
fn populate_failed(e: std::io::Error) -> PutMessageStatus {
    tracing::error!("cannot populate commit log pages: {e}");
    PutMessageStatus::ServiceNotAvailable
}

/// Current time in ms since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Minimum free bytes left at the end of a file (room for a BLANK filler).
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;

/// Records of one append, encoded outside the put lock.
#[derive(Default)]
struct EncodeBuf {
    bytes: BytesMut,
    records: Vec<Encoded>,
}

thread_local! {
    static ENCODE_BUF: std::cell::RefCell<EncodeBuf> = std::cell::RefCell::new(EncodeBuf::default());
}

/// What recovery found while verifying the commit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogScan {
    /// Offset just past the last good record (where the log is cut).
    pub end_offset: u64,
    /// Description of the first bad record, if the scan stopped on one rather than on zeros.
    pub corruption: Option<String>,
}

/// Next queue offset per topic and queue id (Apache `topicQueueTable`, keyed `topic-queueId`
/// there; nested here so lookups do not allocate).
type QueueTable = HashMap<String, HashMap<i32, i64, Hasher>, Hasher>;

/// Hashing for the queue table, looked up under the put lock on every append (SipHash was
/// 6% of an append's instructions).
type Hasher = foldhash::quality::RandomState;

/// The commit log.
pub struct CommitLog {
    files: MappedFileQueue,
    put_lock: Mutex<QueueTable>,
    max_message_size: usize,
    last_store_timestamp: AtomicI64,
    /// When the current put-lock holder took the lock (ms), 0 when free.
    lock_begin: AtomicI64,
    /// Size of the write buffer once started (0 = appends go through the mapping).
    buffer_size: usize,
    /// How long an append waits for write-buffer space before failing.
    buffer_wait: Duration,
    write_buffer: OnceLock<WriteBuffer>,
    /// Serialises writes to the files from the write buffer with zero-filling ahead.
    file_write: Mutex<()>,
}

/// Clears the lock-begin time when the critical section ends (also on early returns).
struct LockBeginGuard<'a>(&'a AtomicI64);

impl Drop for LockBeginGuard<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

struct Encoded {
    start: usize,
    len: usize,
    key: bool,
    store_ts_pos: usize,
}

/// Bytes a warming file is synced after (Apache's `flushLeastPagesWhenWarmMapedFile`,
/// 4096 pages).
const WARM_SYNC_EVERY: usize = 4096 * OS_PAGE_SIZE;

impl CommitLog {
    /// A commit log as `config` says (directory, file size, maximum message size,
    /// preallocation, prefaulting and the write buffer).
    pub fn new(config: &MessageStoreConfig) -> Self {
        let file_size = config.mapped_file_size_commit_log as usize;
        let buffered = config.is_transient_store_pool_enable();
        let prefault = config.prefault_ahead_bytes;
        // A SYNC_FLUSH master zero-fills (and syncs) its files ahead of the writer: the
        // zero-fill thread ahead of the write position, the preallocation thread the whole
        // next file.
        let zero_fills = config.zero_fills_commit_log();
        // Populating pages ahead of the writer on a sparse file is far cheaper than page
        // faults on fallocate'd (unwritten) extents, which zero whole folios on every fault;
        // without MADV_POPULATE_WRITE, reserve the blocks so a full disk cannot SIGBUS us.
        // Buffered appends never fault: the commit thread fills reserved blocks with pwrite.
        let alloc = if !buffered && prefault > 0 && crate::mapped_file::populate_write_supported() {
            BlockAllocation::Populated {
                // A SYNC_FLUSH master's zero-fill thread fills (and syncs) new files from
                // the start instead.
                head: if zero_fills {
                    0
                } else {
                    prefault.min(file_size)
                },
            }
        } else {
            BlockAllocation::Reserved
        };
        let largest_record = config.max_message_size + 64 * 1024;
        let mut files = MappedFileQueue::new(
            config.commit_log_dir(),
            file_size,
            config.preallocate_mapped_file,
        )
        .with_allocation(alloc);
        if zero_fills {
            files = files.with_warm(WARM_SYNC_EVERY);
        }
        Self {
            files,
            put_lock: Mutex::new(HashMap::default()),
            max_message_size: config.max_message_size,
            last_store_timestamp: AtomicI64::new(0),
            lock_begin: AtomicI64::new(0),
            buffer_size: if buffered {
                config
                    .write_buffer_size()
                    .max(2 * largest_record)
                    .next_multiple_of(OS_PAGE_SIZE)
            } else {
                0
            },
            buffer_wait: Duration::from_millis(
                config.os_page_cache_busy_timeout_mills.max(1) as u64
            ),
            write_buffer: OnceLock::new(),
            file_write: Mutex::new(()),
        }
    }

    /// Starts buffering appends (when configured), from the current end of the log. Call
    /// after recovery, before any put.
    pub fn start_write_buffer(&self) {
        if self.buffer_size > 0 {
            let _ = self
                .write_buffer
                .set(WriteBuffer::new(self.buffer_size, self.files.max_offset()));
        }
    }

    /// Whether appends go to the write buffer.
    pub fn is_buffered(&self) -> bool {
        self.write_buffer.get().is_some()
    }

    /// Writes buffered appends to the files (the commit thread's step). Returns true if it
    /// committed anything. The committed offset is what readers see.
    pub fn commit(&self) -> Result<bool> {
        let Some(wb) = self.write_buffer.get() else {
            return Ok(false);
        };
        let mut progressed = false;
        let _w = self.file_write.lock();
        loop {
            let at = wb.committed();
            let Some(file) = self.files.find_by_offset(at) else {
                return Ok(progressed);
            };
            let base = file.file_from_offset();
            let pos = (at - base) as usize;
            let end = file.appended();
            if end > pos {
                let (a, b) = wb.get(at, end - pos);
                file.write_committed(pos, a)
                    .map_err(|e| StoreError::io("pwrite", file.path(), e))?;
                if !b.is_empty() {
                    file.write_committed(pos + a.len(), b)
                        .map_err(|e| StoreError::io("pwrite", file.path(), e))?;
                }
                progressed = true;
            }
            // Past an end-of-file filler the read position jumps to the file end.
            let now = base + file.read_position() as u64;
            wb.set_committed(now);
            if now == at || file.read_position() < file.file_size() {
                return Ok(progressed);
            }
        }
    }

    /// Writes zeros over up to `chunk` bytes of the newest file beyond everything written,
    /// keeping `ahead` bytes past the write position zero-filled (for SYNC_FLUSH, whose
    /// group commits then overwrite allocated blocks). Returns the file and the range
    /// filled, if it filled anything; sync the file later.
    pub fn zero_fill_ahead(
        &self,
        ahead: usize,
        chunk: usize,
    ) -> Result<Option<(Arc<MappedFile>, usize, usize)>> {
        let Some(file) = self.files.last_file() else {
            return Ok(None);
        };
        // With the write buffer, nothing is written at or past the committed offset while
        // `file_write` is held. Mapped appends past the data recovered or written so far
        // only go below the populated offset, which moves under the file's fill lock; so
        // they are safe if the file populates ahead (never with reserved blocks, where
        // appends do not wait for `populated`). The fill releases `file_write` once its
        // range is published, so commits below it are not held up by the zeros.
        let w = self.file_write.lock();
        let floor = if self.write_buffer.get().is_some() {
            file.read_position()
        } else if file.populates_ahead() {
            file.wrote_position()
        } else {
            return Ok(None);
        }
        .next_multiple_of(OS_PAGE_SIZE);
        let target = file
            .wrote_position()
            .saturating_add(ahead)
            .next_multiple_of(OS_PAGE_SIZE)
            .min(file.file_size());
        let from = file.populated().max(floor);
        if from >= target {
            return Ok(None);
        }
        let upto = (from + chunk).min(target);
        match file
            .zero_fill(floor, upto, w)
            .map_err(|e| StoreError::io("zero-fill", file.path(), e))?
        {
            Some(from) => Ok(Some((file, from, upto))),
            None => Ok(None),
        }
    }

    /// Appended bytes not committed yet.
    pub fn uncommitted_bytes(&self) -> u64 {
        self.write_buffer
            .get()
            .map(|wb| self.write_offset().saturating_sub(wb.committed()))
            .unwrap_or(0)
    }

    /// Makes room for `len` more bytes at the end of `file`: waits for write-buffer space,
    /// or populates the pages when they are populated ahead. Nothing is written, so a
    /// failure leaves the log (and the queue offsets) untouched.
    fn prepare(&self, file: &MappedFile, len: usize) -> Result<(), PutMessageStatus> {
        let end = file.appended() + len;
        match self.write_buffer.get() {
            Some(wb) => {
                if !wb.wait_space(file.file_from_offset() + end as u64, self.buffer_wait) {
                    tracing::error!("write buffer full: the commit thread is not keeping up");
                    return Err(PutMessageStatus::OsPageCacheBusy);
                }
            }
            None => file.ensure_populated(end).map_err(populate_failed)?,
        }
        Ok(())
    }

    /// Copies `data` to the end of `file` (into the write buffer, or through the mapping)
    /// after [`Self::prepare`] made room for it.
    fn copy(&self, file: &MappedFile, data: &[u8]) {
        let ok = match self.write_buffer.get() {
            Some(wb) => {
                wb.put(file.file_from_offset() + file.appended() as u64, data);
                file.advance(data.len())
            }
            None => file.append(data),
        };
        debug_assert!(ok);
    }

    /// The mapped files.
    pub fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    /// Maps the existing files.
    pub fn load(&self) -> Result<()> {
        self.files.load()
    }

    /// Smallest readable offset.
    pub fn min_offset(&self) -> u64 {
        self.files.min_offset()
    }

    /// Offset just past the last readable byte (the committed offset when buffered).
    pub fn max_offset(&self) -> u64 {
        match self.write_buffer.get() {
            Some(wb) => wb.committed(),
            None => self.files.max_offset(),
        }
    }

    /// Offset just past the last appended byte, committed or not.
    pub fn write_offset(&self) -> u64 {
        self.files
            .last_file()
            .map(|f| f.file_from_offset() + f.wrote_position() as u64)
            .unwrap_or(0)
    }

    /// How long the current put-lock holder has held the lock (ms), 0 when free.
    pub fn lock_held_ms(&self) -> i64 {
        let begin = self.lock_begin.load(Ordering::Relaxed);
        if begin == 0 {
            0
        } else {
            (now_ms() - begin).max(0)
        }
    }

    /// Store time of the newest appended record.
    pub fn last_store_timestamp(&self) -> i64 {
        self.last_store_timestamp.load(Ordering::Acquire)
    }

    /// Replaces the topic-queue table (next queue offset per `topic-queueId`).
    pub fn set_topic_queue_table(&self, table: HashMap<(String, i32), i64>) {
        let mut t = self.put_lock.lock();
        t.clear();
        for ((topic, q), v) in table {
            t.entry(topic).or_default().insert(q, v);
        }
    }

    /// Next queue offset of a queue.
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.put_lock
            .lock()
            .get(topic)
            .and_then(|m| m.get(&queue_id))
            .copied()
            .unwrap_or(0)
    }

    /// Removes a queue from the table (topic deleted).
    pub fn remove_queue(&self, topic: &str, queue_id: i32) {
        if let Some(m) = self.put_lock.lock().get_mut(topic) {
            m.remove(&queue_id);
        }
    }

    /// Appends messages (one record each, all in the same file). Each gets its own physical
    /// and queue offset; PREPARED/ROLLBACK messages get queue offset 0 and do not advance it.
    pub fn append(&self, msgs: &[MessageExt]) -> Result<AppendMessageResult, PutMessageStatus> {
        if msgs.is_empty() {
            return Err(PutMessageStatus::MessageIllegal);
        }
        // Reuse one encode buffer per thread (no allocation per put).
        let mut buf = ENCODE_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
        buf.bytes.clear();
        buf.records.clear();
        let result = self.append_with(msgs, &mut buf);
        if buf.bytes.capacity() <= 8 << 20 && buf.records.capacity() <= 4096 {
            ENCODE_BUF.with(|b| *b.borrow_mut() = buf);
        }
        result
    }

    fn append_with(
        &self,
        msgs: &[MessageExt],
        enc: &mut EncodeBuf,
    ) -> Result<AppendMessageResult, PutMessageStatus> {
        let EncodeBuf {
            bytes: buf,
            records: encoded,
        } = enc;
        let mut total_body = 0usize;
        for m in msgs {
            total_body += m.body.len();
            if m.body.len() > self.max_message_size || total_body > self.max_message_size {
                tracing::warn!(topic = %m.topic, size = m.body.len(), "message body too large");
                return Err(PutMessageStatus::MessageIllegal);
            }
            let start = buf.len();
            let len = record::encode_record(m, buf).map_err(|e| {
                tracing::warn!(topic = %m.topic, "illegal message: {e}");
                match e {
                    message::MessageEncodeError::PropertiesLength(_) => {
                        PutMessageStatus::PropertiesSizeExceeded
                    }
                    _ => PutMessageStatus::MessageIllegal,
                }
            })?;
            if len > self.max_message_size + 64 * 1024 {
                return Err(PutMessageStatus::MessageIllegal);
            }
            let tx = sysflag::transaction_type(m.sys_flag);
            let key = tx == sysflag::TRANSACTION_NOT_TYPE || tx == sysflag::TRANSACTION_COMMIT_TYPE;
            encoded.push(Encoded {
                start,
                len,
                key,
                store_ts_pos: record::store_timestamp_pos(
                    buf[start + record::SYSFLAG_POS..start + record::SYSFLAG_POS + 4]
                        .iter()
                        .fold(0i32, |a, b| (a << 8) | *b as i32),
                ),
            });
        }
        let total = buf.len();
        if total + END_FILE_MIN_BLANK_LENGTH > self.files.file_size() {
            return Err(PutMessageStatus::MessageIllegal);
        }

        let (wrote_offset, store_ts, first_queue_offset) = {
            let mut table = self.put_lock.lock();
            let store_ts = now_ms();
            self.lock_begin.store(store_ts, Ordering::Relaxed);
            let _release = LockBeginGuard(&self.lock_begin);
            let mut file = self.files.last_file_or_create(0).map_err(|e| {
                tracing::error!("create commit log file: {e}");
                PutMessageStatus::CreateMappedFileFailed
            })?;
            if total + END_FILE_MIN_BLANK_LENGTH > file.remaining() {
                let mut blank = [0u8; 8];
                blank[..4].copy_from_slice(&(file.remaining() as i32).to_be_bytes());
                blank[4..].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
                self.prepare(&file, blank.len())?;
                self.copy(&file, &blank);
                file.fill_to_end();
                file = self.files.last_file_or_create(0).map_err(|e| {
                    tracing::error!("create commit log file: {e}");
                    PutMessageStatus::CreateMappedFileFailed
                })?;
            }
            let base = file.file_from_offset() + file.wrote_position() as u64;
            self.prepare(&file, total)?;
            let mut first_queue_offset = 0;
            for (i, e) in encoded.iter().enumerate() {
                let rec = &mut buf[e.start..e.start + e.len];
                let q = if e.key {
                    let m = &msgs[i];
                    let slot = match table.get_mut(m.topic.as_str()) {
                        Some(qs) => qs.entry(m.queue_id).or_insert(0),
                        None => table
                            .entry(m.topic.clone())
                            .or_default()
                            .entry(m.queue_id)
                            .or_insert(0),
                    };
                    let q = *slot;
                    *slot += 1;
                    q
                } else {
                    0
                };
                if i == 0 {
                    first_queue_offset = q;
                }
                rec[record::QUEUE_OFFSET_POS..record::QUEUE_OFFSET_POS + 8]
                    .copy_from_slice(&q.to_be_bytes());
                rec[record::PHYSICAL_OFFSET_POS..record::PHYSICAL_OFFSET_POS + 8]
                    .copy_from_slice(&((base + e.start as u64) as i64).to_be_bytes());
                rec[e.store_ts_pos..e.store_ts_pos + 8].copy_from_slice(&store_ts.to_be_bytes());
            }
            self.copy(&file, buf);
            self.last_store_timestamp.store(store_ts, Ordering::Release);
            (base, store_ts, first_queue_offset)
        };

        let mut ids = String::with_capacity(msgs.len() * 33);
        for (e, m) in encoded.iter().zip(msgs) {
            if !ids.is_empty() {
                ids.push(',');
            }
            msg_id::write_offset_msg_id(
                &mut ids,
                m.store_host,
                (wrote_offset + e.start as u64) as i64,
            );
        }
        Ok(AppendMessageResult {
            wrote_offset: wrote_offset as i64,
            wrote_bytes: total,
            msg_id: ids,
            store_timestamp: store_ts,
            logics_offset: first_queue_offset,
            msg_num: msgs.len(),
        })
    }

    /// Appends raw bytes replicated from a master at `start_offset` (slave). Returns false
    /// when `start_offset` is not the current end of the log.
    pub fn append_raw(&self, start_offset: u64, mut data: &[u8]) -> Result<bool> {
        let _g = self.put_lock.lock();
        if self.files.max_offset() != start_offset
            && !(self.files.is_empty()
                && start_offset.is_multiple_of(self.files.file_size() as u64))
        {
            return Ok(false);
        }
        let mut at = start_offset;
        while !data.is_empty() {
            let file = self.files.last_file_or_create(at)?;
            let n = data.len().min(file.remaining());
            file.ensure_populated(file.wrote_position() + n)
                .map_err(|e| StoreError::io("populate", file.path(), e))?;
            if !file.append(&data[..n]) {
                return Err(StoreError::io(
                    "append",
                    file.path(),
                    std::io::Error::other("short append"),
                ));
            }
            at += n as u64;
            data = &data[n..];
        }
        Ok(true)
    }

    /// Zero-copy bytes of the record at `offset` with `size` bytes.
    pub fn get_bytes(&self, offset: i64, size: usize) -> Option<Bytes> {
        if offset < 0 {
            return None;
        }
        let f = self.files.find_by_offset(offset as u64)?;
        f.slice((offset as u64 - f.file_from_offset()) as usize, size)
    }

    /// Zero-copy bytes from `offset` to the end of the written part of its file (for
    /// replication).
    pub fn get_data(&self, offset: i64) -> Option<Bytes> {
        if offset < 0 {
            return None;
        }
        let f = self.files.find_by_offset(offset as u64)?;
        f.slice_from((offset as u64 - f.file_from_offset()) as usize)
            .filter(|b| !b.is_empty())
    }

    /// The record starting at `offset` (size read from its header).
    pub fn get_record(&self, offset: i64) -> Option<Bytes> {
        let head = self.get_bytes(offset, 8)?;
        let size = i32::from_be_bytes(head[..4].try_into().unwrap());
        let magic = i32::from_be_bytes(head[4..8].try_into().unwrap());
        if size <= 0 || magic == BLANK_MAGIC_CODE {
            return None;
        }
        self.get_bytes(offset, size as usize)
    }

    /// Store timestamp of the record at `offset` (-1 if unreadable).
    pub fn store_timestamp_at(&self, offset: i64, size: usize) -> i64 {
        let Some(b) = self.get_bytes(offset, size.max(record::BORN_HOST_POS + 28)) else {
            return -1;
        };
        let sf = i32::from_be_bytes(
            b[record::SYSFLAG_POS..record::SYSFLAG_POS + 4]
                .try_into()
                .unwrap(),
        );
        let p = record::store_timestamp_pos(sf);
        i64::from_be_bytes(b[p..p + 8].try_into().unwrap())
    }

    /// Walks files from index `start_file` on, verifying records (CRC when `check_crc`, and that
    /// each record's PHYSICALOFFSET equals its position) until zeros, a bad record or the
    /// end. Returns where the good data ends.
    pub fn scan(&self, start_file: usize, check_crc: bool) -> LogScan {
        let files = self.files.files();
        let Some(first) = files.get(start_file) else {
            return LogScan {
                end_offset: files
                    .last()
                    .map(|f| f.file_from_offset() + f.file_size() as u64)
                    .unwrap_or(0),
                corruption: None,
            };
        };
        let mut end = first.file_from_offset();
        for f in &files[start_file..] {
            let data = f.all_bytes();
            let base = f.file_from_offset();
            let mut pos = 0usize;
            loop {
                if pos >= data.len() {
                    end = base + data.len() as u64;
                    break;
                }
                match record::parse_record(&data[pos..], check_crc) {
                    Ok(RawRecord::Message(v))
                        if v.commit_log_offset as u64 == base + pos as u64 =>
                    {
                        pos += v.total_size;
                    }
                    Ok(RawRecord::Message(v)) => {
                        return LogScan {
                            end_offset: base + pos as u64,
                            corruption: Some(format!(
                                "record at {} claims offset {}",
                                base + pos as u64,
                                v.commit_log_offset
                            )),
                        };
                    }
                    Ok(RawRecord::Blank { size }) if pos + size == data.len() => {
                        end = base + data.len() as u64;
                        break;
                    }
                    Ok(RawRecord::Blank { size }) => {
                        return LogScan {
                            end_offset: base + pos as u64,
                            corruption: Some(format!(
                                "blank record at {} of size {size} does not reach the file end",
                                base + pos as u64
                            )),
                        };
                    }
                    Err(e) => {
                        let zeros = data[pos..].iter().take(8).all(|b| *b == 0);
                        return LogScan {
                            end_offset: base + pos as u64,
                            corruption: (!zeros).then(|| {
                                e.offset_by(pos).to_string()
                                    + &format!(" (file {})", f.path().display())
                            }),
                        };
                    }
                }
            }
        }
        LogScan {
            end_offset: end,
            corruption: None,
        }
    }

    /// Index of the file abnormal recovery starts from: the newest file whose first record
    /// was stored at or before `min_timestamp` (0 if none).
    pub fn safe_start_file(&self, min_timestamp: i64) -> usize {
        let files = self.files.files();
        for (i, f) in files.iter().enumerate().rev() {
            if let Ok(RawRecord::Message(v)) = record::parse_record(f.all_bytes(), false)
                && v.store_timestamp != 0
                && v.store_timestamp <= min_timestamp
            {
                return i;
            }
        }
        0
    }

    /// Flushes (see [`MappedFileQueue::flush`]).
    pub fn flush(&self, least_pages: usize) -> std::io::Result<u64> {
        self.files.flush(least_pages)
    }
}

#[cfg(test)]
mod tests;
