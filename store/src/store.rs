//! [`MessageStore`]: the narrow API the broker calls. It owns the commit log, the consume
//! queues, the index, the checkpoint and the background services (flush, dispatch, consume
//! queue flush, retention).
//!
//! ## Puts and flushing
//! [`MessageStore::put_message`] / [`MessageStore::put_messages`] are `async`: with
//! `SYNC_FLUSH` (and the message's `WAIT` property not `"false"`) the future resolves once a
//! group commit covers the record, or with [`crate::PutMessageStatus::FlushDiskTimeout`] after
//! `syncFlushTimeout` (the message is stored either way). With `ASYNC_FLUSH` it resolves
//! right after the append. They need no runtime timer: the put that completes a group
//! flushes it on its own thread and completes the others (a blocking call of about one
//! `fdatasync`, see `group_commit`), the group-commit thread flushes groups that stop
//! growing, and a watchdog thread times puts out.
//! [`MessageStore::put_message_blocking`] does the same on a plain thread (the group-commit
//! thread flushes for it).
//!
//! ## Reads
//! Consume queues and the index are built by a dispatch thread shortly after the append;
//! [`MessageStore::wait_dispatched`] / [`MessageStore::set_arrival_listener`] tell when.
//! Reads return zero-copy [`bytes::Bytes`] slices of the mapped files.
//!
//! Call [`MessageStore::shutdown`] to stop the services; without it the `abort` file stays and
//! the next open runs crash recovery.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::watch;

use crate::checkpoint::{self, StoreCheckpoint};
use crate::commit_log::CommitLog;
use crate::config::{BrokerRole, FlushDiskType, MessageStoreConfig};
use crate::consume_queue::ConsumeQueue;
use crate::error::{Result, StoreError};
use crate::flush_wait::FlushWaiters;
use crate::group_commit::GroupCommit;
use crate::index::IndexService;
use crate::results::ArrivalEvent;

/// Callback run by the dispatch thread for every message added to a consume queue.
pub type ArrivalListener = Arc<dyn Fn(&ArrivalEvent<'_>) + Send + Sync>;

/// What recovery did when the store was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The `abort` file was present (the last run did not shut down cleanly).
    pub abnormal: bool,
    /// Commit-log end after recovery.
    pub commit_log_end: u64,
    /// The bad record recovery stopped at, if it was not just the clean end of the data.
    pub corruption: Option<String>,
    /// Offset the dispatch started re-building consume queues and the index from.
    pub reput_from: u64,
}

/// A wake-up signal with a generation counter. [`Signal::notify_if_idle`] costs one atomic
/// load unless a waiter announced that it is going to sleep.
#[derive(Default)]
pub(crate) struct Signal {
    generation: Mutex<u64>,
    cv: Condvar,
    idle: AtomicBool,
}

impl Signal {
    pub(crate) fn notify(&self) {
        *self.generation.lock() += 1;
        self.cv.notify_all();
    }
    /// Notifies only when a waiter is parked in [`Signal::wait_idle`].
    pub(crate) fn notify_if_idle(&self) {
        // Pairs with the SeqCst store in `wait_idle`: either we see `idle` or the waiter's
        // re-check sees our write.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) {
            self.notify();
        }
    }
    /// Like [`Signal::wait`] but announces the wait so [`Signal::notify_if_idle`] wakes it.
    /// The caller must re-check its condition after setting idle (done here via `recheck`).
    pub(crate) fn wait_idle(&self, timeout: Duration, recheck: impl Fn() -> bool) {
        let mut g = self.generation.lock();
        self.idle.store(true, Ordering::SeqCst);
        if !recheck() {
            self.cv.wait_for(&mut g, timeout);
        }
        self.idle.store(false, Ordering::SeqCst);
    }
    /// Waits until notified after `seen` or `timeout`; returns the current generation.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let mut g = self.generation.lock();
        if *g == seen {
            self.cv.wait_for(&mut g, timeout);
        }
        *g
    }
    pub(crate) fn generation(&self) -> u64 {
        *self.generation.lock()
    }
}

/// Group-commit state shared by writers and the flush thread.
pub(crate) struct FlushState {
    /// The highest commit-log offset a writer waits to see flushed.
    pub(crate) requested: AtomicU64,
    /// When a group is complete and who flushes it.
    pub(crate) group: GroupCommit,
    pub(crate) flushed: Mutex<u64>,
    pub(crate) flushed_cv: Condvar,
    pub(crate) flushed_tx: watch::Sender<u64>,
    /// Async puts waiting for the group commit.
    pub(crate) waiters: FlushWaiters,
    pub(crate) flush_count: AtomicU64,
    pub(crate) flush_nanos: AtomicU64,
}

/// The message store.
pub struct MessageStore {
    pub(crate) config: MessageStoreConfig,
    pub(crate) commit_log: CommitLog,
    pub(crate) queues: RwLock<HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>>,
    pub(crate) index: Option<IndexService>,
    pub(crate) checkpoint: Arc<StoreCheckpoint>,
    pub(crate) reput_offset: AtomicU64,
    pub(crate) put_signal: Signal,
    /// Wakes the commit thread (write buffer) when it parked idle.
    pub(crate) commit_signal: Signal,
    pub(crate) shutdown_signal: Signal,
    pub(crate) flush: FlushState,
    pub(crate) dispatched_tx: watch::Sender<u64>,
    pub(crate) dispatched: Mutex<u64>,
    pub(crate) dispatched_cv: Condvar,
    pub(crate) listener: RwLock<Option<ArrivalListener>>,
    pub(crate) shutdown: AtomicBool,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) recovery: RecoveryReport,
    pub(crate) delay_levels: Vec<i64>,
    pub(crate) disk_full: AtomicBool,
    /// The dispatcher could not write a consume queue or the index (disk full) and retries.
    pub(crate) dispatch_failing: AtomicBool,
    pub(crate) logics_ts: AtomicI64,
    pub(crate) last_clean_min_offset: AtomicU64,
    lock: Mutex<Option<File>>,
}

fn lock_store(config: &MessageStoreConfig) -> Result<File> {
    let path = config.lock_path();
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io("open", &path, e))?;
    // SAFETY: plain flock on an owned descriptor.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(StoreError::Locked(config.store_path_root_dir.clone()));
    }
    use std::io::Write;
    let _ = (&f).write_all(b"lock");
    Ok(f)
}

impl MessageStore {
    /// Opens the store: loads the files, recovers (normally, or after a crash when the
    /// `abort` file is present), rebuilds consume queues and the index up to the end of the
    /// commit log, and starts the background services.
    pub fn open(config: MessageStoreConfig) -> Result<Arc<Self>> {
        let root = &config.store_path_root_dir;
        for d in [
            root.clone(),
            config.commit_log_dir(),
            config.consume_queue_dir(),
            config.index_dir(),
            config.config_dir(),
        ] {
            std::fs::create_dir_all(&d).map_err(|e| StoreError::io("mkdir", &d, e))?;
        }
        let lock = lock_store(&config)?;
        let abnormal = config.abort_path().exists();
        let commit_log = CommitLog::new(&config);
        commit_log.load()?;
        let queues = crate::recovery::load_consume_queues(&config)?;
        let checkpoint = StoreCheckpoint::open(&config.checkpoint_path())?;
        let index = if config.message_index_enable {
            let svc = IndexService::new(
                config.index_dir(),
                config.max_hash_slot_num,
                config.max_index_num,
            );
            svc.load(false, checkpoint.index_msg_timestamp())?;
            Some(svc)
        } else {
            None
        };
        let recovery = crate::recovery::recover(
            &config,
            &commit_log,
            &queues,
            &checkpoint,
            index.as_ref(),
            abnormal,
        )?;
        let (flushed_tx, _) = watch::channel(recovery.commit_log_end);
        let (dispatched_tx, _) = watch::channel(recovery.reput_from);
        let store = Arc::new(MessageStore {
            delay_levels: config.delay_levels_ms(),
            commit_log,
            queues: RwLock::new(queues),
            index,
            reput_offset: AtomicU64::new(recovery.reput_from),
            put_signal: Signal::default(),
            commit_signal: Signal::default(),
            shutdown_signal: Signal::default(),
            flush: FlushState {
                requested: AtomicU64::new(recovery.commit_log_end),
                group: GroupCommit::default(),
                flushed: Mutex::new(recovery.commit_log_end),
                flushed_cv: Condvar::new(),
                flushed_tx,
                waiters: FlushWaiters::new(recovery.commit_log_end, config.sync_flush_timeout()),
                flush_count: AtomicU64::new(0),
                flush_nanos: AtomicU64::new(0),
            },
            dispatched_tx,
            dispatched: Mutex::new(recovery.reput_from),
            dispatched_cv: Condvar::new(),
            listener: RwLock::new(None),
            shutdown: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
            disk_full: AtomicBool::new(false),
            dispatch_failing: AtomicBool::new(false),
            logics_ts: AtomicI64::new(checkpoint.logics_msg_timestamp()),
            last_clean_min_offset: AtomicU64::new(0),
            checkpoint: Arc::new(checkpoint),
            recovery,
            config,
            lock: Mutex::new(Some(lock)),
        });
        // Catch up before accepting writes, like Apache's start().
        while store.do_reput() {}
        // The file after the last one is made (and warmed) now, not by the first roll-over.
        if let Err(e) = store.commit_log.files().preallocate_next() {
            tracing::warn!("preallocating the next commit-log file failed: {e}");
        }
        store.rebuild_topic_queue_table();
        store
            .last_clean_min_offset
            .store(store.commit_log.min_offset(), Ordering::Release);
        checkpoint::create_abort_file(&store.config.abort_path())?;
        store.start_services()?;
        tracing::info!(report = ?store.recovery, "message store opened");
        Ok(store)
    }

    /// The configuration.
    pub fn config(&self) -> &MessageStoreConfig {
        &self.config
    }

    /// The commit log (for tools, tests and benchmarks; the broker uses the methods here).
    pub fn commit_log(&self) -> &CommitLog {
        &self.commit_log
    }

    /// What recovery did at open.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    fn rebuild_topic_queue_table(&self) {
        let mut table = HashMap::new();
        let min = self.commit_log.min_offset() as i64;
        for (topic, qs) in self.queues.read().iter() {
            for (qid, cq) in qs {
                cq.correct_min_offset(min);
                table.insert((topic.clone(), *qid), cq.max_offset_in_queue());
            }
        }
        self.commit_log.set_topic_queue_table(table);
    }

    fn start_services(self: &Arc<Self>) -> Result<()> {
        self.commit_log.start_write_buffer();
        let mut threads = self.threads.lock();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| StoreError::io("spawn", name, e))
        };
        let s = self.clone();
        threads.push(spawn("store-reput", Box::new(move || s.reput_loop()))?);
        if self.commit_log.is_buffered() && self.config.flush_disk_type == FlushDiskType::AsyncFlush
        {
            let s = self.clone();
            threads.push(spawn("store-commit", Box::new(move || s.commit_loop()))?);
        }
        let s = self.clone();
        threads.push(spawn(
            "store-flush-commitlog",
            Box::new(move || s.flush_commit_log_loop()),
        )?);
        let s = self.clone();
        threads.push(spawn(
            "store-flush-cq",
            Box::new(move || s.flush_consume_queue_loop()),
        )?);
        let s = self.clone();
        threads.push(spawn("store-clean", Box::new(move || s.clean_loop()))?);
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            let s = self.clone();
            threads.push(spawn(
                "store-flush-watchdog",
                Box::new(move || s.flush.waiters.watchdog_loop(&s.shutdown)),
            )?);
        }
        if self.config.zero_fills_commit_log() {
            let s = self.clone();
            threads.push(spawn(
                "store-zero-ahead",
                Box::new(move || s.zero_ahead_loop()),
            )?);
        }
        if self.config.prefault_ahead_bytes > 0
            && self.config.broker_role != BrokerRole::Slave
            && !self.commit_log.is_buffered()
            && self.config.flush_disk_type == FlushDiskType::AsyncFlush
        {
            let s = self.clone();
            threads.push(spawn(
                "store-prefault",
                Box::new(move || s.prefault_loop()),
            )?);
        }
        Ok(())
    }

    /// Sets the callback run for every message dispatched to a consume queue (not on a slave).
    pub fn set_arrival_listener(&self, listener: Option<ArrivalListener>) {
        *self.listener.write() = listener;
    }

    /// A receiver of the dispatched commit-log offset (consume queues and index are built up
    /// to it).
    pub fn subscribe_dispatched(&self) -> watch::Receiver<u64> {
        self.dispatched_tx.subscribe()
    }

    /// Number of commit-log flushes that wrote something (group commits under SYNC_FLUSH).
    pub fn commit_log_flush_count(&self) -> u64 {
        self.flush.flush_count.load(Ordering::Relaxed)
    }

    /// Total time spent in commit-log flushes that wrote something.
    pub fn commit_log_flush_time(&self) -> Duration {
        Duration::from_nanos(self.flush.flush_nanos.load(Ordering::Relaxed))
    }

    /// A receiver of the commit-log offset known to be on disk.
    pub fn subscribe_flushed(&self) -> watch::Receiver<u64> {
        self.flush.flushed_tx.subscribe()
    }

    /// Waits until consume queues and index are built up to commit-log `offset`.
    pub async fn wait_dispatched(&self, offset: u64) {
        let mut rx = self.dispatched_tx.subscribe();
        let _ = rx.wait_for(|v| *v >= offset).await;
    }

    /// Blocking form of [`Self::wait_dispatched`] with a timeout; true if reached.
    pub fn wait_dispatched_blocking(&self, offset: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.dispatched.lock();
        while *g < offset {
            if self.dispatched_cv.wait_until(&mut g, deadline).timed_out() {
                return *g >= offset;
            }
        }
        true
    }

    /// Bytes of commit log not yet dispatched.
    pub fn dispatch_behind_bytes(&self) -> u64 {
        self.commit_log
            .max_offset()
            .saturating_sub(self.reput_offset.load(Ordering::Acquire))
    }

    /// Stops the services, flushes everything, writes the checkpoint and removes the `abort`
    /// file if everything was dispatched. Idempotent.
    pub fn shutdown(&self) {
        if !self.stop_services() {
            return;
        }
        let mut ok = true;
        if let Err(e) = self.commit_log.commit() {
            tracing::error!("final commit of the write buffer: {e}");
            ok = false;
        }
        while self.do_reput() {}
        for _ in 0..10 {
            match self.commit_log.flush(0) {
                Ok(f) if f >= self.commit_log.max_offset() => {
                    self.publish_flushed(f);
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!("final commit log flush: {e}");
                    ok = false;
                }
            }
        }
        self.checkpoint
            .set_physic_msg_timestamp(self.commit_log.last_store_timestamp());
        for cq in self.all_queues() {
            if let Err(e) = cq.flush(0) {
                tracing::error!("final consume queue flush: {e}");
                ok = false;
            }
        }
        self.checkpoint
            .set_logics_msg_timestamp(self.logics_ts.load(Ordering::Acquire));
        if let Some(idx) = &self.index {
            if let Err(e) = idx.flush_all() {
                tracing::error!("final index flush: {e}");
                ok = false;
            }
            self.checkpoint
                .set_index_msg_timestamp(self.logics_ts.load(Ordering::Acquire));
        }
        if let Err(e) = self.checkpoint.flush() {
            tracing::error!("checkpoint flush: {e}");
            ok = false;
        }
        if ok && self.dispatch_behind_bytes() == 0 {
            let _ = checkpoint::remove_abort_file(&self.config.abort_path());
        }
        // Puts the final flush did not cover get FLUSH_DISK_TIMEOUT.
        self.flush.waiters.close();
        // Release the directory lock so the store can be opened again.
        self.lock.lock().take();
        tracing::info!("message store shut down");
    }

    /// Wakes and joins every background thread; false when the store was already stopped.
    fn stop_services(&self) -> bool {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.shutdown_signal.notify();
        self.put_signal.notify();
        self.commit_signal.notify();
        self.flush.group.wake();
        self.flush.waiters.wake_watchdog();
        let threads: Vec<_> = self.threads.lock().drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
        true
    }

    /// Stops the background services without flushing, writing the checkpoint or removing
    /// the `abort` file, as if the process had died (for tests and tools). Drop the store
    /// afterwards; the next open runs crash recovery.
    pub fn halt_without_cleanup(&self) {
        if !self.stop_services() {
            return;
        }
        self.flush.waiters.close();
        self.lock.lock().take();
    }

    /// True once [`Self::shutdown`] ran.
    pub fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// True when the put lock has been held longer than `osPageCacheBusyTimeOutMills` (the
    /// broker's fast-failure check; puts then fail with `OsPageCacheBusy`).
    pub fn is_os_page_cache_busy(&self) -> bool {
        let held = self.commit_log.lock_held_ms();
        held > self.config.os_page_cache_busy_timeout_mills && held < 10_000_000
    }

    /// True when writes are refused because the disk is nearly full.
    pub fn is_disk_full(&self) -> bool {
        self.disk_full.load(Ordering::Acquire)
    }

    /// Publishes that the commit log is on disk up to `f`: wakes the puts it covers.
    /// Returns how many async puts it woke and how many still wait.
    pub(crate) fn publish_flushed(&self, f: u64) -> (u64, u64) {
        {
            let mut g = self.flush.flushed.lock();
            if *g < f {
                *g = f;
            }
        }
        self.flush.flushed_cv.notify_all();
        let counts = self.flush.waiters.complete(f);
        self.flush.flushed_tx.send_if_modified(|v| {
            if *v < f {
                *v = f;
                true
            } else {
                false
            }
        });
        counts
    }

    /// Deletes the consume queues (files and directories) of every topic not in `keep`, and
    /// forgets their next queue offsets (Apache `cleanUnusedTopic`). Returns the number of
    /// queues removed. The commit-log records stay until retention removes them.
    pub fn clean_unused_topics(&self, keep: &std::collections::HashSet<String>) -> usize {
        let removed: Vec<(String, HashMap<i32, Arc<ConsumeQueue>>)> = {
            let mut w = self.queues.write();
            let gone: Vec<String> = w.keys().filter(|t| !keep.contains(*t)).cloned().collect();
            gone.into_iter()
                .filter_map(|t| w.remove(&t).map(|m| (t, m)))
                .collect()
        };
        let mut n = 0;
        for (topic, qs) in removed {
            for (qid, cq) in qs {
                if let Err(e) = cq.destroy() {
                    tracing::error!(%topic, qid, "deleting consume queue failed: {e}");
                }
                self.commit_log.remove_queue(&topic, qid);
                let _ = std::fs::remove_dir(cq.files().dir());
                n += 1;
            }
            let _ = std::fs::remove_dir(self.config.consume_queue_dir().join(&topic));
            tracing::info!(%topic, "cleaned unused topic");
        }
        n
    }

    /// Every consume queue.
    pub fn all_queues(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    /// The consume queue of a topic/queue id, if it exists.
    pub fn find_consume_queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues.read().get(topic)?.get(&queue_id).cloned()
    }

    pub(crate) fn find_or_create_consume_queue(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Arc<ConsumeQueue> {
        if let Some(q) = self.find_consume_queue(topic, queue_id) {
            return q;
        }
        let mut w = self.queues.write();
        w.entry(topic.to_string())
            .or_default()
            .entry(queue_id)
            .or_insert_with(|| {
                Arc::new(ConsumeQueue::new(
                    &self.config.consume_queue_dir(),
                    topic,
                    queue_id,
                    self.config.consume_queue_file_size() as usize,
                ))
            })
            .clone()
    }
}
