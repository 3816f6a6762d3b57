//! One fixed-size memory-mapped data file named after its first byte's global offset.
//!
//! Writes are appends at the write position and must be serialised by the owner (the commit
//! log's put lock, the dispatch thread for consume queues). The write position is published
//! with release ordering after the bytes are copied, so readers (which only look below it)
//! never see partially written data. Read slices are zero-copy [`Bytes`] that keep the mapping
//! alive, so a file can be deleted while a reader still holds bytes of it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use memmap2::MmapRaw;

use crate::error::{Result, StoreError};

mod ahead;

pub use ahead::{BlockAllocation, populate_pages, populate_write_supported};

/// OS page size assumed for least-pages flush decisions.
pub const OS_PAGE_SIZE: usize = 4096;

/// The 20-digit zero-padded decimal file name of a global offset.
pub fn offset_to_file_name(offset: u64) -> String {
    format!("{offset:020}")
}

struct MapOwner(Arc<MmapRaw>);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the mapping lives as long as `self.0`. Readers only dereference sub-slices
        // below a published write position (see module docs).
        unsafe { std::slice::from_raw_parts(self.0.as_ptr(), self.0.len()) }
    }
}

/// A mapped data file.
pub struct MappedFile {
    path: PathBuf,
    file_from_offset: u64,
    file_size: usize,
    map: Arc<MmapRaw>,
    whole: Bytes,
    file: File,
    wrote: AtomicUsize,
    committed: AtomicUsize,
    filled: AtomicBool,
    flushed: AtomicUsize,
    populated: AtomicUsize,
    /// Serialises everything that moves `populated` (the prefault thread, the zero-fill
    /// thread and an appender populating for itself), so none writes where another has
    /// already let appends in.
    fill: parking_lot::Mutex<()>,
    /// Where a zero-fill in progress (under `fill`) starts; `usize::MAX` when none runs.
    filling_from: AtomicUsize,
    available: AtomicBool,
    alloc: BlockAllocation,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("wrote", &self.wrote_position())
            .field("committed", &self.read_position())
            .finish()
    }
}

impl MappedFile {
    /// Creates (or opens) `dir/{offset}` with exactly `file_size` bytes and maps it.
    pub fn create(dir: &Path, file_from_offset: u64, file_size: usize) -> Result<Self> {
        Self::create_with(dir, file_from_offset, file_size, BlockAllocation::OnFault)
    }

    /// Like [`Self::create`], allocating blocks as `alloc` says. A full disk fails here for
    /// [`BlockAllocation::Reserved`] and for the head of [`BlockAllocation::Populated`].
    pub fn create_with(
        dir: &Path,
        file_from_offset: u64,
        file_size: usize,
        alloc: BlockAllocation,
    ) -> Result<Self> {
        let path = dir.join(offset_to_file_name(file_from_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io("create", &path, e))?;
        file.set_len(file_size as u64)
            .map_err(|e| StoreError::io("set_len", &path, e))?;
        // Reserve the blocks up front: a full disk then fails here instead of raising SIGBUS
        // on a page fault while appending. File systems without fallocate are tolerated.
        // SAFETY: plain fallocate on an owned descriptor.
        let rc = if alloc != BlockAllocation::Reserved {
            0
        } else {
            unsafe {
                use std::os::fd::AsRawFd;
                libc::fallocate(file.as_raw_fd(), 0, 0, file_size as libc::off_t)
            }
        };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ENOSPC) {
                let _ = std::fs::remove_file(&path);
                return Err(StoreError::io("fallocate", &path, err));
            }
        }
        let mut mf = Self::map(path.clone(), file, file_from_offset, file_size)?;
        mf.alloc = alloc;
        if let BlockAllocation::Populated { head } = alloc
            && let Err(e) = mf.populate(head)
        {
            drop(mf);
            let _ = std::fs::remove_file(&path);
            return Err(StoreError::io("populate", &path, e));
        }
        Ok(mf)
    }

    /// Opens an existing file, which must be exactly `file_size` bytes long. The write
    /// position starts at the end (recovery moves it back).
    pub fn open(path: &Path, file_size: usize) -> Result<Self> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let from: u64 = name.parse().map_err(|_| StoreError::Config {
            key: "file name".into(),
            value: path.display().to_string(),
        })?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len != file_size as u64 {
            return Err(StoreError::FileSize {
                path: path.into(),
                expected: file_size as u64,
                actual: len,
            });
        }
        let mf = Self::map(path.to_path_buf(), file, from, file_size)?;
        mf.set_positions(file_size);
        Ok(mf)
    }

    fn map(path: PathBuf, file: File, file_from_offset: u64, file_size: usize) -> Result<Self> {
        let map = Arc::new(MmapRaw::map_raw(&file).map_err(|e| StoreError::io("mmap", &path, e))?);
        let whole = Bytes::from_owner(MapOwner(map.clone()));
        Ok(Self {
            path,
            file_from_offset,
            file_size,
            map,
            whole,
            file,
            wrote: AtomicUsize::new(0),
            committed: AtomicUsize::new(0),
            filled: AtomicBool::new(false),
            flushed: AtomicUsize::new(0),
            populated: AtomicUsize::new(0),
            fill: parking_lot::Mutex::new(()),
            filling_from: AtomicUsize::new(usize::MAX),
            available: AtomicBool::new(true),
            alloc: BlockAllocation::OnFault,
        })
    }

    /// Sets how the file's blocks are kept allocated (re-reserved after truncation, or
    /// populated ahead of appends). Nothing is allocated by this call.
    pub fn with_allocation(mut self, alloc: BlockAllocation) -> Self {
        self.alloc = alloc;
        self
    }

    /// Global offset of the first byte.
    pub fn file_from_offset(&self) -> u64 {
        self.file_from_offset
    }

    /// File size in bytes.
    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// Path on disk.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The logical write position: bytes appended, or the file size once an end-of-file
    /// filler marked the rest as used.
    pub fn wrote_position(&self) -> usize {
        if self.filled.load(Ordering::Acquire) {
            self.file_size
        } else {
            self.wrote.load(Ordering::Acquire)
        }
    }

    /// Bytes actually appended (the commit thread's limit for buffered appends).
    pub fn appended(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    /// The readable limit: everything appended for direct appends; what the commit thread
    /// wrote to the file for buffered ones ([`Self::advance`]).
    pub fn read_position(&self) -> usize {
        self.committed.load(Ordering::Acquire)
    }

    /// Bytes known to be on disk.
    pub fn flushed_position(&self) -> usize {
        self.flushed.load(Ordering::Acquire)
    }

    /// True when nothing more can be appended.
    pub fn is_full(&self) -> bool {
        self.wrote_position() >= self.file_size
    }

    /// Free bytes at the end.
    pub fn remaining(&self) -> usize {
        self.file_size - self.wrote_position()
    }

    /// Sets the write, read and flush positions (recovery, truncation).
    pub fn set_positions(&self, pos: usize) {
        let pos = pos.min(self.file_size);
        self.filled.store(false, Ordering::Release);
        self.wrote.store(pos, Ordering::Release);
        self.committed.store(pos, Ordering::Release);
        self.flushed.store(pos, Ordering::Release);
    }

    /// Appends `data` at the write position through the mapping, readable at once. Returns
    /// false when it does not fit. Callers must serialise appends to one file.
    pub fn append(&self, data: &[u8]) -> bool {
        let pos = self.wrote.load(Ordering::Relaxed);
        if pos + data.len() > self.file_size {
            return false;
        }
        // SAFETY: [pos, pos+len) is inside the mapping and above the published write position,
        // so no reader looks at it, and appends are serialised by the owner.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(pos),
                data.len(),
            );
        }
        self.wrote.store(pos + data.len(), Ordering::Release);
        self.committed.store(pos + data.len(), Ordering::Release);
        true
    }

    /// Buffered append: moves the write position by `len` bytes that the caller put in the
    /// write buffer; they become readable once committed ([`Self::write_committed`]).
    /// Returns false when they do not fit.
    pub fn advance(&self, len: usize) -> bool {
        let pos = self.wrote.load(Ordering::Relaxed);
        if pos + len > self.file_size {
            return false;
        }
        self.wrote.store(pos + len, Ordering::Release);
        true
    }

    /// Writes buffered bytes to the file at `pos` (`pwrite`, not through the mapping) and
    /// makes everything up to `pos + data.len()` readable. `pos` must be the read position.
    pub fn write_committed(&self, pos: usize, data: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        debug_assert_eq!(pos, self.read_position());
        debug_assert!(pos + data.len() <= self.appended());
        let _fill = self.wait_for_fill_into(pos + data.len());
        self.file.write_all_at(data, pos as u64)?;
        self.publish_committed(pos + data.len());
        Ok(())
    }

    /// Marks the rest of the file as used without writing (after an end-of-file filler).
    pub fn fill_to_end(&self) {
        self.filled.store(true, Ordering::SeqCst);
        if self.committed.load(Ordering::SeqCst) == self.appended() {
            self.committed.fetch_max(self.file_size, Ordering::SeqCst);
        }
    }

    /// Raises the read position to `end`, and to the file size once everything appended
    /// before an end-of-file filler is committed. Pairs with [`Self::fill_to_end`]: one of the
    /// two sees the other's store.
    fn publish_committed(&self, end: usize) {
        self.committed.fetch_max(end, Ordering::SeqCst);
        if self.filled.load(Ordering::SeqCst) && end == self.appended() {
            self.committed.fetch_max(self.file_size, Ordering::SeqCst);
        }
    }

    /// Zero-copy bytes `[pos, pos+len)`, if they are below the read position.
    pub fn slice(&self, pos: usize, len: usize) -> Option<Bytes> {
        if pos.checked_add(len)? > self.read_position() {
            return None;
        }
        Some(self.whole.slice(pos..pos + len))
    }

    /// Zero-copy bytes from `pos` up to the read position.
    pub fn slice_from(&self, pos: usize) -> Option<Bytes> {
        let w = self.read_position();
        (pos <= w).then(|| self.whole.slice(pos..w))
    }

    /// Borrowed bytes `[pos, pos+len)` below the read position.
    pub fn bytes(&self, pos: usize, len: usize) -> Option<&[u8]> {
        if pos.checked_add(len)? > self.read_position() {
            return None;
        }
        Some(&self.whole[pos..pos + len])
    }

    /// Borrowed bytes of the whole mapping, ignoring the write position (recovery only,
    /// before any writer runs).
    pub fn all_bytes(&self) -> &[u8] {
        &self.whole[..]
    }

    /// Forces written bytes to disk when at least `least_pages` dirty pages are pending (0 =
    /// always; a full file is always flushed). Returns the flushed position.
    pub fn flush(&self, least_pages: usize) -> std::io::Result<usize> {
        let wrote = self.read_position();
        let flushed = self.flushed_position();
        if wrote <= flushed {
            return Ok(flushed);
        }
        let full = wrote == self.file_size;
        if !full
            && least_pages > 0
            && (wrote / OS_PAGE_SIZE) - (flushed / OS_PAGE_SIZE) < least_pages
        {
            return Ok(flushed);
        }
        let start = flushed / OS_PAGE_SIZE * OS_PAGE_SIZE;
        self.map.flush_range(start, wrote - start)?;
        self.flushed.fetch_max(wrote, Ordering::AcqRel);
        Ok(wrote)
    }

    /// Zeroes everything from `pos` to the end of the file on disk and in memory (so stale
    /// records past a recovery cut can never be read as data), and sets the positions to
    /// `pos`. The file size never changes, so a crash in the middle leaves a well-formed
    /// file. Only call while no reader or writer uses the bytes past `pos`.
    pub fn truncate_to(&self, pos: usize) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let pos = pos.min(self.file_size);
        let fd = self.file.as_raw_fd();
        // Whole pages past the cut: punch a hole (reads as zeros), then reserve again.
        let page_start = pos.div_ceil(OS_PAGE_SIZE) * OS_PAGE_SIZE;
        let mut punched = false;
        if page_start < self.file_size {
            // SAFETY: plain fallocate on an owned descriptor.
            let rc = unsafe {
                libc::fallocate(
                    fd,
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    page_start as libc::off_t,
                    (self.file_size - page_start) as libc::off_t,
                )
            };
            punched = rc == 0;
            if punched {
                // The punched pages are gone from the mapping: populate them again.
                self.populated.fetch_min(page_start, Ordering::AcqRel);
            }
            if punched && self.alloc == BlockAllocation::Reserved {
                // SAFETY: as above.
                unsafe {
                    libc::fallocate(
                        fd,
                        0,
                        page_start as libc::off_t,
                        (self.file_size - page_start) as libc::off_t,
                    );
                }
            }
        }
        // The partial page (and everything, if punching is unsupported): write zeros through
        // the mapping, skipping pages that are already zero.
        let zero_end = if punched {
            page_start.min(self.file_size)
        } else {
            self.file_size
        };
        if zero_end > pos {
            let mut p = pos;
            while p < zero_end {
                let end = ((p / OS_PAGE_SIZE + 1) * OS_PAGE_SIZE).min(zero_end);
                let page = &self.whole[p..end];
                if page.iter().any(|b| *b != 0) {
                    // SAFETY: inside the mapping; no reader or writer uses bytes past `pos`.
                    unsafe { std::ptr::write_bytes(self.map.as_mut_ptr().add(p), 0, end - p) };
                }
                p = end;
            }
            self.map.flush_range(pos, zero_end - pos)?;
        }
        // The pages below the cut hold data, so their blocks exist: appends only need the
        // pages from the cut on populated.
        self.populated
            .fetch_max(pos / OS_PAGE_SIZE * OS_PAGE_SIZE, Ordering::AcqRel);
        self.set_positions(pos);
        Ok(())
    }

    /// `fdatasync` of the whole file.
    pub fn sync_data(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Last modification time of the file on disk.
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.file.metadata().ok()?.modified().ok()
    }

    /// Sets the file's modification time (tests and tools).
    pub fn set_last_modified(&self, t: SystemTime) -> std::io::Result<()> {
        self.file.set_modified(t)
    }

    /// False once the file has been destroyed.
    pub fn is_available(&self) -> bool {
        self.available.load(Ordering::Acquire)
    }

    /// Deletes the file from disk; the mapping stays valid for readers that hold bytes.
    pub fn destroy(&self) -> std::io::Result<()> {
        self.available.store(false, Ordering::Release);
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Reads a big-endian i64 at `pos` from the mapping (below the write position).
    pub fn read_i64(&self, pos: usize) -> Option<i64> {
        self.bytes(pos, 8)
            .map(|b| i64::from_be_bytes(b.try_into().unwrap()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_slice_flush_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let mf = MappedFile::create(dir.path(), 4096, 8192).unwrap();
        assert_eq!(mf.path().file_name().unwrap(), "00000000000000004096");
        assert!(mf.append(b"hello"));
        assert_eq!(mf.slice(0, 5).unwrap(), &b"hello"[..]);
        assert!(mf.slice(0, 6).is_none());
        assert_eq!(mf.flush(4).unwrap(), 0);
        assert_eq!(mf.flush(0).unwrap(), 5);
        let held = mf.slice(0, 5).unwrap();
        mf.truncate_to(2).unwrap();
        assert_eq!(mf.wrote_position(), 2);
        assert_eq!(&mf.all_bytes()[..5], b"he\0\0\0");
        assert!(!mf.append(&vec![0u8; 8191]));
        mf.destroy().unwrap();
        assert!(!mf.path().exists());
        assert_eq!(held.len(), 5);
        let reopened = MappedFile::create(dir.path(), 0, 100).unwrap();
        drop(reopened);
        assert!(matches!(
            MappedFile::open(&dir.path().join(offset_to_file_name(0)), 200),
            Err(StoreError::FileSize { .. })
        ));
    }
}
