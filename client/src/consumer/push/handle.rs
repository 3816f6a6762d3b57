//! What the client instance asks of a push consumer (heartbeat data, broker-initiated requests).

use super::*;

#[async_trait]
impl ConsumerHandle for Inner {
    fn group(&self) -> String {
        self.config.group.clone()
    }

    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.config.consume_from_where,
            consume_type: ConsumeType::ConsumePassively,
            group_name: self.config.group.clone(),
            message_model: self.config.message_model,
            subscription_data_set: self
                .subscriptions
                .lock()
                .unwrap()
                .values()
                .cloned()
                .collect(),
            unit_mode: false,
        }
    }

    fn subscribed_topics(&self) -> Vec<String> {
        self.subscriptions.lock().unwrap().keys().cloned().collect()
    }

    fn rebalance_now(&self) {
        self.rebalance.notify_one();
    }

    async fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        // A periodic commit of the old offsets must not land after the reset ones.
        let _g = self.housekeeping.lock().await;
        for (mq, offset) in offsets.iter().filter(|(m, _)| m.topic == topic) {
            let pq = self.pqs.lock().unwrap().remove(mq);
            if let Some(pq) = pq {
                pq.set_dropped();
                let _ = pq.consume_lock.lock().await;
            }
            self.offsets.update_offset(mq, *offset, false);
            if let Err(e) = self.offsets.persist(mq).await {
                warn!(?mq, error = %e, "cannot store the reset offset");
            }
            if self.orderly_clustering() {
                self.unlock(mq).await;
            }
        }
        info!(%topic, queues = offsets.len(), "offsets reset");
        self.rebalance.notify_one();
    }

    async fn consume_directly(&self, message: MessageExt, broker_name: &str) -> serde_json::Value {
        let ctx = ConsumeContext {
            queue: MessageQueue {
                topic: message.topic.clone(),
                broker_name: broker_name.to_owned(),
                queue_id: message.queue_id,
            },
        };
        let started = std::time::Instant::now();
        let msgs = [message];
        let (result, order) = match &self.listener {
            MessageListener::Concurrently(l) => {
                let r = std::panic::AssertUnwindSafe(l.consume_message(&msgs, &ctx))
                    .catch_unwind()
                    .await;
                let name = match r {
                    Ok(ConsumeConcurrentlyStatus::ConsumeSuccess) => "CR_SUCCESS",
                    Ok(ConsumeConcurrentlyStatus::ReconsumeLater) => "CR_LATER",
                    Err(_) => "CR_THROW_EXCEPTION",
                };
                (name, false)
            }
            MessageListener::Orderly(l) => {
                let r = std::panic::AssertUnwindSafe(l.consume_message(&msgs, &ctx))
                    .catch_unwind()
                    .await;
                let name = match r {
                    Ok(ConsumeOrderlyStatus::Success) => "CR_SUCCESS",
                    Ok(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment) => "CR_LATER",
                    Err(_) => "CR_THROW_EXCEPTION",
                };
                (name, true)
            }
        };
        serde_json::json!({
            "autoCommit": true,
            "consumeResult": result,
            "order": order,
            "spentTimeMills": started.elapsed().as_millis() as i64,
        })
    }

    fn running_info(&self) -> serde_json::Value {
        let subs: Vec<_> = self
            .subscriptions
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect();
        let mqs: Vec<_> = self.pqs.lock().unwrap().keys().cloned().collect();
        serde_json::json!({
            "properties": {
                "consumerGroup": self.config.group,
                "messageModel": self.config.message_model.name(),
                "consumeType": "CONSUME_PASSIVELY",
                "consumeOrderly": self.listener.is_orderly().to_string(),
                "allocateMessageQueueStrategy": self.config.allocate.name(),
            },
            "subscriptionSet": subs,
            "assignedQueues": mqs,
        })
    }
}
