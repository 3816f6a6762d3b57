//! Checked-in CRDs must equal `rocketmq-operator crd` (run `scripts/gen-crds.sh` to refresh).

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check(rel: &str) {
    let path = root().join(rel);
    let want = rocketmq_operator::crd_yaml();
    if std::env::var_os("UPDATE_CRDS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        have == want,
        "{rel} is stale: regenerate with `UPDATE_CRDS=1 cargo test -p rocketmq-operator --test it drift`"
    );
}

#[test]
fn crds_dir_is_current() {
    check("crds/rocketmq.rs_rocketmqclusters.yaml");
}

#[test]
fn chart_crd_is_current() {
    check("charts/rocketmq-operator/crds/rocketmq.rs_rocketmqclusters.yaml");
}

#[test]
fn deploy_crd_is_current() {
    check("deploy/crd.yaml");
}
