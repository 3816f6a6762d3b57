//! Pure builders: `RocketMQCluster` in, Kubernetes objects out. No I/O here, so everything is
//! snapshot-tested and reused by `rocketmq-operator render`.
//!
//! `namesrv` and `broker` build each component's objects from the blocks in `common`;
//! this module holds the shared names and constants, and assembles everything in apply order.

mod broker;
mod common;
mod namesrv;

use k8s_openapi::api::{
    apps::v1::StatefulSet,
    core::v1::{ConfigMap, Service},
    policy::v1::PodDisruptionBudget,
};
use kube::{Resource, ResourceExt};
use serde::Serialize;

use crate::crd::RocketMQCluster;

pub use broker::{
    BROKER_ENTRYPOINT, broker_conf, broker_configmap, broker_headless_service, broker_pdb,
    broker_statefulset,
};
pub use common::{hash, owner_ref, selector_labels};
pub use namesrv::{
    namesrv_conf, namesrv_configmap, namesrv_headless_service, namesrv_pdb, namesrv_service,
    namesrv_statefulset,
};

pub const NAMESRV_PORT: i32 = 9876;
pub const BROKER_PORT: i32 = 10911;
pub const BROKER_FAST_PORT: i32 = BROKER_PORT - 2;
pub const BROKER_HA_PORT: i32 = BROKER_PORT + 1;
pub const STORE_DIR: &str = "/home/rocketmq/store";
pub const CONFIG_DIR: &str = "/etc/rocketmq";
pub const RUNTIME_DIR: &str = "/home/rocketmq/runtime";

pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_GROUP: &str = "rocketmq.rs/broker-group";
pub const CONFIG_HASH_ANNOTATION: &str = "rocketmq.rs/config-hash";
pub const MANAGER: &str = "rocketmq-operator";

/// Every object the operator manages for one cluster, in apply order.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // a dozen objects per reconcile; boxing buys nothing
pub enum Managed {
    ConfigMap(ConfigMap),
    Service(Service),
    Pdb(PodDisruptionBudget),
    StatefulSet(Box<StatefulSet>),
}

impl Managed {
    pub fn kind(&self) -> &'static str {
        match self {
            Managed::ConfigMap(_) => "ConfigMap",
            Managed::Service(_) => "Service",
            Managed::Pdb(_) => "PodDisruptionBudget",
            Managed::StatefulSet(_) => "StatefulSet",
        }
    }
    pub fn name(&self) -> String {
        match self {
            Managed::ConfigMap(o) => o.name_any(),
            Managed::Service(o) => o.name_any(),
            Managed::Pdb(o) => o.name_any(),
            Managed::StatefulSet(o) => o.name_any(),
        }
    }
    pub fn object_ref(&self) -> k8s_openapi::api::core::v1::ObjectReference {
        match self {
            Managed::ConfigMap(o) => o.object_ref(&()),
            Managed::Service(o) => o.object_ref(&()),
            Managed::Pdb(o) => o.object_ref(&()),
            Managed::StatefulSet(o) => o.object_ref(&()),
        }
    }
    pub fn to_yaml(&self) -> String {
        match self {
            Managed::ConfigMap(o) => to_yaml(o),
            Managed::Service(o) => to_yaml(o),
            Managed::Pdb(o) => to_yaml(o),
            Managed::StatefulSet(o) => to_yaml(o.as_ref()),
        }
    }
}

fn to_yaml<T: Serialize>(o: &T) -> String {
    serde_yaml::to_string(o).expect("k8s objects serialize to YAML")
}

/// Names derived from the cluster.
pub struct Names {
    pub cluster: String,
    pub namespace: String,
    pub domain: String,
}

impl Names {
    pub fn new(rmq: &RocketMQCluster) -> Self {
        Self {
            cluster: rmq.name_any(),
            namespace: rmq.namespace().unwrap_or_else(|| "default".into()),
            domain: rmq.spec.cluster_domain.clone(),
        }
    }
    pub fn namesrv(&self) -> String {
        format!("{}-namesrv", self.cluster)
    }
    pub fn namesrv_headless(&self) -> String {
        format!("{}-namesrv-headless", self.cluster)
    }
    pub fn group(&self, g: i32) -> String {
        format!("{}-broker-{g}", self.cluster)
    }
    /// `namesrvAddr`: stable DNS names of every name server pod.
    pub fn namesrv_addr(&self, replicas: i32) -> String {
        (0..replicas)
            .map(|i| {
                format!(
                    "{}-{i}.{}.{}.svc.{}:{NAMESRV_PORT}",
                    self.namesrv(),
                    self.namesrv_headless(),
                    self.namespace,
                    self.domain
                )
            })
            .collect::<Vec<_>>()
            .join(";")
    }
    /// Remoting address of pod `ordinal` of group `g`.
    pub fn broker_addr(&self, g: i32, ordinal: i32) -> String {
        let group = self.group(g);
        format!(
            "{group}-{ordinal}.{group}.{}.svc.{}:{BROKER_PORT}",
            self.namespace, self.domain
        )
    }
}

/// All objects for the cluster, in apply order (config and services before StatefulSets).
pub fn desired(rmq: &RocketMQCluster) -> Vec<Managed> {
    let mut out = vec![
        Managed::ConfigMap(namesrv_configmap(rmq)),
        Managed::Service(namesrv_headless_service(rmq)),
        Managed::Service(namesrv_service(rmq)),
        Managed::Pdb(namesrv_pdb(rmq)),
        Managed::StatefulSet(Box::new(namesrv_statefulset(rmq))),
    ];
    for g in 0..rmq.spec.broker.groups {
        out.push(Managed::ConfigMap(broker_configmap(rmq, g)));
        out.push(Managed::Service(broker_headless_service(rmq, g)));
        out.push(Managed::Pdb(broker_pdb(rmq, g)));
        out.push(Managed::StatefulSet(Box::new(broker_statefulset(rmq, g))));
    }
    out
}

/// YAML stream of every object (`rocketmq-operator render`).
pub fn render(rmq: &RocketMQCluster) -> String {
    desired(rmq)
        .iter()
        .map(|m| format!("---\n{}", m.to_yaml()))
        .collect()
}
