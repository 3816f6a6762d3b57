//! `RemotingCommand`: one request or response on the wire.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::protocol::header::{CommandHeader, HeaderError};
use crate::protocol::{CURRENT_VERSION, LanguageCode, RequestCode, ResponseCode, SerializeType};

/// Flag bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 0x1;
/// Flag bit 1: a oneway request; the receiver must not reply.
pub const FLAG_ONEWAY: i32 = 0x2;

/// The custom header of a command: every header field as text.
pub type ExtFields = BTreeMap<String, String>;

/// A request or response of the RocketMQ remoting protocol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses.
    pub code: i32,
    /// Language of the sender.
    pub language: LanguageCode,
    /// Ordinal of the sender's `MQVersion`.
    pub version: i32,
    /// Request id; a response carries its request's value.
    pub opaque: i32,
    /// Bit field: [`FLAG_RESPONSE`], [`FLAG_ONEWAY`].
    pub flag: i32,
    /// Error text; `None` is left out of the header.
    pub remark: Option<String>,
    /// The custom header fields.
    pub ext_fields: ExtFields,
    /// The body (the rest of the frame), if any.
    pub body: Option<Bytes>,
    /// Extra body segments written after `body` without copying (e.g. mapped message
    /// records for a pull response). Decoded commands never have any.
    pub body_segments: Vec<Bytes>,
    /// Header serialization: the one a decoded command arrived with, or the one to encode with.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with the given code, stamped with this server's language and version.
    pub fn new_request(code: impl Into<i32>) -> Self {
        RemotingCommand {
            code: code.into(),
            version: CURRENT_VERSION,
            ..Default::default()
        }
    }

    /// A new request whose ext fields come from a typed header.
    pub fn request_with_header(code: impl Into<i32>, header: &impl CommandHeader) -> Self {
        let mut cmd = Self::new_request(code);
        header.write_to(&mut cmd.ext_fields);
        cmd
    }

    /// A response to `request` with `code`: same opaque and serialization, response flag set.
    pub fn response_to(request: &RemotingCommand, code: impl Into<i32>) -> Self {
        RemotingCommand {
            code: code.into(),
            version: CURRENT_VERSION,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            serialize_type: request.serialize_type,
            ..Default::default()
        }
    }

    /// A SUCCESS response to `request`.
    pub fn success(request: &RemotingCommand) -> Self {
        Self::response_to(request, ResponseCode::Success)
    }

    /// An error response to `request` with `code` and `remark`.
    pub fn error(request: &RemotingCommand, code: ResponseCode, remark: impl Into<String>) -> Self {
        Self::response_to(request, code).with_remark(remark)
    }

    /// The answer to a request whose code no processor serves, worded as Apache's.
    pub fn not_supported(request: &RemotingCommand) -> Self {
        Self::error(
            request,
            ResponseCode::RequestCodeNotSupported,
            format!(" request type {} not supported", request.code),
        )
    }

    /// The answer to a request whose header could not be decoded.
    pub fn header_error(request: &RemotingCommand, err: &HeaderError) -> Self {
        Self::error(request, ResponseCode::SystemError, err.to_string())
    }

    /// Sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Adds one ext field.
    pub fn with_ext(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.ext_fields.insert(key.into(), value.to_string());
        self
    }

    /// Writes a typed header's fields into the ext fields.
    pub fn with_header(mut self, header: &impl CommandHeader) -> Self {
        header.write_to(&mut self.ext_fields);
        self
    }

    /// Marks the command oneway.
    pub fn oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Decodes the ext fields into a typed header.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::read_from(&self.ext_fields)
    }

    /// One ext field.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key).map(String::as_str)
    }

    /// True when flag bit 0 is set.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// True when flag bit 1 is set.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// The request code, if this is a request with a known code.
    pub fn request_code(&self) -> Option<RequestCode> {
        RequestCode::from_code(self.code)
    }

    /// Total body length, segments included.
    pub fn body_len(&self) -> usize {
        self.body.as_ref().map_or(0, Bytes::len)
            + self.body_segments.iter().map(Bytes::len).sum::<usize>()
    }
}
