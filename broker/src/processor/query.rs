//! QUERY_MESSAGE, VIEW_MESSAGE_BY_ID and the offset lookups.

use remoting::protocol::header::{
    OffsetResponseHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
    SearchOffsetRequestHeader, TimestampResponseHeader, TopicQueueRequestHeader,
    ViewMessageRequestHeader,
};
use remoting::{RemotingCommand, ResponseCode};

use super::header_or_reply;
use crate::context::BrokerContext;

/// QUERY_MESSAGE: messages by key within a time range, records back to back.
pub fn query_message(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let mut h = header_or_reply!(req, QueryMessageRequestHeader);
    if req.ext("_UNIQUE_KEY_QUERY") == Some("true") {
        h.max_num = ctx.config.read().default_query_max_num;
    }
    let r = ctx.store.query_message(
        &h.topic,
        &h.key,
        h.max_num.max(1) as usize,
        h.begin_timestamp,
        h.end_timestamp,
    );
    if r.messages.is_empty() {
        return RemotingCommand::error(
            req,
            ResponseCode::QueryNotFound,
            "can not find message, maybe time range not correct",
        );
    }
    let mut resp = RemotingCommand::success(req).with_header(&QueryMessageResponseHeader {
        index_last_update_timestamp: r.index_last_update_timestamp,
        index_last_update_phyoffset: r.index_last_update_phyoffset,
    });
    resp.body_segments = r.messages;
    resp
}

/// VIEW_MESSAGE_BY_ID: the record at a commit-log offset.
pub fn view_message_by_id(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ViewMessageRequestHeader);
    match ctx.store.select_one_message_by_offset(h.offset) {
        Some(rec) => RemotingCommand::success(req).with_body(rec),
        None => RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("can not find message by the offset, {}", h.offset),
        ),
    }
}

/// GET_MAX_OFFSET.
pub fn max_offset(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, TopicQueueRequestHeader);
    let offset = ctx.store.get_max_offset_in_queue(&h.topic, h.queue_id);
    RemotingCommand::success(req).with_header(&OffsetResponseHeader { offset })
}

/// GET_MIN_OFFSET.
pub fn min_offset(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, TopicQueueRequestHeader);
    let offset = ctx.store.get_min_offset_in_queue(&h.topic, h.queue_id);
    RemotingCommand::success(req).with_header(&OffsetResponseHeader { offset })
}

/// SEARCH_OFFSET_BY_TIMESTAMP.
pub fn search_offset(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, SearchOffsetRequestHeader);
    let offset = ctx
        .store
        .get_offset_in_queue_by_time(&h.topic, h.queue_id, h.timestamp);
    RemotingCommand::success(req).with_header(&OffsetResponseHeader { offset })
}

/// GET_EARLIEST_MSG_STORETIME.
pub fn earliest_store_time(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, TopicQueueRequestHeader);
    let timestamp = ctx.store.get_earliest_message_time(&h.topic, h.queue_id);
    RemotingCommand::success(req).with_header(&TimestampResponseHeader { timestamp })
}
