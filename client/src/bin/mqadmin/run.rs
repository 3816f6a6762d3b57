//! The subcommands, each over [`client::admin::Admin`].

use std::collections::BTreeMap;

use client::admin::Admin;
use client::admin::table::Table;
use client::admin::time::{format_ms, parse_timestamp};
use client::consumer::PullConsumer;
use client::{ClientConfig, ClientError, Message, MessageQueue, Producer, ProducerConfig, Result};
use remoting::protocol::body::{SubscriptionGroupConfig, TopicConfig, perm};
use serde_json::{Value, json};

use crate::cli::{Cmd, Target};
use crate::output::{Output, message};

fn invalid(msg: impl Into<String>) -> ClientError {
    ClientError::Invalid(msg.into())
}

/// Broker addresses chosen by `-b` or `-c`.
async fn targets(admin: &Admin, t: &Target) -> Result<Vec<String>> {
    match (&t.broker, &t.cluster) {
        (Some(b), _) => Ok(vec![b.clone()]),
        (None, Some(c)) => Ok(admin
            .broker_addrs(Some(c), true)
            .await?
            .into_iter()
            .map(|b| b.addr)
            .collect()),
        (None, None) => Err(invalid("give a broker address (-b) or a cluster name (-c)")),
    }
}

/// Master addresses serving `topic`.
async fn topic_masters(admin: &Admin, topic: &str) -> Result<Vec<(String, String)>> {
    let route = admin.topic_route(topic).await?;
    Ok(route
        .broker_datas
        .iter()
        .filter_map(|b| {
            b.master_addr()
                .map(|a| (b.broker_name.clone(), a.to_owned()))
        })
        .collect())
}

pub async fn run(client: ClientConfig, cmd: Cmd) -> Result<Output> {
    let admin = Admin::new(client.clone());
    match cmd {
        Cmd::ClusterList { cluster, more } => {
            let mut t = if more {
                Table::new([
                    "Cluster Name",
                    "Broker Name",
                    "BID",
                    "Addr",
                    "Version",
                    "InTotalToday",
                    "OutTotalToday",
                    "SPACE",
                ])
            } else {
                Table::new([
                    "Cluster Name",
                    "Broker Name",
                    "BID",
                    "Addr",
                    "Version",
                    "Runtime",
                    "SPACE",
                ])
            };
            for b in admin.broker_addrs(cluster.as_deref(), false).await? {
                let info = admin.broker_runtime_info(&b.addr).await.unwrap_or_default();
                let get = |k: &str| info.get(k).cloned().unwrap_or_else(|| "-".into());
                let mut row = vec![
                    b.cluster,
                    b.broker_name,
                    b.broker_id.to_string(),
                    b.addr,
                    get("brokerVersionDesc"),
                ];
                if more {
                    row.extend([get("msgPutTotalTodayNow"), get("msgGetTotalTodayNow")]);
                } else {
                    row.push(get("runtime"));
                }
                row.push(get("commitLogDiskRatio"));
                t.row(row);
            }
            Ok(Output::table(t))
        }
        Cmd::TopicList { cluster_model } => {
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
                let topics: Vec<String> =
                    admin.topic_list().await?.topic_list.into_iter().collect();
                Ok(Output {
                    text: topics.iter().map(|t| format!("{t}\n")).collect(),
                    json: json!(topics),
                })
            }
        }
        Cmd::TopicRoute { topic, list } => {
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
        Cmd::TopicStatus { topic } => {
            let mut t = Table::new([
                "Broker Name",
                "QID",
                "Min Offset",
                "Max Offset",
                "Last Updated",
            ]);
            for (name, addr) in topic_masters(&admin, &topic).await? {
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
        Cmd::UpdateTopic {
            target,
            topic,
            read,
            write,
            perm: p,
            order,
            unit,
            has_unit_sub,
        } => {
            let mut tc = TopicConfig::new(topic.clone(), read);
            tc.write_queue_nums = write;
            tc.perm = p;
            tc.order = order;
            tc.topic_sys_flag = i32::from(unit) | (i32::from(has_unit_sub) << 1);
            let mut lines = Vec::new();
            let addrs = targets(&admin, &target).await?;
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
        Cmd::DeleteTopic { topic, cluster } => {
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
        Cmd::UpdateSubGroup {
            target,
            group,
            consume_enable,
            from_min,
            broadcast,
            retry_queues,
            retry_max,
            broker_id,
            slow_broker,
            notify,
        } => {
            let mut cfg = SubscriptionGroupConfig {
                group_name: group,
                ..Default::default()
            };
            if let Some(v) = consume_enable {
                cfg.consume_enable = v;
            }
            if let Some(v) = from_min {
                cfg.consume_from_min_enable = v;
            }
            if let Some(v) = broadcast {
                cfg.consume_broadcast_enable = v;
            }
            if let Some(v) = retry_queues {
                cfg.retry_queue_nums = v;
            }
            if let Some(v) = retry_max {
                cfg.retry_max_times = v;
            }
            if let Some(v) = broker_id {
                cfg.broker_id = v;
            }
            if let Some(v) = slow_broker {
                cfg.which_broker_when_consume_slowly = v;
            }
            if let Some(v) = notify {
                cfg.notify_consumer_ids_changed_enable = v;
            }
            let mut lines = Vec::new();
            let addrs = targets(&admin, &target).await?;
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
        Cmd::DeleteSubGroup {
            target,
            group,
            remove_offset,
        } => {
            let mut lines = Vec::new();
            for addr in targets(&admin, &target).await? {
                admin
                    .delete_subscription_group(&addr, &group, remove_offset)
                    .await?;
                lines.push(format!(
                    "delete subscription group [{group}] from broker [{addr}] success."
                ));
            }
            Ok(Output::lines(lines))
        }
        Cmd::BrokerStatus { target } => {
            let addrs = targets(&admin, &target).await?;
            let mut t = if addrs.len() > 1 {
                Table::new(["Broker", "Key", "Value"])
            } else {
                Table::new(["Key", "Value"])
            };
            let mut js = serde_json::Map::new();
            for addr in &addrs {
                let info = admin.broker_runtime_info(addr).await?;
                for (k, v) in &info {
                    if addrs.len() > 1 {
                        t.row([addr.clone(), k.clone(), v.clone()]);
                    } else {
                        t.row([k.clone(), v.clone()]);
                    }
                }
                js.insert(addr.clone(), serde_json::to_value(info)?);
            }
            Ok(Output {
                text: t.render(),
                json: Value::Object(js),
            })
        }
        Cmd::GetBrokerConfig { target } => {
            let mut text = String::new();
            let mut js = serde_json::Map::new();
            for addr in targets(&admin, &target).await? {
                let cfg = admin.broker_config(&addr).await?;
                text.push_str(&format!("============{addr}============\n"));
                let w = cfg.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in &cfg {
                    text.push_str(&format!("{k:<w$} = {v}\n"));
                }
                js.insert(addr, serde_json::to_value(cfg)?);
            }
            Ok(Output {
                text,
                json: Value::Object(js),
            })
        }
        Cmd::UpdateBrokerConfig { target, key, value } => {
            let props: BTreeMap<String, String> = [(key, value)].into();
            let mut lines = Vec::new();
            for addr in targets(&admin, &target).await? {
                admin.update_broker_config(&addr, &props).await?;
                lines.push(format!("update broker config success, {addr}"));
            }
            Ok(Output::lines(lines))
        }
        Cmd::ConsumerProgress {
            group: Some(group),
            topic,
        } => {
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
        Cmd::ConsumerProgress { group: None, .. } => {
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
        Cmd::ConsumerConnection { group, broker } => {
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
        Cmd::ProducerConnection { group, topic } => {
            let mut last_err = None;
            for (_, addr) in topic_masters(&admin, &topic).await? {
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
        Cmd::QueryMsgById {
            msg_id,
            group: Some(group),
            client_id: Some(client_id),
            ..
        } => {
            let r = admin
                .consume_message_directly(&group, &client_id, &msg_id)
                .await?;
            let text = format!("ConsumeMessageDirectlyResult: {r}\n");
            Ok(Output { text, json: r })
        }
        Cmd::QueryMsgById { msg_id, topic, .. } => match admin.view_message(&msg_id).await {
            Ok(m) => Ok(message(&m)),
            Err(ClientError::Invalid(_)) if topic.is_some() => {
                let topic = topic.unwrap_or_default();
                let found = admin
                    .query_message(&topic, &msg_id, 32, 0, i64::MAX, true)
                    .await?;
                let m = found
                    .first()
                    .ok_or_else(|| invalid(format!("message {msg_id} not found")))?;
                Ok(message(m))
            }
            Err(e) => Err(e),
        },
        Cmd::QueryMsgByKey {
            topic,
            key,
            begin,
            end,
            max,
        } => {
            let found = admin
                .query_message(&topic, &key, max, begin, end, false)
                .await?;
            let mut t = Table::new(["Message ID", "QID", "Offset"]);
            for m in found
                .iter()
                .filter(|m| m.properties.keys().any(|k| k == key))
            {
                t.row([
                    m.msg_id(),
                    m.queue_id.to_string(),
                    m.queue_offset.to_string(),
                ]);
            }
            Ok(Output::table(t))
        }
        Cmd::QueryMsgByOffset {
            topic,
            broker,
            queue,
            offset,
        } => {
            let pc = PullConsumer::start(client, "TOOLS_CONSUMER");
            let mq = MessageQueue {
                topic,
                broker_name: broker,
                queue_id: queue,
            };
            pc.fetch_subscribe_message_queues(&mq.topic).await?;
            let r = pc.pull(&mq, "*", offset, 1).await?;
            pc.shutdown();
            let m = r
                .messages
                .first()
                .ok_or_else(|| invalid(format!("no message at offset {offset} of {mq:?}")))?;
            Ok(message(m))
        }
        Cmd::QueryMsgByUniqueKey { msg_id, topic, all } => {
            let found = admin
                .query_message(&topic, &msg_id, 32, 0, i64::MAX, true)
                .await?;
            let found: Vec<_> = found.into_iter().filter(|m| m.msg_id() == msg_id).collect();
            if found.is_empty() {
                return Err(invalid(format!(
                    "message {msg_id} not found in topic {topic}"
                )));
            }
            if !all {
                return Ok(message(&found[0]));
            }
            let outs: Vec<Output> = found.iter().map(message).collect();
            Ok(Output {
                text: outs
                    .iter()
                    .map(|o| o.text.clone())
                    .collect::<Vec<_>>()
                    .join("\n"),
                json: Value::Array(outs.into_iter().map(|o| o.json).collect()),
            })
        }
        Cmd::SendMessage {
            topic,
            body,
            keys,
            tags,
            broker,
            qid,
        } => {
            let p = Producer::start(
                client,
                ProducerConfig {
                    group: "TOOLS_PRODUCER".into(),
                    ..Default::default()
                },
            )
            .await?;
            let mut m = Message::new(topic.clone(), body.into_bytes());
            if let Some(k) = keys {
                m = m.with_keys(k.split(' '));
            }
            if let Some(t) = tags {
                m = m.with_tags(t);
            }
            let r = match broker {
                Some(b) => {
                    let mq = MessageQueue {
                        topic,
                        broker_name: b,
                        queue_id: qid.unwrap_or(0),
                    };
                    p.send_to_queue(m, &mq).await
                }
                None => p.send(m).await,
            };
            p.shutdown().await;
            let r = r?;
            let mut t = Table::new(["Broker Name", "QID", "Send Result", "MsgId", "OffsetMsgId"]);
            t.row([
                r.queue.broker_name.clone(),
                r.queue.queue_id.to_string(),
                r.status.name().into(),
                r.msg_id.clone(),
                r.offset_msg_id.clone(),
            ]);
            Ok(Output::table(t))
        }
        Cmd::ConsumeMessage {
            topic,
            broker,
            queue,
            offset,
            group,
            begin,
            end,
            count,
        } => {
            let pc = PullConsumer::start(client, group);
            let mut mqs = pc.fetch_subscribe_message_queues(&topic).await?;
            mqs.retain(|q| {
                broker.as_ref().is_none_or(|b| &q.broker_name == b)
                    && queue.is_none_or(|i| q.queue_id == i)
            });
            if mqs.is_empty() {
                return Err(invalid("no queue matches -b/-i"));
            }
            let mut t = Table::new(["Broker Name", "QID", "Offset", "MsgId", "Tags", "Body"]);
            'queues: for mq in &mqs {
                let mut next = match (offset, begin) {
                    (Some(o), _) => o,
                    (None, Some(ts)) => pc.search_offset(mq, ts).await?,
                    (None, None) => pc.min_offset(mq).await?,
                };
                loop {
                    let r = pc.pull(mq, "*", next, 32).await?;
                    if r.messages.is_empty() {
                        break;
                    }
                    next = r.next_begin_offset;
                    for m in &r.messages {
                        if end.is_some_and(|e| m.store_timestamp >= e) {
                            continue 'queues;
                        }
                        if t.len() >= count {
                            break 'queues;
                        }
                        t.row([
                            mq.broker_name.clone(),
                            mq.queue_id.to_string(),
                            m.queue_offset.to_string(),
                            m.msg_id(),
                            m.tags().unwrap_or("").into(),
                            String::from_utf8_lossy(&m.body).into_owned(),
                        ]);
                    }
                }
            }
            pc.shutdown();
            Ok(Output::table(t))
        }
        Cmd::ResetOffsetByTime {
            group,
            topic,
            timestamp,
            force,
        } => {
            let ts = parse_timestamp(&timestamp).ok_or_else(|| {
                invalid(format!(
                    "bad timestamp {timestamp:?} (now | ms | yyyy-MM-dd#HH:mm:ss:SSS)"
                ))
            })?;
            let mut t = Table::new(["brokerName", "queueId", "offset"]);
            for (_, addr) in topic_masters(&admin, &topic).await? {
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
        Cmd::WipeWritePerm { broker } => {
            let lines = admin
                .wipe_write_perm(&broker)
                .await?
                .into_iter()
                .map(|(ns, n)| {
                    format!("wipe write perm of broker[{broker}] in name server[{ns}] OK, {n}")
                })
                .collect();
            Ok(Output::lines(lines))
        }
        Cmd::AddWritePerm { broker } => {
            let lines = admin
                .add_write_perm(&broker)
                .await?
                .into_iter()
                .map(|(ns, n)| {
                    format!("add write perm of broker[{broker}] in name server[{ns}] OK, {n}")
                })
                .collect();
            Ok(Output::lines(lines))
        }
        Cmd::UpdateKvConfig {
            namespace,
            key,
            value,
        } => {
            admin.put_kv_config(&namespace, &key, &value).await?;
            Ok(Output::lines(vec![
                "update kv config in namespace success.".into(),
            ]))
        }
        Cmd::DeleteKvConfig { namespace, key } => {
            admin.delete_kv_config(&namespace, &key).await?;
            Ok(Output::lines(vec![
                "delete kv config from namespace success.".into(),
            ]))
        }
        Cmd::GetNamesrvConfig => {
            let mut text = String::new();
            let mut js = serde_json::Map::new();
            for (addr, cfg) in admin.namesrv_config().await? {
                text.push_str(&format!("============{addr}============\n"));
                let w = cfg.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in &cfg {
                    text.push_str(&format!("{k:<w$} = {v}\n"));
                }
                js.insert(addr, serde_json::to_value(cfg)?);
            }
            Ok(Output {
                text,
                json: Value::Object(js),
            })
        }
        Cmd::UpdateNamesrvConfig { key, value } => {
            let addrs = admin.update_namesrv_config(&[(key, value)].into()).await?;
            Ok(Output::lines(vec![format!(
                "update name server config success!{addrs:?}"
            )]))
        }
    }
}
