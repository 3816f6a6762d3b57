//! One waiting put's outcome and waker.

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Poll, Waker};

use parking_lot::Mutex;

const WAITING: u8 = 0;
const FLUSHED: u8 = 1;
const FAILED: u8 = 2;

/// Where a flush (or the watchdog, or `close`) leaves a put's outcome. Setting it does not
/// wake the put by itself: [`Slot::finish`] wakes it directly, [`Slot::set`] leaves the
/// wake-up to the runtime's driver (see `driver_signal`).
pub(super) struct Slot {
    outcome: AtomicU8,
    waker: Mutex<Option<Waker>>,
    /// The put also waits for the driver signal, so the flusher may skip its wake-up.
    pub(super) via_driver: bool,
}

impl Slot {
    /// A put still waiting.
    pub(super) fn new(via_driver: bool) -> Self {
        Slot {
            outcome: AtomicU8::new(WAITING),
            waker: Mutex::new(None),
            via_driver,
        }
    }

    /// True once flushed, false once failed, None while waiting.
    pub(super) fn result(&self) -> Option<bool> {
        match self.outcome.load(Ordering::Acquire) {
            WAITING => None,
            s => Some(s == FLUSHED),
        }
    }

    /// Sets the outcome without waking the put; false if it was set already.
    pub(super) fn set(&self, flushed: bool) -> bool {
        let to = if flushed { FLUSHED } else { FAILED };
        self.outcome
            .compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Sets the outcome and wakes the put.
    pub(super) fn finish(&self, flushed: bool) {
        if self.set(flushed)
            && let Some(w) = self.waker.lock().take()
        {
            w.wake();
        }
    }

    /// Resolves to the outcome, woken by [`Self::finish`].
    pub(super) fn outcome(&self) -> impl Future<Output = bool> + '_ {
        std::future::poll_fn(move |cx| {
            if let Some(r) = self.result() {
                return Poll::Ready(r);
            }
            {
                let mut w = self.waker.lock();
                match &*w {
                    Some(old) if old.will_wake(cx.waker()) => {}
                    _ => *w = Some(cx.waker().clone()),
                }
            }
            // `finish` sets the outcome before it takes the waker: seen here, or woken.
            self.result().map_or(Poll::Pending, Poll::Ready)
        })
    }
}
