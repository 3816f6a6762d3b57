//! Latency-aware broker avoidance (Apache `MQFaultStrategy` + `LatencyFaultToleranceImpl`):
//! a send that was slow or failed makes its broker unavailable for a while, and queue
//! selection prefers brokers that are available.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use remoting::protocol::body::MessageQueue;

use crate::route::TopicPublishInfo;

/// Latency thresholds (ms) ...
const LATENCY_MAX: [u64; 7] = [50, 100, 550, 1000, 2000, 3000, 15000];
/// ... and how long (ms) a broker is avoided after a send that slow.
const NOT_AVAILABLE: [u64; 7] = [0, 0, 30000, 60000, 120000, 180000, 600000];

/// Latency charged to a broker when a send to it failed outright.
pub const ISOLATION_LATENCY: Duration = Duration::from_millis(30000);

#[derive(Debug, Clone)]
struct FaultItem {
    latency: Duration,
    available_at: Instant,
}

/// The fault table of a producer.
#[derive(Debug)]
pub struct FaultStrategy {
    enabled: bool,
    items: Mutex<HashMap<String, FaultItem>>,
}

/// How long a broker is avoided after a send that took `latency`.
pub fn not_available_duration(latency: Duration) -> Duration {
    let ms = latency.as_millis() as u64;
    for i in (0..LATENCY_MAX.len()).rev() {
        if ms >= LATENCY_MAX[i] {
            return Duration::from_millis(NOT_AVAILABLE[i]);
        }
    }
    Duration::ZERO
}

impl FaultStrategy {
    /// A strategy; when disabled it only does round robin avoiding the last broker.
    pub fn new(enabled: bool) -> Self {
        FaultStrategy {
            enabled,
            items: Mutex::default(),
        }
    }

    /// Records the outcome of a send to `broker`; `isolation` marks a failure.
    pub fn update(&self, broker: &str, latency: Duration, isolation: bool, now: Instant) {
        if !self.enabled {
            return;
        }
        let charged = if isolation {
            ISOLATION_LATENCY
        } else {
            latency
        };
        let item = FaultItem {
            latency: charged,
            available_at: now + not_available_duration(charged),
        };
        self.items.lock().unwrap().insert(broker.to_owned(), item);
    }

    /// True when `broker` is not being avoided.
    pub fn is_available(&self, broker: &str, now: Instant) -> bool {
        self.items
            .lock()
            .unwrap()
            .get(broker)
            .is_none_or(|i| now >= i.available_at)
    }

    fn pick_one_at_least(&self, now: Instant, index: usize) -> Option<String> {
        let items = self.items.lock().unwrap();
        let mut v: Vec<(&String, &FaultItem)> = items.iter().collect();
        v.sort_by(|a, b| {
            let av = |i: &FaultItem| now < i.available_at;
            av(a.1)
                .cmp(&av(b.1))
                .then(a.1.latency.cmp(&b.1.latency))
                .then(a.1.available_at.cmp(&b.1.available_at))
        });
        let half = v.len() / 2;
        match half {
            0 => v.first().map(|e| e.0.clone()),
            h => Some(v[index % h].0.clone()),
        }
    }

    /// Picks the queue for the next attempt: round robin over queues of available brokers,
    /// preferring another broker than `last_broker`; when every broker is being avoided,
    /// the least bad one.
    pub fn select(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
        now: Instant,
    ) -> Option<MessageQueue> {
        let n = info.queues.len();
        if n == 0 {
            return None;
        }
        if !self.enabled {
            return info.select_queue(last_broker).cloned();
        }
        let start = info.next_index();
        let mut fallback = None;
        for i in 0..n {
            let q = &info.queues[(start + i) % n];
            if self.is_available(&q.broker_name, now) {
                if Some(q.broker_name.as_str()) != last_broker {
                    return Some(q.clone());
                }
                fallback.get_or_insert(q);
            }
        }
        if let Some(q) = fallback {
            return Some(q.clone());
        }
        if let Some(broker) = self.pick_one_at_least(now, start) {
            let of_broker: Vec<_> = info
                .queues
                .iter()
                .filter(|q| q.broker_name == broker)
                .collect();
            if !of_broker.is_empty() {
                return Some(of_broker[start % of_broker.len()].clone());
            }
        }
        info.select_queue(last_broker).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remoting::protocol::body::{BrokerData, QueueData, TopicRouteData};

    fn info(brokers: &[&str]) -> TopicPublishInfo {
        let route = TopicRouteData {
            queue_datas: brokers
                .iter()
                .map(|b| QueueData {
                    broker_name: b.to_string(),
                    perm: 6,
                    read_queue_nums: 2,
                    write_queue_nums: 2,
                    topic_sys_flag: 0,
                })
                .collect(),
            broker_datas: brokers
                .iter()
                .map(|b| BrokerData {
                    cluster: "C".into(),
                    broker_name: b.to_string(),
                    broker_addrs: [(0, format!("{b}:1"))].into(),
                })
                .collect(),
            ..Default::default()
        };
        TopicPublishInfo::from_route("T", &route)
    }

    #[test]
    fn durations_follow_the_latency_table() {
        assert_eq!(
            not_available_duration(Duration::from_millis(10)),
            Duration::ZERO
        );
        assert_eq!(
            not_available_duration(Duration::from_millis(600)),
            Duration::from_secs(30)
        );
        assert_eq!(
            not_available_duration(Duration::from_millis(2500)),
            Duration::from_secs(120)
        );
        assert_eq!(
            not_available_duration(ISOLATION_LATENCY),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn failed_broker_is_avoided_until_its_time_passes() {
        let f = FaultStrategy::new(true);
        let info = info(&["a", "b"]);
        let now = Instant::now();
        f.update("a", Duration::from_millis(5), true, now);
        for _ in 0..20 {
            assert_eq!(f.select(&info, None, now).unwrap().broker_name, "b");
        }
        let later = now + Duration::from_secs(601);
        assert!(f.is_available("a", later));
        let picked: std::collections::BTreeSet<_> = (0..8)
            .map(|_| f.select(&info, None, later).unwrap().broker_name)
            .collect();
        assert_eq!(picked.len(), 2);
    }

    #[test]
    fn retry_prefers_another_broker_and_falls_back_when_all_are_bad() {
        let f = FaultStrategy::new(true);
        let info = info(&["a", "b"]);
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(f.select(&info, Some("a"), now).unwrap().broker_name, "b");
        }
        f.update("a", Duration::ZERO, true, now);
        f.update("b", Duration::from_millis(600), false, now);
        // both avoided: the one with the lower latency wins
        assert_eq!(f.select(&info, None, now).unwrap().broker_name, "b");
    }

    #[test]
    fn fast_sends_do_not_isolate() {
        let f = FaultStrategy::new(true);
        let now = Instant::now();
        f.update("a", Duration::from_millis(20), false, now);
        assert!(f.is_available("a", now));
    }
}
