//! Broker group objects: entrypoint, config, headless service, disruption budget, StatefulSet.

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps::v1::StatefulSet,
    core::v1::{ConfigMap, Container, Service},
    policy::v1::PodDisruptionBudget,
};

use super::common::{
    PodParts, config_volume, container_ports, empty_dir, env, field_env, hash, headless, labels,
    meta, mount, pdb, properties, pull, resources, statefulset, tcp_probe,
};
use super::{
    BROKER_FAST_PORT, BROKER_HA_PORT, BROKER_PORT, CONFIG_DIR, Names, RUNTIME_DIR, STORE_DIR,
};
use crate::crd::RocketMQCluster;

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
