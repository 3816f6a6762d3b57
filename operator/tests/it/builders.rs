//! Pure builder tests: snapshots of every object for representative CRs, plus semantic checks.

use std::{path::PathBuf, process::Command};

use k8s_openapi::api::apps::v1::StatefulSet;
use rocketmq_operator::{
    crd::RocketMQCluster,
    parse_cluster,
    resources::{self, Managed},
};

fn example(name: &str) -> RocketMQCluster {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/examples")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_cluster(&text).expect("example parses")
}

/// As a live object: uid set, so owner references are rendered.
fn live(mut rmq: RocketMQCluster) -> RocketMQCluster {
    rmq.metadata.uid = Some("00000000-0000-0000-0000-000000000001".into());
    rmq
}

fn snapshot_all(case: &str, rmq: &RocketMQCluster) {
    for m in resources::desired(rmq) {
        let name = format!("{case}__{}__{}", m.kind(), m.name());
        insta::assert_snapshot!(name, m.to_yaml());
    }
}

#[test]
fn snapshots_minimal() {
    snapshot_all("minimal", &live(example("minimal.yaml")));
}

#[test]
fn snapshots_two_groups_sync() {
    snapshot_all("sync", &live(example("two-groups-sync.yaml")));
}

#[test]
fn snapshots_production() {
    snapshot_all("prod", &live(example("production.yaml")));
}

#[test]
fn object_inventory() {
    let rmq = example("two-groups-sync.yaml");
    let names: Vec<String> = resources::desired(&rmq)
        .iter()
        .map(|m| format!("{}/{}", m.kind(), m.name()))
        .collect();
    assert_eq!(
        names,
        [
            "ConfigMap/sync-namesrv",
            "Service/sync-namesrv-headless",
            "Service/sync-namesrv",
            "PodDisruptionBudget/sync-namesrv",
            "StatefulSet/sync-namesrv",
            "ConfigMap/sync-broker-0",
            "Service/sync-broker-0",
            "PodDisruptionBudget/sync-broker-0",
            "StatefulSet/sync-broker-0",
            "ConfigMap/sync-broker-1",
            "Service/sync-broker-1",
            "PodDisruptionBudget/sync-broker-1",
            "StatefulSet/sync-broker-1",
        ]
    );
    // render without uid has no owner references (GitOps review), with uid it has
    assert!(!resources::render(&rmq).contains("ownerReferences"));
    assert!(resources::render(&live(rmq)).contains("ownerReferences"));
}

#[test]
fn broker_conf_is_rendered_with_owned_keys() {
    let rmq = example("production.yaml");
    let conf = resources::broker_conf(&rmq, 2);
    for line in [
        "brokerClusterName=ProdCluster",
        "brokerName=prod-broker-2",
        "flushDiskType=ASYNC_FLUSH",
        "listenPort=10911",
        "haListenPort=10912",
        "storePathRootDir=/home/rocketmq/store",
        "storePathCommitLog=/home/rocketmq/store/commitlog",
        "autoCreateTopicEnable=false",
        "fileReservedTime=72",
        "diskMaxUsedSpaceRatio=80",
        "namesrvAddr=prod-namesrv-0.prod-namesrv-headless.rocketmq.svc.cluster.local:9876;prod-namesrv-1.prod-namesrv-headless.rocketmq.svc.cluster.local:9876;prod-namesrv-2.prod-namesrv-headless.rocketmq.svc.cluster.local:9876",
    ] {
        assert!(conf.lines().any(|l| l == line), "missing {line} in\n{conf}");
    }
    // brokerId / brokerRole / brokerIP1 are per pod, never in the shared file
    assert!(!conf.contains("brokerId="));
    assert!(!conf.contains("brokerRole="));
}

fn sts(rmq: &RocketMQCluster, g: i32) -> StatefulSet {
    resources::broker_statefulset(rmq, g)
}

fn config_hash(s: &StatefulSet) -> String {
    s.spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap()[resources::CONFIG_HASH_ANNOTATION]
        .clone()
}

#[test]
fn config_change_changes_pod_template_hash() {
    let a = example("two-groups-sync.yaml");
    let mut b = a.clone();
    b.spec
        .broker
        .config
        .insert("fileReservedTime".into(), "12".into());
    assert_ne!(config_hash(&sts(&a, 0)), config_hash(&sts(&b, 0)));
    // name server scale-out changes namesrvAddr, so brokers roll to register with the new ones
    let mut c = a.clone();
    c.spec.name_server.replicas = 3;
    assert_ne!(config_hash(&sts(&a, 0)), config_hash(&sts(&c, 0)));
    // unrelated change keeps the hash
    let mut d = a.clone();
    d.spec.broker.image = "rocketmq-rs/broker:9.9.9".into();
    assert_eq!(config_hash(&sts(&a, 0)), config_hash(&sts(&d, 0)));
}

#[test]
fn statefulsets_have_storage_anti_affinity_and_probes() {
    let rmq = example("two-groups-sync.yaml");
    let s = sts(&rmq, 1);
    let spec = s.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(2));
    assert_eq!(spec.service_name.as_deref(), Some("sync-broker-1"));
    let claims = spec.volume_claim_templates.as_ref().unwrap();
    assert_eq!(claims[0].metadata.name.as_deref(), Some("store"));
    assert_eq!(
        spec.persistent_volume_claim_retention_policy
            .as_ref()
            .unwrap()
            .when_deleted
            .as_deref(),
        Some("Delete")
    );
    let pod = spec.template.spec.as_ref().unwrap();
    let anti = pod
        .affinity
        .as_ref()
        .unwrap()
        .pod_anti_affinity
        .as_ref()
        .unwrap();
    let term = &anti
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        term.pod_affinity_term
            .label_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap()["rocketmq.rs/broker-group"],
        "1"
    );
    let c = &pod.containers[0];
    assert!(c.readiness_probe.as_ref().unwrap().tcp_socket.is_some());
    assert!(c.liveness_probe.as_ref().unwrap().tcp_socket.is_some());
    let envs: Vec<_> = c
        .env
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    assert!(envs.contains(&("MASTER_ROLE".into(), Some("SYNC_MASTER".into()))));
}

#[test]
fn minimal_has_no_claims_and_uses_empty_dirs() {
    let rmq = example("minimal.yaml");
    assert_eq!(rmq.spec.broker.groups, 1);
    assert_eq!(rmq.spec.name_server.replicas, 2);
    let s = sts(&rmq, 0);
    let spec = s.spec.as_ref().unwrap();
    assert!(spec.volume_claim_templates.is_none());
    let vols = spec
        .template
        .spec
        .as_ref()
        .unwrap()
        .volumes
        .as_ref()
        .unwrap();
    assert!(
        vols.iter()
            .any(|v| v.name == "store" && v.empty_dir.is_some())
    );
}

/// Runs the real entrypoint script with a stub `mqbroker` and checks what it derives per ordinal.
#[test]
fn entrypoint_derives_id_role_and_ip_from_the_ordinal() {
    let rmq = example("two-groups-sync.yaml");
    let dir = std::env::temp_dir().join(format!("rmq-entry-{}", std::process::id()));
    let (conf, run, bin) = (dir.join("conf"), dir.join("run"), dir.join("bin"));
    for d in [&conf, &run, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(conf.join("broker.conf"), resources::broker_conf(&rmq, 0)).unwrap();
    let stub = bin.join("mqbroker");
    std::fs::write(&stub, "#!/bin/sh\necho \"ARGS $*\"\ncat \"$4\"\n").unwrap();
    Command::new("chmod").arg("+x").arg(&stub).status().unwrap();
    for (pod, id, role) in [
        ("sync-broker-0-0", "0", "SYNC_MASTER"),
        ("sync-broker-0-1", "1", "SLAVE"),
    ] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(resources::BROKER_ENTRYPOINT)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("ROCKETMQ_CONF_DIR", &conf)
            .env("ROCKETMQ_RUNTIME_DIR", &run)
            .env("POD_NAME", pod)
            .env("POD_NAMESPACE", "rocketmq")
            .env("MASTER_ROLE", "SYNC_MASTER")
            .env("GROUP_SERVICE", "sync-broker-0")
            .env("CLUSTER_DOMAIN", "cluster.local")
            .env("NAMESRV_ADDR", "ns-0:9876;ns-1:9876")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("ARGS -n ns-0:9876;ns-1:9876 -c"), "{text}");
        assert!(
            text.lines().any(|l| l == format!("brokerId={id}")),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l == format!("brokerRole={role}")),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l == format!("brokerIP1={pod}.sync-broker-0.rocketmq.svc.cluster.local")),
            "{text}"
        );
        assert!(text.contains("brokerName=sync-broker-0"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn managed_kinds_are_stable() {
    let rmq = example("minimal.yaml");
    let kinds: Vec<&str> = resources::desired(&rmq).iter().map(Managed::kind).collect();
    assert_eq!(kinds.len(), 9);
}
