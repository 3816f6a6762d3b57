//! Flush services: the commit log (ASYNC_FLUSH timer or SYNC_FLUSH group commit) and the
//! consume queues (timer, with a thorough flush that also persists the checkpoint).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::config::FlushDiskType;
use crate::mapped_file::MappedFile;
use crate::store::MessageStore;

impl MessageStore {
    pub(crate) fn flush_commit_log_loop(&self) {
        match self.config.flush_disk_type {
            FlushDiskType::SyncFlush => self.group_commit_loop(),
            FlushDiskType::AsyncFlush => self.async_flush_loop(),
        }
    }

    /// One commit-log flush; returns how many async puts it woke and how many still wait.
    fn flush_commit_log_once(&self, least_pages: usize) -> (u64, u64) {
        // Every record stored at or before `ts` ends at or before `max` (the timestamp is
        // published after the bytes), so once `max` is flushed, `ts` is safe to checkpoint.
        let ts = self.commit_log.last_store_timestamp();
        let max = self.commit_log.write_offset();
        let before = self.commit_log.files().flushed_where();
        let t = Instant::now();
        // SYNC_FLUSH with the write buffer: the group commit writes it before syncing, and
        // wakes the dispatcher (no commit thread does).
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            match self.commit_log.commit() {
                Ok(true) => self.put_signal.notify_if_idle(),
                Ok(false) => {}
                Err(e) => tracing::error!("commit of the write buffer failed: {e}"),
            }
        }
        match self.commit_log.flush(least_pages) {
            Ok(f) => {
                if f > before {
                    self.flush.flush_count.fetch_add(1, Ordering::Relaxed);
                    self.flush
                        .flush_nanos
                        .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                if f >= max && ts > 0 {
                    self.checkpoint.set_physic_msg_timestamp(ts);
                }
                self.publish_flushed(f)
            }
            Err(e) => {
                tracing::error!("commit log flush failed: {e}");
                (0, 0)
            }
        }
    }

    /// ASYNC_FLUSH: every `flushIntervalCommitLog`, flush when at least
    /// `flushCommitLogLeastPages` pages are dirty, and everything every
    /// `flushCommitLogThoroughInterval`.
    fn async_flush_loop(&self) {
        let interval = Duration::from_millis(self.config.flush_interval_commit_log.max(1));
        let thorough = Duration::from_millis(self.config.flush_commit_log_thorough_interval);
        let mut last_thorough = Instant::now();
        let mut seen = self.shutdown_signal.generation();
        while !self.shutdown.load(Ordering::Acquire) {
            seen = self.shutdown_signal.wait(seen, interval);
            let least = if last_thorough.elapsed() >= thorough {
                last_thorough = Instant::now();
                0
            } else {
                self.config.flush_commit_log_least_pages
            };
            self.flush_commit_log_once(least);
        }
    }

    /// SYNC_FLUSH group commit, the fallback flusher (see [`crate::group_commit`]): async
    /// puts lead their own group flushes; this thread flushes groups of blocking puts, and
    /// a group that stops growing before it is complete, once it has waited twice the last
    /// cycle (100 µs..2 ms) without a leader flushing it. It sleeps on its timer rather
    /// than being woken by puts, except after a quiet spell, when it parks until a put
    /// arrives, waking every 10 ms (messages put with `WAIT=false`).
    fn group_commit_loop(&self) {
        let stop = || self.shutdown.load(Ordering::Acquire);
        let has_requests = || {
            self.flush.requested.load(Ordering::SeqCst) > self.commit_log.files().flushed_where()
        };
        while !stop() {
            let seen = self.flush.group.groups();
            let settle = (self.flush.group.cycle() * 2)
                .clamp(Duration::from_micros(100), Duration::from_millis(2));
            self.flush.group.wait_for_group(
                seen,
                has_requests,
                stop,
                Duration::from_millis(10),
                settle,
            );
            // A leader flushed meanwhile, or is flushing now (it sees a group completed
            // during its flush): nothing to do, and nothing for its unlock to wake.
            if self.flush.group.groups() != seen {
                continue;
            }
            let _run = match self.flush.group.try_lead() {
                Some(run) => run,
                // A group completed during the flush in progress (by blocking puts): the
                // leader may flush it next; else this thread does, once the flush ends.
                None if self.flush.group.is_complete() => self.flush.group.lead(),
                None => continue,
            };
            if self.flush.group.groups() != seen {
                continue;
            }
            if has_requests() {
                self.group_flush(false);
            } else {
                // Nothing waits: still flush what was appended without a wait (`WAIT=false`
                // messages, replicated data) every 10 ms.
                self.flush_commit_log_once(0);
            }
        }
    }

    /// Called by a put that completed a group: unless someone is flushing already (who then
    /// sees the complete group when done), flushes the group formed so far and every group
    /// completed meanwhile. Returns whether it flushed.
    pub(crate) fn try_lead_group_flushes(&self) -> bool {
        let Some(_run) = self.flush.group.try_lead() else {
            return false;
        };
        // A group completed during a flush found the right to flush taken: flush it too,
        // a few times at most before the others wait for the next leader.
        for _ in 0..4 {
            self.group_flush(true);
            if !self.flush.group.is_complete() {
                break;
            }
        }
        true
    }

    /// One group flush (the right to flush held); `leader` when a put runs it.
    fn group_flush(&self, leader: bool) {
        let taken = self.flush.group.start();
        let (woken, waiting) = self.flush_commit_log_once(0);
        self.flush.group.finish(taken, woken, waiting, leader);
    }

    /// Consume queues: every `flushIntervalConsumeQueue` with `flushConsumeQueueLeastPages`;
    /// every `flushConsumeQueueThoroughInterval` everything, then the checkpoint.
    pub(crate) fn flush_consume_queue_loop(&self) {
        let interval = Duration::from_millis(self.config.flush_interval_consume_queue.max(1));
        let thorough = Duration::from_millis(self.config.flush_consume_queue_thorough_interval);
        let mut last_thorough = Instant::now();
        let mut seen = self.shutdown_signal.generation();
        while !self.shutdown.load(Ordering::Acquire) {
            seen = self.shutdown_signal.wait(seen, interval);
            if self.shutdown.load(Ordering::Acquire) {
                break;
            }
            let is_thorough = last_thorough.elapsed() >= thorough;
            if is_thorough {
                last_thorough = Instant::now();
            }
            self.flush_consume_queues(is_thorough);
        }
    }

    /// Flushes the consume queues; `thorough` flushes everything and persists the checkpoint.
    pub fn flush_consume_queues(&self, thorough: bool) {
        let logics = self.logics_ts.load(Ordering::Acquire);
        let least = if thorough {
            0
        } else {
            self.config.flush_consume_queue_least_pages
        };
        let mut ok = true;
        for cq in self.all_queues() {
            if let Err(e) = cq.flush(least) {
                tracing::error!(topic = cq.topic(), "consume queue flush failed: {e}");
                ok = false;
            }
        }
        if thorough && ok {
            if logics > 0 {
                self.checkpoint.set_logics_msg_timestamp(logics);
            }
            if let Err(e) = self.checkpoint.flush() {
                tracing::error!("checkpoint flush failed: {e}");
            }
        }
    }

    /// The commit thread of the write buffer: commits every 1 ms while there is traffic
    /// (one `pwrite` covers everything appended meanwhile), then wakes the dispatcher; after
    /// 50 idle rounds it parks until a writer notifies it.
    pub(crate) fn commit_loop(&self) {
        let mut idle_rounds = 0u32;
        let mut failing = false;
        while !self.shutdown.load(Ordering::Acquire) {
            match self.commit_log.commit() {
                Ok(true) => {
                    idle_rounds = 0;
                    failing = false;
                    self.put_signal.notify_if_idle();
                }
                Ok(false) => idle_rounds += 1,
                Err(e) => {
                    if !failing {
                        tracing::error!("commit of the write buffer failed: {e}");
                    }
                    failing = true;
                    idle_rounds = 0;
                }
            }
            if idle_rounds < 50 {
                std::thread::sleep(Duration::from_millis(1));
            } else {
                self.commit_signal
                    .wait_idle(Duration::from_millis(100), || {
                        self.shutdown.load(Ordering::Acquire)
                            || self.commit_log.uncommitted_bytes() > 0
                    });
            }
        }
    }

    /// SYNC_FLUSH master: keeps `prefaultAheadBytes` past the write position zero-filled
    /// and synced (256 KiB steps, a sync per MiB), so that group commits overwrite written
    /// blocks: a data write and a cache flush, with no block allocation or metadata write
    /// in the flush. Every byte is written to disk twice.
    pub(crate) fn zero_ahead_loop(&self) {
        const CHUNK: usize = 256 << 10;
        const SYNC_EVERY: usize = 1 << 20;
        let ahead = self.config.prefault_ahead_bytes;
        let sync = |f: &MappedFile| {
            if let Err(e) = f.sync_data() {
                tracing::warn!(file = %f.path().display(), "sync of zero-filled pages: {e}");
            }
        };
        let mut seen = self.shutdown_signal.generation();
        let mut unsynced: Option<(Arc<MappedFile>, usize)> = None;
        let mut failing = false;
        while !self.shutdown.load(Ordering::Acquire) {
            match self.commit_log.zero_fill_ahead(ahead, CHUNK) {
                Ok(Some((file, from, upto))) => {
                    failing = false;
                    let mut pending = upto - from;
                    match unsynced.take() {
                        Some((f, n)) if Arc::ptr_eq(&f, &file) => pending += n,
                        Some((f, _)) => sync(&f),
                        None => {}
                    }
                    if pending >= SYNC_EVERY {
                        sync(&file);
                    } else {
                        unsynced = Some((file, pending));
                    }
                    continue;
                }
                Ok(None) => {
                    if let Some((f, _)) = unsynced.take() {
                        sync(&f);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!("zero-filling ahead failed: {e}");
                    }
                    failing = true;
                }
            }
            seen = self.shutdown_signal.wait(seen, Duration::from_millis(10));
        }
    }

    /// Keeps `prefaultAheadBytes` past the write position of the newest commit-log file
    /// pre-faulted (4 MiB per step), checking every 10 ms (the window covers far more than
    /// 10 ms of writing).
    pub(crate) fn prefault_loop(&self) {
        const STEP: usize = 4 << 20;
        let ahead = self.config.prefault_ahead_bytes;
        let mut seen = self.shutdown_signal.generation();
        let mut failing = false;
        while !self.shutdown.load(Ordering::Acquire) {
            if let Some(f) = self.commit_log.files().last_file() {
                let target = f.wrote_position().saturating_add(ahead).min(f.file_size());
                if f.populated() < target {
                    let upto = (f.populated() + STEP).min(target);
                    match f.populate(upto) {
                        Ok(()) => {
                            failing = false;
                            continue;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                            tracing::info!("{e}; prefaulting disabled");
                            return;
                        }
                        // The appender reports it when it gets there; retry after the wait.
                        Err(e) if !failing => {
                            tracing::warn!(file = %f.path().display(), "prefault failed: {e}");
                            failing = true;
                        }
                        Err(_) => {}
                    }
                }
            }
            seen = self.shutdown_signal.wait(seen, Duration::from_millis(10));
        }
    }
}
