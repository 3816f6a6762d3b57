//! Retention: deletes expired commit-log files (by age at `deleteWhen` hours, or when the disk
//! is fuller than `diskMaxUsedSpaceRatio`), then consume-queue and index files that only point
//! into deleted data. The file being written is never deleted; at most 10 commit-log files
//! go per run, with `deleteCommitLogFilesInterval` between deletions.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use crate::store::MessageStore;

/// Most commit-log files deleted in one run (Apache `DELETE_FILES_BATCH_MAX`).
pub const DELETE_FILES_BATCH_MAX: usize = 10;

/// Used fraction of the file system holding `path` (used / (used + available)), or None.
pub fn disk_usage_ratio(path: &Path) -> Option<f64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct we pass.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        st
    };
    let frsize = st.f_frsize as f64;
    let used = (st.f_blocks - st.f_bfree) as f64 * frsize;
    let avail = st.f_bavail as f64 * frsize;
    (used + avail > 0.0).then(|| used / (used + avail))
}

fn local_hour() -> i32 {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as libc::time_t;
    // SAFETY: localtime_r writes into the provided struct only.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        tm.tm_hour
    }
}

/// What a cleaning run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// Commit-log files deleted.
    pub commit_log_files: usize,
    /// Consume-queue files deleted.
    pub consume_queue_files: usize,
    /// Index files deleted.
    pub index_files: usize,
}

impl MessageStore {
    pub(crate) fn clean_loop(&self) {
        let interval = Duration::from_millis(self.config.clean_resource_interval.max(10));
        let mut seen = self.shutdown_signal.generation();
        while !self.shutdown.load(Ordering::Acquire) {
            seen = self.shutdown_signal.wait(seen, interval);
            if self.shutdown.load(Ordering::Acquire) {
                break;
            }
            self.run_clean(false, false);
        }
    }

    fn is_time_to_delete(&self) -> bool {
        let hour = local_hour();
        self.config
            .delete_when
            .split(';')
            .filter_map(|h| h.trim().parse::<i32>().ok())
            .any(|h| h == hour)
    }

    /// Runs retention once. `manual` deletes expired files regardless of `deleteWhen`;
    /// `force` deletes every commit-log file but the newest regardless of age.
    pub fn run_clean(&self, manual: bool, force: bool) -> CleanStats {
        let mut stats = CleanStats::default();
        let cl_dir = self.config.commit_log_dir();
        let usage = disk_usage_ratio(&cl_dir)
            .into_iter()
            .chain(disk_usage_ratio(&self.config.consume_queue_dir()))
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
        let mut clean_at_once = force;
        let space_short = match usage {
            Some(u) => {
                if u > self.config.disk_space_warning_level_ratio {
                    if !self.disk_full.swap(true, Ordering::AcqRel) {
                        tracing::error!(usage = u, "disk nearly full; refusing writes");
                    }
                } else if u <= self.config.disk_space_clean_forcibly_ratio
                    && self.disk_full.swap(false, Ordering::AcqRel)
                {
                    tracing::info!(usage = u, "disk usage back to normal; accepting writes");
                }
                if u > self.config.disk_space_clean_forcibly_ratio
                    && self.config.clean_file_forcibly_enable
                {
                    clean_at_once = true;
                }
                u > self.config.disk_max_used_ratio()
            }
            None => true,
        };
        if manual || force || space_short || self.is_time_to_delete() {
            stats.commit_log_files = self.delete_expired_commit_log(clean_at_once);
        }
        let min = self.commit_log.min_offset();
        if min > self.last_clean_min_offset.load(Ordering::Acquire) {
            self.last_clean_min_offset.store(min, Ordering::Release);
            for cq in self.all_queues() {
                match cq.delete_expired(min as i64) {
                    Ok(n) if n > 0 => {
                        stats.consume_queue_files += n;
                        self.pause(self.config.delete_consume_queue_files_interval);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(topic = cq.topic(), "consume queue cleanup failed: {e}")
                    }
                }
            }
            if let Some(idx) = &self.index {
                match idx.delete_expired(min as i64) {
                    Ok(n) => stats.index_files += n,
                    Err(e) => tracing::error!("index cleanup failed: {e}"),
                }
            }
        }
        if stats != CleanStats::default() {
            tracing::info!(?stats, "retention deleted files");
        }
        stats
    }

    fn pause(&self, ms: u64) {
        if ms > 0 && !self.shutdown.load(Ordering::Acquire) {
            let seen = self.shutdown_signal.generation();
            self.shutdown_signal.wait(seen, Duration::from_millis(ms));
        }
    }

    fn delete_expired_commit_log(&self, clean_at_once: bool) -> usize {
        let reserved = Duration::from_secs(self.config.file_reserved_time * 3600);
        let now = SystemTime::now();
        let mut deleted = 0;
        while deleted < DELETE_FILES_BATCH_MAX {
            let files = self.commit_log.files().files();
            if files.len() <= 1 {
                break;
            }
            let f = &files[0];
            let expired = clean_at_once || f.last_modified().is_some_and(|m| m + reserved <= now);
            // Never delete data the dispatcher has not turned into consume-queue units yet
            // (that would leave a gap in the queues).
            let dispatched = f.file_from_offset() + f.file_size() as u64
                <= self.reput_offset.load(Ordering::Acquire);
            if !expired || !dispatched {
                break;
            }
            match self.commit_log.files().delete_first() {
                Ok(Some(f)) => {
                    tracing::info!(path = %f.path().display(), "deleted expired commit log file");
                    deleted += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!("commit log cleanup failed: {e}");
                    break;
                }
            }
            self.pause(self.config.delete_commit_log_files_interval);
        }
        deleted
    }
}
