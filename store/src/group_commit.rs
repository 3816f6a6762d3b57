//! SYNC_FLUSH group commit bookkeeping: when a group of waiting puts is complete, and who
//! flushes it.
//!
//! After a flush wakes N waiting writers they come back one by one. The put that completes
//! the expected group becomes its *leader* and flushes on its own thread, so no thread hop
//! sits between the last append and the flush, nor between the flush and the wake-ups (the
//! woken puts are scheduled on the leader's own worker). The group-commit thread is the
//! fallback: it flushes a group that stops growing before it is complete (writers left),
//! and serves blocking puts.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

/// Counters shared by writers, leaders and the group-commit thread.
pub(crate) struct GroupCommit {
    /// Puts waiting for a flush that arrived since the current group started forming.
    pending: AtomicU64,
    /// Puts the current group is expected to have (see [`Self::finish`]).
    target: AtomicU64,
    /// Held by whoever runs a group flush (a leader or the thread).
    run: Mutex<()>,
    /// Group flushes so far (the thread skips its fallback when a leader flushed).
    groups: AtomicU64,
    /// Time between the last two group flushes, in ns.
    cycle_ns: AtomicU64,
    /// When the last group flush ended, in ns since `epoch`.
    last_end_ns: AtomicU64,
    epoch: Instant,
    /// Set while the thread waits for a first request (only then does a put wake it).
    idle: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            pending: AtomicU64::new(0),
            target: AtomicU64::new(1),
            run: Mutex::new(()),
            groups: AtomicU64::new(0),
            cycle_ns: AtomicU64::new(100_000),
            last_end_ns: AtomicU64::new(0),
            epoch: Instant::now(),
            idle: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }
}

impl GroupCommit {
    /// Counts a put that waits for the flush of what it appended; true when it completes
    /// the expected group (an async put then leads the flush). Wakes the thread if it was
    /// idle, so a group that never completes is still flushed, and when a `blocking` put
    /// completes the group (the thread flushes for those).
    pub(crate) fn arrive(&self, blocking: bool) -> bool {
        let pending = self.pending.fetch_add(1, Ordering::AcqRel) + 1;
        let complete = pending >= self.target.load(Ordering::Acquire);
        // SeqCst pairs with the thread's store of `idle` before it checks for requests (the
        // caller published its request before arriving): one of the two sees the other.
        if self.idle.load(Ordering::SeqCst) || (blocking && complete) {
            // Taking the lock orders the wake-up after the thread's check, so none is lost.
            let _g = self.lock.lock();
            self.cv.notify_one();
        }
        complete
    }

    /// Whether the forming group has reached its expected size.
    pub(crate) fn is_complete(&self) -> bool {
        self.pending.load(Ordering::Acquire) >= self.target.load(Ordering::Acquire)
    }

    /// The right to flush, unless someone is flushing already.
    pub(crate) fn try_lead(&self) -> Option<MutexGuard<'_, ()>> {
        self.run.try_lock()
    }

    /// The right to flush, waiting for a flush in progress.
    pub(crate) fn lead(&self) -> MutexGuard<'_, ()> {
        self.run.lock()
    }

    /// Starts a flush (with the right to flush held): the group formed so far is taken.
    /// Returns its size.
    pub(crate) fn start(&self) -> u64 {
        self.pending.swap(0, Ordering::AcqRel)
    }

    /// Ends a flush of a group of `taken` puts, after which `woken` async puts were woken
    /// and `waiting` still wait (they appended during the flush). The next group is
    /// expected to hold all of them, plus the leader if a put ran the flush: everyone that
    /// is writing comes back. Falls back to `taken` when no async put waits (blocking puts).
    pub(crate) fn finish(&self, taken: u64, woken: u64, waiting: u64, leader: bool) {
        let next = (woken + waiting + leader as u64).max(taken);
        if next > 0 {
            self.target.store(next, Ordering::Release);
        }
        let now = self.epoch.elapsed().as_nanos() as u64;
        let last = self.last_end_ns.swap(now, Ordering::AcqRel);
        if last > 0 {
            self.cycle_ns.store(now - last, Ordering::Release);
        }
        self.groups.fetch_add(1, Ordering::AcqRel);
    }

    /// Group flushes so far.
    pub(crate) fn groups(&self) -> u64 {
        self.groups.load(Ordering::Acquire)
    }

    /// Time between the last two group flushes.
    pub(crate) fn cycle(&self) -> Duration {
        Duration::from_nanos(self.cycle_ns.load(Ordering::Acquire))
    }

    /// The thread's wait. While `has_requests` is false it first sleeps `settle` on its
    /// timer (under steady traffic the next group forms meanwhile, and puts need not wake
    /// the thread every cycle), then parks until a put arrives (or `idle_wait` passes).
    /// Then it waits until the group is complete, a group flush happens after
    /// [`Self::groups`] returned `seen`, or `settle` passes.
    pub(crate) fn wait_for_group(
        &self,
        seen: u64,
        has_requests: impl Fn() -> bool,
        stop: impl Fn() -> bool,
        idle_wait: Duration,
        settle: Duration,
    ) {
        let mut g = self.lock.lock();
        let quiet = || !has_requests() && !stop();
        if quiet() {
            let deadline = Instant::now() + settle;
            while quiet() && !self.cv.wait_until(&mut g, deadline).timed_out() {}
            if quiet() {
                self.idle.store(true, Ordering::SeqCst);
                if quiet() {
                    self.cv.wait_for(&mut g, idle_wait);
                }
                self.idle.store(false, Ordering::Release);
            }
        }
        let deadline = Instant::now() + settle;
        while !self.is_complete()
            && self.groups() == seen
            && !stop()
            && !self.cv.wait_until(&mut g, deadline).timed_out()
        {}
    }

    /// Wakes the thread (shutdown).
    pub(crate) fn wake(&self) {
        let _g = self.lock.lock();
        self.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_group_counts_everyone_who_comes_back() {
        let gc = GroupCommit::default();
        assert!(gc.arrive(false), "with no history one put is a group");
        assert_eq!(gc.start(), 1);
        // A flush that took 40 puts woke them, 24 more appended meanwhile, and a put led it.
        gc.finish(40, 39, 24, true);
        for _ in 0..24 {
            assert!(!gc.arrive(false));
        }
        for _ in 0..39 {
            assert!(!gc.arrive(false));
        }
        assert!(gc.arrive(false), "the 64th put completes the group");
        // Blocking puts are not counted as woken: the size taken is the estimate.
        assert_eq!(gc.start(), 64);
        gc.finish(64, 0, 0, false);
        assert!(!(0..63).any(|_| gc.arrive(false)));
        assert!(gc.arrive(false));
    }

    #[test]
    fn the_thread_skips_a_group_a_leader_flushed() {
        let gc = std::sync::Arc::new(GroupCommit::default());
        gc.finish(0, 0, 0, false);
        gc.start();
        // The group expects 2 puts: one arrives, then a leader flushes before the deadline.
        gc.finish(2, 2, 0, false);
        gc.arrive(false);
        let seen = gc.groups();
        let g2 = gc.clone();
        let t = std::thread::spawn(move || {
            g2.wait_for_group(
                seen,
                || true,
                || false,
                Duration::ZERO,
                Duration::from_secs(30),
            );
            g2.groups() != seen
        });
        // The thread waits (group incomplete) until a flush is counted.
        let _run = gc.lead();
        gc.start();
        gc.finish(1, 1, 0, true);
        gc.wake();
        assert!(
            t.join().unwrap(),
            "the thread saw no flush and would flush again"
        );
    }

    #[test]
    fn the_thread_flushes_a_group_that_stops_growing() {
        let gc = GroupCommit::default();
        gc.finish(8, 8, 0, false);
        gc.arrive(false);
        let t = Instant::now();
        let seen = gc.groups();
        gc.wait_for_group(
            seen,
            || true,
            || false,
            Duration::ZERO,
            Duration::from_millis(20),
        );
        assert!(
            t.elapsed() >= Duration::from_millis(20),
            "returned before the group stalled"
        );
        assert_eq!(gc.groups(), seen);
    }

    #[test]
    fn a_quiet_thread_sleeps_a_settle_period_before_puts_must_wake_it() {
        let gc = std::sync::Arc::new(GroupCommit::default());
        let requested = std::sync::Arc::new(AtomicBool::new(false));
        let settle = Duration::from_millis(30);
        let start = Instant::now();
        let t = {
            let (gc, requested) = (gc.clone(), requested.clone());
            std::thread::spawn(move || {
                let seen = gc.groups();
                gc.wait_for_group(
                    seen,
                    || requested.load(Ordering::SeqCst),
                    || false,
                    Duration::from_secs(60),
                    settle,
                );
            })
        };
        // Puts arriving within the first settle period do not have to wake the thread;
        // only then does it ask them to.
        while !gc.idle.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        assert!(start.elapsed() >= settle, "asked to be woken at once");
        requested.store(true, Ordering::SeqCst);
        assert!(gc.arrive(false), "one put completes a first group");
        t.join().unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the put did not wake it"
        );
    }
}
