//! Errors of the transport layer.

use thiserror::Error;

/// A failure to decode a frame: the connection it came on is closed.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The frame's length field exceeds the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The length fields contradict each other.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The serialize-type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    /// The JSON header is not valid.
    #[error("bad JSON header: {0}")]
    Json(#[from] serde_json::Error),
    /// I/O error on the socket.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A failure of a remote call.
#[derive(Debug, Error)]
pub enum RemotingError {
    /// Connecting to the peer failed.
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// Peer address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Connecting took longer than the connect timeout.
    #[error("connect to {0} timed out")]
    ConnectTimeout(String),
    /// No response arrived within the timeout.
    #[error("request to {addr} timed out after {millis} ms")]
    Timeout {
        /// Peer address.
        addr: String,
        /// Timeout that expired.
        millis: u128,
    },
    /// The connection closed before the response arrived.
    #[error("connection to {0} closed")]
    ConnectionClosed(String),
    /// A frame could not be decoded.
    #[error(transparent)]
    Frame(#[from] FrameError),
}
