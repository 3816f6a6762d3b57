//! Consumer offsets, consumer lists and queue locks.

use remoting::RemotingCommand;
use remoting::ResponseCode;
use remoting::protocol::body::{
    self, ConsumerListByGroupResponseBody, LockBatchRequestBody, LockBatchResponseBody,
};
use remoting::protocol::header::{
    ConsumerGroupRequestHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};

use super::header_or_reply;
use crate::context::BrokerContext;

/// QUERY_CONSUMER_OFFSET: the committed offset; a group that never committed on a queue
/// whose first message is still stored starts at 0, else QUERY_NOT_FOUND.
pub fn query_offset(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, QueryConsumerOffsetRequestHeader);
    let offset = ctx.offsets.query(&h.consumer_group, &h.topic, h.queue_id);
    if offset >= 0 {
        return RemotingCommand::success(req).with_header(&OffsetResponseHeader { offset });
    }
    if ctx.store.get_min_offset_in_queue(&h.topic, h.queue_id) <= 0 {
        return RemotingCommand::success(req).with_header(&OffsetResponseHeader { offset: 0 });
    }
    RemotingCommand::error(
        req,
        ResponseCode::QueryNotFound,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    )
}

/// UPDATE_CONSUMER_OFFSET.
pub fn update_offset(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, UpdateConsumerOffsetRequestHeader);
    ctx.offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    RemotingCommand::success(req)
}

/// GET_CONSUMER_LIST_BY_GROUP.
pub fn consumer_list(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ConsumerGroupRequestHeader);
    match ctx
        .consumers
        .group(&h.consumer_group)
        .map(|g| g.client_ids())
        .filter(|ids| !ids.is_empty())
    {
        Some(ids) => RemotingCommand::success(req).with_body(body::to_json(
            &ConsumerListByGroupResponseBody {
                consumer_id_list: ids,
            },
        )),
        None => RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("no consumer for this group, {}", h.consumer_group),
        ),
    }
}

fn lock_body(req: &RemotingCommand) -> Result<LockBatchRequestBody, Box<RemotingCommand>> {
    body::from_json(req.body.as_deref().unwrap_or(b"{}")).map_err(|e| {
        Box::new(RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("bad lock body: {e}"),
        ))
    })
}

/// LOCK_BATCH_MQ: locks what is free for the requester; answers the queues it holds.
pub fn lock_batch(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let b = match lock_body(req) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let ok = ctx
        .locks
        .try_lock_batch(&b.consumer_group, &b.mq_set, &b.client_id);
    RemotingCommand::success(req)
        .with_body(body::to_json(&LockBatchResponseBody { lock_ok_mq_set: ok }))
}

/// UNLOCK_BATCH_MQ.
pub fn unlock_batch(ctx: &BrokerContext, req: &RemotingCommand) -> RemotingCommand {
    let b = match lock_body(req) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    ctx.locks
        .unlock_batch(&b.consumer_group, &b.mq_set, &b.client_id);
    RemotingCommand::success(req)
}
