#![warn(missing_docs)]
//! RocketMQ storage engine: the commit log, consume queues and index files on memory-mapped
//! files in Apache RocketMQ 4.9's on-disk formats, with flushing, crash recovery and
//! retention.
//!
//! The broker uses [`MessageStore`]; the other modules are public for tools and tests.

pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
pub mod error;
pub mod index;
pub mod mapped_file;
pub mod mapped_file_queue;
pub mod results;

pub use config::{BrokerRole, FlushDiskType, MessageStoreConfig};
pub use error::{Result, StoreError};
pub use results::*;
pub mod dispatch;
pub mod flush;
pub mod get;
pub mod recovery;
pub mod retention;
pub mod store;

pub use store::{ArrivalListener, MessageStore, RecoveryReport};
