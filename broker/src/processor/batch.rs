//! The SEND_BATCH_MESSAGE body: inner messages back to back (`MessageDecoder.encodeMessages`).

use bytes::{Buf, Bytes};
use remoting::message::Properties;
use remoting::message::properties;

/// One message of a batch body.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchEntry {
    /// User flag.
    pub flag: i32,
    /// Body.
    pub body: Bytes,
    /// The entry's own properties.
    pub properties: Properties,
}

/// Splits a batch body; `Err` names what is malformed.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchEntry>, String> {
    decode(body, false)
}

/// Like [`decode_batch`], but also requires every entry's MAGICCODE and BODYCRC to be 0, as
/// clients write them: a body that passes is a batch encoding beyond reasonable doubt.
pub fn decode_batch_strict(body: &Bytes) -> Result<Vec<BatchEntry>, String> {
    decode(body, true)
}

fn decode(body: &Bytes, strict: bool) -> Result<Vec<BatchEntry>, String> {
    let mut out = Vec::new();
    let mut rest = body.clone();
    while rest.has_remaining() {
        if rest.remaining() < 20 {
            return Err(format!(
                "truncated batch entry header ({} bytes left)",
                rest.remaining()
            ));
        }
        let total = rest.get_i32();
        if total < 22 || total as usize - 4 > rest.remaining() {
            return Err(format!("batch entry size {total} does not fit the body"));
        }
        let mut entry = rest.split_to(total as usize - 4);
        let magic = entry.get_i32();
        let crc = entry.get_i32();
        if strict && (magic != 0 || crc != 0) {
            return Err("batch entry with a non-zero magic code or CRC".into());
        }
        let flag = entry.get_i32();
        let body_len = entry.get_i32();
        if body_len < 0 || body_len as usize > entry.remaining().saturating_sub(2) {
            return Err(format!("batch entry body length {body_len} does not fit"));
        }
        let body = entry.split_to(body_len as usize);
        let props_len = entry.get_i16();
        if props_len < 0 || props_len as usize > entry.remaining() {
            return Err(format!(
                "batch entry properties length {props_len} does not fit"
            ));
        }
        let text = std::str::from_utf8(&entry[..props_len as usize])
            .map_err(|_| "batch entry properties are not UTF-8".to_string())?;
        out.push(BatchEntry {
            flag,
            body,
            properties: properties::decode(text),
        });
    }
    if out.is_empty() {
        return Err("empty batch".into());
    }
    Ok(out)
}

/// Encodes entries as a client does (used by tests and tools).
pub fn encode_batch(entries: &[BatchEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let props = properties::encode(&e.properties);
        let total = 4 + 4 + 4 + 4 + 4 + e.body.len() + 2 + props.len();
        out.extend_from_slice(&(total as i32).to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&e.flag.to_be_bytes());
        out.extend_from_slice(&(e.body.len() as i32).to_be_bytes());
        out.extend_from_slice(&e.body);
        out.extend_from_slice(&(props.len() as i16).to_be_bytes());
        out.extend_from_slice(props.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut p = Properties::new();
        p.insert("TAGS", "A");
        let entries = vec![
            BatchEntry {
                flag: 1,
                body: Bytes::from_static(b"one"),
                properties: p.clone(),
            },
            BatchEntry {
                flag: 2,
                body: Bytes::from_static(b""),
                properties: Properties::new(),
            },
        ];
        let bytes = Bytes::from(encode_batch(&entries));
        assert_eq!(decode_batch(&bytes).unwrap(), entries);
        for cut in [1, 10, bytes.len() - 1] {
            assert!(decode_batch(&bytes.slice(..cut)).is_err(), "cut at {cut}");
        }
        assert!(decode_batch(&Bytes::new()).is_err());
        assert_eq!(decode_batch_strict(&bytes).unwrap(), entries);
        let mut odd = bytes.to_vec();
        odd[5] = 1; // a magic code a client would not write
        assert!(decode_batch_strict(&Bytes::from(odd.clone())).is_err());
        assert!(decode_batch(&Bytes::from(odd)).is_ok());
    }
}
