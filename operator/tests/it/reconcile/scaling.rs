//! Scaling broker groups and name servers: scale out, draining scale in (timeout, force) and
//! cancelling a drain by scaling back up.

use k8s_openapi::api::{
    apps::v1::StatefulSet,
    core::v1::{ConfigMap, PersistentVolumeClaim, Service},
    policy::v1::PodDisruptionBudget,
};
use kube::{
    ResourceExt,
    api::{Api, Patch, PatchParams},
    runtime::controller::Action,
};
use rocketmq_operator::{
    controller::{DRAIN_STARTED_ANNOTATION, SHORT_REQUEUE},
    crd::FORCE_SCALE_IN_ANNOTATION,
    resources::Names,
};
use serde_json::json;

use super::{NS, SYNC, cluster, cond, env, env_with, pvc};

#[tokio::test]
async fn scale_out_adds_groups_and_name_servers() {
    let e = env(SYNC).await;
    e.reconcile().await;
    e.patch_spec(json!({"broker": {"groups": 3}, "nameServer": {"replicas": 3}}))
        .await;
    e.take_writes();
    e.reconcile().await;
    let writes = e.take_writes();
    // the new group is created; existing groups and name servers roll to the new namesrvAddr
    for w in [
        "patch StatefulSet/sync-namesrv",
        "patch ConfigMap/sync-broker-0",
        "patch StatefulSet/sync-broker-0",
        "patch ConfigMap/sync-broker-2",
        "patch Service/sync-broker-2",
        "patch PodDisruptionBudget/sync-broker-2",
        "patch StatefulSet/sync-broker-2",
    ] {
        assert!(writes.iter().any(|x| x == w), "missing {w} in {writes:?}");
    }
    assert_eq!(
        e.names::<StatefulSet>().await,
        [
            "sync-broker-0",
            "sync-broker-1",
            "sync-broker-2",
            "sync-namesrv"
        ]
    );
    let sts: Api<StatefulSet> = Api::namespaced(e.client.clone(), NS);
    assert_eq!(
        sts.get("sync-namesrv")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(3)
    );
    assert_eq!(e.status().await.ready_groups.as_deref(), Some("0/3"));
}

#[tokio::test]
async fn scale_in_wipes_write_permission_and_waits_for_drain() {
    let e = env_with(
        vec![
            pvc("store-sync-broker-1-0", 1),
            pvc("store-sync-broker-0-0", 0),
        ],
        cluster(SYNC),
        false,
    )
    .await;
    e.reconcile().await;
    let leaving_master = Names::new(&cluster(SYNC)).broker_addr(1, 0);
    e.admin.set_backlog(&leaving_master, 42);

    e.patch_spec(json!({"broker": {"groups": 1}})).await;
    let action = e.reconcile().await;
    assert_eq!(action, Action::requeue(SHORT_REQUEUE));
    // write permission wiped on both name servers, group kept while messages remain
    let wiped = e.admin.wiped();
    assert_eq!(wiped.len(), 2);
    assert!(wiped.iter().all(|(_, b)| b == "sync-broker-1"));
    assert!(wiped[0].0.starts_with("sync-namesrv-0.") && wiped[1].0.starts_with("sync-namesrv-1."));
    let sts: Api<StatefulSet> = Api::namespaced(e.client.clone(), NS);
    let leaving = sts.get("sync-broker-1").await.unwrap();
    assert_eq!(
        leaving.annotations()[DRAIN_STARTED_ANNOTATION],
        "2026-11-21T10:00:00Z"
    );
    let st = e.status().await;
    assert_eq!(cond(&st, "Progressing"), ("True", "DrainingBrokerGroups"));
    assert_eq!(st.phase.as_deref(), Some("Draining"));
    let g1 = st
        .groups
        .iter()
        .find(|g| g.broker_name == "sync-broker-1")
        .unwrap();
    assert_eq!(g1.draining.as_ref().unwrap().backlog, Some(42));
    let reasons: Vec<String> = e.events().await.into_iter().map(|(r, _)| r).collect();
    assert!(reasons.contains(&"DrainStarted".to_string()));

    // still draining: wiped again (kept read-only), still there, start time unchanged
    e.advance(60);
    e.reconcile().await;
    assert_eq!(e.admin.wiped().len(), 4);
    let leaving = sts.get("sync-broker-1").await.unwrap();
    assert_eq!(
        leaving.annotations()[DRAIN_STARTED_ANNOTATION],
        "2026-11-21T10:00:00Z"
    );
    assert!(sts.get_opt("sync-broker-1").await.unwrap().is_some());
    assert!(e.events().await.iter().any(|(r, _)| r == "WaitingForDrain"));

    // consumed: the group goes, with its volumes (reclaimPolicy Delete); group 0 untouched
    e.admin.set_backlog(&leaving_master, 0);
    e.take_writes();
    e.reconcile().await;
    let deletes: Vec<String> = e
        .take_writes()
        .into_iter()
        .filter(|w| w.starts_with("delete"))
        .collect();
    assert_eq!(
        deletes,
        [
            "delete sync-broker-1", // StatefulSet
            "delete sync-broker-1", // PodDisruptionBudget
            "delete sync-broker-1", // Service
            "delete sync-broker-1", // ConfigMap
            "delete store-sync-broker-1-0"
        ]
    );
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, n)| r == "Deleted" && n == "Deleted StatefulSet sync-broker-1")
    );
    assert_eq!(
        e.names::<StatefulSet>().await,
        ["sync-broker-0", "sync-namesrv"]
    );
    assert_eq!(
        e.names::<Service>().await,
        ["sync-broker-0", "sync-namesrv", "sync-namesrv-headless"]
    );
    assert_eq!(
        e.names::<ConfigMap>().await,
        ["sync-broker-0", "sync-namesrv"]
    );
    assert_eq!(
        e.names::<PodDisruptionBudget>().await,
        ["sync-broker-0", "sync-namesrv"]
    );
    assert_eq!(
        e.names::<PersistentVolumeClaim>().await,
        ["store-sync-broker-0-0"]
    );
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, n)| r == "GroupRemoved" && n.contains("all messages consumed"))
    );
    let st = e.status().await;
    assert_eq!(cond(&st, "Progressing").1, "RollingUpdate");
    assert_eq!(st.groups.len(), 1);
}

#[tokio::test]
async fn scale_in_times_out_or_is_forced() {
    let e = env(SYNC).await;
    e.reconcile().await;
    e.patch_spec(json!({"broker": {"groups": 1}})).await;
    e.reconcile().await; // wipe, backlog unknown
    let sts: Api<StatefulSet> = Api::namespaced(e.client.clone(), NS);
    e.advance(599);
    e.reconcile().await;
    assert!(sts.get_opt("sync-broker-1").await.unwrap().is_some());
    e.advance(1);
    e.reconcile().await;
    assert!(sts.get_opt("sync-broker-1").await.unwrap().is_none());
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, n)| r == "GroupRemoved" && n.contains("timeout"))
    );

    // force annotation skips the wait
    let e = env(SYNC).await;
    e.reconcile().await;
    e.patch_spec(json!({"broker": {"groups": 1}})).await;
    e.reconcile().await;
    e.rmqs()
        .patch(
            &e.name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {FORCE_SCALE_IN_ANNOTATION: "true"}}}),
            ),
        )
        .await
        .unwrap();
    e.reconcile().await;
    let sts2: Api<StatefulSet> = Api::namespaced(e.client.clone(), NS);
    assert!(sts2.get_opt("sync-broker-1").await.unwrap().is_none());
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, n)| r == "GroupRemoved" && n.contains("forced"))
    );
}

#[tokio::test]
async fn scaling_back_up_cancels_the_drain_and_restores_write_permission() {
    let e = env(SYNC).await;
    e.reconcile().await;
    e.admin
        .set_backlog(&Names::new(&cluster(SYNC)).broker_addr(1, 0), 7);
    e.patch_spec(json!({"broker": {"groups": 1}})).await;
    e.reconcile().await;
    assert_eq!(e.admin.wiped().len(), 2);

    e.patch_spec(json!({"broker": {"groups": 2}})).await;
    e.reconcile().await;
    let restored = e.admin.restored();
    assert_eq!(restored.len(), 2);
    assert!(restored.iter().all(|(_, b)| b == "sync-broker-1"));
    let sts: Api<StatefulSet> = Api::namespaced(e.client.clone(), NS);
    let s = sts.get("sync-broker-1").await.unwrap();
    assert!(!s.annotations().contains_key(DRAIN_STARTED_ANNOTATION));
    assert!(e.events().await.iter().any(|(r, _)| r == "DrainCancelled"));
    let st = e.status().await;
    assert!(st.groups.iter().all(|g| g.draining.is_none()));
    assert_ne!(st.phase.as_deref(), Some("Draining"));
    // nothing more to restore on the next pass
    e.reconcile().await;
    assert_eq!(e.admin.restored().len(), 2);
}
