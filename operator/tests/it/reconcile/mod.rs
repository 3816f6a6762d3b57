//! Reconcile scenarios against kube-fake-client's in-memory API server and the fake admin.
//!
//! This module holds the harness (a fake API server recording every write, a fake admin and a
//! settable clock); the scenarios are grouped by theme in the submodules.

mod deletion;
mod lifecycle;
mod scaling;

use std::sync::{Arc, Mutex};

use k8s_openapi::{
    api::{apps::v1::StatefulSet, core::v1::Pod, events::v1::Event},
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
    controller::{self, Context},
    crd::{RocketMQCluster, RocketMQClusterStatus},
    metrics::Metrics,
    parse_cluster,
    resources::Names,
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
