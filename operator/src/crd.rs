//! The `RocketMQCluster` custom resource (group `rocketmq.rs`, version `v1alpha1`).
//!
//! Everything a user can set lives in [`RocketMQClusterSpec`]; the operator reports back in
//! [`RocketMQClusterStatus`]. Defaults are expressed through serde so that they end up in the
//! generated OpenAPI schema, and the apiserver applies them on admission.

// kube's printcolumn(...) attributes repeat keys such as `type_` by design
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, PodSecurityContext, ResourceRequirements, SecurityContext,
    Toleration, TopologySpreadConstraint,
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group owned by this project.
pub const GROUP: &str = "rocketmq.rs";
/// Finalizer put on every `RocketMQCluster`.
pub const FINALIZER: &str = "rocketmq.rs/cleanup";
/// Annotation that lets a scale-in proceed without waiting for the drain.
pub const FORCE_SCALE_IN_ANNOTATION: &str = "rocketmq.rs/force-scale-in";
/// Annotation (`"true"`) that stops the operator from changing anything for this cluster.
pub const PAUSE_ANNOTATION: &str = "rocketmq.rs/pause-reconciliation";

/// Keys of `broker.conf` that the operator owns; users cannot override them in `broker.config`.
pub const RESERVED_BROKER_KEYS: &[&str] = &[
    "brokerClusterName",
    "brokerName",
    "brokerId",
    "brokerRole",
    "brokerIP1",
    "brokerIP2",
    "namesrvAddr",
    "listenPort",
    "haListenPort",
    "flushDiskType",
    "storePathRootDir",
    "storePathCommitLog",
];

/// A RocketMQ cluster: a set of name servers and one or more broker groups (master + slaves).
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rocketmq.rs",
    version = "v1alpha1",
    kind = "RocketMQCluster",
    plural = "rocketmqclusters",
    shortname = "rmq",
    namespaced,
    status = "RocketMQClusterStatus",
    derive = "Default",
    printcolumn(
        name = "Groups",
        type_ = "string",
        json_path = ".status.readyGroups",
        description = "ready broker groups / desired"
    ),
    printcolumn(
        name = "NameServer",
        type_ = "string",
        json_path = ".status.nameServerAddress",
        description = "name server address for clients",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct RocketMQClusterSpec {
    /// `brokerClusterName` of every broker. Defaults to the resource name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterName is immutable"))]
    pub cluster_name: Option<String>,

    /// DNS domain of the Kubernetes cluster, used to build stable pod DNS names.
    #[serde(default = "default_cluster_domain")]
    pub cluster_domain: String,

    /// Name servers.
    #[serde(default)]
    pub name_server: NameServerSpec,

    /// Broker groups.
    #[serde(default)]
    pub broker: BrokerSpec,

    /// Pod template settings shared by name server and broker pods.
    #[serde(default)]
    pub pod: PodSettings,
}

impl Default for RocketMQClusterSpec {
    fn default() -> Self {
        Self {
            cluster_name: None,
            cluster_domain: default_cluster_domain(),
            name_server: NameServerSpec::default(),
            broker: BrokerSpec::default(),
            pod: PodSettings::default(),
        }
    }
}

/// Name server settings.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.storage) == has(oldSelf.storage)").message("nameServer.storage cannot be added or removed after creation"))]
pub struct NameServerSpec {
    /// Number of name servers.
    #[serde(default = "default_namesrv_replicas")]
    #[schemars(range(min = 1, max = 9))]
    pub replicas: i32,
    /// Name server image.
    #[serde(default = "default_namesrv_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// Image pull policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
    /// Compute resources of the name server container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Persistent storage for the name server (kv config); without it an emptyDir is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// Extra name server properties (`namesrv.conf`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

impl Default for NameServerSpec {
    fn default() -> Self {
        Self {
            replicas: default_namesrv_replicas(),
            image: default_namesrv_image(),
            image_pull_policy: None,
            resources: None,
            storage: None,
            config: BTreeMap::new(),
        }
    }
}

/// Broker settings, shared by all broker groups.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.replication != 'SYNC_MASTER' || self.replicasPerGroup >= 2").message("SYNC_MASTER needs at least one slave: set replicasPerGroup >= 2"))]
#[x_kube(validation = Rule::new("has(self.storage) == has(oldSelf.storage)").message("broker.storage cannot be added or removed after creation"))]
#[x_kube(validation = Rule::new("!has(self.config) || !['brokerClusterName','brokerName','brokerId','brokerRole','brokerIP1','brokerIP2','namesrvAddr','listenPort','haListenPort','flushDiskType','storePathRootDir','storePathCommitLog'].exists(k, k in self.config)").message("broker.config must not set keys owned by the operator"))]
pub struct BrokerSpec {
    /// Number of broker groups (each group has its own brokerName).
    #[serde(default = "default_groups")]
    #[schemars(range(min = 1, max = 64))]
    pub groups: i32,
    /// Pods per group: 1 = master only, n = master + (n-1) slaves.
    #[serde(default = "default_replicas_per_group")]
    #[schemars(range(min = 1, max = 8))]
    pub replicas_per_group: i32,
    /// Role of the master: replicate synchronously or asynchronously to the slaves.
    #[serde(default)]
    pub replication: Replication,
    /// Flush policy of the commit log.
    #[serde(default)]
    pub flush_disk_type: FlushDiskType,
    /// Broker image.
    #[serde(default = "default_broker_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    /// Image pull policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
    /// Compute resources of the broker container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Persistent storage for the message store; without it an emptyDir is used (test only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// Extra `broker.conf` properties (e.g. `deleteWhen`, `fileReservedTime`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// How a scale-in of broker groups is drained.
    #[serde(default)]
    pub scale_in: ScaleInSpec,
}

impl Default for BrokerSpec {
    fn default() -> Self {
        Self {
            groups: default_groups(),
            replicas_per_group: default_replicas_per_group(),
            replication: Replication::default(),
            flush_disk_type: FlushDiskType::default(),
            image: default_broker_image(),
            image_pull_policy: None,
            resources: None,
            storage: None,
            config: BTreeMap::new(),
            scale_in: ScaleInSpec::default(),
        }
    }
}

/// Replication mode of a group's master.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum Replication {
    #[serde(rename = "ASYNC_MASTER")]
    #[default]
    AsyncMaster,
    #[serde(rename = "SYNC_MASTER")]
    SyncMaster,
}

impl Replication {
    pub fn as_str(&self) -> &'static str {
        match self {
            Replication::AsyncMaster => "ASYNC_MASTER",
            Replication::SyncMaster => "SYNC_MASTER",
        }
    }
}

/// Commit log flush policy.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum FlushDiskType {
    #[serde(rename = "ASYNC_FLUSH")]
    #[default]
    AsyncFlush,
    #[serde(rename = "SYNC_FLUSH")]
    SyncFlush,
}

impl FlushDiskType {
    pub fn as_str(&self) -> &'static str {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
    }
}

/// Container image pull policy.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// Persistent storage of a component. Immutable once set (StatefulSet claim templates are immutable).
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self == oldSelf").message("storage is immutable; create a new cluster to change it"))]
pub struct StorageSpec {
    /// Requested size of each volume, e.g. `50Gi`.
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"))]
    pub size: String,
    /// Storage class; the cluster default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// What happens to the volumes when the cluster (or a broker group on scale-in) is deleted.
    #[serde(default)]
    pub reclaim_policy: ReclaimPolicy,
}

/// Keep or delete volumes on deletion.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum ReclaimPolicy {
    #[default]
    Retain,
    Delete,
}

/// Scale-in drain settings.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleInSpec {
    /// How long to wait for the leaving groups' queues to be consumed before removing them anyway.
    #[serde(default = "default_drain_timeout")]
    #[schemars(range(min = 0))]
    pub drain_timeout_seconds: i64,
}

impl Default for ScaleInSpec {
    fn default() -> Self {
        Self {
            drain_timeout_seconds: default_drain_timeout(),
        }
    }
}

/// Pod settings shared by name server and broker pods.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSettings {
    /// Extra pod labels (operator labels win on conflict).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra pod annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Affinity; when unset the operator adds preferred anti-affinity between pods of a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Pod-level security context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    /// Container-level security context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_security_context: Option<SecurityContext>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

fn default_cluster_domain() -> String {
    "cluster.local".into()
}
fn default_namesrv_replicas() -> i32 {
    2
}
fn default_namesrv_image() -> String {
    format!("rocketmq-rs/namesrv:{}", env!("CARGO_PKG_VERSION"))
}
fn default_broker_image() -> String {
    format!("rocketmq-rs/broker:{}", env!("CARGO_PKG_VERSION"))
}
fn default_groups() -> i32 {
    1
}
fn default_replicas_per_group() -> i32 {
    1
}
fn default_drain_timeout() -> i64 {
    600
}

/// Observed state, written by the operator.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RocketMQClusterStatus {
    /// `metadata.generation` the status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Summary phase: Creating, Ready, Progressing, Draining, Degraded, Deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// `namesrvAddr` value for clients (`host:9876;host:9876`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_server_address: Option<String>,
    /// Ready name servers.
    #[serde(default)]
    pub name_servers_ready: i32,
    /// `ready/desired` broker groups (a group is ready when its pods are ready and its master is registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_groups: Option<String>,
    /// Per broker group details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupStatus>,
    /// Standard conditions: Ready, Progressing, Degraded, ReconcileSuccess.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One broker group as seen by Kubernetes and by the name server.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    pub broker_name: String,
    /// Pods of the group with role and readiness.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodStatus>,
    /// Broker ids the name server reports for this brokerName (0 = master).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_broker_ids: Vec<i64>,
    /// True when a master (brokerId 0) is registered with the name server.
    #[serde(default)]
    pub master_registered: bool,
    /// True when all pods are ready and the master is registered.
    #[serde(default)]
    pub ready: bool,
    /// Set while the group leaves the cluster (scale-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draining: Option<DrainStatus>,
}

/// Pod of a broker group.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub name: String,
    /// MASTER or SLAVE (from the ordinal).
    pub role: String,
    pub ready: bool,
}

/// Drain progress of a leaving group.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrainStatus {
    /// RFC 3339 time the write permission was wiped.
    pub started_at: String,
    /// Messages not yet consumed on the group's queues at the last check.
    pub backlog: Option<u64>,
}

/// A status condition (same shape as `metav1.Condition`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl RocketMQClusterSpec {
    /// The creation-time rules of the CRD (schema ranges and CEL) checked in Rust, so `render` and
    /// the reconciler refuse a spec the apiserver would have refused (e.g. when the CRD was installed
    /// without its validation, or for `render -f` on a local file). Transition rules (immutability)
    /// need the old object and are left to the apiserver.
    pub fn validate(&self) -> Result<(), String> {
        let b = &self.broker;
        let mut errs = vec![];
        if !(1..=64).contains(&b.groups) {
            errs.push(format!("broker.groups must be 1..64, got {}", b.groups));
        }
        if !(1..=8).contains(&b.replicas_per_group) {
            errs.push(format!(
                "broker.replicasPerGroup must be 1..8, got {}",
                b.replicas_per_group
            ));
        }
        if !(1..=9).contains(&self.name_server.replicas) {
            errs.push(format!(
                "nameServer.replicas must be 1..9, got {}",
                self.name_server.replicas
            ));
        }
        if b.replication == Replication::SyncMaster && b.replicas_per_group < 2 {
            errs.push("SYNC_MASTER needs at least one slave: set replicasPerGroup >= 2".into());
        }
        let owned: Vec<&str> = RESERVED_BROKER_KEYS
            .iter()
            .copied()
            .filter(|k| b.config.contains_key(*k))
            .collect();
        if !owned.is_empty() {
            errs.push(format!(
                "broker.config must not set keys owned by the operator: {}",
                owned.join(", ")
            ));
        }
        if b.scale_in.drain_timeout_seconds < 0 {
            errs.push("broker.scaleIn.drainTimeoutSeconds must be >= 0".into());
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

impl RocketMQCluster {
    /// `brokerClusterName`.
    pub fn cluster_name(&self) -> String {
        self.spec
            .cluster_name
            .clone()
            .unwrap_or_else(|| self.metadata.name.clone().unwrap_or_default())
    }
}
