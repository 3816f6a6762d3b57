//! `RouteInfoManager`: which broker groups serve which topics, and which brokers are alive.
//!
//! All tables sit behind one read-write lock; route reads take the read side only and
//! copy out what they return, so readers never wait behind each other and writers hold
//! the lock for a few map operations.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;

use remoting::Connection;
use remoting::protocol::body::{
    BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfig, TopicConfigSerializeWrapper,
    TopicList, TopicRouteData, perm,
};
use tokio::time::Instant;
use tracing::{info, warn};

/// brokerId of a master.
pub const MASTER_ID: i64 = 0;
/// TopicSysFlag bit: unit topic.
const FLAG_UNIT: i32 = 0x1;
/// TopicSysFlag bit: has unit subscription.
const FLAG_UNIT_SUB: i32 = 0x2;

struct BrokerLiveInfo {
    last_update: Instant,
    data_version: DataVersion,
    conn: Option<Connection>,
    ha_server_addr: String,
}

#[derive(Default)]
struct Tables {
    topic_queue_table: HashMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: HashMap<String, BrokerData>,
    cluster_addr_table: HashMap<String, BTreeSet<String>>,
    broker_live_table: HashMap<String, BrokerLiveInfo>,
    filter_server_table: HashMap<String, Vec<String>>,
}

/// What a registering broker gets back.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RegisterBrokerResult {
    /// The master's HA address, for a slave whose master is registered.
    pub ha_server_addr: Option<String>,
    /// The master's address, for a slave whose master is registered.
    pub master_addr: Option<String>,
}

/// One REGISTER_BROKER call.
pub struct Registration<'a> {
    /// Cluster name.
    pub cluster_name: &'a str,
    /// `ip:port` of the broker.
    pub broker_addr: &'a str,
    /// Broker group name.
    pub broker_name: &'a str,
    /// 0 = master.
    pub broker_id: i64,
    /// HA address.
    pub ha_server_addr: &'a str,
    /// Topics and their version.
    pub topics: &'a TopicConfigSerializeWrapper,
    /// Filter servers.
    pub filter_server_list: &'a [String],
    /// The connection it came on.
    pub conn: Option<Connection>,
}

/// The name server's routing tables.
#[derive(Default)]
pub struct RouteInfoManager {
    tables: RwLock<Tables>,
    /// Bumped under the write lock by every change; lets readers cache what they derive.
    version: std::sync::atomic::AtomicU64,
}

impl RouteInfoManager {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        let t = self.tables.write().expect("route lock");
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        t
    }

    /// The route of `topic` with the table version it was read at (see [`Self::version`]).
    pub fn topic_route_versioned(&self, topic: &str) -> (u64, Option<TopicRouteData>) {
        let t = self.tables.read().expect("route lock");
        let v = self.version.load(std::sync::atomic::Ordering::Acquire);
        (v, route_of(&t, topic))
    }

    /// The current table version: equal versions mean equal routes.
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Registers (or refreshes) a broker, as Apache's `registerBroker`.
    pub fn register_broker(&self, r: Registration<'_>) -> RegisterBrokerResult {
        let mut t = self.write();
        t.cluster_addr_table
            .entry(r.cluster_name.to_owned())
            .or_default()
            .insert(r.broker_name.to_owned());

        let mut register_first = !t.broker_addr_table.contains_key(r.broker_name);
        let bd = t
            .broker_addr_table
            .entry(r.broker_name.to_owned())
            .or_insert_with(|| BrokerData {
                cluster: r.cluster_name.to_owned(),
                broker_name: r.broker_name.to_owned(),
                broker_addrs: BTreeMap::new(),
            });
        // The same address under another id (a slave switched to master, or the reverse).
        bd.broker_addrs
            .retain(|id, addr| !(addr == r.broker_addr && *id != r.broker_id));
        let old = bd
            .broker_addrs
            .insert(r.broker_id, r.broker_addr.to_owned());
        register_first |= old.is_none();

        if r.broker_id == MASTER_ID {
            let changed = t
                .broker_live_table
                .get(r.broker_addr)
                .is_none_or(|live| live.data_version != r.topics.data_version);
            if changed || register_first {
                for tc in r.topics.topic_config_table.values() {
                    create_and_update_queue_data(&mut t, r.broker_name, tc);
                }
            }
        }

        let prev = t.broker_live_table.insert(
            r.broker_addr.to_owned(),
            BrokerLiveInfo {
                last_update: Instant::now(),
                data_version: r.topics.data_version,
                conn: r.conn,
                ha_server_addr: r.ha_server_addr.to_owned(),
            },
        );
        if prev.is_none() {
            info!(
                broker = r.broker_name,
                addr = r.broker_addr,
                id = r.broker_id,
                "new broker registered"
            );
        }
        if r.filter_server_list.is_empty() {
            t.filter_server_table.remove(r.broker_addr);
        } else {
            t.filter_server_table
                .insert(r.broker_addr.to_owned(), r.filter_server_list.to_vec());
        }

        let mut result = RegisterBrokerResult::default();
        if r.broker_id != MASTER_ID
            && let Some(master) = t.broker_addr_table[r.broker_name]
                .broker_addrs
                .get(&MASTER_ID)
                .cloned()
        {
            if let Some(live) = t.broker_live_table.get(&master) {
                result.ha_server_addr = Some(live.ha_server_addr.clone());
            }
            result.master_addr = Some(master);
        }
        result
    }

    /// Removes one broker, as Apache's `unregisterBroker`.
    pub fn unregister_broker(
        &self,
        cluster_name: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) {
        let mut t = self.write();
        t.broker_live_table.remove(broker_addr);
        t.filter_server_table.remove(broker_addr);
        let mut remove_broker_name = false;
        if let Some(bd) = t.broker_addr_table.get_mut(broker_name) {
            bd.broker_addrs.remove(&broker_id);
            if bd.broker_addrs.is_empty() {
                t.broker_addr_table.remove(broker_name);
                remove_broker_name = true;
            }
        }
        if remove_broker_name {
            remove_from_cluster(&mut t, cluster_name, broker_name);
            remove_topics_of_broker(&mut t, broker_name);
        }
        info!(
            broker = broker_name,
            addr = broker_addr,
            id = broker_id,
            "broker unregistered"
        );
    }

    /// Drops the broker whose registration came on connection `conn_id` (it closed).
    pub fn on_connection_closed(&self, conn_id: u64) {
        let addr = {
            let t = self.tables.read().expect("route lock");
            t.broker_live_table
                .iter()
                .find(|(_, l)| l.conn.as_ref().is_some_and(|c| c.id() == conn_id))
                .map(|(a, _)| a.clone())
        };
        if let Some(addr) = addr {
            info!(%addr, "broker connection closed; removing its routes");
            self.remove_broker_addr(&addr);
        }
    }

    /// Drops brokers not heard from within `expiry`; returns how many.
    pub fn scan_not_active_brokers(&self, expiry: Duration) -> usize {
        let now = Instant::now();
        let expired: Vec<(String, Option<Connection>)> = {
            let t = self.tables.read().expect("route lock");
            t.broker_live_table
                .iter()
                .filter(|(_, l)| now.duration_since(l.last_update) > expiry)
                .map(|(a, l)| (a.clone(), l.conn.clone()))
                .collect()
        };
        for (addr, conn) in &expired {
            warn!(%addr, expiry_ms = expiry.as_millis() as u64, "broker expired; removing its routes");
            if let Some(c) = conn {
                c.close();
            }
            self.remove_broker_addr(addr);
        }
        expired.len()
    }

    fn remove_broker_addr(&self, addr: &str) {
        let mut t = self.write();
        t.broker_live_table.remove(addr);
        t.filter_server_table.remove(addr);
        let mut emptied = Vec::new();
        for (name, bd) in t.broker_addr_table.iter_mut() {
            bd.broker_addrs.retain(|_, a| a != addr);
            if bd.broker_addrs.is_empty() {
                emptied.push((name.clone(), bd.cluster.clone()));
            }
        }
        for (name, cluster) in emptied {
            t.broker_addr_table.remove(&name);
            remove_from_cluster(&mut t, &cluster, &name);
            remove_topics_of_broker(&mut t, &name);
        }
    }

    /// The route of `topic`, if it has queues on at least one registered broker group.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        self.topic_route_versioned(topic).1
    }

    /// Every cluster and broker group.
    pub fn cluster_info(&self) -> ClusterInfo {
        let t = self.tables.read().expect("route lock");
        ClusterInfo {
            broker_addr_table: t.broker_addr_table.clone(),
            cluster_addr_table: t.cluster_addr_table.clone(),
        }
    }

    /// Every topic with queue data.
    pub fn all_topics(&self) -> TopicList {
        let t = self.tables.read().expect("route lock");
        TopicList {
            broker_addr: None,
            topic_list: t.topic_queue_table.keys().cloned().collect(),
        }
    }

    /// Topics served by any broker group of `cluster`.
    pub fn topics_by_cluster(&self, cluster: &str) -> TopicList {
        let t = self.tables.read().expect("route lock");
        let names = t
            .cluster_addr_table
            .get(cluster)
            .cloned()
            .unwrap_or_default();
        let topic_list = t
            .topic_queue_table
            .iter()
            .filter(|(_, q)| q.keys().any(|b| names.contains(b)))
            .map(|(topic, _)| topic.clone())
            .collect();
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// Apache's "system topics": every cluster name and broker group name, with one
    /// broker address.
    pub fn system_topics(&self) -> TopicList {
        let t = self.tables.read().expect("route lock");
        let mut list = TopicList::default();
        for (cluster, names) in &t.cluster_addr_table {
            list.topic_list.insert(cluster.clone());
            for name in names {
                list.topic_list.insert(name.clone());
            }
        }
        list.broker_addr = t
            .broker_addr_table
            .values()
            .find_map(|bd| bd.broker_addrs.values().next().cloned());
        list
    }

    /// Topics whose queue data's sys flag satisfies `pred` (the unit-topic lists).
    pub fn topics_with_flag(&self, pred: impl Fn(i32) -> bool) -> TopicList {
        let t = self.tables.read().expect("route lock");
        let topic_list = t
            .topic_queue_table
            .iter()
            .filter(|(_, q)| q.values().next().is_some_and(|qd| pred(qd.topic_sys_flag)))
            .map(|(topic, _)| topic.clone())
            .collect();
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// Unit topics.
    pub fn unit_topics(&self) -> TopicList {
        self.topics_with_flag(|f| f & FLAG_UNIT != 0)
    }

    /// Topics with a unit subscription.
    pub fn has_unit_sub_topics(&self) -> TopicList {
        self.topics_with_flag(|f| f & FLAG_UNIT_SUB != 0)
    }

    /// Non-unit topics with a unit subscription.
    pub fn has_unit_sub_ununit_topics(&self) -> TopicList {
        self.topics_with_flag(|f| f & FLAG_UNIT == 0 && f & FLAG_UNIT_SUB != 0)
    }

    /// Removes a topic, or only its queues on `cluster`'s broker groups.
    pub fn delete_topic(&self, topic: &str, cluster: Option<&str>) {
        let mut t = self.write();
        match cluster.filter(|c| !c.is_empty()) {
            None => {
                t.topic_queue_table.remove(topic);
            }
            Some(cluster) => {
                let names = t
                    .cluster_addr_table
                    .get(cluster)
                    .cloned()
                    .unwrap_or_default();
                if let Some(q) = t.topic_queue_table.get_mut(topic) {
                    q.retain(|b, _| !names.contains(b));
                    if q.is_empty() {
                        t.topic_queue_table.remove(topic);
                    }
                }
            }
        }
    }

    /// Removes the write permission of a broker group's queues; returns the topic count.
    pub fn wipe_write_perm(&self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |p| p & !perm::WRITE)
    }

    /// Gives a broker group's queues read and write permission; returns the topic count.
    pub fn add_write_perm(&self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |_| perm::READ | perm::WRITE)
    }

    fn update_perm(&self, broker_name: &str, f: impl Fn(i32) -> i32) -> i32 {
        let mut t = self.write();
        let mut count = 0;
        for q in t.topic_queue_table.values_mut() {
            if let Some(qd) = q.get_mut(broker_name) {
                qd.perm = f(qd.perm);
                count += 1;
            }
        }
        count
    }

    /// QUERY_DATA_VERSION: whether `version` differs from the registered one, and the
    /// registered one. An unchanged broker counts as alive again.
    pub fn query_data_version(
        &self,
        broker_addr: &str,
        version: &DataVersion,
    ) -> (bool, Option<DataVersion>) {
        let mut t = self.write();
        match t.broker_live_table.get_mut(broker_addr) {
            Some(live) => {
                let changed = live.data_version != *version;
                if !changed {
                    live.last_update = Instant::now();
                }
                (changed, Some(live.data_version))
            }
            None => (true, None),
        }
    }
}

fn route_of(t: &Tables, topic: &str) -> Option<TopicRouteData> {
    let queues = t.topic_queue_table.get(topic)?;
    let mut route = TopicRouteData {
        queue_datas: queues.values().cloned().collect(),
        ..Default::default()
    };
    for name in queues.keys() {
        if let Some(bd) = t.broker_addr_table.get(name) {
            for addr in bd.broker_addrs.values() {
                if let Some(fs) = t.filter_server_table.get(addr) {
                    route.filter_server_table.insert(addr.clone(), fs.clone());
                }
            }
            route.broker_datas.push(bd.clone());
        }
    }
    (!route.broker_datas.is_empty() && !route.queue_datas.is_empty()).then_some(route)
}

fn create_and_update_queue_data(t: &mut Tables, broker_name: &str, tc: &TopicConfig) {
    let qd = QueueData {
        broker_name: broker_name.to_owned(),
        perm: tc.perm,
        read_queue_nums: tc.read_queue_nums,
        topic_sys_flag: tc.topic_sys_flag,
        write_queue_nums: tc.write_queue_nums,
    };
    let queues = t
        .topic_queue_table
        .entry(tc.topic_name.clone())
        .or_default();
    if queues.get(broker_name) != Some(&qd) {
        queues.insert(broker_name.to_owned(), qd);
    }
}

fn remove_from_cluster(t: &mut Tables, cluster: &str, broker_name: &str) {
    if let Some(names) = t.cluster_addr_table.get_mut(cluster) {
        names.remove(broker_name);
        if names.is_empty() {
            t.cluster_addr_table.remove(cluster);
        }
    }
}

fn remove_topics_of_broker(t: &mut Tables, broker_name: &str) {
    t.topic_queue_table.retain(|_, q| {
        q.remove(broker_name);
        !q.is_empty()
    });
}
