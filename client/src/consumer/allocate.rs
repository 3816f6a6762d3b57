//! Queue allocation strategies for clustering consumers (Apache
//! `AllocateMessageQueueAveragely` and `AllocateMessageQueueAveragelyByCircle`). Every
//! consumer of a group runs the same function over the same sorted inputs, so together
//! they cover each queue exactly once.

use remoting::protocol::body::MessageQueue;

/// Chooses this consumer's share of the queues.
pub trait AllocateStrategy: Send + Sync {
    /// Apache's strategy name.
    fn name(&self) -> &'static str;
    /// The queues of `current` among `all` (both sorted by the caller).
    fn allocate(
        &self,
        current: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Vec<MessageQueue>;
}

/// Contiguous blocks: the first `mqs % cids` consumers get one queue more.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateAveragely;

/// Round robin: queue `i` goes to consumer `i % cids`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateByCircle;

impl AllocateStrategy for AllocateAveragely {
    fn name(&self) -> &'static str {
        "AVG"
    }

    fn allocate(
        &self,
        current: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = all_cids.iter().position(|c| c == current) else {
            return Vec::new();
        };
        let (n, c) = (all_mqs.len(), all_cids.len());
        if n == 0 {
            return Vec::new();
        }
        let m = n % c;
        let average = if n <= c {
            1
        } else if m > 0 && index < m {
            n / c + 1
        } else {
            n / c
        };
        let start = if m > 0 && index < m {
            index * average
        } else {
            index * average + m
        };
        let range = average.min(n.saturating_sub(start));
        (0..range)
            .map(|i| all_mqs[(start + i) % n].clone())
            .collect()
    }
}

impl AllocateStrategy for AllocateByCircle {
    fn name(&self) -> &'static str {
        "AVG_BY_CIRCLE"
    }

    fn allocate(
        &self,
        current: &str,
        all_mqs: &[MessageQueue],
        all_cids: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = all_cids.iter().position(|c| c == current) else {
            return Vec::new();
        };
        all_mqs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % all_cids.len() == index)
            .map(|(_, q)| q.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqs(n: i32) -> Vec<MessageQueue> {
        (0..n)
            .map(|i| MessageQueue {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id: i,
            })
            .collect()
    }

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn ids(v: Vec<MessageQueue>) -> Vec<i32> {
        v.into_iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn averagely_gives_blocks_with_the_remainder_first() {
        let (q, c) = (mqs(8), cids(3));
        let a = AllocateAveragely;
        assert_eq!(ids(a.allocate("c0", &q, &c)), [0, 1, 2]);
        assert_eq!(ids(a.allocate("c1", &q, &c)), [3, 4, 5]);
        assert_eq!(ids(a.allocate("c2", &q, &c)), [6, 7]);
    }

    #[test]
    fn more_consumers_than_queues() {
        let (q, c) = (mqs(2), cids(3));
        assert_eq!(ids(AllocateAveragely.allocate("c0", &q, &c)), [0]);
        assert_eq!(ids(AllocateAveragely.allocate("c1", &q, &c)), [1]);
        assert!(AllocateAveragely.allocate("c2", &q, &c).is_empty());
        assert!(AllocateByCircle.allocate("c2", &q, &c).is_empty());
    }

    #[test]
    fn by_circle_round_robins() {
        let (q, c) = (mqs(8), cids(3));
        assert_eq!(ids(AllocateByCircle.allocate("c0", &q, &c)), [0, 3, 6]);
        assert_eq!(ids(AllocateByCircle.allocate("c1", &q, &c)), [1, 4, 7]);
        assert_eq!(ids(AllocateByCircle.allocate("c2", &q, &c)), [2, 5]);
    }

    #[test]
    fn unknown_consumer_gets_nothing() {
        assert!(
            AllocateAveragely
                .allocate("x", &mqs(4), &cids(2))
                .is_empty()
        );
    }

    #[test]
    fn every_queue_exactly_once_for_any_shape() {
        let strategies: [&dyn AllocateStrategy; 2] = [&AllocateAveragely, &AllocateByCircle];
        for s in strategies {
            for n in 0..20 {
                for c in 1..7 {
                    let (q, cs) = (mqs(n), cids(c));
                    let mut all: Vec<i32> = cs
                        .iter()
                        .flat_map(|id| ids(s.allocate(id, &q, &cs)))
                        .collect();
                    all.sort();
                    assert_eq!(all, (0..n).collect::<Vec<_>>(), "{} n={n} c={c}", s.name());
                }
            }
        }
    }
}
