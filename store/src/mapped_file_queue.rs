//! An ordered list of equally sized [`MappedFile`]s forming one logical byte stream
//! (the commit log, or one consume queue).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::SystemTime;

use parking_lot::{Mutex, RwLock};

use crate::error::{Result, StoreError};
use crate::mapped_file::{BlockAllocation, MappedFile};

/// Files of one stream, oldest first.
pub struct MappedFileQueue {
    dir: PathBuf,
    file_size: usize,
    files: RwLock<Vec<Arc<MappedFile>>>,
    flushed_where: AtomicU64,
    preallocate: bool,
    alloc: BlockAllocation,
    /// Zero-fill preallocated files, syncing every this many bytes (see [`Self::with_warm`]).
    warm: Option<usize>,
    next: Mutex<Option<Preallocation>>,
}

/// The next file, being created (and warmed) by a background thread.
struct Preallocation {
    from: u64,
    /// Asks the thread to stop warming: the file is wanted now.
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<MappedFile>>,
}

impl Preallocation {
    /// The file, once the thread has created it and stopped warming it.
    fn finish(self) -> std::thread::Result<Result<MappedFile>> {
        self.stop.store(true, Ordering::Release);
        self.handle.join()
    }
}

impl MappedFileQueue {
    /// A queue over `dir` with files of `file_size` bytes. Nothing is read until [`Self::load`].
    pub fn new(dir: impl Into<PathBuf>, file_size: usize, preallocate: bool) -> Self {
        Self {
            dir: dir.into(),
            file_size,
            files: RwLock::new(Vec::new()),
            flushed_where: AtomicU64::new(0),
            preallocate,
            alloc: BlockAllocation::OnFault,
            warm: None,
            next: Mutex::new(None),
        }
    }

    /// How new files get their blocks (see [`BlockAllocation`]).
    pub fn with_allocation(mut self, alloc: BlockAllocation) -> Self {
        self.alloc = alloc;
        self
    }

    /// Preallocated files are zero-filled whole before they are used, with an `fdatasync`
    /// every `sync_every` bytes ([`MappedFile::warm`]; a SYNC_FLUSH master's commit log).
    pub fn with_warm(mut self, sync_every: usize) -> Self {
        self.warm = Some(sync_every);
        self
    }

    /// Directory of the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Size of each file.
    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// Maps every file in the directory (names must be 20-digit offsets; others are skipped).
    /// Every file starts out full; recovery cuts it back.
    pub fn load(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io("mkdir", &self.dir, e))?;
        let mut names: Vec<(u64, PathBuf)> = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::io("read_dir", &self.dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| (name.parse().ok(), e.path()))
                    .and_then(|(o, p)| Some((o?, p)))
            })
            .collect();
        names.sort();
        let mut files = Vec::with_capacity(names.len());
        for (offset, path) in names {
            {
                // A file cut short (torn copy, truncated by hand) is extended with zeros;
                // recovery then stops at the last good record before the zeros.
                let len = std::fs::metadata(&path)
                    .map_err(|e| StoreError::io("stat", &path, e))?
                    .len();
                if len < self.file_size as u64 {
                    tracing::warn!(path = %path.display(), len, "file is short; extending with zeros");
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|f| f.set_len(self.file_size as u64))
                        .map_err(|e| StoreError::io("extend", &path, e))?;
                }
            }
            if let Some(prev) = files.last().map(|f: &Arc<MappedFile>| f.file_from_offset())
                && offset != prev + self.file_size as u64
            {
                return Err(StoreError::Gap(path));
            }
            files.push(Arc::new(
                MappedFile::open(&path, self.file_size)?.with_allocation(self.alloc),
            ));
        }
        *self.files.write() = files;
        Ok(())
    }

    /// Snapshot of the files, oldest first.
    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().clone()
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.read().len()
    }

    /// True when there is no file.
    pub fn is_empty(&self) -> bool {
        self.files.read().is_empty()
    }

    /// The newest file.
    pub fn last_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().last().cloned()
    }

    /// The oldest file.
    pub fn first_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().first().cloned()
    }

    /// The file to append to: the newest one if it has room, else a new one starting after it
    /// (or at the file boundary at or below `start_offset` when there is none).
    pub fn last_file_or_create(&self, start_offset: u64) -> Result<Arc<MappedFile>> {
        if let Some(last) = self.last_file()
            && !last.is_full()
        {
            return Ok(last);
        }
        let from = match self.last_file() {
            Some(last) => last.file_from_offset() + self.file_size as u64,
            None => start_offset - start_offset % self.file_size as u64,
        };
        let file = Arc::new(self.take_or_create(from)?);
        self.files.write().push(file.clone());
        if self.preallocate {
            self.start_preallocation(from + self.file_size as u64)?;
        }
        Ok(file)
    }

    /// Makes the next file after the last one in the background (warmed if set), unless
    /// one is being made: after a restart, so the first roll-over does not create its file
    /// on demand. No-op without preallocation or files.
    pub fn preallocate_next(&self) -> Result<()> {
        if !self.preallocate || self.next.lock().is_some() {
            return Ok(());
        }
        match self.last_file() {
            Some(last) => self.start_preallocation(last.file_from_offset() + self.file_size as u64),
            None => Ok(()),
        }
    }

    /// Starts making the file at `next` on the preallocation thread.
    fn start_preallocation(&self, next: u64) -> Result<()> {
        let dir = self.dir.clone();
        let size = self.file_size;
        let alloc = self.alloc;
        let warm = self.warm;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_warm = stop.clone();
        let handle = std::thread::Builder::new()
            .name("mapped-file-prealloc".into())
            .spawn(move || {
                let file = MappedFile::create_with(&dir, next, size, alloc)?;
                if let Some(sync_every) = warm {
                    // Gigabytes of zeros are no reason to take a CPU from the writers;
                    // the file is wanted only seconds later, and then one step is
                    // all a roll-over waits for.
                    idle_priority();
                    if let Err(e) = file.warm(sync_every, &stop_warm) {
                        // The zero-fill thread reports it again when it gets there.
                        tracing::warn!(file = %file.path().display(), "warming failed: {e}");
                    }
                }
                Ok(file)
            })
            .map_err(|e| StoreError::io("spawn", &self.dir, e))?;
        *self.next.lock() = Some(Preallocation {
            from: next,
            stop,
            handle,
        });
        Ok(())
    }

    fn take_or_create(&self, from: u64) -> Result<MappedFile> {
        if !self.dir.exists() {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| StoreError::io("mkdir", &self.dir, e))?;
        }
        if let Some(pre) = self.next.lock().take() {
            let off = pre.from;
            match pre.finish() {
                Ok(Ok(f)) if off == from => return Ok(f),
                Ok(Ok(f)) => {
                    let _ = f.destroy();
                }
                Ok(Err(e)) => tracing::warn!("preallocation failed: {e}"),
                Err(_) => tracing::warn!("preallocation thread panicked"),
            }
        }
        MappedFile::create_with(&self.dir, from, self.file_size, self.alloc)
    }

    /// The file holding global `offset`.
    pub fn find_by_offset(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.files.read();
        let first = files.first()?.file_from_offset();
        if offset < first {
            return None;
        }
        let idx = ((offset - first) / self.file_size as u64) as usize;
        files
            .get(idx)
            .filter(|f| {
                offset >= f.file_from_offset()
                    && offset < f.file_from_offset() + self.file_size as u64
            })
            .cloned()
    }

    /// Offset of the first byte of the oldest file (0 when empty).
    pub fn min_offset(&self) -> u64 {
        self.first_file().map(|f| f.file_from_offset()).unwrap_or(0)
    }

    /// Offset just past the last written byte (0 when empty).
    pub fn max_offset(&self) -> u64 {
        self.last_file()
            .map(|f| f.file_from_offset() + f.read_position() as u64)
            .unwrap_or(0)
    }

    /// Offset up to which data is known to be on disk.
    pub fn flushed_where(&self) -> u64 {
        self.flushed_where.load(Ordering::Acquire)
    }

    /// Sets the flushed offset (recovery).
    pub fn set_flushed_where(&self, offset: u64) {
        self.flushed_where.store(offset, Ordering::Release);
    }

    /// Flushes dirty pages from the flushed offset on (`least_pages` as in
    /// [`MappedFile::flush`]); crosses into following files. Returns the new flushed offset.
    pub fn flush(&self, least_pages: usize) -> std::io::Result<u64> {
        loop {
            let at = self.flushed_where();
            let Some(file) = self.find_by_offset(at).or_else(|| {
                // The flushed offset may sit exactly at the end of the last file.
                self.find_by_offset(at.saturating_sub(1))
            }) else {
                return Ok(at);
            };
            let pos = file.flush(least_pages)?;
            let new = file.file_from_offset() + pos as u64;
            if new <= at {
                return Ok(at);
            }
            self.flushed_where.fetch_max(new, Ordering::AcqRel);
            if pos < file.file_size() {
                return Ok(new);
            }
        }
    }

    /// Cuts the stream at `offset`: later files are deleted and the file holding it is zeroed
    /// past the cut. Only call while no reader or writer is active.
    pub fn truncate_dirty(&self, offset: u64) -> Result<()> {
        self.drop_preallocated();
        let mut files = self.files.write();
        let mut keep = Vec::with_capacity(files.len());
        let first_from = files.first().map(|f| f.file_from_offset()).unwrap_or(0);
        // Newest first, so a crash in the middle never leaves a cut file followed by stale
        // ones.
        for f in files.drain(..).rev() {
            let end = f.file_from_offset() + self.file_size as u64;
            if end <= offset {
                keep.push(f);
            } else if f.file_from_offset() <= offset {
                let pos = (offset - f.file_from_offset()) as usize;
                if pos == 0 && f.file_from_offset() > first_from {
                    // Nothing of this file survives and an earlier file ends exactly at the
                    // cut: drop it so the stream ends on a full file.
                    f.destroy()
                        .map_err(|e| StoreError::io("delete", f.path(), e))?;
                    continue;
                }
                f.truncate_to(pos)
                    .map_err(|e| StoreError::io("truncate", f.path(), e))?;
                keep.push(f);
            } else {
                f.destroy()
                    .map_err(|e| StoreError::io("delete", f.path(), e))?;
            }
        }
        keep.reverse();
        *files = keep;
        drop(files);
        self.flushed_where.store(offset, Ordering::Release);
        Ok(())
    }

    /// Lets a pending preallocation finish (warm-up included) and keeps its file pending.
    #[cfg(test)]
    fn wait_preallocated(&self) {
        let mut next = self.next.lock();
        if let Some(pre) = next.take() {
            let made = pre.handle.join().unwrap();
            *next = Some(Preallocation {
                handle: std::thread::spawn(move || made),
                ..pre
            });
        }
    }

    /// Waits for a pending preallocation and deletes the file it made.
    fn drop_preallocated(&self) {
        if let Some(pre) = self.next.lock().take()
            && let Ok(Ok(f)) = pre.finish()
        {
            let _ = f.destroy();
        }
    }

    /// Deletes every file (e.g. a consume queue whose commit log is gone).
    pub fn destroy_all(&self) -> Result<()> {
        self.drop_preallocated();
        let mut files = self.files.write();
        for f in files.drain(..) {
            f.destroy()
                .map_err(|e| StoreError::io("delete", f.path(), e))?;
        }
        self.flushed_where.store(0, Ordering::Release);
        Ok(())
    }

    /// Removes the oldest file from the list and deletes it, unless it is the last one.
    pub fn delete_first(&self) -> Result<Option<Arc<MappedFile>>> {
        let mut files = self.files.write();
        if files.len() <= 1 {
            return Ok(None);
        }
        let f = files.remove(0);
        drop(files);
        f.destroy()
            .map_err(|e| StoreError::io("delete", f.path(), e))?;
        Ok(Some(f))
    }

    /// Modification time of the oldest file.
    pub fn first_modified(&self) -> Option<SystemTime> {
        self.first_file()?.last_modified()
    }
}

/// Moves the calling thread to `SCHED_IDLE`: it runs only on CPU time nothing else wants.
/// Best effort (a thread cannot move back without `CAP_SYS_NICE`: only for threads that
/// end with their background job).
fn idle_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: changes the calling thread's own policy; no memory is touched.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if rc != 0 {
        tracing::debug!("SCHED_IDLE refused: {}", std::io::Error::last_os_error());
    }
}

impl Drop for MappedFileQueue {
    fn drop(&mut self) {
        if let Some(pre) = self.next.lock().take() {
            let _ = pre.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_find_truncate_reload() {
        let dir = tempfile::tempdir().unwrap();
        let q = MappedFileQueue::new(dir.path(), 100, true);
        q.load().unwrap();
        for i in 0..25u8 {
            let f = q.last_file_or_create(0).unwrap();
            assert!(f.append(&[i; 10]));
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.max_offset(), 250);
        assert_eq!(q.find_by_offset(150).unwrap().file_from_offset(), 100);
        assert!(q.find_by_offset(300).is_none());
        assert_eq!(q.flush(0).unwrap(), 250);
        q.truncate_dirty(120).unwrap();
        assert_eq!(q.max_offset(), 120);
        drop(q);
        // A preallocated file 300 may exist; it reloads as full and recovery would cut it.
        let q = MappedFileQueue::new(dir.path(), 100, false);
        q.load().unwrap();
        assert!(q.len() >= 2);
        q.truncate_dirty(120).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q.max_offset(), 120);
        assert_eq!(
            q.find_by_offset(110).unwrap().bytes(10, 10).unwrap(),
            &[11u8; 10]
        );
    }

    #[test]
    fn the_next_file_is_warmed_in_the_background_before_it_is_used() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let size = 2 << 20;
        let q = MappedFileQueue::new(dir.path(), size, true).with_warm(1 << 20);
        q.load().unwrap();
        let first = q.last_file_or_create(0).unwrap();
        assert!(first.append(&[1u8; 100]));
        q.wait_preallocated();
        // The next file exists, every block written, before anyone writes to it.
        let next = dir
            .path()
            .join(crate::mapped_file::offset_to_file_name(size as u64));
        assert!(std::fs::metadata(&next).unwrap().blocks() * 512 >= size as u64);
        assert!(first.append(&vec![2u8; size - 100]));
        let second = q.last_file_or_create(0).unwrap();
        assert_eq!(second.file_from_offset(), size as u64);
        assert_eq!(second.populated(), size);
        assert!(second.append(b"after the roll"));
        assert_eq!(q.max_offset(), size as u64 + 14);
        // Rolling on while the third file is still being made takes it all the same.
        assert!(second.append(&vec![3u8; size - 14]));
        assert_eq!(
            q.last_file_or_create(0).unwrap().file_from_offset(),
            2 * size as u64
        );
    }

    #[test]
    fn a_reloaded_queue_makes_the_file_after_its_last_one_ahead() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let size = 2 << 20;
        {
            let q = MappedFileQueue::new(dir.path(), size, false);
            q.load().unwrap();
            assert!(q.last_file_or_create(0).unwrap().append(&[1u8; 100]));
        }
        let q = MappedFileQueue::new(dir.path(), size, true).with_warm(1 << 20);
        q.load().unwrap();
        q.last_file().unwrap().set_positions(100);
        q.preallocate_next().unwrap();
        q.preallocate_next().unwrap();
        q.wait_preallocated();
        let next = dir
            .path()
            .join(crate::mapped_file::offset_to_file_name(size as u64));
        assert!(std::fs::metadata(&next).unwrap().blocks() * 512 >= size as u64);
        // The first roll-over after the restart takes that warmed file.
        assert!(q.last_file().unwrap().append(&vec![2u8; size - 100]));
        let second = q.last_file_or_create(0).unwrap();
        assert_eq!(second.file_from_offset(), size as u64);
        assert_eq!(second.populated(), size);
    }
}
