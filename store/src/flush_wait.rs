//! Async writers waiting for a SYNC_FLUSH group commit.
//!
//! A waiting put registers one [`Slot`]. Whoever runs a group flush sets the outcome of
//! every waiter its flush covered and wakes them; a watchdog thread fails waiters whose
//! `syncFlushTimeout` passed, even while a flush is stuck in the disk. A put therefore needs
//! no runtime timer and no broadcast channel. On a multi-thread runtime a put also waits on
//! the runtime's [`DriverSignal`], so a flush can wake its whole group with one write while
//! a worker is parked (see `driver_signal` for why that matters).

mod driver_signal;
mod slot;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use driver_signal::DriverSignal;
use slot::Slot;

/// Writers waiting for the commit log to be flushed up to their records' end.
pub(crate) struct FlushWaiters {
    timeout: Duration,
    state: Mutex<WaitList>,
    /// Wakes the watchdog.
    watchdog_cv: Condvar,
    /// Registered by the first put that waits on a multi-thread runtime (None: it could not
    /// be); puts on other runtimes are woken directly.
    driver: OnceLock<Option<DriverSignal>>,
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
    slot: Arc<Slot>,
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
            driver: OnceLock::new(),
        }
    }

    /// The driver signal, if the calling task runs on its runtime (registering it with the
    /// first multi-thread runtime that asks).
    fn driver_here(&self) -> Option<&DriverSignal> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let d = match self.driver.get() {
            Some(d) => d.as_ref()?,
            None if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => self
                .driver
                .get_or_init(|| DriverSignal::register(runtime.clone()))
                .as_ref()?,
            None => return None,
        };
        (d.runtime_id() == runtime.id()).then_some(d)
    }

    /// Resolves to true once the commit log is flushed up to `end`, or to false after the
    /// timeout (or when the store closes first).
    pub(crate) async fn wait(&self, end: u64) -> bool {
        let driver = self.driver_here();
        let slot = {
            let mut g = self.state.lock();
            if g.flushed >= end {
                return true;
            }
            if g.closed {
                return false;
            }
            let deadline = self.deadline_from(Instant::now());
            let slot = Arc::new(Slot::new(driver.is_some()));
            g.waiters.push_back(Waiter {
                end,
                deadline,
                slot: slot.clone(),
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
            slot
        };
        match driver {
            Some(d) => d.wait(&slot).await,
            None => slot.outcome().await,
        }
    }

    /// Records that the commit log is flushed up to `flushed` and completes every waiter
    /// it covers (woken outside the lock): through the driver signal while a worker of its
    /// runtime is parked, else one by one. Returns how many it woke and how many still wait.
    pub(crate) fn complete(&self, flushed: u64) -> (u64, u64) {
        self.complete_via(flushed, || {
            self.driver
                .get()
                .and_then(Option::as_ref)
                .filter(|d| d.worker_parked())
        })
    }

    /// [`Self::complete`], waking through the signal `signal` returns (asked only when a
    /// covered put waits on one) the puts that wait on it.
    fn complete_via<'a>(
        &'a self,
        flushed: u64,
        signal: impl FnOnce() -> Option<&'a DriverSignal>,
    ) -> (u64, u64) {
        let (done, waiting): (Vec<Arc<Slot>>, usize) = {
            let mut g = self.state.lock();
            if flushed <= g.flushed {
                return (0, g.waiters.len() as u64);
            }
            g.flushed = flushed;
            // Usually a flush covers every waiter: drain, keeping the list's capacity.
            let done = if g.waiters.iter().all(|w| w.end <= flushed) {
                g.waiters.drain(..).map(|w| w.slot).collect()
            } else {
                let all = std::mem::take(&mut g.waiters);
                let mut done = Vec::new();
                for w in all {
                    if w.end <= flushed {
                        done.push(w.slot);
                    } else {
                        g.waiters.push_back(w);
                    }
                }
                done
            };
            (done, g.waiters.len())
        };
        let woken = done.len() as u64;
        let signal = if done.iter().any(|s| s.via_driver) {
            signal()
        } else {
            None
        };
        let mut signalled = false;
        for slot in done {
            // (The put may have been dropped, its connection closed: nobody to tell.)
            if slot.via_driver && signal.is_some() {
                signalled |= slot.set(true);
            } else {
                slot.finish(true);
            }
        }
        if signalled && let Some(d) = signal {
            d.signal();
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
            w.slot.finish(false);
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
                    w.slot.finish(false);
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
    use std::sync::atomic::AtomicU64;

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

    /// A runtime with two workers, with or without its I/O driver.
    fn two_workers(io: bool) -> tokio::runtime::Runtime {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        if io {
            b.enable_all();
        }
        b.build().unwrap()
    }

    /// The driver signal the waiters registered (multi-thread runtimes only).
    fn signal(w: &FlushWaiters) -> &DriverSignal {
        w.driver
            .get()
            .and_then(Option::as_ref)
            .expect("no driver signal registered")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_signal_through_the_driver_wakes_a_whole_group() {
        let f = Fixture::new(0, Duration::from_secs(60));
        let puts: Vec<_> = (1..=64).map(|i| f.spawn_wait(i * 10)).collect();
        f.registered(64).await;
        assert!(
            f.w.state.lock().waiters.iter().all(|w| w.slot.via_driver),
            "puts on a multi-thread runtime wait on the signal"
        );
        // No put is woken directly: only the signal can end these waits.
        assert_eq!(f.w.complete_via(640, || Some(signal(&f.w))), (64, 0));
        for p in puts {
            let done = tokio::time::timeout(Duration::from_secs(30), p).await;
            assert!(done.expect("a put missed the signal").unwrap());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_put_a_signalled_flush_does_not_cover_waits_for_the_next() {
        let f = Fixture::new(0, Duration::from_secs(60));
        let (a, b) = (f.spawn_wait(10), f.spawn_wait(30));
        f.registered(2).await;
        f.w.complete_via(20, || Some(signal(&f.w)));
        assert!(a.await.unwrap());
        assert!(
            !b.is_finished(),
            "woken by the signal, yet 30 is not flushed"
        );
        // The next signal still reaches it (the readiness it saw was cleared, not lost).
        f.w.complete_via(30, || Some(signal(&f.w)));
        let done = tokio::time::timeout(Duration::from_secs(30), b).await;
        assert!(done.expect("the second signal was lost").unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn timeouts_and_close_reach_puts_waiting_on_the_driver() {
        let f = Fixture::new(0, Duration::from_millis(50));
        assert!(
            !f.w.wait(10).await,
            "nothing flushed, yet the wait succeeded"
        );
        assert_eq!(
            signal(&f.w).runtime_id(),
            tokio::runtime::Handle::current().id()
        );
        let b = f.spawn_wait(20);
        f.registered(1).await;
        f.stop_watchdog();
        f.w.close();
        assert!(!b.await.unwrap());
    }

    #[test]
    fn a_runtime_without_an_io_driver_gets_direct_wake_ups() {
        let rt = two_workers(false);
        let f = Fixture::new(0, Duration::from_secs(60));
        rt.block_on(async {
            let a = f.spawn_wait(10);
            f.registered(1).await;
            assert!(
                f.w.driver.get().is_some_and(Option::is_none),
                "a signal was registered without a driver"
            );
            f.w.complete(10);
            assert!(a.await.unwrap());
        });
    }

    #[test]
    fn waiters_outlive_the_runtime_their_signal_was_registered_with() {
        let f = Fixture::new(0, Duration::from_secs(60));
        let rt = two_workers(true);
        rt.block_on(async {
            let a = f.spawn_wait(10);
            f.registered(1).await;
            f.w.complete(10);
            assert!(a.await.unwrap());
        });
        drop(rt);
        // Another runtime's puts are woken directly; completing them must not touch the
        // dead driver, nor must dropping the signal.
        let rt2 = two_workers(true);
        rt2.block_on(async {
            let b = f.spawn_wait(20);
            f.registered(1).await;
            assert!(f.w.state.lock().waiters.iter().all(|w| !w.slot.via_driver));
            f.w.complete(20);
            assert!(b.await.unwrap());
        });
        drop(f);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_signal_is_used_only_while_a_worker_is_parked() {
        let f = Fixture::new(0, Duration::from_secs(60));
        let a = f.spawn_wait(10);
        f.registered(1).await;
        let d = signal(&f.w);
        // The test body runs outside the workers: with nothing to run, they park.
        while !d.worker_parked() {
            tokio::task::yield_now().await;
        }
        // Both workers busy: none is parked, so direct wake-ups cost no extra wake-up.
        let (started, release) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                let (started, release) = (started.clone(), release.clone());
                tokio::spawn(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    while !release.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        while started.load(Ordering::SeqCst) < 2 {
            std::hint::spin_loop();
        }
        assert!(!d.worker_parked(), "a busy worker counted as parked");
        release.store(true, Ordering::SeqCst);
        for s in spinners {
            s.await.unwrap();
        }
        f.w.complete(10);
        assert!(a.await.unwrap());
    }
}
