//! Topic subcommands: list, route, status, create/update, delete.

use client::Result;
use client::admin::Admin;
use client::admin::table::Table;
use client::admin::time::format_ms;
use remoting::protocol::body::{TopicConfig, perm};
use serde_json::json;

use super::{targets, topic_masters};
use crate::cli::Target;
use crate::output::Output;

/// `topicList`: every topic, optionally by cluster.
pub(super) async fn topic_list(admin: &Admin, cluster_model: bool) -> Result<Output> {
    if cluster_model {
        let info = admin.cluster_info().await?;
        let mut t = Table::new(["Cluster Name", "Topic"]);
        for cluster in info.cluster_addr_table.keys() {
            for topic in admin.topics_by_cluster(cluster).await?.topic_list {
                t.row([cluster.clone(), topic]);
            }
        }
        Ok(Output::table(t))
    } else {
        let topics: Vec<String> = admin.topic_list().await?.topic_list.into_iter().collect();
        Ok(Output {
            text: topics.iter().map(|t| format!("{t}\n")).collect(),
            json: json!(topics),
        })
    }
}

/// `topicRoute`: the route of a topic, as JSON or a table.
pub(super) async fn topic_route(admin: &Admin, topic: String, list: bool) -> Result<Output> {
    let route = admin.topic_route(&topic).await?;
    let route_json = serde_json::to_value(&route)?;
    if list {
        let mut t = Table::new([
            "ClusterName",
            "BrokerName",
            "BrokerAddrs",
            "ReadQueue",
            "WriteQueue",
            "Perm",
        ]);
        for qd in &route.queue_datas {
            let bd = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == qd.broker_name);
            let addrs = bd
                .map(|b| {
                    b.broker_addrs
                        .iter()
                        .map(|(id, a)| format!("{id}:{a}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            t.row([
                bd.map(|b| b.cluster.clone()).unwrap_or_default(),
                qd.broker_name.clone(),
                addrs,
                qd.read_queue_nums.to_string(),
                qd.write_queue_nums.to_string(),
                perm::to_string(qd.perm),
            ]);
        }
        Ok(Output {
            text: t.render(),
            json: route_json,
        })
    } else {
        Ok(Output {
            text: format!("{}\n", serde_json::to_string_pretty(&route_json)?),
            json: route_json,
        })
    }
}

/// `topicStatus`: min/max offsets of each queue of a topic.
pub(super) async fn topic_status(admin: &Admin, topic: String) -> Result<Output> {
    let mut t = Table::new([
        "Broker Name",
        "QID",
        "Min Offset",
        "Max Offset",
        "Last Updated",
    ]);
    for (name, addr) in topic_masters(admin, &topic).await? {
        let stats = admin.topic_stats(&addr, &topic).await?;
        for (mq, o) in &stats.offset_table {
            let last = if o.last_update_timestamp > 0 {
                format_ms(o.last_update_timestamp)
            } else {
                String::new()
            };
            t.row([
                name.clone(),
                mq.queue_id.to_string(),
                o.min_offset.to_string(),
                o.max_offset.to_string(),
                last,
            ]);
        }
    }
    Ok(Output::table(t))
}

/// `updateTopic`: create or update a topic on the target brokers.
#[allow(clippy::too_many_arguments)]
pub(super) async fn update_topic(
    admin: &Admin,
    target: Target,
    topic: String,
    read: i32,
    write: i32,
    perm: i32,
    order: bool,
    unit: bool,
    has_unit_sub: bool,
) -> Result<Output> {
    let mut tc = TopicConfig::new(topic.clone(), read);
    tc.write_queue_nums = write;
    tc.perm = perm;
    tc.order = order;
    tc.topic_sys_flag = i32::from(unit) | (i32::from(has_unit_sub) << 1);
    let mut lines = Vec::new();
    let addrs = targets(admin, &target).await?;
    for addr in &addrs {
        admin.create_topic(addr, &tc).await?;
        lines.push(format!("create topic to {addr} success."));
    }
    if order && let Some(cluster) = &target.cluster {
        let brokers = admin.broker_addrs(Some(cluster), true).await?;
        let conf: Vec<String> = brokers
            .iter()
            .map(|b| format!("{}:{}", b.broker_name, write))
            .collect();
        admin
            .put_kv_config("ORDER_TOPIC_CONFIG", &topic, &conf.join(";"))
            .await?;
        lines.push(format!(
            "set cluster orderConf. isOrder={order}, orderConf=[{}]",
            conf.join(";")
        ));
    }
    let tc_json = serde_json::to_value(&tc)?;
    lines.push(tc_json.to_string());
    Ok(Output {
        text: lines.iter().map(|l| format!("{l}\n")).collect(),
        json: json!({"brokers": addrs, "topicConfig": tc_json}),
    })
}

/// `deleteTopic`: delete a topic from a cluster's brokers and the name servers.
pub(super) async fn delete_topic(admin: &Admin, topic: String, cluster: String) -> Result<Output> {
    let mut lines = Vec::new();
    for b in admin.broker_addrs(Some(&cluster), true).await? {
        admin.delete_topic_in_broker(&b.addr, &topic).await?;
    }
    lines.push(format!(
        "delete topic [{topic}] from cluster [{cluster}] success."
    ));
    admin
        .delete_topic_in_namesrv(&topic, Some(&cluster))
        .await?;
    lines.push(format!("delete topic [{topic}] from NameServer success."));
    Ok(Output::lines(lines))
}
