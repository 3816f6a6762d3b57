//! `PullRequestHoldService`: pulls that found nothing wait here until a matching message
//! is dispatched to their queue (the store's arrival event) or their hold time ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use store::ArrivalEvent;
use tokio::sync::Notify;

struct HeldPull {
    id: u64,
    offset: i64,
    tag_codes: Vec<i32>,
    wake: Arc<Notify>,
}

/// A held pull's registration; dropping it removes the pull from the table.
pub struct HoldTicket {
    service: Arc<PullRequestHoldService>,
    key: (String, i32),
    id: u64,
    /// Notified when a matching message arrives.
    pub wake: Arc<Notify>,
}

impl Drop for HoldTicket {
    fn drop(&mut self) {
        self.service.release(&self.key, self.id);
    }
}

/// Held pulls by (topic, queueId).
#[derive(Default)]
pub struct PullRequestHoldService {
    table: Mutex<HashMap<(String, i32), Vec<HeldPull>>>,
    next_id: AtomicU64,
}

impl PullRequestHoldService {
    /// Holds a pull of `topic`/`queue_id` waiting for offsets beyond `offset` whose tags hash
    /// is in `tag_codes` (empty = any).
    pub fn hold(
        self: &Arc<Self>,
        topic: &str,
        queue_id: i32,
        offset: i64,
        tag_codes: Vec<i32>,
    ) -> HoldTicket {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let wake = Arc::new(Notify::new());
        let key = (topic.to_owned(), queue_id);
        self.table
            .lock()
            .entry(key.clone())
            .or_default()
            .push(HeldPull {
                id,
                offset,
                tag_codes,
                wake: wake.clone(),
            });
        HoldTicket {
            service: self.clone(),
            key,
            id,
            wake,
        }
    }

    fn release(&self, key: &(String, i32), id: u64) {
        let mut table = self.table.lock();
        if let Some(list) = table.get_mut(key) {
            list.retain(|h| h.id != id);
            if list.is_empty() {
                table.remove(key);
            }
        }
    }

    /// Wakes the pulls a newly dispatched message satisfies (called by the store's dispatch).
    pub fn on_arrival(&self, ev: &ArrivalEvent) {
        let table = self.table.lock();
        let Some(list) = table.get(&(ev.topic.clone(), ev.queue_id)) else {
            return;
        };
        for h in list {
            if ev.max_offset > h.offset
                && (h.tag_codes.is_empty() || h.tag_codes.contains(&(ev.tags_code as i32)))
            {
                h.wake.notify_one();
            }
        }
    }

    /// Number of held pulls (for runtime info).
    pub fn held_count(&self) -> usize {
        self.table.lock().values().map(Vec::len).sum()
    }
}
