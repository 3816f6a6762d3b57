//! The reput (dispatch) service: reads new commit-log records and builds consume-queue units
//! and index entries from them, then tells the arrival listener.

use std::sync::atomic::Ordering;
use std::time::Duration;

use remoting::message::{RawRecord, RecordView, parse_record, properties, sysflag, tags_hash_code};

use crate::consume_queue::CqUnit;
use crate::error::StoreError;
use crate::results::ArrivalEvent;
use crate::store::MessageStore;

/// Per-step state of the dispatcher (avoids a lookup or lock per record).
struct DispatchCtx {
    cq: Option<std::sync::Arc<crate::consume_queue::ConsumeQueue>>,
    listener: Option<crate::store::ArrivalListener>,
    max_store_ts: i64,
}

/// The properties dispatch needs, found in one pass over the properties string.
#[derive(Default)]
struct KeyProperties<'a> {
    tags: Option<&'a str>,
    keys: Option<&'a str>,
    uniq_key: Option<&'a str>,
    delay: Option<&'a str>,
}

impl<'a> KeyProperties<'a> {
    fn scan(s: &'a str) -> Self {
        let mut p = Self::default();
        for (k, v) in properties::pairs(s) {
            let slot = match k {
                properties::TAGS => &mut p.tags,
                properties::KEYS => &mut p.keys,
                properties::UNIQ_KEY => &mut p.uniq_key,
                properties::DELAY => &mut p.delay,
                _ => continue,
            };
            slot.get_or_insert(v);
        }
        p
    }
}

/// Topic of delayed messages; their tags code is the delivery time.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

impl MessageStore {
    /// Under load the loop polls every 1 ms (like Apache) so writers never pay for a wake-up;
    /// after 50 idle polls it parks until a writer notifies it.
    pub(crate) fn reput_loop(&self) {
        let mut idle_rounds = 0u32;
        while !self.shutdown.load(Ordering::Acquire) {
            if self.do_reput() {
                idle_rounds = 0;
                continue;
            }
            idle_rounds += 1;
            if self.dispatch_failing.load(Ordering::Acquire) {
                // A consume queue or index write failed (disk full): retry every 100 ms.
                self.shutdown_signal.wait(
                    self.shutdown_signal.generation(),
                    Duration::from_millis(100),
                );
            } else if idle_rounds < 50 {
                std::thread::sleep(Duration::from_millis(1));
            } else {
                self.put_signal.wait_idle(Duration::from_millis(100), || {
                    self.shutdown.load(Ordering::Acquire)
                        || self.reput_offset.load(Ordering::Acquire) < self.commit_log.max_offset()
                });
            }
        }
    }

    /// Dispatches what is readable from the reput offset within one file. Returns true if it
    /// made progress.
    pub(crate) fn do_reput(&self) -> bool {
        let from = self.reput_offset.load(Ordering::Acquire);
        let min = self.commit_log.min_offset();
        if from < min {
            tracing::warn!(
                from,
                min,
                "reput offset below commit log min offset; jumping"
            );
            self.reput_offset.store(min, Ordering::Release);
            return true;
        }
        if from >= self.commit_log.max_offset() {
            return false;
        }
        let Some(file) = self.commit_log.files().find_by_offset(from) else {
            return false;
        };
        let base = file.file_from_offset();
        let start = (from - base) as usize;
        let Some(data) = file.slice_from(start) else {
            return false;
        };
        let mut p = 0usize;
        let mut next = from;
        let mut ctx = DispatchCtx {
            cq: None,
            listener: if self.config.broker_role != crate::config::BrokerRole::Slave {
                self.listener.read().clone()
            } else {
                None
            },
            max_store_ts: 0,
        };
        while p < data.len() {
            match parse_record(&data[p..], false) {
                Ok(RawRecord::Message(v)) => {
                    // A record is dispatched completely or not at all; a failed one is
                    // retried (and everything after it waits), so no consumer misses it.
                    if let Err(e) = self.dispatch(&v, from + p as u64, &mut ctx) {
                        if !self.dispatch_failing.swap(true, Ordering::AcqRel) {
                            tracing::error!(
                                offset = from + p as u64,
                                "dispatch failed, retrying every 100 ms: {e}"
                            );
                        }
                        break;
                    }
                    if self.dispatch_failing.load(Ordering::Relaxed)
                        && self.dispatch_failing.swap(false, Ordering::AcqRel)
                    {
                        tracing::info!(offset = from + p as u64, "dispatch resumed");
                    }
                    p += v.total_size;
                    next = from + p as u64;
                }
                Ok(RawRecord::Blank { .. }) => {
                    next = base + file.file_size() as u64;
                    break;
                }
                Err(remoting::message::MessageDecodeError::Truncated { .. }) => break,
                Err(e) => {
                    tracing::error!(
                        offset = from + p as u64,
                        "[BUG] dispatch cannot parse record: {e}; skipping to next file"
                    );
                    next = base + file.file_size() as u64;
                    break;
                }
            }
        }
        if ctx.max_store_ts > 0 {
            self.logics_ts.fetch_max(ctx.max_store_ts, Ordering::AcqRel);
        }
        if next == from {
            return false;
        }
        self.reput_offset.store(next, Ordering::Release);
        self.dispatched_tx.send_replace(next);
        *self.dispatched.lock() = next;
        self.dispatched_cv.notify_all();
        true
    }

    fn tags_code(&self, v: &RecordView<'_>, p: &KeyProperties<'_>) -> i64 {
        if v.topic == SCHEDULE_TOPIC
            && let Some(level) = p.delay.and_then(|l| l.parse::<usize>().ok())
            && level > 0
        {
            let level = level.min(self.delay_levels.len());
            return v.store_timestamp + self.delay_levels.get(level - 1).copied().unwrap_or(1000);
        }
        tags_hash_code(p.tags)
    }

    /// Builds the consume-queue unit and the index entries of one record, then tells the
    /// arrival listener. An error leaves the record to be dispatched again.
    fn dispatch(
        &self,
        v: &RecordView<'_>,
        offset: u64,
        ctx: &mut DispatchCtx,
    ) -> Result<(), StoreError> {
        let tx = sysflag::transaction_type(v.sys_flag);
        let props = KeyProperties::scan(v.properties);
        let queued = tx == sysflag::TRANSACTION_NOT_TYPE || tx == sysflag::TRANSACTION_COMMIT_TYPE;
        let tags_code = self.tags_code(v, &props);
        if queued {
            let cq = match &ctx.cq {
                Some(cq) if cq.queue_id() == v.queue_id && cq.topic() == v.topic => cq.clone(),
                _ => {
                    let cq = self.find_or_create_consume_queue(v.topic, v.queue_id);
                    ctx.cq = Some(cq.clone());
                    cq
                }
            };
            let unit = CqUnit {
                commit_log_offset: offset as i64,
                size: v.total_size as i32,
                tags_code,
            };
            cq.put(unit, v.queue_offset)?;
            ctx.max_store_ts = ctx.max_store_ts.max(v.store_timestamp);
        }
        if let Some(idx) = &self.index
            && tx != sysflag::TRANSACTION_ROLLBACK_TYPE
            && (props.uniq_key.is_some() || props.keys.is_some())
        {
            let keys = props.keys.into_iter().flat_map(properties::split_keys);
            let keys = props.uniq_key.into_iter().chain(keys);
            if let Some(full) = idx.build_index(v.topic, keys, offset as i64, v.store_timestamp)? {
                let end_ts = full.end_timestamp();
                let cp = self.checkpoint.clone();
                std::thread::spawn(move || {
                    if let Err(e) = full.flush() {
                        tracing::error!("index flush failed: {e}");
                        return;
                    }
                    cp.set_index_msg_timestamp(end_ts);
                    if let Err(e) = cp.flush() {
                        tracing::error!("checkpoint flush failed: {e}");
                    }
                });
            }
        }
        if queued && let Some(l) = &ctx.listener {
            l(&ArrivalEvent {
                topic: v.topic,
                queue_id: v.queue_id,
                max_offset: v.queue_offset + 1,
                tags_code,
                store_timestamp: v.store_timestamp,
                properties: v.properties,
            });
        }
        Ok(())
    }
}
