//! Index files (`index/{yyyyMMddHHmmssSSS}`), Apache `IndexFile` layout:
//! a 40-byte header (begin/end timestamp, begin/end commit-log offset, used slot count, index
//! count), `slots × 4` bytes of hash slots, then `max_index × 20` bytes of entries
//! (key hash i32, commit-log offset i64, time diff in seconds i32, previous entry i32).
//! Keys are `topic#key`; only the hash is stored, so queries can return false positives.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::MmapMut;
use parking_lot::RwLock;
use remoting::message::{java_hash_continue, java_string_hash_code};
use smallvec::SmallVec;

use crate::error::{Result, StoreError};
use crate::mapped_file::{OS_PAGE_SIZE, populate_pages, populate_write_supported};

/// Header size.
pub const INDEX_HEADER_SIZE: usize = 40;
const SLOT_SIZE: usize = 4;
const ENTRY_SIZE: usize = 20;

/// `abs(hashCode(key))`, 0 for `Integer.MIN_VALUE`.
pub fn index_key_hash(key: &str) -> i32 {
    abs_hash(java_string_hash_code(key))
}

/// [`index_key_hash`] of `topic#key` ([`build_key`]), without building the string.
pub fn topic_key_hash(topic: &str, key: &str) -> i32 {
    let h = java_hash_continue(java_string_hash_code(topic), "#");
    abs_hash(java_hash_continue(h, key))
}

fn abs_hash(h: i32) -> i32 {
    if h == i32::MIN { 0 } else { h.abs() }
}

/// The index key of a message key: `topic#key`.
pub fn build_key(topic: &str, key: &str) -> String {
    let mut s = String::with_capacity(topic.len() + key.len() + 1);
    s.push_str(topic);
    s.push('#');
    s.push_str(key);
    s
}

/// File size for the given slot and entry counts.
pub fn index_file_size(slots: u32, max_index: u32) -> usize {
    INDEX_HEADER_SIZE + slots as usize * SLOT_SIZE + max_index as usize * ENTRY_SIZE
}

struct Inner {
    map: MmapMut,
    /// One bit per page of the header and slots area: its blocks are allocated. Slot
    /// writes land anywhere, so pages are allocated one by one as keys reach them.
    ready_pages: Vec<u64>,
    /// End of the entries area whose blocks are allocated.
    entries_populated: usize,
}

impl Inner {
    /// Allocates blocks (see [`populate_pages`]) for the page holding byte `pos` of the
    /// header and slots area, so a write there cannot raise SIGBUS on a full disk.
    fn ensure_page(&mut self, pos: usize) -> std::io::Result<()> {
        let page = pos / OS_PAGE_SIZE;
        let (word, bit) = (page / 64, 1u64 << (page % 64));
        if self.ready_pages[word] & bit != 0 || !populate_write_supported() {
            return Ok(());
        }
        // SAFETY: the page holds `pos`, which is inside the mapping.
        unsafe { populate_pages(self.map.as_mut_ptr().add(page * OS_PAGE_SIZE), 1)? };
        self.ready_pages[word] |= bit;
        Ok(())
    }

    /// Allocates blocks for the entries area up to `entry_end` (256 KiB ahead).
    fn ensure_entries(&mut self, entry_end: usize) -> std::io::Result<()> {
        const STEP: usize = 256 << 10;
        if entry_end <= self.entries_populated || !populate_write_supported() {
            return Ok(());
        }
        let from = self.entries_populated / OS_PAGE_SIZE * OS_PAGE_SIZE;
        let upto = entry_end.next_multiple_of(STEP).min(self.map.len());
        // SAFETY: `[from, upto)` is inside the mapping.
        unsafe { populate_pages(self.map.as_mut_ptr().add(from), upto - from)? };
        self.entries_populated = upto;
        Ok(())
    }

    fn i32(&self, pos: usize) -> i32 {
        i32::from_be_bytes(self.map[pos..pos + 4].try_into().unwrap())
    }
    fn i64(&self, pos: usize) -> i64 {
        i64::from_be_bytes(self.map[pos..pos + 8].try_into().unwrap())
    }
    fn put_i32(&mut self, pos: usize, v: i32) {
        self.map[pos..pos + 4].copy_from_slice(&v.to_be_bytes());
    }
    fn put_i64(&mut self, pos: usize, v: i64) {
        self.map[pos..pos + 8].copy_from_slice(&v.to_be_bytes());
    }
    fn begin_timestamp(&self) -> i64 {
        self.i64(0)
    }
    fn end_timestamp(&self) -> i64 {
        self.i64(8)
    }
    fn end_phy_offset(&self) -> i64 {
        self.i64(24)
    }
    fn index_count(&self) -> i32 {
        self.i32(36).max(1)
    }
}

/// One index file.
pub struct IndexFile {
    path: PathBuf,
    slots: u32,
    max_index: u32,
    inner: RwLock<Inner>,
}

impl IndexFile {
    /// Creates a new file whose header starts at the previous file's end offset and time.
    pub fn create(
        path: &Path,
        slots: u32,
        max_index: u32,
        end_phy_offset: i64,
        end_timestamp: i64,
    ) -> Result<Self> {
        let f = Self::map(path, slots, max_index, true)?;
        {
            let mut i = f.inner.write();
            if let Err(e) = i.ensure_page(0) {
                drop(i);
                let _ = std::fs::remove_file(path);
                return Err(StoreError::io("allocate", path, e));
            }
            i.put_i64(0, end_timestamp);
            i.put_i64(8, end_timestamp);
            i.put_i64(16, end_phy_offset);
            i.put_i64(24, end_phy_offset);
            i.put_i32(32, 0);
            i.put_i32(36, 1);
        }
        Ok(f)
    }

    /// Opens an existing file.
    pub fn open(path: &Path, slots: u32, max_index: u32) -> Result<Self> {
        Self::map(path, slots, max_index, false)
    }

    fn map(path: &Path, slots: u32, max_index: u32, create: bool) -> Result<Self> {
        let size = index_file_size(slots, max_index) as u64;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        if create {
            file.set_len(size)
                .map_err(|e| StoreError::io("set_len", path, e))?;
        }
        let actual = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if actual != size {
            return Err(StoreError::FileSize {
                path: path.into(),
                expected: size,
                actual,
            });
        }
        // SAFETY: the file is owned by the store; nothing else maps it.
        let map =
            unsafe { MmapMut::map_mut(&file) }.map_err(|e| StoreError::io("mmap", path, e))?;
        let slots_end = INDEX_HEADER_SIZE + slots as usize * SLOT_SIZE;
        let mut inner = Inner {
            map,
            ready_pages: vec![0; slots_end.div_ceil(OS_PAGE_SIZE).div_ceil(64)],
            entries_populated: slots_end,
        };
        if !create {
            // Entries already written have blocks; new ones are allocated from there on.
            inner.entries_populated = (slots_end
                + inner.index_count().clamp(1, max_index as i32) as usize * ENTRY_SIZE)
                .min(size as usize);
        }
        Ok(Self {
            path: path.into(),
            slots,
            max_index,
            inner: RwLock::new(inner),
        })
    }

    fn slots_end(&self) -> usize {
        INDEX_HEADER_SIZE + self.slots as usize * SLOT_SIZE
    }

    /// Path on disk.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when no more entries fit.
    pub fn is_full(&self) -> bool {
        self.inner.read().index_count() as u32 >= self.max_index
    }

    /// beginTimestamp.
    pub fn begin_timestamp(&self) -> i64 {
        self.inner.read().begin_timestamp()
    }

    /// endTimestamp.
    pub fn end_timestamp(&self) -> i64 {
        self.inner.read().end_timestamp()
    }

    /// endPhyOffset: commit-log offset of the newest indexed message.
    pub fn end_phy_offset(&self) -> i64 {
        self.inner.read().end_phy_offset()
    }

    /// Allocates blocks for the entries and slot pages of keys with these `hashes`
    /// ([`index_key_hash`] of the built index keys), as far as they fit in this file.
    pub fn reserve(&self, hashes: &[i32]) -> Result<()> {
        let mut i = self.inner.write();
        let count = (i.index_count() as usize + hashes.len()).min(self.max_index as usize);
        let alloc = |i: &mut Inner| -> std::io::Result<()> {
            i.ensure_entries(self.slots_end() + count * ENTRY_SIZE)?;
            for &h in hashes {
                i.ensure_page(self.slot_pos_of_hash(h))?;
            }
            Ok(())
        };
        alloc(&mut i).map_err(|e| StoreError::io("allocate", &self.path, e))
    }

    fn slot_pos_of_hash(&self, hash: i32) -> usize {
        INDEX_HEADER_SIZE + (hash as u32 % self.slots) as usize * SLOT_SIZE
    }

    /// Adds `key` for the message at `phy_offset`. False when the file is full; an error
    /// when no disk block can be allocated for the entry (nothing is written then).
    pub fn put_key(&self, key: &str, phy_offset: i64, store_timestamp: i64) -> Result<bool> {
        self.put_hash(index_key_hash(key), phy_offset, store_timestamp)
    }

    /// [`Self::put_key`] for a key whose [`index_key_hash`] is `hash`.
    pub fn put_hash(&self, hash: i32, phy_offset: i64, store_timestamp: i64) -> Result<bool> {
        let mut i = self.inner.write();
        let count = i.index_count();
        if count as u32 >= self.max_index {
            return Ok(false);
        }
        let entry_end = self.slots_end() + (count as usize + 1) * ENTRY_SIZE;
        let slot_pos = self.slot_pos_of_hash(hash);
        i.ensure_entries(entry_end)
            .and_then(|()| i.ensure_page(0)) // the header
            .and_then(|()| i.ensure_page(slot_pos))
            .map_err(|e| StoreError::io("allocate", &self.path, e))?;
        debug_assert!(count >= 1);
        let mut prev = i.i32(slot_pos);
        if prev <= 0 || prev >= count {
            prev = 0;
        }
        if count <= 1 {
            i.put_i64(16, phy_offset);
            i.put_i64(0, store_timestamp);
        }
        let begin = i.begin_timestamp();
        let diff = if begin <= 0 {
            0
        } else {
            ((store_timestamp - begin) / 1000).clamp(0, i32::MAX as i64) as i32
        };
        let entry =
            INDEX_HEADER_SIZE + self.slots as usize * SLOT_SIZE + count as usize * ENTRY_SIZE;
        i.put_i32(entry, hash);
        i.put_i64(entry + 4, phy_offset);
        i.put_i32(entry + 12, diff);
        i.put_i32(entry + 16, prev);
        i.put_i32(slot_pos, count);
        if prev == 0 {
            let used = i.i32(32);
            i.put_i32(32, used + 1);
        }
        i.put_i32(36, count + 1);
        i.put_i64(24, phy_offset);
        i.put_i64(8, store_timestamp);
        Ok(true)
    }

    /// Appends to `out` the offsets of entries matching `key` stored within `[begin, end]`
    /// ms, newest first, until `out` holds `max` offsets.
    pub fn select(&self, key: &str, max: usize, begin: i64, end: i64, out: &mut Vec<i64>) {
        let i = self.inner.read();
        let hash = index_key_hash(key);
        let slot_pos = self.slot_pos_of_hash(hash);
        // A damaged header must not send reads past the entries area.
        let count = i.index_count().min(self.max_index as i32);
        let mut next = i.i32(slot_pos);
        let file_begin = i.begin_timestamp();
        let mut steps = 0;
        while next > 0 && next < count && out.len() < max && steps <= count {
            steps += 1;
            let entry =
                INDEX_HEADER_SIZE + self.slots as usize * SLOT_SIZE + next as usize * ENTRY_SIZE;
            let h = i.i32(entry);
            let phy = i.i64(entry + 4);
            let diff = i.i32(entry + 12) as i64;
            let prev = i.i32(entry + 16);
            let t = file_begin + diff * 1000;
            if t < begin {
                break;
            }
            if h == hash && t <= end {
                out.push(phy);
            }
            if prev <= 0 || prev >= count || prev == next {
                break;
            }
            next = prev;
        }
    }

    /// Forces the file to disk.
    pub fn flush(&self) -> std::io::Result<()> {
        self.inner.read().map.flush()
    }

    /// Deletes the file.
    pub fn destroy(&self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Local time as `yyyyMMddHHmmssSSS`.
pub fn local_time_file_name(ms: i64) -> String {
    let secs = (ms / 1000) as libc::time_t;
    // SAFETY: localtime_r writes into the provided struct only.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ms.rem_euclid(1000)
    )
}

/// All index files of the store, oldest first.
pub struct IndexService {
    dir: PathBuf,
    slots: u32,
    max_index: u32,
    files: RwLock<Vec<Arc<IndexFile>>>,
}

impl IndexService {
    /// A service over `dir`.
    pub fn new(dir: PathBuf, slots: u32, max_index: u32) -> Self {
        Self {
            dir,
            slots,
            max_index,
            files: RwLock::new(Vec::new()),
        }
    }

    /// Loads the files; after a crash (`abnormal`) files whose end time is after
    /// `checkpoint_index_ts` are deleted so they are rebuilt from the commit log.
    pub fn load(&self, abnormal: bool, checkpoint_index_ts: i64) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io("mkdir", &self.dir, e))?;
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::io("read_dir", &self.dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .collect();
        paths.sort();
        let mut files = Vec::new();
        for p in paths {
            // Index files can be rebuilt from the commit log, so a damaged one (e.g. a crash
            // between creating and sizing it) is deleted rather than failing the open.
            let f = match IndexFile::open(&p, self.slots, self.max_index) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(path = %p.display(), "dropping unusable index file: {e}");
                    std::fs::remove_file(&p).map_err(|e| StoreError::io("delete", &p, e))?;
                    continue;
                }
            };
            if abnormal && f.end_timestamp() > checkpoint_index_ts {
                tracing::info!(path = %p.display(), "deleting index file newer than checkpoint");
                f.destroy().map_err(|e| StoreError::io("delete", &p, e))?;
                continue;
            }
            files.push(Arc::new(f));
        }
        *self.files.write() = files;
        Ok(())
    }

    /// Commit-log offset of the newest indexed message (-1 when none).
    pub fn end_phy_offset(&self) -> i64 {
        self.files
            .read()
            .last()
            .map(|f| f.end_phy_offset())
            .unwrap_or(-1)
    }

    fn writable_file(&self, now_ms: i64) -> Result<(Arc<IndexFile>, Option<Arc<IndexFile>>)> {
        let last = self.files.read().last().cloned();
        match last {
            Some(f) if !f.is_full() => Ok((f, None)),
            prev => {
                let (end_phy, end_ts) = prev
                    .as_ref()
                    .map(|p| (p.end_phy_offset(), p.end_timestamp()))
                    .unwrap_or((0, 0));
                Ok((self.push_new_file(now_ms, end_phy, end_ts)?, prev))
            }
        }
    }

    /// Creates a file named after `now_ms` (or the next free millisecond) and appends it.
    fn push_new_file(&self, now_ms: i64, end_phy: i64, end_ts: i64) -> Result<Arc<IndexFile>> {
        let mut t = now_ms;
        let path = loop {
            let p = self.dir.join(local_time_file_name(t));
            if !p.exists() {
                break p;
            }
            t += 1;
        };
        let f = Arc::new(IndexFile::create(
            &path,
            self.slots,
            self.max_index,
            end_phy,
            end_ts,
        )?);
        self.files.write().push(f.clone());
        Ok(f)
    }

    /// Indexes one message under `topic#key` for each key. Returns the previous file when it
    /// just became full (the caller flushes it and advances the checkpoint).
    pub fn build_index<'k>(
        &self,
        topic: &str,
        keys: impl Iterator<Item = &'k str>,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<Option<Arc<IndexFile>>> {
        let hashes: SmallVec<[i32; 4]> = keys
            .filter(|k| !k.is_empty())
            .map(|k| topic_key_hash(topic, k))
            .collect();
        if hashes.is_empty() {
            return Ok(None);
        }
        let (mut file, mut full) = self.writable_file(store_timestamp)?;
        if phy_offset <= file.end_phy_offset() && file.inner.read().index_count() > 1 {
            return Ok(full); // already indexed
        }
        // Allocate for every key first: a message is indexed under all its keys or none
        // (a retry after a failure would take it as already indexed).
        file.reserve(&hashes)?;
        for &h in &hashes {
            while !file.put_hash(h, phy_offset, store_timestamp)? {
                let (f, prev) = self.writable_file(store_timestamp)?;
                file = f;
                if prev.is_some() {
                    full = prev;
                }
            }
        }
        Ok(full)
    }

    /// Commit-log offsets of messages with `key` in `topic` stored within `[begin, end]` ms,
    /// newest files first, at most `max`.
    pub fn query(&self, topic: &str, key: &str, max: usize, begin: i64, end: i64) -> Vec<i64> {
        let k = build_key(topic, key);
        let mut out = Vec::new();
        let files = self.files.read().clone();
        for f in files.iter().rev() {
            if out.len() >= max {
                break;
            }
            let (fb, fe) = (f.begin_timestamp(), f.end_timestamp());
            if fe >= begin && fb <= end {
                f.select(&k, max, begin, end, &mut out);
            }
            if fb < begin {
                break;
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Deletes files (never the newest) whose end offset is below `min_phy_offset`.
    pub fn delete_expired(&self, min_phy_offset: i64) -> Result<usize> {
        let mut files = self.files.write();
        let mut n = 0;
        while files.len() > 1 && files[0].end_phy_offset() < min_phy_offset {
            let f = files.remove(0);
            f.destroy()
                .map_err(|e| StoreError::io("delete", f.path(), e))?;
            n += 1;
        }
        Ok(n)
    }

    /// Starts a new file (used after recovery cut the commit log below the newest indexed
    /// offset, so that the already-indexed guard does not skip new messages).
    pub fn roll_new_file(&self, end_phy_offset: i64) -> Result<()> {
        let end_ts = self
            .files
            .read()
            .last()
            .map(|f| f.end_timestamp())
            .unwrap_or(0);
        self.push_new_file(crate::commit_log::now_ms(), end_phy_offset, end_ts)?;
        Ok(())
    }

    /// Flushes every file.
    pub fn flush_all(&self) -> std::io::Result<()> {
        for f in self.files.read().iter() {
            f.flush()?;
        }
        Ok(())
    }

    /// Number of index files.
    pub fn file_count(&self) -> usize {
        self.files.read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_key_hash_is_the_hash_of_the_built_key() {
        for (t, k) in [("TopicA", "order-1"), ("T", ""), ("主题", "键 1")] {
            assert_eq!(topic_key_hash(t, k), index_key_hash(&build_key(t, k)));
        }
    }

    #[test]
    fn put_query_roll_over() {
        let dir = tempfile::tempdir().unwrap();
        let svc = IndexService::new(dir.path().to_path_buf(), 7, 10);
        svc.load(false, 0).unwrap();
        let base = 1_700_000_000_000i64;
        for i in 0..30i64 {
            let k = format!("k{}", i % 5);
            svc.build_index(
                "T",
                [k.as_str(), "all"].into_iter(),
                i * 100,
                base + i * 1000,
            )
            .unwrap();
        }
        assert!(svc.file_count() >= 6);
        let all = svc.query("T", "all", 64, 0, i64::MAX);
        assert_eq!(all, (0..30).map(|i| i * 100).collect::<Vec<_>>());
        let k3 = svc.query("T", "k3", 64, 0, i64::MAX);
        assert!(k3.contains(&300) && k3.contains(&2800));
        assert!(svc.query("U", "k3", 64, 0, i64::MAX).len() < 6);
        assert_eq!(svc.query("T", "all", 3, 0, i64::MAX).len(), 3);
        // Time range.
        let some = svc.query("T", "all", 64, base + 10_000, base + 12_000);
        assert_eq!(some, vec![1000, 1100, 1200]);
        // Already-indexed offsets are skipped.
        svc.build_index("T", ["all"].into_iter(), 2900, base + 29_000)
            .unwrap();
        assert_eq!(svc.query("T", "all", 64, 0, i64::MAX).len(), 30);
        assert_eq!(svc.end_phy_offset(), 2900);
        assert!(svc.delete_expired(1500).unwrap() > 0);
        assert!(svc.query("T", "all", 64, 0, i64::MAX).len() < 30);
        assert_eq!(local_time_file_name(base).len(), 17);
    }

    #[test]
    fn damaged_header_and_chains_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("20240101000000000");
        let f = IndexFile::create(&p, 7, 10, 0, 0).unwrap();
        for i in 0..5 {
            f.put_key(&format!("T#k{i}"), i * 10, 1_700_000_000_000)
                .unwrap();
        }
        drop(f);
        // Index count, slots and prev links full of garbage.
        let mut raw = std::fs::read(&p).unwrap();
        raw[36..40].copy_from_slice(&i32::MAX.to_be_bytes());
        for b in raw[40..].iter_mut().step_by(3) {
            *b = 0x7F;
        }
        std::fs::write(&p, &raw).unwrap();
        let f = IndexFile::open(&p, 7, 10).unwrap();
        let mut out = Vec::new();
        for i in 0..5 {
            f.select(&format!("T#k{i}"), 64, 0, i64::MAX, &mut out);
        }
        assert!(!f.put_key("T#x", 1, 1).unwrap());
    }
}
