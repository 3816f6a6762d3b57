//! Typed client errors: a broker or name server refusal keeps the response code and remark.

use remoting::protocol::header::HeaderError;
use remoting::{RemotingError, ResponseCode};
use thiserror::Error;

/// Result alias of the client.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A failure of a client operation.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The server answered with a non-success response code.
    #[error("{addr} answered {code} ({}): {remark}", code_name(*.code))]
    Broker {
        /// Address of the server that answered.
        addr: String,
        /// Response code.
        code: i32,
        /// Remark of the response (may be empty).
        remark: String,
    },
    /// The request could not be sent or no answer arrived.
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// No name server address was configured.
    #[error("no name server address configured (set -n or NAMESRV_ADDR)")]
    NoNameServer,
    /// The topic has no usable route (no broker can serve it).
    #[error("no route info of topic {0}")]
    NoRoute(String),
    /// A broker named in a route has no known address.
    #[error("broker {0} has no known master address")]
    NoBrokerAddr(String),
    /// A response header lacked a field or had a bad value.
    #[error("bad response header: {0}")]
    Header(#[from] HeaderError),
    /// A response body was not the expected JSON.
    #[error("bad response body: {0}")]
    Json(#[from] serde_json::Error),
    /// A message record in a response could not be decoded.
    #[error("bad message record: {0}")]
    Decode(#[from] remoting::message::MessageDecodeError),
    /// The caller passed something invalid (message too big, empty topic, ...).
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The client was shut down.
    #[error("client has been shut down")]
    Shutdown,
    /// Local file access failed (offset store).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The server's response code, when the server answered.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when the request never got an answer (connect failure, timeout, closed).
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Remoting(_))
    }
}

fn code_name(code: i32) -> &'static str {
    ResponseCode::from_code(code).map_or("UNKNOWN", ResponseCode::java_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_error_names_code_and_remark() {
        let e = ClientError::Broker {
            addr: "127.0.0.1:10911".into(),
            code: 17,
            remark: "topic not exist".into(),
        };
        assert_eq!(e.response_code(), Some(17));
        assert_eq!(
            e.to_string(),
            "127.0.0.1:10911 answered 17 (TOPIC_NOT_EXIST): topic not exist"
        );
    }
}
