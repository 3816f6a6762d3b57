//! Admin requests (Apache `AdminBrokerProcessor`): topics, groups, stats, connections,
//! configuration, offset reset, and calls relayed to clients.

use std::time::Duration;

use remoting::config::{parse_properties, render_properties};
use remoting::protocol::RequestCode;
use remoting::protocol::body::{
    self, ConsumeStats, KvTable, MessageQueue, OffsetWrapper, ResetOffsetBody,
    SubscriptionGroupConfig, TopicConfig, TopicFilterType, TopicList, TopicOffset, TopicStatsTable,
};
use remoting::protocol::header::{
    ConsumeMessageDirectlyRequestHeader, ConsumerGroupRequestHeader, CreateTopicRequestHeader,
    DeleteSubscriptionGroupRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerRunningInfoRequestHeader, ProducerGroupRequestHeader, ResetOffsetRequestHeader,
    TopicRequestHeader,
};
use remoting::{RemotingCommand, ResponseCode};
use tracing::info;

use super::header_or_reply;
use crate::config::store_properties;
use crate::context::{BrokerContext, now_millis};
use crate::topic_config::validate_topic;

/// UPDATE_AND_CREATE_TOPIC.
pub fn create_topic(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, CreateTopicRequestHeader);
    if let Err(why) = validate_topic(&h.topic) {
        return RemotingCommand::error(req, ResponseCode::SystemError, why);
    }
    if ctx.topics.is_system_topic(&h.topic) {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        );
    }
    if h.read_queue_nums <= 0 || h.write_queue_nums <= 0 {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            "queue numbers must be positive",
        );
    }
    ctx.topics.update(TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: if h.topic_filter_type == "MULTI_TAG" {
            TopicFilterType::MultiTag
        } else {
            TopicFilterType::SingleTag
        },
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
    });
    ctx.topics_changed();
    RemotingCommand::success(req)
}

/// DELETE_TOPIC_IN_BROKER: removes the topic's config and its consumer offsets.
pub fn delete_topic(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, TopicRequestHeader);
    if ctx.topics.is_system_topic(&h.topic) {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        );
    }
    ctx.topics.delete(&h.topic);
    ctx.offsets.remove_topic(&h.topic);
    ctx.topics_changed();
    RemotingCommand::success(req)
}

/// GET_ALL_TOPIC_CONFIG.
pub fn all_topic_config(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::success(req).with_body(body::to_json(&ctx.topics.snapshot()))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP.
pub fn create_group(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let c: SubscriptionGroupConfig = match body::from_json(req.body.as_deref().unwrap_or(b"{}")) {
        Ok(c) => c,
        Err(e) => {
            return RemotingCommand::error(
                req,
                ResponseCode::SystemError,
                format!("bad subscription group body: {e}"),
            );
        }
    };
    if let Err(why) = validate_topic(&c.group_name) {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("bad group name: {why}"),
        );
    }
    ctx.groups.update(c);
    RemotingCommand::success(req)
}

/// DELETE_SUBSCRIPTIONGROUP.
pub fn delete_group(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, DeleteSubscriptionGroupRequestHeader);
    ctx.groups.delete(&h.group_name);
    if h.remove_offset == Some(true) {
        ctx.offsets.remove_group(&h.group_name);
    }
    RemotingCommand::success(req)
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
pub fn all_group_config(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::success(req).with_body(body::to_json(&ctx.groups.snapshot()))
}

/// GET_BROKER_RUNTIME_INFO: a KVTable of figures, with Apache's key names where they exist.
pub fn runtime_info(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    use std::sync::atomic::Ordering::Relaxed;
    let s = &ctx.store;
    let now = now_millis();
    let mut t = KvTable::default();
    let mut put = |k: &str, v: String| {
        t.table.insert(k.to_owned(), v);
    };
    put("brokerVersionDesc", "V4_9_8".into());
    put(
        "brokerVersion",
        remoting::protocol::CURRENT_VERSION.to_string(),
    );
    put("bootTimestamp", ctx.boot_timestamp.to_string());
    put(
        "runtime",
        format!("{} s", (now - ctx.boot_timestamp) / 1000),
    );
    put(
        "msgPutTotalTodayNow",
        ctx.stats.put_messages.load(Relaxed).to_string(),
    );
    put(
        "msgGetTotalTodayNow",
        ctx.stats.get_messages.load(Relaxed).to_string(),
    );
    put(
        "putMessageFailedTimes",
        ctx.stats.put_failures.load(Relaxed).to_string(),
    );
    put("commitLogMinOffset", s.get_min_phy_offset().to_string());
    put("commitLogMaxOffset", s.get_max_phy_offset().to_string());
    put("flushedPhyOffset", s.get_flushed_phy_offset().to_string());
    put("dispatchBehindBytes", s.dispatch_behind_bytes().to_string());
    put(
        "earliestMessageTimeStamp",
        s.get_earliest_message_time_store().to_string(),
    );
    put("pullRequestHoldCount", ctx.holds.held_count().to_string());
    put(
        "brokerRole",
        if ctx.is_slave {
            "SLAVE".into()
        } else {
            "MASTER".into()
        },
    );
    put("diskFull", s.is_disk_full().to_string());
    if let Some(ratio) = store::retention::disk_usage_ratio(&s.config().commit_log_dir()) {
        put("commitLogDiskRatio", format!("{ratio:.4}"));
    }
    RemotingCommand::success(req).with_body(body::to_json(&t))
}

/// GET_TOPIC_STATS_INFO: min/max offset and last store time of each queue.
pub fn topic_stats(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, TopicRequestHeader);
    let tc = match ctx.topics.get(&h.topic) {
        Some(tc) => tc,
        None => return topic_not_exist(req, &h.topic),
    };
    let mut stats = TopicStatsTable::default();
    for q in 0..tc.write_queue_nums {
        let max = ctx.store.get_max_offset_in_queue(&h.topic, q);
        let last = if max > 0 {
            ctx.store.get_message_store_timestamp(&h.topic, q, max - 1)
        } else {
            0
        };
        stats.offset_table.insert(
            mq(ctx, &h.topic, q),
            TopicOffset {
                min_offset: ctx.store.get_min_offset_in_queue(&h.topic, q).max(0),
                max_offset: max.max(0),
                last_update_timestamp: last.max(0),
            },
        );
    }
    RemotingCommand::success(req).with_body(stats.encode())
}

fn topic_not_exist(req: &RemotingCommand, topic: &str) -> RemotingCommand {
    RemotingCommand::error(
        req,
        ResponseCode::TopicNotExist,
        format!("topic[{topic}] not exist"),
    )
}

fn mq(ctx: &BrokerContext, topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue {
        broker_name: ctx.identity.broker_name.clone(),
        queue_id,
        topic: topic.to_owned(),
    }
}

/// GET_CONSUME_STATS: broker vs committed offset of each queue a group consumes.
pub fn consume_stats(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, GetConsumeStatsRequestHeader);
    let mut topics = ctx.offsets.topics_of_group(&h.consumer_group);
    if let Some(info) = ctx.consumers.group(&h.consumer_group) {
        topics.extend(info.subscriptions.keys().cloned());
    }
    if let Some(t) = h.topic.filter(|t| !t.is_empty()) {
        topics.retain(|x| *x == t);
    }
    topics.sort();
    topics.dedup();
    let mut stats = ConsumeStats::default();
    for topic in topics {
        let Some(tc) = ctx.topics.get(&topic) else {
            continue;
        };
        for q in 0..tc.write_queue_nums {
            let broker_offset = ctx.store.get_max_offset_in_queue(&topic, q).max(0);
            let consumer_offset = ctx.offsets.query(&h.consumer_group, &topic, q).max(0);
            let last_timestamp = if consumer_offset > 0 {
                ctx.store
                    .get_message_store_timestamp(&topic, q, consumer_offset - 1)
                    .max(0)
            } else {
                0
            };
            stats.offset_table.insert(
                mq(ctx, &topic, q),
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    last_timestamp,
                },
            );
        }
    }
    RemotingCommand::success(req).with_body(stats.encode())
}

/// GET_CONSUMER_CONNECTION_LIST.
pub fn consumer_connections(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ConsumerGroupRequestHeader);
    match ctx.consumers.group(&h.consumer_group) {
        Some(info) => RemotingCommand::success(req).with_body(body::to_json(&info.to_connection())),
        None => RemotingCommand::error(
            req,
            ResponseCode::ConsumerNotOnline,
            format!("the consumer group[{}] not online", h.consumer_group),
        ),
    }
}

/// GET_PRODUCER_CONNECTION_LIST.
pub fn producer_connections(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ProducerGroupRequestHeader);
    match ctx.producers.connections(&h.producer_group) {
        Some(c) => RemotingCommand::success(req).with_body(body::to_json(&c)),
        None => RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("the producer group[{}] not exist", h.producer_group),
        ),
    }
}

/// GET_BROKER_CONFIG: every key as properties text.
pub fn get_broker_config(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let mut pairs = ctx.config.read().to_properties();
    pairs.extend(store_properties(ctx.store.config()));
    let version = body::to_json(&ctx.topics.data_version());
    RemotingCommand::success(req)
        .with_ext("version", String::from_utf8_lossy(&version))
        .with_body(render_properties(pairs))
}

/// Keys UPDATE_BROKER_CONFIG may change while running.
const UPDATABLE_AT_RUNTIME: &[&str] = &[
    "brokerPermission",
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
    "defaultTopicQueueNums",
    "longPollingEnable",
    "shortPollingTimeMills",
    "registerNameServerPeriod",
    "traceOn",
    "regionId",
    "rejectTransactionMessage",
    "notifyConsumerIdsChangedEnable",
    "flushConsumerOffsetInterval",
    "channelExpiredTimeout",
    "defaultQueryMaxNum",
    "rebalanceLockMaxLiveTime",
];

/// UPDATE_BROKER_CONFIG: properties text; only keys that can change at runtime.
pub fn update_broker_config(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let text = String::from_utf8_lossy(req.body.as_deref().unwrap_or_default()).to_string();
    let props = match parse_properties(&text) {
        Ok(p) => p,
        Err(e) => return RemotingCommand::error(req, ResponseCode::SystemError, e.to_string()),
    };
    if let Some(k) = props
        .keys()
        .find(|k| !UPDATABLE_AT_RUNTIME.contains(&k.as_str()))
    {
        return RemotingCommand::error(
            req,
            ResponseCode::NoPermission,
            format!("config key {k} cannot be updated at runtime"),
        );
    }
    let mut next = ctx.config.read().clone();
    if let Err(e) = next.apply(&props) {
        return RemotingCommand::error(req, ResponseCode::SystemError, e.to_string());
    }
    let perm_changed = next.broker_permission != ctx.broker_permission();
    *ctx.config.write() = next;
    info!(keys = ?props.keys().collect::<Vec<_>>(), "broker config updated");
    if perm_changed {
        ctx.topics_changed();
    }
    RemotingCommand::success(req)
}

/// GET_ALL_CONSUMER_OFFSET.
pub fn all_consumer_offset(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::success(req).with_body(body::to_json(&ctx.offsets.snapshot()))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER.
pub fn system_topics(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let list = TopicList {
        broker_addr: None,
        topic_list: ctx
            .topics
            .snapshot()
            .topic_config_table
            .into_keys()
            .filter(|t| ctx.topics.is_system_topic(t))
            .collect(),
    };
    RemotingCommand::success(req).with_body(body::to_json(&list))
}

/// GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY: relayed to the named client
/// (10 s), whose answer is returned as it is.
pub async fn relay_to_client(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let (group, client_id) = if req.code == RequestCode::GetConsumerRunningInfo.code() {
        let h = header_or_reply!(req, GetConsumerRunningInfoRequestHeader);
        (h.consumer_group, Some(h.client_id))
    } else {
        let h = header_or_reply!(req, ConsumeMessageDirectlyRequestHeader);
        (h.consumer_group, h.client_id)
    };
    let Some(info) = ctx.consumers.group(&group) else {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!(
                "The Consumer <{group}> <{}> not online",
                client_id.unwrap_or_default()
            ),
        );
    };
    let Some(channel) = info
        .channels
        .values()
        .find(|c| client_id.as_deref().is_none_or(|id| id == c.client_id))
    else {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!(
                "The Consumer <{group}> <{}> not online",
                client_id.unwrap_or_default()
            ),
        );
    };
    let mut relay = RemotingCommand::new_request(req.code);
    relay.ext_fields = req.ext_fields.clone();
    relay.body = req.body.clone();
    if req.code == RequestCode::ConsumeMessageDirectly.code()
        && let Some(id) = req.ext("msgId")
        && let Ok((_, offset)) = remoting::message::msg_id::parse_offset_msg_id(id)
    {
        relay.body = ctx.store.select_one_message_by_offset(offset);
    }
    match channel.conn.request(relay, Duration::from_secs(10)).await {
        Ok(mut r) => {
            r.opaque = req.opaque;
            r.serialize_type = req.serialize_type;
            r
        }
        Err(remoting::RemotingError::Timeout { .. }) => RemotingCommand::error(
            req,
            ResponseCode::ConsumeMsgTimeout,
            "consumer did not answer in time",
        ),
        Err(e) => RemotingCommand::error(req, ResponseCode::SystemError, e.to_string()),
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET: moves a group's offsets on a topic to the first message
/// stored at or after `timestamp` (-1 = the end), then tells its clients.
pub async fn reset_offset(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ResetOffsetRequestHeader);
    let tc = match ctx.topics.get(&h.topic) {
        Some(tc) => tc,
        None => return topic_not_exist(req, &h.topic),
    };
    let mut reset = ResetOffsetBody::default();
    for q in 0..tc.read_queue_nums {
        let target = if h.timestamp < 0 {
            ctx.store.get_max_offset_in_queue(&h.topic, q)
        } else {
            ctx.store
                .get_offset_in_queue_by_time(&h.topic, q, h.timestamp)
        }
        .max(0);
        let current = ctx.offsets.query(&h.group, &h.topic, q);
        if h.is_force || current < 0 || target < current {
            ctx.offsets.commit(&h.group, &h.topic, q, target);
            reset.offset_table.insert(mq(ctx, &h.topic, q), target);
        } else {
            reset.offset_table.insert(mq(ctx, &h.topic, q), current);
        }
    }
    if let Some(info) = ctx.consumers.group(&h.group) {
        let body = reset.encode();
        for c in info.channels.values() {
            let notify =
                RemotingCommand::request_with_header(RequestCode::ResetConsumerClientOffset, &h)
                    .with_body(body.clone());
            let _ = c.conn.send_oneway(notify).await;
        }
    }
    info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, "consumer offsets reset");
    RemotingCommand::success(req).with_body(reset.encode())
}
