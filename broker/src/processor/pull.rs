//! PULL_MESSAGE with long polling (Apache `PullMessageProcessor` + `PullRequestHoldService`).

use std::sync::Arc;
use std::time::Duration;

use remoting::protocol::body::{MessageModel, SubscriptionData, perm};
use remoting::protocol::header::{
    PullMessageRequestHeader, PullMessageResponseHeader, pull_sys_flag,
};
use remoting::{Connection, RemotingCommand, ResponseCode};
use store::GetMessageStatus;

use crate::context::{BrokerContext, BrokerStats};
use crate::filter::TagFilter;

/// Serves PULL_MESSAGE. `None` means the pull is held; its response is sent later on
/// `conn` when a matching message arrives or the hold time ends.
pub fn process(
    ctx: Arc<BrokerContext>,
    conn: &Connection,
    req: RemotingCommand,
    allow_suspend: bool,
) -> Option<RemotingCommand> {
    let h = match req.decode_header::<PullMessageRequestHeader>() {
        Ok(h) => h,
        Err(e) => return Some(RemotingCommand::header_error(&req, &e)),
    };
    let sub = match subscription(&ctx, &req, &h) {
        Ok(s) => s,
        Err(resp) => return Some(*resp),
    };
    let filter = TagFilter::for_subscription(&sub);
    let max = usize::try_from(h.max_msg_nums.max(1)).unwrap_or(32);
    let r = ctx
        .store
        .get_message(&h.topic, h.queue_id, h.queue_offset, max, Some(&filter));

    use GetMessageStatus::*;
    let code = match r.status {
        Found => ResponseCode::Success,
        NoMatchedMessage | MessageWasRemoving => ResponseCode::PullRetryImmediately,
        NoMatchedLogicQueue | NoMessageInQueue => {
            if h.queue_offset != 0 {
                ResponseCode::PullOffsetMoved
            } else {
                ResponseCode::PullNotFound
            }
        }
        OffsetFoundNull | OffsetOverflowOne => ResponseCode::PullNotFound,
        OffsetOverflowBadly | OffsetTooSmall => ResponseCode::PullOffsetMoved,
    };

    // Commit the offset piggy-backed on the pull (first pass only, masters only; forward
    // only, see `ConsumerOffsetManager::advance`).
    if allow_suspend
        && h.sys_flag & pull_sys_flag::COMMIT_OFFSET != 0
        && !ctx.is_slave
        && h.commit_offset >= 0
    {
        ctx.offsets
            .advance(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }

    let (long_polling, short_poll) = {
        let c = ctx.config.read();
        (c.long_polling_enable, c.short_polling_time_mills)
    };
    if code == ResponseCode::PullNotFound
        && allow_suspend
        && h.sys_flag & pull_sys_flag::SUSPEND != 0
    {
        let hold = if long_polling {
            Duration::from_millis(h.suspend_timeout_millis.max(0) as u64)
        } else {
            Duration::from_millis(short_poll)
        };
        let ticket = ctx
            .holds
            .hold(&h.topic, h.queue_id, h.queue_offset, filter.codes.clone());
        // A message dispatched between the read above and the hold must not be missed.
        if ctx.store.get_max_offset_in_queue(&h.topic, h.queue_id) > h.queue_offset {
            ticket.wake.notify_one();
        }
        let conn = conn.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = ticket.wake.notified() => {}
                _ = tokio::time::sleep(hold) => {}
                _ = conn.closed() => return,
            }
            drop(ticket);
            if let Some(resp) = process(ctx, &conn, req, false) {
                let _ = conn.send(resp).await;
            }
        });
        return None;
    }

    let suggest = if r.suggest_pulling_from_slave {
        ctx.groups
            .get(&h.consumer_group)
            .map_or(0, |g| g.which_broker_when_consume_slowly)
    } else {
        0
    };
    let mut resp = RemotingCommand::response_to(&req, code)
        .with_header(&PullMessageResponseHeader {
            suggest_which_broker_id: suggest,
            next_begin_offset: r.next_begin_offset,
            min_offset: r.min_offset,
            max_offset: r.max_offset,
        })
        .with_remark(r.status.as_str());
    if code == ResponseCode::Success {
        BrokerStats::add(&ctx.stats.get_messages, r.messages.len() as u64);
        resp.body_segments = r.messages;
    }
    Some(resp)
}

/// The subscription to filter with: the request's own (SUBSCRIPTION flag) or the one the
/// group's heartbeats registered; with Apache's checks and error codes.
fn subscription(
    ctx: &BrokerContext,
    req: &RemotingCommand,
    h: &PullMessageRequestHeader,
) -> Result<SubscriptionData, Box<RemotingCommand>> {
    let err = |code, remark: String| Err(Box::new(RemotingCommand::error(req, code, remark)));
    if !perm::is_readable(ctx.broker_permission()) {
        return err(
            ResponseCode::NoPermission,
            format!(
                "the broker[{}] pulling message is forbidden",
                ctx.identity.broker_addr
            ),
        );
    }
    let auto = ctx.config.read().auto_create_subscription_group;
    let Some(group) = ctx.groups.find_or_create(&h.consumer_group, auto) else {
        return err(
            ResponseCode::SubscriptionGroupNotExist,
            format!("subscription group [{}] does not exist", h.consumer_group),
        );
    };
    if !group.consume_enable {
        return err(
            ResponseCode::NoPermission,
            format!("subscription group no permission, {}", h.consumer_group),
        );
    }
    let Some(tc) = ctx.topics.get(&h.topic) else {
        return err(
            ResponseCode::TopicNotExist,
            format!("topic[{}] not exist, apply first please!", h.topic),
        );
    };
    if !perm::is_readable(tc.perm) {
        return err(
            ResponseCode::NoPermission,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        );
    }
    if h.queue_id < 0 || h.queue_id >= tc.read_queue_nums {
        return err(
            ResponseCode::SystemError,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}]",
                h.queue_id, h.topic, tc.read_queue_nums
            ),
        );
    }
    if h.sys_flag & pull_sys_flag::SUBSCRIPTION != 0 {
        let ty = h.expression_type.as_deref().unwrap_or("TAG");
        if !ty.eq_ignore_ascii_case("TAG") {
            return err(
                ResponseCode::SubscriptionParseFailed,
                format!("expression type {ty} is not supported by this broker yet"),
            );
        }
        return Ok(SubscriptionData::tag(
            &h.topic,
            h.subscription.as_deref().unwrap_or("*"),
            h.sub_version,
        ));
    }
    let Some(info) = ctx.consumers.group(&h.consumer_group) else {
        return err(
            ResponseCode::SubscriptionNotExist,
            format!(
                "the consumer's group info not exist, group: {}",
                h.consumer_group
            ),
        );
    };
    if !group.consume_broadcast_enable && info.message_model == MessageModel::Broadcasting {
        return err(
            ResponseCode::NoPermission,
            format!(
                "the consumer group[{}] can not consume by broadcast way",
                h.consumer_group
            ),
        );
    }
    let Some(sub) = info.subscriptions.get(&h.topic) else {
        return err(
            ResponseCode::SubscriptionNotExist,
            format!(
                "the consumer's subscription not exist, group: {}",
                h.consumer_group
            ),
        );
    };
    if sub.sub_version < h.sub_version {
        return err(
            ResponseCode::SubscriptionNotLatest,
            "the consumer's subscription not latest".into(),
        );
    }
    Ok(sub.clone())
}
