//! Applying desired objects: server-side apply, skipped when the live object already matches.

use super::*;

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

pub(super) async fn ensure_managed(client: &Client, ns: &str, m: &Managed) -> Result<Applied> {
    match m {
        Managed::ConfigMap(o) => ensure(client, ns, o).await,
        Managed::Service(o) => ensure(client, ns, o).await,
        Managed::Pdb(o) => ensure(client, ns, o).await,
        Managed::StatefulSet(o) => ensure(client, ns, o.as_ref()).await,
    }
}

/// Apply branch: objects, scale-in, status.
pub(super) async fn apply(
    rmq: &RocketMQCluster,
    ctx: &Context,
    api: &Api<RocketMQCluster>,
) -> Result<Action> {
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
