//! Observing the cluster (objects, pods, what the name servers report) and writing status
//! with conditions.

use super::*;

pub(super) fn condition(
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

pub(super) fn sts_ready(sts: Option<&StatefulSet>, want: i32) -> (i32, bool, bool) {
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

pub(super) fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Computes status from the StatefulSets, pods and what the name servers report.
pub(super) async fn observe(
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
pub(super) async fn write_status(
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
