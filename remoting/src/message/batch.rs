//! The SEND_BATCH_MESSAGE body: inner messages back to back, each
//! `TOTALSIZE i32 | MAGIC i32 (0) | BODYCRC i32 (0) | FLAG i32 | BODYLEN i32 + body |
//! PROPLEN i16 + properties` (Java `MessageDecoder.encodeMessages`).

use bytes::{BufMut, Bytes, BytesMut};

use super::properties::PROPERTY_SEPARATOR;
use super::record::MessageDecodeError;

/// One message of a batch body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    /// User flag.
    pub flag: i32,
    /// Body.
    pub body: Bytes,
    /// Encoded properties of this message.
    pub properties: String,
}

/// Appends the batch encoding of `entries` to `buf` (what a client sends).
pub fn encode_batch_body(entries: &[BatchEntry], buf: &mut BytesMut) {
    for e in entries {
        let size = 20 + e.body.len() + 2 + e.properties.len();
        buf.put_i32(size as i32);
        buf.put_i32(0);
        buf.put_i32(0);
        buf.put_i32(e.flag);
        buf.put_i32(e.body.len() as i32);
        buf.put_slice(&e.body);
        buf.put_i16(e.properties.len() as i16);
        buf.put_slice(e.properties.as_bytes());
    }
}

/// Splits a batch body into its messages (bodies are zero-copy slices of `body`).
pub fn decode_batch_body(body: &Bytes) -> Result<Vec<BatchEntry>, MessageDecodeError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let be_i32 = |p: usize| i32::from_be_bytes(body[p..p + 4].try_into().unwrap());
    while pos < body.len() {
        let avail = body.len() - pos;
        let truncated = |needed: usize| MessageDecodeError::Truncated {
            at: pos,
            needed,
            available: avail,
        };
        if avail < 20 {
            return Err(truncated(20));
        }
        let total = be_i32(pos);
        let flag = be_i32(pos + 12);
        let body_len = be_i32(pos + 16);
        if total < 22 || body_len < 0 {
            return Err(MessageDecodeError::BadLength {
                at: pos,
                field: if total < 22 { "total" } else { "body" },
                len: if total < 22 {
                    total as i64
                } else {
                    body_len as i64
                },
            });
        }
        let total = total as usize;
        if avail < total {
            return Err(truncated(total));
        }
        let body_start = pos + 20;
        let body_end = body_start + body_len as usize;
        if body_end + 2 > pos + total {
            return Err(MessageDecodeError::SizeMismatch {
                at: pos,
                total,
                computed: body_end + 2 - pos,
            });
        }
        let props_len = i16::from_be_bytes([body[body_end], body[body_end + 1]]);
        let props_end = body_end + 2 + props_len.max(0) as usize;
        if props_len < 0 || props_end != pos + total {
            return Err(MessageDecodeError::SizeMismatch {
                at: pos,
                total,
                computed: props_end.saturating_sub(pos),
            });
        }
        let properties = std::str::from_utf8(&body[body_end + 2..props_end])
            .map_err(|_| MessageDecodeError::Utf8 {
                at: pos,
                field: "properties",
            })?
            .to_string();
        out.push(BatchEntry {
            flag,
            body: body.slice(body_start..body_end),
            properties,
        });
        pos += total;
    }
    Ok(out)
}

/// The stored properties of a batch entry: its own properties, a `\x02` if they are non-empty
/// and do not already end with one, then the batch-level properties (Apache
/// `MessageExtEncoder.encode(MessageExtBatch)`).
pub fn merge_batch_properties(entry: &str, batch: &str) -> String {
    let mut s = String::with_capacity(entry.len() + 1 + batch.len());
    s.push_str(entry);
    if !entry.is_empty() && !entry.ends_with(PROPERTY_SEPARATOR) && !batch.is_empty() {
        s.push(PROPERTY_SEPARATOR);
    }
    s.push_str(batch);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let entries = vec![
            BatchEntry {
                flag: 1,
                body: Bytes::from_static(b"one"),
                properties: "KEYS\u{1}a\u{2}UNIQ_KEY\u{1}X".into(),
            },
            BatchEntry {
                flag: 0,
                body: Bytes::new(),
                properties: String::new(),
            },
        ];
        let mut buf = BytesMut::new();
        encode_batch_body(&entries, &mut buf);
        let body = buf.freeze();
        assert_eq!(decode_batch_body(&body).unwrap(), entries);
        let first = 20 + 3 + 2 + entries[0].properties.len();
        assert_eq!(
            decode_batch_body(&body.slice(..first)).unwrap(),
            entries[..1]
        );
        for cut in (1..body.len()).filter(|c| *c != first) {
            assert!(decode_batch_body(&body.slice(..cut)).is_err(), "cut {cut}");
        }
        let mut bad = body.to_vec();
        bad[3] = 200; // TOTALSIZE too large
        assert!(decode_batch_body(&Bytes::from(bad)).is_err());
    }

    #[test]
    fn merges_like_the_broker() {
        assert_eq!(
            merge_batch_properties("A\u{1}1", "WAIT\u{1}true"),
            "A\u{1}1\u{2}WAIT\u{1}true"
        );
        assert_eq!(
            merge_batch_properties("A\u{1}1\u{2}", "W\u{1}t"),
            "A\u{1}1\u{2}W\u{1}t"
        );
        assert_eq!(merge_batch_properties("", "W\u{1}t"), "W\u{1}t");
        assert_eq!(merge_batch_properties("A\u{1}1", ""), "A\u{1}1");
    }
}
