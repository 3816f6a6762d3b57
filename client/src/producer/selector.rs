//! Choosing the queue of a message (Apache `MessageQueueSelector`).

use remoting::message::java_string_hash_code;
use remoting::protocol::body::MessageQueue;

use crate::message::Message;

/// Picks one of `queues` for `msg` given a user argument (e.g. an order id).
pub trait MessageQueueSelector<A: ?Sized>: Send + Sync {
    /// The chosen queue, or `None` to refuse.
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &A) -> Option<MessageQueue>;
}

impl<A: ?Sized, F> MessageQueueSelector<A> for F
where
    F: Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue> + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &A) -> Option<MessageQueue> {
        self(queues, msg, arg)
    }
}

/// Apache's `SelectMessageQueueByHash`: `abs(arg.hashCode()) % queues` for a string key.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectByHash;

impl MessageQueueSelector<str> for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, arg: &str) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        let h = java_string_hash_code(arg).unsigned_abs() as usize;
        Some(queues[h % queues.len()].clone())
    }
}

impl MessageQueueSelector<u64> for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, arg: &u64) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        Some(queues[(*arg % queues.len() as u64) as usize].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_queue() {
        let qs: Vec<_> = (0..4)
            .map(|i| MessageQueue {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id: i,
            })
            .collect();
        let m = Message::new("T", "x");
        let a = SelectByHash.select(&qs, &m, "order-1").unwrap();
        assert_eq!(SelectByHash.select(&qs, &m, "order-1").unwrap(), a);
        assert_eq!(SelectByHash.select(&qs, &m, &6u64).unwrap().queue_id, 2);
        let first = |q: &[MessageQueue], _: &Message, _: &str| q.first().cloned();
        assert_eq!(first.select(&qs, &m, "x").unwrap().queue_id, 0);
    }
}
