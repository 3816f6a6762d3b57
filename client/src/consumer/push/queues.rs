//! Queue ownership: rebalance, broker locks for orderly consumption, where a queue starts,
//! and sending failed messages back.

use super::*;

impl Inner {
    pub(super) fn is_clustering(&self) -> bool {
        self.config.message_model == MessageModel::Clustering
    }

    pub(super) fn orderly_clustering(&self) -> bool {
        self.listener.is_orderly() && self.is_clustering()
    }

    pub(super) fn lock_body(&self, mqs: BTreeSet<MessageQueue>) -> LockBatchRequestBody {
        LockBatchRequestBody {
            client_id: self.instance.client_id().to_owned(),
            consumer_group: self.config.group.clone(),
            mq_set: mqs,
        }
    }

    pub(super) async fn lock(&self, mq: &MessageQueue) -> bool {
        let Ok(addr) = self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
        else {
            return false;
        };
        let body = self.lock_body([mq.clone()].into());
        match self.instance.api().lock_batch_mq(&addr, &body).await {
            Ok(locked) => locked.contains(mq),
            Err(e) => {
                debug!(?mq, error = %e, "lock failed");
                false
            }
        }
    }

    pub(super) async fn unlock(&self, mq: &MessageQueue) {
        if let Some(addr) = self.instance.master_addr(&mq.broker_name) {
            let body = self.lock_body([mq.clone()].into());
            if let Err(e) = self.instance.api().unlock_batch_mq(&addr, &body).await {
                debug!(?mq, error = %e, "unlock failed");
            }
        }
    }

    pub(super) async fn lock_all(&self) {
        let pqs: Vec<_> = self
            .pqs
            .lock()
            .unwrap()
            .iter()
            .map(|(m, p)| (m.clone(), p.clone()))
            .collect();
        let mut by_broker: BTreeMap<String, BTreeSet<MessageQueue>> = BTreeMap::new();
        for (mq, _) in &pqs {
            by_broker
                .entry(mq.broker_name.clone())
                .or_default()
                .insert(mq.clone());
        }
        for (broker, mqs) in by_broker {
            let Some(addr) = self.instance.master_addr(&broker) else {
                continue;
            };
            match self
                .instance
                .api()
                .lock_batch_mq(&addr, &self.lock_body(mqs.clone()))
                .await
            {
                Ok(locked) => {
                    for (mq, pq) in &pqs {
                        if mqs.contains(mq) {
                            pq.set_locked(locked.contains(mq));
                        }
                    }
                }
                Err(e) => debug!(%broker, error = %e, "lock renewal failed"),
            }
        }
    }

    pub(super) async fn do_rebalance(&self) {
        let _g = self.housekeeping.lock().await;
        if self.stop.is_cancelled() {
            return;
        }
        let subs: Vec<String> = self.subscriptions.lock().unwrap().keys().cloned().collect();
        let mut retry_soon = false;
        for topic in subs {
            let mqs = match self.instance.find_subscribe_queues(&topic).await {
                Ok(q) => q,
                Err(e) => {
                    debug!(%topic, error = %e, "no queues to rebalance");
                    continue;
                }
            };
            let mine: BTreeSet<MessageQueue> = match self.config.message_model {
                MessageModel::Broadcasting => mqs.iter().cloned().collect(),
                MessageModel::Clustering => {
                    let Some(addr) = self.instance.any_broker_addr_of(&topic) else {
                        continue;
                    };
                    let mut cids = match self
                        .instance
                        .api()
                        .get_consumer_id_list(&addr, &self.config.group)
                        .await
                    {
                        Ok(c) => c,
                        Err(e) => {
                            debug!(%topic, error = %e, "no consumer list");
                            continue;
                        }
                    };
                    cids.sort();
                    let mut all = mqs.to_vec();
                    all.sort();
                    self.config
                        .allocate
                        .allocate(self.instance.client_id(), &all, &cids)
                        .into_iter()
                        .collect()
                }
            };
            retry_soon |= self.update_process_queues(&topic, &mine).await;
        }
        if retry_soon && !self.stop.is_cancelled() {
            let weak = self.weak.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Some(i) = weak.upgrade() {
                    i.rebalance.notify_one();
                }
            });
        }
    }

    /// Drops queues no longer ours and starts the new ones; true when something must be
    /// retried soon (a lock not yet granted or a queue still busy).
    pub(super) async fn update_process_queues(
        &self,
        topic: &str,
        mine: &BTreeSet<MessageQueue>,
    ) -> bool {
        let mut retry = false;
        let current: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .pqs
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m.topic == topic)
            .map(|(m, p)| (m.clone(), p.clone()))
            .collect();
        for (mq, pq) in &current {
            if !mine.contains(mq) {
                pq.set_dropped();
                if self.remove_unnecessary(mq, pq).await {
                    self.pqs.lock().unwrap().remove(mq);
                    info!(?mq, "queue released");
                } else {
                    retry = true;
                }
            }
        }
        for mq in mine {
            let existing = self.pqs.lock().unwrap().get(mq).cloned();
            if let Some(pq) = existing {
                if !pq.is_dropped() {
                    continue;
                }
                // Dropped earlier but ours again: start over with a fresh queue.
                self.pqs.lock().unwrap().remove(mq);
            }
            if self.orderly_clustering() && !self.lock(mq).await {
                debug!(?mq, "queue lock not granted yet");
                retry = true;
                continue;
            }
            self.offsets.remove_offset(mq);
            let offset = self.compute_pull_from_where(mq).await;
            if offset < 0 {
                warn!(?mq, "cannot compute the start offset; will retry");
                retry = true;
                continue;
            }
            let pq = Arc::new(ProcessQueue::default());
            if self.orderly_clustering() {
                pq.set_locked(true);
            }
            self.offsets.update_offset(mq, offset, false);
            self.pqs.lock().unwrap().insert(mq.clone(), pq.clone());
            info!(?mq, offset, "queue assigned");
            if let Some(me) = self.weak.upgrade() {
                tokio::spawn(pull_loop(me.clone(), mq.clone(), pq.clone(), offset));
                if self.listener.is_orderly() {
                    tokio::spawn(orderly_loop(me, mq.clone(), pq));
                }
            }
        }
        retry
    }

    pub(super) async fn remove_unnecessary(
        &self,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
    ) -> bool {
        if self.orderly_clustering() {
            let Ok(_guard) =
                tokio::time::timeout(Duration::from_secs(1), pq.consume_lock.lock()).await
            else {
                return false;
            };
            let _ = self.offsets.persist(mq).await;
            self.offsets.remove_offset(mq);
            self.unlock(mq).await;
            return true;
        }
        let _ = self.offsets.persist(mq).await;
        self.offsets.remove_offset(mq);
        true
    }

    pub(super) async fn compute_pull_from_where(&self, mq: &MessageQueue) -> i64 {
        let last = self.offsets.read_offset(mq, ReadOffsetType::Store).await;
        if last >= 0 {
            return last;
        }
        if last != OFFSET_NONE {
            return -1;
        }
        let retry = mq.topic.starts_with("%RETRY%");
        let api = self.instance.api();
        let Ok(addr) = self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
        else {
            return -1;
        };
        match self.config.consume_from_where {
            ConsumeFromWhere::ConsumeFromFirstOffset | ConsumeFromWhere::ConsumeFromMinOffset => 0,
            ConsumeFromWhere::ConsumeFromTimestamp if !retry => api
                .search_offset(&addr, mq, self.config.consume_timestamp)
                .await
                .unwrap_or(-1),
            ConsumeFromWhere::ConsumeFromTimestamp => {
                api.get_max_offset(&addr, mq).await.unwrap_or(-1)
            }
            _ if retry => 0,
            _ => api.get_max_offset(&addr, mq).await.unwrap_or(-1),
        }
    }

    pub(super) async fn shutdown(&self) {
        if self.shut.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop.cancel();
        // Let a running rebalance or periodic commit finish; none starts after this.
        let _g = self.housekeeping.lock().await;
        let pqs: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .pqs
            .lock()
            .unwrap()
            .iter()
            .map(|(m, p)| (m.clone(), p.clone()))
            .collect();
        let slots = self.config.consume_thread_max.max(1) as u32;
        let _all = tokio::time::timeout(
            Duration::from_secs(10),
            self.consume_slots.acquire_many(slots),
        )
        .await;
        // Listener calls in flight have finished and recorded their offsets: now drop.
        for (_, pq) in &pqs {
            pq.set_dropped();
        }
        for (_, pq) in &pqs {
            let _ = tokio::time::timeout(Duration::from_secs(2), pq.consume_lock.lock()).await;
        }
        let mqs: Vec<MessageQueue> = pqs.iter().map(|(m, _)| m.clone()).collect();
        self.offsets.persist_all(&mqs, true).await;
        if self.orderly_clustering() {
            for mq in &mqs {
                self.unlock(mq).await;
            }
        }
        self.instance
            .unregister(None, Some(&self.config.group))
            .await;
        self.instance.shutdown();
        info!(group = %self.config.group, "push consumer stopped");
    }

    pub(super) fn reset_retry_topic(&self, msgs: &mut [MessageExt]) {
        let rt = retry_topic(&self.config.group);
        for m in msgs {
            if m.topic == rt
                && let Some(t) = m.properties.get(properties::RETRY_TOPIC)
            {
                m.topic = t.to_owned();
            }
        }
    }

    pub(super) async fn send_back(&self, mq: &MessageQueue, msg: &MessageExt) -> Result<()> {
        let addr = self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.config.group.clone(),
            delay_level: 0,
            origin_msg_id: Some(msg.msg_id()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(self.config.max_reconsume_times),
            bname: None,
        };
        self.instance
            .api()
            .consumer_send_msg_back(&addr, header)
            .await
    }
}
