//! The generated CRD's OpenAPI schema accepts the shipped examples and rejects bad CRs.
//!
//! `jsonschema` evaluates the structural part (types, enums, minimum/maximum, patterns). The CEL
//! rules (`x-kubernetes-validations`) are evaluated only by the apiserver; here we assert they are
//! present in the CRD.

use std::path::PathBuf;

use kube::CustomResourceExt;
use rocketmq_operator::crd::RocketMQCluster;
use serde_json::Value;

fn schema() -> Value {
    let crd = RocketMQCluster::crd();
    let v = &crd.spec.versions[0];
    serde_json::to_value(
        v.schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap(),
    )
    .unwrap()
}

fn load(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap()
}

fn dir(rel: &str) -> Vec<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no yaml in {}", d.display());
    v
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn examples_are_valid() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for p in dir("../deploy/examples") {
        let doc = load(p.clone());
        let errs = errors(&validator, &doc);
        assert!(errs.is_empty(), "{}: {errs:?}", p.display());
        // and they deserialize into the typed spec
        let _: RocketMQCluster = serde_json::from_value(doc).unwrap();
    }
}

#[test]
fn bad_crs_are_rejected() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let expected = [
        ("bad-flush.yaml", "/spec/broker/flushDiskType"),
        (
            "bad-reclaim-policy.yaml",
            "/spec/broker/storage/reclaimPolicy",
        ),
        ("bad-replication.yaml", "/spec/broker/replication"),
        ("bad-storage-size.yaml", "/spec/broker/storage/size"),
        (
            "negative-replicas-per-group.yaml",
            "/spec/broker/replicasPerGroup",
        ),
        ("negative-replicas.yaml", "/spec/nameServer/replicas"),
        ("string-groups.yaml", "/spec/broker/groups"),
        ("zero-groups.yaml", "/spec/broker/groups"),
    ];
    let files = dir("tests/bad");
    assert_eq!(
        files.len(),
        expected.len(),
        "every bad CR needs an expectation"
    );
    for p in files {
        let file = p.file_name().unwrap().to_string_lossy().to_string();
        let (_, path) = expected
            .iter()
            .find(|(f, _)| *f == file)
            .unwrap_or_else(|| panic!("no expectation for {file}"));
        let errs = errors(&validator, &load(p.clone()));
        assert!(
            errs.iter().any(|e| e.ends_with(&format!(" at {path}"))),
            "{file}: expected an error at {path}, got {errs:?}"
        );
    }
}

#[test]
fn schema_has_defaults_and_cel_rules() {
    let s = schema();
    let spec = &s["properties"]["spec"]["properties"];
    assert_eq!(spec["broker"]["properties"]["groups"]["default"], 1);
    assert_eq!(
        spec["broker"]["properties"]["groups"]["minimum"].as_f64(),
        Some(1.0)
    );
    assert_eq!(
        spec["broker"]["properties"]["replication"]["default"],
        "ASYNC_MASTER"
    );
    assert_eq!(spec["nameServer"]["properties"]["replicas"]["default"], 2);
    let text = serde_json::to_string(&s).unwrap();
    for rule in [
        "self.replication != 'SYNC_MASTER' || self.replicasPerGroup >= 2",
        "clusterName is immutable",
        "storage is immutable",
        "broker.config must not set keys owned by the operator",
    ] {
        assert!(text.contains(rule), "CEL rule missing: {rule}");
    }
}

#[test]
fn crd_metadata() {
    let crd = RocketMQCluster::crd();
    assert_eq!(crd.spec.group, "rocketmq.rs");
    assert_eq!(crd.spec.names.short_names, Some(vec!["rmq".to_string()]));
    let v = &crd.spec.versions[0];
    assert_eq!(v.name, "v1alpha1");
    assert!(v.subresources.as_ref().unwrap().status.is_some());
    let cols: Vec<String> = v
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(cols, ["Groups", "NameServer", "Phase", "Age"]);
}

/// The CEL creation rules, mirrored in `RocketMQClusterSpec::validate` (used by `render` and the
/// reconciler), are exercised here since CEL itself only runs in the apiserver.
#[test]
fn cel_creation_rules_are_mirrored_in_rust() {
    for p in dir("../deploy/examples") {
        let rmq: RocketMQCluster = serde_json::from_value(load(p.clone())).unwrap();
        rmq.spec
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    let base: RocketMQCluster =
        serde_json::from_value(load(dir("../deploy/examples")[0].clone())).unwrap();

    let mut sync_alone = base.clone();
    sync_alone.spec.broker.replication = rocketmq_operator::crd::Replication::SyncMaster;
    sync_alone.spec.broker.replicas_per_group = 1;
    assert!(
        sync_alone
            .spec
            .validate()
            .unwrap_err()
            .contains("SYNC_MASTER needs at least one slave")
    );

    let mut owned = base.clone();
    owned
        .spec
        .broker
        .config
        .insert("brokerId".into(), "3".into());
    owned
        .spec
        .broker
        .config
        .insert("namesrvAddr".into(), "x:9876".into());
    let err = owned.spec.validate().unwrap_err();
    assert!(
        err.contains("brokerId") && err.contains("namesrvAddr"),
        "{err}"
    );

    let mut zero = base.clone();
    zero.spec.broker.groups = 0;
    assert!(zero.spec.validate().unwrap_err().contains("broker.groups"));

    // the same rules as CEL text in the CRD
    let s = serde_json::to_string(&schema()).unwrap();
    for key in rocketmq_operator::crd::RESERVED_BROKER_KEYS {
        assert!(
            s.contains(&format!("''{key}''")) || s.contains(&format!("'{key}'")),
            "CEL rule misses {key}"
        );
    }
}
