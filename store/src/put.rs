//! Puts: append to the commit log, then (SYNC_FLUSH) wait for the group commit.

use std::sync::atomic::Ordering;
use std::time::Instant;

use remoting::message::{MessageExt, properties};

use crate::config::{BrokerRole, FlushDiskType};
use crate::results::{PutMessageResult, PutMessageStatus};
use crate::store::MessageStore;

impl MessageStore {
    pub(crate) fn check_writable(&self) -> Option<PutMessageStatus> {
        if self.shutdown.load(Ordering::Acquire) {
            return Some(PutMessageStatus::ServiceNotAvailable);
        }
        if self.config.broker_role == BrokerRole::Slave {
            return Some(PutMessageStatus::ServiceNotAvailable);
        }
        if self.disk_full.load(Ordering::Acquire) {
            return Some(PutMessageStatus::ServiceNotAvailable);
        }
        if self.is_os_page_cache_busy() {
            return Some(PutMessageStatus::OsPageCacheBusy);
        }
        None
    }

    /// Appends and returns the offset the flush must reach (None = no wait needed).
    fn append(
        &self,
        msgs: &[MessageExt],
    ) -> std::result::Result<(PutMessageResult, Option<u64>), PutMessageResult> {
        if let Some(s) = self.check_writable() {
            return Err(PutMessageResult::failed(s));
        }
        let r = self
            .commit_log
            .append(msgs)
            .map_err(PutMessageResult::failed)?;
        if self.commit_log.is_buffered() {
            self.commit_signal.notify_if_idle();
        } else {
            self.put_signal.notify_if_idle();
        }
        let end = (r.wrote_offset as u64) + r.wrote_bytes as u64;
        let wait = self.config.flush_disk_type == FlushDiskType::SyncFlush
            && msgs[0].properties.get(properties::WAIT) != Some("false");
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            self.flush.requested.fetch_max(end, Ordering::AcqRel);
            // Wake the group-commit thread only once the expected group is complete (or for
            // the first request); it also wakes itself after a short deadline. Taking the lock
            // orders the wake-up after the thread's check of the counters, so none is lost.
            let pending = self.flush.pending.fetch_add(1, Ordering::AcqRel) + 1;
            if pending == 1 || pending >= self.flush.group_target.load(Ordering::Acquire) {
                let _g = self.flush.request_lock.lock();
                self.flush.request_cv.notify_one();
            }
        }
        Ok((
            PutMessageResult {
                status: PutMessageStatus::PutOk,
                append: Some(r),
            },
            wait.then_some(end),
        ))
    }

    /// Stores one message (see [`crate::store`] for the flush wait).
    pub async fn put_message(&self, msg: MessageExt) -> PutMessageResult {
        self.put_messages(std::slice::from_ref(&msg)).await
    }

    /// Stores a batch: one record per message, all in one file, consecutive queue offsets.
    pub async fn put_messages(&self, msgs: &[MessageExt]) -> PutMessageResult {
        let (mut res, wait) = match self.append(msgs) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if let Some(end) = wait
            && !self.flush.waiters.wait(end).await
        {
            res.status = PutMessageStatus::FlushDiskTimeout;
        }
        res
    }

    /// Blocking form of [`Self::put_messages`] for plain threads.
    pub fn put_messages_blocking(&self, msgs: &[MessageExt]) -> PutMessageResult {
        let (mut res, wait) = match self.append(msgs) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if let Some(end) = wait {
            let deadline = Instant::now() + self.config.sync_flush_timeout();
            let mut flushed = self.flush.flushed.lock();
            while *flushed < end {
                if self
                    .flush
                    .flushed_cv
                    .wait_until(&mut flushed, deadline)
                    .timed_out()
                {
                    break;
                }
            }
            if *flushed < end {
                res.status = PutMessageStatus::FlushDiskTimeout;
            }
        }
        res
    }

    /// Blocking form of [`Self::put_message`].
    pub fn put_message_blocking(&self, msg: &MessageExt) -> PutMessageResult {
        self.put_messages_blocking(std::slice::from_ref(msg))
    }
}
