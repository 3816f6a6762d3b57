//! Message listeners: concurrent (any order, retries through the broker) and orderly
//! (one batch at a time per queue, under the broker's queue lock).

use std::sync::Arc;

use async_trait::async_trait;
use remoting::message::MessageExt;
use remoting::protocol::body::MessageQueue;

/// Outcome of a concurrent listener call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeConcurrentlyStatus {
    /// Consumed; the offset may move past these messages.
    ConsumeSuccess,
    /// Deliver these messages again later.
    ReconsumeLater,
}

/// Outcome of an orderly listener call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOrderlyStatus {
    /// Consumed; the next messages of the queue follow.
    Success,
    /// Stop this queue for a moment and deliver the same messages again.
    SuspendCurrentQueueAMoment,
}

/// Context of one listener call.
#[derive(Debug, Clone)]
pub struct ConsumeContext {
    /// The queue the messages come from.
    pub queue: MessageQueue,
}

/// A listener called concurrently for batches of any queue.
#[async_trait]
pub trait MessageListenerConcurrently: Send + Sync {
    /// Consumes a batch.
    async fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &ConsumeContext,
    ) -> ConsumeConcurrentlyStatus;
}

/// A listener called for one queue at a time, in queue order.
#[async_trait]
pub trait MessageListenerOrderly: Send + Sync {
    /// Consumes a batch.
    async fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &ConsumeContext,
    ) -> ConsumeOrderlyStatus;
}

/// The listener of a push consumer.
#[derive(Clone)]
pub enum MessageListener {
    /// Concurrent consumption.
    Concurrently(Arc<dyn MessageListenerConcurrently>),
    /// Orderly consumption.
    Orderly(Arc<dyn MessageListenerOrderly>),
}

struct FnListener<F>(F);

#[async_trait]
impl<F> MessageListenerConcurrently for FnListener<F>
where
    F: Fn(&[MessageExt], &ConsumeContext) -> ConsumeConcurrentlyStatus + Send + Sync,
{
    async fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &ConsumeContext,
    ) -> ConsumeConcurrentlyStatus {
        (self.0)(msgs, ctx)
    }
}

struct FnOrderly<F>(F);

#[async_trait]
impl<F> MessageListenerOrderly for FnOrderly<F>
where
    F: Fn(&[MessageExt], &ConsumeContext) -> ConsumeOrderlyStatus + Send + Sync,
{
    async fn consume_message(
        &self,
        msgs: &[MessageExt],
        ctx: &ConsumeContext,
    ) -> ConsumeOrderlyStatus {
        (self.0)(msgs, ctx)
    }
}

impl MessageListener {
    /// A concurrent listener from a closure.
    pub fn concurrently<F>(f: F) -> Self
    where
        F: Fn(&[MessageExt], &ConsumeContext) -> ConsumeConcurrentlyStatus + Send + Sync + 'static,
    {
        MessageListener::Concurrently(Arc::new(FnListener(f)))
    }

    /// An orderly listener from a closure.
    pub fn orderly<F>(f: F) -> Self
    where
        F: Fn(&[MessageExt], &ConsumeContext) -> ConsumeOrderlyStatus + Send + Sync + 'static,
    {
        MessageListener::Orderly(Arc::new(FnOrderly(f)))
    }

    /// True for an orderly listener.
    pub fn is_orderly(&self) -> bool {
        matches!(self, MessageListener::Orderly(_))
    }
}
