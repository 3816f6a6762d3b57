//! What a route means to a client: the writable queues of a topic (publishing) and the
//! readable ones (subscribing), as Apache's `topicRouteData2TopicPublishInfo` /
//! `topicRouteData2TopicSubscribeInfo` build them.

use std::sync::atomic::{AtomicUsize, Ordering};

use remoting::protocol::body::{MessageQueue, TopicRouteData, perm};

/// The queues a producer may write to, with a round-robin cursor.
#[derive(Debug, Default)]
pub struct TopicPublishInfo {
    /// True when the route came with an `orderTopicConf`.
    pub order_topic: bool,
    /// Writable queues, grouped by broker in route order.
    pub queues: Vec<MessageQueue>,
    /// The route the queues came from.
    pub route: TopicRouteData,
    cursor: AtomicUsize,
}

impl TopicPublishInfo {
    /// Builds publish info: `orderTopicConf` (`brokerA:4;brokerB:4`) when present, else every
    /// queue of every writable broker that has a master.
    pub fn from_route(topic: &str, route: &TopicRouteData) -> Self {
        let mut queues = Vec::new();
        let order_conf = route.order_topic_conf.as_deref().filter(|c| !c.is_empty());
        if let Some(conf) = order_conf {
            for item in conf.split(';') {
                if let Some((broker, n)) = item.split_once(':') {
                    let n: i32 = n.trim().parse().unwrap_or(0);
                    queues.extend((0..n).map(|q| mq(topic, broker.trim(), q)));
                }
            }
        } else {
            let mut qds: Vec<_> = route.queue_datas.iter().collect();
            qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in qds {
                if !perm::is_writeable(qd.perm) {
                    continue;
                }
                let has_master = route
                    .broker_datas
                    .iter()
                    .any(|b| b.broker_name == qd.broker_name && b.master_addr().is_some());
                if has_master {
                    queues.extend((0..qd.write_queue_nums).map(|q| mq(topic, &qd.broker_name, q)));
                }
            }
        }
        TopicPublishInfo {
            order_topic: order_conf.is_some(),
            queues,
            route: route.clone(),
            cursor: AtomicUsize::new(0),
        }
    }

    /// Publish info for a topic that does not exist yet, from the route of the default
    /// topic (`TBW102`), with at most `queue_nums` queues per broker.
    pub fn from_default_route(
        topic: &str,
        default_route: &TopicRouteData,
        queue_nums: i32,
    ) -> Self {
        let mut route = default_route.clone();
        for qd in &mut route.queue_datas {
            let n = queue_nums.min(qd.read_queue_nums);
            qd.read_queue_nums = n;
            qd.write_queue_nums = n;
        }
        Self::from_route(topic, &route)
    }

    /// True when there is at least one queue to write to.
    pub fn ok(&self) -> bool {
        !self.queues.is_empty()
    }

    /// The next queue in round-robin order.
    pub fn next_index(&self) -> usize {
        self.cursor.fetch_add(1, Ordering::Relaxed)
    }

    /// The next queue in round-robin order, skipping `last_broker` when another exists
    /// (Apache `selectOneMessageQueue(lastBrokerName)`).
    pub fn select_queue(&self, last_broker: Option<&str>) -> Option<&MessageQueue> {
        if self.queues.is_empty() {
            return None;
        }
        if let Some(last) = last_broker {
            for _ in 0..self.queues.len() {
                let q = &self.queues[self.next_index() % self.queues.len()];
                if q.broker_name != last {
                    return Some(q);
                }
            }
        }
        Some(&self.queues[self.next_index() % self.queues.len()])
    }
}

/// The queues a consumer may read: every queue of every readable broker.
pub fn subscribe_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut out = Vec::new();
    for qd in &route.queue_datas {
        if perm::is_readable(qd.perm) {
            out.extend((0..qd.read_queue_nums).map(|q| mq(topic, &qd.broker_name, q)));
        }
    }
    out.sort();
    out
}

fn mq(topic: &str, broker: &str, queue_id: i32) -> MessageQueue {
    MessageQueue {
        topic: topic.into(),
        broker_name: broker.into(),
        queue_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remoting::protocol::body::{BrokerData, QueueData};

    fn route() -> TopicRouteData {
        let qd = |b: &str, n, p| QueueData {
            broker_name: b.into(),
            perm: p,
            read_queue_nums: n,
            write_queue_nums: n,
            topic_sys_flag: 0,
        };
        let bd = |b: &str, master: bool| BrokerData {
            cluster: "C".into(),
            broker_name: b.into(),
            broker_addrs: if master {
                [(0, format!("{b}:10911"))].into()
            } else {
                [(1, format!("{b}:10911"))].into()
            },
        };
        TopicRouteData {
            queue_datas: vec![
                qd("b", 2, 6),
                qd("a", 3, 6),
                qd("ro", 2, 4),
                qd("slave", 2, 6),
            ],
            broker_datas: vec![
                bd("a", true),
                bd("b", true),
                bd("ro", true),
                bd("slave", false),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn publish_queues_need_write_perm_and_a_master() {
        let p = TopicPublishInfo::from_route("T", &route());
        let names: Vec<_> = p
            .queues
            .iter()
            .map(|q| format!("{}{}", q.broker_name, q.queue_id))
            .collect();
        assert_eq!(names, ["a0", "a1", "a2", "b0", "b1"]);
        assert!(!p.order_topic);
    }

    #[test]
    fn order_topic_conf_wins() {
        let mut r = route();
        r.order_topic_conf = Some("b:2;a:1".into());
        let p = TopicPublishInfo::from_route("T", &r);
        assert!(p.order_topic);
        assert_eq!(p.queues.len(), 3);
        assert_eq!(p.queues[2].broker_name, "a");
    }

    #[test]
    fn default_route_caps_queue_count() {
        let p = TopicPublishInfo::from_default_route("New", &route(), 1);
        assert_eq!(p.queues.len(), 2);
        assert!(p.queues.iter().all(|q| q.topic == "New" && q.queue_id == 0));
    }

    #[test]
    fn select_skips_last_broker() {
        let p = TopicPublishInfo::from_route("T", &route());
        for _ in 0..10 {
            assert_ne!(p.select_queue(Some("a")).unwrap().broker_name, "a");
        }
    }

    #[test]
    fn subscribe_queues_need_read_perm() {
        let qs = subscribe_queues("T", &route());
        assert_eq!(qs.len(), 2 + 3 + 2 + 2);
        let mut r = route();
        r.queue_datas[0].perm = 2;
        assert_eq!(subscribe_queues("T", &r).len(), 3 + 2 + 2);
    }
}
