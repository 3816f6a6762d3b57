//! The client-side cache of one queue's pulled-but-unconsumed messages (Apache
//! `ProcessQueue`): it decides the offset that is safe to commit and carries the queue's
//! drop and lock state.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use remoting::message::MessageExt;
use tokio::sync::Notify;

/// A broker lock older than this (without renewal) is not trusted (Apache: 30 s).
pub const LOCK_MAX_LIVE: Duration = Duration::from_secs(30);

#[derive(Default)]
struct State {
    tree: BTreeMap<i64, MessageExt>,
    consuming: BTreeMap<i64, MessageExt>,
    queue_offset_max: i64,
}

/// Cached messages of one queue plus its state.
pub struct ProcessQueue {
    state: Mutex<State>,
    dropped: AtomicBool,
    locked: AtomicBool,
    last_lock: Mutex<Option<Instant>>,
    /// Held while an orderly listener consumes from this queue.
    pub consume_lock: tokio::sync::Mutex<()>,
    /// Signalled when messages were removed (room for more pulls).
    pub space_freed: Notify,
    /// Signalled when messages were added (work for the orderly consumer).
    pub messages_added: Notify,
}

impl Default for ProcessQueue {
    fn default() -> Self {
        ProcessQueue {
            state: Mutex::default(),
            dropped: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            last_lock: Mutex::new(None),
            consume_lock: tokio::sync::Mutex::new(()),
            space_freed: Notify::new(),
            messages_added: Notify::new(),
        }
    }
}

impl ProcessQueue {
    /// Caches pulled messages (a message already cached is not added twice).
    pub fn put(&self, msgs: &[MessageExt]) {
        let mut s = self.state.lock().unwrap();
        for m in msgs {
            s.tree.entry(m.queue_offset).or_insert_with(|| m.clone());
            s.queue_offset_max = s.queue_offset_max.max(m.queue_offset);
        }
        drop(s);
        self.messages_added.notify_one();
    }

    /// Removes consumed messages; returns the offset now safe to commit (the smallest
    /// cached offset, or one past the largest seen when the cache is empty), or `None` if
    /// the cache was already empty.
    pub fn remove(&self, msgs: &[MessageExt]) -> Option<i64> {
        let mut s = self.state.lock().unwrap();
        if s.tree.is_empty() {
            return None;
        }
        for m in msgs {
            s.tree.remove(&m.queue_offset);
        }
        let next = s
            .tree
            .keys()
            .next()
            .copied()
            .unwrap_or(s.queue_offset_max + 1);
        drop(s);
        self.space_freed.notify_waiters();
        Some(next)
    }

    /// Number of cached messages (including those an orderly listener holds).
    pub fn count(&self) -> usize {
        let s = self.state.lock().unwrap();
        s.tree.len() + s.consuming.len()
    }

    /// Orderly: moves up to `n` messages, lowest offsets first, to the consuming set.
    pub fn take(&self, n: usize) -> Vec<MessageExt> {
        let mut s = self.state.lock().unwrap();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some((off, m)) = s.tree.pop_first() else {
                break;
            };
            s.consuming.insert(off, m.clone());
            out.push(m);
        }
        out
    }

    /// Orderly: forgets the consuming set; returns the next offset to commit.
    pub fn commit(&self) -> Option<i64> {
        let mut s = self.state.lock().unwrap();
        let last = s.consuming.keys().next_back().copied();
        s.consuming.clear();
        drop(s);
        self.space_freed.notify_waiters();
        last.map(|o| o + 1)
    }

    /// Orderly: puts the consuming set back to be consumed again.
    pub fn rollback(&self) {
        let mut s = self.state.lock().unwrap();
        let consuming = std::mem::take(&mut s.consuming);
        s.tree.extend(consuming);
    }

    /// Marks the queue dropped (no more pulls or consumption).
    pub fn set_dropped(&self) {
        self.dropped.store(true, Ordering::SeqCst);
        self.messages_added.notify_one();
        self.space_freed.notify_waiters();
    }

    /// True once dropped.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Records the broker lock state.
    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
        if locked {
            *self.last_lock.lock().unwrap() = Some(Instant::now());
        }
    }

    /// True when the broker lock is held and fresh.
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
            && self
                .last_lock
                .lock()
                .unwrap()
                .is_some_and(|t| t.elapsed() < LOCK_MAX_LIVE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(off: i64) -> MessageExt {
        MessageExt {
            queue_offset: off,
            ..Default::default()
        }
    }

    #[test]
    fn commit_offset_is_the_smallest_unconsumed() {
        let pq = ProcessQueue::default();
        assert_eq!(pq.remove(&[msg(0)]), None);
        pq.put(&[msg(5), msg(6), msg(7)]);
        assert_eq!(pq.remove(&[msg(6)]), Some(5));
        assert_eq!(pq.remove(&[msg(5)]), Some(7));
        assert_eq!(pq.remove(&[msg(7)]), Some(8));
        assert_eq!(pq.count(), 0);
    }

    #[test]
    fn orderly_take_commit_rollback() {
        let pq = ProcessQueue::default();
        pq.put(&[msg(3), msg(1), msg(2)]);
        let got: Vec<_> = pq.take(2).iter().map(|m| m.queue_offset).collect();
        assert_eq!(got, [1, 2]);
        assert_eq!(pq.count(), 3);
        pq.rollback();
        assert_eq!(pq.take(1)[0].queue_offset, 1);
        assert_eq!(pq.commit(), Some(2));
        assert_eq!(pq.commit(), None);
        assert_eq!(pq.count(), 2);
    }

    #[test]
    fn lock_state() {
        let pq = ProcessQueue::default();
        assert!(!pq.is_locked());
        pq.set_locked(true);
        assert!(pq.is_locked());
        pq.set_locked(false);
        assert!(!pq.is_locked());
    }
}
