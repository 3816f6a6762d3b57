//! Store errors.

use std::path::PathBuf;

/// Errors from opening, recovering or maintaining the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a path.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A data file has the wrong size for the configuration.
    #[error("file {path} has size {actual}, configured file size is {expected}")]
    FileSize {
        /// The file.
        path: PathBuf,
        /// Configured size.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// Another process holds the store lock.
    #[error("store {0} is locked by another process (MQ already started)")]
    Locked(PathBuf),
    /// A configuration value could not be parsed.
    #[error("config key {key}: bad value {value:?}")]
    Config {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// The commit log files are not contiguous.
    #[error("commit log files are not contiguous at {0}")]
    Gap(PathBuf),
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
