//! Pure builders: `RocketMQCluster` in, Kubernetes objects out. No I/O here, so everything is
//! snapshot-tested and reused by `rocketmq-operator render`.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        apps::v1::{StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec},
        core::v1::{
            Affinity, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort,
            EmptyDirVolumeSource, EnvVar, EnvVarSource, ObjectFieldSelector, PersistentVolumeClaim,
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
use kube::{Resource, ResourceExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crd::{PullPolicy, ReclaimPolicy, RocketMQCluster, StorageSpec};

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

/// Shell wrapper run as the broker entrypoint: the pod ordinal decides brokerId and brokerRole,
/// the pod's stable DNS name becomes brokerIP1 (clients) and brokerIP2 (HA, slaves to master).
pub const BROKER_ENTRYPOINT: &str = r#"set -eu
ORDINAL="${POD_NAME##*-}"
CONF="${ROCKETMQ_RUNTIME_DIR:-/home/rocketmq/runtime}/broker.conf"
cp "${ROCKETMQ_CONF_DIR:-/etc/rocketmq}/broker.conf" "$CONF"
if [ "$ORDINAL" = "0" ]; then ROLE="$MASTER_ROLE"; else ROLE="SLAVE"; fi
{
  echo "brokerId=$ORDINAL"
  echo "brokerRole=$ROLE"
  echo "brokerIP1=$POD_NAME.$GROUP_SERVICE.$POD_NAMESPACE.svc.$CLUSTER_DOMAIN"
  echo "brokerIP2=$POD_NAME.$GROUP_SERVICE.$POD_NAMESPACE.svc.$CLUSTER_DOMAIN"
} >> "$CONF"
exec mqbroker -n "$NAMESRV_ADDR" -c "$CONF"
"#;

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

fn labels(cluster: &str, component: &str, group: Option<i32>) -> BTreeMap<String, String> {
    let mut l = selector_labels(cluster, component, group);
    l.insert(LABEL_MANAGED_BY.to_string(), MANAGER.to_string());
    l
}

fn meta(rmq: &RocketMQCluster, name: String, labels: BTreeMap<String, String>) -> ObjectMeta {
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
fn properties(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// `namesrv.conf` content.
pub fn namesrv_conf(rmq: &RocketMQCluster) -> String {
    // persisted state goes to the store volume, so the root filesystem can stay read-only
    let mut m = BTreeMap::from([
        ("listenPort".to_string(), NAMESRV_PORT.to_string()),
        (
            "kvConfigPath".to_string(),
            format!("{STORE_DIR}/namesrv/kvConfig.json"),
        ),
        (
            "configStorePath".to_string(),
            format!("{STORE_DIR}/namesrv/namesrv.properties"),
        ),
    ]);
    for (k, v) in &rmq.spec.name_server.config {
        m.insert(k.clone(), v.clone());
    }
    properties(&m)
}

/// `broker.conf` content for group `g`; brokerId, brokerRole of slaves and brokerIP1 are appended
/// per pod by [`BROKER_ENTRYPOINT`].
pub fn broker_conf(rmq: &RocketMQCluster, g: i32) -> String {
    let n = Names::new(rmq);
    let b = &rmq.spec.broker;
    let mut m: BTreeMap<String, String> = BTreeMap::from([
        ("autoCreateTopicEnable".into(), "true".into()),
        ("deleteWhen".into(), "04".into()),
        ("fileReservedTime".into(), "48".into()),
    ]);
    for (k, v) in &b.config {
        m.insert(k.clone(), v.clone());
    }
    let owned = [
        ("brokerClusterName", rmq.cluster_name()),
        ("brokerName", n.group(g)),
        ("flushDiskType", b.flush_disk_type.as_str().to_string()),
        ("listenPort", BROKER_PORT.to_string()),
        ("haListenPort", BROKER_HA_PORT.to_string()),
        ("namesrvAddr", n.namesrv_addr(rmq.spec.name_server.replicas)),
        ("storePathRootDir", STORE_DIR.to_string()),
        ("storePathCommitLog", format!("{STORE_DIR}/commitlog")),
    ];
    for (k, v) in owned {
        m.insert(k.to_string(), v);
    }
    format!(
        "# rendered by rocketmq-operator for {}/{}; brokerId, brokerRole, brokerIP1/2 are added per pod\n{}",
        n.namespace,
        n.group(g),
        properties(&m)
    )
}

pub fn namesrv_configmap(rmq: &RocketMQCluster) -> ConfigMap {
    let n = Names::new(rmq);
    ConfigMap {
        metadata: meta(rmq, n.namesrv(), labels(&n.cluster, "namesrv", None)),
        data: Some(BTreeMap::from([(
            "namesrv.conf".to_string(),
            namesrv_conf(rmq),
        )])),
        ..Default::default()
    }
}

pub fn namesrv_headless_service(rmq: &RocketMQCluster) -> Service {
    let n = Names::new(rmq);
    headless(
        rmq,
        n.namesrv_headless(),
        "namesrv",
        None,
        &[("remoting", NAMESRV_PORT)],
    )
}

pub fn namesrv_service(rmq: &RocketMQCluster) -> Service {
    let n = Names::new(rmq);
    Service {
        metadata: meta(rmq, n.namesrv(), labels(&n.cluster, "namesrv", None)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(&n.cluster, "namesrv", None)),
            ports: Some(ports(&[("remoting", NAMESRV_PORT)])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn headless(
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

fn ports(p: &[(&str, i32)]) -> Vec<ServicePort> {
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

fn pdb(
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

pub fn namesrv_pdb(rmq: &RocketMQCluster) -> PodDisruptionBudget {
    pdb(rmq, Names::new(rmq).namesrv(), "namesrv", None)
}

fn tcp_probe(port: &str, initial: i32, period: i32, failures: i32) -> Probe {
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

fn field_env(name: &str, path: &str) -> EnvVar {
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

fn env(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str) -> VolumeMount {
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

struct PodParts {
    component: &'static str,
    group: Option<i32>,
    config_hash: String,
    container: Container,
    volumes: Vec<Volume>,
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

fn config_volume(name: &str, configmap: String) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: configmap,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

fn container_ports(p: &[(&str, i32)]) -> Vec<ContainerPort> {
    p.iter()
        .map(|(name, port)| ContainerPort {
            name: Some(name.to_string()),
            container_port: *port,
            protocol: Some("TCP".into()),
            ..Default::default()
        })
        .collect()
}

fn statefulset(
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

fn pull(p: Option<PullPolicy>) -> Option<String> {
    p.map(|p| p.as_str().to_string())
}

fn resources(r: Option<&ResourceRequirements>) -> Option<ResourceRequirements> {
    r.cloned()
}

pub fn namesrv_statefulset(rmq: &RocketMQCluster) -> StatefulSet {
    let n = Names::new(rmq);
    let ns = &rmq.spec.name_server;
    let mut volumes = vec![config_volume("config", n.namesrv())];
    if ns.storage.is_none() {
        volumes.push(empty_dir("store"));
    }
    let container = Container {
        name: "namesrv".into(),
        image: Some(ns.image.clone()),
        image_pull_policy: pull(ns.image_pull_policy),
        command: Some(vec![
            "mqnamesrv".into(),
            "-c".into(),
            format!("{CONFIG_DIR}/namesrv.conf"),
        ]),
        ports: Some(container_ports(&[("remoting", NAMESRV_PORT)])),
        readiness_probe: Some(tcp_probe("remoting", 5, 10, 3)),
        liveness_probe: Some(tcp_probe("remoting", 30, 15, 4)),
        resources: resources(ns.resources.as_ref()),
        volume_mounts: Some(vec![mount("config", CONFIG_DIR), mount("store", STORE_DIR)]),
        ..Default::default()
    };
    statefulset(
        rmq,
        n.namesrv(),
        n.namesrv_headless(),
        ns.replicas,
        ns.storage.as_ref(),
        PodParts {
            component: "namesrv",
            group: None,
            config_hash: hash(&namesrv_conf(rmq)),
            container,
            volumes,
        },
    )
}

pub fn broker_configmap(rmq: &RocketMQCluster, g: i32) -> ConfigMap {
    let n = Names::new(rmq);
    ConfigMap {
        metadata: meta(rmq, n.group(g), labels(&n.cluster, "broker", Some(g))),
        data: Some(BTreeMap::from([(
            "broker.conf".to_string(),
            broker_conf(rmq, g),
        )])),
        ..Default::default()
    }
}

pub fn broker_headless_service(rmq: &RocketMQCluster, g: i32) -> Service {
    let n = Names::new(rmq);
    headless(
        rmq,
        n.group(g),
        "broker",
        Some(g),
        &[
            ("remoting", BROKER_PORT),
            ("fast", BROKER_FAST_PORT),
            ("ha", BROKER_HA_PORT),
        ],
    )
}

pub fn broker_pdb(rmq: &RocketMQCluster, g: i32) -> PodDisruptionBudget {
    pdb(rmq, Names::new(rmq).group(g), "broker", Some(g))
}

pub fn broker_statefulset(rmq: &RocketMQCluster, g: i32) -> StatefulSet {
    let n = Names::new(rmq);
    let b = &rmq.spec.broker;
    let mut volumes = vec![config_volume("config", n.group(g)), empty_dir("runtime")];
    if b.storage.is_none() {
        volumes.push(empty_dir("store"));
    }
    let container = Container {
        name: "broker".into(),
        image: Some(b.image.clone()),
        image_pull_policy: pull(b.image_pull_policy),
        command: Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            BROKER_ENTRYPOINT.into(),
        ]),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
            env("MASTER_ROLE", b.replication.as_str().into()),
            env("GROUP_SERVICE", n.group(g)),
            env("CLUSTER_DOMAIN", n.domain.clone()),
            env(
                "NAMESRV_ADDR",
                n.namesrv_addr(rmq.spec.name_server.replicas),
            ),
        ]),
        ports: Some(container_ports(&[
            ("remoting", BROKER_PORT),
            ("fast", BROKER_FAST_PORT),
            ("ha", BROKER_HA_PORT),
        ])),
        readiness_probe: Some(tcp_probe("remoting", 10, 10, 3)),
        liveness_probe: Some(tcp_probe("remoting", 60, 15, 4)),
        resources: resources(b.resources.as_ref()),
        volume_mounts: Some(vec![
            mount("config", CONFIG_DIR),
            mount("runtime", RUNTIME_DIR),
            mount("store", STORE_DIR),
        ]),
        ..Default::default()
    };
    statefulset(
        rmq,
        n.group(g),
        n.group(g),
        b.replicas_per_group,
        b.storage.as_ref(),
        PodParts {
            component: "broker",
            group: Some(g),
            config_hash: hash(&broker_conf(rmq, g)),
            container,
            volumes,
        },
    )
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
