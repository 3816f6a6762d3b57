//! RocketMQ 4.x remoting protocol: frames, codes, headers, JSON bodies, the stored-message
//! codec, and an async client and server.
//!
//! Data path: a socket's bytes become frames in [`codec`], frames become
//! [`RemotingCommand`]s, and a [`connection::Connection`] hands requests to a
//! [`RequestHandler`] (a [`server::Router`] on servers) and matches responses to requests.

pub mod client;
pub mod codec;
pub mod command;
pub mod config;
pub mod connection;
pub mod error;
pub mod message;
pub mod protocol;
pub mod server;

pub use command::{ExtFields, RemotingCommand};
pub use connection::{Connection, RequestHandler};
pub use error::{FrameError, RemotingError};
pub use protocol::{RequestCode, ResponseCode};
