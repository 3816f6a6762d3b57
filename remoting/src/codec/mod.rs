//! The frame codec: length-prefixed frames with a JSON or binary header.

mod binary_header;
mod frame;
mod json_header;

pub use frame::{DEFAULT_MAX_FRAME_LEN, RemotingCodec, encode_header};
