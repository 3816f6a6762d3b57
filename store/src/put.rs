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

    /// Appends and returns the offset the flush must reach (None = no wait needed), and
    /// whether this put completed the group commit's expected group.
    fn append(
        &self,
        msgs: &[MessageExt],
        blocking: bool,
    ) -> std::result::Result<(PutMessageResult, Option<(u64, bool)>), PutMessageResult> {
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
        let mut complete = false;
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            self.flush.requested.fetch_max(end, Ordering::SeqCst);
            complete = self.flush.group.arrive(blocking);
        }
        Ok((
            PutMessageResult {
                status: PutMessageStatus::PutOk,
                append: Some(r),
            },
            wait.then_some((end, complete)),
        ))
    }

    /// Stores one message (see [`crate::store`] for the flush wait).
    pub async fn put_message(&self, msg: MessageExt) -> PutMessageResult {
        self.put_messages(std::slice::from_ref(&msg)).await
    }

    /// Stores a batch: one record per message, all in one file, consecutive queue offsets.
    pub async fn put_messages(&self, msgs: &[MessageExt]) -> PutMessageResult {
        let (mut res, wait) = match self.append(msgs, false) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let Some((end, complete)) = wait else {
            return res;
        };
        // The put that completes a group flushes it on this thread (a short blocking
        // call, see `group_commit`). A leader's flush that takes longer than the timeout
        // fails its put, as the watchdog fails the others (the message is on disk either way).
        if complete {
            // Puts ready to run append first and join this flush: the flush blocks this
            // worker thread, and with a single one nothing else could append meanwhile, so
            // every group would be this put alone (and the task would never yield).
            tokio::task::yield_now().await;
            let t = Instant::now();
            if self.commit_log.files().flushed_where() < end
                && self.try_lead_group_flushes()
                && t.elapsed() > self.config.sync_flush_timeout()
            {
                res.status = PutMessageStatus::FlushDiskTimeout;
                return res;
            }
        }
        if !self.flush.waiters.wait(end).await {
            res.status = PutMessageStatus::FlushDiskTimeout;
        }
        res
    }

    /// Blocking form of [`Self::put_messages`] for plain threads.
    pub fn put_messages_blocking(&self, msgs: &[MessageExt]) -> PutMessageResult {
        let (mut res, wait) = match self.append(msgs, true) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if let Some((end, _)) = wait {
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
