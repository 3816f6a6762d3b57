//! Lease-based leader election against the in-memory API server.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube_fake_client::ClientBuilder;
use rocketmq_operator::leader::LeaseLock;

fn lock(api: &Api<Lease>, who: &str) -> LeaseLock {
    LeaseLock {
        api: api.clone(),
        name: "rocketmq-operator".into(),
        identity: who.into(),
        duration: Duration::from_secs(15),
    }
}

#[tokio::test]
async fn only_one_replica_holds_the_lease() {
    let client = ClientBuilder::new().build().await.unwrap();
    let api: Api<Lease> = Api::namespaced(client, "rocketmq-operator");
    let (a, b) = (lock(&api, "pod-a"), lock(&api, "pod-b"));
    assert!(
        a.try_acquire_or_renew().await.unwrap(),
        "a creates the lease"
    );
    assert!(
        !b.try_acquire_or_renew().await.unwrap(),
        "b must wait while a renews"
    );
    assert!(a.try_acquire_or_renew().await.unwrap(), "a renews");
    let lease = api.get("rocketmq-operator").await.unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("pod-a"));
    assert_eq!(spec.lease_duration_seconds, Some(15));
}
