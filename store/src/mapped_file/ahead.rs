//! Keeping a file's pages ahead of its writer: how blocks get allocated, pre-faulting
//! pages (`MADV_POPULATE_WRITE`) and zero-filling them (SYNC_FLUSH), so that appends and
//! group-commit flushes neither fault nor allocate blocks.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{MappedFile, OS_PAGE_SIZE};

/// How a new file's disk blocks get allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockAllocation {
    /// By the page faults of the first writes (a full disk raises SIGBUS in the writer).
    OnFault,
    /// `fallocate` at creation: a full disk fails the creation. Page faults on the
    /// unwritten extents still zero pages in the writer.
    Reserved,
    /// Pages are faulted in ahead of the writer with `MADV_POPULATE_WRITE`: `head` bytes at
    /// creation, later ones by the prefault or zero-fill thread or by
    /// [`MappedFile::ensure_populated`]. A full disk fails creation or the append that
    /// needs the page, never with SIGBUS.
    Populated {
        /// Bytes from the start populated at creation.
        head: usize,
    },
}

/// Pre-faults `len` bytes of a shared file mapping at `ptr` (page aligned) for writing with
/// `MADV_POPULATE_WRITE`, which also allocates (delayed) blocks of a sparse file, so that
/// later stores there cannot raise SIGBUS. Fails with `Unsupported` on kernels before 5.14
/// and with `StorageFull` when a block cannot be allocated (a full disk).
///
/// # Safety
/// `[ptr, ptr + len)` must lie inside a live mapping.
pub unsafe fn populate_pages(ptr: *mut u8, len: usize) -> std::io::Result<()> {
    // SAFETY: guaranteed by the caller; the advice only faults pages in.
    let rc = unsafe { libc::madvise(ptr as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    Err(match err.raw_os_error() {
        Some(libc::EINVAL) => std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "MADV_POPULATE_WRITE not supported",
        ),
        // EFAULT: the fault would raise SIGBUS, i.e. no block could be allocated.
        Some(libc::EFAULT) | Some(libc::ENOSPC) => std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "cannot allocate pages of the file (disk full?)",
        ),
        _ => err,
    })
}

/// Whether the kernel supports `MADV_POPULATE_WRITE` (Linux 5.14+), probed once.
pub fn populate_write_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        // SAFETY: a private anonymous page mapped, advised and unmapped here only.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                OS_PAGE_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return false;
            }
            let rc = libc::madvise(p, OS_PAGE_SIZE, libc::MADV_POPULATE_WRITE);
            libc::munmap(p, OS_PAGE_SIZE);
            rc == 0
        }
    })
}

impl MappedFile {
    /// Bytes from the start of the file whose pages were pre-faulted by [`Self::populate`].
    pub fn populated(&self) -> usize {
        self.populated.load(Ordering::Acquire)
    }

    /// Pre-faults (writable) the pages of `[populated, upto)` so the appender does not take
    /// page faults there; on a sparse file this also allocates (delayed) blocks. Contents
    /// are not changed. Fails with `Unsupported` if the kernel lacks `MADV_POPULATE_WRITE`
    /// (Linux 5.14+), and with `StorageFull` or another error if a write fault there would
    /// fail (a full disk).
    pub fn populate(&self, upto: usize) -> std::io::Result<()> {
        let upto = upto.min(self.file_size).div_ceil(OS_PAGE_SIZE) * OS_PAGE_SIZE;
        let upto = upto.min(self.file_size);
        let _f = self.fill.lock();
        let from = self.populated() / OS_PAGE_SIZE * OS_PAGE_SIZE;
        if upto <= from {
            return Ok(());
        }
        // SAFETY: `[from, upto)` is inside the mapping, which lives as long as `self`.
        unsafe { populate_pages(self.map.as_mut_ptr().add(from), upto - from)? };
        self.populated.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }

    /// Writes zeros (`pwrite`) from the populated offset (at least `floor`) up to `upto`,
    /// marks the file populated up to `upto` and returns where the zeros start, or `None`
    /// if everything up to `upto` was populated already. Appends never write past the
    /// populated offset, and the caller makes sure nothing is committed at or past
    /// `floor` while it holds `held` (a guard of its own), so no data is overwritten.
    /// `held` is released once the range is published: a [`Self::write_committed`] that
    /// reaches into it then waits for the zeros, and one below it goes ahead meanwhile.
    /// Once synced, later data writes there overwrite allocated, written blocks: their
    /// flushes need no block allocation.
    pub fn zero_fill<G>(
        &self,
        floor: usize,
        upto: usize,
        held: G,
    ) -> std::io::Result<Option<usize>> {
        use std::os::unix::fs::FileExt;
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let upto = upto.min(self.file_size);
        let _f = self.fill.lock();
        let from = self.populated().max(floor);
        if from >= upto {
            return Ok(None);
        }
        debug_assert!(from >= self.read_position());
        self.filling_from.store(from, Ordering::Release);
        drop(held);
        let mut at = from;
        let mut written = Ok(());
        while at < upto && written.is_ok() {
            let n = ZEROS.len().min(upto - at);
            written = self.file.write_all_at(&ZEROS[..n], at as u64);
            at += n;
        }
        if written.is_ok() {
            self.populated.fetch_max(upto, Ordering::AcqRel);
        }
        self.filling_from.store(usize::MAX, Ordering::Release);
        written.map(|()| Some(from))
    }

    /// Zero-fills the whole file and syncs it every `sync_every` bytes, before the file is
    /// used: the preallocated next commit-log file of a SYNC_FLUSH master, so its group
    /// commits overwrite written blocks from the first byte on, and the zeros reach the disk
    /// in a few large steps while the previous file is written rather than beside every
    /// group commit. Stops after the current 1 MiB step once `stop` is set (the file is
    /// wanted), without syncing the last zeros: the zero-fill thread carries on from there,
    /// and its next sync covers them.
    pub fn warm(&self, sync_every: usize, stop: &AtomicBool) -> std::io::Result<()> {
        const STEP: usize = 1 << 20;
        let mut unsynced = 0;
        let mut filled = Ok(());
        while self.populated() < self.file_size && !stop.load(Ordering::Acquire) {
            let from = self.populated();
            let upto = (from + STEP).min(self.file_size);
            filled = self.zero_fill(0, upto, ()).map(|_| ());
            if filled.is_err() {
                break;
            }
            unsynced += upto - from;
            if unsynced >= sync_every {
                self.sync_data()?;
                unsynced = 0;
            }
        }
        if unsynced > 0 && !stop.load(Ordering::Acquire) {
            self.sync_data()?;
        }
        filled
    }

    /// Waits for a zero-fill running where bytes up to `end` go (see [`Self::zero_fill`]),
    /// and keeps it from moving on until the returned guard drops; one ahead of them does
    /// not hold up the caller.
    pub(super) fn wait_for_fill_into(&self, end: usize) -> Option<parking_lot::MutexGuard<'_, ()>> {
        (end > self.filling_from.load(Ordering::Acquire)).then(|| self.fill.lock())
    }

    /// Whether appends wait for pages to be populated ([`BlockAllocation::Populated`]).
    pub fn populates_ahead(&self) -> bool {
        matches!(self.alloc, BlockAllocation::Populated { .. })
    }

    /// Makes sure `[0, end)` is populated before an append writes there, for files whose
    /// pages are populated ahead ([`BlockAllocation::Populated`]); a no-op for others. When
    /// the prefault thread is behind, the appender populates (in 256 KiB steps) itself.
    pub fn ensure_populated(&self, end: usize) -> std::io::Result<()> {
        const STEP: usize = 256 << 10;
        if !self.populates_ahead() || end <= self.populated() {
            return Ok(());
        }
        self.populate(end.next_multiple_of(STEP))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn populated_files_fault_in_ahead_and_forget_punched_pages() {
        if !populate_write_supported() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let alloc = BlockAllocation::Populated { head: 8192 };
        let mf = MappedFile::create_with(dir.path(), 0, 64 * 1024, alloc).unwrap();
        assert_eq!(mf.populated(), 8192);
        mf.ensure_populated(10_000).unwrap();
        assert!(mf.populated() >= 10_000);
        assert!(mf.append(&[7u8; 10_000]));
        mf.truncate_to(100).unwrap();
        assert!(
            mf.populated() <= OS_PAGE_SIZE,
            "punched pages must be populated again"
        );
        assert_eq!(&mf.all_bytes()[98..102], &[7, 7, 0, 0]);
        // A file that is not populated ahead never populates on demand.
        let plain = MappedFile::create(dir.path(), 64 * 1024, 64 * 1024).unwrap();
        plain.ensure_populated(10_000).unwrap();
        assert_eq!(plain.populated(), 0);
    }

    /// Bytes the file system allocated for `path`.
    fn allocated(path: &std::path::Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).unwrap().blocks() * 512
    }

    #[test]
    fn warming_writes_every_block_of_the_file_and_honours_stop() {
        let dir = tempfile::tempdir().unwrap();
        let size = 3 << 20;
        // A sparse file: only the warm-up gives it blocks.
        let mf = MappedFile::create_with(dir.path(), 0, size, BlockAllocation::OnFault).unwrap();
        assert_eq!(allocated(mf.path()), 0);
        mf.warm(1 << 20, &AtomicBool::new(true)).unwrap();
        assert_eq!(mf.populated(), 0, "a stopped warm-up writes nothing");
        mf.warm(1 << 20, &AtomicBool::new(false)).unwrap();
        assert_eq!(mf.populated(), size);
        assert!(allocated(mf.path()) >= size as u64, "blocks left unwritten");
        assert!(mf.all_bytes().iter().all(|b| *b == 0));
        // The warmed file is used as any other.
        assert!(mf.append(b"record"));
        assert_eq!(mf.bytes(0, 6), Some(&b"record"[..]));
    }

    #[test]
    fn commits_into_a_zero_fill_wait_for_it_and_commits_below_it_do_not() {
        use std::os::unix::fs::FileExt;
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let mf = Arc::new(MappedFile::create(dir.path(), 0, 1 << 20).unwrap());
        // A fill of [8 KiB, 64 KiB) is running (its lock held, its range published).
        let fill = mf.fill.lock();
        mf.filling_from.store(8192, Ordering::Release);
        // A commit below it goes ahead.
        assert!(mf.advance(8192));
        mf.write_committed(0, &[5u8; 8192]).unwrap();
        assert_eq!(mf.read_position(), 8192);
        // One reaching into it waits until the zeros are written.
        let (done_tx, done) = std::sync::mpsc::channel();
        let writer = {
            let mf = mf.clone();
            std::thread::spawn(move || {
                assert!(mf.advance(8192));
                mf.write_committed(8192, &[7u8; 8192]).unwrap();
                done_tx.send(()).unwrap();
            })
        };
        assert!(
            done.recv_timeout(Duration::from_millis(300)).is_err(),
            "a commit into a running fill must wait for it"
        );
        mf.file.write_all_at(&[0u8; 56 << 10], 8192).unwrap();
        mf.filling_from.store(usize::MAX, Ordering::Release);
        drop(fill);
        done.recv().unwrap();
        writer.join().unwrap();
        assert_eq!(&mf.all_bytes()[8190..8194], &[5, 5, 7, 7]);
        assert!(mf.all_bytes()[8192..16384].iter().all(|&b| b == 7));

        // The real fill: it releases the caller's guard once its range is published.
        let (held, _released) = std::sync::mpsc::channel::<()>();
        assert_eq!(mf.zero_fill(16384, 65536, held).unwrap(), Some(16384));
        assert_eq!(mf.populated(), 65536);
        assert_eq!(mf.filling_from.load(Ordering::Acquire), usize::MAX);
    }
}
