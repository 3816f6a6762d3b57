//! Async writers waiting for a SYNC_FLUSH group commit.
//!
//! A waiting put holds one `oneshot` receiver. Whoever runs a group flush completes every
//! waiter its flush covered; a watchdog thread fails waiters whose `syncFlushTimeout` passed,
//! even while a flush is stuck in the disk. A put therefore needs no runtime timer and no
//! broadcast channel: one registration, one wake-up.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

/// Writers waiting for the commit log to be flushed up to their records' end.
pub(crate) struct FlushWaiters {
    timeout: Duration,
    state: Mutex<WaitList>,
    /// Wakes the watchdog.
    watchdog_cv: Condvar,
}

struct WaitList {
    /// The commit-log offset known to be on disk.
    flushed: u64,
    /// In registration order, which is deadline order (one timeout for all).
    waiters: VecDeque<Waiter>,
    watchdog: Watchdog,
    /// Set by [`FlushWaiters::close`]: no flush will come.
    closed: bool,
}

struct Waiter {
    end: u64,
    deadline: Instant,
    done: oneshot::Sender<bool>,
}

/// What the watchdog thread is doing, so registrations wake it only when needed.
#[derive(Clone, Copy, PartialEq)]
enum Watchdog {
    Running,
    SleepingUntil(Instant),
    Parked,
}

impl FlushWaiters {
    /// No waiters; `flushed` is the offset already on disk.
    pub(crate) fn new(flushed: u64, timeout: Duration) -> Self {
        FlushWaiters {
            timeout,
            state: Mutex::new(WaitList {
                flushed,
                waiters: VecDeque::new(),
                watchdog: Watchdog::Running,
                closed: false,
            }),
            watchdog_cv: Condvar::new(),
        }
    }

    /// Resolves to true once the commit log is flushed up to `end`, or to false after the
    /// timeout (or when the store closes first).
    pub(crate) async fn wait(&self, end: u64) -> bool {
        let rx = {
            let mut g = self.state.lock();
            if g.flushed >= end {
                return true;
            }
            if g.closed {
                return false;
            }
            let deadline = self.deadline_from(Instant::now());
            let (tx, rx) = oneshot::channel();
            g.waiters.push_back(Waiter {
                end,
                deadline,
                done: tx,
            });
            let wake = match g.watchdog {
                Watchdog::Running => false,
                Watchdog::SleepingUntil(at) => deadline < at,
                Watchdog::Parked => true,
            };
            if wake {
                g.watchdog = Watchdog::Running;
                self.watchdog_cv.notify_one();
            }
            rx
        };
        rx.await.unwrap_or(false)
    }

    /// Records that the commit log is flushed up to `flushed` and completes every waiter
    /// it covers (woken outside the lock). Returns how many it woke and how many still wait.
    pub(crate) fn complete(&self, flushed: u64) -> (u64, u64) {
        let (done, waiting): (Vec<oneshot::Sender<bool>>, usize) = {
            let mut g = self.state.lock();
            if flushed <= g.flushed {
                return (0, g.waiters.len() as u64);
            }
            g.flushed = flushed;
            // Usually a flush covers every waiter: drain, keeping the list's capacity.
            let done = if g.waiters.iter().all(|w| w.end <= flushed) {
                g.waiters.drain(..).map(|w| w.done).collect()
            } else {
                let all = std::mem::take(&mut g.waiters);
                let mut done = Vec::new();
                for w in all {
                    if w.end <= flushed {
                        done.push(w.done);
                    } else {
                        g.waiters.push_back(w);
                    }
                }
                done
            };
            (done, g.waiters.len())
        };
        let woken = done.len() as u64;
        for tx in done {
            // The put may have been dropped (its connection closed): nothing to tell.
            let _ = tx.send(true);
        }
        (woken, waiting as u64)
    }

    /// Fails every waiter left and every later one: no flush will come (the store stopped;
    /// its final flush, if any, has been published).
    pub(crate) fn close(&self) {
        let left: Vec<_> = {
            let mut g = self.state.lock();
            g.closed = true;
            g.waiters.drain(..).collect()
        };
        for w in left {
            let _ = w.done.send(false);
        }
    }

    /// The watchdog thread: fails waiters past their deadline until `shutdown` (the waiters
    /// left are for the store's final flush and [`Self::close`]). It sleeps until the oldest
    /// deadline; with no waiters for a whole timeout it parks until a registration wakes it.
    pub(crate) fn watchdog_loop(&self, shutdown: &AtomicBool) {
        let mut g = self.state.lock();
        let mut idle_rounds = 0;
        loop {
            g.watchdog = Watchdog::Running;
            if shutdown.load(Ordering::Acquire) {
                return;
            }
            let now = Instant::now();
            let mut expired = Vec::new();
            while g.waiters.front().is_some_and(|w| w.deadline <= now) {
                expired.extend(g.waiters.pop_front());
            }
            if !expired.is_empty() {
                drop(g);
                for w in expired {
                    let _ = w.done.send(false);
                }
                g = self.state.lock();
                continue;
            }
            match g.waiters.front().map(|w| w.deadline) {
                Some(at) => {
                    idle_rounds = 0;
                    g.watchdog = Watchdog::SleepingUntil(at);
                    self.watchdog_cv.wait_until(&mut g, at);
                }
                // Anything registered during this sleep has a later deadline than its end,
                // so it needs no wake-up: in steady traffic the watchdog sleeps undisturbed.
                None if idle_rounds == 0 => {
                    idle_rounds = 1;
                    let at = self.deadline_from(now).max(now + Duration::from_millis(1));
                    g.watchdog = Watchdog::SleepingUntil(at);
                    self.watchdog_cv.wait_until(&mut g, at);
                }
                None => {
                    g.watchdog = Watchdog::Parked;
                    self.watchdog_cv.wait(&mut g);
                }
            }
        }
    }

    /// `now` plus the timeout; a timeout too large for the clock means a century.
    fn deadline_from(&self, now: Instant) -> Instant {
        now.checked_add(self.timeout)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
    }

    /// Wakes the watchdog so it sees `shutdown` was set.
    pub(crate) fn wake_watchdog(&self) {
        let _g = self.state.lock();
        self.watchdog_cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::task::JoinHandle;

    use super::*;

    /// Waiters with their watchdog thread running; drop the guard to stop the thread.
    struct Fixture {
        w: Arc<FlushWaiters>,
        stop: Arc<AtomicBool>,
    }

    impl Fixture {
        fn new(flushed: u64, timeout: Duration) -> Self {
            let w = Arc::new(FlushWaiters::new(flushed, timeout));
            let stop = Arc::new(AtomicBool::new(false));
            let (w2, stop2) = (w.clone(), stop.clone());
            std::thread::spawn(move || w2.watchdog_loop(&stop2));
            Fixture { w, stop }
        }

        /// A task waiting for `end`.
        fn spawn_wait(&self, end: u64) -> JoinHandle<bool> {
            let w = self.w.clone();
            tokio::spawn(async move { w.wait(end).await })
        }

        /// Returns once `n` waiters are registered.
        async fn registered(&self, n: usize) {
            while self.w.state.lock().waiters.len() < n {
                tokio::task::yield_now().await;
            }
        }

        fn stop_watchdog(&self) {
            self.stop.store(true, Ordering::Release);
            self.w.wake_watchdog();
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            self.stop_watchdog();
        }
    }

    #[tokio::test]
    async fn an_offset_already_flushed_needs_no_wait() {
        let f = Fixture::new(100, Duration::from_secs(60));
        assert!(f.w.wait(100).await);
        assert!(f.w.wait(1).await);
    }

    #[tokio::test]
    async fn a_flush_completes_exactly_the_waiters_it_covers() {
        let f = Fixture::new(0, Duration::from_secs(60));
        let (a, b) = (f.spawn_wait(10), f.spawn_wait(30));
        // Both registered before the first flush is published.
        f.registered(2).await;
        assert_eq!(f.w.complete(20), (1, 1), "one woken, one still waiting");
        assert!(a.await.unwrap());
        assert_eq!(f.w.state.lock().waiters.len(), 1, "30 is not flushed yet");
        assert!(!b.is_finished());
        f.w.complete(30);
        assert!(b.await.unwrap());
    }

    #[tokio::test]
    async fn a_waiter_the_flush_never_reaches_times_out() {
        let f = Fixture::new(0, Duration::from_millis(50));
        let t = Instant::now();
        assert!(
            !f.w.wait(10).await,
            "nothing flushed, yet the wait succeeded"
        );
        assert!(t.elapsed() >= Duration::from_millis(50));
        // The watchdog parked or slept meanwhile; a later waiter still times out.
        assert!(!f.w.wait(10).await);
    }

    #[tokio::test]
    async fn a_timeout_beyond_the_clock_does_not_panic() {
        let f = Fixture::new(0, Duration::from_millis(u64::MAX));
        let a = f.spawn_wait(10);
        f.registered(1).await;
        f.w.complete(10);
        assert!(a.await.unwrap());
    }

    #[tokio::test]
    async fn close_fails_the_waiters_left_and_later_ones() {
        let f = Fixture::new(0, Duration::from_secs(60));
        let (a, b) = (f.spawn_wait(10), f.spawn_wait(20));
        f.registered(2).await;
        f.stop_watchdog();
        // The store's final flush covers `a`; `close` then fails `b`.
        f.w.complete(10);
        assert!(a.await.unwrap());
        f.w.close();
        assert!(!b.await.unwrap());
        assert!(!f.w.wait(30).await, "a wait after close must not hang");
        assert!(f.w.wait(10).await, "what is on disk stays on disk");
    }
}
