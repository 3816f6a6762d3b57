//! The reconciler: applies the objects built in [`crate::resources`], drains leaving broker
//! groups, runs the finalizer and writes status.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::{
    NamespaceResourceScope,
    api::{
        apps::v1::StatefulSet,
        core::v1::{ConfigMap, ObjectReference, PersistentVolumeClaim, Pod, Service},
        policy::v1::PodDisruptionBudget,
    },
    jiff::Timestamp,
};
use kube::{
    Resource, ResourceExt,
    api::{Api, DeleteParams, ListParams, Patch, PatchParams},
    client::Client,
    runtime::{
        controller::{Action, Controller},
        events::{Event, EventType, Recorder, Reporter},
        reflector::ObjectRef,
        watcher,
    },
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use tracing::{Span, field, info, instrument, warn};

use crate::{
    admin::{AdminError, ClusterView, RocketMqAdmin},
    crd::{
        Condition, DrainStatus, FINALIZER, FORCE_SCALE_IN_ANNOTATION, GroupStatus,
        PAUSE_ANNOTATION, PodStatus, ReclaimPolicy, RocketMQCluster, RocketMQClusterStatus,
    },
    metrics::Metrics,
    resources::{self, LABEL_COMPONENT, LABEL_GROUP, LABEL_INSTANCE, MANAGER, Managed, Names},
};

/// Annotation on every managed object: hash of what the operator last applied.
pub const APPLIED_HASH_ANNOTATION: &str = "rocketmq.rs/applied-hash";
/// Annotation on a leaving group's StatefulSet: when its write permission was wiped.
pub const DRAIN_STARTED_ANNOTATION: &str = "rocketmq.rs/drain-started-at";
/// Requeue while something is in progress.
pub const SHORT_REQUEUE: Duration = Duration::from_secs(15);
/// Requeue when everything is settled (periodic resync).
pub const LONG_REQUEUE: Duration = Duration::from_secs(300);

/// Reconcile errors; `reason()` names the failing step for events, conditions and metrics.
#[derive(thiserror::Error, Debug)]
pub enum Error {
    #[error("kubernetes API call failed while {step}: {source}")]
    Kube {
        step: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error("serialization failed: {0}")]
    Serialization(#[source] serde_json::Error),
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    #[error("RocketMQ admin call failed while {step}: {source}")]
    Admin {
        step: &'static str,
        #[source]
        source: AdminError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// CamelCase reason used in events, the ReconcileSuccess condition and the failures metric.
    pub fn reason(&self) -> String {
        match self {
            Error::Kube { step, .. } => format!("KubeError{}", camel(step)),
            Error::Serialization(_) => "SerializationError".into(),
            Error::InvalidSpec(_) => "InvalidSpec".into(),
            Error::Admin { step, .. } => format!("AdminError{}", camel(step)),
        }
    }
}

fn camel(step: &str) -> String {
    step.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn kube_err(step: &'static str) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Kube { step, source }
}

/// Shared state of the reconciler.
#[derive(Clone)]
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Publishes Events about `RocketMQCluster`s.
    pub recorder: Recorder,
    /// Talks to name servers and brokers.
    pub admin: Arc<dyn RocketMqAdmin>,
    /// Reconcile metrics.
    pub metrics: Arc<Metrics>,
    /// Clock (replaceable in tests for drain timeouts).
    pub now: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// Consecutive failures per object, for the error backoff.
    pub failures: Arc<Mutex<HashMap<ObjectRef<RocketMQCluster>, u32>>>,
}

impl Context {
    pub fn new(client: Client, admin: Arc<dyn RocketMqAdmin>, metrics: Arc<Metrics>) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: MANAGER.into(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        Self {
            client,
            recorder,
            admin,
            metrics,
            now: Arc::new(Timestamp::now),
            failures: Arc::default(),
        }
    }

    async fn event(
        &self,
        rmq: &RocketMQCluster,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        self.event_about(rmq, None, type_, reason, action, note)
            .await
    }

    /// Publishes an Event on the cluster; `related` names the child object it concerns (this also
    /// keeps events about different children from being folded into one series).
    async fn event_about(
        &self,
        rmq: &RocketMQCluster,
        related: Option<ObjectReference>,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: related,
        };
        if let Err(e) = self.recorder.publish(&ev, &rmq.object_ref(&())).await {
            warn!(error = %e, reason, "failed to publish event");
        }
    }
}

/// Controller entry point: one reconciliation of one `RocketMQCluster`.
#[instrument(skip(rmq, ctx), fields(name = %rmq.name_any(), namespace = rmq.namespace(), generation = field::Empty))]
pub async fn reconcile(rmq: Arc<RocketMQCluster>, ctx: Arc<Context>) -> Result<Action> {
    let _measure = ctx.metrics.count_and_measure();
    Span::current().record("generation", rmq.metadata.generation.unwrap_or_default());
    let ns = rmq.namespace().unwrap_or_else(|| "default".into());
    let api: Api<RocketMQCluster> = Api::namespaced(ctx.client.clone(), &ns);

    if rmq.metadata.deletion_timestamp.is_some() {
        if rmq.finalizers().iter().any(|f| f == FINALIZER) {
            cleanup(&rmq, &ctx).await?;
            remove_finalizer(&api, &rmq).await?;
        }
        return Ok(Action::await_change());
    }
    let rmq = if rmq.finalizers().iter().any(|f| f == FINALIZER) {
        rmq
    } else {
        Arc::new(add_finalizer(&api, &rmq).await?)
    };

    match apply(&rmq, &ctx, &api).await {
        Ok(action) => {
            ctx.failures
                .lock()
                .unwrap()
                .remove(&ObjectRef::from(rmq.as_ref()));
            Ok(action)
        }
        Err(err) => {
            let reason = err.reason();
            ctx.event(
                &rmq,
                EventType::Warning,
                &reason,
                "Reconcile",
                err.to_string(),
            )
            .await;
            // best effort: surface the failure in status as well
            let mut status = rmq.status.clone().unwrap_or_default();
            set_condition(
                &mut status.conditions,
                condition(
                    "ReconcileSuccess",
                    false,
                    &reason,
                    &err.to_string(),
                    &rmq,
                    &ctx,
                ),
            );
            let _ = write_status(&api, &rmq, status).await;
            Err(err)
        }
    }
}

/// Requeue with exponential backoff (5 s, 10 s, … capped at 5 min) after a failed reconcile.
pub fn error_policy(rmq: Arc<RocketMQCluster>, err: &Error, ctx: Arc<Context>) -> Action {
    let reason = err.reason();
    ctx.metrics.failure(&reason);
    let n = {
        let mut f = ctx.failures.lock().unwrap();
        let n = f.entry(ObjectRef::from(rmq.as_ref())).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    let delay = backoff(n);
    warn!(name = %rmq.name_any(), %reason, error = %err, attempt = n, ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Delay after the `n`-th consecutive failure.
pub fn backoff(n: u32) -> Duration {
    let secs = 5u64.saturating_mul(1u64 << n.saturating_sub(1).min(10));
    Duration::from_secs(secs.min(300))
}

async fn add_finalizer(
    api: &Api<RocketMQCluster>,
    rmq: &RocketMQCluster,
) -> Result<RocketMQCluster> {
    let patch = if rmq.metadata.finalizers.is_none() {
        json!([{"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}])
    } else {
        json!([{"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}])
    };
    let patch: json_patch::Patch = serde_json::from_value(patch).map_err(Error::Serialization)?;
    api.patch(
        &rmq.name_any(),
        &PatchParams::default(),
        &Patch::<()>::Json(patch),
    )
    .await
    .map_err(kube_err("adding finalizer"))
}

async fn remove_finalizer(api: &Api<RocketMQCluster>, rmq: &RocketMQCluster) -> Result<()> {
    let Some(idx) = rmq.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let patch = json!([
        {"op": "test", "path": format!("/metadata/finalizers/{idx}"), "value": FINALIZER},
        {"op": "remove", "path": format!("/metadata/finalizers/{idx}")}
    ]);
    let patch: json_patch::Patch = serde_json::from_value(patch).map_err(Error::Serialization)?;
    api.patch(
        &rmq.name_any(),
        &PatchParams::default(),
        &Patch::<()>::Json(patch),
    )
    .await
    .map_err(kube_err("removing finalizer"))?;
    Ok(())
}

/// Outcome of applying one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    Unchanged,
}

/// True when every field of `desired` is present with the same value in `live` (arrays must have
/// the same length and match element-wise). Fields the apiserver defaults are ignored.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| is_subset(v, lv))),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| is_subset(a, b))
        }
        (d, l) => d == l,
    }
}

/// Server-side applies `obj` unless the live object already carries it: the live object must
/// contain every desired field and the applied-hash annotation must match (so removed fields are
/// re-applied too). Never writes when nothing changed.
pub async fn ensure<K>(client: &Client, ns: &str, obj: &K) -> Result<Applied>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let name = obj.name_any();
    let mut desired = serde_json::to_value(obj).map_err(Error::Serialization)?;
    let digest = resources::hash(&desired.to_string());
    desired["metadata"]["annotations"][APPLIED_HASH_ANNOTATION] = Value::String(digest.clone());
    let live = api
        .get_opt(&name)
        .await
        .map_err(kube_err("reading object"))?;
    if let Some(live) = &live {
        let same_hash = live.annotations().get(APPLIED_HASH_ANNOTATION) == Some(&digest);
        let live_v = serde_json::to_value(live).map_err(Error::Serialization)?;
        if same_hash && is_subset(&desired, &live_v) {
            return Ok(Applied::Unchanged);
        }
    }
    let after: K = api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&desired),
        )
        .await
        .map_err(kube_err("applying object"))?;
    Ok(match live {
        None => Applied::Created,
        Some(l) if l.resource_version() == after.resource_version() => Applied::Unchanged,
        Some(_) => Applied::Updated,
    })
}

async fn ensure_managed(client: &Client, ns: &str, m: &Managed) -> Result<Applied> {
    match m {
        Managed::ConfigMap(o) => ensure(client, ns, o).await,
        Managed::Service(o) => ensure(client, ns, o).await,
        Managed::Pdb(o) => ensure(client, ns, o).await,
        Managed::StatefulSet(o) => ensure(client, ns, o.as_ref()).await,
    }
}

/// Apply branch: objects, scale-in, status.
async fn apply(rmq: &RocketMQCluster, ctx: &Context, api: &Api<RocketMQCluster>) -> Result<Action> {
    let ns = rmq.namespace().unwrap_or_else(|| "default".into());
    rmq.spec.validate().map_err(Error::InvalidSpec)?;
    if rmq
        .annotations()
        .get(PAUSE_ANNOTATION)
        .is_some_and(|v| v == "true")
    {
        let mut status = rmq.status.clone().unwrap_or_default();
        status.phase = Some("Paused".into());
        let msg = format!("{PAUSE_ANNOTATION}=true; nothing is applied or deleted");
        set_condition(
            &mut status.conditions,
            condition("Progressing", false, "ReconciliationPaused", &msg, rmq, ctx),
        );
        if rmq.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Paused") {
            ctx.event(rmq, EventType::Normal, "ReconciliationPaused", "Pause", msg)
                .await;
        }
        write_status(api, rmq, status).await?;
        return Ok(Action::requeue(LONG_REQUEUE));
    }
    for m in resources::desired(rmq) {
        let outcome = ensure_managed(&ctx.client, &ns, &m).await?;
        if outcome != Applied::Unchanged {
            let verb = format!("{outcome:?}");
            info!(kind = m.kind(), name = %m.name(), %verb, "applied");
            ctx.event_about(
                rmq,
                Some(m.object_ref()),
                EventType::Normal,
                &verb,
                "Apply",
                format!("{verb} {} {}", m.kind(), m.name()),
            )
            .await;
        }
    }

    let draining = scale_in(rmq, ctx, &ns).await?;
    let status = observe(rmq, ctx, &ns, &draining).await?;
    let settled = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    write_status(api, rmq, status).await?;
    Ok(Action::requeue(if settled && draining.is_empty() {
        LONG_REQUEUE
    } else {
        SHORT_REQUEUE
    }))
}

fn broker_group_selector(cluster: &str) -> String {
    format!("{LABEL_INSTANCE}={cluster},{LABEL_COMPONENT}=broker")
}

/// Group index of a broker StatefulSet, from its label.
fn group_of(sts: &StatefulSet) -> Option<i32> {
    sts.labels().get(LABEL_GROUP)?.parse().ok()
}

/// A broker group index with its StatefulSet.
type Group = (i32, StatefulSet);

/// A group that is leaving the cluster and still waits for its queues to drain.
#[derive(Clone, Debug)]
pub struct Draining {
    pub group: i32,
    pub status: DrainStatus,
}

/// Scale-in of broker groups: wipe write permission on every name server, wait until the group's
/// messages are consumed (or timeout / force annotation), then delete the group's objects.
async fn scale_in(rmq: &RocketMQCluster, ctx: &Context, ns: &str) -> Result<Vec<Draining>> {
    let names = Names::new(rmq);
    let sts_api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    let lp = ListParams::default().labels(&broker_group_selector(&names.cluster));
    let list = sts_api
        .list(&lp)
        .await
        .map_err(kube_err("listing broker groups"))?;
    let (mut leaving, staying): (Vec<Group>, Vec<Group>) = list
        .items
        .into_iter()
        .filter_map(|s| group_of(&s).map(|g| (g, s)))
        .partition(|(g, _)| *g >= rmq.spec.broker.groups);
    leaving.sort_by_key(|(g, _)| *g);

    // a group scaled back in before it was removed: give it its write permission back
    for (_, sts) in staying
        .iter()
        .filter(|(_, s)| s.annotations().contains_key(DRAIN_STARTED_ANNOTATION))
    {
        let broker_name = sts.name_any();
        let mut restored = 0;
        for addr in names.namesrv_addr(rmq.spec.name_server.replicas).split(';') {
            restored += ctx
                .admin
                .add_write_perm(addr, &broker_name)
                .await
                .map_err(|source| Error::Admin {
                    step: "restoring write permission",
                    source,
                })?;
        }
        let patch = json!({"metadata": {"annotations": {DRAIN_STARTED_ANNOTATION: null}}});
        sts_api
            .patch(&broker_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err("cancelling drain"))?;
        ctx.event_about(
            rmq,
            Some(sts.object_ref(&())),
            EventType::Normal,
            "DrainCancelled",
            "ScaleIn",
            format!(
                "{broker_name} is wanted again; restored its write permission ({restored} topics)"
            ),
        )
        .await;
    }

    let force = rmq
        .annotations()
        .get(FORCE_SCALE_IN_ANNOTATION)
        .is_some_and(|v| v == "true");
    let timeout = rmq.spec.broker.scale_in.drain_timeout_seconds;
    let now = (ctx.now)();
    let mut draining = vec![];
    for (g, sts) in leaving {
        let broker_name = names.group(g);
        let started = sts
            .annotations()
            .get(DRAIN_STARTED_ANNOTATION)
            .and_then(|s| s.parse::<Timestamp>().ok());
        let started = match started {
            Some(t) => {
                // re-assert read-only on every pass: a broker re-registering with a new topic
                // data version would otherwise get write permission back on the name server
                for addr in names.namesrv_addr(rmq.spec.name_server.replicas).split(';') {
                    if let Err(e) = ctx.admin.wipe_write_perm(addr, &broker_name).await {
                        warn!(%broker_name, namesrv = addr, error = %e, "re-wiping write permission failed");
                    }
                }
                t
            }
            None if force => now,
            None => {
                let mut wiped = 0;
                let addrs = names.namesrv_addr(rmq.spec.name_server.replicas);
                for addr in addrs.split(';') {
                    wiped += ctx
                        .admin
                        .wipe_write_perm(addr, &broker_name)
                        .await
                        .map_err(|source| Error::Admin {
                            step: "wiping write permission",
                            source,
                        })?;
                }
                let patch = json!({"metadata": {"annotations": {DRAIN_STARTED_ANNOTATION: now.to_string()}}});
                sts_api
                    .patch(&broker_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(kube_err("marking group as draining"))?;
                ctx.event_about(
                    rmq,
                    Some(sts.object_ref(&())),
                    EventType::Normal,
                    "DrainStarted",
                    "ScaleIn",
                    format!(
                        "wiped write permission of {broker_name} on every name server ({wiped} topics); waiting for its queues to be consumed"
                    ),
                )
                .await;
                now
            }
        };
        let backlog = ctx
            .admin
            .broker_backlog(&names.broker_addr(g, 0))
            .await
            .ok();
        let waited = now.duration_since(started).as_secs();
        let why = if force {
            Some("forced by annotation")
        } else if backlog == Some(0) {
            Some("all messages consumed")
        } else if waited >= timeout {
            Some("drain timeout reached")
        } else {
            None
        };
        match why {
            Some(why) => {
                remove_group(rmq, ctx, ns, g).await?;
                ctx.event_about(
                    rmq,
                    Some(sts.object_ref(&())),
                    EventType::Normal,
                    "GroupRemoved",
                    "ScaleIn",
                    format!("removed broker group {broker_name}: {why}"),
                )
                .await;
            }
            None => {
                let backlog_txt = backlog.map_or("unknown".to_string(), |b| b.to_string());
                ctx.event_about(
                    rmq,
                    Some(sts.object_ref(&())),
                    EventType::Normal,
                    "WaitingForDrain",
                    "ScaleIn",
                    format!(
                        "{broker_name} is read-only; backlog {backlog_txt}; waited {waited}s of {timeout}s (annotate {FORCE_SCALE_IN_ANNOTATION}=true to skip)"
                    ),
                )
                .await;
                draining.push(Draining {
                    group: g,
                    status: DrainStatus {
                        started_at: started.to_string(),
                        backlog,
                    },
                });
            }
        }
    }
    Ok(draining)
}

async fn delete_ignore_missing<K>(client: &Client, ns: &str, name: &str) -> Result<()>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(kube_err("deleting object")(e)),
    }
}

async fn delete_pvcs(client: &Client, ns: &str, selector: &str) -> Result<usize> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let list = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(kube_err("listing volume claims"))?;
    for pvc in &list.items {
        delete_ignore_missing::<PersistentVolumeClaim>(client, ns, &pvc.name_any()).await?;
    }
    Ok(list.items.len())
}

async fn remove_group(rmq: &RocketMQCluster, ctx: &Context, ns: &str, g: i32) -> Result<()> {
    let name = Names::new(rmq).group(g);
    let c = &ctx.client;
    for kind in ["StatefulSet", "PodDisruptionBudget", "Service", "ConfigMap"] {
        match kind {
            "StatefulSet" => delete_ignore_missing::<StatefulSet>(c, ns, &name).await?,
            "PodDisruptionBudget" => {
                delete_ignore_missing::<PodDisruptionBudget>(c, ns, &name).await?
            }
            "Service" => delete_ignore_missing::<Service>(c, ns, &name).await?,
            _ => delete_ignore_missing::<ConfigMap>(c, ns, &name).await?,
        }
        ctx.event(
            rmq,
            EventType::Normal,
            "Deleted",
            "ScaleIn",
            format!("Deleted {kind} {name}"),
        )
        .await;
    }
    let delete_data = rmq
        .spec
        .broker
        .storage
        .as_ref()
        .is_some_and(|s| s.reclaim_policy == ReclaimPolicy::Delete);
    if delete_data {
        let sel = format!(
            "{},{LABEL_GROUP}={g}",
            broker_group_selector(&rmq.name_any())
        );
        let n = delete_pvcs(c, ns, &sel).await?;
        info!(group = g, volumes = n, "deleted volumes of removed group");
    }
    Ok(())
}

/// Finalizer: owned objects go with the CR through owner references; volumes are deleted only
/// when the storage policy says `Delete`.
async fn cleanup(rmq: &RocketMQCluster, ctx: &Context) -> Result<()> {
    let ns = rmq.namespace().unwrap_or_else(|| "default".into());
    let cluster = rmq.name_any();
    let mut notes = vec![];
    for (component, storage) in [
        ("broker", rmq.spec.broker.storage.as_ref()),
        ("namesrv", rmq.spec.name_server.storage.as_ref()),
    ] {
        match storage.map(|s| s.reclaim_policy) {
            Some(ReclaimPolicy::Delete) => {
                let sel = format!("{LABEL_INSTANCE}={cluster},{LABEL_COMPONENT}={component}");
                let n = delete_pvcs(&ctx.client, &ns, &sel).await?;
                notes.push(format!("deleted {n} {component} volume claims"));
            }
            Some(ReclaimPolicy::Retain) => {
                notes.push(format!("retained {component} volume claims"))
            }
            None => {}
        }
    }
    let note = if notes.is_empty() {
        "cluster deleted; no persistent volumes".to_string()
    } else {
        format!("cluster deleted; {}", notes.join(", "))
    };
    ctx.event(rmq, EventType::Normal, "Cleanup", "Delete", note)
        .await;
    Ok(())
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    rmq: &RocketMQCluster,
    ctx: &Context,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: Some((ctx.now)().to_string()),
        observed_generation: rmq.metadata.generation,
    }
}

/// Replaces the condition of the same type, keeping its transition time if the status is unchanged.
pub fn set_condition(conds: &mut Vec<Condition>, mut new: Condition) {
    if let Some(old) = conds.iter_mut().find(|c| c.type_ == new.type_) {
        if old.status == new.status {
            new.last_transition_time = old.last_transition_time.clone();
        }
        *old = new;
    } else {
        conds.push(new);
    }
}

fn sts_ready(sts: Option<&StatefulSet>, want: i32) -> (i32, bool, bool) {
    let Some(sts) = sts else {
        return (0, false, true);
    };
    let st = sts.status.clone().unwrap_or_default();
    let ready = st.ready_replicas.unwrap_or(0);
    let generation_seen =
        st.observed_generation.unwrap_or(0) >= sts.metadata.generation.unwrap_or(0);
    let updated = st.updated_replicas.unwrap_or(0) >= want
        && st.current_revision.is_some()
        && st.current_revision == st.update_revision;
    let rolling = !(generation_seen && updated && ready >= want && st.replicas == want);
    (ready, ready >= want, rolling)
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Computes status from the StatefulSets, pods and what the name servers report.
async fn observe(
    rmq: &RocketMQCluster,
    ctx: &Context,
    ns: &str,
    draining: &[Draining],
) -> Result<RocketMQClusterStatus> {
    let names = Names::new(rmq);
    let sts_api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    let pod_api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let mut status = rmq.status.clone().unwrap_or_default();
    let addr = names.namesrv_addr(rmq.spec.name_server.replicas);
    status.observed_generation = rmq.metadata.generation;
    status.name_server_address = Some(addr.clone());

    let ns_sts = sts_api
        .get_opt(&names.namesrv())
        .await
        .map_err(kube_err("reading name servers"))?;
    let (ns_ready, ns_all_ready, mut rolling) =
        sts_ready(ns_sts.as_ref(), rmq.spec.name_server.replicas);
    status.name_servers_ready = ns_ready;

    // ask every name server what is registered: a master counts as registered only when every
    // name server that answers knows it (clients may ask any of them)
    let mut views: Vec<ClusterView> = vec![];
    let mut ns_errors: Vec<String> = vec![];
    for a in addr.split(';') {
        match ctx.admin.cluster_info(a).await {
            Ok(v) => views.push(v),
            Err(e) => ns_errors.push(e.to_string()),
        }
    }

    let pods = pod_api
        .list(&ListParams::default().labels(&broker_group_selector(&names.cluster)))
        .await
        .map_err(kube_err("listing broker pods"))?;
    let mut pods_by_group: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for p in &pods.items {
        if let Some(g) = p.labels().get(LABEL_GROUP) {
            pods_by_group.entry(g.clone()).or_default().push(p);
        }
    }

    let mut groups = vec![];
    let mut ready_groups = 0;
    let mut unregistered = vec![];
    let want = rmq.spec.broker.replicas_per_group;
    let leaving: Vec<i32> = draining.iter().map(|d| d.group).collect();
    for g in (0..rmq.spec.broker.groups).chain(leaving.iter().copied()) {
        let broker_name = names.group(g);
        let sts = sts_api
            .get_opt(&broker_name)
            .await
            .map_err(kube_err("reading broker group"))?;
        let (_, all_ready, group_rolling) = sts_ready(sts.as_ref(), want);
        let mut pod_status: Vec<PodStatus> = pods_by_group
            .get(&g.to_string())
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let name = p.name_any();
                        let master = name.rsplit('-').next() == Some("0");
                        PodStatus {
                            role: if master { "MASTER" } else { "SLAVE" }.into(),
                            ready: pod_ready(p),
                            name,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        pod_status.sort_by(|a, b| a.name.cmp(&b.name));
        let ids: Vec<i64> = views
            .iter()
            .filter_map(|v| v.brokers.get(&broker_name))
            .flat_map(|m| m.keys().copied())
            .collect::<std::collections::BTreeSet<i64>>()
            .into_iter()
            .collect();
        let master_registered = !views.is_empty()
            && views.iter().all(|v| {
                v.brokers
                    .get(&broker_name)
                    .is_some_and(|m| m.contains_key(&0))
            });
        let drain = draining
            .iter()
            .find(|d| d.group == g)
            .map(|d| d.status.clone());
        let ready = all_ready && master_registered && drain.is_none();
        if drain.is_none() {
            rolling |= group_rolling;
            if ready {
                ready_groups += 1;
            }
            // pods ready, or slaves registered, but no master: writes to this group fail
            if (all_ready || !ids.is_empty()) && !master_registered {
                unregistered.push(broker_name.clone());
            }
        }
        groups.push(GroupStatus {
            broker_name,
            pods: pod_status,
            registered_broker_ids: ids,
            master_registered,
            ready,
            draining: drain,
        });
    }
    status.groups = groups;
    status.ready_groups = Some(format!("{ready_groups}/{}", rmq.spec.broker.groups));

    let all_groups = ready_groups == rmq.spec.broker.groups;
    let (ready, ready_reason, ready_msg) = if !ns_all_ready {
        (
            false,
            "NameServersNotReady",
            format!(
                "{ns_ready}/{} name servers ready",
                rmq.spec.name_server.replicas
            ),
        )
    } else if views.is_empty() {
        (false, "NameServerUnreachable", ns_errors.join("; "))
    } else if !all_groups {
        (
            false,
            "BrokerGroupsNotReady",
            format!(
                "{ready_groups}/{} broker groups ready with a registered master",
                rmq.spec.broker.groups
            ),
        )
    } else {
        (
            true,
            "AllGroupsReady",
            "name servers ready and every group's master registered".to_string(),
        )
    };
    let (progressing, prog_reason, prog_msg) = if !draining.is_empty() {
        let list: Vec<String> = draining.iter().map(|d| names.group(d.group)).collect();
        (
            true,
            "DrainingBrokerGroups",
            format!("waiting for {} to be drained", list.join(", ")),
        )
    } else if rolling {
        (
            true,
            "RollingUpdate",
            "StatefulSets are being created or updated".to_string(),
        )
    } else {
        (
            false,
            "Stable",
            "all StatefulSets are up to date".to_string(),
        )
    };
    let (degraded, deg_reason, deg_msg) = if ns_all_ready && !ns_errors.is_empty() {
        (
            true,
            "NameServerUnreachable",
            format!(
                "{} of {} name servers do not answer GET_BROKER_CLUSTER_INFO: {}",
                ns_errors.len(),
                rmq.spec.name_server.replicas,
                ns_errors.join("; ")
            ),
        )
    } else if !unregistered.is_empty() {
        (
            true,
            "MasterNotRegistered",
            format!(
                "no master (brokerId 0) registered on every name server for {}",
                unregistered.join(", ")
            ),
        )
    } else {
        (false, "AsExpected", String::new())
    };
    set_condition(
        &mut status.conditions,
        condition("Ready", ready, ready_reason, &ready_msg, rmq, ctx),
    );
    set_condition(
        &mut status.conditions,
        condition("Progressing", progressing, prog_reason, &prog_msg, rmq, ctx),
    );
    set_condition(
        &mut status.conditions,
        condition("Degraded", degraded, deg_reason, &deg_msg, rmq, ctx),
    );
    set_condition(
        &mut status.conditions,
        condition(
            "ReconcileSuccess",
            true,
            "Success",
            "all objects applied",
            rmq,
            ctx,
        ),
    );
    status.phase = Some(
        if !draining.is_empty() {
            "Draining"
        } else if degraded {
            "Degraded"
        } else if ready {
            "Ready"
        } else if status.groups.iter().all(|g| g.pods.is_empty()) && ns_ready == 0 {
            "Creating"
        } else {
            "Progressing"
        }
        .into(),
    );
    Ok(status)
}

/// Writes status with server-side apply, only when it changed.
async fn write_status(
    api: &Api<RocketMQCluster>,
    rmq: &RocketMQCluster,
    status: RocketMQClusterStatus,
) -> Result<()> {
    if rmq.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let patch = json!({
        "apiVersion": "rocketmq.rs/v1alpha1",
        "kind": "RocketMQCluster",
        "status": status,
    });
    api.patch_status(
        &rmq.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(kube_err("writing status"))?;
    Ok(())
}

/// Runs the controller until shutdown: watches `RocketMQCluster`s (one namespace or all) and the
/// objects they own.
pub async fn run(client: Client, namespace: Option<String>, ctx: Arc<Context>) {
    let rmqs: Api<RocketMQCluster> = scoped(&client, &namespace);
    if let Err(e) = rmqs.list(&ListParams::default().limit(1)).await {
        tracing::error!(error = %e, "RocketMQCluster CRD is not queryable; install it with `rocketmq-operator crd | kubectl apply -f -`");
        std::process::exit(1);
    }
    let managed =
        watcher::Config::default().labels(&format!("{}={MANAGER}", resources::LABEL_MANAGED_BY));
    Controller::new(rmqs, watcher::Config::default().any_semantic())
        .owns(scoped::<StatefulSet>(&client, &namespace), managed.clone())
        .owns(scoped::<Service>(&client, &namespace), managed.clone())
        .owns(scoped::<ConfigMap>(&client, &namespace), managed.clone())
        .owns(scoped::<PodDisruptionBudget>(&client, &namespace), managed)
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                warn!(error = %e, "reconcile loop error");
            }
        })
        .await;
}

/// `Api` over one namespace, or all namespaces.
fn scoped<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}
