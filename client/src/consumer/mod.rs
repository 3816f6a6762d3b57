//! Consumers: a pull consumer for explicit offsets and a push consumer that pulls with long
//! polling, rebalances queues across the group and calls a listener.

mod allocate;
mod listener;
mod offset_store;
mod process_queue;
mod pull;
mod push;

pub use allocate::{AllocateAveragely, AllocateByCircle, AllocateStrategy};
pub use listener::{
    ConsumeConcurrentlyStatus, ConsumeContext, ConsumeOrderlyStatus, MessageListener,
    MessageListenerConcurrently, MessageListenerOrderly,
};
pub use offset_store::{
    LocalFileOffsetStore, OFFSET_ERROR, OFFSET_NONE, OffsetStore, ReadOffsetType, RemoteOffsetStore,
};
pub use process_queue::ProcessQueue;
pub use pull::PullConsumer;
pub use push::{PushConsumer, PushConsumerBuilder, PushConsumerConfig};
pub use remoting::protocol::body::{ConsumeFromWhere, MessageModel, SubscriptionData};

use remoting::message::MessageExt;

/// `%RETRY%<group>`, the retry topic of a consumer group.
pub fn retry_topic(group: &str) -> String {
    format!("%RETRY%{group}")
}

/// Keeps the messages whose tag the subscription accepts (the client-side second filter).
pub fn filter_by_tags(msgs: Vec<MessageExt>, sub: &SubscriptionData) -> Vec<MessageExt> {
    if sub.is_all() || sub.expression_type != "TAG" {
        return msgs;
    }
    msgs.into_iter()
        .filter(|m| m.tags().is_some_and(|t| sub.tags_set.contains(t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use remoting::message::properties;

    #[test]
    fn tag_filter() {
        let mk = |t: Option<&str>| {
            let mut m = MessageExt::default();
            if let Some(t) = t {
                m.properties.insert(properties::TAGS, t);
            }
            m
        };
        let msgs = vec![mk(Some("A")), mk(Some("B")), mk(None), mk(Some("C"))];
        let sub = SubscriptionData::tag("T", "A || C", 1);
        let got: Vec<_> = filter_by_tags(msgs.clone(), &sub)
            .iter()
            .map(|m| m.tags().unwrap().to_owned())
            .collect();
        assert_eq!(got, ["A", "C"]);
        assert_eq!(
            filter_by_tags(msgs, &SubscriptionData::tag("T", "*", 1)).len(),
            4
        );
    }
}
