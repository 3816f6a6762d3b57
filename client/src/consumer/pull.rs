//! The pull consumer (Apache `DefaultMQPullConsumer`): the caller chooses queues and
//! offsets; offsets can be stored on the broker.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use remoting::protocol::body::{MessageQueue, SubscriptionData};
use remoting::protocol::header::{PullMessageRequestHeader, pull_sys_flag};

use super::filter_by_tags;
use crate::api::PullResult;
use crate::config::ClientConfig;
use crate::error::Result;
use crate::instance::ClientInstance;

/// A started pull consumer.
pub struct PullConsumer {
    instance: Arc<ClientInstance>,
    group: String,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl PullConsumer {
    /// Starts a pull consumer of `group` on a new client instance.
    pub fn start(client: ClientConfig, group: impl Into<String>) -> PullConsumer {
        let instance = ClientInstance::new(client);
        instance.start();
        PullConsumer {
            instance,
            group: group.into(),
        }
    }

    /// The client instance.
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.instance
    }

    /// The readable queues of `topic`.
    pub async fn fetch_subscribe_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        self.instance.update_route(topic).await?;
        Ok(self.instance.find_subscribe_queues(topic).await?.to_vec())
    }

    async fn addr(&self, mq: &MessageQueue) -> Result<String> {
        self.instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
    }

    async fn pull_inner(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max_nums: i32,
        suspend: Option<Duration>,
    ) -> Result<PullResult> {
        let addr = self.addr(mq).await?;
        let sub = SubscriptionData::tag(&mq.topic, expression, now_ms());
        let mut sys_flag = pull_sys_flag::SUBSCRIPTION;
        if suspend.is_some() {
            sys_flag |= pull_sys_flag::SUSPEND;
        }
        let suspend_ms = suspend.map_or(0, |d| d.as_millis() as i64);
        let header = PullMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max_nums,
            sys_flag,
            commit_offset: 0,
            suspend_timeout_millis: suspend_ms,
            subscription: Some(sub.sub_string.clone()),
            sub_version: sub.sub_version,
            expression_type: Some("TAG".into()),
            bname: None,
        };
        let timeout = self.instance.api().timeout() + Duration::from_millis(suspend_ms as u64);
        let mut r = self
            .instance
            .api()
            .pull_message(&addr, header, timeout)
            .await?;
        r.messages = filter_by_tags(std::mem::take(&mut r.messages), &sub);
        Ok(r)
    }

    /// Pulls up to `max_nums` messages from `offset` without waiting for new ones.
    pub async fn pull(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max_nums: i32,
    ) -> Result<PullResult> {
        self.pull_inner(mq, expression, offset, max_nums, None)
            .await
    }

    /// Pulls, letting the broker hold the request up to `suspend` until a message arrives.
    pub async fn pull_block_if_not_found(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max_nums: i32,
        suspend: Duration,
    ) -> Result<PullResult> {
        self.pull_inner(mq, expression, offset, max_nums, Some(suspend))
            .await
    }

    /// Stores the group's offset of `mq` on the broker (waits for the answer).
    pub async fn update_consume_offset(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let addr = self.addr(mq).await?;
        self.instance
            .api()
            .update_consumer_offset(&addr, &self.group, mq, offset, false)
            .await
    }

    /// The group's stored offset of `mq`, `None` when the broker has none.
    pub async fn fetch_consume_offset(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let addr = self.addr(mq).await?;
        self.instance
            .api()
            .query_consumer_offset(&addr, &self.group, mq)
            .await
    }

    /// The next offset the queue will write.
    pub async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let addr = self.addr(mq).await?;
        self.instance.api().get_max_offset(&addr, mq).await
    }

    /// The smallest offset still stored.
    pub async fn min_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let addr = self.addr(mq).await?;
        self.instance.api().get_min_offset(&addr, mq).await
    }

    /// The offset of the first message stored at or after `timestamp` (ms).
    pub async fn search_offset(&self, mq: &MessageQueue, timestamp: i64) -> Result<i64> {
        let addr = self.addr(mq).await?;
        self.instance
            .api()
            .search_offset(&addr, mq, timestamp)
            .await
    }

    /// Stops the instance.
    pub fn shutdown(&self) {
        self.instance.shutdown();
    }
}
