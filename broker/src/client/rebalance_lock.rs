//! `RebalanceLockManager`: which client of a group holds each queue (orderly consumption).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use parking_lot::Mutex;
use remoting::protocol::body::MessageQueue;
use tokio::time::Instant;

struct LockEntry {
    client_id: String,
    last_update: Instant,
}

/// Queue locks per consumer group, expiring `max_live` after the last renewal.
pub struct RebalanceLockManager {
    max_live: Duration,
    table: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl RebalanceLockManager {
    /// Locks live `max_live` after their last renewal (Apache default 60 s).
    pub fn new(max_live: Duration) -> Self {
        RebalanceLockManager {
            max_live,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Locks (or renews) each queue that is free, expired or already held by `client_id`;
    /// returns the queues `client_id` now holds.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
    ) -> BTreeSet<MessageQueue> {
        let now = Instant::now();
        let mut table = self.table.lock();
        let locks = table.entry(group.to_owned()).or_default();
        let mut ok = BTreeSet::new();
        for mq in mqs {
            let free = match locks.get(mq) {
                None => true,
                Some(e) => {
                    e.client_id == client_id || now.duration_since(e.last_update) > self.max_live
                }
            };
            if free {
                locks.insert(
                    mq.clone(),
                    LockEntry {
                        client_id: client_id.to_owned(),
                        last_update: now,
                    },
                );
                ok.insert(mq.clone());
            }
        }
        ok
    }

    /// Releases the queues `client_id` holds among `mqs`.
    pub fn unlock_batch(&self, group: &str, mqs: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut table = self.table.lock();
        if let Some(locks) = table.get_mut(group) {
            for mq in mqs {
                if locks.get(mq).is_some_and(|e| e.client_id == client_id) {
                    locks.remove(mq);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqs(ids: &[i32]) -> BTreeSet<MessageQueue> {
        ids.iter()
            .map(|&q| MessageQueue {
                broker_name: "b".into(),
                queue_id: q,
                topic: "t".into(),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn locks_are_exclusive_until_released_or_expired() {
        let m = RebalanceLockManager::new(Duration::from_secs(60));
        assert_eq!(m.try_lock_batch("g", &mqs(&[0, 1]), "c1").len(), 2);
        assert_eq!(m.try_lock_batch("g", &mqs(&[1, 2]), "c2"), mqs(&[2]));
        m.unlock_batch("g", &mqs(&[1]), "c1");
        assert_eq!(m.try_lock_batch("g", &mqs(&[1]), "c2"), mqs(&[1]));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(
            m.try_lock_batch("g", &mqs(&[0]), "c2"),
            mqs(&[0]),
            "c1's lock expired"
        );
        assert_eq!(
            m.try_lock_batch("other", &mqs(&[0]), "c1").len(),
            1,
            "groups are independent"
        );
    }
}
