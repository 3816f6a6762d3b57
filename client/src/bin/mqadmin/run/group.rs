//! Consumer/producer group subcommands: subscription groups, progress, connections, offset reset.

use std::collections::BTreeMap;

use client::admin::Admin;
use client::admin::table::Table;
use client::admin::time::{format_ms, parse_timestamp};
use client::{ClientError, Result};
use remoting::protocol::body::SubscriptionGroupConfig;
use serde_json::json;

use super::{invalid, targets, topic_masters};
use crate::cli::Target;
use crate::output::Output;

/// `updateSubGroup`: create or update a subscription group on the target brokers.
#[allow(clippy::too_many_arguments)]
pub(super) async fn update_sub_group(
    admin: &Admin,
    target: Target,
    group: String,
    consume_enable: Option<bool>,
    from_min: Option<bool>,
    broadcast: Option<bool>,
    retry_queues: Option<i32>,
    retry_max: Option<i32>,
    broker_id: Option<i64>,
    slow_broker: Option<i64>,
    notify: Option<bool>,
) -> Result<Output> {
    // Options not given keep Apache's defaults.
    let d = SubscriptionGroupConfig::default();
    let cfg = SubscriptionGroupConfig {
        group_name: group,
        consume_enable: consume_enable.unwrap_or(d.consume_enable),
        consume_from_min_enable: from_min.unwrap_or(d.consume_from_min_enable),
        consume_broadcast_enable: broadcast.unwrap_or(d.consume_broadcast_enable),
        retry_queue_nums: retry_queues.unwrap_or(d.retry_queue_nums),
        retry_max_times: retry_max.unwrap_or(d.retry_max_times),
        broker_id: broker_id.unwrap_or(d.broker_id),
        which_broker_when_consume_slowly: slow_broker.unwrap_or(d.which_broker_when_consume_slowly),
        notify_consumer_ids_changed_enable: notify.unwrap_or(d.notify_consumer_ids_changed_enable),
    };
    let mut lines = Vec::new();
    let addrs = targets(admin, &target).await?;
    for addr in &addrs {
        admin.create_subscription_group(addr, &cfg).await?;
        lines.push(format!("create subscription group to {addr} success."));
    }
    let cfg_json = serde_json::to_value(&cfg)?;
    lines.push(cfg_json.to_string());
    Ok(Output {
        text: lines.iter().map(|l| format!("{l}\n")).collect(),
        json: json!({"brokers": addrs, "subscriptionGroupConfig": cfg_json}),
    })
}

/// `deleteSubGroup`: delete a subscription group from the target brokers.
pub(super) async fn delete_sub_group(
    admin: &Admin,
    target: Target,
    group: String,
    remove_offset: bool,
) -> Result<Output> {
    let mut lines = Vec::new();
    for addr in targets(admin, &target).await? {
        admin
            .delete_subscription_group(&addr, &group, remove_offset)
            .await?;
        lines.push(format!(
            "delete subscription group [{group}] from broker [{addr}] success."
        ));
    }
    Ok(Output::lines(lines))
}

/// `consumerProgress -g`: per-queue progress of one consumer group.
pub(super) async fn consumer_progress(
    admin: &Admin,
    group: String,
    topic: Option<String>,
) -> Result<Output> {
    let mut merged = BTreeMap::new();
    let mut tps = 0.0;
    for b in admin.broker_addrs(None, true).await? {
        match admin.consume_stats(&b.addr, &group, topic.as_deref()).await {
            Ok(s) => {
                tps += s.consume_tps;
                merged.extend(s.offset_table);
            }
            Err(ClientError::Broker { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if merged.is_empty() {
        return Err(invalid(format!(
            "consumer group {group} has no consume progress (no offset committed)"
        )));
    }
    let mut t = Table::new([
        "Topic",
        "Broker Name",
        "QID",
        "Broker Offset",
        "Consumer Offset",
        "Diff",
        "LastTime",
    ]);
    let mut diff_total = 0;
    for (mq, o) in &merged {
        let diff = (o.broker_offset - o.consumer_offset).max(0);
        diff_total += diff;
        let last = if o.last_timestamp > 0 {
            format_ms(o.last_timestamp)
        } else {
            "N/A".into()
        };
        t.row([
            mq.topic.clone(),
            mq.broker_name.clone(),
            mq.queue_id.to_string(),
            o.broker_offset.to_string(),
            o.consumer_offset.to_string(),
            diff.to_string(),
            last,
        ]);
    }
    Ok(Output {
        text: format!(
            "{}\nConsume TPS: {tps:.2}\nConsume Diff Total: {diff_total}\n",
            t.render()
        ),
        json: json!({"queues": t.to_json(), "consumeTps": tps, "diffTotal": diff_total}),
    })
}

/// `consumerProgress` without `-g`: a summary line per subscription group.
pub(super) async fn consumer_progress_all(admin: &Admin) -> Result<Output> {
    let masters = admin.broker_addrs(None, true).await?;
    let mut groups = std::collections::BTreeSet::new();
    for b in &masters {
        groups.extend(
            admin
                .all_subscription_groups(&b.addr)
                .await?
                .subscription_group_table
                .into_keys(),
        );
    }
    let mut t = Table::new([
        "Group",
        "Count",
        "Version",
        "Type",
        "Model",
        "TPS",
        "Diff Total",
    ]);
    for g in groups {
        let mut conn = None;
        let (mut tps, mut diff) = (0.0, 0);
        for b in &masters {
            if conn.is_none() {
                conn = admin.consumer_connection(&b.addr, &g).await.ok();
            }
            if let Ok(s) = admin.consume_stats(&b.addr, &g, None).await {
                tps += s.consume_tps;
                diff += s.diff_total();
            }
        }
        let (count, version, ty, model) = match &conn {
            Some(c) => (
                c.connection_set.len().to_string(),
                c.connection_set
                    .first()
                    .map(|x| x.version.to_string())
                    .unwrap_or_default(),
                c.consume_type
                    .map(|x| x.name().to_owned())
                    .unwrap_or_default(),
                c.message_model
                    .map(|x| x.name().to_owned())
                    .unwrap_or_default(),
            ),
            None => ("0".into(), String::new(), String::new(), String::new()),
        };
        t.row([
            g,
            count,
            version,
            ty,
            model,
            format!("{tps:.0}"),
            diff.to_string(),
        ]);
    }
    Ok(Output::table(t))
}

/// `consumerConnection`: the clients and subscriptions of a consumer group.
pub(super) async fn consumer_connection(
    admin: &Admin,
    group: String,
    broker: Option<String>,
) -> Result<Output> {
    let addrs = match broker {
        Some(b) => vec![b],
        None => admin
            .broker_addrs(None, true)
            .await?
            .into_iter()
            .map(|b| b.addr)
            .collect(),
    };
    let mut last_err = None;
    for addr in addrs {
        match admin.consumer_connection(&addr, &group).await {
            Ok(c) => {
                let mut t = Table::new(["ClientId", "ClientAddr", "Language", "Version"]);
                for x in &c.connection_set {
                    t.row([
                        x.client_id.clone(),
                        x.client_addr.clone(),
                        x.language.clone(),
                        x.version.to_string(),
                    ]);
                }
                let mut s = Table::new(["Topic", "SubExpression"]);
                for (topic, sub) in &c.subscription_table {
                    s.row([topic.clone(), sub.sub_string.clone()]);
                }
                let name = |o: Option<&'static str>| o.unwrap_or("").to_owned();
                let text = format!(
                    "{}\nBelow is subscription:\n{}\nConsumeType: {}\nMessageModel: {}\nConsumeFromWhere: {}\n",
                    t.render(),
                    s.render(),
                    name(c.consume_type.map(|x| x.name())),
                    name(c.message_model.map(|x| x.name())),
                    name(c.consume_from_where.map(|x| x.name()))
                );
                return Ok(Output {
                    text,
                    json: serde_json::to_value(&c)?,
                });
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| invalid("no broker")))
}

/// `producerConnection`: the clients of a producer group on a topic.
pub(super) async fn producer_connection(
    admin: &Admin,
    group: String,
    topic: String,
) -> Result<Output> {
    let mut last_err = None;
    for (_, addr) in topic_masters(admin, &topic).await? {
        match admin.producer_connection(&addr, &group).await {
            Ok(c) => {
                let mut t = Table::new(["ClientId", "ClientAddr", "Language", "Version"]);
                for x in &c.connection_set {
                    t.row([
                        x.client_id.clone(),
                        x.client_addr.clone(),
                        x.language.clone(),
                        x.version.to_string(),
                    ]);
                }
                return Ok(Output::table(t));
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| invalid("no broker")))
}

/// `resetOffsetByTime`: move a group's offsets on a topic back (or forward) to a time.
pub(super) async fn reset_offset_by_time(
    admin: &Admin,
    group: String,
    topic: String,
    timestamp: String,
    force: bool,
) -> Result<Output> {
    let ts = parse_timestamp(&timestamp).ok_or_else(|| {
        invalid(format!(
            "bad timestamp {timestamp:?} (now | ms | yyyy-MM-dd#HH:mm:ss:SSS)"
        ))
    })?;
    let mut t = Table::new(["brokerName", "queueId", "offset"]);
    for (_, addr) in topic_masters(admin, &topic).await? {
        for (mq, o) in admin
            .reset_offset_by_time(&addr, &topic, &group, ts, force)
            .await?
        {
            t.row([mq.broker_name, mq.queue_id.to_string(), o.to_string()]);
        }
    }
    let text = format!(
        "rollback consumer offset by specified group[{group}], topic[{topic}], force[{force}], timestamp(string)[{timestamp}], timestamp(long)[{ts}]\n{}",
        t.render()
    );
    Ok(Output {
        text,
        json: t.to_json(),
    })
}
