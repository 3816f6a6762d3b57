//! Kubernetes operator for RocketMQ clusters (`RocketMQCluster`, `rocketmq.rs/v1alpha1`).

pub mod admin;
pub mod controller;
pub mod crd;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod remote_admin;
pub mod resources;

use kube::CustomResourceExt;

/// The CRD as YAML, exactly as checked in under `crds/`.
pub fn crd_yaml() -> String {
    serde_yaml::to_string(&crd::RocketMQCluster::crd()).expect("CRD serializes")
}

/// Parses a `RocketMQCluster` manifest (defaults applied as the apiserver would).
pub fn parse_cluster(yaml: &str) -> Result<crd::RocketMQCluster, serde_yaml::Error> {
    serde_yaml::from_str(yaml)
}

/// Parses and validates a manifest (what `render` uses).
pub fn load_cluster(yaml: &str) -> Result<crd::RocketMQCluster, String> {
    let rmq = parse_cluster(yaml).map_err(|e| e.to_string())?;
    rmq.spec.validate()?;
    Ok(rmq)
}
