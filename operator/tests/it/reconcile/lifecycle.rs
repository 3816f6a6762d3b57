//! Reconcile lifecycle: first apply, no-op passes, readiness, spec changes, failures, pause
//! and invalid specs.

use std::sync::Arc;

use k8s_openapi::api::{
    apps::v1::StatefulSet,
    core::v1::{ConfigMap, Service},
    policy::v1::PodDisruptionBudget,
};
use kube::{
    ResourceExt,
    api::{Api, Patch, PatchParams},
    runtime::controller::Action,
};
use rocketmq_operator::{
    controller::{self, LONG_REQUEUE, SHORT_REQUEUE},
    crd::{FINALIZER, PAUSE_ANNOTATION},
    resources::{self, Names},
};
use serde_json::json;

use super::{NS, SYNC, cluster, cond, cond_message, env, env_with};

#[tokio::test]
async fn first_reconcile_creates_everything() {
    let e = env(SYNC).await;
    let action = e.reconcile().await;
    assert_eq!(action, Action::requeue(SHORT_REQUEUE));
    let rmq = e.get().await;
    assert_eq!(rmq.finalizers(), [FINALIZER]);

    let expected: Vec<String> = resources::desired(&rmq).iter().map(|m| m.name()).collect();
    assert_eq!(expected.len(), 13);
    assert_eq!(
        e.names::<StatefulSet>().await,
        ["sync-broker-0", "sync-broker-1", "sync-namesrv"]
    );
    assert_eq!(
        e.names::<Service>().await,
        [
            "sync-broker-0",
            "sync-broker-1",
            "sync-namesrv",
            "sync-namesrv-headless"
        ]
    );
    assert_eq!(
        e.names::<ConfigMap>().await,
        ["sync-broker-0", "sync-broker-1", "sync-namesrv"]
    );
    assert_eq!(
        e.names::<PodDisruptionBudget>().await,
        ["sync-broker-0", "sync-broker-1", "sync-namesrv"]
    );

    // applied with server-side apply, owned by the CR
    let writes = e.take_writes();
    let mut want = vec!["json-patch sync".to_string()]; // the finalizer
    want.extend(
        resources::desired(&rmq)
            .iter()
            .map(|m| format!("patch {}/{}", m.kind(), m.name())),
    );
    want.push("patch-status sync".into());
    assert_eq!(writes, want);
    let sts: Api<StatefulSet> = Api::namespaced(e.client.clone(), NS);
    let s = sts.get("sync-broker-0").await.unwrap();
    let owner = &s.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("RocketMQCluster", rmq.uid().unwrap().as_str(), Some(true))
    );

    // an event per created object
    let created = e
        .events()
        .await
        .into_iter()
        .filter(|(r, _)| r == "Created")
        .count();
    assert_eq!(created, 13);

    // status: nothing is ready yet
    let st = e.status().await;
    assert_eq!(st.observed_generation, rmq.metadata.generation);
    assert_eq!(cond(&st, "Ready"), ("False", "NameServersNotReady"));
    assert_eq!(cond(&st, "Progressing"), ("True", "RollingUpdate"));
    assert_eq!(cond(&st, "ReconcileSuccess"), ("True", "Success"));
    assert_eq!(st.ready_groups.as_deref(), Some("0/2"));
    assert!(
        st.name_server_address
            .unwrap()
            .starts_with("sync-namesrv-0.sync-namesrv-headless.rocketmq.svc.cluster.local:9876;")
    );
}

#[tokio::test]
async fn second_reconcile_is_a_noop() {
    let e = env(SYNC).await;
    e.reconcile().await;
    let before = e.events().await.len();
    e.take_writes();
    e.reconcile().await;
    assert_eq!(e.take_writes(), Vec::<String>::new());
    assert_eq!(e.events().await.len(), before);
}

#[tokio::test]
async fn ready_when_pods_ready_and_masters_registered() {
    let e = env(SYNC).await;
    e.reconcile().await;
    e.make_ready().await;
    e.reconcile().await;
    // pods ready but nothing registered with the name server: Degraded
    let st = e.status().await;
    assert_eq!(cond(&st, "Ready"), ("False", "BrokerGroupsNotReady"));
    assert_eq!(cond(&st, "Degraded"), ("True", "MasterNotRegistered"));
    assert_eq!(st.phase.as_deref(), Some("Degraded"));

    e.register_all(2, 2);
    let action = e.reconcile().await;
    assert_eq!(action, Action::requeue(LONG_REQUEUE));
    let st = e.status().await;
    assert_eq!(cond(&st, "Ready"), ("True", "AllGroupsReady"));
    assert_eq!(cond(&st, "Progressing"), ("False", "Stable"));
    assert_eq!(cond(&st, "Degraded"), ("False", "AsExpected"));
    assert_eq!(st.phase.as_deref(), Some("Ready"));
    assert_eq!(st.ready_groups.as_deref(), Some("2/2"));
    assert_eq!(st.name_servers_ready, 2);
    let g0 = &st.groups[0];
    assert_eq!(g0.broker_name, "sync-broker-0");
    assert_eq!(g0.registered_broker_ids, [0, 1]);
    assert!(g0.master_registered && g0.ready);
    let roles: Vec<(&str, &str, bool)> = g0
        .pods
        .iter()
        .map(|p| (p.name.as_str(), p.role.as_str(), p.ready))
        .collect();
    assert_eq!(
        roles,
        [
            ("sync-broker-0-0", "MASTER", true),
            ("sync-broker-0-1", "SLAVE", true)
        ]
    );

    // a name server that lost its registrations (restarted): no longer ready
    e.admin.empty_on("sync-namesrv-1.");
    e.reconcile().await;
    let st = e.status().await;
    assert_eq!(cond(&st, "Ready"), ("False", "BrokerGroupsNotReady"));
    assert_eq!(cond(&st, "Degraded"), ("True", "MasterNotRegistered"));
    assert_eq!(
        st.groups[0].registered_broker_ids,
        [0, 1],
        "union over name servers"
    );
    assert!(!st.groups[0].master_registered);

    // the master of group 1 disappears from the name server while its slave stays: degraded
    let rmq = cluster(SYNC);
    let n = Names::new(&rmq);
    let e2 = env(SYNC).await;
    e2.reconcile().await;
    e2.admin
        .register("sync", &n.group(0), 0, &n.broker_addr(0, 0));
    e2.admin
        .register("sync", &n.group(1), 1, &n.broker_addr(1, 1));
    e2.reconcile().await;
    let st2 = e2.status().await;
    assert_eq!(cond(&st2, "Degraded"), ("True", "MasterNotRegistered"));
    assert!(cond_message(&st2, "Degraded").contains("sync-broker-1"));
    assert!(!cond_message(&st2, "Degraded").contains("sync-broker-0"));

    // name server stops answering: not ready, degraded
    e.admin.set_unreachable(true);
    e.reconcile().await;
    let st = e.status().await;
    assert_eq!(cond(&st, "Ready"), ("False", "NameServerUnreachable"));
    assert_eq!(cond(&st, "Degraded"), ("True", "NameServerUnreachable"));
}

#[tokio::test]
async fn spec_change_updates_only_what_changed() {
    let e = env(SYNC).await;
    e.reconcile().await;
    e.take_writes();

    e.patch_spec(json!({"broker": {"image": "rocketmq-rs/broker:0.2.0"}}))
        .await;
    e.take_writes();
    e.reconcile().await;
    let writes = e.take_writes();
    assert_eq!(
        writes,
        [
            "patch StatefulSet/sync-broker-0",
            "patch StatefulSet/sync-broker-1",
            "patch-status sync"
        ],
    );
    let sts: Api<StatefulSet> = Api::namespaced(e.client.clone(), NS);
    let s = sts.get("sync-broker-1").await.unwrap();
    assert_eq!(
        s.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("rocketmq-rs/broker:0.2.0")
    );
    assert_eq!(
        e.events()
            .await
            .iter()
            .filter(|(r, _)| r == "Updated")
            .count(),
        2
    );

    // a broker.conf change updates the ConfigMaps and rolls the pods via the config hash
    let hash_before = sts
        .get("sync-broker-0")
        .await
        .unwrap()
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap()[resources::CONFIG_HASH_ANNOTATION]
        .clone();
    e.patch_spec(json!({"broker": {"config": {"fileReservedTime": "12"}}}))
        .await;
    e.take_writes();
    e.reconcile().await;
    let writes = e.take_writes();
    assert_eq!(
        writes,
        [
            "patch ConfigMap/sync-broker-0",
            "patch StatefulSet/sync-broker-0",
            "patch ConfigMap/sync-broker-1",
            "patch StatefulSet/sync-broker-1",
            "patch-status sync"
        ],
    );
    let cm: Api<ConfigMap> = Api::namespaced(e.client.clone(), NS);
    assert!(
        cm.get("sync-broker-0").await.unwrap().data.unwrap()["broker.conf"]
            .contains("fileReservedTime=12\n")
    );
    let hash_after = sts
        .get("sync-broker-0")
        .await
        .unwrap()
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap()[resources::CONFIG_HASH_ANNOTATION]
        .clone();
    assert_ne!(hash_before, hash_after);
}

#[tokio::test]
async fn failures_are_reported_and_backed_off() {
    let e = env_with(vec![], cluster(SYNC), true).await;
    let rmq = e.get().await;
    let err = controller::reconcile(Arc::new(rmq.clone()), e.ctx.clone())
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "KubeErrorApplyingObject");
    let st = e.status().await;
    assert_eq!(
        cond(&st, "ReconcileSuccess"),
        ("False", "KubeErrorApplyingObject")
    );
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, _)| r == "KubeErrorApplyingObject")
    );
    let a1 = controller::error_policy(Arc::new(rmq.clone()), &err, e.ctx.clone());
    let a2 = controller::error_policy(Arc::new(rmq), &err, e.ctx.clone());
    assert_eq!(a1, Action::requeue(std::time::Duration::from_secs(5)));
    assert_eq!(a2, Action::requeue(std::time::Duration::from_secs(10)));
    assert!(e.ctx.metrics.encode().contains(
        "rocketmq_operator_reconcile_failures_total{reason=\"KubeErrorApplyingObject\"} 2"
    ));
}

#[tokio::test]
async fn pause_annotation_stops_all_changes() {
    let mut rmq = cluster(SYNC);
    rmq.metadata.annotations = Some([(PAUSE_ANNOTATION.to_string(), "true".to_string())].into());
    let e = env_with(vec![], rmq, false).await;
    assert_eq!(e.reconcile().await, Action::requeue(LONG_REQUEUE));
    assert_eq!(e.names::<StatefulSet>().await, Vec::<String>::new());
    let st = e.status().await;
    assert_eq!(st.phase.as_deref(), Some("Paused"));
    assert_eq!(cond(&st, "Progressing"), ("False", "ReconciliationPaused"));
    assert!(
        e.events()
            .await
            .iter()
            .any(|(r, _)| r == "ReconciliationPaused")
    );

    e.rmqs()
        .patch(
            &e.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {PAUSE_ANNOTATION: null}}})),
        )
        .await
        .unwrap();
    e.reconcile().await;
    assert_eq!(e.names::<StatefulSet>().await.len(), 3);
    assert_ne!(e.status().await.phase.as_deref(), Some("Paused"));
}

#[tokio::test]
async fn an_invalid_spec_is_refused_without_touching_anything() {
    // SYNC_MASTER without a slave (the CEL rule the apiserver would apply)
    let e = env(&SYNC.replace("replicasPerGroup: 2", "replicasPerGroup: 1")).await;
    let rmq = e.get().await;
    let err = controller::reconcile(Arc::new(rmq), e.ctx.clone())
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "InvalidSpec");
    assert_eq!(e.names::<StatefulSet>().await, Vec::<String>::new());
    let st = e.status().await;
    assert_eq!(cond(&st, "ReconcileSuccess"), ("False", "InvalidSpec"));
    assert!(cond_message(&st, "ReconcileSuccess").contains("SYNC_MASTER"));
}
