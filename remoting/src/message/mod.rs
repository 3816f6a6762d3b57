#![warn(missing_docs)]
//! The stored/pulled message record format (Apache `MessageDecoder` layout), message
//! properties, message ids and tag hash codes.
//!
//! The same bytes are written to the commit log by the store and sent back to clients in a
//! pull response body, so the codec lives here where both the broker and clients can use it.
//!
//! * [`record`]: [`MessageExt`], [`encode_record`], [`decode_record`], [`decode_records`].
//! * [`properties`]: the `name\x01value\x02` properties string and well-known keys.
//! * [`msg_id`]: offset message ids (store host + commit-log offset as hex).
//! * [`sysflag`]: message sysflag bits.
//! * [`tags`]: the consume-queue tag hash code (Java `String.hashCode`).
//! * [`batch`]: the SEND_BATCH_MESSAGE body (inner messages back to back).

pub mod batch;
pub mod error;
pub mod msg_id;
pub mod properties;
pub mod record;
pub mod sysflag;
pub mod tags;

pub use properties::Properties;
pub use record::{
    BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE, MessageDecodeError, MessageEncodeError, MessageExt,
    decode_record, decode_record_bytes, decode_records, encode_record, record_size,
};
pub use record::{RawRecord, RecordView, body_crc, encode_record_with_properties, parse_record};
pub use tags::{java_hash_continue, java_string_hash_code, tags_hash_code};

#[cfg(test)]
mod tests;
