//! The `checkpoint` file (Apache `StoreCheckpoint`: 4096 bytes, three big-endian i64 at 0, 8
//! and 16) and the `abort` marker file.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::{Result, StoreError};

const CHECKPOINT_FILE_SIZE: usize = 4096;

/// Timestamps that bound what recovery must re-check.
pub struct StoreCheckpoint {
    path: PathBuf,
    file: File,
    physic_msg_timestamp: AtomicI64,
    logics_msg_timestamp: AtomicI64,
    index_msg_timestamp: AtomicI64,
}

impl StoreCheckpoint {
    /// Opens or creates the checkpoint file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let mut buf = [0u8; 24];
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len >= 24 {
            file.read_exact_at(&mut buf, 0)
                .map_err(|e| StoreError::io("read", path, e))?;
        }
        if len != CHECKPOINT_FILE_SIZE as u64 {
            file.set_len(CHECKPOINT_FILE_SIZE as u64)
                .map_err(|e| StoreError::io("set_len", path, e))?;
        }
        let rd = |i: usize| i64::from_be_bytes(buf[i..i + 8].try_into().unwrap());
        Ok(Self {
            path: path.into(),
            file,
            physic_msg_timestamp: AtomicI64::new(rd(0)),
            logics_msg_timestamp: AtomicI64::new(rd(8)),
            index_msg_timestamp: AtomicI64::new(rd(16)),
        })
    }

    /// Store time of the last flushed commit-log message.
    pub fn physic_msg_timestamp(&self) -> i64 {
        self.physic_msg_timestamp.load(Ordering::Acquire)
    }
    /// Store time of the last consume-queue write that was flushed.
    pub fn logics_msg_timestamp(&self) -> i64 {
        self.logics_msg_timestamp.load(Ordering::Acquire)
    }
    /// End time of the last completely flushed index file.
    pub fn index_msg_timestamp(&self) -> i64 {
        self.index_msg_timestamp.load(Ordering::Acquire)
    }
    /// Sets the commit-log timestamp (in memory).
    pub fn set_physic_msg_timestamp(&self, t: i64) {
        self.physic_msg_timestamp.fetch_max(t, Ordering::AcqRel);
    }
    /// Sets the consume-queue timestamp (in memory).
    pub fn set_logics_msg_timestamp(&self, t: i64) {
        self.logics_msg_timestamp.fetch_max(t, Ordering::AcqRel);
    }
    /// Sets the index timestamp (in memory).
    pub fn set_index_msg_timestamp(&self, t: i64) {
        self.index_msg_timestamp.fetch_max(t, Ordering::AcqRel);
    }

    /// `min(physic, logics) - 3000`, floored at 0: every message stored before it is in both
    /// the commit log and the consume queues on disk.
    pub fn min_timestamp(&self) -> i64 {
        (self.physic_msg_timestamp().min(self.logics_msg_timestamp()) - 3000).max(0)
    }

    /// `min(min_timestamp, index)`.
    pub fn min_timestamp_index(&self) -> i64 {
        self.min_timestamp().min(self.index_msg_timestamp())
    }

    /// Writes the three values and forces them to disk.
    pub fn flush(&self) -> Result<()> {
        let mut buf = [0u8; 24];
        buf[0..8].copy_from_slice(&self.physic_msg_timestamp().to_be_bytes());
        buf[8..16].copy_from_slice(&self.logics_msg_timestamp().to_be_bytes());
        buf[16..24].copy_from_slice(&self.index_msg_timestamp().to_be_bytes());
        self.file
            .write_all_at(&buf, 0)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| StoreError::io("write", &self.path, e))
    }
}

/// Creates the abort marker (the store is running; its presence at start means a crash).
pub fn create_abort_file(path: &Path) -> Result<()> {
    File::create(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io("create", path, e))
}

/// Removes the abort marker after a clean shutdown.
pub fn remove_abort_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(StoreError::io("delete", path, e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_in_apache_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checkpoint");
        let c = StoreCheckpoint::open(&p).unwrap();
        c.set_physic_msg_timestamp(10_000);
        c.set_logics_msg_timestamp(20_000);
        c.set_index_msg_timestamp(5_000);
        c.flush().unwrap();
        let raw = std::fs::read(&p).unwrap();
        assert_eq!(raw.len(), 4096);
        assert_eq!(i64::from_be_bytes(raw[8..16].try_into().unwrap()), 20_000);
        let c = StoreCheckpoint::open(&p).unwrap();
        assert_eq!(c.min_timestamp(), 7_000);
        assert_eq!(c.min_timestamp_index(), 5_000);
    }
}
