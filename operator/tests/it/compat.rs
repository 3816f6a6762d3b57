//! The rendered configuration is accepted by the project's own `mqbroker` and `mqnamesrv` config
//! loaders: no unknown keys, and the per-pod values written by the entrypoint land where expected.

use std::{path::PathBuf, process::Command};

use broker::BrokerStartupConfig;
use namesrv::NamesrvConfig;
use remoting::config::parse_properties;
use rocketmq_operator::{parse_cluster, resources};
use store::{BrokerRole, FlushDiskType};

fn example(name: &str) -> rocketmq_operator::crd::RocketMQCluster {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/examples")
        .join(name);
    parse_cluster(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs the real entrypoint with a stub `mqbroker` that prints the final config file.
fn final_broker_conf(conf: &str, pod: &str, master_role: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (etc, run, bin) = (
        dir.path().join("etc"),
        dir.path().join("run"),
        dir.path().join("bin"),
    );
    for d in [&etc, &run, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(etc.join("broker.conf"), conf).unwrap();
    std::fs::write(bin.join("mqbroker"), "#!/bin/sh\ncat \"$4\"\n").unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(bin.join("mqbroker"))
        .status()
        .unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(resources::BROKER_ENTRYPOINT)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("ROCKETMQ_CONF_DIR", &etc)
        .env("ROCKETMQ_RUNTIME_DIR", &run)
        .env("POD_NAME", pod)
        .env("POD_NAMESPACE", "rocketmq")
        .env("MASTER_ROLE", master_role)
        .env("GROUP_SERVICE", "prod-broker-1")
        .env("CLUSTER_DOMAIN", "cluster.local")
        .env("NAMESRV_ADDR", "x:9876")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn broker_conf_is_understood_by_mqbroker() {
    let rmq = example("production.yaml");
    let conf = resources::broker_conf(&rmq, 1);
    for (pod, id, role) in [
        ("prod-broker-1-0", 0, BrokerRole::SyncMaster),
        ("prod-broker-1-2", 2, BrokerRole::Slave),
    ] {
        let text = final_broker_conf(&conf, pod, "SYNC_MASTER");
        let props = parse_properties(&text).unwrap();
        let mut cfg = BrokerStartupConfig::default();
        let unknown = cfg.apply(&props).unwrap();
        assert!(unknown.is_empty(), "mqbroker does not know {unknown:?}");
        assert_eq!(cfg.broker.broker_id, id);
        assert_eq!(cfg.store.broker_role, role);
        assert_eq!(cfg.store.flush_disk_type, FlushDiskType::AsyncFlush);
        assert_eq!(cfg.broker.broker_name, "prod-broker-1");
        assert_eq!(cfg.broker.broker_cluster_name, "ProdCluster");
        assert_eq!(
            cfg.broker.broker_ip1,
            format!("{pod}.prod-broker-1.rocketmq.svc.cluster.local")
        );
        assert_eq!(cfg.broker.broker_ip2, cfg.broker.broker_ip1);
        assert_eq!(cfg.broker.listen_port, 10911);
        assert_eq!(cfg.broker.ha_listen_port, 10912);
        assert_eq!(cfg.broker.namesrv_list().len(), 3);
        assert!(!cfg.broker.auto_create_topic_enable);
        assert_eq!(
            cfg.store.store_path_root_dir,
            PathBuf::from(resources::STORE_DIR)
        );
    }
    // SYNC_FLUSH from the sync example
    let sync = example("two-groups-sync.yaml");
    let props = parse_properties(&resources::broker_conf(&sync, 0)).unwrap();
    let mut cfg = BrokerStartupConfig::default();
    assert!(cfg.apply(&props).unwrap().is_empty());
    assert_eq!(cfg.store.flush_disk_type, FlushDiskType::SyncFlush);
}

#[test]
fn namesrv_conf_is_understood_by_mqnamesrv() {
    let rmq = example("production.yaml");
    let props = parse_properties(&resources::namesrv_conf(&rmq)).unwrap();
    let (cfg, unknown) = NamesrvConfig::from_properties(&props).unwrap();
    assert!(unknown.is_empty(), "mqnamesrv does not know {unknown:?}");
    assert_eq!(cfg.listen_port, 9876);
    assert!(cfg.kv_config_path.starts_with(resources::STORE_DIR));
}
