//! Waking a whole group through the runtime's I/O driver.
//!
//! A task woken from a worker of a multi-thread runtime goes to that worker's queue, and
//! Tokio wakes a parked worker to share the queue whenever it holds more than one task. A
//! flush that wakes its group one put at a time therefore wakes a parked worker again and
//! again; when both threads share a CPU (as a VM that packs vCPUs does at this load) each
//! of those wake-ups preempts the flusher, steals one put, runs it and parks again. Tasks
//! woken by the driver, in contrast, are queued without waking anyone until the driver
//! returns, and then one other worker at most. So when a worker is parked, the flusher
//! writes one eventfd registered with the driver, and every put of the group, waiting on
//! it as well as on its own slot, is queued at once.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::runtime::Handle;

use super::slot::Slot;

/// An eventfd registered with one multi-thread runtime's I/O driver.
pub(super) struct DriverSignal {
    fd: AsyncFd<OwnedFd>,
    runtime: Handle,
}

impl DriverSignal {
    /// A signal for `runtime`, the multi-thread runtime this is called in (a current-thread
    /// one has no other worker to wake); None without an I/O driver.
    pub(super) fn register(runtime: Handle) -> Option<Self> {
        // SAFETY: plain eventfd(2); the descriptor is owned below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return None;
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // A runtime built without its I/O driver panics here (Tokio offers no way to ask
        // first): then puts are woken directly.
        let registered = std::panic::catch_unwind(move || {
            // SAFETY: the AsyncFd owns the descriptor for its whole life.
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
        });
        let fd = registered.ok()?.ok()?;
        Some(DriverSignal { fd, runtime })
    }

    /// The runtime whose driver the signal is registered with.
    pub(super) fn runtime_id(&self) -> tokio::runtime::Id {
        self.runtime.id()
    }

    /// Whether a worker of the runtime is parked: only then do direct wake-ups wake
    /// workers (and only then is the driver certain to be polled soon).
    pub(super) fn worker_parked(&self) -> bool {
        let m = self.runtime.metrics();
        // The count is odd while the worker is parked.
        (0..m.num_workers()).any(|w| m.worker_park_unpark_count(w) % 2 == 1)
    }

    /// Wakes every put waiting on the signal (each rechecks its slot).
    pub(super) fn signal(&self) {
        let one = 1u64;
        // SAFETY: an 8-byte write from a live u64 to an owned eventfd. The counter cannot
        // overflow in practice (one increment per flush).
        let rc = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if rc != 8 {
            tracing::debug!(
                "flush signal write failed: {}",
                std::io::Error::last_os_error()
            );
        }
    }

    /// Resolves to the slot's outcome, woken either by the slot's own waker or by the
    /// signal. Readiness another put already consumed is cleared and awaited again.
    pub(super) async fn wait(&self, slot: &Slot) -> bool {
        loop {
            tokio::select! {
                biased;
                r = slot.outcome() => return r,
                ready = self.fd.readable() => match ready {
                    Ok(mut guard) => {
                        if let Some(r) = slot.result() {
                            return r;
                        }
                        // Clears only the readiness this guard saw, never a newer signal.
                        guard.clear_ready();
                    }
                    // The driver is gone (runtime shutting down): the slot's waker remains.
                    Err(_) => return slot.outcome().await,
                },
            }
        }
    }
}
