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

/// Held pulls by topic, then queueId (looked up by `&str` on every dispatched message).
#[derive(Default)]
pub struct PullRequestHoldService {
    table: Mutex<HashMap<String, HashMap<i32, Vec<HeldPull>>>>,
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
            .entry(key.0.clone())
            .or_default()
            .entry(queue_id)
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
        let Some(queues) = table.get_mut(&key.0) else {
            return;
        };
        if let Some(list) = queues.get_mut(&key.1) {
            list.retain(|h| h.id != id);
            if list.is_empty() {
                queues.remove(&key.1);
            }
        }
        if queues.is_empty() {
            table.remove(&key.0);
        }
    }

    /// Wakes the pulls a newly dispatched message satisfies (called by the store's dispatch).
    pub fn on_arrival(&self, ev: &ArrivalEvent) {
        let table = self.table.lock();
        let Some(list) = table.get(ev.topic).and_then(|q| q.get(&ev.queue_id)) else {
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
        self.table
            .lock()
            .values()
            .flat_map(|q| q.values())
            .map(Vec::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(topic: &str, queue_id: i32, max_offset: i64, tags_code: i64) -> ArrivalEvent<'_> {
        ArrivalEvent {
            topic,
            queue_id,
            max_offset,
            tags_code,
            store_timestamp: 0,
            properties: "",
        }
    }

    /// True if the ticket was notified (a stored permit makes `notified()` ready at once).
    fn woken(t: &HoldTicket) -> bool {
        use std::future::Future;
        let n = t.wake.notified();
        futures::pin_mut!(n);
        n.as_mut().enable();
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        n.poll(&mut cx).is_ready()
    }

    #[test]
    fn arrivals_wake_only_matching_pulls_and_tickets_release_them() {
        let svc = Arc::new(PullRequestHoldService::default());
        let any = svc.hold("T", 0, 5, vec![]);
        let tagged = svc.hold("T", 0, 5, vec![42]);
        let other_queue = svc.hold("T", 1, 0, vec![]);
        assert_eq!(svc.held_count(), 3);

        svc.on_arrival(&arrival("T", 0, 5, 42)); // not beyond offset 5
        svc.on_arrival(&arrival("U", 0, 9, 42)); // other topic
        assert!(!woken(&any) && !woken(&tagged) && !woken(&other_queue));

        svc.on_arrival(&arrival("T", 0, 6, 7)); // tag 7: only the untagged pull
        assert!(woken(&any) && !woken(&tagged) && !woken(&other_queue));
        svc.on_arrival(&arrival("T", 0, 7, 42));
        assert!(woken(&tagged) && !woken(&other_queue));

        drop(any);
        drop(tagged);
        assert_eq!(svc.held_count(), 1);
        drop(other_queue);
        assert_eq!(svc.held_count(), 0);
        assert!(svc.table.lock().is_empty());
    }
}
