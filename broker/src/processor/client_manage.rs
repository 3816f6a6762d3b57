//! HEART_BEAT, UNREGISTER_CLIENT, CHECK_CLIENT_CONFIG, channel expiry and the
//! NOTIFY_CONSUMER_IDS_CHANGED pushes (Apache `ClientManageProcessor`, `Broker2Client`).

use std::time::Duration;

use remoting::protocol::body::{self, HeartbeatData, perm};
use remoting::protocol::header::{ConsumerGroupRequestHeader, UnregisterClientRequestHeader};
use remoting::{Connection, RemotingCommand, RequestCode, ResponseCode};
use tokio::time::Instant;
use tracing::{info, warn};

use super::header_or_reply;
use crate::client::ClientChannelInfo;
use crate::context::BrokerContext;
use crate::topic_config::retry_topic;

/// HEART_BEAT: registers the client's producer and consumer groups.
pub async fn heartbeat(
    ctx: &BrokerContext,
    conn: &Connection,
    req: &RemotingCommand,
) -> RemotingCommand {
    let data: HeartbeatData = match body::from_json(req.body.as_deref().unwrap_or(b"{}")) {
        Ok(d) => d,
        Err(e) => {
            return RemotingCommand::error(
                req,
                ResponseCode::SystemError,
                format!("bad heartbeat body: {e}"),
            );
        }
    };
    let channel = ClientChannelInfo {
        conn: conn.clone(),
        client_id: data.client_id.clone(),
        language: req.language,
        version: req.version,
        last_update: Instant::now(),
    };
    let auto = ctx.config.read().auto_create_subscription_group;
    for c in &data.consumer_data_set {
        if let Some(group) = ctx.groups.find_or_create(&c.group_name, auto) {
            let (_, created) = ctx.topics.create_internal(
                &retry_topic(&c.group_name),
                group.retry_queue_nums.max(1),
                perm::READ | perm::WRITE,
            );
            if created {
                ctx.topics_changed();
            }
        }
        let outcome = ctx.consumers.register(
            &c.group_name,
            channel.clone(),
            c.consume_type,
            c.message_model,
            c.consume_from_where,
            &c.subscription_data_set,
        );
        if outcome.members_changed {
            notify_consumer_ids_changed(ctx, &c.group_name).await;
        }
    }
    for p in &data.producer_data_set {
        ctx.producers.register(&p.group_name, channel.clone());
    }
    RemotingCommand::success(req)
}

/// UNREGISTER_CLIENT.
pub async fn unregister(
    ctx: &BrokerContext,
    conn: &Connection,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h = header_or_reply!(req, UnregisterClientRequestHeader);
    if let Some(g) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        ctx.producers.unregister(g, conn.id());
    }
    if let Some(g) = h.consumer_group.as_deref().filter(|g| !g.is_empty())
        && ctx.consumers.unregister(g, conn.id())
    {
        info!(group = g, client = %h.client_id, "consumer unregistered");
        notify_consumer_ids_changed(ctx, g).await;
    }
    RemotingCommand::success(req)
}

/// CHECK_CLIENT_CONFIG: TAG subscriptions are always fine; SQL92 is not served yet.
pub fn check_client_config(_ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let text = String::from_utf8_lossy(req.body.as_deref().unwrap_or_default()).to_string();
    if text.contains("\"SQL92\"") {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            "The broker does not support consumer to filter message by SQL92",
        );
    }
    RemotingCommand::success(req)
}

/// Tells every consumer of `group` that its membership changed, so they rebalance.
pub async fn notify_consumer_ids_changed(ctx: &BrokerContext, group: &str) {
    if !ctx.config.read().notify_consumer_ids_changed_enable {
        return;
    }
    if ctx
        .groups
        .get(group)
        .is_some_and(|g| !g.notify_consumer_ids_changed_enable)
    {
        return;
    }
    let Some(info) = ctx.consumers.group(group) else {
        return;
    };
    let header = ConsumerGroupRequestHeader {
        consumer_group: group.to_owned(),
    };
    for c in info.channels.values() {
        let req =
            RemotingCommand::request_with_header(RequestCode::NotifyConsumerIdsChanged, &header);
        if let Err(e) = c.conn.send_oneway(req).await {
            warn!(group, client = %c.client_id, error = %e, "cannot notify consumer ids changed");
        }
    }
}

/// A client connection closed: forget it everywhere and tell its groups.
pub fn on_connection_closed(ctx: &std::sync::Arc<BrokerContext>, conn: &Connection) {
    ctx.producers.on_connection_closed(conn.id());
    let left = ctx.consumers.on_connection_closed(conn.id());
    if !left.is_empty() {
        info!(peer = %conn.peer_addr(), groups = ?left, "consumer connection closed");
        let ctx = ctx.clone();
        tokio::spawn(async move {
            for g in left {
                notify_consumer_ids_changed(&ctx, &g).await;
            }
        });
    }
}

/// Drops client channels with no heartbeat for `expiry` (Apache `ClientHousekeepingService`).
pub async fn expire_channels(ctx: &BrokerContext, expiry: Duration) {
    for c in ctx.producers.scan_expired(expiry) {
        warn!(client = %c.client_id, peer = %c.conn.peer_addr(), "producer channel expired");
        c.conn.close();
    }
    let expired = ctx.consumers.scan_expired(expiry);
    let mut groups: Vec<String> = Vec::new();
    for (g, c) in expired {
        warn!(group = %g, client = %c.client_id, peer = %c.conn.peer_addr(), "consumer channel expired");
        c.conn.close();
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    for g in groups {
        notify_consumer_ids_changed(ctx, &g).await;
    }
}
