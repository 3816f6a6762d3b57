//! Reconcile scenarios against kube-fake-client's in-memory API server and the fake admin.

use std::sync::{Arc, Mutex};

use k8s_openapi::{
    api::{
        apps::v1::StatefulSet,
        core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service},
        events::v1::Event,
        policy::v1::PodDisruptionBudget,
    },
    jiff::{SignedDuration, Timestamp},
};
use kube::{
    Client, ResourceExt,
    api::{Api, ListParams, Patch, PatchParams},
    runtime::controller::Action,
};
use kube_fake_client::{ClientBuilder, interceptor};
use rocketmq_operator::{
    admin::FakeAdmin,
    controller::{self, Context, DRAIN_STARTED_ANNOTATION, LONG_REQUEUE, SHORT_REQUEUE},
    crd::{
        FINALIZER, FORCE_SCALE_IN_ANNOTATION, PAUSE_ANNOTATION, RocketMQCluster,
        RocketMQClusterStatus,
    },
    metrics::Metrics,
    parse_cluster,
    resources::{self, Names},
};
use serde_json::{Value, json};

const NS: &str = "rocketmq";

/// Every write the operator makes (events excluded), as "verb Kind/name".
type Log = Arc<Mutex<Vec<String>>>;

struct Env {
    client: Client,
    ctx: Arc<Context>,
    admin: FakeAdmin,
    writes: Log,
    clock: Arc<Mutex<Timestamp>>,
    name: String,
}

fn cluster(yaml: &str) -> RocketMQCluster {
    let mut rmq = parse_cluster(yaml).unwrap();
    rmq.metadata.namespace = Some(NS.into());
    rmq.metadata.uid = Some("11111111-2222-3333-4444-555555555555".into());
    rmq
}

const SYNC: &str = r#"
apiVersion: rocketmq.rs/v1alpha1
kind: RocketMQCluster
metadata: {name: sync, namespace: rocketmq}
spec:
  broker:
    groups: 2
    replicasPerGroup: 2
    replication: SYNC_MASTER
    flushDiskType: SYNC_FLUSH
    storage: {size: 20Gi, reclaimPolicy: Delete}
    scaleIn: {drainTimeoutSeconds: 600}
"#;

fn kind_of(v: &Value) -> String {
    v.get("kind")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

async fn env_with(objects: Vec<Value>, rmq: RocketMQCluster, fail_sts_patch: bool) -> Env {
    let writes: Log = Arc::default();
    let (w1, w2, w3, w4) = (
        writes.clone(),
        writes.clone(),
        writes.clone(),
        writes.clone(),
    );
    let funcs = interceptor::Funcs::new()
        .create(move |c| {
            if kind_of(c.object) != "Event" {
                w1.lock().unwrap().push(format!(
                    "create {}/{}",
                    kind_of(c.object),
                    c.object["metadata"]["name"].as_str().unwrap_or("?")
                ));
            }
            Ok(None)
        })
        .patch(move |c| {
            let k = kind_of(c.patch);
            if fail_sts_patch && k == "StatefulSet" {
                return Err(kube_fake_client::Error::Internal("injected failure".into()));
            }
            if c.patch.is_array() {
                w2.lock().unwrap().push(format!("json-patch {}", c.name));
            } else if k != "Event" {
                w2.lock().unwrap().push(format!("patch {k}/{}", c.name));
            }
            Ok(None)
        })
        .patch_status(move |c| {
            w3.lock().unwrap().push(format!("patch-status {}", c.name));
            Ok(None)
        })
        .delete(move |c| {
            w4.lock().unwrap().push(format!("delete {}", c.name));
            Ok(None)
        });
    let name = rmq.name_any();
    let client = ClientBuilder::new()
        .with_resource::<RocketMQCluster>()
        .with_status_subresource::<RocketMQCluster>()
        .with_object(rmq)
        .with_runtime_objects(objects)
        .with_interceptor_funcs(funcs)
        .build()
        .await
        .unwrap();
    let admin = FakeAdmin::new();
    let clock = Arc::new(Mutex::new(
        "2026-11-21T10:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let mut ctx = Context::new(
        client.clone(),
        Arc::new(admin.clone()),
        Arc::new(Metrics::default()),
    );
    let c2 = clock.clone();
    ctx.now = Arc::new(move || *c2.lock().unwrap());
    Env {
        client,
        ctx: Arc::new(ctx),
        admin,
        writes,
        clock,
        name,
    }
}

async fn env(yaml: &str) -> Env {
    env_with(vec![], cluster(yaml), false).await
}

impl Env {
    fn rmqs(&self) -> Api<RocketMQCluster> {
        Api::namespaced(self.client.clone(), NS)
    }
    async fn get(&self) -> RocketMQCluster {
        self.rmqs().get(&self.name).await.unwrap()
    }
    async fn reconcile(&self) -> Action {
        let rmq = self.get().await;
        controller::reconcile(Arc::new(rmq), self.ctx.clone())
            .await
            .unwrap()
    }
    fn take_writes(&self) -> Vec<String> {
        std::mem::take(&mut *self.writes.lock().unwrap())
    }
    async fn status(&self) -> RocketMQClusterStatus {
        self.get().await.status.unwrap_or_default()
    }
    async fn patch_spec(&self, spec: Value) {
        self.rmqs()
            .patch(
                &self.name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": spec })),
            )
            .await
            .unwrap();
    }
    async fn names<K>(&self) -> Vec<String>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), NS);
        let mut v: Vec<String> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| o.name_any())
            .collect();
        v.sort();
        v
    }
    async fn events(&self) -> Vec<(String, String)> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), NS);
        let mut evs = api.list(&ListParams::default()).await.unwrap().items;
        evs.sort_by_key(|e| e.metadata.name.clone());
        evs.into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
    }
    fn advance(&self, secs: i64) {
        let mut c = self.clock.lock().unwrap();
        *c += SignedDuration::from_secs(secs);
    }
    /// Plays the StatefulSet controller and kubelet: all pods exist and are ready.
    async fn make_ready(&self) {
        let sts_api: Api<StatefulSet> = Api::namespaced(self.client.clone(), NS);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        for sts in sts_api.list(&ListParams::default()).await.unwrap().items {
            let n = sts.spec.as_ref().unwrap().replicas.unwrap();
            let status = json!({"status": {
                "replicas": n, "readyReplicas": n, "updatedReplicas": n, "availableReplicas": n,
                "currentRevision": "r1", "updateRevision": "r1",
                "observedGeneration": sts.metadata.generation.unwrap_or(1)
            }});
            sts_api
                .patch_status(
                    &sts.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&status),
                )
                .await
                .unwrap();
            let labels = sts
                .spec
                .as_ref()
                .unwrap()
                .template
                .metadata
                .as_ref()
                .unwrap()
                .labels
                .clone();
            for i in 0..n {
                let name = format!("{}-{i}", sts.name_any());
                if pods.get_opt(&name).await.unwrap().is_some() {
                    continue;
                }
                let pod: Pod = serde_json::from_value(json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "namespace": NS, "labels": labels},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]}
                }))
                .unwrap();
                pods.create(&Default::default(), &pod).await.unwrap();
            }
        }
        self.take_writes();
    }
    /// Registers every group's pods with the fake name server.
    fn register_all(&self, groups: i32, per_group: i32) {
        let rmq = cluster(SYNC);
        let n = Names::new(&rmq);
        for g in 0..groups {
            for i in 0..per_group {
                self.admin
                    .register("sync", &n.group(g), i as i64, &n.broker_addr(g, i));
            }
        }
    }
}

fn cond<'a>(s: &'a RocketMQClusterStatus, t: &str) -> (&'a str, &'a str) {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == t)
        .unwrap_or_else(|| panic!("no {t} condition"));
    (c.status.as_str(), c.reason.as_str())
}

fn cond_message(s: &RocketMQClusterStatus, t: &str) -> String {
    s.conditions
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

fn pvc(name: &str, group: i32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS, "uid": format!("pvc-{name}"), "labels": {
            "app.kubernetes.io/name": "rocketmq", "app.kubernetes.io/instance": "sync",
            "app.kubernetes.io/component": "broker", "rocketmq.rs/broker-group": group.to_string()
        }},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}
    })
}

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
