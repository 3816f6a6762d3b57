//! The reconciler: applies the objects built in [`crate::resources`], drains leaving broker
//! groups, runs the finalizer and writes status.

mod apply;
mod drain;
mod status;

pub use apply::*;
pub use drain::*;
pub use status::*;

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
