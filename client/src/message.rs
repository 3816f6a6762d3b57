//! The message a producer sends, its unique id, and the batch body encoding.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use remoting::message::properties::{self, Properties};

/// A message to send: topic, body, user flag and properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// User flag, stored as-is.
    pub flag: i32,
    /// Properties (`TAGS`, `KEYS`, `UNIQ_KEY`, user properties, ...).
    pub properties: Properties,
    /// Body.
    pub body: Bytes,
}

impl Message {
    /// A message with a topic and a body.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            body: body.into(),
            ..Default::default()
        }
    }

    /// Sets the tag.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.properties.insert(properties::TAGS, tags);
        self
    }

    /// Sets the keys (indexed by the broker, queryable with `queryMsgByKey`).
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_owned()).collect();
        self.properties
            .insert(properties::KEYS, joined.join(properties::KEY_SEPARATOR));
        self
    }

    /// Sets a user property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key, value);
        self
    }

    /// Sets the delay level (1..18).
    pub fn with_delay_level(mut self, level: i32) -> Self {
        self.properties.insert(properties::DELAY, level.to_string());
        self
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(properties::TAGS)
    }

    /// The client-side unique id, if assigned.
    pub fn unique_key(&self) -> Option<&str> {
        self.properties.get(properties::UNIQ_KEY)
    }

    /// Assigns a fresh `UNIQ_KEY` unless one is present; returns it.
    pub fn ensure_unique_key(&mut self) -> String {
        if let Some(k) = self.unique_key() {
            return k.to_owned();
        }
        let id = new_unique_id();
        self.properties.insert(properties::UNIQ_KEY, id.clone());
        id
    }
}

/// A new client message id: 32 upper-case hex characters made of the local IPv4 address,
/// the low pid bits, a per-process random value, milliseconds since the process start and a
/// counter (Apache's `MessageClientIDSetter` layout, treated as opaque by servers).
pub fn new_unique_id() -> String {
    struct Prefix {
        head: [u8; 10],
        start: std::time::Instant,
    }
    static PREFIX: OnceLock<Prefix> = OnceLock::new();
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let p = PREFIX.get_or_init(|| {
        let ip = match crate::config::local_ip_towards(None) {
            std::net::IpAddr::V4(v4) => v4.octets(),
            std::net::IpAddr::V6(_) => [127, 0, 0, 1],
        };
        let pid = (std::process::id() & 0xFFFF) as u16;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let random = nanos ^ (std::process::id().rotate_left(16));
        let mut head = [0u8; 10];
        head[..4].copy_from_slice(&ip);
        head[4..6].copy_from_slice(&pid.to_be_bytes());
        head[6..10].copy_from_slice(&random.to_be_bytes());
        Prefix {
            head,
            start: std::time::Instant::now(),
        }
    });
    let elapsed = p.start.elapsed().as_millis() as u32;
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..10].copy_from_slice(&p.head);
    bytes[10..14].copy_from_slice(&elapsed.to_be_bytes());
    bytes[14..].copy_from_slice(&count.to_be_bytes());
    hex_upper(&bytes)
}

fn hex_upper(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xF) as usize] as char);
    }
    s
}

/// Encodes the body of SEND_BATCH_MESSAGE: every message as
/// `TOTALSIZE | MAGIC(0) | BODYCRC(0) | FLAG | BODYLEN + body | PROPLEN(i16) + properties`.
pub fn encode_batch(messages: &[Message]) -> Bytes {
    let mut buf = BytesMut::new();
    for m in messages {
        let props = properties::encode(&m.properties);
        let total = 4 + 4 + 4 + 4 + 4 + m.body.len() + 2 + props.len();
        buf.reserve(total);
        buf.put_i32(total as i32);
        buf.put_i32(0);
        buf.put_i32(0);
        buf.put_i32(m.flag);
        buf.put_i32(m.body.len() as i32);
        buf.put_slice(&m.body);
        buf.put_i16(props.len() as i16);
        buf.put_slice(props.as_bytes());
    }
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_are_32_hex_and_distinct() {
        let a = new_unique_id();
        let b = new_unique_id();
        assert_eq!(a.len(), 32);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        assert_ne!(a, b);
        let mut m = Message::new("T", "x");
        let k = m.ensure_unique_key();
        assert_eq!(m.ensure_unique_key(), k);
    }

    #[test]
    fn batch_layout_matches_the_protocol() {
        let m1 = Message::new("T", "hi").with_tags("A");
        let mut m2 = Message::new("T", "").with_keys(["k1", "k2"]);
        m2.flag = 7;
        let b = encode_batch(&[m1, m2]);
        // entry 1: 20 fixed + 2 body + 2 + len("TAGS\x01A") = 6
        assert_eq!(&b[0..4], &30i32.to_be_bytes());
        assert_eq!(&b[4..12], &[0u8; 8]);
        assert_eq!(&b[16..20], &2i32.to_be_bytes());
        assert_eq!(&b[20..22], b"hi");
        assert_eq!(&b[22..24], &6i16.to_be_bytes());
        assert_eq!(&b[24..30], b"TAGS\x01A");
        // entry 2 starts at 30: flag 7, empty body, KEYS k1 k2
        let e2 = &b[30..];
        assert_eq!(&e2[12..16], &7i32.to_be_bytes());
        assert_eq!(&e2[16..20], &0i32.to_be_bytes());
        assert_eq!(&e2[22..], b"KEYS\x01k1 k2");
        assert_eq!(
            i32::from_be_bytes(e2[0..4].try_into().unwrap()) as usize,
            e2.len()
        );
    }
}
