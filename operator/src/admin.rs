//! Everything the operator asks RocketMQ itself, behind a small trait so the reconciler can be
//! tested with an in-memory fake ([`FakeAdmin`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

/// Failure talking to a name server or broker.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum AdminError {
    #[error("cannot reach {addr}: {message}")]
    Unreachable { addr: String, message: String },
    #[error("{addr} answered code {code}: {remark}")]
    Rejected {
        addr: String,
        code: i32,
        remark: String,
    },
    #[error("unexpected answer from {addr}: {message}")]
    Protocol { addr: String, message: String },
}

/// What a name server knows about the brokers (`GET_BROKER_CLUSTER_INFO`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterView {
    /// brokerName → brokerId → address.
    pub brokers: BTreeMap<String, BTreeMap<i64, String>>,
    /// cluster name → brokerNames.
    pub clusters: BTreeMap<String, BTreeSet<String>>,
}

/// Admin operations the operator needs.
#[async_trait]
pub trait RocketMqAdmin: Send + Sync {
    /// `GET_BROKER_CLUSTER_INFO` (106) against one name server.
    async fn cluster_info(&self, namesrv: &str) -> Result<ClusterView, AdminError>;
    /// `WIPE_WRITE_PERM_OF_BROKER` (205) on one name server; returns the number of topics affected.
    async fn wipe_write_perm(&self, namesrv: &str, broker_name: &str) -> Result<u32, AdminError>;
    /// `ADD_WRITE_PERM_OF_BROKER` (327) on one name server (undoes a wipe when a scale-in is cancelled).
    async fn add_write_perm(&self, namesrv: &str, broker_name: &str) -> Result<u32, AdminError>;
    /// Messages stored on the broker at `broker_addr` that some consumer group has not consumed yet
    /// (sum over groups and queues of brokerOffset - consumerOffset).
    async fn broker_backlog(&self, broker_addr: &str) -> Result<u64, AdminError>;
}

/// In-memory admin for tests: a cluster view, backlogs per broker address, and a log of wipes.
#[derive(Clone, Default)]
pub struct FakeAdmin {
    inner: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    view: ClusterView,
    backlog: HashMap<String, u64>,
    wiped: Vec<(String, String)>,
    restored: Vec<(String, String)>,
    unreachable: bool,
    empty_on: Vec<String>,
}

impl FakeAdmin {
    pub fn new() -> Self {
        Self::default()
    }
    /// Registers a broker with the fake name servers.
    pub fn register(&self, cluster: &str, broker_name: &str, id: i64, addr: &str) {
        let mut s = self.inner.lock().unwrap();
        s.view
            .brokers
            .entry(broker_name.into())
            .or_default()
            .insert(id, addr.into());
        s.view
            .clusters
            .entry(cluster.into())
            .or_default()
            .insert(broker_name.into());
    }
    pub fn set_backlog(&self, broker_addr: &str, backlog: u64) {
        self.inner
            .lock()
            .unwrap()
            .backlog
            .insert(broker_addr.into(), backlog);
    }
    /// Name servers whose address starts with `prefix` answer with an empty view (e.g. restarted
    /// and not yet re-registered to).
    pub fn empty_on(&self, prefix: &str) {
        self.inner.lock().unwrap().empty_on.push(prefix.into());
    }
    pub fn set_unreachable(&self, unreachable: bool) {
        self.inner.lock().unwrap().unreachable = unreachable;
    }
    /// `(namesrv, brokerName)` of every add-write-perm so far.
    pub fn restored(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().restored.clone()
    }
    /// `(namesrv, brokerName)` of every wipe so far.
    pub fn wiped(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().wiped.clone()
    }
}

#[async_trait]
impl RocketMqAdmin for FakeAdmin {
    async fn cluster_info(&self, namesrv: &str) -> Result<ClusterView, AdminError> {
        let s = self.inner.lock().unwrap();
        if s.unreachable {
            return Err(AdminError::Unreachable {
                addr: namesrv.into(),
                message: "fake: unreachable".into(),
            });
        }
        if s.empty_on.iter().any(|p| namesrv.starts_with(p.as_str())) {
            return Ok(ClusterView::default());
        }
        Ok(s.view.clone())
    }
    async fn wipe_write_perm(&self, namesrv: &str, broker_name: &str) -> Result<u32, AdminError> {
        let mut s = self.inner.lock().unwrap();
        if s.unreachable {
            return Err(AdminError::Unreachable {
                addr: namesrv.into(),
                message: "fake: unreachable".into(),
            });
        }
        s.wiped.push((namesrv.into(), broker_name.into()));
        Ok(1)
    }
    async fn add_write_perm(&self, namesrv: &str, broker_name: &str) -> Result<u32, AdminError> {
        let mut s = self.inner.lock().unwrap();
        if s.unreachable {
            return Err(AdminError::Unreachable {
                addr: namesrv.into(),
                message: "fake: unreachable".into(),
            });
        }
        s.restored.push((namesrv.into(), broker_name.into()));
        Ok(1)
    }
    async fn broker_backlog(&self, broker_addr: &str) -> Result<u64, AdminError> {
        let s = self.inner.lock().unwrap();
        s.backlog
            .get(broker_addr)
            .copied()
            .ok_or_else(|| AdminError::Unreachable {
                addr: broker_addr.into(),
                message: "fake: no backlog known".into(),
            })
    }
}
