//! A RocketMQ 4.x client over the `remoting` crate: a producer, a pull consumer, a push
//! consumer (clustering and broadcasting, concurrent and orderly listeners) and the admin
//! calls behind `mqadmin`. It speaks the wire protocol Apache's clients speak, so it works
//! against any 4.x-protocol cluster.
//!
//! Layers: [`api::ClientApi`] turns each request code into a typed call;
//! [`instance::ClientInstance`] owns connections, routes and heartbeats;
//! [`producer`] and [`consumer`] build on it; [`admin`] serves the tools.

pub mod admin;
pub mod api;
pub mod config;
pub mod consumer;
pub mod error;
pub mod instance;
pub mod message;
pub mod producer;
pub mod route;

pub use config::ClientConfig;
pub use error::{ClientError, Result};
pub use message::Message;
pub use producer::{Producer, ProducerConfig, SendResult, SendStatus};
pub use remoting::message::MessageExt;
pub use remoting::protocol::body::MessageQueue;
