//! Name server objects: config, headless and client services, disruption budget, StatefulSet.

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps::v1::StatefulSet,
    core::v1::{ConfigMap, Container, Service, ServiceSpec},
    policy::v1::PodDisruptionBudget,
};

use super::common::{
    PodParts, config_volume, container_ports, empty_dir, hash, headless, labels, meta, mount, pdb,
    ports, properties, pull, resources, selector_labels, statefulset, tcp_probe,
};
use super::{CONFIG_DIR, NAMESRV_PORT, Names, STORE_DIR};
use crate::crd::RocketMQCluster;

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

pub fn namesrv_pdb(rmq: &RocketMQCluster) -> PodDisruptionBudget {
    pdb(rmq, Names::new(rmq).namesrv(), "namesrv", None)
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
