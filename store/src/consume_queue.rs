//! One consume queue: 20-byte units (commit-log offset i64, size i32, tags code i64) in
//! `consumequeue/{topic}/{queueId}/`, indexed by logical queue offset.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::error::{Result, StoreError};
use crate::mapped_file::{BlockAllocation, MappedFile, populate_write_supported};
use crate::mapped_file_queue::MappedFileQueue;

/// Size of one consume-queue unit.
pub const CQ_UNIT_SIZE: usize = 20;

/// One decoded consume-queue unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    /// Commit-log offset of the record.
    pub commit_log_offset: i64,
    /// Record size.
    pub size: i32,
    /// Tags hash code (or delivery time for delayed messages).
    pub tags_code: i64,
}

impl CqUnit {
    /// Decodes 20 bytes.
    pub fn decode(b: &[u8]) -> CqUnit {
        CqUnit {
            commit_log_offset: i64::from_be_bytes(b[0..8].try_into().unwrap()),
            size: i32::from_be_bytes(b[8..12].try_into().unwrap()),
            tags_code: i64::from_be_bytes(b[12..20].try_into().unwrap()),
        }
    }

    /// Encodes to 20 bytes.
    pub fn encode(&self) -> [u8; CQ_UNIT_SIZE] {
        let mut b = [0u8; CQ_UNIT_SIZE];
        b[0..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    fn is_valid(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }
}

/// Appends one unit; false when the file is full. Fails (`StorageFull`) when no block can
/// be allocated for it.
fn append_unit(f: &MappedFile, unit: &[u8; CQ_UNIT_SIZE]) -> Result<bool> {
    f.ensure_populated(f.wrote_position() + CQ_UNIT_SIZE)
        .map_err(|e| StoreError::io("allocate", f.path(), e))?;
    Ok(f.append(unit))
}

/// The consume queue of one topic/queue id.
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    files: MappedFileQueue,
    /// Byte offset of the first valid unit.
    min_logic_offset: AtomicI64,
    /// End (offset + size) of the newest commit-log record referenced.
    max_physic_offset: AtomicI64,
    write_lock: Mutex<()>,
}

impl ConsumeQueue {
    /// A queue over `root/{topic}/{queue_id}` with files of `file_size` bytes.
    pub fn new(root: &std::path::Path, topic: &str, queue_id: i32, file_size: usize) -> Self {
        Self {
            topic: topic.into(),
            queue_id,
            // Blocks are allocated ahead of the units (256 KiB at a time), so a full disk
            // fails the put instead of raising SIGBUS in the dispatcher.
            files: MappedFileQueue::new(
                root.join(topic).join(queue_id.to_string()),
                file_size,
                false,
            )
            .with_allocation(if populate_write_supported() {
                BlockAllocation::Populated { head: 0 }
            } else {
                BlockAllocation::OnFault
            }),
            min_logic_offset: AtomicI64::new(0),
            max_physic_offset: AtomicI64::new(-1),
            write_lock: Mutex::new(()),
        }
    }

    /// Topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queue id.
    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Maps the files.
    pub fn load(&self) -> Result<()> {
        self.files.load()
    }

    /// The underlying files.
    pub fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    /// Recovery: keeps the valid units from the third-newest file on, cuts the rest, and
    /// returns nothing; [`Self::max_physic_offset`] is then set.
    pub fn recover(&self) -> Result<()> {
        let files = self.files.files();
        if files.is_empty() {
            return Ok(());
        }
        let start = files.len().saturating_sub(3);
        let mut end = files[start].file_from_offset();
        let mut max_phys = -1i64;
        'outer: for f in &files[start..] {
            let data = f.all_bytes();
            for (i, chunk) in data.chunks_exact(CQ_UNIT_SIZE).enumerate() {
                let u = CqUnit::decode(chunk);
                if !u.is_valid() {
                    end = f.file_from_offset() + (i * CQ_UNIT_SIZE) as u64;
                    break 'outer;
                }
                if u.size != i32::MAX {
                    max_phys = u.commit_log_offset.saturating_add(u.size as i64);
                }
            }
            end = f.file_from_offset() + f.file_size() as u64;
        }
        self.files.truncate_dirty(end)?;
        self.max_physic_offset.store(max_phys, Ordering::Release);
        let first = self.files.min_offset() as i64;
        self.min_logic_offset
            .store(self.first_valid_position(first), Ordering::Release);
        Ok(())
    }

    fn first_valid_position(&self, from: i64) -> i64 {
        // Skip filler units written before the first real entry (`fillPreBlank`).
        let max = self.files.max_offset() as i64;
        let mut pos = from;
        while pos < max {
            match self.unit_at_byte(pos as u64) {
                Some(u) if u.size == i32::MAX && u.commit_log_offset == 0 => {
                    pos += CQ_UNIT_SIZE as i64
                }
                _ => break,
            }
        }
        pos
    }

    fn unit_at_byte(&self, pos: u64) -> Option<CqUnit> {
        let f = self.files.find_by_offset(pos)?;
        let b = f.bytes((pos - f.file_from_offset()) as usize, CQ_UNIT_SIZE)?;
        Some(CqUnit::decode(b))
    }

    /// End of the newest referenced commit-log record (-1 if none).
    pub fn max_physic_offset(&self) -> i64 {
        self.max_physic_offset.load(Ordering::Acquire)
    }

    /// Smallest valid logical offset.
    pub fn min_offset_in_queue(&self) -> i64 {
        self.min_logic_offset.load(Ordering::Acquire) / CQ_UNIT_SIZE as i64
    }

    /// Next logical offset to be written.
    pub fn max_offset_in_queue(&self) -> i64 {
        self.files.max_offset() as i64 / CQ_UNIT_SIZE as i64
    }

    /// Appends the unit for logical offset `cq_offset`. Duplicates (already present) are
    /// skipped; a queue that starts above 0 is padded with filler units.
    pub fn put(&self, unit: CqUnit, cq_offset: i64) -> Result<bool> {
        let _g = self.write_lock.lock();
        if unit.commit_log_offset.saturating_add(unit.size as i64) <= self.max_physic_offset() {
            return Ok(false);
        }
        let expected = cq_offset as u64 * CQ_UNIT_SIZE as u64;
        // Fast path: the unit goes right after the last one, into the newest file.
        if let Some(f) = self.files.last_file()
            && !f.is_full()
            && f.file_from_offset() + f.read_position() as u64 == expected
        {
            return self.append_last(&f, unit);
        }
        let current = self.files.max_offset();
        if self.files.is_empty() && expected != 0 {
            // First unit of a queue that does not start at 0 (old files were deleted).
            let f = self.files.last_file_or_create(expected)?;
            let pad = (expected - f.file_from_offset()) as usize / CQ_UNIT_SIZE;
            let filler = CqUnit {
                commit_log_offset: 0,
                size: i32::MAX,
                tags_code: 0,
            }
            .encode();
            for _ in 0..pad {
                append_unit(&f, &filler)?;
            }
            self.min_logic_offset
                .store(expected as i64, Ordering::Release);
            self.files.set_flushed_where(f.file_from_offset());
        } else if !self.files.is_empty() && expected < current {
            return Ok(false);
        } else if !self.files.is_empty() && expected > current {
            // Units are missing (their records were never dispatched). Apache appends at the
            // wrong position; filler units keep every later unit at its own index instead.
            tracing::error!(
                topic = %self.topic,
                queue_id = self.queue_id,
                expected,
                current,
                "consume queue gap; padding with filler units"
            );
            let filler = CqUnit {
                commit_log_offset: 0,
                size: i32::MAX,
                tags_code: 0,
            }
            .encode();
            let mut at = current;
            while at < expected {
                let f = self.files.last_file_or_create(at)?;
                if !append_unit(&f, &filler)? {
                    break;
                }
                at += CQ_UNIT_SIZE as u64;
            }
        }
        let f = self.files.last_file_or_create(expected)?;
        self.append_last(&f, unit)
    }

    /// Appends `unit` to `f`, the newest file, which has room (write lock held).
    fn append_last(&self, f: &MappedFile, unit: CqUnit) -> Result<bool> {
        if !append_unit(f, &unit.encode())? {
            return Err(StoreError::io(
                "append",
                f.path(),
                std::io::Error::other("consume queue file full"),
            ));
        }
        self.max_physic_offset.store(
            unit.commit_log_offset.saturating_add(unit.size as i64),
            Ordering::Release,
        );
        Ok(true)
    }

    /// The unit at logical offset `index`.
    pub fn get_unit(&self, index: i64) -> Option<CqUnit> {
        if index < self.min_offset_in_queue() {
            return None;
        }
        self.unit_at_byte(index as u64 * CQ_UNIT_SIZE as u64)
    }

    /// The written units from logical offset `index` to the end of its file.
    pub fn units_from(&self, index: i64) -> Option<Bytes> {
        if index < self.min_offset_in_queue() {
            return None;
        }
        let pos = index as u64 * CQ_UNIT_SIZE as u64;
        let f = self.files.find_by_offset(pos)?;
        f.slice_from((pos - f.file_from_offset()) as usize)
            .filter(|b| !b.is_empty())
    }

    /// First logical offset of the file after the one holding `index`.
    pub fn roll_next_file(&self, index: i64) -> i64 {
        let per_file = (self.files.file_size() / CQ_UNIT_SIZE) as i64;
        index + per_file - index % per_file
    }

    /// Checks the units of the three newest files with `valid(unit, logical_offset)` and cuts
    /// the queue at the first one that fails (e.g. a unit that does not point at a matching
    /// commit-log record). Returns true if something was cut.
    pub fn validate_tail(&self, valid: impl Fn(&CqUnit, i64) -> bool) -> Result<bool> {
        let _g = self.write_lock.lock();
        let files = self.files.files();
        let start = files.len().saturating_sub(3);
        let min = self.min_logic_offset.load(Ordering::Acquire) as u64;
        for f in &files[start..] {
            let data = f.bytes(0, f.read_position()).unwrap_or(&[]);
            for (i, chunk) in data.chunks_exact(CQ_UNIT_SIZE).enumerate() {
                let pos = f.file_from_offset() + (i * CQ_UNIT_SIZE) as u64;
                let u = CqUnit::decode(chunk);
                if pos < min || u.size == i32::MAX {
                    continue;
                }
                if !valid(&u, (pos / CQ_UNIT_SIZE as u64) as i64) {
                    tracing::warn!(topic = %self.topic, queue_id = self.queue_id, logical = pos / CQ_UNIT_SIZE as u64, "consume queue unit does not match the commit log; cutting");
                    self.files.truncate_dirty(pos)?;
                    let mut max_phys = -1;
                    if pos >= CQ_UNIT_SIZE as u64
                        && let Some(u) = self.unit_at_byte(pos - CQ_UNIT_SIZE as u64)
                        && u.size != i32::MAX
                    {
                        max_phys = u.commit_log_offset.saturating_add(u.size as i64);
                    }
                    self.max_physic_offset.store(max_phys, Ordering::Release);
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Drops units that point at or past `phys` (commit-log cut).
    pub fn truncate_dirty_logic(&self, phys: i64) -> Result<()> {
        let _g = self.write_lock.lock();
        let files = self.files.files();
        let mut cut = None;
        for f in files.iter().rev() {
            let data = f.bytes(0, f.read_position()).unwrap_or(&[]);
            let mut last_good = None;
            for (i, chunk) in data.chunks_exact(CQ_UNIT_SIZE).enumerate() {
                let u = CqUnit::decode(chunk);
                if u.size == i32::MAX {
                    // Filler: kept only if a real unit follows it.
                    continue;
                }
                if u.commit_log_offset.saturating_add(u.size as i64) <= phys {
                    last_good = Some(i);
                } else {
                    break;
                }
            }
            match last_good {
                Some(i) => {
                    cut = Some(f.file_from_offset() + ((i + 1) * CQ_UNIT_SIZE) as u64);
                    break;
                }
                None => cut = Some(f.file_from_offset()),
            }
        }
        if let Some(cut) = cut
            && cut < self.files.max_offset()
        {
            self.files.truncate_dirty(cut)?;
        }
        // Recompute the newest referenced record.
        let max = self.files.max_offset();
        let mut max_phys = -1;
        if max >= CQ_UNIT_SIZE as u64
            && let Some(u) = self.unit_at_byte(max - CQ_UNIT_SIZE as u64)
            && u.size != i32::MAX
        {
            max_phys = u.commit_log_offset.saturating_add(u.size as i64);
        }
        self.max_physic_offset.store(max_phys, Ordering::Release);
        Ok(())
    }

    /// Sets the min logical offset to the first unit whose record starts at or after
    /// `phy_min_offset` (after commit-log files were deleted).
    pub fn correct_min_offset(&self, phy_min_offset: i64) {
        let min = self
            .min_logic_offset
            .load(Ordering::Acquire)
            .max(self.files.min_offset() as i64);
        let max = self.files.max_offset() as i64;
        let mut pos = min;
        while pos < max {
            match self.unit_at_byte(pos as u64) {
                Some(u) if u.size == i32::MAX || u.commit_log_offset < phy_min_offset => {
                    pos += CQ_UNIT_SIZE as i64
                }
                _ => break,
            }
        }
        self.min_logic_offset.store(pos, Ordering::Release);
    }

    /// Deletes files (never the newest) whose last unit points below `phy_min_offset`.
    /// Returns the number of files deleted.
    pub fn delete_expired(&self, phy_min_offset: i64) -> Result<usize> {
        let mut n = 0;
        loop {
            let files = self.files.files();
            if files.len() <= 1 {
                break;
            }
            let f = &files[0];
            let last = f.file_size() - CQ_UNIT_SIZE;
            let expired = match f.bytes(last, CQ_UNIT_SIZE) {
                Some(b) => CqUnit::decode(b).commit_log_offset < phy_min_offset,
                None => true,
            };
            if !expired {
                break;
            }
            self.files.delete_first()?;
            n += 1;
        }
        self.correct_min_offset(phy_min_offset);
        Ok(n)
    }

    /// Flushes dirty pages (see [`MappedFileQueue::flush`]).
    pub fn flush(&self, least_pages: usize) -> std::io::Result<u64> {
        self.files.flush(least_pages)
    }

    /// Deletes all files.
    pub fn destroy(&self) -> Result<()> {
        let _g = self.write_lock.lock();
        self.files.destroy_all()?;
        self.max_physic_offset.store(-1, Ordering::Release);
        self.min_logic_offset.store(0, Ordering::Release);
        Ok(())
    }
}

/// Shared handle.
pub type ConsumeQueueRef = Arc<ConsumeQueue>;

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(off: i64) -> CqUnit {
        CqUnit {
            commit_log_offset: off,
            size: 100,
            tags_code: 7,
        }
    }

    #[test]
    fn duplicates_gaps_and_late_start() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 20 * 4);
        assert!(cq.put(unit(0), 0).unwrap());
        assert!(cq.put(unit(100), 1).unwrap());
        assert!(!cq.put(unit(100), 1).unwrap(), "duplicate skipped");
        // Gap: units 2..5 never arrived; unit 6 still lands at index 6 (across files).
        assert!(cq.put(unit(700), 6).unwrap());
        assert_eq!(cq.max_offset_in_queue(), 7);
        assert_eq!(cq.get_unit(6), Some(unit(700)));
        assert_eq!(cq.get_unit(3).unwrap().size, i32::MAX);
        // Cut the commit log at 200: only units 0 and 1 stay (fillers after the last good unit
        // go too).
        cq.truncate_dirty_logic(200).unwrap();
        assert_eq!(cq.max_offset_in_queue(), 2);
        assert_eq!(cq.max_physic_offset(), 200);

        // A queue whose first unit is at offset 9 (older units deleted): padded, min = 9.
        let late = ConsumeQueue::new(dir.path(), "L", 0, 20 * 4);
        assert!(late.put(unit(5000), 9).unwrap());
        assert_eq!(late.min_offset_in_queue(), 9);
        assert_eq!(late.max_offset_in_queue(), 10);
        assert_eq!(late.get_unit(9), Some(unit(5000)));
        assert_eq!(late.get_unit(8), None);
    }
}
