//! Consumption: the per-queue long-polling pull loop and the concurrent and orderly listeners.

use super::*;

pub(super) async fn pull_loop(
    inner: Arc<Inner>,
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    mut offset: i64,
) {
    let cfg = &inner.config;
    loop {
        if pq.is_dropped() || inner.stop.is_cancelled() {
            return;
        }
        if pq.count() >= cfg.pull_threshold_for_queue {
            let freed = pq.space_freed.notified();
            tokio::select! {
                _ = freed => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = inner.stop.cancelled() => return,
            }
            continue;
        }
        let Some(sub) = inner.subscriptions.lock().unwrap().get(&mq.topic).cloned() else {
            return;
        };
        let addr = match inner
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                debug!(?mq, error = %e, "no broker address");
                if pause(&inner, cfg.pull_delay_on_exception).await {
                    return;
                }
                continue;
            }
        };
        let mut sys_flag = pull_sys_flag::SUSPEND;
        let mut commit_offset = 0;
        if inner.is_clustering() {
            let o = inner.offsets.read_offset(&mq, ReadOffsetType::Memory).await;
            if o > 0 {
                commit_offset = o;
                sys_flag |= pull_sys_flag::COMMIT_OFFSET;
            }
        }
        if cfg.post_subscription_when_pull {
            sys_flag |= pull_sys_flag::SUBSCRIPTION;
        }
        let header = PullMessageRequestHeader {
            consumer_group: cfg.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: cfg.pull_batch_size,
            sys_flag,
            commit_offset,
            suspend_timeout_millis: cfg.broker_suspend_max.as_millis() as i64,
            subscription: Some(sub.sub_string.clone()),
            sub_version: sub.sub_version,
            expression_type: Some(sub.expression_type.clone()),
            bname: None,
        };
        let result = tokio::select! {
            r = inner.instance.api().pull_message(&addr, header, cfg.pull_timeout) => r,
            _ = inner.stop.cancelled() => return,
        };
        if pq.is_dropped() {
            return;
        }
        match result {
            Ok(r) => {
                offset = r.next_begin_offset;
                match r.status {
                    PullStatus::Found => {
                        let mut msgs = filter_by_tags(r.messages, &sub);
                        if msgs.is_empty() {
                            if pq.count() == 0 {
                                inner.offsets.update_offset(&mq, offset, true);
                            }
                            continue;
                        }
                        inner.reset_retry_topic(&mut msgs);
                        pq.put(&msgs);
                        if let MessageListener::Concurrently(_) = inner.listener {
                            dispatch_concurrently(&inner, &mq, &pq, msgs);
                        }
                    }
                    PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                        if pq.count() == 0 {
                            inner.offsets.update_offset(&mq, offset, true);
                        }
                    }
                    PullStatus::OffsetIllegal => {
                        warn!(?mq, next = offset, "pull offset illegal; moving on");
                        inner.offsets.update_offset(&mq, offset, false);
                        let _ = inner.offsets.persist(&mq).await;
                    }
                }
            }
            Err(e) => {
                debug!(?mq, error = %e, "pull failed");
                if pause(&inner, cfg.pull_delay_on_exception).await {
                    return;
                }
            }
        }
        if !cfg.pull_interval.is_zero() && pause(&inner, cfg.pull_interval).await {
            return;
        }
    }
}

/// Sleeps unless stopped; true when stopped.
pub(super) async fn pause(inner: &Inner, d: Duration) -> bool {
    tokio::select! {
        _ = inner.stop.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

pub(super) fn dispatch_concurrently(
    inner: &Arc<Inner>,
    mq: &MessageQueue,
    pq: &Arc<ProcessQueue>,
    msgs: Vec<MessageExt>,
) {
    let size = inner.config.consume_message_batch_max_size.max(1);
    for chunk in msgs.chunks(size) {
        let (inner, mq, pq, chunk) = (inner.clone(), mq.clone(), pq.clone(), chunk.to_vec());
        tokio::spawn(async move { consume_concurrently(inner, mq, pq, chunk).await });
    }
}

pub(super) async fn consume_concurrently(
    inner: Arc<Inner>,
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    msgs: Vec<MessageExt>,
) {
    let Ok(_permit) = inner.consume_slots.clone().acquire_owned().await else {
        return;
    };
    if pq.is_dropped() {
        return;
    }
    let MessageListener::Concurrently(listener) = &inner.listener else {
        return;
    };
    let ctx = ConsumeContext { queue: mq.clone() };
    let status = std::panic::AssertUnwindSafe(listener.consume_message(&msgs, &ctx))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            warn!(?mq, "listener panicked; messages will be consumed again");
            ConsumeConcurrentlyStatus::ReconsumeLater
        });
    let mut done = msgs.clone();
    if status == ConsumeConcurrentlyStatus::ReconsumeLater {
        if inner.is_clustering() {
            let mut failed = Vec::new();
            for m in &msgs {
                if let Err(e) = inner.send_back(&mq, m).await {
                    debug!(error = %e, "send back failed; consuming again locally");
                    failed.push(m.clone());
                }
            }
            done.retain(|m| !failed.iter().any(|f| f.queue_offset == m.queue_offset));
            if !failed.is_empty() {
                let (inner2, mq2, pq2) = (inner.clone(), mq.clone(), pq.clone());
                tokio::spawn(async move {
                    if !pause(&inner2, Duration::from_secs(5)).await {
                        dispatch_concurrently(&inner2, &mq2, &pq2, failed);
                    }
                });
            }
        } else {
            warn!(
                ?mq,
                count = msgs.len(),
                "broadcast messages failed and are dropped"
            );
        }
    }
    if let Some(next) = pq.remove(&done)
        && !pq.is_dropped()
    {
        inner.offsets.update_offset(&mq, next, true);
    }
}

pub(super) async fn orderly_loop(inner: Arc<Inner>, mq: MessageQueue, pq: Arc<ProcessQueue>) {
    let MessageListener::Orderly(listener) = inner.listener.clone() else {
        return;
    };
    let ctx = ConsumeContext { queue: mq.clone() };
    loop {
        if pq.is_dropped() || inner.stop.is_cancelled() {
            return;
        }
        if pq.count() == 0 {
            tokio::select! {
                _ = pq.messages_added.notified() => {}
                _ = inner.stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        if inner.is_clustering() && !pq.is_locked() {
            let ok = inner.lock(&mq).await;
            pq.set_locked(ok);
            if !ok {
                if pause(&inner, Duration::from_millis(100)).await {
                    return;
                }
                continue;
            }
        }
        let guard = pq.consume_lock.lock().await;
        if pq.is_dropped() {
            return;
        }
        let msgs = pq.take(inner.config.consume_message_batch_max_size.max(1));
        if msgs.is_empty() {
            continue;
        }
        let status = std::panic::AssertUnwindSafe(listener.consume_message(&msgs, &ctx))
            .catch_unwind()
            .await
            .unwrap_or(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment);
        match status {
            ConsumeOrderlyStatus::Success => {
                if let Some(next) = pq.commit() {
                    inner.offsets.update_offset(&mq, next, false);
                }
                drop(guard);
            }
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => {
                pq.rollback();
                drop(guard);
                if pause(&inner, inner.config.suspend_current_queue_time).await {
                    return;
                }
            }
        }
    }
}
