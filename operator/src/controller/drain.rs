//! Scale-in of broker groups (wipe write permission, wait for the backlog, remove) and the
//! finalizer's clean-up.

use super::*;

pub(super) fn broker_group_selector(cluster: &str) -> String {
    format!("{LABEL_INSTANCE}={cluster},{LABEL_COMPONENT}=broker")
}

/// Group index of a broker StatefulSet, from its label.
pub(super) fn group_of(sts: &StatefulSet) -> Option<i32> {
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
pub(super) async fn scale_in(
    rmq: &RocketMQCluster,
    ctx: &Context,
    ns: &str,
) -> Result<Vec<Draining>> {
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

pub(super) async fn delete_ignore_missing<K>(client: &Client, ns: &str, name: &str) -> Result<()>
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

pub(super) async fn delete_pvcs(client: &Client, ns: &str, selector: &str) -> Result<usize> {
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

pub(super) async fn remove_group(
    rmq: &RocketMQCluster,
    ctx: &Context,
    ns: &str,
    g: i32,
) -> Result<()> {
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
pub(super) async fn cleanup(rmq: &RocketMQCluster, ctx: &Context) -> Result<()> {
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
