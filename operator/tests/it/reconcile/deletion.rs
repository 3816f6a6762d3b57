//! Deleting a cluster: the finalizer and the storage reclaim policy.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::runtime::controller::Action;
use rocketmq_operator::crd::FINALIZER;

use super::{Env, SYNC, cluster, env_with, pvc};

async fn deleting(policy: &str) -> Env {
    let mut rmq =
        cluster(&SYNC.replace("reclaimPolicy: Delete", &format!("reclaimPolicy: {policy}")));
    rmq.metadata.finalizers = Some(vec![FINALIZER.into()]);
    rmq.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2026-11-21T10:00:00Z".parse().unwrap(),
    ));
    env_with(
        vec![
            pvc("store-sync-broker-0-0", 0),
            pvc("store-sync-broker-1-0", 1),
        ],
        rmq,
        false,
    )
    .await
}

#[tokio::test]
async fn deletion_runs_the_finalizer_per_storage_policy() {
    let e = deleting("Delete").await;
    let action = e.reconcile().await;
    assert_eq!(action, Action::await_change());
    assert_eq!(
        e.names::<PersistentVolumeClaim>().await,
        Vec::<String>::new()
    );
    // finalizer removed, so the object is gone
    assert!(e.rmqs().get_opt("sync").await.unwrap().is_none());
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, n)| r == "Cleanup" && n.contains("deleted 2 broker volume claims"))
    );

    let e = deleting("Retain").await;
    e.reconcile().await;
    assert_eq!(e.names::<PersistentVolumeClaim>().await.len(), 2);
    assert!(e.rmqs().get_opt("sync").await.unwrap().is_none());
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, n)| r == "Cleanup" && n.contains("retained broker volume claims"))
    );
}
