//! Shared building blocks of the namesrv and broker objects: labels and metadata, services,
//! disruption budgets, containers, pod templates and StatefulSets.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        apps::v1::{StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec},
        core::v1::{
            Affinity, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
            EnvVar, EnvVarSource, ObjectFieldSelector, PersistentVolumeClaim,
            PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec,
            Probe, ResourceRequirements, Service, ServicePort, ServiceSpec, TCPSocketAction,
            Volume, VolumeMount, VolumeResourceRequirements, WeightedPodAffinityTerm,
        },
        policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec},
    },
    apimachinery::pkg::{
        api::resource::Quantity,
        apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference},
        util::intstr::IntOrString,
    },
};
use kube::Resource;
use sha2::{Digest, Sha256};

use super::{
    CONFIG_HASH_ANNOTATION, LABEL_COMPONENT, LABEL_GROUP, LABEL_INSTANCE, LABEL_MANAGED_BY,
    LABEL_NAME, MANAGER, Names,
};
use crate::crd::{PullPolicy, ReclaimPolicy, RocketMQCluster, StorageSpec};

pub fn selector_labels(
    cluster: &str,
    component: &str,
    group: Option<i32>,
) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        (LABEL_NAME.to_string(), "rocketmq".to_string()),
        (LABEL_INSTANCE.to_string(), cluster.to_string()),
        (LABEL_COMPONENT.to_string(), component.to_string()),
    ]);
    if let Some(g) = group {
        l.insert(LABEL_GROUP.to_string(), g.to_string());
    }
    l
}

pub(super) fn labels(
    cluster: &str,
    component: &str,
    group: Option<i32>,
) -> BTreeMap<String, String> {
    let mut l = selector_labels(cluster, component, group);
    l.insert(LABEL_MANAGED_BY.to_string(), MANAGER.to_string());
    l
}

pub(super) fn meta(
    rmq: &RocketMQCluster,
    name: String,
    labels: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(Names::new(rmq).namespace),
        labels: Some(labels),
        owner_references: owner_ref(rmq).map(|o| vec![o]),
        ..Default::default()
    }
}

/// Controller owner reference; `None` for a CR without uid (e.g. `render` from a file).
pub fn owner_ref(rmq: &RocketMQCluster) -> Option<OwnerReference> {
    rmq.controller_owner_ref(&())
}

/// Hex SHA-256 of a string.
pub fn hash(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Renders `key=value` lines sorted by key.
pub(super) fn properties(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

pub(super) fn headless(
    rmq: &RocketMQCluster,
    name: String,
    component: &str,
    group: Option<i32>,
    p: &[(&str, i32)],
) -> Service {
    let n = Names::new(rmq);
    Service {
        metadata: meta(rmq, name, labels(&n.cluster, component, group)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            // brokers must resolve name servers (and slaves their master) before they are ready
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels(&n.cluster, component, group)),
            ports: Some(ports(p)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn ports(p: &[(&str, i32)]) -> Vec<ServicePort> {
    p.iter()
        .map(|(name, port)| ServicePort {
            name: Some(name.to_string()),
            port: *port,
            target_port: Some(IntOrString::String(name.to_string())),
            protocol: Some("TCP".into()),
            ..Default::default()
        })
        .collect()
}

pub(super) fn pdb(
    rmq: &RocketMQCluster,
    name: String,
    component: &str,
    group: Option<i32>,
) -> PodDisruptionBudget {
    let n = Names::new(rmq);
    PodDisruptionBudget {
        metadata: meta(rmq, name, labels(&n.cluster, component, group)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(&n.cluster, component, group)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn tcp_probe(port: &str, initial: i32, period: i32, failures: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Default::default()
    }
}

pub(super) fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn env(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value),
        ..Default::default()
    }
}

pub(super) fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        ..Default::default()
    }
}

/// Claim template; the labels let the operator find the claims for the storage policy.
fn claim(storage: &StorageSpec, labels: BTreeMap<String, String>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("store".into()),
            labels: Some(labels),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(storage.size.clone()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn retention(storage: &StorageSpec) -> StatefulSetPersistentVolumeClaimRetentionPolicy {
    let when_deleted = match storage.reclaim_policy {
        ReclaimPolicy::Retain => "Retain",
        ReclaimPolicy::Delete => "Delete",
    };
    StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: Some(when_deleted.into()),
        // removing pods inside a group never deletes data; group removal is handled by the operator
        when_scaled: Some("Retain".into()),
    }
}

/// Preferred anti-affinity between pods with `selector`, merged into the user's affinity unless
/// the user set pod anti-affinity themselves.
fn affinity(user: Option<&Affinity>, selector: BTreeMap<String, String>) -> Affinity {
    let mut a = user.cloned().unwrap_or_default();
    if a.pod_anti_affinity.is_none() {
        a.pod_anti_affinity = Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        topology_key: "kubernetes.io/hostname".into(),
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                },
            ]),
            ..Default::default()
        });
    }
    a
}

pub(super) struct PodParts {
    pub(super) component: &'static str,
    pub(super) group: Option<i32>,
    pub(super) config_hash: String,
    pub(super) container: Container,
    pub(super) volumes: Vec<Volume>,
}

/// Pod template with the shared pod settings applied.
fn pod_template(rmq: &RocketMQCluster, parts: PodParts) -> PodTemplateSpec {
    let n = Names::new(rmq);
    let p = &rmq.spec.pod;
    let mut pod_labels = p.labels.clone();
    pod_labels.extend(labels(&n.cluster, parts.component, parts.group));
    let mut annotations = p.annotations.clone();
    annotations.insert(CONFIG_HASH_ANNOTATION.into(), parts.config_hash);
    let mut container = parts.container;
    container.security_context = p.container_security_context.clone();
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: Some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![container],
            volumes: Some(parts.volumes),
            affinity: Some(affinity(
                p.affinity.as_ref(),
                selector_labels(&n.cluster, parts.component, parts.group),
            )),
            tolerations: (!p.tolerations.is_empty()).then(|| p.tolerations.clone()),
            node_selector: (!p.node_selector.is_empty()).then(|| p.node_selector.clone()),
            topology_spread_constraints: (!p.topology_spread_constraints.is_empty())
                .then(|| p.topology_spread_constraints.clone()),
            priority_class_name: p.priority_class_name.clone(),
            security_context: p.security_context.clone(),
            image_pull_secrets: (!p.image_pull_secrets.is_empty())
                .then(|| p.image_pull_secrets.clone()),
            service_account_name: p.service_account_name.clone(),
            termination_grace_period_seconds: Some(60),
            ..Default::default()
        }),
    }
}

pub(super) fn config_volume(name: &str, configmap: String) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: configmap,
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

pub(super) fn container_ports(p: &[(&str, i32)]) -> Vec<ContainerPort> {
    p.iter()
        .map(|(name, port)| ContainerPort {
            name: Some(name.to_string()),
            container_port: *port,
            protocol: Some("TCP".into()),
            ..Default::default()
        })
        .collect()
}

pub(super) fn statefulset(
    rmq: &RocketMQCluster,
    name: String,
    service: String,
    replicas: i32,
    storage: Option<&StorageSpec>,
    parts: PodParts,
) -> StatefulSet {
    let n = Names::new(rmq);
    let (component, group) = (parts.component, parts.group);
    StatefulSet {
        metadata: meta(rmq, name, labels(&n.cluster, component, group)),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(service),
            pod_management_policy: Some("Parallel".into()),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&n.cluster, component, group)),
                ..Default::default()
            },
            template: pod_template(rmq, parts),
            volume_claim_templates: storage
                .map(|s| vec![claim(s, selector_labels(&n.cluster, component, group))]),
            persistent_volume_claim_retention_policy: storage.map(retention),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn pull(p: Option<PullPolicy>) -> Option<String> {
    p.map(|p| p.as_str().to_string())
}

pub(super) fn resources(r: Option<&ResourceRequirements>) -> Option<ResourceRequirements> {
    r.cloned()
}
