//! The ROCKETMQ binary header (`RocketMQSerializable`).

use bytes::{Buf, BufMut};

use crate::command::{ExtFields, RemotingCommand};
use crate::error::FrameError;
use crate::protocol::{LanguageCode, SerializeType};

const FIXED_LEN: usize = 21;

fn malformed(what: &str) -> FrameError {
    FrameError::Malformed(format!("binary header: {what}"))
}

fn take_str(buf: &mut &[u8], len: usize, what: &str) -> Result<String, FrameError> {
    if buf.len() < len {
        return Err(malformed(&format!(
            "{what} length {len} exceeds the header"
        )));
    }
    let s = std::str::from_utf8(&buf[..len])
        .map_err(|_| malformed(&format!("{what} is not UTF-8")))?
        .to_owned();
    buf.advance(len);
    Ok(s)
}

/// Decodes a binary header into a command without body. Empty strings decode as absent,
/// as in Java.
pub(crate) fn decode(mut buf: &[u8]) -> Result<RemotingCommand, FrameError> {
    if buf.len() < FIXED_LEN {
        return Err(malformed("shorter than its 21-byte fixed part"));
    }
    let code = i32::from(buf.get_i16());
    let language = LanguageCode::from_byte(buf.get_u8());
    let version = i32::from(buf.get_i16());
    let opaque = buf.get_i32();
    let flag = buf.get_i32();
    let remark_len = buf.get_i32();
    let remark_len =
        usize::try_from(remark_len).map_err(|_| malformed("negative remark length"))?;
    let remark = take_str(&mut buf, remark_len, "remark")?;
    if buf.len() < 4 {
        return Err(malformed("missing extFields length"));
    }
    let ext_len =
        usize::try_from(buf.get_i32()).map_err(|_| malformed("negative extFields length"))?;
    if ext_len > buf.len() {
        return Err(malformed("extFields length exceeds the header"));
    }
    let mut ext = &buf[..ext_len];
    let mut ext_fields = ExtFields::new();
    while !ext.is_empty() {
        if ext.len() < 2 {
            return Err(malformed("truncated extFields key length"));
        }
        let klen = ext.get_u16() as usize;
        let key = take_str(&mut ext, klen, "extFields key")?;
        if ext.len() < 4 {
            return Err(malformed("truncated extFields value length"));
        }
        let vlen =
            usize::try_from(ext.get_i32()).map_err(|_| malformed("negative value length"))?;
        let value = take_str(&mut ext, vlen, "extFields value")?;
        if !key.is_empty() && !value.is_empty() {
            ext_fields.insert(key, value);
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark: (!remark.is_empty()).then_some(remark),
        ext_fields,
        body: None,
        body_segments: Vec::new(),
        serialize_type: SerializeType::RocketMq,
    })
}

/// Appends the binary header of `cmd` to `out`.
pub(crate) fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.put_i16(cmd.code as i16);
    out.put_u8(cmd.language as u8);
    out.put_i16(cmd.version as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    let remark = cmd.remark.as_deref().unwrap_or("");
    out.put_i32(remark.len() as i32);
    out.put_slice(remark.as_bytes());
    let len_pos = out.len();
    out.put_i32(0);
    for (k, v) in &cmd.ext_fields {
        if k.is_empty() || v.is_empty() {
            continue;
        }
        out.put_u16(k.len() as u16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
    let ext_len = (out.len() - len_pos - 4) as i32;
    out[len_pos..len_pos + 4].copy_from_slice(&ext_len.to_be_bytes());
}
