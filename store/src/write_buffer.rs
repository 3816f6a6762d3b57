//! The commit log's write buffer (`transientStorePoolEnable`): a ring of anonymous memory,
//! addressed by global commit-log offset, that appends are copied into instead of the mapped
//! file. The commit thread writes ring data to the file with `pwrite`
//! ([`crate::commit_log::CommitLog::commit`]) and publishes the committed offset, which is
//! what readers see. The ring is reused, so the put path takes no page faults, and the kernel
//! fills page-cache pages with whole-page copies instead of zeroing them first.
//!
//! Space is freed as the committed offset advances: a writer whose record would overwrite
//! uncommitted bytes waits ([`WriteBuffer::wait_space`]).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A ring of `capacity` bytes holding the uncommitted tail of the commit log.
pub struct WriteBuffer {
    ring: Box<[UnsafeCell<u8>]>,
    committed: AtomicU64,
    waiting: AtomicBool,
    space: Mutex<()>,
    space_cv: Condvar,
}

// SAFETY: ring bytes are written only by the (serialised) appender, in the range between
// the published write position and `committed + capacity`, and read only by the committer
// below the published write position; the two ranges never overlap.
unsafe impl Sync for WriteBuffer {}

impl WriteBuffer {
    /// A ring of `capacity` bytes whose data starts at global offset `committed`.
    pub fn new(capacity: usize, committed: u64) -> Self {
        // Zeroed allocation (calloc: pages are mapped lazily), viewed as cells.
        let bytes = vec![0u8; capacity.max(1)].into_boxed_slice();
        // SAFETY: UnsafeCell<u8> has the same layout as u8 (repr(transparent)).
        let ring = unsafe { Box::from_raw(Box::into_raw(bytes) as *mut [UnsafeCell<u8>]) };
        Self {
            ring,
            committed: AtomicU64::new(committed),
            waiting: AtomicBool::new(false),
            space: Mutex::new(()),
            space_cv: Condvar::new(),
        }
    }

    /// Size of the ring.
    pub fn capacity(&self) -> usize {
        self.ring.len()
    }

    /// Global offset up to which ring data has been written to the file.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Publishes that data up to `offset` is in the file, freeing its ring space.
    pub fn set_committed(&self, offset: u64) {
        self.committed.fetch_max(offset, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) {
            let _g = self.space.lock();
            self.space_cv.notify_all();
        }
    }

    /// Waits until data ending at global offset `end` fits in the ring. False on timeout.
    pub fn wait_space(&self, end: u64, timeout: Duration) -> bool {
        let fits = |c: u64| end <= c + self.capacity() as u64;
        if fits(self.committed()) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        let mut g = self.space.lock();
        loop {
            self.waiting.store(true, Ordering::SeqCst);
            if fits(self.committed.load(Ordering::SeqCst)) {
                self.waiting.store(false, Ordering::SeqCst);
                return true;
            }
            if self.space_cv.wait_until(&mut g, deadline).timed_out() {
                self.waiting.store(false, Ordering::SeqCst);
                return fits(self.committed());
            }
        }
    }

    fn ptr(&self) -> *mut u8 {
        UnsafeCell::raw_get(self.ring.as_ptr())
    }

    /// Copies `data` for global offset `at`. The caller serialises appends and has made sure
    /// (with [`Self::wait_space`]) that `[at, at + len)` does not overlap uncommitted data.
    pub fn put(&self, at: u64, data: &[u8]) {
        debug_assert!(at + data.len() as u64 <= self.committed() + self.capacity() as u64);
        let cap = self.capacity();
        let start = (at % cap as u64) as usize;
        let first = data.len().min(cap - start);
        // SAFETY: both ranges are inside the ring, and no reader looks at them until the
        // appender publishes its write position (see the type's safety note).
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr().add(start), first);
            std::ptr::copy_nonoverlapping(data.as_ptr().add(first), self.ptr(), data.len() - first);
        }
    }

    /// The ring bytes of global `[at, at + len)` as up to two slices (the second is empty
    /// unless the range wraps). Only for ranges the appender has published and that are not
    /// committed yet.
    pub fn get(&self, at: u64, len: usize) -> (&[u8], &[u8]) {
        let cap = self.capacity();
        debug_assert!(len <= cap);
        let start = (at % cap as u64) as usize;
        let first = len.min(cap - start);
        // SAFETY: inside the ring; the appender does not write published, uncommitted bytes.
        unsafe {
            (
                std::slice::from_raw_parts(self.ptr().add(start), first),
                std::slice::from_raw_parts(self.ptr(), len - first),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_frees_space_as_it_commits() {
        let wb = WriteBuffer::new(16, 100);
        assert!(wb.wait_space(116, Duration::ZERO));
        assert!(!wb.wait_space(117, Duration::from_millis(1)));
        wb.put(100, b"0123456789");
        wb.set_committed(110);
        // 110 % 16 = 14: the next put wraps.
        wb.put(110, b"abcdefgh");
        assert_eq!(wb.get(110, 8), (&b"ab"[..], &b"cdefgh"[..]));
        assert_eq!(wb.get(104, 6), (&b"456789"[..], &b""[..]));
    }

    #[test]
    fn a_waiting_writer_wakes_when_space_is_committed() {
        let wb = std::sync::Arc::new(WriteBuffer::new(8, 0));
        let w = wb.clone();
        let waiter = std::thread::spawn(move || w.wait_space(12, Duration::from_secs(30)));
        while !wb.waiting.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        wb.set_committed(4);
        assert!(waiter.join().unwrap());
    }
}
