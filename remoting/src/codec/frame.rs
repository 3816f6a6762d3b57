//! Length-prefixed frames: `total_len:u32 | serialize_type:u8 header_len:u24 | header | body`.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{binary_header, json_header};
use crate::command::RemotingCommand;
use crate::error::FrameError;
use crate::protocol::SerializeType;

/// Apache's default maximum frame length (`com.rocketmq.remoting.frameMaxLength`): 16 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Decodes and encodes [`RemotingCommand`] frames, refusing frames over a maximum length.
#[derive(Debug, Clone)]
pub struct RemotingCodec {
    max_frame_len: usize,
}

impl Default for RemotingCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl RemotingCodec {
    /// A codec that refuses frames whose length field exceeds `max_frame_len`.
    pub fn new(max_frame_len: usize) -> Self {
        RemotingCodec { max_frame_len }
    }
}

/// Encodes the length prefix and header of `cmd` (everything but the body) as one buffer,
/// so that the body can follow without being copied.
pub fn encode_header(cmd: &RemotingCommand) -> Bytes {
    let mut out = Vec::with_capacity(128);
    out.put_u64(0); // room for the two length fields
    match cmd.serialize_type {
        SerializeType::Json => json_header::encode(cmd, &mut out),
        SerializeType::RocketMq => binary_header::encode(cmd, &mut out),
    }
    let header_len = out.len() - 8;
    let total = 4 + header_len + cmd.body_len();
    out[0..4].copy_from_slice(&(total as u32).to_be_bytes());
    let mark = ((cmd.serialize_type as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
    out[4..8].copy_from_slice(&mark.to_be_bytes());
    Bytes::from(out)
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, FrameError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let total = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if total > self.max_frame_len {
            return Err(FrameError::TooLarge {
                len: total,
                max: self.max_frame_len,
            });
        }
        if total < 4 {
            return Err(FrameError::Malformed(format!(
                "total length {total} is shorter than the header-length field"
            )));
        }
        if src.len() < 4 + total {
            src.reserve(4 + total - src.len());
            return Ok(None);
        }
        src.advance(4);
        let mut frame = src.split_to(total);
        let mark = frame.get_u32();
        let type_byte = (mark >> 24) as u8;
        let header_len = (mark & 0x00FF_FFFF) as usize;
        if header_len > frame.len() {
            return Err(FrameError::Malformed(format!(
                "header length {header_len} exceeds the frame's {} remaining bytes",
                frame.len()
            )));
        }
        let header = frame.split_to(header_len);
        let mut cmd = match SerializeType::from_byte(type_byte) {
            Some(SerializeType::Json) => json_header::decode(&header)?,
            Some(SerializeType::RocketMq) => binary_header::decode(&header)?,
            None => return Err(FrameError::UnknownSerializeType(type_byte)),
        };
        if !frame.is_empty() {
            cmd.body = Some(frame.freeze());
        }
        Ok(Some(cmd))
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = FrameError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(&encode_header(&cmd));
        if let Some(body) = &cmd.body {
            dst.extend_from_slice(body);
        }
        for seg in &cmd.body_segments {
            dst.extend_from_slice(seg);
        }
        Ok(())
    }
}
