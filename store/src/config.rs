//! Store configuration with Apache's key names (`MessageStoreConfig`).
//!
//! [`MessageStoreConfig::set`] accepts the keys of a `broker.conf` (Java properties) so the
//! broker can pass its configuration through; keys the store does not know are ignored.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Result, StoreError};

/// How the commit log is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// A background thread flushes periodically; puts do not wait.
    AsyncFlush,
    /// Puts wait for a group commit that covers them (`syncFlushTimeout`).
    SyncFlush,
}

/// Broker role as far as the store cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// Asynchronous replication master.
    AsyncMaster,
    /// Synchronous replication master.
    SyncMaster,
    /// Slave: puts are refused, data arrives through [`crate::MessageStore::append_to_commit_log`].
    Slave,
}

/// Store settings. Field names follow Apache's keys in snake case; see [`Self::set`].
#[derive(Debug, Clone)]
pub struct MessageStoreConfig {
    /// `storePathRootDir` (default `${HOME}/store`).
    pub store_path_root_dir: PathBuf,
    /// `storePathCommitLog` (default `${storePathRootDir}/commitlog`).
    pub store_path_commit_log: Option<PathBuf>,
    /// `mappedFileSizeCommitLog` / `mapedFileSizeCommitLog` (1 GiB).
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue` / `mapedFileSizeConsumeQueue` (300 000 × 20), rounded up to 20.
    pub mapped_file_size_consume_queue: u64,
    /// `maxHashSlotNum` (5 000 000).
    pub max_hash_slot_num: u32,
    /// `maxIndexNum` (20 000 000).
    pub max_index_num: u32,
    /// `messageIndexEnable` (true).
    pub message_index_enable: bool,
    /// `maxMessageSize` (4 MiB, applies to the body; the record must fit body limit + 64 KiB).
    pub max_message_size: usize,
    /// `flushDiskType` (`ASYNC_FLUSH`).
    pub flush_disk_type: FlushDiskType,
    /// `brokerRole` (`ASYNC_MASTER`).
    pub broker_role: BrokerRole,
    /// `flushIntervalCommitLog` ms (500).
    pub flush_interval_commit_log: u64,
    /// `flushCommitLogLeastPages` (4).
    pub flush_commit_log_least_pages: usize,
    /// `flushCommitLogThoroughInterval` ms (10 000).
    pub flush_commit_log_thorough_interval: u64,
    /// `syncFlushTimeout` ms (5000).
    pub sync_flush_timeout: u64,
    /// `flushIntervalConsumeQueue` ms (1000).
    pub flush_interval_consume_queue: u64,
    /// `flushConsumeQueueLeastPages` (2).
    pub flush_consume_queue_least_pages: usize,
    /// `flushConsumeQueueThoroughInterval` ms (60 000).
    pub flush_consume_queue_thorough_interval: u64,
    /// `checkCRCOnRecover` (true).
    pub check_crc_on_recover: bool,
    /// `deleteWhen` hours separated by `;` ("04").
    pub delete_when: String,
    /// `fileReservedTime` hours (72).
    pub file_reserved_time: u64,
    /// `diskMaxUsedSpaceRatio` percent (75), clamped to 10..=95.
    pub disk_max_used_space_ratio: u32,
    /// `cleanResourceInterval` ms (10 000).
    pub clean_resource_interval: u64,
    /// `deleteCommitLogFilesInterval` ms (100).
    pub delete_commit_log_files_interval: u64,
    /// `deleteConsumeQueueFilesInterval` ms (100).
    pub delete_consume_queue_files_interval: u64,
    /// `cleanFileForciblyEnable` (true).
    pub clean_file_forcibly_enable: bool,
    /// `diskSpaceWarningLevelRatio` (0.90): above it the store refuses writes.
    pub disk_space_warning_level_ratio: f64,
    /// `diskSpaceCleanForciblyRatio` (0.85): above it files are deleted regardless of age.
    pub disk_space_clean_forcibly_ratio: f64,
    /// `maxTransferBytesOnMessageInMemory` (256 KiB).
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// `maxTransferCountOnMessageInMemory` (32).
    pub max_transfer_count_on_message_in_memory: usize,
    /// `maxMsgsNumBatch` (64): cap of a key query.
    pub max_msgs_num_batch: usize,
    /// `offsetCheckInSlave` (false).
    pub offset_check_in_slave: bool,
    /// `preallocateMappedFile` (true, this store's own key): create the next commit-log file
    /// in the background.
    pub preallocate_mapped_file: bool,
    /// `prefaultAheadBytes` (64 MiB, this store's own key; 0 disables): a background thread
    /// keeps this many bytes past the commit-log write position pre-faulted, so appends do
    /// not pay for page faults; a new file gets its head populated when it is created.
    /// Commit-log files are then sparse and a full disk fails the put with
    /// `SERVICE_NOT_AVAILABLE`; with 0 (or a kernel before 5.14) their blocks are reserved
    /// with `fallocate` at creation instead. On a SYNC_FLUSH master (mapped or with the
    /// write buffer) this window is zero-filled and synced ahead instead, so group commits
    /// overwrite allocated blocks: no block allocation or metadata write in the flush
    /// (each byte then reaches the disk twice); with `preallocateMappedFile` the whole next
    /// file is zero-filled in the background as Apache's `warmMapedFileEnable` does, so the
    /// window is only filled ahead of the writer in files made on demand (a fresh store's
    /// first file, the first new one after a restart).
    pub prefault_ahead_bytes: usize,
    /// `transientStorePoolEnable`: on a master, appends go to a reused in-memory write
    /// buffer and are written to the commit-log file with `pwrite` (no page faults or page
    /// zeroing in the put path, no page-table work when flushing). Under ASYNC_FLUSH a
    /// commit thread writes the buffer every 1 ms; readers see a message once it is
    /// committed, and, as in Apache, a process crash loses what was not committed yet. Under
    /// SYNC_FLUSH (which Apache does not allow with this key) the group commit writes the
    /// buffer and then syncs it, so every acknowledged message is on disk as before.
    /// Unset (`None`) means Apache's default, off, except on a SYNC_FLUSH master, where
    /// the group commit is faster through the buffer (writing back pages written through a
    /// shared mapping costs a TLB shootdown per page, on every flush); an explicit `false`
    /// keeps appends on the mapping there too.
    pub transient_store_pool_enable: Option<bool>,
    /// `transientStoreBufferSize` (this store's own key): size of that write buffer (a ring;
    /// Apache instead pools `transientStorePoolSize` file-sized buffers). Unset (`None`):
    /// 32 MiB, or 8 MiB under SYNC_FLUSH, whose group commits empty it every flush and
    /// whose writers wait for them. Raised to at least twice the largest record.
    pub transient_store_buffer_size: Option<usize>,
    /// `osPageCacheBusyTimeOutMills` (1000): a put lock held longer than this makes new puts
    /// fail fast with `OsPageCacheBusy`.
    pub os_page_cache_busy_timeout_mills: i64,
    /// `messageDelayLevel` ("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h").
    pub message_delay_level: String,
}

impl Default for MessageStoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        Self {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * 20,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            message_index_enable: true,
            max_message_size: 4 * 1024 * 1024,
            flush_disk_type: FlushDiskType::AsyncFlush,
            broker_role: BrokerRole::AsyncMaster,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            sync_flush_timeout: 5000,
            flush_interval_consume_queue: 1000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval: 60_000,
            check_crc_on_recover: true,
            delete_when: "04".into(),
            file_reserved_time: 72,
            disk_max_used_space_ratio: 75,
            clean_resource_interval: 10_000,
            delete_commit_log_files_interval: 100,
            delete_consume_queue_files_interval: 100,
            clean_file_forcibly_enable: true,
            disk_space_warning_level_ratio: 0.90,
            disk_space_clean_forcibly_ratio: 0.85,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_msgs_num_batch: 64,
            offset_check_in_slave: false,
            preallocate_mapped_file: true,
            prefault_ahead_bytes: 64 << 20,
            os_page_cache_busy_timeout_mills: 1000,
            transient_store_pool_enable: None,
            transient_store_buffer_size: None,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .into(),
        }
    }
}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| StoreError::Config {
        key: key.into(),
        value: value.into(),
    })
}

impl MessageStoreConfig {
    /// A default configuration rooted at `root`.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        Self {
            store_path_root_dir: root.into(),
            ..Self::default()
        }
    }

    /// Builds a configuration from Java-properties style pairs (e.g. a parsed broker.conf).
    pub fn from_properties<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let mut c = Self::default();
        for (k, v) in pairs {
            c.set(k, v)?;
        }
        Ok(c)
    }

    /// Builds a configuration from the text of a Java properties file such as `broker.conf`
    /// (`key=value` or `key: value` lines; `#` and `!` start comments; keys the store does
    /// not use are ignored).
    pub fn from_properties_text(text: &str) -> Result<Self> {
        let pairs: Vec<(&str, &str)> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
            .filter_map(|l| {
                let i = l.find(['=', ':'])?;
                Some((l[..i].trim(), l[i + 1..].trim()))
            })
            .collect();
        Self::from_properties(pairs)
    }

    /// Sets one key by its Apache name. Returns `Ok(false)` for a key the store does not use.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key {
            "storePathRootDir" => self.store_path_root_dir = PathBuf::from(v),
            "storePathCommitLog" => self.store_path_commit_log = Some(PathBuf::from(v)),
            "mappedFileSizeCommitLog" | "mapedFileSizeCommitLog" => {
                self.mapped_file_size_commit_log = parse(key, v)?
            }
            "mappedFileSizeConsumeQueue" | "mapedFileSizeConsumeQueue" => {
                self.mapped_file_size_consume_queue = parse(key, v)?
            }
            "maxHashSlotNum" => self.max_hash_slot_num = parse(key, v)?,
            "maxIndexNum" => self.max_index_num = parse(key, v)?,
            "messageIndexEnable" => self.message_index_enable = parse(key, v)?,
            "maxMessageSize" => self.max_message_size = parse(key, v)?,
            "flushDiskType" => {
                self.flush_disk_type = match v {
                    "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                    "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                    _ => {
                        return Err(StoreError::Config {
                            key: key.into(),
                            value: v.into(),
                        });
                    }
                }
            }
            "brokerRole" => {
                self.broker_role = match v {
                    "ASYNC_MASTER" => BrokerRole::AsyncMaster,
                    "SYNC_MASTER" => BrokerRole::SyncMaster,
                    "SLAVE" => BrokerRole::Slave,
                    _ => {
                        return Err(StoreError::Config {
                            key: key.into(),
                            value: v.into(),
                        });
                    }
                }
            }
            "flushIntervalCommitLog" => self.flush_interval_commit_log = parse(key, v)?,
            "flushCommitLogLeastPages" => self.flush_commit_log_least_pages = parse(key, v)?,
            "flushCommitLogThoroughInterval" => {
                self.flush_commit_log_thorough_interval = parse(key, v)?
            }
            "syncFlushTimeout" => self.sync_flush_timeout = parse(key, v)?,
            "flushIntervalConsumeQueue" => self.flush_interval_consume_queue = parse(key, v)?,
            "flushConsumeQueueLeastPages" => self.flush_consume_queue_least_pages = parse(key, v)?,
            "flushConsumeQueueThoroughInterval" => {
                self.flush_consume_queue_thorough_interval = parse(key, v)?
            }
            "checkCRCOnRecover" => self.check_crc_on_recover = parse(key, v)?,
            "deleteWhen" => self.delete_when = v.into(),
            "fileReservedTime" => self.file_reserved_time = parse(key, v)?,
            "diskMaxUsedSpaceRatio" => self.disk_max_used_space_ratio = parse(key, v)?,
            "cleanResourceInterval" => self.clean_resource_interval = parse(key, v)?,
            "deleteCommitLogFilesInterval" => {
                self.delete_commit_log_files_interval = parse(key, v)?
            }
            "deleteConsumeQueueFilesInterval" => {
                self.delete_consume_queue_files_interval = parse(key, v)?
            }
            "cleanFileForciblyEnable" => self.clean_file_forcibly_enable = parse(key, v)?,
            "diskSpaceWarningLevelRatio" => self.disk_space_warning_level_ratio = parse(key, v)?,
            "diskSpaceCleanForciblyRatio" => self.disk_space_clean_forcibly_ratio = parse(key, v)?,
            "maxTransferBytesOnMessageInMemory" => {
                self.max_transfer_bytes_on_message_in_memory = parse(key, v)?
            }
            "maxTransferCountOnMessageInMemory" => {
                self.max_transfer_count_on_message_in_memory = parse(key, v)?
            }
            "maxMsgsNumBatch" => self.max_msgs_num_batch = parse(key, v)?,
            "offsetCheckInSlave" => self.offset_check_in_slave = parse(key, v)?,
            "preallocateMappedFile" => self.preallocate_mapped_file = parse(key, v)?,
            "messageDelayLevel" => self.message_delay_level = v.into(),
            "prefaultAheadBytes" => self.prefault_ahead_bytes = parse(key, v)?,
            "osPageCacheBusyTimeOutMills" => self.os_page_cache_busy_timeout_mills = parse(key, v)?,
            "transientStorePoolEnable" => self.transient_store_pool_enable = Some(parse(key, v)?),
            "transientStoreBufferSize" => self.transient_store_buffer_size = Some(parse(key, v)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Whether the write buffer is in use: on a master, `transientStorePoolEnable` if set,
    /// else under SYNC_FLUSH only.
    pub fn is_transient_store_pool_enable(&self) -> bool {
        let wanted = self
            .transient_store_pool_enable
            .unwrap_or(self.flush_disk_type == FlushDiskType::SyncFlush);
        wanted && self.broker_role != BrokerRole::Slave
    }

    /// Whether commit-log files are zero-filled (and synced) ahead of the writer: a
    /// SYNC_FLUSH master with `prefaultAheadBytes` > 0 (see [`Self::prefault_ahead_bytes`]).
    pub fn zero_fills_commit_log(&self) -> bool {
        self.prefault_ahead_bytes > 0
            && self.flush_disk_type == FlushDiskType::SyncFlush
            && self.broker_role != BrokerRole::Slave
    }

    /// Size of the write buffer: `transientStoreBufferSize`, or its default for the flush
    /// mode.
    pub fn write_buffer_size(&self) -> usize {
        self.transient_store_buffer_size
            .unwrap_or(match self.flush_disk_type {
                FlushDiskType::SyncFlush => 8 << 20,
                FlushDiskType::AsyncFlush => 32 << 20,
            })
    }

    /// The commit-log directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    /// `consumequeue/` under the root.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// `index/` under the root.
    pub fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    /// `config/` under the root (the broker's JSON files).
    pub fn config_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("config")
    }

    /// The `checkpoint` file.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.store_path_root_dir.join("checkpoint")
    }

    /// The `abort` file.
    pub fn abort_path(&self) -> PathBuf {
        self.store_path_root_dir.join("abort")
    }

    /// The `lock` file.
    pub fn lock_path(&self) -> PathBuf {
        self.store_path_root_dir.join("lock")
    }

    /// Consume-queue file size rounded up to a multiple of 20.
    pub fn consume_queue_file_size(&self) -> u64 {
        self.mapped_file_size_consume_queue.div_ceil(20) * 20
    }

    /// Disk usage ratio limit as a fraction, clamped like Apache (10..=95 %).
    pub fn disk_max_used_ratio(&self) -> f64 {
        self.disk_max_used_space_ratio.clamp(10, 95) as f64 / 100.0
    }

    /// `syncFlushTimeout` as a duration.
    pub fn sync_flush_timeout(&self) -> Duration {
        Duration::from_millis(self.sync_flush_timeout)
    }

    /// Delay of each level in ms (index 0 = level 1), from `messageDelayLevel`.
    pub fn delay_levels_ms(&self) -> Vec<i64> {
        self.message_delay_level
            .split_whitespace()
            .filter_map(|s| {
                let (num, unit) = s.split_at(s.len().checked_sub(1)?);
                let n: i64 = num.parse().ok()?;
                let mult = match unit {
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return None,
                };
                Some(n * mult)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_buffer_only_on_a_master() {
        let mut c = MessageStoreConfig::default();
        assert!(!c.is_transient_store_pool_enable());
        c.set("transientStorePoolEnable", "true").unwrap();
        assert!(c.is_transient_store_pool_enable());
        c.set("flushDiskType", "SYNC_FLUSH").unwrap();
        assert!(c.is_transient_store_pool_enable());
        c.set("brokerRole", "SLAVE").unwrap();
        assert!(!c.is_transient_store_pool_enable());
    }

    #[test]
    fn write_buffer_size_defaults_by_flush_mode() {
        let mut c = MessageStoreConfig::default();
        assert_eq!(c.write_buffer_size(), 32 << 20);
        c.set("flushDiskType", "SYNC_FLUSH").unwrap();
        assert_eq!(c.write_buffer_size(), 8 << 20);
        c.set("transientStoreBufferSize", "1048576").unwrap();
        assert_eq!(c.write_buffer_size(), 1 << 20);
    }

    #[test]
    fn write_buffer_by_default_on_a_sync_flush_master_only() {
        let mut c = MessageStoreConfig::default();
        c.set("flushDiskType", "SYNC_FLUSH").unwrap();
        assert!(c.is_transient_store_pool_enable());
        c.set("brokerRole", "SYNC_MASTER").unwrap();
        assert!(c.is_transient_store_pool_enable());
        c.set("brokerRole", "SLAVE").unwrap();
        assert!(!c.is_transient_store_pool_enable());
        c.set("brokerRole", "ASYNC_MASTER").unwrap();
        c.set("transientStorePoolEnable", "false").unwrap();
        assert!(
            !c.is_transient_store_pool_enable(),
            "an explicit false is kept"
        );
        c.set("flushDiskType", "ASYNC_FLUSH").unwrap();
        c.transient_store_pool_enable = None;
        assert!(
            !c.is_transient_store_pool_enable(),
            "Apache's default under ASYNC_FLUSH"
        );
    }

    #[test]
    fn keys_and_defaults() {
        let c = MessageStoreConfig::from_properties([
            ("storePathRootDir", "/tmp/x"),
            ("mapedFileSizeCommitLog", "4096"),
            ("flushDiskType", "SYNC_FLUSH"),
            ("brokerClusterName", "DefaultCluster"),
        ])
        .unwrap();
        assert_eq!(c.commit_log_dir(), PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(c.mapped_file_size_commit_log, 4096);
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.consume_queue_file_size(), 6_000_000);
        assert_eq!(c.delay_levels_ms()[0], 1000);
        assert_eq!(c.delay_levels_ms()[17], 7_200_000);
        assert!(
            MessageStoreConfig::default()
                .set("flushDiskType", "NOPE")
                .is_err()
        );
    }
}
