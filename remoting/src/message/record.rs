//! One stored message record (Apache `MessageDecoder` / `CommitLog` layout, big-endian).
//!
//! ```text
//! TOTALSIZE i32 | MAGIC i32 | BODYCRC i32 | QUEUEID i32 | FLAG i32 | QUEUEOFFSET i64
//! PHYSICALOFFSET i64 | SYSFLAG i32 | BORNTIMESTAMP i64 | BORNHOST ip(4|16)+port i32
//! STORETIMESTAMP i64 | STOREHOST ip(4|16)+port i32 | RECONSUMETIMES i32
//! PREPAREDTXOFFSET i64 | BODYLEN i32 + body | TOPICLEN u8 + topic | PROPLEN i16 + properties
//! ```
//!
//! [`encode_record`] always writes the V1 magic (what 4.x clients understand). Decoding also
//! accepts the V2 magic (2-byte topic length) written by newer brokers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

pub use super::error::{MessageDecodeError, MessageEncodeError};
use super::properties::{self, Properties};
use super::sysflag;

/// Magic code of a normal message record ("V1", 1-byte topic length).
pub const MESSAGE_MAGIC_CODE: i32 = 0xDAA320A7_u32 as i32;
/// Magic code of a V2 record (2-byte topic length), newer brokers only.
pub const MESSAGE_MAGIC_CODE_V2: i32 = 0xDAA320AB_u32 as i32;
/// Magic code of the end-of-file filler record (TOTALSIZE = bytes left in the file).
pub const BLANK_MAGIC_CODE: i32 = 0xCBD43194_u32 as i32;

/// Byte position of QUEUEOFFSET in a record.
pub const QUEUE_OFFSET_POS: usize = 20;
/// Byte position of PHYSICALOFFSET in a record.
pub const PHYSICAL_OFFSET_POS: usize = 28;
/// Byte position of SYSFLAG in a record.
pub const SYSFLAG_POS: usize = 36;
/// Byte position of BORNTIMESTAMP in a record.
pub const BORN_TIMESTAMP_POS: usize = 40;
/// Byte position of BORNHOST in a record.
pub const BORN_HOST_POS: usize = 48;
/// Largest topic length (bytes) of a V1 record.
pub const MAX_TOPIC_LEN: usize = 127;
/// Largest properties length (bytes).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Byte position of STORETIMESTAMP for a record with this sysflag.
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    BORN_HOST_POS + host_len(sys_flag & sysflag::BORNHOST_V6 != 0)
}

fn host_len(v6: bool) -> usize {
    if v6 { 20 } else { 8 }
}

/// Total encoded size of a V1 record.
pub fn record_size(
    born_v6: bool,
    store_v6: bool,
    body_len: usize,
    topic_len: usize,
    props_len: usize,
) -> usize {
    91 + body_len
        + topic_len
        + props_len
        + if born_v6 { 12 } else { 0 }
        + if store_v6 { 12 } else { 0 }
}

/// A decoded message with every stored field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Topic (UTF-8, at most 127 bytes for V1).
    pub topic: String,
    /// Queue id inside the topic.
    pub queue_id: i32,
    /// User flag from the send header.
    pub flag: i32,
    /// Logical offset in the consume queue.
    pub queue_offset: i64,
    /// Commit-log offset of this record.
    pub commit_log_offset: i64,
    /// Sysflag bits ([`sysflag`]); the host IPv6 bits follow the addresses on encode.
    pub sys_flag: i32,
    /// Born timestamp (ms).
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Store timestamp (ms).
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Times the message was re-consumed.
    pub reconsume_times: i32,
    /// Commit-log offset of the half message for committed transactions, else 0.
    pub prepared_transaction_offset: i64,
    /// Body as stored (possibly compressed, see [`sysflag::COMPRESSED`]).
    pub body: Bytes,
    /// Properties.
    pub properties: Properties,
    /// Record size (TOTALSIZE); set by decode, recomputed by encode.
    pub store_size: i32,
    /// Body CRC (`crc32 & 0x7FFFFFFF`); set by decode, recomputed by encode.
    pub body_crc: i32,
}

impl Default for MessageExt {
    fn default() -> Self {
        let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        Self {
            topic: String::new(),
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::new(),
            properties: Properties::new(),
            store_size: 0,
            body_crc: 0,
        }
    }
}

impl MessageExt {
    /// The `TAGS` property.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(properties::TAGS)
    }

    /// The `KEYS` property.
    pub fn keys(&self) -> Option<&str> {
        self.properties.get(properties::KEYS)
    }

    /// The offset message id (store host + commit-log offset).
    pub fn offset_msg_id(&self) -> String {
        super::msg_id::offset_msg_id(self.store_host, self.commit_log_offset)
    }

    /// The id Java clients show: `UNIQ_KEY` if present, else the offset message id.
    pub fn msg_id(&self) -> String {
        match self.properties.get(properties::UNIQ_KEY) {
            Some(k) => k.to_string(),
            None => self.offset_msg_id(),
        }
    }
}

/// `crc32(body) & 0x7FFFFFFF`, as stored in BODYCRC.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// Appends the V1 record of `msg` to `buf` and returns its length. TOTALSIZE, BODYCRC and the
/// host IPv6 sysflag bits are computed; every other field is written as given.
pub fn encode_record(msg: &MessageExt, buf: &mut BytesMut) -> Result<usize, MessageEncodeError> {
    let len = properties::encoded_len(&msg.properties);
    encode_inner(msg, len, buf, |buf| {
        // Same bytes as `properties::encode`, written straight into the buffer.
        let mut first = true;
        for (k, v) in msg.properties.iter() {
            if k.is_empty() || v.is_empty() {
                continue;
            }
            if !first {
                buf.put_u8(properties::PROPERTY_SEPARATOR as u8);
            }
            first = false;
            buf.put_slice(k.as_bytes());
            buf.put_u8(properties::NAME_VALUE_SEPARATOR as u8);
            buf.put_slice(v.as_bytes());
        }
    })
}

/// Like [`encode_record`] but with an already encoded properties string (`msg.properties` is
/// ignored). Useful when the properties arrive encoded from a producer.
pub fn encode_record_with_properties(
    msg: &MessageExt,
    props: &str,
    buf: &mut BytesMut,
) -> Result<usize, MessageEncodeError> {
    encode_inner(msg, props.len(), buf, |buf| buf.put_slice(props.as_bytes()))
}

fn encode_inner(
    msg: &MessageExt,
    props_len: usize,
    buf: &mut BytesMut,
    write_props: impl FnOnce(&mut BytesMut),
) -> Result<usize, MessageEncodeError> {
    let topic = msg.topic.as_bytes();
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
        return Err(MessageEncodeError::TopicLength(topic.len()));
    }
    if props_len > MAX_PROPERTIES_LEN {
        return Err(MessageEncodeError::PropertiesLength(props_len));
    }
    if msg.body.len() > (i32::MAX as usize) / 2 {
        return Err(MessageEncodeError::BodyLength(msg.body.len()));
    }
    let born_v6 = msg.born_host.is_ipv6();
    let store_v6 = msg.store_host.is_ipv6();
    let mut sys_flag = msg.sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
    if born_v6 {
        sys_flag |= sysflag::BORNHOST_V6;
    }
    if store_v6 {
        sys_flag |= sysflag::STOREHOST_V6;
    }
    let size = record_size(born_v6, store_v6, msg.body.len(), topic.len(), props_len);
    // The fixed fields up to BODYLEN go through a stack buffer: one copy into `buf` instead
    // of a bounds-checked copy per field.
    let mut head = [0u8; HEAD_MAX];
    let mut h = &mut head[..];
    h.put_i32(size as i32);
    h.put_i32(MESSAGE_MAGIC_CODE);
    h.put_i32(body_crc(&msg.body));
    h.put_i32(msg.queue_id);
    h.put_i32(msg.flag);
    h.put_i64(msg.queue_offset);
    h.put_i64(msg.commit_log_offset);
    h.put_i32(sys_flag);
    h.put_i64(msg.born_timestamp);
    put_host(&mut h, msg.born_host);
    h.put_i64(msg.store_timestamp);
    put_host(&mut h, msg.store_host);
    h.put_i32(msg.reconsume_times);
    h.put_i64(msg.prepared_transaction_offset);
    h.put_i32(msg.body.len() as i32);
    let head_len = HEAD_MAX - h.len();
    buf.reserve(size);
    buf.put_slice(&head[..head_len]);
    buf.put_slice(&msg.body);
    buf.put_u8(topic.len() as u8);
    buf.put_slice(topic);
    buf.put_i16(props_len as i16);
    write_props(buf);
    debug_assert_eq!(
        head_len + msg.body.len() + 3 + topic.len() + props_len,
        size
    );
    Ok(size)
}

/// Bytes before the body of a record with two IPv6 hosts (the largest fixed part).
const HEAD_MAX: usize = 112;

fn put_host(buf: &mut impl BufMut, host: SocketAddr) {
    match host.ip() {
        IpAddr::V4(ip) => buf.put_slice(&ip.octets()),
        IpAddr::V6(ip) => buf.put_slice(&ip.octets()),
    }
    buf.put_i32(host.port() as i32);
}

/// A parsed record that borrows its variable fields from the buffer (no allocation).
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// TOTALSIZE.
    pub total_size: usize,
    /// Magic code.
    pub magic: i32,
    /// BODYCRC.
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub commit_log_offset: i64,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// BORNTIMESTAMP.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP.
    pub store_timestamp: i64,
    /// STOREHOST.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED TRANSACTION OFFSET.
    pub prepared_transaction_offset: i64,
    /// Body bytes.
    pub body: &'a [u8],
    /// Topic bytes (UTF-8 checked).
    pub topic: &'a str,
    /// Encoded properties string (UTF-8 checked).
    pub properties: &'a str,
}

/// What [`parse_record`] found at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub enum RawRecord<'a> {
    /// A message record.
    Message(RecordView<'a>),
    /// An end-of-file filler; `size` is its TOTALSIZE (the bytes left in the file).
    Blank {
        /// TOTALSIZE of the filler.
        size: usize,
    },
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|s| i32::from_be_bytes(s.try_into().unwrap()))
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .map(|s| i64::from_be_bytes(s.try_into().unwrap()))
    }
    fn host(&mut self, v6: bool) -> Option<SocketAddr> {
        let ip = if v6 {
            let o: [u8; 16] = self.take(16)?.try_into().unwrap();
            IpAddr::V6(Ipv6Addr::from(o))
        } else {
            let o: [u8; 4] = self.take(4)?.try_into().unwrap();
            IpAddr::V4(Ipv4Addr::from(o))
        };
        let port = self.i32()?;
        Some(SocketAddr::new(ip, port as u16))
    }
}

/// Parses the record at the start of `buf` without copying. With `check_crc` the body CRC is
/// verified. Errors report positions relative to `buf`.
pub fn parse_record(buf: &[u8], check_crc: bool) -> Result<RawRecord<'_>, MessageDecodeError> {
    let truncated = |needed: usize| MessageDecodeError::Truncated {
        at: 0,
        needed,
        available: buf.len(),
    };
    if buf.len() < 8 {
        return Err(truncated(8));
    }
    let total = i32::from_be_bytes(buf[0..4].try_into().unwrap());
    let magic = i32::from_be_bytes(buf[4..8].try_into().unwrap());
    if magic == BLANK_MAGIC_CODE {
        if total < 8 {
            return Err(MessageDecodeError::BadLength {
                at: 0,
                field: "blank",
                len: total as i64,
            });
        }
        return Ok(RawRecord::Blank {
            size: total as usize,
        });
    }
    if magic != MESSAGE_MAGIC_CODE && magic != MESSAGE_MAGIC_CODE_V2 {
        return Err(MessageDecodeError::BadMagic {
            at: 0,
            magic: magic as u32,
        });
    }
    if total < 91 {
        return Err(MessageDecodeError::BadLength {
            at: 0,
            field: "total",
            len: total as i64,
        });
    }
    let total = total as usize;
    if buf.len() < total {
        return Err(truncated(total));
    }
    let rec = &buf[..total];
    let mismatch = |computed: usize| MessageDecodeError::SizeMismatch {
        at: 0,
        total,
        computed,
    };
    let mut r = Reader { buf: rec, pos: 8 };
    // The fixed part fits in 91 bytes for IPv4; IPv6 hosts may run past `total`.
    let body_crc = r.i32().unwrap();
    let queue_id = r.i32().unwrap();
    let flag = r.i32().unwrap();
    let queue_offset = r.i64().unwrap();
    let commit_log_offset = r.i64().unwrap();
    let sys_flag = r.i32().unwrap();
    let born_timestamp = r.i64().unwrap();
    let born_v6 = sys_flag & sysflag::BORNHOST_V6 != 0;
    let store_v6 = sys_flag & sysflag::STOREHOST_V6 != 0;
    let min = record_size(born_v6, store_v6, 0, 0, 0);
    if total < min {
        return Err(mismatch(min));
    }
    let born_host = r.host(born_v6).unwrap();
    let store_timestamp = r.i64().unwrap();
    let store_host = r.host(store_v6).unwrap();
    let reconsume_times = r.i32().unwrap();
    let prepared_transaction_offset = r.i64().unwrap();
    let body_len = r.i32().unwrap();
    if body_len < 0 || body_len as usize > total {
        return Err(MessageDecodeError::BadLength {
            at: 0,
            field: "body",
            len: body_len as i64,
        });
    }
    let body = r
        .take(body_len as usize)
        .ok_or_else(|| mismatch(min + body_len as usize))?;
    let topic_len = if magic == MESSAGE_MAGIC_CODE_V2 {
        r.take(2)
            .map(|s| i16::from_be_bytes([s[0], s[1]]) as u16 as usize)
    } else {
        r.take(1).map(|s| s[0] as usize)
    }
    .ok_or_else(|| mismatch(r.pos + 1))?;
    let topic = r
        .take(topic_len)
        .ok_or_else(|| mismatch(r.pos + topic_len))?;
    let props_len = r.take(2).ok_or_else(|| mismatch(r.pos + 2))?;
    let props_len = i16::from_be_bytes([props_len[0], props_len[1]]);
    if props_len < 0 {
        return Err(MessageDecodeError::BadLength {
            at: 0,
            field: "properties",
            len: props_len as i64,
        });
    }
    let props = r
        .take(props_len as usize)
        .ok_or_else(|| mismatch(r.pos + props_len as usize))?;
    if r.pos != total {
        return Err(mismatch(r.pos));
    }
    if check_crc {
        let computed = body_crc_of(body);
        if computed != body_crc {
            return Err(MessageDecodeError::CrcMismatch {
                at: 0,
                stored: body_crc,
                computed,
            });
        }
    }
    let topic = std::str::from_utf8(topic).map_err(|_| MessageDecodeError::Utf8 {
        at: 0,
        field: "topic",
    })?;
    let properties = std::str::from_utf8(props).map_err(|_| MessageDecodeError::Utf8 {
        at: 0,
        field: "properties",
    })?;
    Ok(RawRecord::Message(RecordView {
        total_size: total,
        magic,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    }))
}

fn body_crc_of(body: &[u8]) -> i32 {
    body_crc(body)
}

impl RecordView<'_> {
    /// Builds an owned message; `body` becomes the message body.
    pub fn to_message(&self, body: Bytes) -> MessageExt {
        MessageExt {
            topic: self.topic.to_string(),
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body,
            properties: properties::decode(self.properties),
            store_size: self.total_size as i32,
            body_crc: self.body_crc,
        }
    }
}

fn expect_message(buf: &[u8]) -> Result<RecordView<'_>, MessageDecodeError> {
    match parse_record(buf, false)? {
        RawRecord::Message(v) => Ok(v),
        RawRecord::Blank { size } => Err(MessageDecodeError::Blank { at: 0, size }),
    }
}

/// Decodes the message record at the start of `buf` (the body is copied) and returns it with
/// the number of bytes consumed. The CRC is not checked (clients do not either).
pub fn decode_record(buf: &[u8]) -> Result<(MessageExt, usize), MessageDecodeError> {
    let v = expect_message(buf)?;
    Ok((v.to_message(Bytes::copy_from_slice(v.body)), v.total_size))
}

/// Like [`decode_record`] but the body is a zero-copy slice of `buf`.
pub fn decode_record_bytes(buf: &Bytes) -> Result<(MessageExt, usize), MessageDecodeError> {
    let v = expect_message(buf)?;
    let start = v.body.as_ptr() as usize - buf.as_ptr() as usize;
    Ok((
        v.to_message(buf.slice(start..start + v.body.len())),
        v.total_size,
    ))
}

/// Decodes records placed back to back (a pull response body) until `buf` ends. Error
/// positions are relative to `buf`.
pub fn decode_records(buf: &Bytes) -> Result<Vec<MessageExt>, MessageDecodeError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let (msg, n) = decode_record_bytes(&buf.slice(pos..)).map_err(|e| e.offset_by(pos))?;
        out.push(msg);
        pos += n;
    }
    Ok(out)
}
