#![warn(missing_docs)]
//! RocketMQ storage engine: the commit log, consume queues and index files on memory-mapped
//! files in Apache RocketMQ 4.9's on-disk formats, with flushing, crash recovery and
//! retention.
//!
//! The broker uses [`MessageStore`]; the other modules are public for tools and tests.
//!
//! ```no_run
//! use remoting::message::{MessageExt, properties};
//! use store::{GetMessageStatus, MessageStore, MessageStoreConfig, TagsFilter};
//!
//! # async fn demo() -> Result<(), store::StoreError> {
//! // broker.conf keys pass straight through; unknown keys are ignored.
//! let config = MessageStoreConfig::from_properties_text("storePathRootDir=/data/store\nflushDiskType=SYNC_FLUSH")?;
//! let store = MessageStore::open(config)?; // recovers, rebuilds queues, starts services
//! store.set_arrival_listener(Some(std::sync::Arc::new(|e: &store::ArrivalEvent| {
//!     // wake long-polling pulls parked on (e.topic, e.queue_id) up to e.max_offset
//! })));
//!
//! let mut msg = MessageExt {
//!     topic: "TopicTest".into(),
//!     queue_id: 0,
//!     body: bytes::Bytes::from_static(b"hello"),
//!     store_host: "10.0.0.2:10911".parse().unwrap(),
//!     ..Default::default()
//! };
//! msg.properties.insert(properties::TAGS, "TagA");
//! let put = store.put_message(msg).await; // waits for the group commit under SYNC_FLUSH
//! println!("{:?} {}", put.status, put.append.unwrap().msg_id);
//!
//! let got = store.get_message("TopicTest", 0, 0, 32, Some(&TagsFilter::default()));
//! if got.status == GetMessageStatus::Found {
//!     // got.messages: raw records (zero-copy `Bytes` of the mapped commit log), ready to be
//!     // written back to back as a PULL_MESSAGE response body.
//! }
//! store.shutdown();
//! # Ok(()) }
//! ```

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
mod flush_wait;
pub mod get;
mod group_commit;
pub mod put;
pub mod recovery;
pub mod retention;
pub mod store;
pub mod write_buffer;

pub use store::{ArrivalListener, MessageStore, RecoveryReport};
